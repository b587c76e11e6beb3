/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "home-policy.h"
#include "home-refs.h"
#include "operation.h"
#include "quota-sweep.h"
#include "user-record.h"
#include "worker-client.h"

/* One home as hearthd keeps it: its stable state, the operation running on
 * it (in a hearth-work child) and the ones waiting, in order, and the
 * references that hold it active. The decisions are home-policy.c's; this
 * carries them out. */

typedef struct Manager Manager;

struct ManagedHome {
        Manager *manager;
        char *name;
        uid_t uid;
        UserRecord *record;       /* as stored: signed, no secret, no status; unfixated: what
                                   * hearthd made of what it found (name, UID, storage) */
        json_object *status;      /* status.<machine-id> from the last worker run */
        HomeState state;
        char *dirty_reason;
        char *path;               /* D-Bus object path */
        Operation *running;
        Operation *queue;
        WorkerJob *job;
        HomeRefs refs;
        QuotaMode quota_mode;     /* of its file system, as its last worker said */
        bool sweep_due;           /* the quota sweep is to look at it */
        bool rescan_lent;         /* its worker may start a quota rescan (Manager.quota_rescan_lent) */
        bool sweep_failing;       /* its last sweep failed (said once, not every time) */
        HomeAuthRate auth;        /* failed authentications, for the rate limit */
        uint64_t locked_by_owner_usec; /* CLOCK_MONOTONIC: the last lock by a caller other than root (0: none) */
};

/* Takes rec on success. */
int managed_home_new(Manager *m, UserRecord *rec, HomeState state, ManagedHome **ret);
/* Fails what is queued and running on it (no longer managed). */
ManagedHome *managed_home_free(ManagedHome *h);
/* The state clients see: the stable one, or what the running operation makes of it. */
const char *managed_home_state(ManagedHome *h);
/* Takes op; answers its call when done. */
void managed_home_enqueue(ManagedHome *h, Operation *op);
/* The storage came or went (images.c): unless an operation runs or
 * waits on it (whose end decides), the state is re-derived from what is
 * there; clients are told if it changed. Nothing for an unfixated home. */
void managed_home_revalidate(ManagedHome *h);
/* The home directory: the record's, or <home-root>/<user> as homed shows it. */
const char *managed_home_dir(ManagedHome *h, char *buf, size_t size);
