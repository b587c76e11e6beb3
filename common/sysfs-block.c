/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/loop.h>

#include "fileio.h"
#include "home-dm.h"
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

/* What a storage path stands on: the block devices whose bytes it is or
 * holds, and the regular file it is or that backs its loop device. */
typedef struct Footprint {
        BlockMember m[BLOCK_MEMBERS_MAX];
        size_t n;
        bool file;
        dev_t file_dev;
        ino_t file_ino;
} Footprint;

static bool footprint_has(const Footprint *f, dev_t devnum) {
        for (size_t i = 0; i < f->n; i++)
                if (f->m[i].devnum == devnum)
                        return true;
        return false;
}

static int footprint_add_members(Footprint *f, dev_t devnum) {
        _cleanup_free_ BlockMember *m = calloc(BLOCK_MEMBERS_MAX, sizeof *m);
        size_t n;
        if (!m)
                return -ENOMEM;
        int r = block_device_members(devnum, m, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (footprint_has(f, m[i].devnum))
                        continue;
                if (f->n >= BLOCK_MEMBERS_MAX)
                        return -E2BIG;
                f->m[f->n++] = m[i];
        }
        return 0;
}

/* A block device: itself, its partitions, the disk it is a partition of,
 * and what backs it if it is a loop device. */
static int footprint_block(Footprint *f, dev_t devnum, unsigned depth) {
        char path[96], dev[32];
        unsigned maj, min;

        int r = footprint_add_members(f, devnum);
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/partition", major(devnum), minor(devnum));
        if (access(path, F_OK) == 0) {
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/../dev", major(devnum), minor(devnum));
                sysfs_read_line(path, dev, sizeof dev);
                if (sscanf(dev, "%u:%u", &maj, &min) != 2)
                        return -EIO;
                if (depth >= 8)
                        return -ELOOP;
                if ((r = footprint_block(f, makedev(maj, min), depth + 1)) < 0)
                        return r;
        }
        /* A device-mapper table stands on its slaves. Not the extent
         * pool's volumes: they share their PVs by design, in extents that
         * never overlap (the pool's allocator), and the pool's devices are
         * refused as such (pool_device_is_pv()). */
        char dm[128];
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/dm/name", major(devnum), minor(devnum));
        sysfs_read_line(path, dm, sizeof dm);
        if (dm[0] && strncmp(dm, POOL_DM_PREFIX, strlen(POOL_DM_PREFIX)) != 0) {
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/slaves", major(devnum), minor(devnum));
                _cleanup_dir_ DIR *d = opendir(path);
                for (struct dirent *e; d && (e = readdir(d));) {
                        char sub[PATH_MAX + NAME_MAX + 8];
                        if (e->d_name[0] == '.')
                                continue;
                        snprintf(sub, sizeof sub, "%s/%s/dev", path, e->d_name);
                        sysfs_read_line(sub, dev, sizeof dev);
                        if (sscanf(dev, "%u:%u", &maj, &min) != 2)
                                return -EIO;
                        if (depth >= 8)
                                return -ELOOP;
                        if ((r = footprint_block(f, makedev(maj, min), depth + 1)) < 0)
                                return r;
                }
        }
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/loop", major(devnum), minor(devnum));
        if (access(path, F_OK) < 0)
                return 0;
        char node[NAME_MAX + 8] = "";
        for (size_t i = 0; i < f->n; i++)
                if (f->m[i].devnum == devnum)
                        snprintf(node, sizeof node, "/dev/%s", f->m[i].name);
        _cleanup_close_ int fd = node[0] ? open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
        struct loop_info64 info;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != devnum ||
            ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
                return 0; /* not bound, or no node to ask: nothing behind it */
        if (info.lo_rdevice != 0) {
                        /* Backed by a block device; a chain of loops ends somewhere. */
                if (depth >= 8)
                        return -ELOOP;
                return footprint_block(f, (dev_t) info.lo_rdevice, depth + 1);
        }
        f->file = true;
        f->file_dev = (dev_t) info.lo_device;
        f->file_ino = (ino_t) info.lo_inode;
        return 0;
}

static int footprint_of(const char *path, Footprint *f) {
        struct stat st;

        *f = (Footprint) {};
        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISREG(st.st_mode)) {
                f->file = true;
                f->file_dev = st.st_dev;
                f->file_ino = st.st_ino;
                return 0;
        }
        if (!S_ISBLK(st.st_mode))
                return 0;
        return footprint_block(f, st.st_rdev, 0);
}

int storage_paths_overlap(const char *a, const char *b) {
        _cleanup_free_ Footprint *fa = calloc(1, sizeof *fa), *fb = calloc(1, sizeof *fb);
        int r;

        if (!fa || !fb)
                return -ENOMEM;
        if (strcmp(a, b) == 0)
                return 1;
        if ((r = footprint_of(a, fa)) < 0 || (r = footprint_of(b, fb)) < 0)
                return r;
        if (fa->file && fb->file && fa->file_dev == fb->file_dev && fa->file_ino == fb->file_ino)
                return 1;
        for (size_t i = 0; i < fa->n; i++)
                if (footprint_has(fb, fa->m[i].devnum))
                        return 1;
        return 0;
}
