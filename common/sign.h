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
 * (keys of machines whose homes may move here): as systemd-homed's
 * /var/lib/systemd/home/NAME.public, a regular file owned by root (or by the
 * user running us) and writable by no one else; any other is ignored with
 * a warning. Whoever may write such a file may bring homes here, so only
 * root manages them. */

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

/* Keeps a record's signatures if they verify as this machine's or a
 * trusted key's: a home from another machine keeps its signer's, so that
 * it can go back there trusted by that machine alone; the binding and
 * status sections, which are not signed, may change meanwhile. Anything
 * else (unsigned, changed since, an unknown key) is signed anew by the
 * machine key (keyring_sign()). The caller has established that the
 * record may be signed here. */
int keyring_ensure_signed(Keyring *kr, UserRecord *rec);

/* The machine's public key, PEM; NULL without a key pair. */
const char *keyring_public_pem(Keyring *kr);

const char *signature_status_to_string(SignatureStatus s);
