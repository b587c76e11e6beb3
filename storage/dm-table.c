/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/dm-ioctl.h>

#include "dm-table.h"
#include "macro.h"

static int ranges_add(DmRange **ranges, size_t *n, dev_t dev, uint64_t start, uint64_t length) {
        if (*n >= DM_TABLE_RANGES_MAX)
                return -E2BIG;
        DmRange *more = reallocarray(*ranges, *n + 1, sizeof **ranges);
        if (!more)
                return -ENOMEM;
        *ranges = more;
        more[(*n)++] = (DmRange) { .dev = dev, .start = start, .length = length };
        return 0;
}

/* "M:m" exactly (the kernel prints devices so). */
static int parse_dev(const char *s, dev_t *ret) {
        unsigned maj, min;
        int end = -1;
        if (sscanf(s, "%u:%u%n", &maj, &min, &end) != 2 || end < 0 || s[end] != 0)
                return -EBADMSG;
        *ret = makedev(maj, min);
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        if (*s < '0' || *s > '9')
                return -EBADMSG;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* A table line's words (LVM stripes up to 128 devices: 258 words). */
#define TOKENS_MAX 2048

int dm_target_ranges(const char *type, const char *params, uint64_t length, DmRange **ranges, size_t *n) {
        _cleanup_free_ char *copy = strdup(params ?: "");
        _cleanup_free_ char **tok = calloc(TOKENS_MAX, sizeof(char *));
        char *save = NULL;
        size_t nt = 0;
        dev_t dev;
        uint64_t off;
        int r;

        if (!copy || !tok)
                return -ENOMEM;
        for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (nt >= TOKENS_MAX) {
                        explicit_bzero(copy, strlen(params ?: ""));
                        return -E2BIG; /* not read whole: the caller cannot tell */
                }
                tok[nt++] = t;
        }
        if (strcmp(type, "zero") == 0 || strcmp(type, "error") == 0)
                r = 0;
        else if (strcmp(type, "linear") == 0) {
                /* dev offset */
                if (nt != 2 || parse_dev(tok[0], &dev) < 0 || parse_u64(tok[1], &off) < 0)
                        r = -EBADMSG;
                else
                        r = ranges_add(ranges, n, dev, off, length);
        } else if (strcmp(type, "crypt") == 0) {
                /* cipher key iv_offset dev offset [#opt opt...] */
                if (nt < 5 || parse_dev(tok[3], &dev) < 0 || parse_u64(tok[4], &off) < 0)
                        r = -EBADMSG;
                else
                        r = ranges_add(ranges, n, dev, off, length);
        } else if (strcmp(type, "striped") == 0) {
                /* stripes chunk dev offset ...: each from its offset on */
                r = 0;
                for (size_t i = 2; i + 1 < nt && r >= 0; i += 2)
                        r = parse_dev(tok[i], &dev) < 0 || parse_u64(tok[i + 1], &off) < 0
                                    ? -EBADMSG
                                    : ranges_add(ranges, n, dev, off, UINT64_MAX);
        } else {
                /* thin, raid, mirror, snapshot, verity, integrity…: every
                 * device it names, whole. */
                r = 0;
                for (size_t i = 0; i < nt && r >= 0; i++)
                        if (parse_dev(tok[i], &dev) >= 0)
                                r = ranges_add(ranges, n, dev, 0, UINT64_MAX);
        }
        explicit_bzero(copy, strlen(params ?: ""));
        return r;
}

int dm_ranges_overlap(const DmRange *a, const DmRange *b) {
        if (a->dev != b->dev)
                return 0;
        uint64_t a_end = a->length == UINT64_MAX || a->length > UINT64_MAX - a->start ? UINT64_MAX : a->start + a->length;
        uint64_t b_end = b->length == UINT64_MAX || b->length > UINT64_MAX - b->start ? UINT64_MAX : b->start + b->length;
        return a->start < b_end && b->start < a_end;
}

/* The kernel's new device encoding, which struct dm_ioctl's dev takes. */
static uint64_t dm_encode_dev(dev_t dev) {
        uint64_t maj = major(dev), min = minor(dev);
        return (min & 0xff) | (maj << 8) | ((min & ~UINT64_C(0xff)) << 12);
}

#define DM_BUFFER_MAX (UINT32_C(1) << 20)

int dm_table_ranges(dev_t dev, DmRange **ret, size_t *ret_n) {
        _cleanup_close_ int control = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
        _cleanup_free_ DmRange *ranges = NULL;
        size_t n = 0;
        int r = 0;

        if (control < 0)
                return -errno;
        for (uint32_t size = 16384;; size *= 2) {
                _cleanup_free_ struct dm_ioctl *io = calloc(1, size);
                if (!io)
                        return -ENOMEM;
                io->version[0] = DM_VERSION_MAJOR;
                io->data_size = size;
                io->data_start = sizeof *io;
                io->flags = DM_STATUS_TABLE_FLAG;
                io->dev = dm_encode_dev(dev);
                if (ioctl(control, DM_TABLE_STATUS, io) < 0) {
                        r = -errno;
                        explicit_bzero(io, size);
                        return r;
                }
                if (io->flags & DM_BUFFER_FULL_FLAG) {
                        explicit_bzero(io, size);
                        if (size >= DM_BUFFER_MAX)
                                return -E2BIG;
                        continue;
                }
                const char *data = (const char *) io + io->data_start;
                size_t avail = io->data_size > io->data_start && io->data_size <= size ? io->data_size - io->data_start : 0;
                size_t at = 0;
                for (uint32_t i = 0; i < io->target_count && r >= 0; i++) {
                        if (avail < sizeof(struct dm_target_spec) || at > avail - sizeof(struct dm_target_spec)) {
                                r = -EBADMSG;
                                break;
                        }
                        const struct dm_target_spec *spec = (const struct dm_target_spec *) (data + at);
                        const char *params = data + at + sizeof *spec;
                        size_t room = avail - at - sizeof *spec;
                        char type[DM_MAX_TYPE_NAME + 1];
                        memcpy(type, spec->target_type, DM_MAX_TYPE_NAME);
                        type[DM_MAX_TYPE_NAME] = 0;
                        if (!memchr(params, 0, room)) {
                                r = -EBADMSG;
                                break;
                        }
                        r = dm_target_ranges(type, params, spec->length, &ranges, &n);
                        if (i + 1 < io->target_count && spec->next <= at)
                                r = -EBADMSG; /* would loop */
                        at = spec->next;
                }
                explicit_bzero(io, size);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(ranges);
                *ret_n = n;
                return 0;
        }
}
