/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "home-layout.h"

/* ID-mapped mounts of a home's storage, with systemd-homed's maps, so that
 * a home is stored under one owner ("stored", nobody for new subvolume and
 * LUKS homes) and shown under the user's UID ("exposed") while active.
 *
 * The map (homed 252, src/home/homework-mount.c, make_home_userns), as
 * "stored exposed count" lines of /proc/PID/uid_map; gid_map is the same
 * text, so the stored owner's group becomes the user's group (Hearth's GID
 * is her UID):
 *
 *   0 … 60000        (below the home range)  → themselves, but stored
 *   stored           → exposed
 *   60514 … 65533    (above the home range)  → themselves, but stored
 *
 * Everything else is unmapped and shows through the mount as the overflow
 * UID (65534): the rest of the home range 60001…60513, so that files of
 * another home's user never show as hers (nor as that user's); nobody
 * (65534) itself unless it is the stored owner; and everything above 16 bit.
 * Files with unmapped owners can be read as their modes allow, not chowned,
 * and a process whose UID is unmapped cannot create files through the mount.
 *
 * Where Hearth differs from homed 252: homed starts its upper identity range
 * at HOME_UID_MAX (60513) itself, so 60513's files show as 60513's, and a
 * home of UID 60513 stored under another owner cannot be mapped at all (the
 * kernel refuses 60513 twice on the outside); the range here starts at
 * 60514. Later systemd versions also pass through the container range
 * (0x80000…0x6FFFFFFF) and nspawn's mapped root (0x7FFFFFFE); 252 does not,
 * and neither does Hearth.
 *
 * Mounts made here are not recursive (a mount someone placed below the
 * storage is not carried into the home) and always nosuid,nodev. A home's
 * mount is cloned from its storage's guard (home-guard.h), which is also
 * noexec: that is taken off again, unless the home root's own mount is
 * noexec. Needs
 * Linux 5.12 (mount_setattr); file systems that can ID-map: btrfs (5.15),
 * ext4, xfs (5.12), tmpfs (6.3)… Where the kernel or the file system
 * cannot, the storage is mounted as it is, after a recursive chown of what
 * the stored owner owns to the user, as homed does. The raw syscalls are
 * used, so older C libraries without wrappers build too. */

#define IDMAP_UID_NOBODY UID_NOBODY
#define IDMAP_RANGES_MAX 5
/* Longer than any map of IDMAP_RANGES_MAX lines of three 10-digit numbers. */
#define IDMAP_TEXT_MAX 192

/* Test-only: with this set to 1 in the environment, the kernel is taken to
 * refuse ID-mapping, as on a file system that cannot (the fallback path). */
#define IDMAP_TEST_REFUSE_ENV "HEARTH_TEST_NO_IDMAP"

typedef struct IdmapRange {
        uint32_t stored;  /* first ID on disk (the namespace's side of the line) */
        uint32_t exposed; /* first ID as seen through the mount */
        uint32_t count;
} IdmapRange;

/* The map above for stored → exposed: fills ret, returns how many ranges
 * (at most IDMAP_RANGES_MAX). -EINVAL if either ID is invalid, or exposed
 * lies in an identity range (it must be a home UID, or equal to stored):
 * the kernel refuses an ID twice on either side. */
int idmap_ranges(uid_t stored, uid_t exposed, IdmapRange ret[IDMAP_RANGES_MAX]);

/* The ranges as uid_map text, one "stored exposed count\n" line each.
 * -ENOBUFS if size is too small. */
int idmap_format(const IdmapRange *ranges, size_t n, char *buf, size_t size);

/* What an on-disk ID shows as through the map: its exposed ID, or
 * (uid_t) -1 if it is unmapped (the kernel shows the overflow UID). */
uid_t idmap_lookup(const IdmapRange *ranges, size_t n, uid_t stored);

/* Whether uid may own a home's storage (its top directory): nobody, or a
 * home UID (of this machine or of the one the home came from). Any other
 * owner (root, a system or regular user) would be mapped to the user and
 * get her writes on disk: a set-UID file she made would be that user's. */
bool idmap_stored_owner_ok(uid_t uid);

/* Whether $IDMAP_TEST_REFUSE_ENV (tests) has ID-mapped mounts taken as refused. */
bool idmap_test_refused(void);

/* A user namespace with the map stored → exposed (UIDs and GIDs), as an fd
 * for MOUNT_ATTR_IDMAP. -EOPNOTSUPP if the kernel will not make one (user
 * namespaces off or missing), logged at debug level only; other errors are
 * logged naming the home. */
int idmap_userns(const char *name, uid_t stored, uid_t exposed);

/* A detached, nosuid,nodev copy of the mount of the directory dir_fd,
 * rooted at dir_fd, that shows it through the map stored → exposed: files
 * made and chowned through it land on disk as the map says. Returns 0 and
 * the mount's fd (the root of the tree, for openat() and friends; the mount
 * goes when the last fd on it is closed), or -EOPNOTSUPP if the kernel or
 * the file system cannot ID-map (not logged: the caller decides), or
 * another negative errno, logged naming the home. */
int idmap_clone(const char *name, int dir_fd, uid_t stored, uid_t exposed, int *ret_mount_fd);

typedef enum IdmapMounted {
        IDMAP_MOUNTED_MAPPED,  /* through the map */
        IDMAP_MOUNTED_CHOWNED, /* cannot ID-map: the stored owner's files were given to exposed first */
        IDMAP_MOUNTED_AS_IS,   /* cannot ID-map, and the stored owner was exposed already */
} IdmapMounted;

/* Activation: mounts the directory storage_fd at target_name below
 * target_dir_fd (an existing directory, never followed if a symlink), so
 * that what owns storage_fd on disk shows as exposed, and other home UIDs
 * not at all. Where the kernel or the file system cannot ID-map, first
 * changes every file of the stored owner to exposed (UID and GID each) and
 * mounts the storage as it is; the caller says so, once (storage/home.h:
 * "file system cannot ID-map, changed owners instead"). The stored owner
 * must pass idmap_stored_owner_ok() (-EUCLEAN otherwise, logged). Returns
 * an IdmapMounted (*ret_changed: how many inodes changed owner, if given),
 * or a negative errno, logged. guarded: storage_fd is on its guard's
 * noexec mount (home-guard.h), which the home takes off unless the mount
 * of target_dir_fd is noexec; otherwise the storage's own mount options
 * stay (a LUKS home's private mount, with the record's options). */
int idmap_mount_home(const char *name, int storage_fd, int target_dir_fd, const char *target_name, uid_t exposed,
                     bool guarded, unsigned *ret_changed);

/* Creation: runs populate on the fresh storage storage_fd seen through the
 * map stored → exposed, so that what it makes and chowns to exposed lands
 * on disk as stored (e.g. nobody for a subvolume home). populate gets the
 * root of that view as fd, valid until it returns; it must not keep it.
 * With stored == exposed, or where the kernel or the file system cannot
 * ID-map (*ret_unmapped set, if given: the caller says so), populate gets
 * storage_fd itself, and what it gives exposed stays exposed's on disk (the
 * stored owner is then the user, as after homed's fallback). Returns what
 * populate returns, or a negative errno, logged. */
typedef int (*IdmapPopulate)(int fd, void *userdata);
int idmap_populate(const char *name, int storage_fd, uid_t stored, uid_t exposed, IdmapPopulate populate,
                   void *userdata, bool *ret_unmapped);

/* The same through the map only: -EOPNOTSUPP, not logged and populate not
 * run, where the kernel or the file system cannot ID-map (or stored ==
 * exposed). For storage whose files are stored's on disk already (a
 * snapshot of the skel template, skel-template.h), which the fallback would
 * leave stored's while their top became exposed's. */
int idmap_populate_mapped(const char *name, int storage_fd, uid_t stored, uid_t exposed, IdmapPopulate populate,
                          void *userdata);

/* The fallback's chown: every file, directory and symlink below and at fd
 * (not crossing into other file systems, never following a symlink) owned
 * by from is given to to, and likewise for the group (GID from → GID to);
 * the top last, so that an interrupted run is done again in full next time.
 * Each inode is changed through an fd opened on it, never by name again
 * after it was checked. At most IDMAP_CHOWN_DEPTH_MAX levels deep (-ELOOP
 * beyond, logged). Returns how many inodes changed, or a negative errno. */
#define IDMAP_CHOWN_DEPTH_MAX 256
int idmap_chown_tree(const char *name, int fd, uid_t from, uid_t to);
