/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "varlink.h"

/* A Varlink server on an AF_UNIX SOCK_STREAM socket, in hearthd's sd-event
 * loop: non-blocking, no threads. Bounded so that no client can pin
 * hearthd or its memory: VARLINK_CONNECTIONS_MAX connections of peers
 * other than root in all and VARLINK_CONNECTIONS_PER_UID per user (her
 * subordinate UIDs, common/subuid.h, counted as hers),
 * VARLINK_CONNECTIONS_ROOT of root's apart (more are closed at once), a
 * call of at most VARLINK_CALL_MAX bytes, one call answered at a time per
 * connection (what the peer pipelines waits, unread, in the socket), a
 * reply produced only once the one before is sent, and a connection closed
 * when it neither completes a call nor takes a whole reply within
 * VARLINK_IDLE_TIMEOUT_USEC (bytes trickled in or out do not count). The
 * peer's UID comes from SO_PEERCRED when it connects. */

#define VARLINK_CONNECTIONS_MAX 128
#define VARLINK_CONNECTIONS_PER_UID 16
#define VARLINK_CONNECTIONS_ROOT 64
#define VARLINK_IDLE_TIMEOUT_USEC (20 * 1000000ULL)

typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkLink VarlinkLink;

/* A method runs for a call and answers it with varlink_link_reply() or
 * varlink_link_error(). A reply with continues=true (only when the call
 * said more) leaves the call open: the method is run again, with the same
 * *state, once that reply is sent; so a long listing is made one entry at
 * a time. Returning without answering answers InternalError-like: the
 * connection is closed. free_state frees *state when the call ends. */
typedef int (*VarlinkMethod)(VarlinkLink *link, const VarlinkCall *call, void **state, void *userdata);

typedef struct VarlinkMethodEntry {
        const char *name; /* "iface.Method" */
        VarlinkMethod run;
        void (*free_state)(void *state);
} VarlinkMethodEntry;

/* Binds path (a stale socket there is replaced), mode 0666, and listens;
 * methods is NULL-name-terminated and must outlive the server. The idle
 * timeout is VARLINK_IDLE_TIMEOUT_USEC unless idle_usec is not 0. */
int varlink_server_new(sd_event *event, const char *path, const VarlinkMethodEntry *methods, void *userdata,
                       uint64_t idle_usec, VarlinkServer **ret);
/* Closes every connection, removes the socket. */
VarlinkServer *varlink_server_free(VarlinkServer *s);
unsigned varlink_server_connections(VarlinkServer *s);

uid_t varlink_link_peer_uid(VarlinkLink *link);
/* parameters is not taken; NULL is {}. continues only for a call with more. */
int varlink_link_reply(VarlinkLink *link, json_object *parameters, bool continues);
int varlink_link_error(VarlinkLink *link, const char *error, json_object *parameters);
/* org.varlink.service.InvalidParameter {"parameter": name} */
int varlink_link_invalid_parameter(VarlinkLink *link, const char *name);
