/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may change what, with AccountsService's polkit actions. Root may do
 * everything. A user changing her own data asks for the "own" action; a
 * machine without polkit lets her change her own user data (polkit's
 * default too) but not her password (auth_admin). Any other change asks
 * for user-administration; without polkit only root gets it. */
#include <errno.h>
#include <string.h>

#include "accounts.h"
#include "log.h"
#include "macro.h"

/* A caller whose agent never answers must not pile up calls without end,
 * nor take every place from the others. */
#define POLKIT_PENDING_MAX 128
#define POLKIT_PENDING_PER_USER 8

uid_t bus_caller_uid(sd_bus_message *msg) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        if (!msg || sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
            sd_bus_creds_get_euid(creds, &uid) < 0)
                return UID_INVALID;
        return uid;
}

#define OWN_DATA_ACTION "org.freedesktop.accounts.change-own-user-data"

typedef struct PolkitQuery {
        Accounts *a;
        Op *op;
        uid_t uid;
        bool without_polkit; /* granted if polkit is not on the bus */
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
        int authorized = 0, challenge = 0;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        bool no_polkit = false;

        bool lenient = q->without_polkit;
        op->slot = sd_bus_slot_unref(op->slot); /* q goes with it, after this returns */
        if (e) {
                no_polkit = sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
                if (!no_polkit)
                        log_warning("polkit: %s: %s", e->name, e->message ?: "");
        } else if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
                   sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0)
                log_warning("polkit: malformed answer");
        if (authorized || (no_polkit && lenient))
                op_enqueue(op);
        else
                deny(op, challenge);
        return 0;
}

static void ask_polkit(Op *op, uid_t uid, const char *action, bool without_polkit) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Accounts *a = op->a;
        const char *sender = sd_bus_message_get_sender(op->msg);
        int r;

        if (!sender || polkit_queue_full(a, uid))
                return deny(op, false);
        r = sd_bus_message_new_method_call(a->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        /* Interaction allowed, as AccountsService always asks. */
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender, action,
                                          0, UINT32_C(1), "");
        PolkitQuery *q = r >= 0 ? calloc(1, sizeof *q) : NULL;
        if (!q)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot ask polkit: %s", strerror(r < 0 ? -r : ENOMEM));
        q->a = a;
        q->op = op;
        q->uid = uid;
        q->without_polkit = without_polkit;
        /* A person may take a while to type a password. */
        r = sd_bus_call_async(a->bus, &op->slot, call, on_polkit_reply, q, UINT64_C(300) * USEC_PER_SEC);
        if (r < 0) {
                free(q);
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot ask polkit: %s", strerror(-r));
        }
        sd_bus_slot_set_destroy_callback(op->slot, polkit_query_destroy);
        q->next = a->polkit_queries;
        a->polkit_queries = q;
        a->n_polkit++;
}

void accounts_authorize(Op *op, uid_t owner, const char *own_action, const char *admin_action) {
        uid_t uid = bus_caller_uid(op->msg);

        if (uid == UID_INVALID)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "identifying caller failed");
        if (uid == 0)
                return op_enqueue(op);
        if (own_action && owner != UID_INVALID && uid == owner) {
                op->as_owner = true;
                return ask_polkit(op, uid, own_action, strcmp(own_action, OWN_DATA_ACTION) == 0);
        }
        ask_polkit(op, uid, admin_action, false);
}
