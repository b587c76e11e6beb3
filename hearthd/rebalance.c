/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf-file.h"
#include "log.h"
#include "macro.h"
#include "rebalance.h"

#define MIB (UINT64_C(1) << 20)

void rebalance_config_init(RebalanceConfig *c) {
        *c = (RebalanceConfig) {
                .automatic = true,
                .keep_free_percent = REBALANCE_DEFAULT_KEEP_FREE_PERCENT,
                .active_margin = REBALANCE_DEFAULT_ACTIVE_MARGIN,
                .interval_usec = REBALANCE_DEFAULT_INTERVAL_USEC,
        };
}

/* "10%" or a size. */
static int parse_keep_free(const char *value, void *data) {
        RebalanceConfig *c = data;
        size_t n = strlen(value);
        if (n > 1 && value[n - 1] == '%') {
                char *end;
                errno = 0;
                unsigned long p = strtoul(value, &end, 10);
                if (errno != 0 || end != value + n - 1 || p > 99 || value[0] < '0' || value[0] > '9')
                        return -EINVAL;
                c->keep_free_percent = (unsigned) p;
                c->keep_free = 0;
                return 0;
        }
        int r = config_parse_size(value, &c->keep_free);
        if (r < 0)
                return r;
        c->keep_free_percent = 0;
        return 0;
}

int rebalance_config_load(RebalanceConfig *c, const char *path) {
        const ConfigItem items[] = {
                { "Rebalance", "Automatic", config_parse_bool, &c->automatic },
                { "Rebalance", "KeepFree", parse_keep_free, c },
                { "Rebalance", "ActiveMargin", config_parse_size, &c->active_margin },
                { "Rebalance", "Interval", config_parse_seconds, &c->interval_usec },
        };
        int r = config_load(path, items, ELEMENTSOF(items));
        if (r < 0)
                return r;
        /* Each run measures every home; more often is churn. */
        if (c->interval_usec < 10 * UINT64_C(1000000))
                return log_error_errno(EINVAL, "config: [Rebalance] Interval= must be at least 10s");
        return 0;
}

uint64_t rebalance_keep_free(const RebalanceConfig *c, uint64_t fs_size) {
        uint64_t keep = c->keep_free_percent ? fs_size / 100 * c->keep_free_percent : c->keep_free;
        /* Never less than hearth-work leaves when it grows an image
         * (luks_image_room(): 5 %, at most 1 GiB): a grow past it fails. */
        uint64_t worker = fs_size / 20 < (UINT64_C(1) << 30) ? fs_size / 20 : UINT64_C(1) << 30;
        return keep > worker ? keep : worker;
}

uint64_t rebalance_pool_keep_free(const RebalanceConfig *c, uint64_t pool_size) {
        return c->keep_free_percent ? pool_size / 100 * c->keep_free_percent : c->keep_free;
}

static uint64_t round_up(uint64_t x, uint64_t unit) {
        return x > UINT64_MAX - unit ? x / unit * unit : (x + unit - 1) / unit * unit;
}

static uint64_t round_up_mib(uint64_t x) {
        return round_up(x, MIB);
}

uint64_t rebalance_home_min(const RebalanceConfig *c, const RebalanceHome *h) {
        uint64_t margin = h->idle ? c->active_margin / 4 : c->active_margin;
        uint64_t m = h->used > UINT64_MAX - margin ? UINT64_MAX : h->used + margin;
        if (m < h->floor)
                m = h->floor;
        return round_up_mib(m);
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* What the home may be given, as far as its own limits go: never below
 * its minimum (unless it is smaller and may not grow), never below its
 * size when it cannot shrink. */
static uint64_t clamp(const RebalanceConfig *c, const RebalanceHome *h, uint64_t unit, uint64_t want) {
        uint64_t lo = round_up(rebalance_home_min(c, h), unit);
        if (!h->can_shrink && lo < h->size)
                lo = h->size;
        return want < lo ? lo : want;
}

/* left × weight / total without overflow (weight <= total). */
static uint64_t share_of(uint64_t left, uint64_t weight, uint64_t total) {
        return (uint64_t) ((unsigned __int128) left * weight / total);
}

static void settle(RebalanceHome *h, uint64_t unit) {
        /* Whole units; a change too small to pay for its pause is none. */
        uint64_t s = h->new_size / unit * unit;
        uint64_t d = s > h->size ? s - h->size : h->size - s;
        h->new_size = d < REBALANCE_MIN_CHANGE ? h->size : s;
}

size_t rebalance_plan(const RebalanceConfig *c, RebalanceHome *homes, size_t n, uint64_t fs_size, uint64_t fs_free) {
        RebalanceSpace space = { .free = fs_free, .keep = rebalance_keep_free(c, fs_size), .unit = MIB };
        return rebalance_plan_space(c, homes, n, &space);
}

size_t rebalance_plan_space(const RebalanceConfig *c, RebalanceHome *homes, size_t n, const RebalanceSpace *space) {
        uint64_t shared = space->free, keep = space->keep, mins = 0, unit = space->unit ?: MIB;
        size_t changes = 0;

        for (size_t i = 0; i < n; i++) {
                RebalanceHome *h = &homes[i];
                h->new_size = h->size;
                if (h->weight == 0)
                        continue;
                shared = sat_add(shared, h->allocated);
                mins = sat_add(mins, clamp(c, h, unit, 0));
        }
        shared = shared > keep ? shared - keep : 0;

        if (mins > shared) {
                /* Too little for everyone's minimum: give back what can be
                 * given, idle homes to their lower minimum; nothing grows. */
                for (size_t i = 0; i < n; i++) {
                        RebalanceHome *h = &homes[i];
                        if (h->weight == 0)
                                continue;
                        uint64_t lo = clamp(c, h, unit, 0);
                        h->new_size = lo < h->size ? lo : h->size;
                        settle(h, unit);
                        changes += h->new_size != h->size;
                }
                return changes;
        }

        /* Water-filling: the share by weight of what is left; a home whose
         * share is under its minimum takes its minimum and leaves the
         * rest to the others, until every share is above its minimum. */
        bool *fixed = calloc(n ? n : 1, sizeof *fixed);
        if (!fixed)
                return 0;
        uint64_t left = shared;
        for (bool again = true; again;) {
                again = false;
                uint64_t w = 0;
                for (size_t i = 0; i < n; i++)
                        if (homes[i].weight > 0 && !fixed[i])
                                w += homes[i].weight; /* at most 10000 each: no overflow for any n we hold */
                if (w == 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        RebalanceHome *h = &homes[i];
                        if (h->weight == 0 || fixed[i])
                                continue;
                        uint64_t share = share_of(left, h->weight, w);
                        uint64_t lo = clamp(c, h, unit, 0);
                        if (share < lo) {
                                fixed[i] = true;
                                h->new_size = lo;
                                left -= lo; /* mins <= shared: never below 0 */
                                again = true;
                        }
                }
                if (!again)
                        for (size_t i = 0; i < n; i++)
                                if (homes[i].weight > 0 && !fixed[i])
                                        homes[i].new_size = share_of(left, homes[i].weight, w);
        }
        free(fixed);
        for (size_t i = 0; i < n; i++) {
                RebalanceHome *h = &homes[i];
                if (h->weight == 0)
                        continue;
                settle(h, unit);
                changes += h->new_size != h->size;
        }
        return changes;
}
