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

/* One device a scan found, with its geometry block decoded (ok) or not. */
typedef struct PoolCandidate {
        const char *path;
        bool ok;
        uint8_t pool_uuid[16];
        uint8_t pv_uuid[16];
        uint32_t pv_index;
} PoolCandidate;

/* Sets keep[i] for the candidates that are the machine's pool's PVs.
 * recorded: the UUID from POOL_ID_FILE, or NULL when none is recorded
 * (record_path names the file in messages).
 *  - recorded: devices of other pools are ignored with a warning; none of
 *    ours: -ENODEV.
 *  - not recorded: the devices of the only pool found are taken, with a
 *    warning, and *ret_adopted set; devices of several pools: -EXDEV,
 *    nothing is guessed.
 *  - two kept devices that are the same PV of the pool (a cloned disk, or
 *    a copy of a PV's first MiB): -ENOTUNIQ, naming both.
 * Errors are logged. ret_uuid: the pool taken. */
int pool_discover_select(const PoolCandidate *c, size_t n, const uint8_t *recorded, const char *record_path,
                         bool *keep, uint8_t ret_uuid[16], bool *ret_adopted);
