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

/* A sysfs size or start attribute (512-byte sectors) in bytes. */
static int read_sectors(const char *path, uint64_t *ret) {
        char text[32];
        uint64_t sectors;
        sysfs_read_line(path, text, sizeof text);
        if (sscanf(text, "%" SCNu64, &sectors) != 1 || sectors > UINT64_MAX / 512)
                return -EIO;
        *ret = sectors * 512;
        return 0;
}

int block_device_members(dev_t devnum, BlockMember m[static BLOCK_MEMBERS_MAX], size_t *ret_n) {
        char sys[64], real[PATH_MAX];
        size_t n = 0;

        *ret_n = 0;
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        if (!realpath(sys, real))
                return negative_errno();
        m[n] = (BlockMember) { .devnum = devnum };
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/size", major(devnum), minor(devnum));
        if (read_sectors(sys, &m[n].size) < 0)
                return -EIO;
        snprintf(m[n].name, sizeof m[n].name, "%s", strrchr(real, '/') + 1);
        n++;
        _cleanup_dir_ DIR *d = opendir(real);
        if (!d)
                return negative_errno();
        for (struct dirent *e; (e = readdir(d));) {
                char path[PATH_MAX + NAME_MAX + 16], dev[32], start[32];
                unsigned maj, min;
                uint64_t sectors, size;

                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s/partition", real, e->d_name);
                if (access(path, F_OK) < 0)
                        continue;
                snprintf(path, sizeof path, "%s/%s/size", real, e->d_name);
                if (read_sectors(path, &size) < 0)
                        return -EIO;
                snprintf(path, sizeof path, "%s/%s/dev", real, e->d_name);
                sysfs_read_line(path, dev, sizeof dev);
                snprintf(path, sizeof path, "%s/%s/start", real, e->d_name);
                sysfs_read_line(path, start, sizeof start);
                if (sscanf(dev, "%u:%u", &maj, &min) != 2 || sscanf(start, "%" SCNu64, &sectors) != 1 ||
                    sectors > UINT64_MAX / 512)
                        return -EIO;
                if (n >= BLOCK_MEMBERS_MAX)
                        return -E2BIG;
                m[n] = (BlockMember) { .devnum = makedev(maj, min), .start = sectors * 512, .size = size };
                snprintf(m[n].name, sizeof m[n].name, "%s", e->d_name);
                n++;
        }
        *ret_n = n;
        return 0;
}

int block_device_on_disk(dev_t devnum, BlockMember *ret_disk, uint64_t *ret_start, uint64_t *ret_size) {
        char path[96], dev[32], sys[64], real[PATH_MAX];
        unsigned maj, min;
        uint64_t start = 0, size;

        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/size", major(devnum), minor(devnum));
        if (read_sectors(path, &size) < 0)
                return -EIO;
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/partition", major(devnum), minor(devnum));
        if (access(path, F_OK) == 0) {
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/start", major(devnum), minor(devnum));
                if (read_sectors(path, &start) < 0)
                        return -EIO;
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/../dev", major(devnum), minor(devnum));
                sysfs_read_line(path, dev, sizeof dev);
                if (sscanf(dev, "%u:%u", &maj, &min) != 2)
                        return -EIO;
                devnum = makedev(maj, min);
        }
        *ret_disk = (BlockMember) { .devnum = devnum };
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        if (!realpath(sys, real))
                return negative_errno();
        snprintf(ret_disk->name, sizeof ret_disk->name, "%s", strrchr(real, '/') + 1);
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/size", major(devnum), minor(devnum));
        if (read_sectors(path, &ret_disk->size) < 0)
                return -EIO;
        *ret_start = start;
        *ret_size = size;
        return 0;
}

FileAlias loop_file_alias(const char *name, dev_t dev, ino_t ino, char *ret_path) {
        char path[PATH_MAX], backing[PATH_MAX];
        FileId named;

        if (ret_path)
                ret_path[0] = 0;
        snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", name);
        sysfs_read_line(path, backing, sizeof backing);
        char *deleted = strstr(backing, " (deleted)");
        if (!backing[0] || (deleted && !deleted[strlen(" (deleted)")]) || file_id_of_path(backing, &named) < 0 ||
            named.dev != dev || named.ino != ino)
                return FILE_ALIAS_INODE;
        if (ret_path)
                memcpy(ret_path, backing, sizeof backing);
        return named.alias;
}

/* What a storage path stands on, as byte ranges of what lies at the
 * bottom: whole disks (a partition is its range of its disk) and regular
 * files (an image, or the file behind a loop device). Two paths share
 * storage when two ranges of the same disk or file intersect. */
typedef struct Extent {
        bool file;
        dev_t dev;   /* the disk; for a file, its file system */
        ino_t ino;   /* for a file */
        FileAlias alias; /* for a file */
        uint64_t start, end; /* bytes, end exclusive */
} Extent;

#define EXTENTS_MAX 64

typedef struct Footprint {
        Extent e[EXTENTS_MAX];
        size_t n;
} Footprint;

static int footprint_add(Footprint *f, Extent e) {
        if (e.end <= e.start)
                return 0;
        if (f->n >= EXTENTS_MAX)
                return -E2BIG;
        f->e[f->n++] = e;
        return 0;
}

/* /sys/dev/block/M:m/<attr> as a number, or UINT64_MAX. */
static uint64_t sysfs_u64(dev_t devnum, const char *attr) {
        char path[96], text[32];
        unsigned long long v;
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/%s", major(devnum), minor(devnum), attr);
        sysfs_read_line(path, text, sizeof text);
        return sscanf(text, "%llu", &v) == 1 ? (uint64_t) v : UINT64_MAX;
}

/* A block device's range [start, end) of bytes, within it, narrowed to
 * what lies at the bottom. */
static int footprint_block(Footprint *f, dev_t devnum, uint64_t start, uint64_t end, unsigned depth) {
        char path[96], dev[32], dm[128], node[NAME_MAX + 8], real[PATH_MAX];
        unsigned maj, min;
        int r;

        if (depth >= 8)
                return -ELOOP;
        uint64_t sectors = sysfs_u64(devnum, "size");
        if (sectors == UINT64_MAX || sectors > UINT64_MAX / 512)
                return -EIO;
        end = end < sectors * 512 ? end : sectors * 512;

        /* A partition: its range of its disk. */
        BlockMember disk;
        uint64_t first, size;
        if ((r = block_device_on_disk(devnum, &disk, &first, &size)) < 0)
                return r;
        if (disk.devnum != devnum) {
                if (first > UINT64_MAX / 2)
                        return -EIO;
                return footprint_block(f, disk.devnum, first + start, first + end, depth + 1);
        }

        /* A device-mapper table, an md array or a bcache device stands on
         * its slaves (wholly: a table's ranges are not read). Not the
         * extent pool's volumes: they share their PVs by design, in extents
         * that never overlap (the pool's allocator), and the pool's devices
         * are refused as such (pool_device_is_pv()). */
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/dm/name", major(devnum), minor(devnum));
        sysfs_read_line(path, dm, sizeof dm);
        if (strncmp(dm, POOL_DM_PREFIX, strlen(POOL_DM_PREFIX)) != 0) {
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/slaves", major(devnum), minor(devnum));
                _cleanup_dir_ DIR *d = opendir(path);
                bool any = false;
                for (struct dirent *e; d && (e = readdir(d));) {
                        char sub[PATH_MAX + NAME_MAX + 8];
                        if (e->d_name[0] == '.')
                                continue;
                        snprintf(sub, sizeof sub, "%s/%s/dev", path, e->d_name);
                        sysfs_read_line(sub, dev, sizeof dev);
                        if (sscanf(dev, "%u:%u", &maj, &min) != 2)
                                return -EIO;
                        if ((r = footprint_block(f, makedev(maj, min), 0, UINT64_MAX, depth + 1)) < 0)
                                return r;
                        any = true;
                }
                if (any)
                        return 0;
        }

        /* A bound loop device: its range of what backs it. */
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/loop", major(devnum), minor(devnum));
        snprintf(dev, sizeof dev, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        if (access(path, F_OK) == 0 && realpath(dev, real)) {
                snprintf(node, sizeof node, "/dev/%s", strrchr(real, '/') + 1);
                _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                struct loop_info64 info;
                struct stat st;
                if (fd >= 0 && fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == devnum &&
                    ioctl(fd, LOOP_GET_STATUS64, &info) == 0) {
                        uint64_t off = info.lo_offset, lim = info.lo_sizelimit ? info.lo_sizelimit : UINT64_MAX;
                        uint64_t s = off + start, e = end > lim ? off + lim : off + end;
                        if (s < off || e < off)
                                e = UINT64_MAX; /* overflow: to the end */
                        if (info.lo_rdevice != 0)
                                return footprint_block(f, (dev_t) info.lo_rdevice, s, e, depth + 1);
                        FileId id = { .dev = (dev_t) info.lo_device, .ino = (ino_t) info.lo_inode };
                        return footprint_add(f, (Extent) { .file = true, .dev = id.dev, .ino = id.ino,
                                                           .alias = loop_file_alias(strrchr(real, '/') + 1, id.dev, id.ino, NULL),
                                                           .start = s, .end = e });
                }
        }
        return footprint_add(f, (Extent) { .dev = devnum, .start = start, .end = end });
}

static int footprint_of(const char *path, Footprint *f) {
        struct stat st;
        FileId id;

        *f = (Footprint) {};
        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISREG(st.st_mode)) {
                int r = file_id_of_path(path, &id);
                if (r < 0)
                        return r;
                return footprint_add(f, (Extent) { .file = true, .dev = id.dev, .ino = id.ino, .alias = id.alias,
                                                   .start = 0, .end = UINT64_MAX });
        }
        if (!S_ISBLK(st.st_mode))
                return 0;
        return footprint_block(f, st.st_rdev, 0, UINT64_MAX, 0);
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
        for (size_t i = 0; i < fa->n; i++)
                for (size_t j = 0; j < fb->n; j++) {
                        const Extent *x = &fa->e[i], *y = &fb->e[j];
                        bool same;
                        if (x->file != y->file)
                                continue;
                        if (x->file)
                                same = file_ids_may_match(&(FileId) { .dev = x->dev, .ino = x->ino, .alias = x->alias },
                                                          &(FileId) { .dev = y->dev, .ino = y->ino, .alias = y->alias });
                        else
                                same = x->dev == y->dev;
                        if (same && x->start < y->end && y->start < x->end)
                                return 1;
                }
        return 0;
}
