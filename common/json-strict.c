/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json_tokener.h>
#include <json-c/printbuf.h>

#include "json-strict.h"
#include "macro.h"

/* ---- scanner ---------------------------------------------------------- */

typedef struct Scanner {
        const unsigned char *p, *start, *end;
        unsigned depth;
        char *error;
        bool oom;
} Scanner;

typedef struct Key {
        char *s;
        size_t len;
        const unsigned char *at; /* where the key starts, for messages */
} Key;

_printf_(2, 3) static int scan_fail(Scanner *s, const char *fmt, ...) {
        unsigned line = 1, col = 1;
        char msg[256];
        va_list ap;

        if (s->error)
                return -EINVAL;
        for (const unsigned char *q = s->start; q < s->p && q < s->end; q++) {
                if (*q == '\n') {
                        line++;
                        col = 1;
                } else if ((*q & 0xC0) != 0x80)
                        col++;
        }
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (asprintf(&s->error, "line %u, column %u: %s", line, col, msg) < 0) {
                s->error = NULL;
                s->oom = true;
        }
        return -EINVAL;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if it is not valid:
 * overlong forms, surrogates and code points past U+10FFFF are refused. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
        unsigned c = p[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                n = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
                n = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
                n = 4, cp = c & 0x07;
        else
                return 0;
        if ((size_t) (end - p) < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return n;
}

static void skip_ws(Scanner *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static int hex4(Scanner *s, uint32_t *ret) {
        uint32_t v = 0;
        if (s->end - s->p < 4)
                return scan_fail(s, "truncated \\u escape");
        for (int i = 0; i < 4; i++) {
                unsigned c = *s->p++;
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return scan_fail(s, "invalid \\u escape");
        }
        *ret = v;
        return 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp) {
        if (cp < 0x80)
                out[(*n)++] = (char) cp;
        else if (cp < 0x800) {
                out[(*n)++] = (char) (0xC0 | (cp >> 6));
                out[(*n)++] = (char) (0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
                out[(*n)++] = (char) (0xE0 | (cp >> 12));
                out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[(*n)++] = (char) (0x80 | (cp & 0x3F));
        } else {
                out[(*n)++] = (char) (0xF0 | (cp >> 18));
                out[(*n)++] = (char) (0x80 | ((cp >> 12) & 0x3F));
                out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
                out[(*n)++] = (char) (0x80 | (cp & 0x3F));
        }
}

/* Scans a string at s->p (on the opening quote). If ret is set, the decoded
 * string is returned (used for keys only; values may be secrets and are
 * never copied). */
static int scan_string(Scanner *s, Key *ret) {
        const unsigned char *begin = ++s->p;
        _cleanup_free_ char *out = NULL;
        size_t n = 0;

        if (ret) {
                /* Decoding never makes a string longer than its escaped form. */
                const unsigned char *q = begin;
                while (q < s->end && *q != '"')
                        q += (*q == '\\' && q + 1 < s->end) ? 2 : 1;
                out = malloc((size_t) (q - begin) + 1);
                if (!out) {
                        s->oom = true;
                        return -ENOMEM;
                }
        }

        for (;;) {
                if (s->p >= s->end)
                        return scan_fail(s, "unterminated string");
                unsigned c = *s->p;
                if (c == '"') {
                        s->p++;
                        break;
                }
                if (c < 0x20)
                        return scan_fail(s, "control character in string");
                if (c == '\\') {
                        uint32_t cp;
                        s->p++;
                        if (s->p >= s->end)
                                return scan_fail(s, "unterminated string");
                        switch (*s->p++) {
                        case '"': cp = '"'; break;
                        case '\\': cp = '\\'; break;
                        case '/': cp = '/'; break;
                        case 'b': cp = '\b'; break;
                        case 'f': cp = '\f'; break;
                        case 'n': cp = '\n'; break;
                        case 'r': cp = '\r'; break;
                        case 't': cp = '\t'; break;
                        case 'u':
                                if (hex4(s, &cp) < 0)
                                        return -EINVAL;
                                if (cp == 0)
                                        return scan_fail(s, "NUL character (\\u0000) in string");
                                if (cp >= 0xDC00 && cp <= 0xDFFF)
                                        return scan_fail(s, "lone low surrogate in \\u escape");
                                if (cp >= 0xD800 && cp <= 0xDBFF) {
                                        uint32_t lo;
                                        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                                                return scan_fail(s, "lone high surrogate in \\u escape");
                                        s->p += 2;
                                        if (hex4(s, &lo) < 0)
                                                return -EINVAL;
                                        if (lo < 0xDC00 || lo > 0xDFFF)
                                                return scan_fail(s, "invalid surrogate pair in \\u escape");
                                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                }
                                break;
                        default:
                                s->p--;
                                return scan_fail(s, "invalid escape sequence");
                        }
                        if (out)
                                put_utf8(out, &n, cp);
                        continue;
                }
                size_t len = utf8_sequence(s->p, s->end);
                if (len == 0)
                        return scan_fail(s, "invalid UTF-8");
                if (out) {
                        memcpy(out + n, s->p, len);
                        n += len;
                }
                s->p += len;
        }

        if (ret) {
                out[n] = 0;
                ret->s = TAKE_PTR(out);
                ret->len = n;
        }
        return 0;
}

static int scan_number(Scanner *s) {
        const unsigned char *begin = s->p;
        bool negative = false, integer = true;

        if (*s->p == '-') {
                negative = true;
                s->p++;
        }
        if (s->p >= s->end || !(*s->p >= '0' && *s->p <= '9'))
                return scan_fail(s, "invalid number");
        if (*s->p == '0') {
                s->p++;
                if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        return scan_fail(s, "number with leading zero");
        } else
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
        const unsigned char *int_end = s->p;
        if (s->p < s->end && *s->p == '.') {
                integer = false;
                s->p++;
                if (s->p >= s->end || !(*s->p >= '0' && *s->p <= '9'))
                        return scan_fail(s, "invalid number");
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                integer = false;
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                if (s->p >= s->end || !(*s->p >= '0' && *s->p <= '9'))
                        return scan_fail(s, "invalid number");
                while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
                        s->p++;
        }

        if (integer) {
                /* json-c stores integers as int64 or uint64; anything wider would
                 * be silently clamped, so refuse it here. */
                const unsigned char *d = begin + negative;
                uint64_t v = 0;
                for (; d < int_end; d++) {
                        unsigned digit = *d - '0';
                        if (v > (UINT64_MAX - digit) / 10)
                                return scan_fail(s, "integer out of range");
                        v = v * 10 + digit;
                }
                if (negative && v > (uint64_t) INT64_MAX + 1)
                        return scan_fail(s, "integer out of range");
        }
        return 0;
}

static int scan_literal(Scanner *s, const char *word) {
        size_t n = strlen(word);
        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return scan_fail(s, "unexpected character");
        s->p += n;
        return 0;
}

static int key_compare(const void *a, const void *b) {
        const Key *x = a, *y = b;
        size_t n = x->len < y->len ? x->len : y->len;
        int r = memcmp(x->s, y->s, n);
        return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

static void keys_free(Key *keys, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(keys[i].s);
        free(keys);
}

static int scan_value(Scanner *s);

/* A key as messages show it: one line (control characters become '?'), at
 * most size - 1 bytes, cut only between UTF-8 sequences. */
static void key_for_message(const Key *k, char *out, size_t size) {
        const unsigned char *p = (const unsigned char *) k->s, *end = p + k->len;
        size_t n = 0;

        while (p < end) {
                size_t len = utf8_sequence(p, end);
                if (len == 0 || n + len >= size)
                        break;
                for (size_t i = 0; i < len; i++)
                        out[n++] = p[i] < 0x20 || p[i] == 0x7F ? '?' : (char) p[i];
                p += len;
        }
        out[n] = 0;
}

static int scan_object(Scanner *s) {
        Key *keys = NULL;
        size_t n = 0, allocated = 0;
        int r = 0;

        s->p++; /* '{' */
        skip_ws(s);
        if (s->p < s->end && *s->p == '}') {
                s->p++;
                return 0;
        }
        for (;;) {
                skip_ws(s);
                if (s->p >= s->end || *s->p != '"') {
                        r = scan_fail(s, "expected a string as object key");
                        goto finish;
                }
                if (n == allocated) {
                        size_t na = allocated ? allocated * 2 : 16;
                        Key *k = realloc(keys, na * sizeof *k);
                        if (!k) {
                                s->oom = true;
                                r = -ENOMEM;
                                goto finish;
                        }
                        keys = k;
                        allocated = na;
                }
                keys[n].at = s->p;
                r = scan_string(s, &keys[n]);
                if (r < 0)
                        goto finish;
                n++;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':') {
                        r = scan_fail(s, "expected ':' after object key");
                        goto finish;
                }
                s->p++;
                r = scan_value(s);
                if (r < 0)
                        goto finish;
                skip_ws(s);
                if (s->p < s->end && *s->p == ',') {
                        s->p++;
                        continue;
                }
                if (s->p < s->end && *s->p == '}') {
                        s->p++;
                        break;
                }
                r = scan_fail(s, "expected ',' or '}' in object");
                goto finish;
        }

        qsort(keys, n, sizeof *keys, key_compare);
        for (size_t i = 1; i < n; i++)
                if (key_compare(&keys[i - 1], &keys[i]) == 0) {
                        char shown[65];
                        /* Point at the later of the two spellings. */
                        s->p = keys[i].at > keys[i - 1].at ? keys[i].at : keys[i - 1].at;
                        key_for_message(&keys[i], shown, sizeof shown);
                        r = scan_fail(s, "duplicate key \"%s\"", shown);
                        break;
                }
finish:
        keys_free(keys, n);
        return r;
}

static int scan_array(Scanner *s) {
        s->p++; /* '[' */
        skip_ws(s);
        if (s->p < s->end && *s->p == ']') {
                s->p++;
                return 0;
        }
        for (;;) {
                int r = scan_value(s);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->p < s->end && *s->p == ',') {
                        s->p++;
                        continue;
                }
                if (s->p < s->end && *s->p == ']') {
                        s->p++;
                        return 0;
                }
                return scan_fail(s, "expected ',' or ']' in array");
        }
}

static int scan_value(Scanner *s) {
        int r;

        skip_ws(s);
        if (s->p >= s->end)
                return scan_fail(s, "unexpected end of input");
        switch (*s->p) {
        case '{':
        case '[':
                if (++s->depth > JSON_STRICT_MAX_DEPTH)
                        return scan_fail(s, "nested deeper than %d levels", JSON_STRICT_MAX_DEPTH);
                r = *s->p == '{' ? scan_object(s) : scan_array(s);
                s->depth--;
                return r;
        case '"':
                return scan_string(s, NULL);
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        default:
                if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
                        return scan_number(s);
                return scan_fail(s, "unexpected character");
        }
}

/* ---- parse ------------------------------------------------------------ */

int json_parse_strict(const char *text, size_t len, json_object **ret, char **ret_error) {
        Scanner s = { .p = (const unsigned char *) text, .start = (const unsigned char *) text,
                      .end = (const unsigned char *) text + len };
        const char *nul;
        int r;

        *ret = NULL;
        if (ret_error)
                *ret_error = NULL;

        if (len > JSON_STRICT_MAX_SIZE) {
                if (ret_error && asprintf(ret_error, "document too large (%zu bytes, at most %d)",
                                          len, JSON_STRICT_MAX_SIZE) < 0)
                        *ret_error = NULL;
                return -E2BIG;
        }
        nul = memchr(text, 0, len);
        if (nul) {
                s.p = (const unsigned char *) nul;
                r = scan_fail(&s, "NUL byte in input");
                goto fail;
        }

        r = scan_value(&s);
        if (r < 0)
                goto fail;
        skip_ws(&s);
        if (s.p != s.end) {
                r = scan_fail(&s, "trailing data after JSON value");
                goto fail;
        }

        struct json_tokener *tok = json_tokener_new_ex(JSON_STRICT_MAX_DEPTH + 1);
        if (!tok)
                return -ENOMEM;
        /* Room for the longest token up front: a scratch buffer that grows
         * leaves what it held so far (secrets too) in freed memory. */
        if (printbuf_memset(tok->pb, 0, 0, (int) len + 16) < 0) {
                json_tokener_free(tok);
                return -ENOMEM;
        }
        printbuf_reset(tok->pb);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *j = json_tokener_parse_ex(tok, text, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (!j && jerr == json_tokener_continue) {
                /* A number at the very end is only complete once json-c sees
                 * a terminator; the scanner has already vouched for it. */
                j = json_tokener_parse_ex(tok, "", 1);
                jerr = json_tokener_get_error(tok);
        }
        /* The scratch buffer held every string of the document, secrets too. */
        if (tok->pb && tok->pb->buf)
                explicit_bzero(tok->pb->buf, (size_t) tok->pb->size);
        json_tokener_free(tok);
        /* A literal null is the only success that yields no object. */
        if (jerr != json_tokener_success) {
                if (j)
                        json_object_put(j);
                s.p = s.end;
                r = scan_fail(&s, "%s", json_tokener_error_desc(jerr));
                goto fail;
        }
        *ret = j;
        return 0;

fail:
        if (s.oom) {
                free(s.error);
                return -ENOMEM;
        }
        if (ret_error)
                *ret_error = s.error;
        else
                free(s.error);
        return r;
}

/* ---- canonical form --------------------------------------------------- */

typedef struct Buf {
        char *data;
        size_t len, size;
        bool oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
        if (b->oom)
                return;
        if (b->len + n + 1 > b->size) {
                size_t ns = b->size ? b->size : 256;
                while (ns < b->len + n + 1)
                        ns *= 2;
                char *d = realloc(b->data, ns);
                if (!d) {
                        b->oom = true;
                        return;
                }
                b->data = d;
                b->size = ns;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
}

static void buf_adds(Buf *b, const char *s) {
        buf_add(b, s, strlen(s));
}

static void format_string(Buf *b, const char *s, size_t n) {
        buf_add(b, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                char esc[8];
                switch (c) {
                case '"': buf_adds(b, "\\\""); break;
                case '\\': buf_adds(b, "\\\\"); break;
                case '\b': buf_adds(b, "\\b"); break;
                case '\f': buf_adds(b, "\\f"); break;
                case '\n': buf_adds(b, "\\n"); break;
                case '\r': buf_adds(b, "\\r"); break;
                case '\t': buf_adds(b, "\\t"); break;
                default:
                        if (c < 0x20) {
                                snprintf(esc, sizeof esc, "\\u%04x", c);
                                buf_adds(b, esc);
                        } else
                                buf_add(b, (const char *) &c, 1);
                }
        }
        buf_add(b, "\"", 1);
}

static int compare_cstr(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void format_value(Buf *b, json_object *j) {
        char num[64];

        switch (json_object_get_type(j)) {
        case json_type_null:
                buf_adds(b, "null");
                break;
        case json_type_boolean:
                buf_adds(b, json_object_get_boolean(j) ? "true" : "false");
                break;
        case json_type_int: {
                int64_t v = json_object_get_int64(j);
                if (v == INT64_MAX)
                        snprintf(num, sizeof num, "%" PRIu64, json_object_get_uint64(j));
                else
                        snprintf(num, sizeof num, "%" PRId64, v);
                buf_adds(b, num);
                break;
        }
        case json_type_double:
                snprintf(num, sizeof num, "%.17g", json_object_get_double(j));
                buf_adds(b, num);
                break;
        case json_type_string:
                format_string(b, json_object_get_string(j), (size_t) json_object_get_string_len(j));
                break;
        case json_type_array: {
                size_t n = json_object_array_length(j);
                buf_add(b, "[", 1);
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                buf_add(b, ",", 1);
                        format_value(b, json_object_array_get_idx(j, i));
                }
                buf_add(b, "]", 1);
                break;
        }
        case json_type_object: {
                size_t n = (size_t) json_object_object_length(j), i = 0;
                const char **keys = calloc(n ? n : 1, sizeof *keys);
                if (!keys) {
                        b->oom = true;
                        return;
                }
                json_object_object_foreach(j, k, v) {
                        (void) v;
                        keys[i++] = k;
                }
                qsort(keys, n, sizeof *keys, compare_cstr);
                buf_add(b, "{", 1);
                for (i = 0; i < n; i++) {
                        if (i > 0)
                                buf_add(b, ",", 1);
                        format_string(b, keys[i], strlen(keys[i]));
                        buf_add(b, ":", 1);
                        format_value(b, json_object_object_get(j, keys[i]));
                }
                buf_add(b, "}", 1);
                free(keys);
                break;
        }
        }
}

int json_format_canonical(json_object *j, char **ret, size_t *ret_len) {
        Buf b = {};

        format_value(&b, j);
        if (b.oom || !b.data) {
                free(b.data);
                return -ENOMEM;
        }
        *ret = b.data;
        if (ret_len)
                *ret_len = b.len;
        return 0;
}
