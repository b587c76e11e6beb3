/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <systemd/sd-event.h>

/* The references that hold a home active: each the write end of a pipe a
 * session holds (AcquireHome, RefHome), whose read end we watch. When the
 * last one closes, the home's owner is told (empty). */

#define REFS_PER_HOME_MAX 256

typedef struct RefFd RefFd;
typedef int (*HomeRefsEmptyFn)(void *userdata);

typedef struct HomeRefs {
        const char *name;      /* the home's, for the log */
        sd_event *event;
        RefFd *list;
        HomeRefsEmptyFn empty; /* the last reference closed; its result is the event handler's */
        void *userdata;
} HomeRefs;

/* Hands out a new reference: *ret_fd, the write end, is the caller's. */
int home_refs_add(HomeRefs *r, bool please_suspend, int *ret_fd, RefFd **ret_ref);
/* Forgets a reference whose fd never reached its client. */
void home_refs_drop(HomeRefs *r, RefFd *ref);
/* After a deactivation: old sessions' fds hold nothing any more. */
void home_refs_clear(HomeRefs *r);
bool home_refs_any(const HomeRefs *r);
/* LockAllHomes locks a home only if it is held and every holder asked for it. */
bool home_refs_all_suspend(const HomeRefs *r);
