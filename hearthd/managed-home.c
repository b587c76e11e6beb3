/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One home as hearthd keeps it: its stable state, the operation running on
 * it (in a hearth-work child) and the ones waiting, in order, and the file
 * descriptors that hold it active. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-error.h"
#include "identity-store.h"
#include "json-strict.h"
#include "leftovers.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "self-modify.h"
#include "size.h"
#include "worker-protocol.h"

#define QUEUE_MAX 64
#define AUTH_RATE_INTERVAL_DEFAULT (60 * USEC_PER_SEC)
#define AUTH_RATE_BURST_DEFAULT 10

static const char *const state_names[_HOME_STATE_MAX] = {
        [HOME_ABSENT] = "absent",
        [HOME_INACTIVE] = "inactive",
        [HOME_ACTIVE] = "active",
        [HOME_LOCKED] = "locked",
        [HOME_DIRTY] = "dirty",
};

const char *home_state_to_string(HomeState s) {
        return s >= 0 && s < _HOME_STATE_MAX ? state_names[s] : NULL;
}

/* The names homed shows while an operation runs. */
const char *managed_home_state(ManagedHome *h) {
        bool active = h->state == HOME_ACTIVE;
        if (!h->running)
                return state_names[h->state];
        switch (h->running->type) {
        case OP_CREATE:
        case OP_REALIZE:
                return "creating";
        case OP_ACTIVATE:
                return "activating";
        case OP_ACQUIRE:
                return active ? "authenticating-for-acquire" : "activating-for-acquire";
        case OP_DEACTIVATE:
        case OP_DEACTIVATE_UNREFERENCED:
        case OP_RELEASE:
                return "deactivating";
        case OP_LOCK:
                return "locking";
        case OP_UNLOCK:
                return "unlocking";
        case OP_AUTHENTICATE:
                return active ? "authenticating-while-active" : "authenticating";
        case OP_UPDATE:
                return active ? "updating-while-active" : "updating";
        case OP_RESIZE:
                return active ? "resizing-while-active" : "resizing";
        case OP_PASSWD:
                return active ? "passwd-while-active" : "passwd";
        case OP_REMOVE:
        case OP_UNREGISTER:
                return "removing";
        default:
                return state_names[h->state];
        }
}

Operation *operation_new(OperationType type, const char *user_name, sd_bus_message *msg) {
        Operation *op = calloc(1, sizeof *op);
        if (!op)
                return NULL;
        op->type = type;
        op->user_name = user_name ? strdup(user_name) : NULL;
        if (user_name && !op->user_name)
                return mfree(op);
        op->msg = sd_bus_message_ref(msg);
        return op;
}

Operation *operation_free(Operation *op) {
        if (!op)
                return NULL;
        sd_bus_message_unref(op->msg);
        secret_free(op->secret);
        secret_free(op->new_secret);
        secret_free(op->recovery);
        user_record_free(op->record);
        strv_free(op->pool_argv);
        free(op->admin_field);
        free(op->user_name);
        free(op);
        return NULL;
}

static void operation_finish(Operation *op, const sd_bus_error *error) {
        if (op->home)
                manager_flush_nss(op->home->manager);
        if (op->done)
                op->done(op, error, op->done_userdata);
        else if (op->msg) {
                int r = error ? sd_bus_reply_method_error(op->msg, error) : sd_bus_reply_method_return(op->msg, NULL);
                if (r < 0 && error) {
                        /* The message was unusable: the caller still gets an answer. */
                        log_warning_errno(r, "cannot send error %s: %m", error->name);
                        r = sd_bus_reply_method_errorf(op->msg, BUS_ERROR_FAILED, "the operation failed");
                }
                if (r < 0)
                        log_warning_errno(r, "cannot answer a call: %m");
        }
        operation_free(op);
}

void operation_fail(Operation *op, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, text ?: "out of memory");
        operation_finish(op, &e);
}

/* ---- references ---------------------------------------------------------- */

static void ref_free(RefFd *ref) {
        sd_event_source_disable_unref(ref->source);
        if (ref->fd >= 0)
                close(ref->fd);
        free(ref);
}

bool managed_home_referenced(ManagedHome *h) {
        return h->refs != NULL;
}

/* LockAllHomes locks a home only if it is held and every holder asked for it. */
bool managed_home_all_refs_suspend(ManagedHome *h) {
        if (!h->refs)
                return false;
        for (RefFd *r = h->refs; r; r = r->next)
                if (!r->please_suspend)
                        return false;
        return true;
}

static void ref_unlink(ManagedHome *h, RefFd *ref) {
        for (RefFd **p = &h->refs; *p; p = &(*p)->next)
                if (*p == ref) {
                        *p = ref->next;
                        break;
                }
        ref_free(ref);
}

static int on_ref_closed(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RefFd *ref = userdata;
        ManagedHome *h = ref->home;
        char buf[64];

        /* Only EOF or an error means every writer is gone; a client writing
         * into its reference is drained (bounded per wakeup) and ignored. */
        if (!(revents & (EPOLLHUP | EPOLLERR))) {
                for (int i = 0; i < 16; i++) {
                        ssize_t n = read(fd, buf, sizeof buf);
                        if (n == 0)
                                break;
                        if (n < 0)
                                return 0;
                }
        }
        ref_unlink(h, ref);
        if (!h->refs && h->state == HOME_ACTIVE) {
                log_info("home %s: last reference closed, deactivating", h->name);
                Operation *op = operation_new(OP_DEACTIVATE_UNREFERENCED, h->name, NULL);
                if (!op)
                        return log_oom();
                managed_home_enqueue(h, op);
        }
        return 0;
}

void managed_home_ref_drop(ManagedHome *h, RefFd *ref) {
        ref_unlink(h, ref);
}

void managed_home_refs_clear(ManagedHome *h) {
        while (h->refs) {
                RefFd *r = h->refs;
                h->refs = r->next;
                ref_free(r);
        }
}

int managed_home_ref(ManagedHome *h, bool please_suspend, int *ret_fd, RefFd **ret_ref) {
        size_t n = 0;
        int p[2];
        int r;

        for (RefFd *i = h->refs; i; i = i->next)
                n++;
        if (n >= REFS_PER_HOME_MAX)
                return log_warning_errno(EMFILE, "home %s: already %zu references; refusing more", h->name, n);

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return log_error_errno(errno, "home %s: cannot make a reference: %m", h->name);
        RefFd *ref = calloc(1, sizeof *ref);
        if (!ref) {
                close(p[0]);
                close(p[1]);
                return log_oom();
        }
        ref->fd = p[0];
        ref->home = h;
        ref->please_suspend = please_suspend;
        r = sd_event_add_io(h->manager->event, &ref->source, ref->fd, EPOLLIN, on_ref_closed, ref);
        if (r < 0) {
                ref_free(ref);
                close(p[1]);
                return log_error_errno(r, "home %s: cannot watch a reference: %m", h->name);
        }
        ref->next = h->refs;
        h->refs = ref;
        *ret_fd = p[1];
        if (ret_ref)
                *ret_ref = ref;
        return 0;
}

/* ---- records as clients see them ------------------------------------------ */

const char *managed_home_real_name(ManagedHome *h) {
        return h->record->real_name ?: h->name;
}

const char *managed_home_dir(ManagedHome *h, char *buf, size_t size) {
        if (h->record->home_directory)
                return h->record->home_directory;
        snprintf(buf, size, "%s/%s", h->manager->home_root, h->name);
        return buf;
}

/* Signed with this machine's key (identity_store_load() verified the
 * signature itself; this only tells whose key made it). */
static bool signed_locally(ManagedHome *h) {
        Keyring *kr;
        json_object *sigs;
        const char *mine;

        if (identity_store_keyring(h->manager->store, false, &kr) < 0 || !(mine = keyring_public_pem(kr)) ||
            !json_object_object_get_ex(h->record->json, "signature", &sigs) ||
            !json_object_is_type(sigs, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(sigs); i++) {
                json_object *key;
                if (json_object_object_get_ex(json_object_array_get_idx(sigs, i), "key", &key) &&
                    json_object_is_type(key, json_type_string) && strcmp(json_object_get_string(key), mine) == 0)
                        return true;
        }
        return false;
}

static int64_t status_int(json_object *status, const char *field) {
        json_object *v;
        if (!status || !json_object_object_get_ex(status, field, &v) || !json_object_is_type(v, json_type_int))
                return -1;
        return json_object_get_int64(v);
}

/* The fields homed adds to status for its clients (homectl inspect shows them). */
static void augment_status(ManagedHome *h, json_object *mine) {
        int64_t usage = status_int(mine, "diskUsage"), free_bytes = status_int(mine, "diskFree");
        int64_t floor = (int64_t) USER_RECORD_DISK_SIZE_MIN;

        json_object_object_add(mine, "state", json_object_new_string(managed_home_state(h)));
        json_object_object_add(mine, "service", json_object_new_string(USER_RECORD_SERVICE_HEARTH));
        json_object_object_add(mine, "signedLocally", json_object_new_boolean(signed_locally(h)));
        int64_t size = status_int(mine, "diskSize");
        if (usage > floor)
                floor = usage;
        json_object_object_add(mine, "diskFloor", json_object_new_int64(floor));
        if (usage >= 0 && free_bytes >= 0)
                json_object_object_add(mine, "diskCeiling", json_object_new_int64(usage + free_bytes));
        else if (size >= 0)
                json_object_object_add(mine, "diskCeiling", json_object_new_int64(size));
        if (h->state == HOME_DIRTY && h->dirty_reason)
                json_object_object_add(mine, "dirtyReason", json_object_new_string(h->dirty_reason));
}

char *managed_home_record_json(ManagedHome *h, bool full) {
        _cleanup_json_ json_object *j = user_record_without(h->record, USER_RECORD_SECRET | USER_RECORD_STATUS |
                                                                              (full ? 0 : USER_RECORD_PRIVILEGED));
        const char *mid = user_record_machine_id();
        if (!j)
                return NULL;
        if (mid) {
                json_object *status = json_object_new_object(), *mine = NULL;
                if (!status)
                        return NULL;
                if (h->status)
                        (void) json_object_deep_copy(h->status, &mine, NULL);
                if (!mine)
                        mine = json_object_new_object();
                if (!mine) {
                        json_object_put(status);
                        return NULL;
                }
                augment_status(h, mine);
                json_object_object_add(status, mid, mine);
                json_object_object_add(j, "status", status);
        }
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        return s ? strdup(s) : NULL;
}

/* ---- the rate limit on failed authentication ------------------------------ */

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t record_u64(ManagedHome *h, const char *field, uint64_t def, uint64_t max) {
        json_object *v;
        if (!json_object_object_get_ex(h->record->json, field, &v) || !json_object_is_type(v, json_type_int))
                return def;
        int64_t x = json_object_get_int64(v);
        return x <= 0 || (uint64_t) x > max ? def : (uint64_t) x;
}

static bool auth_limit_hit(ManagedHome *h) {
        uint64_t interval = record_u64(h, "rateLimitIntervalUSec", AUTH_RATE_INTERVAL_DEFAULT, UINT64_C(1) << 50);
        uint64_t burst = record_u64(h, "rateLimitBurst", AUTH_RATE_BURST_DEFAULT, 1000000);
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (now - h->auth_window_start >= interval) {
                h->auth_window_start = now;
                h->auth_failures = 0;
        }
        return h->auth_failures >= burst;
}

static bool takes_secret(OperationType t) {
        return t == OP_ACTIVATE || t == OP_ACQUIRE || t == OP_UNLOCK || t == OP_AUTHENTICATE || t == OP_PASSWD ||
               t == OP_RESIZE || t == OP_REALIZE || t == OP_UPDATE;
}

/* ---- running operations ----------------------------------------------------- */

static void start_next(ManagedHome *h);
static void drop_unregistered(ManagedHome *h);

static void changed(ManagedHome *h) {
        bus_home_emit_changed(h);
        manager_schedule_nss(h->manager);
}

static void finish_running(ManagedHome *h, const sd_bus_error *error) {
        Operation *op = TAKE_PTR(h->running);
        h->job = worker_job_free(h->job);
        changed(h);
        operation_finish(op, error);
        start_next(h);
}

/* Ends the running operation of a home that goes away with it. */
static void finish_and_drop(ManagedHome *h, const sd_bus_error *error) {
        Manager *m = h->manager;
        Operation *op = TAKE_PTR(h->running);

        op->home = NULL;
        h->job = worker_job_free(h->job);
        manager_drop_home(m, h);
        manager_flush_nss(m);
        operation_finish(op, error);
}

/* A sweep (manager.c) ends: no call to answer, and nothing clients see
 * changed unless the status did (the usage, most often). */
static void finish_sweep(ManagedHome *h, bool status_changed) {
        operation_free(TAKE_PTR(h->running));
        h->job = worker_job_free(h->job);
        if (status_changed)
                bus_home_emit_changed(h);
        manager_quota_sweep_kick(h->manager);
        start_next(h);
}

static void fail_running(ManagedHome *h, const char *name, const char *fmt, ...) _printf_(3, 4);
static void fail_running(ManagedHome *h, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, text ?: "out of memory");
        finish_running(h, &e);
}

static void set_state(ManagedHome *h, HomeState s) {
        h->state = s;
        if (s != HOME_DIRTY)
                h->dirty_reason = mfree(h->dirty_reason);
        (void) manager_runtime_mark(h->manager, h);
}

static const char *worker_op(OperationType t, HomeState s) {
        switch (t) {
        case OP_CREATE:
        case OP_REALIZE:
                return WORKER_OP_CREATE;
        case OP_ACTIVATE:
                return WORKER_OP_ACTIVATE;
        case OP_ACQUIRE:
                return s == HOME_ACTIVE ? WORKER_OP_AUTHENTICATE : WORKER_OP_ACTIVATE;
        case OP_DEACTIVATE:
        case OP_DEACTIVATE_UNREFERENCED:
        case OP_RELEASE:
                return WORKER_OP_DEACTIVATE;
        case OP_LOCK:
                return WORKER_OP_LOCK;
        case OP_UNLOCK:
                return WORKER_OP_UNLOCK;
        case OP_AUTHENTICATE:
                return WORKER_OP_AUTHENTICATE;
        case OP_UPDATE:
                return WORKER_OP_UPDATE;
        case OP_RESIZE:
                return WORKER_OP_RESIZE;
        case OP_PASSWD:
                return WORKER_OP_PASSWD;
        case OP_REMOVE:
                /* Absent: only what an interrupted operation left is there. */
                return s == HOME_ABSENT ? WORKER_OP_CLEAN : WORKER_OP_REMOVE;
        case OP_UNREGISTER:
        case OP_CLEAN:
                return WORKER_OP_CLEAN;
        case OP_QUOTA_SWEEP:
                return WORKER_OP_INSPECT;
        default:
                return NULL;
        }
}

static const char *format_seconds(uint64_t usec, char *buf, size_t size) {
        if (usec % (60 * USEC_PER_SEC) == 0)
                snprintf(buf, size, "%" PRIu64 "min", usec / (60 * USEC_PER_SEC));
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, size, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else
                snprintf(buf, size, "%" PRIu64 "ms", usec / 1000);
        return buf;
}

/* After a worker died half-way: what is there now decides. */
static void rederive_state(ManagedHome *h) {
        _cleanup_free_ char *reason = NULL;
        HomeState s = manager_derive_state(h->manager, h->record, &reason);
        if (s == h->state && !reason)
                return;
        if (reason)
                log_warning("home %s: dirty: %s", h->name, reason);
        h->state = s;
        free(h->dirty_reason);
        h->dirty_reason = TAKE_PTR(reason);
        if (s == HOME_ABSENT || s == HOME_INACTIVE)
                managed_home_refs_clear(h);
}

/* What the worker's record may differ in from the stored one without
 * being news: the status, secrets and the signature (made when stored). */
#define RECORD_VOLATILE (USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_SIGNATURE)

/* Whether an operation changes the storage itself, so that its outcome is
 * on disk whether or not its record could be stored. */
static bool changes_storage(ManagedHome *h, OperationType t) {
        switch (t) {
        case OP_CREATE:
        case OP_REALIZE:
        case OP_UPDATE:
        case OP_RESIZE:
                return true;
        case OP_PASSWD:
                return h->record->storage == USER_STORAGE_LUKS; /* keyslots */
        default:
                return false;
        }
}

/* What the worker says for hearthd alone (worker-protocol.h): taken out of
 * the status before clients see it. */
static void take_quota_report(ManagedHome *h) {
        json_object *q, *v;
        char buf[PATH_MAX];

        if (!h->status || !json_object_object_get_ex(h->status, WORKER_STATUS_QUOTA, &q))
                return;
        h->quota_mode = json_object_object_get_ex(q, WORKER_STATUS_QUOTA_MODE, &v) &&
                                        json_object_is_type(v, json_type_string)
                                ? quota_mode_from_string(json_object_get_string(v))
                                : QUOTA_MODE_UNKNOWN;
        if (json_object_object_get_ex(q, WORKER_STATUS_QUOTA_ADOPTED, &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *p = json_object_array_get_idx(v, i);
                        if (json_object_is_type(p, json_type_string))
                                log_info("home %s: subvolume %s/%s, made inside the home, now counts against its "
                                         "quota", h->name, managed_home_dir(h, buf, sizeof buf),
                                         json_object_get_string(p));
                }
        json_object_object_del(h->status, WORKER_STATUS_QUOTA);
}

/* What the worker has for the administrator (worker-protocol.h): logged,
 * and taken out of the status. */
static void take_notices(ManagedHome *h) {
        json_object *n;

        if (!h->status || !json_object_object_get_ex(h->status, WORKER_STATUS_NOTICES, &n))
                return;
        if (json_object_is_type(n, json_type_array))
                for (size_t i = 0; i < json_object_array_length(n) && i < 16; i++) {
                        json_object *t = json_object_array_get_idx(n, i);
                        if (json_object_is_type(t, json_type_string))
                                log_notice("home %s: %s", h->name, json_object_get_string(t));
                }
        json_object_object_del(h->status, WORKER_STATUS_NOTICES);
}

/* The record the worker returned: keep its status section apart, store the rest. */
static int take_worker_record(ManagedHome *h, const char *text, size_t len, bool store, bool *ret_save_failed) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        const char *mid = user_record_machine_id();
        json_object *status, *mine;
        int r;

        r = user_record_parse(text, len, &rec, &error);
        if (r < 0)
                return log_error_errno(r, "home %s: the worker returned a bad record: %s", h->name, error ?: "?");
        if (!rec->user_name || strcmp(rec->user_name, h->name) != 0)
                return log_error_errno(EBADMSG, "home %s: the worker returned another user's record", h->name);
        if (mid && json_object_object_get_ex(rec->json, "status", &status) &&
            json_object_object_get_ex(status, mid, &mine)) {
                json_object_put(h->status);
                h->status = NULL;
                (void) json_object_deep_copy(mine, &h->status, NULL);
                if (h->status)
                        json_object_object_del(h->status, "state");
                take_quota_report(h);
                take_notices(h);
        }
        if (!store)
                return 0;
        /* Nothing new (an activation, most often): nothing to write, and so
         * nothing to fail on a full state file system. */
        _cleanup_json_ json_object *was = user_record_without(h->record, RECORD_VOLATILE);
        _cleanup_json_ json_object *now = user_record_without(rec, RECORD_VOLATILE);
        if (was && now && json_object_equal(was, now))
                return 0;
        r = identity_store_save(h->manager->store, rec);
        if (r < 0) {
                *ret_save_failed = true;
                return r;
        }
        user_record_free(h->record);
        h->record = TAKE_PTR(rec);
        h->uid = h->record->uid;
        return 0;
}

static void reply_with_ref(ManagedHome *h, Operation *op) {
        _cleanup_close_ int fd = -1;
        RefFd *ref;
        int r = managed_home_ref(h, op->please_suspend, &fd, &ref);
        if (r < 0) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot make a reference: %s", h->name, strerror(-r));
                return;
        }
        if (op->msg && (r = sd_bus_reply_method_return(op->msg, "h", fd)) < 0) {
                log_warning_errno(r, "home %s: cannot answer AcquireHome: %m", h->name);
                managed_home_ref_drop(h, ref);
        }
        /* Our copy of the write end goes (cleanup): the client's is the reference. */
        op->msg = sd_bus_message_unref(op->msg);
        finish_running(h, NULL);
}

/* The worker left nothing behind; the home goes with its call. */
static void create_failed(ManagedHome *h, const char *name, const char *text) {
        _cleanup_free_ char *copy = strdup(text);
        sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, copy ?: "creating the home failed");

        (void) identity_store_remove(h->manager->store, h->name);
        finish_and_drop(h, &e);
}

static void sweep_done(ManagedHome *h, const WorkerResult *res) {
        _cleanup_json_ json_object *before = json_object_get(h->status);
        char limit[64];

        if (res->status != 0) {
                /* Said once, not every few seconds; the home's state is for
                 * the operations callers run to find out. */
                const char *why = res->status > 0 && *res->reason ? res->reason
                                  : res->timed_out ? "its worker was killed after its time limit"
                                                   : "its worker failed";
                if (!h->sweep_failing)
                        log_warning("home %s: the check for subvolumes made inside it failed: %s; trying again "
                                    "every %s", h->name, why,
                                    format_seconds(h->manager->quota_sweep_usec, limit, sizeof limit));
                else
                        log_debug("home %s: the check for subvolumes made inside it failed again: %s", h->name, why);
                h->sweep_failing = true;
                finish_sweep(h, false);
                return;
        }
        if (h->sweep_failing)
                log_info("home %s: the check for subvolumes made inside it works again", h->name);
        h->sweep_failing = false;
        if (take_worker_record(h, res->output, res->output_len, false, NULL) < 0) {
                finish_sweep(h, false);
                return;
        }
        finish_sweep(h, !before || !h->status || !json_object_equal(before, h->status));
}

static void on_worker_done(const WorkerResult *res, void *userdata) {
        ManagedHome *h = userdata;
        Operation *op = h->running;
        const char *wop = worker_op(op->type, h->state);
        int r;

        if (op->type == OP_QUOTA_SWEEP) {
                sweep_done(h, res);
                return;
        }

        if (res->status != 0) {
                if (res->status < 0) {
                        /* Whatever it had done, the state is what the system says now;
                         * what it left half-done is out of the UID's reach at once
                         * (and deleted by the next operation on the home). */
                        rederive_state(h);
                        (void) leftovers_lock_down(h->manager->home_root, h->name, NULL);
                        if (op->type == OP_CREATE) {
                                /* The name goes: what the worker left must not stay the
                                 * UID's, and is deleted in the background. */
                                Manager *m = h->manager;
                                _cleanup_free_ char *name = strdup(h->name);
                                char text[256];
                                snprintf(text, sizeof text, "home %s: %s was killed%s", h->name, wop,
                                         res->timed_out ? " after its time limit" : "");
                                /* Killed after its rename: the home is complete, but its
                                 * record (hashes, binding) never came back. */
                                if (h->record->storage != USER_STORAGE_LUKS)
                                        (void) leftovers_take_home(m->home_root, h->name, h->record->uid,
                                                                   op->started_usec);
                                (void) leftovers_lock_down(m->home_root, h->name, NULL);
                                create_failed(h, res->timed_out ? SD_BUS_ERROR_TIMEOUT : BUS_ERROR_FAILED, text);
                                if (name)
                                        (void) manager_clean_orphan(m, name);
                                return;
                        }
                        if (res->timed_out) {
                                char limit[64];
                                log_error("home %s: %s did not finish within %s; its worker was killed", h->name,
                                          wop, format_seconds(res->timeout_usec, limit, sizeof limit));
                                fail_running(h, SD_BUS_ERROR_TIMEOUT,
                                             "home %s: %s did not finish within its time limit of %s "
                                             "([Worker] %s in hearth.conf); it was stopped", h->name, wop,
                                             limit, worker_timeout_key(wop));
                                return;
                        }
                        fail_running(h, BUS_ERROR_FAILED, "home %s: the storage worker was killed by signal %d",
                                     h->name, res->signal);
                        return;
                }
                if (res->status == WORKER_BAD_PASSWORD) {
                        /* An empty first try (homectl's) is not a guess. */
                        if (op->secret && op->secret->n_password > 0)
                                h->auth_failures++;
                        /* A TPM-sealed home's worker says how many tries the TPM has left. */
                        const char *tpm = res->reason ? strstr(res->reason, "TPM2:") : NULL;
                        fail_running(h, BUS_ERROR_BAD_PASSWORD,
                                     "Password incorrect or not sufficient for authentication of user %s.%s%s", h->name,
                                     tpm ? " " : "", tpm ?: "");
                        return;
                }
                const char *reason = res->reason && *res->reason ? res->reason : "the storage worker failed";
                log_warning("home %s: %s failed (%d): %s", h->name, wop, res->status, reason);
                if (op->type == OP_CREATE) {
                        create_failed(h, bus_error_from_worker(res->status, wop), reason);
                        return;
                }
                fail_running(h, bus_error_from_worker(res->status, wop), "%s", reason);
                return;
        }

        bool store = op->type != OP_REMOVE && op->type != OP_AUTHENTICATE &&
                     !(op->type == OP_ACQUIRE && strcmp(wop, "authenticate") == 0);
        if (op->type != OP_REMOVE && op->type != OP_UNREGISTER && op->type != OP_CLEAN) {
                bool save_failed = false;
                r = take_worker_record(h, res->output, res->output_len, store, &save_failed);
                if (r < 0 && save_failed && !changes_storage(h, op->type) && op->type != OP_PASSWD) {
                        /* Activation and the like: what changed in the record is
                         * this machine's view of the home (binding), written
                         * again next time; the state is what the storage says. */
                        log_warning_errno(r, "home %s: %s succeeded, but its record could not be stored: %m",
                                          h->name, wop);
                        r = 0;
                } else if (r < 0 && !changes_storage(h, op->type)) {
                        /* Nothing happened but in the record, which stays as it was. */
                        fail_running(h, BUS_ERROR_FAILED, "home %s: cannot store the updated record: %s; "
                                     "nothing was changed", h->name, strerror(-r));
                        return;
                }
                if (r < 0) {
                        /* The storage changed, the record did not: say so. */
                        h->state = HOME_DIRTY;
                        free(h->dirty_reason);
                        if (asprintf(&h->dirty_reason, "%s succeeded, but its record could not be stored", wop) < 0)
                                h->dirty_reason = NULL;
                        fail_running(h, BUS_ERROR_FAILED, "home %s: cannot store the updated record: %s", h->name,
                                     strerror(-r));
                        return;
                }
        }

        switch (op->type) {
        case OP_DEACTIVATE:
        case OP_DEACTIVATE_UNREFERENCED:
        case OP_RELEASE:
                managed_home_refs_clear(h);
                /* fall through */
        case OP_CREATE:
        case OP_REALIZE:
                set_state(h, HOME_INACTIVE);
                break;
        case OP_ACTIVATE:
        case OP_UNLOCK:
        case OP_ACQUIRE:
                set_state(h, HOME_ACTIVE);
                break;
        case OP_LOCK:
                set_state(h, HOME_LOCKED);
                break;
        case OP_UNREGISTER:
                drop_unregistered(h);
                return;
        case OP_REMOVE: {
                Manager *m = h->manager;
                r = identity_store_remove(m->store, h->name);
                if (r < 0 && r != -ENOENT) {
                        fail_running(h, BUS_ERROR_FAILED, "home %s: storage removed, but not its record: %s",
                                     h->name, strerror(-r));
                        return;
                }
                h->state = HOME_ABSENT;
                (void) manager_runtime_mark(m, h);
                finish_and_drop(h, NULL);
                return;
        }
        default:
                break;
        }
        if (op->type == OP_ACQUIRE) {
                reply_with_ref(h, op);
                return;
        }
        finish_running(h, NULL);
}

static void drop_unregistered(ManagedHome *h) {
        Manager *m = h->manager;
        int r = identity_store_remove(m->store, h->name);
        if (r < 0 && r != -ENOENT) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot remove its record: %s", h->name, strerror(-r));
                return;
        }
        finish_and_drop(h, NULL);
}

/* An update is checked against the stored record when it arrives, and
 * again here, when it runs: a change that landed while it waited (for
 * polkit, behind other operations) must neither be overwritten by a record
 * dated earlier nor undone by the owner's copy of the record from before
 * it. Returns true if the update was answered here. */
static bool update_overtaken(ManagedHome *h, Operation *op) {
        const UserRecord *cur = h->record, *rec = op->record;

        if (cur->last_change_usec != UINT64_MAX && rec->last_change_usec <= cur->last_change_usec) {
                fail_running(h, BUS_ERROR_RECORD_DOWNGRADE,
                             "home %s: the record changed while this update waited; lastChangeUSec must be "
                             "newer than the stored record's", h->name);
                return true;
        }
        /* The owner's own fields only (granted as such): still only those? */
        if (op->msg && !op->admin_field && bus_sender_uid(op->msg) != 0) {
                _cleanup_free_ char *field = NULL;
                int r = self_modify_allowed(cur, rec, &field);
                if (r < 0) {
                        fail_running(h, BUS_ERROR_FAILED, "home %s: %s", h->name, strerror(-r));
                        return true;
                }
                if (r == 0) {
                        fail_running(h, BUS_ERROR_ACCESS_DENIED,
                                     "home %s: \"%s\" changed while this update waited, and only an "
                                     "administrator may change it; read the record again and retry",
                                     h->name, field ?: "?");
                        return true;
                }
        }
        return false;
}

/* What the state allows, before any worker runs. Returns true if the
 * operation was answered here. */
static bool precheck(ManagedHome *h, Operation *op) {
        const char *n = h->name;

        if (op->type == OP_QUOTA_SWEEP) {
                /* Queued on an idle home, so run at once: still as it was. */
                if (h->state == HOME_INACTIVE || h->state == HOME_ACTIVE)
                        return false;
                finish_sweep(h, false);
                return true;
        }

        if (takes_secret(op->type) && op->secret && auth_limit_hit(h)) {
                fail_running(h, BUS_ERROR_AUTHENTICATION_LIMIT_HIT,
                             "Too many unsuccessful login attempts for user %s, refusing.", n);
                return true;
        }
        switch (op->type) {
        case OP_CREATE: {
                /* The record first: if we die while the worker runs, the
                 * home is found absent, not left on disk unknown. */
                int r = identity_store_save(h->manager->store, h->record);
                if (r < 0) {
                        char text[256];
                        snprintf(text, sizeof text, "home %s: cannot store the record: %s", n, strerror(-r));
                        create_failed(h, BUS_ERROR_FAILED, text);
                        return true;
                }
                return false;
        }
        case OP_REALIZE:
                if (h->state != HOME_ABSENT) {
                        fail_running(h, BUS_ERROR_HOME_EXISTS, "home %s: already exists", n);
                        return true;
                }
                return false;
        case OP_UNREGISTER:
                if (h->state == HOME_ACTIVE || h->state == HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_BUSY, "home %s: is active; deactivate it first", n);
                        return true;
                }
                /* The name and UID are freed: nothing an interrupted operation
                 * left may stay readable by the UID; a worker deletes it first. */
                if (leftovers_lock_down(h->manager->home_root, n, NULL) > 0)
                        return false;
                drop_unregistered(h);
                return true;
        case OP_CLEAN:
                return false;
        case OP_UPDATE:
                if (update_overtaken(h, op))
                        return true;
                if (h->state == HOME_ABSENT) {
                        /* Nothing on disk to apply it to: the record is all. */
                        int r = identity_store_save(h->manager->store, op->record);
                        if (r < 0) {
                                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot store the record: %s", n,
                                             strerror(-r));
                                return true;
                        }
                        user_record_free(h->record);
                        h->record = TAKE_PTR(op->record);
                        finish_running(h, NULL);
                        return true;
                }
                break;
        case OP_REMOVE:
                if (h->state == HOME_ACTIVE || h->state == HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_BUSY, "home %s: is active; deactivate it first", n);
                        return true;
                }
                if (h->state == HOME_ABSENT) {
                        if (leftovers_lock_down(h->manager->home_root, n, NULL) > 0)
                                return false; /* worker_op(): clean */
                        drop_unregistered(h);
                        return true;
                }
                return false;
        case OP_RELEASE:
                if (managed_home_referenced(h)) {
                        fail_running(h, BUS_ERROR_HOME_BUSY, "home %s: still referenced", n);
                        return true;
                }
                if (h->state != HOME_ACTIVE) {
                        finish_running(h, NULL);
                        return true;
                }
                return false;
        case OP_DEACTIVATE_UNREFERENCED:
                if (h->state != HOME_ACTIVE || managed_home_referenced(h)) {
                        finish_running(h, NULL);
                        return true;
                }
                return false;
        default:
                break;
        }

        if (h->state == HOME_ABSENT) {
                fail_running(h, BUS_ERROR_HOME_ABSENT, "home %s: its storage is missing", n);
                return true;
        }
        switch (op->type) {
        case OP_ACTIVATE:
                if (h->state == HOME_ACTIVE) {
                        fail_running(h, BUS_ERROR_HOME_ALREADY_ACTIVE, "home %s: already active", n);
                        return true;
                }
                /* fall through */
        case OP_ACQUIRE:
                if (h->state == HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_LOCKED,
                                     "Home of user %s is currently locked, please unlock locally first.", n);
                        return true;
                }
                return false;
        case OP_DEACTIVATE:
                /* Unmounting a suspended volume would hang: unlock first. */
                if (h->state == HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_LOCKED,
                                     "Home of user %s is currently locked, please unlock locally first.", n);
                        return true;
                }
                if (h->state == HOME_INACTIVE) {
                        fail_running(h, BUS_ERROR_HOME_NOT_ACTIVE, "home %s: not active", n);
                        return true;
                }
                return false;
        case OP_LOCK:
                if (h->state == HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_LOCKED, "home %s: already locked", n);
                        return true;
                }
                if (h->state != HOME_ACTIVE) {
                        fail_running(h, BUS_ERROR_HOME_NOT_ACTIVE, "home %s: not active", n);
                        return true;
                }
                return false;
        case OP_UNLOCK:
                if (h->state != HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_NOT_LOCKED, "home %s: not locked", n);
                        return true;
                }
                return false;
        case OP_UPDATE:
        case OP_RESIZE:
        case OP_PASSWD:
                /* These write into the home (~/.identity, the file system):
                 * on a suspended volume the worker would wait for the unlock. */
                if (h->state == HOME_LOCKED) {
                        fail_running(h, BUS_ERROR_HOME_LOCKED,
                                     "Home of user %s is currently locked, please unlock locally first.", n);
                        return true;
                }
                return false;
        default:
                return false;
        }
}

static void run(ManagedHome *h) {
        Operation *op = h->running;
        _cleanup_secure_buffer_ SecureBuffer *request = NULL;
        const char *wop;
        char size_arg[64];
        char *argv[4] = {};
        size_t len;
        int r;

        if (precheck(h, op))
                return;
        wop = worker_op(op->type, h->state);
        if (!wop) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: internal error: no worker operation", h->name);
                return;
        }

        /* The record to work on: the new one for create and update. */
        UserRecord *rec = op->record ? op->record : h->record;
        _cleanup_json_ json_object *plain = user_record_without(rec, USER_RECORD_SECRET | USER_RECORD_STATUS);
        const char *text = plain ? json_object_to_json_string_ext(plain, JSON_C_TO_STRING_PLAIN) : NULL;
        if (!text) {
                fail_running(h, BUS_ERROR_NO_MEMORY, "out of memory");
                return;
        }
        r = secret_request_build(text, op->secret, op->new_secret, op->recovery, &request, &len);
        if (r < 0) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot build the worker's request: %s", h->name,
                             strerror(-r));
                return;
        }

        size_t n = 0;
        argv[n++] = (char *) wop;
        if (op->type == OP_RESIZE && op->size != HEARTH_SIZE_RECORD) {
                if (op->size == HEARTH_SIZE_MIN)
                        snprintf(size_arg, sizeof size_arg, WORKER_OPT_SIZE HEARTH_SIZE_WORD_MIN);
                else if (op->size == HEARTH_SIZE_MAX)
                        snprintf(size_arg, sizeof size_arg, WORKER_OPT_SIZE HEARTH_SIZE_WORD_MAX);
                else
                        snprintf(size_arg, sizeof size_arg, WORKER_OPT_SIZE "%" PRIu64 "B", op->size);
                argv[n++] = size_arg;
        }
        argv[n] = NULL;

        WorkerEnv env = manager_worker_env(h->manager);
        /* Second granularity of some file systems' ctime: a little before. */
        op->started_usec = now_usec(CLOCK_REALTIME);
        op->started_usec = op->started_usec > 2 * USEC_PER_SEC ? op->started_usec - 2 * USEC_PER_SEC : 0;
        r = worker_job_start(h->manager->event, &env, argv, request->data, len,
                             worker_timeout_for(&h->manager->timeouts, wop), on_worker_done, h, &h->job);
        if (r < 0) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot start the storage worker: %s", h->name,
                             strerror(-r));
                return;
        }
        log_debug("home %s: %s (worker %d)", h->name, wop, (int) worker_job_pid(h->job));
        /* A sweep is no state clients see. */
        if (op->type != OP_QUOTA_SWEEP)
                changed(h);
}

static void start_next(ManagedHome *h) {
        if (h->manager->stopping) {
                /* Queued calls fail when the homes are freed at exit. */
                if (manager_running_operations(h->manager) == 0)
                        (void) sd_event_exit(h->manager->event, 0);
                return;
        }
        while (!h->running && h->queue) {
                h->running = h->queue;
                h->queue = h->running->next;
                h->running->next = NULL;
                run(h);
                /* run() may have answered at once and dropped the home. */
                return;
        }
}

void managed_home_enqueue(ManagedHome *h, Operation *op) {
        size_t n = 0;
        Operation **tail = &h->queue;

        for (; *tail; tail = &(*tail)->next)
                n++;
        if (n >= QUEUE_MAX) {
                operation_fail(op, BUS_ERROR_TOO_MANY_OPERATIONS, "home %s: too many operations queued", h->name);
                return;
        }
        if (h->manager->stopping) {
                operation_fail(op, BUS_ERROR_FAILED, "home %s: hearthd is stopping", h->name);
                return;
        }
        op->home = h;
        *tail = op;
        if (!h->running)
                start_next(h);
}

ManagedHome *managed_home_free(ManagedHome *h) {
        if (!h)
                return NULL;
        h->job = worker_job_free(h->job);
        if (h->running) {
                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(BUS_ERROR_FAILED, "hearthd is stopping");
                operation_finish(TAKE_PTR(h->running), &e);
        }
        while (h->queue) {
                Operation *op = h->queue;
                h->queue = op->next;
                operation_fail(op, BUS_ERROR_NO_SUCH_HOME, "home %s: no longer managed", h->name);
        }
        while (h->refs) {
                RefFd *r = h->refs;
                h->refs = r->next;
                ref_free(r);
        }
        user_record_free(h->record);
        json_object_put(h->status);
        free(h->dirty_reason);
        free(h->path);
        free(h->name);
        free(h);
        return NULL;
}
