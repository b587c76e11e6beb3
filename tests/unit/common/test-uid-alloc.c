/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "uid-alloc.h"
#include "user-record.h"

typedef struct Taken {
        bool bits[HOME_UID_MAX - HOME_UID_MIN + 1];
        unsigned calls;
        bool outside_range_asked;
} Taken;

static bool taken_fn(uid_t uid, void *userdata) {
        Taken *t = userdata;
        t->calls++;
        if (!valid_home_uid(uid)) {
                t->outside_range_asked = true;
                return true;
        }
        return t->bits[uid - HOME_UID_MIN];
}

static void test_deterministic(void **state) {
        Taken t = {};
        uid_t a = 0, b = 0;

        assert_int_equal(uid_alloc("alice", taken_fn, &t, &a), 0);
        assert_int_equal(uid_alloc("alice", taken_fn, &t, &b), 0);
        assert_int_equal(a, b);
        assert_true(valid_home_uid(a));
        assert_int_equal(t.calls, 2);
        assert_false(t.outside_range_asked);
}

static void test_skips_taken(void **state) {
        Taken t = {};
        uid_t first = 0, next = 0;

        assert_int_equal(uid_alloc("bob", taken_fn, &t, &first), 0);
        t.bits[first - HOME_UID_MIN] = true;
        assert_int_equal(uid_alloc("bob", taken_fn, &t, &next), 0);
        assert_int_not_equal(first, next);
        assert_true(valid_home_uid(next));
}

static void test_last_free_and_full(void **state) {
        Taken t;
        uid_t u = 0;

        memset(&t, 0, sizeof t);
        for (size_t i = 0; i < sizeof t.bits; i++)
                t.bits[i] = true;
        t.bits[HOME_UID_MAX - HOME_UID_MIN] = false;
        assert_int_equal(uid_alloc("carol", taken_fn, &t, &u), 0);
        assert_int_equal(u, HOME_UID_MAX);

        t.bits[HOME_UID_MAX - HOME_UID_MIN] = true;
        t.calls = 0;
        assert_int_equal(uid_alloc("carol", taken_fn, &t, &u), -EBUSY);
        assert_int_equal(t.calls, HOME_UID_MAX - HOME_UID_MIN + 1); /* each UID asked once */
        assert_false(t.outside_range_asked);
}

static void test_spread(void **state) {
        /* Different names should mostly get their first choice: the hash
         * spreads them over the range instead of piling up at its start. */
        Taken t = {};
        unsigned first_choice = 0;
        char name[16];
        for (int i = 0; i < 50; i++) {
                uid_t u;
                snprintf(name, sizeof name, "user%d", i);
                t.calls = 0;
                assert_int_equal(uid_alloc(name, taken_fn, &t, &u), 0);
                if (t.calls == 1)
                        first_choice++;
                t.bits[u - HOME_UID_MIN] = true;
        }
        assert_true(first_choice >= 40);
}

static void test_nss(void **state) {
        assert_true(uid_taken_nss(0)); /* root */
        assert_true(name_taken_nss("root"));
        assert_false(name_taken_nss("hearth-no-such-user-x"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deterministic),
                cmocka_unit_test(test_skips_taken),
                cmocka_unit_test(test_last_free_and_full),
                cmocka_unit_test(test_spread),
                cmocka_unit_test(test_nss),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
