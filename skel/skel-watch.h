/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hearthd's watch on the merged default skel (skel.h), so that a create
 * needs no scan of it (skel-template.h) while it is known unchanged.
 *
 * A worker's scan says which template is current (WORKER_STATUS_SKEL_TEMPLATE);
 * that is still true at the next create if nothing in the skel changed
 * since before the scan began. inotify says so: a watch on every directory
 * of every source (and on every file with more than one name, whose writes
 * through another name its directory would not hear of), set up before
 * the scan it vouches for — so a change made during the scan or after it
 * is an event, and the word of that scan is not taken.
 *
 * The ordering (skel_watch_begin() before the worker starts, _done() after
 * it exits): begin reads every queued event first, so a change whose call
 * returned before the create began is seen by that create; if the watch is
 * not set up, it is set up (each directory watched before it is listed, so
 * a directory made meanwhile is an event on its parent) and the create's
 * ticket is the count of changes before that; _done() reads the events
 * again and takes the worker's template as current only if the count is
 * still the ticket's. Any event at all — a write, a close after writing,
 * attributes (mode, owner, times, xattrs, ACLs, link count), a create,
 * delete or rename in a directory, a watched directory moved, deleted or
 * unmounted, the queue overflowing — drops every watch and what was
 * current: the next create scans, and sets the watch up again.
 *
 * What inotify does not see is checked at each begin, in time that does
 * not grow with the skel: each source path still opens the directory that
 * is watched (a symlink or a parent swapped, a mount on it, a source that
 * appeared or went), and the mounts at or below the sources are as they
 * were (/proc/self/mountinfo). Not watched, so never vouched for: sources
 * on file systems whose changes may come from elsewhere (NFS, FUSE… only
 * local ones are: Btrfs, ext4, XFS, tmpfs, overlayfs…), and skels with more
 * than max_watches directories and multiply linked files. Two kinds of
 * change inotify cannot report at all — a write through a shared writable
 * mapping, and a write through a name given to a skel file from outside
 * the skel after the watch was set up — are caught by the scan hearthd
 * makes again at least every SKEL_WATCH_MAX_AGE_USEC. */

/* How long a scan's word is taken at most. */
#define SKEL_WATCH_MAX_AGE_USEC (10ULL * 60 * 1000000)
/* Watches at most (inotify's max_user_watches is shared with every other
 * watcher of root's; the kernel's default is 8192 on small machines). */
#define SKEL_WATCH_MAX_DEFAULT 4096
/* After a set-up that failed (too many, no watches left, a remote file
 * system), how long before trying again: the attempt walks the skel. */
#define SKEL_WATCH_RETRY_USEC (60ULL * 1000000)

typedef struct SkelWatch SkelWatch;

/* root: the sources' prefix (NULL: "/"; tests). max_watches: 0 for
 * SKEL_WATCH_MAX_DEFAULT. Sets nothing up yet. */
int skel_watch_new(const char *root, size_t max_watches, SkelWatch **ret);
SkelWatch *skel_watch_free(SkelWatch *w);
static inline void skel_watch_freep(SkelWatch **w) {
        skel_watch_free(*w);
}

/* The inotify fd, for the event loop (readable: call skel_watch_process()). */
int skel_watch_fd(const SkelWatch *w);
/* Reads what is queued; any change drops the watch. Never fails. */
void skel_watch_process(SkelWatch *w);

/* A create is about to start a worker. *ret_current: the template token to
 * hand it (WORKER_OPT_SKEL_TEMPLATE), owned by w and valid until the next
 * call, or NULL (it scans). *ret_ticket: for skel_watch_done(). */
void skel_watch_begin(SkelWatch *w, const char **ret_current, uint64_t *ret_ticket);
/* Its worker ended: token, the template it found current (NULL: none or
 * it failed), becomes current if nothing changed since the ticket. */
void skel_watch_done(SkelWatch *w, uint64_t ticket, const char *token);

/* For tests and logs: whether the watch is set up, and how many. */
bool skel_watch_armed(const SkelWatch *w, size_t *ret_watches);
