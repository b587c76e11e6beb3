/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One home's operations, one at a time in the order they came: each
 * checked against the home's state (home-policy.c), run in a hearth-work
 * child, its outcome taken into the home's record and state, its call
 * answered. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus-error.h"
#include "bus-home.h"
#include "bus-util.h"
#include "home-mark.h"
#include "identity-store.h"
#include "json-strict.h"
#include "leftovers.h"
#include "log.h"
#include "macro.h"
#include "managed-home.h"
#include "manager.h"
#include "recovery-key.h"
#include "self-modify.h"
#include "size.h"
#include "skel-template.h"
#include "skel-watch.h"
#include "worker-protocol.h"

#define QUEUE_MAX 64

const char *managed_home_state(ManagedHome *h) {
        return home_state_shown(h->state, h->running, h->running ? h->running->type : _OP_MAX);
}

const char *managed_home_dir(ManagedHome *h, char *buf, size_t size) {
        if (h->record->home_directory)
                return h->record->home_directory;
        snprintf(buf, size, "%s/%s", h->manager->home_root, h->name);
        return buf;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* ---- running operations ----------------------------------------------------- */

static void start_next(ManagedHome *h);
static void drop_unregistered(ManagedHome *h);
static void run(ManagedHome *h);

static void changed(ManagedHome *h) {
        bus_home_emit_changed(h);
        manager_schedule_nss(h->manager);
}

static void finish_running(ManagedHome *h, const sd_bus_error *error) {
        Operation *op = TAKE_PTR(h->running);
        h->job = worker_job_free(h->job);
        changed(h);
        manager_flush_nss(h->manager);
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
        sd_bus_error e = operation_errorv(name, &text, fmt, ap);
        va_end(ap);
        finish_running(h, &e);
}

static void set_state(ManagedHome *h, HomeState s) {
        h->state = s;
        if (s != HOME_DIRTY)
                h->dirty_reason = mfree(h->dirty_reason);
        (void) home_mark_write(h->manager->runtime_dir, h->name, h->state);
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

/* After a worker died half-way, or the storage came or went: what is
 * there now decides. An unfixated home has nothing but its image to
 * look at (images.c). Returns whether the state changed. */
static bool rederive_state(ManagedHome *h) {
        _cleanup_free_ char *reason = NULL;
        if (h->state == HOME_UNFIXATED)
                return false;
        HomeState s = home_state_now(h->manager->runtime_dir, h->manager->home_root, h->record, &reason);
        if (s == h->state && !reason)
                return false;
        if (reason)
                log_warning("home %s: dirty: %s", h->name, reason);
        h->state = s;
        free(h->dirty_reason);
        h->dirty_reason = TAKE_PTR(reason);
        if (s == HOME_ABSENT || s == HOME_INACTIVE)
                home_refs_clear(&h->refs);
        return true;
}

void managed_home_revalidate(ManagedHome *h) {
        if (h->running || h->queue)
                return; /* its operation's end decides */
        if (rederive_state(h)) {
                log_info("home %s: now %s", h->name, home_state_to_string(h->state));
                changed(h);
        }
}

/* What the worker's record may differ in from the stored one without
 * being news: the status, secrets and the signature (made when stored). */
#define RECORD_VOLATILE (USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_SIGNATURE)

/* The right to start a quota rescan, lent to h's worker (quota-sweep.h),
 * back; used: it started one, or may have (it failed). */
static void rescan_return(ManagedHome *h, bool used) {
        if (!h->rescan_lent)
                return;
        h->rescan_lent = false;
        h->manager->quota_rescan_lent = false;
        if (used)
                h->manager->quota_rescan_last = now_usec(CLOCK_MONOTONIC);
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
        if (json_object_object_get_ex(q, WORKER_STATUS_QUOTA_HELD, &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v) && i < 16; i++) {
                        json_object *p = json_object_array_get_idx(v, i);
                        if (json_object_is_type(p, json_type_string))
                                log_notice("home %s: subvolume %s/%s, made inside the home, needs a quota rescan to "
                                           "count against its quota: held at what it holds until then (at most one "
                                           "rescan per RescanIntervalSec=)", h->name,
                                           managed_home_dir(h, buf, sizeof buf), json_object_get_string(p));
                }
        if (json_object_object_get_ex(q, WORKER_STATUS_QUOTA_RESCAN, &v) && json_object_get_boolean(v)) {
                /* Lent or not (the kernel's counts may go inconsistent where
                 * the worker did not expect it): the next one waits. */
                h->manager->quota_rescan_last = now_usec(CLOCK_MONOTONIC);
                log_notice("home %s: a quota rescan of %s was started: the file system's quota counts are being "
                           "redone", h->name, h->manager->home_root);
        }
        json_object_object_del(h->status, WORKER_STATUS_QUOTA);
}

/* What the worker has for the administrator (worker-protocol.h): logged,
 * and taken out of the status. */
/* The skel template the create's worker found current (worker-protocol.h):
 * current from now on for the skel watch, if nothing changed since the
 * create began. Taken out of the status. */
static void take_skel_report(ManagedHome *h) {
        Operation *op = h->running;
        json_object *t;

        if (!h->status || !json_object_object_get_ex(h->status, WORKER_STATUS_SKEL_TEMPLATE, &t))
                return;
        if (op && op->skel_watched && h->manager->skel_watch && json_object_is_type(t, json_type_string))
                skel_watch_done(h->manager->skel_watch, op->skel_ticket, json_object_get_string(t));
        json_object_object_del(h->status, WORKER_STATUS_SKEL_TEMPLATE);
}

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
                if (h->status) {
                        json_object_object_del(h->status, "state");
                        json_object_object_del(h->status, WORKER_STATUS_TPM); /* taken by take_tpm_report() */
                }
                take_quota_report(h);
                take_notices(h);
                take_skel_report(h);
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
        int r = home_refs_add(&h->refs, op->please_suspend, &fd, &ref);
        if (r < 0) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot make a reference: %s", h->name, strerror(-r));
                return;
        }
        if (op->msg && (r = sd_bus_reply_method_return(op->msg, "h", fd)) < 0) {
                log_warning_errno(r, "home %s: cannot answer AcquireHome: %m", h->name);
                home_refs_drop(&h->refs, ref);
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

/* What the TPM said in this run, into the machine-wide budget of TPM
 * tries (home-policy.h). */
static void take_tpm_report(ManagedHome *h, const WorkerResult *res) {
        WorkerTpmReport r;
        int k = worker_tpm_report_from_output(res->output, res->output_len, user_record_machine_id(), &r);
        if (k < 0)
                log_warning("home %s: the worker's report of the TPM's state is malformed; ignored", h->name);
        if (k <= 0)
                return;
        home_tpm_account(&h->manager->tpm, h->uid, r.wrong_pin, r.failures, r.max_failures, r.interval,
                         now_usec(CLOCK_MONOTONIC));
        if (r.wrong_pin)
                log_info("home %s: a wrong PIN counted by the TPM (%" PRIu32 " of %" PRIu32 " before it locks out, "
                         "one forgotten every %" PRIu32 " s)", h->name, r.failures, r.max_failures, r.interval);
}

/* A fixation's worker succeeded: the record the home carries is checked
 * here as every record from outside is (identity_store_verify()), then
 * stored, and the home is a home like any other. An activation or acquire
 * that asked for it then runs on it. Returns true if op was answered. */
static bool fixation_done(ManagedHome *h, Operation *op, const WorkerResult *res) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *error = NULL, *reason = NULL;
        Manager *m = h->manager;
        int r;

        r = user_record_parse(res->output, res->output_len, &rec, &error);
        if (r < 0 || !rec->user_name || strcmp(rec->user_name, h->name) != 0 || rec->uid != h->uid) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: the worker returned %s", h->name,
                             r < 0 ? "a bad record" : "the record of another user or UID");
                return true;
        }
        r = identity_store_verify(m->store, rec, "its image", false, &reason);
        if (r < 0 && reason) {
                fail_running(h, BUS_ERROR_BAD_SIGNATURE, "%s", reason);
                return true;
        }
        if (r < 0) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot verify its record: %s", h->name, strerror(-r));
                return true;
        }
        (void) take_worker_record(h, res->output, res->output_len, false, NULL);
        r = identity_store_save(m->store, rec);
        if (r < 0) {
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot store its record: %s", h->name, strerror(-r));
                return true;
        }
        user_record_free(h->record);
        h->record = TAKE_PTR(rec);
        _cleanup_free_ char *dirty = NULL;
        HomeState s = home_state_now(m->runtime_dir, m->home_root, h->record, &dirty);
        set_state(h, s);
        if (dirty) {
                log_warning("home %s: dirty: %s", h->name, dirty);
                h->dirty_reason = TAKE_PTR(dirty);
        }
        manager_guard_storage(m, h->record);
        log_info("home %s: fixated: the record it carries is stored now", h->name);
        changed(h);
        if (op->type == OP_ACTIVATE || op->type == OP_ACQUIRE) {
                /* The activation itself, on the fixated home, by a worker of
                 * its own (res is the fixation's, gone with its job). */
                h->job = worker_job_free(h->job);
                run(h);
                return true;
        }
        finish_running(h, NULL);
        return true;
}

static void on_worker_done(const WorkerResult *res, void *userdata) {
        ManagedHome *h = userdata;
        Operation *op = h->running;
        const char *wop = home_worker_op(op->type, h->state);
        int r;

        rescan_return(h, res->status != 0);

        if (op->type == OP_QUOTA_SWEEP) {
                sweep_done(h, res);
                return;
        }
        if (op->type == OP_SKEL_SPARE) {
                /* Nothing waits for it: a create without a spare snapshots
                 * the template as before. */
                if (res->status != 0)
                        log_warning("home %s: the skel template's spares were not made: %s", h->name,
                                    res->status > 0 && res->reason && *res->reason ? res->reason : "the worker failed");
                operation_free(TAKE_PTR(h->running));
                h->job = worker_job_free(h->job);
                start_next(h);
                return;
        }
        take_tpm_report(h, res);
        if (op->type == OP_LOCK && res->status == 0 && op->msg && bus_sender_uid(op->msg) != 0)
                h->locked_by_owner_usec = now_usec(CLOCK_MONOTONIC);

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
                                /* An older home of the name that was kept. */
                                manager_guard_storage(m, h->record);
                                create_failed(h, res->timed_out ? SD_BUS_ERROR_TIMEOUT : BUS_ERROR_FAILED, text);
                                if (name)
                                        (void) manager_clean_orphan(m, name);
                                return;
                        }
                        /* E.g. a remove killed between taking the guard off and the
                         * rename. (An unfixated home's storage is not ours yet.) */
                        if (h->state != HOME_UNFIXATED)
                                manager_guard_storage(h->manager, h->record);
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
                                h->auth.failures++;
                        /* A TPM-sealed home's worker says how many tries the TPM has left. */
                        const char *tpm = res->reason ? strstr(res->reason, "TPM2:") : NULL;
                        fail_running(h, BUS_ERROR_BAD_PASSWORD,
                                     "Password incorrect or not sufficient for authentication of user %s.%s%s", h->name,
                                     tpm ? " " : "", tpm ?: "");
                        return;
                }
                /* A wrong PIN is a guess, as a wrong password is (the token counts too). */
                if (res->status == WORKER_BAD_PIN || res->status == WORKER_BAD_PIN_FEW_TRIES ||
                    res->status == WORKER_BAD_PIN_ONE_TRY)
                        h->auth.failures++;
                const char *reason = res->reason && *res->reason ? res->reason : "the storage worker failed";
                log_warning("home %s: %s failed (%d): %s", h->name, wop, res->status, reason);
                if (op->type == OP_CREATE) {
                        create_failed(h, bus_error_from_worker(res->status, wop), reason);
                        return;
                }
                fail_running(h, bus_error_from_worker(res->status, wop), "%s", reason);
                return;
        }

        if (h->state == HOME_UNFIXATED && strcmp(wop, WORKER_OP_FIXATE) == 0 && fixation_done(h, op, res))
                return;

        bool changes_storage = home_changes_storage(op->type, h->record->storage);
        if (home_returns_record(op->type)) {
                bool save_failed = false;
                r = take_worker_record(h, res->output, res->output_len, home_stores_record(op->type, h->state),
                                       &save_failed);
                if (r < 0 && save_failed && !changes_storage && op->type != OP_PASSWD) {
                        /* Activation and the like: what changed in the record is
                         * this machine's view of the home (binding), written
                         * again next time; the state is what the storage says. */
                        log_warning_errno(r, "home %s: %s succeeded, but its record could not be stored: %m",
                                          h->name, wop);
                        r = 0;
                } else if (r < 0 && !changes_storage) {
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

        HomeState next = h->state;
        bool sets_state = home_state_after(op->type, h->state, &next);
        switch (op->type) {
        case OP_DEACTIVATE:
        case OP_DEACTIVATE_UNREFERENCED:
        case OP_RELEASE:
                home_refs_clear(&h->refs);
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
                h->state = next;
                (void) home_mark_write(m->runtime_dir, h->name, h->state);
                finish_and_drop(h, NULL);
                return;
        }
        default:
                break;
        }
        if (sets_state)
                set_state(h, next);
        if (op->type == OP_ACQUIRE) {
                reply_with_ref(h, op);
                return;
        }
        /* A subvolume create may have taken a spare of the skel template
         * (skel-template.h): the next one's is made now, after the reply. */
        bool spare = (op->type == OP_CREATE || op->type == OP_REALIZE) && h->record->storage == USER_STORAGE_SUBVOLUME;
        finish_running(h, NULL);
        if (spare) {
                Operation *s = operation_new(OP_SKEL_SPARE, h->name, NULL);
                if (s)
                        managed_home_enqueue(h, s);
                else
                        log_oom();
        }
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

/* "3 min", "40 s": how long to wait, rounded up. */
static const char *format_wait(uint64_t usec, char *buf, size_t size) {
        uint64_t s = (usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
        if (s >= 120)
                snprintf(buf, size, "%" PRIu64 " min", (s + 59) / 60);
        else
                snprintf(buf, size, "%" PRIu64 " s", s);
        return buf;
}

/* Whether one of the secrets opens the home without asking the TPM: a
 * recovery key (never sent to the TPM as a PIN), or any password where the
 * home keeps a password keyslot beside the TPM's. */
static bool opens_without_tpm(const ManagedHome *h, const Secret *secret) {
        if (!user_record_pin_only(h->record))
                return true;
        for (size_t i = 0; i < secret->n_password; i++)
                if (recovery_key_shaped(secret->password[i]) != 0)
                        return true;
        return false;
}

/* A TPM home's share of the TPM's tries (home-policy.h): spent, the call
 * is refused without asking the TPM, unless a recovery key or a kept
 * password keyslot may open it (then the worker runs, with no TPM try).
 * Returns true if the operation was answered here. */
static bool tpm_budget_refuses(ManagedHome *h, Operation *op) {
        char wait[32];
        /* Every LUKS home: its record cannot tell whether the header holds a
         * TPM token (a found home's is made up); the worker asks the TPM
         * only where one is, and a password home is let through below. */
        if (!home_takes_secret(op->type) || !op->secret || op->secret->n_password == 0 ||
            h->record->storage != USER_STORAGE_LUKS)
                return false;
        HomeTpmBudget b = home_tpm_budget(&h->manager->tpm, h->uid, now_usec(CLOCK_MONOTONIC));
        op->tpm_tries_below = b.allowed ? b.tries_below : 0;
        if (b.allowed || opens_without_tpm(h, op->secret))
                return false;
        log_debug("home %s: refused without asking the TPM: its share of the TPM's tries is spent for %s",
                  h->name, format_wait(b.wait_usec, wait, sizeof wait));
        fail_running(h, BUS_ERROR_AUTHENTICATION_LIMIT_HIT,
                     "home %s: too many wrong passwords lately; the TPM's remaining tries are kept for the other "
                     "homes of this machine. Try again in %s, or log in with the recovery key.", h->name, wait);
        return true;
}

/* An owner's lock empties the machine's page cache: once a minute. */
static bool lock_too_soon(ManagedHome *h, Operation *op) {
        uint64_t wait;
        char text[32];
        if (op->type != OP_LOCK || !op->msg || bus_sender_uid(op->msg) == 0 ||
            !home_lock_too_soon(h->locked_by_owner_usec, now_usec(CLOCK_MONOTONIC), HOME_LOCK_INTERVAL_USEC, &wait))
                return false;
        fail_running(h, BUS_ERROR_TOO_MANY_OPERATIONS,
                     "home %s: locked less than a minute ago; each lock empties the file cache of the whole "
                     "machine, so its user may lock it once a minute. Try again in %s.", h->name,
                     format_wait(wait, text, sizeof text));
        return true;
}

/* Before any worker runs: what the rate limit, the stored record and the
 * state allow. Returns true if the operation was answered here. */
static bool precheck(ManagedHome *h, Operation *op) {
        const char *n = h->name;
        char text[256];
        int r;

        if (home_takes_secret(op->type) && op->secret &&
            home_auth_limit_hit(&h->auth, now_usec(CLOCK_MONOTONIC), home_auth_rate_interval(h->record),
                                home_auth_rate_burst(h->record))) {
                fail_running(h, BUS_ERROR_AUTHENTICATION_LIMIT_HIT,
                             "Too many unsuccessful login attempts for user %s, refusing.", n);
                return true;
        }
        if (tpm_budget_refuses(h, op) || lock_too_soon(h, op))
                return true;
        if (op->type == OP_CREATE) {
                /* The record first: if we die while the worker runs, the
                 * home is found absent, not left on disk unknown. */
                r = identity_store_save(h->manager->store, h->record);
                if (r < 0) {
                        snprintf(text, sizeof text, "home %s: cannot store the record: %s", n, strerror(-r));
                        create_failed(h, BUS_ERROR_FAILED, text);
                        return true;
                }
        }
        if (op->type == OP_UPDATE && update_overtaken(h, op))
                return true;

        HomeCheck c = home_check(op->type, h->state, home_refs_any(&h->refs));
        switch (c.verdict) {
        case HOME_RUN:
                return false;
        case HOME_REFUSE:
                fail_running(h, c.error, "%s", home_check_message(&c, n, text, sizeof text));
                return true;
        case HOME_DONE:
                finish_running(h, NULL);
                return true;
        case HOME_SKIP:
                finish_sweep(h, false);
                return true;
        case HOME_RECORD_ONLY:
                r = identity_store_save(h->manager->store, op->record);
                if (r < 0) {
                        fail_running(h, BUS_ERROR_FAILED, "home %s: cannot store the record: %s", n, strerror(-r));
                        return true;
                }
                user_record_free(h->record);
                h->record = TAKE_PTR(op->record);
                finish_running(h, NULL);
                return true;
        case HOME_DROP:
                /* What an interrupted operation left goes first: a worker
                 * cleans (home_worker_op()), and the home goes after it. */
                if (leftovers_lock_down(h->manager->home_root, n, NULL) > 0)
                        return false;
                drop_unregistered(h);
                return true;
        }
        return false;
}

static void run(ManagedHome *h) {
        Operation *op = h->running;
        _cleanup_secure_buffer_ SecureBuffer *request = NULL;
        const char *wop;
        char size_arg[64], tpm_arg[64], skel_arg[sizeof(WORKER_OPT_SKEL_TEMPLATE) + SKEL_TEMPLATE_TOKEN_MAX];
        char *argv[7] = {};
        size_t len;
        int r;

        if (precheck(h, op))
                return;
        wop = home_worker_op(op->type, h->state);
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
        if (op->tpm_tries_below != UINT32_MAX) {
                snprintf(tpm_arg, sizeof tpm_arg, WORKER_OPT_TPM_TRIES_BELOW "%" PRIu32, op->tpm_tries_below);
                argv[n++] = tpm_arg;
        }
        /* A subvolume home is a snapshot of the skel template: the one the
         * watch knows current, if it does, which spares the worker its
         * scan of the skel. Last thing before the worker starts. */
        if ((op->type == OP_CREATE || op->type == OP_SKEL_SPARE) && rec->storage == USER_STORAGE_SUBVOLUME &&
            h->manager->skel_watch) {
                const char *current;
                skel_watch_begin(h->manager->skel_watch, &current, &op->skel_ticket);
                op->skel_watched = op->type == OP_CREATE;
                if (current) {
                        if (op->type == OP_CREATE)
                                log_debug("home %s: the skel is unchanged since the template %s was found current",
                                          h->name, current);
                        snprintf(skel_arg, sizeof skel_arg, WORKER_OPT_SKEL_TEMPLATE "%s", current);
                        argv[n++] = skel_arg;
                }
        }
        /* Subvolumes made inside a home may need a quota rescan to join
         * its group: one worker at a time may start one, once per
         * RescanIntervalSec= (quota-sweep.h). */
        if (rec->storage == USER_STORAGE_SUBVOLUME) {
                Manager *m = h->manager;
                if (quota_rescan_allowed(m->quota_rescan_last, now_usec(CLOCK_MONOTONIC), m->quota_rescan_usec,
                                         m->quota_rescan_lent))
                        m->quota_rescan_lent = h->rescan_lent = true;
                else
                        argv[n++] = (char *) WORKER_OPT_NO_RESCAN;
        }
        argv[n] = NULL;

        WorkerEnv env = manager_worker_env(h->manager);
        /* Second granularity of some file systems' ctime: a little before. */
        op->started_usec = now_usec(CLOCK_REALTIME);
        op->started_usec = op->started_usec > 2 * USEC_PER_SEC ? op->started_usec - 2 * USEC_PER_SEC : 0;
        r = worker_job_start(h->manager->event, &env, argv, request->data, len,
                             worker_timeout_for(&h->manager->timeouts, wop), on_worker_done, h, &h->job);
        if (r < 0) {
                rescan_return(h, false);
                fail_running(h, BUS_ERROR_FAILED, "home %s: cannot start the storage worker: %s", h->name,
                             strerror(-r));
                return;
        }
        log_debug("home %s: %s (worker %d)", h->name, wop, (int) worker_job_pid(h->job));
        /* A sweep, a spare are no state clients see. */
        if (op->type != OP_QUOTA_SWEEP && op->type != OP_SKEL_SPARE)
                changed(h);
}

/* The last reference closed: an active home goes inactive. */
static int on_refs_empty(void *userdata) {
        ManagedHome *h = userdata;
        if (h->state != HOME_ACTIVE)
                return 0;
        log_info("home %s: last reference closed, deactivating", h->name);
        Operation *op = operation_new(OP_DEACTIVATE_UNREFERENCED, h->name, NULL);
        if (!op)
                return log_oom();
        managed_home_enqueue(h, op);
        return 0;
}

int managed_home_new(Manager *m, UserRecord *rec, HomeState state, ManagedHome **ret) {
        ManagedHome *h = calloc(1, sizeof *h);
        if (!h)
                return log_oom();
        h->manager = m;
        h->name = strdup(rec->user_name);
        if (!h->name || bus_home_object_path(rec->user_name, &h->path) < 0) {
                free(h->name);
                free(h);
                return log_oom();
        }
        h->record = rec;
        h->uid = rec->uid;
        h->state = state;
        h->refs = (HomeRefs) { .name = h->name, .event = m->event, .empty = on_refs_empty, .userdata = h };
        *ret = h;
        return 0;
}

static void start_next(ManagedHome *h) {
        if (h->manager->stopping) {
                /* Queued calls fail when the homes are freed at exit. */
                manager_exit_when_idle(h->manager);
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
        rescan_return(h, true);
        if (h->running) {
                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(BUS_ERROR_FAILED, "hearthd is stopping");
                manager_flush_nss(h->manager);
                operation_finish(TAKE_PTR(h->running), &e);
        }
        while (h->queue) {
                Operation *op = h->queue;
                h->queue = op->next;
                manager_flush_nss(h->manager);
                operation_fail(op, BUS_ERROR_NO_SUCH_HOME, "home %s: no longer managed", h->name);
        }
        home_refs_clear(&h->refs);
        user_record_free(h->record);
        json_object_put(h->status);
        free(h->dirty_reason);
        free(h->path);
        free(h->name);
        free(h);
        return NULL;
}
