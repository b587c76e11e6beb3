/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The [Rebalance] section of hearth.conf and the rebalancing plan
 * (hearthd/rebalance.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf-file.h"
#include "macro.h"
#include "rebalance.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

static int load(const char *text, RebalanceConfig *c) {
        char path[] = "/tmp/test-rebalance.XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        rebalance_config_init(c);
        int r = rebalance_config_load(c, path);
        unlink(path);
        return r;
}

static void test_config(void **state) {
        RebalanceConfig c, d;
        rebalance_config_init(&d);
        assert_true(d.automatic);
        assert_int_equal(d.keep_free_percent, 10);
        assert_true(d.interval_usec == 300 * UINT64_C(1000000));
        /* The shipped file spells out the defaults. */
        rebalance_config_init(&c);
        assert_int_equal(rebalance_config_load(&c, SRCDIR "/data/hearth.conf"), 0);
        assert_memory_equal(&c, &d, sizeof c);

        assert_int_equal(load("[Rebalance]\nAutomatic=no\nKeepFree=2G\nActiveMargin=100M\nInterval=1min\n", &c), 0);
        assert_false(c.automatic);
        assert_true(c.keep_free == 2 * GiB && c.keep_free_percent == 0);
        assert_true(rebalance_keep_free(&c, 100 * GiB) == 2 * GiB);
        assert_true(c.active_margin == 100 * MiB);
        assert_true(c.interval_usec == 60 * UINT64_C(1000000));
        assert_int_equal(load("[Rebalance]\nKeepFree=25%\n", &c), 0);
        assert_true(rebalance_keep_free(&c, 100 * GiB) == 25 * GiB);
        /* Never under what hearth-work keeps free when it grows an image. */
        assert_int_equal(load("[Rebalance]\nKeepFree=0\n", &c), 0);
        assert_true(rebalance_keep_free(&c, 10 * GiB) == 512 * MiB);
        assert_true(rebalance_keep_free(&c, 100 * GiB) == 1 * GiB);
        assert_true(load("[Rebalance]\nKeepFree=100%\n", &c) < 0);
        assert_true(load("[Rebalance]\nKeepFree=x%\n", &c) < 0);
        assert_true(load("[Rebalance]\nInterval=5s\n", &c) < 0);
        assert_true(load("[Rebalance]\nActiveMargin=lots\n", &c) < 0);
}

static RebalanceConfig cfg(void) {
        RebalanceConfig c;
        rebalance_config_init(&c);
        c.keep_free_percent = 0;
        c.keep_free = 1 * GiB;
        c.active_margin = 256 * MiB;
        return c;
}

static RebalanceHome home(const char *name, uint64_t weight, uint64_t size, uint64_t used) {
        return (RebalanceHome) { .name = name, .weight = weight, .size = size, .allocated = size, .used = used,
                                 .floor = 256 * MiB, .can_shrink = true };
}

/* Shares by weight: 10 GiB free + 2 × 1 GiB held − 1 GiB kept = 11 GiB,
 * 1:3. */
static void test_by_weight(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("a", 100, 1 * GiB, 100 * MiB), home("b", 300, 1 * GiB, 100 * MiB) };
        assert_int_equal(rebalance_plan(&c, h, 2, 20 * GiB, 10 * GiB), 2);
        uint64_t shared = 11 * GiB;
        assert_true(h[0].new_size == shared / 4 / MiB * MiB);
        assert_true(h[1].new_size == shared / 4 * 3 / MiB * MiB);
        /* The floor stays free: what they take is at most what there was. */
        assert_true(h[0].new_size + h[1].new_size <= shared);
        assert_true(h[0].new_size % MiB == 0 && h[1].new_size % MiB == 0);
}

/* Weight 0: left as it is, and its image is not shared out. */
static void test_weight_zero(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("a", 100, 1 * GiB, 100 * MiB), home("z", 0, 3 * GiB, 2 * GiB) };
        rebalance_plan(&c, h, 2, 20 * GiB, 5 * GiB);
        assert_true(h[1].new_size == 3 * GiB);
        assert_true(h[0].new_size == 5 * GiB); /* 5 free + its 1 − 1 kept */
}

/* A home whose share is below its usage + margin keeps that and the rest
 * goes to the others. */
static void test_minimum(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("full", 100, 3 * GiB, 2900 * MiB), home("b", 100, 1 * GiB, 100 * MiB) };
        /* shared: 1 free + 4 held − 1 kept = 4 GiB; an even split (2 GiB) is
         * under full's 2900 + 256 MiB. */
        assert_int_equal(rebalance_plan(&c, h, 2, 10 * GiB, 1 * GiB), 2);
        assert_true(h[0].new_size == 3156 * MiB);
        assert_true(h[1].new_size == 4 * GiB - 3156 * MiB);
        assert_true(h[1].new_size >= rebalance_home_min(&c, &h[1]));
}

/* Too little for everyone: homes only shrink, idle ones further; nothing
 * grows, nothing goes under usage + margin. */
static void test_short(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("active", 100, 2 * GiB, 1 * GiB), home("idle", 100, 2 * GiB, 1 * GiB),
                              home("tight", 100, 1100 * MiB, 1000 * MiB) };
        h[1].idle = true;
        c.keep_free = 2 * GiB;
        /* shared: 0 free + 5196 MiB held − 2 GiB kept, less than the
         * minimums (1280 + 1088 + 1256 MiB). */
        rebalance_plan(&c, h, 3, 10 * GiB, 0);
        assert_true(h[0].new_size == 1 * GiB + 256 * MiB);
        assert_true(h[1].new_size == 1 * GiB + 64 * MiB); /* idle: a quarter of the margin */
        assert_true(h[2].new_size == 1100 * MiB);          /* below its minimum already: not grown */
}

/* btrfs shrinks online; ext4 and xfs homes only grow. */
static void test_cannot_shrink(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("xfs", 100, 6 * GiB, 100 * MiB), home("b", 100, 1 * GiB, 100 * MiB) };
        h[0].can_shrink = false;
        rebalance_plan(&c, h, 2, 20 * GiB, 1 * GiB);
        assert_true(h[0].new_size == 6 * GiB);
        assert_true(h[1].new_size == 1 * GiB); /* 7 − 1 − 6: nothing left to grow with */
}

/* Sizes already right, or off by less than a change is worth: none. */
static void test_small_change(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("a", 100, 4 * GiB + 8 * MiB, 100 * MiB), home("b", 100, 4 * GiB, 100 * MiB) };
        assert_int_equal(rebalance_plan(&c, h, 2, 20 * GiB, 1 * GiB - 8 * MiB + 8 * MiB), 0);
        assert_true(h[0].new_size == h[0].size && h[1].new_size == h[1].size);
}

/* Sparse images count by what they hold, and nothing overflows. */
static void test_sparse_and_huge(void **state) {
        RebalanceConfig c = cfg();
        RebalanceHome h[] = { home("sparse", 100, 10 * GiB, 100 * MiB) };
        h[0].allocated = 1 * GiB;
        rebalance_plan(&c, h, 1, 20 * GiB, 2 * GiB);
        assert_true(h[0].new_size == 2 * GiB); /* 2 free + 1 held − 1 kept */
        RebalanceHome big[] = { home("big", 10000, UINT64_MAX / 2, UINT64_MAX / 2), home("b2", 1, UINT64_MAX / 2, 0) };
        rebalance_plan(&c, big, 2, UINT64_MAX, UINT64_MAX);
        assert_true(big[0].new_size >= big[0].size / MiB * MiB);
        assert_int_equal(rebalance_plan(&c, NULL, 0, 0, 0), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config),      cmocka_unit_test(test_by_weight),
                cmocka_unit_test(test_weight_zero), cmocka_unit_test(test_minimum),
                cmocka_unit_test(test_short),       cmocka_unit_test(test_cannot_shrink),
                cmocka_unit_test(test_small_change), cmocka_unit_test(test_sparse_and_huge),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
