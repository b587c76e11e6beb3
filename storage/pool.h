/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The extent pool's I/O engine: physical volumes on disk, the A/B metadata
 * commit, the dm-linear devices and the filesystems on them. The format is
 * storage/POOL-FORMAT.md; the pure logic (codec, allocator, table builder)
 * is pool-metadata.h and pool-alloc.h.
 *
 * A Pool is an opened pool, like cryptsetup's struct crypt_device: the PVs'
 * devices, their geometries, every metadata copy read and the metadata
 * chosen. Opening takes the pool lock (/run/hearth/pool.lock, exclusive)
 * and never writes anything; only the operations below write, and only
 * from metadata that passed every check.
 *
 * Errors are logged once, naming the object ("pool volume home: …",
 * "pool PV /dev/vdb3: …"), and returned as negative errno values. */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"

typedef struct Pool Pool;

/* The GPT partition type of a pool partition (POOL-FORMAT.md). */
#define POOL_GPT_TYPE "8f3b41c8-6d1e-4a7f-9c55-48454152544b"

/* Environment variable naming a failpoint (test-only, POOL-FORMAT.md). */
#define POOL_FAILPOINT_ENV "HEARTH_FAILPOINT"

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

/* Gives `bytes` (rounded down to extents) of free space next to root back
 * by moving the pool partition's start. */
int pool_give_back(Pool *p, uint64_t bytes);

/* The pool as a JSON object (PVs, copies, volumes, runs, free space). */
int pool_status(Pool *p, json_object **ret);

/* Codec + live tables. Returns the number of problems left (0 = consistent)
 * or a negative errno; *ret gets the report. With repair: rewrites stale or
 * invalid copies and reloads lagging tables. */
int pool_verify(Pool *p, bool repair, json_object **ret);

/* Test-only: SIGKILLs the process if $HEARTH_FAILPOINT names this step. */
void pool_failpoint(const char *name);
/* Every failpoint name, NULL-terminated. */
const char *const *pool_failpoint_names(void);
