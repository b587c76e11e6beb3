/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdint.h>
#include <sys/types.h>

/* What killed workers leave in the home root: hidden entries named
 * ".#hearth-<what>.<user>.<XXXXXX>" (storage/home.c makes them). Until a
 * worker deletes them (hearth-work clean) they may hold a user's files
 * owned by her UID; a later home given that UID must not read them. */

/* Makes the top of every leftover of user (NULL: of anyone) root's and
 * closed (0700 directories, 0600 files): cheap, done at once, before the
 * slow deletion. *ret_users (if given): the distinct users with leftovers,
 * a NULL-terminated list to strv_free(). Returns how many were found. */
int leftovers_lock_down(const char *home_root, const char *user, char ***ret_users);

/* A create killed after it moved the home into place: <root>/<user>.homedir
 * (a directory or subvolume home's storage) is renamed to a remove leftover
 * (then locked down and deleted like one). Only for a name whose create just
 * failed, and only if <root>/<user>.homedir is that create's: owned by uid or
 * by nobody (as storage/ stores them) and put there (ctime) since since_usec
 * (CLOCK_REALTIME); an older home of the name (unregistered) is kept. */
int leftovers_take_home(const char *home_root, const char *user, uid_t uid, uint64_t since_usec);
