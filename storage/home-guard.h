/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The guard on a directory or subvolume home's raw storage
 * (<root>/<user>.homedir, common/home-layout.h): the storage bind-mounted
 * onto itself nosuid,nodev,noexec.
 *
 * Why: through her ID-mapped mount (nosuid) a user can still set the
 * set-UID bit on her files; on disk such a file of a subvolume home is
 * set-UID-nobody. Were it run through the raw path, on the home root's own
 * mount (suid-capable unless the admin mounted /home nosuid), by anyone
 * she let in (chmod 711 ~), they would get UID 65534, which owns every
 * subvolume home's storage. Device nodes likewise. The guard stops both
 * whatever /home's own options are. Her ID-mapped mount is cloned from
 * the guard with noexec cleared again (storage/idmap.h).
 *
 * Made by hearth-work at create (not for an image that is not running:
 * homectl firstboot --root) and again at activation if it is gone; by
 * hearthd for every such home it knows before it answers on the bus, and
 * after a worker died; removed by remove (the storage is closed to 0700
 * first). Not made: while hearthd is not running (early boot), the
 * storage is only as guarded as /home's own mount options make it.
 *
 * These need CAP_SYS_ADMIN in the initial mount namespace: a guard made in
 * a private one would guard nothing that users see. */

/* Test-only: with this set to 1 in the environment, the guard is made as
 * on kernels before 5.12 (mount(2) and a remount; see home_guard()). */
#define HOME_GUARD_TEST_OLD_API_ENV "HEARTH_TEST_GUARD_OLD_API"

/* 1 if <root_fd>/<storage_name> is guarded: the top mount there is one
 * (rooted at it, not /home's) and has nosuid, nodev and noexec; 0 if not;
 * -ENOENT if absent; another negative errno. Not logged. */
int home_guard_check(int root_fd, const char *storage_name);

/* Guards <root_fd>/<storage_name> unless home_guard_check() finds it
 * guarded (a mount there without the three options, someone else's, gets
 * the guard on top of it). Returns 1 if a guard was made, 0 if it was
 * guarded already, -ENOENT if absent (not logged), or another negative
 * errno, logged naming the home (user). The guard is made detached and
 * mounted with its options set (open_tree, mount_setattr, move_mount), so
 * that copies of it propagated to other mount namespaces have them too;
 * before Linux 5.12 it is a bind mount made nosuid,nodev,noexec by a
 * remount, which is not propagated. */
int home_guard(const char *user, int root_fd, const char *storage_name);

/* Unmounts (detaches) whatever is mounted on <root_fd>/<storage_name>: the
 * guard, and anything stacked on it, so that the storage can be renamed.
 * Returns how many mounts went (0 if none, or absent), or a negative
 * errno, logged naming the home. */
int home_unguard(const char *user, int root_fd, const char *storage_name);
