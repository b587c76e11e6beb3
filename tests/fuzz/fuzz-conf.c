/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: hearth.conf (common/conf-file.c) through each of its
 * readers: hearthd's [Pool] auto-grow settings (hearthd/autogrow.c), its
 * [Quota] NestedSubvolumeCheckSec= (hearthd/quota-sweep.c) and
 * hearth-accounts' [Accounts] (hearth-accounts/accounts-config.c), plus a
 * [TPM2] Device= reader shaped like hearth-work's.
 *
 * Invariants: accepted settings are in range (a volume name, 1-99 %, a
 * step > 0, an interval ≥ 1 s, a sweep interval of 0 or ≥ 1 s, a storage
 * kind, bounded strings), and autogrow_amount() on them never asks for
 * more than the pool has or past AutoGrowMaxSize, in whole extents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accounts-logic.h"
#include "autogrow.h"
#include "conf-file.h"
#include "fuzz-util.h"
#include "log.h"
#include "macro.h"
#include "quota-sweep.h"

static int parse_device(const char *value, void *data) {
        size_t n = strlen(value);
        if (n == 0 || n >= 256 || strchr(value, '\n'))
                return -EINVAL;
        memcpy(data, value, n + 1);
        return 0;
}

static void check_autogrow(const AutoGrowConfig *c) {
        static const uint64_t sizes[] = { 0, 1, 1ULL << 30, 1ULL << 40, UINT64_MAX / 2, UINT64_MAX };
        static const uint64_t extents[] = { 0, 512, 16ULL << 20, 1ULL << 40 };

        if (strnlen(c->volume, sizeof c->volume) >= sizeof c->volume || !c->volume[0])
                abort();
        if (c->free_below_percent > 99 || (!c->free_below_percent && !c->free_below) || c->step == 0 ||
            c->interval_usec < 1000000)
                abort();
        for (size_t a = 0; a < ELEMENTSOF(sizes); a++)
                for (size_t b = 0; b < ELEMENTSOF(sizes); b++)
                        for (size_t e = 0; e < ELEMENTSOF(extents); e++) {
                                uint64_t pool_free = sizes[(a + b) % ELEMENTSOF(sizes)];
                                uint64_t w = autogrow_amount(c, sizes[a], sizes[b], pool_free, extents[e]);
                                if (w > pool_free || (extents[e] && w % extents[e]))
                                        abort();
                                if (w && c->max_size && w > c->max_size - sizes[a])
                                        abort();
                        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        AutoGrowConfig ag;
        AccountsConfig ac;
        char device[256] = "";

        log_set_max_level(0);
        const char *path = fuzz_file(data, size);
        if (!path)
                return 0;

        autogrow_config_init(&ag);
        if (autogrow_config_load(&ag, path) >= 0) {
                ag.enabled = true;
                check_autogrow(&ag);
        }

        uint64_t sweep = QUOTA_SWEEP_DEFAULT_USEC, rescan = QUOTA_RESCAN_DEFAULT_USEC;
        if (quota_sweep_config_load(&sweep, &rescan, path) >= 0 && sweep != 0 && sweep < 1000000)
                abort();

        accounts_config_init(&ac);
        if (accounts_config_load(&ac, path) >= 0) {
                if (!accounts_storage_to_string(ac.default_storage))
                        abort();
                if (strnlen(ac.admin_group, sizeof ac.admin_group) >= sizeof ac.admin_group ||
                    strnlen(ac.gdm_config, sizeof ac.gdm_config) >= sizeof ac.gdm_config)
                        abort();
                if (!accounts_valid_path(ac.gdm_config))
                        abort();
        }

        const ConfigItem items[] = { { "TPM2", "Device", parse_device, device } };
        if (config_parse_file(path, items, ELEMENTSOF(items)) >= 0 && strnlen(device, sizeof device) >= sizeof device)
                abort();
        return 0;
}
