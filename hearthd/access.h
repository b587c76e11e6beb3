/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "operation.h"

/* Who may do what: root, a home's own user, or whoever polkit says yes
 * for. Knows nothing of what runs once access is granted: the caller says
 * (granted). */

typedef enum AccessRule {
        ACCESS_ROOT_ONLY,        /* root, or polkit */
        ACCESS_OWNER_WITH_SECRET,/* also the home's user; the worker checks her secret */
        ACCESS_OWNER,            /* also the home's user, no secret needed */
} AccessRule;

typedef struct PolkitQuery PolkitQuery;

/* The calls waiting for polkit. */
typedef struct Access {
        PolkitQuery *queries;
        unsigned n_pending;
} Access;

/* What runs once access is granted; it takes op. */
typedef void (*AccessGrantedFn)(Operation *op, void *userdata);

/* May the sender of op's call do this? On yes, granted(op, userdata) (at
 * once, or when polkit answers); on no, the call is answered with
 * AccessDenied. Takes op. */
void access_check_then_run(Access *a, Operation *op, uid_t owner, AccessRule rule, const char *polkit_action,
                           AccessGrantedFn granted, void *userdata);
/* Before parsing a record a caller sent: a caller other than root may send
 * a smaller one, and only while few of her calls wait for polkit. Returns 0
 * or the error set. */
int access_precheck(Access *a, sd_bus_message *msg, size_t record_len, sd_bus_error *error);
/* Drops the calls waiting for polkit, unanswered (at exit). */
void access_done(Access *a);
