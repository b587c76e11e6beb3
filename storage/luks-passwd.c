/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keyslots: changing passwords (passwd) and checking one without
 * activating anything (authenticate). */
#include <errno.h>
#include <string.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "dlopen-cryptsetup.h"
#include "log.h"
#include "luks-tpm2.h"

#include "luks-internal.h"

/* The record's luksPbkdf* settings, for every keyslot a password opens: at
 * create and at passwd alike, as homed. */
int luks_password_pbkdf_set(Home *h, struct crypt_device *cd) {
        const UserRecord *rec = h->rec;
        struct crypt_pbkdf_type p = {
                .type = rec->luks_pbkdf_type ?: CRYPT_KDF_ARGON2ID,
                .hash = rec->luks_pbkdf_hash_algorithm ?: "sha512",
                /* homed's defaults: 500 ms and 64 MiB, not libcryptsetup's
                 * 2 s that every login would wait for. */
                .time_ms = rec->luks_pbkdf_time_cost_usec != UINT64_MAX
                                   ? (uint32_t) (rec->luks_pbkdf_time_cost_usec / 1000 ?: 1) : 500,
                .max_memory_kb = rec->luks_pbkdf_memory_cost != UINT64_MAX
                                         ? (uint32_t) (rec->luks_pbkdf_memory_cost / 1024) : 65536,
                .parallel_threads = rec->luks_pbkdf_parallel_threads != UINT64_MAX
                                            ? (uint32_t) rec->luks_pbkdf_parallel_threads : 1,
        };
        int r;

        if (strcmp(p.type, CRYPT_KDF_PBKDF2) == 0) {
                p.max_memory_kb = 0;
                p.parallel_threads = 0;
        }
        /* luksPbkdfForceIterations (systemd's field): fixed cost, no
         * benchmark. Tests use it to make formatting cheap. */
        if (rec->luks_pbkdf_force_iterations != UINT64_MAX) {
                p.iterations = (uint32_t) rec->luks_pbkdf_force_iterations;
                p.time_ms = 0;
                p.flags = CRYPT_PBKDF_NO_BENCHMARK;
                if (p.max_memory_kb < 32 && p.max_memory_kb != 0)
                        p.max_memory_kb = 32;
        }
        r = sym_crypt_set_pbkdf_type(cd, &p);
        if (r < 0)
                return log_error_errno(r, "home %s: PBKDF settings refused by libcryptsetup: %m", h->name);
        return 0;
}

/* The secrets are strong: a slow PBKDF would only slow every login. */
int luks_strong_secret_pbkdf_set(Home *h, struct crypt_device *cd) {
        const struct crypt_pbkdf_type p = {
                .type = CRYPT_KDF_PBKDF2,
                .hash = "sha512",
                .iterations = 1000,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        int r = sym_crypt_set_pbkdf_type(cd, &p);
        return r < 0 ? log_error_errno(r, "home %s: PBKDF settings refused by libcryptsetup: %m", h->name) : 0;
}

/* ---- passwd ------------------------------------------------------------------ */

/* New keyslots first, old ones last: killed at any point, the home opens
 * with the old password or the new one. */
int luks_passwd(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        int r, old_slot;

        r = luks_volume_open(h, &v);
        if (r < 0)
                return r;
        old_slot = luks_volume_key_get(h, &v, &o);
        if (old_slot < 0)
                return old_slot;
        const char *const *np = user_record_secret(h->rec, "newPassword");
        if (!np || !np[0])
                return log_error_errno(EINVAL, "home %s: secret.newPassword: required", h->name);

        /* The TPM's PIN first: a crash after it leaves the TPM opening with
         * the new password and any password keyslot with the old. Opened
         * through the TPM, its secret is sealed again with the new PIN;
         * opened otherwise (a recovery key, which must never reach the TPM
         * as a PIN; a kept password keyslot; the TPM refusing, its PCRs
         * changed) a new one replaces it. */
        Tpm2Sealed sealed;
        int tpm_slot;
        bool tpm = luks_tpm2_find(h, v.cd, &sealed, &tpm_slot) >= 0;
        if (tpm) {
                r = o.tpm_secret ? luks_tpm2_reseal(h, v.cd, o.tpm_secret, np[0])
                                 : luks_tpm2_replace(h, v.cd, o.vk->data, o.vk_size, np[0]);
                if (r < 0)
                        return r;
        }
        /* Keyslots of tokens (TPM2, recovery keys, PKCS#11) are not
         * passwords'; one a token opened just now that homed made is named first. */
        if (luks_pkcs11_sync(h, &v, &o, LUKS_PKCS11_MARK, false) < 0)
                return -EIO;
        bool token_slot[32];
        luks_token_keyslots(v.cd, token_slot);
        bool any_password_slot = false;
        for (int slot = 0; slot < sym_crypt_keyslot_max(CRYPT_LUKS2) && slot < 32; slot++) {
                crypt_keyslot_info ki = sym_crypt_keyslot_status(v.cd, slot);
                any_password_slot = any_password_slot ||
                                    ((ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST) && !token_slot[slot]);
        }
        /* A TPM PIN alone stays one; a home that tokens alone opened gets
         * its first password keyslot. */
        if (!any_password_slot && tpm)
                goto signed_record;
        /* Passwords get the record's PBKDF, not the TPM's minimal one. */
        r = luks_password_pbkdf_set(h, v.cd);
        if (r < 0)
                return r;

        int added[64], n_added = 0;
        for (size_t i = 0; np[i] && i < 64; i++) {
                const char *pw = np[i];
                /* By the volume key: the old secret may be a recovery key in any spelling. */
                r = sym_crypt_keyslot_add_by_volume_key(v.cd, CRYPT_ANY_SLOT, o.vk->data, o.vk_size, pw, strlen(pw));
                if (r < 0) {
                        log_error_errno(r, "home %s: cannot add a keyslot for the new password: %m", h->name);
                        for (int k = 0; k < n_added; k++)
                                (void) sym_crypt_keyslot_destroy(v.cd, added[k]);
                        return r;
                }
                added[n_added++] = r;
        }
        /* Every other active keyslot belonged to an old password. */
        for (int slot = 0; slot < sym_crypt_keyslot_max(CRYPT_LUKS2); slot++) {
                bool keep = false;
                crypt_keyslot_info ki = sym_crypt_keyslot_status(v.cd, slot);
                if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
                        continue;
                for (int k = 0; k < n_added; k++)
                        keep = keep || added[k] == slot;
                if (keep || (slot < 32 && token_slot[slot]))
                        continue;
                r = sym_crypt_keyslot_destroy(v.cd, slot);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot remove old keyslot %d: %m", h->name, slot);
        }
signed_record:
        /* The hashes were set by the worker already, as the record had
         * it; a header that shows the password to be a TPM PIN alone
         * (home_pin_only()) keeps none. Then re-sign and re-embed. */
        r = home_forget_pin_hash(h);
        if (r >= 0)
                r = home_sign_record(h);
        if (r >= 0)
                r = luks_token_write(h, &v, &o);
        return r;
}

/* Checks a password against the keyslots without activating anything. */
int luks_authenticate(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        int r = luks_volume_open(h, &v);
        if (r < 0)
                return r;
        r = luks_volume_key_get(h, &v, &o);
        return r < 0 ? r : 0;
}
