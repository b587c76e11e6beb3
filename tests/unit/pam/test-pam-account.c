/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pam_hearth's account rules (pam/account-policy.c): validity window,
 * locked accounts, password age, at chosen times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <security/_pam_types.h>

#include "account-policy.h"
#include "macro.h"

#define DAY (UINT64_C(86400) * 1000000)
#define NOW (UINT64_C(20000) * DAY)

static AccountVerdict verdict(const char *extra, uint64_t now) {
        char json[512];
        snprintf(json, sizeof json, "{\"userName\":\"alice\"%s}", extra);
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *why = NULL;
        if (user_record_parse(json, strlen(json), &rec, &why) < 0)
                fail_msg("record %s: %s", json, why);
        AccountVerdict v;
        account_verdict(rec, now, &v);
        return v;
}

static void test_plain(void **state) {
        AccountVerdict v = verdict("", NOW);
        assert_int_equal(v.pam_code, PAM_SUCCESS);
        assert_string_equal(v.message, "");
        v = verdict(",\"locked\":false", NOW);
        assert_int_equal(v.pam_code, PAM_SUCCESS);
}

static void test_locked_and_window(void **state) {
        char b[128];
        AccountVerdict v = verdict(",\"locked\":true", NOW);
        assert_int_equal(v.pam_code, PAM_ACCT_EXPIRED);
        assert_non_null(strstr(v.message, "alice is locked"));

        snprintf(b, sizeof b, ",\"notBeforeUSec\":%llu", (unsigned long long) (NOW + DAY));
        assert_int_equal(verdict(b, NOW).pam_code, PAM_ACCT_EXPIRED);
        assert_int_equal(verdict(b, NOW + DAY).pam_code, PAM_SUCCESS); /* from that moment on */

        snprintf(b, sizeof b, ",\"notAfterUSec\":%llu", (unsigned long long) (NOW - 1));
        v = verdict(b, NOW);
        assert_int_equal(v.pam_code, PAM_ACCT_EXPIRED);
        assert_non_null(strstr(v.message, "has expired"));
        assert_int_equal(verdict(b, NOW - 1).pam_code, PAM_SUCCESS); /* up to that moment */

        /* Locked wins over a password that must change. */
        assert_int_equal(verdict(",\"locked\":true,\"passwordChangeNow\":true", NOW).pam_code, PAM_ACCT_EXPIRED);
}

static void test_password_age(void **state) {
        char b[256];
        assert_int_equal(verdict(",\"passwordChangeNow\":true", NOW).pam_code, PAM_NEW_AUTHTOK_REQD);
        assert_int_equal(verdict(",\"passwordChangeNow\":false", NOW).pam_code, PAM_SUCCESS);

        /* Changed 10 days ago, valid 30 days, warned 21 days ahead: 20 days left → warning. */
        snprintf(b, sizeof b,
                 ",\"lastPasswordChangeUSec\":%llu,\"passwordChangeMaxUSec\":%llu,\"passwordChangeWarnUSec\":%llu",
                 (unsigned long long) (NOW - 10 * DAY), (unsigned long long) (30 * DAY),
                 (unsigned long long) (21 * DAY));
        AccountVerdict v = verdict(b, NOW);
        assert_int_equal(v.pam_code, PAM_SUCCESS);
        assert_true(v.warn);
        assert_non_null(strstr(v.message, "expires in 20 day(s)"));
        /* 9 days before the warning starts: nothing said. */
        v = verdict(b, NOW - 2 * DAY);
        assert_int_equal(v.pam_code, PAM_SUCCESS);
        assert_false(v.warn);
        /* Past the maximum: must change. */
        v = verdict(b, NOW + 20 * DAY);
        assert_int_equal(v.pam_code, PAM_NEW_AUTHTOK_REQD);

        /* With an inactivity period: past it the account is closed. */
        snprintf(b, sizeof b,
                 ",\"lastPasswordChangeUSec\":%llu,\"passwordChangeMaxUSec\":%llu,\"passwordChangeInactiveUSec\":%llu",
                 (unsigned long long) (NOW - 10 * DAY), (unsigned long long) (5 * DAY), (unsigned long long) (3 * DAY));
        assert_int_equal(verdict(b, NOW - 4 * DAY).pam_code, PAM_NEW_AUTHTOK_REQD);
        assert_int_equal(verdict(b, NOW).pam_code, PAM_ACCT_EXPIRED);

        /* A huge maximum does not wrap around into the past. */
        snprintf(b, sizeof b, ",\"lastPasswordChangeUSec\":%llu,\"passwordChangeMaxUSec\":%llu",
                 (unsigned long long) (NOW - DAY), (unsigned long long) (UINT64_MAX - 2));
        assert_int_equal(verdict(b, NOW).pam_code, PAM_SUCCESS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain),
                cmocka_unit_test(test_locked_and_window),
                cmocka_unit_test(test_password_age),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
