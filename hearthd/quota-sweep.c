/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "conf-file.h"
#include "quota-sweep.h"

QuotaMode quota_mode_from_string(const char *s) {
        if (!s)
                return QUOTA_MODE_UNKNOWN;
        if (strcmp(s, "off") == 0)
                return QUOTA_MODE_OFF;
        if (strcmp(s, "full") == 0)
                return QUOTA_MODE_FULL;
        if (strcmp(s, "simple") == 0)
                return QUOTA_MODE_SIMPLE;
        return QUOTA_MODE_UNKNOWN;
}

/* Seconds (or with a unit); 0 turns the sweep off, anything else is at
 * least 1 s: a worker per home several times a second would be a load of
 * its own. */
static int parse_interval(const char *value, void *data) {
        uint64_t v;
        int r = config_parse_seconds(value, &v);
        if (r < 0)
                return r;
        if (v != 0 && v < 1000000)
                return -ERANGE;
        *(uint64_t *) data = v;
        return 0;
}

int quota_sweep_config_load(uint64_t *interval_usec, uint64_t *rescan_usec, const char *path) {
        const ConfigItem items[] = {
                { "Quota", "NestedSubvolumeCheckSec", parse_interval, interval_usec },
                { "Quota", "RescanIntervalSec", config_parse_seconds, rescan_usec },
        };
        return config_load(path, items, 2);
}

bool quota_rescan_allowed(uint64_t last_usec, uint64_t now_usec, uint64_t interval_usec, bool lent) {
        if (lent)
                return false;
        if (last_usec == QUOTA_RESCAN_NEVER || interval_usec == 0)
                return true;
        /* A clock before the last (never with CLOCK_MONOTONIC): not yet. */
        return now_usec >= last_usec && now_usec - last_usec >= interval_usec;
}

bool quota_sweep_wanted(const QuotaSweepHome *h) {
        if (!h->subvolume || !h->limited || !h->present || h->busy)
                return false;
        /* Under simple quotas the kernel puts them into the group itself.
         * Quota off is swept too: an admin's `btrfs quota enable` makes full
         * qgroups, and the sweep then gives the home its group and limit back. */
        return h->mode != QUOTA_MODE_SIMPLE;
}
