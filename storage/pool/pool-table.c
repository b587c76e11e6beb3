/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Volumes as dm-linear devices: the table the metadata gives a volume, and
 * bringing a live device in line with it (create, leave, or reload a table
 * that lags; never shrink or remap a live one). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "dm-linear.h"
#include "log.h"
#include "macro.h"
#include "pool-alloc.h"
#include "pool-internal.h"

int pool_dm_targets(Pool *p, const PoolMetadata *md, const char *volume, DmLinearTarget **ret, size_t *ret_n) {
        _cleanup_free_ PoolTarget *t = NULL;
        size_t n;
        int r = pool_volume_table(md, volume, pool_sector_size(p), &t, &n);
        if (r < 0)
                return r;
        DmLinearTarget *dt = calloc(n ? n : 1, sizeof *dt);
        if (!dt)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                PoolDevice *d = pool_dev(p, t[i].pv);
                if (!d) {
                        free(dt);
                        return log_error_errno(ENODEV, "pool volume %s: physical volume %" PRIu32 " is missing", volume, t[i].pv);
                }
                dt[i] = (DmLinearTarget) { .start = t[i].start, .length = t[i].length, .dev = d->devnum,
                                           .offset = t[i].offset + d->dm_adjust };
        }
        *ret = dt;
        *ret_n = n;
        return 0;
}

uint64_t pool_dm_targets_length(const DmLinearTarget *t, size_t n) {
        return n ? t[n - 1].start + t[n - 1].length : 0;
}

static bool map_at(const DmLinearTarget *t, size_t n, uint64_t s, dev_t *dev, uint64_t *off, uint64_t *left) {
        for (size_t i = 0; i < n; i++)
                if (s >= t[i].start && s < t[i].start + t[i].length) {
                        *dev = t[i].dev;
                        *off = t[i].offset + (s - t[i].start);
                        *left = t[i].start + t[i].length - s;
                        return true;
                }
        return false;
}

typedef enum { TABLE_EQUAL, TABLE_LAGS, TABLE_DIFFERENT } TableCmp;

/* Does live map a prefix of want (the metadata's table)? */
static TableCmp table_compare(const DmLinearTarget *live, size_t n_live, const DmLinearTarget *want, size_t n_want) {
        uint64_t total = pool_dm_targets_length(live, n_live), s = 0;
        while (s < total) {
                dev_t d1, d2;
                uint64_t o1, o2, l1, l2;
                if (!map_at(live, n_live, s, &d1, &o1, &l1) || !map_at(want, n_want, s, &d2, &o2, &l2) ||
                    d1 != d2 || o1 != o2)
                        return TABLE_DIFFERENT;
                s += l1 < l2 ? l1 : l2;
        }
        return total == pool_dm_targets_length(want, n_want) ? TABLE_EQUAL : TABLE_LAGS;
}

/* Brings one volume's device in line with md: create, leave, or reload a
 * lagging table. Never shrinks or remaps a live table. */
int pool_dm_apply(Pool *p, const PoolMetadata *md, const PoolVolume *v, bool create, bool *ret_changed) {
        _cleanup_free_ DmLinearTarget *want = NULL, *live = NULL;
        size_t n_want, n_live;
        DmLinearInfo info;
        char name[64], uuid[37], suffix[64];
        int r;

        if (ret_changed)
                *ret_changed = false;
        pool_dm_name(v->name, name);
        r = pool_dm_targets(p, md, v->name, &want, &n_want);
        if (r < 0)
                return r;
        r = dm_linear_info(name, &info);
        if (r < 0)
                return r;
        if (!info.exists) {
                if (!create)
                        return 0;
                snprintf(suffix, sizeof suffix, POOL_DM_UUID_PREFIX "%s", pool_uuid_to_string(v->uuid, uuid));
                r = dm_linear_create(name, suffix, want, n_want, NULL);
                if (r < 0)
                        return r;
                if (ret_changed)
                        *ret_changed = true;
                log_info("pool volume %s: activated as /dev/mapper/%s", v->name, name);
                return 0;
        }
        r = dm_linear_table(name, &live, &n_live);
        if (r < 0)
                return r;
        switch (table_compare(live, n_live, want, n_want)) {
        case TABLE_EQUAL:
                log_debug("pool volume %s: %s is up to date", v->name, name);
                return 0;
        case TABLE_LAGS:
                r = dm_linear_reload(name, want, n_want);
                if (r < 0)
                        return r;
                if (ret_changed)
                        *ret_changed = true;
                if (create)
                        log_info("pool volume %s: table of %s reloaded to %" PRIu64 " sectors (it lagged the metadata)",
                                 v->name, name, pool_dm_targets_length(want, n_want));
                else
                        log_debug("pool volume %s: table of %s reloaded to %" PRIu64 " sectors",
                                  v->name, name, pool_dm_targets_length(want, n_want));
                return 0;
        default:
                return log_error_errno(EUCLEAN, "pool volume %s: the live table of %s maps %" PRIu64 " sectors that the metadata "
                                       "(%" PRIu64 " sectors) does not give it; not touching it (see hearth-pool check)",
                                       v->name, name, pool_dm_targets_length(live, n_live), pool_dm_targets_length(want, n_want));
        }
}
