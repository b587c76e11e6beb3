/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "size.h"

static const struct {
        const char *suffix[2];
        uint64_t factor;
} units[] = {
        { { "E", "EiB" }, UINT64_C(1) << 60 },
        { { "P", "PiB" }, UINT64_C(1) << 50 },
        { { "T", "TiB" }, UINT64_C(1) << 40 },
        { { "G", "GiB" }, UINT64_C(1) << 30 },
        { { "M", "MiB" }, UINT64_C(1) << 20 },
        { { "K", "KiB" }, UINT64_C(1) << 10 },
        { { "B", "" }, 1 },
};

static int unit_factor(const char *suffix, uint64_t *ret) {
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                for (size_t k = 0; k < 2; k++)
                        if (strcmp(suffix, units[i].suffix[k]) == 0) {
                                *ret = units[i].factor;
                                return 0;
                        }
        return -EINVAL;
}

int size_parse(const char *s, uint64_t *ret) {
        uint64_t whole = 0, frac = 0, frac_div = 1, factor;
        const char *p = s;
        bool any = false;

        if (!s)
                return -EINVAL;
        if (strcmp(s, HEARTH_SIZE_WORD_MIN) == 0) {
                *ret = HEARTH_SIZE_MIN;
                return 0;
        }
        if (strcmp(s, HEARTH_SIZE_WORD_MAX) == 0) {
                *ret = HEARTH_SIZE_MAX;
                return 0;
        }

        for (; *p >= '0' && *p <= '9'; p++) {
                uint64_t digit = (uint64_t) (*p - '0');
                if (whole > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                whole = whole * 10 + digit;
                any = true;
        }
        if (*p == '.') {
                p++;
                for (; *p >= '0' && *p <= '9'; p++) {
                        /* Digits beyond 1e-18 cannot change a 64-bit result. */
                        if (frac_div < UINT64_C(1000000000000000000)) {
                                frac = frac * 10 + (uint64_t) (*p - '0');
                                frac_div *= 10;
                        }
                        any = true;
                }
        }
        if (!any)
                return -EINVAL;
        if (unit_factor(p, &factor) < 0)
                return -EINVAL;
        if (frac > 0 && factor == 1)
                return -EINVAL; /* no fractions of a byte */

        if (whole > UINT64_MAX / factor)
                return -ERANGE;
        uint64_t r = whole * factor;
        /* frac/frac_div < 1, so this cannot overflow the fraction itself:
         * split factor to keep frac * factor inside 64 bits. */
        uint64_t add = (uint64_t) ((unsigned __int128) frac * factor / frac_div);
        if (r > UINT64_MAX - add)
                return -ERANGE;
        *ret = r + add;
        return 0;
}

const char *size_format(uint64_t bytes, char buf[static SIZE_FORMAT_MAX]) {
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                uint64_t f = units[i].factor;
                if (bytes < f)
                        continue;
                if (bytes % f == 0 || f == 1)
                        snprintf(buf, SIZE_FORMAT_MAX, "%" PRIu64 "%s", bytes / f, units[i].suffix[0]);
                else
                        snprintf(buf, SIZE_FORMAT_MAX, "%" PRIu64 ".%u%s",
                                 bytes / f, (unsigned) ((bytes % f) * 10 / f) % 10, units[i].suffix[0]);
                return buf;
        }
        snprintf(buf, SIZE_FORMAT_MAX, "0B");
        return buf;
}
