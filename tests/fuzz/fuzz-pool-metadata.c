/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the extent pool's metadata decoder (storage/pool/pool-metadata.c)
 * and everything that runs on what it accepts (check, tables, allocator).
 *
 * Each input is decoded twice: as it is (which mostly exercises the header
 * and checksum checks), and with its SHA-256 fixed up from its own length
 * field, so that mutations reach the table validation behind the checksum.
 * The first 4096 bytes are also tried as a geometry block, both ways.
 *
 * Invariants checked (abort on violation):
 *   - every refusal says why;
 *   - what the strict decoder accepts survives encode + decode unchanged,
 *     pool_check() finds nothing wrong in it, and every volume gets a
 *     dm-linear table at 512- and 4096-byte sectors;
 *   - an accepted geometry block re-encodes to the same bytes;
 *   - grow, shrink and release keep accepted metadata valid, or fail
 *     leaving it unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "pool-alloc.h"
#include "pool-metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static void fix_sum(uint8_t *buf, size_t len, size_t off) {
        unsigned int n = 0;
        memset(buf + off, 0, 32);
        if (EVP_Digest(buf, len, buf + off, &n, EVP_sha256(), NULL) != 1)
                abort();
}

static void check_invariants(const PoolMetadata *md) {
        PoolCheckReport rep = {};
        PoolMetadata *again = NULL, *work = NULL;
        uint8_t *enc = NULL;
        char *err = NULL;
        size_t copy;

        /* Accepted metadata is internally consistent. */
        if (pool_check(md, NULL, 0, &rep) != 0)
                abort();
        pool_check_report_done(&rep);

        /* And survives a round trip. */
        copy = (pool_metadata_encoded_size(md) + 4095) / 4096 * 4096;
        if (copy < POOL_COPY_SIZE_MIN)
                copy = POOL_COPY_SIZE_MIN;
        if (pool_metadata_encode(md, copy, &enc, &err) < 0)
                abort();
        if (pool_metadata_decode(enc, copy, &again, &err) < 0 || !pool_metadata_equal(md, again))
                abort();
        free(enc);
        pool_metadata_free(again);

        /* Tables of every volume at both sector sizes. */
        for (size_t i = 0; i < md->n_volumes; i++)
                for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                        PoolTarget *t = NULL;
                        size_t n = 0;
                        /* valid metadata always makes a valid table */
                        if (pool_volume_table(md, md->volumes[i].name, ss, &t, &n) < 0 || n == 0)
                                abort();
                        free(t);
                }

        /* The allocator keeps it valid. */
        if (pool_metadata_dup(md, &work) < 0)
                return;
        for (size_t i = 0; i < md->n_volumes && i < 4; i++) {
                const char *name = md->volumes[i].name;
                (void) pool_volume_grow(work, name, 1 + i);
                (void) pool_volume_shrink(work, name, 1);
        }
        uint64_t rel = 0;
        if (pool_releasable(work, &rel) >= 0 && rel > 0 && pool_release(work, rel, NULL) < 0)
                abort();
        if (pool_metadata_validate(work, &err) < 0)
                abort();
        pool_metadata_free(work);
}

static void try_copy(const uint8_t *buf, size_t size) {
        PoolMetadata *md = NULL;
        char *err = NULL;
        int r;

        r = pool_metadata_decode(buf, size, &md, &err);
        if (r >= 0) {
                if (err)
                        abort();
                check_invariants(md);
                pool_metadata_free(md);
        } else if (!err && r != -ENOMEM)
                abort();
        free(err);
        err = NULL;

        /* The lenient decode must be safe to feed to pool_check(). */
        r = pool_metadata_decode_full(buf, size, POOL_DECODE_STRUCTURE_ONLY, &md, &err);
        if (r >= 0) {
                PoolCheckReport rep = {};
                if (pool_check(md, NULL, 0, &rep) >= 0)
                        pool_check_report_done(&rep);
                pool_metadata_free(md);
        }
        free(err);
}

static void try_geometry(const uint8_t *buf, size_t size) {
        PoolGeometry g;
        char *err = NULL;
        int r = pool_geometry_decode(buf, size, &g, &err);

        if (r >= 0) {
                uint8_t again[POOL_GEOMETRY_SIZE];
                pool_geometry_encode(&g, again);
                if (memcmp(again, buf, POOL_GEOMETRY_SIZE) != 0)
                        abort();
        } else if (!err)
                abort();
        free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_max_level(0);

        try_copy(data, size);
        try_geometry(data, size);

        /* A/B pick over the two halves. */
        PoolMetadata *md = NULL;
        PoolPick pick = {};
        char *err = NULL;
        if (pool_metadata_pick(data, size / 2, data + size / 2, size - size / 2, &md, &pick, &err) < 0 && !err)
                abort();
        pool_pick_done(&pick);
        pool_metadata_free(md);
        free(err);

        if (size >= POOL_HEADER_SIZE) {
                uint8_t *fixed = malloc(size);
                if (!fixed)
                        return 0;
                memcpy(fixed, data, size);
                uint64_t len = le64(fixed + 24);
                if (len >= POOL_HEADER_SIZE && len <= size) {
                        fix_sum(fixed, (size_t) len, 96);
                        try_copy(fixed, size);
                }
                if (size >= POOL_GEOMETRY_SIZE) {
                        memcpy(fixed, data, POOL_GEOMETRY_SIZE);
                        fix_sum(fixed, POOL_GEOMETRY_SIZE, 128);
                        try_geometry(fixed, size);
                }
                free(fixed);
        }
        return 0;
}
