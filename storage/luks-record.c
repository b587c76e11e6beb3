/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record that travels with a LUKS home: signed, in a LUKS2 token of
 * type systemd-homed and in ~/.identity, and reconciled with the stored
 * copy on activation. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "dlopen-cryptsetup.h"
#include "identity-store.h"
#include "identity-token.h"
#include "log.h"
#include "macro.h"
#include "secret.h"
#include "self-modify.h"
#include "sign.h"

#include "luks-internal.h"

/* ---- the embedded record ------------------------------------------------ */

/* The id of the (first) systemd-homed token, or -ENOENT. */
int luks_token_find(Volume *v) {
        for (int i = 0; i < sym_crypt_token_max(CRYPT_LUKS2); i++) {
                const char *type;
                if (sym_crypt_token_status(v->cd, i, &type) == CRYPT_TOKEN_EXTERNAL_UNKNOWN && type &&
                    strcmp(type, IDENTITY_TOKEN_TYPE) == 0)
                        return i;
        }
        return -ENOENT;
}

/* The record into the systemd-homed token, encrypted with the volume key
 * (identity-token.h): the header alone tells nothing about the user. */
int luks_token_write(Home *h, Volume *v, const Opened *o) {
        _cleanup_free_ char *rec = NULL, *token = NULL;
        int r, id;

        r = home_embedded_json(h, &rec);
        if (r < 0)
                return r;
        r = identity_token_seal(sym_crypt_get_cipher(v->cd), sym_crypt_get_cipher_mode(v->cd), o->vk->data, o->vk_size, rec,
                                &token);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "home %s: the volume's cipher %s-%s has no OpenSSL counterpart to encrypt the "
                                          "record in the header with", h->name, sym_crypt_get_cipher(v->cd) ?: "?",
                                       sym_crypt_get_cipher_mode(v->cd) ?: "?");
        if (r < 0)
                return log_error_errno(r, "home %s: cannot encrypt the record for the header: %m", h->name);
        /* Replace the first in place (LUKS2 writes its header atomically);
         * any further one would be read by nobody, and goes, as homed does. */
        id = luks_token_find(v);
        r = sym_crypt_token_json_set(v->cd, id >= 0 ? id : CRYPT_ANY_TOKEN, token);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot write the identity token: %m", h->name);
        for (int i = (id >= 0 ? id : r) + 1; i < sym_crypt_token_max(CRYPT_LUKS2); i++) {
                const char *type;
                if (sym_crypt_token_status(v->cd, i, &type) == CRYPT_TOKEN_EXTERNAL_UNKNOWN && type &&
                    strcmp(type, IDENTITY_TOKEN_TYPE) == 0 && sym_crypt_token_json_set(v->cd, i, NULL) < 0)
                        log_warning("home %s: cannot remove the extra systemd-homed token %d", h->name, i);
        }
        return 0;
}

/* The record in the header: 0, or -ENOENT if there is none. */
int luks_token_read(Home *h, Volume *v, const Opened *o, UserRecord **ret) {
        _cleanup_free_ char *error = NULL, *text = NULL;
        const char *json;
        int i = luks_token_find(v);

        if (i < 0 || sym_crypt_token_json_get(v->cd, i, &json) < 0)
                return -ENOENT;
        int r = identity_token_open(json, sym_crypt_get_cipher(v->cd), sym_crypt_get_cipher_mode(v->cd), o->vk->data,
                                    o->vk_size, &text);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(EUCLEAN, "home %s: identity token unreadable: %s", h->name,
                                       r == -EINVAL ? "malformed" : "does not decrypt with the volume key");
        r = user_record_parse(text, strlen(text), ret, &error);
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return log_error_errno(EUCLEAN, "home %s: identity token holds an invalid record: %s", h->name,
                                       error ?: "?");
        return 0;
}


/* Fixation (hearth-work fixate): the record in the header, opened with the
 * password, becomes the home's, bound to where its volume is here. Needs
 * no device-mapper: nothing is mapped or mounted. ~/.identity is read at
 * the activation that follows (home_reconcile()). */
int luks_fixate(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        _cleanup_user_record_ UserRecord *embedded = NULL;
        char part_uuid[37];
        int r;

        r = luks_volume_open(h, &v);
        if (r < 0)
                return r;
        r = luks_volume_key_get(h, &v, &o);
        if (r < 0)
                return r;
        r = luks_token_read(h, &v, &o, &embedded);
        if (r == -ENOENT)
                return log_error_errno(EUCLEAN, "home %s: %s carries no systemd-homed token with its record", h->name,
                                       v.image);
        if (r < 0)
                return r;
        r = home_take_embedded(h, embedded, "the LUKS2 token");
        if (r < 0)
                return r;
        json_object *bind = json_object_new_object();
        if (bind) {
                if (v.gpt) {
                        gpt_guid_format(v.part.uuid, false, part_uuid);
                        json_object_object_add(bind, "partitionUuid", json_object_new_string(part_uuid));
                }
                if (sym_crypt_get_uuid(v.cd))
                        json_object_object_add(bind, "luksUuid", json_object_new_string(sym_crypt_get_uuid(v.cd)));
                char check[65];
                if (luks_volume_key_check_value(o.vk->data, o.vk_size, sym_crypt_get_uuid(v.cd), check) < 0) {
                        json_object_put(bind);
                        return log_error_errno(EIO, "home %s: cannot compute the volume key's check value", h->name);
                }
                json_object_object_add(bind, "hearthVolumeKeyCheck", json_object_new_string(check));
                if (sym_crypt_get_cipher(v.cd) && sym_crypt_get_cipher_mode(v.cd)) {
                        json_object_object_add(bind, "luksCipher", json_object_new_string(sym_crypt_get_cipher(v.cd)));
                        json_object_object_add(bind, "luksCipherMode",
                                               json_object_new_string(sym_crypt_get_cipher_mode(v.cd)));
                }
                json_object_object_add(bind, "luksVolumeKeySize",
                                       json_object_new_int64((int64_t) sym_crypt_get_volume_key_size(v.cd)));
                json_object_object_add(bind, "storage", json_object_new_string("luks"));
        }
        return home_bind(h, bind);
}
