/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fileio.h"
#include "home-dm.h"
#include "macro.h"

int home_dm_name(const char *user, bool legacy, char buf[static HOME_DM_NAME_MAX]) {
        int n = snprintf(buf, HOME_DM_NAME_MAX, "%s%s", legacy ? HOME_DM_LEGACY_PREFIX : HOME_DM_PREFIX, user);
        return n > 0 && n < HOME_DM_NAME_MAX ? 0 : -ENAMETOOLONG;
}

int dm_uuid_of(const char *name, char *buf, size_t size) {
        _cleanup_free_ char *node = NULL, *sys = NULL, *text = NULL;
        struct stat st;
        size_t len;

        if (strchr(name, '/') || asprintf(&node, "/dev/mapper/%s", name) < 0)
                return -EINVAL;
        if (stat(node, &st) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        if (asprintf(&sys, "/sys/dev/block/%u:%u/dm/uuid", major(st.st_rdev), minor(st.st_rdev)) < 0)
                return -ENOMEM;
        int r = read_file_bounded(sys, 4096, &text, &len); /* sysfs attributes claim a page */
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        if (strlen(text) >= size)
                return -ENAMETOOLONG;
        memcpy(buf, text, strlen(text) + 1);
        return 0;
}

bool dm_uuid_is_luks2_named(const char *uuid, const char *name) {
        size_t p = strlen(HOME_DM_UUID_LUKS2);
        if (strncmp(uuid, HOME_DM_UUID_LUKS2, p) != 0)
                return false;
        for (size_t i = 0; i < 32; i++)
                if (!strchr("0123456789abcdef", uuid[p + i]) || !uuid[p + i])
                        return false;
        return uuid[p + 32] == '-' && strcmp(uuid + p + 33, name) == 0;
}
