/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "user-record.h"

/* hearthd's decisions about one home, with no bus, no worker and no clock of
 * their own (unit-tested in tests/unit/hearthd/test-home-policy.c): the
 * states a home can be in and the operations on it; which state allows which
 * operation, and the error each refusal gives; which worker operation runs
 * for it and what the state is after it; what the state is from what the
 * storage shows; the rate limit on failed authentication; each TPM home's
 * share of the TPM's tries; how often an owner may lock her home.
 * managed-home.c carries these out. */

typedef enum HomeState {
        HOME_ABSENT,   /* a record, but no storage */
        HOME_INACTIVE,
        HOME_ACTIVE,
        HOME_LOCKED,
        HOME_DIRTY,    /* what is on the system disagrees with what we know */
        /* Found on this machine (an image or .homedir in the home root), its
         * record not stored yet: hearthd made one of its name, UID and
         * storage; the record the home carries is taken at the first
         * successful activation, authentication or Fixate, as homed does. */
        HOME_UNFIXATED,
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
        OP_FIXATE,
        OP_CLEAN,     /* delete leftovers of interrupted operations (internal) */
        OP_QUOTA_SWEEP, /* an inspect that puts new nested subvolumes into the quota group (internal) */
        OP_SKEL_SPARE,  /* after a subvolume create: the skel template's spares topped up (internal) */
        OP_POOL,      /* a hearth-pool run, not tied to a home (bus-pool.c) */
        _OP_MAX,
} OperationType;

const char *home_state_to_string(HomeState s);
/* The state clients see: the stable one, or, while an operation runs
 * (busy), the name homed gives that operation. */
const char *home_state_shown(HomeState s, bool busy, OperationType running);

/* ---- what the state allows ---------------------------------------------------------- */

typedef enum HomeVerdict {
        HOME_RUN,         /* its worker runs */
        HOME_REFUSE,      /* answered with .error and .message, nothing runs */
        HOME_DONE,        /* nothing to do: answered with success at once */
        HOME_SKIP,        /* an internal run with nothing to do: it ends quietly */
        HOME_RECORD_ONLY, /* no storage to apply it to: storing the record is all (update) */
        HOME_DROP,        /* the home goes without its storage being touched, once a worker
                           * has cleaned what an interrupted operation left, if anything */
} HomeVerdict;

typedef struct HomeCheck {
        HomeVerdict verdict;
        const char *error;   /* HOME_REFUSE: the D-Bus error name */
        const char *message; /* HOME_REFUSE: the text, "%s" the user name (home_check_message()) */
} HomeCheck;

/* homed's words for a locked home, which clients may show. */
#define HOME_LOCKED_MESSAGE "Home of user %s is currently locked, please unlock locally first."

/* Before an operation's worker starts: what the home's state (and whether
 * it is referenced) allows. What else refuses an operation (the rate
 * limit, an update overtaken while it waited) is checked first, by the
 * caller. */
HomeCheck home_check(OperationType t, HomeState s, bool referenced);
/* Before a reference is handed out (Ref): deactivating = an operation runs
 * that ends the home's active state (home_deactivating()). */
HomeCheck home_check_ref(HomeState s, bool deactivating);
bool home_deactivating(OperationType t);
/* A check's message with the user name in it, into buf. */
const char *home_check_message(const HomeCheck *c, const char *user, char *buf, size_t size);

/* ---- the worker ---------------------------------------------------------------------- */

/* The hearth-work operation (worker-protocol.h) that carries out t on a
 * home in state s; NULL for none. On an unfixated home, activate,
 * acquire, authenticate and fixate first run fixate (managed-home.c then
 * runs the activation itself). */
const char *home_worker_op(OperationType t, HomeState s);
/* Whether t comes with a secret the worker checks (and the rate limit counts). */
bool home_takes_secret(OperationType t);
/* Whether the worker's answer for t has the home's record in it. */
bool home_returns_record(OperationType t);
/* Whether that record is stored: not for what only looks (authenticate). */
bool home_stores_record(OperationType t, HomeState s);
/* Whether t changes the storage itself, so that its outcome is on disk
 * whether or not its record could be stored. */
bool home_changes_storage(OperationType t, UserStorage storage);
/* The stable state after t succeeded on a home in state s: true and
 * *ret, or false if t leaves the state as it was. */
bool home_state_after(OperationType t, HomeState s, HomeState *ret);

/* ---- the state from the system -------------------------------------------------------- */

/* What hearthd marked in <runtime-dir>/homes/<user> before a restart. */
HomeState home_state_from_mark(const char *text);
/* The state from what the storage shows and the mark: the marked one
 * while they agree; else HOME_ABSENT (nothing there, nothing marked) or
 * HOME_DIRTY with *ret_reason (to free; NULL if out of memory) saying why. */
HomeState home_state_derive(HomeState marked, const StorageProbe *p, char **ret_reason);

/* ---- failed authentication ------------------------------------------------------------- */

#define HOME_AUTH_RATE_INTERVAL_DEFAULT (UINT64_C(60) * 1000000)
#define HOME_AUTH_RATE_BURST_DEFAULT 10

typedef struct HomeAuthRate {
        uint64_t window_start; /* CLOCK_MONOTONIC µs */
        unsigned failures;     /* in the window */
} HomeAuthRate;

/* The record's rateLimitIntervalUSec and rateLimitBurst, or the defaults
 * where it has none or one out of range. */
uint64_t home_auth_rate_interval(const UserRecord *rec);
uint64_t home_auth_rate_burst(const UserRecord *rec);
/* Whether another try at now is over the limit: a window of interval
 * starts anew (counting nothing) once the last one has passed. */
bool home_auth_limit_hit(HomeAuthRate *r, uint64_t now, uint64_t interval, uint64_t burst);

/* ---- the TPM's tries, shared by every TPM home ------------------------------------------ */

/* The TPM's dictionary-attack protection counts wrong PINs machine-wide: at
 * maxFailures it refuses every PIN of every home, and forgets one failure
 * every interval (seconds; often hours). One user guessing at her own home
 * (or a thief at one home) would lock every other TPM home out, and
 * hearthd's rate limit above would keep a real TPM locked for ever. So a
 * home with wrong PINs the TPM still counts ("failing") may have at most
 * home_tpm_share() of them counted, and try only while the TPM's counter
 * stays below maxFailures minus home_tpm_reserve(): those tries are kept
 * for homes with none counted, which may try while the TPM accepts any.
 * Beyond that hearthd asks no TPM (a recovery key, or a kept password
 * keyslot, opens the home all the same) until the TPM has forgotten
 * enough. The parameters are the TPM's own, as a worker read them
 * (worker-protocol.h, WorkerTpmReport). Which home a counted failure is
 * hearthd's guess: its own wrong PINs in order, the TPM forgetting the
 * oldest first, and those it did not see (another program's, before
 * hearthd started) nobody's. This holds against one home, or one caller
 * (a user may try only her own home): users colluding with k homes can
 * take k - 1 tries of the reserve. */

#define TPM_TRACKED_MAX 256

/* What the TPM said last, and whose its counted failures are. */
typedef struct TpmLockout {
        bool known;             /* a worker reported it */
        uint32_t max_failures;  /* TPM_PT_MAX_AUTH_FAIL */
        uint64_t interval_usec; /* TPM_PT_LOCKOUT_INTERVAL: one failure forgotten each */
        uint64_t seen_usec;     /* CLOCK_MONOTONIC, when reported */
        uint32_t failures;      /* TPM_PT_LOCKOUT_COUNTER then */
        uint32_t n_tracked;     /* the newest failures whose home is known (the rest are nobody's), */
        uint64_t tracked[TPM_TRACKED_MAX]; /* oldest first: the homes' ids (never 0) */
} TpmLockout;

/* The tries kept for homes with none counted (a quarter of max_failures,
 * at least one), and a failing home's share (a quarter of the rest, at
 * least two: a home with one typo counted may still try its right PIN,
 * or a small TPM would lock its owner out for an interval, often hours,
 * after one typo; the limit above still keeps the reserve). */
uint32_t home_tpm_reserve(uint32_t max_failures);
uint32_t home_tpm_share(uint32_t max_failures);

typedef struct HomeTpmBudget {
        bool allowed;
        uint32_t tries_below; /* the worker may ask the TPM only while its counter is below this
                               * (UINT32_MAX: no limit; worker-protocol.h WORKER_OPT_TPM_TRIES_BELOW) */
        uint64_t wait_usec;   /* refused: until a try is allowed again (if nothing else fails meanwhile) */
} HomeTpmBudget;

/* May the home with id (not 0) try a PIN at now? */
HomeTpmBudget home_tpm_budget(const TpmLockout *tpm, uint64_t id, uint64_t now);
/* A worker's report (worker-protocol.h) for home id at now: the TPM's
 * state, with a wrong PIN of that home counted if wrong_pin. */
void home_tpm_account(TpmLockout *tpm, uint64_t id, bool wrong_pin, uint32_t failures, uint32_t max_failures,
                      uint32_t interval_sec, uint64_t now);

/* ---- locking ---------------------------------------------------------------------- */

/* Each lock empties the whole machine's page cache (a locked home's file
 * contents must not be served from it, and there is no way to drop one
 * file system's pages), which slows every other user down: an owner (any
 * caller but root) may lock her home once per this. */
#define HOME_LOCK_INTERVAL_USEC (UINT64_C(60) * 1000000)

/* Whether a lock at now comes less than interval after last_usec (0: never
 * locked), and then how long until one may in *ret_wait. */
bool home_lock_too_soon(uint64_t last_usec, uint64_t now, uint64_t interval, uint64_t *ret_wait);
