/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "little-endian.h"
#include "pool-metadata.h"

#define COPY_MAGIC     "HEARTHMD"

/* Geometry block offsets (bytes). */
#define G_MAGIC        0
#define G_VERSION      8
#define G_STRUCT_SIZE  12
#define G_POOL_UUID    16
#define G_PV_UUID      32
#define G_PV_INDEX     48
#define G_SECTOR_SIZE  52
#define G_PV_SIZE      56
#define G_EXTENT_SIZE  64
#define G_MD_OFFSET    72
#define G_COPY_SIZE    80
#define G_DATA_START   88
#define G_FIRST_EXTENT 96
#define G_RESERVED     104
#define G_CHECKSUM     128
#define G_STRUCT_LEN   160U

/* Metadata copy header offsets (bytes). */
#define H_MAGIC        0
#define H_VERSION      8
#define H_HEADER_SIZE  12
#define H_SEQ          16
#define H_LENGTH       24
#define H_POOL_UUID    32
#define H_EXTENT_SIZE  48
#define H_PV_COUNT     56
#define H_VOLUME_COUNT 60
#define H_RUN_COUNT    64
#define H_FLAGS        68
#define H_RESERVED     72
#define H_CHECKSUM     96

/* PV entry. */
#define P_UUID         0
#define P_INDEX        16
#define P_ROLE         20
#define P_SIZE         24
#define P_DATA_START   32
#define P_FIRST_EXTENT 40
#define P_EXTENT_COUNT 48
#define P_RESERVED     56

/* Volume entry. */
#define V_NAME         0
#define V_UUID         32
#define V_FLAGS        48
#define V_RUN_COUNT    52
#define V_RESERVED     56

/* Run entry. */
#define R_PV           0
#define R_RESERVED     4
#define R_FIRST        8
#define R_COUNT        16

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* SHA-256 of buf[0, len) with the 32 bytes at csum_off taken as zero. */
static int sha256_skipping(const uint8_t *buf, size_t len, size_t csum_off, uint8_t out[32]) {
        static const uint8_t zero[32] = {};
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, buf, csum_off) == 1 &&
             EVP_DigestUpdate(ctx, zero, 32) == 1 &&
             EVP_DigestUpdate(ctx, buf + csum_off + 32, len - csum_off - 32) == 1 &&
             EVP_DigestFinal_ex(ctx, out, NULL) == 1;
        EVP_MD_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

_printf_(3, 4) static int fail(char **ret_error, int error, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return error;
}

static bool is_pow2(uint64_t v) {
        return v && !(v & (v - 1));
}

static bool extent_size_valid(uint64_t e) {
        return is_pow2(e) && e >= POOL_EXTENT_SIZE_MIN && e <= POOL_EXTENT_SIZE_MAX;
}

static bool uuid_is_null(const uint8_t u[16]) {
        return all_zero(u, 16);
}

/* ---- model ------------------------------------------------------------ */

char *pool_uuid_to_string(const uint8_t u[16], char buf[static 37]) {
        snprintf(buf, 37,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        return buf;
}

const char *pool_pv_role_to_string(PoolPvRole role) {
        switch (role) {
        case POOL_PV_POOL:
                return "pool";
        case POOL_PV_HOME:
                return "home";
        }
        return "unknown";
}

bool pool_volume_name_valid(const char *name) {
        size_t n = strnlen(name, POOL_NAME_MAX + 1);

        if (n == 0 || n > POOL_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

PoolMetadata *pool_metadata_free(PoolMetadata *md) {
        if (!md)
                return NULL;
        for (size_t i = 0; i < md->n_volumes; i++)
                free(md->volumes[i].runs);
        free(md->volumes);
        free(md);
        return NULL;
}

int pool_metadata_new(const uint8_t pool_uuid[16], uint64_t extent_size, PoolMetadata **ret) {
        if (!extent_size_valid(extent_size))
                return -EINVAL;
        PoolMetadata *md = calloc(1, sizeof *md);
        if (!md)
                return -ENOMEM;
        memcpy(md->pool_uuid, pool_uuid, 16);
        md->extent_size = extent_size;
        *ret = md;
        return 0;
}

int pool_metadata_dup(const PoolMetadata *md, PoolMetadata **ret) {
        _cleanup_pool_metadata_ PoolMetadata *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        memcpy(c->pool_uuid, md->pool_uuid, 16);
        c->seq = md->seq;
        c->extent_size = md->extent_size;
        memcpy(c->pvs, md->pvs, sizeof c->pvs);
        c->n_pvs = md->n_pvs;
        if (md->n_volumes > 0) {
                c->volumes = calloc(md->n_volumes, sizeof *c->volumes);
                if (!c->volumes)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < md->n_volumes; i++) {
                const PoolVolume *v = &md->volumes[i];
                PoolVolume *w = &c->volumes[i];

                *w = *v;
                w->runs = NULL;
                w->n_runs = 0;
                c->n_volumes = i + 1;
                if (v->n_runs > 0) {
                        w->runs = malloc(v->n_runs * sizeof *w->runs);
                        if (!w->runs)
                                return -ENOMEM;
                        memcpy(w->runs, v->runs, v->n_runs * sizeof *w->runs);
                        w->n_runs = v->n_runs;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

bool pool_metadata_equal(const PoolMetadata *a, const PoolMetadata *b) {
        if (memcmp(a->pool_uuid, b->pool_uuid, 16) != 0 || a->seq != b->seq ||
            a->extent_size != b->extent_size || a->n_pvs != b->n_pvs || a->n_volumes != b->n_volumes)
                return false;
        for (size_t i = 0; i < a->n_pvs; i++) {
                const PoolPv *p = &a->pvs[i], *q = &b->pvs[i];
                if (memcmp(p->uuid, q->uuid, 16) != 0 || p->index != q->index || p->role != q->role ||
                    p->size != q->size || p->data_start != q->data_start ||
                    p->first_extent != q->first_extent || p->extent_count != q->extent_count)
                        return false;
        }
        for (size_t i = 0; i < a->n_volumes; i++) {
                const PoolVolume *v = &a->volumes[i], *w = &b->volumes[i];
                if (strcmp(v->name, w->name) != 0 || memcmp(v->uuid, w->uuid, 16) != 0 ||
                    v->flags != w->flags || v->n_runs != w->n_runs)
                        return false;
                for (size_t j = 0; j < v->n_runs; j++)
                        if (v->runs[j].pv != w->runs[j].pv || v->runs[j].first != w->runs[j].first ||
                            v->runs[j].count != w->runs[j].count)
                                return false;
        }
        return true;
}

PoolVolume *pool_metadata_find_volume(const PoolMetadata *md, const char *name) {
        for (size_t i = 0; i < md->n_volumes; i++)
                if (strcmp(md->volumes[i].name, name) == 0)
                        return &md->volumes[i];
        return NULL;
}

bool pool_run_within_pv(const PoolRun *run, const PoolPv *pv) {
        return run->first >= pv->first_extent && run->first <= POOL_PV_SIZE_MAX && run->count <= POOL_PV_SIZE_MAX &&
               run->first + run->count <= pv->first_extent + pv->extent_count;
}

const PoolPv *pool_metadata_find_pv_role(const PoolMetadata *md, PoolPvRole role) {
        for (size_t i = 0; i < md->n_pvs; i++)
                if (md->pvs[i].role == role)
                        return &md->pvs[i];
        return NULL;
}

uint64_t pool_volume_extents(const PoolVolume *v) {
        uint64_t n = 0;
        for (size_t i = 0; i < v->n_runs; i++)
                n += v->runs[i].count;
        return n;
}

int pool_metadata_add_pv(PoolMetadata *md, const PoolGeometry *g, PoolPvRole role,
                         const uint8_t volume_uuid[16]) {
        if (md->n_pvs >= POOL_PVS_MAX || g->pv_index != md->n_pvs ||
            g->extent_size != md->extent_size || memcmp(g->pool_uuid, md->pool_uuid, 16) != 0 ||
            (role != POOL_PV_POOL && role != POOL_PV_HOME) || pool_metadata_find_pv_role(md, role))
                return -EINVAL;
        if (role == POOL_PV_HOME && (!volume_uuid || pool_metadata_find_volume(md, POOL_HOME_VOLUME) ||
                                     pool_geometry_extent_count(g) == 0))
                return -EINVAL;

        PoolPv pv = {
                .index = g->pv_index,
                .role = role,
                .size = g->pv_size,
                .data_start = g->data_start,
                .first_extent = g->first_extent,
                .extent_count = pool_geometry_extent_count(g),
        };
        memcpy(pv.uuid, g->pv_uuid, 16);

        if (role == POOL_PV_HOME) {
                PoolVolume *vs = reallocarray(md->volumes, md->n_volumes + 1, sizeof *vs);
                if (!vs)
                        return -ENOMEM;
                md->volumes = vs;
                PoolRun *run = malloc(sizeof *run);
                if (!run)
                        return -ENOMEM;
                *run = (PoolRun) { .pv = pv.index, .first = pv.first_extent, .count = pv.extent_count };
                PoolVolume *v = &vs[md->n_volumes++];
                *v = (PoolVolume) { .runs = run, .n_runs = 1 };
                strcpy(v->name, POOL_HOME_VOLUME);
                memcpy(v->uuid, volume_uuid, 16);
        }
        md->pvs[md->n_pvs++] = pv;
        return 0;
}

/* ---- validation ----------------------------------------------------------- */

typedef struct OwnedRange {
        uint32_t pv;
        uint64_t first, count;
        size_t volume;
} OwnedRange;

static int owned_range_cmp(const void *a, const void *b) {
        const OwnedRange *x = a, *y = b;
        if (x->pv != y->pv)
                return x->pv < y->pv ? -1 : 1;
        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return 0;
}

static int validate_pv(const PoolMetadata *md, size_t i, char **ret_error) {
        const PoolPv *pv = &md->pvs[i];
        char u[37];

        if (pv->index != i)
                return fail(ret_error, -EBADMSG, "physical volume %zu: index field says %" PRIu32, i, pv->index);
        if (pv->role != POOL_PV_POOL && pv->role != POOL_PV_HOME)
                return fail(ret_error, -EBADMSG, "physical volume %zu: unknown role %u", i, (unsigned) pv->role);
        if (uuid_is_null(pv->uuid))
                return fail(ret_error, -EBADMSG, "physical volume %zu: null UUID", i);
        if (pv->size > POOL_PV_SIZE_MAX)
                return fail(ret_error, -EBADMSG, "physical volume %zu: size %" PRIu64 " sectors is past the limit of %" PRIu64,
                            i, pv->size, POOL_PV_SIZE_MAX);
        if (pv->data_start < POOL_ALIGN_SECTORS || pv->data_start % POOL_ALIGN_SECTORS != 0)
                return fail(ret_error, -EBADMSG, "physical volume %zu: data start %" PRIu64 " is not a non-zero multiple of 1 MiB",
                            i, pv->data_start);
        if (pv->data_start > pv->size)
                return fail(ret_error, -EBADMSG, "physical volume %zu: data start %" PRIu64 " lies past its end (%" PRIu64 " sectors)",
                            i, pv->data_start, pv->size);
        if (pv->first_extent > POOL_PV_SIZE_MAX)
                return fail(ret_error, -EBADMSG, "physical volume %zu: first extent %" PRIu64 " is past the limit", i, pv->first_extent);
        if (pv->extent_count > (pv->size - pv->data_start) / md->extent_size)
                return fail(ret_error, -EBADMSG,
                            "physical volume %zu: %" PRIu64 " extents of %" PRIu64 " sectors do not fit in %" PRIu64 " sectors after data start %" PRIu64,
                            i, pv->extent_count, md->extent_size, pv->size, pv->data_start);
        if (pv->role == POOL_PV_HOME && pv->extent_count == 0)
                return fail(ret_error, -EBADMSG, "physical volume %zu: the home partition has no extents", i);
        for (size_t j = 0; j < i; j++) {
                if (memcmp(md->pvs[j].uuid, pv->uuid, 16) == 0)
                        return fail(ret_error, -EBADMSG, "physical volumes %zu and %zu have the same UUID %s",
                                    j, i, pool_uuid_to_string(pv->uuid, u));
                if (md->pvs[j].role == pv->role)
                        return fail(ret_error, -EBADMSG, "physical volumes %zu and %zu both have the role %s",
                                    j, i, pool_pv_role_to_string(pv->role));
        }
        return 0;
}

static int validate_structure(const PoolMetadata *md, char **ret_error) {
        char u[37];
        size_t total_runs = 0;
        int r;

        if (uuid_is_null(md->pool_uuid))
                return fail(ret_error, -EBADMSG, "null pool UUID");
        if (!extent_size_valid(md->extent_size))
                return fail(ret_error, -EBADMSG,
                            "extent size %" PRIu64 " sectors is not a power of two between 1 MiB and 16 GiB", md->extent_size);
        if (md->n_pvs == 0 || md->n_pvs > POOL_PVS_MAX)
                return fail(ret_error, -EBADMSG, "%zu physical volumes: between 1 and %u allowed", md->n_pvs, POOL_PVS_MAX);
        if (md->n_volumes > POOL_VOLUMES_MAX)
                return fail(ret_error, -EBADMSG, "%zu volumes: at most %u allowed", md->n_volumes, POOL_VOLUMES_MAX);
        for (size_t i = 0; i < md->n_pvs; i++) {
                r = validate_pv(md, i, ret_error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < md->n_volumes; i++) {
                const PoolVolume *v = &md->volumes[i];

                if (!pool_volume_name_valid(v->name))
                        return fail(ret_error, -EBADMSG, "volume %zu: invalid name (1-%u characters of a-z 0-9 _ -)", i, POOL_NAME_MAX);
                if (uuid_is_null(v->uuid))
                        return fail(ret_error, -EBADMSG, "volume %s: null UUID", v->name);
                if (v->flags & ~POOL_VOLUME_FLAGS_KNOWN)
                        return fail(ret_error, -EBADMSG, "volume %s: unknown flags 0x%" PRIx32, v->name, v->flags & ~POOL_VOLUME_FLAGS_KNOWN);
                if (v->n_runs == 0)
                        return fail(ret_error, -EBADMSG, "volume %s: has no extents", v->name);
                if (v->n_runs > POOL_RUNS_MAX - total_runs)
                        return fail(ret_error, -EBADMSG, "more than %u extent runs", POOL_RUNS_MAX);
                total_runs += v->n_runs;
                for (size_t j = 0; j < i; j++) {
                        if (strcmp(md->volumes[j].name, v->name) == 0)
                                return fail(ret_error, -EBADMSG, "two volumes are named %s", v->name);
                        if (memcmp(md->volumes[j].uuid, v->uuid, 16) == 0)
                                return fail(ret_error, -EBADMSG, "volumes %s and %s have the same UUID %s",
                                            md->volumes[j].name, v->name, pool_uuid_to_string(v->uuid, u));
                }
        }
        return 0;
}

static int validate_ownership(const PoolMetadata *md, char **ret_error) {
        _cleanup_free_ OwnedRange *all = NULL;
        size_t n = 0, total = 0;

        for (size_t i = 0; i < md->n_volumes; i++)
                total += md->volumes[i].n_runs;
        if (total > 0) {
                all = calloc(total, sizeof *all);
                if (!all)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < md->n_volumes; i++) {
                const PoolVolume *v = &md->volumes[i];
                for (size_t j = 0; j < v->n_runs; j++) {
                        const PoolRun *run = &v->runs[j];

                        if (run->pv >= md->n_pvs)
                                return fail(ret_error, -EBADMSG, "volume %s: run %zu references unknown physical volume %" PRIu32 " (%zu known)",
                                            v->name, j, run->pv, md->n_pvs);
                        const PoolPv *pv = &md->pvs[run->pv];
                        if (run->count == 0)
                                return fail(ret_error, -EBADMSG, "volume %s: run %zu is empty", v->name, j);
                        if (!pool_run_within_pv(run, pv))
                                return fail(ret_error, -EBADMSG,
                                            "volume %s: run %zu (extents %" PRIu64 "+%" PRIu64 ") lies outside physical volume %" PRIu32 " (extents %" PRIu64 "-%" PRIu64 ")",
                                            v->name, j, run->first, run->count, run->pv, pv->first_extent,
                                            pv->first_extent + pv->extent_count - (pv->extent_count > 0));
                        all[n++] = (OwnedRange) { .pv = run->pv, .first = run->first, .count = run->count, .volume = i };
                }
        }

        if (n > 1)
                qsort(all, n, sizeof *all, owned_range_cmp);
        for (size_t i = 1; i < n; i++) {
                const OwnedRange *a = &all[i - 1], *b = &all[i];
                if (a->pv != b->pv || a->first + a->count <= b->first)
                        continue;
                if (a->volume == b->volume)
                        return fail(ret_error, -EBADMSG, "volume %s: extent %" PRIu64 " of physical volume %" PRIu32 " is used twice",
                                    md->volumes[a->volume].name, b->first, b->pv);
                return fail(ret_error, -EBADMSG, "extent %" PRIu64 " of physical volume %" PRIu32 " is owned by both %s and %s",
                            b->first, b->pv, md->volumes[a->volume].name, md->volumes[b->volume].name);
        }

        const PoolPv *home_pv = pool_metadata_find_pv_role(md, POOL_PV_HOME);
        const PoolVolume *home = pool_metadata_find_volume(md, POOL_HOME_VOLUME);
        if (home_pv && !home)
                return fail(ret_error, -EBADMSG, "there is a home physical volume but no volume \"home\"");
        if (home) {
                if (!home_pv)
                        return fail(ret_error, -EBADMSG, "volume home: there is no home physical volume for its first run");
                if (home->n_runs == 0 || home->runs[0].pv != home_pv->index ||
                    home->runs[0].first != home_pv->first_extent || home->runs[0].count != home_pv->extent_count)
                        return fail(ret_error, -EBADMSG,
                                    "volume home: its first run is not the home partition's data area (physical volume %" PRIu32 ", extents %" PRIu64 "+%" PRIu64 ")",
                                    home_pv->index, home_pv->first_extent, home_pv->extent_count);
        }
        return 0;
}

int pool_metadata_validate(const PoolMetadata *md, char **ret_error) {
        if (ret_error)
                *ret_error = NULL;
        int r = validate_structure(md, ret_error);
        if (r < 0)
                return r;
        return validate_ownership(md, ret_error);
}

/* ---- metadata copies ------------------------------------------------------ */

int pool_metadata_bump_seq(PoolMetadata *md) {
        if (md->seq == UINT64_MAX)
                return -EOVERFLOW;
        md->seq++;
        return 0;
}

size_t pool_metadata_encoded_size(const PoolMetadata *md) {
        size_t runs = 0;
        for (size_t i = 0; i < md->n_volumes; i++)
                runs += md->volumes[i].n_runs;
        return POOL_HEADER_SIZE + md->n_pvs * POOL_PV_ENTRY_SIZE + md->n_volumes * POOL_VOLUME_ENTRY_SIZE +
               runs * POOL_RUN_ENTRY_SIZE;
}

int pool_metadata_encode(const PoolMetadata *md, size_t copy_size, uint8_t **ret, char **ret_error) {
        size_t len, runs = 0;
        int r;

        r = pool_metadata_validate(md, ret_error); /* resets *ret_error */
        if (r < 0)
                return r;
        if (copy_size < POOL_COPY_SIZE_MIN || copy_size > POOL_COPY_SIZE_MAX || copy_size % 4096 != 0)
                return fail(ret_error, -EINVAL, "metadata copy size %zu is not a multiple of 4 KiB between 16 KiB and 16 MiB", copy_size);
        len = pool_metadata_encoded_size(md);
        if (len > copy_size)
                return fail(ret_error, -E2BIG, "the metadata needs %zu bytes, a copy holds %zu", len, copy_size);
        for (size_t i = 0; i < md->n_volumes; i++)
                runs += md->volumes[i].n_runs;

        _cleanup_free_ uint8_t *buf = calloc(1, copy_size);
        if (!buf)
                return -ENOMEM;

        memcpy(buf + H_MAGIC, COPY_MAGIC, 8);
        put_le32(buf + H_VERSION, POOL_FORMAT_VERSION);
        put_le32(buf + H_HEADER_SIZE, POOL_HEADER_SIZE);
        put_le64(buf + H_SEQ, md->seq);
        put_le64(buf + H_LENGTH, len);
        memcpy(buf + H_POOL_UUID, md->pool_uuid, 16);
        put_le64(buf + H_EXTENT_SIZE, md->extent_size);
        put_le32(buf + H_PV_COUNT, (uint32_t) md->n_pvs);
        put_le32(buf + H_VOLUME_COUNT, (uint32_t) md->n_volumes);
        put_le32(buf + H_RUN_COUNT, (uint32_t) runs);
        put_le32(buf + H_FLAGS, 0);

        uint8_t *p = buf + POOL_HEADER_SIZE;
        for (size_t i = 0; i < md->n_pvs; i++, p += POOL_PV_ENTRY_SIZE) {
                const PoolPv *pv = &md->pvs[i];
                memcpy(p + P_UUID, pv->uuid, 16);
                put_le32(p + P_INDEX, pv->index);
                put_le32(p + P_ROLE, (uint32_t) pv->role);
                put_le64(p + P_SIZE, pv->size);
                put_le64(p + P_DATA_START, pv->data_start);
                put_le64(p + P_FIRST_EXTENT, pv->first_extent);
                put_le64(p + P_EXTENT_COUNT, pv->extent_count);
        }
        for (size_t i = 0; i < md->n_volumes; i++, p += POOL_VOLUME_ENTRY_SIZE) {
                const PoolVolume *v = &md->volumes[i];
                memcpy(p + V_NAME, v->name, strlen(v->name)); /* NUL padded by calloc */
                memcpy(p + V_UUID, v->uuid, 16);
                put_le32(p + V_FLAGS, v->flags);
                put_le32(p + V_RUN_COUNT, (uint32_t) v->n_runs);
        }
        for (size_t i = 0; i < md->n_volumes; i++)
                for (size_t j = 0; j < md->volumes[i].n_runs; j++, p += POOL_RUN_ENTRY_SIZE) {
                        const PoolRun *run = &md->volumes[i].runs[j];
                        put_le32(p + R_PV, run->pv);
                        put_le64(p + R_FIRST, run->first);
                        put_le64(p + R_COUNT, run->count);
                }

        uint8_t sum[32];
        r = sha256_skipping(buf, len, H_CHECKSUM, sum);
        if (r < 0)
                return r;
        memcpy(buf + H_CHECKSUM, sum, 32);

        *ret = TAKE_PTR(buf);
        return 0;
}

static int decode_copy(const uint8_t *buf, size_t size, PoolDecodeFlags flags, PoolMetadata **ret, char **ret_error) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        uint32_t version, header_size, n_pvs, n_volumes, n_runs;
        uint64_t length, expected;
        uint8_t sum[32];
        int r;

        if (size < POOL_HEADER_SIZE)
                return fail(ret_error, -EBADMSG, "truncated: %zu bytes, shorter than the %u-byte header", size, POOL_HEADER_SIZE);
        if (memcmp(buf + H_MAGIC, COPY_MAGIC, 8) != 0)
                return fail(ret_error, -EBADMSG, "bad magic: not a Hearth pool metadata copy");
        version = get_le32(buf + H_VERSION);
        if (version > POOL_FORMAT_VERSION)
                return fail(ret_error, -EPROTONOSUPPORT,
                            "written by a newer Hearth (format %" PRIu32 "); this one reads format %u", version, POOL_FORMAT_VERSION);
        if (version == 0)
                return fail(ret_error, -EBADMSG, "invalid format version 0");
        header_size = get_le32(buf + H_HEADER_SIZE);
        if (header_size != POOL_HEADER_SIZE)
                return fail(ret_error, -EBADMSG, "header size %" PRIu32 ", format 1 has %u", header_size, POOL_HEADER_SIZE);
        length = get_le64(buf + H_LENGTH);
        if (length < POOL_HEADER_SIZE || length > POOL_COPY_SIZE_MAX)
                return fail(ret_error, -EBADMSG, "length %" PRIu64 " is outside %u-%u bytes", length, POOL_HEADER_SIZE, POOL_COPY_SIZE_MAX);
        if (length > size)
                return fail(ret_error, -EBADMSG, "truncated: %zu bytes, the header says %" PRIu64, size, length);

        r = sha256_skipping(buf, (size_t) length, H_CHECKSUM, sum);
        if (r < 0)
                return r;
        if (memcmp(sum, buf + H_CHECKSUM, 32) != 0)
                return fail(ret_error, -EBADMSG, "checksum mismatch: the copy is corrupt");

        /* From here the bytes are what a writer wrote (or a deliberate forgery):
         * still check every field. */
        if (get_le32(buf + H_FLAGS) != 0)
                return fail(ret_error, -EBADMSG, "unknown header flags 0x%" PRIx32, get_le32(buf + H_FLAGS));
        if (!all_zero(buf + H_RESERVED, H_CHECKSUM - H_RESERVED))
                return fail(ret_error, -EBADMSG, "reserved header bytes are not zero");

        n_pvs = get_le32(buf + H_PV_COUNT);
        n_volumes = get_le32(buf + H_VOLUME_COUNT);
        n_runs = get_le32(buf + H_RUN_COUNT);
        if (n_pvs == 0 || n_pvs > POOL_PVS_MAX)
                return fail(ret_error, -EBADMSG, "%" PRIu32 " physical volumes: between 1 and %u allowed", n_pvs, POOL_PVS_MAX);
        if (n_volumes > POOL_VOLUMES_MAX)
                return fail(ret_error, -EBADMSG, "%" PRIu32 " volumes: at most %u allowed", n_volumes, POOL_VOLUMES_MAX);
        if (n_runs > POOL_RUNS_MAX)
                return fail(ret_error, -EBADMSG, "%" PRIu32 " extent runs: at most %u allowed", n_runs, POOL_RUNS_MAX);
        expected = POOL_HEADER_SIZE + (uint64_t) n_pvs * POOL_PV_ENTRY_SIZE +
                   (uint64_t) n_volumes * POOL_VOLUME_ENTRY_SIZE + (uint64_t) n_runs * POOL_RUN_ENTRY_SIZE;
        if (length != expected)
                return fail(ret_error, -EBADMSG, "length %" PRIu64 " does not match the tables (%" PRIu64 " bytes)", length, expected);

        md = calloc(1, sizeof *md);
        if (!md)
                return -ENOMEM;
        md->seq = get_le64(buf + H_SEQ);
        memcpy(md->pool_uuid, buf + H_POOL_UUID, 16);
        md->extent_size = get_le64(buf + H_EXTENT_SIZE);
        if (!extent_size_valid(md->extent_size))
                return fail(ret_error, -EBADMSG,
                            "extent size %" PRIu64 " sectors is not a power of two between 1 MiB and 16 GiB", md->extent_size);

        const uint8_t *p = buf + POOL_HEADER_SIZE;
        md->n_pvs = n_pvs;
        for (size_t i = 0; i < n_pvs; i++, p += POOL_PV_ENTRY_SIZE) {
                PoolPv *pv = &md->pvs[i];
                memcpy(pv->uuid, p + P_UUID, 16);
                pv->index = get_le32(p + P_INDEX);
                pv->role = (PoolPvRole) get_le32(p + P_ROLE);
                pv->size = get_le64(p + P_SIZE);
                pv->data_start = get_le64(p + P_DATA_START);
                pv->first_extent = get_le64(p + P_FIRST_EXTENT);
                pv->extent_count = get_le64(p + P_EXTENT_COUNT);
                if (!all_zero(p + P_RESERVED, POOL_PV_ENTRY_SIZE - P_RESERVED))
                        return fail(ret_error, -EBADMSG, "physical volume %zu: reserved bytes are not zero", i);
                r = validate_pv(md, i, ret_error);
                if (r < 0)
                        return r;
        }

        if (n_volumes > 0) {
                md->volumes = calloc(n_volumes, sizeof *md->volumes);
                if (!md->volumes)
                        return -ENOMEM;
        }
        uint64_t runs_claimed = 0;
        for (size_t i = 0; i < n_volumes; i++, p += POOL_VOLUME_ENTRY_SIZE) {
                PoolVolume *v = &md->volumes[i];
                size_t nlen = strnlen((const char *) p + V_NAME, POOL_NAME_MAX);

                md->n_volumes = i + 1;
                if (nlen == 0)
                        return fail(ret_error, -EBADMSG, "volume %zu: empty name", i);
                if (!all_zero(p + V_NAME + nlen, POOL_NAME_MAX - nlen))
                        return fail(ret_error, -EBADMSG, "volume %zu: bytes after the name's end are not zero", i);
                memcpy(v->name, p + V_NAME, nlen);
                v->name[nlen] = 0;
                if (!pool_volume_name_valid(v->name))
                        return fail(ret_error, -EBADMSG, "volume %zu: invalid name (1-%u characters of a-z 0-9 _ -)", i, POOL_NAME_MAX);
                memcpy(v->uuid, p + V_UUID, 16);
                v->flags = get_le32(p + V_FLAGS);
                uint32_t vr = get_le32(p + V_RUN_COUNT);
                if (!all_zero(p + V_RESERVED, POOL_VOLUME_ENTRY_SIZE - V_RESERVED))
                        return fail(ret_error, -EBADMSG, "volume %s: reserved bytes are not zero", v->name);
                if (vr > n_runs - runs_claimed)
                        return fail(ret_error, -EBADMSG, "volume %s: %" PRIu32 " runs, more than the run table holds (%" PRIu32 ")",
                                    v->name, vr, n_runs);
                runs_claimed += vr;
                v->n_runs = vr; /* filled below */
        }
        if (runs_claimed != n_runs)
                return fail(ret_error, -EBADMSG, "the volumes claim %" PRIu64 " runs, the run table holds %" PRIu32, runs_claimed, n_runs);

        for (size_t i = 0; i < n_volumes; i++) {
                PoolVolume *v = &md->volumes[i];
                size_t nr = v->n_runs;

                v->n_runs = 0;
                if (nr == 0)
                        continue;
                v->runs = calloc(nr, sizeof *v->runs);
                if (!v->runs)
                        return -ENOMEM;
                v->n_runs = nr;
                for (size_t j = 0; j < nr; j++, p += POOL_RUN_ENTRY_SIZE) {
                        if (get_le32(p + R_RESERVED) != 0)
                                return fail(ret_error, -EBADMSG, "volume %s: run %zu: reserved bytes are not zero", v->name, j);
                        v->runs[j] = (PoolRun) {
                                .pv = get_le32(p + R_PV),
                                .first = get_le64(p + R_FIRST),
                                .count = get_le64(p + R_COUNT),
                        };
                }
        }

        r = validate_structure(md, ret_error);
        if (r < 0)
                return r;
        if (!(flags & POOL_DECODE_STRUCTURE_ONLY)) {
                r = validate_ownership(md, ret_error);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(md);
        return 0;
}

int pool_metadata_decode_full(const void *buf, size_t size, PoolDecodeFlags flags,
                              PoolMetadata **ret, char **ret_error) {
        if (ret_error)
                *ret_error = NULL;
        if (!buf)
                size = 0;
        return decode_copy(buf, size, flags, ret, ret_error);
}

int pool_metadata_decode(const void *buf, size_t size, PoolMetadata **ret, char **ret_error) {
        return pool_metadata_decode_full(buf, size, 0, ret, ret_error);
}

void pool_pick_done(PoolPick *p) {
        if (!p)
                return;
        p->reason[0] = mfree(p->reason[0]);
        p->reason[1] = mfree(p->reason[1]);
}

int pool_metadata_pick(const void *a, size_t a_size, const void *b, size_t b_size,
                       PoolMetadata **ret, PoolPick *ret_pick, char **ret_error) {
        _cleanup_pool_metadata_ PoolMetadata *ma = NULL, *mb = NULL;
        PoolPick pick = {};
        int r;

        if (ret_error)
                *ret_error = NULL;
        pick.error[0] = pool_metadata_decode(a, a_size, &ma, &pick.reason[0]);
        pick.error[1] = pool_metadata_decode(b, b_size, &mb, &pick.reason[1]);
        for (unsigned i = 0; i < 2; i++) {
                if (pick.error[i] >= 0)
                        pick.error[i] = 0;
                else if (!pick.reason[i])
                        pick.reason[i] = strdup("cannot be decoded"); /* -ENOMEM and such; NULL is tolerated */
        }
        if (ma)
                pick.seq[0] = ma->seq;
        if (mb)
                pick.seq[1] = mb->seq;

        if (!ma && !mb) {
                r = pick.error[0] == -EPROTONOSUPPORT || pick.error[1] == -EPROTONOSUPPORT ? -EPROTONOSUPPORT : pick.error[0];
                fail(ret_error, r, "no valid metadata copy: copy A: %s; copy B: %s",
                     pick.reason[0] ?: "?", pick.reason[1] ?: "?");
                goto finish;
        }
        if (ma && mb && ma->seq == mb->seq && !pool_metadata_equal(ma, mb)) {
                r = fail(ret_error, -EBADMSG,
                         "copies A and B both have sequence number %" PRIu64 " but differ: the metadata is corrupt", ma->seq);
                goto finish;
        }

        if (ma && (!mb || ma->seq >= mb->seq))
                pick.current = 0;
        else
                pick.current = 1;
        pick.inactive = 1 - pick.current;
        pick.other_stale = !ma || !mb || ma->seq != mb->seq;
        if (ret)
                *ret = pick.current == 0 ? TAKE_PTR(ma) : TAKE_PTR(mb);
        r = 0;

finish:
        if (ret_pick)
                *ret_pick = pick;
        else
                pool_pick_done(&pick);
        return r;
}

/* ---- geometry ------------------------------------------------------------ */

static uint64_t metadata_end_sectors(uint64_t copy_size) {
        return (POOL_METADATA_OFFSET + 2 * copy_size) / POOL_SECTOR_SIZE;
}

static uint64_t align_up(uint64_t v, uint64_t a) {
        return (v + a - 1) / a * a;
}

uint64_t pool_geometry_extent_count(const PoolGeometry *g) {
        if (g->extent_size == 0 || g->data_start > g->pv_size)
                return 0;
        return (g->pv_size - g->data_start) / g->extent_size;
}

static int geometry_check(const PoolGeometry *g, char **ret_error) {
        if (uuid_is_null(g->pool_uuid))
                return fail(ret_error, -EBADMSG, "geometry: null pool UUID");
        if (uuid_is_null(g->pv_uuid))
                return fail(ret_error, -EBADMSG, "geometry: null physical volume UUID");
        if (g->pv_index >= POOL_PVS_MAX)
                return fail(ret_error, -EBADMSG, "geometry: physical volume index %" PRIu32 " is past the limit of %u", g->pv_index, POOL_PVS_MAX);
        if (g->sector_size != 512 && g->sector_size != 4096)
                return fail(ret_error, -EBADMSG, "geometry: sector size %" PRIu32 " is neither 512 nor 4096", g->sector_size);
        if (g->pv_size > POOL_PV_SIZE_MAX)
                return fail(ret_error, -EBADMSG, "geometry: size %" PRIu64 " sectors is past the limit of %" PRIu64, g->pv_size, POOL_PV_SIZE_MAX);
        if (g->pv_size % (g->sector_size / POOL_SECTOR_SIZE) != 0)
                return fail(ret_error, -EBADMSG, "geometry: size %" PRIu64 " sectors is not a multiple of the %" PRIu32 "-byte sector",
                            g->pv_size, g->sector_size);
        if (!extent_size_valid(g->extent_size))
                return fail(ret_error, -EBADMSG,
                            "geometry: extent size %" PRIu64 " sectors is not a power of two between 1 MiB and 16 GiB", g->extent_size);
        if (g->metadata_offset != POOL_METADATA_OFFSET)
                return fail(ret_error, -EBADMSG, "geometry: metadata offset %" PRIu64 ", format 1 puts it at %u",
                            g->metadata_offset, POOL_METADATA_OFFSET);
        if (g->metadata_copy_size < POOL_COPY_SIZE_MIN || g->metadata_copy_size > POOL_COPY_SIZE_MAX ||
            g->metadata_copy_size % 4096 != 0)
                return fail(ret_error, -EBADMSG, "geometry: metadata copy size %" PRIu64 " is not a multiple of 4 KiB between 16 KiB and 16 MiB",
                            g->metadata_copy_size);
        if (g->data_start % POOL_ALIGN_SECTORS != 0 || g->data_start < metadata_end_sectors(g->metadata_copy_size))
                return fail(ret_error, -EBADMSG, "geometry: data start %" PRIu64 " is not 1 MiB aligned after the metadata area",
                            g->data_start);
        if (g->data_start > g->pv_size)
                return fail(ret_error, -EBADMSG, "geometry: data start %" PRIu64 " lies past the end (%" PRIu64 " sectors)",
                            g->data_start, g->pv_size);
        if (g->first_extent > POOL_PV_SIZE_MAX)
                return fail(ret_error, -EBADMSG, "geometry: first extent %" PRIu64 " is past the limit", g->first_extent);
        return 0;
}

int pool_geometry_init(PoolGeometry *g,
                       const uint8_t pool_uuid[16], const uint8_t pv_uuid[16], uint32_t pv_index,
                       uint32_t sector_size, uint64_t pv_size, uint64_t extent_size,
                       uint64_t copy_size, char **ret_error) {
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (copy_size == 0)
                copy_size = POOL_COPY_SIZE_DEFAULT;
        *g = (PoolGeometry) {
                .pv_index = pv_index,
                .sector_size = sector_size,
                .pv_size = pv_size,
                .extent_size = extent_size,
                .metadata_offset = POOL_METADATA_OFFSET,
                .metadata_copy_size = copy_size,
                .first_extent = 0,
        };
        memcpy(g->pool_uuid, pool_uuid, 16);
        memcpy(g->pv_uuid, pv_uuid, 16);
        if (copy_size < POOL_COPY_SIZE_MIN || copy_size > POOL_COPY_SIZE_MAX || copy_size % 4096 != 0)
                return fail(ret_error, -EINVAL, "metadata copy size %" PRIu64 " is not a multiple of 4 KiB between 16 KiB and 16 MiB",
                            copy_size);
        g->data_start = align_up(metadata_end_sectors(copy_size), POOL_ALIGN_SECTORS);
        if (g->data_start > pv_size)
                return fail(ret_error, -ENOSPC, "%" PRIu64 " sectors cannot hold the %" PRIu64 "-sector metadata area",
                            pv_size, g->data_start);
        r = geometry_check(g, ret_error);
        return r == -EBADMSG ? -EINVAL : r;
}

void pool_geometry_encode(const PoolGeometry *g, uint8_t buf[static POOL_GEOMETRY_SIZE]) {
        uint8_t sum[32];

        memset(buf, 0, POOL_GEOMETRY_SIZE);
        memcpy(buf + G_MAGIC, POOL_GEOMETRY_MAGIC, 8);
        put_le32(buf + G_VERSION, POOL_FORMAT_VERSION);
        put_le32(buf + G_STRUCT_SIZE, G_STRUCT_LEN);
        memcpy(buf + G_POOL_UUID, g->pool_uuid, 16);
        memcpy(buf + G_PV_UUID, g->pv_uuid, 16);
        put_le32(buf + G_PV_INDEX, g->pv_index);
        put_le32(buf + G_SECTOR_SIZE, g->sector_size);
        put_le64(buf + G_PV_SIZE, g->pv_size);
        put_le64(buf + G_EXTENT_SIZE, g->extent_size);
        put_le64(buf + G_MD_OFFSET, g->metadata_offset);
        put_le64(buf + G_COPY_SIZE, g->metadata_copy_size);
        put_le64(buf + G_DATA_START, g->data_start);
        put_le64(buf + G_FIRST_EXTENT, g->first_extent);
        if (sha256_skipping(buf, POOL_GEOMETRY_SIZE, G_CHECKSUM, sum) < 0)
                memset(sum, 0xff, sizeof sum); /* cannot happen short of OOM; never verifies */
        memcpy(buf + G_CHECKSUM, sum, 32);
}

int pool_geometry_decode(const void *data, size_t size, PoolGeometry *ret, char **ret_error) {
        const uint8_t *buf = data;
        PoolGeometry g = {};
        uint8_t sum[32];
        uint32_t version;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!buf || size < POOL_GEOMETRY_SIZE)
                return fail(ret_error, -EBADMSG, "geometry truncated: %zu bytes, it has %u", buf ? size : 0, POOL_GEOMETRY_SIZE);
        if (memcmp(buf + G_MAGIC, POOL_GEOMETRY_MAGIC, 8) != 0)
                return fail(ret_error, -EBADMSG, "geometry: bad magic: not a Hearth pool physical volume");
        version = get_le32(buf + G_VERSION);
        if (version > POOL_FORMAT_VERSION)
                return fail(ret_error, -EPROTONOSUPPORT,
                            "geometry written by a newer Hearth (format %" PRIu32 "); this one reads format %u", version, POOL_FORMAT_VERSION);
        if (version == 0)
                return fail(ret_error, -EBADMSG, "geometry: invalid format version 0");
        r = sha256_skipping(buf, POOL_GEOMETRY_SIZE, G_CHECKSUM, sum);
        if (r < 0)
                return r;
        if (memcmp(sum, buf + G_CHECKSUM, 32) != 0)
                return fail(ret_error, -EBADMSG, "geometry: checksum mismatch: the block is corrupt");
        if (get_le32(buf + G_STRUCT_SIZE) != G_STRUCT_LEN)
                return fail(ret_error, -EBADMSG, "geometry: structure size %" PRIu32 ", format 1 has %u",
                            get_le32(buf + G_STRUCT_SIZE), G_STRUCT_LEN);
        if (!all_zero(buf + G_RESERVED, G_CHECKSUM - G_RESERVED) || !all_zero(buf + G_STRUCT_LEN, POOL_GEOMETRY_SIZE - G_STRUCT_LEN))
                return fail(ret_error, -EBADMSG, "geometry: reserved bytes are not zero");

        memcpy(g.pool_uuid, buf + G_POOL_UUID, 16);
        memcpy(g.pv_uuid, buf + G_PV_UUID, 16);
        g.pv_index = get_le32(buf + G_PV_INDEX);
        g.sector_size = get_le32(buf + G_SECTOR_SIZE);
        g.pv_size = get_le64(buf + G_PV_SIZE);
        g.extent_size = get_le64(buf + G_EXTENT_SIZE);
        g.metadata_offset = get_le64(buf + G_MD_OFFSET);
        g.metadata_copy_size = get_le64(buf + G_COPY_SIZE);
        g.data_start = get_le64(buf + G_DATA_START);
        g.first_extent = get_le64(buf + G_FIRST_EXTENT);
        r = geometry_check(&g, ret_error);
        if (r < 0)
                return r;
        *ret = g;
        return 0;
}

int pool_geometry_pick(const void *primary, size_t primary_size, const void *backup, size_t backup_size,
                       PoolGeometry *ret, bool *ret_used_backup, char **ret_error) {
        _cleanup_free_ char *e0 = NULL, *e1 = NULL;
        PoolGeometry g0, g1;
        int r0, r1;

        if (ret_error)
                *ret_error = NULL;
        r0 = pool_geometry_decode(primary, primary_size, &g0, &e0);
        r1 = pool_geometry_decode(backup, backup_size, &g1, &e1);
        if (r0 < 0 && r1 < 0)
                return fail(ret_error, r0 == -EPROTONOSUPPORT || r1 == -EPROTONOSUPPORT ? -EPROTONOSUPPORT : r0,
                            "no valid geometry: primary: %s; backup: %s", e0 ?: "?", e1 ?: "?");
        if (r0 >= 0 && r1 >= 0 && memcmp(primary, backup, POOL_GEOMETRY_SIZE) != 0)
                return fail(ret_error, -EBADMSG, "the primary and backup geometry blocks are both valid but differ");
        if (ret)
                *ret = r0 >= 0 ? g0 : g1;
        if (ret_used_backup)
                *ret_used_backup = r0 < 0;
        return 0;
}

int pool_metadata_check_geometry(const PoolMetadata *md, const PoolGeometry *g, char **ret_error) {
        char u[37];

        if (ret_error)
                *ret_error = NULL;

        if (memcmp(md->pool_uuid, g->pool_uuid, 16) != 0)
                return fail(ret_error, -EBADMSG, "physical volume %s belongs to another pool (%s)",
                            pool_uuid_to_string(g->pv_uuid, u), pool_uuid_to_string(g->pool_uuid, (char[37]) {}));
        if (g->pv_index >= md->n_pvs)
                return fail(ret_error, -EBADMSG, "physical volume %s has index %" PRIu32 ", the metadata knows %zu",
                            pool_uuid_to_string(g->pv_uuid, u), g->pv_index, md->n_pvs);
        const PoolPv *pv = &md->pvs[g->pv_index];
        if (memcmp(pv->uuid, g->pv_uuid, 16) != 0)
                return fail(ret_error, -EBADMSG, "physical volume %" PRIu32 ": UUID %s, the metadata says %s",
                            g->pv_index, pool_uuid_to_string(g->pv_uuid, u), pool_uuid_to_string(pv->uuid, (char[37]) {}));
        if (g->extent_size != md->extent_size)
                return fail(ret_error, -EBADMSG, "physical volume %" PRIu32 ": extent size %" PRIu64 ", the metadata says %" PRIu64,
                            g->pv_index, g->extent_size, md->extent_size);
        if (g->pv_size != pv->size || g->data_start != pv->data_start || g->first_extent != pv->first_extent)
                return fail(ret_error, -EBADMSG,
                            "physical volume %" PRIu32 ": placed as %" PRIu64 " sectors, data at %" PRIu64 ", first extent %" PRIu64
                            "; the metadata says %" PRIu64 ", %" PRIu64 ", %" PRIu64 " (an unfinished release?)",
                            g->pv_index, g->pv_size, g->data_start, g->first_extent, pv->size, pv->data_start, pv->first_extent);
        if (pv->first_extent + pv->extent_count > g->first_extent + pool_geometry_extent_count(g))
                return fail(ret_error, -EBADMSG, "physical volume %" PRIu32 ": the metadata's extents run past its end", g->pv_index);
        return 0;
}

int pool_metadata_check_pvs(const PoolMetadata *md, const PoolGeometry *found, size_t n_found, char **ret_error) {
        char u[37];
        int r;

        if (ret_error)
                *ret_error = NULL;
        for (size_t i = 0; i < n_found; i++) {
                r = pool_metadata_check_geometry(md, &found[i], ret_error);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (found[j].pv_index == found[i].pv_index)
                                return fail(ret_error, -EBADMSG, "physical volume %" PRIu32 " (UUID %s) was found twice",
                                            found[i].pv_index, pool_uuid_to_string(found[i].pv_uuid, u));
        }
        for (size_t i = 0; i < md->n_pvs; i++) {
                bool seen = false;
                for (size_t j = 0; j < n_found && !seen; j++)
                        seen = found[j].pv_index == i;
                if (!seen)
                        return fail(ret_error, -ENODEV, "missing physical volume %zu (%s, UUID %s)",
                                    i, pool_pv_role_to_string(md->pvs[i].role), pool_uuid_to_string(md->pvs[i].uuid, u));
        }
        return 0;
}
