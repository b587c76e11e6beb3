/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mountinfo.h"

static char path[] = "/tmp/test-mountinfo.XXXXXX";

static void write_table(const char *text) {
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static int drop_table(void **state) {
        (void) state;
        unlink(path);
        strcpy(path, "/tmp/test-mountinfo.XXXXXX");
        return 0;
}

/* The last mount at a point is the one on top: a FUSE mount a user put
 * over her home hides the home's own (hearthd's rebalance must see it). */
static void test_topmost(void **state) {
        char type[64], source[256];
        (void) state;
        write_table("22 1 0:21 / /proc rw - proc proc rw\n"
                    "80 30 253:3 / /home/mallory rw,relatime - btrfs /dev/mapper/home-mallory rw\n"
                    "81 80 0:50 / /home/mallory rw - fuse.evil evil rw,user_id=60101\n"
                    "82 30 253:4 / /home/alice rw - ext4 /dev/mapper/home-alice rw\n");
        assert_int_equal(mountinfo_top_at(path, "/home/mallory", type, sizeof type, source, sizeof source), 0);
        assert_string_equal(type, "fuse.evil");
        assert_string_equal(source, "evil");
        assert_int_equal(mountinfo_top_at(path, "/home/alice", type, sizeof type, source, sizeof source), 0);
        assert_string_equal(type, "ext4");
        assert_string_equal(source, "/dev/mapper/home-alice");
        assert_int_equal(mountinfo_top_at(path, "/home/bob", type, sizeof type, source, sizeof source), -ENOENT);
        /* A prefix is not the point. */
        assert_int_equal(mountinfo_top_at(path, "/home/alic", type, sizeof type, source, sizeof source), -ENOENT);
}

/* Points and sources are octal-escaped; a line without " - " is skipped. */
static void test_escapes(void **state) {
        char type[64], source[256];
        (void) state;
        write_table("90 30 7:1 / /home/a\\040b rw - erofs /tmp/x\\040y.img ro\n"
                    "91 30 7:2 / /home/c rw broken line\n");
        assert_int_equal(mountinfo_top_at(path, "/home/a b", type, sizeof type, source, sizeof source), 0);
        assert_string_equal(source, "/tmp/x y.img");
        assert_int_equal(mountinfo_top_at(path, "/home/c", type, sizeof type, source, sizeof source), -ENOENT);
        char s[] = "a\\134b\\011c\\0";
        mountinfo_unescape(s);
        assert_string_equal(s, "a\\b\tc\\0");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_topmost, drop_table),
                cmocka_unit_test_teardown(test_escapes, drop_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
