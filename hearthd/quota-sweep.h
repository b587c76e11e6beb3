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

/* What the worker last said of the file system's quota (worker-protocol.h). */
typedef enum QuotaMode {
        QUOTA_MODE_UNKNOWN, /* no worker has run on the home since hearthd started */
        QUOTA_MODE_OFF,
        QUOTA_MODE_FULL,
        QUOTA_MODE_SIMPLE,
} QuotaMode;

QuotaMode quota_mode_from_string(const char *s);

/* Reads NestedSubvolumeCheckSec= from path, or (NULL) the hearth.conf
 * config_find() picks, into *interval_usec (0 = no sweep). No file: the
 * default. */
int quota_sweep_config_load(uint64_t *interval_usec, const char *path);

typedef struct QuotaSweepHome {
        bool subvolume; /* storage "subvolume" */
        bool limited;   /* has a diskSize */
        bool present;   /* inactive or active: its storage is there and in a known state */
        bool busy;      /* an operation runs on it or waits: that one's worker adopts them anyway */
        QuotaMode mode;
} QuotaSweepHome;

/* Whether a sweep should look at this home now. */
bool quota_sweep_wanted(const QuotaSweepHome *h);
