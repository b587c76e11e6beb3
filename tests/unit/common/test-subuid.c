/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* subuid_owner_in(): whom a subordinate UID counts as, from an
 * /etc/subuid-format file; never root, never someone else for a UID that
 * is an account of its own, one share for what cannot be told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "subuid.h"

static char *file_with(const char *text, off_t size) {
        char *path = strdup("/tmp/test-subuid.XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        if (size > 0)
                assert_int_equal(ftruncate(fd, size), 0);
        close(fd);
        return path;
}

static void test_owners(void **state) {
        (void) state;
        char *p = file_with("65534:300000:10\n"
                            "no-such-user-here:200000:100\n"
                            "root:400000:65536\n"
                            "0:2000000:10\n"
                            "garbage line\n"
                            "x:5:0\n",
                            0);
        assert_int_equal(subuid_owner_in(p, 300001), 65534);          /* numeric owner */
        assert_int_equal(subuid_owner_in(p, 200050), 200000);         /* unknown name: the range is one */
        assert_int_equal(subuid_owner_in(p, 400005), 400000);         /* root's range is not root */
        assert_int_equal(subuid_owner_in(p, 2000005), 2000000);
        assert_int_equal(subuid_owner_in(p, 1500000), 1500000);       /* no range */
        assert_int_equal(subuid_owner_in(p, 0), 0);
        unlink(p);
        free(p);
}

/* A range over accounts (here over root's and the first system UIDs): they
 * stay themselves; a range from 0 under "0" makes no one root. */
static void test_broken_ranges(void **state) {
        (void) state;
        char *p = file_with("0:0:4000000\n", 0);
        assert_int_equal(subuid_owner_in(p, 0), 0);                   /* root is an account */
        assert_int_equal(subuid_owner_in(p, 3999999), SUBUID_OWNER_UNKNOWN);
        unlink(p);
        free(p);
}

/* Past 8 MiB nothing is read: UIDs where ranges are handed out that are no
 * account share one owner; the others count as themselves. */
static void test_too_big(void **state) {
        (void) state;
        char *p = file_with("65534:300000:10\n", 9 * 1024 * 1024);
        assert_int_equal(subuid_owner_in(p, 300001), SUBUID_OWNER_UNKNOWN);
        assert_int_equal(subuid_owner_in(p, 3000000), SUBUID_OWNER_UNKNOWN);
        assert_int_equal(subuid_owner_in(p, 0), 0);
        assert_int_equal(subuid_owner_in(p, 1234), 1234);
        unlink(p);
        free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_owners),
                cmocka_unit_test(test_broken_ranges),
                cmocka_unit_test(test_too_big),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
