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

/* The extent pool: its free extents are the shared space, every size is
 * whole extents (shares rounded down, minimums up: together never more
 * than the pool has), KeepFree= of the pool's size with no worker's room. */
static void test_pool(void **state) {
        RebalanceConfig c = cfg();
        const uint64_t E = 64 * MiB;
        c.keep_free = 0;
        c.keep_free_percent = 10;
        assert_true(rebalance_pool_keep_free(&c, 10 * GiB) == 10 * GiB / 100 * 10);
        assert_true(rebalance_pool_keep_free(&c, 1 * GiB) == 1 * GiB / 100 * 10); /* no 512M minimum */
        c.keep_free_percent = 0;
        c.keep_free = 100 * MiB;
        assert_true(rebalance_pool_keep_free(&c, 10 * GiB) == 100 * MiB);

        /* 2000 MiB free + 2 × 512 MiB held − 100 MiB kept = 2924 MiB, 1:2:
         * 974.67 → 960 (15 extents), 1949.33 → 1920 (30). */
        RebalanceHome h[] = { home("a", 100, 8 * E, 100 * MiB), home("b", 200, 8 * E, 100 * MiB),
                              home("z", 0, 5 * E, 4 * E) };
        RebalanceSpace sp = { .free = 2000 * MiB, .keep = 100 * MiB, .unit = E };
        assert_int_equal(rebalance_plan_space(&c, h, 3, &sp), 2);
        assert_true(h[0].new_size == 15 * E);
        assert_true(h[1].new_size == 30 * E);
        assert_true(h[2].new_size == 5 * E); /* weight 0: untouched */
        assert_true(h[0].new_size + h[1].new_size <= 2924 * MiB);

        /* A minimum between extents is rounded up to the next: usage 900 MiB
         * + 256 MiB margin = 1156 MiB → 1216 MiB (19 extents), never below. */
        RebalanceHome f[] = { home("full", 100, 16 * E, 900 * MiB), home("b", 100, 16 * E, 100 * MiB) };
        RebalanceSpace tight = { .free = 0, .keep = 0, .unit = E };
        assert_int_equal(rebalance_plan_space(&c, f, 2, &tight), 2);
        assert_true(f[0].new_size == 19 * E);
        assert_true(f[0].new_size >= rebalance_home_min(&c, &f[0]));
        assert_true(f[1].new_size == 13 * E);
        assert_true(f[0].new_size % E == 0 && f[1].new_size % E == 0);
        assert_true(f[0].new_size + f[1].new_size <= 32 * E);

        /* Minimums that do not fit: shrink only, to whole extents at or above
         * usage + margin; the pool's free space kept is never handed out. */
        RebalanceHome s[] = { home("a", 100, 32 * E, 900 * MiB), home("b", 100, 20 * E, 1200 * MiB) };
        RebalanceSpace none = { .free = 0, .keep = 4 * GiB, .unit = E };
        rebalance_plan_space(&c, s, 2, &none);
        assert_true(s[0].new_size == 19 * E); /* 1156 MiB → 19 extents */
        assert_true(s[1].new_size == 20 * E); /* 1456 MiB: over its size, not grown */

        /* unit 0 is a MiB: the same as rebalance_plan(). */
        RebalanceHome x[] = { home("a", 100, 1 * GiB, 100 * MiB), home("b", 300, 1 * GiB, 100 * MiB) };
        RebalanceHome y[] = { home("a", 100, 1 * GiB, 100 * MiB), home("b", 300, 1 * GiB, 100 * MiB) };
        RebalanceConfig d = cfg();
        RebalanceSpace mib = { .free = 10 * GiB, .keep = rebalance_keep_free(&d, 20 * GiB) };
        rebalance_plan(&d, x, 2, 20 * GiB, 10 * GiB);
        rebalance_plan_space(&d, y, 2, &mib);
        assert_true(x[0].new_size == y[0].new_size && x[1].new_size == y[1].new_size);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config),      cmocka_unit_test(test_by_weight),
                cmocka_unit_test(test_weight_zero), cmocka_unit_test(test_minimum),
                cmocka_unit_test(test_short),       cmocka_unit_test(test_cannot_shrink),
                cmocka_unit_test(test_small_change), cmocka_unit_test(test_sparse_and_huge),
                cmocka_unit_test(test_pool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
