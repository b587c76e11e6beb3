/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/identity-token.c: the record in the LUKS2 header, encrypted with
 * the volume key as systemd-homed encrypts its own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

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
        assert_non_null(strstr(token, "\"type\":\"hearth-identity\""));
        assert_non_null(strstr(token, "\"iv\":\""));
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
        assert_int_equal(identity_token_open("{\"type\":\"hearth-identity\",\"record\":\"AAAA\"}", "aes", "xts-plain64",
                                             vk, sizeof vk, &back), -EINVAL); /* no iv */
        assert_int_equal(identity_token_open("{\"type\":\"hearth-identity\",\"record\":\"AAA=\",\"iv\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
                                             "aes", "xts-plain64", vk, sizeof vk, &back), -EBADMSG); /* too short for XTS */
        assert_int_equal(identity_token_open("{\"type\":\"hearth-identity\",\"record\":\"AAB=\",\"iv\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
                                             "aes", "xts-plain64", vk, sizeof vk, &back), -EINVAL); /* not canonical */
        assert_int_equal(identity_token_open("not json", "aes", "xts-plain64", vk, sizeof vk, &back), -EINVAL);
        assert_int_equal(identity_token_seal("serpent", "cbc-essiv:sha256", vk, 32, record, &back), -EOPNOTSUPP);
}

static void test_clear_text(void **state) {
        _cleanup_free_ char *back = NULL;
        uint8_t vk[64];

        key(vk, 1);
        assert_int_equal(identity_token_open("{\"type\":\"hearth-identity\",\"keyslots\":[],\"record\":{\"userName\":\"alice\"}}",
                                             "aes", "xts-plain64", vk, sizeof vk, &back), 1);
        assert_string_equal(back, "{\"userName\":\"alice\"}");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_homed_construction),
                cmocka_unit_test(test_wrong_key_and_damage),
                cmocka_unit_test(test_clear_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
