/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "home-layout.h"
#include "macro.h"
#include "probe.h"

typedef int (*ProbeFn)(const UserRecord *rec, const char *home_root, StorageProbe *ret);

/* Beside storage_backend_find()'s table (backend.c): a new backend adds
 * its probe here too. */
static const struct {
        UserStorage storage;
        ProbeFn probe;
} probes[] = {
        { USER_STORAGE_DIRECTORY, storage_probe_top },
        { USER_STORAGE_SUBVOLUME, storage_probe_top },
        { USER_STORAGE_LUKS, storage_probe_luks },
        { USER_STORAGE_FSCRYPT, storage_probe_top },
};

int storage_probe_top(const UserRecord *rec, const char *home_root, StorageProbe *ret) {
        _cleanup_free_ char *storage = NULL;
        struct statx stx;
        struct stat st;

        if (asprintf(&storage, "%s/%s" HOME_STORAGE_SUFFIX, home_root, rec->user_name) < 0)
                return -ENOMEM;
        *ret = (StorageProbe) { .present = lstat(storage, &st) == 0, .has_mapping = true, .mount = true };
        snprintf(ret->mapping, sizeof ret->mapping, "%s/%s", home_root, rec->user_name);
        ret->mapped = statx(AT_FDCWD, ret->mapping, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
                      (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
        return 0;
}

int storage_probe(const UserRecord *rec, const char *home_root, StorageProbe *ret) {
        for (size_t i = 0; i < ELEMENTSOF(probes); i++)
                if (probes[i].storage == rec->storage)
                        return probes[i].probe(rec, home_root, ret);
        return storage_probe_top(rec, home_root, ret);
}
