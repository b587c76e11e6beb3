/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ID map of an ID-mapped home (storage/idmap.h): the exact uid_map text
 * for the cases homed makes, and, for every on-disk ID up to 2^17, what it
 * shows as. No root needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "idmap.h"
#include "user-record.h"

static void check_text(uid_t stored, uid_t exposed, const char *want) {
        IdmapRange r[IDMAP_RANGES_MAX];
        char text[IDMAP_TEXT_MAX];
        int n = idmap_ranges(stored, exposed, r);
        assert_true(n > 0 && n <= IDMAP_RANGES_MAX);
        assert_int_equal(idmap_format(r, (size_t) n, text, sizeof text), 0);
        if (strcmp(text, want) != 0)
                fail_msg("map %u → %u:\n%s\nexpected:\n%s", stored, exposed, text, want);
}

static void test_text(void **state) {
        /* A new subvolume or LUKS home: stored as nobody. */
        check_text(65534, 60100, "0 0 60001\n65534 60100 1\n60514 60514 5020\n");
        /* A directory home: her UID to itself, only to hide the others. */
        check_text(60100, 60100, "0 0 60001\n60100 60100 1\n60514 60514 5020\n");
        /* Stored where she had another UID. */
        check_text(60200, 60100, "0 0 60001\n60200 60100 1\n60514 60514 5020\n");
        /* The stored owner inside an identity range is cut out of it. */
        check_text(0, 60100, "1 1 60000\n0 60100 1\n60514 60514 5020\n");
        check_text(60000, 60100, "0 0 60000\n60000 60100 1\n60514 60514 5020\n");
        check_text(1000, 60100, "0 0 1000\n1001 1001 59000\n1000 60100 1\n60514 60514 5020\n");
        check_text(60514, 60100, "0 0 60001\n60514 60100 1\n60515 60515 5019\n");
        check_text(65533, 60100, "0 0 60001\n65533 60100 1\n60514 60514 5019\n");
        check_text(62000, 60513, "0 0 60001\n62000 60513 1\n60514 60514 1486\n62001 62001 3533\n");
        /* The last home UID: homed 252 cannot map it (60513 twice outside). */
        check_text(65534, 60513, "0 0 60001\n65534 60513 1\n60514 60514 5020\n");
}

static void test_refused(void **state) {
        IdmapRange r[IDMAP_RANGES_MAX];
        assert_int_equal(idmap_ranges((uid_t) -1, 60100, r), -EINVAL);
        assert_int_equal(idmap_ranges(65534, (uid_t) -1, r), -EINVAL);
        assert_int_equal(idmap_ranges(65535, 60100, r), -EINVAL);
        /* exposed would be on the outside twice. */
        assert_int_equal(idmap_ranges(65534, 1000, r), -EINVAL);
        assert_int_equal(idmap_ranges(65534, 60514, r), -EINVAL);
        assert_int_equal(idmap_ranges(65534, 0, r), -EINVAL);
        /* …unless it is the stored owner itself. */
        assert_true(idmap_ranges(1000, 1000, r) > 0);

        char small[20];
        int n = idmap_ranges(65534, 60100, r);
        assert_int_equal(idmap_format(r, (size_t) n, small, sizeof small), -ENOBUFS);
}

/* What every ID shows as, and that the kernel would take the map: no ID
 * twice on either side. */
static void check_semantics(uid_t stored, uid_t exposed) {
        IdmapRange r[IDMAP_RANGES_MAX];
        int n = idmap_ranges(stored, exposed, r);
        assert_true(n > 0);
        for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) {
                        uint64_t a0 = r[i].stored, a1 = a0 + r[i].count, b0 = r[j].stored, b1 = b0 + r[j].count;
                        uint64_t c0 = r[i].exposed, c1 = c0 + r[i].count, d0 = r[j].exposed, d1 = d0 + r[j].count;
                        if ((a0 < b1 && b0 < a1) || (c0 < d1 && d0 < c1))
                                fail_msg("map %u → %u: ranges %d and %d overlap", stored, exposed, i, j);
                }
        for (uid_t id = 0; id < (1u << 17); id++) {
                uid_t shown = idmap_lookup(r, (size_t) n, id), want;
                if (id == stored)
                        want = exposed; /* hers */
                else if (valid_home_uid(id))
                        want = (uid_t) -1; /* another home's: never hers, nor its user's */
                else if (id >= 65534)
                        want = (uid_t) -1; /* nobody and beyond 16 bit */
                else
                        want = id; /* system and regular users: as they are */
                if (shown != want)
                        fail_msg("map %u → %u: %u shows as %d, expected %d", stored, exposed, id, (int) shown,
                                 (int) want);
        }
}

static void test_semantics(void **state) {
        check_semantics(65534, 60100);
        check_semantics(60100, 60100);
        check_semantics(60200, 60100);
        check_semantics(60001, 60513);
        check_semantics(60513, 60001);
        check_semantics(65534, 60513);
}

static void test_stored_owner(void **state) {
        assert_true(idmap_stored_owner_ok(65534));
        assert_true(idmap_stored_owner_ok(HOME_UID_MIN));
        assert_true(idmap_stored_owner_ok(HOME_UID_MAX));
        assert_false(idmap_stored_owner_ok(0));
        assert_false(idmap_stored_owner_ok(1000));
        assert_false(idmap_stored_owner_ok(HOME_UID_MIN - 1));
        assert_false(idmap_stored_owner_ok(HOME_UID_MAX + 1));
        assert_false(idmap_stored_owner_ok(65535));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_semantics),
                cmocka_unit_test(test_stored_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
