/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "sign.h"
#include "uid-alloc.h"
#include "user-record.h"

/* The identity store: one signed record per home at <dir>/<user>.identity,
 * mode 0600. The directory is, in order: the argument, $HEARTH_STATE_DIR,
 * the build-time default (/var/lib/hearth). */

typedef struct IdentityStore IdentityStore;

#define IDENTITY_FILE_MAX (1024 * 1024)

const char *identity_store_default_dir(void);

int identity_store_open(const char *dir, IdentityStore **ret);
IdentityStore *identity_store_free(IdentityStore *s);
static inline void identity_store_freep(IdentityStore **s) {
        identity_store_free(*s);
}
#define _cleanup_identity_store_ __attribute__((cleanup(identity_store_freep)))

const char *identity_store_dir(IdentityStore *s);

/* Loads and verifies a record (identity_store_verify()). Errors (each logged with the user's name):
 * -ENOENT no such record; -EINVAL not a valid user name; -EBADMSG too large,
 * invalid, for another user, or modified after signing; -ENOKEY unsigned or
 * signed by an unknown key; the error of open()/read() when the file cannot be
 * read (-ELOOP for a symlink, -EBADF for a non-regular file). */
int identity_store_load(IdentityStore *s, const char *user_name, UserRecord **ret);

/* Whether a record may be trusted for what it says: signed by this
 * machine's key or a trusted one (sign.h: NAME.public beside the records),
 * the trusted keys read again once if the signer is unknown (an
 * administrator may have just added its key). With allow_unsigned, an
 * unsigned record passes too (root registering one: it is then signed
 * here). 0; -ENOKEY (unsigned, unknown key) or -EBADMSG (changed since it
 * was signed), logged naming the home and where (a path, "the LUKS2
 * token"…), that text in *ret_reason (if given; to free). Every record
 * read from outside the store goes through this, as the store's own do. */
int identity_store_verify(IdentityStore *s, const UserRecord *rec, const char *where, bool allow_unsigned,
                          char **ret_reason);

/* Validates, drops the secret and status sections, keeps a signature by
 * this machine's or a trusted key (a home from elsewhere keeps its
 * signer's), else signs with the machine key (created on first use), and
 * writes atomically. The record must have a
 * UID in the home range, and a GID equal to it if any. rec is updated to
 * what was written. */
int identity_store_save(IdentityStore *s, UserRecord *rec);

int identity_store_remove(IdentityStore *s, const char *user_name);

/* Sorted user names of all records; temporary files are skipped. */
int identity_store_list(IdentityStore *s, char ***ret);

/* A free home UID and whether a name is free, checking NSS and the store. */
int identity_store_allocate_uid(IdentityStore *s, const char *user_name, uid_t *ret);
bool identity_store_name_taken(IdentityStore *s, const char *user_name);

/* The same checks with another source than NSS for the UIDs taken outside
 * the store (an image's passwd and group files, for homectl firstboot
 * --root). uid_taken_with returns 1 if taken, 0 if free, or -errno. */
int identity_store_allocate_uid_with(IdentityStore *s, const char *user_name, UidTakenFn elsewhere, void *userdata,
                                     uid_t *ret);
int identity_store_uid_taken_with(IdentityStore *s, uid_t uid, UidTakenFn elsewhere, void *userdata);

/* The keyring records are verified against (opened on demand). */
int identity_store_keyring(IdentityStore *s, bool create, Keyring **ret);
