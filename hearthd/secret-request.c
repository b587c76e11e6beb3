/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Passwords pass through the daemon on their way to a worker. They are
 * parsed once, copied into locked memory, and spliced into the request as
 * text of our own making, so json-c never serializes a secret. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json-strict.h"
#include "macro.h"
#include "secret-request.h"
#include "secret-text.h"

Secret *secret_free(Secret *s) {
        if (!s)
                return NULL;
        secure_buffer_free(s->buf);
        secure_buffer_free(s->pin);
        free(s->password);
        free(s);
        return NULL;
}

static int fail(char **ret_error, const char *msg) {
        if (ret_error)
                *ret_error = strdup(msg);
        return -EINVAL;
}

static int secret_from_json(json_object *j, Secret **ret, char **ret_error);

int secret_parse(const char *text, Secret **ret, char **ret_error) {
        _cleanup_json_wipe_ json_object *j = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        if (!text)
                return fail(ret_error, "secret: missing");
        r = json_parse_strict(text, strlen(text), &j, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (ret_error && asprintf(ret_error, "secret: %s", error ?: "not valid JSON") < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        return secret_from_json(j, ret, ret_error);
}

static int secret_from_json(json_object *j, Secret **ret, char **ret_error) {
        json_object *pw = NULL;
        size_t n = 0;
        int r;

        if (!json_object_is_type(j, json_type_object))
                return fail(ret_error, "secret: must be a JSON object");
        if (json_object_object_get_ex(j, "password", &pw)) {
                if (!json_object_is_type(pw, json_type_array))
                        return fail(ret_error, "secret: password: must be an array of strings");
                n = json_object_array_length(pw);
                if (n > SECRET_PASSWORDS_MAX)
                        return fail(ret_error, "secret: password: at most 64 entries");
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(pw, i);
                        if (!json_object_is_type(e, json_type_string))
                                return fail(ret_error, "secret: password: must be an array of strings");
                        size_t len = (size_t) json_object_get_string_len(e);
                        if (len == 0 || len > SECRET_PASSWORD_MAX || strlen(json_object_get_string(e)) != len)
                                return fail(ret_error, "secret: password: each must be 1 to 4096 bytes");
                }
        }

        /* homed's PIN members: pkcs11Pin (systemd 245), tokenPin (later). */
        const char *pin = NULL;
        static const char *const pin_keys[] = { "pkcs11Pin", "tokenPin" };
        for (size_t k = 0; k < ELEMENTSOF(pin_keys) && !pin; k++) {
                json_object *pl, *e;
                if (!json_object_object_get_ex(j, pin_keys[k], &pl))
                        continue;
                if (!json_object_is_type(pl, json_type_array) || json_object_array_length(pl) > SECRET_PASSWORDS_MAX)
                        return fail(ret_error, k == 0 ? "secret: pkcs11Pin: must be an array of at most 64 strings"
                                                      : "secret: tokenPin: must be an array of at most 64 strings");
                for (size_t i = 0; i < json_object_array_length(pl); i++) {
                        e = json_object_array_get_idx(pl, i);
                        if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0 ||
                            json_object_get_string_len(e) > SECRET_PIN_MAX ||
                            strlen(json_object_get_string(e)) != (size_t) json_object_get_string_len(e))
                                return fail(ret_error, k == 0 ? "secret: pkcs11Pin: each must be 1 to 256 bytes"
                                                              : "secret: tokenPin: each must be 1 to 256 bytes");
                }
                if (json_object_array_length(pl) > 0)
                        pin = json_object_get_string(json_object_array_get_idx(pl, 0));
        }

        _cleanup_free_ const char **list = calloc(n + 1, sizeof *list);
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                list[i] = json_object_get_string(json_object_array_get_idx(pw, i));
        r = secret_from_strv(list, ret);
        if (r < 0 || !pin)
                return r;
        r = secure_buffer_new(strlen(pin) + 1, &(*ret)->pin);
        if (r < 0) {
                *ret = secret_free(*ret);
                return r;
        }
        memcpy((*ret)->pin->data, pin, strlen(pin) + 1);
        return 0;
}

int secret_from_record(json_object *record, const char *const *passwords, Secret **ret, char **ret_error) {
        json_object *sec;
        if (json_object_object_get_ex(record, "secret", &sec) && json_object_is_type(sec, json_type_object) &&
            (json_object_object_get_ex(sec, "pkcs11Pin", NULL) || json_object_object_get_ex(sec, "tokenPin", NULL)))
                return secret_from_json(sec, ret, ret_error);
        if (passwords && passwords[0])
                return secret_from_strv(passwords, ret);
        return 0;
}

int secret_from_strv(const char *const *passwords, Secret **ret) {
        size_t n = 0, total = 1;
        int r;

        for (; passwords && passwords[n]; n++) {
                if (n >= SECRET_PASSWORDS_MAX || strlen(passwords[n]) > SECRET_PASSWORD_MAX)
                        return -EINVAL;
                total += strlen(passwords[n]) + 1;
        }
        _cleanup_(secret_freep) Secret *s = calloc(1, sizeof *s);
        if (!s || !(s->password = calloc(n + 1, sizeof *s->password)))
                return -ENOMEM;
        r = secure_buffer_new(total, &s->buf);
        if (r < 0)
                return r;
        char *p = s->buf->data;
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(passwords[i]);
                memcpy(p, passwords[i], len + 1);
                s->password[i] = p;
                p += len + 1;
        }
        s->n_password = n;
        *ret = TAKE_PTR(s);
        return 0;
}

static int put_array(SecretText *t, const char *key, const Secret *s) {
        int r = secret_text_put(t, "\"", 1);
        if (r >= 0)
                r = secret_text_put(t, key, strlen(key));
        if (r >= 0)
                r = secret_text_put(t, "\":[", 3);
        for (size_t i = 0; r >= 0 && i < s->n_password; i++) {
                if (i > 0)
                        r = secret_text_put(t, ",", 1);
                if (r >= 0)
                        r = secret_text_put_string(t, s->password[i]);
        }
        return r < 0 ? r : secret_text_put(t, "]", 1);
}

int secret_recovery_from_record(json_object *record, Secret **ret, char **ret_error) {
        json_object *secret, *keys;
        *ret = NULL;
        if (!json_object_object_get_ex(record, "secret", &secret) ||
            !json_object_object_get_ex(secret, "recoveryKey", &keys))
                return 0;
        if (!json_object_is_type(keys, json_type_array) || json_object_array_length(keys) > 4)
                return fail(ret_error, "secret: recoveryKey: must be an array of at most 4 strings");
        size_t n = json_object_array_length(keys);
        _cleanup_free_ const char **list = calloc(n + 1, sizeof *list);
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(keys, i);
                if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) == 0 ||
                    json_object_get_string_len(e) > 128)
                        return fail(ret_error, "secret: recoveryKey: each must be a string of 1 to 128 bytes");
                list[i] = json_object_get_string(e);
        }
        return n > 0 ? secret_from_strv(list, ret) : 0;
}

int secret_request_build(const char *record_json, const Secret *secret, const Secret *new_secret,
                         const Secret *recovery, SecureBuffer **ret, size_t *ret_len) {
        _cleanup_secret_text_ SecretText t = {};
        size_t len = strlen(record_json);
        int r;

        /* Record text as json-c writes it: an object, so it ends in '}'. */
        while (len > 0 && (record_json[len - 1] == '\n' || record_json[len - 1] == ' '))
                len--;
        if (len < 2 || record_json[0] != '{' || record_json[len - 1] != '}')
                return -EINVAL;
        r = secret_text_put(&t, record_json, len - 1);
        /* "{}" has no member to follow with a comma. */
        bool empty = strspn(record_json + 1, " \n\t") == len - 2;
        if (r >= 0)
                r = secret_text_put(&t, empty ? "\"secret\":{" : ",\"secret\":{", empty ? 10 : 11);
        if (r >= 0 && secret)
                r = put_array(&t, "password", secret);
        if (r >= 0 && new_secret) {
                if (secret)
                        r = secret_text_put(&t, ",", 1);
                if (r >= 0)
                        r = put_array(&t, "newPassword", new_secret);
        }
        if (r >= 0 && recovery) {
                if (secret || new_secret)
                        r = secret_text_put(&t, ",", 1);
                if (r >= 0)
                        r = put_array(&t, "recoveryKey", recovery);
        }
        if (r >= 0 && secret && secret->pin) {
                r = secret_text_put(&t, ",\"pkcs11Pin\":[", 14);
                if (r >= 0)
                        r = secret_text_put_string(&t, secret->pin->data);
                if (r >= 0)
                        r = secret_text_put(&t, "]", 1);
        }
        if (r >= 0)
                r = secret_text_put(&t, "}}", 2);
        if (r < 0)
                return r;
        *ret_len = t.len;
        *ret = TAKE_PTR(t.buf);
        return 0;
}
