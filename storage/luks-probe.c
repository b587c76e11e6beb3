/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LUKS backend's names as seen from outside (probe.h): where a home's
 * image is, and whether its mapping is set up. No libcryptsetup here:
 * hearthd links this. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "home-dm.h"
#include "home-layout.h"
#include "macro.h"
#include "probe.h"

int luks_image_of(const UserRecord *rec, const char *root, char **ret) {
        if (rec->image_path && strncmp(rec->image_path, "/dev/", 5) == 0)
                *ret = strdup(rec->image_path);
        else if (asprintf(ret, "%s/%s" HOME_IMAGE_SUFFIX, root, rec->user_name) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

/* Present: the image or device is there. Mapped: under the current name,
 * or, when activated before an upgrade, under the old one with a LUKS2 dm
 * UUID (home-dm.h). Nothing is opened: luks_find_mapping() proves a
 * mapping the home's before anything is done to it. */
int storage_probe_luks(const UserRecord *rec, const char *home_root, StorageProbe *ret) {
        _cleanup_free_ char *image = NULL;
        char name[HOME_DM_NAME_MAX], uuid[256];
        struct stat st;

        *ret = (StorageProbe) { .has_mapping = true };
        if (luks_image_of(rec, home_root, &image) < 0 || home_dm_name(rec->user_name, false, name) < 0)
                return -ENOMEM;
        ret->present = lstat(image, &st) == 0;
        snprintf(ret->mapping, sizeof ret->mapping, "/dev/mapper/%s", name);
        ret->mapped = lstat(ret->mapping, &st) == 0;
        if (!ret->mapped && home_dm_name(rec->user_name, true, name) >= 0 &&
            dm_uuid_of(name, uuid, sizeof uuid) >= 0 && dm_uuid_is_luks2_named(uuid, name)) {
                snprintf(ret->mapping, sizeof ret->mapping, "/dev/mapper/%s", name);
                ret->mapped = true;
        }
        return 0;
}
