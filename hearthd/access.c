/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may do what. Root may do everything. Others need polkit's word for
 * the action, or, for some calls on their own home, only their secret
 * (which the worker then checks). Without polkit on the bus, the second is
 * all a non-root caller has. */
#include <errno.h>
#include <string.h>

#include "bus-error.h"
#include "log.h"
#include "macro.h"
#include "manager.h"

uid_t bus_sender_uid(sd_bus_message *msg) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;

        if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
            sd_bus_creds_get_euid(creds, &uid) < 0)
                return UID_INVALID;
        return uid;
}

/* Checks waiting for polkit. Bounded: a caller whose agent never answers
 * must not pile up calls (each holding its message) without end, and one
 * user must not take every place from the others. */
#define POLKIT_PENDING_MAX 128
#define POLKIT_PENDING_PER_USER 8
/* What a caller other than root may send as a record: the parse costs
 * several times its size in memory before polkit has said anything. */
#define RECORD_TEXT_MAX_UNPRIVILEGED (64 * 1024)

bool bus_sees_privileged(sd_bus_message *msg, ManagedHome *h) {
        uid_t uid = msg ? bus_sender_uid(msg) : UID_INVALID;
        return uid == 0 || (uid != UID_INVALID && uid == h->uid);
}

typedef struct PolkitQuery {
        Manager *m;
        Operation *op;
        uid_t uid;
        char *action;
        sd_bus_slot *slot;
        struct PolkitQuery *next;
} PolkitQuery;

static void polkit_query_free(PolkitQuery *q) {
        for (PolkitQuery **p = &q->m->polkit_queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        q->m->n_polkit_pending--;
        sd_bus_slot_unref(q->slot);
        operation_free(q->op);
        free(q->action);
        free(q);
}

void manager_free_polkit_queries(Manager *m) {
        while (m->polkit_queries)
                polkit_query_free(m->polkit_queries);
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
        int authorized = 0, challenge = 0;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                /* No polkit on this bus is normal on small systems. */
                if (!sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        log_warning("polkit: %s: %s", e->name, e->message ?: "");
        } else if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
                   sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0)
                log_warning("polkit: malformed answer");
        if (authorized)
                manager_operation_granted(q->m, TAKE_PTR(q->op));
        else if (challenge && !q->op->admin_field)
                /* The caller may retry allowing interactive authentication. */
                operation_fail(TAKE_PTR(q->op), SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                               "Interactive authentication required for %s", q->action);
        else
                deny(TAKE_PTR(q->op), q->action);
        polkit_query_free(q);
        return 0;
}

static unsigned polkit_pending_of(Manager *m, uid_t uid) {
        unsigned n = 0;
        for (PolkitQuery *q = m->polkit_queries; q; q = q->next)
                n += q->uid == uid;
        return n;
}

static bool polkit_queue_full(Manager *m, uid_t uid) {
        return m->n_polkit_pending >= POLKIT_PENDING_MAX || polkit_pending_of(m, uid) >= POLKIT_PENDING_PER_USER;
}

int access_precheck(Manager *m, sd_bus_message *msg, size_t record_len, sd_bus_error *error) {
        uid_t uid = bus_sender_uid(msg);

        if (uid == 0)
                return 0;
        if (record_len > RECORD_TEXT_MAX_UNPRIVILEGED)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS,
                                         "record: %zu bytes; callers other than root may send at most %u",
                                         record_len, RECORD_TEXT_MAX_UNPRIVILEGED);
        if (uid == UID_INVALID || polkit_queue_full(m, uid))
                return sd_bus_error_setf(error, BUS_ERROR_TOO_MANY_OPERATIONS,
                                         "Too many calls wait for authorization; try again later");
        return 0;
}

static int ask_polkit(Manager *m, Operation *op, uid_t uid, const char *action) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        const char *sender = sd_bus_message_get_sender(op->msg);
        uint32_t flags = sd_bus_message_get_allow_interactive_authorization(op->msg) ? 1 : 0;
        int r;

        if (!sender)
                return -EPERM;
        if (polkit_queue_full(m, uid))
                return -EBUSY;
        r = sd_bus_message_new_method_call(m->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                                          action, 0, flags, "");
        if (r < 0)
                return r;
        PolkitQuery *q = calloc(1, sizeof *q);
        if (!q || !(q->action = strdup(action))) {
                free(q);
                return -ENOMEM;
        }
        q->m = m;
        q->uid = uid;
        /* Interactive authentication may take as long as a person needs. */
        r = sd_bus_call_async(m->bus, &q->slot, call, on_polkit_reply, q, flags ? UINT64_C(300) * USEC_PER_SEC : 0);
        if (r < 0) {
                free(q->action);
                free(q);
                return r;
        }
        q->op = op;
        q->next = m->polkit_queries;
        m->polkit_queries = q;
        m->n_polkit_pending++;
        return 0;
}

void access_check_then_run(Manager *m, Operation *op, uid_t owner, AccessRule rule, const char *polkit_action) {
        uid_t uid = bus_sender_uid(op->msg);

        if (uid == 0 || (rule != ACCESS_ROOT_ONLY && uid != UID_INVALID && uid == owner)) {
                manager_operation_granted(m, op);
                return;
        }
        int r = uid == UID_INVALID ? -EPERM : ask_polkit(m, op, uid, polkit_action);
        if (r == -EBUSY)
                operation_fail(op, BUS_ERROR_TOO_MANY_OPERATIONS,
                               "Too many calls wait for authorization; try again later");
        else if (r < 0)
                deny(op, polkit_action);
}
