/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "user-record.h"

/* Record signatures, as homed makes them: Ed25519 over the canonical JSON
 * (sorted keys, no white space) of the record without its binding, status,
 * signature and secret sections; stored as
 *   "signature": [ { "data": "<base64>", "key": "<PEM public key>" } ].
 *
 * The keyring is the machine's own key pair (<statedir>/local.private and
 * local.public) plus every other <statedir>/NAME.public, which are trusted too
 * (keys of machines whose homes may move here). */

typedef struct Keyring Keyring;

typedef enum SignatureStatus {
        SIGNATURE_UNSIGNED,  /* no signature at all */
        SIGNATURE_UNTRUSTED, /* intact, but by a key not in the keyring */
        SIGNATURE_TRUSTED,   /* intact, by a trusted key of another machine */
        SIGNATURE_LOCAL,     /* intact, by this machine's key */
        SIGNATURE_BAD,       /* a signature does not match: modified after signing */
} SignatureStatus;

/* Loads the keyring from statedir; with create, makes the machine key pair
 * (and statedir, 0700) if there is none yet. Without create and without a
 * key pair, the keyring can verify but not sign. */
int keyring_open(const char *statedir, bool create, Keyring **ret);
Keyring *keyring_free(Keyring *kr);
static inline void keyring_freep(Keyring **kr) {
        keyring_free(*kr);
}
#define _cleanup_keyring_ __attribute__((cleanup(keyring_freep)))

/* Replaces all signatures with one by the machine key. -ENOKEY if the
 * keyring has no private key. */
int keyring_sign(Keyring *kr, UserRecord *rec);

int keyring_verify(Keyring *kr, const UserRecord *rec, SignatureStatus *ret);

/* The machine's public key, PEM; NULL without a key pair. */
const char *keyring_public_pem(Keyring *kr);

const char *signature_status_to_string(SignatureStatus s);
