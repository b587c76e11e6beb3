/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Physical volumes: opening a PV's I/O path (the partition, or its disk
 * while the kernel has a stale start), reading its geometry and metadata
 * copies, and the scan of /sys/class/block for this machine's PVs. Read
 * only: writes are the commit's (pool-commit.c) and release's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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
 * geometry decoded (read-only: a stranger is never opened for writing). */
static int scan_devices(ScanResult *ret) {
        DIR *dir = opendir("/sys/class/block");
        struct dirent *de;

        ret->n = 0;
        if (!dir)
                return log_error_errno(errno, "pool: cannot list /sys/class/block: %m");
        while ((de = readdir(dir))) {
                char path[PATH_MAX], magic[8];
                if (de->d_name[0] == '.' || strncmp(de->d_name, "dm-", 3) == 0 || strncmp(de->d_name, "sr", 2) == 0 ||
                    strncmp(de->d_name, "ram", 3) == 0 || strncmp(de->d_name, "zram", 4) == 0 || strlen(de->d_name) > 200)
                        continue;
                snprintf(path, sizeof path, "/dev/%s", de->d_name);
                int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0)
                        continue;
                bool hit = pread(fd, magic, 8, POOL_GEOMETRY_PRIMARY) == 8 && memcmp(magic, "HEARTHPV", 8) == 0;
                if (!hit)
                        hit = pread(fd, magic, 8, POOL_GEOMETRY_BACKUP) == 8 && memcmp(magic, "HEARTHPV", 8) == 0;
                if (!hit || ret->n >= ELEMENTSOF(ret->c)) {
                        close(fd);
                        continue;
                }
                uint8_t buf[2 * POOL_GEOMETRY_SIZE];
                _cleanup_free_ char *err = NULL;
                PoolGeometry g;
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
                char *copy = strdup(path);
                if (!copy) {
                        closedir(dir);
                        scan_result_done(ret);
                        return log_oom();
                }
                PoolCandidate *c = &ret->c[ret->n];
                ret->paths[ret->n++] = copy;
                *c = (PoolCandidate) { .path = copy, .ok = true, .pv_index = g.pv_index };
                memcpy(c->pool_uuid, g.pool_uuid, 16);
                memcpy(c->pv_uuid, g.pv_uuid, 16);
        }
        closedir(dir);
        if (ret->n == 0)
                return log_error_errno(ENODEV, "pool: no physical volume found (no block device carries a Hearth geometry block)");
        return 0;
}

/* The scan, bound to this machine's pool (pool-discover.h): the devices of
 * the pool POOL_ID_FILE records, or of the only pool found if none is. */
int pool_find_devices(char ***ret, bool *ret_adopted) {
        _cleanup_(scan_result_done) ScanResult s = {};
        _cleanup_strv_free_ char **l = NULL;
        const char *record = pool_id_file();
        uint8_t recorded[16], uuid[16];
        bool keep[ELEMENTSOF(s.c)];
        size_t n = 0;

        int r = pool_id_read(record, recorded);
        if (r < 0)
                return r;
        bool have_record = r > 0;
        r = scan_devices(&s);
        if (r < 0)
                return r;
        r = pool_discover_select(s.c, s.n, have_record ? recorded : NULL, record, keep, uuid, ret_adopted);
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
