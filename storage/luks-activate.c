/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A LUKS home coming and going: activate (unlock, check, mount the file
 * system privately and its <user> directory on the home), deactivate, and
 * lock/unlock (suspend with the key wiped, resume). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "dlopen-cryptsetup.h"
#include "fileio.h"
#include "fs.h"
#include "home-dm.h"
#include "log.h"
#include "macro.h"
#include "password.h"
#include "pool.h"
#include "secret.h"

#include "luks-internal.h"

/* ---- activate, deactivate, lock, luks_volume_unlock ------------------------------------- */

int luks_set_state(Home *h, const char *state) {
        free(h->state);
        h->state = strdup(state);
        return h->state ? 0 : log_oom();
}

/* After a keyslot accepted a password (never a recovery key), make
 * privileged.hashedPassword agree:
 * the keyslots are the authority (a passwd interrupted after changing them
 * leaves the record behind). */
static int sync_hashes(Home *h, const char *password) {
        if (home_pin_only(h))
                return home_forget_pin_hash(h);
        int r = password_verify(password, h->rec->hashed_password);
        if (r != 0)
                return r < 0 ? log_error_errno(r, "home %s: cannot verify password: %m", h->name) : 0;
        if (h->rec->hashed_password && h->rec->hashed_password[0])
                log_notice("home %s: the record's password hash did not match the keyslots; updated it", h->name);
        const char *const one[] = { password, NULL };
        return home_set_password_hashes(h, one);
}

/* A mapping that is active while the home is not mounted is what a worker
 * killed during create or an offline resize leaves: unmount its scratch
 * mounts and close it, so the home can be activated again. */
int luks_clean_stale_mapping(Home *h) {
        char name[HOME_DM_NAME_MAX];
        struct statx stx;
        int r;

        r = luks_find_mapping(h, name, false);
        if (r <= 0)
                return r;
        /* Mounted on the home directory: really active. */
        if (statx(AT_FDCWD, h->path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
            (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return 0;
        static const char *const scratch[] = { "create", "resize", "mount" };
        for (size_t i = 0; i < ELEMENTSOF(scratch); i++) {
                _cleanup_free_ char *mnt = NULL;
                if (luks_mount_dir(h, scratch[i], &mnt) >= 0) {
                        (void) umount2(mnt, MNT_DETACH);
                        (void) rmdir(mnt);
                }
        }
        log_info("home %s: closing /dev/mapper/%s left by an interrupted operation", h->name, name);
        r = sym_crypt_deactivate_by_name(NULL, name, CRYPT_DEACTIVATE_FORCE);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot close stale /dev/mapper/%s: %m", h->name, name);
        return 0;
}

/* autoResizeMode grow and shrink-and-grow: a home shrunk at its last
 * deactivation (or whose diskSize grew meanwhile) grows back to diskSize
 * once mounted. Never fails the activation: a home that cannot grow (no
 * room below the image) is used at the size it has. */
static void auto_grow(Home *h, Volume *v, const Opened *o) {
        uint64_t current;
        struct stat st;

        if (user_record_auto_resize(h->rec) == USER_AUTO_RESIZE_OFF || h->rec->disk_size == UINT64_MAX)
                return;
        if (v->is_block && !v->pool_volume[0])
                return; /* a device's size is not ours */
        if (v->pool_volume[0])
                current = 0; /* luks_resize_opened() reads it under the pool lock */
        else if (stat(v->image, &st) < 0)
                return;
        else
                current = (uint64_t) st.st_size;
        if (!v->pool_volume[0] && current >= h->rec->disk_size / 4096 * 4096)
                return;
        h->size_request = HEARTH_SIZE_RECORD;
        if (luks_resize_opened(h, o, LUKS_RESIZE_KEEP_RECORD | LUKS_RESIZE_GROW_ONLY) < 0)
                log_warning("home %s: could not grow back to its diskSize; it stays as large as it is", h->name);
}

int luks_activate(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        _cleanup_close_ int top = -1, home_fd = -1;
        _cleanup_free_ char *mnt = NULL;
        _cleanup_user_record_ UserRecord *from_token = NULL, *from_file = NULL;
        char name[HOME_DM_NAME_MAX], mapped[80], fstype[16];
        bool mounted = false, token_stale, file_stale;
        int r;

        r = luks_clean_stale_mapping(h);
        if (r < 0)
                return r;
        r = luks_find_mapping(h, name, false);
        if (r < 0)
                return r;
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: already active", h->name);
        r = luks_require_name_free(h, name);
        if (r < 0)
                return r;
        log_trace_phase("luks activate: checked for stale mappings");
        r = luks_volume_open(h, &v);
        if (r < 0)
                return r;
        log_trace_phase("luks activate: volume opened");
        /* The key first: the header's record is encrypted with it. It is
         * checked (signature, name) before the volume is mapped, and a
         * home without one is refused, as systemd-homed refuses it: the
         * file system is mounted only after a signed record vouched for it. */
        r = luks_volume_key_get(h, &v, &o);
        if (r < 0)
                return r;
        log_trace_phase("luks activate: volume key (PBKDF)");
        /* A token's keyslot that homed made is named now, so that passwd keeps it. */
        if (luks_pkcs11_sync(h, &v, &o, LUKS_PKCS11_MARK, false) < 0)
                log_warning("home %s: the token's keyslot stays unnamed", h->name);
        r = luks_token_read(h, &v, &o, &from_token);
        if (r == -ENOENT)
                return log_error_errno(EUCLEAN, "home %s: %s carries no systemd-homed token with its record", h->name,
                                       v.image);
        if (r < 0)
                return r;
        r = home_reconcile(h, from_token, "the LUKS2 token");
        if (r < 0)
                return r;
        log_trace_phase("luks activate: record read, reconciled");
        r = luks_use_volume_key(h, &v, name, luks_activate_flags(h), &o);
        if (r < 0)
                return r;
        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", name);
        log_trace_phase("luks activate: mapped");
        r = luks_fs_type(h, mapped, fstype);
        if (r >= 0)
                r = fs_check(fstype, mapped);
        if (r < 0)
                goto fail;
        log_trace_phase("luks activate: fsck");
        if (mkdirat(h->root_fd, h->name, 0700) < 0 && errno != EEXIST) {
                r = log_error_errno(errno, "home %s: cannot create mount point %s: %m", h->name, h->path);
                goto fail;
        }
        r = luks_mount_fs(h, fstype, mapped, "mount", &mnt);
        if (r < 0)
                goto fail;
        log_trace_phase("luks activate: file system mounted");
        r = luks_open_home_dir(h, mnt, &home_fd);
        if (r >= 0)
                r = luks_mount_home(h, home_fd);
        /* The file system stays reachable through the home's mount alone. */
        close(TAKE_FD(home_fd));
        (void) umount2(mnt, MNT_DETACH);
        (void) rmdir(mnt);
        if (r < 0)
                goto fail;
        log_trace_phase("luks activate: home mounted (ID-mapped)");
        mounted = true;
        top = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0) {
                r = log_error_errno(errno, "home %s: cannot open %s: %m", h->name, h->path);
                goto fail;
        }
        home_identity_sweep(h, top);
        r = home_identity_file_read(h, top, &from_file);
        /* ~/.identity is hers to write: a copy that fails the checks
         * (logged) is not the record and locks no one out; the stored
         * record stays, and the file is written over with it below. */
        if (from_file) {
                r = home_reconcile(h, from_file, "~/" IDENTITY_FILE);
                if (r == -EUCLEAN)
                        from_file = user_record_free(from_file);
                else if (r < 0)
                        goto fail;
        }
        /* A recovery key is no password: its hash must never become one.
         * A TPM PIN's hash goes whichever secret opened the home. */
        r = o.recovery_key ? home_forget_pin_hash(h) : o.by_token ? 0 : sync_hashes(h, o.password);
        if (r < 0)
                goto fail;

        /* Bring the embedded copies up to date: a missing or unusable
         * ~/.identity written again, an older copy replaced. */
        token_stale = from_token->last_change_usec < h->rec->last_change_usec;
        file_stale = !from_file || from_file->last_change_usec < h->rec->last_change_usec;
        if ((token_stale || file_stale) && home_sign_record(h) >= 0) {
                if (token_stale && luks_token_write(h, &v, &o) < 0)
                        log_warning("home %s: the header's copy of the record stays as it was", h->name);
                if (file_stale && home_identity_file_write(h, top, h->rec->uid) < 0)
                        log_warning("home %s: ~/" IDENTITY_FILE " stays as it was", h->name);
        }
        auto_grow(h, &v, &o);
        return luks_set_state(h, "active");

fail:
        if (mounted)
                (void) umount2(h->path, MNT_DETACH);
        (void) sym_crypt_deactivate_by_name(v.cd, name, CRYPT_DEACTIVATE_FORCE);
        return r;
}

/* The mapping's name, if the home is active; with sync, what is written to
 * the home is flushed first (before unmounting or suspending it). */
static int require_active(Home *h, char *name, size_t size, bool sync) {
        if (size < HOME_DM_NAME_MAX)
                return -ENAMETOOLONG;
        int r = luks_find_mapping(h, name, false);
        if (r < 0)
                return r;
        if (r == 0)
                return log_error_errno(ENOTCONN, "home %s: not active", h->name);
        if (sync) {
                /* A locked home's I/O is suspended: syncfs would wait,
                 * unkillable, until someone unlocks it. */
                struct crypt_active_device cad;
                struct crypt_device *cd = NULL;
                bool suspended = sym_crypt_init_by_name(&cd, name) >= 0 && sym_crypt_get_active_device(cd, name, &cad) >= 0 &&
                                 (cad.flags & CRYPT_ACTIVATE_SUSPENDED);
                sym_crypt_free(cd);
                if (suspended)
                        return log_error_errno(EBUSY, "home %s: locked; luks_volume_unlock it first", h->name);
                _cleanup_close_ int fd = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        (void) syncfs(fd);
        }
        return 0;
}

/* autoResizeMode shrink-and-grow, at deactivation, unmounted: a btrfs
 * home shrinks to what it holds (and some room), so an idle home holds
 * no free space; diskSize stays, for the next activation. ext4 shrinks
 * only offline, which would cost a file system check each time, and xfs
 * never: both keep their size. Not when forced (detached while in use).
 * Never fails the deactivation. */
static void auto_shrink(Home *h) {
        if (h->force || user_record_auto_resize(h->rec) != USER_AUTO_RESIZE_SHRINK_AND_GROW ||
            strcmp(luks_fstype(h), "btrfs") != 0)
                return;
        h->size_request = HEARTH_SIZE_MIN;
        if (luks_resize_opened(h, NULL, LUKS_RESIZE_UNMOUNTED | LUKS_RESIZE_KEEP_RECORD) < 0)
                log_warning("home %s: could not shrink at deactivation; it keeps its size", h->name);
}

int luks_deactivate(Home *h) {
        char name[64];
        int r;

        r = require_active(h, name, sizeof name, true);
        if (r < 0)
                return r;
        if (umount2(h->path, UMOUNT_NOFOLLOW) < 0) {
                if (errno == EBUSY && !h->force)
                        return log_error_errno(EBUSY, "home %s: busy: files in %s are open (force to detach "
                                               "anyway)", h->name, h->path);
                if (errno == EBUSY)
                        (void) umount2(h->path, MNT_DETACH | UMOUNT_NOFOLLOW);
                else if (errno != EINVAL) /* EINVAL: not mounted */
                        return log_error_errno(errno, "home %s: cannot unmount %s: %m", h->name, h->path);
        }
        auto_shrink(h);
        r = sym_crypt_deactivate_by_name(NULL, name, h->force ? CRYPT_DEACTIVATE_DEFERRED : 0);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot close /dev/mapper/%s: %m", h->name, name);
        return luks_set_state(h, "inactive");
}

/* Whether the mapping is suspended (locked): 1, 0, or an error. */
static int is_suspended(Home *h, struct crypt_device *cd, const char *name) {
        struct crypt_active_device cad;
        int r = sym_crypt_get_active_device(cd, name, &cad);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot query /dev/mapper/%s: %m", h->name, name);
        return (cad.flags & CRYPT_ACTIVATE_SUSPENDED) != 0;
}

/* What was read from a home stays in the page cache after its key is
 * gone, and the owner and root would go on reading it. There is no way to
 * drop one filesystem's pages, so all clean pages, dentries and inodes go
 * ("3"); the home's, its device suspended, cannot come back until it is
 * unlocked. Pages dirtied after the lock and files mapped into memory
 * stay, as they must. */
static void drop_caches(Home *h) {
        _cleanup_close_ int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || write(fd, "3\n", 2) != 2)
                log_warning_errno(errno, "home %s: cannot drop the page cache (%m): what was read from it before "
                                         "the lock stays readable until the kernel evicts it", h->name);
}

int luks_lock(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        char name[64];
        int r;

        r = require_active(h, name, sizeof name, false);
        if (r < 0)
                return r;
        r = sym_crypt_init_by_name(&v.cd, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open /dev/mapper/%s: %m", h->name, name);
        /* Before syncing: a suspended device would never finish a sync. */
        r = is_suspended(h, v.cd, name);
        if (r < 0)
                return r;
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: already locked", h->name);
        (void) require_active(h, name, sizeof name, true);
        /* Suspends I/O and wipes the volume key from the kernel. */
        r = sym_crypt_suspend(v.cd, name);
        if (r == -EBUSY)
                return log_error_errno(EALREADY, "home %s: already locked", h->name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot lock: %m", h->name);
        drop_caches(h);
        return luks_set_state(h, "locked");
}

/* After lock (as at suspend): the same secrets as activate, through the
 * same luks_volume_key_get() — TPM and PIN, a recovery key in any spelling, a
 * password keyslot — with the same messages and tries left. */
int luks_unlock(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        char name[64];
        int r;

        r = require_active(h, name, sizeof name, false);
        if (r < 0)
                return r;
        r = luks_volume_open_active(h, name, &v);
        if (r < 0)
                return r;
        /* Checked first, so that an unlocked home costs no TPM try. */
        r = is_suspended(h, v.cd, name);
        if (r < 0)
                return r;
        if (r == 0)
                return log_error_errno(ENOTCONN, "home %s: not locked", h->name);
        r = luks_volume_key_get(h, &v, &o);
        if (r < 0)
                return r;
        luks_key_in_table(v.cd);
        r = sym_crypt_resume_by_volume_key(v.cd, name, o.vk->data, o.vk_size);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot luks_volume_unlock: %m", h->name);
        return luks_set_state(h, "active");
}
