/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libhearth-bus: what every sd-bus user in Hearth (hearthd,
 * hearth-accounts, homectl, pam_hearth) needs alike: the cleanup helpers,
 * the caller's identity, and the polkit client (bus-polkit.h). */

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

static inline void bus_flush_close_unrefp(sd_bus **b) {
        sd_bus_flush_close_unref(*b);
}

/* A connection is flushed before it is closed: a reply or signal queued
 * last still goes out. */
#define _cleanup_bus_ __attribute__((cleanup(bus_flush_close_unrefp)))
#define _cleanup_bus_message_ __attribute__((cleanup(sd_bus_message_unrefp)))
#define _cleanup_bus_error_ __attribute__((cleanup(sd_bus_error_free)))
#define _cleanup_bus_creds_ __attribute__((cleanup(sd_bus_creds_unrefp)))

/* The effective UID of the process that sent msg, as the bus vouches for
 * it; (uid_t) -1 when it cannot be told (or msg is NULL). */
uid_t bus_sender_uid(sd_bus_message *msg);

/* The object path of user name's home: HOME1_HOME_PATH_PREFIX "/" and the
 * name escaped (common/bus-names.h). 0 or -ENOMEM. */
int bus_home_object_path(const char *name, char **ret);

/* A daemon's event loop (hearthd, hearth-accounts): SIGTERM and SIGINT
 * call on_stop, SIGPIPE is ignored, and with children SIGCHLD is blocked
 * for sd_event_add_child(). Logs its error. */
int daemon_event_new(sd_event **ret, bool children, sd_event_signal_handler_t on_stop, void *userdata);
