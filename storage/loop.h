/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Loop devices for image-file backed homes. Devices are attached with
 * autoclear, so the kernel detaches them once their last user (our fd, the
 * dm-crypt mapping) lets go: a killed worker cannot leak one for long. */

/* Attaches the file at path; returns the device node (/dev/loopN) and an
 * open fd on it. */
int loop_attach(const char *path, bool read_only, char **ret_dev, int *ret_fd);

/* Makes the device pick up a changed file size. */
int loop_refresh_size(int loop_fd);

/* The backing file of an attached loop device (for leftovers), or -ENOENT. */
int loop_backing_file(const char *dev, char **ret);

/* 1 if the loop device dev is attached to the file at path (the same
 * inode), 0 if not (or dev is no loop device, or path does not exist). */
int loop_backed_by(const char *dev, const char *path);
