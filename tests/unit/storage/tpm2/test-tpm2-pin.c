/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tpm2-pin.h"

/* Vectors computed independently of this code, with salt = bytes 0..31:
 *   import hashlib, base64
 *   def auth(pin, salt):
 *       if salt is None: return hashlib.sha256(pin).digest()
 *       k = hashlib.pbkdf2_hmac('sha256', pin, salt, 10000, 32)
 *       return hashlib.sha256(base64.b64encode(k)).digest()
 * and for "1234" cross-checked with the openssl CLI:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:1234 \
 *       -kdfopt hexsalt:000102…1f -kdfopt iter:10000 PBKDF2 \
 *     | tr -d ':\n' | xxd -r -p | base64 -w0 | sha256sum
 * "pin-64" (salted) and "pin-31514" (unsalted) were found by searching for
 * digests that end in zero bytes; the TPM drops those, so must we. */
static const struct {
        const char *pin;
        bool salted;
        const char *digest; /* full SHA-256, hex */
        size_t stripped;    /* bytes left after dropping trailing zeros */
} vectors[] = {
        { "1234", true, "707057c835474da74bcd75b848540fe2bbbf46d9d30a96b148814aecadeddedd", 32 },
        { "1234", false, "03ac674216f3e15c761ee1a5e255f067953623c8b388b4459e13f978d7c846f4", 32 },
        { "", true, "05d399dbc58ea2ec420d4dd2398ed6bacea3ad9b89b8e4be99ee833e68d91194", 32 },
        { "pin-64", true, "c553bbb9d12a2bb7383ea44990c69645479193f3947b8e7053c111a9ea942d00", 31 },
        { "pin-31514", false, "1629cf06a560a6e8b7078e8d3e531eff4c7a2a85e0622312c9907f063e460000", 30 },
};

static void test_vectors(void **state) {
        uint8_t salt[TPM2_PIN_SALT_SIZE];

        for (size_t i = 0; i < sizeof salt; i++)
                salt[i] = (uint8_t) i;

        for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
                SecureBuffer *b = NULL;
                char hex[2 * 32 + 1] = "";

                assert_int_equal(tpm2_pin_auth_value(vectors[v].pin, vectors[v].salted ? salt : NULL, sizeof salt, &b), 0);
                if (b->size != vectors[v].stripped)
                        fail_msg("%s: %zu bytes, expected %zu", vectors[v].pin, b->size, vectors[v].stripped);
                for (size_t i = 0; i < b->size; i++)
                        snprintf(hex + 2 * i, 3, "%02x", ((uint8_t *) b->data)[i]);
                /* The stripped value is the digest's prefix; what was cut was zeros. */
                assert_memory_equal(hex, vectors[v].digest, 2 * b->size);
                for (size_t i = 2 * b->size; i < 64; i++)
                        assert_int_equal(vectors[v].digest[i], '0');
                if (geteuid() == 0)
                        assert_true(b->locked);
                secure_buffer_free(b);
        }
}

static void test_salt_matters(void **state) {
        uint8_t salt1[TPM2_PIN_SALT_SIZE] = { 1 }, salt2[TPM2_PIN_SALT_SIZE] = { 2 };
        SecureBuffer *a = NULL, *b = NULL;

        assert_int_equal(tpm2_pin_auth_value("same pin", salt1, sizeof salt1, &a), 0);
        assert_int_equal(tpm2_pin_auth_value("same pin", salt2, sizeof salt2, &b), 0);
        assert_true(a->size != b->size || memcmp(a->data, b->data, a->size) != 0);
        secure_buffer_free(a);
        secure_buffer_free(b);
}

static void test_bad_arguments(void **state) {
        uint8_t salt[TPM2_PIN_SALT_SIZE] = {};
        SecureBuffer *b = NULL;

        assert_int_equal(tpm2_pin_auth_value("x", salt, 16, &b), -EINVAL);
        assert_int_equal(tpm2_pin_auth_value("x", salt, 33, &b), -EINVAL);
        assert_int_equal(tpm2_pin_auth_value(NULL, salt, sizeof salt, &b), -EINVAL);
        assert_null(b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors),
                cmocka_unit_test(test_salt_matters),
                cmocka_unit_test(test_bad_arguments),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
