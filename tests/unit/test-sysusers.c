/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "sysusers.h"

typedef struct Good {
        const char *line;
        char type;
        const char *name, *id, *gecos, *home, *shell;
        bool locked;
} Good;

static const Good good[] = {
        { "u httpd 404 \"HTTP User\"", 'u', "httpd", "404", "HTTP User", NULL, NULL, false },
        { "u _authd /usr/bin/authd \"Authorization user\"", 'u', "_authd", "/usr/bin/authd", "Authorization user", NULL, NULL, false },
        { "u postgres - \"Postgresql Database\" /var/lib/pgsql /usr/libexec/postgresdb", 'u', "postgres", NULL,
          "Postgresql Database", "/var/lib/pgsql", "/usr/libexec/postgresdb", false },
        { "g input - -", 'g', "input", NULL, NULL, NULL, NULL, false },
        { "g input", 'g', "input", NULL, NULL, NULL, NULL, false },
        { "g wheel 10", 'g', "wheel", "10", NULL, NULL, NULL, false },
        { "m _authd input", 'm', "_authd", "input", NULL, NULL, NULL, false },
        { "u root 0 \"Superuser\" /root /bin/zsh", 'u', "root", "0", "Superuser", "/root", "/bin/zsh", false },
        { "r - 500-900", 'r', NULL, "500-900", NULL, NULL, NULL, false },
        { "r - 500", 'r', NULL, "500", NULL, NULL, NULL, false },
        { "u! locked 990 \"Locked\" /home/locked", 'u', "locked", "990", "Locked", "/home/locked", NULL, true },
        { "u svc 991:991", 'u', "svc", "991:991", NULL, NULL, NULL, false },
        { "u svc 991:svcgrp", 'u', "svc", "991:svcgrp", NULL, NULL, NULL, false },
        { "  u\tindented\t-\t-\t/home/indented  ", 'u', "indented", NULL, NULL, "/home/indented", NULL, false },
        { "u quoted - 'single quoted \\n kept' /home/q", 'u', "quoted", NULL, "single quoted \\n kept", "/home/q", NULL, false },
        { "u esc - \"tab\\there\"", 'u', "esc", NULL, "tab\there", NULL, NULL, false },
        { "u spc - \"a b\"\"c d\"", 'u', "spc", NULL, "a bc d", NULL, NULL, false },
        { "u dash - - /srv/dash -", 'u', "dash", NULL, NULL, "/srv/dash", NULL, false },
        { "u max-name_31chars_long_abcdefgh", 'u', "max-name_31chars_long_abcdefgh", NULL, NULL, NULL, NULL, false },
        { "u big 4294967294", 'u', "big", "4294967294", NULL, NULL, NULL, false },
};

typedef struct Bad {
        const char *line;
        const char *error;
} Bad;

static const Bad bad[] = {
        { "x foo", "unknown line type \"x\"" },
        { "uu foo", "unknown line type \"uu\"" },
        { "u", "missing fields" },
        { "u 9x", "invalid user name \"9x\"" },
        { "u -", "invalid user name \"-\"" },
        { "u foo/bar", "invalid user name" },
        { "u this-name-is-way-too-long-for-utmp-32", "invalid user name" },
        { "u foo abc", "invalid UID \"abc\"" },
        { "u foo -1", "invalid UID \"-1\"" },
        { "u foo 4294967295", "invalid UID" },
        { "u foo 65535", "invalid UID" },
        { "u foo 007", "invalid UID" },
        { "u foo 12:9bad", "invalid GID or group name \"9bad\"" },
        { "u foo - - relative/home", "home directory \"relative/home\" is not an absolute path" },
        { "u foo - - /home/foo bin/sh", "shell \"bin/sh\" is not an absolute path" },
        { "u foo - \"bad:gecos\"", "GECOS field must not contain ':'" },
        { "u foo - \"unterminated", "unterminated quote" },
        { "u foo - 'unterminated", "unterminated quote" },
        { "u foo - \"bad \\q escape\"", "unknown escape" },
        { "u foo - - /home/foo /bin/sh extra", "trailing garbage" },
        { "g foo abc", "invalid GID \"abc\"" },
        { "g foo - \"gecos\"", "group lines take no GECOS" },
        { "g 1grp", "invalid group name" },
        { "m foo", "missing fields" },
        { "m foo 9grp", "invalid group name \"9grp\"" },
        { "m foo grp extra", "a member line takes a user and a group only" },
        { "r foo 1-2", "a range line takes \"-\" as its name" },
        { "r -", "a range line needs a range" },
        { "r - -", "a range line needs a range" },
        { "r - 900-500", "invalid range \"900-500\"" },
        { "r - a-b", "invalid range" },
        { "r - /path", "invalid ID \"/path\"" },
};

static void test_good(void **state) {
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                SysusersEntry e;
                char *error = NULL;
                int r = sysusers_parse_line(good[i].line, &e, &error);
                if (r != 1)
                        fail_msg("[%zu] %s: %d %s", i, good[i].line, r, error ?: "");
#define EQ(a, b)                                                                                       \
        do {                                                                                           \
                if (!((a) == NULL && (b) == NULL) && !((a) && (b) && strcmp((a), (b)) == 0))           \
                        fail_msg("[%zu] %s: %s is \"%s\", expected \"%s\"", i, good[i].line, #a, (a) ?: "(null)", \
                                 (b) ?: "(null)");                                                     \
        } while (0)
                assert_int_equal(e.type, good[i].type);
                EQ(e.name, good[i].name);
                EQ(e.id, good[i].id);
                EQ(e.gecos, good[i].gecos);
                EQ(e.home, good[i].home);
                EQ(e.shell, good[i].shell);
                assert_int_equal(e.locked, good[i].locked);
                if (e.type == 'u')
                        assert_string_equal(sysusers_entry_home(&e), good[i].home ?: "/");
                sysusers_entry_done(&e);
        }
}

static void test_bad(void **state) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                SysusersEntry e = {};
                char *error = NULL;
                int r = sysusers_parse_line(bad[i].line, &e, &error);
                if (r != -EINVAL || !error || !strstr(error, bad[i].error))
                        fail_msg("[%zu] %s: got %d \"%s\", expected \"%s\"", i, bad[i].line, r, error ?: "",
                                 bad[i].error);
                free(error);
        }
}

static void test_blank(void **state) {
        const char *lines[] = { "", "   ", "# comment", "   # indented comment", "\t" };
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
                SysusersEntry e;
                assert_int_equal(sysusers_parse_line(lines[i], &e, NULL), 0);
        }
        char long_line[5000];
        memset(long_line, 'a', sizeof long_line - 1);
        long_line[sizeof long_line - 1] = 0;
        long_line[0] = 'u';
        long_line[1] = ' ';
        SysusersEntry e;
        char *error = NULL;
        assert_int_equal(sysusers_parse_line(long_line, &e, &error), -EINVAL);
        assert_non_null(strstr(error, "longer than"));
        free(error);
}

static void write_file(const char *root, const char *rel, const char *text) {
        char path[512], cmd[600];
        snprintf(path, sizeof path, "%s%s", root, rel);
        snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
        assert_int_equal(system(cmd), 0);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_load(void **state) {
        char root[] = "/tmp/hearth-test-sysusers.XXXXXX", path[512];
        SysusersTable t;

        assert_non_null(mkdtemp(root));
        log_set_max_level(LOG_ERR);
        /* b.conf in /usr/lib is overridden by /etc's; c.conf masked; d.conf
         * from /run; a.conf sorts first; x.txt ignored; one bad line skipped. */
        write_file(root, "/usr/lib/sysusers.d/b.conf", "u from-usr - - /home/from-usr\n");
        write_file(root, "/etc/sysusers.d/b.conf", "u from-etc - - /home/from-etc\n");
        write_file(root, "/usr/lib/sysusers.d/c.conf", "u masked\n");
        snprintf(path, sizeof path, "%s/etc/sysusers.d/c.conf", root);
        assert_int_equal(symlink("/dev/null", path), 0);
        write_file(root, "/run/sysusers.d/d.conf", "g grp\nm from-etc grp\n");
        write_file(root, "/usr/local/lib/sysusers.d/a.conf", "# first\nu first 990\nu 9bad\n");
        write_file(root, "/usr/lib/sysusers.d/x.txt", "u ignored\n");

        assert_int_equal(sysusers_load(root, &t), 0);
        assert_int_equal(t.n_entries, 4);
        assert_string_equal(t.entries[0].name, "first");
        assert_int_equal(t.entries[0].line, 2);
        assert_non_null(strstr(t.entries[0].file, "/usr/local/lib/sysusers.d/a.conf"));
        assert_string_equal(t.entries[1].name, "from-etc");
        assert_string_equal(t.entries[2].name, "grp");
        assert_int_equal(t.entries[3].type, SYSUSERS_MEMBER);
        sysusers_table_done(&t);

        snprintf(path, sizeof path, "rm -rf '%s'", root);
        assert_int_equal(system(path), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_blank),
                cmocka_unit_test(test_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
