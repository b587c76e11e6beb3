/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libraries opened on demand (common/dlopen-util.h): not mapped until
 * an operation asks for one, then every sym_ pointer resolved; a missing
 * library or symbol is an error, remembered. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include <cmocka.h>

#include "dlopen-blkid.h"
#include "dlopen-cryptsetup.h"
#include "dlopen-devmapper.h"
#include "dlopen-fdisk.h"
#include "dlopen-tss2.h"
#include "dlopen-udev.h"
#include "dlopen-util.h"

static void test_on_demand(void **state) {
        static const struct {
                const char *soname;
                int (*open)(void);
        } libs[] = {
                { "libcryptsetup.so", dlopen_cryptsetup }, { "libdevmapper.so", dlopen_devmapper },
                { "libudev.so", dlopen_udev },             { "libblkid.so", dlopen_blkid },
                { "libfdisk.so", dlopen_fdisk },           { "libtss2-mu.so", dlopen_tss2_mu },
                { "libtss2-esys.so", dlopen_tss2 },
        };

        /* This test links the shims, not the libraries: nothing is mapped
         * before it asks. */
        for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
                assert_int_equal(dlopen_is_mapped(libs[i].soname), 0);
        assert_null(sym_crypt_keyslot_max);
        for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
                assert_int_equal(libs[i].open(), 0);
                assert_int_equal(dlopen_is_mapped(libs[i].soname), 1);
                assert_int_equal(libs[i].open(), 0); /* once; then remembered */
        }
        assert_non_null(sym_crypt_keyslot_max);
        assert_int_equal(sym_crypt_keyslot_max(CRYPT_LUKS2), 32);
        assert_non_null(sym_Esys_Initialize);
        assert_non_null(sym_Tss2_TctiLdr_Initialize);
        assert_non_null(sym_fdisk_new_context);
}

static void test_missing_library(void **state) {
        int st = 0;

        assert_int_equal(dlopen_many_sym(&st, LOG_DEBUG, "libhearth-no-such-library.so.0", "a test", NULL),
                         -EOPNOTSUPP);
        assert_int_equal(st, -EOPNOTSUPP);
        assert_int_equal(dlopen_many_sym(&st, LOG_DEBUG, "libhearth-no-such-library.so.0", "a test", NULL),
                         -EOPNOTSUPP);
}

static void test_missing_symbol(void **state) {
        void *f = NULL, *g = NULL;
        int st = 0;

        /* The first name resolves, the second does not: the library counts as missing. */
        assert_int_equal(dlopen_many_sym(&st, LOG_DEBUG, "libc.so.6", "a test", &f, "malloc", &g,
                                         "hearth_no_such_function", NULL),
                         -EOPNOTSUPP);
        assert_non_null(f);
        assert_null(g);
        assert_int_equal(dlopen_many_sym(&st, LOG_DEBUG, "libc.so.6", "a test", NULL), -EOPNOTSUPP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_on_demand),
                cmocka_unit_test(test_missing_library),
                cmocka_unit_test(test_missing_symbol),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
