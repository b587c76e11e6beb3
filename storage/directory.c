/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Plain directory homes: stored in <root>/<user>.homedir, owned by the
 * user's UID on disk, mode 0700, and mounted at <root>/<user> while active
 * through the ID map UID → UID (idmap.h), which shows the files of other
 * home UIDs as nobody's. No size limit, nothing to unlock. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "backend.h"
#include "log.h"
#include "macro.h"

static int directory_make_top(Home *h, const char *temp, int *ret_fd) {
        if (mkdirat(h->root_fd, temp, 0700) < 0)
                return log_error_errno(errno, "home %s: cannot create directory in %s: %m", h->name, h->root);
        *ret_fd = openat(h->root_fd, temp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (*ret_fd < 0) {
                int r = log_error_errno(errno, "home %s: cannot open new directory: %m", h->name);
                (void) unlinkat(h->root_fd, temp, AT_REMOVEDIR);
                return r;
        }
        return 0;
}

static int directory_create(Home *h) {
        /* As homed: stored as her own UID, mapped to itself. */
        return home_create_in_root(h, directory_make_top, NULL, h->rec->uid);
}

static int require_present(Home *h) {
        _cleanup_close_ int fd = -1;
        return home_storage_open(h, &fd);
}

static int directory_activate(Home *h) {
        _cleanup_close_ int fd = -1;
        int r = home_storage_open(h, &fd);
        if (r >= 0)
                r = home_mount(h, fd);
        return r < 0 ? r : home_set_state(h, "active");
}

static int directory_deactivate(Home *h) {
        _cleanup_close_ int fd = -1;
        int r = home_storage_open(h, &fd);
        if (r >= 0)
                r = home_unmount(h, fd);
        return r < 0 ? r : home_set_state(h, "inactive");
}

static int directory_update(Home *h) {
        return require_present(h);
}

static int directory_inspect(Home *h) {
        return home_root_entry_inspect(h);
}

static int directory_exists(Home *h) {
        return home_storage_exists(h);
}

const StorageBackend storage_directory = {
        .name = "directory",
        .storage = USER_STORAGE_DIRECTORY,
        .create = directory_create,
        .activate = directory_activate,
        .deactivate = directory_deactivate,
        .update = directory_update,
        .resize = NULL, /* no size to enforce: use subvolume or luks */
        .passwd = NULL,
        .fixate = home_root_entry_fixate,
        .inspect = directory_inspect,
        .remove = home_remove_from_root,
        .exists = directory_exists,
};
