/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The extent pool's on-disk metadata: the in-memory model, and the explicit
 * little-endian codec for the geometry block and the A/B metadata copies.
 * The format is described byte by byte in docs/POOL-FORMAT.md. Nothing
 * here does I/O: callers read and write the buffers.
 *
 * All sizes and offsets are in 512-byte sectors unless a name says bytes.
 * Decoders treat their input as hostile: on failure they return a negative
 * errno and, if ret_error is given, one line saying which rule was broken
 * (the caller logs it, prefixed with the device and the copy). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define POOL_FORMAT_VERSION        1U

#define POOL_SECTOR_SIZE           512U
#define POOL_ALIGN_SECTORS         UINT64_C(2048)        /* 1 MiB */
#define POOL_EXTENT_SIZE_DEFAULT   UINT64_C(131072)      /* 64 MiB, in sectors */
#define POOL_EXTENT_SIZE_MIN       POOL_ALIGN_SECTORS    /* 1 MiB */
#define POOL_EXTENT_SIZE_MAX       (UINT64_C(1) << 25)   /* 16 GiB */

#define POOL_GEOMETRY_MAGIC        "HEARTHPV"            /* 8 bytes at the start of a geometry block */
#define POOL_GEOMETRY_SIZE         4096U                 /* bytes, each copy */
#define POOL_GEOMETRY_PRIMARY      4096U                 /* byte offsets in the PV */
#define POOL_GEOMETRY_BACKUP       8192U
#define POOL_METADATA_OFFSET       12288U                /* byte offset of copy A */
#define POOL_COPY_SIZE_DEFAULT     (256U * 1024U)        /* bytes, each copy */
#define POOL_COPY_SIZE_MIN         (16U * 1024U)
#define POOL_COPY_SIZE_MAX         (16U * 1024U * 1024U)

#define POOL_HEADER_SIZE           128U                  /* bytes */
#define POOL_PV_ENTRY_SIZE         64U
#define POOL_VOLUME_ENTRY_SIZE     64U
#define POOL_RUN_ENTRY_SIZE        24U

#define POOL_PVS_MAX               8U
#define POOL_VOLUMES_MAX           1024U
#define POOL_RUNS_MAX              16384U
#define POOL_NAME_MAX              32U
#define POOL_PV_SIZE_MAX           (UINT64_C(1) << 48)   /* sectors: 128 PiB */

#define POOL_HOME_VOLUME           "home"

typedef enum PoolPvRole {
        POOL_PV_POOL = 1, /* the pool partition between root and home */
        POOL_PV_HOME = 2, /* the home partition: its extents are home's first run */
} PoolPvRole;

/* Volume flags (informational; unknown bits are refused). */
#define POOL_VOLUME_LUKS           UINT32_C(0x1)  /* carries a LUKS home */
#define POOL_VOLUME_FLAGS_KNOWN    POOL_VOLUME_LUKS

typedef struct PoolPv {
        uint8_t uuid[16];
        uint32_t index;         /* equal to its position in PoolMetadata.pvs */
        PoolPvRole role;
        uint64_t size;          /* sectors: the partition's size this metadata expects */
        uint64_t data_start;    /* sectors from the partition start to extent first_extent */
        uint64_t first_extent;  /* lowest usable extent index (raised by release) */
        uint64_t extent_count;  /* usable extents: first_extent … first_extent+extent_count-1 */
} PoolPv;

typedef struct PoolRun {
        uint32_t pv;            /* index into PoolMetadata.pvs */
        uint64_t first;         /* extent index on that PV */
        uint64_t count;         /* ≥ 1 */
} PoolRun;

typedef struct PoolVolume {
        char name[POOL_NAME_MAX + 1];
        uint8_t uuid[16];
        uint32_t flags;
        PoolRun *runs;          /* in logical order */
        size_t n_runs;
} PoolVolume;

typedef struct PoolMetadata {
        uint8_t pool_uuid[16];
        uint64_t seq;
        uint64_t extent_size;   /* sectors */
        PoolPv pvs[POOL_PVS_MAX];
        size_t n_pvs;
        PoolVolume *volumes;
        size_t n_volumes;
} PoolMetadata;

/* The geometry block: where this PV's metadata and data lie. Written when a
 * PV is placed (init, or release moving the pool PV's start), never updated
 * in place. */
typedef struct PoolGeometry {
        uint8_t pool_uuid[16];
        uint8_t pv_uuid[16];
        uint32_t pv_index;
        uint32_t sector_size;   /* bytes: 512 or 4096 */
        uint64_t pv_size;       /* sectors */
        uint64_t extent_size;   /* sectors */
        uint64_t metadata_offset;    /* bytes: copy A; copy B follows it */
        uint64_t metadata_copy_size; /* bytes */
        uint64_t data_start;    /* sectors */
        uint64_t first_extent;  /* index of the extent at data_start */
} PoolGeometry;

/* ---- model ------------------------------------------------------------ */

PoolMetadata *pool_metadata_free(PoolMetadata *md);
static inline void pool_metadata_freep(PoolMetadata **md) {
        pool_metadata_free(*md);
}
#define _cleanup_pool_metadata_ _cleanup_(pool_metadata_freep)

/* An empty pool (no PVs, no volumes, seq 0). extent_size in sectors. */
int pool_metadata_new(const uint8_t pool_uuid[16], uint64_t extent_size, PoolMetadata **ret);
int pool_metadata_dup(const PoolMetadata *md, PoolMetadata **ret);
/* Same tables (seq included). */
bool pool_metadata_equal(const PoolMetadata *a, const PoolMetadata *b);

/* Appends a PV described by its geometry (index = geometry's pv_index, which
 * must be the next free position). A home PV also gets the volume "home"
 * with its whole data area as the first run (volume_uuid names it). */
int pool_metadata_add_pv(PoolMetadata *md, const PoolGeometry *g, PoolPvRole role,
                         const uint8_t volume_uuid[16]);

/* The pointer stays valid until a volume is created or removed. */
PoolVolume *pool_metadata_find_volume(const PoolMetadata *md, const char *name);
const PoolPv *pool_metadata_find_pv_role(const PoolMetadata *md, PoolPvRole role);
/* The run lies within the physical volume's extents (overflow-safe: each
 * value is bounded by POOL_PV_SIZE_MAX before they are added). */
bool pool_run_within_pv(const PoolRun *run, const PoolPv *pv);
uint64_t pool_volume_extents(const PoolVolume *v);

bool pool_volume_name_valid(const char *name);
/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
char *pool_uuid_to_string(const uint8_t uuid[16], char buf[static 37]);
const char *pool_pv_role_to_string(PoolPvRole role);

/* Every rule a decoded copy must satisfy (POOL-FORMAT.md, "Validation"):
 * ranges, names, uniqueness, runs inside their PV, no extent owned twice,
 * home's first run = the home PV's data area. -EBADMSG on failure. */
int pool_metadata_validate(const PoolMetadata *md, char **ret_error);

/* ---- metadata copies ---------------------------------------------------- */

/* seq + 1 before a commit; -EOVERFLOW rather than wrap. */
int pool_metadata_bump_seq(PoolMetadata *md);

/* Size in bytes of the encoded copy. */
size_t pool_metadata_encoded_size(const PoolMetadata *md);

/* Validates, then encodes into a new buffer of exactly copy_size bytes (the
 * unused tail zeroed). -E2BIG if the tables do not fit in copy_size,
 * -EBADMSG if md breaks a rule (message in ret_error). */
int pool_metadata_encode(const PoolMetadata *md, size_t copy_size, uint8_t **ret, char **ret_error);

typedef enum PoolDecodeFlags {
        /* Check the structure only (magic, version, lengths, checksum,
         * counts, names, ranges that keep the model safe to walk) but not
         * ownership: for `pool check`, which wants to report every problem. */
        POOL_DECODE_STRUCTURE_ONLY = 1 << 0,
} PoolDecodeFlags;

/* Decodes one copy from buf (size = bytes read, at least the encoded length;
 * the copy area's tail is ignored). -EBADMSG for corrupt or truncated data,
 * -EPROTONOSUPPORT for a copy written by a newer format. */
int pool_metadata_decode(const void *buf, size_t size, PoolMetadata **ret, char **ret_error);
int pool_metadata_decode_full(const void *buf, size_t size, PoolDecodeFlags flags,
                              PoolMetadata **ret, char **ret_error);

/* The A/B choice. */
typedef struct PoolPick {
        unsigned current;       /* 0 = A, 1 = B: the copy the metadata came from */
        unsigned inactive;      /* the copy the next update writes */
        int error[2];           /* 0 if that copy is valid, else why it was refused */
        char *reason[2];        /* the refusal message, NULL for a valid copy */
        uint64_t seq[2];        /* for valid copies */
        bool other_stale;       /* the other copy is invalid or older */
} PoolPick;

void pool_pick_done(PoolPick *p);

/* Takes the valid copy with the highest seq. Both invalid: the error of copy
 * A (or the newer-version error, if either copy says so), with a message
 * naming both reasons. Same seq, different content: -EBADMSG. ret_pick (may
 * be NULL) is filled in on success and on failure; pool_pick_done() it. */
int pool_metadata_pick(const void *a, size_t a_size, const void *b, size_t b_size,
                       PoolMetadata **ret, PoolPick *ret_pick, char **ret_error);

/* ---- geometry ------------------------------------------------------------ */

/* Lays out a new PV: copy size in bytes (0 = default), extent size in
 * sectors; data_start is the metadata area's end rounded up to 1 MiB.
 * -EINVAL for bad parameters, -ENOSPC if the PV cannot hold the metadata. */
int pool_geometry_init(PoolGeometry *g,
                       const uint8_t pool_uuid[16], const uint8_t pv_uuid[16], uint32_t pv_index,
                       uint32_t sector_size, uint64_t pv_size, uint64_t extent_size,
                       uint64_t copy_size, char **ret_error);
uint64_t pool_geometry_extent_count(const PoolGeometry *g);

void pool_geometry_encode(const PoolGeometry *g, uint8_t buf[static POOL_GEOMETRY_SIZE]);
int pool_geometry_decode(const void *buf, size_t size, PoolGeometry *ret, char **ret_error);
/* Primary if valid, else backup; both valid but different: -EBADMSG. */
int pool_geometry_pick(const void *primary, size_t primary_size, const void *backup, size_t backup_size,
                       PoolGeometry *ret, bool *ret_used_backup, char **ret_error);

/* Does this PV's geometry agree with the metadata (pool, uuid, index, extent
 * size, placement)? -EBADMSG with a message naming the field if not. */
int pool_metadata_check_geometry(const PoolMetadata *md, const PoolGeometry *g, char **ret_error);

/* found[] = the geometries of the PVs present. -ENODEV "missing physical
 * volume N (role, uuid)" if one of md's PVs is absent; -EBADMSG if one of
 * found[] does not agree with md. */
int pool_metadata_check_pvs(const PoolMetadata *md, const PoolGeometry *found, size_t n_found, char **ret_error);
