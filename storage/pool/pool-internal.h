/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of the pool's I/O engine (pool*.c), nothing
 * else: pool.h is the API. One job per file:
 *
 *   pool.c            the front: failpoints, the lock, open/free, activate,
 *                     grow, shrink
 *   pool-device.c     PVs: I/O path, geometry and copies read, the scan
 *   pool-partition.c  the partition table: a PV's entry, GPT edits, release
 *   pool-commit.c     the A/B metadata commit, stale copies rewritten
 *   pool-table.c      volumes as dm-linear devices
 *   pool-fs.c         what is on a volume when it grows or shrinks
 *   pool-volume.c     create, remove, activate one, info
 *   pool-report.c     status and check
 *   pool-init.c       init
 *
 * Errors are logged where they are understood, as in pool.h. */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dm-linear.h"
#include "home-dm.h"
#include "pool-alloc.h"
#include "pool-discover.h"
#include "pool-metadata.h"
#include "pool.h"
#include "runtime-paths.h"

/* Fixed, not $HEARTH_RUNTIME_DIR: hearth-pool run by hand and hearth-work
 * run by hearthd must meet at the same lock. */
#define POOL_LOCK_DIR  HEARTH_RUNTIME_DIR_DEFAULT
#define POOL_LOCK_PATH POOL_LOCK_DIR "/pool.lock"
#define POOL_DM_UUID_PREFIX "POOL-"

typedef struct PartInfo {
        bool is_partition;
        unsigned partno;            /* kernel's, 1-based */
        char disk[PATH_MAX];        /* /dev/<disk> */
        uint64_t kernel_start;      /* sectors of 512 */
        bool in_gpt;
        uint64_t gpt_start, gpt_size; /* sectors of 512 */
        uint8_t part_uuid[16], disk_guid[16]; /* in_gpt: the entry's unique GUID, the disk's GUID */
        char type[37];              /* in_gpt: the entry's type GUID, upper case */
} PartInfo;

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
        PoolRecord rec;             /* what POOL_ID_FILE and POOL_PVS_FILE hold (rec.has_uuid false: unreadable) */
        bool adopted;               /* found by a scan with no pool UUID recorded: activate records it */
};

static inline uint64_t div_round_up(uint64_t a, uint64_t b) {
        return a / b + (a % b != 0);
}

/* pool.c */
int pool_random_uuid(uint8_t u[16]);
/* The pool lock (pool.h): an fd holding it, or a negative errno (logged). */
int pool_lock_take(void);
char *pool_dm_name(const char *volume, char buf[static 64]);
/* Records the pool and where its PVs sit, if that changed (after activate). */
int pool_record(Pool *p);
/* Logs and fails unless the pool has valid metadata. */
int pool_need_md(Pool *p);
uint32_t pool_sector_size(const Pool *p);
PoolDevice *pool_dev(Pool *p, uint32_t pv);
/* Whether the volume's device exists with a table, and its dev_t. */
int pool_dm_dev(const char *volume, bool *ret_active, dev_t *ret_dev);

/* pool-device.c */
void pool_device_done(PoolDevice *d);
int pool_device_resolve(PoolDevice *d, int flags);
int pool_device_open(const char *path, int flags, PoolDevice *d);
/* A PV's geometry block at byte base of fd: 1 (and *ret, if given) if the
 * primary or the backup decodes; -EBADMSG if one carries the magic but
 * neither decodes (a damaged PV); 0 if neither carries the magic (or the
 * device is too small to hold one); other -errno if it cannot be read.
 * Logs nothing. */
int pool_geometry_probe(int fd, uint64_t base, PoolGeometry *ret);
/* Where the block device devnum (pi: its pool_part_info()) sits: its GPT
 * identity, its disk's place in the hardware, and whether anyone could
 * have attached it (a loop device, a removable disk). */
int pool_device_identity(dev_t devnum, const PartInfo *pi, PoolPvIdentity *ret, bool *ret_loop, bool *ret_removable);
/* The scan (pool-discover.h), bound to what rec records. */
int pool_find_devices(const PoolRecord *rec, char ***ret, PoolDiscovery *ret_discovery);

/* pool-partition.c */
int pool_part_info(dev_t devnum, PartInfo *ret);
int pool_gpt_set_type(const char *what, const PartInfo *pi, const char *type);

/* pool-commit.c */
int pool_commit_pvs(Pool *p, const PoolMetadata *md, const char *op, uint32_t which);
int pool_commit(Pool *p, PoolMetadata *md, const char *op);
int pool_commit_next(Pool *p, PoolMetadata *md, const char *what);
int pool_rewrite_stale(Pool *p);

/* pool-table.c */
int pool_dm_targets(Pool *p, const PoolMetadata *md, const char *volume, DmLinearTarget **ret, size_t *ret_n);
uint64_t pool_dm_targets_length(const DmLinearTarget *t, size_t n);
int pool_dm_apply(Pool *p, const PoolMetadata *md, const PoolVolume *v, bool create, bool *ret_changed);

/* pool-fs.c */
int pool_find_mount(dev_t dev, char mountpoint[static PATH_MAX], char fstype[static 32]);
int pool_fs_grow(const char *volume, dev_t dev);
int pool_fs_shrink(const char *volume, dev_t dev, uint64_t new_size);
