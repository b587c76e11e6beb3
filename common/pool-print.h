/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdio.h>

#include <json-c/json.h>

/* The extent pool's status and check reports (the JSON of
 * `hearth-pool status --json` / `check --json`, docs/POOL-FORMAT.md) as
 * text for people. Shared by hearth-pool and `homectl pool`, which gets the
 * same JSON over D-Bus. Missing or mistyped fields print as empty or 0. */
void pool_status_print(FILE *f, json_object *status);
void pool_check_print(FILE *f, json_object *report);
