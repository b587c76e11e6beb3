/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The extent pool's I/O engine: physical volumes on disk, the A/B metadata
 * commit, the dm-linear devices and the filesystems on them. The format is
 * docs/POOL-FORMAT.md; the pure logic (codec, allocator, table builder)
 * is pool-metadata.h and pool-alloc.h.
 *
 * A Pool is an opened pool, like cryptsetup's struct crypt_device: the PVs'
 * devices, their geometries, every metadata copy read and the metadata
 * chosen. Opening takes the pool lock (below) and never writes anything;
 * only the operations below write, and only from metadata that passed
 * every check.
 *
 * Errors are logged once, naming the object ("pool volume home: …",
 * "pool PV /dev/vdb3: …"), and returned as negative errno values.
 *
 * THE POOL LOCK
 *
 * Two programs change the pool: hearth-pool (hearth-pool/; one process per
 * command, run by hearthd's queue in hearthd/bus-pool.c, by the boot unit's
 * activate and by admins) and hearth-work, in-process, for LUKS homes on a
 * pool volume (storage/luks-pool.c, luks-resize.c). They are serialized by
 * one lock and nothing else: an exclusive flock(2) on /run/hearth/pool.lock
 * (a fixed path, not $HEARTH_RUNTIME_DIR: every process on the machine must
 * meet on the same file).
 *
 *  - Taken by pool_open() and pool_init(), released by pool_free() or by
 *    the kernel when the process dies (a crash never leaves it held). Only
 *    code holding a Pool (or inside pool_init) writes PV areas, metadata
 *    copies, a PV's GPT entry or the hearth-pool-* dm tables, so every
 *    writer of the pool holds the lock.
 *  - hearth-pool holds it for the whole command.
 *  - hearth-work holds it for each step on a volume: bringing the volume up
 *    at activation, making it at create, removing it at remove; and for a
 *    resize, from reading the volume's size and the pool's free space until
 *    the volume, the LUKS mapping and the filesystem inside agree again.
 *    hearth-pool's shrink decides from the size of the open mapping, and
 *    its grow hands out the free space the resize read: neither may run
 *    between the resize's steps.
 *  - A process holds one Pool at a time: the flock belongs to an open
 *    file, so a second pool_open() in the same process waits for ever.
 *    Open it after anything that may open it itself (bringing a volume up
 *    when a home's volume is opened), and pass the Pool down.
 *  - Under it, libfdisk edits take the disk's BSD lock (as udev expects);
 *    nothing takes the pool lock while holding a disk's lock.
 *
 * Not covered: what a LUKS home's create writes on a volume after making
 * it (the header, the filesystem), which happens after the lock is
 * released; and reads that may be a moment stale (a home's volume size
 * read from its device). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "failpoint.h"
#include "macro.h"
#include "pool-metadata.h"

typedef struct Pool Pool;

/* The GPT partition type of a pool partition (POOL-FORMAT.md). */
#define POOL_GPT_TYPE "8f3b41c8-6d1e-4a7f-9c55-48454152544b"

/* Whether the block device node is the extent pool's, which nothing else
 * may format (a LUKS home's create): it, or (a whole disk) one of its
 * partitions, carries a Hearth geometry block (valid or damaged), has the
 * pool partition's GPT type, or is a PV that /etc/hearth/pool-pvs records
 * (pool-discover.h); or it is a pool volume's mapping (hearth-pool-*).
 * The pool need not be active: its PVs then have no holders, and blkid
 * sees nothing on them. 1 with a description in why ("a physical volume
 * (1) of extent pool …: it carries its geometry block", "its partition
 * vdb3 is …"), 0, or a negative errno (logged) if that cannot be told. */
int pool_device_is_pv(const char *node, char *why, size_t why_size);

/* Environment variable naming a failpoint (test-only, POOL-FORMAT.md; common/failpoint.h). */
#define POOL_FAILPOINT_ENV FAILPOINT_ENV

/* Places a new pool: home_dev becomes PV 1 (role home, its data area the
 * volume "home"), pool_dev PV 0 (role pool). extent_size in bytes (0 =
 * default 64 MiB). Refuses devices carrying a filesystem, LUKS, a partition
 * table or a Hearth PV signature unless force. */
int pool_init(const char *home_dev, const char *pool_dev, uint64_t extent_size, bool force);

/* Finds the PVs: devices (NULL = scan /sys/class/block for Hearth geometry
 * blocks; exactly one pool must be found), reads every geometry and copy and
 * picks the metadata. With allow_bad_metadata the Pool is returned even
 * when no valid metadata exists (status and check report why); otherwise
 * that is an error. */
int pool_open(char *const *devices, bool allow_bad_metadata, Pool **ret);
Pool *pool_free(Pool *p);
static inline void pool_freep(Pool **p) {
        pool_free(*p);
}
#define _cleanup_pool_ _cleanup_(pool_freep)

/* Builds every volume's device hearth-pool-<volume>; leaves devices whose
 * table is right alone, reloads a table that lags the metadata, refuses one
 * that maps anything else. Rewrites stale metadata copies first. */
int pool_activate(Pool *p);

/* size in bytes: the new size, or (relative) the change. Grow rounds up,
 * shrink rounds the amount removed down, to whole extents. */
int pool_grow(Pool *p, const char *volume, uint64_t size, bool relative);
int pool_shrink(Pool *p, const char *volume, uint64_t size, bool relative);

/* The node a volume is mapped as: POOL_DEVICE_PREFIX<volume>. */
#define POOL_DEVICE_PREFIX "/dev/mapper/hearth-pool-"

/* 1 and the volume's name in ret if path is POOL_DEVICE_PREFIX<volume>; 0 if
 * path does not start with the prefix; -EINVAL if it does but what follows
 * is not a volume name (nothing is logged). */
int pool_volume_from_device(const char *path, char ret[static POOL_NAME_MAX + 1]);

/* A new volume of `size` bytes rounded up to whole extents, placed as
 * POOL-FORMAT.md "Allocation" says: allocate, commit, then build
 * /dev/mapper/hearth-pool-<volume> and zero its first MiB (no signature of
 * a removed volume shows through). A crash after the commit leaves a volume
 * that activate brings up. flags: POOL_VOLUME_LUKS marks a volume carrying
 * a LUKS home (informational, shown by status). Names: see
 * pool_volume_name_valid_new(); "home" is refused. */
int pool_volume_create_full(Pool *p, const char *volume, uint64_t size, uint32_t flags);
static inline int pool_volume_create(Pool *p, const char *volume, uint64_t size) {
        return pool_volume_create_full(p, volume, size, 0);
}

/* Removes the device, then the volume from the metadata: its extents are
 * free from the commit on (their data is not wiped). -EBUSY while the device
 * is open (mounted, a LUKS mapping on it), -EPERM for "home", -ENOENT. A
 * crash between the two leaves the volume in the metadata, inactive. */
int pool_volume_remove(Pool *p, const char *volume);

/* Builds this one volume's device if it is missing (reloads a lagging
 * table), as activate does for all of them; writes no metadata. */
int pool_volume_activate(Pool *p, const char *volume);

typedef struct PoolVolumeInfo {
        uint64_t size;          /* bytes, whole extents */
        uint64_t extent_size;   /* bytes */
        uint64_t free;          /* bytes the pool could still give (whole free extents) */
        uint32_t flags;
        bool active;            /* its device exists */
} PoolVolumeInfo;

/* -ENOENT, not logged, if there is no such volume. */
int pool_volume_info(Pool *p, const char *volume, PoolVolumeInfo *ret);
/* Bytes the pool could still give (whole free extents) and the extent size. */
int pool_free_space(Pool *p, uint64_t *ret_free, uint64_t *ret_extent_size);

/* Gives `bytes` (rounded down to extents) of free space next to root back
 * by moving the pool partition's start. */
int pool_give_back(Pool *p, uint64_t bytes);

/* The pool as a JSON object (PVs, copies, volumes, runs, free space). */
int pool_status(Pool *p, json_object **ret);

/* Codec + live tables. Returns the number of problems left (0 = consistent)
 * or a negative errno; *ret gets the report. With repair: rewrites stale or
 * invalid copies and reloads lagging tables. */
int pool_verify(Pool *p, bool repair, json_object **ret);

/* Test-only: failpoint() (common/failpoint.h): SIGKILLs the process if
 * $HEARTH_FAILPOINT names this step; SIGSTOPs it if $HEARTH_FAILPOINT is
 * "<step>:stop" (a test then looks at what it holds, and sends SIGCONT). The LUKS backend has steps of its own,
 * not in pool_failpoint_names(): luks-resize-mapping, luks-create-format. */
void pool_failpoint(const char *name);
/* Every failpoint name, NULL-terminated. */
const char *const *pool_failpoint_names(void);
