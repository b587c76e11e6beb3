/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

#define TEMP_PREFIX ".#hearth."

int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is
         * refused below like anything else that is not a regular file. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;

        /* Sized by the file, not the bound: a 1 MiB bound is read for every
         * small config file. sysfs and procfs files claim a size they do not
         * have, so the buffer still grows as reads fill it. */
        size_t cap = (size_t) st.st_size > 4096 ? (size_t) st.st_size : 4096;
        cap = (cap < max ? cap : max) + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (n == cap) {
                        /* Not realloc(): what was read may be a secret (an
                         * identity file, a credential), and realloc would
                         * leave the old copy in freed memory unwiped. */
                        size_t want = cap * 2 < max + 1 ? cap * 2 : max + 1;
                        char *grown = malloc(want);
                        if (!grown)
                                return -ENOMEM;
                        memcpy(grown, buf, n);
                        explicit_bzero(buf, n);
                        free(buf);
                        buf = grown;
                        cap = want;
                }
                /* Read one byte past the limit to notice a file that grew. */
                ssize_t k = read(fd, buf + n, cap - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = negative_errno();
                        explicit_bzero(buf, n);
                        return e;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > max) {
                        explicit_bzero(buf, n);
                        return -EFBIG;
                }
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = n;
        return 0;
}

static int write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t k = write(fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

static int fsync_parent(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -1;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int is_atomic_temp_name(const char *name) {
        return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, WriteFlags flags) {
        _cleanup_free_ char *copy = strdup(path), *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!copy)
                return -ENOMEM;
        char *slash = strrchr(copy, '/');
        const char *base = slash ? slash + 1 : copy;
        if (slash)
                *slash = 0;
        if (asprintf(&tmp, "%s%s" TEMP_PREFIX "%sXXXXXX", slash ? copy : "", slash ? "/" : "", base) < 0)
                return -ENOMEM;

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fchmod(fd, mode) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = write_all(fd, data, len);
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }

        if (flags & WRITE_NO_REPLACE) {
                if (link(tmp, path) < 0) {
                        r = negative_errno();
                        goto fail;
                }
                (void) unlink(tmp);
        } else if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        return fsync_parent(path);

fail:
        (void) unlink(tmp);
        return r;
}

int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                /* A trailing slash does not end a parent: "a/b/" gets mode on b. */
                if (*s != '/' || s[1] == 0)
                        continue;
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int read_line_bounded(FILE *f, char *buf, size_t max) {
        size_t n = 0;
        bool nul = false, any = false;
        int c;

        while ((c = getc_unlocked(f)) != EOF) {
                any = true;
                if (c == '\n')
                        break;
                nul = nul || c == 0;
                if (n < max)
                        buf[n] = (char) c;
                n++;
        }
        if (ferror(f))
                return -EIO;
        if (!any)
                return 0;
        if (n > max)
                return -E2BIG;
        if (nul)
                return -EBADMSG;
        buf[n] = 0;
        return 1;
}

int pread_full(int fd, void *buf, size_t size, uint64_t offset) {
        uint8_t *p = buf;
        while (size > 0) {
                ssize_t k = pread(fd, p, size, (off_t) offset);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return -EIO; /* past the end of the device */
                p += k;
                size -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}

int pwrite_full(int fd, const void *buf, size_t size, uint64_t offset) {
        const uint8_t *p = buf;
        while (size > 0) {
                ssize_t k = pwrite(fd, p, size, (off_t) offset);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return -EIO;
                p += k;
                size -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}
