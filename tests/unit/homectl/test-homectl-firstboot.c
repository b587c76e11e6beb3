/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl firstboot's pure decisions (homectl/firstboot-parse.c): credential
 * names, systemd.firstboot= on the kernel command line, passwd and group
 * lines, who counts as a regular user. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "firstboot-parse.h"

static void test_credential_user(void **state) {
        assert_string_equal(firstboot_credential_user("home.create.alice"), "alice");
        assert_string_equal(firstboot_credential_user("home.create._svc-2"), "_svc-2");
        assert_null(firstboot_credential_user("home.create."));
        assert_null(firstboot_credential_user("home.create.no.dots"));
        assert_null(firstboot_credential_user("home.create.../etc"));
        assert_null(firstboot_credential_user("home.create.1abc"));
        assert_null(firstboot_credential_user("home.create.abcdefghijklmnopqrstuvwxyzabcdefg")); /* 32 */
        assert_string_equal(firstboot_credential_user("home.create.abcdefghijklmnopqrstuvwxyzabcde"),
                            "abcdefghijklmnopqrstuvwxyzabcde"); /* 31 */
        assert_null(firstboot_credential_user("home.alice"));
        assert_null(firstboot_credential_user("xhome.create.alice"));
        assert_null(firstboot_credential_user(""));
}

static void test_cmdline(void **state) {
        assert_int_equal(firstboot_cmdline_get(""), -ENOENT);
        assert_int_equal(firstboot_cmdline_get("quiet splash root=/dev/vda1\n"), -ENOENT);
        assert_int_equal(firstboot_cmdline_get("quiet systemd.firstboot=no\n"), 0);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=0"), 0);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=OFF"), 0);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=yes"), 1);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot"), 1);
        /* The last one wins. */
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=no systemd.firstboot=1"), 1);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot systemd.firstboot=false"), 0);
        /* Quotes group and are removed. */
        assert_int_equal(firstboot_cmdline_get("a=\"x y\" \"systemd.firstboot=no\""), 0);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=\"no\""), 0);
        assert_int_equal(firstboot_cmdline_get("opt=\"systemd.firstboot=no\""), -ENOENT);
        /* Other keys that start the same are not ours. */
        assert_int_equal(firstboot_cmdline_get("systemd.firstbootx=no rd.systemd.firstboot=no"), -ENOENT);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=maybe"), -EINVAL);
        /* After "--": init's arguments. */
        assert_int_equal(firstboot_cmdline_get("quiet -- systemd.firstboot=no"), -ENOENT);
        assert_int_equal(firstboot_cmdline_get("systemd.firstboot=no -- systemd.firstboot=yes"), 0);
        /* An unterminated quote runs to the end; a very long word is dropped. */
        assert_int_equal(firstboot_cmdline_get("\"systemd.firstboot=no"), 0);
        char long_word[300];
        memset(long_word, 'a', sizeof long_word - 1);
        long_word[sizeof long_word - 1] = 0;
        memcpy(long_word, "systemd.firstboot=", 18);
        assert_int_equal(firstboot_cmdline_get(long_word), -ENOENT);
}

static void test_colon_line(void **state) {
        ColonEntry e;
        char l1[] = "alice:x:1000:1000:Alice:/home/alice:/bin/bash";
        char l2[] = "svc:x:999:999::/:";
        char l3[] = "wheel:x:10:alice,bob";
        char bad1[] = "alice:x:1000:1000:Alice:/home/alice";
        char bad2[] = "alice:x:-1:1000:A:/h:/bin/sh";
        char bad3[] = ":x:1000:1000:A:/h:/bin/sh";
        char bad4[] = "+nis::::::";
        char bad5[] = "alice:x:4294967295:1:A:/h:/bin/sh";
        char bad6[] = "al ice:x:1000:1:A:/h:/bin/sh";
        char bad7[] = "alice:x:1000:1:A:/h:/bin/sh:extra";

        assert_int_equal(colon_line_parse(l1, true, &e), 0);
        assert_string_equal(e.name, "alice");
        assert_int_equal(e.id, 1000);
        assert_string_equal(e.shell, "/bin/bash");
        assert_int_equal(colon_line_parse(l2, true, &e), 0);
        assert_string_equal(e.shell, "");
        assert_int_equal(colon_line_parse(l3, false, &e), 0);
        assert_string_equal(e.name, "wheel");
        assert_int_equal(e.id, 10);
        assert_int_equal(colon_line_parse(bad1, true, &e), -EINVAL);
        assert_int_equal(colon_line_parse(bad2, true, &e), -EINVAL);
        assert_int_equal(colon_line_parse(bad3, true, &e), -EINVAL);
        assert_int_equal(colon_line_parse(bad4, true, &e), -EINVAL);
        assert_int_equal(colon_line_parse(bad5, true, &e), -EINVAL);
        assert_int_equal(colon_line_parse(bad6, true, &e), -EINVAL);
        assert_int_equal(colon_line_parse(bad7, true, &e), -EINVAL);
}

static void test_regular(void **state) {
        assert_true(firstboot_shell_is_login("/bin/bash"));
        assert_true(firstboot_shell_is_login(""));
        assert_false(firstboot_shell_is_login("/usr/sbin/nologin"));
        assert_false(firstboot_shell_is_login("/sbin/nologin"));
        assert_false(firstboot_shell_is_login("/bin/false"));
        assert_false(firstboot_shell_is_login("/usr/bin/true"));

        assert_true(firstboot_passwd_is_regular(&(ColonEntry) { "zoe", 1000, "/bin/bash" }));
        assert_true(firstboot_passwd_is_regular(&(ColonEntry) { "h", 60513, "/bin/sh" }));
        assert_false(firstboot_passwd_is_regular(&(ColonEntry) { "sys", 999, "/bin/bash" }));
        assert_false(firstboot_passwd_is_regular(&(ColonEntry) { "svc", 1001, "/usr/sbin/nologin" }));
        assert_false(firstboot_passwd_is_regular(&(ColonEntry) { "nobody", 65534, "/bin/sh" }));
        assert_false(firstboot_passwd_is_regular(&(ColonEntry) { "ct", 524288, "/bin/sh" }));
}

static int collect(const ColonEntry *e, void *userdata) {
        char *buf = userdata;
        strcat(buf, e->name);
        strcat(buf, ",");
        return strcmp(e->name, "stop") == 0 ? 7 : 0;
}

static void test_scan(void **state) {
        char dir[] = "/tmp/test-firstboot.XXXXXX", path[128], link[128], buf[256] = "";
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/passwd", dir);
        snprintf(link, sizeof link, "%s/link", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("root:x:0:0:root:/root:/bin/bash\n"
              "garbage line\n",
              f);
        /* A NUL inside a line: dropped, as NSS would not see the rest. */
        fwrite("nul\0x:x:5:5::/:/bin/sh\n", 1, 23, f);
        fputs("zoe:x:1000:1000::/home/zoe:/bin/bash\n"
              "stop:x:1:1::/:/bin/sh\n"
              "after:x:2:2::/:/bin/sh",
              f);
        fclose(f);

        assert_int_equal(colon_file_scan(path, true, collect, buf), 7);
        assert_string_equal(buf, "root,zoe,stop,");
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(colon_file_scan(link, true, collect, buf), -ELOOP);
        snprintf(link, sizeof link, "%s/missing", dir);
        assert_int_equal(colon_file_scan(link, true, collect, buf), -ENOENT);
        assert_int_equal(colon_file_scan(dir, true, collect, buf), -EBADF);

        snprintf(link, sizeof link, "%s/link", dir);
        unlink(link);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_credential_user), cmocka_unit_test(test_cmdline),
                cmocka_unit_test(test_colon_line),      cmocka_unit_test(test_regular),
                cmocka_unit_test(test_scan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
