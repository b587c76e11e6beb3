/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The systemd-homed LUKS2 token: the home's signed record, encrypted with
 * the volume key so that the header tells nobody without a key the user's
 * name, e-mail or password hash. Token and construction are
 * systemd-homed's (src/home/homework-luks.c, docs/HOME_DIRECTORY.md), so
 * that a home moves between homed and Hearth: the volume's own cipher as
 * an OpenSSL cipher (aes-xts-plain64 with a 512-bit key is aes-256-xts),
 * the whole volume key as its key, a random IV of the cipher's IV length,
 * one pass over the record's text (as in ~/.identity: without binding,
 * status and secret):
 *
 *   {"type":"systemd-homed","keyslots":[],"record":"<base64>","iv":"<base64>"}
 *
 * There is no MAC (neither has homed's): the record inside is signed, and
 * whoever reads it checks the signature. */

#define IDENTITY_TOKEN_TYPE "systemd-homed"

/* The token's JSON text for record (a JSON text). cipher and mode are the
 * volume's (crypt_get_cipher(), crypt_get_cipher_mode()). Returns 0,
 * -EOPNOTSUPP for a cipher OpenSSL does not have, -ENOMEM, -EIO. */
int identity_token_seal(const char *cipher, const char *mode, const void *vk, size_t vk_size, const char *record,
                        char **ret_token);

/* The record's JSON text from a token's JSON text (at most
 * IDENTITY_FILE_MAX bytes of record). Returns 0, -EINVAL for a malformed
 * token (not JSON, another type, "record" or "iv" missing or not base64
 * strings), -EBADMSG if it does not decrypt to text (another key, damage),
 * -EOPNOTSUPP, -ENOMEM. */
int identity_token_open(const char *token, const char *cipher, const char *mode, const void *vk, size_t vk_size,
                        char **ret_record);
