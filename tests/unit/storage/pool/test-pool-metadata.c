/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The extent pool's metadata codec: round trips, every corruption refused
 * with its own message, the A/B choice, the geometry block, missing PVs.
 * Byte offsets below are those of docs/POOL-FORMAT.md. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "log.h"
#include "pool-alloc.h"
#include "pool-metadata.h"

#define E       UINT64_C(2048) /* 1 MiB extents: the smallest */
#define COPY    (16U * 1024U)

static const uint8_t POOL_UUID[16] = { 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t HOME_PV_UUID[16] = { 0x22, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t POOL_PV_UUID[16] = { 0x33, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t HOME_VOL_UUID[16] = { 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t ALICE_UUID[16] = { 0x55, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* ---- helpers ------------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v) {
        for (unsigned i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
        for (unsigned i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get64(const uint8_t *p) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

/* Recomputes a copy's checksum over `length` bytes (from the header). */
static void resum(uint8_t *buf) {
        size_t len = (size_t) get64(buf + 24);
        unsigned int n = 0;
        memset(buf + 96, 0, 32);
        assert_int_equal(EVP_Digest(buf, len, buf + 96, &n, EVP_sha256(), NULL), 1);
        assert_int_equal(n, 32);
}

static void resum_geometry(uint8_t *buf) {
        unsigned int n = 0;
        memset(buf + 128, 0, 32);
        assert_int_equal(EVP_Digest(buf, POOL_GEOMETRY_SIZE, buf + 128, &n, EVP_sha256(), NULL), 1);
}

static void make_geometries_sized(PoolGeometry *home, PoolGeometry *pool, uint64_t pool_extents) {
        /* home: 10 extents (and 8 sectors of tail); pool: pool_extents. data_start is 1 MiB. */
        assert_int_equal(pool_geometry_init(home, POOL_UUID, HOME_PV_UUID, 0, 512, E + 10 * E + 8, E, COPY, NULL), 0);
        assert_int_equal(home->data_start, E);
        assert_int_equal(pool_geometry_extent_count(home), 10);
        assert_int_equal(pool_geometry_init(pool, POOL_UUID, POOL_PV_UUID, 1, 512, E + pool_extents * E, E, COPY, NULL), 0);
        assert_int_equal(pool_geometry_extent_count(pool), pool_extents);
}

static void make_geometries(PoolGeometry *home, PoolGeometry *pool) {
        make_geometries_sized(home, pool, 100);
}

/* home PV 0 (10 extents), pool PV 1; home grown by 3, alice of 5. */
static PoolMetadata *make_md_sized(uint64_t pool_extents) {
        PoolGeometry gh, gp;
        PoolMetadata *md = NULL;

        make_geometries_sized(&gh, &gp, pool_extents);
        assert_int_equal(pool_metadata_new(POOL_UUID, E, &md), 0);
        assert_int_equal(pool_metadata_add_pv(md, &gh, POOL_PV_HOME, HOME_VOL_UUID), 0);
        assert_int_equal(pool_metadata_add_pv(md, &gp, POOL_PV_POOL, NULL), 0);
        assert_int_equal(pool_volume_grow(md, "home", 3), 0);
        assert_int_equal(pool_volume_add(md, "alice", ALICE_UUID, POOL_VOLUME_LUKS, 5), 0);
        md->seq = 7;
        assert_int_equal(pool_metadata_validate(md, NULL), 0);
        return md;
}

static PoolMetadata *make_md(void) {
        return make_md_sized(100);
}

static uint8_t *encode(const PoolMetadata *md) {
        uint8_t *buf = NULL;
        assert_int_equal(pool_metadata_encode(md, COPY, &buf, NULL), 0);
        return buf;
}

/* Offsets in the encoding of make_md(): 2 PVs, 2 volumes (home: 2 runs, alice: 1). */
#define PV(i)      (128 + 64 * (i))
#define VOL(i)     (128 + 64 * 2 + 64 * (i))
#define RUN(i)     (128 + 64 * 2 + 64 * 2 + 24 * (i))

static void expect_refused(const uint8_t *buf, size_t size, int error, const char *needle) {
        PoolMetadata *md = NULL;
        char *msg = NULL;
        int r = pool_metadata_decode(buf, size, &md, &msg);

        if (r != error || !msg || !strstr(msg, needle))
                fail_msg("expected %d \"%s\", got %d \"%s\"", error, needle, r, msg ?: "(null)");
        assert_null(md);
        free(msg);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_round_trip(void **state) {
        PoolMetadata *md = make_md(), *back = NULL, *dup = NULL;
        uint8_t *buf = encode(md);
        char *msg = NULL;

        /* The layout the format document promises. */
        assert_memory_equal(buf, "HEARTHMD", 8);
        assert_int_equal(buf[8], 1);
        assert_int_equal(get64(buf + 16), 7);
        assert_int_equal(get64(buf + 24), pool_metadata_encoded_size(md));
        assert_int_equal(pool_metadata_encoded_size(md), 128 + 2 * 64 + 2 * 64 + 3 * 24);
        for (size_t i = pool_metadata_encoded_size(md); i < COPY; i++)
                assert_int_equal(buf[i], 0);
        assert_string_equal((const char *) buf + VOL(1), "alice");

        assert_int_equal(pool_metadata_decode(buf, COPY, &back, &msg), 0);
        assert_null(msg);
        assert_true(pool_metadata_equal(md, back));
        assert_int_equal(back->volumes[1].flags, POOL_VOLUME_LUKS);

        /* Reading exactly the encoded length is enough. */
        pool_metadata_free(back);
        assert_int_equal(pool_metadata_decode(buf, pool_metadata_encoded_size(md), &back, NULL), 0);

        assert_int_equal(pool_metadata_dup(md, &dup), 0);
        assert_true(pool_metadata_equal(md, dup));
        dup->volumes[1].runs[0].count--;
        assert_false(pool_metadata_equal(md, dup));

        /* A 32-byte name has no terminating NUL on disk. */
        strcpy(dup->volumes[1].name, "abcdefghijklmnopqrstuvwxyz012345");
        dup->volumes[1].runs[0].count++;
        free(buf);
        buf = encode(dup);
        pool_metadata_free(back);
        assert_int_equal(pool_metadata_decode(buf, COPY, &back, NULL), 0);
        assert_string_equal(back->volumes[1].name, "abcdefghijklmnopqrstuvwxyz012345");

        pool_metadata_free(back);
        pool_metadata_free(dup);
        pool_metadata_free(md);
        free(buf);
}

static void test_encode_refuses(void **state) {
        PoolMetadata *md = make_md();
        uint8_t *buf = NULL;
        char *msg = NULL;

        assert_int_equal(pool_metadata_encode(md, 1000, &buf, &msg), -EINVAL);
        assert_null(buf);
        free(msg);
        msg = NULL;

        /* Never writes what it would refuse to read. */
        md->volumes[1].runs[0].first = 99;
        assert_int_equal(pool_metadata_encode(md, COPY, &buf, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "lies outside physical volume 1"));
        assert_null(buf);
        free(msg);
        pool_metadata_free(md);
}

static void test_encode_too_big(void **state) {
        PoolMetadata *md = make_md_sized(1000);
        uint8_t *buf = NULL;
        char *msg = NULL, name[16];
        uint8_t uuid[16] = { 0x66 };

        /* Each 1-extent volume costs 64 + 24 bytes: 16 KiB holds about 180. */
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof name, "v%d", i);
                uuid[1] = (uint8_t) i;
                assert_int_equal(pool_volume_add(md, name, uuid, 0, 1), 0);
        }
        assert_int_equal(pool_metadata_encode(md, COPY, &buf, &msg), 0);
        free(buf);
        buf = NULL;
        for (int i = 100; i < 300; i++) {
                snprintf(name, sizeof name, "v%d", i);
                uuid[1] = (uint8_t) i;
                uuid[2] = (uint8_t) (i >> 8);
                assert_int_equal(pool_volume_add(md, name, uuid, 0, 1), 0);
        }
        assert_int_equal(pool_metadata_encode(md, COPY, &buf, &msg), -E2BIG);
        assert_null(buf);
        assert_non_null(strstr(msg, "a copy holds 16384"));
        free(msg);
        /* A bigger copy area takes it. */
        assert_int_equal(pool_metadata_encode(md, 64 * 1024, &buf, NULL), 0);
        free(buf);
        pool_metadata_free(md);
}

static void test_header_corruptions(void **state) {
        PoolMetadata *md = make_md();
        uint8_t *good = encode(md), *b = malloc(COPY);
        size_t len = pool_metadata_encoded_size(md);

#define RESET() memcpy(b, good, COPY)
        RESET();
        expect_refused(b, 100, -EBADMSG, "truncated: 100 bytes, shorter than the 128-byte header");
        expect_refused(b, len - 1, -EBADMSG, "truncated");
        expect_refused(NULL, 0, -EBADMSG, "truncated: 0 bytes");

        RESET(); b[0] = 'X';
        expect_refused(b, COPY, -EBADMSG, "bad magic");

        RESET(); put32(b + 8, 2); resum(b);
        expect_refused(b, COPY, -EPROTONOSUPPORT, "written by a newer Hearth (format 2)");
        RESET(); put32(b + 8, 2); /* the version is looked at before the checksum */
        expect_refused(b, COPY, -EPROTONOSUPPORT, "written by a newer Hearth (format 2)");

        RESET(); put32(b + 8, 0); resum(b);
        expect_refused(b, COPY, -EBADMSG, "invalid format version 0");

        RESET(); put32(b + 12, 64); resum(b);
        expect_refused(b, COPY, -EBADMSG, "header size 64");

        RESET(); b[RUN(2) + 10] ^= 1; /* no resum */
        expect_refused(b, COPY, -EBADMSG, "checksum mismatch");

        RESET(); put64(b + 24, 8 * 1024 * 1024 * 3);
        expect_refused(b, COPY, -EBADMSG, "is outside 128-");
        RESET(); put64(b + 24, 64);
        expect_refused(b, COPY, -EBADMSG, "is outside 128-");

        RESET(); put64(b + 24, len + 24); resum(b);
        expect_refused(b, COPY, -EBADMSG, "does not match the tables");

        RESET(); put32(b + 68, 4); resum(b);
        expect_refused(b, COPY, -EBADMSG, "unknown header flags 0x4");

        RESET(); b[80] = 1; resum(b);
        expect_refused(b, COPY, -EBADMSG, "reserved header bytes are not zero");

        RESET(); put32(b + 56, 0); resum(b);
        expect_refused(b, COPY, -EBADMSG, "0 physical volumes: between 1 and 8 allowed");
        RESET(); put32(b + 56, 9); resum(b);
        expect_refused(b, COPY, -EBADMSG, "9 physical volumes");
        RESET(); put32(b + 60, 1025); resum(b);
        expect_refused(b, COPY, -EBADMSG, "1025 volumes: at most 1024 allowed");
        RESET(); put32(b + 64, 16385); resum(b);
        expect_refused(b, COPY, -EBADMSG, "16385 extent runs: at most 16384 allowed");
        RESET(); put32(b + 64, UINT32_MAX); resum(b);
        expect_refused(b, COPY, -EBADMSG, "extent runs: at most");

        RESET(); put64(b + 48, 3000); resum(b);
        expect_refused(b, COPY, -EBADMSG, "extent size 3000 sectors is not a power of two");
        RESET(); put64(b + 48, 1024); resum(b);
        expect_refused(b, COPY, -EBADMSG, "extent size 1024 sectors");

        RESET(); memset(b + 32, 0, 16); resum(b);
        expect_refused(b, COPY, -EBADMSG, "null pool UUID");
#undef RESET
        free(b);
        free(good);
        pool_metadata_free(md);
}

static void test_table_corruptions(void **state) {
        PoolMetadata *md = make_md();
        uint8_t *good = encode(md), *b = malloc(COPY);

#define RESET() memcpy(b, good, COPY)
        /* PVs */
        RESET(); put32(b + PV(1) + 16, 5); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volume 1: index field says 5");
        RESET(); put32(b + PV(1) + 20, 3); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volume 1: unknown role 3");
        RESET(); put32(b + PV(1) + 20, POOL_PV_HOME); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volumes 0 and 1 both have the role home");
        RESET(); memcpy(b + PV(1), HOME_PV_UUID, 16); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volumes 0 and 1 have the same UUID");
        RESET(); memset(b + PV(0), 0, 16); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volume 0: null UUID");
        RESET(); put64(b + PV(1) + 32, 2049); resum(b);
        expect_refused(b, COPY, -EBADMSG, "data start 2049 is not a non-zero multiple of 1 MiB");
        RESET(); put64(b + PV(1) + 48, 101); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volume 1: 101 extents of 2048 sectors do not fit");
        RESET(); put64(b + PV(1) + 24, UINT64_MAX); resum(b);
        expect_refused(b, COPY, -EBADMSG, "past the limit");
        RESET(); put64(b + PV(1) + 40, UINT64_MAX); resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volume 1: first extent");
        RESET(); b[PV(1) + 60] = 1; resum(b);
        expect_refused(b, COPY, -EBADMSG, "physical volume 1: reserved bytes are not zero");

        /* volumes */
        RESET(); b[VOL(1)] = 'A'; resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume 1: invalid name");
        RESET(); b[VOL(1) + 2] = '.'; resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume 1: invalid name");
        RESET(); memset(b + VOL(1), 0, 32); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume 1: empty name");
        RESET(); b[VOL(1) + 20] = 'x'; resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume 1: bytes after the name's end are not zero");
        RESET(); memcpy(b + VOL(1), "home\0", 6); resum(b);
        expect_refused(b, COPY, -EBADMSG, "two volumes are named home");
        RESET(); memcpy(b + VOL(1) + 32, HOME_VOL_UUID, 16); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volumes home and alice have the same UUID");
        RESET(); put32(b + VOL(1) + 48, 0x80); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: unknown flags 0x80");
        RESET(); put32(b + VOL(0) + 52, 3); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: 1 runs, more than the run table holds");
        RESET(); put32(b + VOL(1) + 52, 0); resum(b);
        expect_refused(b, COPY, -EBADMSG, "the volumes claim 2 runs, the run table holds 3");
        RESET(); b[VOL(1) + 60] = 1; resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: reserved bytes are not zero");

        /* runs: run 0 = home's PV, run 1 = home's pool run, run 2 = alice */
        RESET(); put32(b + RUN(2), 2); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: run 0 references unknown physical volume 2");
        RESET(); put64(b + RUN(2) + 16, 0); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: run 0 is empty");
        RESET(); put64(b + RUN(2) + 16, 200); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: run 0 (extents 92+200) lies outside physical volume 1 (extents 0-99)");
        RESET(); put64(b + RUN(2) + 8, UINT64_MAX); resum(b);
        expect_refused(b, COPY, -EBADMSG, "lies outside physical volume 1");
        RESET(); put64(b + RUN(2) + 16, UINT64_MAX); resum(b);
        expect_refused(b, COPY, -EBADMSG, "lies outside physical volume 1");
        RESET(); put32(b + RUN(2) + 4, 1); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume alice: run 0: reserved bytes are not zero");

        /* alice's extents 92..96 moved to overlap home's 97..99 */
        RESET(); put64(b + RUN(2) + 8, 95); resum(b);
        expect_refused(b, COPY, -EBADMSG, "extent 97 of physical volume 1 is owned by both alice and home");
        /* home's pool run moved onto its own home-PV run */
        RESET(); put32(b + RUN(1), 0); put64(b + RUN(1) + 8, 5); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume home: extent 5 of physical volume 0 is used twice");
        /* alice taking an extent of the home partition */
        RESET(); put32(b + RUN(2), 0); put64(b + RUN(2) + 8, 9); put64(b + RUN(2) + 16, 1); resum(b);
        expect_refused(b, COPY, -EBADMSG, "extent 9 of physical volume 0 is owned by both home and alice");

        /* home's first run must be the home PV's data area */
        RESET(); put64(b + RUN(0) + 16, 9); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume home: its first run is not the home partition's data area");
        RESET(); memcpy(b + VOL(0), "house", 5); resum(b);
        expect_refused(b, COPY, -EBADMSG, "there is a home physical volume but no volume \"home\"");
        RESET(); put32(b + PV(0) + 20, POOL_PV_POOL); put32(b + PV(1) + 20, POOL_PV_HOME); resum(b);
        expect_refused(b, COPY, -EBADMSG, "volume home: its first run is not the home partition's data area");
#undef RESET
        free(b);
        free(good);
        pool_metadata_free(md);
}

static void test_structure_only(void **state) {
        PoolMetadata *md = make_md(), *back = NULL;
        uint8_t *b = encode(md);
        char *msg = NULL;

        put64(b + RUN(2) + 8, 95);
        resum(b);
        assert_int_equal(pool_metadata_decode(b, COPY, &back, NULL), -EBADMSG);
        assert_int_equal(pool_metadata_decode_full(b, COPY, POOL_DECODE_STRUCTURE_ONLY, &back, &msg), 0);
        assert_null(msg);
        assert_int_equal(back->volumes[1].runs[0].first, 95);
        pool_metadata_free(back);

        /* structure is still checked */
        b[VOL(1)] = 'A';
        resum(b);
        assert_int_equal(pool_metadata_decode_full(b, COPY, POOL_DECODE_STRUCTURE_ONLY, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "invalid name"));
        free(msg);
        free(b);
        pool_metadata_free(md);
}

static void test_pick(void **state) {
        PoolMetadata *md = make_md(), *got = NULL;
        PoolPick pick;
        uint8_t *a, *b;
        char *msg = NULL;

        a = encode(md);
        md->seq = 8;
        assert_int_equal(pool_volume_grow(md, "alice", 1), 0);
        b = encode(md);

        /* newest valid */
        assert_int_equal(pool_metadata_pick(a, COPY, b, COPY, &got, &pick, &msg), 0);
        assert_int_equal(pick.current, 1);
        assert_int_equal(pick.inactive, 0);
        assert_true(pick.other_stale);
        assert_int_equal(pick.seq[0], 7);
        assert_int_equal(pick.seq[1], 8);
        assert_int_equal(pick.error[0], 0);
        assert_int_equal(got->seq, 8);
        assert_true(pool_metadata_equal(got, md));
        pool_pick_done(&pick);
        got = pool_metadata_free(got);

        assert_int_equal(pool_metadata_pick(b, COPY, a, COPY, &got, &pick, NULL), 0);
        assert_int_equal(pick.current, 0);
        assert_int_equal(pick.inactive, 1);
        pool_pick_done(&pick);
        got = pool_metadata_free(got);

        /* the newer one corrupt: the older one, and why */
        b[200] ^= 0xff;
        assert_int_equal(pool_metadata_pick(a, COPY, b, COPY, &got, &pick, NULL), 0);
        assert_int_equal(pick.current, 0);
        assert_int_equal(pick.inactive, 1);
        assert_int_equal(pick.error[1], -EBADMSG);
        assert_non_null(strstr(pick.reason[1], "checksum mismatch"));
        assert_null(pick.reason[0]);
        assert_int_equal(got->seq, 7);
        pool_pick_done(&pick);
        got = pool_metadata_free(got);

        /* both corrupt */
        a[0] = 0;
        assert_int_equal(pool_metadata_pick(a, COPY, b, COPY, &got, &pick, &msg), -EBADMSG);
        assert_null(got);
        assert_non_null(strstr(msg, "no valid metadata copy: copy A: bad magic"));
        assert_non_null(strstr(msg, "copy B: checksum mismatch"));
        pool_pick_done(&pick);
        free(msg);
        msg = NULL;

        /* one blank (never written), one from the future */
        memset(a, 0, COPY);
        free(b);
        b = encode(md);
        put32(b + 8, 3);
        assert_int_equal(pool_metadata_pick(a, COPY, b, COPY, &got, NULL, &msg), -EPROTONOSUPPORT);
        assert_non_null(strstr(msg, "written by a newer Hearth (format 3)"));
        free(msg);
        msg = NULL;

        /* equal seq, equal content: fine */
        free(a);
        free(b);
        a = encode(md);
        b = encode(md);
        assert_int_equal(pool_metadata_pick(a, COPY, b, COPY, &got, &pick, NULL), 0);
        assert_int_equal(pick.current, 0);
        assert_int_equal(pick.inactive, 1);
        assert_false(pick.other_stale);
        pool_pick_done(&pick);
        got = pool_metadata_free(got);

        /* equal seq, different content: corrupt */
        free(b);
        assert_int_equal(pool_volume_grow(md, "alice", 1), 0);
        b = encode(md);
        assert_int_equal(pool_metadata_pick(a, COPY, b, COPY, &got, NULL, &msg), -EBADMSG);
        assert_null(got);
        assert_non_null(strstr(msg, "copies A and B both have sequence number 8 but differ"));
        free(msg);

        free(a);
        free(b);
        pool_metadata_free(md);
}

static void test_geometry(void **state) {
        PoolGeometry gh, gp, back;
        uint8_t buf[POOL_GEOMETRY_SIZE], other[POOL_GEOMETRY_SIZE];
        char *msg = NULL;
        bool backup;

        make_geometries(&gh, &gp);
        pool_geometry_encode(&gp, buf);
        assert_memory_equal(buf, "HEARTHPV", 8);
        assert_int_equal(get64(buf + 56), E + 100 * E);
        assert_int_equal(get64(buf + 88), E);
        assert_int_equal(pool_geometry_decode(buf, sizeof buf, &back, &msg), 0);
        assert_memory_equal(&back, &gp, sizeof back);

        /* defaults: 256 KiB copies, 64 MiB extents, still 1 MiB data start; 4K sectors */
        assert_int_equal(pool_geometry_init(&back, POOL_UUID, POOL_PV_UUID, 1, 4096, 1 << 30 >> 9,
                                            POOL_EXTENT_SIZE_DEFAULT, 0, NULL), 0);
        assert_int_equal(back.metadata_copy_size, 256 * 1024);
        assert_int_equal(back.data_start, 2048);
        assert_int_equal(pool_geometry_extent_count(&back), 15);
        /* bigger copies push the data start to the next MiB */
        assert_int_equal(pool_geometry_init(&back, POOL_UUID, POOL_PV_UUID, 1, 512, 1 << 30 >> 9,
                                            E, 1024 * 1024, NULL), 0);
        assert_int_equal(back.data_start, 3 * 2048);

        assert_int_equal(pool_geometry_init(&back, POOL_UUID, POOL_PV_UUID, 1, 512, 1000, E, 0, &msg), -ENOSPC);
        assert_non_null(strstr(msg, "cannot hold the 2048-sector metadata area"));
        free(msg);
        msg = NULL;
        assert_int_equal(pool_geometry_init(&back, POOL_UUID, POOL_PV_UUID, 1, 512, 1 << 21, 3 * E, 0, NULL), -EINVAL);
        assert_int_equal(pool_geometry_init(&back, POOL_UUID, POOL_PV_UUID, 1, 1024, 1 << 21, E, 0, NULL), -EINVAL);
        assert_int_equal(pool_geometry_init(&back, POOL_UUID, POOL_PV_UUID, 1, 512, 1 << 21, E, 5000, NULL), -EINVAL);

        /* corruptions */
        memcpy(other, buf, sizeof buf);
        assert_int_equal(pool_geometry_decode(other, 4095, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "geometry truncated"));
        free(msg);
        msg = NULL;
        other[1] = 'x';
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "geometry: bad magic"));
        free(msg);
        msg = NULL;
        memcpy(other, buf, sizeof buf);
        put32(other + 8, 9);
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EPROTONOSUPPORT);
        assert_non_null(strstr(msg, "geometry written by a newer Hearth (format 9)"));
        free(msg);
        msg = NULL;
        memcpy(other, buf, sizeof buf);
        other[4000] = 1;
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "geometry: checksum mismatch"));
        free(msg);
        msg = NULL;
        resum_geometry(other);
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "geometry: reserved bytes are not zero"));
        free(msg);
        msg = NULL;
        memcpy(other, buf, sizeof buf);
        put64(other + 88, 2047);
        resum_geometry(other);
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "geometry: data start 2047"));
        free(msg);
        msg = NULL;
        memcpy(other, buf, sizeof buf);
        put64(other + 56, 1024); /* smaller than the data start */
        resum_geometry(other);
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "lies past the end"));
        free(msg);
        msg = NULL;
        memcpy(other, buf, sizeof buf);
        put32(other + 52, 520);
        resum_geometry(other);
        assert_int_equal(pool_geometry_decode(other, sizeof other, &back, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "sector size 520"));
        free(msg);
        msg = NULL;

        /* primary / backup */
        memcpy(other, buf, sizeof buf);
        other[0] = 0;
        assert_int_equal(pool_geometry_pick(other, sizeof other, buf, sizeof buf, &back, &backup, NULL), 0);
        assert_true(backup);
        assert_int_equal(pool_geometry_pick(buf, sizeof buf, other, sizeof other, &back, &backup, NULL), 0);
        assert_false(backup);
        assert_int_equal(pool_geometry_pick(other, sizeof other, other, sizeof other, &back, NULL, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "no valid geometry: primary: geometry: bad magic"));
        free(msg);
        msg = NULL;
        pool_geometry_encode(&gh, other);
        assert_int_equal(pool_geometry_pick(buf, sizeof buf, other, sizeof other, &back, NULL, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "both valid but differ"));
        free(msg);
}

static void test_missing_pv(void **state) {
        PoolMetadata *md = make_md();
        PoolGeometry g[2], moved;
        char *msg = NULL;

        make_geometries(&g[0], &g[1]);
        assert_int_equal(pool_metadata_check_pvs(md, g, 2, &msg), 0);
        assert_null(msg);

        assert_int_equal(pool_metadata_check_pvs(md, g, 1, &msg), -ENODEV);
        assert_non_null(strstr(msg, "missing physical volume 1 (pool, UUID 33010203-0405-0607-0809-0a0b0c0d0e0f)"));
        free(msg);
        assert_int_equal(pool_metadata_check_pvs(md, &g[1], 1, &msg), -ENODEV);
        assert_non_null(strstr(msg, "missing physical volume 0 (home"));
        free(msg);

        /* the same PV twice */
        PoolGeometry twice[2] = { g[1], g[1] };
        assert_int_equal(pool_metadata_check_pvs(md, twice, 2, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "was found twice"));
        free(msg);

        /* a PV of another pool */
        moved = g[1];
        moved.pool_uuid[0] ^= 1;
        assert_int_equal(pool_metadata_check_geometry(md, &moved, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "belongs to another pool"));
        free(msg);

        /* placement disagreeing with the metadata: a release half done */
        moved = g[1];
        moved.first_extent = 2;
        moved.pv_size -= 2 * E;
        assert_int_equal(pool_metadata_check_geometry(md, &moved, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "an unfinished release?"));
        free(msg);

        moved = g[1];
        moved.pv_uuid[3] = 0x77;
        assert_int_equal(pool_metadata_check_geometry(md, &moved, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "physical volume 1: UUID"));
        free(msg);
        pool_metadata_free(md);
}

static void test_seq(void **state) {
        PoolMetadata *md = make_md();

        assert_int_equal(pool_metadata_bump_seq(md), 0);
        assert_int_equal(md->seq, 8);
        md->seq = UINT64_MAX;
        assert_int_equal(pool_metadata_bump_seq(md), -EOVERFLOW);
        assert_true(md->seq == UINT64_MAX);
        pool_metadata_free(md);
}

static void test_names(void **state) {
        assert_true(pool_volume_name_valid("home"));
        assert_true(pool_volume_name_valid("alice_1-x"));
        assert_true(pool_volume_name_valid("abcdefghijklmnopqrstuvwxyz012345"));
        assert_false(pool_volume_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
        assert_false(pool_volume_name_valid(""));
        assert_false(pool_volume_name_valid("Alice"));
        assert_false(pool_volume_name_valid("a/b"));
        assert_false(pool_volume_name_valid("a b"));
        assert_false(pool_volume_name_valid("é"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_encode_refuses),
                cmocka_unit_test(test_encode_too_big),
                cmocka_unit_test(test_header_corruptions),
                cmocka_unit_test(test_table_corruptions),
                cmocka_unit_test(test_structure_only),
                cmocka_unit_test(test_pick),
                cmocka_unit_test(test_geometry),
                cmocka_unit_test(test_missing_pv),
                cmocka_unit_test(test_seq),
                cmocka_unit_test(test_names),
        };

        log_set_max_level(LOG_CRIT); /* refusals are expected here */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
