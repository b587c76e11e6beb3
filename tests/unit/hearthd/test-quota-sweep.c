/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The nested-subvolume sweep's decisions (hearthd/quota-sweep.c): which
 * homes it looks at, and [Quota] NestedSubvolumeCheckSec= in hearth.conf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf-file.h"
#include "log.h"
#include "macro.h"
#include "quota-sweep.h"

static int load(const char *text, uint64_t *usec) {
        _cleanup_free_ char *path = strdup("/tmp/test-quota-sweep.XXXXXX");
        assert_non_null(path);
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        *usec = QUOTA_SWEEP_DEFAULT_USEC;
        int r = quota_sweep_config_load(usec, path);
        unlink(path);
        return r;
}

static void test_config(void **state) {
        uint64_t u;

        assert_int_equal(load("", &u), 0);
        assert_int_equal(u, 15 * USEC_PER_SEC);
        assert_int_equal(load("[Quota]\nNestedSubvolumeCheckSec=2\n", &u), 0);
        assert_int_equal(u, 2 * USEC_PER_SEC);
        assert_int_equal(load("[Quota]\nNestedSubvolumeCheckSec=1min\n", &u), 0);
        assert_int_equal(u, 60 * USEC_PER_SEC);
        assert_int_equal(load("[Quota]\nNestedSubvolumeCheckSec=0\n", &u), 0);
        assert_int_equal(u, 0);
        /* Another section's key of the same name is not this one. */
        assert_int_equal(load("[Worker]\nNestedSubvolumeCheckSec=3\n", &u), 0);
        assert_int_equal(u, 15 * USEC_PER_SEC);

        /* Under a second (a worker per home several times a second), or no number. */
        assert_true(load("[Quota]\nNestedSubvolumeCheckSec=500ms\n", &u) < 0);
        assert_true(load("[Quota]\nNestedSubvolumeCheckSec=-1\n", &u) < 0);
        assert_true(load("[Quota]\nNestedSubvolumeCheckSec=\n", &u) < 0);
        assert_true(load("[Quota]\nNestedSubvolumeCheckSec=often\n", &u) < 0);
        assert_true(load("[Quota]\nNestedSubvolumeCheckSec=99999999999999999999\n", &u) < 0);

        /* The other programs' and loaders' sections pass without a word. */
        char err_path[] = "/tmp/test-quota-sweep-err.XXXXXX";
        int err_fd = mkstemp(err_path), saved = dup(STDERR_FILENO);
        assert_true(err_fd >= 0 && saved >= 0);
        fflush(stderr);
        assert_true(dup2(err_fd, STDERR_FILENO) >= 0);
        int r = load("[Rebalance]\nKeepFree=10%\n[Pool]\nAutoGrow=no\n[Worker]\nActivateTimeout=60\n"
                     "[Accounts]\nx=1\n[TPM2]\ny=2\n[Quota]\nNestedSubvolumeCheckSec=3\n", &u);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        assert_int_equal(r, 0);
        assert_int_equal(u, 3 * USEC_PER_SEC);
        struct stat st;
        assert_int_equal(fstat(err_fd, &st), 0);
        close(err_fd);
        unlink(err_path);
        assert_int_equal(st.st_size, 0);

        /* The shipped file: every setting commented out, the default holds. */
        u = QUOTA_SWEEP_DEFAULT_USEC;
        assert_int_equal(quota_sweep_config_load(&u, SRCDIR "/data/hearth.conf"), 0);
        assert_int_equal(u, 15 * USEC_PER_SEC);
}

static void test_mode(void **state) {
        assert_int_equal(quota_mode_from_string("off"), QUOTA_MODE_OFF);
        assert_int_equal(quota_mode_from_string("full"), QUOTA_MODE_FULL);
        assert_int_equal(quota_mode_from_string("simple"), QUOTA_MODE_SIMPLE);
        assert_int_equal(quota_mode_from_string("squota"), QUOTA_MODE_UNKNOWN);
        assert_int_equal(quota_mode_from_string(""), QUOTA_MODE_UNKNOWN);
        assert_int_equal(quota_mode_from_string(NULL), QUOTA_MODE_UNKNOWN);
}

static void test_wanted(void **state) {
        const QuotaSweepHome base = { .subvolume = true, .limited = true, .present = true, .mode = QUOTA_MODE_FULL };
        QuotaSweepHome h;

        assert_true(quota_sweep_wanted(&base));
        /* Not known yet (no worker ran since hearthd started): looked at, and
         * the worker's answer then decides. Quota off: looked at too, so that
         * an admin's `btrfs quota enable` gets the home its group back. */
        h = base, h.mode = QUOTA_MODE_UNKNOWN;
        assert_true(quota_sweep_wanted(&h));
        h = base, h.mode = QUOTA_MODE_OFF;
        assert_true(quota_sweep_wanted(&h));
        /* Simple quotas: the kernel adopts them itself. */
        h = base, h.mode = QUOTA_MODE_SIMPLE;
        assert_false(quota_sweep_wanted(&h));
        /* Directory and LUKS homes have no nested quota groups. */
        h = base, h.subvolume = false;
        assert_false(quota_sweep_wanted(&h));
        /* No diskSize: nothing to escape. */
        h = base, h.limited = false;
        assert_false(quota_sweep_wanted(&h));
        /* Absent, dirty or locked. */
        h = base, h.present = false;
        assert_false(quota_sweep_wanted(&h));
        /* A call runs or waits: never in front of it, nor behind it. */
        h = base, h.busy = true;
        assert_false(quota_sweep_wanted(&h));
}

int main(void) {
        log_set_max_level(LOG_CRIT); /* the errors above are expected */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config),
                cmocka_unit_test(test_mode),
                cmocka_unit_test(test_wanted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
