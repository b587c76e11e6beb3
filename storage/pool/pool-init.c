/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pool_init: places a new pool on two partitions (docs/POOL-FORMAT.md
 * "Placing a pool"), refusing devices that hold anything unless forced. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <blkid/blkid.h>

#include "dlopen-blkid.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pool-discover.h"
#include "pool-internal.h"

static int refuse_if_used(const char *path, int fd, bool force) {
        PoolGeometry g;
        const char *t = NULL, *what = "filesystem";

        if (pool_geometry_probe(fd, 0, &g) > 0) {
                char u[37];
                if (!force)
                        return log_error_errno(EEXIST, "pool PV %s: already a physical volume of pool %s (use --force to overwrite)",
                                               path, pool_uuid_to_string(g.pool_uuid, u));
                log_warning("pool PV %s: overwriting a physical volume of pool %s", path, pool_uuid_to_string(g.pool_uuid, u));
                return 0;
        }
        int r = dlopen_blkid();
        if (r < 0)
                return r;
        blkid_probe pr = sym_blkid_new_probe();
        if (!pr)
                return log_oom();
        if (sym_blkid_probe_set_device(pr, fd, 0, 0) < 0) {
                sym_blkid_free_probe(pr);
                return log_error_errno(EIO, "pool PV %s: cannot probe for signatures", path);
        }
        sym_blkid_probe_enable_superblocks(pr, 1);
        sym_blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
        sym_blkid_probe_enable_partitions(pr, 1);
        r = sym_blkid_do_safeprobe(pr);
        if (r == 0) {
                if (sym_blkid_probe_lookup_value(pr, "TYPE", &t, NULL) < 0) {
                        t = NULL;
                        if (sym_blkid_probe_lookup_value(pr, "PTTYPE", &t, NULL) >= 0)
                                what = "partition table";
                }
        }
        char type[64];
        snprintf(type, sizeof type, "%s", t ?: (r == -2 ? "ambiguous signatures" : ""));
        sym_blkid_free_probe(pr);
        if (r < 0 && r != -2)
                return log_error_errno(EIO, "pool PV %s: probing for signatures failed", path);
        if (type[0]) {
                if (!force)
                        return log_error_errno(EEXIST, "pool PV %s: holds a %s %s (use --force to overwrite it)", path, type, what);
                log_warning("pool PV %s: overwriting its %s %s", path, type, what);
        }
        return 0;
}

int pool_init(const char *home_dev, const char *pool_dev, uint64_t extent_size, bool force) {
        _cleanup_close_ int lock = -1;
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        PoolDevice devs[2] = { { .fd = -1 }, { .fd = -1 } }; /* 0 pool, 1 home */
        const char *paths[2] = { pool_dev, home_dev };
        PoolGeometry g[2];
        uint8_t pool_uuid[16], pv_uuid[2][16], vol_uuid[16];
        int r;

        if (extent_size == 0)
                extent_size = POOL_EXTENT_SIZE_DEFAULT * 512;
        if (extent_size % 512 != 0 || extent_size / 512 < POOL_EXTENT_SIZE_MIN || extent_size / 512 > POOL_EXTENT_SIZE_MAX ||
            (extent_size & (extent_size - 1)) != 0)
                return log_error_errno(EINVAL, "pool: extent size %" PRIu64 " is not a power of two between 1M and 16G", extent_size);
        lock = pool_lock_take();
        if (lock < 0)
                return lock;

        for (int i = 0; i < 2; i++) {
                devs[i].path = strdup(paths[i]);
                if (!devs[i].path) {
                        r = log_oom();
                        goto finish;
                }
                /* O_EXCL: refuses a mounted partition or one a dm device holds. */
                r = pool_device_resolve(&devs[i], O_RDWR | O_EXCL);
                if (r == -EBUSY)
                        r = log_error_errno(EBUSY, "pool PV %s: in use (mounted, or held by a device-mapper device)", paths[i]);
                if (r < 0)
                        goto finish;
                if (devs[i].base != 0) {
                        r = log_error_errno(ESTALE, "pool PV %s: the kernel's partition table is stale; re-read it first", paths[i]);
                        goto finish;
                }
        }
        if (devs[0].devnum == devs[1].devnum) {
                r = log_error_errno(EINVAL, "pool: the home and pool partitions are the same device %s", home_dev);
                goto finish;
        }
        for (int i = 0; i < 2; i++) {
                r = refuse_if_used(devs[i].path, devs[i].fd, force);
                if (r < 0)
                        goto finish;
        }
        if ((r = pool_random_uuid(pool_uuid)) < 0 || (r = pool_random_uuid(pv_uuid[0])) < 0 || (r = pool_random_uuid(pv_uuid[1])) < 0 ||
            (r = pool_random_uuid(vol_uuid)) < 0) {
                log_error_errno(r, "pool: cannot get random bytes: %m");
                goto finish;
        }
        r = pool_metadata_new(pool_uuid, extent_size / 512, &md);
        if (r < 0) {
                log_error_errno(r, "pool: cannot make the metadata: %m");
                goto finish;
        }
        for (uint32_t i = 0; i < 2; i++) {
                _cleanup_free_ char *err = NULL;
                uint64_t size = devs[i].size / (devs[i].sector_size / 512) * (devs[i].sector_size / 512);
                r = pool_geometry_init(&g[i], pool_uuid, pv_uuid[i], i, devs[i].sector_size, size, extent_size / 512, 0, &err);
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: %s", devs[i].path, err ?: strerror(-r));
                        goto finish;
                }
                if (i == 1 && pool_geometry_extent_count(&g[i]) == 0) {
                        r = log_error_errno(ENOSPC, "pool PV %s: smaller than one extent after the metadata", devs[i].path);
                        goto finish;
                }
                r = pool_metadata_add_pv(md, &g[i], i == 0 ? POOL_PV_POOL : POOL_PV_HOME, i == 1 ? vol_uuid : NULL);
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot add it to the metadata: %m", devs[i].path);
                        goto finish;
                }
        }
        r = pool_metadata_bump_seq(md);
        if (r < 0)
                goto finish;

        /* 0. this machine's pool from now on, and where its PVs sit
         * (pool-discover.h): recorded before any PV is written, so that an
         * init killed after writing them leaves a pool that activate finds,
         * never one it ignores. The PVs first: if only they are written,
         * they name a pool the UUID file does not, and are not used. */
        {
                PoolRecord rec = { .path = pool_id_file(), .pvs_path = pool_pvs_file(), .has_uuid = true, .n_pvs = 2 };
                memcpy(rec.uuid, pool_uuid, 16);
                for (uint32_t i = 0; i < 2; i++) {
                        bool loop, removable;
                        rec.pv_index[i] = i;
                        r = pool_device_identity(devs[i].devnum, &devs[i].part, &rec.pv[i], &loop, &removable);
                        if (r < 0)
                                goto finish;
                        if (loop || removable)
                                log_warning("pool PV %s: %s; a scan ignores it, so name the PVs with --devices",
                                            devs[i].path, loop ? "a loop device" : "on a removable disk");
                }
                r = pool_pvs_write(&rec);
                if (r < 0)
                        goto finish;
                r = pool_id_write(rec.path, pool_uuid);
                if (r < 0)
                        goto finish;
        }
        /* 1. the reserved area: zeroed (old signatures, stale copies). */
        for (int i = 0; i < 2; i++) {
                size_t len = (size_t) (g[i].data_start * 512);
                _cleanup_free_ uint8_t *z = calloc(1, len);
                if (!z) {
                        r = log_oom();
                        goto finish;
                }
                r = pwrite_full(devs[i].fd, z, len, 0);
                if (r >= 0 && fdatasync(devs[i].fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot clear the metadata area: %m", devs[i].path);
                        goto finish;
                }
        }
        pool_failpoint("init-zeroed");
        /* 2. copies A and B, pool PV then home PV. */
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ uint8_t *buf = NULL;
                _cleanup_free_ char *err = NULL;
                size_t c = (size_t) g[i].metadata_copy_size;
                r = pool_metadata_encode(md, c, &buf, &err);
                if (r < 0) {
                        log_error_errno(r, "pool: refusing to write metadata: %s", err ?: strerror(-r));
                        goto finish;
                }
                r = pwrite_full(devs[i].fd, buf, c, g[i].metadata_offset);
                if (r >= 0)
                        r = pwrite_full(devs[i].fd, buf, c, g[i].metadata_offset + c);
                if (r >= 0 && fdatasync(devs[i].fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot write the metadata: %m", devs[i].path);
                        goto finish;
                }
                pool_failpoint(i == 0 ? "init-copies-pool" : "init-copies-home");
        }
        /* 3. geometry last: only now is either device a PV. */
        for (int i = 0; i < 2; i++) {
                uint8_t gb[2 * POOL_GEOMETRY_SIZE];
                pool_geometry_encode(&g[i], gb);
                memcpy(gb + POOL_GEOMETRY_SIZE, gb, POOL_GEOMETRY_SIZE);
                r = pwrite_full(devs[i].fd, gb, sizeof gb, POOL_GEOMETRY_PRIMARY);
                if (r >= 0 && fdatasync(devs[i].fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        log_error_errno(r, "pool PV %s: cannot write the geometry: %m", devs[i].path);
                        goto finish;
                }
                pool_failpoint(i == 0 ? "init-geometry-pool" : "init-geometry-home");
        }
        /* 4. the pool partition's GPT type. */
        if (devs[0].part.in_gpt) {
                r = pool_gpt_set_type("pool init", &devs[0].part, POOL_GPT_TYPE);
                if (r < 0)
                        goto finish;
                pool_failpoint("init-gpt-type");
        } else
                log_notice("pool PV %s: not a GPT partition; its type is left alone", devs[0].path);
        {
                char u[37];
                log_info("pool %s: created; home %s (%" PRIu64 " extents), pool %s (%" PRIu64 " extents) of %" PRIu64 " bytes",
                         pool_uuid_to_string(pool_uuid, u), home_dev, pool_geometry_extent_count(&g[1]), pool_dev,
                         pool_geometry_extent_count(&g[0]), extent_size);
        }
        r = 0;
finish:
        pool_device_done(&devs[0]);
        pool_device_done(&devs[1]);
        return r;
}
