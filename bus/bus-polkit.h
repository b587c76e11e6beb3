/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The polkit client: asks org.freedesktop.PolicyKit1 whether the sender of
 * a message may do an action (CheckAuthorization), without blocking. Who
 * gets asked, how many questions may wait and what an answer means (or no
 * polkit on the bus) stay with each caller: hearthd (access.c) and
 * hearth-accounts (accounts-polkit.c) decide differently. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* Sends the question for msg's sender; callback gets the reply (or the
 * error, e.g. no polkit on the bus), to be read with bus_polkit_read_reply.
 * interactive: polkit may ask the user through her agent. timeout_usec 0:
 * sd-bus's default. Returns 0, -EPERM if msg has no sender (a direct
 * connection, nobody to ask about), or another -errno. */
int bus_polkit_check_async(sd_bus *bus, sd_bus_message *msg, const char *action, bool interactive,
                           uint64_t timeout_usec, sd_bus_message_handler_t callback, void *userdata,
                           sd_bus_slot **ret_slot);

typedef struct PolkitAnswer {
        bool authorized;
        bool challenge; /* not authorized, but would be after interactive authentication */
        bool absent;    /* no polkit on the bus (normal on small systems) */
} PolkitAnswer;

/* Reads a reply to bus_polkit_check_async. Other errors than polkit's
 * absence and a malformed answer are logged and read as "not authorized". */
PolkitAnswer bus_polkit_read_reply(sd_bus_message *reply);
