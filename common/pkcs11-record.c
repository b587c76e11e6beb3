/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pkcs11-record.h"

bool pkcs11_uri_valid(const char *s) {
        size_t n = strlen(s);

        if (n <= strlen("pkcs11:") || n > PKCS11_URI_MAX || strncmp(s, "pkcs11:", 7) != 0)
                return false;
        /* RFC 7512 URIs are ASCII (anything else percent-encoded). */
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= 0x20 || *p >= 0x7F)
                        return false;
        return true;
}

static bool valid_hash(const char *s) {
        return s[0] && !strchr(s, ':') && strlen(s) <= PKCS11_HASH_MAX &&
               strspn(s, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$=,*!") == strlen(s);
}

static int why(const char **ret_why, size_t *ret_index, const char *text, size_t index) {
        if (ret_why)
                *ret_why = text;
        if (ret_index)
                *ret_index = index;
        return -EINVAL;
}

int pkcs11_token_uris_parse(json_object *v, const char ***ret, const char **ret_why, size_t *ret_index) {
        if (!json_object_is_type(v, json_type_array))
                return why(ret_why, ret_index, "must be an array of strings", SIZE_MAX);
        size_t n = json_object_array_length(v);
        if (n > PKCS11_KEYS_MAX)
                return why(ret_why, ret_index, "has too many entries", SIZE_MAX);

        const char **l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string) ||
                    (size_t) json_object_get_string_len(e) > PKCS11_URI_MAX ||
                    !pkcs11_uri_valid(json_object_get_string(e))) {
                        free(l);
                        return why(ret_why, ret_index, "is not a PKCS#11 URI (\"pkcs11:…\", printable ASCII)", i);
                }
                l[i] = json_object_get_string(e);
                for (size_t k = 0; k < i; k++)
                        if (strcmp(l[k], l[i]) == 0) {
                                free(l);
                                return why(ret_why, ret_index, "is listed twice", i);
                        }
        }
        *ret = l;
        return 0;
}

static bool valid_base64(const char *s, size_t n) {
        if (n == 0 || n % 4 != 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = s[i];
                if (ch == '=') {
                        /* Padding only at the end, at most two. */
                        if (i < n - 2 || (i == n - 2 && s[n - 1] != '='))
                                return false;
                        continue;
                }
                if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                      ch == '+' || ch == '/'))
                        return false;
        }
        return true;
}

int pkcs11_data_decode(const char *b64, void **ret, size_t *ret_size) {
        size_t n = strlen(b64);

        if (n > (PKCS11_DATA_MAX + 2) / 3 * 4 || !valid_base64(b64, n))
                return -EINVAL;
        unsigned char *buf = malloc(n / 4 * 3 + 1);
        if (!buf)
                return -ENOMEM;
        int m = EVP_DecodeBlock(buf, (const unsigned char *) b64, (int) n);
        if (m < 0) {
                free(buf);
                return -EINVAL;
        }
        /* EVP_DecodeBlock() counts the padding as bytes. */
        size_t size = (size_t) m - (b64[n - 1] == '=') - (b64[n - 2] == '=');
        if (size == 0 || size > PKCS11_DATA_MAX) {
                free(buf);
                return -EINVAL;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

static const char *member_string(json_object *o, const char *key, size_t max) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
            (size_t) json_object_get_string_len(v) > max)
                return NULL;
        return json_object_get_string(v);
}

int pkcs11_encrypted_keys_parse(json_object *v, Pkcs11EncryptedKey **ret, size_t *ret_n, const char **ret_why,
                                size_t *ret_index) {
        if (!json_object_is_type(v, json_type_array))
                return why(ret_why, ret_index, "must be an array of objects", SIZE_MAX);
        size_t n = json_object_array_length(v);
        if (n > PKCS11_KEYS_MAX)
                return why(ret_why, ret_index, "has too many entries", SIZE_MAX);

        Pkcs11EncryptedKey *l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                const char *w = NULL;

                if (!json_object_is_type(e, json_type_object))
                        w = "must be an object";
                else if (!(l[i].uri = member_string(e, "uri", PKCS11_URI_MAX)) || !pkcs11_uri_valid(l[i].uri))
                        w = "\"uri\" must be a PKCS#11 URI";
                else if (!(l[i].data = member_string(e, "data", (PKCS11_DATA_MAX + 2) / 3 * 4)) ||
                         !valid_base64(l[i].data, strlen(l[i].data)))
                        w = "\"data\" must be base64 of at most 2048 bytes";
                else if (!(l[i].hashed_password = member_string(e, "hashedPassword", PKCS11_HASH_MAX)) ||
                         !valid_hash(l[i].hashed_password))
                        w = "\"hashedPassword\" must be a crypt(3) hash";
                else
                        for (size_t k = 0; k < i; k++)
                                if (strcmp(l[k].uri, l[i].uri) == 0)
                                        w = "names a URI another entry names";
                if (w) {
                        free(l);
                        return why(ret_why, ret_index, w, i);
                }
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

static int drop_uri(json_object *list, const char *uri, const char *member) {
        int found = 0;
        for (size_t i = json_object_array_length(list); i > 0; i--) {
                json_object *e = json_object_array_get_idx(list, i - 1), *u = e;
                if (member && !json_object_object_get_ex(e, member, &u))
                        continue;
                if (json_object_is_type(u, json_type_string) && strcmp(json_object_get_string(u), uri) == 0) {
                        json_object_array_del_idx(list, i - 1, 1);
                        found = 1;
                }
        }
        return found;
}

static json_object *get_or_add(json_object *obj, const char *key, json_type type) {
        json_object *v;
        if (json_object_object_get_ex(obj, key, &v))
                return json_object_is_type(v, type) ? v : NULL;
        v = type == json_type_array ? json_object_new_array() : json_object_new_object();
        if (!v)
                return NULL;
        if (json_object_object_add(obj, key, v) < 0) {
                json_object_put(v);
                return NULL;
        }
        return v;
}

int pkcs11_record_add(json_object *record, const char *uri, const void *encrypted, size_t size,
                      const char *hashed_password) {
        if (!pkcs11_uri_valid(uri) || size == 0 || size > PKCS11_DATA_MAX || !valid_hash(hashed_password))
                return -EINVAL;

        json_object *priv = get_or_add(record, "privileged", json_type_object);
        if (!priv)
                return -EINVAL;
        json_object *keys = get_or_add(priv, "pkcs11EncryptedKey", json_type_array);
        json_object *uris = get_or_add(record, "pkcs11TokenUri", json_type_array);
        if (!keys || !uris)
                return -EINVAL;
        drop_uri(keys, uri, "uri");
        bool listed = false;
        for (size_t i = 0; i < json_object_array_length(uris); i++) {
                json_object *e = json_object_array_get_idx(uris, i);
                if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), uri) == 0)
                        listed = true;
        }
        if (json_object_array_length(keys) >= PKCS11_KEYS_MAX ||
            (!listed && json_object_array_length(uris) >= PKCS11_KEYS_MAX))
                return -EINVAL;

        char *b64 = malloc((size + 2) / 3 * 4 + 1);
        if (!b64)
                return -ENOMEM;
        EVP_EncodeBlock((unsigned char *) b64, encrypted, (int) size);
        json_object *e = json_object_new_object();
        if (!e || json_object_object_add(e, "uri", json_object_new_string(uri)) < 0 ||
            json_object_object_add(e, "data", json_object_new_string(b64)) < 0 ||
            json_object_object_add(e, "hashedPassword", json_object_new_string(hashed_password)) < 0 ||
            json_object_array_add(keys, e) < 0) {
                free(b64);
                json_object_put(e);
                return -ENOMEM;
        }
        free(b64);
        if (!listed && json_object_array_add(uris, json_object_new_string(uri)) < 0)
                return -ENOMEM;
        return 0;
}

int pkcs11_record_clear(json_object *record) {
        json_object *priv;
        int found = 0;

        if (json_object_object_get_ex(record, "pkcs11TokenUri", NULL)) {
                json_object_object_del(record, "pkcs11TokenUri");
                found = 1;
        }
        if (json_object_object_get_ex(record, "privileged", &priv) && json_object_is_type(priv, json_type_object) &&
            json_object_object_get_ex(priv, "pkcs11EncryptedKey", NULL)) {
                json_object_object_del(priv, "pkcs11EncryptedKey");
                if (json_object_object_length(priv) == 0)
                        json_object_object_del(record, "privileged");
                found = 1;
        }
        return found;
}

int pkcs11_error_worse(int worst, int r) {
        if (worst == 0 || r == -ENOLCK || (worst == -ENOANO && r != -EIO) || worst == -EIO)
                return r;
        return worst;
}
