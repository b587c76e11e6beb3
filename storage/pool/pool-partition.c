/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool partition in the partition table: where a PV partition sits (the
 * kernel's view and its GPT entry), GPT edits through libfdisk (the pool
 * partition's type at init, its start moved by release) and telling the
 * kernel; and release itself (pool_give_back), the one operation that moves
 * a PV. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <libfdisk/libfdisk.h>
#include <linux/blkpg.h>
#include <linux/fs.h>

#include "dlopen-fdisk.h"
#include "fileio.h"
#include "gpt.h"
#include "log.h"
#include "macro.h"
#include "pool-alloc.h"
#include "pool-internal.h"

static int read_sysfs_u64(const char *path, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (fscanf(f, "%" SCNu64, ret) != 1)
                return -EIO;
        return 0;
}

int pool_part_info(dev_t devnum, PartInfo *ret) {
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
        memcpy(ret->part_uuid, gp.uuid, 16);
        memcpy(ret->disk_guid, gp.disk_guid, 16);
        memcpy(ret->type, gp.type, sizeof ret->type);
        return 0;
}

/* Opens the partition's disk with libfdisk for writing, under a BSD lock
 * (udev leaves locked disks alone). */
static int gpt_open_rw(const char *what, const PartInfo *pi, struct fdisk_context **ret_cxt, int *ret_lock) {
        int r = dlopen_fdisk();
        if (r < 0)
                return r;
        _cleanup_close_ int lock = open(pi->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (lock < 0)
                return log_error_errno(errno, "%s: cannot open %s: %m", what, pi->disk);
        if (flock(lock, LOCK_EX) < 0)
                return log_error_errno(errno, "%s: cannot lock %s: %m", what, pi->disk);
        struct fdisk_context *cxt = sym_fdisk_new_context();
        if (!cxt)
                return log_oom();
        r = sym_fdisk_assign_device(cxt, pi->disk, 0);
        if (r < 0 || !sym_fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT)) {
                sym_fdisk_unref_context(cxt);
                return log_error_errno(r < 0 ? r : EMEDIUMTYPE, "%s: %s has no GPT that libfdisk can write", what, pi->disk);
        }
        *ret_cxt = cxt;
        *ret_lock = TAKE_FD(lock);
        return 0;
}

static int gpt_write_close(const char *what, const PartInfo *pi, struct fdisk_context *cxt) {
        int r = sym_fdisk_write_disklabel(cxt);
        if (r < 0) {
                sym_fdisk_unref_context(cxt);
                return log_error_errno(r, "%s: cannot write the GPT of %s: %m", what, pi->disk);
        }
        r = sym_fdisk_deassign_device(cxt, 0); /* fsync()s */
        sym_fdisk_unref_context(cxt);
        if (r < 0)
                return log_error_errno(r, "%s: cannot flush the GPT of %s: %m", what, pi->disk);
        return 0;
}

int pool_gpt_set_type(const char *what, const PartInfo *pi, const char *type) {
        struct fdisk_context *cxt = NULL;
        _cleanup_close_ int lock = -1;
        int r = gpt_open_rw(what, pi, &cxt, &lock);
        if (r < 0)
                return r;
        struct fdisk_parttype *t = sym_fdisk_label_parse_parttype(sym_fdisk_get_label(cxt, NULL), type);
        if (!t) {
                sym_fdisk_unref_context(cxt);
                return log_oom();
        }
        r = sym_fdisk_set_partition_type(cxt, pi->partno - 1, t);
        sym_fdisk_unref_parttype(t);
        if (r < 0) {
                sym_fdisk_unref_context(cxt);
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
        unsigned long ss = sym_fdisk_get_sector_size(cxt);
        r = sym_fdisk_get_partition(cxt, pi->partno - 1, &pa);
        if (r < 0 || !pa || ss < 512 || ss % 512 != 0) {
                sym_fdisk_unref_context(cxt);
                return log_error_errno(r < 0 ? r : EINVAL, "%s: cannot read partition %u of %s", what, pi->partno, pi->disk);
        }
        uint64_t start = (uint64_t) sym_fdisk_partition_get_start(pa) * (ss / 512);
        uint64_t size = (uint64_t) sym_fdisk_partition_get_size(pa) * (ss / 512);
        sym_fdisk_unref_partition(pa);
        if (start != expect_start || shift >= size || shift % (ss / 512) != 0) {
                sym_fdisk_unref_context(cxt);
                return log_error_errno(ESTALE, "%s: partition %u of %s starts at sector %" PRIu64 ", expected %" PRIu64,
                                       what, pi->partno, pi->disk, start, expect_start);
        }
        pa = sym_fdisk_new_partition();
        if (!pa) {
                sym_fdisk_unref_context(cxt);
                return log_oom();
        }
        sym_fdisk_partition_set_start(pa, (fdisk_sector_t) ((start + shift) / (ss / 512)));
        sym_fdisk_partition_set_size(pa, (fdisk_sector_t) ((size - shift) / (ss / 512)));
        r = sym_fdisk_set_partition(cxt, pi->partno - 1, pa);
        sym_fdisk_unref_partition(pa);
        if (r < 0) {
                sym_fdisk_unref_context(cxt);
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
        r = pool_device_resolve(d, O_RDWR);
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
