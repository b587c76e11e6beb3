/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth.conf parsing (common/conf-file.c) and the auto-grow decision
 * (hearthd/autogrow.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "autogrow.h"
#include "conf-file.h"
#include "log.h"
#include "macro.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static char *write_conf(const char *text) {
        char *path = strdup("/tmp/test-autogrow.XXXXXX");
        assert_non_null(path);
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        return path;
}

static int load(const char *text, AutoGrowConfig *c) {
        _cleanup_free_ char *path = write_conf(text);
        autogrow_config_init(c);
        int r = autogrow_config_load(c, path);
        unlink(path);
        return r;
}

static void test_defaults(void **state) {
        AutoGrowConfig c;
        assert_int_equal(load("", &c), 0);
        assert_false(c.enabled);
        assert_string_equal(c.volume, "home");
        assert_int_equal(c.free_below_percent, 10);
        assert_int_equal(c.step, GiB);
        assert_int_equal(c.max_size, 0);
        assert_int_equal(c.interval_usec, 60 * USEC_PER_SEC);
        /* Off: nothing, however full. */
        assert_int_equal(autogrow_amount(&c, 10 * GiB, 0, 100 * GiB, 64 * MiB), 0);
}

static void test_parse_all(void **state) {
        AutoGrowConfig c;
        assert_int_equal(load("# comment\n; another\n\n[Pool]\n  AutoGrow = yes \nAutoGrowVolume=data_1\n"
                              "AutoGrowFreeBelow=2G\nAutoGrowStep=512M\nAutoGrowMaxSize=1T\nAutoGrowInterval=5min\n",
                              &c),
                         0);
        assert_true(c.enabled);
        assert_string_equal(c.volume, "data_1");
        assert_int_equal(c.free_below, 2 * GiB);
        assert_int_equal(c.free_below_percent, 0);
        assert_int_equal(c.step, 512 * MiB);
        assert_int_equal(c.max_size, 1024 * GiB);
        assert_int_equal(c.interval_usec, 300 * USEC_PER_SEC);

        /* The last assignment wins; a percentage replaces a size. */
        assert_int_equal(load("[Pool]\nAutoGrowFreeBelow=2G\nAutoGrowFreeBelow=25%\nAutoGrow=on\nAutoGrow=off\n", &c), 0);
        assert_int_equal(c.free_below_percent, 25);
        assert_int_equal(c.free_below, 0);
        assert_false(c.enabled);

        assert_int_equal(load("[Pool]\nAutoGrowMaxSize=5G\nAutoGrowMaxSize=\n", &c), 0);
        assert_int_equal(c.max_size, 0);

        /* The shipped file (data/hearth.conf) parses to the defaults. */
        AutoGrowConfig d;
        autogrow_config_init(&d);
        c = (AutoGrowConfig) { .enabled = true, .volume = "x", .step = 1, .interval_usec = 1 };
        autogrow_config_init(&c);
        assert_int_equal(autogrow_config_load(&c, SRCDIR "/data/hearth.conf"), 0);
        assert_int_equal(c.enabled, d.enabled);
        assert_string_equal(c.volume, d.volume);
        assert_int_equal(c.free_below, d.free_below);
        assert_int_equal(c.free_below_percent, d.free_below_percent);
        assert_int_equal(c.step, d.step);
        assert_int_equal(c.max_size, d.max_size);
        assert_int_equal(c.interval_usec, d.interval_usec);

        /* Unknown keys and sections are skipped (a newer file, an older daemon). */
        assert_int_equal(load("[Pool]\nAutoGrowSomeday=1\n[Accounts]\nDefaultStorage=luks\n[Pool]\nAutoGrow=1\n", &c), 0);
        assert_true(c.enabled);
}

static void test_parse_errors(void **state) {
        static const char *const bad[] = {
                "AutoGrow=yes\n",                       /* outside a section */
                "[Pool\nAutoGrow=yes\n",                /* header */
                "[]\n",
                "[Pool]\nAutoGrow\n",                   /* no = */
                "[Pool]\nAutoGrow=maybe\n",
                "[Pool]\nAutoGrowVolume=\n",
                "[Pool]\nAutoGrowVolume=Home\n",        /* upper case */
                "[Pool]\nAutoGrowVolume=-x\n",          /* would be an option of hearth-pool */
                "[Pool]\nAutoGrowVolume=a/b\n",
                "[Pool]\nAutoGrowVolume=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", /* 33 */
                "[Pool]\nAutoGrowFreeBelow=0%\n",
                "[Pool]\nAutoGrowFreeBelow=100%\n",
                "[Pool]\nAutoGrowFreeBelow=%\n",
                "[Pool]\nAutoGrowFreeBelow=-5%\n",
                "[Pool]\nAutoGrowFreeBelow=0\n",
                "[Pool]\nAutoGrowStep=lots\n",
                "[Pool]\nAutoGrowStep=0\n",
                "[Pool]\nAutoGrowMaxSize=99999999999T\n",
                "[Pool]\nAutoGrowInterval=0\n",        /* under 1 s */
                "[Pool]\nAutoGrowInterval=10 s\n",
                "[Pool]\nAutoGrowInterval=-1\n",
                "[Pool]\nAutoGrowInterval=99999999999h\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                AutoGrowConfig c;
                if (load(bad[i], &c) >= 0)
                        fail_msg("accepted: %s", bad[i]);
        }
}

static void test_parse_hostile(void **state) {
        AutoGrowConfig c;
        /* A line over the limit. */
        char *big = malloc(CONFIG_LINE_MAX + 64);
        assert_non_null(big);
        strcpy(big, "[Pool]\nAutoGrowVolume=");
        size_t n = strlen(big);
        memset(big + n, 'a', CONFIG_LINE_MAX);
        big[n + CONFIG_LINE_MAX] = 0;
        assert_true(load(big, &c) < 0);
        free(big);

        /* A NUL byte. */
        _cleanup_free_ char *path = write_conf("[Pool]\nAutoGrow=yes\n");
        FILE *f = fopen(path, "a");
        assert_non_null(f);
        fputc(0, f);
        fclose(f);
        autogrow_config_init(&c);
        assert_true(autogrow_config_load(&c, path) < 0);
        unlink(path);

        /* Missing file, a directory. */
        assert_true(autogrow_config_load(&c, "/nonexistent/hearth.conf") < 0);
        assert_true(autogrow_config_load(&c, "/tmp") < 0);
}

static AutoGrowConfig on(unsigned percent, uint64_t below, uint64_t step, uint64_t max) {
        AutoGrowConfig c;
        autogrow_config_init(&c);
        c.enabled = true;
        c.free_below_percent = percent;
        c.free_below = below;
        c.step = step;
        c.max_size = max;
        return c;
}

static void test_amount(void **state) {
        const uint64_t E = 64 * MiB;
        AutoGrowConfig c = on(10, 0, GiB, 0);

        /* 100G, 10% = 10G: 20G free is fine, exactly 10G too. */
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 20 * GiB, 500 * GiB, E), 0);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 10 * GiB, 500 * GiB, E), 0);
        /* Just under: one step. */
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 10 * GiB - 1, 500 * GiB, E), GiB);
        /* Far under: enough to reach the threshold, in whole extents. */
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 1 * GiB + 100, 500 * GiB, E), 9 * GiB);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 500 * GiB, E), 10 * GiB);

        /* A step that is not a multiple of the extent: rounded up. */
        c = on(0, 5 * GiB, 100 * MiB, 0);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 5 * GiB - 1, 500 * GiB, E), 128 * MiB);

        /* The cap: never past it, in whole extents; at it, nothing. */
        c = on(10, 0, GiB, 100 * GiB + 100 * MiB);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 500 * GiB, E), 64 * MiB);
        assert_int_equal(autogrow_amount(&c, 100 * GiB + 100 * MiB, 0, 500 * GiB, E), 0);
        assert_int_equal(autogrow_amount(&c, 200 * GiB, 0, 500 * GiB, E), 0);
        /* Less than one extent to the cap: nothing. */
        c = on(10, 0, GiB, 100 * GiB + 10 * MiB);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 500 * GiB, E), 0);

        /* The pool's free space bounds it; an empty pool gives nothing. */
        c = on(10, 0, GiB, 0);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 3 * E, E), 3 * E);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, E - 1, E), 0);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 0, E), 0);

        /* Garbage from the status report does not overflow. */
        assert_int_equal(autogrow_amount(&c, UINT64_MAX, 0, UINT64_MAX, E) % E, 0);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 500 * GiB, 0), 0);
        c = on(0, UINT64_MAX - 1, GiB, 0);
        assert_int_equal(autogrow_amount(&c, 100 * GiB, 0, 500 * GiB, E), 0);
}

int main(void) {
        log_set_max_level(LOG_CRIT); /* the errors above are expected */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),     cmocka_unit_test(test_parse_all),
                cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_parse_hostile),
                cmocka_unit_test(test_amount),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
