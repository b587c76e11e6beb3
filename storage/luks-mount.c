/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mounting a LUKS home. Its file system is mounted privately, at
 * $HEARTH_RUNTIME_DIR/<what>/<user> below 0700 directories, for create,
 * resize and activation; what the user sees is only the directory <user>
 * at that file system's root, mounted on the home directory
 * (luks_mount_home), as systemd-homed does: lost+found and whatever else
 * the file system keeps at its root stay out of her home. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "fileio.h"
#include "fs.h"
#include "idmap.h"
#include "log.h"
#include "macro.h"
#include "runtime-paths.h"

#include "luks-internal.h"

int luks_mount_dir(Home *h, const char *what, char **ret) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s/%s", hearth_runtime_dir(), what, h->name) < 0)
                return log_oom();
        int r = mkdir_parents(p, 0700);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot create %s: %m", h->name, p);
        *ret = TAKE_PTR(p);
        return 0;
}

/* Mounts the file system on dev at the private place for `what` ("create",
 * "resize", "mount"), with the record's extra options for activation. */
int luks_mount_fs(Home *h, const char *fstype, const char *dev, const char *what, char **ret_mnt) {
        _cleanup_free_ char *mnt = NULL;
        int r = luks_mount_dir(h, what, &mnt);
        if (r < 0)
                return r;
        r = fs_mount(fstype, dev, mnt, strcmp(what, "mount") == 0 ? h->rec->luks_extra_mount_options : NULL);
        if (r < 0) {
                (void) rmdir(mnt);
                return r;
        }
        *ret_mnt = TAKE_PTR(mnt);
        return 0;
}

/* The home in the mounted file system: the directory named after the
 * user at its root, never followed if something else is there. */
int luks_open_home_dir(Home *h, const char *mnt, int *ret_fd) {
        _cleanup_close_ int top = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0)
                return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, mnt);
        int fd = openat(top, h->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
                return log_error_errno(EUCLEAN, "home %s: its file system holds no directory \"%s\" at its root, where "
                                       "systemd-homed's layout keeps the home", h->name, h->name);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot open the directory %s in its file system: %m", h->name,
                                       h->name);
        *ret_fd = fd;
        return 0;
}

/* The home, home_fd (the directory <user> of its file system, opened from
 * the private mount), mounted on the home directory, ID-mapped: what is
 * stored as nobody (or, for a home made before, as her UID) shows as hers,
 * other home UIDs' files as no one's. The private mount's nosuid, nodev and
 * the record's options are kept. */
int luks_mount_home(Home *h, int home_fd) {
        unsigned changed;
        int r = idmap_mount_home(h->name, home_fd, h->root_fd, h->name, h->rec->uid, false, &changed);
        if (r == IDMAP_MOUNTED_CHOWNED)
                home_notice(h, "file system cannot ID-map, changed owners instead (%u files and directories)", changed);
        else if (r == IDMAP_MOUNTED_AS_IS)
                home_notice(h, "file system cannot ID-map; mounted as it is (other home UIDs' files show as theirs)");
        return r < 0 ? r : 0;
}

/* What file system the mapped volume dev holds, as probed (a home made
 * elsewhere carries no binding that says): one a home may have, and the
 * record's fileSystemUuid if it names one, as systemd-homed checks. */
int luks_fs_type(Home *h, const char *dev, char type[static 16]) {
        char uuid[37];
        int r = fs_probe(dev, type, 16, uuid);
        if (r == -ENOMEDIUM)
                return log_error_errno(EUCLEAN, "home %s: no file system found inside its LUKS volume", h->name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot probe the file system on %s: %m", h->name, dev);
        if (strcmp(type, "btrfs") != 0 && strcmp(type, "ext4") != 0 && strcmp(type, "xfs") != 0)
                return log_error_errno(EUCLEAN, "home %s: its LUKS volume holds %s, not btrfs, ext4 or xfs", h->name,
                                       type);
        uint8_t want[16], have[16];
        if (h->rec->file_system_uuid && luks_uuid_parse(h->rec->file_system_uuid, want) >= 0 &&
            (luks_uuid_parse(uuid, have) < 0 || memcmp(want, have, 16) != 0))
                return log_error_errno(EUCLEAN, "home %s: its file system's UUID is %s, not the record's "
                                       "fileSystemUuid %s", h->name, uuid[0] ? uuid : "missing",
                                       h->rec->file_system_uuid);
        if (h->rec->file_system_type && strcmp(h->rec->file_system_type, type) != 0)
                log_notice("home %s: its file system is %s; the record says %s", h->name, type,
                           h->rec->file_system_type);
        return 0;
}
