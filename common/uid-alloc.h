/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* UIDs for homes come from 60001–60513, the range systemd-homed uses, with
 * GID = UID. A UID is taken when any user or group of that number exists
 * (through NSS) or another home holds it. */

typedef bool (*UidTakenFn)(uid_t uid, void *userdata);

/* Tries the UID derived from a hash of the name first, so the same name
 * tends to get the same UID on every machine, then the rest of the range in
 * order. Returns 0, or -EBUSY when the whole range is taken. */
int uid_alloc(const char *user_name, UidTakenFn taken, void *userdata, uid_t *ret);

/* Known to NSS as a user or a group. */
bool uid_taken_nss(uid_t uid);
bool name_taken_nss(const char *name);
