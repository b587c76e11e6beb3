/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "passwords.h"
#include "secret.h"

void passwords_done(Passwords *p) {
        for (size_t i = 0; i < p->n; i++)
                erase_and_free(p->list[i]);
        free(p->list);
        p->list = NULL;
        p->n = 0;
}

int passwords_add_take(Passwords *p, char *s) {
        char **l = realloc(p->list, (p->n + 1) * sizeof *l);
        if (!l) {
                erase_and_free(s);
                return -ENOMEM;
        }
        p->list = l;
        p->list[p->n++] = s;
        return 0;
}

int passwords_add(Passwords *p, const char *s) {
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        return passwords_add_take(p, c);
}

/* JSON string escaping into a caller-sized buffer; returns bytes written
 * (or that would be written when out is NULL). Built by hand rather than
 * with json-c, whose serialization buffer is freed without being wiped. */
static size_t json_escape(const char *s, char *out) {
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;

#define PUT(c)                          \
        do {                            \
                if (out)                \
                        out[n] = (c);   \
                n++;                    \
        } while (0)
        PUT('"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\') {
                        PUT('\\');
                        PUT((char) *p);
                } else if (*p < 0x20 || *p == 0x7F) {
                        PUT('\\');
                        PUT('u');
                        PUT('0');
                        PUT('0');
                        PUT(hex[*p >> 4]);
                        PUT(hex[*p & 15]);
                } else
                        PUT((char) *p);
        }
        PUT('"');
#undef PUT
        return n;
}

int passwords_to_json(const Passwords *p, char **ret) {
        size_t len = 2, n = 0;
        char *buf;

        if (p && p->n > 0) {
                len = strlen("{\"password\":[]}");
                for (size_t i = 0; i < p->n; i++)
                        len += json_escape(p->list[i], NULL) + 1;
        }
        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        if (!p || p->n == 0)
                n = (size_t) sprintf(buf, "{}");
        else {
                n = (size_t) sprintf(buf, "{\"password\":[");
                for (size_t i = 0; i < p->n; i++) {
                        if (i > 0)
                                buf[n++] = ',';
                        n += json_escape(p->list[i], buf + n);
                }
                buf[n++] = ']';
                buf[n++] = '}';
                buf[n] = 0;
        }
        *ret = buf;
        return 0;
}
