/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The key slots of an fscrypt home, byte for byte as systemd-homed (252)
 * writes them, so that either opens the other's homes.
 *
 * The home's top directory carries a v1 fscrypt policy (AES-256-XTS for
 * contents, AES-256-CTS for names, names padded to 32) whose master key
 * descriptor is the first 8 bytes of SHA-512(SHA-512(volume key)), the
 * volume key being 64 random bytes. Each password has one extended
 * attribute on that directory, trusted.fscrypt_slot<N> (N a decimal
 * uint32), whose value (no NUL) is
 *
 *     base64(salt) ":" base64(AES-256-CTR(volume key))
 *
 * with a 64-byte random salt, standard base64 with padding and no line
 * breaks; the AES key is the first 32 bytes of PBKDF2-HMAC-SHA512(password,
 * salt, 65535 iterations, 64 bytes), the counter starting at 16 zero bytes.
 * A password is right when the key it decrypts has the policy's
 * descriptor: nothing else in a slot authenticates it.
 *
 * The values are on a disk a thief may rewrite: parsing takes exactly the
 * lengths above and nothing else. */

#define FSCRYPT_SLOT_XATTR_PREFIX "trusted.fscrypt_slot"
#define FSCRYPT_VOLUME_KEY_SIZE 64
#define FSCRYPT_SLOT_SALT_SIZE 64
#define FSCRYPT_SLOT_ITERATIONS 0xFFFF
#define FSCRYPT_DESCRIPTOR_SIZE 8
/* base64 of 64 bytes is 88 characters: 88 + 1 + 88. */
#define FSCRYPT_SLOT_VALUE_SIZE 177
/* Slots read from one directory at most; the xattr list read at most. */
#define FSCRYPT_SLOTS_MAX 64
#define FSCRYPT_XATTR_LIST_MAX 65536

/* N of an xattr named trusted.fscrypt_slot<N>: 0; -EINVAL for any other
 * name (also N with a sign, leading zeros or past UINT32_MAX). */
int fscrypt_slot_number(const char *xattr_name, uint32_t *ret);

/* The first 8 bytes of SHA-512(SHA-512(key)), as e4crypt and homed. */
int fscrypt_key_descriptor(const uint8_t key[FSCRYPT_VOLUME_KEY_SIZE], uint8_t ret[FSCRYPT_DESCRIPTOR_SIZE]);

/* The slot's value for password and key with this salt (ret: NUL-terminated
 * too, FSCRYPT_SLOT_VALUE_SIZE + 1 bytes; it holds no secret in the clear). */
int fscrypt_slot_wrap(const char *password, const uint8_t salt[FSCRYPT_SLOT_SALT_SIZE],
                      const uint8_t key[FSCRYPT_VOLUME_KEY_SIZE], char ret[FSCRYPT_SLOT_VALUE_SIZE + 1]);

/* Splits and decodes a value of len bytes (not NUL-terminated): 0, or
 * -EBADMSG if it is anything but the format above. */
int fscrypt_slot_parse(const char *value, size_t len, uint8_t ret_salt[FSCRYPT_SLOT_SALT_SIZE],
                       uint8_t ret_encrypted[FSCRYPT_VOLUME_KEY_SIZE]);

/* The volume key if password opens the slot value: 0 (ret_key set, the
 * caller wipes it); -ENOANO if the key it decrypts has another descriptor
 * (a wrong password, or a slot of another key); -EBADMSG if the value is
 * malformed. Nothing secret is left behind but ret_key. */
int fscrypt_slot_unwrap(const char *password, const char *value, size_t len,
                        const uint8_t descriptor[FSCRYPT_DESCRIPTOR_SIZE], uint8_t ret_key[FSCRYPT_VOLUME_KEY_SIZE]);
