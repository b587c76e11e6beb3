/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <btrfsutil.h>

#include "btrfs-quota.h"
#include "bus-names.h"
#include "bus-util.h"
#include "home-dm.h"
#include "log.h"
#include "macro.h"
#include "managed-home.h"
#include "manager.h"
#include "mountinfo.h"
#include "operation.h"
#include "rebalance-run.h"
#include "size.h"

/* What lies around the file system in an image: the GPT (2 MiB) and the
 * LUKS2 header (16 MiB as Hearth makes it); for the floor only. */
#define IMAGE_OVERHEAD (UINT64_C(18) << 20)

typedef struct Step {
        char *name;
        uint64_t size, from;
        bool shrink;
} Step;

struct RebalanceRun {
        Manager *m;
        sd_bus_message *msg; /* Rebalance(), or NULL for the periodic run */
        Step *steps;
        size_t n, next;
        unsigned failed;
        bool shrink_failed;
        bool detached; /* hearthd exits: the step in flight ends it, touching nothing else */
};

static RebalanceRun *run_free(RebalanceRun *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                free(r->steps[i].name);
        free(r->steps);
        sd_bus_message_unref(r->msg);
        free(r);
        return NULL;
}

static uint64_t fs_min(const char *fstype) {
        if (fstype && strcmp(fstype, "xfs") == 0)
                return UINT64_C(320) << 20;
        if (fstype && strcmp(fstype, "ext4") == 0)
                return UINT64_C(32) << 20;
        return UINT64_C(256) << 20; /* btrfs */
}

/* Whether the topmost mount at dir is the home's own file system, from
 * its LUKS mapping: its owner owns the mount point and may mount over it
 * (FUSE), and statvfs() through her mount would tell what she likes (for
 * root, without allow_other: all 0) and may never return. */
static bool home_mount_is_own(const ManagedHome *h, const char *dir) {
        char fstype[64], source[PATH_MAX], dm[HOME_DM_NAME_MAX], mapped[HOME_DM_NAME_MAX + 16];
        const char *want = h->record->file_system_type ?: "btrfs";
        struct stat src;

        if (mountinfo_top_at("/proc/self/mountinfo", dir, fstype, sizeof fstype, source, sizeof source) < 0)
                return false;
        /* No user mounts btrfs, ext4 or xfs; the source (a FUSE mount's is
         * anything) is checked only then, by device. */
        if (strcmp(fstype, want) == 0 && stat(source, &src) == 0 && S_ISBLK(src.st_mode))
                for (int legacy = 0; legacy < 2; legacy++) {
                        struct stat st;
                        if (home_dm_name(h->name, legacy, dm) < 0)
                                continue;
                        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", dm);
                        if (stat(mapped, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == src.st_rdev)
                                return true;
                }
        log_warning("home %s: rebalancing: %s is not the home's own file system (%s from %s on top); left out",
                    h->name, dir, fstype, source);
        return false;
}

/* What a subvolume home holds now, from its quota group, after a commit
 * so that the count is current: a number a worker reported
 * earlier may be far behind what its owner wrote since. */
static int subvolume_usage(Manager *m, const char *name, uint64_t *ret) {
        char path[PATH_MAX];
        uint64_t id;

        if (snprintf(path, sizeof path, "%s/%s.homedir", m->home_root, name) >= (int) sizeof path)
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (btrfs_util_subvolume_id_fd(fd, &id) != BTRFS_UTIL_OK)
                return -EIO;
        return btrfs_home_qgroup_get(fd, id, true, ret, NULL);
}

/* Whether the quota counts of the home root's file system can be read: not
 * while a rescan counts every group again from 0, nor while they are
 * marked inconsistent (btrfs_qgroup_get() says -EBUSY then). Any user can
 * start such a rescan (a snapshot inside her home, which the quota sweep
 * puts into her group), and a home read as empty would be shrunk below
 * what it holds. */
static void subvolume_counts_check(Manager *m, bool *busy) {
        _cleanup_close_ int fd = open(m->home_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && btrfs_quota_counts(fd) > BTRFS_COUNTS_WHOLE)
                *busy = true;
}

static void subvolume_counts_busy_log(Manager *m) {
        log_warning("rebalancing: the quota counts of %s are being redone (a rescan runs) or are inconsistent: "
                    "its subvolume homes are left out of this run", m->home_root);
}

/* A subvolume home takes part where its record sets a weight (a quota
 * is a promise of the shared free space, not an allocation of it): its
 * limit is sized as an image would be, from its usage now, active or
 * not. All are left out (*busy) while the counts are not whole. */
static bool measure_subvolume(Manager *m, ManagedHome *h, uint64_t fs_size, bool *busy, RebalanceHome *out) {
        const UserRecord *rec = h->record;
        uint64_t used;

        if (rec->rebalance_weight == UINT64_MAX || rec->rebalance_weight == 0)
                return false;
        if ((h->state != HOME_ACTIVE && h->state != HOME_INACTIVE) || h->running || h->queue)
                return false;
        if (*busy)
                return false;
        int r = subvolume_usage(m, h->name, &used);
        if (r == -EBUSY) {
                /* A rescan began since the check: said once, by the caller. */
                *busy = true;
                return false;
        }
        if (r == -ENOENT) {
                log_warning("home %s: rebalancing: it has no quota group to measure it by (no disk size was ever set, "
                            "or quotas are off on %s); left out until it has one (homectl resize)", h->name,
                            m->home_root);
                return false;
        }
        if (r < 0) {
                log_warning_errno(r, "home %s: rebalancing: cannot read its usage; left out: %m", h->name);
                return false;
        }
        *out = (RebalanceHome) {
                .name = h->name,
                .weight = rec->rebalance_weight,
                .size = rec->disk_size != UINT64_MAX ? rec->disk_size : fs_size,
                .allocated = used,
                .used = used,
                .floor = USER_RECORD_DISK_SIZE_MIN,
                .can_shrink = true,
                .idle = !home_refs_any(&h->refs),
        };
        return true;
}

/* Whether h takes part, and how it stands (into *out, name borrowed). */
static bool measure(Manager *m, ManagedHome *h, dev_t root_dev, uint64_t root_size, bool *subvolumes_busy,
                    RebalanceHome *out) {
        char path[PATH_MAX], dirbuf[PATH_MAX];
        struct stat st;
        struct statvfs sv;
        const UserRecord *rec = h->record;

        if (rec->storage == USER_STORAGE_SUBVOLUME)
                return measure_subvolume(m, h, root_size, subvolumes_busy, out);
        if (rec->storage != USER_STORAGE_LUKS || h->state != HOME_ACTIVE || h->running || h->queue)
                return false;
        if (user_record_rebalance_weight(rec) == 0)
                return false;
        /* A device, a pool volume or an image elsewhere is not in the
         * shared file system (or not ours to size). */
        if (snprintf(path, sizeof path, "%s/%s.home", m->home_root, h->name) >= (int) sizeof path)
                return false;
        if (rec->image_path && strcmp(rec->image_path, path) != 0)
                return false;
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != root_dev)
                return false;
        const char *dir = managed_home_dir(h, dirbuf, sizeof dirbuf);
        if (!home_mount_is_own(h, dir))
                return false;
        if (statvfs(dir, &sv) < 0) {
                log_warning_errno(errno, "home %s: rebalancing: cannot look at %s: %m", h->name, dir);
                return false;
        }
        if (sv.f_blocks == 0 || sv.f_frsize == 0) {
                log_warning("home %s: rebalancing: %s tells no size; left out", h->name, dir);
                return false;
        }
        uint64_t fs_size = (uint64_t) sv.f_blocks * sv.f_frsize;
        uint64_t fs_used = (uint64_t) (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
        uint64_t size = (uint64_t) st.st_size;
        uint64_t overhead = size > fs_size ? size - fs_size : 0;
        uint64_t allocated = (uint64_t) st.st_blocks * 512;
        *out = (RebalanceHome) {
                .name = h->name,
                .weight = user_record_rebalance_weight(rec),
                .size = size,
                .allocated = allocated < size ? allocated : size,
                .used = fs_used + overhead,
                .floor = fs_min(rec->file_system_type) + IMAGE_OVERHEAD,
                .can_shrink = !rec->file_system_type || strcmp(rec->file_system_type, "btrfs") == 0,
                .idle = !home_refs_any(&h->refs),
        };
        return true;
}

static int step_cmp(const void *a, const void *b) {
        const Step *x = a, *y = b;
        /* Shrinks first: the grows take what they give back. */
        if (x->shrink != y->shrink)
                return x->shrink ? -1 : 1;
        return 0;
}

static void run_next(RebalanceRun *r);

static void finish(RebalanceRun *r) {
        Manager *m = r->m;
        if (m->rebalance == r)
                m->rebalance = NULL;
        if (r->msg) {
                if (r->n == 0)
                        (void) sd_bus_reply_method_errorf(r->msg, BUS_ERROR_REBALANCE_NOT_NEEDED,
                                                          "No home needs its size changed");
                else if (r->failed)
                        (void) sd_bus_reply_method_errorf(r->msg, BUS_ERROR_FAILED,
                                                          "%u of %zu resizes failed; see hearthd's log", r->failed,
                                                          r->n);
                else
                        (void) sd_bus_reply_method_return(r->msg, NULL);
        }
        if (r->n > 0)
                log_info("rebalancing: %zu home(s) resized, %u failed", r->n - r->failed, r->failed);
        run_free(r);
}

static void step_done(Operation *op, const sd_bus_error *error, void *userdata) {
        RebalanceRun *r = userdata;
        if (r->detached) {
                run_free(r);
                return;
        }
        Step *s = &r->steps[r->next - 1];
        if (error) {
                log_warning("home %s: rebalancing to %" PRIu64 " bytes failed: %s", s->name, s->size,
                            error->message ?: error->name);
                r->failed++;
                r->shrink_failed = r->shrink_failed || s->shrink;
        }
        run_next(r);
}

static void run_next(RebalanceRun *r) {
        while (r->next < r->n) {
                Step *s = &r->steps[r->next++];
                if (r->m->stopping) {
                        r->failed++;
                        continue;
                }
                ManagedHome *h = manager_find_by_name(r->m, s->name);
                /* A grow counts on what the shrinks gave back. */
                if (!s->shrink && r->shrink_failed) {
                        log_warning("home %s: not grown: a shrink before it failed", s->name);
                        r->failed++;
                        continue;
                }
                if (!h || (h->state != HOME_ACTIVE &&
                           !(h->state == HOME_INACTIVE && h->record->storage == USER_STORAGE_SUBVOLUME))) {
                        r->failed++;
                        continue;
                }
                Operation *op = operation_new(OP_RESIZE, s->name, NULL);
                if (!op) {
                        log_oom();
                        r->failed++;
                        continue;
                }
                op->size = s->size;
                op->done = step_done;
                op->done_userdata = r;
                log_info("home %s: rebalancing from %" PRIu64 " to %" PRIu64 " bytes", s->name, s->from, s->size);
                managed_home_enqueue(h, op);
                return;
        }
        finish(r);
}

/* Measures, plans and starts; the run ends in finish(). */
static int rebalance_start(Manager *m, sd_bus_message *msg) {
        _cleanup_free_ RebalanceHome *homes = NULL;
        struct statvfs sv;
        struct stat st;
        size_t n = 0;

        if (stat(m->home_root, &st) < 0 || statvfs(m->home_root, &sv) < 0)
                return log_error_errno(errno, "rebalancing: cannot look at %s: %m", m->home_root);
        RebalanceRun *r = calloc(1, sizeof *r);
        homes = calloc(m->n_homes ? m->n_homes : 1, sizeof *homes);
        if (!r || !homes) {
                free(r);
                return log_oom();
        }
        r->m = m;
        r->msg = msg ? sd_bus_message_ref(msg) : NULL;
        uint64_t fs_size = (uint64_t) sv.f_blocks * sv.f_frsize, fs_free = (uint64_t) sv.f_bavail * sv.f_frsize;
        bool subvolumes_busy = false;
        subvolume_counts_check(m, &subvolumes_busy);
        for (size_t i = 0; i < m->n_homes; i++)
                if (measure(m, m->homes[i], st.st_dev, fs_size, &subvolumes_busy, &homes[n]))
                        n++;
        if (subvolumes_busy) {
                /* Those measured before a rescan began are left out too:
                 * the shares of one file system are planned together. */
                size_t k = 0;
                for (size_t i = 0; i < n; i++) {
                        ManagedHome *h = manager_find_by_name(m, homes[i].name);
                        if (!h || h->record->storage != USER_STORAGE_SUBVOLUME)
                                homes[k++] = homes[i];
                }
                n = k;
                subvolume_counts_busy_log(m);
        }
        size_t changes = rebalance_plan(&m->rebalance_config, homes, n, fs_size, fs_free);
        r->steps = calloc(changes ? changes : 1, sizeof *r->steps);
        if (!r->steps) {
                run_free(r);
                return log_oom();
        }
        /* Idle homes' shrinks before active ones' (the order of homes[]
         * otherwise): two passes. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++) {
                        RebalanceHome *h = &homes[i];
                        if (h->new_size == h->size || h->idle != (pass == 0))
                                continue;
                        Step *s = &r->steps[r->n];
                        s->name = strdup(h->name);
                        if (!s->name) {
                                run_free(r);
                                return log_oom();
                        }
                        s->size = h->new_size;
                        s->from = h->size;
                        s->shrink = h->new_size < h->size;
                        r->n++;
                }
        /* Stable enough: qsort may swap equals, which only reorders
         * grows among themselves or idle shrinks with active ones; keep
         * the idle-first order by sorting only the kind. */
        for (size_t i = 1; i < r->n; i++)
                for (size_t j = i; j > 0 && step_cmp(&r->steps[j - 1], &r->steps[j]) > 0; j--) {
                        Step t = r->steps[j];
                        r->steps[j] = r->steps[j - 1];
                        r->steps[j - 1] = t;
                }
        char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
        log_debug("rebalancing: %zu home(s) take part, %zu change; %s free of %s on %s", n, r->n,
                  size_format(fs_free, a), size_format(fs_size, b), m->home_root);
        m->rebalance = r;
        run_next(r);
        return 0;
}

int manager_rebalance_call(Manager *m, sd_bus_message *msg, sd_bus_error *error) {
        if (bus_sender_uid(msg) != 0)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Access denied: Rebalance needs root");
        if (m->stopping)
                return sd_bus_error_setf(error, BUS_ERROR_HOME_BUSY, "hearthd is stopping");
        if (m->rebalance)
                return sd_bus_error_setf(error, BUS_ERROR_HOME_BUSY, "A rebalancing runs already");
        int r = rebalance_start(m, msg);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);
        return 1;
}

static int on_rebalance_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        (void) sd_event_source_set_time(s, usec + m->rebalance_config.interval_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (!m->rebalance && !m->stopping)
                (void) rebalance_start(m, NULL);
        return 0;
}

int manager_start_rebalance(Manager *m) {
        uint64_t now;
        int r;

        if (!m->rebalance_config.automatic)
                return 0;
        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->rebalance_timer, CLOCK_MONOTONIC,
                                      now + m->rebalance_config.interval_usec, 0, on_rebalance_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->rebalance_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return log_error_errno(r, "cannot set up rebalancing: %m");
        return 0;
}

void manager_rebalance_done(Manager *m) {
        m->rebalance_timer = sd_event_source_disable_unref(m->rebalance_timer);
        /* Its step in flight is failed with its home, later: that ends it. */
        RebalanceRun *r = TAKE_PTR(m->rebalance);
        if (r)
                r->detached = true;
}
