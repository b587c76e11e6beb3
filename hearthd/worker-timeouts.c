/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "conf-file.h"
#include "macro.h"
#include "worker-timeouts.h"
#include "worker-protocol.h"

#define MIN (60 * USEC_PER_SEC)

/* The defaults leave room for the slow cases: a LUKS create or passwd with
 * argon2 on a slow machine, fsck at activation, deleting or shrinking a
 * big home. A worker past them is stuck, not slow. */
static const struct {
        const char *op, *key;
        uint64_t usec;
} table[] = {
        { WORKER_OP_CREATE, "CreateTimeout", 30 * MIN },
        { WORKER_OP_REMOVE, "RemoveTimeout", 30 * MIN },
        { WORKER_OP_RESIZE, "ResizeTimeout", 30 * MIN },
        { WORKER_OP_UPDATE, "UpdateTimeout", 10 * MIN },
        { WORKER_OP_ACTIVATE, "ActivateTimeout", 5 * MIN },
        { WORKER_OP_DEACTIVATE, "DeactivateTimeout", 5 * MIN },
        { WORKER_OP_UNLOCK, "UnlockTimeout", 2 * MIN },
        { WORKER_OP_LOCK, "LockTimeout", 2 * MIN },
        { WORKER_OP_AUTHENTICATE, "AuthenticateTimeout", 2 * MIN },
        { WORKER_OP_PASSWD, "PasswdTimeout", 5 * MIN },
        { WORKER_OP_INSPECT, "InspectTimeout", 2 * MIN },
        { WORKER_OP_CLEAN, "CleanTimeout", 30 * MIN },
        { WORKER_OP_SKEL_SPARE, "SkelSpareTimeout", 10 * MIN },
};

_Static_assert(ELEMENTSOF(table) == ELEMENTSOF(((WorkerTimeouts *) 0)->usec), "one slot per operation");

void worker_timeouts_init(WorkerTimeouts *t) {
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                t->usec[i] = table[i].usec;
}

static int parse_timeout(const char *value, void *data) {
        uint64_t v;
        int r = config_parse_seconds(value, &v);
        if (r < 0)
                return r;
        if (v < USEC_PER_SEC / 10)
                return -ERANGE; /* 0 would kill every worker at once */
        *(uint64_t *) data = v;
        return 0;
}

int worker_timeouts_load(WorkerTimeouts *t, const char *config_path) {
        ConfigItem items[ELEMENTSOF(table)];
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                items[i] = (ConfigItem) { "Worker", table[i].key, parse_timeout, &t->usec[i] };
        return config_load(config_path, items, ELEMENTSOF(items));
}

uint64_t worker_timeout_for(const WorkerTimeouts *t, const char *op) {
        for (size_t i = 0; op && i < ELEMENTSOF(table); i++)
                if (strcmp(table[i].op, op) == 0)
                        return t->usec[i];
        return 0;
}

const char *worker_timeout_key(const char *op) {
        for (size_t i = 0; op && i < ELEMENTSOF(table); i++)
                if (strcmp(table[i].op, op) == 0)
                        return table[i].key;
        return "?";
}
