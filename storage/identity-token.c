/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "identity-store.h"
#include "identity-token.h"
#include "json-strict.h"
#include "macro.h"

#define BASE64_LEN(n) (4 * (((n) + 2) / 3))
#define TOKEN_MAX (BASE64_LEN(IDENTITY_FILE_MAX + 64) + 1024)

static void cipher_ctx_freep(EVP_CIPHER_CTX **c) {
        EVP_CIPHER_CTX_free(*c);
}

/* The volume's cipher as OpenSSL names it, as homed maps it: "aes" and
 * "xts-plain64" with a 64-byte key are aes-256-xts (XTS splits the key). */
static int evp_cipher(const char *cipher, const char *mode, size_t vk_size, const EVP_CIPHER **ret) {
        char name[64], m[32];
        size_t bits = vk_size * 8;

        if (!cipher || !mode || vk_size == 0 || vk_size > 256)
                return -EOPNOTSUPP;
        size_t n = strcspn(mode, "-");
        if (n == 0 || n >= sizeof m)
                return -EOPNOTSUPP;
        memcpy(m, mode, n);
        m[n] = 0;
        if (strcmp(m, "xts") == 0)
                bits /= 2;
        if (snprintf(name, sizeof name, "%s-%zu-%s", cipher, bits, m) >= (int) sizeof name)
                return -EOPNOTSUPP;
        const EVP_CIPHER *c = EVP_get_cipherbyname(name);
        if (!c || EVP_CIPHER_key_length(c) != (int) vk_size || EVP_CIPHER_iv_length(c) < 0)
                return -EOPNOTSUPP;
        *ret = c;
        return 0;
}

static char *encode_base64(const void *in, size_t len) {
        char *out = malloc(BASE64_LEN(len) + 1);
        if (out)
                EVP_EncodeBlock((unsigned char *) out, in, (int) len);
        return out;
}

/* Only the canonical spelling (EVP_DecodeBlock alone takes many): the
 * bytes must encode back to the input. */
static int decode_base64(const char *in, unsigned char **ret, size_t *ret_len) {
        size_t len = strlen(in), pad = 0;
        _cleanup_free_ unsigned char *buf = NULL;
        _cleanup_free_ char *check = NULL;

        if (len == 0 || len % 4 != 0 || len > INT_MAX)
                return -EINVAL;
        if (in[len - 1] == '=')
                pad = in[len - 2] == '=' ? 2 : 1;
        buf = malloc(len / 4 * 3);
        if (!buf)
                return -ENOMEM;
        if (EVP_DecodeBlock(buf, (const unsigned char *) in, (int) len) != (int) (len / 4 * 3))
                return -EINVAL;
        size_t n = len / 4 * 3 - pad;
        check = encode_base64(buf, n);
        if (!check)
                return -ENOMEM;
        if (strcmp(check, in) != 0)
                return -EINVAL;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

static int crypt_once(const EVP_CIPHER *c, bool encrypt, const void *vk, const unsigned char *iv,
                      const unsigned char *in, size_t len, unsigned char **ret, size_t *ret_len) {
        _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        _cleanup_free_ unsigned char *out = NULL;
        int n1 = 0, n2 = 0;

        if (len > INT_MAX / 2)
                return -EINVAL;
        out = malloc(len + 2 * (size_t) EVP_CIPHER_block_size(c) + 1);
        if (!ctx || !out)
                return -ENOMEM;
        /* One update over the whole text: XTS takes each call as one unit. */
        if (EVP_CipherInit_ex(ctx, c, NULL, vk, iv, encrypt) != 1 ||
            EVP_CipherUpdate(ctx, out, &n1, in, (int) len) != 1 || EVP_CipherFinal_ex(ctx, out + n1, &n2) != 1)
                return encrypt ? -EIO : -EBADMSG;
        *ret_len = (size_t) n1 + (size_t) n2;
        *ret = TAKE_PTR(out);
        return 0;
}

int identity_token_seal(const char *cipher, const char *mode, const void *vk, size_t vk_size, const char *record,
                        char **ret_token) {
        _cleanup_free_ unsigned char *enc = NULL;
        _cleanup_free_ char *b64_record = NULL, *b64_iv = NULL;
        unsigned char iv[EVP_MAX_IV_LENGTH];
        const EVP_CIPHER *c;
        size_t enc_len;
        int r;

        r = evp_cipher(cipher, mode, vk_size, &c);
        if (r < 0)
                return r;
        size_t iv_len = (size_t) EVP_CIPHER_iv_length(c);
        if (iv_len > sizeof iv || (iv_len > 0 && RAND_bytes(iv, (int) iv_len) != 1))
                return -EIO;
        r = crypt_once(c, true, vk, iv, (const unsigned char *) record, strlen(record), &enc, &enc_len);
        if (r < 0)
                return r;
        b64_record = encode_base64(enc, enc_len);
        b64_iv = encode_base64(iv, iv_len);
        if (!b64_record || !b64_iv)
                return -ENOMEM;
        if (asprintf(ret_token, "{\"type\":\"" IDENTITY_TOKEN_TYPE "\",\"keyslots\":[],\"record\":\"%s\",\"iv\":\"%s\"}",
                     b64_record, b64_iv) < 0)
                return -ENOMEM;
        return 0;
}

int identity_token_open(const char *token, const char *cipher, const char *mode, const void *vk, size_t vk_size,
                        char **ret_record) {
        _cleanup_json_ json_object *j = NULL;
        _cleanup_free_ unsigned char *enc = NULL, *iv = NULL, *dec = NULL;
        json_object *type, *rec, *jiv;
        const EVP_CIPHER *c;
        size_t len = strlen(token), enc_len, iv_len, dec_len;
        int r;

        if (len > TOKEN_MAX || json_parse_strict(token, len, &j, NULL) < 0 || !json_object_is_type(j, json_type_object) ||
            !json_object_object_get_ex(j, "type", &type) || !json_object_is_type(type, json_type_string) ||
            strcmp(json_object_get_string(type), IDENTITY_TOKEN_TYPE) != 0 ||
            !json_object_object_get_ex(j, "record", &rec) || !json_object_is_type(rec, json_type_string) ||
            !json_object_object_get_ex(j, "iv", &jiv) || !json_object_is_type(jiv, json_type_string))
                return -EINVAL;
        r = evp_cipher(cipher, mode, vk_size, &c);
        if (r < 0)
                return r;
        r = decode_base64(json_object_get_string(rec), &enc, &enc_len);
        if (r >= 0)
                r = decode_base64(json_object_get_string(jiv), &iv, &iv_len);
        if (r < 0)
                return r;
        if (iv_len != (size_t) EVP_CIPHER_iv_length(c) || enc_len > IDENTITY_FILE_MAX)
                return -EINVAL;
        r = crypt_once(c, false, vk, iv, enc, enc_len, &dec, &dec_len);
        if (r < 0)
                return r;
        if (dec_len == 0 || memchr(dec, 0, dec_len))
                return -EBADMSG; /* not text: another key, or damage */
        dec[dec_len] = 0;
        *ret_record = (char *) TAKE_PTR(dec);
        return 0;
}
