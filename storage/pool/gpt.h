/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading one entry of a GUID partition table, with nothing else: the pool
 * asks where its partitions start on every operation, and a full libfdisk
 * probe of the disk costs more than the whole of a grow. The disk is read
 * as hostile: the header and entry array are checked as the UEFI
 * specification defines them (signatures, CRC32s, every LBA inside the
 * disk), and the backup header is used when the primary one fails. Writing
 * a GPT is left to libfdisk. */

#include <stdint.h>

typedef struct GptPartition {
        uint64_t start;  /* in 512-byte sectors */
        uint64_t size;   /* in 512-byte sectors */
        char type[37];   /* type GUID, upper case, as libfdisk prints it */
        /* The partition's unique GUID (PARTUUID) and the disk's GUID, as 16
         * bytes in the order of their string form (not the on-disk mixed
         * endianness): what pool discovery records as a PV's identity. */
        uint8_t uuid[16];
        uint8_t disk_guid[16];
} GptPartition;

/* The largest entry array read (bytes): 128 entries of 128 bytes is the
 * usual 16 KiB; tools allow more, none this many. */
#define GPT_ENTRIES_MAX_BYTES (1024U * 1024U)

/* The CRC32 the GPT uses (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t gpt_crc32(const void *data, size_t size);

/* Entry `partno` (1-based, as the kernel numbers partitions) of the GPT on
 * the disk open at fd, whose logical sectors are sector_size (512 or 4096)
 * bytes and which is disk_bytes long. 0 with *ret set: the entry is in use.
 * -ENOENT: the table is valid but the entry is unused or past its end.
 * -EMEDIUMTYPE: no protective MBR, or neither header is a valid GPT. -EBADMSG: the entry itself
 * is inconsistent (ends before it starts, or outside the usable area).
 * Other negative errno: reading failed. Logs nothing. */
int gpt_read_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, unsigned partno, GptPartition *ret);
