/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Volumes other than home: create (allocate, commit, build the device, zero
 * its start), remove (device first, then the metadata), activate one, and
 * what a volume and the pool hold. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm-linear.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pool-alloc.h"
#include "pool-internal.h"

int pool_volume_from_device(const char *path, char ret[static POOL_NAME_MAX + 1]) {
        size_t n = strlen(POOL_DEVICE_PREFIX);

        if (!path || strncmp(path, POOL_DEVICE_PREFIX, n) != 0)
                return 0;
        if (!pool_volume_name_valid(path + n))
                return -EINVAL;
        snprintf(ret, POOL_NAME_MAX + 1, "%s", path + n);
        return 1;
}

/* A new volume's extents may hold a removed volume's filesystem or LUKS
 * header: zeroed, so blkid, udev and mkfs see an empty device (LVM's
 * lvcreate does the same). 1 MiB covers the primary signatures of every
 * filesystem Hearth makes and both LUKS2 headers' starts. */
static int volume_zero_start(const char *volume, uint64_t size) {
        char node[128];
        size_t len = size < (1U << 20) ? (size_t) size : (1U << 20);
        int r;

        snprintf(node, sizeof node, POOL_DEVICE_PREFIX "%s", volume);
        _cleanup_close_ int fd = open(node, O_WRONLY | O_EXCL | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "pool volume %s: cannot open %s to clear its start: %m", volume, node);
        _cleanup_free_ uint8_t *zero = calloc(1, len);
        if (!zero)
                return log_oom();
        r = pwrite_full(fd, zero, len, 0);
        if (r >= 0 && fdatasync(fd) < 0)
                r = negative_errno();
        if (r < 0)
                return log_error_errno(r, "pool volume %s: cannot clear its first %zu bytes: %m", volume, len);
        return 0;
}

int pool_volume_create_full(Pool *p, const char *volume, uint64_t size, uint32_t flags) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        DmLinearInfo info;
        uint8_t uuid[16];
        char name[64];
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        if (strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EINVAL, "pool volume home: made by init over the home partition; it cannot be created");
        if (!pool_volume_name_valid_new(volume))
                return log_error_errno(EINVAL, "pool volume %.40s: invalid name (1-%u characters of a-z 0-9 _ -, not starting with -)",
                                       volume, POOL_NAME_MAX);
        if (size == 0)
                return log_error_errno(EINVAL, "pool volume %s: a size of at least one byte (rounded up to an extent) is needed", volume);
        if (pool_metadata_find_volume(p->md, volume))
                return log_error_errno(EEXIST, "pool volume %s: already exists", volume);
        /* Checked before anything is written: a device of that name that the
         * metadata does not know would make the new volume unactivatable. */
        r = dm_linear_info(pool_dm_name(volume, name), &info);
        if (r < 0)
                return r;
        if (info.exists)
                return log_error_errno(EEXIST, "pool volume %s: /dev/mapper/%s exists but the metadata has no such volume; "
                                       "remove that device first", volume, name);

        uint64_t esb = p->md->extent_size * 512, extents = div_round_up(size, esb);
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        r = pool_random_uuid(uuid);
        if (r < 0)
                return log_error_errno(r, "pool volume %s: cannot get random bytes: %m", volume);
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        r = pool_volume_add(md, volume, uuid, flags, extents);
        if (r < 0)
                return r; /* logged by the allocator */
        pool_failpoint("create-allocated");
        r = pool_commit_next(p, md, "create");
        if (r < 0)
                return r;
        /* From here on the volume exists: a failure leaves it for activate. */
        r = pool_dm_apply(p, p->md, pool_metadata_find_volume(p->md, volume), true, NULL);
        if (r >= 0)
                r = volume_zero_start(volume, extents * esb);
        if (r < 0)
                return log_error_errno(r, "pool volume %s: created in the metadata, but its device is not ready; "
                                       "hearth-pool activate brings it up: %m", volume);
        pool_failpoint("create-activated");
        log_info("pool volume %s: created with %" PRIu64 " extents (%" PRIu64 " bytes) as %s%s", volume, extents,
                 extents * esb, POOL_DEVICE_PREFIX, volume);
        return 0;
}

/* udev's probe opens a device for a moment after each event. */
static int volume_wait_closed(const char *name, DmLinearInfo *info) {
        int r;
        for (int i = 0; i < 10 && info->exists && info->open_count > 0; i++) {
                usleep(100 * 1000);
                r = dm_linear_info(name, info);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pool_volume_remove(Pool *p, const char *volume) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        DmLinearInfo info;
        char name[64];
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        if (strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EPERM, "pool volume home: cannot be removed: it is /home, on the home partition");
        if (!pool_volume_name_valid(volume) || !pool_metadata_find_volume(p->md, volume))
                return log_error_errno(ENOENT, "pool volume %.40s: no such volume", volume);
        r = dm_linear_info(pool_dm_name(volume, name), &info);
        if (r >= 0)
                r = volume_wait_closed(name, &info);
        if (r < 0)
                return r;
        if (info.exists && info.open_count > 0)
                return log_error_errno(EBUSY, "pool volume %s: in use (/dev/mapper/%s is open %d time%s: mounted, or a LUKS "
                                       "mapping on it); close it first", volume, name, info.open_count,
                                       info.open_count == 1 ? "" : "s");
        r = pool_rewrite_stale(p);
        if (r < 0)
                return r;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        r = pool_volume_drop(md, volume);
        if (r < 0)
                return r;
        /* The device goes first: extents that are free in the metadata are
         * never mapped. A crash before the commit leaves the volume in the
         * metadata, inactive; remove runs again. */
        if (info.exists) {
                r = dm_linear_remove(name);
                if (r == -EBUSY)
                        return log_error_errno(EBUSY, "pool volume %s: in use (/dev/mapper/%s was opened meanwhile); close it first",
                                               volume, name);
                if (r < 0 && r != -ENODEV)
                        return r;
        }
        pool_failpoint("remove-deactivated");
        r = pool_commit_next(p, md, "remove");
        if (r < 0)
                return r;
        log_info("pool volume %s: removed; its extents are free", volume);
        return 0;
}

int pool_volume_activate(Pool *p, const char *volume) {
        int r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool volume %.40s: no such volume", volume);
        return pool_dm_apply(p, p->md, v, true, NULL);
}

int pool_volume_info(Pool *p, const char *volume, PoolVolumeInfo *ret) {
        uint64_t free_ext = 0;
        bool active;
        dev_t dev;
        int r;

        r = pool_need_md(p);
        if (r < 0)
                return r;
        const PoolVolume *v = pool_metadata_find_volume(p->md, volume);
        if (!v)
                return -ENOENT;
        r = pool_free_extents(p->md, &free_ext);
        if (r < 0)
                return log_error_errno(r, "pool: cannot compute the free extents: %m");
        r = pool_dm_dev(volume, &active, &dev);
        if (r < 0)
                return r;
        uint64_t esb = p->md->extent_size * 512;
        *ret = (PoolVolumeInfo) {
                .size = pool_volume_extents(v) * esb,
                .extent_size = esb,
                .free = free_ext * esb,
                .flags = v->flags,
                .active = active,
        };
        return 0;
}

int pool_free_space(Pool *p, uint64_t *ret_free, uint64_t *ret_extent_size) {
        uint64_t free_ext = 0;
        int r = pool_need_md(p);
        if (r < 0)
                return r;
        r = pool_free_extents(p->md, &free_ext);
        if (r < 0)
                return log_error_errno(r, "pool: cannot compute the free extents: %m");
        *ret_free = free_ext * p->md->extent_size * 512;
        *ret_extent_size = p->md->extent_size * 512;
        return 0;
}
