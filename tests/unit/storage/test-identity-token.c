/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/identity-token.c: the record in the LUKS2 header, in
 * systemd-homed's token, encrypted with the volume key as homed encrypts
 * it: homed reads what Hearth writes, Hearth reads what homed writes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <json-c/json.h>

#include "identity-token.h"
#include "macro.h"

static const char record[] = "{\"userName\":\"alice\",\"emailAddress\":\"alice@example.org\","
                             "\"privileged\":{\"hashedPassword\":[\"$y$j9T$salt$hash\"]}}";

static void key(uint8_t vk[64], uint8_t seed) {
        for (int i = 0; i < 64; i++)
                vk[i] = (uint8_t) (seed + i * 7);
}

static void test_round_trip(void **state) {
        _cleanup_free_ char *token = NULL, *back = NULL;
        uint8_t vk[64];

        key(vk, 1);
        assert_int_equal(identity_token_seal("aes", "xts-plain64", vk, sizeof vk, record, &token), 0);
        /* homed's token exactly: these four fields, no others. */
        json_object *j = json_tokener_parse(token), *v;
        assert_non_null(j);
        assert_int_equal(json_object_object_length(j), 4);
        assert_true(json_object_object_get_ex(j, "type", &v));
        assert_string_equal(json_object_get_string(v), "systemd-homed");
        assert_true(json_object_object_get_ex(j, "keyslots", &v));
        assert_true(json_object_is_type(v, json_type_array));
        assert_int_equal(json_object_array_length(v), 0);
        assert_true(json_object_object_get_ex(j, "record", &v));
        assert_true(json_object_is_type(v, json_type_string));
        assert_true(json_object_object_get_ex(j, "iv", &v));
        assert_true(json_object_is_type(v, json_type_string));
        assert_int_equal(json_object_get_string_len(v), 24); /* 16 bytes of IV for aes-256-xts */
        json_object_put(j);
        assert_null(strstr(token, "alice"));
        assert_null(strstr(token, "$y$"));
        assert_int_equal(identity_token_open(token, "aes", "xts-plain64", vk, sizeof vk, &back), 0);
        assert_string_equal(back, record);
}

/* homed's construction exactly: aes-256-xts over the text with the whole
 * 64-byte volume key and the token's IV, no more. */
static void test_homed_construction(void **state) {
        _cleanup_free_ char *token = NULL;
        uint8_t vk[64], iv[16], out[sizeof record + 32];
        int n1 = 0, n2 = 0;

        key(vk, 9);
        assert_int_equal(identity_token_seal("aes", "xts-plain64", vk, sizeof vk, record, &token), 0);
        const char *b64_iv = strstr(token, "\"iv\":\"") + 6, *b64_rec = strstr(token, "\"record\":\"") + 10;
        char iv_text[25] = "", rec_text[4 * sizeof record];
        memcpy(iv_text, b64_iv, 24);
        size_t rl = (size_t) (strchr(b64_rec, '"') - b64_rec);
        memcpy(rec_text, b64_rec, rl);
        rec_text[rl] = 0;
        uint8_t ivbuf[18], enc[sizeof record + 8];
        assert_int_equal(EVP_DecodeBlock(ivbuf, (const unsigned char *) iv_text, 24), 18);
        memcpy(iv, ivbuf, 16);
        int el = EVP_DecodeBlock(enc, (const unsigned char *) rec_text, (int) rl);
        el -= rec_text[rl - 1] == '=' ? (rec_text[rl - 2] == '=' ? 2 : 1) : 0;
        assert_int_equal(el, (int) strlen(record));
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_get_cipherbyname("aes-256-xts"), NULL, vk, iv), 1);
        assert_int_equal(EVP_DecryptUpdate(ctx, out, &n1, enc, el), 1);
        assert_int_equal(EVP_DecryptFinal_ex(ctx, out + n1, &n2), 1);
        EVP_CIPHER_CTX_free(ctx);
        assert_int_equal(n1 + n2, (int) strlen(record));
        assert_memory_equal(out, record, strlen(record));
}

static void test_wrong_key_and_damage(void **state) {
        _cleanup_free_ char *token = NULL, *back = NULL;
        uint8_t vk[64], other[64];

        key(vk, 1);
        key(other, 2);
        assert_int_equal(identity_token_seal("aes", "xts-plain64", vk, sizeof vk, record, &token), 0);
        int r = identity_token_open(token, "aes", "xts-plain64", other, sizeof other, &back);
        /* Another key gives bytes that are no text (or, rarely, text that
         * is no JSON record: the caller's parser refuses that). */
        assert_true(r == -EBADMSG || (r == 0 && strcmp(back, record) != 0));
        assert_int_equal(identity_token_open("{\"type\":\"systemd-homed\",\"record\":\"AAAA\"}", "aes", "xts-plain64",
                                             vk, sizeof vk, &back), -EINVAL); /* no iv */
        assert_int_equal(identity_token_open("{\"type\":\"systemd-homed\",\"record\":\"AAA=\",\"iv\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
                                             "aes", "xts-plain64", vk, sizeof vk, &back), -EBADMSG); /* too short for XTS */
        assert_int_equal(identity_token_open("{\"type\":\"systemd-homed\",\"record\":\"AAB=\",\"iv\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
                                             "aes", "xts-plain64", vk, sizeof vk, &back), -EINVAL); /* not canonical */
        assert_int_equal(identity_token_open("not json", "aes", "xts-plain64", vk, sizeof vk, &back), -EINVAL);
        assert_int_equal(identity_token_seal("serpent", "cbc-essiv:sha256", vk, 32, record, &back), -EOPNOTSUPP);
}

/* A token as systemd-homed writes it (format_luks_token_text): built here
 * with OpenSSL alone, the way homed builds it, and opened by Hearth. */
static void test_homed_token_opens(void **state) {
        _cleanup_free_ char *back = NULL, *token = NULL;
        uint8_t vk[64], iv[16], enc[sizeof record + 32];
        char b64_rec[4 * sizeof record + 64], b64_iv[32];
        int n1 = 0, n2 = 0;

        key(vk, 5);
        for (int i = 0; i < 16; i++)
                iv[i] = (uint8_t) (0xA0 + i);
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_get_cipherbyname("aes-256-xts"), NULL, vk, iv), 1);
        assert_int_equal(EVP_EncryptUpdate(ctx, enc, &n1, (const unsigned char *) record, (int) strlen(record)), 1);
        assert_int_equal(EVP_EncryptFinal_ex(ctx, enc + n1, &n2), 1);
        EVP_CIPHER_CTX_free(ctx);
        EVP_EncodeBlock((unsigned char *) b64_rec, enc, n1 + n2);
        EVP_EncodeBlock((unsigned char *) b64_iv, iv, 16);
        assert_true(asprintf(&token, "{\"type\":\"systemd-homed\",\"keyslots\":[],\"record\":\"%s\",\"iv\":\"%s\"}",
                             b64_rec, b64_iv) > 0);
        assert_int_equal(identity_token_open(token, "aes", "xts-plain64", vk, sizeof vk, &back), 0);
        assert_string_equal(back, record);
}

/* Hearth's earlier token (another type; the record in clear text, an
 * object) is no longer read: homes in that layout are not opened. */
static void test_old_tokens_refused(void **state) {
        _cleanup_free_ char *back = NULL, *token = NULL;
        uint8_t vk[64];

        key(vk, 1);
        assert_int_equal(identity_token_open("{\"type\":\"systemd-homed\",\"keyslots\":[],\"record\":{\"userName\":\"alice\"}}",
                                             "aes", "xts-plain64", vk, sizeof vk, &back), -EINVAL);
        assert_int_equal(identity_token_seal("aes", "xts-plain64", vk, sizeof vk, record, &token), 0);
        char *t = strstr(token, "systemd-homed");
        assert_non_null(t);
        memcpy(t, "hearth-identi", 13); /* same length, another type */
        assert_int_equal(identity_token_open(token, "aes", "xts-plain64", vk, sizeof vk, &back), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_homed_construction),
                cmocka_unit_test(test_wrong_key_and_damage),
                cmocka_unit_test(test_homed_token_opens),
                cmocka_unit_test(test_old_tokens_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
