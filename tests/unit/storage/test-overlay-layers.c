/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* overlay_options_parse(): the layers an overlay's super options in
 * mountinfo name, as the kernel shows them (escaped). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "overlay-layers.h"

static void expect_layers(const char *opts, bool metacopy_default, bool want_metacopy, const char *const *want) {
        _cleanup_strv_free_ char **layers = NULL;
        bool metacopy;
        assert_int_equal(overlay_options_parse(opts, metacopy_default, &layers, &metacopy), 0);
        assert_int_equal(metacopy, want_metacopy);
        size_t i = 0;
        for (; want[i]; i++) {
                assert_non_null(layers[i]);
                assert_string_equal(layers[i], want[i]);
        }
        assert_null(layers[i]);
}

static void test_legacy_lowerdir(void **state) {
        (void) state;
        expect_layers("ro,lowerdir=/l/meta::/l/data,redirect_dir=on,metacopy=on", false, true,
                      (const char *const[]) { "/l/meta", "/l/data", NULL });
        expect_layers("rw,lowerdir=/a:/b,upperdir=/u,workdir=/w,uuid=on", false, false,
                      (const char *const[]) { "/a", "/b", "/u", NULL });
}

/* mount -o "lowerdir=/l/a\,b\:c": the kernel keeps the name as given and
 * shows '\' and ',' octal-escaped. */
static void test_escapes(void **state) {
        (void) state;
        expect_layers("rw,lowerdir=/l/meta:/l/a\\134\\054b\\134:c,upperdir=/l/u\\040p,workdir=/l/wk", false, false,
                      (const char *const[]) { "/l/meta", "/l/a,b:c", "/l/u p", NULL });
}

static void test_new_api(void **state) {
        (void) state;
        expect_layers("ro,lowerdir+=/x,lowerdir+=/y,datadir+=/objects", true, true,
                      (const char *const[]) { "/x", "/y", "/objects", NULL });
        expect_layers("ro,lowerdir+=/x,metacopy=off", true, false, (const char *const[]) { "/x", NULL });
}

/* A layer without a name (given by descriptor) or no layer at all: an
 * empty name, which cannot be looked up. */
static void test_unnamed(void **state) {
        (void) state;
        expect_layers("ro,lowerdir+,metacopy=on", false, true, (const char *const[]) { "", NULL });
        expect_layers("ro,metacopy=on\n", false, true, (const char *const[]) { "", NULL });
}

static void test_too_many(void **state) {
        (void) state;
        char opts[OVERLAY_LAYERS_MAX * 4 + 64] = "lowerdir=/0";
        for (int i = 1; i <= OVERLAY_LAYERS_MAX; i++)
                strcat(opts, ":/0");
        _cleanup_strv_free_ char **layers = NULL;
        bool metacopy;
        assert_int_equal(overlay_options_parse(opts, false, &layers, &metacopy), -E2BIG);
        assert_null(layers);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_legacy_lowerdir), cmocka_unit_test(test_escapes), cmocka_unit_test(test_new_api),
                cmocka_unit_test(test_unnamed),         cmocka_unit_test(test_too_many),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
