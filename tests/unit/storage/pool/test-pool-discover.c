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

static const char *HW_SDA = "/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0";
static const char *HW_USB = "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0";

/* A PV on disk sda (GUID 0xd1…), partition GUID 0xe0+index…, as the scan sees it. */
static PoolCandidate pv(const char *path, const uint8_t pool[16], uint32_t index) {
        PoolCandidate c = { .path = path, .ok = true, .pv_index = index };
        memcpy(c.pool_uuid, pool, 16);
        memset(c.pv_uuid, (int) (index + 1) ^ pool[0], 16);
        c.id.gpt = true;
        memset(c.id.part_uuid, 0xe0 + (int) index, 16);
        memset(c.id.disk_guid, 0xd1, 16);
        snprintf(c.id.hw, sizeof c.id.hw, "%s", HW_SDA);
        return c;
}

/* What the scan saw of a stranger: another disk (GUID 0x5e…), its own place. */
static PoolCandidate stranger(const char *path, const uint8_t pool[16], uint32_t index) {
        PoolCandidate c = pv(path, pool, index);
        memset(c.id.part_uuid, 0x50, 16);
        memset(c.id.disk_guid, 0x5e, 16);
        snprintf(c.id.hw, sizeof c.id.hw, "%s", HW_USB);
        return c;
}

static PoolRecord record(const uint8_t *uuid, size_t n_pvs) {
        PoolRecord r = { .path = "rec", .pvs_path = "pvs", .has_uuid = !!uuid, .n_pvs = n_pvs };
        if (uuid)
                memcpy(r.uuid, uuid, 16);
        for (uint32_t i = 0; i < n_pvs; i++) {
                r.pv_index[i] = i;
                r.pv[i] = pv("", OURS, i).id;
        }
        return r;
}

static void test_recorded_ignores_strangers(void **state) {
        /* A USB stick carrying a copy of another pool's geometry made the
         * whole scan fail. */
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), pv("/dev/sdb", THEIRS, 0), pv("/dev/sda2", OURS, 1),
                              pv("/dev/sdc", THEIRS, 1) };
        PoolRecord rec = record(OURS, 0);
        PoolDiscovery d;
        bool keep[4];
        assert_int_equal(pool_discover_select(c, 4, &rec, keep, &d), 0);
        assert_true(keep[0] && !keep[1] && keep[2] && !keep[3]);
        assert_false(d.adopted);
        assert_true(d.unbound);
        assert_memory_equal(d.uuid, OURS, 16);
}

static void test_recorded_absent(void **state) {
        PoolCandidate c[] = { pv("/dev/sdb", THEIRS, 0), pv("/dev/sdb2", THEIRS, 1) };
        PoolRecord rec = record(OURS, 0);
        PoolDiscovery d;
        bool keep[2];
        assert_int_equal(pool_discover_select(c, 2, &rec, keep, &d), -ENODEV);
        assert_int_equal(pool_discover_select(c, 0, &rec, keep, &d), -ENODEV);
}

static void test_clone_refused(void **state) {
        /* No identities recorded (a pool made before them). */
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), pv("/dev/sda2", OURS, 1), pv("/dev/sdb", OURS, 1) };
        PoolRecord rec = record(OURS, 0), none = record(NULL, 0);
        PoolDiscovery d;
        bool keep[3];
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), -ENOTUNIQ);
        /* Also without a record, and for a copy placed with another index. */
        assert_int_equal(pool_discover_select(c, 3, &none, keep, &d), -ENOTUNIQ);
        c[2].pv_index = 5;
        memcpy(c[2].pv_uuid, c[1].pv_uuid, 16);
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), -ENOTUNIQ);
}

static void test_unrecorded(void **state) {
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), pv("/dev/sda2", OURS, 1), pv("/dev/sdb", THEIRS, 0) };
        PoolRecord none = record(NULL, 0);
        PoolDiscovery d;
        bool keep[3];
        /* The only pool: taken, and activate will record it. */
        assert_int_equal(pool_discover_select(c, 2, &none, keep, &d), 0);
        assert_true(keep[0] && keep[1] && d.adopted && d.unbound);
        assert_memory_equal(d.uuid, OURS, 16);
        /* Two pools and no record: no guess. */
        assert_int_equal(pool_discover_select(c, 3, &none, keep, &d), -EXDEV);
        /* Devices whose geometry did not decode do not count. */
        c[2].ok = false;
        assert_int_equal(pool_discover_select(c, 3, &none, keep, &d), 0);
        assert_false(keep[2]);
}

static void test_attachable_ignored(void **state) {
        /* The attack: a user's file set up as a loop device (udisks allows
         * it), or a USB stick, carrying a geometry block with the public
         * pool UUID and a PV index of ours stopped the pool (-ENOTUNIQ),
         * and one with an unused index made the metadata check fail. Even
         * with no identities recorded they are not candidates. */
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), stranger("/dev/loop0", OURS, 0), pv("/dev/sda2", OURS, 1),
                              stranger("/dev/sdc1", OURS, 1), stranger("/dev/loop1p1", OURS, 5) };
        c[1].loop = c[4].loop = true;
        c[3].removable = true;
        PoolRecord rec = record(OURS, 0), none = record(NULL, 0);
        PoolDiscovery d;
        bool keep[5];
        assert_int_equal(pool_discover_select(c, 5, &rec, keep, &d), 0);
        assert_true(keep[0] && !keep[1] && keep[2] && !keep[3] && !keep[4]);
        assert_true(d.unbound);
        /* Nor do they count as another pool when none is recorded. */
        memcpy(c[1].pool_uuid, THEIRS, 16);
        assert_int_equal(pool_discover_select(c, 5, &none, keep, &d), 0);
        assert_true(keep[0] && !keep[1] && keep[2] && !keep[3] && !keep[4] && d.adopted);
        /* Only attachable devices: nothing found. */
        assert_int_equal(pool_discover_select(c + 3, 2, &rec, keep, &d), -ENODEV);
}

static void test_identities(void **state) {
        /* Another fixed disk (not removable: a USB disk may say so) with a
         * forged geometry block claiming PV 0, and one claiming an index
         * the pool does not have. */
        PoolCandidate c[] = { stranger("/dev/sdb", OURS, 0), pv("/dev/sda3", OURS, 0), pv("/dev/sda2", OURS, 1),
                              stranger("/dev/sdc", OURS, 5), stranger("/dev/sdd", OURS, 1) };
        c[4].id.gpt = false; /* a whole disk */
        PoolRecord rec = record(OURS, 2);
        PoolDiscovery d;
        bool keep[5];
        assert_int_equal(pool_discover_select(c, 5, &rec, keep, &d), 0);
        assert_true(!keep[0] && keep[1] && keep[2] && !keep[3] && !keep[4]);
        assert_false(d.unbound || d.adopted);
        /* The real PV 0 gone, the forgery is still not taken: the pool
         * then reports PV 0 missing rather than use it. */
        PoolCandidate gone[] = { c[0], c[2] };
        assert_int_equal(pool_discover_select(gone, 1, &rec, keep, &d), -ENODEV);
        assert_int_equal(pool_discover_select(gone, 2, &rec, keep, &d), 0);
        assert_true(!keep[0] && keep[1]);
        /* A moved disk (another port) is still the recorded partition. */
        snprintf(c[1].id.hw, sizeof c[1].id.hw, "/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0");
        assert_int_equal(pool_discover_select(c, 5, &rec, keep, &d), 0);
        assert_true(!keep[0] && keep[1] && keep[2]);
        /* Another partition on the recorded disk is not it either. */
        c[0] = pv("/dev/sda5", OURS, 0);
        memset(c[0].id.part_uuid, 0x77, 16);
        assert_int_equal(pool_discover_select(c, 5, &rec, keep, &d), 0);
        assert_true(!keep[0] && keep[1] && keep[2]);
}

static void test_identity_copied(void **state) {
        /* The GUIDs are no secret (lsblk shows them): a forged GPT can
         * carry them. The recorded place of the disk decides. */
        PoolCandidate c[] = { stranger("/dev/sdb1", OURS, 0), pv("/dev/sda3", OURS, 0), pv("/dev/sda2", OURS, 1) };
        c[0].id = c[1].id;
        snprintf(c[0].id.hw, sizeof c[0].id.hw, "%s", HW_USB);
        PoolRecord rec = record(OURS, 2);
        PoolDiscovery d;
        bool keep[3];
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), 0);
        assert_true(!keep[0] && keep[1] && keep[2]);
        /* Neither where the record says (a disk copied, then moved): no guess. */
        snprintf(c[1].id.hw, sizeof c[1].id.hw, "/devices/elsewhere");
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), -ENOTUNIQ);
        /* Both there (cannot happen, but must not pick one). */
        c[0].id = c[1].id = rec.pv[0];
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), -ENOTUNIQ);
        /* No place recorded: no guess either. */
        rec.pv[0].hw[0] = 0;
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), -ENOTUNIQ);
}

static void test_identity_outside_gpt(void **state) {
        /* A PV that is not a GPT partition is bound to its disk's place. */
        PoolCandidate c[] = { pv("/dev/sda3", OURS, 0), stranger("/dev/sdb", OURS, 1), pv("/dev/sdx", OURS, 1) };
        c[1].id.gpt = c[2].id.gpt = false;
        PoolRecord rec = record(OURS, 2);
        rec.pv[1].gpt = false;
        PoolDiscovery d;
        bool keep[3];
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), 0);
        assert_true(keep[0] && !keep[1] && keep[2]);
        /* A GPT partition claiming it is not it. */
        c[2].id.gpt = true;
        assert_int_equal(pool_discover_select(c, 3, &rec, keep, &d), 0);
        assert_true(keep[0] && !keep[1] && !keep[2]);
}

static void test_pvs_file(void **state) {
        char dir[] = "/tmp/test-pool-discover-XXXXXX", path[64], text[512];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/etc/hearth/pool-pvs", dir);
        PoolRecord rec = record(OURS, 2), back = record(OURS, 0);
        rec.pvs_path = back.pvs_path = path;
        /* Written in index order, whatever order the scan found them in. */
        PoolPvIdentity id0 = rec.pv[0];
        rec.pv[0] = rec.pv[1];
        rec.pv[1] = id0;
        rec.pv_index[0] = 1;
        rec.pv_index[1] = 0;
        rec.pv[0].gpt = false;
        rec.pv[0].hw[0] = 0;
        assert_int_equal(pool_pvs_read(&back), 0);
        assert_int_equal(pool_pvs_write(&rec), 0);
        assert_int_equal(pool_pvs_read(&back), 1);
        assert_true(pool_record_pvs_equal(&rec, &back));
        assert_int_equal(back.n_pvs, 2);
        assert_string_equal(back.pv[0].hw, HW_SDA);
        assert_false(back.pv[1].gpt);
        assert_string_equal(back.pv[1].hw, "");
        assert_true(back.has_uuid);
        assert_string_equal(back.path, "rec");

        FILE *f = fopen(path, "re");
        assert_non_null(f);
        size_t len = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[len] = 0;
        assert_non_null(strstr(text, "\npool 01020304-0506-0708-090a-0b0c0d0e0f10\n"
                                     "pv 0 e0e0e0e0-e0e0-e0e0-e0e0-e0e0e0e0e0e0 d1d1d1d1-d1d1-d1d1-d1d1-d1d1d1d1d1d1 "
                                     "/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0\n"
                                     "pv 1 - - -\n"));

        /* Another pool's (an older Hearth's init rewrote only the UUID): not used. */
        PoolRecord other = record(THEIRS, 0);
        other.pvs_path = path;
        assert_int_equal(pool_pvs_read(&other), 0);
        assert_int_equal(other.n_pvs, 0);

        rec.pv[0] = rec.pv[1];
        assert_false(pool_record_pvs_equal(&rec, &back));
        rec.pv[0].hw[0] = 0;
        rec.pv[0].gpt = false;
        assert_true(pool_record_pvs_equal(&rec, &back));
        rec.pv_index[1] = 3;
        assert_false(pool_record_pvs_equal(&rec, &back));

        static const char *const bad[] = {
                "",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\n",
                "pv 0 - - -\npool 01020304-0506-0708-090a-0b0c0d0e0f10\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv 0 - - -\npv 0 - - -\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv 8 - - -\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv -1 - - -\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv 0 - - - extra\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv 0 e0e0e0e0-e0e0-e0e0-e0e0-e0e0e0e0e0e0 - -\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv 0 - - relative/path\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\npv 0 00000000-0000-0000-0000-000000000000 "
                "d1d1d1d1-d1d1-d1d1-d1d1-d1d1d1d1d1d1 -\n",
                "pool 01020304-0506-0708-090a-0b0c0d0e0f10\nbogus\n",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                f = fopen(path, "we");
                assert_non_null(f);
                fputs(bad[i], f);
                fclose(f);
                back = record(OURS, 0);
                back.pvs_path = path;
                assert_int_equal(pool_pvs_read(&back), -EBADMSG);
        }
        unlink(path);
        snprintf(path, sizeof path, "%s/etc/hearth", dir);
        rmdir(path);
        snprintf(path, sizeof path, "%s/etc", dir);
        rmdir(path);
        rmdir(dir);
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

/* Which device the record names, for create's refusal to format a PV
 * (pool_device_is_pv): the recorded GPT partition, by both GUIDs, and
 * nothing outside a GPT, whose record (a disk's place) every partition of
 * that disk would match. */
static void test_record_find_partition(void **state) {
        PoolRecord rec = record(OURS, 2);
        uint32_t index = 99;
        PoolPvIdentity id = pv("", OURS, 1).id;
        assert_int_equal(pool_record_find_partition(&rec, &id, &index), 1);
        assert_int_equal(index, 1);
        id = pv("", OURS, 0).id;
        assert_int_equal(pool_record_find_partition(&rec, &id, &index), 1);
        assert_int_equal(index, 0);
        /* Another partition of the same disk, the same partition GUID on another disk. */
        id = pv("", OURS, 2).id;
        assert_int_equal(pool_record_find_partition(&rec, &id, &index), 0);
        id = pv("", OURS, 1).id;
        memset(id.disk_guid, 0x5e, 16);
        assert_int_equal(pool_record_find_partition(&rec, &id, &index), 0);
        /* Nothing recorded; a device outside a GPT; a record outside one. */
        PoolRecord none = record(OURS, 0);
        id = pv("", OURS, 1).id;
        assert_int_equal(pool_record_find_partition(&none, &id, &index), 0);
        id.gpt = false;
        assert_int_equal(pool_record_find_partition(&rec, &id, &index), 0);
        rec.pv[1].gpt = false;
        id.gpt = true;
        assert_int_equal(pool_record_find_partition(&rec, &id, &index), 0);
}

int main(void) {
        log_set_max_level(-1 + 1);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_find_partition),
                cmocka_unit_test(test_recorded_ignores_strangers),
                cmocka_unit_test(test_recorded_absent),
                cmocka_unit_test(test_clone_refused),
                cmocka_unit_test(test_unrecorded),
                cmocka_unit_test(test_attachable_ignored),
                cmocka_unit_test(test_identities),
                cmocka_unit_test(test_identity_copied),
                cmocka_unit_test(test_identity_outside_gpt),
                cmocka_unit_test(test_pvs_file),
                cmocka_unit_test(test_uuid_and_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
