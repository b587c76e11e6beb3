/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <systemd/sd-bus.h>

#include "rebalance.h"

/* Rebalancing carried out (the plan is rebalance.c's): which homes take
 * part — active, unlocked LUKS homes with nothing running or waiting on
 * them, whose image is <home-root>/<user>.home on the home root's file
 * system, or on a pool volume of their own (the pool's free extents are
 * then the shared space, read from hearth-pool status through the pool's
 * queue before planning) — measured, planned per space, and resized one after the other by
 * internal resize operations without a secret (their mappings keep the
 * key in the table: storage/luks.c), shrinks before grows, idle homes'
 * shrinks first. Each resize answers as any operation does, with
 * PropertiesChanged for the home. */

typedef struct Manager Manager;
typedef struct RebalanceRun RebalanceRun;

/* Rebalance(): root only. Answers when the run ends: RebalanceNotNeeded
 * if no home changes, Failed if a resize failed, HomeBusy if a run is
 * going on already. */
int manager_rebalance_call(Manager *m, sd_bus_message *msg, sd_bus_error *error);
/* After connecting: the periodic run, if [Rebalance] Automatic=. */
int manager_start_rebalance(Manager *m);
/* At exit. */
void manager_rebalance_done(Manager *m);
