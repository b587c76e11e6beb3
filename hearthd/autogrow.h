/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* When hearthd grows a pool volume by itself: the [Pool] section of
 * hearth.conf. Off unless the admin turns it on. */
typedef struct AutoGrowConfig {
        bool enabled;               /* AutoGrow= */
        char volume[33];            /* AutoGrowVolume=, default "home" */
        uint64_t free_below;        /* AutoGrowFreeBelow= as bytes ... */
        unsigned free_below_percent;/* ... or as a percentage of the volume (1-99) */
        uint64_t step;              /* AutoGrowStep= */
        uint64_t max_size;          /* AutoGrowMaxSize=, 0 = as far as the pool goes */
        uint64_t interval_usec;     /* AutoGrowInterval= */
} AutoGrowConfig;

#define AUTOGROW_DEFAULT_PERCENT 10
#define AUTOGROW_DEFAULT_STEP (UINT64_C(1) << 30)
#define AUTOGROW_DEFAULT_INTERVAL_USEC (UINT64_C(60) * 1000000)

void autogrow_config_init(AutoGrowConfig *c);
/* Reads path, or (NULL) the first hearth.conf found; no file is no error. */
int autogrow_config_load(AutoGrowConfig *c, const char *path);

/* Bytes to add to a volume of `size` bytes whose filesystem has `avail`
 * bytes free, when the pool has `pool_free` bytes left in extents of
 * `extent_size`: enough to lift free space back to the threshold, at least
 * one step, in whole extents, never past AutoGrowMaxSize or the pool's
 * free space. 0 = nothing to do. */
uint64_t autogrow_amount(const AutoGrowConfig *c, uint64_t size, uint64_t avail, uint64_t pool_free,
                         uint64_t extent_size);
