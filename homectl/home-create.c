/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-call.h"
#include "exit-status.h"
#include "format.h"
#include "home-create.h"
#include "identity-file.h"
#include "json-strict.h"
#include "log.h"
#include "password.h"
#include "password.h"
#include "pkcs11-record.h"
#include "pkcs11-token.h"
#include "recovery-key.h"
#include "secret.h"

int create_passwords(const char *user, json_object *base, Passwords *p, bool *set_hashes) {
        const char *e;
        int r;

        *set_hashes = !record_tree_list_get(base, "privileged", "hashedPassword", 0);
        for (size_t i = 0; (e = record_tree_list_get(base, "secret", "password", i)); i++) {
                if (!new_password_ok(user, e))
                        return EXIT_BAD_PASSWORD;
                if (passwords_add(p, e) < 0)
                        return log_oom(), EXIT_FAIL;
        }
        if (p->n > 0)
                return EXIT_OK;

        if (!*set_hashes) {
                _cleanup_secure_buffer_ SecureBuffer *asked = NULL;
                json_object *priv, *hashes;
                const char **l = NULL;

                e = secrets_env_password();
                if (!e && ask_password_possible()) {
                        char prompt[64];
                        snprintf(prompt, sizeof prompt, "Password for user %s: ", user);
                        r = ask_password_tty(prompt, &asked);
                        if (r < 0) {
                                log_error_errno(r, "home %s: cannot read the password: %m", user);
                                return EXIT_BAD_PASSWORD;
                        }
                        e = asked->data;
                } else if (!e) {
                        log_error("home %s: the record has a hashed password; give it in $PASSWORD, or run on a "
                                  "terminal without --no-ask-password",
                                  user);
                        return EXIT_BAD_PASSWORD;
                }

                json_object_object_get_ex(base, "privileged", &priv);
                json_object_object_get_ex(priv, "hashedPassword", &hashes);
                size_t n = json_object_array_length(hashes);
                l = calloc(n + 1, sizeof *l);
                if (!l)
                        return log_oom(), EXIT_FAIL;
                for (size_t i = 0; i < n; i++)
                        l[i] = json_object_get_string(json_object_array_get_idx(hashes, i));
                r = password_verify(e, l);
                free(l);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot check the password: %m", user), EXIT_FAIL;
                if (r == 0) {
                        log_error("home %s: the password does not match the record's hashedPassword", user);
                        return EXIT_BAD_PASSWORD;
                }
                if (passwords_add(p, e) < 0)
                        return log_oom(), EXIT_FAIL;
                return EXIT_OK;
        }

        e = secrets_env_new_password();
        if (e) {
                if (!e[0]) {
                        log_error("home %s: $NEWPASSWORD is empty", user);
                        return EXIT_BAD_PASSWORD;
                }
                if (!new_password_ok(user, e))
                        return EXIT_BAD_PASSWORD;
                return passwords_add(p, e) < 0 ? (log_oom(), EXIT_FAIL) : EXIT_OK;
        }
        if (!ask_password_possible()) {
                log_error("home %s: a password is needed: set $NEWPASSWORD, or run on a terminal without "
                          "--no-ask-password",
                          user);
                return EXIT_BAD_PASSWORD;
        }
        _cleanup_secure_buffer_ SecureBuffer *pw = NULL;
        if (ask_new_password(user, &pw) < 0)
                return EXIT_BAD_PASSWORD;
        return passwords_add(p, pw->data) < 0 ? (log_oom(), EXIT_FAIL) : EXIT_OK;
}

/* Whether --recovery-key= (want) fits a record asking for tpm2, keeping a
 * password keyslot or not, with a recovery key of its own or not. */
static int recovery_key_allowed(const char *user, bool tpm2, bool keep_password, bool given, int want) {
        if (!tpm2 && want > 0) {
                log_error("home %s: --recovery-key= only applies to a home with a TPM2-sealed key (--tpm2)", user);
                return EXIT_USAGE;
        }
        if (given && want == 0) {
                log_error("home %s: --recovery-key=no, but the record has a secret.recoveryKey", user);
                return EXIT_USAGE;
        }
        if (tpm2 && !given && want == 0 && !keep_password) {
                log_error("home %s: --recovery-key=no needs --tpm2-keep-password: with the TPM's keyslot alone, a "
                          "firmware or boot change (other PCR values) or another TPM leaves no way into the home",
                          user);
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

int create_check_recovery_key(json_object *base, const char *user, const RecordChanges *c, int recovery_key) {
        return recovery_key_allowed(
                user, c->tpm2_set ? c->tpm2 : record_wants_tpm2(base),
                c->tpm2_keep_password_set ? c->tpm2_keep_password : record_tpm2_keeps_password(base),
                record_tree_list_get(base, "secret", "recoveryKey", 0), recovery_key);
}

/* Puts the recovery keys into rec's secret section: given (the record's
 * own), or a new one, returned in *ret to be shown. */
static int create_recovery_key(UserRecord *rec, const char *user, const Passwords *given, int want,
                               SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        _cleanup_passwords_ Passwords keys = {};
        bool tpm2 = record_wants_tpm2(rec->json);
        int r;

        *ret = NULL;
        r = recovery_key_allowed(user, tpm2, record_tpm2_keeps_password(rec->json), given->n > 0, want);
        if (r != EXIT_OK)
                return r;
        if (given->n > 0) {
                for (size_t i = 0; i < given->n; i++) {
                        _cleanup_secure_buffer_ SecureBuffer *norm = NULL;
                        /* Enrolled in the one form activation compares against. */
                        r = recovery_key_normalize(given->list[i], &norm);
                        if (r == -ENOMEM)
                                return log_oom(), EXIT_FAIL;
                        if (r < 0) {
                                log_error("home %s: secret.recoveryKey: entry %zu is not a recovery key (64 "
                                          "characters of cbdefghijklnrtuv, in groups of 8 joined by dashes or not)",
                                          user, i);
                                return EXIT_INVALID_RECORD;
                        }
                        if (passwords_add(&keys, norm->data) < 0)
                                return log_oom(), EXIT_FAIL;
                }
                /* Not shown: whoever wrote the record has them. */
                return record_set_recovery_keys(rec, &keys) < 0 ? (log_oom(), EXIT_FAIL) : EXIT_OK;
        }
        if (!tpm2 || want == 0)
                return EXIT_OK;

        r = recovery_key_generate(&key);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0)
                return EXIT_FAIL; /* logged */
        if (passwords_add(&keys, key->data) < 0 || record_set_recovery_keys(rec, &keys) < 0)
                return log_oom(), EXIT_FAIL;
        *ret = TAKE_PTR(key);
        return EXIT_OK;
}

int create_build_record(json_object *base, const char *user, const RecordChanges *c, const char *machine_id,
                        const Passwords *p, bool hash, int recovery_key, UserRecord **ret,
                        SecureBuffer **ret_recovery_key) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_passwords_ Passwords given = {};
        /* user may point into base, which the builder takes and may free. */
        _cleanup_free_ char *name = strdup(user);
        json_object *secret, *keys;
        int r;

        *ret_recovery_key = NULL;
        if (!name) {
                json_object_wipe_and_put(base);
                return log_oom(), EXIT_FAIL;
        }
        /* The builder replaces the secret section with the passwords: keep
         * the record's recovery keys to put back. */
        if (base && json_object_object_get_ex(base, "secret", &secret) &&
            json_object_object_get_ex(secret, "recoveryKey", &keys)) {
                bool ok = json_object_is_type(keys, json_type_array);
                for (size_t i = 0; ok && i < json_object_array_length(keys); i++)
                        ok = json_object_is_type(json_object_array_get_idx(keys, i), json_type_string);
                if (!ok) {
                        json_object_wipe_and_put(base);
                        log_error("home %s: secret.recoveryKey: must be a list of strings", name);
                        return EXIT_INVALID_RECORD;
                }
                for (size_t i = 0; i < json_object_array_length(keys); i++)
                        if (passwords_add(&given, json_object_get_string(json_object_array_get_idx(keys, i))) < 0) {
                                json_object_wipe_and_put(base);
                                return log_oom(), EXIT_FAIL;
                        }
        }
        r = record_build_create(base, name, c, machine_id, hash ? p : NULL, now_usec(), &rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: %s", name, error ?: strerror(-r));
                /* --tpm2 --storage=directory is a command line that cannot
                 * work; the same in a file is a bad record. */
                if (r == -EMEDIUMTYPE)
                        return record_changes_tpm2_any(c) || c->storage ? EXIT_USAGE : EXIT_INVALID_RECORD;
                return r == -EINVAL ? EXIT_INVALID_RECORD : EXIT_FAIL;
        }
        if (!hash && record_set_secret(rec, p) < 0)
                return log_oom(), EXIT_FAIL;
        /* Not even on the bus: the hash of a TPM PIN (user-record.h). */
        if (user_record_drop_pin_hash(rec) < 0)
                return log_oom(), EXIT_FAIL;
        r = create_recovery_key(rec, name, &given, recovery_key, ret_recovery_key);
        if (r != EXIT_OK)
                return r;
        *ret = TAKE_PTR(rec);
        return EXIT_OK;
}

/* secret.password gets pw too. */
static int secret_password_append(UserRecord *rec, const char *pw) {
        json_object *secret, *list;
        if (!json_object_object_get_ex(rec->json, "secret", &secret)) {
                secret = json_object_new_object();
                if (!secret || json_object_object_add(rec->json, "secret", secret) < 0) {
                        json_object_put(secret);
                        return -ENOMEM;
                }
        }
        if (!json_object_is_type(secret, json_type_object))
                return -EINVAL;
        if (!json_object_object_get_ex(secret, "password", &list)) {
                list = json_object_new_array();
                if (!list || json_object_object_add(secret, "password", list) < 0) {
                        json_object_put(list);
                        return -ENOMEM;
                }
        }
        if (!json_object_is_type(list, json_type_array) || json_object_array_add(list, json_object_new_string(pw)) < 0)
                return -ENOMEM;
        return user_record_refresh(rec, NULL);
}

int create_enroll_pkcs11(UserRecord *rec, const char *uri, SecureBuffer **ret_secret) {
        _cleanup_free_ char *cert_uri = NULL;
        _cleanup_secure_buffer_ SecureBuffer *secret = NULL;
        _cleanup_free_ void *encrypted = NULL;
        _cleanup_erase_ char *hash = NULL;
        _cleanup_free_ char *error = NULL;
        EVP_PKEY *pkey = NULL;
        size_t size = 0;
        int r;

        if (rec->storage == USER_STORAGE_FSCRYPT) {
                log_error("home %s: --pkcs11-token-uri=: security tokens do not open fscrypt homes yet (use "
                          "--storage=luks, directory or subvolume)", rec->user_name);
                return EXIT_USAGE;
        }
        r = pkcs11_token_find_certificate(uri, &cert_uri, &pkey);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0)
                return r == -EINVAL || r == -ENOTUNIQ || r == -EOPNOTSUPP ? EXIT_USAGE : EXIT_FAIL; /* logged */
        r = pkcs11_secret_make(pkey, &secret, &encrypted, &size);
        EVP_PKEY_free(pkey);
        if (r < 0) {
                log_error_errno(r, "home %s: %s: cannot encrypt a key to the certificate: %m", rec->user_name, cert_uri);
                return EXIT_FAIL;
        }
        r = password_hash(secret->data, &hash);
        if (r < 0) {
                log_error_errno(r, "home %s: cannot hash the token's key: %m", rec->user_name);
                return EXIT_FAIL;
        }
        r = pkcs11_record_add(rec->json, cert_uri, encrypted, size, hash);
        if (r >= 0)
                r = user_record_refresh(rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: cannot enrol %s: %s", rec->user_name, cert_uri, error ?: "too many tokens");
                return EXIT_INVALID_RECORD;
        }
        log_info("home %s: enrolled %s", rec->user_name, cert_uri);
        /* A LUKS home's keyslot opens with the secret: it goes to the
         * worker beside the passwords (create) or is the caller's to send
         * (update). */
        if (ret_secret)
                *ret_secret = TAKE_PTR(secret);
        else if ((rec->storage == USER_STORAGE_LUKS || (rec->storage == USER_STORAGE_UNSET && user_record_tpm2(rec))) &&
                 secret_password_append(rec, secret->data) < 0)
                return log_oom(), EXIT_FAIL;
        return EXIT_OK;
}

void create_show_recovery_key(const char *user, const SecureBuffer *key) {
        if (!key)
                return;
        /* What stdio holds goes out first, to keep the order. */
        fflush(stdout);
        print_recovery_key(STDOUT_FILENO, user, key->data);
}

int create_call(sd_bus *bus, UserRecord *rec) {
        return home_call(bus,
                         &(HomeCall) { .method = "CreateHome", .user = rec->user_name, .timeout = BUS_TIMEOUT_LONG,
                                       .append = bus_append_record, .userdata = rec },
                         NULL);
}
