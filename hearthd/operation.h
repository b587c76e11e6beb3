/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "home-policy.h"
#include "macro.h"
#include "secret-request.h"
#include "user-record.h"

/* One call (or internal run) on a home or the pool, from its arrival until
 * it is answered: what it asks, and the call to answer. Queued and run by
 * managed-home.c (homes) and bus-pool.c (the pool). */

typedef struct ManagedHome ManagedHome;
typedef struct Operation Operation;
typedef struct PoolService PoolService;

/* How a pool call's success is answered. */
typedef enum PoolMethod {
        POOL_METHOD_OTHER,  /* nothing to return */
        POOL_METHOD_STATUS, /* the JSON */
        POOL_METHOD_CHECK,  /* the number of problems and the JSON */
} PoolMethod;

typedef void (*OperationDoneFn)(Operation *op, const sd_bus_error *error, void *userdata);
/* An internal pool run's continuation: error NULL on success, output what hearth-pool printed. */
typedef void (*PoolDoneFn)(PoolService *s, Operation *op, const sd_bus_error *error, const char *output);

struct Operation {
        OperationType type;
        char *user_name;
        ManagedHome *home;          /* set once queued */
        sd_bus_message *msg;        /* the call to answer; NULL for internal ones */
        Secret *secret;
        Secret *new_secret;         /* passwd */
        Secret *recovery;           /* create: recovery keys to enroll */
        UserRecord *record;         /* create, update */
        char *admin_field;          /* update by the owner: the first change only an administrator may make */
        uint64_t size;              /* resize */
        uint64_t started_usec;      /* CLOCK_REALTIME, when its worker started */
        uint64_t skel_ticket;       /* create: skel_watch_begin()'s, for skel_watch_done() */
        bool skel_watched;          /* create: skel_watch_begin() was called */
        bool please_suspend;        /* acquire */
        uint32_t tpm_tries_below;   /* a TPM home's share of the TPM's tries (home-policy.h); UINT32_MAX: no limit */
        OperationDoneFn done;       /* instead of a reply (DeactivateAllHomes…) */
        void *done_userdata;
        /* OP_POOL */
        PoolMethod pool_method;
        char **pool_argv;           /* hearth-pool's arguments */
        PoolDoneFn pool_done;       /* internal runs (auto-grow) instead of a reply */
        uint64_t pool_amount, pool_avail; /* auto-grow: bytes added, bytes free before */
        Operation *next;
};

Operation *operation_new(OperationType type, const char *user_name, sd_bus_message *msg);
Operation *operation_free(Operation *op);
static inline void operation_freep(Operation **op) {
        operation_free(*op);
}
#define _cleanup_operation_ __attribute__((cleanup(operation_freep)))
/* Answers op's call with error (NULL: success, no value), or calls its done
 * function, and frees it. */
void operation_finish(Operation *op, const sd_bus_error *error);
/* The same with an error made of name and the formatted text. */
void operation_fail(Operation *op, const char *name, const char *fmt, ...) _printf_(3, 4);
/* That error: its text in *text (to free), or "out of memory". */
sd_bus_error operation_errorv(const char *name, char **text, const char *fmt, va_list ap) _printf_(3, 0);
