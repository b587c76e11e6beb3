/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* GUID partition tables, the little of them Hearth needs, with nothing
 * else: reading one entry (the pool asks where its partitions start on
 * every operation, and a full libfdisk probe of the disk costs more than
 * the whole of a grow), finding a LUKS home's partition by type and name,
 * and writing and resizing the one-partition table of a LUKS home in
 * systemd-homed's layout. The pool's own partitions of system disks are
 * changed with libfdisk (storage/pool/pool-partition.c).
 *
 * The disk is read as hostile: the header and entry array are checked as
 * the UEFI specification defines them (signatures, CRC32s, every LBA inside
 * the disk), a GPT counts only behind a protective MBR, and the backup
 * header is used when the primary one fails. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Discoverable Partitions Specification's per-user home partition:
 * what systemd-homed's LUKS images hold their LUKS2 volume in. */
#define GPT_TYPE_USER_HOME "773F91EF-66D4-49B5-BD83-D683BF40AD16"

/* An entry's name: at most 36 UTF-16 code units; as UTF-8 at most 3 bytes
 * each (a surrogate pair, two units, is 4). */
#define GPT_NAME_UNITS 36
#define GPT_NAME_MAX (GPT_NAME_UNITS * 3)

typedef struct GptPartition {
        unsigned partno; /* 1-based, as the kernel numbers partitions */
        uint64_t start;  /* in 512-byte sectors */
        uint64_t size;   /* in 512-byte sectors */
        char type[37];   /* type GUID, upper case, as libfdisk prints it */
        /* The partition's unique GUID (PARTUUID) and the disk's GUID, as 16
         * bytes in the order of their string form (not the on-disk mixed
         * endianness): what pool discovery records as a PV's identity. */
        uint8_t uuid[16];
        uint8_t disk_guid[16];
        /* The name as UTF-8; a code unit that is no valid UTF-16 reads as
         * U+FFFD, so such a name matches nothing a caller asks for. */
        char name[GPT_NAME_MAX + 1];
} GptPartition;

/* The largest entry array read (bytes): 128 entries of 128 bytes is the
 * usual 16 KiB; tools allow more, none this many. */
#define GPT_ENTRIES_MAX_BYTES (1024U * 1024U)

/* The CRC32 the GPT uses (IEEE 802.3, reflected, as zlib's crc32()). */
uint32_t gpt_crc32(const void *data, size_t size);

/* A GUID's string form (8-4-4-4-12 hex digits, either case) into its 16
 * bytes in string order, and back (upper case as libfdisk prints types,
 * lower case as systemd prints UUIDs). -EINVAL if s is not one. */
int gpt_guid_parse(const char *s, uint8_t ret[16]);
void gpt_guid_format(const uint8_t g[16], bool upper, char out[static 37]);

/* Entry `partno` (1-based) of the GPT on the disk open at fd, whose logical
 * sectors are sector_size (512 or 4096) bytes and which is disk_bytes
 * long. 0 with *ret set: the entry is in use. -ENOENT: the table is valid
 * but the entry is unused or past its end. -EMEDIUMTYPE: no protective
 * MBR, or neither header is a valid GPT. -EBADMSG: the entry itself is
 * inconsistent (ends before it starts, or outside the usable area). Other
 * negative errno: reading failed. Logs nothing. */
int gpt_read_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, unsigned partno, GptPartition *ret);

/* The one used entry of type `type` (a GUID string) whose name is `name`
 * and, if uuid is not NULL, whose unique GUID is uuid (string order), as
 * systemd-homed finds a home's partition. -ENOENT: none; -ENOTUNIQ: more
 * than one; -EBADMSG: a matching entry is inconsistent; -EMEDIUMTYPE and
 * other errors as gpt_read_partition(). */
int gpt_find_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, const char *type, const char *name,
                       const uint8_t *uuid, GptPartition *ret);

/* How many entries of the disk's table are used: >= 0, or -EMEDIUMTYPE and
 * other errors as gpt_read_partition(). */
int gpt_count_partitions(int fd, uint32_t sector_size, uint64_t disk_bytes);

/* A new table with one partition, as libfdisk lays it out and
 * systemd-homed sizes it: a protective MBR, the primary header at LBA 1
 * and an array of 128 entries of 128 bytes after it, the usable area from
 * 1 MiB to the backup array and header at the end of the disk; the
 * partition from 1 MiB to the end of the usable area rounded down to 4 KiB,
 * its attributes 0. What was on the disk there is overwritten. */
typedef struct GptNewTable {
        uint32_t sector_size; /* 512 or 4096 */
        uint64_t disk_bytes;  /* a multiple of sector_size */
        const char *type;     /* GUID string */
        const char *name;     /* UTF-8, at most GPT_NAME_UNITS UTF-16 code units */
        uint8_t uuid[16];     /* the partition's unique GUID, string order */
        uint8_t disk_guid[16];
} GptNewTable;

/* Writes it to fd (backup first, primary, then the protective MBR) and
 * returns the partition as it reads back. -EINVAL for a bad sector size,
 * GUID or name, -ERANGE for a disk too small to hold a partition, or the
 * write's error. Not synced: the caller syncs. */
int gpt_write_new(int fd, const GptNewTable *t, GptPartition *ret);

/* Gives entry partno (the last partition on the disk) a new size in
 * 512-byte sectors (a multiple of the sector size, at least one sector)
 * and moves the backup array and header to the end of a disk new_bytes
 * long, reading the table from the disk as it is now (disk_bytes: grown
 * already, or not yet shrunk); the protective MBR's size follows. Written
 * backup first, then the primary: interrupted at any point, one valid
 * table remains (the old or the new). A backup header the grown disk
 * leaves behind inside the partition is erased. -ENOENT: no such entry;
 * -EOPNOTSUPP: another partition lies behind it; -ERANGE: the size does not
 * fit the usable area of the new disk; -EMEDIUMTYPE, -EBADMSG as
 * gpt_read_partition(). Not synced. */
int gpt_resize_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, uint64_t new_bytes, unsigned partno,
                         uint64_t size);

/* Zeroes the protective MBR, the primary header and its array, and the
 * backup array and header at the end of the disk (the layout
 * gpt_write_new() makes), so that no tool sees a table any more. Not
 * synced. */
int gpt_erase(int fd, uint32_t sector_size, uint64_t disk_bytes);
