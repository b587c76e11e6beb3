/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>

#include <btrfsutil.h>
#include <endian.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>

#include "btrfs-quota.h"
#include "macro.h"

#ifndef BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA
#define BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA 4
#endif
#ifndef BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE
#define BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE (1ULL << 3)
#endif

int btrfs_quota_enable(int fd) {
        /* Simple quotas first: only with them does the kernel (6.7+) put a
         * subvolume created inside a home into the home's level-1 group by
         * itself. With quota already on, either call changes nothing. */
        struct btrfs_ioctl_quota_ctl_args args = { .cmd = BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA };
        if (ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args) == 0)
                return 0;
        if (errno != EINVAL && errno != EOPNOTSUPP)
                return negative_errno();
        args = (struct btrfs_ioctl_quota_ctl_args) { .cmd = BTRFS_QUOTA_CTL_ENABLE };
        return ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args) < 0 ? negative_errno() : 0;
}

int btrfs_qgroup_set_limit(int fd, uint64_t subvol_id, uint64_t max_rfer) {
        /* subvol_id is a qgroup ID: level 0's is the subvolume ID itself. */
        struct btrfs_ioctl_qgroup_limit_args args = {
                .qgroupid = subvol_id,
                .lim = {
                        .flags = BTRFS_QGROUP_LIMIT_MAX_RFER,
                        .max_rfer = max_rfer,
                },
        };
        return ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args) < 0 ? negative_errno() : 0;
}

/* Finds one item of the quota tree: key (objectid, type, offset). */
static int quota_key(int fd, uint64_t objectid, uint8_t type, uint64_t qgroupid, void *buf, size_t size) {
        struct btrfs_ioctl_search_args args = {
                .key = {
                        .tree_id = BTRFS_QUOTA_TREE_OBJECTID,
                        .min_objectid = objectid,
                        .max_objectid = objectid,
                        .min_type = type,
                        .max_type = type,
                        .min_offset = qgroupid,
                        .max_offset = qgroupid,
                        .min_transid = 0,
                        .max_transid = UINT64_MAX,
                        .nr_items = 1,
                },
        };
        const struct btrfs_ioctl_search_header *sh = (const void *) args.buf;

        if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0)
                return negative_errno();
        if (args.key.nr_items == 0 || sh->type != type || sh->offset != qgroupid || sh->objectid != objectid)
                return -ENOENT;
        if (sh->len < size)
                return -EBADMSG;
        if (size > 0)
                memcpy(buf, args.buf + sizeof *sh, size);
        return 0;
}

/* Info and limit items: key (0, type, qgroupid). */
static int quota_item(int fd, uint8_t type, uint64_t qgroupid, void *buf, size_t size) {
        return quota_key(fd, 0, type, qgroupid, buf, size);
}

int btrfs_quota_mode(int fd) {
        struct btrfs_qgroup_status_item status;
        /* No quota tree, or no status item in it: quota is off. */
        int r = quota_item(fd, BTRFS_QGROUP_STATUS_KEY, 0, &status, sizeof status);
        if (r == -ENOENT)
                return BTRFS_QUOTA_OFF;
        if (r < 0)
                return r;
        return (le64toh(status.flags) & BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE) ? BTRFS_QUOTA_SIMPLE : BTRFS_QUOTA_FULL;
}

int btrfs_qgroup_in_group(int fd, uint64_t child, uint64_t parent) {
        int r = quota_key(fd, child, BTRFS_QGROUP_RELATION_KEY, parent, NULL, 0);
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int btrfs_qgroup_exists(int fd, uint64_t qgroupid) {
        struct btrfs_qgroup_info_item info;
        int r = quota_item(fd, BTRFS_QGROUP_INFO_KEY, qgroupid, &info, sizeof info);
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int btrfs_qgroup_create(int fd, uint64_t qgroupid) {
        struct btrfs_ioctl_qgroup_create_args args = { .create = 1, .qgroupid = qgroupid };
        if (ioctl(fd, BTRFS_IOC_QGROUP_CREATE, &args) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int btrfs_qgroup_destroy(int fd, uint64_t qgroupid) {
        struct btrfs_ioctl_qgroup_create_args args = { .create = 0, .qgroupid = qgroupid };
        if (ioctl(fd, BTRFS_IOC_QGROUP_CREATE, &args) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int btrfs_qgroup_assign(int fd, uint64_t child, uint64_t parent) {
        struct btrfs_ioctl_qgroup_assign_args args = { .assign = 1, .src = child, .dst = parent };
        struct btrfs_qgroup_status_item status;
        int r = ioctl(fd, BTRFS_IOC_QGROUP_ASSIGN, &args);
        if (r < 0 && errno != EEXIST)
                return negative_errno();
        /* Numbers the kernel could not carry over (shared extents, full
         * accounting) are counted again from scratch: start that and go
         * on; the level-0 limit holds meanwhile. */
        if (quota_item(fd, BTRFS_QGROUP_STATUS_KEY, 0, &status, sizeof status) >= 0 &&
            (le64toh(status.flags) & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT)) {
                r = btrfs_quota_rescan(fd);
                return r < 0 ? r : 1;
        }
        return 0;
}

int btrfs_quota_rescan(int fd) {
        struct btrfs_ioctl_quota_rescan_args rescan = {};
        if (ioctl(fd, BTRFS_IOC_QUOTA_RESCAN, &rescan) < 0 && errno != EINPROGRESS)
                return negative_errno();
        return 0;
}

/* The status item: flags and the transaction that last wrote it. */
static int quota_status(int fd, struct btrfs_qgroup_status_item *ret) {
        return quota_item(fd, BTRFS_QGROUP_STATUS_KEY, 0, ret, sizeof *ret);
}

static int status_counts(const struct btrfs_qgroup_status_item *s) {
        uint64_t flags = le64toh(s->flags);
        return (flags & BTRFS_QGROUP_STATUS_FLAG_RESCAN)         ? BTRFS_COUNTS_RESCAN
               : (flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT) ? BTRFS_COUNTS_INCONSISTENT
                                                                 : BTRFS_COUNTS_WHOLE;
}

int btrfs_quota_counts(int fd) {
        struct btrfs_qgroup_status_item status;
        int r = quota_status(fd, &status);
        return r < 0 ? r : status_counts(&status);
}

/* How often the status item may change under a reading of a group's
 * numbers before the reading gives up (each change is a commit). */
#define COUNTS_TRIES 4

/* The info item (counts) of a group, -EBUSY while they are not whole. */
static int info_whole(int fd, uint64_t qgroupid, struct btrfs_qgroup_info_item *ret) {
        /* While a rescan runs every group is counted again from 0, and
         * numbers marked inconsistent are wrong: either would read as
         * (nearly) empty. The kernel writes the status item's RESCAN flag
         * in the commit before the first zeroed count, and clears it after
         * the commit of the last count; the item also carries the
         * transaction that wrote it. So the same item, whole, before and
         * after the group's item means that count was not one of a
         * rescan. */
        struct btrfs_qgroup_status_item before, after;
        int r;

        for (unsigned tries = 0; tries < COUNTS_TRIES; tries++) {
                r = quota_status(fd, &before);
                if (r < 0)
                        return r;
                if (status_counts(&before) != BTRFS_COUNTS_WHOLE)
                        return -EBUSY;
                r = quota_item(fd, BTRFS_QGROUP_INFO_KEY, qgroupid, ret, sizeof *ret);
                if (r < 0)
                        return r;
                r = quota_status(fd, &after);
                if (r < 0)
                        return r;
                if (memcmp(&before, &after, sizeof before) == 0)
                        return 0;
        }
        return -EBUSY;
}

int btrfs_qgroup_assign_keeps_counts(int fd, uint64_t child) {
        struct btrfs_qgroup_info_item info;
        /* The kernel carries a member's numbers over to its new group only
         * where all it references is its own (a snapshot's is shared). */
        int r = info_whole(fd, child, &info);
        return r < 0 ? r : le64toh(info.excl) == le64toh(info.rfer);
}

int btrfs_qgroup_get(int fd, uint64_t subvol_id, bool sync, uint64_t *ret_rfer, uint64_t *ret_limit) {
        struct btrfs_qgroup_info_item info;
        struct btrfs_qgroup_limit_item lim;
        enum btrfs_util_error e;
        int r;

        /* Qgroup numbers are updated when a transaction commits. */
        e = sync ? btrfs_util_sync_fd(fd) : BTRFS_UTIL_OK;
        if (e != BTRFS_UTIL_OK)
                return -errno ?: -EIO;

        if (ret_rfer) {
                r = info_whole(fd, subvol_id, &info);
                if (r < 0)
                        return r;
                *ret_rfer = le64toh(info.rfer);
        }
        if (ret_limit) {
                r = quota_item(fd, BTRFS_QGROUP_LIMIT_KEY, subvol_id, &lim, sizeof lim);
                if (r == -ENOENT)
                        *ret_limit = BTRFS_QUOTA_NO_LIMIT;
                else if (r < 0)
                        return r;
                else
                        *ret_limit = (le64toh(lim.flags) & BTRFS_QGROUP_LIMIT_MAX_RFER) ? le64toh(lim.max_rfer)
                                                                                         : BTRFS_QUOTA_NO_LIMIT;
        }
        return 0;
}

int btrfs_qgroup_dissolve(int fd, uint64_t group) {
        uint64_t from = 0;
        int r = 0;

        /* Its members' relation items: (group, RELATION, child), children
         * below the group's own level. */
        for (;;) {
                struct btrfs_ioctl_search_args args = {
                        .key = {
                                .tree_id = BTRFS_QUOTA_TREE_OBJECTID,
                                .min_objectid = group,
                                .max_objectid = group,
                                .min_type = BTRFS_QGROUP_RELATION_KEY,
                                .max_type = BTRFS_QGROUP_RELATION_KEY,
                                .min_offset = from,
                                .max_offset = group - 1,
                                .max_transid = UINT64_MAX,
                                .nr_items = 64,
                        },
                };
                if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0)
                        return errno == ENOENT ? 0 : negative_errno();
                if (args.key.nr_items == 0)
                        break;
                size_t off = 0;
                for (uint32_t i = 0; i < args.key.nr_items; i++) {
                        const struct btrfs_ioctl_search_header *sh = (const void *) (args.buf + off);
                        off += sizeof *sh + sh->len;
                        if (sh->objectid != group || sh->type != BTRFS_QGROUP_RELATION_KEY)
                                continue;
                        struct btrfs_ioctl_qgroup_assign_args a = { .assign = 0, .src = sh->offset, .dst = group };
                        if (ioctl(fd, BTRFS_IOC_QGROUP_ASSIGN, &a) < 0 && errno != ENOENT && r == 0)
                                r = negative_errno();
                        from = sh->offset + 1;
                }
                if (from == 0 || from >= group)
                        break;
        }
        int k = btrfs_qgroup_destroy(fd, group);
        return r < 0 ? r : k;
}

int btrfs_home_qgroup_get(int fd, uint64_t subvol_id, bool sync, uint64_t *ret_rfer, uint64_t *ret_limit) {
        /* Where the group cannot be looked up, 0/<id>'s reading says why. */
        bool level1 = btrfs_qgroup_exists(fd, BTRFS_QGROUP_LEVEL1(subvol_id)) > 0;
        return btrfs_qgroup_get(fd, level1 ? BTRFS_QGROUP_LEVEL1(subvol_id) : subvol_id, sync, ret_rfer, ret_limit);
}
