/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf-file.h"
#include "dlopen-cryptsetup.h"
#include "json-strict.h"
#include "log.h"
#include "luks-internal.h"
#include "luks-tpm2.h"
#include "macro.h"
#include "recovery-key.h"
#include "tpm2-token.h"

#define RECOVERY_TOKEN_TYPE "systemd-recovery"
#define TOKENS_MAX 32 /* LUKS2 */
#define TOKEN_JSON_MAX (64 * 1024)

static int parse_tcti(const char *value, void *data) {
        size_t n = strlen(value);
        if (n == 0 || n >= 256 || strchr(value, '\n'))
                return -EINVAL;
        memcpy(data, value, n + 1);
        return 0;
}

/* $HEARTH_TPM2_TCTI (tests), else hearth.conf [TPM2] Device=, else NULL:
 * tpm2_open's default, /dev/tpmrm0. */
static const char *tcti(void) {
        static char configured[256];
        static bool loaded;
        const char *e = secure_getenv("HEARTH_TPM2_TCTI");
        if (e && *e)
                return e;
        if (!loaded) {
                const ConfigItem items[] = { { "TPM2", "Device", parse_tcti, configured } };
                loaded = true;
                if (config_load(NULL, items, ELEMENTSOF(items)) < 0)
                        configured[0] = 0;
        }
        return configured[0] ? configured : NULL;
}

static int open_tpm(Home *h, Tpm2 **ret) {
        int r = tpm2_open(tcti(), ret);
        if (r < 0)
                log_error_errno(r, "home %s: no usable TPM (%s): %m", h->name, tcti() ?: TPM2_TCTI_DEFAULT);
        return r;
}

int luks_tpm2_wish(Home *h, LuksTpm2Wish *ret) {
        json_object *j = h->rec->json, *v;
        LuksTpm2Wish w = { .pcrs = { 7 }, .n_pcrs = 1 };

        if (json_object_object_get_ex(j, "tpm2", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return log_error_errno(EINVAL, "home %s: tpm2: must be a boolean", h->name);
                w.enabled = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(j, "tpm2KeepPassword", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return log_error_errno(EINVAL, "home %s: tpm2KeepPassword: must be a boolean", h->name);
                w.keep_password = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(j, "tpm2Pcrs", &v)) {
                uint32_t seen = 0;
                if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > TPM2_SEALED_PCR_COUNT)
                        return log_error_errno(EINVAL, "home %s: tpm2Pcrs: must be an array of at most %d PCRs",
                                               h->name, TPM2_SEALED_PCR_COUNT);
                w.n_pcrs = 0;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        int64_t n = json_object_get_int64(e);
                        if (!json_object_is_type(e, json_type_int) || n < 0 || n >= TPM2_SEALED_PCR_COUNT ||
                            (seen & (UINT32_C(1) << n)))
                                return log_error_errno(EINVAL, "home %s: tpm2Pcrs: each must be a distinct PCR 0..23",
                                                       h->name);
                        seen |= UINT32_C(1) << n;
                        w.pcrs[w.n_pcrs++] = (uint32_t) n;
                }
        }
        *ret = w;
        return 0;
}


static int token_add(Home *h, struct crypt_device *cd, json_object *token, int *ret_id) {
        const char *text = json_object_to_json_string_ext(token, JSON_C_TO_STRING_PLAIN);
        int id = sym_crypt_token_json_set(cd, CRYPT_ANY_TOKEN, text);
        if (id < 0)
                return log_error_errno(id, "home %s: cannot write a LUKS2 token: %m", h->name);
        if (ret_id)
                *ret_id = id;
        return 0;
}

int luks_tpm2_enroll(Home *h, struct crypt_device *cd, const LuksTpm2Wish *w, const char *pin) {
        _cleanup_tpm2_ Tpm2 *t = NULL;
        _cleanup_secure_buffer_ SecureBuffer *secret = NULL, *pass = NULL;
        _cleanup_json_ json_object *token = NULL;
        Tpm2Sealed sealed;
        int r, slot;

        r = open_tpm(h, &t);
        if (r < 0)
                return r;
        r = tpm2_seal(t, w->pcrs, w->n_pcrs, pin, &sealed, &secret);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot seal its key in the TPM: %m", h->name);
        r = tpm2_secret_to_passphrase(secret, &pass);
        if (r < 0)
                return log_oom();
        r = luks_strong_secret_pbkdf_set(h, cd);
        if (r < 0)
                return r;
        slot = sym_crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, pass->data, pass->size);
        if (slot < 0)
                return log_error_errno(slot, "home %s: cannot add the TPM2 keyslot: %m", h->name);
        r = tpm2_token_to_json(&sealed, slot, &token);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot build the TPM2 token: %m", h->name);
        r = token_add(h, cd, token, NULL);
        if (r < 0)
                return r;
        log_debug("home %s: key sealed in the TPM, keyslot %d", h->name, slot);
        return 0;
}

int luks_recovery_enroll(Home *h, struct crypt_device *cd) {
        const char *const *keys = user_record_secret(h->rec, "recoveryKey");
        size_t n = user_record_secret_count(h->rec, "recoveryKey");
        int r;

        if (!keys)
                return 0;
        if (n > 4)
                return log_error_errno(EINVAL, "home %s: secret.recoveryKey: must be an array of at most 4 keys",
                                       h->name);
        r = luks_strong_secret_pbkdf_set(h, cd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_secure_buffer_ SecureBuffer *norm = NULL;
                if (recovery_key_normalize(keys[i], &norm) < 0)
                        return log_error_errno(EINVAL, "home %s: secret.recoveryKey[%zu]: not a recovery key", h->name,
                                               i);
                int slot = sym_crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, norm->data,
                                                           strlen(norm->data));
                if (slot < 0)
                        return log_error_errno(slot, "home %s: cannot add the recovery keyslot: %m", h->name);
                _cleanup_json_ json_object *token = json_object_new_object(), *slots = json_object_new_array();
                char id[16];
                snprintf(id, sizeof id, "%d", slot);
                if (!token || !slots || json_object_object_add(token, "type", json_object_new_string(RECOVERY_TOKEN_TYPE)) < 0 ||
                    json_object_array_add(slots, json_object_new_string(id)) < 0 ||
                    json_object_object_add(token, "keyslots", json_object_get(slots)) < 0)
                        return log_oom();
                r = token_add(h, cd, token, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The token of a type at id, parsed; NULL (0) if none or another type. */
int luks_token_get(struct crypt_device *cd, int id, const char *type, json_object **ret) {
        const char *text;
        _cleanup_json_ json_object *j = NULL;
        json_object *t;

        *ret = NULL;
        if (sym_crypt_token_json_get(cd, id, &text) < 0)
                return 0;
        if (strlen(text) > TOKEN_JSON_MAX || json_parse_strict(text, strlen(text), &j, NULL) < 0 ||
            !json_object_is_type(j, json_type_object))
                return 0; /* not ours to judge: another tool's token */
        if (!json_object_object_get_ex(j, "type", &t) || !json_object_is_type(t, json_type_string) ||
            strcmp(json_object_get_string(t), type) != 0)
                return 0;
        *ret = TAKE_PTR(j);
        return 1;
}

static int tpm2_token_id(Home *h, struct crypt_device *cd, Tpm2Sealed *ret, int *ret_keyslot) {
        for (int id = 0; id < TOKENS_MAX; id++) {
                _cleanup_json_ json_object *j = NULL;
                if (luks_token_get(cd, id, TPM2_TOKEN_TYPE, &j) <= 0)
                        continue;
                int r = tpm2_token_from_json(j, ret, ret_keyslot);
                if (r < 0)
                        return log_error_errno(r, "home %s: the TPM2 token (%d) cannot be used: %m", h->name, id);
                return id;
        }
        return -ENOENT;
}

int luks_tpm2_find(Home *h, struct crypt_device *cd, Tpm2Sealed *ret, int *ret_keyslot) {
        int r = tpm2_token_id(h, cd, ret, ret_keyslot);
        return r < 0 ? r : 0;
}

static size_t pcr_list(uint32_t mask, uint32_t pcrs[static TPM2_SEALED_PCR_COUNT]) {
        size_t n = 0;
        for (uint32_t i = 0; i < TPM2_SEALED_PCR_COUNT; i++)
                if (mask & (UINT32_C(1) << i))
                        pcrs[n++] = i;
        return n;
}

static uint32_t pcr_mask(const uint32_t *pcrs, size_t n) {
        uint32_t mask = 0;
        for (size_t i = 0; i < n; i++)
                mask |= UINT32_C(1) << pcrs[i];
        return mask;
}

/* "7+11", "none": the PCRs of mask, for messages. */
static const char *pcr_text(uint32_t mask, char buf[static 3 * TPM2_SEALED_PCR_COUNT + 1]) {
        uint32_t pcrs[TPM2_SEALED_PCR_COUNT];
        size_t n = pcr_list(mask, pcrs), at = 0;
        strcpy(buf, n ? "" : "none");
        for (size_t i = 0; i < n; i++)
                at += (size_t) snprintf(buf + at, 3 * TPM2_SEALED_PCR_COUNT + 1 - at, "%s%u", i ? "+" : "", pcrs[i]);
        return buf;
}

int luks_tpm2_vouch(Home *h, struct crypt_device *cd, const Tpm2Sealed *s, int keyslot) {
        char want[3 * TPM2_SEALED_PCR_COUNT + 1], have[3 * TPM2_SEALED_PCR_COUNT + 1];
        crypt_keyslot_info ki = sym_crypt_keyslot_status(cd, keyslot);
        LuksTpm2Wish w;
        int r;

        if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
                return log_error_errno(EMEDIUMTYPE, "home %s: the image's TPM2 token names keyslot %d, which its "
                                       "header does not have; refusing (a different image?)", h->name, keyslot);
        if (!s->pin)
                return log_error_errno(EMEDIUMTYPE, "home %s: the image's TPM2 token asks for no PIN, so any "
                                       "password would open it, and Hearth seals with the password as PIN; "
                                       "refusing (a different image?). The recovery key still opens the home",
                                       h->name);
        if (!user_record_tpm2(h->rec))
                return 0; /* enrolled elsewhere (systemd-cryptenroll): no PCRs of the record's to compare */
        r = luks_tpm2_wish(h, &w);
        if (r < 0)
                return r;
        if (pcr_mask(w.pcrs, w.n_pcrs) != s->pcr_mask)
                return log_error_errno(EMEDIUMTYPE, "home %s: the image's TPM2 token is bound to PCRs %s, the "
                                       "record says %s; refusing (a different image?). The recovery key still "
                                       "opens the home", h->name, pcr_text(s->pcr_mask, have),
                                       pcr_text(pcr_mask(w.pcrs, w.n_pcrs), want));
        return 0;
}

static void lockout_report(Home *h, const Tpm2Lockout *l, bool tried, bool wrong_pin) {
        h->tpm_report = (WorkerTpmReport) { .known = true, .tried = tried, .wrong_pin = wrong_pin,
                                            .failures = l->failures, .max_failures = l->max_failures,
                                            .interval = l->interval };
}

int luks_tpm2_passphrase(Home *h, const Tpm2Sealed *s, const char *pin, SecureBuffer **ret,
                         SecureBuffer **ret_secret, char *note, size_t note_size) {
        _cleanup_tpm2_ Tpm2 *t = NULL;
        _cleanup_secure_buffer_ SecureBuffer *secret = NULL;
        int r;

        if (note_size > 0)
                note[0] = 0;
        r = open_tpm(h, &t);
        if (r < 0)
                return r;
        Tpm2Lockout l;
        if (h->tpm_tries_below != UINT32_MAX) {
                /* hearthd's budget (hearthd/home-policy.h), against the counter as it is now. */
                r = tpm2_get_lockout(t, &l);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot read the TPM's dictionary-attack state: %m", h->name);
                lockout_report(h, &l, false, false);
                if (l.max_failures > 0 && l.interval > 0 && l.failures >= h->tpm_tries_below)
                        return log_error_errno(EUSERS, "home %s: too many wrong passwords lately: the TPM's "
                                               "remaining tries are kept for the other homes of this machine; "
                                               "try again later, or use the recovery key", h->name);
        }
        r = tpm2_unseal(t, s, pin, &secret);
        if (tpm2_get_lockout(t, &l) >= 0) {
                /* A PCR change is caught before the TPM is asked; lockout counts nothing. */
                lockout_report(h, &l, r >= 0 || r == -EKEYREJECTED, r == -EKEYREJECTED);
                if (r == -EKEYREJECTED && l.max_failures > 0 && note_size > 0)
                        snprintf(note, note_size, "TPM2: %u of %u attempts left",
                                 l.failures < l.max_failures ? l.max_failures - l.failures : 0, l.max_failures);
        }
        if (r < 0)
                return r;
        r = tpm2_secret_to_passphrase(secret, ret);
        if (r < 0)
                return log_oom();
        if (ret_secret)
                *ret_secret = TAKE_PTR(secret);
        return 0;
}

int luks_tpm2_reseal(Home *h, struct crypt_device *cd, const SecureBuffer *secret, const char *new_pin) {
        _cleanup_tpm2_ Tpm2 *t = NULL;
        _cleanup_json_ json_object *token = NULL;
        Tpm2Sealed old, new;
        uint32_t pcrs[TPM2_SEALED_PCR_COUNT];
        int slot, r;

        int id = tpm2_token_id(h, cd, &old, &slot);
        if (id < 0)
                return id;
        r = open_tpm(h, &t);
        if (r < 0)
                return r;
        r = tpm2_seal_secret(t, pcrs, pcr_list(old.pcr_mask, pcrs), new_pin, secret, &new);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot seal the key with the new password: %m", h->name);
        r = tpm2_token_to_json(&new, slot, &token);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot build the TPM2 token: %m", h->name);
        r = sym_crypt_token_json_set(cd, id, json_object_to_json_string_ext(token, JSON_C_TO_STRING_PLAIN));
        if (r < 0)
                return log_error_errno(r, "home %s: cannot rewrite the TPM2 token: %m", h->name);
        return 0;
}

int luks_tpm2_replace(Home *h, struct crypt_device *cd, const void *vk, size_t vk_size, const char *new_pin) {
        _cleanup_tpm2_ Tpm2 *t = NULL;
        _cleanup_secure_buffer_ SecureBuffer *secret = NULL, *pass = NULL;
        _cleanup_json_ json_object *token = NULL;
        Tpm2Sealed old, new;
        uint32_t pcrs[TPM2_SEALED_PCR_COUNT];
        int old_slot, r;

        int id = tpm2_token_id(h, cd, &old, &old_slot);
        if (id < 0)
                return id;
        /* The token was not put to the TPM (opened otherwise), so nothing
         * vouched for its PCRs: anyone with the image may have written it. */
        uint32_t mask = old.pcr_mask;
        if (user_record_tpm2(h->rec)) {
                LuksTpm2Wish w;
                r = luks_tpm2_wish(h, &w);
                if (r < 0)
                        return r;
                mask = pcr_mask(w.pcrs, w.n_pcrs);
        }
        r = open_tpm(h, &t);
        if (r < 0)
                return r;
        r = tpm2_seal(t, pcrs, pcr_list(mask, pcrs), new_pin, &new, &secret);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot seal a new key with the new password: %m", h->name);
        r = tpm2_secret_to_passphrase(secret, &pass);
        if (r < 0)
                return log_oom();
        r = luks_strong_secret_pbkdf_set(h, cd);
        if (r < 0)
                return r;
        int slot = sym_crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, vk, vk_size, pass->data, pass->size);
        if (slot < 0)
                return log_error_errno(slot, "home %s: cannot add the TPM2 keyslot: %m", h->name);
        r = tpm2_token_to_json(&new, slot, &token);
        if (r >= 0)
                r = sym_crypt_token_json_set(cd, id, json_object_to_json_string_ext(token, JSON_C_TO_STRING_PLAIN));
        if (r < 0) {
                (void) sym_crypt_keyslot_destroy(cd, slot);
                return log_error_errno(r, "home %s: cannot rewrite the TPM2 token: %m", h->name);
        }
        /* The token now names the new keyslot; the old one opens with a
         * secret whose sealed copy is gone. */
        r = sym_crypt_keyslot_destroy(cd, old_slot);
        if (r < 0)
                log_warning_errno(r, "home %s: the old TPM2 keyslot %d stays (unusable: its sealed key is gone): %m",
                                  h->name, old_slot);
        log_debug("home %s: a new key sealed in the TPM, keyslot %d replaces %d", h->name, slot, old_slot);
        return 0;
}

static void mark_keyslots(json_object *token, bool mask[32]) {
        json_object *slots;
        if (!json_object_object_get_ex(token, "keyslots", &slots) || !json_object_is_type(slots, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(slots) && i < 32; i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(slots, i));
                char *end;
                long n = s ? strtol(s, &end, 10) : -1;
                if (s && *s && !*end && n >= 0 && n < 32)
                        mask[n] = true;
        }
}

int luks_token_keyslots(struct crypt_device *cd, bool mask[32]) {
        memset(mask, 0, 32 * sizeof *mask);
        for (int id = 0; id < TOKENS_MAX; id++)
                for (const char *const *type = (const char *const[]) { TPM2_TOKEN_TYPE, RECOVERY_TOKEN_TYPE, LUKS_PKCS11_TOKEN_TYPE, NULL };
                     *type; type++) {
                        _cleanup_json_ json_object *j = NULL;
                        if (luks_token_get(cd, id, *type, &j) > 0)
                                mark_keyslots(j, mask);
                }
        return 0;
}
