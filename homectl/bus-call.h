/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "ask-password.h"
#include "bus-names.h"
#include "bus-util.h"
#include "macro.h"

/* homectl's side of org.freedesktop.home1: the connection, calls with
 * secrets and the password retry, D-Bus errors → messages and exit
 * statuses. The functions here return exit statuses (exit-status.h), not
 * errnos: this is where a failure becomes what homectl exits with. */

#define BUS_TIMEOUT_DEFAULT (UINT64_C(2) * 60 * USEC_PER_SEC)
/* create, remove, activate, resize, update, with: formatting, copying and
 * resizing file systems take a while. */
#define BUS_TIMEOUT_LONG (UINT64_C(10) * 60 * USEC_PER_SEC)

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS is honoured).
 * interactive: allow polkit to ask the user. */
int bus_connect(bool interactive, sd_bus **ret);

/* Appends the arguments after the user name; secret is the current list
 * (NULL if the call takes none). Returns 0 or -errno. */
typedef int (*BusAppend)(sd_bus_message *m, const Passwords *secret, void *userdata);

typedef struct HomeCall {
        const char *method;    /* on the Manager */
        const char *user;      /* names the home in messages and the password prompt; may be NULL */
        bool user_argument;    /* send user as the first argument */
        uint64_t timeout;      /* 0: BUS_TIMEOUT_DEFAULT */
        /* Secrets offered. On BadPassword/BadPasswordAndNoToken one more
         * password is asked on the terminal, appended and the call retried,
         * up to ASK_PASSWORD_TRIES times. NULL: the call takes none. */
        Passwords *secret;
        /* NULL: after the user, the secret as `s` if secret is set. */
        BusAppend append;
        void *userdata;
} HomeCall;

/* Logs a failure as "home USER: <D-Bus message>" (or "METHOD: …" without a
 * user) and returns the exit status. */
int home_call(sd_bus *bus, const HomeCall *c, sd_bus_message **ret_reply);

/* A BusAppend for CreateHome and UpdateHome: userdata is the UserRecord,
 * sent as `s`; a secret given goes into its secret section first. */
int bus_append_record(sd_bus_message *m, const Passwords *secret, void *userdata);

/* Appends p as the text of a secret section, `s`. */
int bus_append_secret(sd_bus_message *m, const Passwords *p);

/* Logs a failed call or read of a reply and returns the exit status. */
int log_bus_error(const char *user, const char *method, const sd_bus_error *e, int r);
