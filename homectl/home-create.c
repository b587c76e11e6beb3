/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-call.h"
#include "exit-status.h"
#include "home-create.h"
#include "identity-file.h"
#include "json-strict.h"
#include "log.h"
#include "password.h"
#include "secret.h"

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

int create_passwords(const char *user, json_object *base, Passwords *p, bool *set_hashes) {
        const char *e;
        int r;

        *set_hashes = !record_tree_list_get(base, "privileged", "hashedPassword", 0);
        for (size_t i = 0; (e = record_tree_list_get(base, "secret", "password", i)); i++)
                if (passwords_add(p, e) < 0)
                        return log_oom(), EXIT_FAIL;
        if (p->n > 0)
                return EXIT_OK;

        if (!*set_hashes) {
                _cleanup_erase_ char *pw = NULL;
                json_object *priv, *hashes;
                const char **l = NULL;

                e = secrets_env_password();
                if (e)
                        pw = strdup(e);
                else if (ask_password_possible()) {
                        char prompt[64];
                        snprintf(prompt, sizeof prompt, "Password for user %s: ", user);
                        r = ask_password_tty(prompt, &pw);
                        if (r < 0) {
                                log_error_errno(r, "home %s: cannot read the password: %m", user);
                                return EXIT_BAD_PASSWORD;
                        }
                } else {
                        log_error("home %s: the record has a hashed password; give it in $PASSWORD, or run on a "
                                  "terminal without --no-ask-password",
                                  user);
                        return EXIT_BAD_PASSWORD;
                }
                if (!pw)
                        return log_oom(), EXIT_FAIL;

                json_object_object_get_ex(base, "privileged", &priv);
                json_object_object_get_ex(priv, "hashedPassword", &hashes);
                size_t n = json_object_array_length(hashes);
                l = calloc(n + 1, sizeof *l);
                if (!l)
                        return log_oom(), EXIT_FAIL;
                for (size_t i = 0; i < n; i++)
                        l[i] = json_object_get_string(json_object_array_get_idx(hashes, i));
                r = password_verify(pw, l);
                free(l);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot check the password: %m", user), EXIT_FAIL;
                if (r == 0) {
                        log_error("home %s: the password does not match the record's hashedPassword", user);
                        return EXIT_BAD_PASSWORD;
                }
                if (passwords_add_take(p, TAKE_PTR(pw)) < 0)
                        return log_oom(), EXIT_FAIL;
                return EXIT_OK;
        }

        e = secrets_env_new_password();
        if (e) {
                if (!e[0]) {
                        log_error("home %s: $NEWPASSWORD is empty", user);
                        return EXIT_BAD_PASSWORD;
                }
                return passwords_add(p, e) < 0 ? (log_oom(), EXIT_FAIL) : EXIT_OK;
        }
        if (!ask_password_possible()) {
                log_error("home %s: a password is needed: set $NEWPASSWORD, or run on a terminal without "
                          "--no-ask-password",
                          user);
                return EXIT_BAD_PASSWORD;
        }
        _cleanup_erase_ char *pw = NULL;
        if (ask_new_password(user, &pw) < 0)
                return EXIT_BAD_PASSWORD;
        return passwords_add_take(p, TAKE_PTR(pw)) < 0 ? (log_oom(), EXIT_FAIL) : EXIT_OK;
}

int create_build_record(json_object *base, const char *user, const RecordChanges *c, const char *machine_id,
                        const Passwords *p, bool hash, UserRecord **ret) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        /* user may point into base, which the builder takes and may free. */
        _cleanup_free_ char *name = strdup(user);
        int r;

        if (!name) {
                json_object_wipe_and_put(base);
                return log_oom(), EXIT_FAIL;
        }
        r = record_build_create(base, name, c, machine_id, hash ? p : NULL, now_usec(), &rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: %s", name, error ?: strerror(-r));
                return r == -EINVAL ? EXIT_INVALID_RECORD : EXIT_FAIL;
        }
        if (!hash && record_set_secret(rec, p) < 0)
                return log_oom(), EXIT_FAIL;
        *ret = TAKE_PTR(rec);
        return EXIT_OK;
}

int create_call(sd_bus *bus, UserRecord *rec) {
        return home_call(bus,
                         &(HomeCall) { .method = "CreateHome", .user = rec->user_name, .timeout = BUS_TIMEOUT_LONG,
                                       .append = bus_append_record, .userdata = rec },
                         NULL);
}
