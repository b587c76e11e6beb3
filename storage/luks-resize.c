/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resizing a LUKS home: the container (image file and its GPT partition,
 * or pool volume), the mapping and the filesystem, in the order growing or
 * shrinking needs: growing, the image, the partition (backup table, then
 * primary), the loop device, LUKS, the file system; shrinking, the reverse.
 * Killed anywhere, each layer is at least as large as the one inside it,
 * and one valid partition table remains. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "dlopen-cryptsetup.h"
#include "failpoint.h"
#include "fs.h"
#include "gpt.h"
#include "log.h"
#include "loop.h"
#include "macro.h"
#include "pool.h"
#include "size.h"

#include "luks-internal.h"

/* ---- resize -------------------------------------------------------------------- */

#define ROUND_DOWN_4K(x) ((x) & ~UINT64_C(4095))

/* The image's partition to size bytes, on a disk new_bytes long (read as it
 * is now: cur_bytes). */
static int resize_partition(Home *h, Volume *v, uint64_t cur_bytes, uint64_t new_bytes, uint64_t size) {
        _cleanup_close_ int fd = open(v->image, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, v->image);
        int r = gpt_resize_partition(fd, v->sector_size, cur_bytes, new_bytes, v->part.partno, size / 512);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r == -EOPNOTSUPP)
                return log_error_errno(EOPNOTSUPP, "home %s: another partition lies behind the home's in %s; its size "
                                       "is not Hearth's to change", h->name, v->image);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot resize its partition in %s: %m", h->name, v->image);
        v->part.size = size / 512;
        return 0;
}

/* How the active mapping holds its key: 1 in the kernel keyring (a resize
 * needs the key loaded here, from a secret), 0 in its table (dm-crypt
 * reloads with it: no secret needed), or an error. */
static int mapping_key_in_keyring(Home *h, struct crypt_device *cd, const char *name) {
        struct crypt_active_device cad;
        int r = sym_crypt_get_active_device(cd, name, &cad);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot query /dev/mapper/%s: %m", h->name, name);
        return (cad.flags & CRYPT_ACTIVATE_KEYRING_KEY) != 0;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int luks_resize(Home *h) {
        return luks_resize_opened(h, NULL, LUKS_RESIZE_RECORD);
}

int luks_resize_opened(Home *h, const Opened *known, LuksResizeFlags flags) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_free_ char *mnt = NULL;
        char name[64], mapped[80], a[SIZE_FORMAT_MAX], fstype[16];
        uint64_t want = h->rec->disk_size, current, min, header, pool_free = 0, esb = 0, allocated = 0;
        uint64_t overhead = 0, cur_inner, want_inner;
        bool was_active, opened_here = false, mounted_here = false, on_pool;
        _cleanup_opened_ Opened o = { .slot = -1 };
        const Opened *key = NULL; /* the volume key, for the header's record; NULL: not at hand */
        _cleanup_pool_ Pool *p = NULL; /* on a pool volume: held to the end */
        struct stat st;
        int r;

        if (want == UINT64_MAX && h->size_request == HEARTH_SIZE_RECORD && h->rec->disk_size_relative == UINT64_MAX)
                return log_error_errno(EINVAL, "home %s: diskSize: required for resize", h->name);
        /* At deactivation the mapping is ours, unmounted a moment ago. */
        r = (flags & LUKS_RESIZE_UNMOUNTED) ? 0 : luks_clean_stale_mapping(h);
        if (r < 0)
                return r;
        r = luks_find_mapping(h, name, false);
        if (r < 0)
                return r;
        was_active = r > 0;
        if (!was_active && (r = luks_require_name_free(h, name)) < 0)
                return r;
        r = was_active ? luks_volume_open_active(h, name, &v) : luks_volume_open(h, &v);
        if (r < 0)
                return r;
        on_pool = v.pool_volume[0] != 0;
        if (v.is_block && !on_pool)
                return log_error_errno(EOPNOTSUPP, "home %s: %s is a block device; its size is not ours to change",
                                       h->name, v.image);
        if (on_pool) {
                /* The pool lock, from reading the volume's size until the
                 * volume, the mapping and the filesystem agree again:
                 * hearth-pool's shrink measures the mapping under it, and
                 * its grow hands out the free space read here (pool.h). */
                PoolVolumeInfo info;
                r = luks_open_pool(h, &p);
                if (r >= 0)
                        r = pool_volume_info(p, v.pool_volume, &info);
                if (r == -ENOENT)
                        return log_error_errno(ENOENT, "home %s: pool volume %s does not exist", h->name, v.pool_volume);
                if (r < 0)
                        return r;
                current = info.size;
                pool_free = info.free;
                esb = info.extent_size;
        } else {
                if (stat(v.image, &st) < 0)
                        return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, v.image);
                current = (uint64_t) st.st_size;
                /* What the image holds on disk: sparse (discard, or made
                 * before images were allocated) counts only what is there. */
                allocated = h->rec->luks_discard > 0 ? current : (uint64_t) st.st_blocks * 512;
                if (allocated > current)
                        allocated = current;
        }
        if (want == UINT64_MAX && h->size_request == HEARTH_SIZE_RECORD) {
                /* A share of the space: what is free (beyond the system's
                 * floor, for an image) and what the home holds now. */
                uint64_t base = pool_free + current;
                if (!on_pool) {
                        r = luks_image_room(h, &base);
                        if (r < 0)
                                return r;
                        base += allocated;
                }
                r = home_disk_size_from_share(h, base);
                if (r < 0)
                        return r;
                want = h->rec->disk_size;
        }
        /* diskSize is the image's, as homed's; the partition takes all of
         * it but what the GPT costs (as much as it costs now). */
        if (v.gpt) {
                if (v.part.size * 512 > current)
                        return log_error_errno(EUCLEAN, "home %s: its partition reaches past the end of %s", h->name,
                                               v.image);
                overhead = current - v.part.size * 512;
        }
        cur_inner = current - overhead;
        header = sym_crypt_get_data_offset(v.cd) * 512;
        if (h->size_request == HEARTH_SIZE_MAX && on_pool)
                want = current + pool_free; /* free extents serve nothing else */
        else if (h->size_request == HEARTH_SIZE_MAX) {
                /* All that is free below the image, but the system's floor. */
                uint64_t room;
                r = luks_image_room(h, &room);
                if (r < 0)
                        return r;
                want = (allocated + room) / (1 << 20) * (1 << 20);
                if (want < current)
                        want = current;
        } else if (h->size_request == HEARTH_SIZE_MIN)
                want = current; /* decided once the filesystem is open, below */
        /* A pool volume has whole extents; never less than asked for. */
        want = on_pool ? (want / esb + (want % esb != 0)) * esb : want / 4096 * 4096;
        want_inner = want > overhead ? ROUND_DOWN_4K(want - overhead) : 0;
        if ((flags & LUKS_RESIZE_GROW_ONLY) && want_inner <= cur_inner)
                return 0;
        if (!on_pool && want > current && (r = luks_image_fits(h, want, allocated)) < 0)
                return r;
        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", name);

        if (!was_active) {
                /* Offline: open the volume for the filesystem tools. */
                r = luks_volume_unlock(h, &v, name, 0, &o);
                if (r < 0)
                        return r;
                opened_here = true;
                key = &o;
        } else if ((r = mapping_key_in_keyring(h, v.cd, name)) < 0)
                return r;
        else if (r > 0) {
                /* The active mapping's key is in the kernel keyring, out of
                 * reach of this context (activated so by homed, or by an
                 * older Hearth): a password brings it here. */
                if (!known && !h->rec->password)
                        return log_error_errno(ENOKEY, "home %s: its key is in the kernel keyring; resizing it while "
                                               "active takes its password", h->name);
                r = luks_volume_unlock(h, &v, NULL, CRYPT_ACTIVATE_KEYRING_KEY, &o);
                if (r < 0)
                        return r;
                key = &o;
        } else if (known)
                key = known;
        else if (h->rec->password) {
                /* dm-crypt reloads the table with its own key; the
                 * password is checked, and opens the header's record. */
                r = luks_volume_unlock(h, &v, NULL, 0, &o);
                if (r < 0)
                        return r;
                key = &o;
        }
        /* Else no secret (a rebalance, a shrink at deactivation): the
         * header's copy of the record is rewritten at the next activation. */
        r = luks_fs_type(h, mapped, fstype);
        if (r < 0)
                goto out;
        (void) fs_min_size(fstype, &min);
        if (h->size_request != HEARTH_SIZE_MIN && want_inner < header + min) {
                r = log_error_errno(ERANGE, "home %s: %s is smaller than %s can be", h->name, size_format(want, a),
                                    fstype);
                goto out;
        }
        /* At deactivation the home is unmounted already; the mapping is not. */
        bool mounted = was_active && !(flags & LUKS_RESIZE_UNMOUNTED);
        const char *where = mounted ? h->path : NULL;
        bool shrinking = want_inner < cur_inner || h->size_request == HEARTH_SIZE_MIN;
        bool online = strcmp(fstype, "ext4") != 0 || !shrinking; /* ext4 shrinks offline */
        if (!mounted && online) {
                r = luks_mount_fs(h, fstype, mapped, "resize", &mnt);
                if (r < 0)
                        goto out;
                mounted_here = true;
                where = mnt;
        }
        if (mounted && !online) {
                r = log_error_errno(EBUSY, "home %s: ext4 shrinks offline only; deactivate the home first", h->name);
                goto out;
        }
        if (h->size_request == HEARTH_SIZE_MIN) {
                uint64_t fs_min = 0;
                r = fs_min_estimate(fstype, mapped, where, &fs_min);
                if (r == -EOPNOTSUPP)
                        fs_min = cur_inner - header; /* cannot shrink: stays as it is */
                else if (r < 0)
                        goto out;
                /* Some room on top of the estimate, so the home stays usable. */
                uint64_t slack = fs_min / 20 > (UINT64_C(32) << 20) ? fs_min / 20 : UINT64_C(32) << 20;
                want = (overhead + header + fs_min + slack + (1 << 20) - 1) / (1 << 20) * (1 << 20);
                if (want < overhead + header + min)
                        want = (overhead + header + min + 4095) / 4096 * 4096;
                if (on_pool)
                        want = (want / esb + (want % esb != 0)) * esb;
                if (want > current)
                        want = current;
                want_inner = ROUND_DOWN_4K(want - overhead);
        }

        /* On a pool volume or in a partition the same size again finishes
         * a grow killed midway (the volume's table or the partition, the
         * mapping or the filesystem left behind): each step is a no-op
         * where it is already done. */
        bool finish = (on_pool || v.gpt) && want_inner == cur_inner;

        if (want_inner > cur_inner || finish) {
                /* Grow: the container first, then what is inside it. */
                if (on_pool)
                        r = luks_pool_volume_resize(h, p, v.pool_volume, want, true);
                else if ((r = luks_image_allocate(h, v.image, -1, want > current ? want : current)) < 0)
                        (void) truncate(v.image, (off_t) current); /* what a failed allocation took */
                else if (v.gpt && (r = resize_partition(h, &v, want > current ? want : current,
                                                        want > current ? want : current, want_inner)) >= 0)
                        r = loop_set_size(v.loop_fd, want_inner);
                else if (!v.gpt)
                        r = loop_refresh_size(v.loop_fd);
                if (r < 0)
                        goto out;
                failpoint("luks-resize-container");
                r = sym_crypt_resize(v.cd, name, 0);
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot grow the LUKS mapping: %m", h->name);
                        goto out;
                }
                failpoint("luks-resize-mapping");
                r = fs_grow(fstype, mapped, where);
                if (r >= 0)
                        failpoint("luks-resize-fs");
        } else if (want_inner < cur_inner) {
                /* Shrink: what is inside first, the container last. */
                r = fs_shrink(fstype, mapped, where, want_inner - header);
                if (r < 0)
                        goto out;
                failpoint("luks-resize-fs");
                r = sym_crypt_resize(v.cd, name, (want_inner - header) / 512);
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot shrink the LUKS mapping: %m", h->name);
                        goto out;
                }
                failpoint("luks-resize-mapping");
                if (on_pool)
                        r = luks_pool_volume_resize(h, p, v.pool_volume, want, false);
                else {
                        /* The partition and its table before the image: cut
                         * short first, the table would end past the disk. */
                        if (v.gpt && (r = loop_set_size(v.loop_fd, want_inner)) >= 0)
                                r = resize_partition(h, &v, current, want, want_inner);
                        if (r >= 0 && truncate(v.image, (off_t) want) < 0)
                                r = log_error_errno(errno, "home %s: cannot shrink %s: %m", h->name, v.image);
                        else if (r >= 0 && !v.gpt)
                                r = loop_refresh_size(v.loop_fd);
                        if (r >= 0)
                                failpoint("luks-resize-container");
                }
        }
        /* A shrink at deactivation keeps diskSize: what activation grows
         * it back to. */
        if (r >= 0 && !(flags & LUKS_RESIZE_KEEP_RECORD)) {
                /* Where the record's value comes from: a perMachine entry
                 * for this machine overrides the regular section. */
                r = user_record_set_effective(h->rec, "diskSize", json_object_new_int64((int64_t) want));
                /* Without the key the header keeps the older copy: newer
                 * here, it is written anew at the next activation. */
                if (r >= 0 && !key && user_record_bump_last_change(h->rec, realtime_usec()) < 0)
                        r = log_oom();
                if (r >= 0)
                        r = home_sign_record(h);
                if (r >= 0 && key)
                        r = luks_token_write(h, &v, key);
        }
        if (r >= 0)
                log_info("home %s: now %s", h->name, size_format(want, a));
out:
        if (mounted_here)
                (void) umount(mnt);
        if (mnt)
                (void) rmdir(mnt);
        if (opened_here)
                (void) sym_crypt_deactivate(v.cd, name);
        return r;
}
