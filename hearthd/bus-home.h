/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <systemd/sd-bus.h>

#include "managed-home.h"

/* org.freedesktop.home1.Home: one object per home under
 * HOME1_HOME_PATH_PREFIX, and the methods on a home that the Manager offers
 * by user name too. */

typedef struct Manager Manager;

int bus_home_register(Manager *m);
/* The signals of a home's object (no-ops before hearthd is on the bus). */
void bus_home_emit_changed(ManagedHome *h);
void bus_home_emit_added(ManagedHome *h);
void bus_home_emit_removed(ManagedHome *h);

/* A method on h, by its name on the Home interface: its arguments read
 * from msg, access checked (method_rules), queued. */
int bus_method_for_home(sd_bus_message *msg, ManagedHome *h, const char *method, sd_bus_error *error);
/* Wipes a parsed string argument in the call's body (secrets, records with them). */
void bus_wipe_argument(const char *text);
