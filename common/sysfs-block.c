/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "sysfs-block.h"

void sysfs_read_line(const char *path, char *buf, size_t size) {
        _cleanup_free_ char *text = NULL;
        buf[0] = 0;
        if (read_file_bounded(path, 4096, &text, NULL) >= 0) {
                text[strcspn(text, "\n")] = 0;
                snprintf(buf, size, "%s", text);
        }
}

int block_device_members(dev_t devnum, BlockMember m[static BLOCK_MEMBERS_MAX], size_t *ret_n) {
        char sys[64], real[PATH_MAX];
        size_t n = 0;

        *ret_n = 0;
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        if (!realpath(sys, real))
                return negative_errno();
        m[n] = (BlockMember) { .devnum = devnum };
        snprintf(m[n].name, sizeof m[n].name, "%s", strrchr(real, '/') + 1);
        n++;
        _cleanup_dir_ DIR *d = opendir(real);
        if (!d)
                return negative_errno();
        for (struct dirent *e; (e = readdir(d));) {
                char path[PATH_MAX + NAME_MAX + 16], dev[32], start[32];
                unsigned maj, min;
                uint64_t sectors;

                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s/partition", real, e->d_name);
                if (access(path, F_OK) < 0)
                        continue;
                snprintf(path, sizeof path, "%s/%s/dev", real, e->d_name);
                sysfs_read_line(path, dev, sizeof dev);
                snprintf(path, sizeof path, "%s/%s/start", real, e->d_name);
                sysfs_read_line(path, start, sizeof start);
                if (sscanf(dev, "%u:%u", &maj, &min) != 2 || sscanf(start, "%" SCNu64, &sectors) != 1 ||
                    sectors > UINT64_MAX / 512)
                        return -EIO;
                if (n >= BLOCK_MEMBERS_MAX)
                        return -E2BIG;
                m[n] = (BlockMember) { .devnum = makedev(maj, min), .start = sectors * 512 };
                snprintf(m[n].name, sizeof m[n].name, "%s", e->d_name);
                n++;
        }
        *ret_n = n;
        return 0;
}
