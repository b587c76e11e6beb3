/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Which bytes of which devices a device-mapper device maps: its table, as
 * the kernel reports it (devices as major:minor). Two tables over the same
 * bytes are one storage under two names (a second `cryptsetup open` of a
 * volume, a dm-linear copy of a mounted range): the kernel lets every
 * table share a device, so only the tables tell. */

typedef struct DmRange {
        dev_t dev;
        uint64_t start;  /* sector on dev */
        uint64_t length; /* sectors; UINT64_MAX: to the end of dev */
} DmRange;

#define DM_TABLE_RANGES_MAX 1024

/* The ranges one target line maps (type and params as the kernel prints
 * a table; length in sectors): linear and crypt exactly; striped from each
 * offset to the end; zero and error nothing; any other type every device
 * named in its params ("M:m") whole. Appended to *ranges. -EBADMSG if a
 * linear or crypt line cannot be read, -E2BIG past DM_TABLE_RANGES_MAX
 * ranges or a line of more than 2048 words. */
int dm_target_ranges(const char *type, const char *params, uint64_t length, DmRange **ranges, size_t *n);

/* The table of the device-mapper device dev (DM_TABLE_STATUS; root). Its
 * text, which holds a dm-crypt key, is wiped before this returns.
 * -ENXIO if there is no such device. */
int dm_table_ranges(dev_t dev, DmRange **ret, size_t *ret_n);

/* Whether [a_start, a_start + a_len) and [b...) meet (lengths as above). */
int dm_ranges_overlap(const DmRange *a, const DmRange *b);
