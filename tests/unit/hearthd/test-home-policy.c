/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearthd's decisions about one home (hearthd/home-policy.c): what each
 * state allows each operation and the error of each refusal, which worker
 * operation runs and the state after it, the state from what storage shows,
 * and the rate limit on failed authentication. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus-names.h"
#include "home-policy.h"
#include "log.h"
#include "macro.h"
#include "worker-protocol.h"

/* ---- what the state allows ---------------------------------------------------------- */

/* What each code in the matrix below means: the verdict, and for a
 * refusal its error and its text for user alice. */
typedef struct Expect {
        const char *code;
        HomeVerdict verdict;
        const char *error;
        const char *text;
} Expect;

static const Expect expects[] = {
        { "run", HOME_RUN, NULL, NULL },
        { "done", HOME_DONE, NULL, NULL },
        { "skip", HOME_SKIP, NULL, NULL },
        { "record", HOME_RECORD_ONLY, NULL, NULL },
        { "drop", HOME_DROP, NULL, NULL },
        { "exists", HOME_REFUSE, BUS_ERROR_HOME_EXISTS, "home alice: already exists" },
        { "absent", HOME_REFUSE, BUS_ERROR_HOME_ABSENT, "home alice: its storage is missing" },
        { "active", HOME_REFUSE, BUS_ERROR_HOME_ALREADY_ACTIVE, "home alice: already active" },
        { "locked", HOME_REFUSE, BUS_ERROR_HOME_LOCKED,
          "Home of user alice is currently locked, please unlock locally first." },
        { "relock", HOME_REFUSE, BUS_ERROR_HOME_LOCKED, "home alice: already locked" },
        { "inactive", HOME_REFUSE, BUS_ERROR_HOME_NOT_ACTIVE, "home alice: not active" },
        { "unlocked", HOME_REFUSE, BUS_ERROR_HOME_NOT_LOCKED, "home alice: not locked" },
        { "busy", HOME_REFUSE, BUS_ERROR_HOME_BUSY, "home alice: is active; deactivate it first" },
        { "held", HOME_REFUSE, BUS_ERROR_HOME_BUSY, "home alice: still referenced" },
        { "fixated", HOME_REFUSE, BUS_ERROR_HOME_ALREADY_FIXATED, "home alice: already fixated" },
        { "unfixated", HOME_REFUSE, BUS_ERROR_HOME_UNFIXATED,
          "home alice: not fixated yet (found on this machine, its record not taken): log in, or authenticate, once "
          "first" },
        { "unregistered", HOME_REFUSE, BUS_ERROR_HOME_UNFIXATED,
          "home alice: not registered, only found on this machine; move its image out of the home root to forget "
          "it" },
};

static const Expect *expect(const char *code) {
        for (size_t i = 0; i < ELEMENTSOF(expects); i++)
                if (strcmp(expects[i].code, code) == 0)
                        return &expects[i];
        fail_msg("no code %s", code);
        return NULL;
}

/* The whole table, written out as homed's and hearthd's documented
 * behaviour: per operation, per state (absent, inactive, active, locked,
 * dirty, unfixated), unreferenced and referenced. On an unfixated home
 * (found here, its record not taken yet) activate, acquire, authenticate
 * and fixate run (a fixation first); what changes a record waits for it. */
static const struct {
        OperationType type;
        const char *unreferenced[_HOME_STATE_MAX];
        const char *referenced[_HOME_STATE_MAX]; /* all NULL: as unreferenced */
} matrix[] = {
        { OP_CREATE, { "run", "run", "run", "run", "run", "run" }, {} },
        { OP_REALIZE, { "run", "exists", "exists", "exists", "exists", "exists" }, {} },
        { OP_ACTIVATE, { "absent", "run", "active", "locked", "run", "run" }, {} },
        { OP_ACQUIRE, { "absent", "run", "run", "locked", "run", "run" }, {} },
        { OP_DEACTIVATE, { "absent", "inactive", "run", "locked", "run", "inactive" }, {} },
        { OP_DEACTIVATE_UNREFERENCED, { "done", "done", "run", "done", "done", "done" },
          { "done", "done", "done", "done", "done", "done" } },
        { OP_LOCK, { "absent", "inactive", "run", "relock", "inactive", "inactive" }, {} },
        { OP_UNLOCK, { "absent", "unlocked", "unlocked", "run", "unlocked", "unlocked" }, {} },
        { OP_AUTHENTICATE, { "absent", "run", "run", "run", "run", "run" }, {} },
        { OP_UPDATE, { "record", "run", "run", "locked", "run", "unfixated" }, {} },
        { OP_RESIZE, { "absent", "run", "run", "locked", "run", "unfixated" }, {} },
        { OP_PASSWD, { "absent", "run", "run", "locked", "run", "unfixated" }, {} },
        { OP_REMOVE, { "drop", "run", "busy", "busy", "run", "unfixated" }, {} },
        { OP_UNREGISTER, { "drop", "drop", "busy", "busy", "drop", "unregistered" }, {} },
        { OP_RELEASE, { "done", "done", "run", "done", "done", "done" },
          { "held", "held", "held", "held", "held", "held" } },
        { OP_FIXATE, { "absent", "fixated", "fixated", "fixated", "fixated", "run" }, {} },
        { OP_CLEAN, { "run", "run", "run", "run", "run", "run" }, {} },
        { OP_QUOTA_SWEEP, { "skip", "run", "run", "skip", "skip", "skip" }, {} },
        { OP_SKEL_SPARE, { "run", "run", "run", "run", "run", "run" }, {} },
};

static void check_one(OperationType t, HomeState s, bool referenced, const char *code) {
        const Expect *e = expect(code);
        HomeCheck c = home_check(t, s, referenced);
        char buf[256];

        if (c.verdict != e->verdict)
                fail_msg("operation %d in state %s%s: verdict %d, expected %s", t, home_state_to_string(s),
                         referenced ? " (referenced)" : "", c.verdict, code);
        if (e->verdict != HOME_REFUSE)
                return;
        assert_string_equal(c.error, e->error);
        assert_string_equal(home_check_message(&c, "alice", buf, sizeof buf), e->text);
}

static void test_check(void **state) {
        bool seen[_OP_MAX] = {};

        for (size_t i = 0; i < ELEMENTSOF(matrix); i++) {
                seen[matrix[i].type] = true;
                for (HomeState s = 0; s < _HOME_STATE_MAX; s++) {
                        check_one(matrix[i].type, s, false, matrix[i].unreferenced[s]);
                        check_one(matrix[i].type, s, true,
                                  matrix[i].referenced[0] ? matrix[i].referenced[s] : matrix[i].unreferenced[s]);
                }
        }
        /* Every operation on a home is in the matrix. */
        for (OperationType t = 0; t < _OP_MAX; t++)
                if (t != OP_POOL && !seen[t])
                        fail_msg("operation %d is not in the matrix", t);
}

static void test_check_ref(void **state) {
        char buf[256];
        HomeCheck c;

        c = home_check_ref(HOME_ACTIVE, false);
        assert_int_equal(c.verdict, HOME_RUN);
        c = home_check_ref(HOME_ACTIVE, true);
        assert_int_equal(c.verdict, HOME_REFUSE);
        assert_string_equal(c.error, BUS_ERROR_HOME_BUSY);
        assert_string_equal(home_check_message(&c, "alice", buf, sizeof buf), "home alice: is being deactivated");
        /* Locked comes first: unlocking is what she has to do. */
        c = home_check_ref(HOME_LOCKED, true);
        assert_string_equal(c.error, BUS_ERROR_HOME_LOCKED);
        assert_string_equal(home_check_message(&c, "alice", buf, sizeof buf),
                            "Home of user alice is currently locked, please unlock locally first.");
        for (HomeState s = 0; s < _HOME_STATE_MAX; s++) {
                if (s == HOME_ACTIVE || s == HOME_LOCKED)
                        continue;
                c = home_check_ref(s, false);
                assert_int_equal(c.verdict, HOME_REFUSE);
                assert_string_equal(c.error, BUS_ERROR_HOME_NOT_ACTIVE);
                assert_string_equal(home_check_message(&c, "alice", buf, sizeof buf), "home alice: not active");
        }

        /* What ends the active state: a new reference would hold nothing. */
        for (OperationType t = 0; t < _OP_MAX; t++)
                assert_int_equal(home_deactivating(t),
                                 t == OP_DEACTIVATE || t == OP_DEACTIVATE_UNREFERENCED || t == OP_RELEASE ||
                                 t == OP_LOCK);
}

static void test_message(void **state) {
        char buf[64];
        HomeCheck c = home_check(OP_REALIZE, HOME_ACTIVE, false);

        /* A name is put in, never read as a format. */
        assert_string_equal(home_check_message(&c, "a%sb%n", buf, sizeof buf), "home a%sb%n: already exists");
        /* Cut to the buffer, terminated. */
        assert_string_equal(home_check_message(&c, "alice", buf, 8), "home al");
}

/* ---- the worker ---------------------------------------------------------------------- */

static void test_worker_op(void **state) {
        static const struct {
                OperationType type;
                HomeState state;
                const char *op;
        } cases[] = {
                { OP_CREATE, HOME_ABSENT, WORKER_OP_CREATE },
                { OP_REALIZE, HOME_ABSENT, WORKER_OP_CREATE },
                { OP_ACTIVATE, HOME_INACTIVE, WORKER_OP_ACTIVATE },
                /* An acquire of an active home only checks the secret. */
                { OP_ACQUIRE, HOME_INACTIVE, WORKER_OP_ACTIVATE },
                { OP_ACQUIRE, HOME_DIRTY, WORKER_OP_ACTIVATE },
                { OP_ACQUIRE, HOME_ACTIVE, WORKER_OP_AUTHENTICATE },
                { OP_DEACTIVATE, HOME_ACTIVE, WORKER_OP_DEACTIVATE },
                { OP_DEACTIVATE_UNREFERENCED, HOME_ACTIVE, WORKER_OP_DEACTIVATE },
                { OP_RELEASE, HOME_ACTIVE, WORKER_OP_DEACTIVATE },
                { OP_LOCK, HOME_ACTIVE, WORKER_OP_LOCK },
                { OP_UNLOCK, HOME_LOCKED, WORKER_OP_UNLOCK },
                { OP_AUTHENTICATE, HOME_ACTIVE, WORKER_OP_AUTHENTICATE },
                { OP_UPDATE, HOME_INACTIVE, WORKER_OP_UPDATE },
                { OP_RESIZE, HOME_ACTIVE, WORKER_OP_RESIZE },
                { OP_PASSWD, HOME_INACTIVE, WORKER_OP_PASSWD },
                /* Removing an absent home removes what an interrupted operation left. */
                { OP_REMOVE, HOME_INACTIVE, WORKER_OP_REMOVE },
                { OP_REMOVE, HOME_DIRTY, WORKER_OP_REMOVE },
                { OP_REMOVE, HOME_ABSENT, WORKER_OP_CLEAN },
                { OP_UNREGISTER, HOME_INACTIVE, WORKER_OP_CLEAN },
                { OP_CLEAN, HOME_ACTIVE, WORKER_OP_CLEAN },
                { OP_QUOTA_SWEEP, HOME_ACTIVE, WORKER_OP_INSPECT },
                { OP_SKEL_SPARE, HOME_INACTIVE, WORKER_OP_SKEL_SPARE },
                /* A home found here is fixated first, by what opens it. */
                { OP_FIXATE, HOME_UNFIXATED, WORKER_OP_FIXATE },
                { OP_ACTIVATE, HOME_UNFIXATED, WORKER_OP_FIXATE },
                { OP_ACQUIRE, HOME_UNFIXATED, WORKER_OP_FIXATE },
                { OP_AUTHENTICATE, HOME_UNFIXATED, WORKER_OP_FIXATE },
                { OP_CLEAN, HOME_UNFIXATED, WORKER_OP_CLEAN },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *op = home_worker_op(cases[i].type, cases[i].state);
                if (!op || strcmp(op, cases[i].op) != 0)
                        fail_msg("operation %d in state %s: %s, expected %s", cases[i].type,
                                 home_state_to_string(cases[i].state), op ?: "none", cases[i].op);
        }
        assert_null(home_worker_op(OP_POOL, HOME_INACTIVE));
        assert_null(home_worker_op(OP_FIXATE, HOME_INACTIVE)); /* refused before, by home_check() */
}

static void test_worker_outcome(void **state) {
        for (OperationType t = 0; t < _OP_MAX; t++) {
                assert_int_equal(home_takes_secret(t),
                                 t == OP_ACTIVATE || t == OP_ACQUIRE || t == OP_UNLOCK || t == OP_AUTHENTICATE ||
                                 t == OP_PASSWD || t == OP_RESIZE || t == OP_REALIZE || t == OP_UPDATE ||
                                 t == OP_FIXATE);
                assert_int_equal(home_returns_record(t),
                                 t != OP_REMOVE && t != OP_UNREGISTER && t != OP_CLEAN && t != OP_SKEL_SPARE);
        }
        /* What only looks stores nothing. */
        assert_false(home_stores_record(OP_AUTHENTICATE, HOME_ACTIVE));
        assert_false(home_stores_record(OP_ACQUIRE, HOME_ACTIVE));
        assert_true(home_stores_record(OP_ACQUIRE, HOME_INACTIVE));
        assert_false(home_stores_record(OP_REMOVE, HOME_INACTIVE));
        assert_true(home_stores_record(OP_ACTIVATE, HOME_INACTIVE));
        assert_true(home_stores_record(OP_UPDATE, HOME_ACTIVE));
        assert_true(home_stores_record(OP_QUOTA_SWEEP, HOME_ACTIVE));
        /* The home is only the reason for a spare: its record is not touched. */
        assert_false(home_stores_record(OP_SKEL_SPARE, HOME_INACTIVE));
        /* A fixation's record is checked before it is stored (managed-home.c). */
        assert_false(home_stores_record(OP_ACTIVATE, HOME_UNFIXATED));
        assert_false(home_stores_record(OP_FIXATE, HOME_UNFIXATED));

        /* A password lives in LUKS keyslots, elsewhere in the record alone. */
        assert_true(home_changes_storage(OP_PASSWD, USER_STORAGE_LUKS));
        assert_false(home_changes_storage(OP_PASSWD, USER_STORAGE_DIRECTORY));
        assert_false(home_changes_storage(OP_PASSWD, USER_STORAGE_SUBVOLUME));
        for (OperationType t = 0; t < _OP_MAX; t++)
                if (t != OP_PASSWD)
                        assert_int_equal(home_changes_storage(t, USER_STORAGE_DIRECTORY),
                                         t == OP_CREATE || t == OP_REALIZE || t == OP_UPDATE || t == OP_RESIZE);
}

static void test_state_after(void **state) {
        static const struct {
                OperationType type;
                int after; /* -1: unchanged */
        } cases[] = {
                { OP_CREATE, HOME_INACTIVE },
                { OP_REALIZE, HOME_INACTIVE },
                { OP_ACTIVATE, HOME_ACTIVE },
                { OP_ACQUIRE, HOME_ACTIVE },
                { OP_UNLOCK, HOME_ACTIVE },
                { OP_DEACTIVATE, HOME_INACTIVE },
                { OP_DEACTIVATE_UNREFERENCED, HOME_INACTIVE },
                { OP_RELEASE, HOME_INACTIVE },
                { OP_LOCK, HOME_LOCKED },
                { OP_REMOVE, HOME_ABSENT },
                /* Nothing changes the state but these: a dirty home stays dirty. */
                { OP_UNREGISTER, -1 },
                { OP_AUTHENTICATE, -1 },
                { OP_UPDATE, -1 },
                { OP_RESIZE, -1 },
                { OP_PASSWD, -1 },
                { OP_CLEAN, -1 },
                { OP_QUOTA_SWEEP, -1 },
                { OP_SKEL_SPARE, -1 },
                /* A fixation's state is what its storage shows (managed-home.c). */
                { OP_FIXATE, -1 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                HomeState s = HOME_DIRTY;
                bool sets = home_state_after(cases[i].type, HOME_DIRTY, &s);
                if (sets != (cases[i].after >= 0) || (int) s != (sets ? cases[i].after : HOME_DIRTY))
                        fail_msg("operation %d: state after %s", cases[i].type, home_state_to_string(s));
        }
}

static void test_state_shown(void **state) {
        assert_string_equal(home_state_shown(HOME_ABSENT, false, OP_ACTIVATE), "absent");
        assert_string_equal(home_state_shown(HOME_INACTIVE, false, OP_ACTIVATE), "inactive");
        assert_string_equal(home_state_shown(HOME_ACTIVE, false, _OP_MAX), "active");
        assert_string_equal(home_state_shown(HOME_LOCKED, false, _OP_MAX), "locked");
        assert_string_equal(home_state_shown(HOME_DIRTY, false, _OP_MAX), "dirty");
        assert_string_equal(home_state_shown(HOME_UNFIXATED, false, _OP_MAX), "unfixated");
        /* homed's names while a home found here is fixated. */
        assert_string_equal(home_state_shown(HOME_UNFIXATED, true, OP_FIXATE), "fixating");
        assert_string_equal(home_state_shown(HOME_UNFIXATED, true, OP_AUTHENTICATE), "fixating");
        assert_string_equal(home_state_shown(HOME_UNFIXATED, true, OP_ACTIVATE), "fixating-for-activation");
        assert_string_equal(home_state_shown(HOME_UNFIXATED, true, OP_ACQUIRE), "fixating-for-acquire");
        assert_string_equal(home_state_shown(HOME_UNFIXATED, true, OP_CLEAN), "unfixated");
        assert_string_equal(home_state_shown(HOME_ABSENT, true, OP_CREATE), "creating");
        assert_string_equal(home_state_shown(HOME_ABSENT, true, OP_REALIZE), "creating");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_ACTIVATE), "activating");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_ACQUIRE), "activating-for-acquire");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_ACQUIRE), "authenticating-for-acquire");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_DEACTIVATE), "deactivating");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_DEACTIVATE_UNREFERENCED), "deactivating");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_RELEASE), "deactivating");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_LOCK), "locking");
        assert_string_equal(home_state_shown(HOME_LOCKED, true, OP_UNLOCK), "unlocking");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_AUTHENTICATE), "authenticating");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_AUTHENTICATE), "authenticating-while-active");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_UPDATE), "updating");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_UPDATE), "updating-while-active");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_RESIZE), "resizing");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_RESIZE), "resizing-while-active");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_PASSWD), "passwd");
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_PASSWD), "passwd-while-active");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_REMOVE), "removing");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_UNREGISTER), "removing");
        /* Internal runs show nothing of themselves. */
        assert_string_equal(home_state_shown(HOME_ACTIVE, true, OP_QUOTA_SWEEP), "active");
        assert_string_equal(home_state_shown(HOME_INACTIVE, true, OP_CLEAN), "inactive");
        assert_null(home_state_to_string(_HOME_STATE_MAX));
}

/* ---- the state from the system -------------------------------------------------------- */

static void test_mark(void **state) {
        assert_int_equal(home_state_from_mark("active"), HOME_ACTIVE);
        assert_int_equal(home_state_from_mark("locked"), HOME_LOCKED);
        assert_int_equal(home_state_from_mark("inactive"), HOME_INACTIVE);
        assert_int_equal(home_state_from_mark("dirty"), HOME_INACTIVE);
        assert_int_equal(home_state_from_mark("active\n"), HOME_INACTIVE);
        assert_int_equal(home_state_from_mark(""), HOME_INACTIVE);
        assert_int_equal(home_state_from_mark(NULL), HOME_INACTIVE);
}

static void derive(HomeState marked, bool present, bool has_mapping, bool mapped, HomeState want, const char *reason) {
        StorageProbe p = { .present = present, .has_mapping = has_mapping, .mapped = mapped };
        char *why = NULL;

        if (has_mapping)
                snprintf(p.mapping, sizeof p.mapping, "/dev/mapper/home-alice");
        HomeState s = home_state_derive(marked, &p, &why);
        if (s != want || (reason ? !why || strcmp(why, reason) != 0 : why != NULL))
                fail_msg("marked %s, present %d, mapping %d, mapped %d: %s (%s), expected %s (%s)",
                         home_state_to_string(marked), present, has_mapping, mapped, home_state_to_string(s),
                         why ?: "-", home_state_to_string(want), reason ?: "-");
        free(why);
}

static void test_derive(void **state) {
        /* A home that is an entry of the root. */
        derive(HOME_INACTIVE, true, false, false, HOME_INACTIVE, NULL);
        derive(HOME_ACTIVE, true, false, false, HOME_ACTIVE, NULL);
        derive(HOME_LOCKED, true, false, false, HOME_LOCKED, NULL);
        derive(HOME_INACTIVE, false, false, false, HOME_ABSENT, NULL);
        derive(HOME_ACTIVE, false, false, false, HOME_DIRTY, "marked active, but its storage is missing");

        /* LUKS: the mapping must agree with the mark. */
        derive(HOME_INACTIVE, true, true, false, HOME_INACTIVE, NULL);
        derive(HOME_ACTIVE, true, true, true, HOME_ACTIVE, NULL);
        derive(HOME_LOCKED, true, true, true, HOME_LOCKED, NULL);
        derive(HOME_INACTIVE, true, true, true, HOME_DIRTY,
               "/dev/mapper/home-alice is set up, but hearthd did not activate it");
        derive(HOME_ACTIVE, true, true, false, HOME_DIRTY, "was active, but /dev/mapper/home-alice is gone");
        derive(HOME_LOCKED, true, true, false, HOME_DIRTY, "was locked, but /dev/mapper/home-alice is gone");
        derive(HOME_INACTIVE, false, true, false, HOME_ABSENT, NULL);
        /* Its device gone from under an open mapping. */
        derive(HOME_INACTIVE, false, true, true, HOME_DIRTY, "marked inactive, but its storage is missing");
        derive(HOME_ACTIVE, false, true, true, HOME_DIRTY, "marked active, but its storage is missing");
}

static void derive_mounted(HomeState marked, bool present, bool mounted, HomeState want, const char *reason) {
        StorageProbe p = { .present = present, .has_mapping = true, .mapped = mounted, .mount = true };
        char *why = NULL;

        snprintf(p.mapping, sizeof p.mapping, "/home/alice");
        HomeState s = home_state_derive(marked, &p, &why);
        if (s != want || (reason ? !why || strcmp(why, reason) != 0 : why != NULL))
                fail_msg("marked %s, present %d, mounted %d: %s (%s), expected %s (%s)", home_state_to_string(marked),
                         present, mounted, home_state_to_string(s), why ?: "-", home_state_to_string(want),
                         reason ?: "-");
        free(why);
}

/* Directory and subvolume homes: active is mounted on the home directory. */
static void test_derive_mounted(void **state) {
        derive_mounted(HOME_INACTIVE, true, false, HOME_INACTIVE, NULL);
        derive_mounted(HOME_ACTIVE, true, true, HOME_ACTIVE, NULL);
        derive_mounted(HOME_INACTIVE, true, true, HOME_DIRTY, "/home/alice is mounted, but hearthd did not activate it");
        derive_mounted(HOME_ACTIVE, true, false, HOME_DIRTY, "was active, but nothing is mounted on /home/alice");
        derive_mounted(HOME_INACTIVE, false, false, HOME_ABSENT, NULL);
        derive_mounted(HOME_ACTIVE, false, true, HOME_DIRTY, "marked active, but its storage is missing");
}

/* ---- failed authentication ------------------------------------------------------------- */

static UserRecord *record_with(const char *field, json_object *value) {
        static const char text[] = "{\"userName\":\"alice\",\"uid\":60100,\"storage\":\"directory\"}";
        UserRecord *rec = NULL;
        assert_int_equal(user_record_parse(text, strlen(text), &rec, NULL), 0);
        if (field)
                json_object_object_add(rec->json, field, value);
        return rec;
}

static void rate(const char *field, json_object *value, uint64_t interval, uint64_t burst) {
        _cleanup_user_record_ UserRecord *rec = record_with(field, value);
        assert_int_equal(home_auth_rate_interval(rec), interval);
        assert_int_equal(home_auth_rate_burst(rec), burst);
}

static void test_rate_settings(void **state) {
        const uint64_t I = HOME_AUTH_RATE_INTERVAL_DEFAULT, B = HOME_AUTH_RATE_BURST_DEFAULT;

        assert_int_equal(I, 60 * USEC_PER_SEC);
        assert_int_equal(B, 10);
        rate(NULL, NULL, I, B);
        rate("rateLimitIntervalUSec", json_object_new_int64(5000000), 5000000, B);
        rate("rateLimitIntervalUSec", json_object_new_int64(INT64_C(1) << 50), UINT64_C(1) << 50, B);
        /* Out of range or not a number: the default. */
        rate("rateLimitIntervalUSec", json_object_new_int64((INT64_C(1) << 50) + 1), I, B);
        rate("rateLimitIntervalUSec", json_object_new_int64(0), I, B);
        rate("rateLimitIntervalUSec", json_object_new_int64(-5), I, B);
        rate("rateLimitIntervalUSec", json_object_new_string("5000000"), I, B);
        rate("rateLimitBurst", json_object_new_int64(3), I, 3);
        rate("rateLimitBurst", json_object_new_int64(1000000), I, 1000000);
        rate("rateLimitBurst", json_object_new_int64(1000001), I, B);
        rate("rateLimitBurst", json_object_new_int64(0), I, B);
        rate("rateLimitBurst", json_object_new_double(3.0), I, B);
}

static void test_rate_limit(void **state) {
        HomeAuthRate r = {};

        /* The first try opens a window. */
        assert_false(home_auth_limit_hit(&r, 5000, 1000, 2));
        assert_int_equal(r.window_start, 5000);
        r.failures = 1;
        assert_false(home_auth_limit_hit(&r, 5500, 1000, 2));
        r.failures = 2;
        /* The burst used up: refused until the window has passed ... */
        assert_true(home_auth_limit_hit(&r, 5500, 1000, 2));
        assert_true(home_auth_limit_hit(&r, 5999, 1000, 2));
        assert_int_equal(r.failures, 2);
        /* ... then counted from nothing again. */
        assert_false(home_auth_limit_hit(&r, 6000, 1000, 2));
        assert_int_equal(r.window_start, 6000);
        assert_int_equal(r.failures, 0);
        /* A burst of 0 (never from a record) refuses everything. */
        assert_true(home_auth_limit_hit(&r, 6001, 1000, 0));
}

/* ---- the TPM's tries ---------------------------------------------------------------- */

#define SEC UINT64_C(1000000)

static void test_tpm_shares(void **state) {
        static const struct {
                uint32_t max, reserve, share;
        } t[] = {
                { 0, 1, 2 }, { 1, 1, 2 }, { 3, 1, 2 }, { 4, 1, 2 }, { 6, 1, 2 },
                { 10, 2, 2 }, { 16, 4, 3 }, { 32, 8, 6 }, { 128, 32, 24 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                assert_int_equal(home_tpm_reserve(t[i].max), t[i].reserve);
                assert_int_equal(home_tpm_share(t[i].max), t[i].share);
        }
}

/* Unknown TPM, no dictionary-attack protection: no budget at all. */
static void test_tpm_budget_unlimited(void **state) {
        TpmLockout tpm = {};
        HomeTpmBudget b = home_tpm_budget(&tpm, 1, 10 * SEC);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, UINT32_MAX);
        home_tpm_account(&tpm, 1, true, 4, 4, 0, 11 * SEC);
        b = home_tpm_budget(&tpm, 1, 12 * SEC);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, UINT32_MAX);
        assert_int_equal(tpm.n_tracked, 0);
}

enum { MALLORY = 60201, TINA = 60202, OTHER = 60203 };

/* attack-luks2 8b: mallory's wrong PINs at her own home (4 tries, one
 * forgotten every 600 s, as the attack set the TPM) leave tina's try. */
static void test_tpm_budget_mallory(void **state) {
        TpmLockout tpm = {};
        uint64_t t0 = 1000 * SEC;

        HomeTpmBudget b = home_tpm_budget(&tpm, MALLORY, t0);
        assert_true(b.allowed);
        home_tpm_account(&tpm, MALLORY, true, 1, 4, 600, t0);
        /* One typo is no lockout: she tries again, below the reserve. */
        b = home_tpm_budget(&tpm, MALLORY, t0 + SEC);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, 3);
        home_tpm_account(&tpm, MALLORY, true, 2, 4, 600, t0 + SEC);
        /* Her share (two) is spent: refused until her first is forgotten,
         * an interval after the last report. */
        for (uint64_t t = t0 + 2 * SEC; t < t0 + 601 * SEC; t += 100 * SEC) {
                b = home_tpm_budget(&tpm, MALLORY, t);
                assert_false(b.allowed);
                assert_int_equal(b.wait_usec, t0 + 601 * SEC - t);
        }
        /* tina, with none counted, tries; a right PIN counts nothing. */
        b = home_tpm_budget(&tpm, TINA, t0 + 5 * SEC);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, UINT32_MAX);
        home_tpm_account(&tpm, TINA, false, 2, 4, 600, t0 + 5 * SEC);
        /* One forgotten (an interval after that report): mallory tries again,
         * still failing; both forgotten, as a home with none counted. */
        assert_false(home_tpm_budget(&tpm, MALLORY, t0 + 604 * SEC).allowed);
        b = home_tpm_budget(&tpm, MALLORY, t0 + 605 * SEC);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, 3);
        b = home_tpm_budget(&tpm, MALLORY, t0 + 1205 * SEC);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, UINT32_MAX);
}

/* A real TPM's 32 tries, one forgotten every 2 h: a home may have six
 * counted, and try only while the counter stays below 24 (8 kept for the
 * other homes). */
static void test_tpm_budget_share(void **state) {
        TpmLockout tpm = {};
        const uint64_t I = 7200 * SEC, t0 = 5 * SEC;
        HomeTpmBudget b;

        for (uint32_t k = 0; k < 6; k++) {
                b = home_tpm_budget(&tpm, MALLORY, t0 + k * SEC);
                assert_true(b.allowed);
                assert_int_equal(b.tries_below, k == 0 ? UINT32_MAX : 24);
                home_tpm_account(&tpm, MALLORY, true, k + 1, 32, 7200, t0 + k * SEC);
        }
        b = home_tpm_budget(&tpm, MALLORY, t0 + 10 * SEC);
        assert_false(b.allowed);
        /* Her first is forgotten one interval after the last report. */
        assert_int_equal(b.wait_usec, t0 + 5 * SEC + I - (t0 + 10 * SEC));
        b = home_tpm_budget(&tpm, MALLORY, t0 + 5 * SEC + I);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, 24);
        /* Eighteen failures nobody here saw (the counter at 24): a failing
         * home waits for the counter, one with none counted still tries. */
        uint64_t t1 = t0 + 5 * SEC + I;
        home_tpm_account(&tpm, TINA, false, 24, 32, 7200, t1);
        b = home_tpm_budget(&tpm, MALLORY, t1 + SEC);
        assert_false(b.allowed);
        assert_int_equal(b.wait_usec, I - SEC);
        b = home_tpm_budget(&tpm, TINA, t1 + SEC);
        assert_true(b.allowed);
        /* Those are the oldest, forgotten first: mallory's 5 still count
         * (below her share, she is failing all the same). */
        b = home_tpm_budget(&tpm, MALLORY, t1 + 18 * I);
        assert_true(b.allowed);
        assert_int_equal(b.tries_below, 24);
        /* In lockout even tina waits, for the TPM. */
        home_tpm_account(&tpm, OTHER, false, 32, 32, 7200, t1);
        b = home_tpm_budget(&tpm, TINA, t1 + SEC);
        assert_false(b.allowed);
        assert_int_equal(b.wait_usec, I - SEC);
}

/* Two failing homes: the TPM forgets one failure at a time, the oldest;
 * each home is failing as long as one of its own is still counted. */
static void test_tpm_budget_two(void **state) {
        TpmLockout tpm = {};
        const uint64_t I = 1000 * SEC;
        home_tpm_account(&tpm, MALLORY, true, 1, 10, 1000, 0);
        home_tpm_account(&tpm, OTHER, true, 2, 10, 1000, 0);
        home_tpm_account(&tpm, MALLORY, true, 3, 10, 1000, 0);
        home_tpm_account(&tpm, OTHER, true, 4, 10, 1000, 0);
        /* Share 2 each (of 10): both refused. */
        assert_false(home_tpm_budget(&tpm, MALLORY, SEC).allowed);
        assert_false(home_tpm_budget(&tpm, OTHER, SEC).allowed);
        /* After one interval mallory's first is forgotten, not OTHER's. */
        assert_true(home_tpm_budget(&tpm, MALLORY, I).allowed);
        assert_false(home_tpm_budget(&tpm, OTHER, I).allowed);
        assert_true(home_tpm_budget(&tpm, OTHER, 2 * I).allowed);
        assert_int_equal(home_tpm_budget(&tpm, OTHER, I).wait_usec, I);
}

/* Homes guessing as fast as they may, the TPM forgetting on its own timer
 * (never later than an interval after a report), and the worker checking
 * the real counter against tries_below before each try. One guessing home
 * never brings the counter past maxFailures minus the reserve, so a home
 * with none counted can always try, whatever maxFailures; k guessing homes
 * (k users colluding) add at most k - 1 beyond that. */
static void test_tpm_budget_never_locks_out(void **state) {
        static const uint32_t maxes[] = { 3, 4, 6, 10, 32 };
        const uint64_t I = 1000 * SEC;
        for (size_t x = 0; x < ELEMENTSOF(maxes); x++)
                for (uint64_t k = 1; k <= 3; k++) {
                        uint32_t m = maxes[x], real = 0, tries = 0, bound = m - home_tpm_reserve(m) + (uint32_t) k - 1;
                        uint64_t next_tick = 333 * SEC;
                        TpmLockout tpm = {};
                        for (uint64_t t = 7 * SEC; t < 20 * I; t += SEC / 2) {
                                if (t >= next_tick) {
                                        real -= real > 0;
                                        next_tick += I;
                                }
                                for (uint64_t g = 1; g <= k; g++) {
                                        HomeTpmBudget b = home_tpm_budget(&tpm, g, t);
                                        if (!b.allowed || real >= m ||
                                            (b.tries_below != UINT32_MAX && real >= b.tries_below))
                                                continue;
                                        real++;
                                        tries++;
                                        home_tpm_account(&tpm, g, true, real, m, 1000, t);
                                }
                                if (real > bound)
                                        fail_msg("max %u, %" PRIu64 " guessing: the counter reached %u at %" PRIu64 " s",
                                                 m, k, real, t / SEC);
                                if (k == 1 && !home_tpm_budget(&tpm, 99, t).allowed)
                                        fail_msg("max %u: a home with none counted refused at %" PRIu64 " s", m, t / SEC);
                        }
                        /* They did guess: at least one try an interval. */
                        if (tries < 19)
                                fail_msg("max %u, %" PRIu64 " guessing: only %u tries", m, k, tries);
                }
}

static void test_lock_interval(void **state) {
        uint64_t wait = 99;
        assert_false(home_lock_too_soon(0, 5 * SEC, HOME_LOCK_INTERVAL_USEC, &wait));
        assert_int_equal(wait, 0);
        assert_true(home_lock_too_soon(100 * SEC, 130 * SEC, HOME_LOCK_INTERVAL_USEC, &wait));
        assert_int_equal(wait, 30 * SEC);
        assert_false(home_lock_too_soon(100 * SEC, 160 * SEC, HOME_LOCK_INTERVAL_USEC, &wait));
}

int main(void) {
        log_set_max_level(LOG_CRIT);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_check_ref),
                cmocka_unit_test(test_message),
                cmocka_unit_test(test_worker_op),
                cmocka_unit_test(test_worker_outcome),
                cmocka_unit_test(test_state_after),
                cmocka_unit_test(test_state_shown),
                cmocka_unit_test(test_mark),
                cmocka_unit_test(test_derive),
                cmocka_unit_test(test_derive_mounted),
                cmocka_unit_test(test_rate_settings),
                cmocka_unit_test(test_rate_limit),
                cmocka_unit_test(test_tpm_shares),
                cmocka_unit_test(test_tpm_budget_unlimited),
                cmocka_unit_test(test_tpm_budget_mallory),
                cmocka_unit_test(test_tpm_budget_share),
                cmocka_unit_test(test_tpm_budget_two),
                cmocka_unit_test(test_tpm_budget_never_locks_out),
                cmocka_unit_test(test_lock_interval),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
