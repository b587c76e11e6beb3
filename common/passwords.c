/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "passwords.h"
#include "secret-text.h"

void passwords_done(Passwords *p) {
        for (size_t i = 0; i < p->n; i++)
                secure_buffer_free(p->bufs[i]);
        free(p->list);
        free(p->bufs);
        p->list = NULL;
        p->bufs = NULL;
        p->n = 0;
        secure_buffer_free(p->pin);
        p->pin = NULL;
}

int passwords_set_pin(Passwords *p, const char *s) {
        SecureBuffer *b = NULL;
        int r = secure_buffer_new(strlen(s) + 1, &b);
        if (r < 0)
                return r;
        memcpy(b->data, s, strlen(s) + 1);
        secure_buffer_free(p->pin);
        p->pin = b;
        return 0;
}

int passwords_add(Passwords *p, const char *s) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        size_t len = strlen(s);
        int r;

        r = secure_buffer_new(len + 1, &b);
        if (r < 0)
                return r;
        memcpy(b->data, s, len + 1);
        char **l = realloc(p->list, (p->n + 1) * sizeof *l);
        if (!l)
                return -ENOMEM;
        p->list = l;
        SecureBuffer **bl = realloc(p->bufs, (p->n + 1) * sizeof *bl);
        if (!bl)
                return -ENOMEM;
        p->bufs = bl;
        p->list[p->n] = b->data;
        p->bufs[p->n++] = TAKE_PTR(b);
        return 0;
}

int passwords_add_take(Passwords *p, char *s) {
        int r = passwords_add(p, s);
        erase_and_free(s);
        return r;
}

int passwords_to_json(const Passwords *p, SecureBuffer **ret) {
        _cleanup_secret_text_ SecretText t = {};
        int r;

        if (!p || (p->n == 0 && !p->pin))
                r = secret_text_put(&t, "{}", 2);
        else {
                r = secret_text_put(&t, "{\"password\":[", 13);
                for (size_t i = 0; r >= 0 && i < p->n; i++) {
                        if (i > 0)
                                r = secret_text_put(&t, ",", 1);
                        if (r >= 0)
                                r = secret_text_put_string(&t, p->list[i]);
                }
                if (r >= 0)
                        r = secret_text_put(&t, "]", 1);
                if (r >= 0 && p->pin) {
                        r = secret_text_put(&t, ",\"pkcs11Pin\":[", 14);
                        if (r >= 0)
                                r = secret_text_put_string(&t, p->pin->data);
                        if (r >= 0)
                                r = secret_text_put(&t, "]", 1);
                }
                if (r >= 0)
                        r = secret_text_put(&t, "}", 1);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t.buf);
        return 0;
}
