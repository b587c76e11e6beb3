/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "macro.h"
#include "open-in-root.h"

/* Opens component of dir_fd: a directory on the way (final false), or the
 * target with the caller's flags; never through a symlink. */
static int open_component(int dir_fd, const char *component, bool final, int flags) {
        int fd = openat(dir_fd, component,
                        final ? flags | O_NOFOLLOW : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        /* A symlink is reported as such, not as "not a directory". */
        struct stat st;
        if ((errno == ENOTDIR || errno == ELOOP) && fstatat(dir_fd, component, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
        return -errno;
}

static int open_no_symlinks(int root_fd, const char *path, int flags) {
        _cleanup_close_ int fd = -1;
        const char *p = path;

        for (;;) {
                char component[NAME_MAX + 1];
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(component, p, n);
                component[n] = 0;
                p += n;
                if (strcmp(component, ".") == 0)
                        continue;
                /* openat2 would stop ".." at the root; this walk cannot. */
                if (strcmp(component, "..") == 0)
                        return -ELOOP;
                int next = open_component(fd >= 0 ? fd : root_fd, component, p[strspn(p, "/")] == 0, flags);
                if (next < 0)
                        return next;
                closep(&fd);
                fd = next;
        }
        /* The root itself. */
        if (fd < 0)
                fd = openat(root_fd, ".", flags);
        return fd < 0 ? -errno : TAKE_FD(fd);
}

int open_in_root(int root_fd, const char *path, int flags) {
        struct open_how how = { .flags = (uint64_t) flags, .resolve = RESOLVE_IN_ROOT };
        int fd;

        if (root_fd < 0) {
                fd = open(path, flags);
                return fd < 0 ? -errno : fd;
        }
        const char *rel = path + strspn(path, "/");
        fd = (int) syscall(SYS_openat2, root_fd, *rel ? rel : ".", &how, sizeof how);
        if (fd < 0 && errno == ENOSYS)
                return open_no_symlinks(root_fd, path, flags);
        return fd < 0 ? -errno : fd;
}
