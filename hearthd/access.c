/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may do what. Root may do everything. Others need polkit's word for
 * the action, or, for some calls on their own home, only their secret
 * (which the worker then checks). Without polkit on the bus, the second is
 * all a non-root caller has. */
#include <errno.h>
#include <string.h>

#include "access.h"
#include "subuid.h"
#include "bus-error.h"
#include "bus-polkit.h"
#include "bus-util.h"
#include "log.h"
#include "macro.h"

/* Checks waiting for polkit. Bounded: a caller whose agent never answers
 * must not pile up calls (each holding its message) without end, and one
 * user must not take every place from the others. */
#define POLKIT_PENDING_MAX 128
#define POLKIT_PENDING_PER_USER 8
/* What a caller other than root may send as a record: the parse costs
 * several times its size in memory before polkit has said anything. */
#define RECORD_TEXT_MAX_UNPRIVILEGED (64 * 1024)

struct PolkitQuery {
        Access *a;
        Operation *op;
        AccessGrantedFn granted;
        void *userdata;
        uid_t uid;
        uid_t owner; /* whose share it takes: uid, or the owner of its subordinate range */
        char *action;
        sd_bus_slot *slot;
        PolkitQuery *next;
};

static void polkit_query_free(PolkitQuery *q) {
        for (PolkitQuery **p = &q->a->queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        q->a->n_pending--;
        sd_bus_slot_unref(q->slot);
        operation_free(q->op);
        free(q->action);
        free(q);
}

void access_done(Access *a) {
        while (a->queries)
                polkit_query_free(a->queries);
}

static void deny(Operation *op, const char *action) {
        if (op->admin_field)
                operation_fail(op, BUS_ERROR_ACCESS_DENIED,
                               "Access denied: home %s: %s is not among the fields its user may change; changing it "
                               "needs root or polkit authorization (%s)", op->user_name, op->admin_field, action);
        else
                operation_fail(op, BUS_ERROR_ACCESS_DENIED, "Access denied: %s needs root or polkit authorization (%s)",
                               op->user_name ? op->user_name : "this call", action);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        /* Without polkit on the bus, only root and owners get through (no
         * leniency): see access_check_then_run. */
        PolkitAnswer a = bus_polkit_read_reply(reply);

        if (a.authorized)
                q->granted(TAKE_PTR(q->op), q->userdata);
        else if (a.challenge && !q->op->admin_field)
                /* The caller may retry allowing interactive authentication. */
                operation_fail(TAKE_PTR(q->op), SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                               "Interactive authentication required for %s", q->action);
        else
                deny(TAKE_PTR(q->op), q->action);
        polkit_query_free(q);
        return 0;
}

static unsigned polkit_pending_of(Access *a, uid_t owner) {
        unsigned n = 0;
        for (PolkitQuery *q = a->queries; q; q = q->next)
                n += q->owner == owner;
        return n;
}

/* A user's subordinate UIDs (/etc/subuid) share her place in the queue:
 * else 16 of them, 8 calls each, fill everyone's. */
static bool polkit_queue_full(Access *a, uid_t uid) {
        return a->n_pending >= POLKIT_PENDING_MAX ||
               polkit_pending_of(a, subuid_owner(uid)) >= POLKIT_PENDING_PER_USER;
}

int access_precheck(Access *a, sd_bus_message *msg, size_t record_len, sd_bus_error *error) {
        uid_t uid = bus_sender_uid(msg);

        if (uid == 0)
                return 0;
        if (record_len > RECORD_TEXT_MAX_UNPRIVILEGED)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS,
                                         "record: %zu bytes; callers other than root may send at most %u",
                                         record_len, RECORD_TEXT_MAX_UNPRIVILEGED);
        if (uid == UID_INVALID || polkit_queue_full(a, uid))
                return sd_bus_error_setf(error, BUS_ERROR_TOO_MANY_OPERATIONS,
                                         "Too many calls wait for authorization; try again later");
        return 0;
}

static int ask_polkit(Access *a, Operation *op, uid_t uid, const char *action, AccessGrantedFn granted,
                      void *userdata) {
        bool interactive = sd_bus_message_get_allow_interactive_authorization(op->msg);
        int r;

        if (!sd_bus_message_get_sender(op->msg))
                return -EPERM; /* before -EBUSY: nobody to ask about, whatever the queue */
        if (polkit_queue_full(a, uid))
                return -EBUSY;
        PolkitQuery *q = calloc(1, sizeof *q);
        if (!q || !(q->action = strdup(action))) {
                free(q);
                return -ENOMEM;
        }
        q->a = a;
        q->uid = uid;
        q->owner = subuid_owner(uid);
        q->granted = granted;
        q->userdata = userdata;
        /* Interactive authentication may take as long as a person needs. */
        r = bus_polkit_check_async(sd_bus_message_get_bus(op->msg), op->msg, action, interactive, interactive ? UINT64_C(300) * USEC_PER_SEC : 0,
                                   on_polkit_reply, q, &q->slot);
        if (r < 0) {
                free(q->action);
                free(q);
                return r;
        }
        q->op = op;
        q->next = a->queries;
        a->queries = q;
        a->n_pending++;
        return 0;
}

void access_check_then_run(Access *a, Operation *op, uid_t owner, AccessRule rule, const char *polkit_action,
                           AccessGrantedFn granted, void *userdata) {
        uid_t uid = bus_sender_uid(op->msg);

        if (uid == 0 || (rule != ACCESS_ROOT_ONLY && uid != UID_INVALID && uid == owner)) {
                granted(op, userdata);
                return;
        }
        int r = uid == UID_INVALID ? -EPERM : ask_polkit(a, op, uid, polkit_action, granted, userdata);
        if (r == -EBUSY)
                operation_fail(op, BUS_ERROR_TOO_MANY_OPERATIONS,
                               "Too many calls wait for authorization; try again later");
        else if (r < 0)
                deny(op, polkit_action);
}
