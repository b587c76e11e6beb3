/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The extent pool's allocator and dm-linear table builder, over the
 * in-memory model of pool-metadata.h. Pure logic: nothing here touches a
 * device. Every operation is all-or-nothing: on any error the metadata is
 * left exactly as it was. Operations that change the metadata do not bump
 * md->seq: the caller does that when it commits. Refusals are logged once,
 * naming the volume. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-metadata.h"

typedef struct PoolExtentRange {
        uint64_t first;
        uint64_t count;
} PoolExtentRange;

/* The free extents of one PV, as ascending, maximal ranges. */
int pool_free_ranges(const PoolMetadata *md, uint32_t pv, PoolExtentRange **ret, size_t *ret_n);
/* Free extents on the pool partition (the only PV that donates extents). */
int pool_free_extents(const PoolMetadata *md, uint64_t *ret);

/* Allocation policy (POOL-FORMAT.md, "Allocation"):
 *  1. extend the volume's last run in place when the extents right after it
 *     are free;
 *  2. home: then take the highest free extents of the pool partition (those
 *     nearest the home partition) downwards, so the space next to root stays
 *     free; other volumes: first fit scanning from the home end (the highest
 *     free range that holds the whole rest), else like home.
 * Adjacent runs are merged. -ENOENT: no such volume; -ENOSPC: not enough
 * free extents (nothing changed); -E2BIG: the run table would be too long. */
int pool_volume_grow(PoolMetadata *md, const char *volume, uint64_t extents);

/* Trims extents from the end of the volume (the last run backwards). home
 * never goes below its first run (the home partition); other volumes keep at
 * least one extent (remove them instead). -ERANGE if asked for more. */
int pool_volume_shrink(PoolMetadata *md, const char *volume, uint64_t extents);

/* Names a new volume may take: the format's (1-32 of a-z 0-9 _ -), but
 * not "home" (init makes it, over the home partition) and not starting with
 * '-' (dmsetup, hearth-pool and the like would read it as an option). */
bool pool_volume_name_valid_new(const char *name);

/* A new volume of `extents` (≥ 1) extents, placed like any grow of a
 * non-home volume (above). -EEXIST (name or UUID taken), -EINVAL (name not
 * valid_new, unknown flags, 0 extents), -ENOSPC, -E2BIG (POOL_VOLUMES_MAX
 * volumes already, or the run table would be too long). */
int pool_volume_add(PoolMetadata *md, const char *volume, const uint8_t uuid[16], uint32_t flags,
                    uint64_t extents);
/* Drops a volume; its extents are free from then on. -ENOENT; "home"
 * cannot be dropped (-EPERM). */
int pool_volume_drop(PoolMetadata *md, const char *volume);

/* How many extents at the start (root side) of the pool partition are free,
 * and so could be given back to root. */
int pool_releasable(const PoolMetadata *md, uint64_t *ret);
/* Gives back the first `extents` extents of the pool partition: raises its
 * first_extent, lowers its extent_count and size. *ret_shift (may be NULL)
 * gets the sectors by which the partition's start moves towards home.
 * -ENOSPC (nothing changed) if fewer are free next to root. */
int pool_release(PoolMetadata *md, uint64_t extents, uint64_t *ret_shift);

/* ---- consistency check --------------------------------------------------- */

typedef enum PoolProblemKind {
        POOL_PROBLEM_UNKNOWN_PV,     /* a run names a PV that does not exist */
        POOL_PROBLEM_EMPTY_RUN,      /* a run of zero extents */
        POOL_PROBLEM_OUTSIDE_PV,     /* a run reaches outside its PV's usable extents */
        POOL_PROBLEM_DOUBLY_OWNED,   /* extents in two runs (same or different volumes) */
        POOL_PROBLEM_HOME_FIRST_RUN, /* home's first run is not the home partition */
        POOL_PROBLEM_LEAKED,         /* owned in the metadata, not mapped by the live table */
        POOL_PROBLEM_UNOWNED_MAPPED, /* mapped by a live table, not owned by that volume */
} PoolProblemKind;

typedef struct PoolProblem {
        PoolProblemKind kind;
        uint32_t pv;
        uint64_t first, count;
        char volume[POOL_NAME_MAX + 1];
        char other[POOL_NAME_MAX + 1];  /* DOUBLY_OWNED: the second owner */
        char *message;                  /* one line, for humans */
} PoolProblem;

typedef struct PoolCheckReport {
        PoolProblem *problems;
        size_t n_problems;
        uint64_t leaked_extents;
        uint64_t doubly_owned_extents;
} PoolCheckReport;

void pool_check_report_done(PoolCheckReport *r);

/* What an active volume's dm table maps now, translated to extents. */
typedef struct PoolLive {
        const char *volume;
        const PoolRun *runs;
        size_t n_runs;
} PoolLive;

/* Reports every problem of md (which need not satisfy
 * pool_metadata_validate(): decode with POOL_DECODE_STRUCTURE_ONLY) and, for
 * the volumes listed in live[], every difference between the metadata and
 * the live table. Returns the number of problems (0: consistent), or a
 * negative errno. */
int pool_check(const PoolMetadata *md, const PoolLive *live, size_t n_live, PoolCheckReport *ret);

/* ---- dm-linear tables -------------------------------------------------- */

typedef struct PoolTarget {
        uint64_t start;   /* sectors, in the volume */
        uint64_t length;  /* sectors */
        uint32_t pv;      /* PV index */
        uint64_t offset;  /* sectors, from the PV's (partition's) start */
} PoolTarget;

/* The volume's dm-linear table, physically adjacent runs merged. All values
 * are 512-byte sectors and multiples of sector_size (512 or 4096) / 512.
 * -ENOENT: no such volume; -EINVAL: bad sector size; -EBADMSG: a run
 * outside its PV or a value not aligned to the sector size. */
int pool_volume_table(const PoolMetadata *md, const char *volume, uint32_t sector_size,
                      PoolTarget **ret, size_t *ret_n);
