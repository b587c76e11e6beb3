/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PKCS#11 tokens' keyslots (luks-internal.h): opening with a token, and
 * keeping one keyslot for each entry of privileged.pkcs11EncryptedKey. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dlopen-cryptsetup.h"
#include "log.h"
#include "luks-tpm2.h"
#include "password.h"
#include "pkcs11-record.h"

#include "luks-internal.h"

#define TOKENS_MAX 32 /* LUKS2 */

int luks_pkcs11_entry_of(Home *h, const char *pw) {
        for (size_t i = 0; i < h->rec->n_pkcs11_encrypted_key; i++) {
                const char *const one[] = { h->rec->pkcs11_encrypted_key[i].hashed_password, NULL };
                int r = password_verify(pw, one);
                if (r < 0)
                        return r;
                if (r > 0)
                        return (int) i;
        }
        return -ENOENT;
}

int luks_pkcs11_open(Home *h, Volume *v, Opened *o, int *worst) {
        *worst = 0;
        if (!h->pkcs11_decrypt)
                return -EPERM;
        for (size_t i = 0; i < h->rec->n_pkcs11_encrypted_key; i++) {
                _cleanup_secure_buffer_ SecureBuffer *secret = NULL;
                const char *uri = h->rec->pkcs11_encrypted_key[i].uri;
                int r = h->pkcs11_decrypt(h, i, &secret);
                if (r == -ENXIO)
                        continue; /* absent */
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        *worst = pkcs11_error_worse(*worst, r);
                        continue;
                }
                size_t vk_size = o->vk->size;
                int slot = sym_crypt_volume_key_get(v->cd, CRYPT_ANY_SLOT, o->vk->data, &vk_size, secret->data,
                                                    strlen(secret->data));
                if (slot == -EPERM) {
                        log_error("home %s: token %s: its key opens no keyslot", h->name, uri);
                        continue;
                }
                if (slot < 0)
                        return log_error_errno(slot, "home %s: cannot unlock %s: %m", h->name, v->image ?: v->dev);
                log_debug("home %s: opened with token %s (keyslot %d)", h->name, uri, slot);
                o->vk_size = vk_size;
                o->slot = slot;
                o->by_token = true;
                o->pkcs11_decrypted = true;
                o->pkcs11_key = i;
                return slot;
        }
        return -EPERM;
}

void luks_pkcs11_keyslots(struct crypt_device *cd, bool mask[32]) {
        memset(mask, 0, 32 * sizeof *mask);
        for (int id = 0; id < TOKENS_MAX; id++) {
                _cleanup_json_ json_object *j = NULL;
                json_object *slots;
                if (luks_token_get(cd, id, LUKS_PKCS11_TOKEN_TYPE, &j) <= 0 ||
                    !json_object_object_get_ex(j, "keyslots", &slots) || !json_object_is_type(slots, json_type_array))
                        continue;
                for (size_t i = 0; i < json_object_array_length(slots) && i < 32; i++) {
                        const char *s = json_object_get_string(json_object_array_get_idx(slots, i));
                        char *end;
                        long n = s && *s ? strtol(s, &end, 10) : -1;
                        if (s && *s && !*end && n >= 0 && n < 32)
                                mask[n] = true;
                }
        }
}

/* A member systemd-cryptenroll does not write: the keyslot is the record's
 * to remove. One enrolled by hand (cryptenroll) is left alone. */
#define MARKER_OURS "hearth-enrolled"

/* A systemd-pkcs11 token of the header. */
typedef struct Marker {
        int id;
        int slot;         /* -1: names none */
        const char *uri;  /* in j */
        const char *key;  /* the encrypted key's base64, in j */
        json_object *j;
        ssize_t entry;    /* the record's entry it is, or -1 */
        bool ours;        /* written for the record ("hearth-enrolled"), not by systemd-cryptenroll */
} Marker;

static int markers_read(Home *h, struct crypt_device *cd, Marker m[static TOKENS_MAX], size_t *ret_n) {
        size_t n = 0;
        for (int id = 0; id < TOKENS_MAX; id++) {
                json_object *j = NULL, *v;
                if (luks_token_get(cd, id, LUKS_PKCS11_TOKEN_TYPE, &j) <= 0)
                        continue;
                Marker k = { .id = id, .slot = -1, .j = j, .entry = -1 };
                if (json_object_object_get_ex(j, "keyslots", &v) && json_object_is_type(v, json_type_array) &&
                    json_object_array_length(v) == 1) {
                        const char *s = json_object_get_string(json_object_array_get_idx(v, 0));
                        char *end;
                        long l = s && *s ? strtol(s, &end, 10) : -1;
                        if (s && *s && !*end && l >= 0 && l < 32)
                                k.slot = (int) l;
                }
                if (json_object_object_get_ex(j, "pkcs11-uri", &v) && json_object_is_type(v, json_type_string))
                        k.uri = json_object_get_string(v);
                if (json_object_object_get_ex(j, "pkcs11-key", &v) && json_object_is_type(v, json_type_string))
                        k.key = json_object_get_string(v);
                k.ours = json_object_object_get_ex(j, MARKER_OURS, &v) && json_object_is_type(v, json_type_boolean) &&
                         json_object_get_boolean(v);
                /* Whose: the record's entry of the same URI and key. */
                for (size_t i = 0; k.uri && k.key && i < h->rec->n_pkcs11_encrypted_key; i++) {
                        const Pkcs11EncryptedKey *e = &h->rec->pkcs11_encrypted_key[i];
                        if (strcmp(e->uri, k.uri) == 0 && strcmp(e->data, k.key) == 0)
                                k.entry = (ssize_t) i;
                }
                if (k.slot >= 0) {
                        crypt_keyslot_info ki = sym_crypt_keyslot_status(cd, k.slot);
                        if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
                                k.slot = -1;
                }
                m[n++] = k;
        }
        *ret_n = n;
        return 0;
}

static void markers_free(Marker *m, size_t n) {
        for (size_t i = 0; i < n; i++)
                json_object_put(m[i].j);
}

/* Writes the token naming slot for entry i: in place of token id, or new (id < 0). */
static int marker_write(Home *h, struct crypt_device *cd, int id, size_t i, int slot) {
        const Pkcs11EncryptedKey *e = &h->rec->pkcs11_encrypted_key[i];
        char num[16];
        snprintf(num, sizeof num, "%d", slot);
        _cleanup_json_ json_object *j = json_object_new_object(), *slots = json_object_new_array();
        if (!j || !slots || json_object_array_add(slots, json_object_new_string(num)) < 0 ||
            json_object_object_add(j, "type", json_object_new_string(LUKS_PKCS11_TOKEN_TYPE)) < 0 ||
            json_object_object_add(j, "keyslots", json_object_get(slots)) < 0 ||
            json_object_object_add(j, "pkcs11-uri", json_object_new_string(e->uri)) < 0 ||
            json_object_object_add(j, "pkcs11-key", json_object_new_string(e->data)) < 0 ||
            json_object_object_add(j, MARKER_OURS, json_object_new_boolean(true)) < 0)
                return log_oom();
        int r = sym_crypt_token_json_set(cd, id >= 0 ? id : CRYPT_ANY_TOKEN,
                                         json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        if (r < 0)
                return log_error_errno(r, "home %s: cannot write the LUKS2 token of %s: %m", h->name, e->uri);
        log_debug("home %s: keyslot %d is token %s's", h->name, slot, e->uri);
        return 0;
}

/* The secret of entry i for ENROL: a secret.password entry its hash
 * matches (homectl gives the secret it made), else the token's. */
static int entry_secret(Home *h, size_t i, SecureBuffer **ret) {
        const Pkcs11EncryptedKey *e = &h->rec->pkcs11_encrypted_key[i];
        const char *const one[] = { e->hashed_password, NULL };
        int r;

        for (const char *const *pw = h->rec->password; pw && *pw; pw++) {
                r = password_verify(*pw, one);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot verify a password: %m", h->name);
                if (r > 0) {
                        size_t n = strlen(*pw);
                        r = secure_buffer_new(n + 1, ret);
                        if (r < 0)
                                return log_oom();
                        memcpy((*ret)->data, *pw, n + 1);
                        return 0;
                }
        }
        if (!h->pkcs11_decrypt)
                return log_error_errno(EKEYREJECTED, "home %s: token %s: its key is needed to enrol it", h->name, e->uri);
        r = h->pkcs11_decrypt(h, i, ret);
        if (r == -ENXIO)
                return log_error_errno(EKEYREJECTED, "home %s: token %s is not present, and its key was not given: "
                                       "cannot enrol it", h->name, e->uri);
        if (r < 0)
                return r; /* logged */
        r = password_verify((*ret)->data, one);
        if (r <= 0) {
                secure_buffer_free(*ret);
                *ret = NULL;
                return r < 0 ? log_error_errno(r, "home %s: cannot verify a password: %m", h->name)
                             : log_error_errno(EKEYREJECTED, "home %s: token %s decrypts a key its entry's hash "
                                               "does not describe", h->name, e->uri);
        }
        return 0;
}


static int enrol(Home *h, Volume *v, const Opened *o, size_t i, int marker_id, bool fresh, bool *pbkdf_set) {
        const Pkcs11EncryptedKey *e = &h->rec->pkcs11_encrypted_key[i];
        _cleanup_secure_buffer_ SecureBuffer *secret = NULL;
        int r, slot = -1;

        if (o && o->pkcs11_decrypted && o->pkcs11_key == i)
                slot = o->slot; /* it opened the volume just now */
        else {
                r = entry_secret(h, i, &secret);
                if (r < 0)
                        return r;
                size_t len = strlen(secret->data);
                /* An image made by homed has the keyslot, unnamed. */
                if (!fresh) {
                        _cleanup_secure_buffer_ SecureBuffer *vk = NULL;
                        if (secure_buffer_new((size_t) sym_crypt_get_volume_key_size(v->cd) ?: 64, &vk) < 0)
                                return log_oom();
                        size_t vk_size = vk->size;
                        slot = sym_crypt_volume_key_get(v->cd, CRYPT_ANY_SLOT, vk->data, &vk_size, secret->data, len);
                        if (slot < 0 && slot != -EPERM)
                                return log_error_errno(slot, "home %s: cannot check the keyslots: %m", h->name);
                }
                if (slot < 0) {
                        if (!o || !o->vk)
                                return log_error_errno(EKEYREJECTED, "home %s: a password is needed to enrol token %s",
                                                       h->name, e->uri);
                        if (!*pbkdf_set && (r = luks_strong_secret_pbkdf_set(h, v->cd)) < 0)
                                return r;
                        *pbkdf_set = true;
                        slot = sym_crypt_keyslot_add_by_volume_key(v->cd, CRYPT_ANY_SLOT, o->vk->data, o->vk_size,
                                                                   secret->data, len);
                        if (slot < 0)
                                return log_error_errno(slot, "home %s: cannot add a keyslot for token %s: %m", h->name,
                                                       e->uri);
                }
        }
        r = marker_write(h, v->cd, marker_id, i, slot);
        if (r < 0)
                return r;
        log_info("home %s: token %s opens keyslot %d", h->name, e->uri, slot);
        return 0;
}

int luks_pkcs11_pending(Home *h, Volume *v) {
        Marker m[TOKENS_MAX];
        size_t n = 0;
        int pending = 0;
        markers_read(h, v->cd, m, &n);
        for (size_t i = 0; i < h->rec->n_pkcs11_encrypted_key; i++) {
                bool named = false;
                for (size_t k = 0; k < n; k++)
                        named = named || (m[k].entry == (ssize_t) i && m[k].slot >= 0);
                pending += !named;
        }
        markers_free(m, n);
        return pending;
}

int luks_pkcs11_sync(Home *h, Volume *v, const Opened *o, LuksPkcs11Sync mode, bool fresh) {
        Marker m[TOKENS_MAX];
        size_t n = 0, nk = h->rec->n_pkcs11_encrypted_key;
        bool pbkdf_set = false;
        int r = 0;

        if (mode == LUKS_PKCS11_MARK && !(o && o->pkcs11_decrypted))
                return 0;
        markers_read(h, v->cd, m, &n);

        for (size_t i = 0; i < nk && r >= 0; i++) {
                int id = -1;
                bool named = false;
                if (mode == LUKS_PKCS11_MARK && o->pkcs11_key != i)
                        continue;
                for (size_t k = 0; k < n; k++)
                        if (m[k].entry == (ssize_t) i) {
                                named = named || m[k].slot >= 0;
                                id = m[k].slot < 0 ? m[k].id : id;
                        }
                if (!named)
                        r = enrol(h, v, o, i, id, fresh, &pbkdf_set);
        }
        if (r < 0 || mode == LUKS_PKCS11_MARK) {
                markers_free(m, n);
                return r;
        }

        /* Tokens no entry has any more (removed, or enrolled anew): their
         * keyslots go, if others are left. */
        bool gone[32] = {}, kept[32] = {}, any_gone = false, any_left = false;
        for (size_t k = 0; k < n; k++)
                if (m[k].entry >= 0 && m[k].slot >= 0)
                        kept[m[k].slot] = true;
        for (size_t k = 0; k < n; k++)
                if (m[k].entry < 0 && m[k].ours && m[k].slot >= 0 && !kept[m[k].slot]) {
                        gone[m[k].slot] = true;
                        any_gone = true;
                }
        for (int slot = 0; slot < sym_crypt_keyslot_max(CRYPT_LUKS2); slot++) {
                crypt_keyslot_info ki = sym_crypt_keyslot_status(v->cd, slot);
                if ((ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST) && (slot >= 32 || !gone[slot]))
                        any_left = true;
        }
        if (any_gone && !any_left) {
                markers_free(m, n);
                return log_error_errno(EPERM, "home %s: removing its tokens would leave no keyslot: refused; set a "
                                       "password first", h->name);
        }
        for (size_t k = 0; k < n && r >= 0; k++) {
                if (m[k].entry >= 0 || !m[k].ours)
                        continue;
                /* The keyslot first: a token naming none is dropped next time. */
                if (m[k].slot >= 0 && gone[m[k].slot] && (r = sym_crypt_keyslot_destroy(v->cd, m[k].slot)) < 0) {
                        r = log_error_errno(r, "home %s: cannot remove keyslot %d of token %s: %m", h->name, m[k].slot,
                                            m[k].uri ?: "?");
                        break;
                }
                r = sym_crypt_token_json_set(v->cd, m[k].id, NULL);
                if (r < 0)
                        r = log_error_errno(r, "home %s: cannot remove the LUKS2 token of %s: %m", h->name,
                                            m[k].uri ?: "?");
                else
                        log_info("home %s: token %s removed (keyslot %d)", h->name, m[k].uri ?: "?", m[k].slot);
        }
        markers_free(m, n);
        return r < 0 ? r : 0;
}
