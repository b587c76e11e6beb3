/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "home-layout.h"
#include "macro.h"
#include "size.h"
#include "user-record.h"
#include "worker-protocol.h"

/* One home as the worker sees it while running one operation.
 *
 * Homes live directly below a home root: /home, or $HEARTH_HOME_ROOT (tests).
 * homeDirectory must be <root>/<userName>; everything is done relative to an
 * fd of the root opened without following symlinks, so a symlink planted in
 * the path cannot redirect a create or a remove elsewhere.
 *
 * Directory and subvolume homes are stored as systemd-homed stores them: in
 * <root>/<userName>.homedir, mounted ID-mapped (idmap.h) at <root>/<userName>
 * while active; <root>/<userName> is there only while the home is active
 * (an empty directory of root's that an interrupted deactivation left is
 * taken as the mount point again). The storage's top is owned by its
 * stored owner: nobody for subvolume homes made here, the user's UID for
 * directory homes, or whatever UID the home had where it was made; active,
 * that owner shows as the user. The storage is guarded (home-guard.h:
 * bind-mounted onto itself nosuid,nodev,noexec) from create to remove.
 *
 * Work in progress is hidden under names starting with ".#hearth-" in the
 * root and renamed into place at the end, so a killed worker leaves the home
 * as it was or as requested; leftovers of a killed worker are removed by the
 * next operation on that home (which holds the home's lock). */

struct SecureBuffer;

typedef struct Home {
        UserRecord *rec;
        const char *name;  /* rec->user_name */
        char *root;        /* the home root, e.g. /home */
        char *path;        /* <root>/<name>: homeDirectory, where the home is mounted while active */
        char *storage_name; /* directory and subvolume homes: "<name>.homedir", their storage in the root */
        char *storage_path; /* <root>/<storage_name> */
        int root_fd;
        int lock_fd;
        char *state;       /* for the status section: "active", "inactive", … */
        bool force;        /* deactivate even while in use */
        bool wipe;         /* create: erase what a block device holds (never one in use or another home's) */
        uint64_t size_request; /* resize: HEARTH_SIZE_RECORD (the record's diskSize), _MIN or _MAX (size.h) */
        json_object *quota_adopted; /* subvolume homes: subvolumes inside put into its quota group by this run */
        json_object *quota_held;    /* ... and those held at what they hold instead (WORKER_OPT_NO_RESCAN) */
        bool quota_rescanned;       /* ... and this run started a quota rescan */
        bool no_rescan;             /* start no quota rescan (WORKER_OPT_NO_RESCAN) */
        uint32_t tpm_tries_below;   /* ask the TPM only while its counter is below this (UINT32_MAX: no limit) */
        WorkerTpmReport tpm_report; /* what the TPM said, for hearthd (worker-protocol.h) */
        bool header_pin_only;       /* LUKS: the header holds a systemd-tpm2 token and no password keyslot
                                     * (luks_volume_key_get() found it so): home_pin_only() */
        json_object *notices;       /* for hearthd's log (WORKER_STATUS_NOTICES) */
        const char *skel_current;   /* create: the skel template hearthd vouches for (WORKER_OPT_SKEL_TEMPLATE) */
        char *skel_template;        /* create: the template found current (WORKER_STATUS_SKEL_TEMPLATE) */
        bool skel_spare;            /* create: the storage is a spare of the template (skel-template.h) */
        bool identity_stored;       /* ~/.identity is written already for this run's record */
        /* LUKS homes with PKCS#11 tokens: the secret of the token of entry
         * index of privileged.pkcs11EncryptedKey (its base64, the keyslot's
         * passphrase), decrypted on the token with the PIN given. Set by
         * hearth-work, so that storage/ links no token library; NULL: no
         * token is asked. Errors as pkcs11_token_decrypt()'s (-ENXIO: the
         * token is absent; -ENOANO, -EBADE, -EBADR, -EBADRQC, -ENOLCK: the
         * PIN), logged by it. */
        int (*pkcs11_decrypt)(struct Home *h, size_t index, struct SecureBuffer **ret);
} Home;

/* Checks the record for the worker's needs (user name, home-range UID, GID,
 * homeDirectory below the root), opens the root and takes the home's lock.
 * -EBUSY when another operation holds the lock. */
int home_open(UserRecord *rec, Home **ret);
Home *home_free(Home *h);
static inline void home_freep(Home **h) {
        home_free(*h);
}
#define _cleanup_home_ __attribute__((cleanup(home_freep)))

/* A fresh hidden name in the root for work in progress: ".#hearth-<what>.<user>.XXXXXX"
 * with the X's replaced. */
int home_temp_name(Home *h, const char *what, char **ret);

/* The state the worker answers with ("active", "inactive", ...). */
int home_set_state(Home *h, const char *state);

/* inspect for a home whose storage is an entry of the root (directory,
 * fscrypt): its state from its mount, and as its size and free space
 * those of the file system it is on, as homed reports them. */
int home_root_entry_inspect(Home *h);

/* A record with diskSizeRelative and no diskSize (homectl --disk-size=20%)
 * gets its diskSize from it: that share of base (the space the home is
 * made or resized in), in whole 4 KiB, set in the record, which from then
 * on says the home's size. 0 also when there is nothing to do; -ERANGE
 * (logged) below 16 MiB. */
int home_disk_size_from_share(Home *h, uint64_t base);

/* Removes leftovers of killed workers for this home, each first made
 * root's and closed (0700/0600) so that none stays readable by the user's
 * UID if this is interrupted too. Returns how many went, or the first error. */
int home_clean_leftovers(Home *h);

/* Moves the hidden entry into place as the storage (<root>/<name>.homedir),
 * failing if something is already there. */
int home_rename_into_place(Home *h, const char *temp);

/* Renames the storage out of the way to a hidden name (so it is gone at
 * once) and returns that name; then the caller deletes it at leisure. */
int home_rename_away(Home *h, char **ret);

/* Sets ownership to the record's uid:gid and mode 0700 on a home's top
 * (through an ID-mapped view: what the stored owner then is). */
int home_chown_top(Home *h, int fd);

/* Seeds a new home (fd: its top directory) from skel. */
int home_seed(Home *h, int fd);

/* Seeds the home's top fd and sets its owner and mode (home_seed() and
 * home_chown_top()), userdata being the Home: the IdmapPopulate callback
 * for idmap_populate(), through whose view what is given to her lands on
 * disk as the stored owner. */
int home_populate(int fd, void *userdata);

/* Logs "home <name>: <text>" at notice level and keeps the text for
 * hearthd, which logs it too (WORKER_STATUS_NOTICES). */
void home_notice(Home *h, const char *fmt, ...) _printf_(2, 3);

/* Adds to binding.<machine-id> and replaces status.<machine-id> from what
 * the home is now, with this run's notices. status_extra may add fields
 * (usage…); NULL for none. */
int home_update_sections(Home *h, json_object *status_extra);

/* Adds fields (an object, taken; NULL: out of memory) to the record's
 * binding.<machine-id>, keeping what is there, as systemd-homed records
 * where a home's storage is on this machine (imagePath, luksUuid…). */
int home_bind(Home *h, json_object *fields);

/* rm_rf_at (common/rm-rf.h) that deletes a btrfs subvolume met on the way
 * as one, its quota limits first. */
int home_rm_rf_at(int dir_fd, const char *name);

/* The create and remove flows shared by backends whose storage is an
 * entry of the root (<name>.homedir): make_top creates the entry named temp
 * (a directory, a subvolume…); the flow seeds it through the ID map
 * stored → the user's UID (idmap_populate()), so that it is stored owned by
 * stored, sets owner and mode, renames it into place and guards it. Any
 * failure removes what was made. Create refuses when homeDirectory is taken
 * by anything but an empty directory; remove refuses an active home
 * (-EBUSY), and closes the storage (0700) before it takes the guard off.
 *
 * make_seeded_top (NULL: none), for storage stored as nobody, makes temp
 * seeded already: a snapshot of the skel template (home_skel_snapshot()),
 * whose files are nobody's on disk as a seeded home's are; the flow then
 * only gives its top to her, through the map. Where it returns -EOPNOTSUPP,
 * or the file system cannot ID-map, make_top and the copy do instead. */
typedef int (*HomeMakeTop)(Home *h, const char *temp, int *ret_fd);
int home_create_in_root(Home *h, HomeMakeTop make_top, HomeMakeTop make_seeded_top, uid_t stored);

/* Makes <root>/temp a snapshot of the skel template (skel-template.h),
 * built first if the skel changed: for a home seeded from the merged
 * default skel of the running system; without scanning the skel if it is
 * h->skel_current. The template's token goes to h->skel_template, for
 * hearthd. -EOPNOTSUPP (nothing made) where no template serves: her record
 * names its own skel, the home is made into an image, or the template
 * module said why. */
int home_skel_snapshot(Home *h, const char *temp);
/* Tops up the spares of the current skel template (skel-template.h) for
 * the subvolume homes to come (h: any subvolume home of the root; its
 * UID checks the ID map). Nothing where no spare could serve. */
int home_skel_spares_fill(Home *h);
int home_remove_from_root(Home *h);

/* Guards the storage <root>/<name>.homedir (home-guard.h) unless it is;
 * nothing for a home made into an image that is not running (homectl
 * firstboot --root). 0, or a negative errno (-ENOENT if absent), logged. */
int home_guard_storage(Home *h);

/* 1 if the storage <root>/<name>.homedir is a directory whose owner may
 * be mapped to the user (idmap_stored_owner_ok()), 0 if absent; -EUCLEAN
 * if something else is there. */
int home_storage_exists(Home *h);

/* Opens the storage (a directory, never through a symlink); -ENOENT if it
 * is absent. Both logged. */
int home_storage_open(Home *h, int *ret_fd);

/* ---- the storage mounted at homeDirectory (home-mount.c) ---- */

/* 1 if homeDirectory is a mount showing the directory open as storage_fd
 * (a .homedir, or later the home's directory in a LUKS file system): the
 * home is active. 0 if nothing is mounted there (absent, or a directory).
 * -EBUSY, logged, if something else is mounted there. */
int home_mount_state(Home *h, int storage_fd);

/* Activation: mounts storage_fd ID-mapped at homeDirectory, making the
 * mount point (root's, 0700) if needed, and the storage's guard again if it
 * is gone. -EALREADY if already mounted, -EEXIST if homeDirectory is taken
 * (a file, a symlink, a directory that is not empty or not root's);
 * -EUCLEAN if the storage is stored under the UID of another user this
 * machine knows (NSS: another home's, or any other account but nobody),
 * who could reach her files on disk directly. Logged. */
int home_mount(Home *h, int storage_fd);

/* Deactivation: unmounts it (busy: -EBUSY, or with h->force detached
 * anyway) and removes the mount point. -ENOTCONN if not mounted. Logged. */
int home_unmount(Home *h, int storage_fd);

/* homeDirectory as a place to mount at: 0 if absent, 1 if an empty
 * directory of root's that nothing is mounted on; -EEXIST, logged, if it is
 * anything else (a file, a symlink, a directory with files: someone's). */
int home_mount_point_free(Home *h);

/* Removes homeDirectory if it is an empty directory of root's, not a
 * mount (what an earlier activation left): the name is free again. */
void home_mount_point_remove(Home *h);

/* ---- the record the home carries (home-identity.c) ---- */

/* ~/.identity: in every home, as systemd-homed writes it. */
#define HOME_IDENTITY_FILE ".identity"

/* The record as a home carries it (and as it leaves the machine): without
 * binding, status and secret (user_record_unportable_section()). */
int home_embedded_json(Home *h, char **ret);
/* Signs the record with the machine key (in $HEARTH_STATE_DIR), unless a
 * signature by it or a trusted key still holds (keyring_ensure_signed()),
 * so that the copies it carries verify. */
int home_sign_record(Home *h);
/* ~/.identity in the directory dir_fd (the home's top), written atomically
 * as owner: the UID as seen through the fd (the user's UID through an
 * ID-mapped view, the stored owner on the storage itself). */
int home_identity_file_write(Home *h, int dir_fd, uid_t owner);
/* ~/.identity of a directory or subvolume home being created, into its
 * storage fd before the storage gets its name, not synced on its own: the
 * commit that makes the name durable makes it durable too. Sets
 * h->identity_stored. */
int home_root_entry_identity_new(Home *h, int fd);
/* Removes ~/.identity's temporary copies left by killed workers. */
void home_identity_sweep(Home *h, int dir_fd);
/* Reads ~/.identity: 0; -ENOENT if absent; -EUCLEAN (warned) for anything
 * not a regular file of bounded size holding a valid record. */
int home_identity_file_read(Home *h, int dir_fd, UserRecord **ret);
/* An embedded copy (where: "the LUKS2 token", "~/.identity") is checked —
 * the home's user, no section bound to a machine, signed by this
 * machine's or a trusted key (identity_store_verify()), else -EUCLEAN,
 * logged — and, if newer than the record, becomes it (from ~/.identity
 * only what its user may change herself), keeping this machine's binding
 * and the request's secrets. */
int home_reconcile(Home *h, UserRecord *embedded, const char *where);
/* Fixation: a home found on this machine (hearthd made a record of its
 * name, UID and storage only) takes the checked embedded record as its
 * own, whatever its date, with this machine's binding. -EUCLEAN, logged. */
int home_take_embedded(Home *h, UserRecord *embedded, const char *where);

/* Directory and subvolume homes (storage <root>/<name>.homedir): */
/* ~/.identity brought up to the record, signed, if it says anything else. */
int home_root_entry_store_identity(Home *h);
/* At activation: a newer trusted ~/.identity becomes the record
 * (home_reconcile()); one that fails the checks is ignored (and written
 * over afterwards). */
int home_root_entry_reconcile(Home *h);
/* Fixation from ~/.identity of the storage (its password checked against
 * the hashes there before anything else); -EUCLEAN without one. */
int home_root_entry_fixate(Home *h);

/* At least one password of secret.password matches one of hashes (the
 * record's privileged.hashedPassword, or those of a record a home
 * carries): 0, else -EKEYREJECTED, logged. Hashes NULL or empty: no
 * password can be right, and none given is. */
int home_verify_password(Home *h, const char *const *hashes);

/* Whether the home's passwords are only ever a TPM PIN, so that no hash of
 * one may be kept (user-record.h): its record says so
 * (user_record_pin_only()), or its LUKS header, once opened, holds a
 * systemd-tpm2 token and no password keyslot, whatever the record says —
 * the header is what a password opens, and a record that lost "tpm2" must
 * not bring a PIN's hash back. */
bool home_pin_only(const Home *h);

/* Sets privileged.hashedPassword to yescrypt hashes of passwords, and bumps
 * lastPasswordChangeUSec and lastChangeUSec. A home sealed in the TPM with
 * no password keyslot (home_pin_only()) gets no hash: any it had is
 * dropped, the times bumped all the same. */
int home_set_password_hashes(Home *h, const char *const *passwords);

/* Such a home's record with a hash (an older Hearth's): the hash dropped,
 * logged, lastChangeUSec bumped so that the copies in the volume are
 * rewritten without it. 0 if there was none. */
int home_forget_pin_hash(Home *h);
