/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autogrow.h"
#include "conf-file.h"
#include "log.h"
#include "macro.h"
#include "size.h"

void autogrow_config_init(AutoGrowConfig *c) {
        *c = (AutoGrowConfig) {
                .volume = "home",
                .free_below_percent = AUTOGROW_DEFAULT_PERCENT,
                .step = AUTOGROW_DEFAULT_STEP,
                .interval_usec = AUTOGROW_DEFAULT_INTERVAL_USEC,
        };
}

static int parse_volume(const char *value, void *data) {
        char *v = data;
        size_t n = strlen(value);
        if (n == 0 || n > 32 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n || value[0] == '-')
                return -EINVAL;
        memcpy(v, value, n + 1);
        return 0;
}

/* "10%" or a size. */
static int parse_threshold(const char *value, void *data) {
        AutoGrowConfig *c = data;
        size_t n = strlen(value);
        if (n > 1 && value[n - 1] == '%') {
                char *end;
                errno = 0;
                unsigned long p = strtoul(value, &end, 10);
                if (errno != 0 || end != value + n - 1 || p < 1 || p > 99 || value[0] < '0' || value[0] > '9')
                        return -EINVAL;
                c->free_below_percent = (unsigned) p;
                c->free_below = 0;
                return 0;
        }
        int r = config_parse_size(value, &c->free_below);
        if (r < 0)
                return r;
        c->free_below_percent = 0;
        return c->free_below > 0 ? 0 : -EINVAL;
}

/* A size, or empty for none. */
static int parse_max_size(const char *value, void *data) {
        if (!*value) {
                *(uint64_t *) data = 0;
                return 0;
        }
        return config_parse_size(value, data);
}

int autogrow_config_load(AutoGrowConfig *c, const char *path) {
        const ConfigItem items[] = {
                { "Pool", "AutoGrow", config_parse_bool, &c->enabled },
                { "Pool", "AutoGrowVolume", parse_volume, c->volume },
                { "Pool", "AutoGrowFreeBelow", parse_threshold, c },
                { "Pool", "AutoGrowStep", config_parse_size, &c->step },
                { "Pool", "AutoGrowMaxSize", parse_max_size, &c->max_size },
                { "Pool", "AutoGrowInterval", config_parse_seconds, &c->interval_usec },
        };
        int r = config_load(path, items, ELEMENTSOF(items));
        if (r < 0)
                return r;
        if (c->step == 0)
                return log_error_errno(EINVAL, "config: [Pool] AutoGrowStep= must be more than 0");
        /* A check costs a fork of hearth-pool; more often than this is waste. */
        if (c->interval_usec < USEC_PER_SEC)
                return log_error_errno(EINVAL, "config: [Pool] AutoGrowInterval= must be at least 1s");
        return 0;
}

uint64_t autogrow_amount(const AutoGrowConfig *c, uint64_t size, uint64_t avail, uint64_t pool_free,
                         uint64_t extent_size) {
        if (!c->enabled || extent_size == 0)
                return 0;
        uint64_t threshold = c->free_below_percent ? size / 100 * c->free_below_percent : c->free_below;
        if (avail >= threshold)
                return 0;
        uint64_t want = threshold - avail > c->step ? threshold - avail : c->step;
        if (want > UINT64_MAX - extent_size)
                return 0;
        want = (want + extent_size - 1) / extent_size * extent_size;
        if (c->max_size > 0) {
                if (size >= c->max_size)
                        return 0;
                if (want > c->max_size - size)
                        want = (c->max_size - size) / extent_size * extent_size;
        }
        if (want > pool_free)
                want = pool_free / extent_size * extent_size;
        return want;
}
