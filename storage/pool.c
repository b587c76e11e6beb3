/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libcryptsetup.h>
#include <libfdisk/libfdisk.h>
#include <linux/blkpg.h>
#include <linux/btrfs.h>
#include <linux/fs.h>

#include "dm-linear.h"
#include "fileio.h"
#include "fs.h"
#include "gpt.h"
#include "log.h"
#include "macro.h"
#include "pool-alloc.h"
#include "pool-discover.h"
#include "pool-metadata.h"
#include "pool.h"
#include "runtime-paths.h"

/* Fixed, not $HEARTH_RUNTIME_DIR: hearth-pool run by hand and hearth-work
 * run by hearthd must meet at the same lock. */
#define POOL_LOCK_DIR  HEARTH_RUNTIME_DIR_DEFAULT
#define POOL_LOCK_PATH POOL_LOCK_DIR "/pool.lock"
#define POOL_DM_PREFIX "hearth-pool-"
#define POOL_DM_UUID_PREFIX "POOL-"

/* ---- failpoints ------------------------------------------------------------ */

static const char *const failpoint_names[] = {
        "init-zeroed", "init-copies-pool", "init-copies-home", "init-geometry-pool", "init-geometry-home",
        "init-gpt-type",
        "grow-allocated", "grow-commit-pool", "grow-commit-home", "grow-reloaded", "grow-fs",
        "shrink-fs", "shrink-reloaded", "shrink-commit-pool", "shrink-commit-home",
        "release-staged", "release-gpt", "release-kernel", "release-commit-home",
        "create-allocated", "create-commit-pool", "create-commit-home", "create-activated",
        "remove-deactivated", "remove-commit-pool", "remove-commit-home",
        "rewrite-commit-pool", "rewrite-commit-home",
        NULL,
};

const char *const *pool_failpoint_names(void) {
        return failpoint_names;
}

void pool_failpoint(const char *name) {
        const char *e = getenv(POOL_FAILPOINT_ENV);

        if (!e || strcmp(e, name) != 0)
                return;
        log_notice("failpoint %s: killing myself (SIGKILL)", name);
        fflush(stderr);
        raise(SIGKILL);
}

/* ---- small helpers ------------------------------------------------------- */

static int read_sysfs_u64(const char *path, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (fscanf(f, "%" SCNu64, ret) != 1)
                return -EIO;
        return 0;
}

static int random_uuid(uint8_t u[16]) {
        if (getrandom(u, 16, 0) != 16)
                return negative_errno();
        u[6] = (uint8_t) ((u[6] & 0x0f) | 0x40);
        u[8] = (uint8_t) ((u[8] & 0x3f) | 0x80);
        return 0;
}

static int take_lock(void) {
        (void) mkdir(POOL_LOCK_DIR, 0755);
        int fd = open(POOL_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return log_error_errno(errno, "pool: cannot open the lock %s: %m", POOL_LOCK_PATH);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        int r = log_error_errno(errno, "pool: cannot take the lock %s: %m", POOL_LOCK_PATH);
                        close(fd);
                        return r;
                }
        }
        return fd;
}

static char *volume_dm_name(const char *volume, char buf[static 64]) {
        snprintf(buf, 64, POOL_DM_PREFIX "%s", volume);
        return buf;
}

/* ---- partitions ------------------------------------------------------------ */

typedef struct PartInfo {
        bool is_partition;
        unsigned partno;            /* kernel's, 1-based */
        char disk[PATH_MAX];        /* /dev/<disk> */
        uint64_t kernel_start;      /* sectors of 512 */
        bool in_gpt;
        uint64_t gpt_start, gpt_size; /* sectors of 512 */
} PartInfo;

static int part_info(dev_t devnum, PartInfo *ret) {
        char p[PATH_MAX], link[PATH_MAX];
        uint64_t partno;

        *ret = (PartInfo) {};
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/partition", major(devnum), minor(devnum));
        if (read_sysfs_u64(p, &partno) < 0)
                return 0; /* a whole device */
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u/start", major(devnum), minor(devnum));
        if (read_sysfs_u64(p, &ret->kernel_start) < 0)
                return 0;
        snprintf(p, sizeof p, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        ssize_t n = readlink(p, link, sizeof link - 1);
        if (n <= 0)
                return 0;
        link[n] = 0;
        char *slash = strrchr(link, '/');
        if (!slash)
                return 0;
        *slash = 0;
        const char *disk = strrchr(link, '/');
        disk = disk ? disk + 1 : link;
        if (partno == 0 || partno > 4096 || strlen(disk) > 200)
                return 0;
        ret->is_partition = true;
        ret->partno = (unsigned) partno;
        snprintf(ret->disk, sizeof ret->disk, "/dev/%.200s", disk);

        /* Only this entry, not a libfdisk probe of the disk: this runs for
         * every PV on every operation, and a probe costs more than a grow.
         * Only "no GPT" and "no such entry" mean the partition is not in
         * one; any other failure stops the operation rather than let it
         * miss a start that moved. */
        _cleanup_close_ int fd = open(ret->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return log_error_errno(errno, "pool: cannot open %s to read its partition table: %m", ret->disk);
        uint64_t bytes;
        int ssz;
        if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || ioctl(fd, BLKSSZGET, &ssz) < 0)
                return log_error_errno(errno, "pool: cannot read the size of %s: %m", ret->disk);
        GptPartition gp;
        int r = gpt_read_partition(fd, (uint32_t) ssz, bytes, ret->partno, &gp);
        if (r == -ENOENT || r == -EMEDIUMTYPE) {
                log_debug_errno(r, "pool: %s has no GPT entry %u: %m", ret->disk, ret->partno);
                return 0;
        }
        if (r == -EBADMSG)
                return log_error_errno(r, "pool: GPT entry %u of %s is inconsistent (ends before it starts, or "
                                       "outside the usable area); fix the partition table first", ret->partno, ret->disk);
        if (r < 0)
                return log_error_errno(r, "pool: cannot read the partition table of %s: %m", ret->disk);
        ret->in_gpt = true;
        ret->gpt_start = gp.start;
        ret->gpt_size = gp.size;
        return 0;
}

/* Opens the partition's disk with libfdisk for writing, under a BSD lock
 * (udev leaves locked disks alone). */
static int gpt_open_rw(const char *what, const PartInfo *pi, struct fdisk_context **ret_cxt, int *ret_lock) {
        _cleanup_close_ int lock = open(pi->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (lock < 0)
                return log_error_errno(errno, "%s: cannot open %s: %m", what, pi->disk);
        if (flock(lock, LOCK_EX) < 0)
                return log_error_errno(errno, "%s: cannot lock %s: %m", what, pi->disk);
        struct fdisk_context *cxt = fdisk_new_context();
        if (!cxt)
                return log_oom();
        int r = fdisk_assign_device(cxt, pi->disk, 0);
        if (r < 0 || !fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
                fdisk_unref_context(cxt);
                return log_error_errno(r < 0 ? r : EMEDIUMTYPE, "%s: %s has no GPT that libfdisk can write", what, pi->disk);
        }
        *ret_cxt = cxt;
        *ret_lock = TAKE_FD(lock);
        return 0;
}

static int gpt_write_close(const char *what, const PartInfo *pi, struct fdisk_context *cxt) {
        int r = fdisk_write_disklabel(cxt);
        if (r < 0) {
                fdisk_unref_context(cxt);
                return log_error_errno(r, "%s: cannot write the GPT of %s: %m", what, pi->disk);
        }
        r = fdisk_deassign_device(cxt, 0); /* fsync()s */
        fdisk_unref_context(cxt);
        if (r < 0)
                return log_error_errno(r, "%s: cannot flush the GPT of %s: %m", what, pi->disk);
        return 0;
}

static int gpt_set_type(const char *what, const PartInfo *pi, const char *type) {
        struct fdisk_context *cxt = NULL;
        _cleanup_close_ int lock = -1;
        int r = gpt_open_rw(what, pi, &cxt, &lock);
        if (r < 0)
                return r;
        struct fdisk_parttype *t = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), type);
        if (!t) {
                fdisk_unref_context(cxt);
                return log_oom();
        }
        r = fdisk_set_partition_type(cxt, pi->partno - 1, t);
        fdisk_unref_parttype(t);
        if (r < 0) {
                fdisk_unref_context(cxt);
                return log_error_errno(r, "%s: cannot set the partition type: %m", what);
        }
        return gpt_write_close(what, pi, cxt);
}

/* Moves the partition's start by shift sectors (of 512) towards its end. */
static int gpt_move_start(const char *what, const PartInfo *pi, uint64_t expect_start, uint64_t shift) {
        struct fdisk_context *cxt = NULL;
        _cleanup_close_ int lock = -1;
        struct fdisk_partition *pa = NULL;
        int r = gpt_open_rw(what, pi, &cxt, &lock);
        if (r < 0)
                return r;
        unsigned long ss = fdisk_get_sector_size(cxt);
        r = fdisk_get_partition(cxt, pi->partno - 1, &pa);
        if (r < 0 || !pa || ss < 512 || ss % 512 != 0) {
                fdisk_unref_context(cxt);
                return log_error_errno(r < 0 ? r : EINVAL, "%s: cannot read partition %u of %s", what, pi->partno, pi->disk);
        }
        uint64_t start = (uint64_t) fdisk_partition_get_start(pa) * (ss / 512);
        uint64_t size = (uint64_t) fdisk_partition_get_size(pa) * (ss / 512);
        fdisk_unref_partition(pa);
        if (start != expect_start || shift >= size || shift % (ss / 512) != 0) {
                fdisk_unref_context(cxt);
                return log_error_errno(ESTALE, "%s: partition %u of %s starts at sector %" PRIu64 ", expected %" PRIu64,
                                       what, pi->partno, pi->disk, start, expect_start);
        }
        pa = fdisk_new_partition();
        if (!pa) {
                fdisk_unref_context(cxt);
                return log_oom();
        }
        fdisk_partition_set_start(pa, (fdisk_sector_t) ((start + shift) / (ss / 512)));
        fdisk_partition_set_size(pa, (fdisk_sector_t) ((size - shift) / (ss / 512)));
        r = fdisk_set_partition(cxt, pi->partno - 1, pa);
        fdisk_unref_partition(pa);
        if (r < 0) {
                fdisk_unref_context(cxt);
                return log_error_errno(r, "%s: libfdisk refused the new start of partition %u: %m", what, pi->partno);
        }
        return gpt_write_close(what, pi, cxt);
}

/* Tells the kernel about the moved partition (delete + add); -EBUSY while
 * it is in use (a dm table maps it): the kernel then keeps the old view
 * until the next boot, and the pool reaches the PV through the disk. */
static int kernel_move_partition(const PartInfo *pi, uint64_t start, uint64_t size) {
        _cleanup_close_ int fd = open(pi->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        struct blkpg_partition part = { .pno = (int) pi->partno };
        struct blkpg_ioctl_arg arg = { .op = BLKPG_DEL_PARTITION, .datalen = sizeof part, .data = &part };
        int r = -EIO;

        if (fd < 0)
                return negative_errno();
        for (int i = 0; i < 20; i++) {
                r = ioctl(fd, BLKPG, &arg) < 0 ? negative_errno() : 0;
                if (r != -EBUSY || i >= 4)
                        break;
                usleep(100 * 1000); /* udev's probe may hold it for a moment */
        }
        if (r < 0)
                return r;
        part.start = (long long) (start * 512);
        part.length = (long long) (size * 512);
        arg.op = BLKPG_ADD_PARTITION;
        if (ioctl(fd, BLKPG, &arg) < 0)
                return log_error_errno(errno, "pool: cannot re-add partition %u of %s to the kernel: %m "
                                              "(it appears again after a reboot or partx -a)", pi->partno, pi->disk);
        return 0;
}

/* ---- physical volumes -------------------------------------------------------- */

typedef struct PoolDevice {
        char *path;
        int fd;                 /* I/O: the PV, or its disk when the kernel's view is stale */
        uint64_t base;          /* bytes: where the PV starts in fd */
        dev_t devnum;           /* the PV as dm tables name it */
        uint64_t dm_adjust;     /* sectors: added to every table offset on this PV */
        uint64_t size;          /* sectors */
        uint32_t sector_size;
        PartInfo part;

        bool geometry_ok;
        PoolGeometry geometry;
        char *geometry_error;

        bool metadata_ok;
        PoolMetadata *md;       /* this PV's newest valid copy */
        PoolPick pick;
        char *metadata_error;
} PoolDevice;

struct Pool {
        PoolDevice devs[POOL_PVS_MAX];
        size_t n_devs;
        int pv_dev[POOL_PVS_MAX];   /* PV index → devs[] */
        PoolMetadata *md;           /* the chosen metadata, NULL if none */
        int md_from;                /* devs[] it came from */
        char *md_error;             /* why there is none, or why it does not fit the PVs */
        int md_errno;
        int lock_fd;
        bool adopted;               /* found by a scan with no pool UUID recorded: activate records it */
};

static void device_done(PoolDevice *d) {
        free(d->path);
        if (d->fd >= 0)
                close(d->fd);
        free(d->geometry_error);
        pool_metadata_free(d->md);
        pool_pick_done(&d->pick);
        free(d->metadata_error);
        *d = (PoolDevice) { .fd = -1 };
}

Pool *pool_free(Pool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_devs; i++)
                device_done(&p->devs[i]);
        pool_metadata_free(p->md);
        free(p->md_error);
        if (p->lock_fd >= 0)
                close(p->lock_fd);
        free(p);
        return NULL;
}

/* Opens the PV's I/O path: the device itself, or (a partition whose start
 * the GPT moved while the kernel could not follow) the disk at the GPT's
 * start. */
static int device_resolve(PoolDevice *d, int flags) {
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
        int r = part_info(st.st_rdev, &d->part);
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

static int device_open(const char *path, int flags, PoolDevice *d) {
        *d = (PoolDevice) { .fd = -1 };
        d->path = strdup(path);
        if (!d->path)
                return log_oom();
        int r = device_resolve(d, flags);
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
static int find_devices(char ***ret, bool *ret_adopted) {
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

static void pool_set_error(Pool *p, int r, const char *fmt, ...) _printf_(3, 4);
static void pool_set_error(Pool *p, int r, const char *fmt, ...) {
        va_list ap;
        free(p->md_error);
        p->md_error = NULL;
        va_start(ap, fmt);
        if (vasprintf(&p->md_error, fmt, ap) < 0)
                p->md_error = NULL;
        va_end(ap);
        p->md_errno = r;
}

int pool_open(char *const *devices, bool allow_bad_metadata, Pool **ret) {
        _cleanup_strv_free_ char **found = NULL;
        bool scanned = !devices;
        int r;

        Pool *p = calloc(1, sizeof *p);
        if (!p)
                return log_oom();
        _cleanup_pool_ Pool *pool = p;
        p->lock_fd = -1;
        p->md_from = -1;
        for (size_t i = 0; i < POOL_PVS_MAX; i++) {
                p->devs[i].fd = -1;
                p->pv_dev[i] = -1;
        }
        p->lock_fd = take_lock();
        if (p->lock_fd < 0)
                return p->lock_fd;

        if (!devices) {
                r = find_devices(&found, &p->adopted);
                if (r < 0)
                        return r;
                devices = found;
        }
        for (size_t i = 0; devices[i]; i++) {
                if (p->n_devs >= POOL_PVS_MAX)
                        return log_error_errno(E2BIG, "pool: more than %u physical volumes given", POOL_PVS_MAX);
                PoolDevice *d = &p->devs[p->n_devs++];
                r = device_open(devices[i], O_RDWR, d);
                if (r < 0)
                        return r;
                if (!d->geometry_ok) {
                        if (scanned) {
                                log_warning("pool PV %s: ignored: %s", d->path, d->geometry_error ?: "no geometry");
                                device_done(d);
                                p->n_devs--;
                                continue;
                        }
                        return log_error_errno(ENOMEDIUM, "pool PV %s: not a Hearth physical volume: %s", d->path,
                                               d->geometry_error ?: "no geometry");
                }
                for (size_t j = 0; j + 1 < p->n_devs; j++) {
                        if (p->devs[j].devnum == d->devnum)
                                return log_error_errno(EINVAL, "pool PV %s: given twice", d->path);
                        if (memcmp(p->devs[j].geometry.pool_uuid, d->geometry.pool_uuid, 16) != 0) {
                                char a[37], b[37];
                                return log_error_errno(EXDEV, "pool: %s belongs to pool %s, %s to pool %s; name one pool's devices with --devices",
                                                       p->devs[j].path, pool_uuid_to_string(p->devs[j].geometry.pool_uuid, a),
                                                       d->path, pool_uuid_to_string(d->geometry.pool_uuid, b));
                        }
                }
        }
        if (p->n_devs == 0)
                return log_error_errno(ENODEV, "pool: no physical volume found");

        /* The newest valid copy over all PVs. */
        for (size_t i = 0; i < p->n_devs; i++) {
                PoolDevice *d = &p->devs[i];
                if (!d->metadata_ok)
                        continue;
                if (p->md_from < 0 || d->md->seq > p->devs[p->md_from].md->seq)
                        p->md_from = (int) i;
                else if (d->md->seq == p->devs[p->md_from].md->seq && !pool_metadata_equal(d->md, p->devs[p->md_from].md)) {
                        pool_set_error(p, -EBADMSG, "%s and %s both hold metadata sequence %" PRIu64 " with different content",
                                       p->devs[p->md_from].path, d->path, d->md->seq);
                        p->md_from = -1;
                        goto bad;
                }
        }
        if (p->md_from < 0) {
                size_t len = 0;
                char msg[2048] = "no valid metadata copy on any physical volume";
                for (size_t i = 0; i < p->n_devs; i++) {
                        len = strlen(msg);
                        snprintf(msg + len, sizeof msg - len, "; %s: %s", p->devs[i].path,
                                 p->devs[i].metadata_error ?: "no metadata read");
                }
                pool_set_error(p, -EBADMSG, "%s", msg);
                goto bad;
        }
        r = pool_metadata_dup(p->devs[p->md_from].md, &p->md);
        if (r < 0)
                return log_oom();
        {
                PoolGeometry found_g[POOL_PVS_MAX];
                _cleanup_free_ char *err = NULL;
                for (size_t i = 0; i < p->n_devs; i++)
                        found_g[i] = p->devs[i].geometry;
                r = pool_metadata_check_pvs(p->md, found_g, p->n_devs, &err);
                if (r < 0) {
                        pool_set_error(p, r, "%s", err ?: strerror(-r));
                        goto bad;
                }
        }
        for (size_t i = 0; i < p->n_devs; i++)
                p->pv_dev[p->devs[i].geometry.pv_index] = (int) i;
        *ret = TAKE_PTR(pool);
        return 0;

bad:
        p->md = pool_metadata_free(p->md);
        if (!allow_bad_metadata)
                return log_error_errno(p->md_errno, "pool: refusing to use the pool: %s", p->md_error);
        *ret = TAKE_PTR(pool);
        return 0;
}

static int pool_need_md(Pool *p) {
        if (p->md)
                return 0;
        return log_error_errno(p->md_errno ?: EBADMSG, "pool: refusing to use the pool: %s", p->md_error ?: "no metadata");
}

static uint32_t pool_sector_size(const Pool *p) {
        uint32_t s = 512;
        for (size_t i = 0; i < p->n_devs; i++)
                if (p->devs[i].sector_size > s)
                        s = p->devs[i].sector_size;
        return s;
}

static PoolDevice *pool_dev(Pool *p, uint32_t pv) {
        return pv < POOL_PVS_MAX && p->pv_dev[pv] >= 0 ? &p->devs[p->pv_dev[pv]] : NULL;
}

/* ---- commit ------------------------------------------------------------------ */

/* Writes md (already bumped) to the inactive copy of each PV in `which`
 * (bitmask of PV indexes), the PV the metadata was read from first, each
 * flushed before the next. Failpoints <op>-commit-<role> after each PV. */
static int pool_commit_pvs(Pool *p, const PoolMetadata *md, const char *op, uint32_t which) {
        int order[POOL_PVS_MAX], n = 0, r;

        if (p->md_from >= 0 && (which & (1U << p->devs[p->md_from].geometry.pv_index)))
                order[n++] = p->md_from;
        for (size_t i = 0; i < p->n_devs; i++)
                if ((int) i != p->md_from && (which & (1U << p->devs[i].geometry.pv_index)))
                        order[n++] = (int) i;

        /* PVs may have copy areas of different sizes: one that cannot take
         * the new copy must refuse before any PV is written, or the PVs
         * would disagree. */
        size_t need = pool_metadata_encoded_size(md);
        for (int k = 0; k < n; k++) {
                const PoolDevice *d = &p->devs[order[k]];
                if (need > d->geometry.metadata_copy_size)
                        return log_error_errno(E2BIG, "pool PV %s: the metadata would need %zu bytes, its copies hold %" PRIu64
                                               "; nothing was written", d->path, need, d->geometry.metadata_copy_size);
        }

        for (int k = 0; k < n; k++) {
                PoolDevice *d = &p->devs[order[k]];
                _cleanup_free_ uint8_t *buf = NULL;
                _cleanup_free_ char *err = NULL;
                char fp[64];

                r = pool_metadata_encode(md, (size_t) d->geometry.metadata_copy_size, &buf, &err);
                if (r < 0)
                        return log_error_errno(r, "pool: refusing to write metadata: %s", err ?: strerror(-r));
                unsigned slot = d->metadata_ok ? d->pick.inactive : (d->pick.error[0] ? 0 : 1);
                uint64_t off = d->base + d->geometry.metadata_offset + slot * d->geometry.metadata_copy_size;
                r = pwrite_full(d->fd, buf, (size_t) d->geometry.metadata_copy_size, off);
                if (r >= 0 && fdatasync(d->fd) < 0)
                        r = negative_errno();
                if (r < 0)
                        return log_error_errno(r, "pool PV %s: cannot write metadata copy %c: %m", d->path, "AB"[slot]);
                log_debug("pool PV %s: wrote copy %c, sequence %" PRIu64, d->path, "AB"[slot], md->seq);
                /* What is on disk now. */
                d->pick.error[slot] = 0;
                d->pick.reason[slot] = mfree(d->pick.reason[slot]);
                d->pick.seq[slot] = md->seq;
                d->pick.current = slot;
                d->pick.inactive = !slot;
                d->pick.other_stale = true;
                d->metadata_ok = true;
                d->metadata_error = mfree(d->metadata_error);
                pool_metadata_free(d->md);
                d->md = NULL;
                if (pool_metadata_dup(md, &d->md) < 0)
                        return log_oom();
                snprintf(fp, sizeof fp, "%s-commit-%s", op, pool_pv_role_to_string(md->pvs[d->geometry.pv_index].role));
                pool_failpoint(fp);
        }
        return 0;
}

static int pool_commit(Pool *p, PoolMetadata *md, const char *op) {
        int r = pool_commit_pvs(p, md, op, UINT32_MAX);
        if (r < 0)
                return r;
        PoolMetadata *copy = NULL;
        if (pool_metadata_dup(md, &copy) < 0)
                return log_oom();
        pool_metadata_free(p->md);
        p->md = copy;
        return 0;
}

/* Is any PV's metadata older than the chosen one, or any copy invalid? */
static bool pool_copies_stale(const Pool *p) {
        for (size_t i = 0; i < p->n_devs; i++) {
                const PoolDevice *d = &p->devs[i];
                if (!d->metadata_ok || d->md->seq != p->md->seq || d->pick.error[0] || d->pick.error[1])
                        return true;
        }
        return false;
}

static int pool_rewrite_stale(Pool *p) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        if (!pool_copies_stale(p))
                return 0;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        int r = pool_metadata_bump_seq(md);
        if (r < 0)
                return log_error_errno(r, "pool: the sequence number is exhausted");
        log_info("pool: rewriting stale or invalid metadata copies (sequence %" PRIu64 ")", md->seq);
        return pool_commit(p, md, "rewrite");
}

/* ---- tables ------------------------------------------------------------------ */

static int volume_targets(Pool *p, const PoolMetadata *md, const char *volume, DmLinearTarget **ret, size_t *ret_n) {
        _cleanup_free_ PoolTarget *t = NULL;
        size_t n;
        int r = pool_volume_table(md, volume, pool_sector_size(p), &t, &n);
        if (r < 0)
                return r;
        DmLinearTarget *dt = calloc(n ? n : 1, sizeof *dt);
        if (!dt)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                PoolDevice *d = pool_dev(p, t[i].pv);
                if (!d) {
                        free(dt);
                        return log_error_errno(ENODEV, "pool volume %s: physical volume %" PRIu32 " is missing", volume, t[i].pv);
                }
                dt[i] = (DmLinearTarget) { .start = t[i].start, .length = t[i].length, .dev = d->devnum,
                                           .offset = t[i].offset + d->dm_adjust };
        }
        *ret = dt;
        *ret_n = n;
        return 0;
}

static uint64_t targets_length(const DmLinearTarget *t, size_t n) {
        return n ? t[n - 1].start + t[n - 1].length : 0;
}

static bool map_at(const DmLinearTarget *t, size_t n, uint64_t s, dev_t *dev, uint64_t *off, uint64_t *left) {
        for (size_t i = 0; i < n; i++)
                if (s >= t[i].start && s < t[i].start + t[i].length) {
                        *dev = t[i].dev;
                        *off = t[i].offset + (s - t[i].start);
                        *left = t[i].start + t[i].length - s;
                        return true;
                }
        return false;
}

typedef enum { TABLE_EQUAL, TABLE_LAGS, TABLE_DIFFERENT } TableCmp;

/* Does live map a prefix of want (the metadata's table)? */
static TableCmp table_compare(const DmLinearTarget *live, size_t n_live, const DmLinearTarget *want, size_t n_want) {
        uint64_t total = targets_length(live, n_live), s = 0;
        while (s < total) {
                dev_t d1, d2;
                uint64_t o1, o2, l1, l2;
                if (!map_at(live, n_live, s, &d1, &o1, &l1) || !map_at(want, n_want, s, &d2, &o2, &l2) ||
                    d1 != d2 || o1 != o2)
                        return TABLE_DIFFERENT;
                s += l1 < l2 ? l1 : l2;
        }
        return total == targets_length(want, n_want) ? TABLE_EQUAL : TABLE_LAGS;
}

/* Brings one volume's device in line with md: create, leave, or reload a
 * lagging table. Never shrinks or remaps a live table. */
static int volume_apply(Pool *p, const PoolMetadata *md, const PoolVolume *v, bool create, bool *ret_changed) {
        _cleanup_free_ DmLinearTarget *want = NULL, *live = NULL;
        size_t n_want, n_live;
        DmLinearInfo info;
        char name[64], uuid[37], suffix[64];
        int r;

        if (ret_changed)
                *ret_changed = false;
        volume_dm_name(v->name, name);
        r = volume_targets(p, md, v->name, &want, &n_want);
        if (r < 0)
                return r;
        r = dm_linear_info(name, &info);
        if (r < 0)
                return r;
        if (!info.exists) {
                if (!create)
                        return 0;
                snprintf(suffix, sizeof suffix, POOL_DM_UUID_PREFIX "%s", pool_uuid_to_string(v->uuid, uuid));
                r = dm_linear_create(name, suffix, want, n_want, NULL);
                if (r < 0)
                        return r;
                if (ret_changed)
                        *ret_changed = true;
                log_info("pool volume %s: activated as /dev/mapper/%s", v->name, name);
                return 0;
        }
        r = dm_linear_table(name, &live, &n_live);
        if (r < 0)
                return r;
        switch (table_compare(live, n_live, want, n_want)) {
        case TABLE_EQUAL:
                log_debug("pool volume %s: %s is up to date", v->name, name);
                return 0;
        case TABLE_LAGS:
                r = dm_linear_reload(name, want, n_want);
                if (r < 0)
                        return r;
                if (ret_changed)
                        *ret_changed = true;
                if (create)
                        log_info("pool volume %s: table of %s reloaded to %" PRIu64 " sectors (it lagged the metadata)",
                                 v->name, name, targets_length(want, n_want));
                else
                        log_debug("pool volume %s: table of %s reloaded to %" PRIu64 " sectors",
                                  v->name, name, targets_length(want, n_want));
                return 0;
        default:
                return log_error_errno(EUCLEAN, "pool volume %s: the live table of %s maps %" PRIu64 " sectors that the metadata "
                                       "(%" PRIu64 " sectors) does not give it; not touching it (see hearth-pool check)",
                                       v->name, name, targets_length(live, n_live), targets_length(want, n_want));
        }
}

int pool_activate(Pool *p) {
        int r, ret = 0;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->md->n_volumes; i++) {
                r = volume_apply(p, p->md, &p->md->volumes[i], true, NULL);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        /* A machine set up before the UUID was recorded (or whose record
         * was lost) is bound to the pool it found alone, once that pool
         * came up: from then on a stranger cannot take its place. */
        if (ret == 0 && p->adopted) {
                char u[37];
                if (pool_id_write(pool_id_file(), p->md->pool_uuid) >= 0)
                        log_notice("pool: recorded pool %s in %s as this machine's pool",
                                   pool_uuid_to_string(p->md->pool_uuid, u), pool_id_file());
                p->adopted = false;
        }
        return ret;
}

/* ---- filesystems --------------------------------------------------------------- */

static void unescape_mount(char *s) {
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

/* Where the dm device dev is mounted (btrfs reports an anonymous dev_t in
 * mountinfo, so the source is compared too). 0 and empty strings if not. */
static int find_mount(dev_t dev, char mountpoint[static PATH_MAX], char fstype[static 32]) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        mountpoint[0] = fstype[0] = 0;
        if (!f)
                return log_error_errno(errno, "pool: cannot read /proc/self/mountinfo: %m");
        while (getline(&line, &size, f) > 0) {
                unsigned ma, mi;
                char mp[PATH_MAX], type[32], src[PATH_MAX];
                struct stat st;

                if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, mp) != 3)
                        continue;
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(dash, " - %31s %4095s", type, src) != 2)
                        continue;
                unescape_mount(src);
                bool match = makedev(ma, mi) == dev ||
                             (src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev);
                if (!match)
                        continue;
                unescape_mount(mp);
                snprintf(mountpoint, PATH_MAX, "%s", mp);
                snprintf(fstype, 32, "%s", type);
                return 1;
        }
        return 0;
}

static int probe_fstype(const char *dev, char fstype[static 32]) {
        fstype[0] = 0;
        blkid_probe pr = blkid_new_probe_from_filename(dev);
        if (!pr)
                return log_error_errno(errno ?: EIO, "pool: cannot probe %s", dev);
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        int r = blkid_do_safeprobe(pr);
        const char *t = NULL;
        if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0 && t)
                snprintf(fstype, 32, "%s", t);
        blkid_free_probe(pr);
        if (r == -2)
                snprintf(fstype, 32, "ambiguous");
        return 0;
}

static int btrfs_devid(const char *what, int fd, dev_t dev, uint64_t *ret) {
        struct btrfs_ioctl_fs_info_args fi = {};
        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0)
                return log_error_errno(errno, "%s: cannot query the btrfs filesystem: %m", what);
        for (uint64_t id = 1; id <= fi.max_id && id < 65536; id++) {
                struct btrfs_ioctl_dev_info_args di = { .devid = id };
                struct stat st;
                if (ioctl(fd, BTRFS_IOC_DEV_INFO, &di) < 0)
                        continue;
                di.path[sizeof di.path - 1] = 0;
                if (stat((const char *) di.path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev) {
                        *ret = id;
                        return 0;
                }
        }
        if (fi.num_devices == 1) {
                *ret = fi.max_id;
                return 0;
        }
        return log_error_errno(ENODEV, "%s: the device is not part of the btrfs filesystem", what);
}

static int btrfs_resize_dev(const char *what, const char *mountpoint, dev_t dev, uint64_t bytes /* 0 = max */) {
        struct btrfs_ioctl_vol_args args = {};
        uint64_t devid = 0;
        _cleanup_close_ int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "%s: cannot open %s: %m", what, mountpoint);
        int r = btrfs_devid(what, fd, dev, &devid);
        if (r < 0)
                return r;
        if (bytes == 0)
                snprintf(args.name, sizeof args.name, "%" PRIu64 ":max", devid);
        else
                snprintf(args.name, sizeof args.name, "%" PRIu64 ":%" PRIu64, devid, bytes);
        if (ioctl(fd, BTRFS_IOC_RESIZE, &args) < 0) {
                if (errno == ENOSPC)
                        return log_error_errno(ENOSPC, "%s: the data does not fit in the smaller size", what);
                return log_error_errno(errno, "%s: btrfs resize to %s failed: %m", what, args.name);
        }
        return 0;
}

/* Grows the volume's filesystem to its device: online where mounted. */
static int volume_fs_grow(const char *volume, dev_t dev) {
        char mp[PATH_MAX], type[32], node[128], what[128];
        int r;

        snprintf(node, sizeof node, "/dev/mapper/" POOL_DM_PREFIX "%s", volume);
        snprintf(what, sizeof what, "pool volume %s", volume);
        r = find_mount(dev, mp, type);
        if (r < 0)
                return r;
        if (r > 0) {
                if (strcmp(type, "btrfs") == 0)
                        r = btrfs_resize_dev(what, mp, dev, 0);
                else if (strcmp(type, "ext4") == 0 || strcmp(type, "xfs") == 0)
                        r = fs_grow(type, node, mp);
                else {
                        log_notice("%s: %s on %s cannot be grown by Hearth; grow it yourself", what, type, mp);
                        return 0;
                }
                if (r < 0)
                        return r;
                log_info("%s: %s on %s grown online", what, type, mp);
                return 0;
        }
        r = probe_fstype(node, type);
        if (r < 0)
                return r;
        if (strcmp(type, "crypto_LUKS") == 0) {
                log_debug("%s: holds LUKS; the home's resize grows the mapping and its filesystem", what);
                return 0;
        }
        if (strcmp(type, "ext4") == 0) {
                r = run_tool(what, (char *const[]) { "e2fsck", "-f", "-y", node, NULL });
                if (r >= 0)
                        r = fs_grow("ext4", node, NULL);
                if (r >= 0)
                        log_info("%s: ext4 grown offline", what);
                return r;
        }
        if (type[0])
                log_notice("%s: %s is not mounted; it grows to the new size when mounted and resized", what, type);
        return 0;
}

static void pool_crypt_log(int level, const char *msg, void *userdata) {
        size_t n = strlen(msg);
        log_debug("libcryptsetup: %.*s", (int) (n && msg[n - 1] == '\n' ? n - 1 : n), msg);
}

/* The pool cannot shrink what is inside a LUKS volume; the home's resize
 * does (filesystem, then the mapping) and then shrinks the volume. So a
 * LUKS volume shrinks only under open mappings that already end within the
 * new size: anything else would cut off encrypted data. */
static int volume_luks_fits(const char *what, dev_t dev, uint64_t new_size) {
        char path[PATH_MAX];
        struct dirent *de;
        unsigned n = 0;
        int r = 0;

        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/holders", major(dev), minor(dev));
        DIR *dir = opendir(path);
        if (!dir)
                return log_error_errno(errno, "%s: cannot list what holds it (%s): %m", what, path);
        crypt_set_log_callback(NULL, pool_crypt_log, NULL);
        while (r >= 0 && (de = readdir(dir))) {
                char np[PATH_MAX], name[128] = "";
                struct crypt_device *cd = NULL;
                struct crypt_active_device cad;

                if (de->d_name[0] == '.' || strlen(de->d_name) > 64)
                        continue;
                n++;
                snprintf(np, sizeof np, "/sys/class/block/%s/dm/name", de->d_name);
                _cleanup_fclose_ FILE *f = fopen(np, "re");
                if (f && fgets(name, sizeof name, f))
                        name[strcspn(name, "\n")] = 0;
                if (!name[0]) {
                        r = log_error_errno(EBUSY, "%s: held by %s, not a device-mapper device; refusing to shrink under it", what, de->d_name);
                        break;
                }
                if (crypt_init_by_name(&cd, name) < 0 || crypt_get_active_device(cd, name, &cad) < 0) {
                        if (cd)
                                crypt_free(cd);
                        r = log_error_errno(EBUSY, "%s: held by %s, not a mapping Hearth can measure; refusing to shrink under it", what, name);
                        break;
                }
                crypt_free(cd);
                if (cad.size > UINT64_MAX / 512 || cad.offset > UINT64_MAX / 512 - cad.size || (cad.offset + cad.size) * 512 > new_size)
                        r = log_error_errno(EBUSY, "%s: the LUKS mapping %s on it reaches past the new size of %" PRIu64 " bytes; "
                                            "shrink the home (hearth-work resize), which shrinks what is inside first", what, name, new_size);
        }
        closedir(dir);
        if (r >= 0 && n == 0)
                r = log_error_errno(EOPNOTSUPP, "%s: holds LUKS, which is not open; shrink the home (hearth-work resize), "
                                    "which shrinks what is inside first", what);
        return r;
}

/* Shrinks the filesystem to new_size bytes, before the device shrinks. */
static int volume_fs_shrink(const char *volume, dev_t dev, uint64_t new_size) {
        char mp[PATH_MAX], type[32], node[128], what[128];
        int r;

        snprintf(node, sizeof node, "/dev/mapper/" POOL_DM_PREFIX "%s", volume);
        snprintf(what, sizeof what, "pool volume %s", volume);
        r = find_mount(dev, mp, type);
        if (r < 0)
                return r;
        bool mounted = r > 0;
        if (!mounted) {
                r = probe_fstype(node, type);
                if (r < 0)
                        return r;
        }
        if (strcmp(type, "btrfs") == 0) {
                if (!mounted)
                        return log_error_errno(EOPNOTSUPP, "%s: btrfs shrinks online only; mount it first", what);
                return btrfs_resize_dev(what, mp, dev, new_size);
        }
        if (strcmp(type, "ext4") == 0) {
                if (mounted)
                        return log_error_errno(EBUSY, "%s: ext4 shrinks offline only; unmount %s first", what, mp);
                return fs_shrink("ext4", node, NULL, new_size);
        }
        if (strcmp(type, "xfs") == 0)
                return log_error_errno(EOPNOTSUPP, "%s: xfs cannot shrink; only growing is possible", what);
        if (strcmp(type, "crypto_LUKS") == 0)
                return volume_luks_fits(what, dev, new_size);
        if (type[0] == 0)
                return 0; /* nothing recognisable on it: nothing to cut */
        return log_error_errno(EOPNOTSUPP, "%s: holds %s, which Hearth cannot shrink; refusing to cut it off", what, type);
}

/* ---- grow / shrink ------------------------------------------------------------- */

static int volume_dev(const char *volume, bool *ret_active, dev_t *ret_dev) {
        DmLinearInfo info;
        char name[64];
        int r = dm_linear_info(volume_dm_name(volume, name), &info);
        if (r < 0)
                return r;
        *ret_active = info.exists && info.has_live_table;
        *ret_dev = info.dev;
        return 0;
}

static uint64_t div_round_up(uint64_t a, uint64_t b) {
        return a / b + (a % b != 0);
}

/* The next sequence number, then the commit (what names the operation). */
static int commit_next(Pool *p, PoolMetadata *md, const char *what) {
        int r = pool_metadata_bump_seq(md);
        if (r < 0)
                return log_error_errno(r, "pool: the sequence number is exhausted");
        return pool_commit(p, md, what);
}

int pool_grow(Pool *p, const char *volume, uint64_t size, bool relative) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        bool active;
        dev_t dev;
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool volume %s: no such volume", volume);
        uint64_t esb = p->md->extent_size * 512, cur = pool_volume_extents(v), add;
        if (relative)
                add = div_round_up(size, esb);
        else {
                uint64_t target = div_round_up(size, esb);
                if (target < cur)
                        return log_error_errno(EINVAL, "pool volume %s: already %" PRIu64 " bytes, more than %" PRIu64 "; use shrink",
                                               volume, cur * esb, size);
                add = target - cur;
        }
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        if (add > 0) {
                r = pool_volume_grow(md, volume, add);
                if (r < 0)
                        return r; /* logged by the allocator */
                pool_failpoint("grow-allocated");
                r = commit_next(p, md, "grow");
                if (r < 0)
                        return r;
        }
        r = volume_dev(volume, &active, &dev);
        if (r < 0)
                return r;
        if (!active) {
                log_info("pool volume %s: now %" PRIu64 " extents; not active, the device gets them at activation",
                         volume, cur + add);
                return 0;
        }
        v = pool_metadata_find_volume(p->md, volume);
        r = volume_apply(p, p->md, v, false, NULL);
        if (r < 0)
                return r;
        pool_failpoint("grow-reloaded");
        r = volume_fs_grow(volume, dev);
        if (r < 0)
                return r;
        pool_failpoint("grow-fs");
        log_info("pool volume %s: grown by %" PRIu64 " extents to %" PRIu64 " bytes", volume, add, (cur + add) * esb);
        return 0;
}

int pool_shrink(Pool *p, const char *volume, uint64_t size, bool relative) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        _cleanup_free_ DmLinearTarget *want = NULL;
        size_t n_want;
        bool active;
        dev_t dev;
        char name[64];
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool volume %s: no such volume", volume);
        uint64_t esb = p->md->extent_size * 512, cur = pool_volume_extents(v), cut;
        if (relative)
                cut = size / esb;
        else {
                uint64_t target = div_round_up(size, esb);
                if (target > cur)
                        return log_error_errno(EINVAL, "pool volume %s: %" PRIu64 " bytes, less than %" PRIu64 "; use grow",
                                               volume, cur * esb, size);
                cut = cur - target;
        }
        if (cut == 0) {
                log_info("pool volume %s: nothing to shrink (sizes are whole extents of %" PRIu64 " bytes)", volume, esb);
                return 0;
        }
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        r = pool_volume_shrink(md, volume, cut);
        if (r < 0)
                return r;
        r = volume_dev(volume, &active, &dev);
        if (r < 0)
                return r;
        if (!active)
                return log_error_errno(ENXIO, "pool volume %s: not active; activate it so that its filesystem can be shrunk first", volume);
        /* The device must show exactly what the metadata gives it. */
        r = volume_apply(p, p->md, pool_metadata_find_volume(p->md, volume), false, NULL);
        if (r < 0)
                return r;
        r = volume_fs_shrink(volume, dev, (cur - cut) * esb);
        if (r < 0)
                return r;
        pool_failpoint("shrink-fs");
        r = volume_targets(p, md, volume, &want, &n_want);
        if (r < 0)
                return r;
        r = dm_linear_reload(volume_dm_name(volume, name), want, n_want);
        if (r < 0)
                return r;
        pool_failpoint("shrink-reloaded");
        r = commit_next(p, md, "shrink");
        if (r < 0)
                return r;
        log_info("pool volume %s: shrunk by %" PRIu64 " extents to %" PRIu64 " bytes", volume, cut, (cur - cut) * esb);
        return 0;
}

/* ---- create / remove ----------------------------------------------------------- */

int pool_volume_from_device(const char *path, char ret[static POOL_NAME_MAX + 1]) {
        size_t n = strlen(POOL_DEVICE_PREFIX);

        if (!path || strncmp(path, POOL_DEVICE_PREFIX, n) != 0)
                return 0;
        if (!pool_volume_name_valid(path + n))
                return -EINVAL;
        snprintf(ret, POOL_NAME_MAX + 1, "%s", path + n);
        return 1;
}

/* A new volume's extents may hold a removed volume's filesystem or LUKS
 * header: zeroed, so blkid, udev and mkfs see an empty device (LVM's
 * lvcreate does the same). 1 MiB covers the primary signatures of every
 * filesystem Hearth makes and both LUKS2 headers' starts. */
static int volume_zero_start(const char *volume, uint64_t size) {
        char node[128];
        size_t len = size < (1U << 20) ? (size_t) size : (1U << 20);
        int r;

        snprintf(node, sizeof node, POOL_DEVICE_PREFIX "%s", volume);
        _cleanup_close_ int fd = open(node, O_WRONLY | O_EXCL | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "pool volume %s: cannot open %s to clear its start: %m", volume, node);
        _cleanup_free_ uint8_t *zero = calloc(1, len);
        if (!zero)
                return log_oom();
        r = pwrite_full(fd, zero, len, 0);
        if (r >= 0 && fdatasync(fd) < 0)
                r = negative_errno();
        if (r < 0)
                return log_error_errno(r, "pool volume %s: cannot clear its first %zu bytes: %m", volume, len);
        return 0;
}

int pool_volume_create_full(Pool *p, const char *volume, uint64_t size, uint32_t flags) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        DmLinearInfo info;
        uint8_t uuid[16];
        char name[64];
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        if (strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EINVAL, "pool volume home: made by init over the home partition; it cannot be created");
        if (!pool_volume_name_valid_new(volume))
                return log_error_errno(EINVAL, "pool volume %.40s: invalid name (1-%u characters of a-z 0-9 _ -, not starting with -)",
                                       volume, POOL_NAME_MAX);
        if (size == 0)
                return log_error_errno(EINVAL, "pool volume %s: a size of at least one byte (rounded up to an extent) is needed", volume);
        if (pool_metadata_find_volume(p->md, volume))
                return log_error_errno(EEXIST, "pool volume %s: already exists", volume);
        /* Checked before anything is written: a device of that name that the
         * metadata does not know would make the new volume unactivatable. */
        r = dm_linear_info(volume_dm_name(volume, name), &info);
        if (r < 0)
                return r;
        if (info.exists)
                return log_error_errno(EEXIST, "pool volume %s: /dev/mapper/%s exists but the metadata has no such volume; "
                                       "remove that device first", volume, name);

        uint64_t esb = p->md->extent_size * 512, extents = div_round_up(size, esb);
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        r = random_uuid(uuid);
        if (r < 0)
                return log_error_errno(r, "pool volume %s: cannot get random bytes: %m", volume);
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        r = pool_volume_add(md, volume, uuid, flags, extents);
        if (r < 0)
                return r; /* logged by the allocator */
        pool_failpoint("create-allocated");
        r = commit_next(p, md, "create");
        if (r < 0)
                return r;
        /* From here on the volume exists: a failure leaves it for activate. */
        r = volume_apply(p, p->md, pool_metadata_find_volume(p->md, volume), true, NULL);
        if (r >= 0)
                r = volume_zero_start(volume, extents * esb);
        if (r < 0)
                return log_error_errno(r, "pool volume %s: created in the metadata, but its device is not ready; "
                                       "hearth-pool activate brings it up: %m", volume);
        pool_failpoint("create-activated");
        log_info("pool volume %s: created with %" PRIu64 " extents (%" PRIu64 " bytes) as %s%s", volume, extents,
                 extents * esb, POOL_DEVICE_PREFIX, volume);
        return 0;
}

/* udev's probe opens a device for a moment after each event. */
static int volume_wait_closed(const char *name, DmLinearInfo *info) {
        int r;
        for (int i = 0; i < 10 && info->exists && info->open_count > 0; i++) {
                usleep(100 * 1000);
                r = dm_linear_info(name, info);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pool_volume_remove(Pool *p, const char *volume) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        DmLinearInfo info;
        char name[64];
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        if (strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EPERM, "pool volume home: cannot be removed: it is /home, on the home partition");
        if (!pool_volume_name_valid(volume) || !pool_metadata_find_volume(p->md, volume))
                return log_error_errno(ENOENT, "pool volume %.40s: no such volume", volume);
        r = dm_linear_info(volume_dm_name(volume, name), &info);
        if (r >= 0)
                r = volume_wait_closed(name, &info);
        if (r < 0)
                return r;
        if (info.exists && info.open_count > 0)
                return log_error_errno(EBUSY, "pool volume %s: in use (/dev/mapper/%s is open %d time%s: mounted, or a LUKS "
                                       "mapping on it); close it first", volume, name, info.open_count,
                                       info.open_count == 1 ? "" : "s");
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        r = pool_volume_drop(md, volume);
        if (r < 0)
                return r;
        /* The device goes first: extents that are free in the metadata are
         * never mapped. A crash before the commit leaves the volume in the
         * metadata, inactive; remove runs again. */
        if (info.exists) {
                r = dm_linear_remove(name);
                if (r == -EBUSY)
                        return log_error_errno(EBUSY, "pool volume %s: in use (/dev/mapper/%s was opened meanwhile); close it first",
                                               volume, name);
                if (r < 0 && r != -ENODEV)
                        return r;
        }
        pool_failpoint("remove-deactivated");
        r = commit_next(p, md, "remove");
        if (r < 0)
                return r;
        log_info("pool volume %s: removed; its extents are free", volume);
        return 0;
}

int pool_volume_activate(Pool *p, const char *volume) {
        int r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool volume %.40s: no such volume", volume);
        return volume_apply(p, p->md, v, true, NULL);
}

int pool_volume_info(Pool *p, const char *volume, PoolVolumeInfo *ret) {
        uint64_t free_ext = 0;
        bool active;
        dev_t dev;
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return -ENOENT;
        r = pool_free_extents(p->md, &free_ext);
        if (r < 0)
                return log_error_errno(r, "pool: cannot compute the free extents: %m");
        r = volume_dev(volume, &active, &dev);
        if (r < 0)
                return r;
        uint64_t esb = p->md->extent_size * 512;
        *ret = (PoolVolumeInfo) {
                .size = pool_volume_extents(v) * esb,
                .extent_size = esb,
                .free = free_ext * esb,
                .flags = v->flags,
                .active = active,
        };
        return 0;
}

int pool_free_space(Pool *p, uint64_t *ret_free, uint64_t *ret_extent_size) {
        uint64_t free_ext = 0;
        int r = pool_need_md(p);
        if (r < 0)
                return r;
        r = pool_free_extents(p->md, &free_ext);
        if (r < 0)
                return log_error_errno(r, "pool: cannot compute the free extents: %m");
        *ret_free = free_ext * p->md->extent_size * 512;
        *ret_extent_size = p->md->extent_size * 512;
        return 0;
}

/* ---- release ----------------------------------------------------------------- */

int pool_give_back(Pool *p, uint64_t bytes) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        _cleanup_free_ uint8_t *area = NULL, *copy = NULL;
        _cleanup_free_ char *err = NULL;
        uint64_t shift;
        PoolGeometry g;
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolPv *pv = pool_metadata_find_pv_role(p->md, POOL_PV_POOL);
        if (!pv)
                return log_error_errno(ENODEV, "pool: there is no pool partition to release space from");
        PoolDevice *d = pool_dev(p, pv->index);
        uint64_t esb = p->md->extent_size * 512, k = bytes / esb;
        if (k == 0)
                return log_error_errno(EINVAL, "pool: %" PRIu64 " bytes is less than one extent (%" PRIu64 " bytes)", bytes, esb);
        if (!d->part.in_gpt)
                return log_error_errno(EMEDIUMTYPE, "pool PV %s: not a GPT partition; cannot move its start", d->path);
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        /* 1. the k extents next to root are still free (we hold the lock). */
        r = pool_release(md, k, &shift);
        if (r < 0)
                return r;
        r = pool_metadata_bump_seq(md);
        if (r < 0)
                return log_error_errno(r, "pool: the sequence number is exhausted");
        const PoolPv *npv = &md->pvs[pv->index];

        /* 2. stage geometry and both copies at the new start. */
        r = pool_geometry_init(&g, md->pool_uuid, pv->uuid, pv->index, d->geometry.sector_size, npv->size,
                               md->extent_size, d->geometry.metadata_copy_size, &err);
        if (r < 0)
                return log_error_errno(r, "pool PV %s: cannot lay out the released geometry: %s", d->path, err ?: strerror(-r));
        g.first_extent = npv->first_extent;
        if (g.data_start != npv->data_start)
                return log_error_errno(EBADMSG, "pool PV %s: the released layout moves the data start", d->path);
        size_t c = (size_t) g.metadata_copy_size, len = (size_t) (g.data_start * 512);
        r = pool_metadata_encode(md, c, &copy, &err);
        if (r < 0)
                return log_error_errno(r, "pool: refusing to write metadata: %s", err ?: strerror(-r));
        area = calloc(1, len);
        if (!area)
                return log_oom();
        pool_geometry_encode(&g, area + POOL_GEOMETRY_PRIMARY);
        pool_geometry_encode(&g, area + POOL_GEOMETRY_BACKUP);
        memcpy(area + g.metadata_offset, copy, c);
        memcpy(area + g.metadata_offset + c, copy, c);
        r = pwrite_full(d->fd, area, len, d->base + shift * 512);
        if (r >= 0 && fdatasync(d->fd) < 0)
                r = negative_errno();
        if (r < 0)
                return log_error_errno(r, "pool PV %s: cannot stage the released layout: %m", d->path);
        pool_failpoint("release-staged");

        /* 3. the switch: the GPT's start moves. */
        uint64_t old_start = d->part.kernel_start + d->dm_adjust;
        r = gpt_move_start("pool release", &d->part, old_start, shift);
        if (r < 0)
                return r;
        pool_failpoint("release-gpt");
        d->fd = (close(d->fd), -1); /* our own open would keep the kernel from moving it */
        r = kernel_move_partition(&d->part, old_start + shift, d->part.gpt_size - shift);
        if (r == -EBUSY)
                log_notice("pool PV %s: in use, the kernel keeps the partition's old start until the next boot; "
                           "Hearth reaches the PV through %s meanwhile", d->path, d->part.disk);
        else if (r < 0)
                log_warning_errno(r, "pool PV %s: the kernel did not take the new partition start: %m", d->path);
        else
                for (int i = 0; i < 50 && access(d->path, F_OK) < 0; i++)
                        usleep(100 * 1000);
        pool_failpoint("release-kernel");
        r = device_resolve(d, O_RDWR);
        if (r < 0)
                return r;
        d->geometry = g;
        for (unsigned s = 0; s < 2; s++) {
                d->pick.error[s] = 0;
                d->pick.reason[s] = mfree(d->pick.reason[s]);
                d->pick.seq[s] = md->seq;
        }
        d->pick.current = 0;
        d->pick.inactive = 1;
        d->pick.other_stale = false;

        /* 4. the other PVs. */
        r = pool_commit_pvs(p, md, "release", UINT32_MAX & ~(1U << pv->index));
        if (r < 0)
                return r;
        pool_metadata_free(p->md);
        p->md = TAKE_PTR(md);
        log_info("pool: released %" PRIu64 " extents (%" PRIu64 " bytes) next to root", k, k * esb);
        return 0;
}

/* ---- status ----------------------------------------------------------------- */

static json_object *json_uuid(const uint8_t u[16]) {
        char s[37];
        return json_object_new_string(pool_uuid_to_string(u, s));
}

static json_object *copies_json(const PoolDevice *d, const PoolMetadata *md) {
        json_object *o = json_object_new_object();
        for (unsigned s = 0; s < 2; s++) {
                json_object *c = json_object_new_object();
                bool ok = d->geometry_ok && d->pick.error[s] == 0 && (d->metadata_ok || d->pick.reason[s] == NULL) &&
                          d->pick.seq[s] > 0;
                json_object_object_add(c, "valid", json_object_new_boolean(ok));
                if (ok)
                        json_object_object_add(c, "seq", json_object_new_uint64(d->pick.seq[s]));
                else
                        json_object_object_add(c, "error", json_object_new_string(d->pick.reason[s] ?: d->metadata_error ?: "unreadable"));
                json_object_object_add(o, s == 0 ? "A" : "B", c);
        }
        if (d->metadata_ok) {
                unsigned cur = d->pick.current, other = !cur;
                char why[512];
                json_object_object_add(o, "current", json_object_new_string(cur == 0 ? "A" : "B"));
                if (d->pick.error[other])
                        snprintf(why, sizeof why, "copy %c is invalid: %s", "AB"[other], d->pick.reason[other] ?: "?");
                else if (d->pick.seq[other] < d->pick.seq[cur])
                        snprintf(why, sizeof why, "copy %c is older (sequence %" PRIu64 " < %" PRIu64 ")", "AB"[other],
                                 d->pick.seq[other], d->pick.seq[cur]);
                else
                        snprintf(why, sizeof why, "copy %c is identical", "AB"[other]);
                json_object_object_add(o, "why_not_other", json_object_new_string(why));
                json_object_object_add(o, "stale", json_object_new_boolean(md && d->md->seq < md->seq));
        } else
                json_object_object_add(o, "current", NULL);
        return o;
}

int pool_status(Pool *p, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *pvs = json_object_new_array(),
                                   *vols = json_object_new_array();
        const PoolMetadata *md = p->md;
        uint64_t esb = md ? md->extent_size * 512 : 0;

        if (!o || !pvs || !vols)
                return log_oom();
        json_object_object_add(o, "valid", json_object_new_boolean(md != NULL));
        if (!md)
                json_object_object_add(o, "error", json_object_new_string(p->md_error ?: "no metadata"));
        else {
                uint64_t free_ext = 0, rel = 0;
                json_object_object_add(o, "pool_uuid", json_uuid(md->pool_uuid));
                json_object_object_add(o, "seq", json_object_new_uint64(md->seq));
                json_object_object_add(o, "extent_size", json_object_new_uint64(esb));
                json_object_object_add(o, "metadata_from", json_object_new_string(p->devs[p->md_from].path));
                (void) pool_free_extents(md, &free_ext);
                (void) pool_releasable(md, &rel);
                json_object_object_add(o, "free_extents", json_object_new_uint64(free_ext));
                json_object_object_add(o, "free_bytes", json_object_new_uint64(free_ext * esb));
                json_object_object_add(o, "releasable_extents", json_object_new_uint64(rel));
                json_object_object_add(o, "releasable_bytes", json_object_new_uint64(rel * esb));
        }
        size_t order[POOL_PVS_MAX];
        for (size_t i = 0; i < p->n_devs; i++) { /* by PV index */
                size_t k = i;
                for (; k > 0 && p->devs[order[k - 1]].geometry.pv_index > p->devs[i].geometry.pv_index; k--)
                        order[k] = order[k - 1];
                order[k] = i;
        }
        for (size_t i = 0; i < p->n_devs; i++) {
                const PoolDevice *d = &p->devs[order[i]];
                json_object *j = json_object_new_object();
                json_object_object_add(j, "device", json_object_new_string(d->path));
                json_object_object_add(j, "index", json_object_new_uint64(d->geometry.pv_index));
                json_object_object_add(j, "uuid", json_uuid(d->geometry.pv_uuid));
                if (md && d->geometry.pv_index < md->n_pvs) {
                        const PoolPv *pv = &md->pvs[d->geometry.pv_index];
                        _cleanup_free_ PoolExtentRange *fr = NULL;
                        size_t nfr = 0;
                        uint64_t fe = 0;
                        if (pool_free_ranges(md, pv->index, &fr, &nfr) >= 0)
                                for (size_t k = 0; k < nfr; k++)
                                        fe += fr[k].count;
                        json_object_object_add(j, "role", json_object_new_string(pool_pv_role_to_string(pv->role)));
                        json_object_object_add(j, "size", json_object_new_uint64(pv->size * 512));
                        json_object_object_add(j, "data_start", json_object_new_uint64(pv->data_start * 512));
                        json_object_object_add(j, "first_extent", json_object_new_uint64(pv->first_extent));
                        json_object_object_add(j, "extent_count", json_object_new_uint64(pv->extent_count));
                        json_object_object_add(j, "free_extents", json_object_new_uint64(pv->role == POOL_PV_HOME ? 0 : fe));
                }
                if (d->dm_adjust)
                        json_object_object_add(j, "kernel_partition_stale", json_object_new_boolean(true));
                json_object_object_add(j, "copies", copies_json(d, md));
                json_object_array_add(pvs, j);
        }
        json_object_object_add(o, "pvs", json_object_get(pvs));
        for (size_t i = 0; md && i < md->n_volumes; i++) {
                const PoolVolume *v = &md->volumes[i];
                json_object *j = json_object_new_object(), *runs = json_object_new_array();
                DmLinearInfo info = {};
                char name[64], node[128];
                json_object_object_add(j, "name", json_object_new_string(v->name));
                json_object_object_add(j, "uuid", json_uuid(v->uuid));
                json_object_object_add(j, "extents", json_object_new_uint64(pool_volume_extents(v)));
                json_object_object_add(j, "size", json_object_new_uint64(pool_volume_extents(v) * esb));
                json_object_object_add(j, "luks", json_object_new_boolean(v->flags & POOL_VOLUME_LUKS));
                for (size_t k = 0; k < v->n_runs; k++) {
                        json_object *rj = json_object_new_object();
                        json_object_object_add(rj, "pv", json_object_new_uint64(v->runs[k].pv));
                        json_object_object_add(rj, "first", json_object_new_uint64(v->runs[k].first));
                        json_object_object_add(rj, "count", json_object_new_uint64(v->runs[k].count));
                        json_object_array_add(runs, rj);
                }
                json_object_object_add(j, "runs", runs);
                volume_dm_name(v->name, name);
                snprintf(node, sizeof node, "/dev/mapper/%s", name);
                json_object_object_add(j, "device", json_object_new_string(node));
                if (dm_linear_info(name, &info) >= 0 && info.exists) {
                        char mp[PATH_MAX], type[32];
                        json_object_object_add(j, "active", json_object_new_boolean(true));
                        if (find_mount(info.dev, mp, type) > 0) {
                                json_object_object_add(j, "mountpoint", json_object_new_string(mp));
                                json_object_object_add(j, "fstype", json_object_new_string(type));
                        }
                } else
                        json_object_object_add(j, "active", json_object_new_boolean(false));
                json_object_array_add(vols, j);
        }
        json_object_object_add(o, "volumes", json_object_get(vols));
        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- check ------------------------------------------------------------------ */

static void add_problem(json_object *arr, size_t *n, const char *kind, bool repaired, const char *fmt, ...) _printf_(5, 6);
static void add_problem(json_object *arr, size_t *n, const char *kind, bool repaired, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "message", json_object_new_string(buf));
        json_object_object_add(o, "repaired", json_object_new_boolean(repaired));
        json_object_array_add(arr, o);
        if (!repaired)
                (*n)++;
}

/* The live table of a volume as runs of extents; a target that does not
 * land on whole extents of a PV is reported. */
static int live_runs(Pool *p, const PoolMetadata *md, const char *volume, PoolRun **ret, size_t *ret_n, char **ret_bad) {
        _cleanup_free_ DmLinearTarget *t = NULL;
        size_t n;
        char name[64];
        int r = dm_linear_table(volume_dm_name(volume, name), &t, &n);
        if (r < 0)
                return r;
        PoolRun *runs = calloc(n ? n : 1, sizeof *runs);
        if (!runs)
                return log_oom();
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                PoolDevice *d = NULL;
                for (size_t k = 0; k < p->n_devs; k++)
                        if (p->devs[k].devnum == t[i].dev)
                                d = &p->devs[k];
                const PoolPv *pv = d && d->geometry.pv_index < md->n_pvs ? &md->pvs[d->geometry.pv_index] : NULL;
                if (!pv || t[i].offset < d->dm_adjust + pv->data_start ||
                    (t[i].offset - d->dm_adjust - pv->data_start) % md->extent_size != 0 || t[i].length % md->extent_size != 0) {
                        if (asprintf(ret_bad, "the live table of %s maps %u:%u at sector %" PRIu64 ", not whole extents of a PV",
                                     name, major(t[i].dev), minor(t[i].dev), t[i].offset) < 0)
                                *ret_bad = NULL;
                        free(runs);
                        return -EBADMSG;
                }
                runs[m++] = (PoolRun) { .pv = pv->index,
                                        .first = pv->first_extent + (t[i].offset - d->dm_adjust - pv->data_start) / md->extent_size,
                                        .count = t[i].length / md->extent_size };
        }
        *ret = runs;
        *ret_n = m;
        return 0;
}

int pool_verify(Pool *p, bool repair, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *probs = json_object_new_array();
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        size_t n = 0;
        int r;

        if (!o || !probs)
                return log_oom();

        /* Copies: invalid, stale. */
        bool stale = false;
        for (size_t i = 0; i < p->n_devs; i++) {
                PoolDevice *d = &p->devs[i];
                for (unsigned s = 0; s < 2; s++)
                        if (d->pick.error[s]) {
                                add_problem(probs, &n, "invalid-copy", false, "%s: copy %c: %s", d->path, "AB"[s],
                                            d->pick.reason[s] ?: "invalid");
                                stale = true;
                        }
                if (!d->metadata_ok && !d->pick.error[0] && !d->pick.error[1]) {
                        add_problem(probs, &n, "invalid-copy", false, "%s: %s", d->path, d->metadata_error ?: "no valid copy");
                        stale = true;
                }
                if (p->md && d->metadata_ok && d->md->seq < p->md->seq) {
                        add_problem(probs, &n, "stale-pv", false, "%s: holds sequence %" PRIu64 ", the pool is at %" PRIu64,
                                    d->path, d->md->seq, p->md->seq);
                        stale = true;
                }
        }

        /* Metadata: the valid one, or the newest structurally sound copy to
         * list ownership problems. */
        if (p->md) {
                if (pool_metadata_dup(p->md, &md) < 0)
                        return log_oom();
        } else {
                add_problem(probs, &n, "metadata", false, "%s", p->md_error ?: "no valid metadata");
                for (size_t i = 0; i < p->n_devs; i++) {
                        PoolDevice *d = &p->devs[i];
                        size_t c = (size_t) d->geometry.metadata_copy_size;
                        if (!d->geometry_ok)
                                continue;
                        _cleanup_free_ uint8_t *buf = malloc(c);
                        if (!buf)
                                return log_oom();
                        for (unsigned s = 0; s < 2; s++) {
                                PoolMetadata *m = NULL;
                                if (pread_full(d->fd, buf, c, d->base + d->geometry.metadata_offset + s * c) < 0 ||
                                    pool_metadata_decode_full(buf, c, POOL_DECODE_STRUCTURE_ONLY, &m, NULL) < 0)
                                        continue;
                                if (!md || m->seq > md->seq) {
                                        pool_metadata_free(md);
                                        md = m;
                                } else
                                        pool_metadata_free(m);
                        }
                }
        }

        if (md) {
                PoolLive live[POOL_VOLUMES_MAX];
                PoolRun *live_r[POOL_VOLUMES_MAX] = {};
                size_t n_live = 0;
                PoolCheckReport rep = {};

                for (size_t i = 0; i < md->n_volumes && p->md; i++) {
                        const PoolVolume *v = &md->volumes[i];
                        DmLinearInfo info;
                        char name[64];
                        _cleanup_free_ char *bad = NULL;
                        size_t nr = 0;
                        if (dm_linear_info(volume_dm_name(v->name, name), &info) < 0 || !info.exists)
                                continue;
                        r = live_runs(p, md, v->name, &live_r[n_live], &nr, &bad);
                        if (r == -EBADMSG) {
                                add_problem(probs, &n, "foreign-mapping", false, "%s", bad ?: "bad live table");
                                continue;
                        }
                        if (r < 0)
                                continue;
                        live[n_live] = (PoolLive) { .volume = v->name, .runs = live_r[n_live], .n_runs = nr };
                        n_live++;
                }
                r = pool_check(md, live, n_live, &rep);
                if (r < 0) {
                        for (size_t i = 0; i < n_live; i++)
                                free(live_r[i]);
                        return log_error_errno(r, "pool: check failed: %m");
                }
                bool lagging = false;
                for (size_t i = 0; i < rep.n_problems; i++) {
                        const PoolProblem *pr = &rep.problems[i];
                        static const char *const kinds[] = {
                                [POOL_PROBLEM_UNKNOWN_PV] = "unknown-pv",       [POOL_PROBLEM_EMPTY_RUN] = "empty-run",
                                [POOL_PROBLEM_OUTSIDE_PV] = "outside-pv",       [POOL_PROBLEM_DOUBLY_OWNED] = "doubly-owned",
                                [POOL_PROBLEM_HOME_FIRST_RUN] = "home-first-run", [POOL_PROBLEM_LEAKED] = "leaked",
                                [POOL_PROBLEM_UNOWNED_MAPPED] = "unowned-mapped",
                        };
                        bool fixable = pr->kind == POOL_PROBLEM_LEAKED && p->md;
                        if (fixable)
                                lagging = true;
                        add_problem(probs, &n, pr->kind < ELEMENTSOF(kinds) ? kinds[pr->kind] : "unknown",
                                    false, "%s", pr->message ?: "?");
                }
                json_object_object_add(o, "leaked_extents", json_object_new_uint64(rep.leaked_extents));
                json_object_object_add(o, "doubly_owned_extents", json_object_new_uint64(rep.doubly_owned_extents));
                pool_check_report_done(&rep);
                for (size_t i = 0; i < n_live; i++)
                        free(live_r[i]);

                if (repair && p->md && (stale || lagging)) {
                        bool ok = true;
                        if (stale && pool_rewrite_stale(p) < 0)
                                ok = false;
                        for (size_t i = 0; ok && lagging && i < p->md->n_volumes; i++)
                                if (volume_apply(p, p->md, &p->md->volumes[i], false, NULL) < 0)
                                        ok = false;
                        if (ok) {
                                /* Everything listed so far that repair handles is fixed. */
                                size_t len = json_object_array_length(probs);
                                for (size_t i = 0; i < len; i++) {
                                        json_object *pj = json_object_array_get_idx(probs, i), *k;
                                        const char *kind = json_object_object_get_ex(pj, "kind", &k) ? json_object_get_string(k) : "";
                                        if (strcmp(kind, "invalid-copy") == 0 || strcmp(kind, "stale-pv") == 0 ||
                                            strcmp(kind, "leaked") == 0) {
                                                json_object_object_add(pj, "repaired", json_object_new_boolean(true));
                                                n--;
                                        }
                                }
                        }
                }
        }
        json_object_object_add(o, "problems", json_object_get(probs));
        json_object_object_add(o, "consistent", json_object_new_boolean(n == 0));
        *ret = TAKE_PTR(o);
        return (int) (n > INT_MAX ? INT_MAX : n);
}

/* ---- init -------------------------------------------------------------------- */

static int refuse_if_used(const char *path, int fd, bool force) {
        uint8_t buf[2 * POOL_GEOMETRY_SIZE];
        PoolGeometry g;
        const char *t = NULL, *what = "filesystem";

        if (pread_full(fd, buf, sizeof buf, POOL_GEOMETRY_PRIMARY) >= 0 &&
            (pool_geometry_decode(buf, POOL_GEOMETRY_SIZE, &g, NULL) >= 0 ||
             pool_geometry_decode(buf + POOL_GEOMETRY_SIZE, POOL_GEOMETRY_SIZE, &g, NULL) >= 0)) {
                char u[37];
                if (!force)
                        return log_error_errno(EEXIST, "pool PV %s: already a physical volume of pool %s (use --force to overwrite)",
                                               path, pool_uuid_to_string(g.pool_uuid, u));
                log_warning("pool PV %s: overwriting a physical volume of pool %s", path, pool_uuid_to_string(g.pool_uuid, u));
                return 0;
        }
        blkid_probe pr = blkid_new_probe();
        if (!pr)
                return log_oom();
        if (blkid_probe_set_device(pr, fd, 0, 0) < 0) {
                blkid_free_probe(pr);
                return log_error_errno(EIO, "pool PV %s: cannot probe for signatures", path);
        }
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
        blkid_probe_enable_partitions(pr, 1);
        int r = blkid_do_safeprobe(pr);
        if (r == 0) {
                if (blkid_probe_lookup_value(pr, "TYPE", &t, NULL) < 0) {
                        t = NULL;
                        if (blkid_probe_lookup_value(pr, "PTTYPE", &t, NULL) >= 0)
                                what = "partition table";
                }
        }
        char type[64];
        snprintf(type, sizeof type, "%s", t ?: (r == -2 ? "ambiguous signatures" : ""));
        blkid_free_probe(pr);
        if (r < 0 && r != -2)
                return log_error_errno(EIO, "pool PV %s: probing for signatures failed", path);
        if (type[0]) {
                if (!force)
                        return log_error_errno(EEXIST, "pool PV %s: holds a %s %s (use --force to overwrite it)", path, type, what);
                log_warning("pool PV %s: overwriting its %s %s", path, type, what);
        }
        return 0;
}

int pool_init(const char *home_dev, const char *pool_dev, uint64_t extent_size, bool force) {
        _cleanup_close_ int lock = -1;
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        PoolDevice devs[2] = { { .fd = -1 }, { .fd = -1 } }; /* 0 pool, 1 home */
        const char *paths[2] = { pool_dev, home_dev };
        PoolGeometry g[2];
        uint8_t pool_uuid[16], pv_uuid[2][16], vol_uuid[16];
        int r;

        if (extent_size == 0)
                extent_size = POOL_EXTENT_SIZE_DEFAULT * 512;
        if (extent_size % 512 != 0 || extent_size / 512 < POOL_EXTENT_SIZE_MIN || extent_size / 512 > POOL_EXTENT_SIZE_MAX ||
            (extent_size & (extent_size - 1)) != 0)
                return log_error_errno(EINVAL, "pool: extent size %" PRIu64 " is not a power of two between 1M and 16G", extent_size);
        lock = take_lock();
        if (lock < 0)
                return lock;

        for (int i = 0; i < 2; i++) {
                devs[i].path = strdup(paths[i]);
                if (!devs[i].path) {
                        r = log_oom();
                        goto finish;
                }
                /* O_EXCL: refuses a mounted partition or one a dm device holds. */
                r = device_resolve(&devs[i], O_RDWR | O_EXCL);
                if (r == -EBUSY)
                        r = log_error_errno(EBUSY, "pool PV %s: in use (mounted, or held by a device-mapper device)", paths[i]);
                if (r < 0)
                        goto finish;
                if (devs[i].base != 0) {
                        r = log_error_errno(ESTALE, "pool PV %s: the kernel's partition table is stale; re-read it first", paths[i]);
                        goto finish;
                }
        }
        if (devs[0].devnum == devs[1].devnum) {
                r = log_error_errno(EINVAL, "pool: the home and pool partitions are the same device %s", home_dev);
                goto finish;
        }
        for (int i = 0; i < 2; i++) {
                r = refuse_if_used(devs[i].path, devs[i].fd, force);
                if (r < 0)
                        goto finish;
        }
        if ((r = random_uuid(pool_uuid)) < 0 || (r = random_uuid(pv_uuid[0])) < 0 || (r = random_uuid(pv_uuid[1])) < 0 ||
            (r = random_uuid(vol_uuid)) < 0) {
                log_error_errno(r, "pool: cannot get random bytes: %m");
                goto finish;
        }
        r = pool_metadata_new(pool_uuid, extent_size / 512, &md);
        if (r < 0) {
                log_error_errno(r, "pool: cannot make the metadata: %m");
                goto finish;
        }
        for (uint32_t i = 0; i < 2; i++) {
                _cleanup_free_ char *err = NULL;
                uint64_t size = devs[i].size / (devs[i].sector_size / 512) * (devs[i].sector_size / 512);
                r = pool_geometry_init(&g[i], pool_uuid, pv_uuid[i], i, devs[i].sector_size, size, extent_size / 512, 0, &err);
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: %s", devs[i].path, err ?: strerror(-r));
                        goto finish;
                }
                if (i == 1 && pool_geometry_extent_count(&g[i]) == 0) {
                        r = log_error_errno(ENOSPC, "pool PV %s: smaller than one extent after the metadata", devs[i].path);
                        goto finish;
                }
                r = pool_metadata_add_pv(md, &g[i], i == 0 ? POOL_PV_POOL : POOL_PV_HOME, i == 1 ? vol_uuid : NULL);
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot add it to the metadata: %m", devs[i].path);
                        goto finish;
                }
        }
        r = pool_metadata_bump_seq(md);
        if (r < 0)
                goto finish;

        /* 0. this machine's pool from now on (pool-discover.h): recorded
         * before any PV is written, so that an init killed after writing
         * them leaves a pool that activate finds, never one it ignores. */
        r = pool_id_write(pool_id_file(), pool_uuid);
        if (r < 0)
                goto finish;
        /* 1. the reserved area: zeroed (old signatures, stale copies). */
        for (int i = 0; i < 2; i++) {
                size_t len = (size_t) (g[i].data_start * 512);
                _cleanup_free_ uint8_t *z = calloc(1, len);
                if (!z) {
                        r = log_oom();
                        goto finish;
                }
                r = pwrite_full(devs[i].fd, z, len, 0);
                if (r >= 0 && fdatasync(devs[i].fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot clear the metadata area: %m", devs[i].path);
                        goto finish;
                }
        }
        pool_failpoint("init-zeroed");
        /* 2. copies A and B, pool PV then home PV. */
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ uint8_t *buf = NULL;
                _cleanup_free_ char *err = NULL;
                size_t c = (size_t) g[i].metadata_copy_size;
                r = pool_metadata_encode(md, c, &buf, &err);
                if (r < 0) {
                        log_error_errno(r, "pool: refusing to write metadata: %s", err ?: strerror(-r));
                        goto finish;
                }
                r = pwrite_full(devs[i].fd, buf, c, g[i].metadata_offset);
                if (r >= 0)
                        r = pwrite_full(devs[i].fd, buf, c, g[i].metadata_offset + c);
                if (r >= 0 && fdatasync(devs[i].fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot write the metadata: %m", devs[i].path);
                        goto finish;
                }
                pool_failpoint(i == 0 ? "init-copies-pool" : "init-copies-home");
        }
        /* 3. geometry last: only now is either device a PV. */
        for (int i = 0; i < 2; i++) {
                uint8_t gb[2 * POOL_GEOMETRY_SIZE];
                pool_geometry_encode(&g[i], gb);
                memcpy(gb + POOL_GEOMETRY_SIZE, gb, POOL_GEOMETRY_SIZE);
                r = pwrite_full(devs[i].fd, gb, sizeof gb, POOL_GEOMETRY_PRIMARY);
                if (r >= 0 && fdatasync(devs[i].fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot write the geometry: %m", devs[i].path);
                        goto finish;
                }
                pool_failpoint(i == 0 ? "init-geometry-pool" : "init-geometry-home");
        }
        /* 4. the pool partition's GPT type. */
        if (devs[0].part.in_gpt) {
                r = gpt_set_type("pool init", &devs[0].part, POOL_GPT_TYPE);
                if (r < 0)
                        goto finish;
                pool_failpoint("init-gpt-type");
        } else
                log_notice("pool PV %s: not a GPT partition; its type is left alone", devs[0].path);
        {
                char u[37];
                log_info("pool %s: created; home %s (%" PRIu64 " extents), pool %s (%" PRIu64 " extents) of %" PRIu64 " bytes",
                         pool_uuid_to_string(pool_uuid, u), home_dev, pool_geometry_extent_count(&g[1]), pool_dev,
                         pool_geometry_extent_count(&g[0]), extent_size);
        }
        r = 0;
finish:
        device_done(&devs[0]);
        device_done(&devs[1]);
        return r;
}
