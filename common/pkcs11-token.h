/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include <openssl/evp.h>

#include "secret.h"

/* Talking to PKCS#11 tokens (smart cards) through p11-kit: the modules of
 * p11-kit's configuration, or the one module $HEARTH_PKCS11_MODULE names
 * (tests: SoftHSM2). The record's half is pkcs11-record.h.
 *
 * As systemd-homed: for an RSA key, the certificate a URI names encrypts a
 * random secret with RSA PKCS#1 v1.5; the private key of the same CKA_ID
 * on the token decrypts it (C_Login with the PIN, C_Decrypt CKM_RSA_PKCS).
 * The secret is bits/16 bytes (homed's size: 128 for RSA 2048). For an EC
 * key (homed since systemd 255; 252 knows RSA alone), a fresh key pair on
 * the certificate's curve: the record keeps its public key (the
 * uncompressed point) and the secret is the ECDH shared secret, which the
 * token derives again (C_DeriveKey CKM_ECDH1_DERIVE, CKD_NULL; the private
 * key needs CKA_DERIVE). Either secret's base64 is the home's password. */

#define PKCS11_ENV_MODULE "HEARTH_PKCS11_MODULE"

/* Errors, besides -ENOMEM and -EIO (the token failed):
 *   -ENXIO    no token (or no certificate) matches the URI: absent
 *   -ENOANO   a PIN is needed and none was given (TokenPinNeeded)
 *   -EBADE    wrong PIN (BadPin)
 *   -EBADR    wrong PIN, the token says few tries are left (BadPinFewTriesLeft)
 *   -EBADRQC  wrong PIN, one try left (BadPinOneTryLeft)
 *   -ENOLCK   the PIN is locked (TokenPinLocked)
 *   -EOPNOTSUPP  a key neither RSA nor EC
 *   -ENOTUNIQ "auto" found none or several certificates */

/* The URI of the certificate to enrol: uri itself, or for "auto" the one
 * certificate of all tokens present (with its id and token). *ret_uri
 * malloc'd; the public key in *ret_pkey. */
int pkcs11_token_find_certificate(const char *uri, char **ret_uri, EVP_PKEY **ret_pkey);

/* Prints the URIs of the certificates on the tokens present, one a line. */
int pkcs11_token_list(void);

/* A fresh secret for pkey and it encrypted to pkey: *ret_secret is the
 * secret's base64 (locked memory, NUL-terminated), *ret_encrypted
 * (malloc'd, *ret_size bytes) what the record keeps. */
int pkcs11_secret_make(EVP_PKEY *pkey, SecureBuffer **ret_secret, void **ret_encrypted, size_t *ret_size);

/* Decrypts encrypted on the token holding the certificate uri names, with
 * pin (may be NULL: -ENOANO if the token needs one). *ret_secret: the
 * secret's base64, NUL-terminated, in locked memory. */
int pkcs11_token_decrypt(const char *uri, const char *pin, const void *encrypted, size_t size,
                         SecureBuffer **ret_secret);
