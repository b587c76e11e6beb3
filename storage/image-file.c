/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <linux/fs.h>
#include <linux/magic.h>

#include "image-file.h"
#include "log.h"

static int get_flags(int fd, int *ret) {
        return ioctl(fd, FS_IOC_GETFLAGS, ret) < 0 ? -errno : 0;
}

int image_file_nocow(int fd, const char *what) {
        struct statfs sfs;
        bool cow = fstatfs(fd, &sfs) == 0 && sfs.f_type == (typeof(sfs.f_type)) BTRFS_SUPER_MAGIC;
        int flags = 0, r;

        r = get_flags(fd, &flags);
        if (r >= 0 && !(flags & FS_NOCOW_FL)) {
                int want = flags | FS_NOCOW_FL | FS_NOCOMP_FL;
                /* Without FS_NOCOMP_FL where only that is refused: no
                 * copy-on-write is what counts (and implies no compression). */
                if (ioctl(fd, FS_IOC_SETFLAGS, &want) < 0) {
                        want = flags | FS_NOCOW_FL;
                        r = ioctl(fd, FS_IOC_SETFLAGS, &want) < 0 ? -errno : 0;
                }
                /* Some file systems take flags they do not keep. */
                if (r >= 0 && (r = get_flags(fd, &flags)) >= 0 && !(flags & FS_NOCOW_FL))
                        r = -EOPNOTSUPP;
        }
        if (r < 0 && cow)
                log_warning_errno(r, "%s: btrfs does not turn copy-on-write off for it (%m): old LUKS headers and "
                                  "keyslots may stay on the disk after a password change", what);
        else if (r < 0)
                log_debug_errno(r, "%s: no FS_NOCOW_FL (%m); the file system under it does not copy on write", what);
        return r;
}
