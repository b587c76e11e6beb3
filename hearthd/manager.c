/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager: every home hearthd knows, loaded from the identity store at
 * start with its state re-derived from the system, and what is shared
 * between them (the bus, the worker's environment, the NSS files). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus-home.h"
#include "bus-pool.h"
#include "home-guard.h"
#include "home-layout.h"
#include "home-mark.h"
#include "leftovers.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "varlink-server.h"
#include "rebalance-run.h"
#include "nss-files.h"
#include "skel-watch.h"
#include "uid-alloc.h"

int manager_new(const char *state_dir, const char *runtime_dir, const char *home_root, const char *worker_path,
                Manager **ret) {
        _cleanup_(freep) Manager *m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->state_dir = strdup(state_dir);
        m->runtime_dir = strdup(runtime_dir);
        m->home_root = strdup(home_root);
        m->worker_path = strdup(worker_path);
        worker_timeouts_init(&m->timeouts);
        m->quota_sweep_usec = QUOTA_SWEEP_DEFAULT_USEC;
        m->quota_rescan_usec = QUOTA_RESCAN_DEFAULT_USEC;
        m->quota_rescan_last = QUOTA_RESCAN_NEVER;
        if (!m->state_dir || !m->runtime_dir || !m->home_root || !m->worker_path) {
                free(m->state_dir);
                free(m->runtime_dir);
                free(m->home_root);
                free(m->worker_path);
                return log_oom();
        }
        *ret = TAKE_PTR(m);
        return 0;
}

unsigned manager_running_operations(Manager *m) {
        unsigned n = 0;
        for (size_t i = 0; i < m->n_homes; i++)
                n += m->homes[i]->job != NULL;
        return n + pool_service_running(m->pool);
}

void manager_exit_when_idle(Manager *m) {
        if (m->stopping && manager_running_operations(m) == 0)
                (void) sd_event_exit(m->event, 0);
}

void manager_stop(Manager *m) {
        m->stopping = true;
        manager_exit_when_idle(m);
}

/* A worker deleting the leftovers of a user who has no record. */
struct OrphanClean {
        Manager *manager;
        char *user;
        WorkerJob *job;
        struct OrphanClean *next;
};

static void orphan_clean_free(struct OrphanClean *c) {
        worker_job_free(c->job);
        free(c->user);
        free(c);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->userdb = varlink_server_free(m->userdb);
        access_done(&m->access);
        manager_rebalance_done(m);
        m->pool = pool_service_free(m->pool);
        for (size_t i = 0; i < m->n_homes; i++)
                managed_home_free(m->homes[i]);
        free(m->homes);
        while (m->orphan_cleans) {
                struct OrphanClean *c = m->orphan_cleans;
                m->orphan_cleans = c->next;
                orphan_clean_free(c);
        }
        worker_jobs_release_orphans();
        sd_event_source_disable_unref(m->quota_sweep_timer);
        sd_event_source_disable_unref(m->quota_sweep_more);
        sd_event_source_disable_unref(m->nss_write);
        sd_event_source_disable_unref(m->home_root_watch);
        sd_event_source_disable_unref(m->skel_watch_source);
        skel_watch_free(m->skel_watch);
        identity_store_free(m->store);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->home_root);
        free(m->worker_path);
        free(m);
        return NULL;
}

WorkerEnv manager_worker_env(Manager *m) {
        return (WorkerEnv) {
                .worker_path = m->worker_path,
                .state_dir = m->state_dir,
                .runtime_dir = m->runtime_dir,
                .home_root = m->home_root,
        };
}

ManagedHome *manager_find_by_name(Manager *m, const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < m->n_homes; i++)
                if (strcmp(m->homes[i]->name, name) == 0)
                        return m->homes[i];
        return NULL;
}

ManagedHome *manager_find_by_uid(Manager *m, uid_t uid) {
        for (size_t i = 0; i < m->n_homes; i++)
                if (m->homes[i]->uid == uid)
                        return m->homes[i];
        return NULL;
}

bool manager_uid_taken(Manager *m, uid_t uid) {
        return manager_find_by_uid(m, uid) || uid_taken_nss(uid);
}

ManagedHome *manager_find_by_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_homes; i++)
                if (strcmp(m->homes[i]->path, path) == 0)
                        return m->homes[i];
        return NULL;
}

void manager_guard_storage(Manager *m, const UserRecord *rec) {
        _cleanup_free_ char *storage = NULL;
        _cleanup_close_ int root_fd = -1;

        if (rec->storage == USER_STORAGE_LUKS)
                return;
        if (asprintf(&storage, "%s" HOME_STORAGE_SUFFIX, rec->user_name) < 0) {
                log_oom();
                return;
        }
        root_fd = open(m->home_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0) {
                if (errno != ENOENT)
                        log_error_errno(errno, "home %s: cannot open the home root %s: %m", rec->user_name,
                                        m->home_root);
                return;
        }
        /* Errors are logged; the worker makes the guard again, or refuses,
         * at the next activation. */
        if (home_guard(rec->user_name, root_fd, storage) > 0)
                log_info("home %s: %s/%s guarded (nosuid,nodev,noexec)", rec->user_name, m->home_root, storage);
}

int manager_add_home(Manager *m, UserRecord *rec, HomeState state, ManagedHome **ret) {
        if (m->n_homes == m->allocated) {
                size_t a = m->allocated ? m->allocated * 2 : 64;
                ManagedHome **p = realloc(m->homes, a * sizeof *p);
                if (!p)
                        return log_oom();
                m->homes = p;
                m->allocated = a;
        }
        ManagedHome *h;
        int r = managed_home_new(m, rec, state, &h);
        if (r < 0)
                return r;
        /* Loaded at start, or registered with its storage already there.
         * A home only found here is not ours yet: its storage stays as it
         * is (a guard would keep an admin from moving it out again) until
         * it is fixated. */
        if (state != HOME_UNFIXATED)
                manager_guard_storage(m, h->record);
        m->homes[m->n_homes++] = h;
        bus_home_emit_added(h);
        manager_schedule_nss(m);
        if (ret)
                *ret = h;
        return 0;
}

void manager_drop_home(Manager *m, ManagedHome *h) {
        for (size_t i = 0; i < m->n_homes; i++)
                if (m->homes[i] == h) {
                        memmove(m->homes + i, m->homes + i + 1, (m->n_homes - i - 1) * sizeof *m->homes);
                        m->n_homes--;
                        break;
                }
        bus_home_emit_removed(h);
        managed_home_free(h);
        manager_schedule_nss(m);
}

/* ---- the NSS files ----------------------------------------------------------- */

static int on_nss_write(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ UserRecord **recs = calloc(m->n_homes + 1, sizeof *recs);
        size_t n = 0;

        if (!recs)
                return log_oom();
        for (size_t i = 0; i < m->n_homes; i++)
                recs[n++] = m->homes[i]->record;
        (void) nss_files_write(m->runtime_dir, m->home_root, recs, n);
        return 0;
}

void manager_flush_nss(Manager *m) {
        int enabled = SD_EVENT_OFF;
        if (!m->nss_write || sd_event_source_get_enabled(m->nss_write, &enabled) < 0 || enabled == SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_enabled(m->nss_write, SD_EVENT_OFF);
        (void) on_nss_write(m->nss_write, m);
}

void manager_schedule_nss(Manager *m) {
        if (!m->event)
                return;
        if (m->nss_write) {
                (void) sd_event_source_set_enabled(m->nss_write, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_defer(m->event, &m->nss_write, on_nss_write, m) < 0)
                log_warning("cannot schedule writing the NSS files");
        else
                (void) sd_event_source_set_priority(m->nss_write, SD_EVENT_PRIORITY_IDLE);
}

/* A record an older Hearth stored with the hash of a TPM PIN (user-record.h,
 * user_record_pin_only()): stored again without it, at once, and dated now
 * so that the worker rewrites the copies in the volume at the next
 * activation. */
static void forget_pin_hash(Manager *m, UserRecord *rec) {
        struct timespec ts;
        int r = user_record_drop_pin_hash(rec);
        if (r <= 0)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = user_record_bump_last_change(rec, (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000);
        if (r >= 0)
                r = identity_store_save(m->store, rec);
        if (r < 0)
                log_warning_errno(r, "home %s: cannot store its record without the password hash (%m); it stays in "
                                  "%s until the record is stored next", rec->user_name, m->state_dir);
        else
                log_info("home %s: its key is sealed in the TPM with the password as PIN: dropped the PIN's hash "
                         "from its stored record", rec->user_name);
}

static int on_skel_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        skel_watch_process(m->skel_watch);
        return 0;
}

/* The skel watch (skel/skel-watch.h): set up at the first create of a
 * subvolume home; without it, each such create scans the skel. */
static void start_skel_watch(Manager *m) {
        int r = skel_watch_new(NULL, 0, &m->skel_watch);
        if (r >= 0)
                r = sd_event_add_io(m->event, &m->skel_watch_source, skel_watch_fd(m->skel_watch), EPOLLIN,
                                    on_skel_event, m);
        if (r < 0) {
                log_warning_errno(r, "cannot watch the skel (each create of a subvolume home scans it): %m");
                m->skel_watch = skel_watch_free(m->skel_watch);
                return;
        }
        (void) sd_event_source_set_description(m->skel_watch_source, "skel-watch");
}

int manager_start(Manager *m) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = identity_store_open(m->state_dir, &m->store);
        if (r < 0)
                return log_error_errno(r, "cannot open the identity store %s: %m", m->state_dir);
        r = identity_store_list(m->store, &names);
        if (r < 0)
                return log_error_errno(r, "cannot list %s: %m", m->state_dir);
        for (char **n = names; *n; n++) {
                UserRecord *rec = NULL;
                _cleanup_free_ char *reason = NULL;
                ManagedHome *h;

                r = identity_store_load(m->store, *n, &rec);
                if (r < 0)
                        continue; /* logged, naming the user; the file is left for an admin */
                if (!valid_home_uid(rec->uid)) {
                        log_error("home %s: uid %u is outside %u–%u; ignored", *n, (unsigned) rec->uid,
                                  HOME_UID_MIN, HOME_UID_MAX);
                        user_record_free(rec);
                        continue;
                }
                if (manager_find_by_uid(m, rec->uid)) {
                        log_error("home %s: uid %u is used by another home; ignored", *n, (unsigned) rec->uid);
                        user_record_free(rec);
                        continue;
                }
                forget_pin_hash(m, rec);
                HomeState s = home_state_now(m->runtime_dir, m->home_root, rec, &reason);
                r = manager_add_home(m, rec, s, &h);
                if (r < 0) {
                        user_record_free(rec);
                        return r;
                }
                if (reason) {
                        log_warning("home %s: dirty: %s", h->name, reason);
                        h->dirty_reason = TAKE_PTR(reason);
                }
        }
        /* Before anything is answered: nothing a killed operation left may
         * stay readable by the UID it belonged to. */
        (void) leftovers_lock_down(m->home_root, NULL, NULL);
        log_info("%zu home(s) loaded from %s", m->n_homes, m->state_dir);
        manager_schedule_nss(m);
        start_skel_watch(m);
        return 0;
}

/* ---- leftovers of interrupted operations ------------------------------------------- */

static void on_orphan_cleaned(const WorkerResult *res, void *userdata) {
        struct OrphanClean *c = userdata;
        Manager *m = c->manager;

        if (res->status != 0)
                log_error("home %s: cannot remove the leftovers of an interrupted operation: %s", c->user,
                          *res->reason ? res->reason : "the worker failed");
        else
                log_info("home %s: leftovers of an interrupted operation removed", c->user);
        for (struct OrphanClean **p = &m->orphan_cleans; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        orphan_clean_free(c);
}

int manager_clean_orphan(Manager *m, const char *user) {
        _cleanup_json_ json_object *rec = json_object_new_object();
        struct OrphanClean *c;
        int r;

        /* All the worker needs: whose leftovers. A record must have a
         * storage and a UID too; clean uses neither. */
        if (!rec || json_object_object_add(rec, "userName", json_object_new_string(user)) < 0 ||
            json_object_object_add(rec, "uid", json_object_new_int64(HOME_UID_MIN)) < 0 ||
            json_object_object_add(rec, "storage", json_object_new_string("directory")) < 0)
                return log_oom();
        const char *text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
        c = calloc(1, sizeof *c);
        if (!c || !text || !(c->user = strdup(user))) {
                free(c);
                return log_oom();
        }
        c->manager = m;
        WorkerEnv env = manager_worker_env(m);
        char *argv[] = { (char *) "clean", NULL };
        r = worker_job_start(m->event, &env, argv, text, strlen(text), worker_timeout_for(&m->timeouts, "clean"),
                             on_orphan_cleaned, c, &c->job);
        if (r < 0) {
                orphan_clean_free(c);
                return r;
        }
        c->next = m->orphan_cleans;
        m->orphan_cleans = c;
        return 0;
}

void manager_clean_leftovers(Manager *m) {
        _cleanup_strv_free_ char **users = NULL;

        if (leftovers_lock_down(m->home_root, NULL, &users) <= 0 || !users)
                return;
        for (char **u = users; *u; u++) {
                ManagedHome *h = manager_find_by_name(m, *u);
                if (!h) {
                        (void) manager_clean_orphan(m, *u);
                        continue;
                }
                Operation *op = operation_new(OP_CLEAN, h->name, NULL);
                if (!op) {
                        log_oom();
                        return;
                }
                managed_home_enqueue(h, op);
        }
}

/* ---- the nested-subvolume sweep (quota-sweep.h) ------------------------------------- */

/* Sweeps are cheap, but a tick finds every home due at once: a few
 * workers at a time, the rest as these end. */
#define QUOTA_SWEEP_PARALLEL 2

static bool sweep_wanted(ManagedHome *h) {
        QuotaSweepHome q = {
                .subvolume = h->record->storage == USER_STORAGE_SUBVOLUME,
                .limited = h->record->disk_size != UINT64_MAX,
                .present = h->state == HOME_INACTIVE || h->state == HOME_ACTIVE,
                .busy = h->running || h->queue,
                .mode = h->quota_mode,
        };
        return quota_sweep_wanted(&q);
}

static int on_quota_sweep_more(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        unsigned running = 0;

        if (m->stopping)
                return 0;
        for (size_t i = 0; i < m->n_homes; i++)
                running += m->homes[i]->running && m->homes[i]->running->type == OP_QUOTA_SWEEP;
        for (size_t i = 0; i < m->n_homes && running < QUOTA_SWEEP_PARALLEL; i++) {
                ManagedHome *h = m->homes[i];
                /* A home busy now is skipped for this round: the worker of
                 * what runs on it adopts the subvolumes as well, and a login
                 * never waits behind a sweep queued before it. */
                if (!h->sweep_due)
                        continue;
                h->sweep_due = false;
                if (!sweep_wanted(h))
                        continue;
                Operation *op = operation_new(OP_QUOTA_SWEEP, h->name, NULL);
                if (!op)
                        return log_oom();
                running++;
                /* Runs at once, the home being idle; its end kicks us again.
                 * (It cannot drop the home: the array stays as it is.) */
                managed_home_enqueue(h, op);
        }
        return 0;
}

void manager_quota_sweep_kick(Manager *m) {
        if (m->quota_sweep_more)
                (void) sd_event_source_set_enabled(m->quota_sweep_more, SD_EVENT_ONESHOT);
}

static int on_quota_sweep_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        (void) sd_event_source_set_time(s, usec + m->quota_sweep_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        for (size_t i = 0; i < m->n_homes; i++)
                m->homes[i]->sweep_due = true;
        manager_quota_sweep_kick(m);
        return 0;
}

int manager_start_quota_sweep(Manager *m) {
        uint64_t now;
        int r;

        if (m->quota_sweep_usec == 0)
                return 0;
        r = sd_event_add_defer(m->event, &m->quota_sweep_more, on_quota_sweep_more, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->quota_sweep_more, SD_EVENT_OFF);
        /* After the calls waiting: a login that came in with the tick goes first. */
        if (r >= 0)
                r = sd_event_source_set_priority(m->quota_sweep_more, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->quota_sweep_timer, CLOCK_MONOTONIC, now + m->quota_sweep_usec,
                                      0, on_quota_sweep_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->quota_sweep_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                return log_error_errno(r, "cannot set up the check for nested subvolumes: %m");
        return 0;
}
