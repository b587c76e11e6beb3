/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Physical volumes: opening a PV's I/O path (the partition, or its disk
 * while the kernel has a stale start), reading its geometry and metadata
 * copies, and the scan of /sys/class/block for this machine's PVs. Read
 * only: writes are the commit's (pool-commit.c) and release's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pool-discover.h"
#include "pool-internal.h"

void pool_device_done(PoolDevice *d) {
        free(d->path);
        if (d->fd >= 0)
                close(d->fd);
        free(d->geometry_error);
        pool_metadata_free(d->md);
        pool_pick_done(&d->pick);
        free(d->metadata_error);
        *d = (PoolDevice) { .fd = -1 };
}

/* Opens the PV's I/O path: the device itself, or (a partition whose start
 * the GPT moved while the kernel could not follow) the disk at the GPT's
 * start. */
int pool_device_resolve(PoolDevice *d, int flags) {
        struct stat st;
        uint64_t bytes;
        int ssz = 512;

        if (d->fd >= 0)
                d->fd = (close(d->fd), -1);
        d->base = d->dm_adjust = 0;
        int fd = open(d->path, flags | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "pool PV %s: cannot open: %m", d->path);
        if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
                close(fd);
                return log_error_errno(ENOTBLK, "pool PV %s: not a block device", d->path);
        }
        d->devnum = st.st_rdev;
        if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0) {
                int r = log_error_errno(errno, "pool PV %s: cannot read its size: %m", d->path);
                close(fd);
                return r;
        }
        if (ssz != 512 && ssz != 4096) {
                close(fd);
                return log_error_errno(EMEDIUMTYPE, "pool PV %s: logical sector size %d is neither 512 nor 4096", d->path, ssz);
        }
        d->sector_size = (uint32_t) ssz;
        d->size = bytes / 512;
        (void) ioctl(fd, BLKFLSBUF, 0); /* read what is on disk, not another node's cache */
        int r = pool_part_info(st.st_rdev, &d->part);
        if (r < 0) {
                close(fd);
                return r;
        }
        if (d->part.in_gpt && d->part.gpt_start != d->part.kernel_start) {
                /* The GPT says the partition moved (pool release while the
                 * partition was mapped); the kernel still has the old one. */
                if (d->part.gpt_start < d->part.kernel_start ||
                    d->part.gpt_start + d->part.gpt_size != d->part.kernel_start + d->size) {
                        close(fd);
                        return log_error_errno(ESTALE, "pool PV %s: the GPT (start %" PRIu64 ", %" PRIu64 " sectors) and the kernel "
                                               "(start %" PRIu64 ", %" PRIu64 " sectors) disagree; re-read the partition table",
                                               d->path, d->part.gpt_start, d->part.gpt_size, d->part.kernel_start, d->size);
                }
                close(fd);
                fd = open(d->part.disk, flags | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "pool PV %s: cannot open %s: %m", d->path, d->part.disk);
                (void) ioctl(fd, BLKFLSBUF, 0);
                d->base = d->part.gpt_start * 512;
                d->dm_adjust = d->part.gpt_start - d->part.kernel_start;
                d->size = d->part.gpt_size;
                log_debug("pool PV %s: the kernel still has the partition's old start; using %s at sector %" PRIu64,
                          d->path, d->part.disk, d->part.gpt_start);
        }
        d->fd = fd;
        return 0;
}

static int device_read_geometry(PoolDevice *d) {
        uint8_t buf[2 * POOL_GEOMETRY_SIZE];
        bool backup;
        int r;

        r = pread_full(d->fd, buf, sizeof buf, d->base + POOL_GEOMETRY_PRIMARY);
        if (r < 0)
                return log_error_errno(r, "pool PV %s: cannot read the geometry: %m", d->path);
        r = pool_geometry_pick(buf, POOL_GEOMETRY_SIZE, buf + POOL_GEOMETRY_SIZE, POOL_GEOMETRY_SIZE,
                               &d->geometry, &backup, &d->geometry_error);
        d->geometry_ok = r >= 0;
        if (r >= 0 && backup)
                log_warning("pool PV %s: primary geometry block invalid, using the backup", d->path);
        return 0;
}

static int device_read_metadata(PoolDevice *d) {
        const PoolGeometry *g = &d->geometry;
        size_t c = (size_t) g->metadata_copy_size;
        int r;

        if ((g->metadata_offset + 2 * c) / 512 > d->size)
                return log_error_errno(EBADMSG, "pool PV %s: the metadata area runs past the device's end", d->path);
        _cleanup_free_ uint8_t *buf = malloc(2 * c);
        if (!buf)
                return log_oom();
        r = pread_full(d->fd, buf, 2 * c, d->base + g->metadata_offset);
        if (r < 0)
                return log_error_errno(r, "pool PV %s: cannot read the metadata copies: %m", d->path);
        pool_pick_done(&d->pick);
        r = pool_metadata_pick(buf, c, buf + c, c, &d->md, &d->pick, &d->metadata_error);
        d->metadata_ok = r >= 0;
        if (r < 0 && !d->metadata_error)
                d->metadata_error = strdup(strerror(-r));
        return 0;
}

int pool_geometry_probe(int fd, uint64_t base, PoolGeometry *ret) {
        uint8_t buf[2 * POOL_GEOMETRY_SIZE];
        PoolGeometry g;
        int r = pread_full(fd, buf, sizeof buf, base + POOL_GEOMETRY_PRIMARY);
        if (r == -EIO)
                return 0; /* too small to hold one */
        if (r < 0)
                return r;
        for (size_t i = 0; i < 2; i++)
                if (pool_geometry_decode(buf + i * POOL_GEOMETRY_SIZE, POOL_GEOMETRY_SIZE, &g, NULL) >= 0) {
                        if (ret)
                                *ret = g;
                        return 1;
                }
        if (memcmp(buf, POOL_GEOMETRY_MAGIC, 8) == 0 || memcmp(buf + POOL_GEOMETRY_SIZE, POOL_GEOMETRY_MAGIC, 8) == 0)
                return -EBADMSG;
        return 0;
}

int pool_device_open(const char *path, int flags, PoolDevice *d) {
        *d = (PoolDevice) { .fd = -1 };
        d->path = strdup(path);
        if (!d->path)
                return log_oom();
        int r = pool_device_resolve(d, flags);
        if (r < 0)
                return r;
        r = device_read_geometry(d);
        if (r < 0)
                return r;
        if (d->geometry_ok) {
                if (d->geometry.pv_size > d->size)
                        return log_error_errno(EBADMSG, "pool PV %s: placed as %" PRIu64 " sectors, the device has only %" PRIu64
                                               " (truncated?)", d->path, d->geometry.pv_size, d->size);
                r = device_read_metadata(d);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pool_device_identity(dev_t devnum, const PartInfo *pi, PoolPvIdentity *ret, bool *ret_loop, bool *ret_removable) {
        char p[PATH_MAX + 16], disk[PATH_MAX];
        _cleanup_free_ char *dev = NULL;

        *ret = (PoolPvIdentity) {};
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        if (!realpath(p, disk))
                return log_error_errno(errno, "pool: cannot find block device %u:%u in sysfs: %m", major(devnum), minor(devnum));
        /* A partition's directory sits in its disk's. */
        snprintf(p, sizeof p, "%s/partition", disk);
        if (access(p, F_OK) >= 0) {
                char *slash = strrchr(disk, '/');
                if (slash && slash != disk)
                        *slash = 0;
        }
        const char *name = strrchr(disk, '/') ? strrchr(disk, '/') + 1 : disk;
        snprintf(p, sizeof p, "%s/loop", disk);
        *ret_loop = strncmp(name, "loop", 4) == 0 || access(p, F_OK) >= 0;
        _cleanup_free_ char *removable = NULL;
        size_t len;
        snprintf(p, sizeof p, "%s/removable", disk);
        *ret_removable = read_file_bounded(p, 64, &removable, &len) >= 0 && removable[0] == '1';
        /* The controller and port, not the kernel's name for the disk
         * (sda and sdb may swap at the next boot); none for a virtual disk. */
        snprintf(p, sizeof p, "%s/device", disk);
        dev = realpath(p, NULL);
        if (dev && strncmp(dev, "/sys/", 5) == 0 && strlen(dev + 4) < sizeof ret->hw && dev[5]) {
                bool printable = true;
                for (const char *c = dev + 4; *c; c++)
                        printable = printable && (unsigned char) *c > ' ' && (unsigned char) *c < 0x7f;
                if (printable)
                        strcpy(ret->hw, dev + 4);
        }
        if (pi->in_gpt) {
                ret->gpt = true;
                memcpy(ret->part_uuid, pi->part_uuid, 16);
                memcpy(ret->disk_guid, pi->disk_guid, 16);
        }
        return 0;
}

typedef struct ScanResult {
        PoolCandidate c[POOL_PVS_MAX * 4];
        char *paths[POOL_PVS_MAX * 4];
        size_t n;
} ScanResult;

static void scan_result_done(ScanResult *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->paths[i]);
        s->n = 0;
}

/* Block devices whose geometry block carries Hearth's magic, with their
 * geometry decoded and where they sit (read-only: a stranger is never
 * opened for writing). */
static int scan_devices(ScanResult *ret) {
        DIR *dir = opendir("/sys/class/block");
        struct dirent *de;

        ret->n = 0;
        if (!dir)
                return log_error_errno(errno, "pool: cannot list /sys/class/block: %m");
        while ((de = readdir(dir))) {
                char path[PATH_MAX], magic[8];
                struct stat st;
                if (de->d_name[0] == '.' || strncmp(de->d_name, "dm-", 3) == 0 || strncmp(de->d_name, "sr", 2) == 0 ||
                    strncmp(de->d_name, "ram", 3) == 0 || strncmp(de->d_name, "zram", 4) == 0 || strlen(de->d_name) > 200)
                        continue;
                snprintf(path, sizeof path, "/dev/%s", de->d_name);
                int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0)
                        continue;
                bool hit = pread(fd, magic, 8, POOL_GEOMETRY_PRIMARY) == 8 && memcmp(magic, POOL_GEOMETRY_MAGIC, 8) == 0;
                if (!hit)
                        hit = pread(fd, magic, 8, POOL_GEOMETRY_BACKUP) == 8 && memcmp(magic, POOL_GEOMETRY_MAGIC, 8) == 0;
                if (!hit || ret->n >= ELEMENTSOF(ret->c) || fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode)) {
                        close(fd);
                        continue;
                }
                uint8_t buf[2 * POOL_GEOMETRY_SIZE];
                _cleanup_free_ char *err = NULL;
                PoolGeometry g;
                PartInfo pi;
                bool backup;
                int r = pread_full(fd, buf, sizeof buf, POOL_GEOMETRY_PRIMARY);
                close(fd);
                if (r >= 0)
                        r = pool_geometry_pick(buf, POOL_GEOMETRY_SIZE, buf + POOL_GEOMETRY_SIZE, POOL_GEOMETRY_SIZE, &g,
                                               &backup, &err);
                if (r < 0) {
                        log_warning("pool PV %s: ignored: %s", path, err ?: strerror(-r));
                        continue;
                }
                PoolCandidate *c = &ret->c[ret->n];
                *c = (PoolCandidate) { .ok = true, .pv_index = g.pv_index };
                /* Failures are logged, naming the disk. */
                if (pool_part_info(st.st_rdev, &pi) < 0 ||
                    pool_device_identity(st.st_rdev, &pi, &c->id, &c->loop, &c->removable) < 0) {
                        log_warning("pool PV %s: ignored: cannot tell where it sits", path);
                        continue;
                }
                char *copy = strdup(path);
                if (!copy) {
                        closedir(dir);
                        scan_result_done(ret);
                        return log_oom();
                }
                c->path = ret->paths[ret->n++] = copy;
                memcpy(c->pool_uuid, g.pool_uuid, 16);
                memcpy(c->pv_uuid, g.pv_uuid, 16);
        }
        closedir(dir);
        if (ret->n == 0)
                return log_error_errno(ENODEV, "pool: no physical volume found (no block device carries a Hearth geometry block)");
        return 0;
}

/* The scan, bound to this machine's pool (pool-discover.h). */
int pool_find_devices(const PoolRecord *rec, char ***ret, PoolDiscovery *ret_discovery) {
        _cleanup_(scan_result_done) ScanResult s = {};
        _cleanup_strv_free_ char **l = NULL;
        bool keep[ELEMENTSOF(s.c)];
        size_t n = 0;

        int r = scan_devices(&s);
        if (r < 0)
                return r;
        r = pool_discover_select(s.c, s.n, rec, keep, ret_discovery);
        if (r < 0)
                return r;
        l = calloc(s.n + 1, sizeof *l);
        if (!l)
                return log_oom();
        for (size_t i = 0; i < s.n; i++)
                if (keep[i])
                        l[n++] = TAKE_PTR(s.paths[i]);
        *ret = TAKE_PTR(l);
        return 0;
}
