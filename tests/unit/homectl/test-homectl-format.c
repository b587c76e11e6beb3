/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl's output: tables, state colours, the record summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "format.h"

#define MID "0123456789abcdef0123456789abcdef"

/* --export-format=: what inspect --json keeps of a record. */
static void test_export(void **state) {
        static const char json[] =
                "{\"userName\":\"alice\",\"uid\":60100,\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]},"
                "\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"shell\":\"/bin/sh\"}],"
                "\"binding\":{\"" MID "\":{\"uid\":60100}},\"status\":{\"" MID "\":{\"state\":\"active\"}},"
                "\"signature\":[{\"data\":\"x\",\"key\":\"y\"}],\"secret\":{\"password\":[\"pw\"]}}";
        static const struct {
                ExportFormat format;
                bool binding, status, signature;
        } cases[] = {
                { EXPORT_FORMAT_FULL, true, true, true },
                { EXPORT_FORMAT_STRIPPED, false, false, true },
                { EXPORT_FORMAT_MINIMAL, false, false, false },
        };
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                UserRecord *rec = NULL;
                assert_int_equal(user_record_parse(json, strlen(json), &rec, NULL), 0);
                assert_int_equal(record_export(rec, cases[i].format), 0);
                assert_int_equal(json_object_object_get_ex(rec->json, "binding", NULL), cases[i].binding);
                assert_int_equal(json_object_object_get_ex(rec->json, "status", NULL), cases[i].status);
                assert_int_equal(json_object_object_get_ex(rec->json, "signature", NULL), cases[i].signature);
                /* never secrets; always the rest */
                assert_false(json_object_object_get_ex(rec->json, "secret", NULL));
                assert_true(json_object_object_get_ex(rec->json, "privileged", NULL));
                assert_true(json_object_object_get_ex(rec->json, "perMachine", NULL));
                user_record_free(rec);
        }
        assert_int_equal(export_format_from_string("full"), EXPORT_FORMAT_FULL);
        assert_int_equal(export_format_from_string("stripped"), EXPORT_FORMAT_STRIPPED);
        assert_int_equal(export_format_from_string("minimal"), EXPORT_FORMAT_MINIMAL);
        assert_int_equal(export_format_from_string("Full"), -1);
        assert_int_equal(export_format_from_string(NULL), -1);
        assert_string_equal(export_format_to_string(EXPORT_FORMAT_STRIPPED), "stripped");
}

static char *capture_table(const Table *t, bool header, bool color) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        assert_non_null(f);
        table_print(t, f, header, color);
        fclose(f);
        return buf;
}

static void test_table(void **state) {
        static const char *const headers[] = { "NAME", "UID", "STATE", "REALNAME" };
        Table *t = table_new(4, headers);
        char *s;

        assert_non_null(t);
        assert_int_equal(table_add_row(t, (const char *[]) { "zoe", "60002", "inactive", "Zoë Ünïcode" }, NULL), 0);
        assert_int_equal(table_add_row(t,
                                       (const char *[]) { "alice", "60001", "active", NULL },
                                       (const char *[]) { NULL, NULL, ANSI_GREEN, NULL }),
                         0);
        assert_int_equal(table_add_row(t, (const char *[]) { "bob\033[31m", "7", "dirty", "B" }, NULL), 0);
        assert_int_equal(table_rows(t), 3);
        table_sort(t, 0);

        s = capture_table(t, true, false);
        assert_string_equal(s,
                            "NAME     UID   STATE    REALNAME\n"
                            "alice    60001 active   -\n"
                            "bob?[31m 7     dirty    B\n"
                            "zoe      60002 inactive Zoë Ünïcode\n");
        free(s);

        s = capture_table(t, false, true);
        assert_string_equal(s,
                            "alice    60001 \033[0;32mactive\033[0m   -\n"
                            "bob?[31m 7     dirty    B\n"
                            "zoe      60002 inactive Zoë Ünïcode\n");
        free(s);
        table_free(t);
}

static void test_state_color(void **state) {
        assert_string_equal(state_color("active"), ANSI_GREEN);
        assert_string_equal(state_color("dirty"), ANSI_RED);
        assert_string_equal(state_color("locked"), ANSI_YELLOW);
        assert_string_equal(state_color("activating-for-acquire"), ANSI_YELLOW);
        assert_string_equal(state_color("resizing-while-active"), ANSI_YELLOW);
        assert_string_equal(state_color("passwd"), ANSI_YELLOW);
        assert_null(state_color("inactive"));
        assert_null(state_color("absent"));
        assert_null(state_color(NULL));
        assert_int_equal(utf8_width("Zoë"), 3);
}

static void test_colors_env(void **state) {
        /* Under the test runner stdout is not a terminal: never colour. */
        setenv("NO_COLOR", "1", 1);
        assert_false(colors_enabled());
        unsetenv("NO_COLOR");
}

static void test_summary(void **state) {
        static const char text[] =
                "{\"userName\":\"alice\",\"realName\":\"Alice\",\"disposition\":\"regular\",\"memberOf\":[\"wheel\"],"
                "\"privileged\":{\"hashedPassword\":[\"$y$a\",\"$y$b\"],\"passwordHint\":\"rabbit\"},"
                "\"binding\":{\"" MID "\":{\"uid\":60001,\"storage\":\"luks\",\"homeDirectory\":\"/home/alice\"}},"
                "\"status\":{\"" MID "\":{\"state\":\"active\",\"diskSize\":1073741824,\"diskUsage\":268435456,"
                "\"diskFree\":805306368,\"goodAuthenticationCounter\":3}}}";
        UserRecord *rec = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        user_record_set_machine(MID, "h");
        assert_int_equal(user_record_parse(text, strlen(text), &rec, NULL), 0);
        f = open_memstream(&buf, &size);
        record_print_summary(f, rec, true);
        fclose(f);
        assert_non_null(strstr(buf, "User name: alice\n"));
        assert_non_null(strstr(buf, "State: \033[0;32mactive\033[0m\n"));
        assert_non_null(strstr(buf, "UID: 60001\n"));
        assert_non_null(strstr(buf, "GID: 60001\n"));
        assert_non_null(strstr(buf, "Member of: wheel\n"));
        assert_non_null(strstr(buf, "Home directory: /home/alice\n"));
        assert_non_null(strstr(buf, "Storage: luks\n"));
        assert_non_null(strstr(buf, "Disk size: 1G\n"));
        assert_non_null(strstr(buf, "Disk usage: 256M (25.0%)\n"));
        assert_non_null(strstr(buf, "Disk free: 768M (75.0%)\n"));
        assert_non_null(strstr(buf, "Passwords: 2\n"));
        assert_non_null(strstr(buf, "Password hint: rabbit\n"));
        assert_non_null(strstr(buf, "Good authentications: 3\n"));
        free(buf);

        /* No colour asked: none. */
        buf = NULL;
        f = open_memstream(&buf, &size);
        record_print_summary(f, rec, false);
        fclose(f);
        assert_non_null(strstr(buf, "State: active\n"));
        assert_null(strchr(buf, '\033'));
        free(buf);
        user_record_free(rec);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_export),
                cmocka_unit_test(test_state_color),
                cmocka_unit_test(test_colors_env),
                cmocka_unit_test(test_summary),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
