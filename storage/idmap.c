/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ID-mapped mounts with homed's maps; see idmap.h for the map and why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idmap.h"
#include "log.h"
#include "macro.h"
#include "mount-api.h"
#include "user-record.h"

/* ---- the map ------------------------------------------------------------------ */

static bool valid_id(uid_t id) {
        return id != (uid_t) -1 && id != (uid_t) 0xFFFF; /* -1 and the 16-bit -1 are never IDs */
}

/* [start, end) as identity, less except: zero, one or two ranges. */
static size_t identity_less(uint32_t start, uint32_t end, uid_t except, IdmapRange *out) {
        size_t n = 0;
        if (except < start || except >= end) {
                out[n++] = (IdmapRange) { start, start, end - start };
                return n;
        }
        if (except > start)
                out[n++] = (IdmapRange) { start, start, except - start };
        if (except + 1 < end)
                out[n++] = (IdmapRange) { except + 1, except + 1, end - except - 1 };
        return n;
}

int idmap_ranges(uid_t stored, uid_t exposed, IdmapRange ret[IDMAP_RANGES_MAX]) {
        size_t n = 0;

        if (!valid_id(stored) || !valid_id(exposed))
                return -EINVAL;
        /* exposed appears once on the outside: as the image of stored only. */
        if (exposed != stored && !valid_home_uid(exposed))
                return -EINVAL;
        n += identity_less(0, HOME_UID_MIN, stored, ret + n);
        ret[n++] = (IdmapRange) { stored, exposed, 1 };
        n += identity_less(HOME_UID_MAX + 1, IDMAP_UID_NOBODY, stored, ret + n);
        return (int) n;
}

int idmap_format(const IdmapRange *ranges, size_t n, char *buf, size_t size) {
        size_t len = 0;
        if (size == 0)
                return -ENOBUFS;
        buf[0] = 0;
        for (size_t i = 0; i < n; i++) {
                int k = snprintf(buf + len, size - len, "%u %u %u\n", ranges[i].stored, ranges[i].exposed,
                                 ranges[i].count);
                if (k < 0 || (size_t) k >= size - len)
                        return -ENOBUFS;
                len += (size_t) k;
        }
        return 0;
}

uid_t idmap_lookup(const IdmapRange *ranges, size_t n, uid_t stored) {
        for (size_t i = 0; i < n; i++)
                if (stored >= ranges[i].stored && stored - ranges[i].stored < ranges[i].count)
                        return ranges[i].exposed + (stored - ranges[i].stored);
        return (uid_t) -1;
}

bool idmap_stored_owner_ok(uid_t uid) {
        return uid == IDMAP_UID_NOBODY || valid_home_uid(uid);
}

/* ---- the user namespace ---------------------------------------------------------- */

static int write_map(pid_t pid, const char *which, const char *text) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, which);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* The kernel takes a map in one write only. */
        size_t len = strlen(text);
        ssize_t k = write(fd, text, len);
        if (k < 0)
                return negative_errno();
        return (size_t) k == len ? 0 : -EIO;
}

static bool cannot_userns(int r) {
        /* Off (max_user_namespaces=0: ENOSPC), not built (EINVAL), or refused here. */
        return r == -ENOSPC || r == -EINVAL || r == -EPERM || r == -ENOSYS || r == -EOPNOTSUPP;
}

int idmap_userns(const char *name, uid_t stored, uid_t exposed) {
        IdmapRange ranges[IDMAP_RANGES_MAX];
        char text[IDMAP_TEXT_MAX], c = 0;
        int ready[2], hold[2], r, status;

        r = idmap_ranges(stored, exposed, ranges);
        if (r < 0)
                return log_error_errno(r, "home %s: no ID map from %u to %u", name, stored, exposed);
        r = idmap_format(ranges, (size_t) r, text, sizeof text);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot write the ID map: %m", name);

        if (pipe2(ready, O_CLOEXEC) < 0)
                return log_error_errno(errno, "home %s: cannot make a pipe: %m", name);
        if (pipe2(hold, O_CLOEXEC) < 0) {
                r = log_error_errno(errno, "home %s: cannot make a pipe: %m", name);
                close(ready[0]);
                close(ready[1]);
                return r;
        }
        /* A child holds the namespace while its maps are written and it is
         * opened; it waits for hold to close (also when we die), then exits.
         * Only async-signal-safe calls in it. */
        pid_t pid = fork();
        if (pid < 0) {
                r = log_error_errno(errno, "home %s: cannot fork: %m", name);
                close(ready[0]);
                close(ready[1]);
                close(hold[0]);
                close(hold[1]);
                return r;
        }
        if (pid == 0) {
                close(ready[0]);
                close(hold[1]);
                int e = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
                if (write(ready[1], &e, sizeof e) != (ssize_t) sizeof e)
                        _exit(1);
                while (read(hold[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(e ? 1 : 0);
        }
        close(ready[1]);
        close(hold[0]);

        int e = 0, fd = -1;
        ssize_t k;
        while ((k = read(ready[0], &e, sizeof e)) < 0 && errno == EINTR)
                ;
        close(ready[0]);
        if (k != (ssize_t) sizeof e)
                r = -EIO;
        else if (e != 0)
                r = -e;
        else if ((r = write_map(pid, "uid_map", text)) >= 0 && (r = write_map(pid, "gid_map", text)) >= 0) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                r = fd < 0 ? negative_errno() : 0;
        }
        close(hold[1]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        if (r >= 0)
                                r = negative_errno();
                        break;
                }
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                if (cannot_userns(r)) {
                        log_debug_errno(r, "home %s: cannot make a user namespace: %m", name);
                        return -EOPNOTSUPP;
                }
                return log_error_errno(r, "home %s: cannot make the user namespace of the ID map: %m", name);
        }
        return fd;
}

/* ---- mounts --------------------------------------------------------------------- */

bool idmap_test_refused(void) {
        const char *e = secure_getenv(IDMAP_TEST_REFUSE_ENV);
        return e && strcmp(e, "1") == 0;
}

/* What mount_setattr() answers where ID-mapping is not possible: the file
 * system cannot (EINVAL), no such call (ENOSYS), not allowed here (EPERM). */
static bool cannot_idmap(int r) {
        return r == -EINVAL || r == -ENOSYS || r == -EPERM || r == -EOPNOTSUPP;
}

/* attr_clr: options of the cloned mount taken off (the guard's noexec). */
static int clone_mapped(const char *name, int dir_fd, uid_t stored, uid_t exposed, uint64_t attr_clr,
                        int *ret_mount_fd) {
        _cleanup_close_ int mount_fd = -1, userns_fd = -1;

        if (idmap_test_refused())
                return -EOPNOTSUPP;
        mount_fd = sys_open_tree(dir_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (mount_fd < 0) {
                if (errno == ENOSYS)
                        return -EOPNOTSUPP;
                return log_error_errno(errno, "home %s: cannot clone the mount of its storage: %m", name);
        }
        userns_fd = idmap_userns(name, stored, exposed);
        if (userns_fd < 0)
                return userns_fd;
        struct hearth_mount_attr attr = {
                .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                .attr_clr = attr_clr,
                .userns_fd = (uint64_t) userns_fd,
        };
        if (sys_mount_setattr(mount_fd, "", AT_EMPTY_PATH, &attr) < 0) {
                int r = negative_errno();
                if (cannot_idmap(r)) {
                        log_debug_errno(r, "home %s: mount_setattr(MOUNT_ATTR_IDMAP): %m", name);
                        return -EOPNOTSUPP;
                }
                return log_error_errno(r, "home %s: cannot ID-map the mount of its storage: %m", name);
        }
        *ret_mount_fd = TAKE_FD(mount_fd);
        return 0;
}

int idmap_clone(const char *name, int dir_fd, uid_t stored, uid_t exposed, int *ret_mount_fd) {
        return clone_mapped(name, dir_fd, stored, exposed, 0, ret_mount_fd);
}

/* The fallback: an ordinary bind mount, then nosuid,nodev (and noexec as
 * noexec says). Through /proc/self/fd, so that neither side is looked up by
 * path again. */
static int bind_mount(const char *name, int storage_fd, int target_dir_fd, const char *target_name, bool noexec) {
        char from[64], to[64];
        _cleanup_close_ int target = openat(target_dir_fd, target_name,
                                            O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (target < 0)
                return log_error_errno(errno, "home %s: cannot open its mount point: %m", name);
        snprintf(from, sizeof from, "/proc/self/fd/%d", storage_fd);
        snprintf(to, sizeof to, "/proc/self/fd/%d", target);
        if (mount(from, to, NULL, MS_BIND, NULL) < 0)
                return log_error_errno(errno, "home %s: cannot bind-mount its storage: %m", name);
        /* The new mount, not the directory under it. */
        _cleanup_close_ int top = openat(target_dir_fd, target_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top >= 0) {
                snprintf(to, sizeof to, "/proc/self/fd/%d", top);
                if (mount(NULL, to, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (noexec ? MS_NOEXEC : 0),
                          NULL) >= 0)
                        return 0;
        }
        int r = log_error_errno(errno, "home %s: cannot make its mount nosuid,nodev: %m", name);
        (void) umount2(to, MNT_DETACH);
        return r;
}

int idmap_mount_home(const char *name, int storage_fd, int target_dir_fd, const char *target_name, uid_t exposed,
                     bool guarded, unsigned *ret_changed) {
        _cleanup_close_ int mount_fd = -1;
        struct stat st;
        int r;

        if (ret_changed)
                *ret_changed = 0;
        if (fstat(storage_fd, &st) < 0)
                return log_error_errno(errno, "home %s: cannot stat its storage: %m", name);
        if (!idmap_stored_owner_ok(st.st_uid))
                return log_error_errno(EUCLEAN, "home %s: its storage is owned by UID %u, neither nobody nor a home "
                                       "UID; refusing to give that UID's files to the user", name, st.st_uid);

        /* The storage's guard (home-guard.h) is noexec, and so is a clone of
         * it: a guarded home is as executable as the home root's own mount;
         * any other keeps its storage's mount options. */
        struct statvfs sv;
        if (guarded ? fstatvfs(target_dir_fd, &sv) < 0 : fstatvfs(storage_fd, &sv) < 0)
                return log_error_errno(errno, "home %s: cannot stat the file system of its %s: %m", name,
                                       guarded ? "mount point" : "storage");
        bool noexec = sv.f_flag & ST_NOEXEC;
        r = clone_mapped(name, storage_fd, st.st_uid, exposed, guarded && !noexec ? MOUNT_ATTR_NOEXEC : 0, &mount_fd);
        if (r >= 0) {
                if (sys_move_mount(mount_fd, "", target_dir_fd, target_name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        return log_error_errno(errno, "home %s: cannot mount its storage: %m", name);
                return IDMAP_MOUNTED_MAPPED;
        }
        if (r != -EOPNOTSUPP)
                return r;

        IdmapMounted how = IDMAP_MOUNTED_AS_IS;
        if (st.st_uid != exposed || st.st_gid != (gid_t) exposed) {
                r = idmap_chown_tree(name, storage_fd, st.st_uid, exposed);
                if (r < 0)
                        return r;
                if (ret_changed)
                        *ret_changed = (unsigned) r;
                how = IDMAP_MOUNTED_CHOWNED;
        }
        r = bind_mount(name, storage_fd, target_dir_fd, target_name, noexec);
        return r < 0 ? r : (int) how;
}

static int populate_via(const char *name, int storage_fd, uid_t stored, uid_t exposed, IdmapPopulate populate,
                        void *userdata, bool fallback, bool *ret_unmapped) {
        _cleanup_close_ int mount_fd = -1;
        int r;

        if (ret_unmapped)
                *ret_unmapped = false;
        if (stored == exposed)
                return fallback ? populate(storage_fd, userdata) : -EOPNOTSUPP;
        r = idmap_clone(name, storage_fd, stored, exposed, &mount_fd);
        if (r == -EOPNOTSUPP) {
                if (!fallback)
                        return r;
                if (ret_unmapped)
                        *ret_unmapped = true;
                return populate(storage_fd, userdata);
        }
        if (r < 0)
                return r;
        /* open_tree() gives an O_PATH fd: no fchown(), no fdopendir() on it. */
        _cleanup_close_ int root_fd = openat(mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return log_error_errno(errno, "home %s: cannot open the ID-mapped view of its storage: %m", name);
        return populate(root_fd, userdata);
}

int idmap_populate(const char *name, int storage_fd, uid_t stored, uid_t exposed, IdmapPopulate populate,
                   void *userdata, bool *ret_unmapped) {
        return populate_via(name, storage_fd, stored, exposed, populate, userdata, true, ret_unmapped);
}

int idmap_populate_mapped(const char *name, int storage_fd, uid_t stored, uid_t exposed, IdmapPopulate populate,
                          void *userdata) {
        return populate_via(name, storage_fd, stored, exposed, populate, userdata, false, NULL);
}

/* ---- the fallback's chown --------------------------------------------------------- */

/* Changes the inode open as fd (O_PATH is enough) if it is from's. */
static int chown_one(int fd, uid_t uid, gid_t gid, uid_t from, uid_t to) {
        uid_t u = uid == from ? to : (uid_t) -1;
        gid_t g = gid == (gid_t) from ? (gid_t) to : (gid_t) -1;
        if (u == (uid_t) -1 && g == (gid_t) -1)
                return 0;
        if (fchownat(fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        return 1;
}

/* Whether the entry open as fd is where something is mounted: such a file
 * system, or file bound there, is not the home's. A subvolume made inside
 * the home is (btrfs gives it its own st_dev: not the test). */
static bool is_mount_root(const struct statx *stx, dev_t parent_dev) {
        if (stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
                return stx->stx_attributes & STATX_ATTR_MOUNT_ROOT;
        return makedev(stx->stx_dev_major, stx->stx_dev_minor) != parent_dev; /* before Linux 5.8 */
}

struct chown_frame {
        DIR *dir;
        uid_t uid;
        gid_t gid;
        dev_t dev;
};

int idmap_chown_tree(const char *name, int fd, uid_t from, uid_t to) {
        struct chown_frame stack[IDMAP_CHOWN_DEPTH_MAX];
        size_t depth = 0;
        struct stat top;
        int r = 0, changed = 0;

        if (fstat(fd, &top) < 0)
                return log_error_errno(errno, "home %s: cannot stat its storage: %m", name);
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                r = log_error_errno(errno, "home %s: cannot open its storage: %m", name);
                if (dfd >= 0)
                        close(dfd);
                return r;
        }
        stack[depth++] = (struct chown_frame) { d, top.st_uid, top.st_gid, top.st_dev };

        while (depth > 0 && r >= 0) {
                struct chown_frame *f = &stack[depth - 1];
                struct dirent *de;
                errno = 0;
                de = readdir(f->dir);
                if (!de) {
                        if (errno != 0) {
                                r = log_error_errno(errno, "home %s: cannot read a directory of its storage: %m",
                                                    name);
                                break;
                        }
                        /* Post-order: a directory after what it holds. */
                        int k = chown_one(dirfd(f->dir), f->uid, f->gid, from, to);
                        if (k < 0) {
                                r = log_error_errno(k, "home %s: cannot change the owner of a directory: %m", name);
                                break;
                        }
                        changed += k;
                        closedir(f->dir);
                        depth--;
                        continue;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;

                struct statx stx;
                _cleanup_close_ int e = openat(dirfd(f->dir), de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (e < 0 && errno == ENOENT)
                        continue; /* gone meanwhile */
                if (e < 0 || statx(e, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) {
                        r = log_error_errno(errno, "home %s: cannot open %s in its storage: %m", name, de->d_name);
                        break;
                }
                if (is_mount_root(&stx, f->dev))
                        continue;
                if (!S_ISDIR(stx.stx_mode)) {
                        int k = chown_one(e, stx.stx_uid, stx.stx_gid, from, to);
                        if (k < 0) {
                                r = log_error_errno(k, "home %s: cannot change the owner of %s: %m", name, de->d_name);
                                break;
                        }
                        changed += k;
                        continue;
                }
                if (depth == IDMAP_CHOWN_DEPTH_MAX) {
                        r = log_error_errno(ELOOP, "home %s: cannot change owners: directories nested deeper than %d "
                                            "levels", name, IDMAP_CHOWN_DEPTH_MAX);
                        break;
                }
                /* The directory just checked, not what the name holds now. */
                int sub = openat(e, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub < 0) {
                        r = log_error_errno(errno, "home %s: cannot open %s in its storage: %m", name, de->d_name);
                        break;
                }
                stack[depth].dir = fdopendir(sub);
                if (!stack[depth].dir) {
                        r = log_oom();
                        close(sub);
                        break;
                }
                stack[depth].uid = stx.stx_uid;
                stack[depth].gid = stx.stx_gid;
                stack[depth].dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
                depth++;
        }
        while (depth > 0)
                closedir(stack[--depth].dir);
        return r < 0 ? r : changed;
}
