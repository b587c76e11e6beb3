/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "home.h"
#include "secret.h"
#include "tpm2.h"

/* TPM2-sealed LUKS homes: the glue between storage/luks.c and storage/tpm2/tpm2.c.
 * A home asks for it with the record fields "tpm2" (true), "tpm2Pcrs" (the
 * sha256 PCRs to bind to, default [7]) and "tpm2KeepPassword" (also keep a
 * password keyslot). Its keyslot opens with base64 of a secret sealed in the
 * TPM, with the user's password as PIN; the sealed object lives in a LUKS2
 * token of type systemd-tpm2 as systemd-cryptenroll writes it. Recovery keys
 * (secret.recoveryKey at create) get keyslots and systemd-recovery tokens.
 * The TPM is $HEARTH_TPM2_TCTI, or /dev/tpmrm0. */

typedef struct LuksTpm2Wish {
        bool enabled;
        uint32_t pcrs[TPM2_SEALED_PCR_COUNT];
        size_t n_pcrs;
        bool keep_password;
} LuksTpm2Wish;

/* The record's wish, its fields checked. -EINVAL with a message if malformed. */
int luks_tpm2_wish(Home *h, LuksTpm2Wish *ret);

/* Create: seal a fresh secret with pin, add the keyslot that opens with it
 * (minimal PBKDF: the secret is 256 random bits) and its token. */
int luks_tpm2_enroll(Home *h, struct crypt_device *cd, const LuksTpm2Wish *w, const char *pin);

/* Create: a keyslot and a systemd-recovery token for each secret.recoveryKey. */
int luks_recovery_enroll(Home *h, struct crypt_device *cd);

/* The systemd-tpm2 token: its id, the sealed object and its keyslot.
 * -ENOENT if the header has none. */
int luks_tpm2_find(Home *h, struct crypt_device *cd, Tpm2Sealed *ret, int *ret_keyslot);

/* Whether the header's systemd-tpm2 token (s, naming keyslot) may be put
 * to the TPM with the password as PIN: whoever can write the image can
 * seal a secret to this machine's TPM (that needs no authorization) and so
 * write a token the TPM unseals, then leave her a volume whose key he
 * knows. So the token must name a keyslot of this header and ask for a
 * PIN (else any password would open it), and, when the record says
 * "tpm2", be bound to the record's PCRs (luks_tpm2_wish()); the sha256
 * bank tpm2_token_from_json() already requires. 0, or -EMEDIUMTYPE
 * (logged: not provably the home's) without asking the TPM. */
int luks_tpm2_vouch(Home *h, struct crypt_device *cd, const Tpm2Sealed *s, int keyslot);

/* Unseals with pin (one TPM try): the keyslot's passphrase and, if
 * ret_secret, the secret itself. Errors are tpm2_unseal()'s; on a wrong
 * PIN, note says how many tries the TPM has left; -EUSERS (logged) without
 * a try if the TPM's counter is at h->tpm_tries_below or above. What the
 * TPM said is in h->tpm_report. */
int luks_tpm2_passphrase(Home *h, const Tpm2Sealed *s, const char *pin, SecureBuffer **ret,
                         SecureBuffer **ret_secret, char *note, size_t note_size);

/* passwd, the home opened through the TPM: the secret it unsealed, sealed
 * again with new_pin (no second unseal); the token is rewritten in place
 * (LUKS2 writes its header atomically), so a crash leaves the old token or
 * the new one, and no keyslot changes. */
int luks_tpm2_reseal(Home *h, struct crypt_device *cd, const SecureBuffer *secret, const char *new_pin);

/* passwd, the home opened otherwise (recovery key, a kept password
 * keyslot, or the TPM no longer unseals: PCRs changed): nothing to
 * re-seal, and a recovery key is no PIN. A new secret is sealed to the
 * record's PCRs (luks_tpm2_wish(); the token's, which need not be
 * Hearth's, only for a record without "tpm2") as they are now, with new_pin; its keyslot is added with the
 * volume key, the token rewritten in place to name it (atomic), and the
 * old TPM keyslot destroyed. Leaves cd's PBKDF at the minimal one. */
int luks_tpm2_replace(Home *h, struct crypt_device *cd, const void *vk, size_t vk_size, const char *new_pin);

/* The token id of the header as JSON in *ret, if it is of type type (1);
 * 0 if not, or not JSON at all (another tool's). */
int luks_token_get(struct crypt_device *cd, int id, const char *type, json_object **ret);

/* The type of the tokens naming PKCS#11 tokens' keyslots (luks-internal.h). */
#define LUKS_PKCS11_TOKEN_TYPE "systemd-pkcs11"

/* Keyslots that belong to a systemd-tpm2, systemd-recovery or
 * systemd-pkcs11 token: passwd must leave them alone. */
int luks_token_keyslots(struct crypt_device *cd, bool ret_mask[32]);
