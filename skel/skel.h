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

/* The same sources opened as skel_seed() opens them (for the template's
 * scan, skel-template.h): n of them, in precedence order. Errors are
 * logged. */
#define SKEL_SOURCES_MAX 3
typedef struct SkelSources {
        size_t n;
        int fd[SKEL_SOURCES_MAX];             /* each source's top directory */
        char *path[SKEL_SOURCES_MAX];         /* with root prefixed, for messages */
        const char *origin[SKEL_SOURCES_MAX]; /* as the system sees it: "/etc/skel"… */
} SkelSources;
int skel_sources_open(const char *root, SkelSources *ret);
void skel_sources_done(SkelSources *s);

/* The seeding's rule for symlinks: 1 if target, read from a link in the
 * source whose top the system sees as origin, is an absolute path inside
 * it, which skel_seed() rewrites to the same place below home_path
 * (*ret_rest: the part below origin, "" for origin itself); 0 if it is kept
 * as it is; -ENOMEM. */
int skel_link_into_source(const char *target, const char *origin, char **ret_rest);

/* Whether skel_seed() labels what it makes by its path below home_path
 * (SELinux is enabled): then two homes' copies differ by more than owner. */
bool skel_labels_by_path(void);
