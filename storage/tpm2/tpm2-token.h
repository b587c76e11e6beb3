/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The LUKS2 token of a TPM-sealed keyslot, in the layout systemd-cryptenroll
 * writes, so either tool recognises the other's enrollment:
 *   {"type":"systemd-tpm2", "keyslots":["N"],
 *    "tpm2-blob":"<base64 of TPM2B_PRIVATE ‖ TPM2B_PUBLIC>",
 *    "tpm2-pcrs":[7], "tpm2-pcr-bank":"sha256", "tpm2-primary-alg":"ecc",
 *    "tpm2-policy-hash":"<hex>", "tpm2-pin":true, "tpm2_salt":"<base64>"}
 * (tpm2_salt only with a salted PIN). No TPM is needed here. */

#include <json-c/json.h>
#include <tss2/tss2_tpm2_types.h>

#include "secret.h"
#include "tpm2.h"

#define TPM2_TOKEN_TYPE "systemd-tpm2"
#define TPM2_TOKEN_MAX_KEYSLOT 31 /* LUKS2 has 32 keyslots */

/* Returns 0, -EINVAL (keyslot out of range, blob size 0), -ENOMEM. */
int tpm2_token_to_json(const Tpm2Sealed *s, int keyslot, json_object **ret);

/* Parses a token read from a disk, so hostile: every field's presence, type,
 * length and encoding is checked, the blob must hold exactly one
 * TPM2B_PRIVATE and one TPM2B_PUBLIC. Absent tpm2-pcr-bank means sha256,
 * absent tpm2-primary-alg ecc, absent tpm2-pin false (as systemd reads
 * them). Unknown keys are ignored, except those that change what the policy
 * is, which systemd writes for features not implemented here.
 * Returns 0; -EMEDIUMTYPE if the type is not "systemd-tpm2" (not an error
 * for a caller scanning tokens; not logged); -EUCLEAN for a malformed token;
 * -EOPNOTSUPP for a well-formed one this cannot unseal (sha1 bank, signed
 * PCR policy, pcrlock). Errors are logged, naming the field. */
int tpm2_token_from_json(json_object *j, Tpm2Sealed *ret, int *ret_keyslot);

/* The LUKS2 keyslot passphrase for a sealed secret: its base64, as
 * systemd-cryptenroll uses, NUL-terminated in locked memory (ret->size is
 * the length without the NUL). Returns 0, -EINVAL (empty), -ENOMEM. */
int tpm2_secret_to_passphrase(const SecureBuffer *secret, SecureBuffer **ret);

/* Splits a tpm2-blob into its TPM2B_PRIVATE and TPM2B_PUBLIC (either may be
 * NULL). Returns -EUCLEAN unless the blob holds exactly these two and the
 * public area is a sealed-data object with a sha256 policy. */
int tpm2_blob_unmarshal(const uint8_t *blob, size_t size, TPM2B_PRIVATE *ret_private, TPM2B_PUBLIC *ret_public);
