/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

/* Who uses a block device (or an image file), for the operations that
 * overwrite one: create formatting a device, remove wiping a header.
 * An exclusive open (O_EXCL) only sees exclusive holders: a mounted file
 * system, a device-mapper table, swap. A loop device whose backing file is
 * the device, a process that opened it for raw I/O (a database, a VM) and
 * a mount through a loop device hold no such claim; these look for them.
 *
 * For a block device, it and (for a whole disk) each of its partitions
 * are in use if any of them
 *   - has holders (/sys/class/block/<dev>/holders: dm, md, bcache),
 *   - backs a loop device (sysfs backing_file, LOOP_GET_STATUS64),
 *   - is mounted (/proc/self/mountinfo, by device number or source),
 *   - is open in a process (/proc/<pid>/fd) other than this one, still
 *     after up to 2 s: udev's workers open a device that changed to probe
 *     it and let go by themselves; a process is never excused by its name
 *     (any process can name itself "(udev-worker)").
 * For an image file: another loop device than `except` backs onto it, or
 * a process has it open. For a block device too, the loop device `except`
 * (the caller's own, over a partition of it) does not count.
 *
 * Returns 1 and a description in why ("backs /dev/loop0", "held by dm-3
 * (/dev/mapper/rescue)", "mounted on /mnt", "open in process 42 (sleep)"),
 * 0 if nobody was found, or a negative errno if the device cannot be
 * examined. */
int device_busy(const char *node, const char *except, char *why, size_t why_size);
int image_file_busy(const char *path, const char *except, char *why, size_t why_size);
