/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rm-rf-probe DIR: does home_rm_rf_at() look nested subvolumes up by path?
 * DIR (on Btrfs) gets a subvolume "victim" and a subvolume "doomed" holding
 * w/d0/victim (a nested subvolume) and w/s0, a symlink to DIR. This program
 * defines openat(), so it is also what libbtrfsutil calls: when anything
 * opens "w/d0", d0 and s0 are swapped first — what the home's user, still
 * inside, can do at any moment. A delete that follows that path deletes
 * DIR/victim. Exit 0 when DIR/victim survives and "doomed" is gone. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <btrfsutil.h>

#include "home.h"

static const char *doomed_w;
static int swaps;

/* The symbol libbtrfsutil links against, whatever _FILE_OFFSET_BITS makes
 * of the name "openat" here. */
int probe_openat(int dir_fd, const char *path, int flags, ...) __asm__("openat");
int probe_openat(int dir_fd, const char *path, int flags, ...) {
        mode_t mode = 0;

        if (flags & (O_CREAT | O_TMPFILE)) {
                va_list ap;
                va_start(ap, flags);
                mode = va_arg(ap, mode_t);
                va_end(ap);
        }
        if (doomed_w && strcmp(path, "w/d0") == 0) {
                char d[8192], s[8192];
                snprintf(d, sizeof d, "%s/d0", doomed_w);
                snprintf(s, sizeof s, "%s/s0", doomed_w);
                if (renameat2(AT_FDCWD, d, AT_FDCWD, s, RENAME_EXCHANGE) == 0)
                        swaps++;
        }
        return (int) syscall(SYS_openat, dir_fd, path, flags, mode);
}

static void must(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "rm-rf-probe: %s: %s\n", what, strerror(errno));
                exit(2);
        }
}

int main(int argc, char **argv) {
        char path[8192], w[4096];
        struct stat st;
        int dir_fd;

        if (argc != 2) {
                fprintf(stderr, "usage: rm-rf-probe DIR\n");
                return 2;
        }
        snprintf(path, sizeof path, "%s/victim", argv[1]);
        must(btrfs_util_create_subvolume(path, 0, NULL, NULL) == BTRFS_UTIL_OK, "create victim");
        snprintf(path, sizeof path, "%s/doomed", argv[1]);
        must(btrfs_util_create_subvolume(path, 0, NULL, NULL) == BTRFS_UTIL_OK, "create doomed");
        snprintf(w, sizeof w, "%s/doomed/w", argv[1]);
        must(mkdir(w, 0755) == 0, "mkdir w");
        snprintf(path, sizeof path, "%s/d0", w);
        must(mkdir(path, 0755) == 0, "mkdir d0");
        snprintf(path, sizeof path, "%s/d0/victim", w);
        must(btrfs_util_create_subvolume(path, 0, NULL, NULL) == BTRFS_UTIL_OK, "create nested victim");
        snprintf(path, sizeof path, "%s/s0", w);
        must(symlink(argv[1], path) == 0, "symlink s0");

        dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        must(dir_fd >= 0, "open DIR");
        doomed_w = w;
        int r = home_rm_rf_at(dir_fd, "doomed");
        doomed_w = NULL;

        bool victim = fstatat(dir_fd, "victim", &st, AT_SYMLINK_NOFOLLOW) == 0;
        bool doomed = fstatat(dir_fd, "doomed", &st, AT_SYMLINK_NOFOLLOW) == 0;
        printf("home_rm_rf_at: %d (%s); paths swapped under it: %d; victim %s; doomed %s\n", r,
               r < 0 ? strerror(-r) : "ok", swaps, victim ? "kept" : "DELETED", doomed ? "still there" : "gone");
        return victim && !doomed && r == 0 ? 0 : 1;
}
