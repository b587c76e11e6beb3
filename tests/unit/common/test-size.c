/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "size.h"

static void test_parse_valid(void **state) {
        static const struct {
                const char *in;
                uint64_t out;
        } cases[] = {
                { "0", 0 },
                { "512", 512 },
                { "512B", 512 },
                { "1K", 1024 },
                { "1KiB", 1024 },
                { "100M", UINT64_C(100) << 20 },
                { "100MiB", UINT64_C(100) << 20 },
                { "1.5G", UINT64_C(3) << 29 },
                { "4GiB", UINT64_C(4) << 30 },
                { "0.5K", 512 },
                { "2T", UINT64_C(2) << 40 },
                { "1P", UINT64_C(1) << 50 },
                { "15E", UINT64_C(15) << 60 },
                { "1.25M", UINT64_C(1310720) },
                { "1.0009765625K", 1025 },
                { "18446744073709551615", UINT64_MAX },
                { "min", HEARTH_SIZE_MIN },
                { "max", HEARTH_SIZE_MAX },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t v = 1234;
                if (size_parse(cases[i].in, &v) != 0)
                        fail_msg("\"%s\" refused", cases[i].in);
                if (v != cases[i].out)
                        fail_msg("\"%s\" → %ju, expected %ju", cases[i].in, (uintmax_t) v, (uintmax_t) cases[i].out);
        }
}

static void test_parse_invalid(void **state) {
        static const struct {
                const char *in;
                int err;
        } cases[] = {
                { "", -EINVAL },       { "M", -EINVAL },          { "-1M", -EINVAL },
                { "+1M", -EINVAL },    { "1MB", -EINVAL },        { "1m", -EINVAL },
                { "1 M", -EINVAL },    { "1.5", -EINVAL },        { "1.5B", -EINVAL },
                { ".", -EINVAL },      { "1M2", -EINVAL },        { "0x10", -EINVAL },
                { "1Gi", -EINVAL },    { "MAX", -EINVAL },        { "16E", -ERANGE },
                { "18446744073709551616", -ERANGE },               { "99999999999999999999999", -ERANGE },
                { "16.5E", -ERANGE },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t v = 4321;
                int r = size_parse(cases[i].in, &v);
                if (r != cases[i].err)
                        fail_msg("\"%s\" → %d, expected %d", cases[i].in, r, cases[i].err);
                assert_int_equal(v, 4321); /* untouched on failure */
        }
        assert_int_equal(size_parse(NULL, &(uint64_t) { 0 }), -EINVAL);
}

static void test_format(void **state) {
        char buf[SIZE_FORMAT_MAX];
        assert_string_equal(size_format(0, buf), "0B");
        assert_string_equal(size_format(1023, buf), "1023B");
        assert_string_equal(size_format(1024, buf), "1K");
        assert_string_equal(size_format(UINT64_C(100) << 20, buf), "100M");
        assert_string_equal(size_format(UINT64_C(3) << 29, buf), "1.5G");
        assert_string_equal(size_format((UINT64_C(1) << 30) + 1, buf), "1.0G");
        assert_string_equal(size_format(UINT64_C(1310720), buf), "1.2M");
        assert_string_equal(size_format(UINT64_MAX, buf), "15.9E");
}

static void test_round_trip(void **state) {
        /* Every exact size prints in a form that parses back to itself. */
        for (uint64_t v = 1; v < (UINT64_C(1) << 62); v = v * 3 + 1) {
                char buf[SIZE_FORMAT_MAX];
                uint64_t exact = v & ~(uint64_t) 1023, back;
                if (exact == 0)
                        continue;
                size_format(exact, buf);
                if (!strchr(buf, '.')) {
                        assert_int_equal(size_parse(buf, &back), 0);
                        assert_int_equal(back, exact);
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_valid),
                cmocka_unit_test(test_parse_invalid),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
