/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "home.h"

/* One table of operations per storage backend. The worker looks the table
 * up by the record's storage and calls exactly one operation; the backend
 * does the work on h and updates h->rec (binding, status, hashes) to what
 * is now true. Each operation returns 0 or a negative errno and logs its own
 * error once, naming the home. An operation left NULL is not supported by
 * that backend (the worker reports it as such). */

typedef struct StorageBackend {
        const char *name;
        UserStorage storage;
        /* The storage checks passwords itself (keyslots); the worker then
         * does not check them against privileged.hashedPassword first. */
        bool own_authentication;

        /* Makes the home from nothing; on failure nothing is left. */
        int (*create)(Home *h);
        int (*activate)(Home *h);
        /* Checks secret.password only; for storages with own_authentication. */
        int (*authenticate)(Home *h);
        int (*deactivate)(Home *h);
        /* Suspend with keys wiped, and resume with a password (NULL: none). */
        int (*lock)(Home *h);
        int (*unlock)(Home *h);
        /* Applies a changed record to the storage (e.g. a new size). */
        int (*update)(Home *h);
        /* h->rec->disk_size is the size wanted. */
        int (*resize)(Home *h);
        /* Storage-level part of a password change (LUKS keyslots); after
         * the worker has verified the old password. May be NULL when the
         * password lives in the record only. */
        int (*passwd)(Home *h);
        /* Fixation of a home found here (hearthd made a record of its name,
         * UID and storage only): the record the home carries, checked
         * (home_take_embedded()), becomes h->rec, bound to this machine.
         * With own_authentication, the storage checks secret.password;
         * else the worker checks it against the record taken. */
        int (*fixate)(Home *h);
        /* Fills the status section (usage, limit, state). */
        int (*inspect)(Home *h);
        int (*remove)(Home *h);
        /* Whether the storage exists: 1 yes, 0 no, <0 error. What hearthd
         * sees of it from outside, without a worker, is the backend's
         * probe in probe.c (linked without the backends). */
        int (*exists)(Home *h);
} StorageBackend;

extern const StorageBackend storage_directory;
extern const StorageBackend storage_subvolume;
extern const StorageBackend storage_luks;
extern const StorageBackend storage_fscrypt;

const StorageBackend *storage_backend_find(UserStorage storage);
