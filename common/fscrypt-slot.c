/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fscrypt-slot.h"
#include "macro.h"

#define B64_LEN 88 /* of 64 bytes */

int fscrypt_slot_number(const char *xattr_name, uint32_t *ret) {
        size_t k = strlen(FSCRYPT_SLOT_XATTR_PREFIX);
        const char *p;
        uint64_t n = 0;

        if (!xattr_name || strncmp(xattr_name, FSCRYPT_SLOT_XATTR_PREFIX, k) != 0)
                return -EINVAL;
        p = xattr_name + k;
        if (!*p || strlen(p) > 10 || (p[0] == '0' && p[1]))
                return -EINVAL;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                n = n * 10 + (uint64_t) (*p - '0');
        }
        if (n > UINT32_MAX)
                return -EINVAL;
        if (ret)
                *ret = (uint32_t) n;
        return 0;
}

int fscrypt_key_descriptor(const uint8_t key[FSCRYPT_VOLUME_KEY_SIZE], uint8_t ret[FSCRYPT_DESCRIPTOR_SIZE]) {
        uint8_t a[SHA512_DIGEST_LENGTH], b[SHA512_DIGEST_LENGTH];

        if (!SHA512(key, FSCRYPT_VOLUME_KEY_SIZE, a) || !SHA512(a, sizeof a, b)) {
                explicit_bzero(a, sizeof a);
                return -EIO;
        }
        memcpy(ret, b, FSCRYPT_DESCRIPTOR_SIZE);
        explicit_bzero(a, sizeof a);
        explicit_bzero(b, sizeof b);
        return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 64 bytes → 88 characters ("==" at the end), no NUL. */
static void base64_64(const uint8_t in[64], char out[B64_LEN]) {
        size_t o = 0;
        for (size_t i = 0; i < 63; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
                out[o++] = b64[v >> 18 & 63];
                out[o++] = b64[v >> 12 & 63];
                out[o++] = b64[v >> 6 & 63];
                out[o++] = b64[v & 63];
        }
        uint32_t v = (uint32_t) in[63] << 16;
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = '=';
        out[o++] = '=';
}

static int b64_value(char c) {
        const char *p = c ? strchr(b64, c) : NULL;
        return p ? (int) (p - b64) : -1;
}

/* Exactly 88 characters that are the canonical base64 of 64 bytes. */
static int unbase64_64(const char *in, uint8_t out[64]) {
        size_t o = 0;
        for (size_t i = 0; i < 84; i += 4) {
                int a = b64_value(in[i]), b = b64_value(in[i + 1]), c = b64_value(in[i + 2]), d = b64_value(in[i + 3]);
                if (a < 0 || b < 0 || c < 0 || d < 0)
                        return -EBADMSG;
                uint32_t v = (uint32_t) a << 18 | (uint32_t) b << 12 | (uint32_t) c << 6 | (uint32_t) d;
                out[o++] = (uint8_t) (v >> 16);
                out[o++] = (uint8_t) (v >> 8);
                out[o++] = (uint8_t) v;
        }
        int a = b64_value(in[84]), b = b64_value(in[85]);
        /* The last byte's 4 spare bits must be 0: one encoding per value. */
        if (a < 0 || b < 0 || (b & 15) || in[86] != '=' || in[87] != '=')
                return -EBADMSG;
        out[o] = (uint8_t) (a << 2 | b >> 4);
        return 0;
}

/* AES-256-CTR from a zero counter under the first half of
 * PBKDF2-HMAC-SHA512(password, salt): its own inverse. */
static int slot_cipher(const char *password, const uint8_t salt[FSCRYPT_SLOT_SALT_SIZE],
                       const uint8_t in[FSCRYPT_VOLUME_KEY_SIZE], uint8_t out[FSCRYPT_VOLUME_KEY_SIZE]) {
        static const uint8_t iv[16] = { 0 };
        uint8_t derived[64];
        int n1 = 0, n2 = 0, r = -EIO;
        EVP_CIPHER_CTX *ctx = NULL;

        if (PKCS5_PBKDF2_HMAC(password, (int) strlen(password), salt, FSCRYPT_SLOT_SALT_SIZE,
                              FSCRYPT_SLOT_ITERATIONS, EVP_sha512(), sizeof derived, derived) != 1)
                goto out;
        ctx = EVP_CIPHER_CTX_new();
        if (!ctx) {
                r = -ENOMEM;
                goto out;
        }
        if (EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, derived, iv) != 1 ||
            EVP_EncryptUpdate(ctx, out, &n1, in, FSCRYPT_VOLUME_KEY_SIZE) != 1 || n1 != FSCRYPT_VOLUME_KEY_SIZE ||
            EVP_EncryptFinal_ex(ctx, out + n1, &n2) != 1 || n2 != 0)
                goto out;
        r = 0;
out:
        EVP_CIPHER_CTX_free(ctx); /* wipes the key schedule */
        explicit_bzero(derived, sizeof derived);
        if (r < 0)
                explicit_bzero(out, FSCRYPT_VOLUME_KEY_SIZE);
        return r;
}

int fscrypt_slot_wrap(const char *password, const uint8_t salt[FSCRYPT_SLOT_SALT_SIZE],
                      const uint8_t key[FSCRYPT_VOLUME_KEY_SIZE], char ret[FSCRYPT_SLOT_VALUE_SIZE + 1]) {
        uint8_t encrypted[FSCRYPT_VOLUME_KEY_SIZE];
        int r;

        if (!password)
                return -EINVAL;
        r = slot_cipher(password, salt, key, encrypted);
        if (r < 0)
                return r;
        base64_64(salt, ret);
        ret[B64_LEN] = ':';
        base64_64(encrypted, ret + B64_LEN + 1);
        ret[FSCRYPT_SLOT_VALUE_SIZE] = 0;
        return 0;
}

int fscrypt_slot_parse(const char *value, size_t len, uint8_t ret_salt[FSCRYPT_SLOT_SALT_SIZE],
                       uint8_t ret_encrypted[FSCRYPT_VOLUME_KEY_SIZE]) {
        if (!value || len != FSCRYPT_SLOT_VALUE_SIZE || value[B64_LEN] != ':')
                return -EBADMSG;
        if (unbase64_64(value, ret_salt) < 0 || unbase64_64(value + B64_LEN + 1, ret_encrypted) < 0)
                return -EBADMSG;
        return 0;
}

int fscrypt_slot_unwrap(const char *password, const char *value, size_t len,
                        const uint8_t descriptor[FSCRYPT_DESCRIPTOR_SIZE], uint8_t ret_key[FSCRYPT_VOLUME_KEY_SIZE]) {
        uint8_t salt[FSCRYPT_SLOT_SALT_SIZE], encrypted[FSCRYPT_VOLUME_KEY_SIZE], key[FSCRYPT_VOLUME_KEY_SIZE];
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        int r;

        if (!password)
                return -EINVAL;
        r = fscrypt_slot_parse(value, len, salt, encrypted);
        if (r < 0)
                return r;
        r = slot_cipher(password, salt, encrypted, key);
        if (r >= 0)
                r = fscrypt_key_descriptor(key, d);
        if (r >= 0 && memcmp(d, descriptor, FSCRYPT_DESCRIPTOR_SIZE) != 0)
                r = -ENOANO;
        if (r >= 0)
                memcpy(ret_key, key, FSCRYPT_VOLUME_KEY_SIZE);
        explicit_bzero(key, sizeof key);
        return r;
}
