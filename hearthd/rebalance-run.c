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
#include "bus-error.h"
#include "bus-names.h"
#include "bus-pool.h"
#include "bus-util.h"
#include "fileio.h"
#include "home-dm.h"
#include "log.h"
#include "macro.h"
#include "managed-home.h"
#include "manager.h"
#include "mountinfo.h"
#include "operation.h"
#include "pool.h"
#include "pool-tool.h"
#include "rebalance-run.h"
#include "size.h"

/* What lies around the file system in an image: the GPT (2 MiB) and the
 * LUKS2 header (16 MiB as Hearth makes it); for the floor only. */
#define IMAGE_OVERHEAD (UINT64_C(18) << 20)

/* In the runtime directory while a step runs: "<user> <bytes>\n", the
 * resize asked for. A hearthd killed mid-step (its worker with it) finds
 * it at its next start and asks for the same size again, which finishes
 * whatever of the step was done (storage/luks-resize.c: each step of a
 * grow or shrink is a no-op where it is done already) before the record
 * says the new size. Gone with the mappings at a reboot. */
#define STEP_FILE "rebalance-step"
#define STEP_FILE_MAX 128

/* The spaces homes share: the home root's file system (images and
 * subvolume quotas), and the extent pool's free extents (pool volumes). */
typedef enum Space {
        SPACE_ROOT,
        SPACE_POOL,
        _SPACE_MAX,
} Space;

typedef struct Step {
        char *name;
        uint64_t size, from;
        bool shrink;
        Space space;
} Step;

struct RebalanceRun {
        Manager *m;
        sd_bus_message *msg; /* Rebalance(), or NULL for the periodic run */
        Step *steps;
        size_t n, next;
        unsigned failed;
        bool shrink_failed[_SPACE_MAX]; /* a grow counts on its space's shrinks */
        bool detached; /* hearthd exits: the step in flight (or the pool's status) ends it, touching nothing else */
};

/* The extent pool as hearth-pool status --json tells it (hearthd itself
 * never reads the pool's disks). */
typedef struct PoolView {
        json_object *status;
        uint64_t extent_size, free_bytes, size;
} PoolView;

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

static json_object *jget(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static uint64_t jnum(json_object *o, const char *key) {
        json_object *v = jget(o, key);
        return v && json_object_is_type(v, json_type_int) ? (uint64_t) json_object_get_uint64(v) : 0;
}

static bool jtrue(json_object *o, const char *key) {
        json_object *v = jget(o, key);
        return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* The pool volume a LUKS home lives on (imagePath
 * /dev/mapper/hearth-pool-<volume>, not /home's own volume), or NULL. */
static const char *home_pool_volume(const ManagedHome *h) {
        const char *p = h->record->image_path;
        if (h->record->storage != USER_STORAGE_LUKS || !p || strncmp(p, POOL_DEVICE_PREFIX, strlen(POOL_DEVICE_PREFIX)) != 0)
                return NULL;
        const char *v = p + strlen(POOL_DEVICE_PREFIX);
        size_t n = strlen(v);
        if (n == 0 || n > POOL_NAME_MAX || v[0] == '-' || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n ||
            strcmp(v, POOL_HOME_VOLUME) == 0)
                return NULL;
        return v;
}

static int pool_view_parse(const char *json, PoolView *ret) {
        json_object *st = json_tokener_parse(json), *pvs = jget(st, "pvs");
        *ret = (PoolView) { .status = st, .extent_size = jnum(st, "extent_size"), .free_bytes = jnum(st, "free_bytes") };
        if (!st || !jtrue(st, "valid") || ret->extent_size == 0 || !pvs || !json_object_is_type(pvs, json_type_array))
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(pvs); i++) {
                uint64_t e = jnum(json_object_array_get_idx(pvs, i), "extent_count");
                if (e > UINT64_MAX / ret->extent_size || ret->size > UINT64_MAX - e * ret->extent_size)
                        return -EBADMSG;
                ret->size += e * ret->extent_size;
        }
        return 0;
}

/* The volume's entry in the pool's status, if it is a LUKS volume mapped now. */
static json_object *pool_view_volume(const PoolView *p, const char *volume) {
        json_object *vols = jget(p->status, "volumes");
        for (size_t i = 0; vols && json_object_is_type(vols, json_type_array) && i < json_object_array_length(vols); i++) {
                json_object *v = json_object_array_get_idx(vols, i), *name = jget(v, "name");
                if (name && json_object_is_type(name, json_type_string) && strcmp(json_object_get_string(name), volume) == 0)
                        return jtrue(v, "luks") && jtrue(v, "active") ? v : NULL;
        }
        return NULL;
}

/* A LUKS home takes part if it is active, unlocked and has nothing running
 * or waiting on it, and its weight is not 0. */
static bool luks_home_ready(const ManagedHome *h) {
        return h->record->storage == USER_STORAGE_LUKS && h->state == HOME_ACTIVE && !h->running && !h->queue &&
               user_record_rebalance_weight(h->record) != 0;
}

/* How the home's own file system stands, seen through its mount: its size
 * and what it uses. */
static bool home_fs_measure(ManagedHome *h, uint64_t *ret_size, uint64_t *ret_used) {
        char dirbuf[PATH_MAX];
        struct statvfs sv;
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
        *ret_size = (uint64_t) sv.f_blocks * sv.f_frsize;
        *ret_used = (uint64_t) (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
        return true;
}

/* A LUKS home on a pool volume: the volume holds LUKS2 directly (no GPT),
 * all of it allocated; its size is whole extents. */
static bool measure_pool(ManagedHome *h, const PoolView *pool, RebalanceHome *out) {
        const char *volume = home_pool_volume(h);
        uint64_t fs_size, fs_used;

        if (!volume || !pool || !luks_home_ready(h))
                return false;
        json_object *v = pool_view_volume(pool, volume);
        if (!v) {
                log_warning("home %s: rebalancing: pool volume %s is not an active LUKS volume of the pool; left out",
                            h->name, volume);
                return false;
        }
        uint64_t size = jnum(v, "size");
        if (size == 0 || size % pool->extent_size != 0 || !home_fs_measure(h, &fs_size, &fs_used))
                return false;
        uint64_t overhead = size > fs_size ? size - fs_size : 0;
        *out = (RebalanceHome) {
                .name = h->name,
                .weight = user_record_rebalance_weight(h->record),
                .size = size,
                .allocated = size,
                .used = fs_used + overhead,
                .floor = fs_min(h->record->file_system_type) + IMAGE_OVERHEAD,
                .can_shrink = !h->record->file_system_type || strcmp(h->record->file_system_type, "btrfs") == 0,
                .idle = !home_refs_any(&h->refs),
        };
        return true;
}

/* Whether h takes part, and how it stands (into *out, name borrowed). */
static bool measure(Manager *m, ManagedHome *h, dev_t root_dev, uint64_t root_size, bool *subvolumes_busy,
                    RebalanceHome *out) {
        char path[PATH_MAX];
        struct stat st;
        uint64_t fs_size, fs_used;
        const UserRecord *rec = h->record;

        if (rec->storage == USER_STORAGE_SUBVOLUME)
                return measure_subvolume(m, h, root_size, subvolumes_busy, out);
        if (!luks_home_ready(h))
                return false;
        /* A device, a pool volume or an image elsewhere is not in the
         * shared file system (or not ours to size). */
        if (snprintf(path, sizeof path, "%s/%s.home", m->home_root, h->name) >= (int) sizeof path)
                return false;
        if (rec->image_path && strcmp(rec->image_path, path) != 0)
                return false;
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != root_dev)
                return false;
        if (!home_fs_measure(h, &fs_size, &fs_used))
                return false;
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

static int step_file_path(Manager *m, char path[static PATH_MAX]) {
        return snprintf(path, PATH_MAX, "%s/" STEP_FILE, m->runtime_dir) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int step_file_write(Manager *m, const Step *s) {
        char path[PATH_MAX], text[STEP_FILE_MAX];
        int r = step_file_path(m, path);
        if (r < 0)
                return r;
        int n = snprintf(text, sizeof text, "%s %" PRIu64 "\n", s->name, s->size);
        if (n < 0 || n >= (int) sizeof text)
                return -ENAMETOOLONG;
        r = write_file_atomic(path, text, (size_t) n, 0600, 0);
        if (r < 0)
                return log_error_errno(r, "home %s: rebalancing: cannot note the step in %s; not resized: %m", s->name,
                                       path);
        return 0;
}

static void step_file_remove(Manager *m) {
        char path[PATH_MAX];
        if (step_file_path(m, path) >= 0 && unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "rebalancing: cannot remove %s: %m", path);
}

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
        /* Ended, either way: the worker's own checks tell a failed resize. */
        step_file_remove(r->m);
        if (r->detached) {
                run_free(r);
                return;
        }
        Step *s = &r->steps[r->next - 1];
        if (error) {
                log_warning("home %s: rebalancing to %" PRIu64 " bytes failed: %s", s->name, s->size,
                            error->message ?: error->name);
                r->failed++;
                r->shrink_failed[s->space] = r->shrink_failed[s->space] || s->shrink;
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
                if (!s->shrink && r->shrink_failed[s->space]) {
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
                if (step_file_write(r->m, s) < 0) {
                        operation_free(op);
                        r->failed++;
                        r->shrink_failed[s->space] = r->shrink_failed[s->space] || s->shrink;
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

/* The steps of one space's plan, idle homes' shrinks first (the order of
 * homes[] otherwise). */
static int add_steps(RebalanceRun *r, const RebalanceHome *homes, size_t n, Space space) {
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++) {
                        const RebalanceHome *h = &homes[i];
                        if (h->new_size == h->size || h->idle != (pass == 0))
                                continue;
                        Step *s = &r->steps[r->n];
                        s->name = strdup(h->name);
                        if (!s->name)
                                return log_oom();
                        s->size = h->new_size;
                        s->from = h->size;
                        s->shrink = h->new_size < h->size;
                        s->space = space;
                        r->n++;
                }
        return 0;
}

/* Measures, plans and starts, with the pool's status when pool homes take
 * part (NULL: no pool, or none); the run ends in finish(). */
static int rebalance_plan_and_run(RebalanceRun *r, const PoolView *pool) {
        Manager *m = r->m;
        _cleanup_free_ RebalanceHome *homes = NULL, *pool_homes = NULL;
        struct statvfs sv;
        struct stat st;
        size_t n = 0, np = 0;

        if (stat(m->home_root, &st) < 0 || statvfs(m->home_root, &sv) < 0) {
                int e = log_error_errno(errno, "rebalancing: cannot look at %s: %m", m->home_root);
                run_free(r);
                return e;
        }
        homes = calloc(m->n_homes ? m->n_homes : 1, sizeof *homes);
        pool_homes = calloc(m->n_homes ? m->n_homes : 1, sizeof *pool_homes);
        if (!homes || !pool_homes) {
                run_free(r);
                return log_oom();
        }
        uint64_t fs_size = (uint64_t) sv.f_blocks * sv.f_frsize, fs_free = (uint64_t) sv.f_bavail * sv.f_frsize;
        bool subvolumes_busy = false;
        subvolume_counts_check(m, &subvolumes_busy);
        for (size_t i = 0; i < m->n_homes; i++) {
                if (home_pool_volume(m->homes[i])) {
                        if (measure_pool(m->homes[i], pool, &pool_homes[np]))
                                np++;
                } else if (measure(m, m->homes[i], st.st_dev, fs_size, &subvolumes_busy, &homes[n]))
                        n++;
        }
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
        if (np > 0) {
                RebalanceSpace space = {
                        .free = pool->free_bytes,
                        .keep = rebalance_pool_keep_free(&m->rebalance_config, pool->size),
                        .unit = pool->extent_size,
                };
                changes += rebalance_plan_space(&m->rebalance_config, pool_homes, np, &space);
        }
        r->steps = calloc(changes ? changes : 1, sizeof *r->steps);
        if (!r->steps || add_steps(r, homes, n, SPACE_ROOT) < 0 || add_steps(r, pool_homes, np, SPACE_POOL) < 0) {
                run_free(r);
                return log_oom();
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
        log_debug("rebalancing: %zu home(s) take part, %zu change; %s free of %s on %s", n + np, r->n,
                  size_format(fs_free, a), size_format(fs_size, b), m->home_root);
        if (np > 0)
                log_debug("rebalancing: %zu home(s) on pool volumes, %s free in the pool",
                          np, size_format(pool->free_bytes, a));
        m->rebalance = r;
        run_next(r);
        return 0;
}

/* The pool's status arrived (error: none, or hearth-pool failed): plan. */
static void pool_status_done(RebalanceRun *r, const sd_bus_error *error, const char *output) {
        PoolView pool = {};
        if (r->detached) {
                run_free(r);
                return;
        }
        if (r->m->rebalance == r)
                r->m->rebalance = NULL;
        int e = error ? -EIO : pool_view_parse(output, &pool);
        if (e < 0)
                log_warning("rebalancing: the extent pool's status is unknown (%s); homes on pool volumes are left out",
                            error ? error->message ?: error->name : "hearth-pool printed no usable status");
        /* r is gone when planning fails: the call is answered here. */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = sd_bus_message_ref(r->msg);
        e = rebalance_plan_and_run(r, e < 0 ? NULL : &pool);
        json_object_put(pool.status);
        if (e < 0 && msg)
                (void) sd_bus_reply_method_errno(msg, e, NULL);
}

static void on_pool_status(PoolService *s, Operation *op, const sd_bus_error *error, const char *output) {
        op->done = NULL; /* answered here: operation_free() does not call it again */
        pool_status_done(op->done_userdata, error, output);
}

/* The pool's queue failed the call without running it (full, stopping). */
static void on_pool_status_failed(Operation *op, const sd_bus_error *error, void *userdata) {
        pool_status_done(userdata, error, "");
}

/* Starts a run: at once, or once the pool's status is read when a home
 * on a pool volume could take part. */
static int rebalance_start(Manager *m, sd_bus_message *msg) {
        RebalanceRun *r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        r->m = m;
        r->msg = msg ? sd_bus_message_ref(msg) : NULL;

        bool pool_homes = false;
        for (size_t i = 0; i < m->n_homes; i++)
                pool_homes = pool_homes || (home_pool_volume(m->homes[i]) && luks_home_ready(m->homes[i]));
        if (!pool_homes || !m->pool)
                return rebalance_plan_and_run(r, NULL);

        Operation *op = operation_new(OP_POOL, NULL, NULL);
        char **argv = calloc(3, sizeof *argv);
        if (!op || !argv || !(argv[0] = strdup(POOL_TOOL_STATUS)) || !(argv[1] = strdup(POOL_TOOL_OPT_JSON))) {
                strv_free(argv);
                operation_free(op);
                run_free(r);
                return log_oom();
        }
        op->pool_method = POOL_METHOD_STATUS;
        op->pool_argv = argv;
        op->pool_done = on_pool_status;
        op->done = on_pool_status_failed;
        op->done_userdata = r;
        /* Taken: no second run starts while the status is read. */
        m->rebalance = r;
        pool_service_enqueue(m->pool, op);
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

/* A step a killed hearthd left (STEP_FILE): run to the same size again,
 * as a run of its own, before any other. */
static void rebalance_resume(Manager *m) {
        char path[PATH_MAX], name[USER_NAME_MAX + 1];
        _cleanup_free_ char *text = NULL;
        uint64_t size;
        size_t len;

        if (step_file_path(m, path) < 0)
                return;
        int r = read_file_bounded(path, STEP_FILE_MAX, &text, &len);
        if (r == -ENOENT)
                return;
        ManagedHome *h = NULL;
        if (r >= 0) {
                char *sp = strchr(text, ' '), *end;
                if (sp && (size_t) (sp - text) <= USER_NAME_MAX) {
                        memcpy(name, text, (size_t) (sp - text));
                        name[sp - text] = 0;
                        errno = 0;
                        size = strtoull(sp + 1, &end, 10);
                        if (errno == 0 && end != sp + 1 && *end == '\n' && end[1] == 0 && size > 0 &&
                            size < HEARTH_SIZE_MAX)
                                h = manager_find_by_name(m, name);
                }
        }
        if (!h) {
                log_warning("rebalancing: %s names no home and size; ignored", path);
                step_file_remove(m);
                return;
        }
        if (h->state != HOME_ACTIVE) {
                /* Deactivated since, or dirty: its next resize or activation
                 * sees the sizes as they are. */
                log_warning("home %s: a rebalancing step to %" PRIu64 " bytes was cut short; the home is not active, "
                            "so it is not finished now", h->name, size);
                step_file_remove(m);
                return;
        }
        RebalanceRun *run = calloc(1, sizeof *run);
        Step *s = calloc(1, sizeof *s);
        if (!run || !s || !(s->name = strdup(h->name))) {
                free(s);
                free(run);
                log_oom();
                return;
        }
        log_warning("home %s: a rebalancing step to %" PRIu64 " bytes was cut short (hearthd was killed); finishing it",
                    h->name, size);
        s->size = s->from = size;
        run->m = m;
        run->steps = s;
        run->n = 1;
        m->rebalance = run;
        run_next(run);
}

int manager_start_rebalance(Manager *m) {
        uint64_t now;
        int r;

        rebalance_resume(m);

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
