/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Seeding homes from a skeleton tree.
 *
 * Sources, merged (hermetic /usr): /etc/skel, then /usr/etc/skel, then
 * /usr/share/factory/etc/skel. An entry from an earlier source wins over the
 * same relative path in a later one; directories merge; an entry in an
 * earlier source that is a symlink to /dev/null masks that path (it is not
 * copied and later sources' entries at that path are skipped). An explicit
 * source (a record's skeletonDirectory, or --skel DIR) replaces the merge.
 *
 * The copy keeps regular files (FICLONE reflink where possible, else
 * copy_file_range, else read/write), directories, symlinks (never followed),
 * hard links within the tree, modes, atime/mtime, xattrs in the user. and
 * security. namespaces and POSIX ACLs where the target allows; everything is
 * owned by uid:gid. Device nodes, sockets and FIFOs are skipped with a
 * warning. All walking is openat()-relative below the target's fd, so nothing
 * is ever written outside it. An absolute symlink pointing inside the source
 * is rewritten to point at the same place below home_path. With SELinux
 * enabled, new entries get the label the policy gives their path below
 * home_path. A file is either copied whole or not present. */

typedef struct SkelOptions {
        uid_t uid;
        gid_t gid;
        /* The path the home will have when in use (e.g. /home/alice), for
         * symlink rewriting and SELinux labels; the target fd may be a
         * temporary location. */
        const char *home_path;
        /* Explicit source directory; NULL merges the default sources. */
        const char *skel_dir;
        /* Prefix for the default sources (hearth-skel --root); NULL is "/". */
        const char *root;
        /* The request came from a user record, which its user may have had a
         * hand in: skel_dir must be root's and writable by no one else along
         * its whole path (a sticky directory counts as safe), one the new
         * user could reach and list herself, and nothing the
         * new user could not have read herself (by owner, group or other
         * bits) is copied: such entries are skipped with a warning. */
        bool for_user_record;
} SkelOptions;

/* Statistics for tests and benchmarks. */
typedef struct SkelStats {
        unsigned files, dirs, symlinks, hardlinks, skipped;
        unsigned reflinked; /* files copied with FICLONE */
        unsigned long long bytes;
} SkelStats;

/* Seeds the (empty) directory target_fd. Returns 0 or a negative errno; the
 * error is logged once with the path it concerns. On failure, entries copied
 * so far remain: callers building a home in a temporary place remove it. */
int skel_seed(int target_fd, const SkelOptions *opts, SkelStats *stats);

/* The default sources that exist below root (NULL = "/"), in precedence order.
 * Returns a NULL-terminated list of absolute paths (with root prefixed). */
int skel_default_sources(const char *root, char ***ret);
