/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "user-record.h"
#include "varlink-server.h"

/* systemd's userdb (io.systemd.UserDatabase, systemd's
 * docs/USER_GROUP_API.md) for the homes hearthd manages, as homed's
 * io.systemd.Home serves it: GetUserRecord, GetGroupRecord (each user's own
 * group, of her name and ID) and GetMemberships (from memberOf), looked up
 * or listed ("more"). A record is what the peer may see: never the secret
 * section, the privileged one only for root and the record's own user
 * (others get "incomplete": true). The socket is <dir>/io.hearth.Home, the
 * service name the calls must carry. */

/* The service name is the one records carry in their status section. */
#define USERDB_SERVICE USER_RECORD_SERVICE_HEARTH
#define USERDB_DIR_DEFAULT "/run/systemd/userdb"

struct Manager;

/* Serves userdb on <dir>/io.hearth.Home if dir's parent exists (a systemd
 * host has /run/systemd); dir is made 0755 if missing. Nothing (0) without
 * it, or if dir is empty. */
int userdb_start(struct Manager *m, const char *dir);
void userdb_stop(struct Manager *m);
