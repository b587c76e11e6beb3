/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LUKS homes on a volume of the extent pool (imagePath
 * /dev/mapper/hearth-pool-<volume>): which volume, bringing it up, making,
 * sizing and removing it, through pool.h under the pool lock. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "crypt-log.h"
#include "dlopen-cryptsetup.h"
#include "log.h"
#include "macro.h"
#include "pool.h"
#include "size.h"

#include "luks-internal.h"

/* 1 and the volume if imagePath is /dev/mapper/hearth-pool-<volume>, 0 if
 * the home is not on a pool volume. */
int luks_home_pool_volume(Home *h, char volume[static POOL_NAME_MAX + 1]) {
        int r = pool_volume_from_device(h->rec->image_path, volume);
        if (r == -EINVAL)
                return log_error_errno(EINVAL, "home %s: imagePath %s: no valid pool volume name after " POOL_DEVICE_PREFIX,
                                       h->name, h->rec->image_path);
        if (r > 0 && strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EINVAL, "home %s: imagePath names the pool volume home, which is /home itself; "
                                       "a LUKS home needs a pool volume of its own", h->name);
        return r;
}

/* A block device given as imagePath (not a pool volume's path) must not be
 * the pool's: a PV, a disk holding one, a volume under another name. Its
 * data is /home's and every pool home's, whether or not the pool is active
 * now; --wipe never overrides this (exit 15, as another home's device). */
int luks_refuse_pool_device(Home *h, const char *dev) {
        char why[512] = "";
        int r = pool_device_is_pv(dev, why, sizeof why);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot tell whether %s belongs to the extent pool: %m", h->name, dev);
        if (r > 0)
                return log_error_errno(EEXIST, "home %s: %s is %s; refusing to format it%s", h->name, dev, why,
                                       h->wipe ? " (--wipe never erases the extent pool's devices)" : "");
        return 0;
}

/* Brings the pool volume's device up if the pool was not activated (or the
 * volume was added since): from validated metadata under the pool lock, as
 * boot does, writing no metadata and touching no other volume, so a login
 * does not depend on an administrator having run hearth-pool activate. */
int luks_pool_volume_up(Home *h, const char *volume, const char *node) {
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        struct stat st;
        int r;

        if (stat(node, &st) == 0)
                return S_ISBLK(st.st_mode) ? 0 : log_error_errno(ENOTBLK, "home %s: %s is not a block device", h->name, node);
        if (errno != ENOENT)
                return log_error_errno(errno, "home %s: %s: %m", h->name, node);
        r = pool_open(NULL, false, &p);
        if (r < 0)
                return log_error_errno(r, "home %s: pool volume %s is not active, and the pool cannot be opened "
                                       "(see above; hearth-pool status)", h->name, volume);
        r = pool_volume_info(p, volume, &info);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: pool volume %s does not exist", h->name, volume);
        if (r >= 0)
                r = pool_volume_activate(p, volume);
        if (r < 0)
                return r;
        log_info("home %s: pool volume %s was not active; activated it", h->name, volume);
        return 0;
}

/* ---- homes on a pool volume ------------------------------------------------ */

int luks_open_pool(Home *h, Pool **ret) {
        int r = pool_open(NULL, false, ret);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open the extent pool (see above; hearth-pool status)", h->name);
        return 0;
}

/* The pool volume a new home goes on: made now (diskSize, or a fifth of the
 * pool's free space as images take a fifth of /home's, rounded up to whole
 * extents), or one that exists and holds no LUKS volume yet (made with
 * hearth-pool create, or left by a create killed before it formatted). */
int luks_pool_volume_prepare(Home *h, const char *volume, const char *node, uint64_t min, bool *ret_created) {
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        uint64_t size, free_bytes, esb;
        int r;

        *ret_created = false;
        r = storage_crypt_log_setup();
        if (r < 0)
                return r;
        r = luks_open_pool(h, &p);
        if (r < 0)
                return r;
        r = pool_volume_info(p, volume, &info);
        if (r >= 0) {
                if (!info.active && (r = pool_volume_activate(p, volume)) < 0)
                        return r;
                /* Never format over a home: checked before anything is
                 * attached, so that no failure path wipes its header. */
                struct crypt_device *cd = NULL;
                bool luks = sym_crypt_init(&cd, node) >= 0 && sym_crypt_load(cd, CRYPT_LUKS, NULL) >= 0;
                if (cd)
                        sym_crypt_free(cd);
                if (luks)
                        return log_error_errno(EEXIST, "home %s: pool volume %s already holds a LUKS volume (another home, or "
                                               "one an interrupted create left: remove that home first)", h->name, volume);
                log_info("home %s: using the existing pool volume %s", h->name, volume);
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = pool_free_space(p, &free_bytes, &esb);
        if (r < 0)
                return r;
        r = home_disk_size_from_share(h, free_bytes);
        if (r < 0)
                return r;
        size = h->rec->disk_size != UINT64_MAX ? h->rec->disk_size : free_bytes / 5;
        size = (size / esb + (size % esb != 0)) * esb;
        if (size < min + LUKS_HEADER_ROOM) {
                char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
                return log_error_errno(ERANGE, "home %s: %s is too small for %s: at least %s are needed", h->name,
                                       size_format(size, a), luks_fstype(h), size_format(min + LUKS_HEADER_ROOM, b));
        }
        r = pool_volume_create_full(p, volume, size, POOL_VOLUME_LUKS);
        if (r < 0)
                return r;
        *ret_created = true;
        return 0;
}

/* Removes the pool volume (a failed create's, or a removed home's). */
int luks_pool_volume_discard(Home *h, const char *volume) {
        _cleanup_pool_ Pool *p = NULL;
        int r = luks_open_pool(h, &p);
        if (r >= 0)
                r = pool_volume_remove(p, volume);
        return r;
}

/* The volume's size: its device's if active, else the metadata's. */
int luks_pool_volume_size(Home *h, const char *volume, const char *node, uint64_t *ret) {
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        int r;

        _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                if (ioctl(fd, BLKGETSIZE64, ret) < 0)
                        return log_error_errno(errno, "home %s: cannot get the size of %s: %m", h->name, node);
                return 0;
        }
        if (errno != ENOENT)
                return log_error_errno(errno, "home %s: %s: %m", h->name, node);
        r = luks_open_pool(h, &p);
        if (r < 0)
                return r;
        r = pool_volume_info(p, volume, &info);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: pool volume %s does not exist", h->name, volume);
        if (r < 0)
                return r;
        *ret = info.size;
        return 0;
}

/* Grows or shrinks the pool volume to size bytes (whole extents), in the
 * pool the caller holds open (and so locked) for its whole resize. */
int luks_pool_volume_resize(Home *h, Pool *p, const char *volume, uint64_t size, bool grow) {
        return grow ? pool_grow(p, volume, size, false) : pool_shrink(p, volume, size, false);
}
