/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sealing a home's unlock secret in the TPM (tpm2-tss ESAPI).
 *
 * A Tpm2 is one connection to one TPM, like cryptsetup's struct crypt_device:
 * open it, seal or unseal, free it. Every transient object and session it
 * makes is flushed before the call that made it returns, so it also works
 * without a resource manager (the swtpm socket TCTI).
 *
 * The sealed object lives under the storage root key (SRK), the persistent
 * key at 0x81000001: looked up, created with the standard template if absent
 * (ECC P-256, else RSA 2048; creation serialized by
 * $HEARTH_RUNTIME_DIR/tpm2-srk.lock, default /run/hearth), never evicted.
 * Its policy is PolicyPCR (sha256 bank) then, with a PIN, PolicyAuthValue;
 * the object has no USERWITHAUTH and no NODA, so only the policy opens it and
 * every wrong PIN counts against the TPM's dictionary-attack protection.
 *
 * Errors (each logged once here, as "TPM2: ...", so callers only pass them on):
 *   -EKEYREJECTED  wrong PIN (the TPM's failure counter went up; the message
 *                  says how many attempts are left), or a PIN is needed and
 *                  none was given
 *   -ETIME         the TPM is in dictionary-attack lockout; the message says
 *                  within how many seconds it accepts an attempt again
 *   -ESTALE        the PCRs differ from when the secret was sealed (firmware,
 *                  boot loader, Secure Boot change): use the recovery key
 *   -ENOKEY        the TPM cannot load the sealed object: it was sealed on
 *                  another TPM or this one was cleared: use the recovery key
 *   -ENODEV        no TPM at that TCTI, or it does not answer
 *   -EOPNOTSUPP    the TPM lacks what this needs (sha256 PCR bank, ECC P-256
 *                  or RSA 2048 storage keys), or the token asks for a feature
 *                  not implemented here (see tpm2-token.h)
 *   -EADDRINUSE    0x81000001 holds a key that is not a storage key
 *   -EACCES        the owner hierarchy has a password, so the missing SRK
 *                  cannot be created
 *   -EUCLEAN       the sealed blob is malformed or does not match its policy
 *                  hash (a damaged or tampered token)
 *   -EINVAL        bad arguments (PCR index > 23)
 *   -ENOMEM, -EIO  out of memory; any other TPM or TSS failure
 *   (other)        creating or locking the SRK lock file (mkdir/open/flock)
 * The SRK missing is not an error: it is recreated (the same template on the
 * same TPM gives the same key, so existing sealed objects still load). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"
#include "tpm2-pin.h"

#define TPM2_TCTI_DEFAULT "device:/dev/tpmrm0"
#define TPM2_SRK_HANDLE UINT32_C(0x81000001)

#define TPM2_SEALED_SECRET_SIZE 32 /* the random secret that is sealed */
#define TPM2_SEALED_POLICY_SIZE 32 /* sha256 policy digest */
#define TPM2_SEALED_PCR_COUNT 24   /* PCRs 0..23 */
/* Marshalled TPM2B_PRIVATE ‖ TPM2B_PUBLIC: at most the sizes of the two
 * structures (checked against tpm2-tss in tpm2.c). A real one is ~200 bytes. */
#define TPM2_SEALED_BLOB_MAX 2168

typedef enum Tpm2PrimaryAlg {
        TPM2_SEALED_ECC,
        TPM2_SEALED_RSA,
} Tpm2PrimaryAlg;

/* What a LUKS2 token must keep to unseal again (see tpm2-token.h). PCRs are
 * always of the sha256 bank. Plain data: copy it, no free needed. */
typedef struct Tpm2Sealed {
        uint8_t blob[TPM2_SEALED_BLOB_MAX];
        size_t blob_size;
        uint32_t pcr_mask;                           /* bit n = PCR n */
        Tpm2PrimaryAlg primary_alg;                  /* of the SRK it was sealed under */
        uint8_t policy_hash[TPM2_SEALED_POLICY_SIZE];
        bool pin;                                    /* PolicyAuthValue with a PIN */
        bool has_salt;                               /* false: authValue = SHA256(PIN), older enrollments */
        uint8_t salt[TPM2_PIN_SALT_SIZE];
} Tpm2Sealed;

typedef struct Tpm2 Tpm2;

/* tcti: a tctildr string ("device:/dev/tpmrm0", "swtpm:path=/run/x/sock"),
 * NULL for TPM2_TCTI_DEFAULT. Checks that the TPM answers and has a sha256
 * PCR bank; the SRK is looked up on first use. Unless HEARTH_LOG_LEVEL=debug
 * it sets TSS2_LOG=all+none if TSS2_LOG is unset: tpm2-tss would otherwise
 * print every refused command (a wrong PIN, say) to stderr itself. */
int tpm2_open(const char *tcti, Tpm2 **ret);
Tpm2 *tpm2_free(Tpm2 *t);
static inline void tpm2_freep(Tpm2 **t) {
        tpm2_free(*t);
}
#define _cleanup_tpm2_ __attribute__((cleanup(tpm2_freep)))

/* Seals TPM2_SEALED_SECRET_SIZE fresh random bytes to the current values of
 * the given sha256 PCRs (duplicates allowed, none = bound to this TPM only)
 * and, unless pin is NULL, to the PIN. Returns the secret in locked memory;
 * the LUKS2 keyslot passphrase is made from it by tpm2_secret_to_passphrase()
 * (tpm2-token.h). */
int tpm2_seal(Tpm2 *t, const uint32_t *pcrs, size_t n_pcrs, const char *pin,
              Tpm2Sealed *ret_sealed, SecureBuffer **ret_secret);

/* The secret tpm2_seal() returned, if the PCRs are as they were and the PIN
 * is right. pin is ignored if s->pin is false. The policy is checked before
 * the TPM is asked to unseal, so a PCR change costs no failure count. */
int tpm2_unseal(Tpm2 *t, const Tpm2Sealed *s, const char *pin, SecureBuffer **ret_secret);

/* Seals a given secret (TPM2_SEALED_SECRET_SIZE bytes) anew: a password
 * change re-seals what the keyslot opens with under the new PIN, so no
 * keyslot changes. */
int tpm2_seal_secret(Tpm2 *t, const uint32_t *pcrs, size_t n_pcrs, const char *pin, const SecureBuffer *secret,
                     Tpm2Sealed *ret_sealed);

/* The TPM's dictionary-attack state, for messages ("2 attempts left"). */
typedef struct Tpm2Lockout {
        uint32_t failures;     /* TPM2_PT_LOCKOUT_COUNTER */
        uint32_t max_failures; /* TPM2_PT_MAX_AUTH_FAIL: lockout when failures reach it */
        uint32_t interval;     /* TPM2_PT_LOCKOUT_INTERVAL: seconds to forget one failure */
        uint32_t recovery;     /* TPM2_PT_LOCKOUT_RECOVERY: seconds after a lockoutAuth failure */
        bool in_lockout;
} Tpm2Lockout;
/* Returns 0 or -EIO. */
int tpm2_get_lockout(Tpm2 *t, Tpm2Lockout *ret);
