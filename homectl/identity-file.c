/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "exit-status.h"
#include "fileio.h"
#include "identity-file.h"
#include "identity-store.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "secret.h"
#include "sign.h"
#include "user-record.h"

static int read_input(const char *path, char **ret, size_t *ret_len) {
        if (strcmp(path, "-") != 0)
                return read_file_bounded(path, JSON_STRICT_MAX_SIZE, ret, ret_len);

        size_t n = 0;
        _cleanup_free_ char *buf = malloc(JSON_STRICT_MAX_SIZE + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t k = fread(buf + n, 1, JSON_STRICT_MAX_SIZE + 1 - n, stdin);
                n += k;
                if (n > JSON_STRICT_MAX_SIZE) {
                        explicit_bzero(buf, n);
                        return -EFBIG;
                }
                if (k == 0)
                        break;
        }
        if (ferror(stdin)) {
                explicit_bzero(buf, n);
                return -EIO;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

int identity_file_read(const char *path, char **ret, size_t *ret_len) {
        int r = read_input(path, ret, ret_len);
        if (r == -EFBIG)
                log_error("%s: larger than %d bytes", path, JSON_STRICT_MAX_SIZE);
        else if (r == -EBADF)
                log_error("%s: not a regular file", path);
        else if (r < 0)
                log_error_errno(r, "%s: cannot read: %m", path);
        return r;
}

int verb_inspect_identity(const char *path, JsonMode json) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_identity_store_ IdentityStore *store = NULL;
        const char *signature = "not checked";
        SignatureStatus status = SIGNATURE_UNSIGNED;
        Keyring *kr;
        size_t len;
        int r;

        r = identity_file_read(path, &text, &len);
        if (r < 0)
                return EXIT_NO_INPUT;

        r = user_record_parse(text, len, &rec, &error);
        explicit_bzero(text, len);
        if (r == -ENOMEM) {
                log_oom();
                return EXIT_FAIL;
        }
        if (r < 0) {
                log_error("%s: %s", path, error ?: "invalid record");
                return EXIT_INVALID_RECORD;
        }

        if (rec->has_sections & USER_RECORD_SIGNATURE) {
                if (identity_store_open(NULL, &store) >= 0 && identity_store_keyring(store, false, &kr) >= 0 &&
                    keyring_verify(kr, rec, &status) >= 0)
                        signature = signature_status_to_string(status);
                if (status == SIGNATURE_BAD) {
                        log_error("%s: signature: record was modified after it was signed", path);
                        return EXIT_INVALID_RECORD;
                }
        } else
                signature = signature_status_to_string(SIGNATURE_UNSIGNED);

        /* What we print is the record minus secrets, never the secrets. */
        bool had_secrets = rec->has_sections & USER_RECORD_SECRET;
        user_record_strip(rec, USER_RECORD_SECRET);

        if (json == JSON_OFF)
                record_print_offline(stdout, rec, signature, had_secrets);
        else
                printf("%s\n", user_record_to_string(rec, json == JSON_PRETTY ? USER_RECORD_FORMAT_PRETTY
                                                                              : USER_RECORD_FORMAT_SHORT));
        return EXIT_OK;
}

int record_tree_load(const char *path, json_object **ret) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_json_wipe_ json_object *j = NULL;
        size_t len;
        int r;

        if (identity_file_read(path, &text, &len) < 0)
                return EXIT_NO_INPUT;
        r = json_parse_strict(text, len, &j, &error);
        explicit_bzero(text, len);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("%s: %s", path, error ?: "invalid JSON");
                return EXIT_INVALID_RECORD;
        }
        /* Checked first: for an array or a string, "userName: required"
         * would point at the wrong problem. */
        if (!j || !json_object_is_type(j, json_type_object)) {
                log_error("%s: a user record must be a JSON object", path);
                return EXIT_INVALID_RECORD;
        }
        *ret = TAKE_PTR(j);
        return EXIT_OK;
}

const char *record_tree_list_get(json_object *j, const char *section, const char *key, size_t i) {
        json_object *s, *l, *e;
        if (!j || !json_object_object_get_ex(j, section, &s) || !json_object_object_get_ex(s, key, &l) ||
            !json_object_is_type(l, json_type_array) || i >= json_object_array_length(l))
                return NULL;
        e = json_object_array_get_idx(l, i);
        return json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}
