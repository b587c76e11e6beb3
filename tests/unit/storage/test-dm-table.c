/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dm_target_ranges() / dm_ranges_overlap(): the bytes a table line maps,
 * from lines as the kernel prints them (dmsetup table). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "dm-table.h"
#include "macro.h"

static void one(const char *type, const char *params, uint64_t length, int want_r, size_t want_n,
                const DmRange *want) {
        _cleanup_free_ DmRange *r = NULL;
        size_t n = 0;
        assert_int_equal(dm_target_ranges(type, params, length, &r, &n), want_r);
        assert_int_equal(n, want_n);
        for (size_t i = 0; i < want_n; i++) {
                assert_int_equal(major(r[i].dev), major(want[i].dev));
                assert_int_equal(minor(r[i].dev), minor(want[i].dev));
                assert_int_equal(r[i].start, want[i].start);
                assert_int_equal(r[i].length, want[i].length);
        }
}

static void test_linear_crypt(void **state) {
        (void) state;
        one("linear", "7:0 2048", 409600, 0, 1, (DmRange[]) { { makedev(7, 0), 2048, 409600 } });
        /* A key in the table, or a keyring reference, and optional arguments. */
        one("crypt", "aes-xts-plain64 " "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 0 254:16 32768 1 allow_discards",
            1000, 0, 1, (DmRange[]) { { makedev(254, 16), 32768, 1000 } });
        one("crypt", "aes-xts-plain64 :64:logon:cryptsetup:abc 0 259:1 4096", 8, 0, 1,
            (DmRange[]) { { makedev(259, 1), 4096, 8 } });
        one("linear", "7:0", 8, -EBADMSG, 0, NULL);
        one("linear", "/dev/loop0 0", 8, -EBADMSG, 0, NULL);
        one("linear", "7:0 -5", 8, -EBADMSG, 0, NULL);
        one("crypt", "aes 00 0 7:0x 0", 8, -EBADMSG, 0, NULL);
}

static void test_others(void **state) {
        (void) state;
        one("striped", "2 128 7:0 0 7:1 2048", 4096, 0, 2,
            (DmRange[]) { { makedev(7, 0), 0, UINT64_MAX }, { makedev(7, 1), 2048, UINT64_MAX } });
        one("zero", "", 100, 0, 0, NULL);
        one("error", NULL, 100, 0, 0, NULL);
        /* snapshot: origin and COW device, whole. */
        one("snapshot", "253:1 253:2 P 8", 100, 0, 2,
            (DmRange[]) { { makedev(253, 1), 0, UINT64_MAX }, { makedev(253, 2), 0, UINT64_MAX } });
}

/* LVM stripes up to 128 devices; a line too long to read whole is refused. */
static void test_long_lines(void **state) {
        char line[16384] = "128 128";
        _cleanup_free_ DmRange *r = NULL;
        size_t n = 0, len;
        (void) state;
        for (int i = 0; i < 128; i++) {
                len = strlen(line);
                snprintf(line + len, sizeof line - len, " 7:%d %d", i, i * 8);
        }
        assert_int_equal(dm_target_ranges("striped", line, 1 << 20, &r, &n), 0);
        assert_int_equal(n, 128);
        assert_int_equal(minor(r[127].dev), 127);
        assert_int_equal(r[127].start, 127 * 8);
        _cleanup_free_ char *huge = malloc(3000 * 4 + 1);
        assert_non_null(huge);
        huge[0] = 0;
        for (int i = 0; i < 3000; i++)
                strcat(huge, "x 1 ");
        _cleanup_free_ DmRange *r2 = NULL;
        size_t n2 = 0;
        assert_int_equal(dm_target_ranges("multipath", huge, 8, &r2, &n2), -E2BIG);
}

static void test_overlap(void **state) {
        (void) state;
        DmRange a = { makedev(7, 0), 0, 100 }, b = { makedev(7, 0), 99, 10 }, c = { makedev(7, 0), 100, 10 },
                d = { makedev(7, 1), 0, 100 }, all = { makedev(7, 0), 50, UINT64_MAX },
                top = { makedev(7, 0), UINT64_MAX - 5, 100 };
        assert_true(dm_ranges_overlap(&a, &b));
        assert_false(dm_ranges_overlap(&a, &c));
        assert_false(dm_ranges_overlap(&a, &d));
        assert_true(dm_ranges_overlap(&a, &all));
        assert_true(dm_ranges_overlap(&all, &top));
        assert_false(dm_ranges_overlap(&a, &top));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_linear_crypt),
                cmocka_unit_test(test_others),
                cmocka_unit_test(test_long_lines),
                cmocka_unit_test(test_overlap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
