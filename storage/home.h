/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "size.h"
#include "user-record.h"
#include "worker-protocol.h"

/* One home as the worker sees it while running one operation.
 *
 * Homes live directly below a home root: /home, or $HEARTH_HOME_ROOT (tests).
 * homeDirectory must be <root>/<userName>; everything is done relative to an
 * fd of the root opened without following symlinks, so a symlink planted in
 * the path cannot redirect a create or a remove elsewhere.
 *
 * Work in progress is hidden under names starting with ".#hearth-" in the
 * root and renamed into place at the end, so a killed worker leaves the home
 * as it was or as requested; leftovers of a killed worker are removed by the
 * next operation on that home (which holds the home's lock). */

typedef struct Home {
        UserRecord *rec;
        const char *name;  /* rec->user_name */
        char *root;        /* the home root, e.g. /home */
        char *path;        /* <root>/<name> */
        int root_fd;
        int lock_fd;
        char *state;       /* for the status section: "active", "inactive", … */
        bool force;        /* deactivate even while in use */
        bool wipe;         /* create: erase what a block device holds (never one in use or another home's) */
        uint64_t size_request; /* resize: HEARTH_SIZE_RECORD (the record's diskSize), _MIN or _MAX (size.h) */
        json_object *quota_adopted; /* subvolume homes: subvolumes inside put into its quota group by this run */
        uint32_t tpm_tries_below;   /* ask the TPM only while its counter is below this (UINT32_MAX: no limit) */
        WorkerTpmReport tpm_report; /* what the TPM said, for hearthd (worker-protocol.h) */
} Home;

const char *home_root_default(void);

/* Checks the record for the worker's needs (user name, home-range UID, GID,
 * homeDirectory below the root), opens the root and takes the home's lock.
 * -EBUSY when another operation holds the lock. */
int home_open(UserRecord *rec, Home **ret);
Home *home_free(Home *h);
static inline void home_freep(Home **h) {
        home_free(*h);
}
#define _cleanup_home_ __attribute__((cleanup(home_freep)))

/* A fresh hidden name in the root for work in progress: ".#hearth-<what>.<user>.XXXXXX"
 * with the X's replaced. */
int home_temp_name(Home *h, const char *what, char **ret);

/* Removes leftovers of killed workers for this home, each first made
 * root's and closed (0700/0600) so that none stays readable by the user's
 * UID if this is interrupted too. Returns how many went, or the first error. */
int home_clean_leftovers(Home *h);

/* Moves the hidden entry into place at <root>/<name>, failing if something
 * is already there. */
int home_rename_into_place(Home *h, const char *temp);

/* Renames the home out of the way to a hidden name (so it is gone at once)
 * and returns that name; then the caller deletes it at leisure. */
int home_rename_away(Home *h, char **ret);

/* Sets ownership to the record's uid:gid and mode 0700 on an entry of the root. */
int home_chown_top(Home *h, int fd);

/* Seeds a new home (fd: its top directory) from skel. */
int home_seed(Home *h, int fd);

/* Adds or replaces binding.<machine-id> and status.<machine-id> from what
 * the home is now. status_extra may add fields (usage…); NULL for none. */
int home_update_sections(Home *h, json_object *status_extra);

/* rm_rf_at (common/rm-rf.h) that deletes a btrfs subvolume met on the way
 * as one, its quota limits first. */
int home_rm_rf_at(int dir_fd, const char *name);

/* The create and remove flows shared by backends whose home is an entry of
 * the root: make_top creates the entry named temp (a directory, a
 * subvolume…); the flow seeds it, sets owner and mode, and renames it into
 * place. Any failure removes what was made. */
typedef int (*HomeMakeTop)(Home *h, const char *temp, int *ret_fd);
int home_create_in_root(Home *h, HomeMakeTop make_top);
int home_remove_from_root(Home *h);

/* 1 if <root>/<name> is a directory owned by the home's UID, 0 if absent;
 * -EUCLEAN if something else is there. */
int home_top_exists(Home *h);

/* Sets privileged.hashedPassword to yescrypt hashes of passwords, and bumps
 * lastPasswordChangeUSec and lastChangeUSec. A home sealed in the TPM with
 * no password keyslot (user_record_pin_only()) gets no hash: any it had is
 * dropped, the times bumped all the same. */
int home_set_password_hashes(Home *h, const char *const *passwords);

/* Such a home's record with a hash (an older Hearth's): the hash dropped,
 * logged, lastChangeUSec bumped so that the copies in the volume are
 * rewritten without it. 0 if there was none. */
int home_forget_pin_hash(Home *h);
