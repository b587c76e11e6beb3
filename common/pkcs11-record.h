/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* A home unlocked with a PKCS#11 token (smart card), as systemd-homed
 * writes it in the user record:
 *
 *   "pkcs11TokenUri": ["pkcs11:…", …]                  (regular section)
 *   "privileged": { "pkcs11EncryptedKey": [
 *       { "uri": "pkcs11:…",                 the certificate's object
 *         "data": "<base64>",                a random secret encrypted to its public key
 *         "hashedPassword": "$y$…" } ] }     crypt(3) of the secret's base64
 *
 * The secret's base64 is the home's password (a LUKS keyslot passphrase);
 * the token's private key, unlocked by the PIN, decrypts it. This file is
 * the record's half (pure, no token I/O); storage/pkcs11-token.h talks to
 * the token. */

#define PKCS11_URI_MAX 1024          /* bytes of one URI */
#define PKCS11_KEYS_MAX 64           /* entries of either list */
#define PKCS11_DATA_MAX 2048         /* bytes of an encrypted secret (RSA 16384 bits) */
#define PKCS11_HASH_MAX 1024         /* bytes of a crypt(3) hash */
#define PKCS11_PIN_MAX 256           /* bytes of a PIN (secret.pkcs11Pin) */

typedef struct Pkcs11EncryptedKey {
        const char *uri;             /* points into the record's tree */
        const char *data;            /* base64, as in the record */
        const char *hashed_password;
} Pkcs11EncryptedKey;

/* Is s a PKCS#11 URI a record may carry: "pkcs11:", printable ASCII
 * without spaces, at most PKCS11_URI_MAX bytes. */
bool pkcs11_uri_valid(const char *s);

/* Checks the value of pkcs11TokenUri (v: an array of strings) and returns
 * the list (NULL-terminated, strings in v) in *ret. On -EINVAL *ret_why is
 * the rule broken (static text) and *ret_index the entry, or SIZE_MAX. */
int pkcs11_token_uris_parse(json_object *v, const char ***ret, const char **ret_why, size_t *ret_index);

/* Checks the value of pkcs11EncryptedKey (v: an array of objects) and
 * returns the entries in *ret (*ret_n of them). Errors as above. */
int pkcs11_encrypted_keys_parse(json_object *v, Pkcs11EncryptedKey **ret, size_t *ret_n, const char **ret_why,
                                size_t *ret_index);

/* Adds an enrolment to a record's tree: the entry {uri, data (base64 of
 * the size bytes at encrypted), hashedPassword} to privileged.pkcs11EncryptedKey
 * (replacing one of the same URI) and uri to pkcs11TokenUri (if not there).
 * 0, -ENOMEM, or -EINVAL if uri is not valid or the lists would grow past
 * PKCS11_KEYS_MAX. */
int pkcs11_record_add(json_object *record, const char *uri, const void *encrypted, size_t size,
                      const char *hashed_password);

/* Removes every enrolment (both lists; privileged goes if empty): 1 if there
 * was one, 0 if not. */
int pkcs11_record_clear(json_object *record);

/* The bytes of an entry's data: 0 and *ret (malloc'd, *ret_size), -EINVAL
 * if it is not base64 of 1 to PKCS11_DATA_MAX bytes. */
int pkcs11_data_decode(const char *b64, void **ret, size_t *ret_size);

/* Of two token errors (pkcs11-token.h's; 0: none yet), the one that says
 * most: a locked PIN over a wrong one over a missing one over a failure
 * of the token (-EIO). What unlocking tells of several tokens present. */
int pkcs11_error_worse(int worst, int r);
