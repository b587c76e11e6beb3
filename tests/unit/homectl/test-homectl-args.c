/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record options taken from systemd 252's homectl (record-args.c):
 * time spans, timestamps, and what each option writes where. The host test
 * test-homectl-parity.sh compares the same against systemd's homectl. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json-path.h"
#include "record-args.h"
#include "record-build.h"

#define MID "0123456789abcdef0123456789abcdef"

static size_t arg_index(const char *option) {
        for (size_t i = 0; i < record_args_count; i++)
                if (strcmp(record_args[i].option, option) == 0)
                        return i;
        fail_msg("no option %s", option);
        return 0;
}

static int apply(RecordChanges *c, const char *option, const char *value) {
        return record_arg_parse(c, arg_index(option), value);
}

static void test_parse_sec(void **state) {
        static const struct {
                const char *s;
                uint64_t usec;
        } good[] = {
                { "5", 5000000 },          { "5s", 5000000 },        { "1min", 60000000 },
                { "1m", 60000000 },        { "2h", 7200000000 },     { "1d 12h", 129600000000 },
                { "2.5d", 216000000000 },  { "500ms", 500000 },      { "3us", 3 },
                { "1w", 604800000000 },    { "12w", 7257600000000 }, { "infinity", UINT64_MAX },
                { " 1h30min", 5400000000 }, { "1M", 2629800000000 }, { "1y", 31557600000000 },
        };
        static const char *const bad[] = { "", "x", "5x", "-5", "1h x", ".", "s", "99999999999999999999" };
        uint64_t u;

        for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
                assert_int_equal(parse_sec(good[i].s, &u), 0);
                if (u != good[i].usec)
                        fail_msg("%s: %" PRIu64 ", expected %" PRIu64, good[i].s, u, good[i].usec);
        }
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                if (parse_sec(bad[i], &u) >= 0)
                        fail_msg("\"%s\" was taken as %" PRIu64, bad[i], u);
}

static void test_parse_timestamp(void **state) {
        uint64_t u, v;

        assert_int_equal(parse_timestamp("@1700000000", &u), 0);
        assert_int_equal(u, UINT64_C(1700000000000000));
        assert_int_equal(parse_timestamp("2030-01-01 UTC", &u), 0);
        assert_int_equal(u, UINT64_C(1893456000000000));
        assert_int_equal(parse_timestamp("2030-01-01 00:00:10 UTC", &u), 0);
        assert_int_equal(u, UINT64_C(1893456010000000));
        assert_int_equal(parse_timestamp("now", &u), 0);
        assert_int_equal(parse_timestamp("+1h", &v), 0);
        assert_true(v >= u + UINT64_C(3600000000) && v < u + UINT64_C(3700000000));
        assert_int_equal(parse_timestamp("1h ago", &v), 0);
        assert_true(v < u - UINT64_C(3500000000) && v > u - UINT64_C(3700000000));
        assert_int_equal(parse_timestamp("today", &u), 0);
        assert_int_equal(parse_timestamp("tomorrow", &v), 0);
        assert_true(v > u);
        assert_true(parse_timestamp("2030-13-01", &u) < 0);
        assert_true(parse_timestamp("yesterday-ish", &u) < 0);
        assert_true(parse_timestamp("", &u) < 0);
        assert_true(parse_timestamp("@x", &u) < 0);
}

static void test_fields(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        json_object *j = json_object_new_object();

        assert_int_equal(apply(&c, "umask", "0027"), 0);
        assert_int_equal(apply(&c, "nice", "-5"), 0);
        assert_int_equal(apply(&c, "setenv", "B=2"), 0);
        assert_int_equal(apply(&c, "setenv", "A=1"), 0);
        assert_int_equal(apply(&c, "setenv", "B=3"), 0);
        assert_int_equal(apply(&c, "password-hint", "hint"), 0);
        assert_int_equal(apply(&c, "ssh-authorized-keys", "ssh-ed25519 AAAA a"), 0);
        assert_int_equal(apply(&c, "ssh-authorized-keys", "ssh-ed25519 AAAA a"), 0);
        assert_int_equal(apply(&c, "memory-max", "1G"), 0);
        assert_int_equal(apply(&c, "rlimit", "NOFILE=10:20"), 0);
        assert_int_equal(apply(&c, "rlimit", "RLIMIT_CORE=infinity"), 0);
        assert_int_equal(apply(&c, "locked", "y"), 0);
        assert_int_equal(apply(&c, "stop-delay", "30s"), 0);
        assert_int_equal(apply(&c, "realm", "example.org"), 0);
        assert_int_equal(apply(&c, "realm", ""), 0); /* removed again */
        assert_true(record_changes_any(&c));
        assert_int_equal(record_apply_changes(j, &c, MID), 0);

        assert_int_equal(json_object_get_int64(json_path(j, "umask")), 027);
        assert_int_equal(json_object_get_int64(json_path(j, "niceLevel")), -5);
        assert_int_equal(json_object_array_length(json_path(j, "environment")), 2);
        assert_string_equal(json_object_get_string(json_path(j, "environment.0")), "A=1");
        assert_string_equal(json_object_get_string(json_path(j, "environment.1")), "B=3");
        assert_string_equal(json_object_get_string(json_path(j, "privileged.passwordHint")), "hint");
        assert_int_equal(json_object_array_length(json_path(j, "privileged.sshAuthorizedKeys")), 1);
        assert_null(json_path(j, "memoryMax"));
        assert_string_equal(json_object_get_string(json_path(j, "perMachine.0.matchMachineId")), MID);
        assert_int_equal(json_object_get_uint64(json_path(j, "perMachine.0.memoryMax")), UINT64_C(1) << 30);
        assert_int_equal(json_object_get_uint64(json_path(j, "perMachine.0.resourceLimits.RLIMIT_NOFILE.cur")), 10);
        assert_int_equal(json_object_get_uint64(json_path(j, "perMachine.0.resourceLimits.RLIMIT_NOFILE.max")), 20);
        assert_non_null(json_path(j, "perMachine.0.resourceLimits.RLIMIT_CORE"));
        assert_null(json_path(j, "perMachine.0.resourceLimits.RLIMIT_CORE.cur"));
        assert_true(json_object_get_boolean(json_path(j, "locked")));
        assert_int_equal(json_object_get_uint64(json_path(j, "stopDelayUSec")), 30000000);
        assert_null(json_path(j, "realm"));

        /* Removal reaches every section. */
        record_changes_done(&c);
        c = (RecordChanges) RECORD_CHANGES_INIT;
        assert_int_equal(apply(&c, "memory-max", ""), 0);
        assert_int_equal(apply(&c, "password-hint", ""), 0);
        assert_int_equal(apply(&c, "rlimit", "NOFILE="), 0);
        assert_int_equal(record_apply_changes(j, &c, MID), 0);
        assert_null(json_path(j, "perMachine.0.memoryMax"));
        assert_null(json_path(j, "privileged.passwordHint"));
        assert_null(json_path(j, "perMachine.0.resourceLimits.RLIMIT_NOFILE"));
        assert_non_null(json_path(j, "perMachine.0.resourceLimits.RLIMIT_CORE"));
        record_changes_done(&c);
        json_object_put(j);
}

static void test_bad_values(void **state) {
        static const char *const bad[][2] = {
                { "nice", "20" },          { "nice", "-21" },          { "umask", "0999" },
                { "umask", "-1" },         { "access-mode", "10000" }, { "cpu-weight", "0" },
                { "io-weight", "10001" },  { "tasks-max", "-1" },      { "luks-sector-size", "1000" },
                { "luks-sector-size", "8192" }, { "rlimit", "NOFILE" }, { "rlimit", "BOGUS=1" },
                { "rlimit", "nofile=1" },  { "rlimit", "NOFILE=2:1" }, { "setenv", "1A=x" },
                { "setenv", "A B=x" },     { "locked", "maybe" },      { "realm", ".example" },
                { "timezone", "Nowhere/Nothing" }, { "timezone", "../etc/passwd" }, { "language", "de DE" },
                { "cifs-service", "server/share" }, { "cifs-service", "//server" },
                { "ssh-authorized-keys", "#comment" }, { "ssh-authorized-keys", "a\tb" },
                { "luks-cipher", "a\"b" },  { "not-before", "soon" },   { "password-change-min", "1x" },
                { "fido2-with-client-pin", "perhaps" }, { "rate-limit-burst", "4294967296" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                RecordChanges c = RECORD_CHANGES_INIT;
                if (apply(&c, bad[i][0], bad[i][1]) >= 0)
                        fail_msg("--%s=%s was taken", bad[i][0], bad[i][1]);
                record_changes_done(&c);
        }
        RecordChanges c = RECORD_CHANGES_INIT;
        assert_int_equal(apply(&c, "fido2-device", "/dev/hidraw0"), -EOPNOTSUPP);
        assert_int_equal(apply(&c, "fido2-with-user-presence", "yes"), 0);
        assert_false(record_changes_any(&c));
        record_changes_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_sec),
                cmocka_unit_test(test_parse_timestamp),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_bad_values),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
