/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* dm-linear devices through libdevmapper: a small, honest wrapper.
 *
 * Every number is in 512-byte sectors. A table is a list of targets that
 * covers the device from sector 0 without gaps; each target maps
 * [start, start + length) of the dm device onto [offset, offset + length) of
 * the block device dev.
 *
 * Hearth never touches a dm device that is not its own: every operation on
 * an existing device first reads its dm UUID and refuses (-EPERM, with a
 * message naming the UUID) unless it starts with DM_LINEAR_UUID_PREFIX.
 *
 * Tables are validated before any ioctl: contiguous from sector 0, no empty
 * target, every start and length a multiple of the largest logical block
 * size among the devices (that becomes the dm device's own block size),
 * every offset a multiple of its own device's logical block size, no target
 * past the end of its device, no two targets mapping the same sectors of
 * one device. A refused table gives -EINVAL (-ERANGE past the end) and one
 * clear message.
 *
 * udev: when udevd runs (its control socket answers, the device-mapper
 * rules are installed, DM_DISABLE_UDEV is unset) creating and removing a
 * device carry a udev cookie and we wait for udev to finish (bounded: after
 * DM_LINEAR_UDEV_TIMEOUT_SEC we stop waiting, make the /dev/mapper node
 * ourselves and say so). A reload's resume keeps the device's name and
 * node, so nothing waits for its event; instead a reload starts only once
 * udev's queue is empty (bounded by DM_LINEAR_UDEV_IDLE_SEC), so that its
 * suspend never meets udev still handling an earlier event of the device.
 * Without udevd libdevmapper creates and removes the /dev/mapper nodes
 * itself.
 *
 * libdevmapper's own messages are logged at debug level; errors are logged
 * once by these functions, with libdevmapper's last error text attached. */

#define DM_LINEAR_UUID_PREFIX "HEARTH-"
#define DM_LINEAR_UDEV_TIMEOUT_SEC 30
#define DM_LINEAR_UDEV_IDLE_SEC 10

typedef struct DmLinearTarget {
        uint64_t start;  /* first sector in the dm device */
        uint64_t length; /* sectors, > 0 */
        dev_t dev;       /* underlying block device */
        uint64_t offset; /* first sector in dev */
} DmLinearTarget;

typedef struct DmLinearInfo {
        bool exists;
        bool suspended;
        bool has_live_table;
        bool has_inactive_table;
        int open_count;
        dev_t dev;        /* the dm device itself */
} DmLinearInfo;

/* How long a reload took, in microseconds (CLOCK_MONOTONIC). pause_usec is
 * the window in which I/O to the device is held: from the start of the
 * suspend ioctl to the return of the resume ioctl. */
typedef struct DmLinearReloadTiming {
        uint64_t load_usec;    /* loading the new table into the inactive slot */
        uint64_t suspend_usec; /* suspend with flush */
        uint64_t resume_usec;  /* table swap and resume */
        uint64_t pause_usec;   /* suspend start → resume return */
        uint64_t udev_usec;    /* node checks after the resume (udev is not waited for) */
        uint64_t suspend_at_usec; /* when the suspend began (dm_linear_now_usec()) */
} DmLinearReloadTiming;

/* Checks a table as described above, without touching device-mapper. name
 * is only used in messages. */
int dm_linear_validate(const char *name, const DmLinearTarget *targets, size_t n);

/* Creates and activates the dm-linear device `name` with dm UUID
 * "HEARTH-<uuid_suffix>". -EEXIST if a Hearth device of that name exists,
 * -EPERM if a foreign one does. ret_dev may be NULL. */
int dm_linear_create(const char *name, const char *uuid_suffix,
                     const DmLinearTarget *targets, size_t n, dev_t *ret_dev);

/* Replaces the whole table: loads it into the inactive slot first, then
 * suspends (with flush, without freezing the filesystem) and resumes, which
 * swaps the tables. If the suspend or resume fails the inactive table is
 * cleared and the device resumed on its old table. -ENODEV if missing. */
int dm_linear_reload(const char *name, const DmLinearTarget *targets, size_t n);
/* The same, reporting how long it took; ret_timing may be NULL. */
int dm_linear_reload_timed(const char *name, const DmLinearTarget *targets, size_t n,
                           DmLinearReloadTiming *ret_timing);

/* Removes the device. -EBUSY while it is open, -ENODEV if it does not exist
 * (logged at debug level only, so callers may treat it as done). */
int dm_linear_remove(const char *name);

/* The live table. Refuses (-EMEDIUMTYPE) a table with a target that is not
 * linear. A device without a live table gives n = 0 and NULL. The array is
 * the caller's to free(). -ENODEV if missing. */
int dm_linear_table(const char *name, DmLinearTarget **ret_targets, size_t *ret_n);

/* State of the device; a missing device is not an error (exists = false). */
int dm_linear_info(const char *name, DmLinearInfo *ret);

/* Whether operations now synchronise with udev (true) or make the device
 * nodes themselves (false). */
bool dm_linear_udev_sync(void);

/* Microseconds on CLOCK_MONOTONIC (exposed for the tests and benchmarks). */
uint64_t dm_linear_now_usec(void);
