/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "managed-home.h"

/* A home's record as bus clients see it (GetUserRecordBy*, the UserRecord
 * property): never its secrets; its privileged section only for root and
 * its own user; the status section with what homed adds for clients. */

/* Root and the home's own user see a record's privileged section. */
bool bus_sees_privileged(sd_bus_message *msg, ManagedHome *h);
/* The record as JSON text (to free): with status, and without the
 * privileged section unless full. NULL if out of memory. */
char *bus_record_view(ManagedHome *h, bool full);
/* The same as a tree (to put): read-only, it shares members with the record. */
json_object *bus_record_view_json(ManagedHome *h, bool full);
/* What GetHomeByName, ListHomes and UnixRecord show, as homed does: the
 * real name falls back to the user name. */
const char *bus_record_real_name(ManagedHome *h);
/* The shell: /bin/bash where the record names none. */
const char *bus_record_shell(ManagedHome *h);
