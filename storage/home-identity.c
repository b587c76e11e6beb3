/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record a home carries, as systemd-homed writes it: ~/.identity in
 * every home (and, for LUKS homes, the header's token, luks-record.c),
 * signed, without what binds it to one machine. Read back at activation
 * (the newer trusted copy wins, home_reconcile()) and when a home found
 * on this machine is fixated (home_take_embedded()). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home.h"
#include "pkcs11-record.h"
#include "identity-store.h"
#include "log.h"
#include "macro.h"
#include "self-modify.h"
#include "worker-protocol.h"
#include "sign.h"

int home_embedded_json(Home *h, char **ret) {
        json_object *j = user_record_without(h->rec, USER_RECORD_UNPORTABLE);
        if (!j)
                return log_oom();
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(j);
        return *ret ? 0 : log_oom();
}

int home_sign_record(Home *h) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        Keyring *kr;
        int r;

        r = identity_store_open(NULL, &store);
        log_trace_phase("identity: store opened");
        if (r >= 0)
                r = identity_store_keyring(store, true, &kr);
        log_trace_phase("identity: keys read");
        /* A home brought from a machine this one trusts keeps its signer's
         * signature while nothing signed changed: it goes back there
         * trusted by that machine alone. */
        if (r >= 0)
                r = keyring_ensure_signed(kr, h->rec);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot sign the record: %m", h->name);
        return 0;
}

/* A worker killed between writing ~/.identity's temporary copy and its
 * rename leaves it in the home. Such copies are root's until renamed, so
 * a root-owned regular file under our leftover name is ours: the user
 * cannot make one, and a file she named so herself is left alone. */
void home_identity_sweep(Home *h, int dir_fd) {
        _cleanup_free_ char *prefix = NULL;
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_dir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        if (asprintf(&prefix, WORKER_LEFTOVER_PREFIX "identity.%s.", h->name) < 0)
                return;
        while ((de = readdir(d))) {
                struct stat st;
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
                    strlen(de->d_name) != strlen(prefix) + WORKER_LEFTOVER_SUFFIX_LEN)
                        continue;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
                    st.st_uid != 0)
                        continue;
                if (unlinkat(dir_fd, de->d_name, 0) == 0)
                        log_info("home %s: removed ~/%s, left by an interrupted worker", h->name, de->d_name);
        }
}

static int identity_file_write(Home *h, int dir_fd, uid_t owner, bool sync) {
        _cleanup_free_ char *rec = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        home_identity_sweep(h, dir_fd);
        r = home_embedded_json(h, &rec);
        if (r < 0)
                return r;
        r = home_temp_name(h, "identity", &tmp);
        if (r < 0)
                return r;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot write ~/" HOME_IDENTITY_FILE ": %m", h->name);
        size_t n = strlen(rec);
        if (write(fd, rec, n) != (ssize_t) n || write(fd, "\n", 1) != 1 || (sync && fsync(fd) < 0) ||
            fchown(fd, owner, (gid_t) owner) < 0 || renameat(dir_fd, tmp, dir_fd, HOME_IDENTITY_FILE) < 0) {
                r = log_error_errno(errno, "home %s: cannot write ~/" HOME_IDENTITY_FILE ": %m", h->name);
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

int home_identity_file_write(Home *h, int dir_fd, uid_t owner) {
        return identity_file_write(h, dir_fd, owner, true);
}

int home_root_entry_identity_new(Home *h, int fd) {
        struct stat st;
        int r = home_sign_record(h);
        if (r < 0)
                return r;
        log_trace_phase("identity: signed");
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "home %s: cannot stat its new storage: %m", h->name);
        r = identity_file_write(h, fd, st.st_uid, false);
        if (r >= 0)
                h->identity_stored = true;
        return r;
}

/* ~/.identity is in the user's hands: she may put a symlink, a FIFO, a
 * device or garbage there. Only a regular file of bounded size that parses
 * is read, without following or blocking; anything else is ignored with a
 * warning (-EUCLEAN) and rewritten by the caller. -ENOENT if absent. */
int home_identity_file_read(Home *h, int dir_fd, UserRecord **ret) {
        _cleanup_close_ int fd = openat(dir_fd, HOME_IDENTITY_FILE,
                                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        _cleanup_free_ char *text = NULL, *error = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 || fstat(fd, &st) < 0) {
                log_warning_errno(errno, "home %s: ~/" HOME_IDENTITY_FILE " cannot be opened (%m); ignoring it",
                                  h->name);
                return -EUCLEAN;
        }
        if (!S_ISREG(st.st_mode)) {
                log_warning("home %s: ~/" HOME_IDENTITY_FILE " is not a regular file; ignoring it", h->name);
                return -EUCLEAN;
        }
        if (st.st_size > IDENTITY_FILE_MAX) {
                log_warning("home %s: ~/" HOME_IDENTITY_FILE " is larger than %d bytes; ignoring it", h->name,
                            IDENTITY_FILE_MAX);
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
                        log_warning_errno(errno, "home %s: ~/" HOME_IDENTITY_FILE " unreadable (%m); ignoring it",
                                          h->name);
                        return -EUCLEAN;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > IDENTITY_FILE_MAX) {
                        log_warning("home %s: ~/" HOME_IDENTITY_FILE " grew past %d bytes; ignoring it", h->name,
                                    IDENTITY_FILE_MAX);
                        return -EUCLEAN;
                }
        }
        text[len] = 0;
        if (user_record_parse(text, len, ret, &error) < 0) {
                log_warning("home %s: ~/" HOME_IDENTITY_FILE ": %s; ignoring it", h->name, error ?: "invalid");
                return -EUCLEAN;
        }
        return 0;
}

/* The checks every embedded copy passes before anything of it is used:
 * the home's user, no section bound to a machine (as homed refuses one),
 * a signature by this machine's or a trusted key. -EUCLEAN, logged. */
static int check_embedded(Home *h, const UserRecord *embedded, const char *where) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        const char *section;
        int r;

        if (strcmp(embedded->user_name, h->name) != 0)
                return log_error_errno(EUCLEAN, "home %s: the record in %s is for \"%s\"", h->name, where,
                                       embedded->user_name);
        section = user_record_unportable_section(embedded);
        if (section)
                return log_error_errno(EUCLEAN, "home %s: the record in %s has a \"%s\" section, which a record a "
                                       "home carries must not have (it belongs to one machine), refusing", h->name,
                                       where, section);
        r = identity_store_open(NULL, &store);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open the identity store: %m", h->name);
        r = identity_store_verify(store, embedded, where, false, NULL);
        if (r == -ENOKEY || r == -EBADMSG)
                return -EUCLEAN; /* logged, naming the home */
        return r;
}

/* embedded's tree becomes the record, with this machine's binding and the
 * request's secret section from the record it replaces. */
static int take_tree(Home *h, UserRecord *embedded) {
        json_object *keep_secret = NULL, *keep_binding = NULL, *j = json_object_get(embedded->json);
        _cleanup_free_ char *error = NULL;

        if (json_object_object_get_ex(h->rec->json, "secret", &keep_secret))
                json_object_object_add(j, "secret", json_object_get(keep_secret));
        if (json_object_object_get_ex(h->rec->json, "binding", &keep_binding))
                json_object_object_add(j, "binding", json_object_get(keep_binding));
        /* h->name points into the tree that goes: the same name (checked),
         * taken from the new one. */
        char name[USER_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s", h->name);
        json_object_put(h->rec->json);
        h->rec->json = j;
        int r = user_record_refresh(h->rec, &error);
        h->name = h->rec->user_name ?: "?";
        if (r < 0)
                return log_error_errno(r, "home %s: the record with this machine's binding is invalid: %s", name,
                                       error ?: "?");
        return 0;
}

int home_reconcile(Home *h, UserRecord *embedded, const char *where) {
        int r;

        r = check_embedded(h, embedded, where);
        if (r < 0)
                return r;
        if (embedded->last_change_usec == UINT64_MAX || h->rec->last_change_usec == UINT64_MAX ||
            embedded->last_change_usec <= h->rec->last_change_usec)
                return 0;

        /* ~/.identity is the user's to write: a signed copy she kept (from
         * before an administrator took a group away) must not bring back
         * more than she may change herself. The header's token is not hers. */
        if (strcmp(where, "~/" HOME_IDENTITY_FILE) == 0) {
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
        log_info("home %s: the record in %s is newer than the stored one; using it", h->name, where);
        return take_tree(h, embedded);
}

int home_take_embedded(Home *h, UserRecord *embedded, const char *where) {
        int r = check_embedded(h, embedded, where);
        if (r < 0)
                return r;
        log_info("home %s: fixated from the record in %s", h->name, where);
        return take_tree(h, embedded);
}

/* ---- homes whose storage is an entry of the root (directory, subvolume) ---- */

int home_root_entry_store_identity(Home *h) {
        _cleanup_close_ int fd = -1;
        _cleanup_user_record_ UserRecord *old = NULL;
        _cleanup_free_ char *want = NULL, *have = NULL;
        struct stat st;
        int r;

        r = home_storage_open(h, &fd);
        if (r < 0)
                return r;
        home_identity_sweep(h, fd);
        log_trace_phase("identity: swept");
        r = home_sign_record(h);
        if (r < 0)
                return r;
        log_trace_phase("identity: signed");
        /* Written only when it says something else: an unchanged home is
         * not touched (its ctime, a full quota). */
        if (home_identity_file_read(h, fd, &old) >= 0) {
                json_object *o = user_record_without(old, USER_RECORD_UNPORTABLE);
                const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                            JSON_C_TO_STRING_NOSLASHESCAPE)
                                  : NULL;
                have = s ? strdup(s) : NULL;
                json_object_put(o);
        }
        r = home_embedded_json(h, &want);
        if (r < 0)
                return r;
        if (have && strcmp(have, want) == 0)
                return 0;
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->storage_path);
        /* On disk as the storage's owner: through her mount it is hers. */
        return home_identity_file_write(h, fd, st.st_uid);
}

int home_root_entry_reconcile(Home *h) {
        _cleanup_close_ int fd = -1;
        _cleanup_user_record_ UserRecord *embedded = NULL;
        int r;

        r = home_storage_open(h, &fd);
        if (r < 0)
                return r;
        r = home_identity_file_read(h, fd, &embedded);
        if (r < 0)
                return 0; /* absent or unusable: written anew afterwards */
        r = home_reconcile(h, embedded, "~/" HOME_IDENTITY_FILE);
        /* A copy that fails the checks is not the record: the stored one
         * stays, and the file is written over with it. */
        return r == -EUCLEAN ? 0 : r;
}

int home_root_entry_fixate(Home *h) {
        _cleanup_close_ int fd = -1;
        _cleanup_user_record_ UserRecord *embedded = NULL;
        int r;

        r = home_storage_open(h, &fd);
        if (r < 0)
                return r;
        r = home_identity_file_read(h, fd, &embedded);
        if (r == -ENOENT)
                return log_error_errno(EUCLEAN, "home %s: %s has no " HOME_IDENTITY_FILE " with its record (made "
                                       "elsewhere without one), so it cannot be taken as a home here", h->name,
                                       h->storage_path);
        if (r < 0)
                return log_error_errno(EUCLEAN, "home %s: %s/" HOME_IDENTITY_FILE " is unusable, so it cannot be "
                                       "taken as a home here", h->name, h->storage_path);
        /* The password first, as at any login: nothing about the record
         * (whose key signed it) is told to someone without it. */
        if (strcmp(embedded->user_name, h->name) != 0)
                return log_error_errno(EUCLEAN, "home %s: %s/" HOME_IDENTITY_FILE " is the record of \"%s\"", h->name,
                                       h->storage_path, embedded->user_name);
        /* A smart card's key hash is a way in too: a record with only such
         * entries is no passwordless one, open to anyone. (Fixating with the
         * card itself is not supported: its password, if it has one.) */
        _cleanup_free_ const char **hashes = NULL;
        if (user_record_all_hashes(embedded, &hashes) < 0)
                return log_oom();
        r = home_verify_password(h, hashes);
        if (r < 0)
                return r;
        _cleanup_free_ char *where = NULL;
        if (asprintf(&where, "%s/" HOME_IDENTITY_FILE, h->storage_path) < 0)
                return log_oom();
        return home_take_embedded(h, embedded, where);
}
