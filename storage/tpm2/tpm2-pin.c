/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "log.h"
#include "tpm2-pin.h"

int tpm2_pin_auth_value(const char *pin, const uint8_t *salt, size_t salt_size, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *k = NULL, *b64 = NULL, *auth = NULL;
        const void *input;
        size_t input_len;
        int r;

        if (!pin || (salt && salt_size != TPM2_PIN_SALT_SIZE))
                return -EINVAL;

        r = secure_buffer_new(SHA256_DIGEST_LENGTH, &auth);
        if (r < 0)
                return r;

        if (salt) {
                /* base64 of 32 bytes: 44 characters and the NUL EVP_EncodeBlock writes. */
                r = secure_buffer_new(SHA256_DIGEST_LENGTH, &k);
                if (r < 0)
                        return r;
                r = secure_buffer_new(4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1, &b64);
                if (r < 0)
                        return r;
                if (PKCS5_PBKDF2_HMAC(pin, (int) strnlen(pin, INT32_MAX), salt, (int) salt_size,
                                      TPM2_PIN_PBKDF2_ITERATIONS, EVP_sha256(), SHA256_DIGEST_LENGTH, k->data) != 1)
                        return log_error_errno(EIO, "TPM2: PBKDF2 of the PIN failed");
                input_len = (size_t) EVP_EncodeBlock(b64->data, k->data, SHA256_DIGEST_LENGTH);
                input = b64->data;
        } else {
                input = pin;
                input_len = strlen(pin);
        }

        if (!SHA256(input, input_len, auth->data))
                return log_error_errno(EIO, "TPM2: SHA-256 of the PIN failed");

        while (auth->size > 0 && ((uint8_t *) auth->data)[auth->size - 1] == 0)
                auth->size--;

        *ret = TAKE_PTR(auth);
        return 0;
}
