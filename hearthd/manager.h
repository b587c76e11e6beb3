/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "access.h"
#include "rebalance.h"
#include "identity-store.h"
#include "managed-home.h"
#include "worker-client.h"
#include "worker-timeouts.h"

/* hearthd's model: the Manager owns every home it knows of (managed-home.h)
 * and what they share: the bus, the worker's environment, the NSS files,
 * the leftovers of users without a home, the nested-subvolume sweep. */

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        IdentityStore *store;
        char *state_dir;
        char *runtime_dir;
        char *home_root;
        char *worker_path;
        WorkerTimeouts timeouts;
        uint64_t quota_sweep_usec;          /* [Quota] NestedSubvolumeCheckSec=, 0 = off */
        sd_event_source *quota_sweep_timer;
        sd_event_source *quota_sweep_more;  /* starts the sweeps due, up to the parallel limit */
        uint64_t quota_rescan_usec;         /* [Quota] RescanIntervalSec= (quota-sweep.h) */
        uint64_t quota_rescan_last;         /* CLOCK_MONOTONIC: the last rescan a worker started, or QUOTA_RESCAN_NEVER */
        bool quota_rescan_lent;             /* a worker running may start one (its ManagedHome.rescan_lent) */
        RebalanceConfig rebalance_config;   /* [Rebalance] */
        sd_event_source *rebalance_timer;
        struct RebalanceRun *rebalance;     /* the run going on (rebalance-run.c), or NULL */
        ManagedHome **homes;
        size_t n_homes, allocated;
        sd_event_source *nss_write;
        Access access;                      /* calls waiting for polkit */
        PoolService *pool;
        struct VarlinkServer *userdb;       /* io.systemd.UserDatabase (userdb.c), or NULL */
        struct OrphanClean *orphan_cleans;
        sd_event_source *home_root_watch;   /* inotify: homes brought into the home root (images.c) */
        struct SkelWatch *skel_watch;       /* inotify: whether the skel changed (skel/skel-watch.h); NULL: off */
        sd_event_source *skel_watch_source;
        bool stopping; /* SIGTERM: no new operations; exit once the running ones end */
        TpmLockout tpm; /* the TPM's dictionary-attack state and whose failures it counts (home-policy.h) */
} Manager;

int manager_new(const char *state_dir, const char *runtime_dir, const char *home_root, const char *worker_path,
                Manager **ret);
Manager *manager_free(Manager *m);
int manager_start(Manager *m);
/* Stop after the operations running now; those queued fail. */
void manager_stop(Manager *m);
/* While stopping: ends the event loop once no operation runs any more
 * (called as each one ends). */
void manager_exit_when_idle(Manager *m);
unsigned manager_running_operations(Manager *m);
ManagedHome *manager_find_by_name(Manager *m, const char *name);
ManagedHome *manager_find_by_uid(Manager *m, uid_t uid);
ManagedHome *manager_find_by_path(Manager *m, const char *path);
/* A home of ours has it, or NSS knows a user or group of that number. */
bool manager_uid_taken(Manager *m, uid_t uid);
/* Takes rec on success. Guards its storage (manager_guard_storage()). */
int manager_add_home(Manager *m, UserRecord *rec, HomeState state, ManagedHome **ret);
/* Guards the storage of rec's home if it is a directory or subvolume home
 * and its storage is there (storage/home-guard.h): for every home loaded at
 * start, before the bus is answered, or registered; and after a worker
 * died, which may have left it unguarded. Nothing if guarded already;
 * failures are logged. */
void manager_guard_storage(Manager *m, const UserRecord *rec);
void manager_drop_home(Manager *m, ManagedHome *h);
/* Rewrites <runtime-dir>/passwd and group soon (once per loop iteration). */
void manager_schedule_nss(Manager *m);
/* Writes them now if a write is pending: before a call that changed a user
 * is answered, so that its caller finds the user through NSS at once. */
void manager_flush_nss(Manager *m);
WorkerEnv manager_worker_env(Manager *m);
/* After manager_start() and connecting: leftovers of operations killed
 * before this start (locked down already by manager_start()) are deleted,
 * by a worker per user, queued first on her home if she has one. */
void manager_clean_leftovers(Manager *m);
/* Deletes the leftovers of a user who has no record (any more). */
int manager_clean_orphan(Manager *m, const char *user);
/* After connecting: the nested-subvolume sweep (quota-sweep.h), if on. */
int manager_start_quota_sweep(Manager *m);
/* A sweep ended: start the next due ones (soon, not from inside the caller). */
void manager_quota_sweep_kick(Manager *m);
