/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Btrfs subvolume homes: <root>/<user>.homedir is a subvolume, stored
 * owned by nobody (65534) as homed makes them (by whatever UID owns its top,
 * once made elsewhere), mounted ID-mapped at <root>/<user> while active
 * (idmap.h: that owner shows as the user); diskSize is the
 * referenced-bytes limit of its level-1 qgroup 1/<id>, which holds the
 * home's own 0/<id> and those of the subvolumes made inside it (a user can
 * make them: `btrfs subvolume create ~/x`), and of 0/<id> too; quota is
 * enabled on the filesystem on demand (btrfs-quota.h). A new home is a
 * snapshot of the skel template where one serves (skel-template.h), so
 * that making it takes the same time whatever the skel holds. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <linux/magic.h>

#include "backend.h"
#include "btrfs-quota.h"
#include "failpoint.h"
#include "idmap.h"
#include "log.h"
#include "macro.h"
#include "size.h"
#include "worker-protocol.h"

static const char *fs_name(unsigned long type) {
        switch (type) {
        case EXT4_SUPER_MAGIC: return "ext4";
        case XFS_SUPER_MAGIC: return "xfs";
        case TMPFS_MAGIC: return "tmpfs";
        case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
        case V9FS_MAGIC: return "9p";
        default: return "not Btrfs";
        }
}

static int require_btrfs(Home *h) {
        struct statfs sfs;
        if (fstatfs(h->root_fd, &sfs) < 0)
                return log_error_errno(errno, "home %s: cannot stat filesystem of %s: %m", h->name, h->root);
        if (sfs.f_type != BTRFS_SUPER_MAGIC)
                return log_error_errno(EOPNOTSUPP,
                                       "home %s: %s is not on Btrfs (it is %s), so it cannot hold subvolume "
                                       "homes; use storage \"directory\" or \"luks\"",
                                       h->name, h->root, fs_name((unsigned long) sfs.f_type));
        return 0;
}

static int btrfs_error(Home *h, const char *what, enum btrfs_util_error e) {
        return log_error_errno(errno ?: EIO, "home %s: %s: %s (%m)", h->name, what, btrfs_util_strerror(e));
}

static int enable_quota(Home *h) {
        /* Already on: nothing to write (a write would wait out a frozen
         * file system, where reading needs no such wait). */
        if (btrfs_quota_mode(h->root_fd) > BTRFS_QUOTA_OFF)
                return 0;
        int r = btrfs_quota_enable(h->root_fd);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot enable Btrfs quota on %s, so diskSize cannot be "
                                       "enforced: %m", h->name, h->root);
        return 0;
}

static int home_id(Home *h, int fd, uint64_t *ret) {
        enum btrfs_util_error e = btrfs_util_subvolume_id_fd(fd, ret);
        return e != BTRFS_UTIL_OK ? btrfs_error(h, "cannot read subvolume ID", e) : 0;
}

static int note_path(json_object **list, const char *path) {
        if (!*list && !(*list = json_object_new_array()))
                return -ENOMEM;
        json_object *p = json_object_new_string(path);
        if (!p || json_object_array_add(*list, p) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        return 0;
}

/* A subvolume inside the home that cannot join its group now without a
 * rescan (WORKER_OPT_NO_RESCAN): its own limit is set to what it
 * references, so that nothing more can be written into it meanwhile (while
 * the counts are not whole: to 0). 1 if it was not held so yet. */
static int hold_subvolume(Home *h, int fd, uint64_t sub, const char *path) {
        uint64_t rfer = 0, limit;
        int r = btrfs_qgroup_get(fd, sub, false, &rfer, &limit);
        if (r == -EBUSY) {
                rfer = 0;
                r = btrfs_qgroup_get(fd, sub, false, NULL, &limit);
        }
        if (r < 0)
                return r;
        if (limit <= rfer)
                return 0;
        log_info("home %s: subvolume %s/%s needs a quota rescan to count against the home's quota: held at "
                 "what it references until one may run", h->name, h->storage_path, path);
        r = btrfs_qgroup_set_limit(fd, sub, rfer);
        return r < 0 ? r : 1;
}

/* Whether sub may join the group now: 1 yes, 0 not before a run that may
 * start a rescan. */
static int may_adopt(Home *h, int fd, uint64_t sub, bool *synced) {
        if (!h->no_rescan || btrfs_quota_mode(fd) == BTRFS_QUOTA_SIMPLE)
                return 1;
        /* Inconsistent already (on Linux 6.8+ a snapshot of a subvolume in
         * a group makes them so by itself), the kernel counts nothing until
         * a rescan: one is started now anyway, which counts it too. */
        if (btrfs_quota_counts(fd) == BTRFS_COUNTS_INCONSISTENT)
                return 1;
        /* The kernel compares its current numbers: those of a commit. */
        if (!*synced) {
                (void) btrfs_util_sync_fd(fd);
                *synced = true;
        }
        int r = btrfs_qgroup_assign_keeps_counts(fd, sub);
        return r == -EBUSY ? 0 : r;
}

/* The home's level-1 group, with the home in it and every subvolume below
 * it. Under simple quotas the kernel adds those made later by itself;
 * under full qgroups (quota enabled before Hearth, or a kernel before 6.7)
 * they are added here, at every operation on the home. */
static int ensure_group(Home *h, int fd, uint64_t id) {
        struct btrfs_util_subvolume_iterator *it = NULL;
        enum btrfs_util_error e;
        uint64_t group = BTRFS_QGROUP_LEVEL1(id);
        int r;

        r = btrfs_qgroup_exists(fd, group);
        if (r == 0)
                r = btrfs_qgroup_create(fd, group);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot create quota group 1/%" PRIu64 ": %m", h->name, id);
        r = btrfs_qgroup_in_group(fd, id, group);
        /* The home itself (made by the administrator, or from before the
         * group) always, rescan or not. */
        if (r == 0 && (r = btrfs_qgroup_assign(fd, id, group)) > 0)
                h->quota_rescanned = true;
        if (r < 0)
                return log_error_errno(r, "home %s: cannot put 0/%" PRIu64 " into quota group 1/%" PRIu64 ": %m",
                                       h->name, id, id);

        e = btrfs_util_create_subvolume_iterator_fd(fd, 0, 0, &it);
        if (e != BTRFS_UTIL_OK)
                return btrfs_error(h, "cannot list the subvolumes inside the home", e);
        bool synced = false;
        for (;;) {
                _cleanup_free_ char *path = NULL;
                uint64_t sub;
                e = btrfs_util_subvolume_iterator_next(it, &path, &sub);
                if (e == BTRFS_UTIL_ERROR_STOP_ITERATION)
                        break;
                if (e != BTRFS_UTIL_OK) {
                        r = btrfs_error(h, "cannot list the subvolumes inside the home", e);
                        break;
                }
                int k = btrfs_qgroup_in_group(fd, sub, group);
                if (k == 0)
                        k = may_adopt(h, fd, sub, &synced);
                else if (k > 0)
                        k = 2; /* a member already */
                if (k == 0) {
                        k = hold_subvolume(h, fd, sub, path);
                        /* Told to hearthd, which logs it: this log goes nowhere but to it. */
                        if (k > 0 && note_path(&h->quota_held, path) < 0 && r >= 0)
                                r = log_oom();
                } else if (k == 1) {
                        log_info("home %s: subvolume %s/%s now counts against the home's quota", h->name,
                                 h->storage_path, path);
                        k = btrfs_qgroup_assign(fd, sub, group);
                        if (k > 0)
                                h->quota_rescanned = true;
                        /* The group's limit holds it now: not its own (a snapshot's is its
                         * source's, or the one it was held at). */
                        if (k >= 0)
                                k = btrfs_qgroup_set_limit(fd, sub, BTRFS_QUOTA_NO_LIMIT);
                        if (k >= 0 && note_path(&h->quota_adopted, path) < 0 && r >= 0)
                                r = log_oom();
                }
                if (k < 0 && r >= 0)
                        r = log_error_errno(k, "home %s: cannot put subvolume %s/%s into quota group 1/%" PRIu64 ": %m",
                                            h->name, h->storage_path, path, id);
        }
        btrfs_util_destroy_subvolume_iterator(it);
        /* Counts marked inconsistent and no rescan running (a snapshot
         * made and deleted since the last look, an assignment by hand):
         * the kernel counts and so limits nothing until a rescan. */
        if (btrfs_quota_counts(fd) == BTRFS_COUNTS_INCONSISTENT) {
                int k = btrfs_quota_rescan(fd);
                if (k >= 0)
                        h->quota_rescanned = true;
                else if (r >= 0)
                        r = log_error_errno(k, "home %s: cannot start a quota rescan: %m", h->name);
        }
        return r < 0 ? r : 0;
}

static int set_limit(Home *h, int fd, uint64_t limit) {
        uint64_t id;
        int r;

        r = home_id(h, fd, &id);
        if (r < 0)
                return r;
        r = ensure_group(h, fd, id);
        if (r < 0)
                return r;
        r = btrfs_qgroup_set_limit(fd, BTRFS_QGROUP_LEVEL1(id), limit);
        if (r >= 0)
                r = btrfs_qgroup_set_limit(fd, id, limit);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot set quota limit: %m", h->name);
        return 0;
}

/* A new subvolume temp in the root, empty or (from_skel) a snapshot of
 * the skel template; -EOPNOTSUPP, nothing made and nothing logged, where
 * the template cannot serve. */
static int make_subvolume(Home *h, const char *temp, bool from_skel, int *ret_fd) {
        enum btrfs_util_error e;
        struct statfs sfs;
        int r;

        /* Not Btrfs: said once, by the empty subvolume's attempt. */
        if (from_skel && (fstatfs(h->root_fd, &sfs) < 0 || sfs.f_type != BTRFS_SUPER_MAGIC))
                return -EOPNOTSUPP;
        r = require_btrfs(h);
        if (r < 0)
                return r;
        struct statvfs sv;
        if (h->rec->disk_size == UINT64_MAX && h->rec->disk_size_relative != UINT64_MAX) {
                if (fstatvfs(h->root_fd, &sv) < 0)
                        return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->root);
                r = home_disk_size_from_share(h, (uint64_t) sv.f_bavail * sv.f_frsize);
                if (r < 0)
                        return r;
        }
        /* Quota first: a subvolume made afterwards is accounted from birth. */
        if (h->rec->disk_size != UINT64_MAX && (r = enable_quota(h)) < 0)
                return r;
        log_trace_phase("create: quota enabled");

        if (from_skel) {
                r = home_skel_snapshot(h, temp);
                if (r < 0)
                        return r;
                log_trace_phase("create: snapshotted");
        } else {
                e = btrfs_util_create_subvolume_fd(h->root_fd, temp, 0, NULL, NULL);
                if (e != BTRFS_UTIL_OK)
                        return btrfs_error(h, "cannot create subvolume", e);
        }
        *ret_fd = openat(h->root_fd, temp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (*ret_fd < 0) {
                r = log_error_errno(errno, "home %s: cannot open new subvolume: %m", h->name);
                goto fail;
        }
        if (h->rec->disk_size != UINT64_MAX && (r = set_limit(h, *ret_fd, h->rec->disk_size)) < 0)
                goto fail;
        return 0;

fail:
        if (*ret_fd >= 0)
                close(*ret_fd);
        *ret_fd = -1;
        (void) home_rm_rf_at(h->root_fd, temp);
        return r;
}

static int subvolume_make_top(Home *h, const char *temp, int *ret_fd) {
        return make_subvolume(h, temp, false, ret_fd);
}

static int subvolume_make_seeded_top(Home *h, const char *temp, int *ret_fd) {
        return make_subvolume(h, temp, true, ret_fd);
}

static int subvolume_create(Home *h) {
        /* Stored as nobody, portable: no UID of this machine on disk. A
         * snapshot of the skel template where one serves: no file copied. */
        return home_create_in_root(h, subvolume_make_top, subvolume_make_seeded_top, IDMAP_UID_NOBODY);
}

/* Opens the existing home's storage and checks it is a subvolume. */
static int open_home(Home *h, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        enum btrfs_util_error e;
        int r;

        r = home_storage_open(h, &fd);
        if (r < 0)
                return r;
        e = btrfs_util_is_subvolume_fd(fd);
        if (e != BTRFS_UTIL_OK)
                return log_error_errno(EUCLEAN, "home %s: %s is not a Btrfs subvolume", h->name, h->storage_path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* btrfs_home_qgroup_get()'s numbers. They are current only after a commit, which is skipped where nothing
 * is counted (quota off), and after a create that took a spare without a
 * limit: the spare's numbers were committed when it was made, and the
 * create changed nothing that counts. */
static int usage(Home *h, int fd, uint64_t *rfer, uint64_t *limit) {
        uint64_t id;
        int r = home_id(h, fd, &id);
        if (r < 0)
                return r;
        bool sync = !(h->skel_spare && h->rec->disk_size == UINT64_MAX) && btrfs_quota_mode(fd) != BTRFS_QUOTA_OFF;
        return btrfs_home_qgroup_get(fd, id, sync, rfer, limit);
}

/* A home with a limit from before the level-1 group gets it, with the
 * limit; subvolumes made inside since the last look are put into it. */
static int apply_quota(Home *h, int fd) {
        uint64_t id;
        int r;

        if (h->rec->disk_size == UINT64_MAX)
                return 0;
        r = home_id(h, fd, &id);
        if (r < 0)
                return r;
        r = btrfs_qgroup_exists(fd, id);
        if (r <= 0)
                return r; /* quota off: nothing to keep */
        r = btrfs_qgroup_exists(fd, BTRFS_QGROUP_LEVEL1(id));
        if (r < 0)
                return r;
        if (r == 0) {
                log_info("home %s: its quota moves to a group that also holds the subvolumes inside it", h->name);
                return set_limit(h, fd, h->rec->disk_size);
        }
        r = ensure_group(h, fd, id);
        if (r < 0)
                return r;
        /* A resize killed between the limit and hearthd's storing of the
         * record left the limit the record does not have: the record's
         * (reading a limit needs no commit). */
        uint64_t limit;
        r = btrfs_qgroup_get(fd, BTRFS_QGROUP_LEVEL1(id), false, NULL, &limit);
        if (r < 0 || limit == h->rec->disk_size)
                return 0;
        log_info("home %s: its quota limit differs from its record's diskSize (a resize was cut short): the record's", h->name);
        return set_limit(h, fd, h->rec->disk_size);
}

static int subvolume_activate(Home *h) {
        _cleanup_close_ int fd = -1;
        int r = open_home(h, &fd);
        if (r < 0)
                return r;
        r = apply_quota(h, fd);
        if (r < 0)
                return r;
        r = home_mount(h, fd);
        if (r < 0)
                return r;
        return home_set_state(h, "active");
}

static int subvolume_deactivate(Home *h) {
        _cleanup_close_ int fd = -1;
        int r = open_home(h, &fd);
        if (r >= 0)
                r = home_unmount(h, fd);
        return r < 0 ? r : home_set_state(h, "inactive");
}

static int subvolume_resize(Home *h) {
        _cleanup_close_ int fd = -1;
        char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
        uint64_t want = h->rec->disk_size, rfer = 0;
        int r;

        if (want == UINT64_MAX && h->size_request == HEARTH_SIZE_RECORD && h->rec->disk_size_relative == UINT64_MAX)
                return log_error_errno(EINVAL, "home %s: diskSize: required for resize", h->name);
        r = open_home(h, &fd);
        if (r < 0)
                return r;
        if (want == UINT64_MAX && h->size_request == HEARTH_SIZE_RECORD) {
                /* A share of the file system: of what is free and what the home holds. */
                struct statvfs sv;
                uint64_t held = 0;
                if (fstatvfs(fd, &sv) < 0)
                        return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->root);
                (void) usage(h, fd, &held, NULL);
                r = home_disk_size_from_share(h, (uint64_t) sv.f_bavail * sv.f_frsize + held);
                if (r < 0)
                        return r;
                want = h->rec->disk_size;
        }
        r = enable_quota(h);
        if (r < 0)
                return r;
        r = usage(h, fd, &rfer, NULL);
        if (r == -EBUSY && h->size_request != HEARTH_SIZE_MAX) {
                /* What the home holds is not known now (a rescan counts
                 * every group from 0, so it would read as nearly empty):
                 * a grow needs no such number, a shrink waits. */
                uint64_t limit = BTRFS_QUOTA_NO_LIMIT, id;
                if (h->size_request == HEARTH_SIZE_MIN || home_id(h, fd, &id) < 0 ||
                    btrfs_home_qgroup_get(fd, id, false, NULL, &limit) < 0 || want < limit)
                        return log_error_errno(EBUSY, "home %s: cannot shrink its quota now: the file system's "
                                               "quota counts are being recounted (a rescan runs) or are "
                                               "inconsistent, so what the home holds is not known; try again "
                                               "when the rescan has ended", h->name);
                rfer = 0;
        } else if (r < 0 && r != -ENOENT && r != -EBUSY)
                return log_error_errno(r, "home %s: cannot read current usage: %m", h->name);
        if (h->size_request == HEARTH_SIZE_MIN) {
                /* What is used, rounded up to MiB, and never below the floor. */
                want = (rfer + (1 << 20) - 1) / (1 << 20) * (1 << 20);
                if (want < USER_RECORD_DISK_SIZE_MIN)
                        want = USER_RECORD_DISK_SIZE_MIN;
        } else if (h->size_request == HEARTH_SIZE_MAX) {
                /* No limit below the filesystem's own size. */
                r = set_limit(h, fd, BTRFS_QUOTA_NO_LIMIT);
                return r < 0 ? r : user_record_unset_effective(h->rec, "diskSize");
        }
        if (want < rfer)
                return log_error_errno(ERANGE, "home %s: cannot shrink to %s: %s are in use", h->name,
                                       size_format(want, a), size_format(rfer, b));
        r = set_limit(h, fd, want);
        if (r < 0)
                return r;
        failpoint("subvolume-resize-limit-set");
        return user_record_set_effective(h->rec, "diskSize", json_object_new_int64((int64_t) want));
}

static int subvolume_update(Home *h) {
        _cleanup_close_ int fd = -1;
        uint64_t limit = BTRFS_QUOTA_NO_LIMIT;
        int r = open_home(h, &fd);
        if (r < 0)
                return r;
        if (h->rec->disk_size == UINT64_MAX)
                /* A share given in place of the size (homectl --disk-size=30%) is made one now. */
                return h->rec->disk_size_relative != UINT64_MAX && h->size_request == HEARTH_SIZE_RECORD
                               ? subvolume_resize(h)
                               : 0;
        r = usage(h, fd, NULL, &limit);
        if (r >= 0 && limit == h->rec->disk_size)
                return 0;
        return subvolume_resize(h);
}

static const char *quota_mode_name(int mode) {
        switch (mode) {
        case BTRFS_QUOTA_OFF: return "off";
        case BTRFS_QUOTA_FULL: return "full";
        case BTRFS_QUOTA_SIMPLE: return "simple";
        default: return NULL;
        }
}

/* For hearthd (worker-protocol.h): whether subvolumes made inside homes
 * need it to look for them (full qgroups, or quota off), and which this
 * run put into the home's group. A mode that cannot be read is left out:
 * hearthd then keeps looking. */
static int quota_report(Home *h, int fd, json_object *status) {
        json_object *q = json_object_new_object();
        const char *mode = quota_mode_name(btrfs_quota_mode(fd));
        if (!q)
                return log_oom();
        if (mode)
                json_object_object_add(q, WORKER_STATUS_QUOTA_MODE, json_object_new_string(mode));
        if (h->quota_adopted)
                json_object_object_add(q, WORKER_STATUS_QUOTA_ADOPTED, json_object_get(h->quota_adopted));
        if (h->quota_held)
                json_object_object_add(q, WORKER_STATUS_QUOTA_HELD, json_object_get(h->quota_held));
        if (h->quota_rescanned)
                json_object_object_add(q, WORKER_STATUS_QUOTA_RESCAN, json_object_new_boolean(true));
        json_object_object_add(status, WORKER_STATUS_QUOTA, q);
        return 0;
}

static int subvolume_inspect(Home *h) {
        _cleanup_close_ int fd = -1;
        uint64_t rfer, limit;
        json_object *status;
        int r;

        r = open_home(h, &fd);
        if (r < 0)
                return r;
        if (!h->state) {
                r = home_mount_state(h, fd);
                if (r < 0 || (r = home_set_state(h, r > 0 ? "active" : "inactive")) < 0)
                        return r;
        }
        /* After every operation: what was made inside since counts now. */
        r = apply_quota(h, fd);
        if (r < 0)
                log_warning_errno(r, "home %s: its quota group is not complete: %m", h->name);
        log_trace_phase("inspect: quota applied");
        status = json_object_new_object();
        if (!status)
                return log_oom();
        r = usage(h, fd, &rfer, &limit);
        log_trace_phase("inspect: usage read");
        if (r == -EBUSY) {
                /* Counts being redone: no usage rather than a wrong one. */
                uint64_t id;
                r = home_id(h, fd, &id);
                if (r >= 0)
                        r = btrfs_home_qgroup_get(fd, id, false, NULL, &limit);
                if (r >= 0 && limit != BTRFS_QUOTA_NO_LIMIT)
                        json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) limit));
        } else if (r >= 0) {
                json_object_object_add(status, "diskUsage", json_object_new_int64((int64_t) rfer));
                if (limit != BTRFS_QUOTA_NO_LIMIT) {
                        json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) limit));
                        json_object_object_add(status, "diskFree",
                                               json_object_new_int64((int64_t) (limit > rfer ? limit - rfer : 0)));
                }
        } else if (r != -ENOENT) {
                json_object_put(status);
                return log_error_errno(r, "home %s: cannot read quota: %m", h->name);
        }
        r = quota_report(h, fd, status);
        if (r < 0) {
                json_object_put(status);
                return r;
        }
        return home_update_sections(h, status);
}

static int subvolume_exists(Home *h) {
        return home_storage_exists(h);
}

const StorageBackend storage_subvolume = {
        .name = "subvolume",
        .storage = USER_STORAGE_SUBVOLUME,
        .create = subvolume_create,
        .activate = subvolume_activate,
        .deactivate = subvolume_deactivate,
        .update = subvolume_update,
        .resize = subvolume_resize,
        .passwd = NULL,
        .fixate = home_root_entry_fixate,
        .inspect = subvolume_inspect,
        .remove = home_remove_from_root,
        .exists = subvolume_exists,
};
