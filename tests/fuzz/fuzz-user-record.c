/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the strict JSON parser and user-record validation, plus
 * the canonical serializer and the round trip through json-c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-strict.h"
#include "log.h"
#include "user-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UserRecord *rec = NULL;
        char *error = NULL, *canon = NULL;
        int r;

        log_set_max_level(-1 + 1);
        user_record_set_machine("0123456789abcdef0123456789abcdef", "fuzzhost");
        r = user_record_parse((const char *) data, size, &rec, &error);
        if (r >= 0) {
                /* A valid record must survive serialization and a re-parse. */
                const char *s = user_record_to_string(rec, USER_RECORD_FORMAT_SHORT);
                UserRecord *again = NULL;
                if (!s || user_record_parse(s, strlen(s), &again, NULL) < 0)
                        abort();
                if (json_format_canonical(rec->json, &canon, NULL) < 0)
                        abort();
                user_record_free(again);
                user_record_strip(rec, USER_RECORD_SECRET | USER_RECORD_STATUS);
                user_record_free(rec);
        } else if (r == -EINVAL && !error)
                abort(); /* every refusal must say why */
        free(canon);
        free(error);
        return 0;
}
