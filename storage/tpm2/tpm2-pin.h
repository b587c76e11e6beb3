/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

/* The authValue a sealed object gets from a PIN, as systemd (>= 254) derives
 * it, so that tokens are interchangeable:
 *     k = PBKDF2-HMAC-SHA256(pin, salt, 10000 iterations, 32 bytes)
 *     authValue = SHA256(base64(k))
 * and, with no salt (older enrollments), authValue = SHA256(pin). Trailing
 * zero bytes are then dropped: the TPM drops them from an object's authValue
 * when it stores it, and an HMAC keyed with them would not match, so
 * ret->size may be below 32 (and is 0 for an all-zero digest).
 * Every intermediate is in locked memory and wiped. Returns 0, -EINVAL
 * (salt of another size than TPM2_PIN_SALT_SIZE), -ENOMEM or -EIO. */
#define TPM2_PIN_SALT_SIZE 32
#define TPM2_PIN_PBKDF2_ITERATIONS 10000

int tpm2_pin_auth_value(const char *pin, const uint8_t *salt, size_t salt_size, SecureBuffer **ret);
