/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Which of the block devices carrying a Hearth geometry block make up this
 * machine's pool. Any device can carry one — a USB stick, a loop device a
 * user set up, a cloned disk — so a scan must not take whatever it finds:
 * the machine's pool is the one whose UUID the root file system records
 * (POOL_ID_FILE, written by `pool init`), and every other device is
 * ignored with a warning. Pure logic, unit-tested; pool.c does the I/O. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-metadata.h"

/* The record: one line, the pool UUID as `pool status` shows it. */
#define POOL_ID_FILE "/etc/hearth/pool-uuid"
/* Tests only: another path for it. */
#define POOL_ID_FILE_ENV "HEARTH_POOL_ID_FILE"

const char *pool_id_file(void);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", either case. 0 or -EINVAL. */
int pool_uuid_from_string(const char *s, uint8_t ret[16]);

/* 1 and the recorded UUID; 0 if path does not exist; -EBADMSG (logged,
 * naming the file) if it holds anything but one UUID, other -errno if it
 * cannot be read. */
int pool_id_read(const char *path, uint8_t ret[16]);
/* Records uuid in path (atomically, 0644, parent directories made). */
int pool_id_write(const char *path, const uint8_t uuid[16]);

/* Where each PV of the pool sits: identities a local user cannot give a
 * device of hers, checked before a scanned device is taken as a PV. The
 * pool UUID is no secret (0644 above, and hearthd's unprivileged GetStatus
 * shows it and the PV UUIDs), so anyone can write a geometry block that
 * claims to be one of our PVs, into a file attached as a loop device or
 * onto a USB stick. A PV is recorded as its GPT partition's unique GUID
 * and its disk's GPT GUID; those are not secret either (lsblk shows
 * them) but only count on a device that is neither a loop device nor on
 * a removable disk, and when two devices carry them both, the recorded
 * place of the disk in the hardware (its sysfs device path) picks the
 * one there. A separate file, so that Hearth from before it still reads
 * POOL_ID_FILE. Written by `pool init`, and by `activate` when what it
 * activated is not what is recorded (docs/POOL-FORMAT.md). */
#define POOL_PVS_FILE "/etc/hearth/pool-pvs"
/* Tests only: another path for it. */
#define POOL_PVS_FILE_ENV "HEARTH_POOL_PVS_FILE"

const char *pool_pvs_file(void);

#define POOL_PV_HW_MAX 256

typedef struct PoolPvIdentity {
        bool gpt;               /* a GPT partition: the two GUIDs are set */
        uint8_t part_uuid[16];  /* its unique partition GUID (PARTUUID), in string order */
        uint8_t disk_guid[16];  /* its disk's GPT GUID */
        char hw[POOL_PV_HW_MAX];           /* the disk's sysfs device path ("/devices/pci…"); "" for a virtual disk */
} PoolPvIdentity;

/* What POOL_ID_FILE and POOL_PVS_FILE record. */
typedef struct PoolRecord {
        const char *path, *pvs_path; /* named in messages */
        bool has_uuid;
        uint8_t uuid[16];
        size_t n_pvs;           /* 0: no identities recorded (a pool made before them) */
        uint32_t pv_index[POOL_PVS_MAX];
        PoolPvIdentity pv[POOL_PVS_MAX];
} PoolRecord;

/* Reads POOL_PVS_FILE into rec, for the pool rec->uuid: 1; 0 if the file
 * does not exist, or records another pool (with a warning: an init by an
 * older Hearth rewrote only POOL_ID_FILE); -EBADMSG (logged) if it is
 * malformed; other -errno if it cannot be read. */
int pool_pvs_read(PoolRecord *rec);
/* Records rec's identities for the pool rec->uuid in rec->pvs_path
 * (atomically, 0644: nothing in it is secret). */
int pool_pvs_write(const PoolRecord *rec);
/* Whether a and b are the same recorded PV set. */
bool pool_record_pvs_equal(const PoolRecord *a, const PoolRecord *b);
/* Whether rec records a PV at the GPT partition id (its unique GUID on the
 * disk of that GUID): 1 and *ret_index, else 0. Only a GPT identity names
 * one partition: outside a GPT a PV is recorded by its disk's place in the
 * hardware, which every other partition of that disk shares, so such a
 * record names no device here (its geometry block still does). */
int pool_record_find_partition(const PoolRecord *rec, const PoolPvIdentity *id, uint32_t *ret_index);

/* One device a scan found, with its geometry block decoded (ok) or not. */
typedef struct PoolCandidate {
        const char *path;
        bool ok;
        bool loop;              /* a loop device, or a partition of one */
        bool removable;         /* on a disk sysfs calls removable */
        uint8_t pool_uuid[16];
        uint8_t pv_uuid[16];
        uint32_t pv_index;
        PoolPvIdentity id;
} PoolCandidate;

typedef struct PoolDiscovery {
        uint8_t uuid[16];       /* the pool taken */
        bool adopted;           /* no pool UUID recorded: the only pool found was taken */
        bool unbound;           /* no PV identities recorded for it: taken as before they existed */
} PoolDiscovery;

/* Sets keep[i] for the candidates that are the machine's pool's PVs.
 *  - loop devices and devices on removable disks are ignored, with a
 *    warning naming each: anyone can attach one.
 *  - recorded UUID: devices of other pools are ignored with a warning;
 *    none of ours: -ENODEV.
 *  - no UUID recorded: the devices of the only pool found are taken, with
 *    a warning, and ret->adopted set; devices of several pools: -EXDEV,
 *    nothing is guessed.
 *  - identities recorded: a device claiming a PV index that is not the
 *    recorded partition of the recorded disk, or an index not recorded, is
 *    ignored with a warning. Two devices that are both the recorded PV (a
 *    cloned disk, or forged GUIDs): the one at the recorded place in the
 *    hardware is taken; if that does not single one out, -ENOTUNIQ.
 *  - no identities recorded: ret->unbound; two kept devices that are the
 *    same PV (same index or PV UUID): -ENOTUNIQ, naming both.
 * Errors are logged. */
int pool_discover_select(const PoolCandidate *c, size_t n, const PoolRecord *rec, bool *keep, PoolDiscovery *ret);
