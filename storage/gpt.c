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
/* What gpt_write_new() lays out, as libfdisk does. */
#define GPT_NEW_ENTRIES     128U
#define GPT_NEW_ENTRY_SIZE  128U
#define GPT_NEW_FIRST_BYTE  (UINT64_C(1) << 20)
#define ROUND_DOWN_4K(x)    ((x) & ~UINT64_C(4095))

typedef struct GptHeader {
        uint64_t first_usable, last_usable;
        uint64_t entries_lba;
        uint32_t n_entries, entry_size, entries_crc;
} GptHeader;

/* A table read from the disk: its header (the sector as on disk) and entry
 * array, checked. */
typedef struct GptTable {
        uint32_t ss;
        uint64_t lba;      /* where its header is: 1, or the last LBA */
        uint64_t last_lba; /* the disk's */
        GptHeader h;
        uint8_t *sector;
        uint8_t *entries;
        size_t bytes;
} GptTable;

static void table_done(GptTable *t) {
        free(t->sector);
        free(t->entries);
        *t = (GptTable) {};
}

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

/* ---- GUIDs ------------------------------------------------------------- */

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int gpt_guid_parse(const char *s, uint8_t ret[16]) {
        uint8_t g[16];
        size_t n = 0;

        if (!s || strlen(s) != 36)
                return -EINVAL;
        for (size_t i = 0; i < 36;) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i++] != '-')
                                return -EINVAL;
                        continue;
                }
                int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                g[n++] = (uint8_t) (hi << 4 | lo);
                i += 2;
        }
        memcpy(ret, g, 16);
        return 0;
}

void gpt_guid_format(const uint8_t g[16], bool upper, char out[static 37]) {
        snprintf(out, 37,
                 upper ? "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X"
                       : "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* On disk the first three fields are little-endian; the same swap turns
 * string order into disk order and back. */
static void guid_swap(const uint8_t in[16], uint8_t out[16]) {
        static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
        for (size_t i = 0; i < 16; i++)
                out[i] = in[order[i]];
}

/* ---- names: UTF-16LE on disk, UTF-8 here -------------------------------- */

static size_t put_utf8(char *out, uint32_t c) {
        if (c < 0x80) {
                out[0] = (char) c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char) (0xC0 | c >> 6);
                out[1] = (char) (0x80 | (c & 0x3F));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char) (0xE0 | c >> 12);
                out[1] = (char) (0x80 | (c >> 6 & 0x3F));
                out[2] = (char) (0x80 | (c & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | c >> 18);
        out[1] = (char) (0x80 | (c >> 12 & 0x3F));
        out[2] = (char) (0x80 | (c >> 6 & 0x3F));
        out[3] = (char) (0x80 | (c & 0x3F));
        return 4;
}

/* The name field (72 bytes) as UTF-8, up to its first NUL unit. */
static void name_decode(const uint8_t *field, char out[static GPT_NAME_MAX + 1]) {
        size_t n = 0;
        for (unsigned i = 0; i < GPT_NAME_UNITS; i++) {
                uint32_t u = (uint32_t) field[2 * i] | (uint32_t) field[2 * i + 1] << 8;
                if (u == 0)
                        break;
                if (u >= 0xD800 && u < 0xDC00 && i + 1 < GPT_NAME_UNITS) {
                        uint32_t lo = (uint32_t) field[2 * i + 2] | (uint32_t) field[2 * i + 3] << 8;
                        if (lo >= 0xDC00 && lo < 0xE000) {
                                n += put_utf8(out + n, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                                i++;
                                continue;
                        }
                }
                if (u >= 0xD800 && u < 0xE000)
                        u = 0xFFFD; /* a lone surrogate */
                n += put_utf8(out + n, u);
        }
        out[n] = 0;
}

/* UTF-8 into the 72-byte field, NUL-padded. -EINVAL: not UTF-8, or longer
 * than the field. */
static int name_encode(const char *s, uint8_t field[static 2 * GPT_NAME_UNITS]) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned n = 0;

        memset(field, 0, 2 * GPT_NAME_UNITS);
        while (*p) {
                uint32_t c;
                size_t len;
                if (*p < 0x80)
                        c = *p, len = 1;
                else if ((*p & 0xE0) == 0xC0)
                        c = *p & 0x1F, len = 2;
                else if ((*p & 0xF0) == 0xE0)
                        c = *p & 0x0F, len = 3;
                else if ((*p & 0xF8) == 0xF0)
                        c = *p & 0x07, len = 4;
                else
                        return -EINVAL;
                for (size_t k = 1; k < len; k++) {
                        if ((p[k] & 0xC0) != 0x80)
                                return -EINVAL;
                        c = c << 6 | (p[k] & 0x3F);
                }
                /* Overlong forms, surrogates and what lies beyond Unicode. */
                if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10FFFF ||
                    (c >= 0xD800 && c < 0xE000))
                        return -EINVAL;
                p += len;
                uint16_t units[2];
                unsigned k = 0;
                if (c >= 0x10000) {
                        units[k++] = (uint16_t) (0xD800 + ((c - 0x10000) >> 10));
                        units[k++] = (uint16_t) (0xDC00 + ((c - 0x10000) & 0x3FF));
                } else
                        units[k++] = (uint16_t) c;
                if (n + k > GPT_NAME_UNITS)
                        return -EINVAL;
                for (unsigned i = 0; i < k; i++, n++) {
                        field[2 * n] = (uint8_t) units[i];
                        field[2 * n + 1] = (uint8_t) (units[i] >> 8);
                }
        }
        return 0;
}

/* ---- reading ------------------------------------------------------------ */

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

/* 1: the table at `lba` is valid and in *t; 0: it is not; negative: a read
 * error. */
static int table_load(int fd, uint32_t ss, uint64_t lba, uint64_t last_lba, GptTable *t) {
        *t = (GptTable) { .ss = ss, .lba = lba, .last_lba = last_lba };
        t->sector = malloc(ss);
        if (!t->sector)
                return -ENOMEM;
        int r = pread_full(fd, t->sector, ss, lba * ss);
        if (r < 0 || !header_parse(t->sector, ss, lba, last_lba, &t->h)) {
                table_done(t);
                return r < 0 ? r : 0;
        }
        t->bytes = (size_t) t->h.n_entries * t->h.entry_size;
        t->entries = malloc(t->bytes);
        if (!t->entries) {
                table_done(t);
                return -ENOMEM;
        }
        r = pread_full(fd, t->entries, t->bytes, t->h.entries_lba * ss);
        if (r < 0 || gpt_crc32(t->entries, t->bytes) != t->h.entries_crc) {
                table_done(t);
                return r < 0 ? r : 0;
        }
        return 1;
}

/* A GPT counts only behind a protective MBR: the boot signature and a
 * record of type 0xEE starting at LBA 1 (other records may sit beside it,
 * as in a hybrid MBR). libfdisk and the kernel require the same, so a disk
 * relabelled DOS that still carries old GPT headers is not taken for GPT.
 * Returns the record's index, or -1. */
static int protective_record(const uint8_t mbr[static 512]) {
        if (mbr[510] != 0x55 || mbr[511] != 0xAA)
                return -1;
        for (int i = 0; i < 4; i++) {
                const uint8_t *rec = mbr + 446 + 16 * i;
                if (rec[4] == 0xEE && get_le32(rec + 8) == 1)
                        return i;
        }
        return -1;
}

/* The disk's valid table: the primary; then, as firmware and libfdisk do,
 * the backup at the disk's last LBA (the kernel, without the "gpt" boot
 * option, would then see no partitions). 0, -EMEDIUMTYPE, or an error. */
static int table_open(int fd, uint32_t ss, uint64_t disk_bytes, GptTable *t) {
        uint8_t mbr[512];
        int r;

        if (ss != 512 && ss != 4096)
                return -EINVAL;
        uint64_t n_lbas = disk_bytes / ss;
        if (n_lbas < 4) /* protective MBR, two headers and room for an array */
                return -EMEDIUMTYPE;
        r = pread_full(fd, mbr, sizeof mbr, 0);
        if (r < 0)
                return r;
        if (protective_record(mbr) < 0)
                return -EMEDIUMTYPE;
        r = table_load(fd, ss, 1, n_lbas - 1, t);
        if (r == 0)
                r = table_load(fd, ss, n_lbas - 1, n_lbas - 1, t);
        if (r < 0)
                return r;
        return r > 0 ? 0 : -EMEDIUMTYPE;
}

/* Entry partno of a valid table: 0, -ENOENT if unused or past the array,
 * -EBADMSG if inconsistent. */
static int entry_parse(const GptTable *t, unsigned partno, GptPartition *ret) {
        static const uint8_t unused[16];

        if (partno == 0 || partno > t->h.n_entries)
                return -ENOENT;
        const uint8_t *e = t->entries + (size_t) (partno - 1) * t->h.entry_size;
        if (memcmp(e, unused, 16) == 0)
                return -ENOENT;
        uint64_t first = get_le64(e + 32), last = get_le64(e + 40);
        if (first > last || first < t->h.first_usable || last > t->h.last_usable)
                return -EBADMSG;
        uint8_t g[16];
        *ret = (GptPartition) {
                .partno = partno,
                .start = first * (t->ss / 512),
                .size = (last - first + 1) * (t->ss / 512),
        };
        guid_swap(e, g);
        gpt_guid_format(g, true, ret->type);
        guid_swap(e + 16, ret->uuid);
        guid_swap(t->sector + 56, ret->disk_guid);
        name_decode(e + 56, ret->name);
        return 0;
}

int gpt_read_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, unsigned partno, GptPartition *ret) {
        GptTable t;
        int r = table_open(fd, sector_size, disk_bytes, &t);
        if (r < 0)
                return r;
        r = entry_parse(&t, partno, ret);
        table_done(&t);
        return r;
}

int gpt_find_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, const char *type, const char *name,
                       const uint8_t *uuid, GptPartition *ret) {
        uint8_t want_type[16];
        GptTable t;
        GptPartition found = {};
        int r;

        if (gpt_guid_parse(type, want_type) < 0)
                return -EINVAL;
        r = table_open(fd, sector_size, disk_bytes, &t);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (unsigned partno = 1; partno <= t.h.n_entries; partno++) {
                const uint8_t *e = t.entries + (size_t) (partno - 1) * t.h.entry_size;
                uint8_t g[16];
                GptPartition p;
                guid_swap(e, g);
                if (memcmp(g, want_type, 16) != 0)
                        continue;
                int k = entry_parse(&t, partno, &p);
                if (k == -ENOENT)
                        continue;
                if (k < 0) {
                        r = k;
                        break;
                }
                if (strcmp(p.name, name) != 0 || (uuid && memcmp(p.uuid, uuid, 16) != 0))
                        continue;
                if (r == 0) {
                        r = -ENOTUNIQ;
                        break;
                }
                found = p;
                r = 0;
        }
        table_done(&t);
        if (r == 0)
                *ret = found;
        return r;
}

int gpt_count_partitions(int fd, uint32_t sector_size, uint64_t disk_bytes) {
        static const uint8_t unused[16];
        GptTable t;
        int r = table_open(fd, sector_size, disk_bytes, &t), n = 0;
        if (r < 0)
                return r;
        for (unsigned i = 0; i < t.h.n_entries; i++)
                n += memcmp(t.entries + (size_t) i * t.h.entry_size, unused, 16) != 0;
        table_done(&t);
        return n;
}

/* ---- writing ------------------------------------------------------------ */

/* The header sector of a table whose array (already in t->entries) lies at
 * entries_lba, for the header at lba with its other copy at alt_lba. */
static void header_build(GptTable *t, uint8_t *sector, uint64_t lba, uint64_t alt_lba, uint64_t entries_lba) {
        uint8_t copy[4096];
        uint32_t hsize = get_le32(t->sector + 12);

        /* Everything but what moves with the copy comes from the table read. */
        memcpy(copy, t->sector, t->ss);
        put_le64(copy + 24, lba);
        put_le64(copy + 32, alt_lba);
        put_le64(copy + 48, t->h.last_usable);
        put_le64(copy + 72, entries_lba);
        put_le32(copy + 88, gpt_crc32(t->entries, t->bytes));
        put_le32(copy + 16, 0);
        put_le32(copy + 16, gpt_crc32(copy, hsize));
        memcpy(sector, copy, t->ss);
}

/* Writes the table t as the disk's (last LBA last_lba): backup array and
 * header at the end, then the primary's. */
static int table_write(int fd, GptTable *t, uint64_t last_lba) {
        uint64_t lbas = (t->bytes + t->ss - 1) / t->ss;
        uint64_t backup_entries = last_lba - lbas;
        _cleanup_free_ uint8_t *sector = malloc(t->ss), *array = calloc(lbas, t->ss);
        int r;

        if (!sector || !array)
                return -ENOMEM;
        memcpy(array, t->entries, t->bytes);
        header_build(t, sector, last_lba, 1, backup_entries);
        r = pwrite_full(fd, array, lbas * t->ss, backup_entries * t->ss);
        if (r >= 0)
                r = pwrite_full(fd, sector, t->ss, last_lba * t->ss);
        if (r < 0)
                return r;
        header_build(t, sector, 1, last_lba, t->h.entries_lba);
        r = pwrite_full(fd, array, lbas * t->ss, t->h.entries_lba * t->ss);
        if (r >= 0)
                r = pwrite_full(fd, sector, t->ss, t->ss);
        return r;
}

/* The protective MBR's size: the disk after LBA 0, as far as 32 bits go. */
static uint32_t protective_size(uint64_t last_lba) {
        return last_lba > UINT32_MAX ? UINT32_MAX : (uint32_t) last_lba;
}

int gpt_write_new(int fd, const GptNewTable *n, GptPartition *ret) {
        uint32_t ss = n->sector_size;
        uint8_t mbr[512] = {}, type[16];
        GptTable t = { .ss = ss };
        int r;

        if ((ss != 512 && ss != 4096) || n->disk_bytes % ss != 0 || gpt_guid_parse(n->type, type) < 0)
                return -EINVAL;
        uint64_t lbas = GPT_NEW_ENTRIES * GPT_NEW_ENTRY_SIZE / ss;
        uint64_t n_lbas = n->disk_bytes / ss;
        uint64_t first = GPT_NEW_FIRST_BYTE / ss;
        if (n_lbas < first + lbas + 2)
                return -ERANGE;
        t.last_lba = n_lbas - 1;
        t.h = (GptHeader) {
                .first_usable = first,
                .last_usable = n_lbas - lbas - 2,
                .entries_lba = 2,
                .n_entries = GPT_NEW_ENTRIES,
                .entry_size = GPT_NEW_ENTRY_SIZE,
        };
        /* The partition: whole 4 KiB, as systemd-homed cuts it. */
        uint64_t end = ROUND_DOWN_4K((t.h.last_usable + 1) * ss) / ss;
        if (end <= first)
                return -ERANGE;

        t.bytes = GPT_NEW_ENTRIES * GPT_NEW_ENTRY_SIZE;
        t.entries = calloc(1, t.bytes);
        t.sector = calloc(1, ss);
        if (!t.entries || !t.sector) {
                table_done(&t);
                return -ENOMEM;
        }
        uint8_t *e = t.entries;
        guid_swap(type, e);
        guid_swap(n->uuid, e + 16);
        put_le64(e + 32, first);
        put_le64(e + 40, end - 1);
        r = name_encode(n->name, e + 56);
        if (r < 0) {
                table_done(&t);
                return r;
        }
        memcpy(t.sector, "EFI PART", 8);
        put_le32(t.sector + 8, 0x00010000); /* revision 1.0 */
        put_le32(t.sector + 12, GPT_HEADER_MIN_SIZE);
        put_le64(t.sector + 40, t.h.first_usable);
        guid_swap(n->disk_guid, t.sector + 56);
        put_le32(t.sector + 80, t.h.n_entries);
        put_le32(t.sector + 84, t.h.entry_size);

        r = table_write(fd, &t, t.last_lba);
        table_done(&t);
        if (r < 0)
                return r;

        /* As libfdisk writes it: one record of type 0xEE from LBA 1 over
         * the whole disk, CHS "beyond 1024 cylinders". */
        uint8_t *rec = mbr + 446;
        rec[2] = 0x02;
        rec[4] = 0xEE;
        rec[5] = rec[6] = rec[7] = 0xFF;
        put_le32(rec + 8, 1);
        put_le32(rec + 12, protective_size(n_lbas - 1));
        mbr[510] = 0x55;
        mbr[511] = 0xAA;
        r = pwrite_full(fd, mbr, sizeof mbr, 0);
        if (r < 0)
                return r;
        return gpt_read_partition(fd, ss, n->disk_bytes, 1, ret);
}

int gpt_resize_partition(int fd, uint32_t sector_size, uint64_t disk_bytes, uint64_t new_bytes, unsigned partno,
                         uint64_t size) {
        uint32_t ss = sector_size;
        GptPartition p;
        GptTable t;
        uint8_t mbr[512];
        int r;

        r = table_open(fd, ss, disk_bytes, &t);
        if (r < 0)
                return r;
        r = entry_parse(&t, partno, &p);
        if (r < 0)
                goto out;
        uint64_t first = p.start / (ss / 512), lbas = (t.bytes + ss - 1) / ss;
        uint64_t n_lbas = new_bytes / ss;
        if (size == 0 || size % (ss / 512) != 0 || new_bytes % ss != 0 || n_lbas < lbas + 3) {
                r = -ERANGE;
                goto out;
        }
        uint64_t new_last_usable = n_lbas - lbas - 2, new_end = first + size / (ss / 512) - 1;
        if (new_end > new_last_usable || new_last_usable < t.h.first_usable) {
                r = -ERANGE;
                goto out;
        }
        /* Only the last partition can change its end: none may lie behind
         * it, and none beyond the new usable area. */
        for (unsigned i = 1; i <= t.h.n_entries; i++) {
                GptPartition o;
                if (i == partno || entry_parse(&t, i, &o) == -ENOENT)
                        continue;
                uint64_t o_first = get_le64(t.entries + (size_t) (i - 1) * t.h.entry_size + 32);
                uint64_t o_last = get_le64(t.entries + (size_t) (i - 1) * t.h.entry_size + 40);
                if (o_last >= first || o_first >= first || o_last > new_last_usable) {
                        r = -EOPNOTSUPP;
                        goto out;
                }
        }
        uint64_t old_backup = get_le64(t.sector + 32);
        put_le64(t.entries + (size_t) (partno - 1) * t.h.entry_size + 40, new_end);
        t.h.last_usable = new_last_usable;
        r = table_write(fd, &t, n_lbas - 1);
        if (r < 0)
                goto out;

        /* The old backup, when the disk grew, now lies in the partition's
         * new room: erased, so that nothing takes it for a table. */
        if (t.lba == 1 && old_backup != n_lbas - 1 && old_backup > get_le64(t.entries + (size_t) (partno - 1) *
                                                                                  t.h.entry_size + 32) &&
            old_backup <= new_end) {
                _cleanup_free_ uint8_t *zero = calloc(1, ss);
                if (!zero) {
                        r = -ENOMEM;
                        goto out;
                }
                r = pwrite_full(fd, zero, ss, old_backup * ss);
                if (r < 0)
                        goto out;
        }

        r = pread_full(fd, mbr, sizeof mbr, 0);
        if (r >= 0) {
                int i = protective_record(mbr);
                if (i >= 0) {
                        put_le32(mbr + 446 + 16 * i + 12, protective_size(n_lbas - 1));
                        r = pwrite_full(fd, mbr, sizeof mbr, 0);
                }
        }
out:
        table_done(&t);
        return r < 0 ? r : 0;
}

int gpt_erase(int fd, uint32_t sector_size, uint64_t disk_bytes) {
        uint32_t ss = sector_size;
        uint64_t lbas = GPT_NEW_ENTRIES * GPT_NEW_ENTRY_SIZE / ss, n_lbas = disk_bytes / ss;
        int r;

        if ((ss != 512 && ss != 4096) || n_lbas < 2 * lbas + 3)
                return -EINVAL;
        _cleanup_free_ uint8_t *zero = calloc(lbas + 2, ss);
        if (!zero)
                return -ENOMEM;
        r = pwrite_full(fd, zero, (lbas + 1) * ss, (n_lbas - lbas - 1) * ss);
        if (r >= 0)
                r = pwrite_full(fd, zero, (lbas + 2) * ss, 0);
        return r;
}
