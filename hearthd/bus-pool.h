/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>

#include "operation.h"

/* io.hearth.Pool1 at /io/hearth/Pool, and auto-grow: every call a
 * hearth-pool child, one at a time, in order. */

typedef struct Manager Manager;

/* tool_path is hearth-pool; config_path NULL = look hearth.conf up. */
int pool_service_new(Manager *m, const char *tool_path, const char *config_path, PoolService **ret);
/* Registers the object and starts the auto-grow timer (needs m->bus). */
int pool_service_start(PoolService *s);
PoolService *pool_service_free(PoolService *s);
bool pool_service_running(PoolService *s);
/* Queues a pool run whose access has been checked. Takes op. */
void pool_service_enqueue(PoolService *s, Operation *op);
