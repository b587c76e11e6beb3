/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Loop devices for image-file backed homes. Devices are attached with
 * autoclear, so the kernel detaches them once their last user (our fd, the
 * dm-crypt mapping) lets go: a killed worker cannot leak one for long. */

/* Attaches the file (or block device) at path; returns the device node
 * (/dev/loopN) and an open fd on it. */
int loop_attach(const char *path, bool read_only, char **ret_dev, int *ret_fd);

/* The same for the size bytes at offset of it (a partition of an image):
 * the device is exactly that range. */
int loop_attach_range(const char *path, bool read_only, uint64_t offset, uint64_t size, char **ret_dev,
                      int *ret_fd);

/* Makes the device pick up a changed file size. */
int loop_refresh_size(int loop_fd);

/* Gives a device attached to a range a new size (the partition grew or
 * shrank), its offset unchanged. */
int loop_set_size(int loop_fd, uint64_t size);

/* The range a device is attached to: its offset, and its size limit (0:
 * to the end of the file). */
int loop_get_range(int loop_fd, uint64_t *ret_offset, uint64_t *ret_size);

/* The backing file of an attached loop device (for leftovers), or -ENOENT. */
int loop_backing_file(const char *dev, char **ret);

/* 1 if the loop device dev is attached to the file at path (the same
 * inode), 0 if not (or dev is no loop device, or path does not exist). */
int loop_backed_by(const char *dev, const char *path);
