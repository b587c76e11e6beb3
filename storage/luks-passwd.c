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
                /* Passwords get libcryptsetup's default PBKDF, as before, not the TPM's minimal one. */
                r = sym_crypt_set_pbkdf_type(v.cd, NULL);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot reset the PBKDF: %m", h->name);
        }
        /* Keyslots of tokens (TPM2, recovery keys) are not passwords'. */
        bool token_slot[32];
        luks_token_keyslots(v.cd, token_slot);
        bool any_password_slot = false;
        for (int slot = 0; slot < sym_crypt_keyslot_max(CRYPT_LUKS2) && slot < 32; slot++) {
                crypt_keyslot_info ki = sym_crypt_keyslot_status(v.cd, slot);
                any_password_slot = any_password_slot ||
                                    ((ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST) && !token_slot[slot]);
        }
        if (!any_password_slot)
                goto signed_record;

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
