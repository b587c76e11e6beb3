/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storage/gpt.c: tables written by libfdisk (512- and 4096-byte sectors)
 * read back the same as libfdisk reads them; the backup is used when the
 * primary header or array is damaged, and only then; a GPT counts only
 * behind a protective MBR; and hostile headers and entries, with CRCs
 * recomputed so that only the field itself is wrong, are refused.
 * A home's partition is found by type, name and UUID as systemd-homed
 * finds it; the one-partition table gpt_write_new() writes is what
 * libfdisk would write (layout, protective MBR) and what systemd-homed
 * makes (1 MiB start, 4 KiB-aligned end); resized and erased, libfdisk
 * reads it as intended. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <libfdisk/libfdisk.h>

#include "gpt.h"
#include "little-endian.h"

#define DISK_BYTES (64U * 1024U * 1024U)
#define POOL_TYPE "8F3B41C8-6D1E-4A7F-9C55-48454152544B"
#define LINUX_TYPE "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define HOME_TYPE GPT_TYPE_USER_HOME

typedef struct Disk {
        char path[64];
        uint32_t ss;
        uint8_t *img; /* the whole disk, kept in step with the file */
} Disk;

static uint64_t last_lba(const Disk *d) {
        return DISK_BYTES / d->ss - 1;
}

static uint8_t *header(Disk *d, uint64_t lba) {
        return d->img + lba * d->ss;
}

/* Makes the header's CRC right again after a field was changed. */
static void fix_header_crc(Disk *d, uint64_t lba) {
        uint8_t *h = header(d, lba);
        put_le32(h + 16, 0);
        put_le32(h + 16, gpt_crc32(h, get_le32(h + 12)));
}

static void fix_entries_crc(Disk *d, uint64_t lba) {
        uint8_t *h = header(d, lba);
        uint64_t bytes = (uint64_t) get_le32(h + 80) * get_le32(h + 84);
        put_le32(h + 88, gpt_crc32(d->img + get_le64(h + 72) * d->ss, bytes));
        fix_header_crc(d, lba);
}

static uint8_t *entry(Disk *d, uint64_t lba, unsigned partno) {
        uint8_t *h = header(d, lba);
        return d->img + get_le64(h + 72) * d->ss + (size_t) (partno - 1) * get_le32(h + 84);
}

static void sync_file(const Disk *d) {
        int fd = open(d->path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, d->img, DISK_BYTES, 0), DISK_BYTES);
        close(fd);
}

static int read_part(const Disk *d, uint64_t disk_bytes, unsigned partno, GptPartition *ret) {
        int fd = open(d->path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        int r = gpt_read_partition(fd, d->ss, disk_bytes, partno, ret);
        close(fd);
        return r;
}

static int read_now(Disk *d, unsigned partno, GptPartition *ret) {
        sync_file(d);
        return read_part(d, DISK_BYTES, partno, ret);
}

/* Partitions 1 (root), 2 (home), 3 (pool, between them); 4.. unused. */
static void disk_make(Disk *d, uint32_t ss) {
        d->ss = ss;
        snprintf(d->path, sizeof d->path, "/tmp/test-gpt-XXXXXX");
        int fd = mkstemp(d->path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, DISK_BYTES), 0);
        close(fd);

        struct fdisk_context *cxt = fdisk_new_context();
        assert_non_null(cxt);
        assert_int_equal(fdisk_save_user_sector_size(cxt, ss, ss), 0);
        assert_int_equal(fdisk_assign_device(cxt, d->path, 0), 0);
        assert_int_equal(fdisk_create_disklabel(cxt, "gpt"), 0);
        const struct { uint64_t start_mib, size_mib; const char *type; } parts[] = {
                { 1, 16, LINUX_TYPE }, { 40, 20, LINUX_TYPE }, { 17, 23, POOL_TYPE },
        };
        for (size_t i = 0; i < 3; i++) {
                struct fdisk_partition *pa = fdisk_new_partition();
                struct fdisk_parttype *t = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), parts[i].type);
                assert_non_null(pa);
                assert_non_null(t);
                assert_int_equal(fdisk_partition_set_start(pa, parts[i].start_mib * 1048576 / ss), 0);
                /* The last one ends where the usable area does. */
                if (i == 1)
                        assert_int_equal(fdisk_partition_end_follow_default(pa, 1), 0);
                else
                        assert_int_equal(fdisk_partition_set_size(pa, parts[i].size_mib * 1048576 / ss), 0);
                assert_int_equal(fdisk_partition_set_partno(pa, i), 0);
                assert_int_equal(fdisk_partition_set_type(pa, t), 0);
                assert_int_equal(fdisk_add_partition(cxt, pa, NULL), 0);
                fdisk_unref_parttype(t);
                fdisk_unref_partition(pa);
        }
        assert_int_equal(fdisk_write_disklabel(cxt), 0);
        assert_int_equal(fdisk_deassign_device(cxt, 0), 0);
        fdisk_unref_context(cxt);

        d->img = malloc(DISK_BYTES);
        assert_non_null(d->img);
        fd = open(d->path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, d->img, DISK_BYTES, 0), DISK_BYTES);
        close(fd);
}

static void disk_free(Disk *d) {
        unlink(d->path);
        free(d->img);
}

static void uuid_string(const uint8_t u[16], char out[static 37]) {
        snprintf(out, 37, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2], u[3],
                 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* What libfdisk reads for partno, in 512-byte sectors; its partition and
 * disk GUIDs as strings. */
static void fdisk_read(const Disk *d, unsigned partno, GptPartition *ret, char uuid[static 37], char disk_guid[static 37]) {
        struct fdisk_context *cxt = fdisk_new_context();
        struct fdisk_partition *pa = NULL;
        assert_int_equal(fdisk_save_user_sector_size(cxt, d->ss, d->ss), 0);
        assert_int_equal(fdisk_assign_device(cxt, d->path, 1), 0);
        assert_true(fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT));
        assert_int_equal(fdisk_get_partition(cxt, partno - 1, &pa), 0);
        *ret = (GptPartition) {
                .start = (uint64_t) fdisk_partition_get_start(pa) * (d->ss / 512),
                .size = (uint64_t) fdisk_partition_get_size(pa) * (d->ss / 512),
        };
        snprintf(ret->type, sizeof ret->type, "%s", fdisk_parttype_get_string(fdisk_partition_get_type(pa)));
        snprintf(uuid, 37, "%s", fdisk_partition_get_uuid(pa));
        char *id = NULL;
        assert_int_equal(fdisk_get_disklabel_id(cxt, &id), 0);
        snprintf(disk_guid, 37, "%s", id);
        free(id);
        fdisk_unref_partition(pa);
        fdisk_unref_context(cxt);
}

static void assert_same_as_fdisk(Disk *d) {
        for (unsigned partno = 1; partno <= 3; partno++) {
                GptPartition mine, theirs;
                char uuid[37], disk_guid[37], s[37];
                assert_int_equal(read_now(d, partno, &mine), 0);
                fdisk_read(d, partno, &theirs, uuid, disk_guid);
                assert_int_equal(mine.start, theirs.start);
                assert_int_equal(mine.size, theirs.size);
                assert_string_equal(mine.type, theirs.type);
                /* The identities pool discovery records (pool-discover.h). */
                uuid_string(mine.uuid, s);
                assert_string_equal(s, uuid);
                uuid_string(mine.disk_guid, s);
                assert_string_equal(s, disk_guid);
        }
}

static void test_crc32(void **state) {
        (void) state;
        assert_int_equal(gpt_crc32("123456789", 9), 0xCBF43926U);
        assert_int_equal(gpt_crc32("", 0), 0);
}

static void test_matches_fdisk(void **state) {
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                Disk d;
                GptPartition p;
                disk_make(&d, ss);
                assert_same_as_fdisk(&d);
                assert_int_equal(read_now(&d, 3, &p), 0);
                assert_int_equal(p.start, 17 * 2048);
                assert_int_equal(p.size, 23 * 2048);
                assert_string_equal(p.type, POOL_TYPE);
                assert_int_equal(read_now(&d, 4, &p), -ENOENT);   /* unused */
                assert_int_equal(read_now(&d, 0, &p), -ENOENT);
                assert_int_equal(read_now(&d, 129, &p), -ENOENT); /* past the array */
                disk_free(&d);
        }
}

static void test_backup_used(void **state) {
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                Disk d;
                GptPartition p;
                disk_make(&d, ss);
                uint8_t saved[4096];
                memcpy(saved, header(&d, 1), ss);

                /* The CRC no longer holds: a primary that would cut
                 * partition 2 short is not believed. */
                put_le64(header(&d, 1) + 48, get_le64(entry(&d, 1, 2) + 40) - 1);
                assert_same_as_fdisk(&d);
                memcpy(header(&d, 1), saved, ss);

                entry(&d, 1, 3)[33] ^= 0x40; /* array CRC broken */
                assert_int_equal(read_now(&d, 3, &p), 0);
                assert_int_equal(p.start, 17 * 2048);
                entry(&d, 1, 3)[33] ^= 0x40;

                /* The primary is believed when valid: an entry it calls
                 * unused stays unused though the backup still has it. */
                memset(entry(&d, 1, 3), 0, 16);
                fix_entries_crc(&d, 1);
                assert_int_equal(read_now(&d, 3, &p), -ENOENT);
                memcpy(header(&d, 1), saved, ss);
                memcpy(entry(&d, 1, 3), entry(&d, last_lba(&d), 3), 128);

                memset(header(&d, 1), 0, ss); /* no primary at all */
                assert_int_equal(read_now(&d, 2, &p), 0);
                GptPartition theirs;
                char uuid[37], disk_guid[37], s[37];
                fdisk_read(&d, 2, &theirs, uuid, disk_guid);
                assert_int_equal(p.start, theirs.start);
                uuid_string(p.disk_guid, s); /* the backup header's copy */
                assert_string_equal(s, disk_guid);
                assert_int_equal(p.size, theirs.size);
                assert_string_equal(p.type, LINUX_TYPE);
                memset(header(&d, last_lba(&d)), 0, ss);
                assert_int_equal(read_now(&d, 2, &p), -EMEDIUMTYPE);
                disk_free(&d);
        }
}

/* One hostile change to the primary header, its CRCs recomputed where the
 * array can be read, with the backup gone: the table must be refused. */
typedef void (*Spoil)(Disk *d, uint8_t *h);

static void spoil_small_header(Disk *d, uint8_t *h) { (void) d; put_le32(h + 12, 91); }
static void spoil_big_header(Disk *d, uint8_t *h) { put_le32(h + 12, d->ss + 1); }
static void spoil_my_lba(Disk *d, uint8_t *h) { (void) d; put_le64(h + 24, 2); }
static void spoil_usable_order(Disk *d, uint8_t *h) { (void) d; put_le64(h + 40, get_le64(h + 48) + 1); }
static void spoil_usable_end(Disk *d, uint8_t *h) { put_le64(h + 48, last_lba(d) + 1); }
static void spoil_usable_start(Disk *d, uint8_t *h) { (void) d; put_le64(h + 40, 1); }
static void spoil_no_entries(Disk *d, uint8_t *h) { (void) d; put_le32(h + 80, 0); }
static void spoil_many_entries(Disk *d, uint8_t *h) { (void) d; put_le32(h + 80, UINT32_MAX); }
static void spoil_small_entry(Disk *d, uint8_t *h) { (void) d; put_le32(h + 84, 64); }
static void spoil_odd_entry(Disk *d, uint8_t *h) { (void) d; put_le32(h + 84, 130); }
static void spoil_huge_entry(Disk *d, uint8_t *h) { (void) d; put_le32(h + 84, UINT32_MAX - 7); }
static void spoil_entries_past_end(Disk *d, uint8_t *h) { put_le64(h + 72, last_lba(d)); }
static void spoil_entries_far(Disk *d, uint8_t *h) { (void) d; put_le64(h + 72, UINT64_MAX / 2); }
static void spoil_entries_on_header(Disk *d, uint8_t *h) { (void) d; put_le64(h + 72, 1); }
/* A one-sector array at LBA 0 (the MBR), so that its CRC can be made right. */
static void spoil_entries_on_mbr(Disk *d, uint8_t *h) { (void) d; put_le64(h + 72, 0); put_le32(h + 80, 4); }
/* The usable area taking in LBA 1, with the array moved out of its way. */
static void spoil_usable_covers_header(Disk *d, uint8_t *h) {
        (void) d;
        put_le64(h + 40, 1);
        put_le64(h + 72, get_le64(h + 48) + 1);
}
static void spoil_entry_not_pow2(Disk *d, uint8_t *h) { (void) d; put_le32(h + 84, 384); put_le32(h + 80, 32); }
static void spoil_entries_in_usable(Disk *d, uint8_t *h) { (void) d; put_le64(h + 72, get_le64(h + 40) + 1); }

static void test_hostile_header(void **state) {
        static const Spoil spoils[] = {
                spoil_small_header, spoil_big_header, spoil_my_lba, spoil_usable_order, spoil_usable_end,
                spoil_usable_start, spoil_no_entries, spoil_many_entries, spoil_small_entry, spoil_odd_entry,
                spoil_huge_entry, spoil_entries_past_end, spoil_entries_far, spoil_entries_on_header,
                spoil_entries_in_usable, spoil_entries_on_mbr, spoil_entry_not_pow2,
                spoil_usable_covers_header,
        };
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                Disk d;
                GptPartition p;
                disk_make(&d, ss);
                memset(header(&d, last_lba(&d)), 0, ss);
                uint8_t saved[4096];
                memcpy(saved, header(&d, 1), ss);
                for (size_t i = 0; i < sizeof spoils / sizeof *spoils; i++) {
                        uint8_t *h = header(&d, 1);
                        spoils[i](&d, h);
                        uint64_t bytes = (uint64_t) get_le32(h + 80) * get_le32(h + 84);
                        if (get_le64(h + 72) < DISK_BYTES / ss && bytes <= DISK_BYTES - get_le64(h + 72) * ss)
                                fix_entries_crc(&d, 1);
                        else
                                fix_header_crc(&d, 1);
                        if (read_now(&d, 3, &p) != -EMEDIUMTYPE)
                                fail_msg("sector size %u: spoil #%zu accepted", ss, i);
                        memcpy(header(&d, 1), saved, ss);
                }
                assert_int_equal(read_now(&d, 3, &p), 0); /* the restored one reads */
                disk_free(&d);
        }
}

static void test_hostile_entry(void **state) {
        (void) state;
        Disk d;
        GptPartition p;
        disk_make(&d, 512);
        uint8_t *e = entry(&d, 1, 3);
        uint64_t first = get_le64(e + 32), last = get_le64(e + 40);
        uint8_t *h = header(&d, 1);

        put_le64(e + 40, first - 1); /* ends before it starts */
        fix_entries_crc(&d, 1);
        assert_int_equal(read_now(&d, 3, &p), -EBADMSG);
        put_le64(e + 40, get_le64(h + 48) + 1); /* past the usable area */
        fix_entries_crc(&d, 1);
        assert_int_equal(read_now(&d, 3, &p), -EBADMSG);
        put_le64(e + 40, last);
        put_le64(e + 32, get_le64(h + 40) - 1); /* before it */
        fix_entries_crc(&d, 1);
        assert_int_equal(read_now(&d, 3, &p), -EBADMSG);
        put_le64(e + 32, first);
        fix_entries_crc(&d, 1);
        assert_int_equal(read_now(&d, 3, &p), 0);
        disk_free(&d);
}

static void put_mbr_record(uint8_t *mbr, unsigned i, uint8_t type, uint32_t start, uint32_t size) {
        uint8_t *rec = mbr + 446 + 16 * i;
        memset(rec, 0, 16);
        rec[4] = type;
        put_le32(rec + 8, start);
        put_le32(rec + 12, size);
}

static void test_protective_mbr(void **state) {
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                Disk d;
                GptPartition p;
                disk_make(&d, ss);
                uint8_t saved[512];
                memcpy(saved, d.img, 512);

                d.img[510] = 0; /* no boot signature */
                assert_int_equal(read_now(&d, 3, &p), -EMEDIUMTYPE);
                memcpy(d.img, saved, 512);

                /* Relabelled DOS, old GPT headers still on the disk. */
                put_mbr_record(d.img, 0, 0x83, 2048, 4096);
                assert_int_equal(read_now(&d, 3, &p), -EMEDIUMTYPE);
                put_mbr_record(d.img, 0, 0xEE, 2, UINT32_MAX); /* 0xEE not at LBA 1 */
                assert_int_equal(read_now(&d, 3, &p), -EMEDIUMTYPE);

                /* A hybrid MBR: 0xEE beside a DOS record. */
                put_mbr_record(d.img, 0, 0x83, 2048, 4096);
                put_mbr_record(d.img, 1, 0xEE, 1, UINT32_MAX);
                assert_int_equal(read_now(&d, 3, &p), 0);
                assert_int_equal(p.start, 17 * 2048);
                disk_free(&d);
        }
}

static void test_short_disk(void **state) {
        (void) state;
        Disk d;
        GptPartition p;
        disk_make(&d, 512);
        sync_file(&d);
        /* A disk shorter than the table says: the primary no longer fits
         * (its usable area runs past the end), the backup is not at the
         * end; nothing is read past the size given. */
        assert_int_equal(read_part(&d, DISK_BYTES / 2, 3, &p), -EMEDIUMTYPE);
        assert_int_equal(read_part(&d, 3 * 512, 3, &p), -EMEDIUMTYPE);
        assert_int_equal(read_part(&d, 0, 3, &p), -EMEDIUMTYPE);
        assert_int_equal(read_part(&d, DISK_BYTES, 3, &p), 0);
        int fd = open(d.path, O_RDONLY | O_CLOEXEC);
        assert_int_equal(gpt_read_partition(fd, 1024, DISK_BYTES, 3, &p), -EINVAL);
        close(fd);
        memset(d.img, 0, DISK_BYTES); /* no GPT at all */
        assert_int_equal(read_now(&d, 1, &p), -EMEDIUMTYPE);
        disk_free(&d);
}


/* ---- homes: find, write, resize, erase ----------------------------------- */

static void file_make(char path[static 64], uint64_t bytes) {
        snprintf(path, 64, "/tmp/test-gpt-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) bytes), 0);
        close(fd);
}

static struct fdisk_context *fdisk_open(const char *path, uint32_t ss, int ro) {
        struct fdisk_context *cxt = fdisk_new_context();
        assert_non_null(cxt);
        assert_int_equal(fdisk_save_user_sector_size(cxt, ss, ss), 0);
        assert_int_equal(fdisk_assign_device(cxt, path, ro), 0);
        return cxt;
}

typedef struct Part {
        uint64_t start_mib, size_mib; /* size 0: to the end of the usable area */
        const char *type, *name, *uuid;
} Part;

/* A table of parts as libfdisk writes it. */
static void fdisk_make(const char *path, uint32_t ss, const Part *parts, size_t n) {
        struct fdisk_context *cxt = fdisk_open(path, ss, 0);
        assert_int_equal(fdisk_create_disklabel(cxt, "gpt"), 0);
        for (size_t i = 0; i < n; i++) {
                struct fdisk_partition *pa = fdisk_new_partition();
                struct fdisk_parttype *t = fdisk_label_parse_parttype(fdisk_get_label(cxt, NULL), parts[i].type);
                assert_non_null(t);
                assert_int_equal(fdisk_partition_set_start(pa, parts[i].start_mib * 1048576 / ss), 0);
                if (parts[i].size_mib)
                        assert_int_equal(fdisk_partition_set_size(pa, parts[i].size_mib * 1048576 / ss), 0);
                else
                        assert_int_equal(fdisk_partition_end_follow_default(pa, 1), 0);
                assert_int_equal(fdisk_partition_set_partno(pa, i), 0);
                assert_int_equal(fdisk_partition_set_type(pa, t), 0);
                if (parts[i].name)
                        assert_int_equal(fdisk_partition_set_name(pa, parts[i].name), 0);
                if (parts[i].uuid)
                        assert_int_equal(fdisk_partition_set_uuid(pa, parts[i].uuid), 0);
                assert_int_equal(fdisk_add_partition(cxt, pa, NULL), 0);
                fdisk_unref_parttype(t);
                fdisk_unref_partition(pa);
        }
        assert_int_equal(fdisk_write_disklabel(cxt), 0);
        assert_int_equal(fdisk_deassign_device(cxt, 0), 0);
        fdisk_unref_context(cxt);
}

static int find(const char *path, uint32_t ss, uint64_t bytes, const char *type, const char *name, const char *uuid,
                GptPartition *ret) {
        uint8_t u[16];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (uuid)
                assert_int_equal(gpt_guid_parse(uuid, u), 0);
        int r = gpt_find_partition(fd, ss, bytes, type, name, uuid ? u : NULL, ret);
        close(fd);
        return r;
}

static void test_guid(void **state) {
        (void) state;
        uint8_t g[16];
        char s[37];
        assert_int_equal(gpt_guid_parse("773f91ef-66d4-49b5-bd83-d683bf40ad16", g), 0);
        assert_int_equal(g[0], 0x77);
        assert_int_equal(g[15], 0x16);
        gpt_guid_format(g, true, s);
        assert_string_equal(s, HOME_TYPE);
        gpt_guid_format(g, false, s);
        assert_string_equal(s, "773f91ef-66d4-49b5-bd83-d683bf40ad16");
        assert_int_equal(gpt_guid_parse("773f91ef66d4-49b5-bd83-d683bf40ad16-", g), -EINVAL);
        assert_int_equal(gpt_guid_parse("773f91ef-66d4-49b5-bd83-d683bf40ad1g", g), -EINVAL);
        assert_int_equal(gpt_guid_parse("773f91ef-66d4-49b5-bd83-d683bf40ad1", g), -EINVAL);
}

static void test_find(void **state) {
        (void) state;
        static const char *const uuids[] = { "11111111-2222-4333-8444-555555555555",
                                             "66666666-7777-4888-9999-aaaaaaaaaaaa" };
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                char path[64];
                GptPartition p;
                file_make(path, DISK_BYTES);
                const Part parts[] = {
                        { 1, 8, LINUX_TYPE, "alice", NULL },
                        { 9, 8, HOME_TYPE, "bob", NULL },
                        { 17, 8, HOME_TYPE, "Zoë", NULL },
                        { 25, 8, HOME_TYPE, "alice", uuids[0] },
                        { 33, 0, HOME_TYPE, "carol", uuids[1] },
                };
                fdisk_make(path, ss, parts, 5);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "alice", NULL, &p), 0);
                assert_int_equal(p.partno, 4); /* not the Linux partition named alice */
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_int_equal(gpt_count_partitions(fd, ss, DISK_BYTES), 5);
                close(fd);
                assert_int_equal(p.start, 25 * 2048);
                assert_int_equal(p.size, 8 * 2048);
                assert_string_equal(p.name, "alice");
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "Zoë", NULL, &p), 0);
                assert_int_equal(p.partno, 3);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "zoë", NULL, &p), -ENOENT);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "carol", uuids[1], &p), 0);
                assert_int_equal(p.partno, 5);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "carol", uuids[0], &p), -ENOENT);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "dave", NULL, &p), -ENOENT);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "ali", NULL, &p), -ENOENT);
                assert_int_equal(find(path, ss, DISK_BYTES, POOL_TYPE, "bob", NULL, &p), -ENOENT);
                assert_int_equal(find(path, ss, DISK_BYTES, "not-a-guid", "bob", NULL, &p), -EINVAL);

                /* Two homes of one name: neither is taken, unless a UUID tells them apart. */
                const Part twice[] = {
                        { 1, 8, HOME_TYPE, "alice", uuids[1] },
                        { 9, 0, HOME_TYPE, "alice", uuids[0] },
                };
                fdisk_make(path, ss, twice, 2);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "alice", NULL, &p), -ENOTUNIQ);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "alice", uuids[0], &p), 0);
                assert_int_equal(p.partno, 2);
                unlink(path);
        }
}

/* A name with a lone surrogate matches nothing, however it reads. */
static void test_find_bad_name(void **state) {
        (void) state;
        Disk d;
        GptPartition p;
        disk_make(&d, 512);
        uint8_t *e = entry(&d, 1, 2);
        memcpy(e, (const uint8_t[]) { 0xEF, 0x91, 0x3F, 0x77, 0xD4, 0x66, 0xB5, 0x49, 0xBD, 0x83, 0xD6, 0x83, 0xBF, 0x40,
                                      0xAD, 0x16 }, 16); /* HOME_TYPE on disk */
        memset(e + 56, 0, 72);
        e[56] = 'a';
        e[58] = 0x00;
        e[59] = 0xD8; /* U+D800 alone */
        fix_entries_crc(&d, 1);
        sync_file(&d);
        assert_int_equal(find(d.path, 512, DISK_BYTES, HOME_TYPE, "a", NULL, &p), -ENOENT);
        assert_int_equal(read_now(&d, 2, &p), 0);
        assert_string_equal(p.name, "a\xEF\xBF\xBD");
        disk_free(&d);
}

static GptNewTable new_table(uint32_t ss, uint64_t bytes, const char *name) {
        GptNewTable t = { .sector_size = ss, .disk_bytes = bytes, .type = HOME_TYPE, .name = name };
        assert_int_equal(gpt_guid_parse("5a949d13-1b8c-414d-9e58-8281937a43b9", t.uuid), 0);
        assert_int_equal(gpt_guid_parse("c5218c75-c4f2-4d4e-bcff-73227d020c9f", t.disk_guid), 0);
        return t;
}

static int write_new(const char *path, const GptNewTable *t, GptPartition *ret) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        int r = gpt_write_new(fd, t, ret);
        close(fd);
        return r;
}

/* What libfdisk reads of the table at path: the layout, and partition 1. */
static void fdisk_check_home(const char *path, uint32_t ss, uint64_t bytes, uint64_t want_size_bytes, const char *name) {
        struct fdisk_context *cxt = fdisk_open(path, ss, 1);
        struct fdisk_partition *pa = NULL;
        char *id = NULL;
        uint64_t n = bytes / ss, entries = 16384 / ss;

        assert_true(fdisk_is_labeltype(cxt, FDISK_DISKLABEL_GPT));
        assert_int_equal(fdisk_verify_disklabel(cxt), 0);
        assert_int_equal(fdisk_get_first_lba(cxt), 1048576 / ss); /* as libfdisk lays out a new table */
        assert_int_equal(fdisk_get_last_lba(cxt), n - entries - 2);
        assert_int_equal(fdisk_get_partition(cxt, 0, &pa), 0);
        assert_int_equal((uint64_t) fdisk_partition_get_start(pa) * ss, 1048576);
        assert_int_equal((uint64_t) fdisk_partition_get_size(pa) * ss, want_size_bytes);
        assert_int_equal(strcasecmp(fdisk_parttype_get_string(fdisk_partition_get_type(pa)), HOME_TYPE), 0);
        assert_string_equal(fdisk_partition_get_name(pa), name);
        assert_string_equal(fdisk_partition_get_uuid(pa), "5A949D13-1B8C-414D-9E58-8281937A43B9");
        assert_int_equal(fdisk_get_disklabel_id(cxt, &id), 0);
        assert_string_equal(id, "C5218C75-C4F2-4D4E-BCFF-73227D020C9F");
        free(id);
        assert_int_equal(fdisk_table_get_nents(NULL), 0);
        struct fdisk_table *tb = NULL;
        assert_int_equal(fdisk_get_partitions(cxt, &tb), 0);
        assert_int_equal(fdisk_table_get_nents(tb), 1);
        fdisk_unref_table(tb);
        fdisk_unref_partition(pa);
        fdisk_unref_context(cxt);
}

/* systemd-homed's partition: from 1 MiB to the end of the usable area
 * rounded down to 4 KiB. */
static uint64_t homed_size(uint32_t ss, uint64_t bytes) {
        uint64_t last_usable = bytes / ss - 16384 / ss - 2;
        return (((last_usable + 1) * ss) & ~UINT64_C(4095)) - 1048576;
}

static void test_write_new(void **state) {
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                char path[64], ref[64];
                GptPartition p;
                uint8_t mine[512], theirs[512];
                file_make(path, DISK_BYTES);
                GptNewTable t = new_table(ss, DISK_BYTES, "alice");
                assert_int_equal(write_new(path, &t, &p), 0);
                assert_int_equal(p.partno, 1);
                assert_int_equal(p.start, 2048);
                assert_int_equal(p.size * 512, homed_size(ss, DISK_BYTES));
                if (ss == 512) /* 64 MiB: as sfdisk shows a homed image: 2048 + 128984 */
                        assert_int_equal(p.size, 128984);
                assert_string_equal(p.type, HOME_TYPE);
                assert_string_equal(p.name, "alice");
                fdisk_check_home(path, ss, DISK_BYTES, homed_size(ss, DISK_BYTES), "alice");
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "alice", "5a949d13-1b8c-414d-9e58-8281937a43b9",
                                      &p), 0);

                /* The protective MBR is byte for byte libfdisk's. */
                file_make(ref, DISK_BYTES);
                fdisk_make(ref, ss, (const Part[]) { { 1, 0, HOME_TYPE, "alice", NULL } }, 1);
                int fd = open(path, O_RDONLY | O_CLOEXEC), fd2 = open(ref, O_RDONLY | O_CLOEXEC);
                assert_int_equal(pread(fd, mine, 512, 0), 512);
                assert_int_equal(pread(fd2, theirs, 512, 0), 512);
                assert_memory_equal(mine + 446, theirs + 446, 66);
                close(fd);
                close(fd2);
                unlink(ref);

                /* The backup alone tells the same. */
                fd = open(path, O_RDWR | O_CLOEXEC);
                uint8_t zero[4096] = {};
                assert_int_equal(pwrite(fd, zero, ss, ss), (ssize_t) ss);
                close(fd);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "alice", NULL, &p), 0);
                assert_int_equal(p.size * 512, homed_size(ss, DISK_BYTES));
                unlink(path);
        }
}

static void test_write_new_refused(void **state) {
        (void) state;
        char path[64];
        GptPartition p;
        file_make(path, DISK_BYTES);
        GptNewTable t = new_table(512, DISK_BYTES, "abcdefghijklmnopqrstuvwxyz0123456789");
        assert_int_equal(write_new(path, &t, &p), 0); /* 36 units fit */
        assert_string_equal(p.name, "abcdefghijklmnopqrstuvwxyz0123456789");
        t.name = "abcdefghijklmnopqrstuvwxyz0123456789x";
        assert_int_equal(write_new(path, &t, &p), -EINVAL);
        t.name = "al\xC3ice"; /* not UTF-8 */
        assert_int_equal(write_new(path, &t, &p), -EINVAL);
        t.name = "\xC0\xAF"; /* overlong */
        assert_int_equal(write_new(path, &t, &p), -EINVAL);
        t.name = "alice";
        t.type = "773f91ef";
        assert_int_equal(write_new(path, &t, &p), -EINVAL);
        t.type = HOME_TYPE;
        t.sector_size = 1024;
        assert_int_equal(write_new(path, &t, &p), -EINVAL);
        t.sector_size = 512;
        t.disk_bytes = 1048576 + 16384; /* no room after the tables */
        assert_int_equal(write_new(path, &t, &p), -ERANGE);
        unlink(path);
}

static int resize(const char *path, uint32_t ss, uint64_t bytes, uint64_t new_bytes, unsigned partno, uint64_t size) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        int r = gpt_resize_partition(fd, ss, bytes, new_bytes, partno, size);
        close(fd);
        return r;
}

static void test_resize(void **state) {
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                char path[64];
                GptPartition p;
                uint64_t big = DISK_BYTES * 3 / 2, small = DISK_BYTES / 2;
                file_make(path, DISK_BYTES);
                GptNewTable t = new_table(ss, DISK_BYTES, "alice");
                assert_int_equal(write_new(path, &t, &p), 0);
                uint64_t old_backup = DISK_BYTES - ss;

                /* Grow: the image first, then the table. */
                assert_int_equal(truncate(path, (off_t) big), 0);
                /* The usable area's end is the limit, a sector more is refused. */
                uint64_t most = ((big / ss - 16384 / ss - 1) * ss - 1048576) / 512;
                assert_int_equal(resize(path, ss, big, big, 1, most + ss / 512), -ERANGE);
                assert_int_equal(resize(path, ss, big, big, 1, most), 0);
                assert_int_equal(resize(path, ss, big, big, 1, homed_size(ss, big) / 512), 0);
                fdisk_check_home(path, ss, big, homed_size(ss, big), "alice");
                assert_int_equal(find(path, ss, big, HOME_TYPE, "alice", NULL, &p), 0);
                assert_int_equal(p.size * 512, homed_size(ss, big));
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                char sig[8];
                assert_int_equal(pread(fd, sig, 8, (off_t) old_backup), 8);
                assert_memory_not_equal(sig, "EFI PART", 8); /* the old backup is gone */
                uint8_t mbr[512];
                assert_int_equal(pread(fd, mbr, 512, 0), 512);
                assert_int_equal(get_le32(mbr + 446 + 12), big / ss - 1);
                close(fd);

                /* Shrink: the table first, then the image. */
                assert_int_equal(resize(path, ss, big, small, 1, homed_size(ss, small) / 512), 0);
                assert_int_equal(find(path, ss, big, HOME_TYPE, "alice", NULL, &p), 0); /* before the truncate */
                assert_int_equal(p.size * 512, homed_size(ss, small));
                assert_int_equal(truncate(path, (off_t) small), 0);
                fdisk_check_home(path, ss, small, homed_size(ss, small), "alice");
                /* Any size of whole sectors fits, not only homed's. */
                assert_int_equal(resize(path, ss, small, small, 1, 8 * 2048), 0);
                assert_int_equal(find(path, ss, small, HOME_TYPE, "alice", NULL, &p), 0);
                assert_int_equal(p.size, 8 * 2048);
                if (ss == 4096)
                        assert_int_equal(resize(path, ss, small, small, 1, 8 * 2048 + 1), -ERANGE);
                assert_int_equal(resize(path, ss, small, small, 2, 2048), -ENOENT);
                assert_int_equal(resize(path, ss, small, small, 1, 0), -ERANGE);

                /* From the backup, when the primary is damaged: both rewritten. */
                fd = open(path, O_RDWR | O_CLOEXEC);
                uint8_t junk[4096];
                memset(junk, 0x5A, sizeof junk);
                assert_int_equal(pwrite(fd, junk, ss, ss), (ssize_t) ss);
                close(fd);
                assert_int_equal(resize(path, ss, small, small, 1, homed_size(ss, small) / 512), 0);
                fdisk_check_home(path, ss, small, homed_size(ss, small), "alice");
                unlink(path);
        }
}

/* A partition behind the home's: its end is not the home's to move. */
static void test_resize_not_last(void **state) {
        (void) state;
        char path[64];
        file_make(path, DISK_BYTES);
        const Part parts[] = {
                { 1, 16, HOME_TYPE, "alice", NULL },
                { 17, 8, LINUX_TYPE, "data", NULL },
        };
        fdisk_make(path, 512, parts, 2);
        assert_int_equal(resize(path, 512, DISK_BYTES, DISK_BYTES, 1, 20 * 2048), -EOPNOTSUPP);
        assert_int_equal(resize(path, 512, DISK_BYTES, DISK_BYTES, 1, 15 * 2048), -EOPNOTSUPP);
        /* The last one may; not past the usable area of a smaller disk. */
        assert_int_equal(resize(path, 512, DISK_BYTES, DISK_BYTES, 2, 4 * 2048), 0);
        assert_int_equal(resize(path, 512, DISK_BYTES, 20 * 1048576, 2, 4 * 2048), -ERANGE);
        unlink(path);
}

static void test_erase(void **state) {
        (void) state;
        for (uint32_t ss = 512; ss <= 4096; ss *= 8) {
                char path[64];
                GptPartition p;
                file_make(path, DISK_BYTES);
                GptNewTable t = new_table(ss, DISK_BYTES, "alice");
                assert_int_equal(write_new(path, &t, &p), 0);
                int fd = open(path, O_RDWR | O_CLOEXEC);
                /* Data in the partition stays. */
                assert_int_equal(pwrite(fd, "LUKS\xba\xbe", 6, 1048576), 6);
                assert_int_equal(gpt_count_partitions(fd, ss, DISK_BYTES), 1);
                assert_int_equal(gpt_erase(fd, ss, DISK_BYTES), 0);
                assert_int_equal(gpt_count_partitions(fd, ss, DISK_BYTES), -EMEDIUMTYPE);
                char magic[6];
                assert_int_equal(pread(fd, magic, 6, 1048576), 6);
                assert_memory_equal(magic, "LUKS\xba\xbe", 6);
                close(fd);
                assert_int_equal(find(path, ss, DISK_BYTES, HOME_TYPE, "alice", NULL, &p), -EMEDIUMTYPE);
                struct fdisk_context *cxt = fdisk_open(path, ss, 1);
                assert_false(fdisk_has_label(cxt));
                fdisk_unref_context(cxt);
                unlink(path);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crc32),
                cmocka_unit_test(test_matches_fdisk),
                cmocka_unit_test(test_backup_used),
                cmocka_unit_test(test_hostile_header),
                cmocka_unit_test(test_hostile_entry),
                cmocka_unit_test(test_protective_mbr),
                cmocka_unit_test(test_short_disk),
                cmocka_unit_test(test_guid),
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_find_bad_name),
                cmocka_unit_test(test_write_new),
                cmocka_unit_test(test_write_new_refused),
                cmocka_unit_test(test_resize),
                cmocka_unit_test(test_resize_not_last),
                cmocka_unit_test(test_erase),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
