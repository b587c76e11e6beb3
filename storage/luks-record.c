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
#include "identity-store.h"
#include "identity-token.h"
#include "log.h"
#include "macro.h"
#include "secret.h"
#include "self-modify.h"
#include "sign.h"

#include "luks-internal.h"

/* ---- the embedded record ------------------------------------------------ */

/* What is embedded: the signed record without per-machine sections. */
static int embedded_json(Home *h, char **ret) {
        json_object *j = user_record_without(h->rec, USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_BINDING);
        if (!j)
                return log_oom();
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(j);
        return *ret ? 0 : log_oom();
}

/* Signs the record with the machine key, so the embedded copies verify. */
int luks_sign_record(Home *h) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        Keyring *kr;
        int r;

        r = identity_store_open(NULL, &store);
        if (r >= 0)
                r = identity_store_keyring(store, true, &kr);
        if (r >= 0)
                r = keyring_sign(kr, h->rec);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot sign the record: %m", h->name);
        return 0;
}

/* The id of the (first) systemd-homed token, or -ENOENT. */
int luks_token_find(Volume *v) {
        for (int i = 0; i < crypt_token_max(CRYPT_LUKS2); i++) {
                const char *type;
                if (crypt_token_status(v->cd, i, &type) == CRYPT_TOKEN_EXTERNAL_UNKNOWN && type &&
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

        r = embedded_json(h, &rec);
        if (r < 0)
                return r;
        r = identity_token_seal(crypt_get_cipher(v->cd), crypt_get_cipher_mode(v->cd), o->vk->data, o->vk_size, rec,
                                &token);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "home %s: the volume's cipher %s-%s has no OpenSSL counterpart to encrypt the "
                                          "record in the header with", h->name, crypt_get_cipher(v->cd) ?: "?",
                                       crypt_get_cipher_mode(v->cd) ?: "?");
        if (r < 0)
                return log_error_errno(r, "home %s: cannot encrypt the record for the header: %m", h->name);
        /* Replace the first in place (LUKS2 writes its header atomically);
         * any further one would be read by nobody, and goes, as homed does. */
        id = luks_token_find(v);
        r = crypt_token_json_set(v->cd, id >= 0 ? id : CRYPT_ANY_TOKEN, token);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot write the identity token: %m", h->name);
        for (int i = (id >= 0 ? id : r) + 1; i < crypt_token_max(CRYPT_LUKS2); i++) {
                const char *type;
                if (crypt_token_status(v->cd, i, &type) == CRYPT_TOKEN_EXTERNAL_UNKNOWN && type &&
                    strcmp(type, IDENTITY_TOKEN_TYPE) == 0 && crypt_token_json_set(v->cd, i, NULL) < 0)
                        log_warning("home %s: cannot remove the extra systemd-homed token %d", h->name, i);
        }
        return 0;
}

/* The record in the header: 0, or -ENOENT if there is none. */
int luks_token_read(Home *h, Volume *v, const Opened *o, UserRecord **ret) {
        _cleanup_free_ char *error = NULL, *text = NULL;
        const char *json;
        int i = luks_token_find(v);

        if (i < 0 || crypt_token_json_get(v->cd, i, &json) < 0)
                return -ENOENT;
        int r = identity_token_open(json, crypt_get_cipher(v->cd), crypt_get_cipher_mode(v->cd), o->vk->data,
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

int luks_identity_file_write(Home *h, int dir_fd) {
        _cleanup_free_ char *rec = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = embedded_json(h, &rec);
        if (r < 0)
                return r;
        r = home_temp_name(h, "identity", &tmp);
        if (r < 0)
                return r;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot write ~/" IDENTITY_FILE ": %m", h->name);
        size_t n = strlen(rec);
        if (write(fd, rec, n) != (ssize_t) n || write(fd, "\n", 1) != 1 || fsync(fd) < 0 ||
            fchown(fd, h->rec->uid, (gid_t) h->rec->uid) < 0 ||
            renameat(dir_fd, tmp, dir_fd, IDENTITY_FILE) < 0) {
                r = log_error_errno(errno, "home %s: cannot write ~/" IDENTITY_FILE ": %m", h->name);
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

/* ~/.identity is in the user's hands: she may put a symlink, a FIFO, a
 * device or garbage there. Only a regular file of bounded size that parses
 * is read, without following or blocking; anything else is ignored with a
 * warning (-EUCLEAN) and rewritten by the caller. -ENOENT if absent. */
int luks_identity_file_read(Home *h, int dir_fd, UserRecord **ret) {
        _cleanup_close_ int fd = openat(dir_fd, IDENTITY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        _cleanup_free_ char *text = NULL, *error = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 || fstat(fd, &st) < 0) {
                log_warning_errno(errno, "home %s: ~/" IDENTITY_FILE " cannot be opened (%m); ignoring it", h->name);
                return -EUCLEAN;
        }
        if (!S_ISREG(st.st_mode)) {
                log_warning("home %s: ~/" IDENTITY_FILE " is not a regular file; ignoring it", h->name);
                return -EUCLEAN;
        }
        if (st.st_size > IDENTITY_FILE_MAX) {
                log_warning("home %s: ~/" IDENTITY_FILE " is larger than %d bytes; ignoring it", h->name, IDENTITY_FILE_MAX);
                return -EUCLEAN;
        }
        text = malloc(IDENTITY_FILE_MAX + 1);
        if (!text)
                return log_oom();
        for (;;) {
                ssize_t k = read(fd, text + len, IDENTITY_FILE_MAX + 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        log_warning_errno(errno, "home %s: ~/" IDENTITY_FILE " unreadable (%m); ignoring it", h->name);
                        return -EUCLEAN;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > IDENTITY_FILE_MAX) {
                        log_warning("home %s: ~/" IDENTITY_FILE " grew past %d bytes; ignoring it", h->name,
                                    IDENTITY_FILE_MAX);
                        return -EUCLEAN;
                }
        }
        text[len] = 0;
        if (user_record_parse(text, len, ret, &error) < 0) {
                log_warning("home %s: ~/" IDENTITY_FILE ": %s; ignoring it", h->name, error ?: "invalid");
                return -EUCLEAN;
        }
        return 0;
}

/* Checks an embedded copy and, if it is newer than the stored record and
 * signed by a trusted key, makes it the record. */
int luks_reconcile(Home *h, UserRecord *embedded, const char *where) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        SignatureStatus status;
        Keyring *kr;
        int r;

        if (strcmp(embedded->user_name, h->name) != 0)
                return log_error_errno(EUCLEAN, "home %s: the record in %s is for \"%s\"", h->name, where,
                                       embedded->user_name);
        r = identity_store_open(NULL, &store);
        if (r >= 0)
                r = identity_store_keyring(store, false, &kr);
        if (r >= 0)
                r = keyring_verify(kr, embedded, &status);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot verify the record in %s: %m", h->name, where);
        if (status != SIGNATURE_LOCAL && status != SIGNATURE_TRUSTED)
                return log_error_errno(EUCLEAN, "home %s: the record in %s: %s, refusing", h->name, where,
                                       signature_status_to_string(status));
        if (embedded->last_change_usec == UINT64_MAX || h->rec->last_change_usec == UINT64_MAX ||
            embedded->last_change_usec <= h->rec->last_change_usec)
                return 0;

        /* ~/.identity is the user's to write: a signed copy she kept (from
         * before an administrator took a group away) must not bring back
         * more than she may change herself. The header's token is not hers. */
        if (strcmp(where, "~/" IDENTITY_FILE) == 0) {
                _cleanup_free_ char *field = NULL;
                r = self_modify_allowed(h->rec, embedded, &field);
                if (r < 0)
                        return log_oom();
                if (r == 0) {
                        log_warning("home %s: the record in %s is newer but changes %s, which its user may not "
                                    "change; ignoring it", h->name, where, field);
                        return 0;
                }
        }
        /* Newer: keep this machine's binding and the request's secrets. */
        log_info("home %s: the record in %s is newer than the stored one; using it", h->name, where);
        json_object *keep_secret = NULL, *keep_binding = NULL, *j = json_object_get(embedded->json);
        if (json_object_object_get_ex(h->rec->json, "secret", &keep_secret))
                json_object_object_add(j, "secret", json_object_get(keep_secret));
        if (json_object_object_get_ex(h->rec->json, "binding", &keep_binding))
                json_object_object_add(j, "binding", json_object_get(keep_binding));
        json_object_put(h->rec->json);
        h->rec->json = j;
        return user_record_refresh(h->rec, NULL);
}
