/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which scanned devices are this machine's pool (storage/pool/pool-discover.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "pool-discover.h"

static const uint8_t OURS[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t THEIRS[16] = { 0xa1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static PoolCandidate pv(const char *path, const uint8_t pool[16], uint32_t index) {
        PoolCandidate c = { .path = path, .ok = true, .pv_index = index };
        memcpy(c.pool_uuid, pool, 16);
        memset(c.pv_uuid, (int) (index + 1) ^ pool[0], 16);
        return c;
}

static void test_recorded_ignores_strangers(void **state) {
        /* Today's bug: a USB stick carrying a copy of another pool's geometry
         * made the whole scan fail. */
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), pv("/dev/sdb", THEIRS, 0), pv("/dev/sda2", OURS, 1),
                              pv("/dev/loop0", THEIRS, 1) };
        bool keep[4], adopted = true;
        uint8_t u[16];
        assert_int_equal(pool_discover_select(c, 4, OURS, "rec", keep, u, &adopted), 0);
        assert_true(keep[0] && !keep[1] && keep[2] && !keep[3]);
        assert_false(adopted);
        assert_memory_equal(u, OURS, 16);
}

static void test_recorded_absent(void **state) {
        PoolCandidate c[] = { pv("/dev/sdb", THEIRS, 0), pv("/dev/sdb2", THEIRS, 1) };
        bool keep[2], adopted;
        uint8_t u[16];
        assert_int_equal(pool_discover_select(c, 2, OURS, "rec", keep, u, &adopted), -ENODEV);
        assert_int_equal(pool_discover_select(c, 0, OURS, "rec", keep, u, &adopted), -ENODEV);
}

static void test_clone_refused(void **state) {
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), pv("/dev/sda2", OURS, 1), pv("/dev/sdb", OURS, 1) };
        bool keep[3], adopted;
        uint8_t u[16];
        assert_int_equal(pool_discover_select(c, 3, OURS, "rec", keep, u, &adopted), -ENOTUNIQ);
        /* Also without a record, and for a copy placed with another index. */
        assert_int_equal(pool_discover_select(c, 3, NULL, "rec", keep, u, &adopted), -ENOTUNIQ);
        c[2].pv_index = 5;
        memcpy(c[2].pv_uuid, c[1].pv_uuid, 16);
        assert_int_equal(pool_discover_select(c, 3, OURS, "rec", keep, u, &adopted), -ENOTUNIQ);
}

static void test_unrecorded(void **state) {
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), pv("/dev/sda2", OURS, 1), pv("/dev/sdb", THEIRS, 0) };
        bool keep[3], adopted = false;
        uint8_t u[16];
        /* The only pool: taken, and activate will record it. */
        assert_int_equal(pool_discover_select(c, 2, NULL, "rec", keep, u, &adopted), 0);
        assert_true(keep[0] && keep[1] && adopted);
        assert_memory_equal(u, OURS, 16);
        /* Two pools and no record: no guess. */
        assert_int_equal(pool_discover_select(c, 3, NULL, "rec", keep, u, &adopted), -EXDEV);
        /* Devices whose geometry did not decode do not count. */
        c[2].ok = false;
        assert_int_equal(pool_discover_select(c, 3, NULL, "rec", keep, u, &adopted), 0);
        assert_false(keep[2]);
}

static void test_uuid_and_record(void **state) {
        uint8_t u[16];
        char dir[] = "/tmp/test-pool-discover-XXXXXX", path[64], bad[64];
        assert_int_equal(pool_uuid_from_string("01020304-0506-0708-090A-0b0c0d0e0f10", u), 0);
        assert_memory_equal(u, OURS, 16);
        assert_int_equal(pool_uuid_from_string("01020304-0506-0708-090a-0b0c0d0e0f1", u), -EINVAL);
        assert_int_equal(pool_uuid_from_string("01020304x0506-0708-090a-0b0c0d0e0f10", u), -EINVAL);
        assert_int_equal(pool_uuid_from_string("0102030g-0506-0708-090a-0b0c0d0e0f10", u), -EINVAL);

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/etc/hearth/pool-uuid", dir);
        assert_int_equal(pool_id_read(path, u), 0);
        assert_int_equal(pool_id_write(path, OURS), 0);
        memset(u, 0, 16);
        assert_int_equal(pool_id_read(path, u), 1);
        assert_memory_equal(u, OURS, 16);
        snprintf(bad, sizeof bad, "%s/bad", dir);
        FILE *f = fopen(bad, "w");
        assert_non_null(f);
        fputs("01020304-0506-0708-090a-0b0c0d0e0f10\nmore\n", f);
        fclose(f);
        assert_int_equal(pool_id_read(bad, u), -EBADMSG);
        unlink(bad);
        unlink(path);
        snprintf(path, sizeof path, "%s/etc/hearth", dir);
        rmdir(path);
        snprintf(path, sizeof path, "%s/etc", dir);
        rmdir(path);
        rmdir(dir);
}

int main(void) {
        log_set_max_level(-1 + 1);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_recorded_ignores_strangers),
                cmocka_unit_test(test_recorded_absent),
                cmocka_unit_test(test_clone_refused),
                cmocka_unit_test(test_unrecorded),
                cmocka_unit_test(test_uuid_and_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
