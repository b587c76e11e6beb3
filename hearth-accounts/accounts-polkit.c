/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may change what, with AccountsService's polkit actions. Root may do
 * everything. A user changing her own data asks for the "own" action; a
 * machine without polkit lets her change her own user data (polkit's
 * default too) but not her password (auth_admin). Any other change asks
 * for user-administration; without polkit only root gets it. */
#include <errno.h>
#include <string.h>

#include "accounts.h"
#include "bus-polkit.h"
#include "log.h"
#include "macro.h"

/* A caller whose agent never answers must not pile up calls without end,
 * nor take every place from the others. */
#define POLKIT_PENDING_MAX 128
#define POLKIT_PENDING_PER_USER 8

#define OWN_DATA_ACTION "org.freedesktop.accounts.change-own-user-data"

typedef struct PolkitQuery {
        Accounts *a;
        Op *op;
        uid_t uid;
        bool without_polkit; /* granted if polkit is not on the bus */
        AccountsGrantedFn granted;
        void *userdata;
        struct PolkitQuery *next;
} PolkitQuery;

/* With the slot: when the answer came, or when the op went first. */
static void polkit_query_destroy(void *userdata) {
        PolkitQuery *q = userdata;
        for (PolkitQuery **p = &q->a->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        q->a->n_polkit--;
        free(q);
}

static bool polkit_queue_full(Accounts *a, uid_t uid) {
        unsigned mine = 0;
        for (PolkitQuery *q = a->polkit_queries; q; q = q->next)
                mine += q->uid == uid;
        return a->n_polkit >= POLKIT_PENDING_MAX || mine >= POLKIT_PENDING_PER_USER;
}

static void deny(Op *op, bool challenge) {
        /* AccountsService's words, which clients may show. */
        op_fail(op, ACCOUNTS_ERROR_PERMISSION_DENIED, challenge ? "Authentication is required" : "Not authorized");
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        Op *op = q->op;

        bool lenient = q->without_polkit;
        AccountsGrantedFn granted = q->granted;
        void *granted_userdata = q->userdata;
        op->slot = sd_bus_slot_unref(op->slot); /* q goes with it, after this returns */
        PolkitAnswer a = bus_polkit_read_reply(reply);
        if (a.authorized || (a.absent && lenient))
                granted(op, granted_userdata);
        else
                deny(op, a.challenge);
        return 0;
}

static void ask_polkit(Op *op, uid_t uid, const char *action, bool without_polkit, AccountsGrantedFn granted,
                       void *userdata) {
        Accounts *a = op->a;
        int r;

        if (!sd_bus_message_get_sender(op->msg) || polkit_queue_full(a, uid))
                return deny(op, false);
        PolkitQuery *q = calloc(1, sizeof *q);
        if (!q)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot ask polkit: %s", strerror(ENOMEM));
        q->a = a;
        q->op = op;
        q->uid = uid;
        q->without_polkit = without_polkit;
        q->granted = granted;
        q->userdata = userdata;
        /* Interaction allowed, as AccountsService always asks; a person may
         * take a while to type a password. */
        r = bus_polkit_check_async(a->bus, op->msg, action, true, UINT64_C(300) * USEC_PER_SEC, on_polkit_reply, q,
                                   &op->slot);
        if (r < 0) {
                free(q);
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot ask polkit: %s", strerror(-r));
        }
        sd_bus_slot_set_destroy_callback(op->slot, polkit_query_destroy);
        q->next = a->polkit_queries;
        a->polkit_queries = q;
        a->n_polkit++;
}

void accounts_authorize(Op *op, uid_t owner, const char *own_action, const char *admin_action,
                        AccountsGrantedFn granted, void *userdata) {
        uid_t uid = bus_sender_uid(op->msg);

        if (uid == UID_INVALID)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "identifying caller failed");
        if (uid == 0)
                return granted(op, userdata);
        if (own_action && owner != UID_INVALID && uid == owner) {
                op->as_owner = true;
                return ask_polkit(op, uid, own_action, strcmp(own_action, OWN_DATA_ACTION) == 0, granted, userdata);
        }
        ask_polkit(op, uid, admin_action, false, granted, userdata);
}
