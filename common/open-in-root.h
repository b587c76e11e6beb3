/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Opens path (absolute) as the system below root_fd sees it, as
 * systemd-sysusers --root resolves paths: symlinks, even absolute ones,
 * resolve inside the root (openat2's RESOLVE_IN_ROOT). Before Linux 5.6
 * (no openat2) the path is walked one component at a time and every
 * symlink, and "..", is refused with -ELOOP: stricter, never outside the
 * root. root_fd < 0 is the running system (a plain open). flags are
 * open()'s. Returns the fd or a negative errno, not logged. */
int open_in_root(int root_fd, const char *path, int flags);
