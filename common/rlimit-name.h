/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The resource limits a user record's resourceLimits may name, by systemd's
 * names without the "RLIMIT_" prefix ("NOFILE"): one table for homectl's
 * --rlimit= and pam_hearth's session. */

/* The name of limit l (RLIMIT_NOFILE → "NOFILE"), or NULL if it has none. */
const char *rlimit_name(int l);
/* The limit called name (len bytes; "RLIMIT_" in front is allowed), or -1. */
int rlimit_from_name(const char *name, size_t len);
