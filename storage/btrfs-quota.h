/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* Btrfs qgroups for subvolume homes: the level-0 qgroup of a subvolume
 * (0/<subvolume id>) accounts what it references; its max_rfer limit is the
 * home's diskSize. */

#define BTRFS_QUOTA_NO_LIMIT UINT64_MAX

/* Enables quota on the filesystem of fd (no-op if already on). -ENOTTY or
 * -EOPNOTSUPP: not Btrfs; -EPERM: not allowed. */
int btrfs_quota_enable(int fd);

/* Sets (or with BTRFS_QUOTA_NO_LIMIT clears) the referenced-bytes limit. */
int btrfs_qgroup_set_limit(int fd, uint64_t subvol_id, uint64_t max_rfer);

/* Reads the referenced bytes and limit of 0/<subvol_id>, after committing
 * the current transaction so that the numbers are current. -ENOENT if no
 * such qgroup (quota off). */
int btrfs_qgroup_get(int fd, uint64_t subvol_id, uint64_t *ret_rfer, uint64_t *ret_limit);
