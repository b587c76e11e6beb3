/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "json-strict.h"
#include "macro.h"
#include "tpm2-token.h"

/* A sealed object as tpm2_seal() makes one, with recognisable bytes: the
 * private part 0x00.., the policy 0xa0 0xa1 ..., the salt 0x40 ... */
static void marshal_blob(Tpm2Sealed *s, TPMI_ALG_PUBLIC type, uint16_t policy_size, bool trailing_byte) {
        TPM2B_PRIVATE priv = { .size = 48 };
        TPM2B_PUBLIC pub = {
                .publicArea = {
                        .type = type,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
                        .authPolicy.size = policy_size,
                        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                        .unique.keyedHash.size = 32,
                },
        };
        size_t offset = 0;

        for (size_t i = 0; i < priv.size; i++)
                priv.buffer[i] = (uint8_t) i;
        for (size_t i = 0; i < TPM2_SEALED_POLICY_SIZE; i++)
                pub.publicArea.authPolicy.buffer[i] = s->policy_hash[i];
        assert_int_equal(Tss2_MU_TPM2B_PRIVATE_Marshal(&priv, s->blob, sizeof s->blob, &offset), TSS2_RC_SUCCESS);
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, s->blob, sizeof s->blob, &offset), TSS2_RC_SUCCESS);
        if (trailing_byte)
                s->blob[offset++] = 0;
        s->blob_size = offset;
}

static void make_sealed(Tpm2Sealed *s, bool pin) {
        *s = (Tpm2Sealed) {
                .pcr_mask = (1u << 0) | (1u << 7),
                .primary_alg = TPM2_SEALED_ECC,
                .pin = pin,
                .has_salt = pin,
        };
        for (size_t i = 0; i < TPM2_SEALED_POLICY_SIZE; i++)
                s->policy_hash[i] = (uint8_t) (0xa0 + i);
        for (size_t i = 0; i < TPM2_PIN_SALT_SIZE && pin; i++)
                s->salt[i] = (uint8_t) (0x40 + i);
        marshal_blob(s, TPM2_ALG_KEYEDHASH, TPM2_SEALED_POLICY_SIZE, false);
}

#define POLICY_HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
/* base64 of 0x40..0x5f: python3 -c "import base64; print(base64.b64encode(bytes(range(0x40,0x60))).decode())" */
#define SALT_B64 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

static void assert_same(const Tpm2Sealed *a, const Tpm2Sealed *b) {
        assert_int_equal(a->blob_size, b->blob_size);
        assert_memory_equal(a->blob, b->blob, a->blob_size);
        assert_int_equal(a->pcr_mask, b->pcr_mask);
        assert_int_equal(a->primary_alg, b->primary_alg);
        assert_memory_equal(a->policy_hash, b->policy_hash, TPM2_SEALED_POLICY_SIZE);
        assert_int_equal(a->pin, b->pin);
        assert_int_equal(a->has_salt, b->has_salt);
        if (a->has_salt)
                assert_memory_equal(a->salt, b->salt, TPM2_PIN_SALT_SIZE);
}

/* Through text and the strict parser, as a token read from a LUKS2 header. */
static int reparse(json_object *j, Tpm2Sealed *ret, int *ret_keyslot) {
        _cleanup_json_ json_object *k = NULL;
        _cleanup_free_ char *error = NULL;
        const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);

        assert_int_equal(json_parse_strict(text, strlen(text), &k, &error), 0);
        return tpm2_token_from_json(k, ret, ret_keyslot);
}

static void test_layout(void **state) {
        static const char *const keys[] = {
                "type", "keyslots", "tpm2-blob", "tpm2-pcrs", "tpm2-pcr-bank",
                "tpm2-primary-alg", "tpm2-policy-hash", "tpm2-pin", "tpm2_salt",
        };
        _cleanup_json_ json_object *j = NULL;
        Tpm2Sealed s;
        size_t n = 0;

        make_sealed(&s, true);
        assert_int_equal(tpm2_token_to_json(&s, 3, &j), 0);

        json_object_object_foreach(j, key, value) {
                (void) value;
                assert_true(n < ELEMENTSOF(keys));
                assert_string_equal(key, keys[n]);
                n++;
        }
        assert_int_equal(n, ELEMENTSOF(keys));

        /* Everything but the blob, as text. */
        json_object *blob = NULL;
        assert_true(json_object_object_get_ex(j, "tpm2-blob", &blob));
        assert_true(json_object_is_type(blob, json_type_string));
        uint8_t decoded[TPM2_SEALED_BLOB_MAX + 3];
        int len = EVP_DecodeBlock(decoded, (const unsigned char *) json_object_get_string(blob), json_object_get_string_len(blob));
        assert_true(len >= (int) s.blob_size && len <= (int) s.blob_size + 2);
        assert_memory_equal(decoded, s.blob, s.blob_size);
        json_object_object_del(j, "tpm2-blob");
        assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                            "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"3\"],\"tpm2-pcrs\":[0,7],"
                            "\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"ecc\","
                            "\"tpm2-policy-hash\":\"" POLICY_HEX "\",\"tpm2-pin\":true,"
                            "\"tpm2_salt\":\"" SALT_B64 "\"}");
}

static void test_layout_no_pin(void **state) {
        _cleanup_json_ json_object *j = NULL;
        Tpm2Sealed s;

        make_sealed(&s, false);
        s.pcr_mask = 0;
        s.primary_alg = TPM2_SEALED_RSA;
        assert_int_equal(tpm2_token_to_json(&s, 31, &j), 0);
        json_object_object_del(j, "tpm2-blob");
        assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                            "{\"type\":\"systemd-tpm2\",\"keyslots\":[\"31\"],\"tpm2-pcrs\":[],"
                            "\"tpm2-pcr-bank\":\"sha256\",\"tpm2-primary-alg\":\"rsa\","
                            "\"tpm2-policy-hash\":\"" POLICY_HEX "\",\"tpm2-pin\":false}");
}

static void test_round_trip(void **state) {
        for (int pin = 0; pin <= 1; pin++)
                for (int keyslot = 0; keyslot <= TPM2_TOKEN_MAX_KEYSLOT; keyslot += 7) {
                        _cleanup_json_ json_object *j = NULL;
                        Tpm2Sealed s, t;
                        int slot = -1;

                        make_sealed(&s, pin);
                        s.pcr_mask = pin ? 0xFFFFFF : 0;
                        s.primary_alg = pin ? TPM2_SEALED_RSA : TPM2_SEALED_ECC;
                        assert_int_equal(tpm2_token_to_json(&s, keyslot, &j), 0);
                        assert_int_equal(reparse(j, &t, &slot), 0);
                        assert_int_equal(slot, keyslot);
                        assert_same(&s, &t);
                }
}

static void test_to_json_bad(void **state) {
        json_object *j = NULL;
        Tpm2Sealed s;

        make_sealed(&s, true);
        assert_int_equal(tpm2_token_to_json(&s, -1, &j), -EINVAL);
        assert_int_equal(tpm2_token_to_json(&s, 32, &j), -EINVAL);
        s.blob_size = 0;
        assert_int_equal(tpm2_token_to_json(&s, 0, &j), -EINVAL);
        s.blob_size = TPM2_SEALED_BLOB_MAX + 1;
        assert_int_equal(tpm2_token_to_json(&s, 0, &j), -EINVAL);
        assert_null(j);
}

/* The oldest layout systemd-cryptenroll wrote: no bank, algorithm or PIN. */
static void test_minimal_token(void **state) {
        _cleanup_json_ json_object *j = NULL;
        Tpm2Sealed s, t;
        int slot;

        make_sealed(&s, false);
        assert_int_equal(tpm2_token_to_json(&s, 0, &j), 0);
        json_object_object_del(j, "tpm2-pcr-bank");
        json_object_object_del(j, "tpm2-primary-alg");
        json_object_object_del(j, "tpm2-pin");
        assert_int_equal(reparse(j, &t, &slot), 0);
        assert_int_equal(slot, 0);
        assert_same(&s, &t);
}

/* One field of a good token replaced by JSON text (NULL: removed). */
static const struct {
        const char *field;
        const char *value;
        int error;
} mutations[] = {
        { "type", NULL, -EMEDIUMTYPE },
        { "type", "\"systemd-recovery\"", -EMEDIUMTYPE },
        { "type", "7", -EMEDIUMTYPE },
        { "type", "[\"systemd-tpm2\"]", -EMEDIUMTYPE },

        { "keyslots", NULL, -EUCLEAN },
        { "keyslots", "\"1\"", -EUCLEAN },
        { "keyslots", "{}", -EUCLEAN },
        { "keyslots", "[]", -EUCLEAN },
        { "keyslots", "[\"1\",\"2\"]", -EUCLEAN },
        { "keyslots", "[1]", -EUCLEAN },
        { "keyslots", "[null]", -EUCLEAN },
        { "keyslots", "[[\"1\"]]", -EUCLEAN },
        { "keyslots", "[\"\"]", -EUCLEAN },
        { "keyslots", "[\"01\"]", -EUCLEAN },
        { "keyslots", "[\"32\"]", -EUCLEAN },
        { "keyslots", "[\"99\"]", -EUCLEAN },
        { "keyslots", "[\"100\"]", -EUCLEAN },
        { "keyslots", "[\"-1\"]", -EUCLEAN },
        { "keyslots", "[\"+1\"]", -EUCLEAN },
        { "keyslots", "[\" 1\"]", -EUCLEAN },
        { "keyslots", "[\"1 \"]", -EUCLEAN },
        { "keyslots", "[\"0x1\"]", -EUCLEAN },
        { "keyslots", "[\"a\"]", -EUCLEAN },

        { "tpm2-blob", NULL, -EUCLEAN },
        { "tpm2-blob", "5", -EUCLEAN },
        { "tpm2-blob", "null", -EUCLEAN },
        { "tpm2-blob", "\"\"", -EUCLEAN },
        { "tpm2-blob", "\"AAAA\"", -EUCLEAN },      /* base64, but not the two structures */
        { "tpm2-blob", "\"AAA\"", -EUCLEAN },
        { "tpm2-blob", "\"!!!!\"", -EUCLEAN },
        { "tpm2-blob", "[\"AAAA\"]", -EUCLEAN },

        { "tpm2-pcrs", NULL, -EUCLEAN },
        { "tpm2-pcrs", "7", -EUCLEAN },
        { "tpm2-pcrs", "\"7\"", -EUCLEAN },
        { "tpm2-pcrs", "[24]", -EUCLEAN },
        { "tpm2-pcrs", "[-1]", -EUCLEAN },
        { "tpm2-pcrs", "[4294967303]", -EUCLEAN }, /* 2^32 + 7 */
        { "tpm2-pcrs", "[7,7]", -EUCLEAN },
        { "tpm2-pcrs", "[\"7\"]", -EUCLEAN },
        { "tpm2-pcrs", "[7.0]", -EUCLEAN },
        { "tpm2-pcrs", "[true]", -EUCLEAN },
        { "tpm2-pcrs", "[null]", -EUCLEAN },
        { "tpm2-pcrs", "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,0]", -EUCLEAN },

        { "tpm2-pcr-bank", "\"sha1\"", -EOPNOTSUPP },
        { "tpm2-pcr-bank", "\"sha384\"", -EOPNOTSUPP },
        { "tpm2-pcr-bank", "\"md5\"", -EUCLEAN },
        { "tpm2-pcr-bank", "\"SHA256\"", -EUCLEAN },
        { "tpm2-pcr-bank", "\"\"", -EUCLEAN },
        { "tpm2-pcr-bank", "256", -EUCLEAN },

        { "tpm2-primary-alg", "\"dsa\"", -EUCLEAN },
        { "tpm2-primary-alg", "\"ECC\"", -EUCLEAN },
        { "tpm2-primary-alg", "1", -EUCLEAN },

        { "tpm2-policy-hash", NULL, -EUCLEAN },
        { "tpm2-policy-hash", "5", -EUCLEAN },
        { "tpm2-policy-hash", "\"a0\"", -EUCLEAN },
        { "tpm2-policy-hash", "\"" POLICY_HEX "00\"", -EUCLEAN },
        { "tpm2-policy-hash", "\"g0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\"", -EUCLEAN },
        { "tpm2-policy-hash", "\" 0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\"", -EUCLEAN },
        /* well-formed, but not the sealed object's policy */
        { "tpm2-policy-hash", "\"00a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\"", -EUCLEAN },

        { "tpm2-pin", "\"true\"", -EUCLEAN },
        { "tpm2-pin", "1", -EUCLEAN },
        { "tpm2-pin", "false", -EUCLEAN }, /* a salt without a PIN */
        { "tpm2-pin", NULL, -EUCLEAN },

        { "tpm2_salt", "5", -EUCLEAN },
        { "tpm2_salt", "\"\"", -EUCLEAN },
        { "tpm2_salt", "\"AAAA\"", -EUCLEAN },                                          /* 3 bytes */
        { "tpm2_salt", "\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9g\"", -EUCLEAN }, /* 33 bytes */
        { "tpm2_salt", "\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9=\"", -EUCLEAN }, /* not canonical */
        { "tpm2_salt", "\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8\"", -EUCLEAN },  /* no padding */
        { "tpm2_salt", "\"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xd*l8=\"", -EUCLEAN },

        { "tpm2-pubkey", "\"LS0t\"", -EOPNOTSUPP },
        { "tpm2-pubkey-pcrs", "[7]", -EOPNOTSUPP },
        { "tpm2-pubkey-pcrs", "7", -EUCLEAN },
        { "tpm2_pcrlock", "true", -EOPNOTSUPP },
        { "tpm2_pcrlock", "\"yes\"", -EUCLEAN },

        /* accepted */
        { "tpm2-pubkey-pcrs", "[]", 0 },
        { "tpm2_pcrlock", "false", 0 },
        { "tpm2_srk", "\"AAAA\"", 0 },
        { "x-unknown", "{\"a\":[1,2]}", 0 },
        { "tpm2-pcr-bank", NULL, 0 },
        { "tpm2-primary-alg", NULL, 0 },
        { "tpm2-primary-alg", "\"rsa\"", 0 },
        { "tpm2-policy-hash", "\"A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF\"", 0 },
        { "keyslots", "[\"0\"]", 0 },
        { "keyslots", "[\"31\"]", 0 },
};

static json_object *good_token(bool pin) {
        json_object *j = NULL;
        Tpm2Sealed s;

        make_sealed(&s, pin);
        assert_int_equal(tpm2_token_to_json(&s, 1, &j), 0);
        return j;
}

static void test_hostile(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(mutations); i++) {
                _cleanup_json_ json_object *j = good_token(true);
                Tpm2Sealed t;
                int r;

                json_object_object_del(j, mutations[i].field);
                if (mutations[i].value) {
                        json_object *v = json_tokener_parse(mutations[i].value);
                        assert_true(v || strcmp(mutations[i].value, "null") == 0);
                        assert_int_equal(json_object_object_add(j, mutations[i].field, v), 0);
                }
                r = reparse(j, &t, NULL);
                if (r != mutations[i].error)
                        fail_msg("%s = %s: got %d, expected %d", mutations[i].field,
                                 mutations[i].value ?: "(removed)", r, mutations[i].error);
        }
}

static void set_string(json_object *j, const char *field, const char *value, size_t len) {
        assert_int_equal(json_object_object_add(j, field, json_object_new_string_len(value, (int) len)), 0);
}

/* Cases that need the real blob's text or more room than a table line. */
static void test_hostile_blob(void **state) {
        _cleanup_json_ json_object *good = good_token(false);
        json_object *v;
        Tpm2Sealed s, t;

        assert_true(json_object_object_get_ex(good, "tpm2-blob", &v));
        _cleanup_free_ char *b64 = strdup(json_object_get_string(v));
        size_t len = strlen(b64);
        assert_non_null(b64);

        /* Oversized: more than any TPM2B_PRIVATE ‖ TPM2B_PUBLIC, not even decoded. */
        {
                _cleanup_json_ json_object *j = json_object_get(good);
                size_t n = 4 * ((TPM2_SEALED_BLOB_MAX + 2) / 3) + 4;
                _cleanup_free_ char *big = malloc(n);
                assert_non_null(big);
                memset(big, 'A', n);
                set_string(j, "tpm2-blob", big, n);
                assert_int_equal(tpm2_token_from_json(j, &t, NULL), -EUCLEAN);
                /* One group less: still too big for the buffer's bound, or not the structures. */
                set_string(j, "tpm2-blob", big, n - 4);
                assert_int_equal(tpm2_token_from_json(j, &t, NULL), -EUCLEAN);
        }
        json_object_put(good);
        good = good_token(false);

        struct { const char *what; char *text; size_t len; } cases[4] = {};
        /* White space inside, a NUL byte inside, padding in the middle, one character less. */
        assert_true(asprintf(&cases[0].text, "%.*s\n%s", 8, b64, b64 + 8) > 0);
        cases[0].len = len + 1;
        cases[1].text = strdup(b64);
        cases[1].text[4] = '\0';
        cases[1].len = len;
        cases[2].text = strdup(b64);
        cases[2].text[4] = '=';
        cases[2].len = len;
        cases[3].text = strndup(b64, len - 1);
        cases[3].len = len - 1;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_object *j = good_token(false);
                assert_non_null(cases[i].text);
                set_string(j, "tpm2-blob", cases[i].text, cases[i].len);
                if (tpm2_token_from_json(j, &t, NULL) != -EUCLEAN)
                        fail_msg("blob case %zu accepted", i);
                free(cases[i].text);
        }

        /* The structures followed by one more byte; another object type; a
         * policy digest of another size; an empty private part. */
        static const struct { TPMI_ALG_PUBLIC type; uint16_t policy; bool trailing; } blobs[] = {
                { TPM2_ALG_KEYEDHASH, TPM2_SEALED_POLICY_SIZE, true },
                { TPM2_ALG_SYMCIPHER, TPM2_SEALED_POLICY_SIZE, false },
                { TPM2_ALG_KEYEDHASH, 20, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(blobs); i++) {
                _cleanup_json_ json_object *j = NULL;
                make_sealed(&s, false);
                marshal_blob(&s, blobs[i].type, blobs[i].policy, blobs[i].trailing);
                assert_int_equal(tpm2_blob_unmarshal(s.blob, s.blob_size, NULL, NULL), -EUCLEAN);
                assert_int_equal(tpm2_token_to_json(&s, 0, &j), 0);
                if (tpm2_token_from_json(j, &t, NULL) != -EUCLEAN)
                        fail_msg("blob %zu accepted", i);
        }
        make_sealed(&s, false);
        s.blob[0] = s.blob[1] = 0; /* TPM2B_PRIVATE of size 0, then garbage */
        assert_int_equal(tpm2_blob_unmarshal(s.blob, s.blob_size, NULL, NULL), -EUCLEAN);

        /* A NUL inside other strings. */
        {
                _cleanup_json_ json_object *j = good_token(true);
                json_object *a = json_object_new_array();
                json_object_array_add(a, json_object_new_string_len("1\0", 2));
                json_object_object_add(j, "keyslots", a);
                assert_int_equal(tpm2_token_from_json(j, &t, NULL), -EUCLEAN);
        }
        {
                _cleanup_json_ json_object *j = good_token(true);
                set_string(j, "tpm2-pcr-bank", "sha256\0x", 8);
                assert_int_equal(tpm2_token_from_json(j, &t, NULL), -EUCLEAN);
        }

        /* Not an object at all. */
        {
                _cleanup_json_ json_object *j = json_object_new_array();
                assert_int_equal(tpm2_token_from_json(j, &t, NULL), -EUCLEAN);
        }
}

static void test_passphrase(void **state) {
        SecureBuffer *secret = NULL, *p = NULL;

        assert_int_equal(secure_buffer_new(32, &secret), 0);
        for (size_t i = 0; i < 32; i++)
                ((uint8_t *) secret->data)[i] = (uint8_t) i;
        assert_int_equal(tpm2_secret_to_passphrase(secret, &p), 0);
        /* python3 -c "import base64; print(base64.b64encode(bytes(range(32))).decode())" */
        assert_string_equal(p->data, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        assert_int_equal(p->size, 44);
        secure_buffer_free(p);
        p = NULL;
        secret->size = 0;
        assert_int_equal(tpm2_secret_to_passphrase(secret, &p), -EINVAL);
        assert_null(p);
        secure_buffer_free(secret);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layout),
                cmocka_unit_test(test_layout_no_pin),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_to_json_bad),
                cmocka_unit_test(test_minimal_token),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_hostile_blob),
                cmocka_unit_test(test_passphrase),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
