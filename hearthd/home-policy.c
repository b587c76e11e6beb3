/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "home-policy.h"
#include "macro.h"
#include "worker-protocol.h"

static const char *const state_names[_HOME_STATE_MAX] = {
        [HOME_ABSENT] = "absent",
        [HOME_INACTIVE] = "inactive",
        [HOME_ACTIVE] = "active",
        [HOME_LOCKED] = "locked",
        [HOME_DIRTY] = "dirty",
        [HOME_UNFIXATED] = "unfixated",
};

const char *home_state_to_string(HomeState s) {
        return s >= 0 && s < _HOME_STATE_MAX ? state_names[s] : NULL;
}

/* The names homed shows while an operation runs. */
const char *home_state_shown(HomeState s, bool busy, OperationType running) {
        bool active = s == HOME_ACTIVE;
        if (!busy)
                return home_state_to_string(s);
        if (s == HOME_UNFIXATED)
                switch (running) {
                case OP_FIXATE:
                case OP_AUTHENTICATE:
                        return "fixating";
                case OP_ACTIVATE:
                        return "fixating-for-activation";
                case OP_ACQUIRE:
                        return "fixating-for-acquire";
                default:
                        return home_state_to_string(s);
                }
        switch (running) {
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
                return home_state_to_string(s);
        }
}

/* ---- what the state allows ---------------------------------------------------------- */

#define S(s) (1u << (s))
#define ANY_STATE (S(_HOME_STATE_MAX) - 1)
#define ANY_OP _OP_MAX

typedef enum Referenced {
        REF_EITHER,
        REF_YES,
} Referenced;

typedef struct HomeRule {
        OperationType type;  /* ANY_OP: every operation no rule before matched */
        unsigned states;     /* S(state)s it applies in */
        Referenced referenced;
        HomeCheck check;
} HomeRule;

#define GO(v) { v, NULL, NULL }
#define REFUSE(e, m) { HOME_REFUSE, e, m }
#define IS_ACTIVE "home %s: is active; deactivate it first"
#define UNFIXATED "home %s: not fixated yet (found on this machine, its record not taken): log in, or authenticate, " \
                  "once first"

/* The first rule that matches decides; no rule is HOME_RUN. A refusal
 * costs nothing: no worker, no change. */
static const HomeRule home_rules[] = {
        /* Queued on an idle home and so run at once: still as it was? */
        { OP_QUOTA_SWEEP, ANY_STATE & ~(S(HOME_INACTIVE) | S(HOME_ACTIVE)), REF_EITHER, GO(HOME_SKIP) },
        { OP_QUOTA_SWEEP, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        /* The home is only the reason: nothing of it is touched. */
        { OP_SKEL_SPARE, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        /* The record is stored first, whatever is there (managed-home.c). */
        { OP_CREATE, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        { OP_REALIZE, ANY_STATE & ~S(HOME_ABSENT), REF_EITHER, REFUSE(BUS_ERROR_HOME_EXISTS, "home %s: already exists") },
        { OP_REALIZE, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        /* Fixation: the record the home carries, taken with its password. */
        { OP_FIXATE, S(HOME_UNFIXATED), REF_EITHER, GO(HOME_RUN) },
        { OP_FIXATE, S(HOME_ABSENT), REF_EITHER, REFUSE(BUS_ERROR_HOME_ABSENT, "home %s: its storage is missing") },
        { OP_FIXATE, ANY_STATE, REF_EITHER, REFUSE(BUS_ERROR_HOME_ALREADY_FIXATED, "home %s: already fixated") },
        /* Nothing is stored of it to drop: it goes with its image (moved
         * out of the home root), and it is not ours to delete yet. */
        { OP_UNREGISTER, S(HOME_UNFIXATED), REF_EITHER,
          REFUSE(BUS_ERROR_HOME_UNFIXATED, "home %s: not registered, only found on this machine; move its image out "
                                           "of the home root to forget it") },
        { OP_REMOVE, S(HOME_UNFIXATED), REF_EITHER, REFUSE(BUS_ERROR_HOME_UNFIXATED, UNFIXATED) },
        { OP_UPDATE, S(HOME_UNFIXATED), REF_EITHER, REFUSE(BUS_ERROR_HOME_UNFIXATED, UNFIXATED) },
        { OP_RESIZE, S(HOME_UNFIXATED), REF_EITHER, REFUSE(BUS_ERROR_HOME_UNFIXATED, UNFIXATED) },
        { OP_PASSWD, S(HOME_UNFIXATED), REF_EITHER, REFUSE(BUS_ERROR_HOME_UNFIXATED, UNFIXATED) },
        { OP_UNREGISTER, S(HOME_ACTIVE) | S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_BUSY, IS_ACTIVE) },
        /* The name and UID are freed: nothing an interrupted operation left
         * may stay readable by the UID; a worker deletes it first. */
        { OP_UNREGISTER, ANY_STATE, REF_EITHER, GO(HOME_DROP) },
        { OP_CLEAN, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        /* Nothing on disk to apply it to: the record is all. */
        { OP_UPDATE, S(HOME_ABSENT), REF_EITHER, GO(HOME_RECORD_ONLY) },
        { OP_REMOVE, S(HOME_ACTIVE) | S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_BUSY, IS_ACTIVE) },
        /* Absent: only what an interrupted operation left is there. */
        { OP_REMOVE, S(HOME_ABSENT), REF_EITHER, GO(HOME_DROP) },
        { OP_REMOVE, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        { OP_RELEASE, ANY_STATE, REF_YES, REFUSE(BUS_ERROR_HOME_BUSY, "home %s: still referenced") },
        { OP_RELEASE, ANY_STATE & ~S(HOME_ACTIVE), REF_EITHER, GO(HOME_DONE) },
        { OP_RELEASE, ANY_STATE, REF_EITHER, GO(HOME_RUN) },
        /* A new reference came, or it went some other way meanwhile. */
        { OP_DEACTIVATE_UNREFERENCED, ANY_STATE, REF_YES, GO(HOME_DONE) },
        { OP_DEACTIVATE_UNREFERENCED, ANY_STATE & ~S(HOME_ACTIVE), REF_EITHER, GO(HOME_DONE) },
        { OP_DEACTIVATE_UNREFERENCED, ANY_STATE, REF_EITHER, GO(HOME_RUN) },

        /* Everything else needs its storage. */
        { ANY_OP, S(HOME_ABSENT), REF_EITHER, REFUSE(BUS_ERROR_HOME_ABSENT, "home %s: its storage is missing") },
        { OP_ACTIVATE, S(HOME_ACTIVE), REF_EITHER, REFUSE(BUS_ERROR_HOME_ALREADY_ACTIVE, "home %s: already active") },
        { OP_ACTIVATE, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE) },
        { OP_ACQUIRE, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE) },
        /* Unmounting a suspended volume would hang: unlock first. */
        { OP_DEACTIVATE, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE) },
        { OP_DEACTIVATE, S(HOME_INACTIVE) | S(HOME_UNFIXATED), REF_EITHER,
          REFUSE(BUS_ERROR_HOME_NOT_ACTIVE, "home %s: not active") },
        { OP_LOCK, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, "home %s: already locked") },
        { OP_LOCK, ANY_STATE & ~S(HOME_ACTIVE), REF_EITHER, REFUSE(BUS_ERROR_HOME_NOT_ACTIVE, "home %s: not active") },
        { OP_UNLOCK, ANY_STATE & ~S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_NOT_LOCKED, "home %s: not locked") },
        /* These write into the home (~/.identity, the file system): on a
         * suspended volume the worker would wait for the unlock. */
        { OP_UPDATE, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE) },
        { OP_RESIZE, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE) },
        { OP_PASSWD, S(HOME_LOCKED), REF_EITHER, REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE) },
};

HomeCheck home_check(OperationType t, HomeState s, bool referenced) {
        for (size_t i = 0; i < ELEMENTSOF(home_rules); i++) {
                const HomeRule *r = &home_rules[i];
                if ((r->type == t || r->type == ANY_OP) && (r->states & S(s)) &&
                    (r->referenced == REF_EITHER || referenced))
                        return r->check;
        }
        return (HomeCheck) GO(HOME_RUN);
}

bool home_deactivating(OperationType t) {
        return t == OP_DEACTIVATE || t == OP_DEACTIVATE_UNREFERENCED || t == OP_RELEASE || t == OP_LOCK;
}

HomeCheck home_check_ref(HomeState s, bool deactivating) {
        if (s == HOME_LOCKED)
                return (HomeCheck) REFUSE(BUS_ERROR_HOME_LOCKED, HOME_LOCKED_MESSAGE);
        if (s != HOME_ACTIVE)
                return (HomeCheck) REFUSE(BUS_ERROR_HOME_NOT_ACTIVE, "home %s: not active");
        if (deactivating)
                return (HomeCheck) REFUSE(BUS_ERROR_HOME_BUSY, "home %s: is being deactivated");
        return (HomeCheck) GO(HOME_RUN);
}

/* The messages hold one "%s" and nothing else of printf's; they are not
 * handed to printf, so no user name can be read as a format either. */
const char *home_check_message(const HomeCheck *c, const char *user, char *buf, size_t size) {
        const char *m = c->message ?: "", *at = strstr(m, "%s");
        if (at)
                snprintf(buf, size, "%.*s%s%s", (int) (at - m), m, user, at + 2);
        else
                snprintf(buf, size, "%s", m);
        return buf;
}

/* ---- the worker ---------------------------------------------------------------------- */

const char *home_worker_op(OperationType t, HomeState s) {
        if (s == HOME_UNFIXATED && (t == OP_FIXATE || t == OP_ACTIVATE || t == OP_ACQUIRE || t == OP_AUTHENTICATE))
                return WORKER_OP_FIXATE;
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
        case OP_SKEL_SPARE:
                return WORKER_OP_SKEL_SPARE;
        default:
                return NULL;
        }
}

bool home_takes_secret(OperationType t) {
        return t == OP_ACTIVATE || t == OP_ACQUIRE || t == OP_UNLOCK || t == OP_AUTHENTICATE || t == OP_PASSWD ||
               t == OP_RESIZE || t == OP_REALIZE || t == OP_UPDATE || t == OP_FIXATE;
}

bool home_returns_record(OperationType t) {
        return t != OP_REMOVE && t != OP_UNREGISTER && t != OP_CLEAN && t != OP_SKEL_SPARE;
}

/* An acquire of an active home only authenticates (home_worker_op()). A
 * fixation's record is stored once it checked out, by managed-home.c. */
bool home_stores_record(OperationType t, HomeState s) {
        return t != OP_REMOVE && t != OP_AUTHENTICATE && t != OP_SKEL_SPARE && !(t == OP_ACQUIRE && s == HOME_ACTIVE) &&
               s != HOME_UNFIXATED;
}

bool home_changes_storage(OperationType t, UserStorage storage) {
        switch (t) {
        case OP_CREATE:
        case OP_REALIZE:
        case OP_UPDATE:
        case OP_RESIZE:
                return true;
        case OP_PASSWD:
                return storage == USER_STORAGE_LUKS || storage == USER_STORAGE_FSCRYPT; /* key slots */
        default:
                return false;
        }
}

bool home_state_after(OperationType t, HomeState s, HomeState *ret) {
        switch (t) {
        case OP_DEACTIVATE:
        case OP_DEACTIVATE_UNREFERENCED:
        case OP_RELEASE:
        case OP_CREATE:
        case OP_REALIZE:
                *ret = HOME_INACTIVE;
                return true;
        case OP_ACTIVATE:
        case OP_UNLOCK:
        case OP_ACQUIRE:
                *ret = HOME_ACTIVE;
                return true;
        case OP_LOCK:
                *ret = HOME_LOCKED;
                return true;
        case OP_REMOVE:
                *ret = HOME_ABSENT;
                return true;
        default:
                return false; /* unregister too: the home goes as it is */
        }
}

/* ---- the state from the system -------------------------------------------------------- */

HomeState home_state_from_mark(const char *text) {
        if (text && strcmp(text, "active") == 0)
                return HOME_ACTIVE;
        if (text && strcmp(text, "locked") == 0)
                return HOME_LOCKED;
        return HOME_INACTIVE;
}

/* A mark says what hearthd last made of the home (active, locked; else
 * inactive); the storage says what is there now. */
HomeState home_state_derive(HomeState marked, const StorageProbe *p, char **ret_reason) {
        *ret_reason = NULL;
        if (!p->present) {
                if (marked == HOME_INACTIVE && !p->mapped)
                        return HOME_ABSENT;
                (void) asprintf(ret_reason, "marked %s, but its storage is missing", home_state_to_string(marked));
                return HOME_DIRTY;
        }
        if (p->has_mapping && p->mapped && marked == HOME_INACTIVE) {
                (void) asprintf(ret_reason, "%s is %s, but hearthd did not activate it", p->mapping,
                                p->mount ? "mounted" : "set up");
                return HOME_DIRTY;
        }
        if (p->has_mapping && !p->mapped && marked != HOME_INACTIVE) {
                (void) asprintf(ret_reason, p->mount ? "was %s, but nothing is mounted on %s" : "was %s, but %s is gone",
                                home_state_to_string(marked), p->mapping);
                return HOME_DIRTY;
        }
        return marked;
}

/* ---- failed authentication ------------------------------------------------------------- */

static uint64_t record_u64(const UserRecord *rec, const char *field, uint64_t def, uint64_t max) {
        json_object *v;
        if (!json_object_object_get_ex(rec->json, field, &v) || !json_object_is_type(v, json_type_int))
                return def;
        int64_t x = json_object_get_int64(v);
        return x <= 0 || (uint64_t) x > max ? def : (uint64_t) x;
}

uint64_t home_auth_rate_interval(const UserRecord *rec) {
        return record_u64(rec, "rateLimitIntervalUSec", HOME_AUTH_RATE_INTERVAL_DEFAULT, UINT64_C(1) << 50);
}

uint64_t home_auth_rate_burst(const UserRecord *rec) {
        return record_u64(rec, "rateLimitBurst", HOME_AUTH_RATE_BURST_DEFAULT, 1000000);
}

bool home_auth_limit_hit(HomeAuthRate *r, uint64_t now, uint64_t interval, uint64_t burst) {
        if (now - r->window_start >= interval) {
                r->window_start = now;
                r->failures = 0;
        }
        return r->failures >= burst;
}

/* ---- the TPM's tries, shared by every TPM home ------------------------------------------ */

uint32_t home_tpm_reserve(uint32_t max_failures) {
        return max_failures / 4 > 1 ? max_failures / 4 : 1;
}

uint32_t home_tpm_share(uint32_t max_failures) {
        uint32_t reserve = home_tpm_reserve(max_failures);
        uint32_t pool = max_failures > reserve ? max_failures - reserve : 0;
        return pool / 4 > 2 ? pool / 4 : 2;
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

/* How many of what was counted at seen the TPM forgot by now: one each
 * interval after the report, which is never earlier than the TPM (its
 * timer runs on its own, and forgets the next at most an interval later). */
static uint32_t forgotten(const TpmLockout *tpm, uint64_t now) {
        uint64_t k = now > tpm->seen_usec ? (now - tpm->seen_usec) / tpm->interval_usec : 0;
        return k < tpm->failures ? (uint32_t) k : tpm->failures;
}

/* When the TPM, at the pace above, will have forgotten the first n counted. */
static uint64_t forgotten_at(const TpmLockout *tpm, uint64_t n) {
        return tpm->seen_usec + n * tpm->interval_usec;
}

HomeTpmBudget home_tpm_budget(const TpmLockout *tpm, uint64_t id, uint64_t now) {
        /* Nothing reported yet (nor failed, then: a failure comes with a
         * report), or no dictionary-attack protection: nothing to share.
         * With maxFailures 0 the TPM refuses every PIN itself. */
        if (!tpm->known || tpm->interval_usec == 0 || tpm->max_failures == 0)
                return (HomeTpmBudget) { .allowed = true, .tries_below = UINT32_MAX };
        uint32_t gone = forgotten(tpm, now), counter = tpm->failures - gone, untracked = tpm->failures - tpm->n_tracked;
        uint32_t m = tpm->max_failures, share = home_tpm_share(m), reserve = home_tpm_reserve(m);
        uint32_t limit = m > reserve ? m - reserve : 0, own = 0;
        uint64_t pos[TPM_TRACKED_MAX]; /* where its counted ones are, oldest first */

        for (uint32_t i = 0; i < tpm->n_tracked; i++)
                if (tpm->tracked[i] == id && untracked + i >= gone)
                        pos[own++] = untracked + i;
        if (own == 0) {
                if (counter < m)
                        return (HomeTpmBudget) { .allowed = true, .tries_below = UINT32_MAX };
                return (HomeTpmBudget) { .wait_usec = max_u64(forgotten_at(tpm, tpm->failures - m + 1) - now, 1) };
        }
        if (own < share && counter < limit)
                return (HomeTpmBudget) { .allowed = true, .tries_below = limit };
        uint64_t wait = 0;
        if (own >= share) /* until the oldest own - share + 1 of its own are forgotten */
                wait = forgotten_at(tpm, pos[own - share] + 1) - now;
        if (counter >= limit)
                wait = max_u64(wait, forgotten_at(tpm, tpm->failures - limit + 1) - now);
        return (HomeTpmBudget) { .wait_usec = max_u64(wait, 1) };
}

/* Forgets the oldest n counted: nobody's first, then the tracked ones. */
static void forget_oldest(TpmLockout *tpm, uint32_t n) {
        uint32_t untracked = tpm->failures - tpm->n_tracked;
        n = n < tpm->failures ? n : tpm->failures;
        if (n > untracked) {
                uint32_t k = n - untracked;
                memmove(tpm->tracked, tpm->tracked + k, (tpm->n_tracked - k) * sizeof tpm->tracked[0]);
                tpm->n_tracked -= k;
        }
        tpm->failures -= n;
}

void home_tpm_account(TpmLockout *tpm, uint64_t id, bool wrong_pin, uint32_t failures, uint32_t max_failures,
                      uint32_t interval_sec, uint64_t now) {
        if (!tpm->known || tpm->interval_usec == 0 || interval_sec == 0)
                *tpm = (TpmLockout) {};
        else
                forget_oldest(tpm, forgotten(tpm, now));
        if (wrong_pin && interval_sec > 0) {
                if (tpm->n_tracked == TPM_TRACKED_MAX) {
                        /* The oldest becomes nobody's. */
                        memmove(tpm->tracked, tpm->tracked + 1, (TPM_TRACKED_MAX - 1) * sizeof tpm->tracked[0]);
                        tpm->n_tracked--;
                }
                tpm->tracked[tpm->n_tracked++] = id;
                tpm->failures++;
        }
        /* The TPM's word over the guess: it forgot more, or counted failures
         * nobody here saw. */
        if (tpm->failures > failures)
                forget_oldest(tpm, tpm->failures - failures);
        tpm->failures = failures;
        tpm->known = true;
        tpm->max_failures = max_failures;
        tpm->interval_usec = (uint64_t) interval_sec * 1000000;
        tpm->seen_usec = now;
}

/* ---- locking ---------------------------------------------------------------------- */

bool home_lock_too_soon(uint64_t last_usec, uint64_t now, uint64_t interval, uint64_t *ret_wait) {
        *ret_wait = 0;
        if (last_usec == 0 || now >= last_usec + interval)
                return false;
        *ret_wait = last_usec + interval - now;
        return true;
}
