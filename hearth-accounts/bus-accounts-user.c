/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.Accounts.User at /org/freedesktop/Accounts/User<uid>:
 * AccountsService's properties, setters and Changed signal. Setters check
 * their arguments here and the caller in accounts-polkit.c; the change
 * itself runs in accounts-ops.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "log.h"
#include "macro.h"

#define OWN_DATA "org.freedesktop.accounts.change-own-user-data"
#define OWN_PASSWORD "org.freedesktop.accounts.change-own-password"
#define ADMIN "org.freedesktop.accounts.user-administration"

/* ---- properties ------------------------------------------------------------------ */

static const char *extra(const AccUser *u, ExtraKey k) {
        return u->extras.value[k] ?: "";
}

static int prop_string(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                       void *userdata, sd_bus_error *error) {
        AccUser *u = userdata;
        _cleanup_free_ char *face = NULL;
        const char *v = "";

        if (strcmp(prop, "UserName") == 0)
                v = u->name;
        else if (strcmp(prop, "RealName") == 0)
                v = u->real_name;
        else if (strcmp(prop, "HomeDirectory") == 0)
                v = u->home;
        else if (strcmp(prop, "Shell") == 0)
                v = u->shell;
        else if (strcmp(prop, "Email") == 0)
                v = u->email;
        else if (strcmp(prop, "Language") == 0)
                v = u->language;
        else if (strcmp(prop, "PasswordHint") == 0)
                v = u->password_hint;
        else if (strcmp(prop, "XSession") == 0)
                v = extra(u, EXTRA_XSESSION);
        else if (strcmp(prop, "Session") == 0)
                /* An XSession alone counts as the Session too, as in AccountsService. */
                v = u->extras.value[EXTRA_SESSION] ?: extra(u, EXTRA_XSESSION);
        else if (strcmp(prop, "SessionType") == 0)
                v = extra(u, EXTRA_SESSION_TYPE);
        else if (strcmp(prop, "Location") == 0)
                v = extra(u, EXTRA_LOCATION);
        else if (strcmp(prop, "IconFile") == 0) {
                /* Without an icon of ours, AccountsService's default: ~/.face. */
                v = u->extras.value[EXTRA_ICON];
                if (!v && u->home && u->home[0] && asprintf(&face, "%s/.face", u->home) < 0)
                        return -ENOMEM;
                v = v ?: face ?: "";
        }
        return sd_bus_message_append(reply, "s", v ?: "");
}

static int prop_bool(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                     void *userdata, sd_bus_error *error) {
        AccUser *u = userdata;
        bool v = false;
        if (strcmp(prop, "Locked") == 0)
                v = u->locked;
        else if (strcmp(prop, "SystemAccount") == 0)
                v = u->system_account;
        else if (strcmp(prop, "LocalAccount") == 0)
                v = u->local_account;
        else if (strcmp(prop, "Saved") == 0)
                v = u->saved;
        else if (strcmp(prop, "AutomaticLogin") == 0)
                v = u->auto_login;
        return sd_bus_message_append(reply, "b", v);
}

static int prop_int(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                    void *userdata, sd_bus_error *error) {
        AccUser *u = userdata;
        return sd_bus_message_append(reply, "i",
                                     (int32_t) (strcmp(prop, "AccountType") == 0 ? u->account_type : u->password_mode));
}

static int prop_uid(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                    void *userdata, sd_bus_error *error) {
        AccUser *u = userdata;
        return sd_bus_message_append(reply, "t", (uint64_t) u->uid);
}

/* Logins are not counted (AccountsService reads wtmp): none recorded. */
static int prop_login_frequency(sd_bus *bus, const char *path, const char *iface, const char *prop,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", UINT64_C(0));
}

static int prop_login_time(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                           void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "x", INT64_C(0));
}

static int prop_login_history(sd_bus *bus, const char *path, const char *iface, const char *prop,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        int r = sd_bus_message_open_container(reply, 'a', "(xxa{sv})");
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* ---- setters ----------------------------------------------------------------------- */

/* Queues kind for the user behind userdata once the caller is allowed. */
static int setter_n(sd_bus_message *msg, AccUser *u, OpKind kind, const char *s1, const char *s2, const int64_t n[4],
                    const char *own_action, const char *admin_action) {
        _cleanup_op_ Op *op = op_new(u->a, kind, msg, u->uid);
        if (!op || (s1 && !(op->s1 = strdup(s1))) || (s2 && !(op->s2 = strdup(s2))))
                return -ENOMEM;
        memcpy(op->n, n, sizeof op->n);
        op->b = n[0] != 0;
        if (kind == OP_SET_ICON) {
                _cleanup_bus_creds_ sd_bus_creds *creds = NULL;
                if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_EGID | SD_BUS_CREDS_AUGMENT,
                                              &creds) < 0 ||
                    sd_bus_creds_get_euid(creds, &op->caller_uid) < 0 ||
                    sd_bus_creds_get_egid(creds, &op->caller_gid) < 0)
                        return sd_bus_reply_method_errorf(msg, ACCOUNTS_ERROR_FAILED, "identifying caller failed");
        }
        accounts_authorize(TAKE_PTR(op), u->uid, own_action, admin_action, op_granted, NULL);
        return 1;
}

static int setter(sd_bus_message *msg, AccUser *u, OpKind kind, const char *s1, const char *s2, int64_t n,
                  const char *own_action, const char *admin_action) {
        return setter_n(msg, u, kind, s1, s2, (const int64_t[4]) { n }, own_action, admin_action);
}

#define INVALID(msg, ...) sd_bus_reply_method_errorf((msg), ACCOUNTS_ERROR_FAILED, __VA_ARGS__)

static int method_set_string(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        static const struct {
                const char *member;
                OpKind kind;
                bool (*valid)(const char *);
                const char *own;
        } map[] = {
                { "SetRealName", OP_SET_REAL_NAME, accounts_valid_text, OWN_DATA },
                { "SetEmail", OP_SET_EMAIL, accounts_valid_text, OWN_DATA },
                { "SetLanguage", OP_SET_LANGUAGE, accounts_valid_language, OWN_DATA },
                { "SetXSession", OP_SET_XSESSION, accounts_valid_session, OWN_DATA },
                { "SetSession", OP_SET_SESSION, accounts_valid_session, OWN_DATA },
                { "SetSessionType", OP_SET_SESSION_TYPE, accounts_valid_session, OWN_DATA },
                { "SetLocation", OP_SET_LOCATION, accounts_valid_text, OWN_DATA },
                { "SetPasswordHint", OP_SET_PASSWORD_HINT, accounts_valid_text, OWN_DATA },
                { "SetIconFile", OP_SET_ICON, NULL, OWN_DATA },
                { "SetShell", OP_SET_SHELL, accounts_valid_path, NULL },
        };
        const char *member = sd_bus_message_get_member(msg), *value;
        int r = sd_bus_message_read(msg, "s", &value);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(map); i++) {
                if (strcmp(map[i].member, member) != 0)
                        continue;
                if (map[i].valid ? !map[i].valid(value) : value[0] && !accounts_valid_path(value))
                        return INVALID(msg, "%s: the value is not valid", member);
                if (map[i].kind == OP_SET_REAL_NAME && strchr(value, ':'))
                        return INVALID(msg, "%s: a real name cannot contain ':'", member);
                return setter(msg, userdata, map[i].kind, value, NULL, 0, map[i].own, ADMIN);
        }
        return sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_UNKNOWN_METHOD, "unknown method %s", member);
}

static int method_not_supported(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        AccUser *u = userdata;
        const char *value;
        int r = sd_bus_message_read(msg, "s", &value);
        if (r < 0)
                return r;
        /* homed's homes neither get renamed nor move. */
        return sd_bus_error_setf(error, ACCOUNTS_ERROR_NOT_SUPPORTED, "%s is not supported for user %s",
                                 sd_bus_message_get_member(msg), u->name);
}

static int method_set_locked(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int b;
        int r = sd_bus_message_read(msg, "b", &b);
        return r < 0 ? r : setter(msg, userdata, OP_SET_LOCKED, NULL, NULL, b, NULL, ADMIN);
}

static int method_set_automatic_login(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int b;
        int r = sd_bus_message_read(msg, "b", &b);
        return r < 0 ? r : setter(msg, userdata, OP_SET_AUTOMATIC_LOGIN, NULL, NULL, b, NULL, ADMIN);
}

static int method_set_account_type(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int32_t t;
        int r = sd_bus_message_read(msg, "i", &t);
        if (r < 0)
                return r;
        if (t != ACCOUNT_TYPE_STANDARD && t != ACCOUNT_TYPE_ADMINISTRATOR)
                return INVALID(msg, "unknown account type: %d", t);
        return setter(msg, userdata, OP_SET_ACCOUNT_TYPE, NULL, NULL, t, NULL, ADMIN);
}

static int method_set_password_mode(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int32_t m;
        int r = sd_bus_message_read(msg, "i", &m);
        if (r < 0)
                return r;
        if (m < PASSWORD_MODE_REGULAR || m > PASSWORD_MODE_NONE)
                return INVALID(msg, "unknown password mode: %d", m);
        return setter(msg, userdata, OP_SET_PASSWORD_MODE, NULL, NULL, m, OWN_PASSWORD, ADMIN);
}

static int method_set_password(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *password, *hint;
        int r = sd_bus_message_read(msg, "ss", &password, &hint);
        if (r < 0)
                return r;
        if (!accounts_valid_crypted_password(password))
                return INVALID(msg, "SetPassword: the password must be crypted (crypt(3), \"$id$salt$hash\")");
        if (!accounts_valid_text(hint))
                return INVALID(msg, "SetPassword: the hint is not valid");
        return setter(msg, userdata, OP_SET_PASSWORD, password, hint, 0, OWN_PASSWORD, ADMIN);
}

static int method_get_password_policy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        /* Reading her own policy needs nothing more than her own data does. */
        return setter(msg, userdata, OP_GET_PASSWORD_POLICY, NULL, NULL, 0, OWN_DATA, ADMIN);
}

static bool valid_days(int64_t d) {
        return d >= -1 && d <= 36500;
}

static int method_set_password_policy(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int64_t d[4];
        int r = sd_bus_message_read(msg, "xxxx", &d[0], &d[1], &d[2], &d[3]);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 4; i++)
                if (!valid_days(d[i]))
                        return INVALID(msg, "SetPasswordExpirationPolicy: %" PRIi64 " is not a number of days", d[i]);
        return setter_n(msg, userdata, OP_SET_PASSWORD_POLICY, NULL, NULL, d, NULL, ADMIN);
}

static int method_set_user_expiration(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int64_t d;
        int r = sd_bus_message_read(msg, "x", &d);
        if (r < 0)
                return r;
        if (d < -1 || d > INT32_MAX)
                return INVALID(msg, "SetUserExpirationPolicy: %" PRIi64 " is not a day", d);
        return setter(msg, userdata, OP_SET_USER_EXPIRATION, NULL, NULL, d, NULL, ADMIN);
}

#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED
#define CHANGES SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define S(name) SD_BUS_PROPERTY(name, "s", prop_string, 0, CHANGES)
#define B(name) SD_BUS_PROPERTY(name, "b", prop_bool, 0, CHANGES)
#define SET_S(name, arg) \
        SD_BUS_METHOD_WITH_ARGS(name, SD_BUS_ARGS("s", arg), SD_BUS_NO_RESULT, method_set_string, UNPRIV)

static const sd_bus_vtable user_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("SetUserName", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_not_supported, UNPRIV),
        SET_S("SetRealName", name),
        SET_S("SetEmail", email),
        SET_S("SetLanguage", language),
        SET_S("SetXSession", x_session),
        SET_S("SetSession", session),
        SET_S("SetSessionType", session_type),
        SET_S("SetLocation", location),
        SD_BUS_METHOD_WITH_ARGS("SetHomeDirectory", SD_BUS_ARGS("s", homedir), SD_BUS_NO_RESULT, method_not_supported,
                                UNPRIV),
        SET_S("SetShell", shell),
        SET_S("SetIconFile", filename),
        SD_BUS_METHOD_WITH_ARGS("SetLocked", SD_BUS_ARGS("b", locked), SD_BUS_NO_RESULT, method_set_locked, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetAccountType", SD_BUS_ARGS("i", accountType), SD_BUS_NO_RESULT,
                                method_set_account_type, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetPasswordMode", SD_BUS_ARGS("i", mode), SD_BUS_NO_RESULT, method_set_password_mode,
                                UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetPassword", SD_BUS_ARGS("s", password, "s", hint), SD_BUS_NO_RESULT,
                                method_set_password, UNPRIV | SD_BUS_VTABLE_SENSITIVE),
        SET_S("SetPasswordHint", hint),
        SD_BUS_METHOD_WITH_ARGS("SetAutomaticLogin", SD_BUS_ARGS("b", enabled), SD_BUS_NO_RESULT,
                                method_set_automatic_login, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("GetPasswordExpirationPolicy", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("x", expiration_time, "x", last_change_time, "x", min_days_between_changes,
                                              "x", max_days_between_changes, "x", days_to_warn, "x",
                                              days_after_expiration_until_lock),
                                method_get_password_policy, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetPasswordExpirationPolicy",
                                SD_BUS_ARGS("x", min_days_between_changes, "x", max_days_between_changes, "x", days_to_warn,
                                            "x", days_after_expiration_until_lock),
                                SD_BUS_NO_RESULT, method_set_password_policy, UNPRIV),
        SD_BUS_METHOD_WITH_ARGS("SetUserExpirationPolicy", SD_BUS_ARGS("x", expiration_time), SD_BUS_NO_RESULT,
                                method_set_user_expiration, UNPRIV),
        SD_BUS_SIGNAL("Changed", NULL, 0),
        SD_BUS_PROPERTY("Uid", "t", prop_uid, 0, CHANGES),
        S("UserName"),
        S("RealName"),
        SD_BUS_PROPERTY("AccountType", "i", prop_int, 0, CHANGES),
        S("HomeDirectory"),
        S("Shell"),
        S("Email"),
        S("Language"),
        S("Session"),
        S("SessionType"),
        S("XSession"),
        S("Location"),
        SD_BUS_PROPERTY("LoginFrequency", "t", prop_login_frequency, 0, CHANGES),
        SD_BUS_PROPERTY("LoginTime", "x", prop_login_time, 0, CHANGES),
        SD_BUS_PROPERTY("LoginHistory", "a(xxa{sv})", prop_login_history, 0, CHANGES),
        S("IconFile"),
        B("Saved"),
        B("Locked"),
        SD_BUS_PROPERTY("PasswordMode", "i", prop_int, 0, CHANGES),
        S("PasswordHint"),
        B("AutomaticLogin"),
        B("SystemAccount"),
        B("LocalAccount"),
        SD_BUS_VTABLE_END
};

static int find_user(sd_bus *bus, const char *path, const char *iface, void *userdata, void **found,
                     sd_bus_error *error) {
        AccUser *u = accounts_find_path(userdata, path);
        if (!u)
                return 0;
        *found = u;
        return 1;
}

static int enumerate_users(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Accounts *a = userdata;
        char **l = calloc(a->n_users + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_users; i++)
                if (!(l[i] = strdup(a->users[i]->path))) {
                        strv_free(l);
                        return -ENOMEM;
                }
        *nodes = l;
        return 0;
}

int bus_accounts_user_register(Accounts *a) {
        int r = sd_bus_add_fallback_vtable(a->bus, NULL, ACCOUNTS_PATH, ACCOUNTS_USER_INTERFACE, user_vtable, find_user, a);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(a->bus, NULL, ACCOUNTS_PATH, enumerate_users, a);
        return r;
}

/* The new values first, then Changed, as accounts-daemon sends them:
 * libaccountsservice's clients (GNOME Settings) redraw on Changed from the
 * properties they hold, which must by then be the new ones. */
void bus_accounts_emit_user_changed(Accounts *a, const char *path) {
        if (!a->bus)
                return;
        (void) sd_bus_emit_properties_changed_strv(a->bus, path, ACCOUNTS_USER_INTERFACE, NULL);
        (void) sd_bus_emit_signal(a->bus, path, ACCOUNTS_USER_INTERFACE, "Changed", NULL);
}
