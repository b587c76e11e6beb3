/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/stat.h>

/* For a directory about to be emptied: fd is it (opened O_NOFOLLOW), st
 * its stat. Returns > 0 when it removed the directory itself (e.g. a btrfs
 * subvolume, storage/home.c), 0 to go on, or a negative errno. */
typedef int (*RmRfDirHook)(int dir_fd, const char *name, int fd, const struct stat *st);

/* Removes name below dir_fd and all it holds: never following a symlink,
 * never into a mount (a mount point is -EBUSY, another file system met on
 * the way -EXDEV). A name already gone is fine. hook may be NULL. Returns
 * 0 or the first negative errno; the rest is still removed. */
int rm_rf_at(int dir_fd, const char *name, RmRfDirHook hook);

/* The same for everything in the directory fd, which stays. */
int rm_rf_children(int fd, RmRfDirHook hook);
