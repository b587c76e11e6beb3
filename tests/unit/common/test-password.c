/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "password.h"

static void test_hash_and_verify(void **state) {
        char *h = NULL, *h2 = NULL;

        assert_int_equal(password_hash("correct horse", &h), 0);
        assert_true(strncmp(h, "$y$", 3) == 0);
        assert_int_equal(password_hash("correct horse", &h2), 0);
        assert_string_not_equal(h, h2); /* fresh salt each time */

        const char *one[] = { h, NULL };
        assert_int_equal(password_verify("correct horse", one), 1);
        assert_int_equal(password_verify("correct horsf", one), 0);
        assert_int_equal(password_verify("", one), 0);

        /* Any entry may match; locked and garbage entries never do. */
        const char *many[] = { "!locked", "*", "$y$garbage", h2, NULL };
        assert_int_equal(password_verify("correct horse", many), 1);
        const char *none[] = { "!", "$6$abc$def", NULL };
        assert_int_equal(password_verify("correct horse", none), 0);
        const char *empty[] = { NULL };
        assert_int_equal(password_verify("x", empty), 0);
        assert_int_equal(password_verify("x", NULL), 0);
        free(h);
        free(h2);
}

static void test_known_hashes(void **state) {
        /* Hashes made by other tools (mkpasswd/libxcrypt) verify too. */
        const char *yescrypt[] = { "$y$j9T$nbAJtPuS7rMxhE3pNKXxB/$gMl/xz9PliEPe51EEpHEXWOj9BnZFLzOTKKt0lYm7l0", NULL };
        assert_int_equal(password_verify("wonderland", yescrypt), 1);
        assert_int_equal(password_verify("Wonderland", yescrypt), 0);
        const char *sha512[] = {
                "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1", NULL
        };
        assert_int_equal(password_verify("secret", sha512), 1);
        assert_int_equal(password_verify("secreT", sha512), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hash_and_verify),
                cmocka_unit_test(test_known_hashes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
