/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log_ratelimit_pass(): burst messages per interval, and the count of
 * those left out told with the first of the next interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log-ratelimit.h"

static void test_burst_then_count(void **state) {
        LogRatelimit rl = LOG_RATELIMIT_INIT(10, 3);
        unsigned left;
        (void) state;
        for (int i = 0; i < 3; i++) {
                assert_true(log_ratelimit_pass(&rl, 100 + i, &left));
                assert_int_equal(left, 0);
        }
        for (int i = 0; i < 5; i++)
                assert_false(log_ratelimit_pass(&rl, 105, &left));
        /* The next interval: the first says 5 were left out. */
        assert_true(log_ratelimit_pass(&rl, 110, &left));
        assert_int_equal(left, 5);
        assert_true(log_ratelimit_pass(&rl, 111, &left));
        assert_int_equal(left, 0);
}

static void test_clock_zero_and_back(void **state) {
        LogRatelimit rl = LOG_RATELIMIT_INIT(10, 1);
        unsigned left;
        (void) state;
        assert_true(log_ratelimit_pass(&rl, 0, &left));
        assert_false(log_ratelimit_pass(&rl, 0, &left));
        /* A clock that went back starts a new interval rather than none. */
        assert_true(log_ratelimit_pass(&rl, 20, &left));
        assert_int_equal(left, 1);
        assert_false(log_ratelimit_pass(&rl, 25, &left));
        assert_true(log_ratelimit_pass(&rl, 5, &left));
        assert_int_equal(left, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_burst_then_count),
                cmocka_unit_test(test_clock_zero_and_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
