/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The extent pool's I/O engine, its front: the operations of pool.h that
 * are not a file's own job (open and the pool lock, activate, grow,
 * shrink). pool-internal.h lists the other files and what each does. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm-linear.h"
#include "failpoint.h"
#include "log.h"
#include "macro.h"
#include "pool-alloc.h"
#include "pool-discover.h"
#include "pool-internal.h"

/* ---- failpoints ------------------------------------------------------------ */

static const char *const failpoint_names[] = {
        "init-zeroed", "init-copies-pool", "init-copies-home", "init-geometry-pool", "init-geometry-home",
        "init-gpt-type",
        "grow-allocated", "grow-commit-pool", "grow-commit-home", "grow-reloaded", "grow-fs",
        "shrink-fs", "shrink-reloaded", "shrink-commit-pool", "shrink-commit-home",
        "release-staged", "release-gpt", "release-kernel", "release-commit-home",
        "create-allocated", "create-commit-pool", "create-commit-home", "create-activated",
        "remove-deactivated", "remove-commit-pool", "remove-commit-home",
        "rewrite-commit-pool", "rewrite-commit-home",
        NULL,
};

const char *const *pool_failpoint_names(void) {
        return failpoint_names;
}

void pool_failpoint(const char *name) {
        failpoint(name);
}

/* ---- small helpers ------------------------------------------------------- */

int pool_random_uuid(uint8_t u[16]) {
        if (getrandom(u, 16, 0) != 16)
                return negative_errno();
        u[6] = (uint8_t) ((u[6] & 0x0f) | 0x40);
        u[8] = (uint8_t) ((u[8] & 0x3f) | 0x80);
        return 0;
}

int pool_lock_take(void) {
        (void) mkdir(POOL_LOCK_DIR, 0755);
        int fd = open(POOL_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return log_error_errno(errno, "pool: cannot open the lock %s: %m", POOL_LOCK_PATH);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno != EINTR) {
                        int r = log_error_errno(errno, "pool: cannot take the lock %s: %m", POOL_LOCK_PATH);
                        close(fd);
                        return r;
                }
        }
        return fd;
}

char *pool_dm_name(const char *volume, char buf[static 64]) {
        snprintf(buf, 64, POOL_DM_PREFIX "%s", volume);
        return buf;
}

Pool *pool_free(Pool *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_devs; i++)
                pool_device_done(&p->devs[i]);
        pool_metadata_free(p->md);
        free(p->md_error);
        if (p->lock_fd >= 0)
                close(p->lock_fd);
        free(p);
        return NULL;
}

static void pool_set_error(Pool *p, int r, const char *fmt, ...) _printf_(3, 4);
static void pool_set_error(Pool *p, int r, const char *fmt, ...) {
        va_list ap;
        free(p->md_error);
        p->md_error = NULL;
        va_start(ap, fmt);
        if (vasprintf(&p->md_error, fmt, ap) < 0)
                p->md_error = NULL;
        va_end(ap);
        p->md_errno = r;
}

/* What POOL_ID_FILE and POOL_PVS_FILE record; errors are logged. */
static int record_load(PoolRecord *rec) {
        *rec = (PoolRecord) { .path = pool_id_file(), .pvs_path = pool_pvs_file() };
        int r = pool_id_read(rec->path, rec->uuid);
        if (r <= 0)
                return r;
        rec->has_uuid = true;
        r = pool_pvs_read(rec);
        if (r < 0)
                rec->has_uuid = false;
        return r < 0 ? r : 0;
}

int pool_open(char *const *devices, bool allow_bad_metadata, Pool **ret) {
        _cleanup_strv_free_ char **found = NULL;
        bool scanned = !devices;
        int r;

        Pool *p = calloc(1, sizeof *p);
        if (!p)
                return log_oom();
        _cleanup_pool_ Pool *pool = p;
        p->lock_fd = -1;
        p->md_from = -1;
        for (size_t i = 0; i < POOL_PVS_MAX; i++) {
                p->devs[i].fd = -1;
                p->pv_dev[i] = -1;
        }
        p->lock_fd = pool_lock_take();
        if (p->lock_fd < 0)
                return p->lock_fd;

        r = record_load(&p->rec);
        if (!devices) {
                PoolDiscovery disc;
                if (r < 0)
                        return r;
                r = pool_find_devices(&p->rec, &found, &disc);
                if (r < 0)
                        return r;
                p->adopted = disc.adopted;
                devices = found;
        }
        /* Named devices need no record; an unreadable one is then only
         * not rewritten (logged above). */
        for (size_t i = 0; devices[i]; i++) {
                if (p->n_devs >= POOL_PVS_MAX)
                        return log_error_errno(E2BIG, "pool: more than %u physical volumes given", POOL_PVS_MAX);
                PoolDevice *d = &p->devs[p->n_devs++];
                r = pool_device_open(devices[i], O_RDWR, d);
                if (r < 0)
                        return r;
                if (!d->geometry_ok) {
                        if (scanned) {
                                log_warning("pool PV %s: ignored: %s", d->path, d->geometry_error ?: "no geometry");
                                pool_device_done(d);
                                p->n_devs--;
                                continue;
                        }
                        return log_error_errno(ENOMEDIUM, "pool PV %s: not a Hearth physical volume: %s", d->path,
                                               d->geometry_error ?: "no geometry");
                }
                for (size_t j = 0; j + 1 < p->n_devs; j++) {
                        if (p->devs[j].devnum == d->devnum)
                                return log_error_errno(EINVAL, "pool PV %s: given twice", d->path);
                        if (memcmp(p->devs[j].geometry.pool_uuid, d->geometry.pool_uuid, 16) != 0) {
                                char a[37], b[37];
                                return log_error_errno(EXDEV, "pool: %s belongs to pool %s, %s to pool %s; name one pool's devices with --devices",
                                                       p->devs[j].path, pool_uuid_to_string(p->devs[j].geometry.pool_uuid, a),
                                                       d->path, pool_uuid_to_string(d->geometry.pool_uuid, b));
                        }
                }
        }
        if (p->n_devs == 0)
                return log_error_errno(ENODEV, "pool: no physical volume found");

        /* The newest valid copy over all PVs. */
        for (size_t i = 0; i < p->n_devs; i++) {
                PoolDevice *d = &p->devs[i];
                if (!d->metadata_ok)
                        continue;
                if (p->md_from < 0 || d->md->seq > p->devs[p->md_from].md->seq)
                        p->md_from = (int) i;
                else if (d->md->seq == p->devs[p->md_from].md->seq && !pool_metadata_equal(d->md, p->devs[p->md_from].md)) {
                        pool_set_error(p, -EBADMSG, "%s and %s both hold metadata sequence %" PRIu64 " with different content",
                                       p->devs[p->md_from].path, d->path, d->md->seq);
                        p->md_from = -1;
                        goto bad;
                }
        }
        if (p->md_from < 0) {
                size_t len = 0;
                char msg[2048] = "no valid metadata copy on any physical volume";
                for (size_t i = 0; i < p->n_devs; i++) {
                        len = strlen(msg);
                        snprintf(msg + len, sizeof msg - len, "; %s: %s", p->devs[i].path,
                                 p->devs[i].metadata_error ?: "no metadata read");
                }
                pool_set_error(p, -EBADMSG, "%s", msg);
                goto bad;
        }
        r = pool_metadata_dup(p->devs[p->md_from].md, &p->md);
        if (r < 0)
                return log_oom();
        {
                PoolGeometry found_g[POOL_PVS_MAX];
                _cleanup_free_ char *err = NULL;
                for (size_t i = 0; i < p->n_devs; i++)
                        found_g[i] = p->devs[i].geometry;
                r = pool_metadata_check_pvs(p->md, found_g, p->n_devs, &err);
                if (r < 0) {
                        pool_set_error(p, r, "%s", err ?: strerror(-r));
                        goto bad;
                }
        }
        for (size_t i = 0; i < p->n_devs; i++)
                p->pv_dev[p->devs[i].geometry.pv_index] = (int) i;
        *ret = TAKE_PTR(pool);
        return 0;

bad:
        p->md = pool_metadata_free(p->md);
        if (!allow_bad_metadata)
                return log_error_errno(p->md_errno, "pool: refusing to use the pool: %s", p->md_error);
        *ret = TAKE_PTR(pool);
        return 0;
}

int pool_need_md(Pool *p) {
        if (p->md)
                return 0;
        return log_error_errno(p->md_errno ?: EBADMSG, "pool: refusing to use the pool: %s", p->md_error ?: "no metadata");
}

uint32_t pool_sector_size(const Pool *p) {
        uint32_t s = 512;
        for (size_t i = 0; i < p->n_devs; i++)
                if (p->devs[i].sector_size > s)
                        s = p->devs[i].sector_size;
        return s;
}

PoolDevice *pool_dev(Pool *p, uint32_t pv) {
        return pv < POOL_PVS_MAX && p->pv_dev[pv] >= 0 ? &p->devs[p->pv_dev[pv]] : NULL;
}

/* After an activate: the pool it brought up is this machine's, so its
 * UUID (when none was recorded: a machine set up before the record
 * existed, or whose record was lost) and where its PVs sit (when that is
 * not what is recorded: a pool made before the identities were recorded,
 * or PVs named with --devices after their GUIDs changed) are recorded:
 * from then on a stranger cannot take their place. Another pool named
 * with --devices changes nothing. */
int pool_record(Pool *p) {
        PoolRecord now = { .path = pool_id_file(), .pvs_path = pool_pvs_file(), .has_uuid = true };
        char u[37];
        int r;

        if (!p->md || !(p->adopted || (p->rec.has_uuid && memcmp(p->rec.uuid, p->md->pool_uuid, 16) == 0)))
                return 0;
        memcpy(now.uuid, p->md->pool_uuid, 16);
        for (size_t i = 0; i < p->n_devs; i++) {
                bool loop, removable;
                r = pool_device_identity(p->devs[i].devnum, &p->devs[i].part, &now.pv[now.n_pvs], &loop, &removable);
                if (r < 0)
                        return r;
                now.pv_index[now.n_pvs++] = p->devs[i].geometry.pv_index;
        }
        if (p->adopted) {
                r = pool_id_write(now.path, now.uuid);
                if (r < 0)
                        return r;
                log_notice("pool: recorded pool %s in %s as this machine's pool", pool_uuid_to_string(now.uuid, u), now.path);
                p->adopted = false;
        }
        if (pool_record_pvs_equal(&p->rec, &now))
                return 0;
        r = pool_pvs_write(&now);
        if (r < 0)
                return r;
        log_notice("pool: recorded where the physical volumes of pool %s sit in %s", pool_uuid_to_string(now.uuid, u),
                   now.pvs_path);
        p->rec = now;
        return 0;
}

int pool_activate(Pool *p) {
        int r, ret = 0;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->md->n_volumes; i++) {
                r = pool_dm_apply(p, p->md, &p->md->volumes[i], true, NULL);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        if (ret == 0)
                (void) pool_record(p);
        return ret;
}

/* ---- grow / shrink ------------------------------------------------------------- */

int pool_dm_dev(const char *volume, bool *ret_active, dev_t *ret_dev) {
        DmLinearInfo info;
        char name[64];
        int r = dm_linear_info(pool_dm_name(volume, name), &info);
        if (r < 0)
                return r;
        *ret_active = info.exists && info.has_live_table;
        *ret_dev = info.dev;
        return 0;
}

int pool_grow(Pool *p, const char *volume, uint64_t size, bool relative) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        bool active;
        dev_t dev;
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool volume %s: no such volume", volume);
        uint64_t esb = p->md->extent_size * 512, cur = pool_volume_extents(v), add;
        if (relative)
                add = div_round_up(size, esb);
        else {
                uint64_t target = div_round_up(size, esb);
                if (target < cur)
                        return log_error_errno(EINVAL, "pool volume %s: already %" PRIu64 " bytes, more than %" PRIu64 "; use shrink",
                                               volume, cur * esb, size);
                add = target - cur;
        }
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        if (add > 0) {
                r = pool_volume_grow(md, volume, add);
                if (r < 0)
                        return r; /* logged by the allocator */
                pool_failpoint("grow-allocated");
                r = pool_commit_next(p, md, "grow");
                if (r < 0)
                        return r;
        }
        r = pool_dm_dev(volume, &active, &dev);
        if (r < 0)
                return r;
        if (!active) {
                log_info("pool volume %s: now %" PRIu64 " extents; not active, the device gets them at activation",
                         volume, cur + add);
                return 0;
        }
        v = pool_metadata_find_volume(p->md, volume);
        r = pool_dm_apply(p, p->md, v, false, NULL);
        if (r < 0)
                return r;
        pool_failpoint("grow-reloaded");
        r = pool_fs_grow(volume, dev);
        if (r < 0)
                return r;
        pool_failpoint("grow-fs");
        log_info("pool volume %s: grown by %" PRIu64 " extents to %" PRIu64 " bytes", volume, add, (cur + add) * esb);
        return 0;
}

int pool_shrink(Pool *p, const char *volume, uint64_t size, bool relative) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        _cleanup_free_ DmLinearTarget *want = NULL;
        size_t n_want;
        bool active;
        dev_t dev;
        char name[64];
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool volume %s: no such volume", volume);
        uint64_t esb = p->md->extent_size * 512, cur = pool_volume_extents(v), cut;
        if (relative)
                cut = size / esb;
        else {
                uint64_t target = div_round_up(size, esb);
                if (target > cur)
                        return log_error_errno(EINVAL, "pool volume %s: %" PRIu64 " bytes, less than %" PRIu64 "; use grow",
                                               volume, cur * esb, size);
                cut = cur - target;
        }
        if (cut == 0) {
                log_info("pool volume %s: nothing to shrink (sizes are whole extents of %" PRIu64 " bytes)", volume, esb);
                return 0;
        }
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        r = pool_volume_shrink(md, volume, cut);
        if (r < 0)
                return r;
        r = pool_dm_dev(volume, &active, &dev);
        if (r < 0)
                return r;
        if (!active)
                return log_error_errno(ENXIO, "pool volume %s: not active; activate it so that its filesystem can be shrunk first", volume);
        /* The device must show exactly what the metadata gives it. */
        r = pool_dm_apply(p, p->md, pool_metadata_find_volume(p->md, volume), false, NULL);
        if (r < 0)
                return r;
        r = pool_fs_shrink(volume, dev, (cur - cut) * esb);
        if (r < 0)
                return r;
        pool_failpoint("shrink-fs");
        r = pool_dm_targets(p, md, volume, &want, &n_want);
        if (r < 0)
                return r;
        r = dm_linear_reload(pool_dm_name(volume, name), want, n_want);
        if (r < 0)
                return r;
        pool_failpoint("shrink-reloaded");
        r = pool_commit_next(p, md, "shrink");
        if (r < 0)
                return r;
        log_info("pool volume %s: shrunk by %" PRIu64 " extents to %" PRIu64 " bytes", volume, cut, (cur - cut) * esb);
        return 0;
}
