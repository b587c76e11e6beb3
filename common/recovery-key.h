/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Recovery keys: 32 random bytes shown once as 64 modhex characters (the
 * alphabet cbdefghijklnrtuv, which reads the same on most keyboard layouts)
 * in eight groups of eight joined by dashes, as systemd-cryptenroll shows
 * them. The canonical text (lower case, with dashes) is what the LUKS2
 * keyslot takes as its passphrase, so a key typed with or without dashes, in
 * any case, opens the same keyslot once normalized. */

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

#define RECOVERY_KEY_BYTES 32
#define RECOVERY_KEY_TEXT_LEN (2 * RECOVERY_KEY_BYTES + RECOVERY_KEY_BYTES / 4 - 1) /* 71 */

/* key: RECOVERY_KEY_BYTES bytes. *ret holds the canonical text,
 * NUL-terminated, size RECOVERY_KEY_TEXT_LEN. Returns 0, -ENOMEM. */
int recovery_key_format(const uint8_t *key, SecureBuffer **ret);

/* The bytes of a key typed by a person: 64 modhex characters, either with
 * no dashes or with a dash after every 8, any case, nothing around them.
 * *ret has size RECOVERY_KEY_BYTES. Returns 0, -EINVAL, -ENOMEM. */
int recovery_key_parse(const char *text, SecureBuffer **ret);

/* parse + format: the keyslot passphrase for a typed key. */
int recovery_key_normalize(const char *text, SecureBuffer **ret);

/* normalize, for a key as a person may type or paste it: white space
 * around it is dropped, and white space between groups taken for their
 * dash. What decides whether a password is a recovery key (and so never
 * goes to the TPM as a PIN). At most RECOVERY_KEY_TYPED_MAX characters. */
#define RECOVERY_KEY_TYPED_MAX 1024
int recovery_key_normalize_typed(const char *text, SecureBuffer **ret);

/* Whether a new password would be taken for a recovery key: one that
 * recovery_key_normalize_typed() accepts is only ever tried as one, never as
 * a password or TPM PIN, so such a password could never open its home.
 * Create and passwd refuse it (hearth-work, and homectl before asking
 * hearthd), with RECOVERY_KEY_SHAPED_WHY as the reason. 1 yes, 0 no,
 * -ENOMEM. */
int recovery_key_shaped(const char *password);
#define RECOVERY_KEY_SHAPED_WHY                                                                                   \
        "it reads as a recovery key (64 letters of cbdefghijklnrtuv, in groups of 8 or not), and such a string "  \
        "is only ever tried as a recovery key, never as the password; choose another"

/* A new random key (OpenSSL's private DRBG), as canonical text. */
int recovery_key_generate(SecureBuffer **ret);
