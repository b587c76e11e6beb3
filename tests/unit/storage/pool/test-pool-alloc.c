/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The extent pool's allocator: nearest-home policy, first fit, extension in
 * place, fragmentation, a full pool, shrink, release, check, dm-linear
 * table building at 512- and 4096-byte sectors, and adding and dropping
 * volumes (names, a full pool, the volume count limit). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "pool-alloc.h"
#include "pool-metadata.h"

#define E UINT64_C(2048) /* 1 MiB extents */

static const uint8_t POOL_UUID[16] = { 0x11, 1 };
static const uint8_t HOME_PV_UUID[16] = { 0x22, 1 };
static const uint8_t POOL_PV_UUID[16] = { 0x33, 1 };
static const uint8_t HOME_VOL_UUID[16] = { 0x44, 1 };

static uint8_t *uuid_n(uint8_t buf[16], unsigned n) {
        memset(buf, 0, 16);
        buf[0] = 0x99;
        buf[1] = (uint8_t) n;
        buf[2] = (uint8_t) (n >> 8);
        return buf;
}

/* home PV 0: 10 extents; pool PV 1: 100 extents (0..99, 99 nearest home). */
static PoolMetadata *make_pool(uint64_t extent_size) {
        PoolGeometry gh, gp;
        PoolMetadata *md = NULL;

        assert_int_equal(pool_geometry_init(&gh, POOL_UUID, HOME_PV_UUID, 0, 4096, E + 10 * extent_size, extent_size, 0, NULL), 0);
        assert_int_equal(pool_geometry_init(&gp, POOL_UUID, POOL_PV_UUID, 1, 4096, E + 100 * extent_size, extent_size, 0, NULL), 0);
        assert_int_equal(pool_metadata_new(POOL_UUID, extent_size, &md), 0);
        assert_int_equal(pool_metadata_add_pv(md, &gh, POOL_PV_HOME, HOME_VOL_UUID), 0);
        assert_int_equal(pool_metadata_add_pv(md, &gp, POOL_PV_POOL, NULL), 0);
        return md;
}

static void assert_runs(const PoolVolume *v, size_t n, const PoolRun *expected) {
        if (v->n_runs != n)
                fail_msg("volume %s: %zu runs, expected %zu", v->name, v->n_runs, n);
        for (size_t i = 0; i < n; i++)
                if (v->runs[i].pv != expected[i].pv || v->runs[i].first != expected[i].first ||
                    v->runs[i].count != expected[i].count)
                        fail_msg("volume %s: run %zu is %u:%llu+%llu, expected %u:%llu+%llu", v->name, i,
                                 v->runs[i].pv, (unsigned long long) v->runs[i].first, (unsigned long long) v->runs[i].count,
                                 expected[i].pv, (unsigned long long) expected[i].first, (unsigned long long) expected[i].count);
}

#define ASSERT_RUNS(v, ...) assert_runs((v), sizeof((PoolRun[]) { __VA_ARGS__ }) / sizeof(PoolRun), (PoolRun[]) { __VA_ARGS__ })

static uint64_t free_count(const PoolMetadata *md) {
        uint64_t n = 0;
        assert_int_equal(pool_free_extents(md, &n), 0);
        return n;
}

static void assert_valid(const PoolMetadata *md) {
        char *msg = NULL;
        if (pool_metadata_validate(md, &msg) < 0)
                fail_msg("invalid metadata: %s", msg);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_init(void **state) {
        PoolMetadata *md = make_pool(E);
        PoolVolume *home = pool_metadata_find_volume(md, "home");

        assert_non_null(home);
        ASSERT_RUNS(home, { 0, 0, 10 });
        assert_int_equal(free_count(md), 100);
        assert_valid(md);
        pool_metadata_free(md);
}

static void test_nearest_home(void **state) {
        PoolMetadata *md = make_pool(E);
        PoolVolume *home = pool_metadata_find_volume(md, "home");

        /* The highest extents, nearest the home partition, first. */
        assert_int_equal(pool_volume_grow(md, "home", 3), 0);
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 97, 3 });
        /* Nothing free after the last run: the next ones come from below it. */
        assert_int_equal(pool_volume_grow(md, "home", 2), 0);
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 97, 3 }, { 1, 95, 2 });
        assert_int_equal(free_count(md), 95);

        /* The space next to root stays free and releasable. */
        uint64_t rel;
        assert_int_equal(pool_releasable(md, &rel), 0);
        assert_int_equal(rel, 95);
        assert_valid(md);
        pool_metadata_free(md);
}

static void test_extend_in_place(void **state) {
        PoolMetadata *md = make_pool(E);
        PoolVolume *home = pool_metadata_find_volume(md, "home");

        assert_int_equal(pool_volume_grow(md, "home", 3), 0);
        assert_int_equal(pool_volume_shrink(md, "home", 2), 0);
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 97, 1 });
        /* 98 and 99 are right after the last run: extend it, no new run. */
        assert_int_equal(pool_volume_grow(md, "home", 2), 0);
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 97, 3 });
        /* Part in place, the rest from the top of what is left. */
        assert_int_equal(pool_volume_shrink(md, "home", 1), 0);
        assert_int_equal(pool_volume_grow(md, "home", 3), 0);
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 97, 3 }, { 1, 95, 2 });
        assert_valid(md);
        pool_metadata_free(md);
}

static void test_first_fit_and_fragmentation(void **state) {
        PoolMetadata *md = make_pool(E);
        uint8_t u[16];

        assert_int_equal(pool_volume_grow(md, "home", 2), 0);                   /* 98..99 */
        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 3), 0);   /* 95..97 */
        assert_int_equal(pool_volume_add(md, "b", uuid_n(u, 2), 0, 2), 0);   /* 93..94 */
        ASSERT_RUNS(pool_metadata_find_volume(md, "a"), { 1, 95, 3 });
        ASSERT_RUNS(pool_metadata_find_volume(md, "b"), { 1, 93, 2 });
        assert_int_equal(pool_volume_drop(md, "a"), 0);                       /* free: 0..92, 95..97 */

        /* first fit from the home end: the hole holds 2 */
        assert_int_equal(pool_volume_add(md, "c", uuid_n(u, 3), 0, 2), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "c"), { 1, 96, 2 });          /* free: 0..92, 95 */
        /* too big for the 1-extent hole: one run lower down rather than split */
        assert_int_equal(pool_volume_add(md, "d", uuid_n(u, 4), 0, 4), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "d"), { 1, 89, 4 });          /* free: 0..88, 95 */

        /* home does not care about runs: highest first, split over the holes */
        assert_int_equal(pool_volume_grow(md, "home", 3), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "home"), { 0, 0, 10 }, { 1, 98, 2 }, { 1, 95, 1 }, { 1, 87, 2 });

        /* growing a volume whose last run has free space after it */
        assert_int_equal(pool_volume_shrink(md, "home", 2), 0);                 /* 87..88 free again */
        assert_int_equal(pool_volume_drop(md, "d"), 0);                        /* 87..92 free */
        assert_int_equal(pool_volume_add(md, "e", uuid_n(u, 5), 0, 1), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "e"), { 1, 92, 1 });
        assert_int_equal(pool_volume_shrink(md, "home", 1), 0);                 /* 95 free again */
        assert_int_equal(pool_volume_grow(md, "b", 1), 0);                      /* 95 is right after b */
        ASSERT_RUNS(pool_metadata_find_volume(md, "b"), { 1, 93, 3 });
        assert_valid(md);

        /* limits on create */
        assert_int_equal(pool_volume_add(md, "e", uuid_n(u, 6), 0, 1), -EEXIST);
        assert_int_equal(pool_volume_add(md, "f", uuid_n(u, 5), 0, 1), -EEXIST);
        assert_int_equal(pool_volume_add(md, "home", uuid_n(u, 7), 0, 1), -EINVAL);
        assert_int_equal(pool_volume_add(md, "Bad", uuid_n(u, 7), 0, 1), -EINVAL);
        assert_int_equal(pool_volume_add(md, "g", uuid_n(u, 7), 0x100, 1), -EINVAL);
        assert_int_equal(pool_volume_add(md, "g", uuid_n(u, 7), 0, 0), -EINVAL);
        assert_int_equal(pool_volume_drop(md, "home"), -EPERM);
        assert_int_equal(pool_volume_drop(md, "nope"), -ENOENT);
        assert_int_equal(pool_volume_grow(md, "nope", 1), -ENOENT);
        assert_valid(md);
        pool_metadata_free(md);
}

static void test_full_pool(void **state) {
        PoolMetadata *md = make_pool(E), *before = NULL;
        uint8_t u[16];

        assert_int_equal(pool_volume_grow(md, "home", 40), 0);
        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 30), 0);
        assert_int_equal(pool_metadata_dup(md, &before), 0);

        assert_int_equal(pool_volume_grow(md, "home", 31), -ENOSPC);
        assert_true(pool_metadata_equal(md, before));
        assert_int_equal(pool_volume_add(md, "b", uuid_n(u, 2), 0, 31), -ENOSPC);
        assert_true(pool_metadata_equal(md, before));
        assert_null(pool_metadata_find_volume(md, "b"));

        /* exactly what is left fits */
        assert_int_equal(pool_volume_grow(md, "a", 30), 0);
        assert_int_equal(free_count(md), 0);
        assert_int_equal(pool_volume_grow(md, "home", 1), -ENOSPC);
        assert_int_equal(pool_volume_grow(md, "home", 0), 0);
        assert_valid(md);
        pool_metadata_free(before);
        pool_metadata_free(md);
}

static void test_shrink(void **state) {
        PoolMetadata *md = make_pool(E), *before = NULL;
        uint8_t u[16];

        assert_int_equal(pool_volume_grow(md, "home", 3), 0);
        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 1), 0);   /* 96 */
        assert_int_equal(pool_volume_grow(md, "home", 4), 0);                   /* 92..95 */
        ASSERT_RUNS(pool_metadata_find_volume(md, "home"), { 0, 0, 10 }, { 1, 97, 3 }, { 1, 92, 4 });

        /* never below the home partition itself */
        assert_int_equal(pool_metadata_dup(md, &before), 0);
        assert_int_equal(pool_volume_shrink(md, "home", 8), -ERANGE);
        assert_true(pool_metadata_equal(md, before));
        /* trims across runs from the end */
        assert_int_equal(pool_volume_shrink(md, "home", 5), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "home"), { 0, 0, 10 }, { 1, 97, 2 });
        assert_int_equal(pool_volume_shrink(md, "home", 2), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "home"), { 0, 0, 10 });
        assert_int_equal(pool_volume_shrink(md, "home", 1), -ERANGE);

        /* other volumes keep one extent */
        assert_int_equal(pool_volume_shrink(md, "a", 1), -ERANGE);
        assert_int_equal(pool_volume_grow(md, "a", 2), 0);
        assert_int_equal(pool_volume_shrink(md, "a", 2), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "a"), { 1, 96, 1 });
        assert_int_equal(pool_volume_shrink(md, "nope", 1), -ENOENT);
        assert_int_equal(free_count(md), 99);
        assert_valid(md);
        pool_metadata_free(before);
        pool_metadata_free(md);
}

static void test_release(void **state) {
        PoolMetadata *md = make_pool(E), *before = NULL;
        PoolVolume *home = pool_metadata_find_volume(md, "home");
        PoolTarget *t = NULL;
        size_t n = 0;
        uint64_t rel, shift = 1;
        uint8_t u[16];

        assert_int_equal(pool_volume_grow(md, "home", 97), 0);
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 3, 97 });
        assert_int_equal(pool_releasable(md, &rel), 0);
        assert_int_equal(rel, 3);

        assert_int_equal(pool_metadata_dup(md, &before), 0);
        assert_int_equal(pool_release(md, 4, &shift), -ENOSPC);
        assert_true(pool_metadata_equal(md, before));
        assert_int_equal(pool_release(md, 0, &shift), 0);
        assert_int_equal(shift, 0);

        const PoolPv *pv = &md->pvs[1];
        uint64_t size = pv->size;
        assert_int_equal(pool_release(md, 2, &shift), 0);
        assert_int_equal(shift, 2 * E);
        assert_int_equal(pv->first_extent, 2);
        assert_int_equal(pv->extent_count, 98);
        assert_int_equal(pv->size, size - 2 * E);
        assert_int_equal(pv->data_start, E);
        assert_valid(md);

        /* Extent indexes do not move; offsets count from the new start. */
        ASSERT_RUNS(home, { 0, 0, 10 }, { 1, 3, 97 });
        assert_int_equal(pool_volume_table(md, "home", 512, &t, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(t[1].offset, E + 1 * E);
        assert_int_equal(t[1].offset + t[1].length, pv->size);
        free(t);

        /* The last free extent next to root; an allocation can use it but
         * not the released ones. */
        assert_int_equal(pool_releasable(md, &rel), 0);
        assert_int_equal(rel, 1);
        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 1), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "a"), { 1, 2, 1 });
        assert_int_equal(pool_releasable(md, &rel), 0);
        assert_int_equal(rel, 0);
        assert_int_equal(pool_volume_grow(md, "a", 1), -ENOSPC);

        /* A used extent next to root: nothing to release. */
        assert_int_equal(pool_volume_shrink(md, "home", 5), 0);
        assert_int_equal(pool_releasable(md, &rel), 0);
        assert_int_equal(rel, 0);
        assert_int_equal(pool_release(md, 1, NULL), -ENOSPC);
        assert_valid(md);

        /* Encoded and decoded, a released PV reads back the same. */
        uint8_t *buf = NULL;
        PoolMetadata *back = NULL;
        assert_int_equal(pool_metadata_encode(md, POOL_COPY_SIZE_DEFAULT, &buf, NULL), 0);
        assert_int_equal(pool_metadata_decode(buf, POOL_COPY_SIZE_DEFAULT, &back, NULL), 0);
        assert_true(pool_metadata_equal(md, back));
        free(buf);
        pool_metadata_free(back);
        pool_metadata_free(before);
        pool_metadata_free(md);
}

static void test_check(void **state) {
        PoolMetadata *md = make_pool(E);
        PoolCheckReport rep = {};
        uint8_t u[16];

        assert_int_equal(pool_volume_grow(md, "home", 3), 0);                   /* 97..99 */
        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 5), 0);   /* 92..96 */
        assert_int_equal(pool_check(md, NULL, 0, &rep), 0);
        assert_int_equal(rep.n_problems, 0);
        pool_check_report_done(&rep);

        /* live tables equal to the metadata: clean */
        PoolVolume *home = pool_metadata_find_volume(md, "home"), *a = pool_metadata_find_volume(md, "a");
        PoolLive live[2] = {
                { "home", home->runs, home->n_runs },
                { "a", a->runs, a->n_runs },
        };
        assert_int_equal(pool_check(md, live, 2, &rep), 0);
        pool_check_report_done(&rep);

        /* a shrink whose commit did not happen: a's live table maps only 92..94 */
        PoolRun a_live[] = { { 1, 92, 3 } };
        live[1] = (PoolLive) { "a", a_live, 1 };
        assert_int_equal(pool_check(md, live, 2, &rep), 1);
        assert_int_equal(rep.problems[0].kind, POOL_PROBLEM_LEAKED);
        assert_int_equal(rep.problems[0].first, 95);
        assert_int_equal(rep.problems[0].count, 2);
        assert_int_equal(rep.leaked_extents, 2);
        assert_string_equal(rep.problems[0].volume, "a");
        assert_non_null(strstr(rep.problems[0].message, "volume a owns extents 95+2 of physical volume 1 but its live table does not map them"));
        pool_check_report_done(&rep);

        /* a live table mapping extents nobody gave it */
        PoolRun a_live2[] = { { 1, 90, 7 } };
        live[1] = (PoolLive) { "a", a_live2, 1 };
        assert_int_equal(pool_check(md, live, 2, &rep), 1);
        assert_int_equal(rep.problems[0].kind, POOL_PROBLEM_UNOWNED_MAPPED);
        assert_int_equal(rep.problems[0].first, 90);
        assert_int_equal(rep.problems[0].count, 2);
        pool_check_report_done(&rep);

        PoolLive ghost = { "ghost", a_live, 1 };
        assert_int_equal(pool_check(md, &ghost, 1, &rep), 1);
        assert_int_equal(rep.problems[0].kind, POOL_PROBLEM_UNOWNED_MAPPED);
        pool_check_report_done(&rep);

        /* doubly owned (as a structure-only decode would let through) */
        a->runs[0].first = 95; /* 95..99 overlaps home's 97..99 */
        assert_int_equal(pool_check(md, NULL, 0, &rep), 1);
        assert_int_equal(rep.problems[0].kind, POOL_PROBLEM_DOUBLY_OWNED);
        assert_int_equal(rep.problems[0].first, 97);
        assert_int_equal(rep.problems[0].count, 3);
        assert_int_equal(rep.doubly_owned_extents, 3);
        assert_string_equal(rep.problems[0].volume, "a");
        assert_string_equal(rep.problems[0].other, "home");
        assert_non_null(strstr(rep.problems[0].message, "extents 97+3 of physical volume 1 are owned by both a and home"));
        pool_check_report_done(&rep);

        /* one run nested in a longer one, plus a third overlapping both */
        a->runs[0] = (PoolRun) { 1, 10, 20 };
        PoolRun extra[] = { { 1, 12, 2 }, { 1, 25, 10 }, { 7, 0, 1 }, { 1, 5, 0 }, { 1, 99, 2 } };
        PoolRun *saved = a->runs;
        size_t saved_n = a->n_runs;
        PoolRun all[6] = { saved[0], extra[0], extra[1], extra[2], extra[3], extra[4] };
        a->runs = all;
        a->n_runs = 6;
        assert_int_equal(pool_check(md, NULL, 0, &rep), 5);
        /* unknown PV, empty run, outside the PV, then two overlaps */
        assert_int_equal(rep.problems[0].kind, POOL_PROBLEM_UNKNOWN_PV);
        assert_int_equal(rep.problems[1].kind, POOL_PROBLEM_EMPTY_RUN);
        assert_int_equal(rep.problems[2].kind, POOL_PROBLEM_OUTSIDE_PV);
        assert_int_equal(rep.problems[3].kind, POOL_PROBLEM_DOUBLY_OWNED);
        assert_int_equal(rep.problems[3].first, 12);
        assert_int_equal(rep.problems[3].count, 2);
        assert_non_null(strstr(rep.problems[3].message, "volume a uses extents 12+2 of physical volume 1 twice"));
        assert_int_equal(rep.problems[4].first, 25);
        assert_int_equal(rep.problems[4].count, 5);
        pool_check_report_done(&rep);
        a->runs = saved;
        a->n_runs = saved_n;

        /* home's first run gone */
        home->runs[0].count = 9;
        assert_int_equal(pool_check(md, NULL, 0, &rep), 1);
        assert_int_equal(rep.problems[0].kind, POOL_PROBLEM_HOME_FIRST_RUN);
        pool_check_report_done(&rep);
        pool_metadata_free(md);
}

static void test_table(void **state) {
        PoolMetadata *md = make_pool(E);
        PoolTarget *t = NULL;
        size_t n = 0;
        uint8_t u[16];

        assert_int_equal(pool_volume_grow(md, "home", 3), 0);   /* 97..99 */
        assert_int_equal(pool_volume_grow(md, "home", 2), 0);   /* 95..96 */

        for (unsigned ss = 512; ss <= 4096; ss *= 8) {
                assert_int_equal(pool_volume_table(md, "home", ss, &t, &n), 0);
                assert_int_equal(n, 3);
                /* the home partition's data area, after its 1 MiB of metadata */
                assert_int_equal(t[0].start, 0);
                assert_int_equal(t[0].length, 10 * E);
                assert_int_equal(t[0].pv, 0);
                assert_int_equal(t[0].offset, E);
                assert_int_equal(t[1].start, 10 * E);
                assert_int_equal(t[1].length, 3 * E);
                assert_int_equal(t[1].pv, 1);
                assert_int_equal(t[1].offset, E + 97 * E);
                assert_int_equal(t[2].start, 13 * E);
                assert_int_equal(t[2].length, 2 * E);
                assert_int_equal(t[2].offset, E + 95 * E);
                for (size_t i = 0; i < n; i++) {
                        assert_int_equal(t[i].start % (ss / 512), 0);
                        assert_int_equal(t[i].length % (ss / 512), 0);
                        assert_int_equal(t[i].offset % (ss / 512), 0);
                }
                free(t);
                t = NULL;
        }

        /* physically adjacent runs make one target */
        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 4), 0);  /* 91..94 */
        PoolVolume *a = pool_metadata_find_volume(md, "a");
        PoolRun split[] = { { 1, 10, 2 }, { 1, 12, 3 }, { 1, 20, 1 } };
        PoolRun *saved = a->runs;
        size_t saved_n = a->n_runs;
        a->runs = split;
        a->n_runs = 3;
        assert_int_equal(pool_volume_table(md, "a", 4096, &t, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(t[0].length, 5 * E);
        assert_int_equal(t[0].offset, E + 10 * E);
        assert_int_equal(t[1].start, 5 * E);
        assert_int_equal(t[1].offset, E + 20 * E);
        free(t);
        t = NULL;

        /* hostile values: a run past its PV, unknown PV */
        split[2].first = 99;
        split[2].count = 5;
        assert_int_equal(pool_volume_table(md, "a", 512, &t, &n), -EBADMSG);
        split[2] = (PoolRun) { 9, 0, 1 };
        assert_int_equal(pool_volume_table(md, "a", 512, &t, &n), -EBADMSG);
        a->runs = saved;
        a->n_runs = saved_n;

        /* a data start aligned to 512 but not to 4096 */
        md->pvs[1].data_start = E + 1;
        md->pvs[1].size += 1;
        assert_int_equal(pool_volume_table(md, "a", 512, &t, &n), 0);
        free(t);
        t = NULL;
        assert_int_equal(pool_volume_table(md, "a", 4096, &t, &n), -EBADMSG);
        md->pvs[1].data_start = E;
        md->pvs[1].size -= 1;

        assert_int_equal(pool_volume_table(md, "a", 1024, &t, &n), -EINVAL);
        assert_int_equal(pool_volume_table(md, "nope", 512, &t, &n), -ENOENT);
        assert_null(t);
        pool_metadata_free(md);
}

static void test_big_extents(void **state) {
        /* 64 MiB extents: sizes in sectors stay exact, no overflow. */
        PoolMetadata *md = make_pool(POOL_EXTENT_SIZE_DEFAULT);
        PoolTarget *t = NULL;
        size_t n = 0;

        assert_int_equal(pool_volume_grow(md, "home", 100), 0);
        assert_int_equal(free_count(md), 0);
        assert_int_equal(pool_volume_table(md, "home", 4096, &t, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(t[1].start, 10 * POOL_EXTENT_SIZE_DEFAULT);
        assert_int_equal(t[1].length, 100 * POOL_EXTENT_SIZE_DEFAULT);
        assert_int_equal(t[1].offset, E);
        free(t);
        pool_metadata_free(md);
}

/* pool PV of n extents (home PV: 10). */
static PoolMetadata *make_pool_sized(uint64_t n) {
        PoolGeometry gh, gp;
        PoolMetadata *md = NULL;

        assert_int_equal(pool_geometry_init(&gh, POOL_UUID, HOME_PV_UUID, 0, 4096, E + 10 * E, E, 0, NULL), 0);
        assert_int_equal(pool_geometry_init(&gp, POOL_UUID, POOL_PV_UUID, 1, 4096, E + n * E, E, 0, NULL), 0);
        assert_int_equal(pool_metadata_new(POOL_UUID, E, &md), 0);
        assert_int_equal(pool_metadata_add_pv(md, &gh, POOL_PV_HOME, HOME_VOL_UUID), 0);
        assert_int_equal(pool_metadata_add_pv(md, &gp, POOL_PV_POOL, NULL), 0);
        return md;
}

static void test_names(void **state) {
        static const char *const good[] = { "alice", "a", "bob_2", "x-y", "0", "_", "abcdefghijklmnopqrstuvwxyz012345" };
        static const char *const bad[] = { "", "home", "-x", "-", "Alice", "a.b", "a/b", "a b", "ä",
                                           "abcdefghijklmnopqrstuvwxyz0123456", "../x", "a\n" };
        PoolMetadata *md = make_pool(E), *before = NULL;
        uint8_t u[16];

        assert_int_equal(pool_metadata_dup(md, &before), 0);
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                if (pool_volume_name_valid_new(bad[i]))
                        fail_msg("\"%s\" accepted as a new volume's name", bad[i]);
                assert_int_equal(pool_volume_add(md, bad[i], uuid_n(u, 1), 0, 1), -EINVAL);
                assert_true(pool_metadata_equal(md, before));
        }
        /* The format still reads a name starting with '-' (an older writer's). */
        assert_true(pool_volume_name_valid("-x"));
        for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
                if (!pool_volume_name_valid_new(good[i]))
                        fail_msg("\"%s\" refused as a new volume's name", good[i]);
                assert_int_equal(pool_volume_add(md, good[i], uuid_n(u, (unsigned) i + 1), POOL_VOLUME_LUKS, 1), 0);
        }
        assert_int_equal(md->n_volumes, 1 + sizeof good / sizeof *good);
        assert_true(pool_metadata_find_volume(md, "x-y")->flags == POOL_VOLUME_LUKS);
        assert_valid(md);
        pool_metadata_free(before);
        pool_metadata_free(md);
}

static void test_add_drop(void **state) {
        PoolMetadata *md = make_pool(E), *fresh = NULL;
        uint64_t rel;
        uint8_t u[16];

        assert_int_equal(pool_metadata_dup(md, &fresh), 0);
        /* A user volume packs against home's end: root's side stays releasable. */
        assert_int_equal(pool_volume_grow(md, "home", 2), 0);                   /* 98..99 */
        assert_int_equal(pool_volume_add(md, "alice", uuid_n(u, 1), POOL_VOLUME_LUKS, 5), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "alice"), { 1, 93, 5 });
        assert_int_equal(pool_releasable(md, &rel), 0);
        assert_int_equal(rel, 93);
        assert_int_equal(free_count(md), 93);
        assert_valid(md);

        /* Dropped: its extents are free again, home's are not touched. */
        assert_int_equal(pool_volume_drop(md, "alice"), 0);
        assert_null(pool_metadata_find_volume(md, "alice"));
        assert_int_equal(free_count(md), 98);
        ASSERT_RUNS(pool_metadata_find_volume(md, "home"), { 0, 0, 10 }, { 1, 98, 2 });
        assert_int_equal(pool_volume_drop(md, "alice"), -ENOENT);
        assert_int_equal(pool_volume_drop(md, "home"), -EPERM);
        assert_valid(md);

        /* The name and the extents can be used again; UUIDs stay unique. */
        assert_int_equal(pool_volume_add(md, "alice", uuid_n(u, 2), 0, 3), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "alice"), { 1, 95, 3 });
        assert_int_equal(pool_volume_add(md, "bob", uuid_n(u, 2), 0, 3), -EEXIST);
        assert_int_equal(pool_volume_add(md, "bob", HOME_VOL_UUID, 0, 3), -EEXIST);
        /* Dropping a volume in the middle keeps the others' order and runs. */
        assert_int_equal(pool_volume_add(md, "bob", uuid_n(u, 3), 0, 2), 0);
        assert_int_equal(pool_volume_add(md, "carol", uuid_n(u, 4), 0, 1), 0);
        assert_int_equal(pool_volume_drop(md, "bob"), 0);
        assert_int_equal(md->n_volumes, 3);
        assert_string_equal(md->volumes[1].name, "alice");
        assert_string_equal(md->volumes[2].name, "carol");
        ASSERT_RUNS(pool_metadata_find_volume(md, "carol"), { 1, 92, 1 });
        assert_valid(md);

        /* Everything gone: the pool is as it was made (home aside). */
        assert_int_equal(pool_volume_drop(md, "alice"), 0);
        assert_int_equal(pool_volume_drop(md, "carol"), 0);
        assert_int_equal(pool_volume_shrink(md, "home", 2), 0);
        md->seq = fresh->seq;
        assert_true(pool_metadata_equal(md, fresh));
        pool_metadata_free(fresh);
        pool_metadata_free(md);
}

static void test_add_full(void **state) {
        PoolMetadata *md = make_pool(E), *before = NULL;
        uint8_t u[16];

        assert_int_equal(pool_volume_add(md, "a", uuid_n(u, 1), 0, 60), 0);
        assert_int_equal(pool_metadata_dup(md, &before), 0);
        assert_int_equal(pool_volume_add(md, "b", uuid_n(u, 2), 0, 41), -ENOSPC);
        assert_true(pool_metadata_equal(md, before));
        assert_int_equal(pool_volume_add(md, "b", uuid_n(u, 2), 0, 0), -EINVAL);
        assert_int_equal(pool_volume_add(md, "b", uuid_n(u, 2), 0, 40), 0);
        assert_int_equal(free_count(md), 0);
        assert_int_equal(pool_volume_add(md, "c", uuid_n(u, 3), 0, 1), -ENOSPC);
        assert_null(pool_metadata_find_volume(md, "c"));
        /* What a drop frees, the next add can take. */
        assert_int_equal(pool_volume_drop(md, "a"), 0);
        assert_int_equal(pool_volume_add(md, "c", uuid_n(u, 3), 0, 60), 0);
        ASSERT_RUNS(pool_metadata_find_volume(md, "c"), { 1, 40, 60 });
        assert_valid(md);
        pool_metadata_free(before);
        pool_metadata_free(md);
}

static void test_add_count_limit(void **state) {
        PoolMetadata *md = make_pool_sized(POOL_VOLUMES_MAX + 10), *before = NULL;
        uint8_t u[16];
        char name[16];

        /* home is one of the POOL_VOLUMES_MAX. */
        for (unsigned i = 1; i < POOL_VOLUMES_MAX; i++) {
                snprintf(name, sizeof name, "v%u", i);
                assert_int_equal(pool_volume_add(md, name, uuid_n(u, i), 0, 1), 0);
        }
        assert_int_equal(md->n_volumes, POOL_VOLUMES_MAX);
        assert_int_equal(pool_metadata_dup(md, &before), 0);
        assert_int_equal(pool_volume_add(md, "one-more", uuid_n(u, POOL_VOLUMES_MAX), 0, 1), -E2BIG);
        assert_true(pool_metadata_equal(md, before));
        assert_valid(md);
        /* 1024 one-run volumes fit the default 256 KiB copy... */
        uint8_t *buf = NULL;
        assert_int_equal(pool_metadata_encode(md, POOL_COPY_SIZE_DEFAULT, &buf, NULL), 0);
        free(buf);
        /* ...but not a 64 KiB one (pool.c's commit refuses that before
         * writing to any PV). */
        char *msg = NULL;
        assert_int_equal(pool_metadata_encode(md, 64 * 1024, &buf, &msg), -E2BIG);
        free(msg);
        /* Dropping one makes room for one. */
        assert_int_equal(pool_volume_drop(md, "v7"), 0);
        assert_int_equal(pool_volume_add(md, "one-more", uuid_n(u, POOL_VOLUMES_MAX), 0, 1), 0);
        assert_valid(md);
        pool_metadata_free(before);
        pool_metadata_free(md);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init),
                cmocka_unit_test(test_nearest_home),
                cmocka_unit_test(test_extend_in_place),
                cmocka_unit_test(test_first_fit_and_fragmentation),
                cmocka_unit_test(test_full_pool),
                cmocka_unit_test(test_shrink),
                cmocka_unit_test(test_release),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_big_extents),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_add_drop),
                cmocka_unit_test(test_add_full),
                cmocka_unit_test(test_add_count_limit),
        };

        log_set_max_level(LOG_CRIT); /* refusals are expected here */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
