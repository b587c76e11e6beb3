/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "gpt.h"
#include "little-endian.h"
#include "macro.h"

#define GPT_HEADER_MIN_SIZE 92U
#define GPT_ENTRY_MIN_SIZE  128U

typedef struct GptHeader {
        uint64_t first_usable, last_usable;
        uint64_t entries_lba;
        uint32_t n_entries, entry_size, entries_crc;
} GptHeader;

uint32_t gpt_crc32(const void *data, size_t size) {
        /* Half-byte table of the reflected polynomial 0xEDB88320. */
        static const uint32_t nibble[16] = {
                0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
                0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C, 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
        };
        const uint8_t *p = data;
        uint32_t crc = 0xFFFFFFFFU;

        for (size_t i = 0; i < size; i++) {
                crc = (crc >> 4) ^ nibble[(crc ^ p[i]) & 0xF];
                crc = (crc >> 4) ^ nibble[(crc ^ (p[i] >> 4)) & 0xF];
        }
        return ~crc;
}

/* The header in `sector` (read from LBA `lba` of a disk whose last LBA is
 * last_lba), checked against everything the specification requires of it.
 * false: not a valid header. */
static bool header_parse(const uint8_t *sector, uint32_t ss, uint64_t lba, uint64_t last_lba, GptHeader *ret) {
        if (memcmp(sector, "EFI PART", 8) != 0)
                return false;
        uint32_t hsize = get_le32(sector + 12);
        if (hsize < GPT_HEADER_MIN_SIZE || hsize > ss)
                return false;
        /* The CRC covers the header with its own CRC field zeroed. */
        uint8_t copy[4096];
        memcpy(copy, sector, hsize);
        memset(copy + 16, 0, 4);
        if (gpt_crc32(copy, hsize) != get_le32(sector + 16) || get_le64(sector + 24) != lba)
                return false;

        GptHeader h = {
                .first_usable = get_le64(sector + 40),
                .last_usable = get_le64(sector + 48),
                .entries_lba = get_le64(sector + 72),
                .n_entries = get_le32(sector + 80),
                .entry_size = get_le32(sector + 84),
                .entries_crc = get_le32(sector + 88),
        };
        if (h.first_usable > h.last_usable || h.last_usable > last_lba || h.first_usable <= 1)
                return false;
        /* 128 × 2^n bytes per entry, as the specification requires. */
        if (h.entry_size < GPT_ENTRY_MIN_SIZE || (h.entry_size & (h.entry_size - 1)) != 0 || h.n_entries == 0 ||
            (uint64_t) h.n_entries * h.entry_size > GPT_ENTRIES_MAX_BYTES)
                return false;
        uint64_t bytes = (uint64_t) h.n_entries * h.entry_size;
        uint64_t lbas = (bytes + ss - 1) / ss;
        if (h.entries_lba < 2 || h.entries_lba > last_lba || lbas > last_lba - h.entries_lba + 1)
                return false;
        /* The array lies outside the usable area. */
        if (!(h.entries_lba + lbas - 1 < h.first_usable || h.entries_lba > h.last_usable))
                return false;
        *ret = h;
        return true;
}

/* On disk the first three fields are little-endian. */
static void guid_to_uuid(const uint8_t g[16], uint8_t out[16]) {
        static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
        for (size_t i = 0; i < 16; i++)
                out[i] = g[order[i]];
}

static void guid_to_string(const uint8_t g[16], char out[static 37]) {
        snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
                 get_le32(g), (unsigned) (g[4] | g[5] << 8), (unsigned) (g[6] | g[7] << 8),
                 g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* 1: the table at `lba` is valid and *ret is entry partno; 0: that table is
 * not valid; negative: -ENOENT, -EBADMSG as gpt_read_partition(), or a read
 * error. */
static int table_read(int fd, uint32_t ss, uint64_t lba, uint64_t last_lba, unsigned partno, GptPartition *ret) {
        _cleanup_free_ uint8_t *sector = malloc(ss);
        GptHeader h;
        int r;

        if (!sector)
                return -ENOMEM;
        r = pread_full(fd, sector, ss, lba * ss);
        if (r < 0)
                return r;
        if (!header_parse(sector, ss, lba, last_lba, &h))
                return 0;

        size_t bytes = (size_t) h.n_entries * h.entry_size;
        _cleanup_free_ uint8_t *entries = malloc(bytes);
        if (!entries)
                return -ENOMEM;
        r = pread_full(fd, entries, bytes, h.entries_lba * ss);
        if (r < 0)
                return r;
        if (gpt_crc32(entries, bytes) != h.entries_crc)
                return 0;

        if (partno == 0 || partno > h.n_entries)
                return -ENOENT;
        const uint8_t *e = entries + (size_t) (partno - 1) * h.entry_size;
        static const uint8_t unused[16];
        if (memcmp(e, unused, 16) == 0)
                return -ENOENT;
        uint64_t first = get_le64(e + 32), last = get_le64(e + 40);
        if (first > last || first < h.first_usable || last > h.last_usable)
                return -EBADMSG;
        *ret = (GptPartition) {
                .start = first * (ss / 512),
                .size = (last - first + 1) * (ss / 512),
        };
        guid_to_string(e, ret->type);
        guid_to_uuid(e + 16, ret->uuid);
        guid_to_uuid(sector + 56, ret->disk_guid);
        return 1;
}

/* A GPT counts only behind a protective MBR: the boot signature and a
 * record of type 0xEE starting at LBA 1 (other records may sit beside it,
 * as in a hybrid MBR). libfdisk and the kernel require the same, so a disk
 * relabelled DOS that still carries old GPT headers is not taken for GPT. */
static int protective_mbr(int fd) {
        uint8_t mbr[512];
        int r = pread_full(fd, mbr, sizeof mbr, 0);
        if (r < 0)
                return r;
        if (mbr[510] != 0x55 || mbr[511] != 0xAA)
                return 0;
        for (size_t i = 0; i < 4; i++) {
                const uint8_t *rec = mbr + 446 + 16 * i;
                if (rec[4] == 0xEE && get_le32(rec + 8) == 1)
                        return 1;
        }
        return 0;
}

int gpt_read_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, unsigned partno, GptPartition *ret) {
        if (sector_size != 512 && sector_size != 4096)
                return -EINVAL;
        uint64_t n_lbas = disk_bytes / sector_size;
        if (n_lbas < 4) /* protective MBR, two headers and room for an array */
                return -EMEDIUMTYPE;
        uint64_t last_lba = n_lbas - 1;
        int r = protective_mbr(fd);
        if (r <= 0)
                return r < 0 ? r : -EMEDIUMTYPE;

        /* The primary table; then, as firmware and libfdisk do, the backup
         * at the disk's last LBA (the kernel, without the "gpt" boot
         * option, would then see no partitions: the pool only uses the
         * answer to follow a start that libfdisk moved). */
        r = table_read(fd, sector_size, 1, last_lba, partno, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        r = table_read(fd, sector_size, last_lba, last_lba, partno, ret);
        if (r != 0)
                return r < 0 ? r : 0;
        return -EMEDIUMTYPE;
}
