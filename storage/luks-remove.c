/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a LUKS home exists, what it holds (inspect), its record updated
 * in the header, and removal once the volume is proven the home's own. */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "device-busy.h"
#include "dlopen-cryptsetup.h"
#include "fileio.h"
#include "gpt.h"
#include "log.h"
#include "loop.h"
#include "macro.h"
#include "pool.h"

#include "luks-internal.h"

/* ---- inspect, update, remove ------------------------------------------------------ */

int luks_exists(Home *h) {
        _cleanup_free_ char *image = NULL;
        char volume[POOL_NAME_MAX + 1];
        bool is_block;
        struct stat st;
        int r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        if (stat(image, &st) == 0)
                return 1;
        if (errno != ENOENT)
                return -errno;
        r = luks_home_pool_volume(h, volume);
        if (r <= 0)
                return r;
        /* An inactive pool volume exists all the same. */
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        r = luks_open_pool(h, &p);
        if (r < 0)
                return r;
        r = pool_volume_info(p, volume, &info);
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

int luks_inspect(Home *h) {
        _cleanup_free_ char *image = NULL;
        json_object *status;
        bool is_block;
        struct stat st;
        int r;

        char volume[POOL_NAME_MAX + 1];
        uint64_t pool_size = 0;

        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = luks_home_pool_volume(h, volume);
        if (r < 0)
                return r;
        if (r > 0) {
                r = luks_pool_volume_size(h, volume, image, &pool_size);
                if (r < 0)
                        return r;
        } else if (stat(image, &st) < 0)
                return log_error_errno(errno, "home %s: image %s: %m", h->name, image);
        if (!h->state) {
                r = luks_set_state(h, luks_is_active(h) ? "active" : "inactive");
                if (r < 0)
                        return r;
        }
        status = json_object_new_object();
        if (!status)
                return log_oom();
        if (pool_size > 0) /* the pool volume is the home's, as an image is */
                json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) pool_size));
        else if (!is_block)
                json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) st.st_size));
        if (strcmp(h->state, "active") == 0) {
                struct statvfs sv;
                if (statvfs(h->path, &sv) == 0) {
                        json_object_object_add(status, "diskFree",
                                               json_object_new_int64((int64_t) ((uint64_t) sv.f_bavail * sv.f_frsize)));
                        json_object_object_add(status, "diskUsage",
                                               json_object_new_int64((int64_t) ((uint64_t) (sv.f_blocks - sv.f_bfree) *
                                                                                sv.f_frsize)));
                }
        }
        return home_update_sections(h, status);
}

int luks_update(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        int r = luks_volume_open(h, &v);
        if (r < 0)
                return r;
        /* The header's copy is encrypted with the volume key: without a
         * password it waits for the next activation, which rewrites a copy
         * older than the record. */
        bool with_key = h->rec->password && h->rec->password[0];
        /* A token the record enrols needs the key for its keyslot. */
        r = luks_pkcs11_pending(h, &v);
        if (r < 0)
                return r;
        with_key = with_key || r > 0;
        if (with_key && (r = luks_volume_key_get(h, &v, &o)) < 0)
                return r;
        /* Tokens' keyslots to the record: new ones added, removed ones go. */
        r = luks_pkcs11_sync(h, &v, with_key ? &o : NULL, LUKS_PKCS11_ENROL, false);
        if (r < 0)
                return r;
        r = home_sign_record(h);
        if (r >= 0 && with_key)
                r = luks_token_write(h, &v, &o);
        else if (r >= 0)
                log_info("home %s: no password given: the header's copy of the record is updated at the next "
                         "activation", h->name);
        if (r >= 0 && luks_is_active(h)) {
                _cleanup_close_ int top = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = top < 0 ? log_error_errno(errno, "home %s: %s: %m", h->name, h->path) : home_identity_file_write(h, top, h->rec->uid);
        }
        return r;
}

/* Whether the opened volume is this home's: in its partition (luks_locate
 * found it by type and name), a LUKS2 header labelled with the user's name
 * in systemd-homed's subsystem, with the UUID the record keeps (luksUuid;
 * a home made elsewhere may have none bound here), carrying a
 * systemd-homed token. Remove wipes nothing else. */
static int volume_is_ours(Home *h, Volume *v) {
        const char *label = sym_crypt_get_label(v->cd), *subsystem = sym_crypt_get_subsystem(v->cd);
        const char *uuid = sym_crypt_get_uuid(v->cd);
        char why[160] = "";

        if (!label || strcmp(label, h->name) != 0)
                snprintf(why, sizeof why, "its LUKS2 label is \"%.64s\"", label ?: "");
        else if (!subsystem || strcmp(subsystem, LUKS_SUBSYSTEM) != 0)
                snprintf(why, sizeof why, "its LUKS2 subsystem is \"%.64s\", not " LUKS_SUBSYSTEM, subsystem ?: "");
        else if (!luks_uuid_is_records(h, uuid))
                snprintf(why, sizeof why, "its LUKS UUID is %.40s, the record's %.40s", uuid ?: "none",
                         h->rec->luks_uuid);
        /* The token's record is encrypted with the volume key, which remove
         * does not have: its presence is what the header can show. */
        else if (luks_token_find(v) < 0)
                snprintf(why, sizeof why, "it carries no systemd-homed token");
        if (!why[0])
                return 0;
        return log_error_errno(EMEDIUMTYPE, "home %s: %s is not %s's volume (%s); refusing to remove it",
                               h->name, v->image, h->name, why);
}

/* The first length bytes of fd written with zeros. */
static int write_zeros(int fd, uint64_t length) {
        const size_t chunk = 1 << 20;
        _cleanup_free_ char *zeros = calloc(1, chunk);
        if (!zeros)
                return -ENOMEM;
        if (fd < 0)
                return -EBADF;
        for (uint64_t at = 0; at < length; at += chunk) {
                int r = pwrite_full(fd, zeros, length - at < chunk ? (size_t) (length - at) : chunk, at);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Nobody may be using the volume whose header goes: opened by hand under
 * another name (cryptsetup open … rescue), mounted, held open, under a
 * loop device other than our own over its partition. The claim (an
 * exclusive open of the block device, the whole disk for a partitioned
 * one) is kept until the wipe is done, so that nobody maps or mounts it in
 * between; crypt_wipe() itself opens it without O_EXCL. */
static int volume_claim(Home *h, Volume *v, int *ret_fd) {
        char why[512] = "";
        int r;

        *ret_fd = -1;
        if (!v->is_block) {
                /* Our own loop device is new; another on the same file is someone's. */
                r = image_file_busy(v->image, v->dev, why, sizeof why);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot tell whether %s is in use: %m", h->name, v->image);
                if (r > 0)
                        return log_error_errno(EBUSY, "home %s: %s is in use (%s); refusing to remove it", h->name,
                                               v->image, why);
                return 0;
        }
        _cleanup_close_ int fd = open(v->image, (v->gpt ? O_RDWR : O_RDONLY) | O_EXCL | O_CLOEXEC);
        if (fd < 0 && errno != EBUSY)
                return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, v->image);
        r = device_busy(v->image, v->gpt ? v->dev : NULL, why, sizeof why);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot tell whether %s is in use: %m", h->name, v->image);
        if (fd < 0 || r > 0)
                return log_error_errno(EBUSY, "home %s: %s is in use (%s); refusing to remove it", h->name, v->image,
                                       r > 0 ? why : "claimed exclusively: mounted, mapped or swap");
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int luks_remove(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_free_ char *image = NULL;
        _cleanup_close_ int claim = -1;
        char volume[POOL_NAME_MAX + 1];
        bool on_pool, is_block;
        int r;

        if (luks_is_active(h))
                return log_error_errno(EBUSY, "home %s: active; deactivate it before removing", h->name);
        r = luks_home_pool_volume(h, volume);
        if (r < 0)
                return r;
        on_pool = r > 0;
        if (on_pool) {
                /* A remove killed after the volume went has nothing left to do. */
                r = luks_exists(h);
                if (r < 0)
                        return r;
                if (r == 0) {
                        log_info("home %s: pool volume %s is already gone", h->name, volume);
                        (void) unlinkat(h->root_fd, h->name, AT_REMOVEDIR);
                        return luks_set_state(h, "absent");
                }
        }
        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        char why[256] = "";
        r = luks_volume_attach(h, image, is_block, &v, why, sizeof why);
        if (r == -EMEDIUMTYPE || r == -EXDEV)
                return log_error_errno(EMEDIUMTYPE, "home %s: %s is not %s's volume (%s); refusing to remove it",
                                       h->name, image, h->name, why);
        if (r < 0)
                return r;
        /* Only this home's volume is wiped: a device or file without its
         * header may be anything (another home, someone's file system), and
         * a damaged home is for its owner to wipe by hand. */
        if (sym_crypt_load(v.cd, CRYPT_LUKS2, NULL) < 0)
                return log_error_errno(EMEDIUMTYPE, "home %s: %s has no LUKS2 header, so it is not provably %s's "
                                       "volume (damaged, or something else); refusing to remove it — if it is %s's "
                                       "and beyond repair, wipe it by hand", h->name, image, h->name, h->name);
        r = volume_is_ours(h, &v);
        if (r < 0)
                return r;
        if (!is_block && !on_pool) {
                /* The file may have been swapped since it was checked. */
                r = loop_backed_by(v.dev, image);
                if (r <= 0)
                        return log_error_errno(r < 0 ? -r : EBUSY, "home %s: %s changed while being removed", h->name,
                                               image);
        }
        r = volume_claim(h, &v, &claim);
        if (r < 0)
                return r;
        /* Header and keyslots go first: the data is unreadable from then on.
         * An image file's are overwritten with zeros through our loop
         * device, not zeroed by libcryptsetup: that is BLKZEROOUT, which a
         * loop device passes to the file as fallocate(FALLOC_FL_ZERO_RANGE),
         * and file systems (btrfs, ext4) carry it out by replacing or
         * unwriting extents, never writing them: the old header and
         * keyslots would stay in the blocks freed. */
        uint64_t header = sym_crypt_get_data_offset(v.cd) * 512;
        r = v.is_block ? sym_crypt_wipe(v.cd, NULL, CRYPT_WIPE_ZERO, 0, header, 1 << 20, 0, NULL, NULL)
                       : write_zeros(v.loop_fd, header);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot wipe the LUKS header: %m", h->name);
        /* On the disk before the file goes: the pages of a deleted file are
         * never written, and the old header would stay in freed blocks. */
        int written = v.loop_fd >= 0 ? v.loop_fd : claim;
        if (written >= 0 && fsync(written) < 0)
                return log_error_errno(errno, "home %s: cannot write the wiped header to %s: %m", h->name, v.image);
        if (!v.is_block && unlink(v.image) < 0)
                return log_error_errno(errno, "home %s: cannot delete %s: %m", h->name, v.image);
        if (v.is_block && v.gpt) {
                /* The disk as it was before the home: no table either,
                 * unless the table holds other partitions than the home's
                 * (homed's layout allows them): those stay. */
                uint64_t bytes = v.image_bytes / v.sector_size * v.sector_size;
                r = gpt_count_partitions(claim, v.sector_size, bytes);
                if (r > 1) {
                        log_info("home %s: %s holds other partitions; its partition table stays", h->name, v.image);
                        goto done;
                }
                r = gpt_erase(claim, v.sector_size, bytes);
                if (r >= 0 && fsync(claim) < 0)
                        r = negative_errno();
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot erase the partition table of %s: %m", h->name,
                                               v.image);
                luks_volume_close(&v);
                if (ioctl(claim, BLKRRPART, 0) < 0)
                        log_debug_errno(errno, "home %s: the kernel did not reread the partition table of %s: %m",
                                        h->name, image);
        }
done:
        if (on_pool) {
                close(TAKE_FD(claim));
                luks_volume_close(&v); /* nothing of ours may hold the device */
                r = luks_pool_volume_discard(h, volume);
                if (r < 0)
                        return r;
        }
        (void) unlinkat(h->root_fd, h->name, AT_REMOVEDIR); /* the empty mount point */
        return luks_set_state(h, "absent");
}
