/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdint.h>

/* How long hearthd lets one hearth-work run before it kills it, per
 * operation: [Worker] in hearth.conf, e.g. ActivateTimeout=2min. */

typedef struct WorkerTimeouts {
        uint64_t usec[13]; /* indexed like the table in worker-timeouts.c */
} WorkerTimeouts;

void worker_timeouts_init(WorkerTimeouts *t);
/* config_path NULL: the hearth.conf config_find() picks. */
int worker_timeouts_load(WorkerTimeouts *t, const char *config_path);
/* The limit for a worker operation ("activate", ...); 0 = none. */
uint64_t worker_timeout_for(const WorkerTimeouts *t, const char *op);
/* Its hearth.conf key ("ActivateTimeout"), for messages. */
const char *worker_timeout_key(const char *op);
