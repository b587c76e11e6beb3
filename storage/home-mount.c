/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A home's storage mounted at its homeDirectory while it is active: the
 * mount point's life, and what "active" means for a home without a
 * device of its own (a mount showing its storage there). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "home.h"
#include "home-layout.h"
#include "idmap.h"
#include "log.h"
#include "macro.h"

static bool mount_root(const struct statx *stx) {
        return (stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

int home_mount_state(Home *h, int storage_fd) {
        struct statx stx;
        struct stat st;

        if (statx(h->root_fd, h->name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->path);
        }
        if (!mount_root(&stx))
                return 0;
        if (fstat(storage_fd, &st) < 0)
                return log_error_errno(errno, "home %s: cannot stat its storage: %m", h->name);
        /* An ID-mapped mount shows the same inode as the storage itself. */
        if (stx.stx_ino == st.st_ino && makedev(stx.stx_dev_major, stx.stx_dev_minor) == st.st_dev)
                return 1;
        return log_error_errno(EBUSY, "home %s: something else is mounted on %s", h->name, h->path);
}

static int mount_point_check(Home *h, bool quiet) {
        struct statx stx;

        if (statx(h->root_fd, h->name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) {
                if (errno == ENOENT)
                        return 0;
                return quiet ? negative_errno() : log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->path);
        }
        if (S_ISDIR(stx.stx_mode) && stx.stx_uid == 0 && !mount_root(&stx)) {
                int fd = openat(h->root_fd, h->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                bool empty = d != NULL;
                struct dirent *de;
                if (!d && fd >= 0)
                        close(fd);
                if (d) {
                        while (empty && (de = readdir(d)))
                                empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
                        closedir(d);
                }
                if (empty)
                        return 1;
        }
        return quiet ? -EEXIST : log_error_errno(EEXIST, "home %s: %s already exists", h->name, h->path);
}

int home_mount_point_free(Home *h) {
        return mount_point_check(h, false);
}

/* What getpwuid_r() and getgrgid_r() answer for "no such ID" besides 0
 * with no entry (their manual page lists these as seen elsewhere). */
static bool nss_not_found(int e) {
        return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

#define NSS_BUFFER_MAX (1024 * 1024)

/* The name NSS knows uid by, as a user (or, group set, as a GID): 1 and
 * *ret, or 0 if none. A lookup that fails otherwise (a directory service
 * not answering) fails: the refusal must not depend on it. */
static int nss_name(uid_t uid, bool group, char **ret) {
        for (size_t size = 4096;; size *= 4) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *p = NULL;
                struct group gr, *g = NULL;

                if (!buf)
                        return -ENOMEM;
                int e = group ? getgrgid_r((gid_t) uid, &gr, buf, size, &g) : getpwuid_r(uid, &pw, buf, size, &p);
                if (e == ERANGE && size < NSS_BUFFER_MAX)
                        continue;
                const char *name = p ? p->pw_name : g ? g->gr_name : NULL;
                if (name)
                        return (*ret = strdup(name)) ? 1 : -ENOMEM;
                return nss_not_found(e) ? 0 : -e;
        }
}

/* The map gives what owner owns on disk (UID, and GID of the same number)
 * to her. If owner is another user of this machine, that user owns her
 * storage on disk and can reach her files there directly: refused, for an
 * admin to change the owner (chown -R while the home is inactive, with
 * that user logged out; not done here, as open files of that user would
 * keep their access). Stored as nobody, as her UID, or as a UID no one has
 * here (a home from another machine) is fine. */
static int check_stored_owner(Home *h, int storage_fd) {
        _cleanup_free_ char *user = NULL, *group = NULL;
        struct stat st;

        if (fstat(storage_fd, &st) < 0)
                return log_error_errno(errno, "home %s: cannot stat its storage: %m", h->name);
        if (st.st_uid == UID_NOBODY || st.st_uid == h->rec->uid)
                return 0;
        int r = nss_name(st.st_uid, false, &user);
        if (r == 0)
                r = nss_name(st.st_uid, true, &group);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "home %s: cannot look up UID %u, which its storage is stored under: %m",
                                       h->name, st.st_uid);
        if (user)
                return log_error_errno(EUCLEAN, "home %s: stored under UID %u, which belongs to %s; change its owner "
                                       "first", h->name, st.st_uid, user);
        if (group)
                return log_error_errno(EUCLEAN, "home %s: stored under UID %u, which is the GID of group %s; change "
                                       "its owner first", h->name, st.st_uid, group);
        return 0;
}

int home_mount(Home *h, int storage_fd) {
        int r = home_mount_state(h, storage_fd);
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: already active", h->name);
        if (r < 0)
                return r;
        r = home_mount_point_free(h);
        if (r < 0)
                return r;
        bool made = r == 0;
        r = check_stored_owner(h, storage_fd);
        if (r < 0)
                return r;
        /* Gone (unmounted by hand, or never made: a home from before the
         * guards, one copied in while hearthd was not running): made again
         * before she can make set-UID files through her mount. */
        r = home_guard_storage(h);
        if (r < 0)
                return r;
        if (made && mkdirat(h->root_fd, h->name, 0700) < 0)
                return log_error_errno(errno, "home %s: cannot create mount point %s: %m", h->name, h->path);
        unsigned changed;
        r = idmap_mount_home(h->name, storage_fd, h->root_fd, h->name, h->rec->uid, true, &changed);
        if (r < 0) {
                if (made)
                        (void) unlinkat(h->root_fd, h->name, AT_REMOVEDIR);
                return r;
        }
        if (r == IDMAP_MOUNTED_CHOWNED)
                home_notice(h, "file system cannot ID-map, changed owners instead (%u files and directories)", changed);
        else if (r == IDMAP_MOUNTED_AS_IS)
                home_notice(h, "file system cannot ID-map; mounted as it is (other home UIDs' files show as theirs)");
        return 0;
}

int home_unmount(Home *h, int storage_fd) {
        int r = home_mount_state(h, storage_fd);
        if (r == 0)
                return log_error_errno(ENOTCONN, "home %s: not active", h->name);
        if (r < 0)
                return r;
        {
                /* What the user wrote is on disk before she loses the way to it. */
                _cleanup_close_ int fd = openat(h->root_fd, h->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        (void) syncfs(fd);
        }
        if (umount2(h->path, UMOUNT_NOFOLLOW) < 0) {
                if (errno != EBUSY)
                        return log_error_errno(errno, "home %s: cannot unmount %s: %m", h->name, h->path);
                if (!h->force)
                        return log_error_errno(EBUSY, "home %s: busy: files in %s are open (force to detach anyway)",
                                               h->name, h->path);
                if (umount2(h->path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return log_error_errno(errno, "home %s: cannot detach %s: %m", h->name, h->path);
        }
        home_mount_point_remove(h);
        return 0;
}

void home_mount_point_remove(Home *h) {
        if (mount_point_check(h, true) > 0 && unlinkat(h->root_fd, h->name, AT_REMOVEDIR) < 0)
                log_debug_errno(errno, "home %s: cannot remove mount point %s: %m", h->name, h->path);
}
