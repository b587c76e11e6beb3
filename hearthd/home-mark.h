/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "home-policy.h"
#include "user-record.h"

/* A home's state across daemon restarts: <runtime-dir>/homes/<user> says
 * "active" or "locked" while hearthd holds it so (no file: inactive), and
 * what the storage shows now (storage/probe.h) must agree with it. */

/* Writes the mark for state (removes it for any state but active and locked). */
int home_mark_write(const char *runtime_dir, const char *user, HomeState state);
/* The state from what is on the system and the mark, as at start-up; a
 * disagreement is HOME_DIRTY with *ret_reason (to free) saying why. */
HomeState home_state_now(const char *runtime_dir, const char *home_root, const UserRecord *rec, char **ret_reason);
