/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/rand.h>

#include "log.h"
#include "recovery-key.h"

static const char modhex[16] = "cbdefghijklnrtuv";

int recovery_key_format(const uint8_t *key, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        char *p;
        int r;

        r = secure_buffer_new(RECOVERY_KEY_TEXT_LEN + 1, &b);
        if (r < 0)
                return r;
        p = b->data;
        for (size_t i = 0; i < RECOVERY_KEY_BYTES; i++) {
                if (i > 0 && i % 4 == 0)
                        *p++ = '-';
                *p++ = modhex[key[i] >> 4];
                *p++ = modhex[key[i] & 0xF];
        }
        *p = '\0';
        b->size = RECOVERY_KEY_TEXT_LEN;
        *ret = TAKE_PTR(b);
        return 0;
}

static int modhex_digit(char c) {
        if (c >= 'A' && c <= 'Z')
                c = (char) (c - 'A' + 'a');
        const char *p = c ? memchr(modhex, c, sizeof modhex) : NULL;
        return p ? (int) (p - modhex) : -1;
}

int recovery_key_parse(const char *text, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        size_t len = strnlen(text, RECOVERY_KEY_TEXT_LEN + 1);
        bool dashes;
        uint8_t *key;
        int r;

        if (len == 2 * RECOVERY_KEY_BYTES)
                dashes = false;
        else if (len == RECOVERY_KEY_TEXT_LEN)
                dashes = true;
        else
                return -EINVAL;

        r = secure_buffer_new(RECOVERY_KEY_BYTES, &b);
        if (r < 0)
                return r;
        key = b->data;
        for (size_t i = 0, pos = 0; i < 2 * RECOVERY_KEY_BYTES; i++, pos++) {
                /* A dash exactly between groups of 8, nowhere else. */
                if (dashes && i > 0 && i % 8 == 0) {
                        if (text[pos] != '-')
                                return -EINVAL;
                        pos++;
                }
                int d = modhex_digit(text[pos]);
                if (d < 0)
                        return -EINVAL;
                if (i % 2 == 0)
                        key[i / 2] = (uint8_t) (d << 4);
                else
                        key[i / 2] |= (uint8_t) d;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

int recovery_key_normalize(const char *text, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        int r = recovery_key_parse(text, &key);
        if (r < 0)
                return r;
        return recovery_key_format(key->data, ret);
}

int recovery_key_normalize_typed(const char *text, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        size_t len = strnlen(text, RECOVERY_KEY_TYPED_MAX + 1), n = 0;
        if (len > RECOVERY_KEY_TYPED_MAX)
                return -EINVAL;
        int r = secure_buffer_new(len + 1, &b);
        if (r < 0)
                return r;
        char *out = b->data;
        const char *p = text;
        while (isspace((unsigned char) *p))
                p++;
        while (*p) {
                if (!isspace((unsigned char) *p)) {
                        out[n++] = *p++;
                        continue;
                }
                while (isspace((unsigned char) *p))
                        p++;
                /* Inside: a gap between groups is a dash (one, if typed beside one). */
                if (*p && n > 0 && out[n - 1] != '-' && *p != '-')
                        out[n++] = '-';
        }
        out[n] = 0;
        return recovery_key_normalize(out, ret);
}

int recovery_key_shaped(const char *password) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        int r = recovery_key_normalize_typed(password, &key);
        if (r == -ENOMEM)
                return r;
        return r >= 0;
}

int recovery_key_generate(SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        int r = secure_buffer_new(RECOVERY_KEY_BYTES, &key);
        if (r < 0)
                return r;
        if (RAND_priv_bytes(key->data, RECOVERY_KEY_BYTES) != 1)
                return log_error_errno(EIO, "cannot get random bytes for a recovery key");
        return recovery_key_format(key->data, ret);
}
