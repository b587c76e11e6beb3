/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "secret-text.h"

/* Beyond any request or record we make (json-strict's bound, with room for
 * escaping). */
#define SECRET_TEXT_MAX (8u * 1024 * 1024)

void secret_text_done(SecretText *t) {
        secure_buffer_free(t->buf);
        t->buf = NULL;
        t->len = 0;
}

int secret_text_put(SecretText *t, const char *s, size_t len) {
        size_t have = t->buf ? t->buf->size : 0;
        int r;

        if (len > SECRET_TEXT_MAX || t->len + len + 1 > SECRET_TEXT_MAX)
                return -E2BIG;
        if (t->len + len + 1 > have) {
                SecureBuffer *n = NULL;
                size_t want = have > 0 ? have : 256;
                while (want < t->len + len + 1)
                        want *= 2;
                r = secure_buffer_new(want, &n);
                if (r < 0)
                        return r;
                if (t->buf)
                        memcpy(n->data, t->buf->data, t->len);
                secure_buffer_free(t->buf);
                t->buf = n;
        }
        memcpy((char *) t->buf->data + t->len, s, len);
        t->len += len;
        ((char *) t->buf->data)[t->len] = 0;
        return 0;
}

int secret_text_put_string(SecretText *t, const char *s) {
        static const char hex[] = "0123456789abcdef";
        int r = secret_text_put(t, "\"", 1);

        /* Runs of plain bytes are copied whole; nothing of s touches the
         * stack but the escapes. */
        for (const char *p = s; r >= 0 && *p;) {
                size_t n = 0;
                while (p[n] && p[n] != '"' && p[n] != '\\' && (unsigned char) p[n] >= 0x20 && p[n] != 0x7F)
                        n++;
                if (n > 0) {
                        r = secret_text_put(t, p, n);
                        p += n;
                        continue;
                }
                unsigned char c = (unsigned char) *p++;
                char esc[6] = { '\\', (char) c };
                if (c == '"' || c == '\\')
                        r = secret_text_put(t, esc, 2);
                else {
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        r = secret_text_put(t, esc, 6);
                }
                explicit_bzero(esc, sizeof esc);
        }
        return r < 0 ? r : secret_text_put(t, "\"", 1);
}

int secret_text_put_json(SecretText *t, json_object *j) {
        int r = 0;
        bool first = true;

        switch (json_object_get_type(j)) {
        case json_type_string:
                return secret_text_put_string(t, json_object_get_string(j));
        case json_type_array:
                r = secret_text_put(t, "[", 1);
                for (size_t i = 0; r >= 0 && i < json_object_array_length(j); i++) {
                        if (i > 0)
                                r = secret_text_put(t, ",", 1);
                        if (r >= 0)
                                r = secret_text_put_json(t, json_object_array_get_idx(j, i));
                }
                return r < 0 ? r : secret_text_put(t, "]", 1);
        case json_type_object:
                r = secret_text_put(t, "{", 1);
                json_object_object_foreach(j, k, v) {
                        if (r >= 0 && !first)
                                r = secret_text_put(t, ",", 1);
                        first = false;
                        if (r >= 0)
                                r = secret_text_put_string(t, k);
                        if (r >= 0)
                                r = secret_text_put(t, ":", 1);
                        if (r >= 0)
                                r = secret_text_put_json(t, v);
                }
                return r < 0 ? r : secret_text_put(t, "}", 1);
        default: {
                const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
                return s ? secret_text_put(t, s, strlen(s)) : -ENOMEM;
        }
        }
}

int secret_text_record(json_object *record, SecretText *ret) {
        _cleanup_secret_text_ SecretText t = {};
        json_object *secret = NULL;
        int r;

        if (!json_object_is_type(record, json_type_object))
                return -EINVAL;
        /* A shallow copy without the secret section: json-c serializes that. */
        _cleanup_json_ json_object *plain = json_object_new_object();
        if (!plain)
                return -ENOMEM;
        json_object_object_foreach(record, k, v) {
                if (strcmp(k, "secret") == 0) {
                        secret = v;
                        continue;
                }
                if (json_object_object_add(plain, k, json_object_get(v)) < 0)
                        return -ENOMEM;
        }
        const char *text = json_object_to_json_string_ext(plain, JSON_C_TO_STRING_PLAIN |
                                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t len = text ? strlen(text) : 0;
        if (len < 2 || text[len - 1] != '}')
                return -ENOMEM;
        r = secret_text_put(&t, text, len - 1);
        if (r >= 0 && secret) {
                if (len > 2)
                        r = secret_text_put(&t, ",", 1);
                if (r >= 0)
                        r = secret_text_put(&t, "\"secret\":", 9);
                if (r >= 0)
                        r = secret_text_put_json(&t, secret);
        }
        if (r >= 0)
                r = secret_text_put(&t, "}", 1);
        if (r < 0)
                return r;
        *ret = t;
        t = (SecretText) {};
        return 0;
}
