/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/loop.h>

#include "fileio.h"
#include "log.h"
#include "loop.h"
#include "macro.h"

int loop_attach(const char *path, bool read_only, char **ret_dev, int *ret_fd) {
        return loop_attach_range(path, read_only, 0, 0, ret_dev, ret_fd);
}

int loop_attach_range(const char *path, bool read_only, uint64_t offset, uint64_t size, char **ret_dev,
                      int *ret_fd) {
        _cleanup_close_ int file_fd = -1, ctl = -1;
        int mode = read_only ? O_RDONLY : O_RDWR;

        file_fd = open(path, mode | O_CLOEXEC | O_NOFOLLOW);
        if (file_fd < 0)
                return negative_errno();
        ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return negative_errno();

        /* Another process may take the free device between our two calls:
         * then LOOP_CONFIGURE fails with EBUSY and we ask again. */
        for (int attempt = 0; attempt < 64; attempt++) {
                _cleanup_close_ int loop_fd = -1;
                char dev[32];
                int n = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (n < 0)
                        return negative_errno();
                snprintf(dev, sizeof dev, "/dev/loop%d", n);
                loop_fd = open(dev, mode | O_CLOEXEC);
                if (loop_fd < 0) {
                        if (errno == ENOENT) {
                                usleep(10000); /* udev/devtmpfs still making the node */
                                continue;
                        }
                        return negative_errno();
                }
                struct loop_config config = {
                        .fd = (uint32_t) file_fd,
                        .info = {
                                .lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0),
                                .lo_offset = offset,
                                .lo_sizelimit = size,
                        },
                };
                snprintf((char *) config.info.lo_file_name, sizeof config.info.lo_file_name, "%s", path);
                if (ioctl(loop_fd, LOOP_CONFIGURE, &config) < 0) {
                        if (errno == EBUSY)
                                continue;
                        return negative_errno();
                }
                *ret_dev = strdup(dev);
                if (!*ret_dev)
                        return -ENOMEM;
                *ret_fd = TAKE_FD(loop_fd);
                return 0;
        }
        return -EBUSY;
}

int loop_refresh_size(int loop_fd) {
        return ioctl(loop_fd, LOOP_SET_CAPACITY, 0) < 0 ? negative_errno() : 0;
}

int loop_set_size(int loop_fd, uint64_t size) {
        struct loop_info64 info;

        if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) < 0)
                return negative_errno();
        if (info.lo_sizelimit == size)
                return loop_refresh_size(loop_fd);
        info.lo_sizelimit = size;
        /* Kernels before 5.x refuse (EAGAIN) while the device's page cache
         * is being dropped; it empties by itself. */
        for (int attempt = 0;; attempt++) {
                if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) == 0)
                        return 0;
                if (errno != EAGAIN || attempt >= 50)
                        return negative_errno();
                (void) fsync(loop_fd);
                usleep(20000);
        }
}

int loop_get_range(int loop_fd, uint64_t *ret_offset, uint64_t *ret_size) {
        struct loop_info64 info;

        if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) < 0)
                return negative_errno();
        *ret_offset = info.lo_offset;
        *ret_size = info.lo_sizelimit;
        return 0;
}

int loop_backing_file(const char *dev, char **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *name = strrchr(dev, '/');

        if (!name || asprintf(&path, "/sys/block/%s/loop/backing_file", name + 1) < 0)
                return -ENOMEM;
        int r = read_file_bounded(path, 4096, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        *ret = TAKE_PTR(text);
        return 0;
}

int loop_backed_by(const char *dev, const char *path) {
        struct loop_info64 info;
        struct stat st;
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
                return errno == ENXIO || errno == ENOTTY || errno == EINVAL ? 0 : negative_errno();
        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return info.lo_device == st.st_dev && info.lo_inode == st.st_ino;
}
