/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Btrfs qgroups for subvolume homes. The level-0 qgroup of a subvolume
 * (0/<subvolume id>) accounts what it references. A home's diskSize is the
 * max_rfer limit of a level-1 qgroup of the same number (1/<id>, as homed
 * makes it) that holds the home's 0/<id> and those of the subvolumes made
 * inside it, so that these count too; 0/<id> has the same limit. Qgroup
 * IDs below are (level << 48) | id. */

#define BTRFS_QGROUP_LEVEL1(id) ((UINT64_C(1) << 48) | (id))

#define BTRFS_QUOTA_NO_LIMIT UINT64_MAX

/* Enables quota on the filesystem of fd (no-op if already on): simple
 * quotas where the kernel has them (6.7+; the file system then needs such a
 * kernel to be mounted), else full qgroups. -ENOTTY or -EOPNOTSUPP: not
 * Btrfs; -EPERM: not allowed. */
int btrfs_quota_enable(int fd);

typedef enum BtrfsQuotaMode {
        BTRFS_QUOTA_OFF,
        BTRFS_QUOTA_FULL,   /* qgroups: subvolumes made inside a home join its group only when Hearth puts them there */
        BTRFS_QUOTA_SIMPLE, /* squota (6.7+): the kernel puts them there itself */
} BtrfsQuotaMode;

/* The quota mode of the file system of fd: a BtrfsQuotaMode, or -errno. */
int btrfs_quota_mode(int fd);

/* 1 if the qgroup exists / child is a member of parent, 0 if not. */
int btrfs_qgroup_exists(int fd, uint64_t qgroupid);
int btrfs_qgroup_in_group(int fd, uint64_t child, uint64_t parent);
/* Creating one that exists and destroying one that does not are no errors. */
int btrfs_qgroup_create(int fd, uint64_t qgroupid);
int btrfs_qgroup_destroy(int fd, uint64_t qgroupid);
/* Takes every member out of a higher-level group, then destroys it. */
int btrfs_qgroup_dissolve(int fd, uint64_t group);
/* Makes child a member of parent (already one: no error). Returns 1 if the
 * kernel's numbers went inconsistent and a rescan was started (it must be:
 * inconsistent numbers stay wrong, or are not counted on at all, until
 * one runs). */
int btrfs_qgroup_assign(int fd, uint64_t child, uint64_t parent);
/* Starts a rescan (one running already: no error). */
int btrfs_quota_rescan(int fd);
/* Whether putting child into a group would keep the counts whole (1: the
 * kernel carries child's numbers over; 0: it would mark them inconsistent
 * and btrfs_qgroup_assign() start a rescan, as for a snapshot, whose data
 * is shared). Current after a commit. -EBUSY while the counts are not
 * whole. */
int btrfs_qgroup_assign_keeps_counts(int fd, uint64_t child);

/* Sets (or with BTRFS_QUOTA_NO_LIMIT clears) the referenced-bytes limit. */
int btrfs_qgroup_set_limit(int fd, uint64_t subvol_id, uint64_t max_rfer);

/* Whether the kernel's counts (full qgroups) can be read: */
enum {
        BTRFS_COUNTS_WHOLE,
        BTRFS_COUNTS_RESCAN,       /* a rescan counts every group again, from 0 */
        BTRFS_COUNTS_INCONSISTENT, /* marked wrong, no rescan running: a rescan is needed */
};
/* One of those, or -ENOENT if quota is off. */
int btrfs_quota_counts(int fd);

/* Reads the referenced bytes and limit of qgroup subvol_id, after committing
 * the current transaction so that the numbers are current (sync; without,
 * what the last commit counted). -ENOENT if no such qgroup (quota off).
 * Asked for the referenced bytes, -EBUSY while the counts are not whole
 * (btrfs_quota_counts() is not BTRFS_COUNTS_WHOLE): never a partial count. The limit
 * alone reads at any time. */
int btrfs_qgroup_get(int fd, uint64_t subvol_id, bool sync, uint64_t *ret_rfer, uint64_t *ret_limit);

/* The same for a home's subvolume subvol_id: from its level-1 group where
 * there is one (what the home and the subvolumes inside it hold), else
 * (a home from before) from 0/<id>. */
int btrfs_home_qgroup_get(int fd, uint64_t subvol_id, bool sync, uint64_t *ret_rfer, uint64_t *ret_limit);
