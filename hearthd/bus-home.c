/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.home1.Home: one object per home under
 * /org/freedesktop/home1/home/, and the methods both it and the Manager
 * offer on a home. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "bus-error.h"
#include "bus-home.h"
#include "bus-manager.h"
#include "bus-record-view.h"
#include "bus-util.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "self-modify.h"
#include "size.h"

/* ---- properties ------------------------------------------------------------------ */

static int prop_user_name(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                          void *userdata, sd_bus_error *error) {
        ManagedHome *h = userdata;
        return sd_bus_message_append(reply, "s", h->name);
}

static int prop_uid(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                    void *userdata, sd_bus_error *error) {
        ManagedHome *h = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) h->uid);
}

static int prop_unix_record(sd_bus *bus, const char *path, const char *iface, const char *prop,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ManagedHome *h = userdata;
        char buf[4096];
        return sd_bus_message_append(reply, "(suusss)", h->name, (uint32_t) h->uid, (uint32_t) h->uid,
                                     bus_record_real_name(h), managed_home_dir(h, buf, sizeof buf),
                                     bus_record_shell(h));
}

static int prop_state(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                      void *userdata, sd_bus_error *error) {
        ManagedHome *h = userdata;
        return sd_bus_message_append(reply, "s", managed_home_state(h));
}

static int prop_user_record(sd_bus *bus, const char *path, const char *iface, const char *prop,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        ManagedHome *h = userdata;
        sd_bus_message *call = sd_bus_get_current_message(bus);
        /* Never in a signal: those reach everyone. */
        uint8_t type = 0;
        bool full = call && sd_bus_message_get_type(call, &type) >= 0 && type == SD_BUS_MESSAGE_METHOD_CALL &&
                    bus_sees_privileged(call, h);
        _cleanup_free_ char *json = bus_record_view(h, full);
        if (!json)
                return -ENOMEM;
        return sd_bus_message_append(reply, "(sb)", json, !full);
}

/* ---- methods shared with the Manager ------------------------------------------------ */

void bus_wipe_argument(const char *text) {
        /* The call's body lives as long as the call (op->msg, until the
         * worker is done) in plain heap; sd-bus erases it only when it frees
         * it (SD_BUS_VTABLE_SENSITIVE). Once parsed, nothing reads an
         * argument again: wipe it now. */
        explicit_bzero((char *) text, strlen(text));
}

static int read_secret(sd_bus_message *msg, Secret **ret, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL;
        const char *text;
        int r = sd_bus_message_read(msg, "s", &text);
        if (r < 0)
                return r;
        r = secret_parse(text, ret, &why);
        bus_wipe_argument(text);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "%s", why ?: "secret: invalid");
        return r;
}

#define RECORD_CLOCK_SKEW_USEC (UINT64_C(600) * USEC_PER_SEC)

static uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* A record from a client for Update: same user, newer but not from the
 * future, and with our binding. */
/* Chosen at create, for good: the LUKS header holds what they say (a
 * systemd-tpm2 token, a password keyslot or none), and no record change
 * rewrites it. A record that stopped saying tpm2 over a TPM-sealed header
 * would have the PIN's hash stored at the next activation. The field that
 * differs, or NULL. */
static const char *tpm_setting_changed(const UserRecord *old, const UserRecord *new) {
        static const char *const fields[] = { "tpm2", "tpm2KeepPassword", "tpm2Pcrs" };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                json_object *a = NULL, *b = NULL;
                (void) json_object_object_get_ex(old->json, fields[i], &a);
                (void) json_object_object_get_ex(new->json, fields[i], &b);
                if (json_object_is_type(a, json_type_boolean) || json_object_is_type(b, json_type_boolean)) {
                        /* absent is false */
                        if ((a && json_object_get_boolean(a)) != (b && json_object_get_boolean(b)))
                                return fields[i];
                } else if ((a == NULL) != (b == NULL) || (a && !json_object_equal(a, b)))
                        return fields[i];
        }
        return NULL;
}

static int prepare_update(ManagedHome *h, const char *text, Operation *op, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL;
        UserRecord *rec = NULL;
        json_object *v;
        int r;

        r = user_record_parse(text, strlen(text), &rec, &why);
        bus_wipe_argument(text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: record: %s", h->name,
                                         why ?: "invalid");
        op->record = rec;
        if (!rec->user_name || strcmp(rec->user_name, h->name) != 0)
                return sd_bus_error_setf(error, BUS_ERROR_RECORD_MISMATCH,
                                         "home %s: the record is for another user", h->name);
        if (rec->last_change_usec == UINT64_MAX || (h->record->last_change_usec != UINT64_MAX &&
                                                    rec->last_change_usec <= h->record->last_change_usec))
                return sd_bus_error_setf(error, BUS_ERROR_RECORD_DOWNGRADE,
                                         "home %s: lastChangeUSec must be newer than the stored record's", h->name);
        /* A record dated far ahead would outrank every later change (an
         * administrator's, one replayed from the home), or block them all. */
        if (rec->last_change_usec > now_realtime_usec() + RECORD_CLOCK_SKEW_USEC)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS,
                                         "home %s: lastChangeUSec lies more than 10 minutes in the future", h->name);
        /* The PIN of a token enrolled already may open a LUKS home to
         * add a keyslot. */
        r = secret_from_record(rec->json, rec->password, &op->secret, &why);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: %s", h->name, why ?: "secret: invalid");
        if (r < 0)
                return r;
        r = user_record_strip(rec, USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_SIGNATURE |
                                           USER_RECORD_BINDING);
        if (r < 0)
                return r;
        /* What is machine-bound stays ours; so do the hashes if the client
         * did not send the privileged section. */
        if (json_object_object_get_ex(h->record->json, "binding", &v))
                json_object_object_add(rec->json, "binding", json_object_get(v));
        if (!json_object_object_get_ex(rec->json, "privileged", NULL) &&
            json_object_object_get_ex(h->record->json, "privileged", &v))
                json_object_object_add(rec->json, "privileged", json_object_get(v));
        r = user_record_refresh(rec, &why);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: record: %s", h->name,
                                         why ?: "invalid");
        if (rec->uid != h->uid)
                return sd_bus_error_setf(error, BUS_ERROR_RECORD_MISMATCH, "home %s: uid cannot change", h->name);
        const char *unsupported = user_record_unsupported(rec);
        if (unsupported)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: %s", h->name, unsupported);
        const char *tpm = h->record->storage == USER_STORAGE_LUKS ? tpm_setting_changed(h->record, rec) : NULL;
        if (tpm)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS,
                                         "home %s: %s is chosen when the home is created and cannot change", h->name,
                                         tpm);
        /* Decides the polkit action; root needs no answer. */
        if (bus_sender_uid(op->msg) != 0) {
                r = self_modify_allowed(h->record, rec, &op->admin_field);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int reply_ref(sd_bus_message *msg, ManagedHome *h, bool please_suspend, sd_bus_error *error) {
        _cleanup_close_ int fd = -1;
        uid_t uid = bus_sender_uid(msg);
        int r;

        if (uid != 0 && uid != h->uid)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "home %s: only root and its user may "
                                         "reference it", h->name);
        HomeCheck c = home_check_ref(h->state, h->running && home_deactivating(h->running->type));
        if (c.verdict == HOME_REFUSE) {
                char text[256];
                return sd_bus_error_set(error, c.error, home_check_message(&c, h->name, text, sizeof text));
        }
        RefFd *ref;
        r = home_refs_add(&h->refs, please_suspend, &fd, &ref);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "home %s: cannot make a reference: %s", h->name,
                                         strerror(-r));
        r = sd_bus_reply_method_return(msg, "h", fd);
        if (r < 0)
                home_refs_drop(&h->refs, ref);
        return r;
}

typedef struct MethodRule {
        const char *method;
        OperationType type;
        AccessRule rule;
        const char *action;
} MethodRule;

static const MethodRule method_rules[] = {
        { "Activate", OP_ACTIVATE, ACCESS_OWNER_WITH_SECRET, HOME1_ACTION_ACTIVATE_HOME },
        { "Deactivate", OP_DEACTIVATE, ACCESS_OWNER, HOME1_ACTION_ACTIVATE_HOME },
        { "Unregister", OP_UNREGISTER, ACCESS_ROOT_ONLY, HOME1_ACTION_REMOVE_HOME },
        { "Realize", OP_REALIZE, ACCESS_ROOT_ONLY, HOME1_ACTION_CREATE_HOME },
        { "Remove", OP_REMOVE, ACCESS_ROOT_ONLY, HOME1_ACTION_REMOVE_HOME },
        { "Authenticate", OP_AUTHENTICATE, ACCESS_OWNER_WITH_SECRET, HOME1_ACTION_AUTHENTICATE_HOME },
        { "Update", OP_UPDATE, ACCESS_ROOT_ONLY, HOME1_ACTION_UPDATE_HOME },
        /* A size is the admin's to set: the owner resizing would lift her quota. */
        { "Resize", OP_RESIZE, ACCESS_ROOT_ONLY, HOME1_ACTION_RESIZE_HOME },
        { "ChangePassword", OP_PASSWD, ACCESS_OWNER_WITH_SECRET, HOME1_ACTION_PASSWD_HOME },
        { "Lock", OP_LOCK, ACCESS_OWNER, HOME1_ACTION_ACTIVATE_HOME },
        { "Unlock", OP_UNLOCK, ACCESS_OWNER_WITH_SECRET, HOME1_ACTION_ACTIVATE_HOME },
        { "Acquire", OP_ACQUIRE, ACCESS_OWNER_WITH_SECRET, HOME1_ACTION_ACTIVATE_HOME },
        { "Release", OP_RELEASE, ACCESS_OWNER, HOME1_ACTION_ACTIVATE_HOME },
        /* Her password opens the home and the record in it: as Authenticate. */
        { "Fixate", OP_FIXATE, ACCESS_OWNER_WITH_SECRET, HOME1_ACTION_AUTHENTICATE_HOME },
};

int bus_method_for_home(sd_bus_message *msg, ManagedHome *h, const char *method, sd_bus_error *error) {
        _cleanup_operation_ Operation *op = NULL;
        const MethodRule *rule = NULL;
        int r;

        if (strcmp(method, "Ref") == 0) {
                int please_suspend = 0;
                r = sd_bus_message_read(msg, "b", &please_suspend);
                return r < 0 ? r : reply_ref(msg, h, please_suspend, error);
        }
        /* Only a home found here and not fixated yet has anything to do;
         * every caller hears so alike. */
        if (strcmp(method, "Fixate") == 0 && h->state != HOME_UNFIXATED) {
                _cleanup_secret_ Secret *s = NULL;
                char text[256];
                r = read_secret(msg, &s, error);
                if (r < 0)
                        return r;
                HomeCheck c = home_check(OP_FIXATE, h->state, false);
                return sd_bus_error_set(error, c.error, home_check_message(&c, h->name, text, sizeof text));
        }
        for (size_t i = 0; i < ELEMENTSOF(method_rules); i++)
                if (strcmp(method_rules[i].method, method) == 0)
                        rule = &method_rules[i];
        if (!rule)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_METHOD, "unknown method %s", method);

        op = operation_new(rule->type, h->name, msg);
        if (!op)
                return -ENOMEM;
        switch (rule->type) {
        case OP_ACTIVATE:
        case OP_REALIZE:
        case OP_AUTHENTICATE:
        case OP_UNLOCK:
        case OP_FIXATE:
                r = read_secret(msg, &op->secret, error);
                break;
        case OP_ACQUIRE: {
                int please_suspend = 0;
                r = read_secret(msg, &op->secret, error);
                if (r >= 0)
                        r = sd_bus_message_read(msg, "b", &please_suspend);
                op->please_suspend = please_suspend;
                break;
        }
        case OP_RESIZE:
                r = sd_bus_message_read(msg, "t", &op->size);
                if (r >= 0)
                        r = read_secret(msg, &op->secret, error);
                if (r >= 0 && op->size != HEARTH_SIZE_RECORD && op->size != HEARTH_SIZE_MIN &&
                    op->size != HEARTH_SIZE_MAX &&
                    (op->size < USER_RECORD_DISK_SIZE_MIN || op->size > USER_RECORD_DISK_SIZE_MAX))
                        r = sd_bus_error_setf(error, BUS_ERROR_BAD_HOME_SIZE,
                                              "home %s: size must be between 16 MiB and 1 EiB", h->name);
                break;
        case OP_PASSWD:
                r = read_secret(msg, &op->new_secret, error);
                if (r >= 0)
                        r = read_secret(msg, &op->secret, error);
                /* An empty new secret asks homed to push the record's
                 * secrets down to the storage; ours always are: only check. */
                if (r >= 0 && op->new_secret->n_password == 0) {
                        op->type = OP_AUTHENTICATE;
                        op->new_secret = secret_free(op->new_secret);
                }
                break;
        case OP_UPDATE: {
                const char *text;
                r = sd_bus_message_read(msg, "s", &text);
                if (r >= 0)
                        r = access_precheck(&h->manager->access, msg, strlen(text), error);
                if (r >= 0)
                        r = prepare_update(h, text, op, error);
                break;
        }
        default:
                r = 0;
                break;
        }
        if (r < 0)
                return r;
        /* Her own fields a user may change with polkit's lighter action. */
        const char *action = rule->action;
        if (rule->type == OP_UPDATE && bus_sender_uid(msg) == h->uid && !op->admin_field)
                action = HOME1_ACTION_UPDATE_HOME_BY_OWNER;
        access_check_then_run(&h->manager->access, TAKE_PTR(op), h->uid, rule->rule, action,
                              bus_manager_home_granted, h->manager);
        return 1;
}

static int method_home(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return bus_method_for_home(msg, userdata, sd_bus_message_get_member(msg), error);
}

static const sd_bus_vtable home_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("UserName", "s", prop_user_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UID", "u", prop_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UnixRecord", "(suusss)", prop_unix_record, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("State", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UserRecord", "(sb)", prop_user_record, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Activate", "s", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Deactivate", NULL, NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Unregister", NULL, NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Realize", "s", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Remove", NULL, NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Fixate", "s", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Authenticate", "s", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Update", "s", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Resize", "ts", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("ChangePassword", "ss", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Lock", NULL, NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Unlock", "s", NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Acquire", "sb", "h", method_home, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD("Ref", "b", "h", method_home, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", NULL, NULL, method_home, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int find_home(sd_bus *bus, const char *path, const char *iface, void *userdata, void **found,
                     sd_bus_error *error) {
        ManagedHome *h = manager_find_by_path(userdata, path);
        if (!h)
                return 0;
        *found = h;
        return 1;
}

static int enumerate_homes(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        char **l = calloc(m->n_homes + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_homes; i++)
                if (!(l[i] = strdup(m->homes[i]->path))) {
                        strv_free(l);
                        return -ENOMEM;
                }
        *nodes = l;
        return 0;
}

int bus_home_register(Manager *m) {
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, HOME1_HOME_PATH_PREFIX, HOME1_HOME_INTERFACE, home_vtable,
                                           find_home, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(m->bus, NULL, HOME1_HOME_PATH_PREFIX, enumerate_homes, m);
        if (r >= 0)
                r = sd_bus_add_object_manager(m->bus, NULL, HOME1_HOME_PATH_PREFIX);
        return r;
}

void bus_home_emit_changed(ManagedHome *h) {
        if (h->manager->bus)
                (void) sd_bus_emit_properties_changed(h->manager->bus, h->path, HOME1_HOME_INTERFACE, "State",
                                                      "UnixRecord", "UserRecord", NULL);
}

void bus_home_emit_added(ManagedHome *h) {
        if (h->manager->bus)
                (void) sd_bus_emit_object_added(h->manager->bus, h->path);
}

void bus_home_emit_removed(ManagedHome *h) {
        if (h->manager->bus)
                (void) sd_bus_emit_object_removed(h->manager->bus, h->path);
}
