/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "file-alias.h"

/* A block device and its partitions as sysfs lists them: what "is this
 * device in use / the pool's" must look at as a whole. */

#define BLOCK_MEMBERS_MAX 128 /* the device and its partitions */

typedef struct BlockMember {
        dev_t devnum;
        char name[NAME_MAX + 1]; /* the kernel's: vdb, vdb3 */
        uint64_t start;          /* bytes from the start of the device asked about (0 for itself) */
        uint64_t size;           /* bytes */
} BlockMember;

/* A sysfs (or procfs) attribute's first line, or "" if it cannot be read. */
void sysfs_read_line(const char *path, char *buf, size_t size);

/* devnum itself, then, if it is a whole disk, each of its partitions.
 * -ENOENT etc. if the device is not in sysfs, -EIO if a partition's number
 * or start cannot be read, -E2BIG past BLOCK_MEMBERS_MAX. Logs nothing. */
int block_device_members(dev_t devnum, BlockMember m[static BLOCK_MEMBERS_MAX], size_t *ret_n);

/* The whole disk that devnum's bytes are on, and their range there: a
 * partition's disk and its range, or devnum itself from 0 to its size.
 * -errno if sysfs cannot tell. Logs nothing. */
int block_device_on_disk(dev_t devnum, BlockMember *ret_disk, uint64_t *ret_start, uint64_t *ret_size);

/* The file system kind (file-alias.h) of the file behind loop device name,
 * whose identity the kernel records as (dev, ino): told through its path
 * while that still names the same file; if it no longer does, INODE. That
 * path into ret_path (of PATH_MAX bytes; "" if none names it), if not NULL. */
FileAlias loop_file_alias(const char *name, dev_t dev, ino_t ino, char *ret_path);

/* Whether two homes' storage paths (image files or block devices) are, or
 * hold, the same bytes under different names: the same file or device, a
 * disk and one of its partitions, a loop device and the file or device it
 * is backed by (and that one's disk or partitions). 1 if so, 0 if not or
 * if either is missing; -errno if one cannot be examined. Logs nothing. */
int storage_paths_overlap(const char *a, const char *b);
