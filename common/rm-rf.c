/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "rm-rf.h"

static int rm_rf_children_on(int fd, dev_t dev, RmRfDirHook hook);

static int rm_rf_at_on(int dir_fd, const char *name, dev_t dev, RmRfDirHook hook) {
        struct stat st;
        struct statx stx;
        int r;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;

        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* Never delete into a mounted file system, even the same one bound. */
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0 &&
            (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return -EBUSY;
        if (hook) {
                r = hook(dir_fd, name, fd, &st);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        if (st.st_dev != dev)
                return -EXDEV; /* something mounted there meanwhile: not ours */
        r = rm_rf_children_on(fd, dev, hook);
        if (r < 0)
                return r;
        return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
}

static int rm_rf_children_on(int fd, dev_t dev, RmRfDirHook hook) {
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (dfd < 0)
                return negative_errno();
        d = fdopendir(dfd);
        if (!d) {
                r = negative_errno();
                close(dfd);
                return r;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        int k = rm_rf_at_on(fd, de->d_name, dev, hook);
                        if (k < 0 && r == 0)
                                r = k;
                }
        closedir(d);
        return r;
}

int rm_rf_at(int dir_fd, const char *name, RmRfDirHook hook) {
        struct stat parent;

        if (fstat(dir_fd, &parent) < 0)
                return negative_errno();
        return rm_rf_at_on(dir_fd, name, parent.st_dev, hook);
}

int rm_rf_children(int fd, RmRfDirHook hook) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        return rm_rf_children_on(fd, st.st_dev, hook);
}
