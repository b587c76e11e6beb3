/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-util.h"
#include "identity-store.h"
#include "quota-sweep.h"
#include "secret-request.h"
#include "user-record.h"
#include "worker-client.h"
#include "worker-timeouts.h"

/* hearthd's model: the Manager owns every home it knows of; each home has a
 * stable state, at most one running operation and a queue of waiting ones,
 * and the file descriptors that hold it active. */

typedef struct Manager Manager;
typedef struct ManagedHome ManagedHome;
typedef struct Operation Operation;
typedef struct PoolService PoolService;

typedef enum HomeState {
        HOME_ABSENT,   /* a record, but no storage */
        HOME_INACTIVE,
        HOME_ACTIVE,
        HOME_LOCKED,
        HOME_DIRTY,    /* what is on the system disagrees with what we know */
        _HOME_STATE_MAX,
} HomeState;

typedef enum OperationType {
        OP_CREATE,
        OP_REALIZE,
        OP_ACTIVATE,
        OP_ACQUIRE,
        OP_DEACTIVATE,
        OP_DEACTIVATE_UNREFERENCED, /* the last reference closed */
        OP_LOCK,
        OP_UNLOCK,
        OP_AUTHENTICATE,
        OP_UPDATE,
        OP_RESIZE,
        OP_PASSWD,
        OP_REMOVE,
        OP_UNREGISTER,
        OP_RELEASE,
        OP_CLEAN,     /* delete leftovers of interrupted operations (internal) */
        OP_QUOTA_SWEEP, /* an inspect that puts new nested subvolumes into the quota group (internal) */
        OP_POOL,      /* a hearth-pool run, not tied to a home (bus-pool.c) */
        _OP_MAX,
} OperationType;

/* How a pool call's success is answered. */
typedef enum PoolMethod {
        POOL_METHOD_OTHER,  /* nothing to return */
        POOL_METHOD_STATUS, /* the JSON */
        POOL_METHOD_CHECK,  /* the number of problems and the JSON */
} PoolMethod;

typedef void (*OperationDoneFn)(Operation *op, const sd_bus_error *error, void *userdata);
/* An internal pool run's continuation: error NULL on success, output what hearth-pool printed. */
typedef void (*PoolDoneFn)(PoolService *s, Operation *op, const sd_bus_error *error, const char *output);

struct Operation {
        OperationType type;
        char *user_name;
        ManagedHome *home;          /* set once queued */
        sd_bus_message *msg;        /* the call to answer; NULL for internal ones */
        Secret *secret;
        Secret *new_secret;         /* passwd */
        Secret *recovery;           /* create: recovery keys to enroll */
        UserRecord *record;         /* create, update */
        char *admin_field;          /* update by the owner: the first change only an administrator may make */
        uint64_t size;              /* resize */
        uint64_t started_usec;      /* CLOCK_REALTIME, when its worker started */
        bool please_suspend;        /* acquire */
        OperationDoneFn done;       /* instead of a reply (DeactivateAllHomes…) */
        void *done_userdata;
        /* OP_POOL */
        PoolMethod pool_method;
        char **pool_argv;           /* hearth-pool's arguments */
        PoolDoneFn pool_done;       /* internal runs (auto-grow) instead of a reply */
        uint64_t pool_amount, pool_avail; /* auto-grow: bytes added, bytes free before */
        Operation *next;
};

typedef struct RefFd {
        int fd;
        bool please_suspend;
        sd_event_source *source;
        ManagedHome *home;
        struct RefFd *next;
} RefFd;

struct ManagedHome {
        Manager *manager;
        char *name;
        uid_t uid;
        UserRecord *record;       /* as stored: signed, no secret, no status */
        json_object *status;      /* status.<machine-id> from the last worker run */
        HomeState state;
        char *dirty_reason;
        char *path;               /* D-Bus object path */
        Operation *running;
        Operation *queue;
        WorkerJob *job;
        RefFd *refs;
        QuotaMode quota_mode;     /* of its file system, as its last worker said */
        bool sweep_due;           /* the quota sweep is to look at it */
        bool sweep_failing;       /* its last sweep failed (said once, not every time) */
        /* failed authentications, for the rate limit */
        uint64_t auth_window_start;
        unsigned auth_failures;
};

struct Manager {
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
        ManagedHome **homes;
        size_t n_homes, allocated;
        sd_event_source *nss_write;
        unsigned n_polkit_pending;
        struct PolkitQuery *polkit_queries;
        PoolService *pool;
        struct OrphanClean *orphan_cleans;
        bool stopping; /* SIGTERM: no new operations; exit once the running ones end */
};

/* manager.c */
int manager_new(const char *state_dir, const char *runtime_dir, const char *home_root, const char *worker_path,
                Manager **ret);
Manager *manager_free(Manager *m);
int manager_start(Manager *m);
/* Stop after the operations running now; those queued fail. */
void manager_stop(Manager *m);
unsigned manager_running_operations(Manager *m);
void manager_free_polkit_queries(Manager *m);
ManagedHome *manager_find_by_name(Manager *m, const char *name);
ManagedHome *manager_find_by_uid(Manager *m, uid_t uid);
ManagedHome *manager_find_by_path(Manager *m, const char *path);
int manager_add_home(Manager *m, UserRecord *rec, HomeState state, ManagedHome **ret);
void manager_drop_home(Manager *m, ManagedHome *h);
/* Rewrites <runtime-dir>/passwd and group soon (once per loop iteration). */
void manager_schedule_nss(Manager *m);
/* Writes them now if a write is pending: before a call that changed a user
 * is answered, so that its caller finds the user through NSS at once. */
void manager_flush_nss(Manager *m);
WorkerEnv manager_worker_env(Manager *m);
/* <runtime-dir>/homes/<name> says what a home is across daemon restarts. */
int manager_runtime_mark(Manager *m, ManagedHome *h);
/* The state from what is on the system and the mark, as at start-up; a
 * disagreement is HOME_DIRTY with *ret_reason (to free) saying why. */
HomeState manager_derive_state(Manager *m, const UserRecord *rec, char **ret_reason);
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

/* managed-home.c */
const char *home_state_to_string(HomeState s);
/* The state clients see: the stable one, or what the running operation makes of it. */
const char *managed_home_state(ManagedHome *h);
/* Takes op; answers its call when done. */
void managed_home_enqueue(ManagedHome *h, Operation *op);
Operation *operation_new(OperationType type, const char *user_name, sd_bus_message *msg);
Operation *operation_free(Operation *op);
static inline void operation_freep(Operation **op) {
        operation_free(*op);
}
#define _cleanup_operation_ __attribute__((cleanup(operation_freep)))
/* The record as clients get it: with status, and without the privileged
 * section unless full. */
char *managed_home_record_json(ManagedHome *h, bool full);
ManagedHome *managed_home_free(ManagedHome *h);
/* What GetHomeByName, ListHomes and UnixRecord show, as homed does: the
 * real name falls back to the user name; the home directory to <home-root>/<user>. */
const char *managed_home_real_name(ManagedHome *h);
const char *managed_home_dir(ManagedHome *h, char *buf, size_t size);
/* Hands out a new reference: the write end of a pipe whose read end we watch. */
#define REFS_PER_HOME_MAX 256
int managed_home_ref(ManagedHome *h, bool please_suspend, int *ret_fd, RefFd **ret_ref);
/* Forgets a reference whose fd never reached its client. */
void managed_home_ref_drop(ManagedHome *h, RefFd *ref);
/* After a deactivation: old sessions' fds hold nothing any more. */
void managed_home_refs_clear(ManagedHome *h);
bool managed_home_referenced(ManagedHome *h);
bool managed_home_all_refs_suspend(ManagedHome *h);

/* bus-pool.c: io.hearth.Pool1 at /io/hearth/Pool, and auto-grow. tool_path
 * is hearth-pool; config_path NULL = look hearth.conf up. */
int pool_service_new(Manager *m, const char *tool_path, const char *config_path, PoolService **ret);
/* Registers the object and starts the auto-grow timer (needs m->bus). */
int pool_service_start(PoolService *s);
PoolService *pool_service_free(PoolService *s);
bool pool_service_running(PoolService *s);
/* Queues a pool run whose access has been checked. Takes op. */
void pool_service_enqueue(PoolService *s, Operation *op);

/* bus-manager.c, bus-home.c */
int bus_manager_register(Manager *m);
int bus_home_register(Manager *m);
int bus_home_path(const char *name, char **ret);
void bus_home_emit_changed(ManagedHome *h);
void bus_home_emit_added(ManagedHome *h);
void bus_home_emit_removed(ManagedHome *h);

/* The methods, shared by the Manager (by user name) and the Home objects. */
int bus_method_for_home(sd_bus_message *msg, ManagedHome *h, const char *method, sd_bus_error *error);
/* Wipes a parsed string argument in the call's body (secrets, records with them). */
void bus_wipe_argument(const char *text);

/* access.c: may the sender of msg do this? On yes, op is queued on its
 * home; on no, the call is answered with AccessDenied. Takes op. */
typedef enum AccessRule {
        ACCESS_ROOT_ONLY,        /* root, or polkit */
        ACCESS_OWNER_WITH_SECRET,/* also the home's user; the worker checks her secret */
        ACCESS_OWNER,            /* also the home's user, no secret needed */
} AccessRule;
void access_check_then_run(Manager *m, Operation *op, uid_t owner, AccessRule rule, const char *polkit_action);
/* Before parsing a record a caller sent: a caller other than root may send
 * a smaller one, and only while few of her calls wait for polkit. Returns 0
 * or the error set. */
int access_precheck(Manager *m, sd_bus_message *msg, size_t record_len, sd_bus_error *error);
/* What runs once access is granted: queue op on its home (found again by
 * name, as it may have gone meanwhile), or create the home. */
void manager_operation_granted(Manager *m, Operation *op);
/* Answers op's call with an error (or calls its done function) and frees it. */
void operation_fail(Operation *op, const char *name, const char *fmt, ...) _printf_(3, 4);
/* Root and the home's own user see a record's privileged section. */
bool bus_sees_privileged(sd_bus_message *msg, ManagedHome *h);
