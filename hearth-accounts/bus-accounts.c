/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.Accounts at /org/freedesktop/Accounts: AccountsService's
 * Manager, method for method. */
#include <errno.h>
#include <pwd.h>
#include <string.h>

#include "accounts.h"
#include "config.h"
#include "log.h"
#include "macro.h"

static bool listed(const AccUser *u) {
        return u->cached && !u->system_account;
}

static int method_list_cached_users(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        Accounts *a = userdata;
        int r;

        /* A change seen on disk but not yet read: read it first, as
         * AccountsService finishes a pending reload before answering. */
        if (a->reload_timer) {
                a->reload_timer = sd_event_source_disable_unref(a->reload_timer);
                (void) accounts_reload(a);
        }
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < a->n_users; i++)
                if (listed(a->users[i]))
                        r = sd_bus_message_append(reply, "o", a->users[i]->path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

static int method_find_user_by_id(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Accounts *a = userdata;
        int64_t id;
        int r = sd_bus_message_read(msg, "x", &id);
        if (r < 0)
                return r;
        AccUser *u = id >= 0 && id < (int64_t) UID_INVALID ? accounts_find_uid(a, (uid_t) id) : NULL;
        if (!u && id >= 0 && id < (int64_t) UID_INVALID) {
                struct passwd *pw = getpwuid((uid_t) id);
                if (pw && valid_user_name(pw->pw_name))
                        u = accounts_request_name(a, pw->pw_name);
        }
        if (!u)
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_FAILED, "Failed to look up user with uid %d.", (int) id);
        return sd_bus_reply_method_return(msg, "o", u->path);
}

static int method_find_user_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name;
        int r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        AccUser *u = valid_user_name(name) ? accounts_request_name(userdata, name) : NULL;
        if (!u)
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_FAILED, "Failed to look up user with name %.64s.", name);
        return sd_bus_reply_method_return(msg, "o", u->path);
}

#define ADMIN_ACTION "org.freedesktop.accounts.user-administration"

static int method_create_user(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_op_ Op *op = NULL;
        const char *name, *real_name;
        int32_t type;
        int r = sd_bus_message_read(msg, "ssi", &name, &real_name, &type);
        if (r < 0)
                return r;
        if (!valid_user_name(name))
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_FAILED, "'%.64s' is not a valid user name", name);
        if (!accounts_valid_text(real_name) || strchr(real_name, ':'))
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_FAILED, "the full name of %s is not valid", name);
        if (type != ACCOUNT_TYPE_STANDARD && type != ACCOUNT_TYPE_ADMINISTRATOR)
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_FAILED, "Don't know how to add user of type %d", type);
        op = op_new(userdata, OP_CREATE, msg, UID_INVALID);
        if (!op || !(op->name = strdup(name)) || !(op->s1 = strdup(real_name)))
                return -ENOMEM;
        op->n[0] = type;
        accounts_authorize(TAKE_PTR(op), UID_INVALID, NULL, ADMIN_ACTION, op_granted, NULL);
        return 1;
}

static int method_delete_user(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Accounts *a = userdata;
        _cleanup_op_ Op *op = NULL;
        int64_t id;
        int remove_files;
        int r = sd_bus_message_read(msg, "xb", &id, &remove_files);
        if (r < 0)
                return r;
        if (id == 0)
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_FAILED, "Refuse to delete root user");
        if (id < 0 || id >= (int64_t) UID_INVALID || !accounts_find_uid(a, (uid_t) id))
                return sd_bus_error_setf(error, ACCOUNTS_ERROR_USER_DOES_NOT_EXIST, "No user with uid %d found",
                                         (int) id);
        op = op_new(a, OP_DELETE, msg, (uid_t) id);
        if (!op)
                return -ENOMEM;
        op->b = remove_files;
        accounts_authorize(TAKE_PTR(op), UID_INVALID, NULL, ADMIN_ACTION, op_granted, NULL);
        return 1;
}

static int cache_call(sd_bus_message *msg, Accounts *a, OpKind kind, sd_bus_error *error) {
        _cleanup_op_ Op *op = NULL;
        const char *name;
        int r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!valid_user_name(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid user name: %.64s", name);
        op = op_new(a, kind, msg, UID_INVALID);
        if (!op || !(op->name = strdup(name)))
                return -ENOMEM;
        accounts_authorize(TAKE_PTR(op), UID_INVALID, NULL, ADMIN_ACTION, op_granted, NULL);
        return 1;
}

static int method_cache_user(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return cache_call(msg, userdata, OP_CACHE, error);
}

static int method_uncache_user(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return cache_call(msg, userdata, OP_UNCACHE, error);
}

static int prop_version(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                        void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", ACCOUNTS_API_VERSION " (hearth-accounts " HEARTH_VERSION ")");
}

static int prop_bool(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                     void *userdata, sd_bus_error *error) {
        Accounts *a = userdata;
        return sd_bus_message_append(reply, "b", strcmp(prop, "HasNoUsers") == 0 ? a->has_no_users : a->has_multiple_users);
}

static int prop_autologin(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                          void *userdata, sd_bus_error *error) {
        Accounts *a = userdata;
        AccUser *u = a->autologin_user ? accounts_find_name(a, a->autologin_user) : NULL;
        int r = sd_bus_message_open_container(reply, 'a', "o");
        if (r >= 0 && u)
                r = sd_bus_message_append(reply, "o", u->path);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable accounts_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("ListCachedUsers", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", users),
                                method_list_cached_users, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("FindUserById", SD_BUS_ARGS("x", id), SD_BUS_RESULT("o", user), method_find_user_by_id,
                                UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("FindUserByName", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", user),
                                method_find_user_by_name, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("CreateUser", SD_BUS_ARGS("s", name, "s", fullname, "i", accountType),
                                SD_BUS_RESULT("o", user), method_create_user, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("CacheUser", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", user), method_cache_user,
                                UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("UncacheUser", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_uncache_user, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("DeleteUser", SD_BUS_ARGS("x", id, "b", removeFiles), SD_BUS_NO_RESULT,
                                method_delete_user, UNPRIV),
        SD_BUS_SIGNAL_WITH_ARGS("UserAdded", SD_BUS_ARGS("o", user), 0),
        SD_BUS_SIGNAL_WITH_ARGS("UserDeleted", SD_BUS_ARGS("o", user), 0),
        SD_BUS_PROPERTY("DaemonVersion", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HasNoUsers", "b", prop_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasMultipleUsers", "b", prop_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AutomaticLoginUsers", "ao", prop_autologin, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END
};

/* The users' objects hang below this path as a fallback, and sd-bus keeps
 * one kind of vtable per path: the Manager is a fallback too, for its own
 * path only. */
static int find_manager(sd_bus *bus, const char *path, const char *iface, void *userdata, void **found,
                        sd_bus_error *error) {
        if (strcmp(path, ACCOUNTS_PATH) != 0)
                return 0;
        *found = userdata;
        return 1;
}

int bus_accounts_register(Accounts *a) {
        return sd_bus_add_fallback_vtable(a->bus, NULL, ACCOUNTS_PATH, ACCOUNTS_INTERFACE, accounts_vtable, find_manager,
                                          a);
}

void bus_accounts_emit_user_added(Accounts *a, const char *path) {
        if (a->bus)
                (void) sd_bus_emit_signal(a->bus, ACCOUNTS_PATH, ACCOUNTS_INTERFACE, "UserAdded", "o", path);
}

void bus_accounts_emit_user_deleted(Accounts *a, const char *path) {
        if (a->bus)
                (void) sd_bus_emit_signal(a->bus, ACCOUNTS_PATH, ACCOUNTS_INTERFACE, "UserDeleted", "o", path);
}

/* PropertiesChanged only for what changed since the last one. */
void bus_accounts_emit_manager_changed(Accounts *a) {
        const char *names[4];
        size_t n = 0;
        if (!a->bus)
                return;
        if (a->emitted_no_users != (int) a->has_no_users)
                names[n++] = "HasNoUsers";
        if (a->emitted_multiple_users != (int) a->has_multiple_users)
                names[n++] = "HasMultipleUsers";
        if ((a->emitted_autologin || a->autologin_user) &&
            (!a->emitted_autologin || !a->autologin_user || strcmp(a->emitted_autologin, a->autologin_user) != 0))
                names[n++] = "AutomaticLoginUsers";
        names[n] = NULL;
        a->emitted_no_users = a->has_no_users;
        a->emitted_multiple_users = a->has_multiple_users;
        free(a->emitted_autologin);
        a->emitted_autologin = a->autologin_user ? strdup(a->autologin_user) : NULL;
        if (n > 0)
                (void) sd_bus_emit_properties_changed_strv(a->bus, ACCOUNTS_PATH, ACCOUNTS_INTERFACE, (char **) names);
}
