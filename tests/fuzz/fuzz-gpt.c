/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the GPT readers (storage/gpt.c) on a disk image in
 * a memfd, as the pool reads any disk a PV sits on.
 *
 * Input: byte 0 bit 0 picks 4096-byte sectors (else 512), bit 1 claims the
 * disk one sector longer than the image (a short read); byte 1 is the
 * partition number; the rest is the disk. Each input is read as it is and
 * again with the CRCs of both headers and their entry arrays fixed up, so
 * that mutations reach the checks behind them.
 *
 * Invariants: an entry returned lies inside the disk, has a size, and its
 * type is a 36-character GUID; one found as a home's partition
 * (gpt_find_partition) has the type and name asked for. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-util.h"
#include "gpt.h"
#include "little-endian.h"

static void fix_header(uint8_t *disk, size_t len, uint32_t ss, uint64_t lba) {
        if ((lba + 1) * ss > len)
                return;
        uint8_t *h = disk + lba * ss;
        if (memcmp(h, "EFI PART", 8) != 0)
                return;
        uint64_t entries_lba = get_le64(h + 72);
        uint64_t bytes = (uint64_t) get_le32(h + 80) * get_le32(h + 84);
        if (bytes <= GPT_ENTRIES_MAX_BYTES && entries_lba < len / ss && bytes <= len - entries_lba * ss)
                put_le32(h + 88, gpt_crc32(disk + entries_lba * ss, (size_t) bytes));
        uint32_t hsize = get_le32(h + 12);
        if (hsize >= 92 && hsize <= ss) {
                put_le32(h + 16, 0);
                put_le32(h + 16, gpt_crc32(h, hsize));
        }
}

static void try_read(const uint8_t *disk, size_t len, uint32_t ss, uint64_t disk_bytes, unsigned partno) {
        int fd = memfd_create("fuzz-gpt", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        size_t done = 0;
        while (done < len) {
                ssize_t k = write(fd, disk + done, len - done);
                if (k <= 0)
                        abort();
                done += (size_t) k;
        }
        GptPartition p;
        memset(&p, 0xA5, sizeof p);
        int r = gpt_read_partition(fd, ss, disk_bytes, partno, &p);
        if (r == 0) {
                if (p.size == 0 || p.start > disk_bytes / 512 || p.size > disk_bytes / 512 - p.start)
                        abort();
                if (strnlen(p.type, sizeof p.type) != 36)
                        abort();
        } else if (r > 0)
                abort();
        /* And as a LUKS home's partition is looked for. */
        memset(&p, 0xA5, sizeof p);
        r = gpt_find_partition(fd, ss, disk_bytes, GPT_TYPE_USER_HOME, "alice", NULL, &p);
        if (r == 0) {
                if (p.size == 0 || p.start > disk_bytes / 512 || p.size > disk_bytes / 512 - p.start ||
                    strcmp(p.name, "alice") != 0 || strcmp(p.type, GPT_TYPE_USER_HOME) != 0)
                        abort();
        } else if (r > 0)
                abort();
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        uint32_t ss = data[0] & 1 ? 4096 : 512;
        unsigned partno = data[1];
        const uint8_t *disk = data + 2;
        size_t len = size - 2;
        uint64_t disk_bytes = len / ss * ss + (data[0] & 2 ? ss : 0);

        try_read(disk, len, ss, disk_bytes, partno);

        if (len / ss < 3)
                return 0;
        uint8_t *fixed = malloc(len);
        if (!fixed)
                return 0;
        memcpy(fixed, disk, len);
        uint64_t last = len / ss - 1;
        fix_header(fixed, len, ss, 1);
        fix_header(fixed, len, ss, last);
        try_read(fixed, len, ss, disk_bytes, partno);
        free(fixed);
        return 0;
}
