/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "home-mark.h"
#include "log.h"
#include "macro.h"
#include "probe.h"

static int mark_path(const char *runtime_dir, const char *user, char **ret) {
        return asprintf(ret, "%s/homes/%s", runtime_dir, user) < 0 ? -ENOMEM : 0;
}

int home_mark_write(const char *runtime_dir, const char *user, HomeState state) {
        _cleanup_free_ char *path = NULL, *dir = NULL;
        int r;

        if (mark_path(runtime_dir, user, &path) < 0 || asprintf(&dir, "%s/homes", runtime_dir) < 0)
                return log_oom();
        if (state != HOME_ACTIVE && state != HOME_LOCKED) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return log_warning_errno(errno, "home %s: cannot remove %s: %m", user, path);
                return 0;
        }
        r = mkdir_parents(dir, 0700);
        if (r < 0)
                return log_warning_errno(r, "cannot create %s: %m", dir);
        const char *s = home_state_to_string(state);
        r = write_file_atomic(path, s, strlen(s), 0600, 0);
        if (r < 0)
                return log_warning_errno(r, "home %s: cannot write %s: %m", user, path);
        return 0;
}

static HomeState read_mark(const char *runtime_dir, const char *user) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;

        if (mark_path(runtime_dir, user, &path) < 0 || read_file_bounded(path, 64, &text, &len) < 0)
                return HOME_INACTIVE;
        return home_state_from_mark(text);
}

/* What is there now, without running a worker per home: the storage's
 * backend tells (storage_probe()), hearthd's mark must agree. */
HomeState home_state_now(const char *runtime_dir, const char *home_root, const UserRecord *rec, char **ret_reason) {
        StorageProbe p;

        *ret_reason = NULL;
        if (storage_probe(rec, home_root, &p) < 0)
                return HOME_DIRTY;
        return home_state_derive(read_mark(runtime_dir, rec->user_name), &p, ret_reason);
}
