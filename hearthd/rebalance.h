/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sharing the free space of the file system that holds the LUKS homes'
 * images among them, and subvolume homes' quota limits where a weight is
 * set, and the extent pool's free extents among the LUKS homes on pool
 * volumes, by their rebalanceWeight: the [Rebalance] section of
 * hearth.conf and the plan, which needs no bus and no storage (unit-tested
 * in tests/unit/hearthd/test-rebalance.c). rebalance-run.c measures the
 * homes and carries the plan out. */

typedef struct RebalanceConfig {
        bool automatic;             /* Automatic=: every Interval=, not only on Rebalance() */
        uint64_t keep_free;         /* KeepFree= as bytes ... */
        unsigned keep_free_percent; /* ... or as a percentage of the file system (0-99) */
        uint64_t active_margin;     /* ActiveMargin=: room left above an active home's usage */
        uint64_t interval_usec;     /* Interval= */
} RebalanceConfig;

#define REBALANCE_DEFAULT_KEEP_FREE_PERCENT 10
#define REBALANCE_DEFAULT_ACTIVE_MARGIN (UINT64_C(256) << 20)
#define REBALANCE_DEFAULT_INTERVAL_USEC (UINT64_C(300) * 1000000) /* homed's: every 5 min */
/* Smaller changes are not worth a resize (each pauses the home's I/O). */
#define REBALANCE_MIN_CHANGE (UINT64_C(16) << 20)

void rebalance_config_init(RebalanceConfig *c);
/* Reads path, or (NULL) the first hearth.conf found; no file is no error. */
int rebalance_config_load(RebalanceConfig *c, const char *path);
/* KeepFree= for a file system of fs_size bytes, at least what hearth-work
 * keeps when it grows an image (5 %, at most 1 GiB). */
uint64_t rebalance_keep_free(const RebalanceConfig *c, uint64_t fs_size);
/* KeepFree= for an extent pool of pool_size bytes (all its extents): no
 * worker's room to add, its volumes are no files that grow. */
uint64_t rebalance_pool_keep_free(const RebalanceConfig *c, uint64_t pool_size);

typedef struct RebalanceHome {
        const char *name;
        uint64_t weight;    /* rebalanceWeight; 0: left as it is */
        uint64_t size;      /* the image's size now */
        uint64_t allocated; /* what of it the backing file system holds (sparse images: less) */
        uint64_t used;      /* what its file system uses, as the image's bytes (overhead included) */
        uint64_t floor;     /* the least it can be (its file system's minimum, LUKS and GPT) */
        bool can_shrink;    /* btrfs: online; ext4 and xfs not */
        bool idle;          /* active but no session holds it: gives space back first */
        uint64_t new_size;  /* out: the size it is to have (== size: unchanged) */
} RebalanceHome;

/* The least a home may be shrunk to: its usage plus the margin (a quarter
 * of it when idle), never below its floor, never above its size unless
 * usage already crowds it. */
uint64_t rebalance_home_min(const RebalanceConfig *c, const RebalanceHome *h);

/* Decides new_size of each home: the space they may share is what their
 * images hold now plus the backing file system's free space (fs_free of
 * fs_size bytes) less KeepFree=; each home with a weight gets its share by
 * weight, but never less than rebalance_home_min() (a home at its minimum
 * leaves the share to the others), never shrunk when it cannot shrink
 * online; when even the minimums do not fit, homes only shrink (idle ones
 * to their lower minimum first) and none grows. Sizes are whole MiB;
 * changes under REBALANCE_MIN_CHANGE are none. Returns how many homes
 * change. */
size_t rebalance_plan(const RebalanceConfig *c, RebalanceHome *homes, size_t n, uint64_t fs_size, uint64_t fs_free);

/* One shared space: what is free in it, how much of that stays free, and
 * the unit sizes come in (a MiB for images, the extent for pool volumes:
 * shares are whole units rounded down, minimums rounded up, so that the
 * homes never take more than was shared). */
typedef struct RebalanceSpace {
        uint64_t free;
        uint64_t keep;
        uint64_t unit; /* 0: a MiB */
} RebalanceSpace;

/* rebalance_plan() in the space given: rebalance_plan() is this with the
 * file system's free space, rebalance_keep_free() and a MiB. */
size_t rebalance_plan_space(const RebalanceConfig *c, RebalanceHome *homes, size_t n, const RebalanceSpace *space);
