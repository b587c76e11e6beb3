/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Sizes as homectl spells them: "100M", "1.5G", "4GiB", "512B", "min", "max".
 * Units are powers of 1024. "min" and "max" map to the values homed's D-Bus
 * API uses for them in ResizeHome; the same values are what hearth-work
 * --size= parses them to and what a resize asks the storage for. Every
 * program spells "resize to min/max" with these, nothing else. */

#define HEARTH_SIZE_MIN UINT64_C(0)       /* as small as the data allows */
#define HEARTH_SIZE_MAX (UINT64_MAX - 1)  /* as large as the backing storage allows */
/* ResizeHome's "no size": to the record's diskSize. */
#define HEARTH_SIZE_RECORD UINT64_MAX

#define HEARTH_SIZE_WORD_MIN "min"
#define HEARTH_SIZE_WORD_MAX "max"

#define SIZE_FORMAT_MAX 32

/* Returns 0, -EINVAL for a malformed size, -ERANGE when it does not fit 64 bits. */
int size_parse(const char *s, uint64_t *ret);

/* Formats bytes with the largest unit that gives a whole part ≥ 1, and one
 * truncated decimal if inexact: 536870912 → "512M", 1610612736 → "1.5G". */
const char *size_format(uint64_t bytes, char buf[static SIZE_FORMAT_MAX]);
