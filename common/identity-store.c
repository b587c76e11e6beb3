/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "fileio.h"
#include "identity-store.h"
#include "log.h"
#include "macro.h"
#include "uid-alloc.h"

#define SUFFIX ".identity"

struct IdentityStore {
        char *dir;
        Keyring *keyring;
        bool keyring_can_sign;
        struct timespec keyring_dir_mtime; /* of dir when the keyring was read */
};

const char *identity_store_default_dir(void) {
        const char *e = getenv("HEARTH_STATE_DIR");
        return e && e[0] == '/' ? e : HEARTH_STATE_DIR;
}

int identity_store_open(const char *dir, IdentityStore **ret) {
        IdentityStore *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->dir = strdup(dir ?: identity_store_default_dir());
        if (!s->dir) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

IdentityStore *identity_store_free(IdentityStore *s) {
        if (!s)
                return NULL;
        keyring_free(s->keyring);
        free(s->dir);
        free(s);
        return NULL;
}

const char *identity_store_dir(IdentityStore *s) {
        return s->dir;
}

int identity_store_keyring(IdentityStore *s, bool create, Keyring **ret) {
        struct stat st;
        struct timespec mtime = {};

        if (stat(s->dir, &st) == 0)
                mtime = st.st_mtim;
        /* A key added or taken away (a NAME.public put there or removed)
         * changes the directory: a long-lived store (hearthd's) reads the
         * keys again, so that a key withdrawn is no longer trusted. */
        bool changed = mtime.tv_sec != s->keyring_dir_mtime.tv_sec || mtime.tv_nsec != s->keyring_dir_mtime.tv_nsec;
        if (!s->keyring || changed || (create && !s->keyring_can_sign)) {
                Keyring *kr;
                int r = keyring_open(s->dir, create, &kr);
                if (r < 0)
                        return r;
                keyring_free(s->keyring);
                s->keyring = kr;
                s->keyring_can_sign = keyring_public_pem(kr) != NULL;
                /* After keyring_open(), which may have made the directory
                 * and the key pair. */
                s->keyring_dir_mtime = stat(s->dir, &st) == 0 ? st.st_mtim : mtime;
        }
        *ret = s->keyring;
        return 0;
}

int identity_store_verify(IdentityStore *s, const UserRecord *rec, const char *where, bool allow_unsigned,
                          char **ret_reason) {
        _cleanup_free_ char *reason = NULL;
        SignatureStatus status;
        Keyring *kr;
        int r;

        for (int attempt = 0;; attempt++) {
                r = identity_store_keyring(s, false, &kr);
                if (r < 0)
                        return r;
                r = keyring_verify(kr, rec, &status);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot verify the signature of the record in %s: %m",
                                               rec->user_name, where);
                /* An administrator may have just put the signer's key in
                 * place: read the keys again, once, before refusing. */
                if (status != SIGNATURE_UNTRUSTED || attempt > 0)
                        break;
                keyring_free(s->keyring);
                s->keyring = NULL;
        }
        switch (status) {
        case SIGNATURE_LOCAL:
        case SIGNATURE_TRUSTED:
                return 0;
        case SIGNATURE_UNSIGNED:
                if (allow_unsigned)
                        return 0;
                r = -ENOKEY;
                if (asprintf(&reason, "home %s: the record in %s is unsigned, refusing", rec->user_name, where) < 0)
                        return log_oom();
                break;
        case SIGNATURE_UNTRUSTED:
                r = -ENOKEY;
                if (asprintf(&reason,
                             "home %s: the record in %s is signed by an unknown key, refusing; to trust its signer, "
                             "install that machine's public key (its local.public) as %s/NAME.public",
                             rec->user_name, where, s->dir) < 0)
                        return log_oom();
                break;
        case SIGNATURE_BAD:
        default:
                r = -EBADMSG;
                if (asprintf(&reason,
                             "home %s: the record in %s: signature does not match (modified after signing), refusing",
                             rec->user_name, where) < 0)
                        return log_oom();
                break;
        }
        log_error("%s", reason);
        if (ret_reason)
                *ret_reason = TAKE_PTR(reason);
        return r;
}

static int record_path(IdentityStore *s, const char *user_name, char **ret) {
        /* The name becomes a file name: only valid names, never "../x". */
        if (!valid_user_name(user_name))
                return log_error_errno(EINVAL, "\"%.64s\" is not a valid user name", user_name);
        return asprintf(ret, "%s/%s" SUFFIX, s->dir, user_name) < 0 ? -ENOMEM : 0;
}

int identity_store_load(IdentityStore *s, const char *user_name, UserRecord **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL, *error = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        size_t len;
        int r;

        r = record_path(s, user_name, &path);
        if (r < 0)
                return r;
        r = read_file_bounded(path, IDENTITY_FILE_MAX, &text, &len);
        if (r == -ENOENT)
                return r; /* not an error worth a log line: callers ask "is there one?" */
        if (r == -EFBIG)
                return log_error_errno(EBADMSG, "home %s: %s is larger than %d bytes", user_name, path,
                                       IDENTITY_FILE_MAX);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot read %s: %m", user_name, path);

        r = user_record_parse(text, len, &rec, &error);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(EBADMSG, "home %s: %s: %s", user_name, path, error ?: "invalid record");
        if (strcmp(rec->user_name, user_name) != 0)
                return log_error_errno(EBADMSG, "home %s: %s holds the record of \"%s\"", user_name, path,
                                       rec->user_name);

        r = identity_store_verify(s, rec, path, false, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(rec);
        return 0;
}

int identity_store_save(IdentityStore *s, UserRecord *rec) {
        _cleanup_free_ char *path = NULL, *error = NULL;
        Keyring *kr;
        const char *text;
        int r;

        r = record_path(s, rec->user_name, &path);
        if (r < 0)
                return r;
        if (!valid_home_uid(rec->uid))
                return log_error_errno(EINVAL, "home %s: uid: must be between %u and %u for a home", rec->user_name,
                                       HOME_UID_MIN, HOME_UID_MAX);
        /* A home's primary group is its own, of the same number (as homed). */
        if (rec->gid != GID_INVALID && rec->gid != (gid_t) rec->uid)
                return log_error_errno(EINVAL, "home %s: gid: must equal uid (%u) for a home", rec->user_name,
                                       rec->uid);

        r = user_record_strip(rec, USER_RECORD_SECRET | USER_RECORD_STATUS);
        if (r < 0)
                return log_error_errno(r, "home %s: record invalid without its secret section", rec->user_name);
        r = user_record_refresh(rec, &error);
        if (r < 0)
                return log_error_errno(r, "home %s: %s", rec->user_name, error ?: "invalid record");

        r = mkdir_parents(s->dir, 0700);
        if (r < 0)
                return log_error_errno(r, "%s: cannot create state directory: %m", s->dir);
        r = identity_store_keyring(s, true, &kr);
        if (r < 0)
                return r;
        /* The caller vouches for rec (hearthd's access checks, or
         * identity_store_verify()): a trusted signature is kept. */
        r = keyring_ensure_signed(kr, rec);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot sign record: %m", rec->user_name);

        text = user_record_to_string(rec, USER_RECORD_FORMAT_PRETTY);
        if (!text)
                return log_oom();
        r = write_file_atomic(path, text, strlen(text), 0600, 0);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot write %s: %m", rec->user_name, path);
        return 0;
}

int identity_store_remove(IdentityStore *s, const char *user_name) {
        _cleanup_free_ char *path = NULL;
        int r = record_path(s, user_name, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0)
                return errno == ENOENT ? -ENOENT : log_error_errno(errno, "home %s: cannot remove %s: %m",
                                                                    user_name, path);
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int identity_store_list(IdentityStore *s, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        names = calloc(1, sizeof *names);
        if (!names)
                return -ENOMEM;
        d = opendir(s->dir);
        if (!d) {
                if (errno != ENOENT)
                        return log_error_errno(errno, "%s: cannot list: %m", s->dir);
                *ret = TAKE_PTR(names);
                return 0;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (is_atomic_temp_name(de->d_name) || len <= strlen(SUFFIX) ||
                    strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
                        continue;
                char *name = strndup(de->d_name, len - strlen(SUFFIX));
                char **l = name ? realloc(names, (n + 2) * sizeof *names) : NULL;
                if (!l) {
                        free(name);
                        closedir(d);
                        return -ENOMEM;
                }
                names = l;
                if (!valid_user_name(name)) {
                        free(name);
                        continue;
                }
                names[n++] = name;
                names[n] = NULL;
        }
        closedir(d);
        qsort(names, n, sizeof *names, compare_names);
        *ret = TAKE_PTR(names);
        return 0;
}

typedef struct UidScan {
        uid_t *held; /* UIDs and GIDs held by records in the store */
        size_t n_held;
        UidTakenFn elsewhere; /* NULL: NSS */
        void *userdata;
} UidScan;

static bool uid_taken_by_store(uid_t uid, void *userdata) {
        UidScan *scan = userdata;

        for (size_t i = 0; i < scan->n_held; i++)
                if (scan->held[i] == uid)
                        return true;
        return scan->elsewhere ? scan->elsewhere(uid, scan->userdata) : uid_taken_nss(uid);
}

static int uid_scan_start(IdentityStore *s, UidScan *scan) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = identity_store_list(s, &names);
        if (r < 0)
                return r;
        scan->held = calloc(2 * strv_length(names) + 1, sizeof *scan->held);
        if (!scan->held)
                return log_oom();

        /* Unverified reads on purpose: a record we cannot trust still holds
         * its UID, and reusing it would hand someone else's files over. */
        for (char **n = names; *n; n++) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                _cleanup_user_record_ UserRecord *rec = NULL;
                size_t len;

                if (record_path(s, *n, &path) < 0 || read_file_bounded(path, IDENTITY_FILE_MAX, &text, &len) < 0 ||
                    user_record_parse(text, len, &rec, NULL) < 0)
                        continue;
                if (rec->uid != UID_INVALID)
                        scan->held[scan->n_held++] = rec->uid;
                if (rec->gid != GID_INVALID)
                        scan->held[scan->n_held++] = (uid_t) rec->gid;
        }
        return 0;
}

int identity_store_allocate_uid_with(IdentityStore *s, const char *user_name, UidTakenFn elsewhere, void *userdata,
                                     uid_t *ret) {
        UidScan scan = { .elsewhere = elsewhere, .userdata = userdata };
        int r;

        r = uid_scan_start(s, &scan);
        if (r >= 0) {
                r = uid_alloc(user_name, uid_taken_by_store, &scan, ret);
                if (r < 0)
                        log_error_errno(r, "home %s: no free UID left between %u and %u", user_name, HOME_UID_MIN,
                                        HOME_UID_MAX);
        }
        free(scan.held);
        return r;
}

int identity_store_allocate_uid(IdentityStore *s, const char *user_name, uid_t *ret) {
        return identity_store_allocate_uid_with(s, user_name, NULL, NULL, ret);
}

int identity_store_uid_taken_with(IdentityStore *s, uid_t uid, UidTakenFn elsewhere, void *userdata) {
        UidScan scan = { .elsewhere = elsewhere, .userdata = userdata };
        int r;

        r = uid_scan_start(s, &scan);
        if (r >= 0)
                r = uid_taken_by_store(uid, &scan);
        free(scan.held);
        return r;
}

bool identity_store_name_taken(IdentityStore *s, const char *user_name) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (name_taken_nss(user_name))
                return true;
        if (record_path(s, user_name, &path) < 0)
                return true;
        return lstat(path, &st) == 0;
}
