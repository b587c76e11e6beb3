/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The filesystem inside an encrypted home: make, check, mount, grow and
 * shrink, with the distributions' own tools (mkfs.*, e2fsck, resize2fs,
 * xfs_growfs) where the kernel has no interface for it. No secret is ever on
 * a command line here. Errors are logged with the tool's last line of output. */

/* Smallest size worth making for the type; -EINVAL for an unknown type. */
int fs_min_size(const char *fstype, uint64_t *ret);

/* Makes a file system labelled label, with the UUID uuid (NULL: the
 * tool's own random one). */
int fs_make(const char *fstype, const char *dev, const char *label, const char *uuid);

/* What file system dev holds, as blkid sees it: its type (into type,
 * type_size bytes) and UUID (lower case, 36 characters). -ENOMEDIUM if
 * none (or ambiguous signatures), other negative errno if dev cannot be
 * read. */
int fs_probe(const char *dev, char *type, size_t type_size, char uuid[static 37]);

/* ext4: e2fsck -p; xfs: xfs_repair -n; btrfs: nothing (it checks itself). */
int fs_check(const char *fstype, const char *dev);

/* Mounts with nosuid,nodev plus extra_options (comma-separated, may be
 * NULL): generic flags (ro, noatime, …) become mount flags, the rest is
 * passed to the filesystem. */
int fs_mount(const char *fstype, const char *dev, const char *where, const char *extra_options);

/* Grows to fill the device (online: mountpoint set) or, for ext4 offline,
 * by device. */
int fs_grow(const char *fstype, const char *dev, const char *mountpoint);

/* Shrinks to new_size bytes. btrfs: online only; ext4: offline only (after
 * a forced check); xfs: -EOPNOTSUPP. */
int fs_shrink(const char *fstype, const char *dev, const char *mountpoint, uint64_t new_size);

/* Resizes the btrfs mounted on mountpoint, on its device dev, to bytes (0 =
 * all of the device). The device's id in the filesystem is looked up (a
 * filesystem whose first device was replaced has no device 1); fs_grow()
 * and fs_shrink() go through it too. Logged as "what: …"; -ENOSPC when the
 * data does not fit. */
int fs_btrfs_resize_dev(const char *what, const char *mountpoint, dev_t dev, uint64_t bytes);

/* Runs argv (argv[0] looked up in PATH) with stdin on /dev/null and stderr
 * captured; on failure logs "what: <last line of stderr>". stdout goes to
 * /dev/null, or with out set into out (NUL-terminated, truncated to size). */
int run_tool(const char *what, char *const argv[]);
int run_tool_output(const char *what, char *const argv[], char *out, size_t size);

/* How small the filesystem could become, in bytes: btrfs asks the mounted
 * filesystem, ext4 resize2fs -P; xfs cannot shrink (its current size). */
int fs_min_estimate(const char *fstype, const char *dev, const char *mountpoint, uint64_t *ret);
