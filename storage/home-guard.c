/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The guard on a directory or subvolume home's raw storage; see
 * home-guard.h for why. In the probe library: hearthd makes guards too. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "home-guard.h"
#include "log.h"
#include "macro.h"
#include "mount-api.h"

#define GUARD_ST_FLAGS (ST_NOSUID | ST_NODEV | ST_NOEXEC)
/* Mounts stacked on one storage that unguarding takes off before it gives
 * up: the guard and whatever an admin put on it. */
#define GUARD_UNMOUNT_MAX 16

static bool mount_root(const struct statx *stx) {
        return (stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int open_storage(int root_fd, const char *storage_name) {
        int fd = openat(root_fd, storage_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

/* The mount fd is on: the top one at the storage's name when it was opened. */
static int guarded(int fd) {
        struct statx stx;
        struct statvfs sv;

        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
                return negative_errno();
        if (!mount_root(&stx))
                return 0;
        if (fstatvfs(fd, &sv) < 0)
                return negative_errno();
        return (sv.f_flag & GUARD_ST_FLAGS) == GUARD_ST_FLAGS;
}

int home_guard_check(int root_fd, const char *storage_name) {
        _cleanup_close_ int fd = open_storage(root_fd, storage_name);
        return fd < 0 ? fd : guarded(fd);
}

static bool test_old_api(void) {
        const char *e = secure_getenv(HOME_GUARD_TEST_OLD_API_ENV);
        return e && strcmp(e, "1") == 0;
}

/* Before Linux 5.12 (no mount_setattr): a bind mount, then a remount that
 * sets the options. A bind remount replaces all of a mount's own options,
 * so those the storage's mount has (ro, atime) are passed on. */
static int guard_old_api(const char *user, int root_fd, const char *storage_name, int fd) {
        static const struct {
                unsigned long st, ms;
        } keep[] = {
                { ST_RDONLY, MS_RDONLY }, { ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME },
                { ST_RELATIME, MS_RELATIME },
        };
        unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        struct statvfs sv;
        struct statx before, after;
        char path[64];

        if (fstatvfs(fd, &sv) < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &before) < 0)
                return log_error_errno(errno, "home %s: cannot stat its storage: %m", user);
        for (size_t i = 0; i < ELEMENTSOF(keep); i++)
                if (sv.f_flag & keep[i].st)
                        flags |= keep[i].ms;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (mount(path, path, NULL, MS_BIND, NULL) < 0)
                return log_error_errno(errno, "home %s: cannot bind-mount its storage onto itself: %m", user);
        /* The new mount, not the directory under it. */
        _cleanup_close_ int top = open_storage(root_fd, storage_name);
        if (top < 0)
                return log_error_errno(top, "home %s: cannot open the guard of its storage: %m", user);
        snprintf(path, sizeof path, "/proc/self/fd/%d", top);
        if (statx(top, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &after) < 0 || !mount_root(&after) ||
            after.stx_ino != before.stx_ino || after.stx_dev_major != before.stx_dev_major ||
            after.stx_dev_minor != before.stx_dev_minor)
                return log_error_errno(EBUSY, "home %s: its storage changed while it was guarded", user);
        if (mount(NULL, path, NULL, flags, NULL) < 0) {
                int r = log_error_errno(errno, "home %s: cannot make the guard of its storage nosuid,nodev,noexec: %m",
                                        user);
                (void) umount2(path, MNT_DETACH);
                return r;
        }
        return 1;
}

int home_guard(const char *user, int root_fd, const char *storage_name) {
        _cleanup_close_ int fd = open_storage(root_fd, storage_name), tree = -1;
        int r;

        if (fd == -ENOENT)
                return fd;
        if (fd < 0)
                return log_error_errno(fd, "home %s: cannot open its storage: %m", user);
        r = guarded(fd);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot stat its storage: %m", user);
        if (r > 0)
                return 0;
        if (test_old_api())
                return guard_old_api(user, root_fd, storage_name, fd);

        /* A copy of the storage's mount, rooted at the storage, not yet
         * anywhere: set its options, then put it on the storage. */
        tree = sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (tree < 0) {
                if (errno == ENOSYS)
                        return guard_old_api(user, root_fd, storage_name, fd);
                return log_error_errno(errno, "home %s: cannot clone the mount of its storage: %m", user);
        }
        struct hearth_mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
        if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) < 0) {
                if (errno == ENOSYS)
                        return guard_old_api(user, root_fd, storage_name, fd);
                return log_error_errno(errno, "home %s: cannot make the guard of its storage nosuid,nodev,noexec: %m",
                                       user);
        }
        if (sys_move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return log_error_errno(errno, "home %s: cannot mount the guard of its storage: %m", user);
        return 1;
}

int home_unguard(const char *user, int root_fd, const char *storage_name) {
        for (int n = 0;; n++) {
                _cleanup_close_ int fd = open_storage(root_fd, storage_name);
                struct statx stx;
                char path[64];

                if (fd == -ENOENT)
                        return n;
                if (fd < 0)
                        return log_error_errno(fd, "home %s: cannot open its storage: %m", user);
                if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
                        return log_error_errno(errno, "home %s: cannot stat its storage: %m", user);
                if (!mount_root(&stx))
                        return n;
                if (n == GUARD_UNMOUNT_MAX)
                        return log_error_errno(EBUSY, "home %s: more than %d mounts on its storage", user,
                                               GUARD_UNMOUNT_MAX);
                /* Detached: fd itself holds the mount, and so may a process
                 * still inside, which keeps it with its options. */
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
                if (umount2(path, MNT_DETACH) < 0)
                        return log_error_errno(errno, "home %s: cannot unmount the guard of its storage: %m", user);
        }
}
