/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The checks pam_hearth's session puts the record's settings through
 * (pam/session-settings.c), and the record's resourceLimits view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "macro.h"
#include "rlimit-name.h"
#include "session-settings.h"
#include "user-record.h"

static void test_env(void **state) {
        assert_null(session_env_refused("EDITOR=vim"));
        assert_null(session_env_refused("PATH=/opt/bin:/usr/bin")); /* as pam_systemd: hers to set */
        assert_null(session_env_refused("EMPTY="));
        assert_null(session_env_refused("_X1=a=b"));
        assert_non_null(session_env_refused("LD_PRELOAD=/tmp/evil.so"));
        assert_non_null(session_env_refused("LD_LIBRARY_PATH=/tmp"));
        assert_non_null(session_env_refused("HOME=/tmp"));
        assert_non_null(session_env_refused("USER=root"));
        assert_non_null(session_env_refused("LOGNAME=root"));
        assert_non_null(session_env_refused("SHELL=/bin/sh"));
        assert_non_null(session_env_refused("XDG_RUNTIME_DIR=/tmp"));
        assert_non_null(session_env_refused("XDG_SESSION_ID=1"));
        assert_non_null(session_env_refused("A=line\nINJECTED=1"));
        assert_non_null(session_env_refused("A=\x1b[2J"));
        assert_non_null(session_env_refused("=value"));
        assert_non_null(session_env_refused("NOEQUALS"));
        assert_non_null(session_env_refused("1A=x"));
        assert_non_null(session_env_refused("A-B=x"));
        /* Only whole names are owned: HOMEPAGE and USERNAME are hers. */
        assert_null(session_env_refused("HOMEPAGE=https://example.org"));
        assert_null(session_env_refused("USERNAME=x"));
}

static void test_time_zone(void **state) {
        assert_true(session_time_zone_name_valid("Europe/Berlin"));
        assert_true(session_time_zone_name_valid("UTC"));
        assert_true(session_time_zone_name_valid("America/Argentina/Buenos_Aires"));
        assert_true(session_time_zone_name_valid("Etc/GMT+5"));
        assert_false(session_time_zone_name_valid(""));
        assert_false(session_time_zone_name_valid("/etc/passwd"));
        assert_false(session_time_zone_name_valid("../../etc/passwd"));
        assert_false(session_time_zone_name_valid("Europe/../../x"));
        assert_false(session_time_zone_name_valid("Europe/"));
        assert_false(session_time_zone_name_valid("Europe//Berlin"));
        assert_false(session_time_zone_name_valid("Europe/Berlin "));
        assert_false(session_time_zone_name_valid(":Europe/Berlin"));
}

static void test_language(void **state) {
        assert_true(session_language_name_valid("de_DE.UTF-8"));
        assert_true(session_language_name_valid("C.UTF-8"));
        assert_true(session_language_name_valid("sr_RS@latin"));
        assert_false(session_language_name_valid(""));
        assert_false(session_language_name_valid("../../tmp/x"));
        assert_false(session_language_name_valid("de_DE/x"));
        assert_false(session_language_name_valid("de DE"));
        assert_false(session_language_name_valid(".hidden"));
}

static void test_rlimit_names(void **state) {
        assert_int_equal(rlimit_from_name("RLIMIT_NOFILE", 13), RLIMIT_NOFILE);
        assert_int_equal(rlimit_from_name("NOFILE", 6), RLIMIT_NOFILE);
        assert_int_equal(rlimit_from_name("RLIMIT_RTTIME", 13), RLIMIT_RTTIME);
        assert_int_equal(rlimit_from_name("RLIMIT_BOGUS", 12), -1);
        assert_int_equal(rlimit_from_name("RLIMIT_", 7), -1);
        assert_int_equal(rlimit_from_name("NOFILEX", 7), -1);
        assert_int_equal(rlimit_from_name("NOFILEX", 6), RLIMIT_NOFILE); /* the length decides */
        assert_string_equal(rlimit_name(RLIMIT_CORE), "CORE");
        assert_null(rlimit_name(-1));
        assert_null(rlimit_name(1000));
}

static void test_record_view(void **state) {
        static const char json[] = "{\"userName\":\"alice\",\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":10,\"max\":20}},"
                                   "\"perMachine\":[{\"matchHostname\":\"*\",\"resourceLimits\":{}}]}";
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(user_record_parse(json, strlen(json), &rec, &why), 0);
        assert_non_null(rec->resource_limits);
        static const char none[] = "{\"userName\":\"bob\"}";
        _cleanup_user_record_ UserRecord *rec2 = NULL;
        assert_int_equal(user_record_parse(none, strlen(none), &rec2, NULL), 0);
        assert_null(rec2->resource_limits);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env),          cmocka_unit_test(test_time_zone),
                cmocka_unit_test(test_language),     cmocka_unit_test(test_rlimit_names),
                cmocka_unit_test(test_record_view),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
