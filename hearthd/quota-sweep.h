/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* The nested-subvolume sweep: under full Btrfs qgroups a subvolume a user
 * makes inside her subvolume home counts against no quota until a worker
 * puts it into the home's group, which every worker run on the home does
 * (storage/subvolume.c). hearthd runs an inspect on each such home every
 * [Quota] NestedSubvolumeCheckSec= of hearth.conf, so that she cannot write
 * past her quota for longer than that. */

#define QUOTA_SWEEP_DEFAULT_USEC (UINT64_C(15) * 1000000)

/* Putting a subvolume into the group can need a quota rescan (a snapshot:
 * storage/btrfs-quota.h), during which every group counts from 0 and the
 * kernel checks limits against that: a user making snapshots must not
 * keep the file system in rescans. hearthd lets one worker at a time start
 * one, at most once per [Quota] RescanIntervalSec= (0: whenever needed);
 * all others run with WORKER_OPT_NO_RESCAN. */
#define QUOTA_RESCAN_DEFAULT_USEC (UINT64_C(3600) * 1000000)
#define QUOTA_RESCAN_NEVER UINT64_MAX

/* Whether a worker may start a rescan now: none is lent the right (lent),
 * and the last one a worker started (CLOCK_MONOTONIC, or
 * QUOTA_RESCAN_NEVER) began at least interval_usec before now. */
bool quota_rescan_allowed(uint64_t last_usec, uint64_t now_usec, uint64_t interval_usec, bool lent);

/* What the worker last said of the file system's quota (worker-protocol.h). */
typedef enum QuotaMode {
        QUOTA_MODE_UNKNOWN, /* no worker has run on the home since hearthd started */
        QUOTA_MODE_OFF,
        QUOTA_MODE_FULL,
        QUOTA_MODE_SIMPLE,
} QuotaMode;

QuotaMode quota_mode_from_string(const char *s);

/* Reads NestedSubvolumeCheckSec= and RescanIntervalSec= from path, or
 * (NULL) the hearth.conf config_find() picks, into *interval_usec (0 = no
 * sweep) and *rescan_usec. No file: the defaults. */
int quota_sweep_config_load(uint64_t *interval_usec, uint64_t *rescan_usec, const char *path);

typedef struct QuotaSweepHome {
        bool subvolume; /* storage "subvolume" */
        bool limited;   /* has a diskSize */
        bool present;   /* inactive or active: its storage is there and in a known state */
        bool busy;      /* an operation runs on it or waits: that one's worker adopts them anyway */
        QuotaMode mode;
} QuotaSweepHome;

/* Whether a sweep should look at this home now. */
bool quota_sweep_wanted(const QuotaSweepHome *h);
