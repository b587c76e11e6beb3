/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home-guard.h"
#include "home-layout.h"
#include "leftovers.h"
#include "log.h"
#include "macro.h"
#include "user-record.h"
#include "worker-protocol.h"

#define USERS_MAX 4096

/* The user of a leftover's name, or NULL if name is not one. */
static char *leftover_user(const char *name) {
        const char *user;
        size_t n;
        if (!worker_leftover_parse(name, &user, &n))
                return NULL;
        char *u = strndup(user, n);
        if (u && !valid_user_name(u))
                u = mfree(u);
        return u;
}

static int add_user(char ***users, size_t *n, char *u) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*users)[i], u) == 0) {
                        free(u);
                        return 0;
                }
        if (*n >= USERS_MAX) {
                free(u);
                return 0; /* the rest are found at the next start */
        }
        char **p = realloc(*users, (*n + 2) * sizeof *p);
        if (!p) {
                free(u);
                return -ENOMEM;
        }
        p[(*n)++] = u;
        p[*n] = NULL;
        *users = p;
        return 0;
}

int leftovers_lock_down(const char *home_root, const char *user, char ***ret_users) {
        _cleanup_strv_free_ char **users = NULL;
        size_t n_users = 0;
        int found = 0;

        int fd = open(home_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : log_error_errno(errno, "cannot open the home root %s: %m", home_root);
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return log_oom();
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                char *u = leftover_user(de->d_name);
                if (!u)
                        continue;
                if (user && strcmp(u, user) != 0) {
                        free(u);
                        continue;
                }
                struct stat st;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode)) {
                        free(u);
                        continue;
                }
                if ((st.st_uid != 0 || st.st_gid != 0) && fchownat(fd, de->d_name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
                        log_error_errno(errno, "home %s: cannot take %s/%s from its user: %m", u, home_root,
                                        de->d_name);
                if (fchmodat(fd, de->d_name, S_ISDIR(st.st_mode) ? 0700 : 0600, 0) < 0)
                        log_error_errno(errno, "home %s: cannot close %s/%s: %m", u, home_root, de->d_name);
                log_info("home %s: %s/%s is left of an interrupted operation; it will be removed", u, home_root,
                         de->d_name);
                found++;
                if (ret_users && add_user(&users, &n_users, u) < 0) {
                        closedir(d);
                        return log_oom();
                }
                if (!ret_users)
                        free(u);
        }
        closedir(d);
        if (ret_users)
                *ret_users = TAKE_PTR(users);
        return found;
}

int leftovers_take_home(const char *home_root, const char *user, uid_t uid, uint64_t since_usec) {
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char rnd[6];
        char suffix[7], *from = NULL, *to = NULL;
        int r = 0;

        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return log_error_errno(errno ?: EIO, "cannot get random bytes: %m");
        for (size_t i = 0; i < sizeof rnd; i++)
                suffix[i] = chars[rnd[i] % (sizeof chars - 1)];
        suffix[6] = 0;
        if (asprintf(&from, "%s/%s" HOME_STORAGE_SUFFIX, home_root, user) < 0 ||
            asprintf(&to, "%s/" WORKER_LEFTOVER_PREFIX "remove.%s.%s", home_root, user, suffix) < 0) {
                free(from);
                return log_oom();
        }
        /* Stored as nobody (subvolume) or as her UID (directory). */
        struct stat st;
        if (lstat(from, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_uid != uid && st.st_uid != UID_NOBODY) ||
            (uint64_t) st.st_ctim.tv_sec * USEC_PER_SEC + (uint64_t) st.st_ctim.tv_nsec / 1000 < since_usec) {
                free(from);
                free(to);
                return 0;
        }
        /* The killed create may have guarded it: a mount's name cannot be
         * renamed. (Nothing in it is set-UID: she never had it active.) */
        int root_fd = open(home_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const char *storage = strrchr(from, '/') + 1;
        if (root_fd >= 0)
                (void) home_unguard(user, root_fd, storage);
        if (rename(from, to) < 0 && errno != ENOENT) {
                r = log_error_errno(errno, "home %s: cannot move %s out of the way: %m", user, from);
                if (root_fd >= 0)
                        (void) home_guard(user, root_fd, storage);
        } else if (r == 0 && access(to, F_OK) == 0)
                log_info("home %s: %s was made by a create that was killed; removing it", user, from);
        if (root_fd >= 0)
                close(root_fd);
        free(from);
        free(to);
        return r;
}
