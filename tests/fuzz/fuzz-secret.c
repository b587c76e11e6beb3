/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: secrets as clients send them on the bus
 * (hearthd/secret-request.c: secret_parse), the recovery keys of a record's
 * secret section, and the worker request hearthd builds from them, which
 * hearth-work reads from its stdin (user_record_parse).
 *
 * Invariants: a refusal says why; every password kept is a NUL-terminated
 * string of at most SECRET_PASSWORD_MAX bytes, at most
 * SECRET_PASSWORDS_MAX of them; the request built from a valid record and
 * the secret parses as a record again and carries the passwords. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "json-strict.h"
#include "log.h"
#include "secret-request.h"
#include "user-record.h"

static const char record[] = "{\"userName\":\"alice\",\"uid\":60100,\"storage\":\"directory\"}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Secret *s = NULL, *rk = NULL;
        SecureBuffer *req = NULL;
        UserRecord *rec = NULL;
        json_object *j = NULL;
        char *err = NULL;
        size_t len = 0;

        log_set_max_level(0);
        user_record_set_machine("0123456789abcdef0123456789abcdef", "fuzzhost");
        char *text = fuzz_string(data, size);
        if (!text)
                return 0;

        int r = secret_parse(text, &s, &err);
        if (r < 0) {
                if (r != -ENOMEM && !err)
                        abort();
                goto rec;
        }
        if (s->n_password > SECRET_PASSWORDS_MAX)
                abort();
        for (size_t i = 0; i < s->n_password; i++)
                if (strlen(s->password[i]) > SECRET_PASSWORD_MAX)
                        abort();
        if (s->pin && (strlen(s->pin->data) == 0 || strlen(s->pin->data) > SECRET_PIN_MAX))
                abort();
        r = secret_request_build(record, s, s, NULL, &req, &len);
        if (r >= 0) {
                if (user_record_parse(req->data, len, &rec, NULL) < 0)
                        abort();
                user_record_free(rec);
        }

rec:
        free(err);
        err = NULL;
        /* The same text as a whole record: its secret.recoveryKey. */
        if (json_parse_strict(text, size, &j, NULL) >= 0 && json_object_is_type(j, json_type_object)) {
                r = secret_recovery_from_record(j, &rk, &err);
                if (r < 0 && r != -ENOMEM && !err)
                        abort();
                if (r >= 0 && rk) {
                        SecureBuffer *req2 = NULL;
                        if (secret_request_build(record, NULL, NULL, rk, &req2, &len) >= 0) {
                                if (user_record_parse(req2->data, len, &rec, NULL) < 0)
                                        abort();
                                user_record_free(rec);
                                secure_buffer_free(req2);
                        }
                }
        }
        json_object_put(j);
        free(err);
        secret_free(rk);
        secret_free(s);
        secure_buffer_free(req);
        free(text);
        return 0;
}
