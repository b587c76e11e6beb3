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

int btrfs_quota_enable(int fd) {
        struct btrfs_ioctl_quota_ctl_args args = { .cmd = BTRFS_QUOTA_CTL_ENABLE };
        return ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args) < 0 ? negative_errno() : 0;
}

int btrfs_qgroup_set_limit(int fd, uint64_t subvol_id, uint64_t max_rfer) {
        struct btrfs_ioctl_qgroup_limit_args args = {
                .qgroupid = subvol_id, /* level 0: the qgroup ID is the subvolume ID */
                .lim = {
                        .flags = BTRFS_QGROUP_LIMIT_MAX_RFER,
                        .max_rfer = max_rfer,
                },
        };
        return ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args) < 0 ? negative_errno() : 0;
}

/* Finds one item of the quota tree: key (0, type, qgroupid). */
static int quota_item(int fd, uint8_t type, uint64_t qgroupid, void *buf, size_t size) {
        struct btrfs_ioctl_search_args args = {
                .key = {
                        .tree_id = BTRFS_QUOTA_TREE_OBJECTID,
                        .min_objectid = 0,
                        .max_objectid = 0,
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
        if (args.key.nr_items == 0 || sh->type != type || sh->offset != qgroupid)
                return -ENOENT;
        if (sh->len < size)
                return -EBADMSG;
        memcpy(buf, args.buf + sizeof *sh, size);
        return 0;
}

int btrfs_qgroup_get(int fd, uint64_t subvol_id, uint64_t *ret_rfer, uint64_t *ret_limit) {
        struct btrfs_qgroup_info_item info;
        struct btrfs_qgroup_limit_item lim;
        enum btrfs_util_error e;
        int r;

        /* Qgroup numbers are updated when a transaction commits. */
        e = btrfs_util_sync_fd(fd);
        if (e != BTRFS_UTIL_OK)
                return -errno ?: -EIO;

        r = quota_item(fd, BTRFS_QGROUP_INFO_KEY, subvol_id, &info, sizeof info);
        if (r < 0)
                return r;
        if (ret_rfer)
                *ret_rfer = le64toh(info.rfer);
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
