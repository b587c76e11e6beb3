/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hearth-accounts: AccountsService's org.freedesktop.Accounts API for
 * Hearth users (through hearthd, the only owner of their records) and,
 * read-only unless configured, for /etc/passwd users. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "accounts-logic.h"
#include "bus-util.h"
#include "bus-names.h"
#include "macro.h"
#include "user-record.h"

#define ACCOUNTS_BUS_NAME "org.freedesktop.Accounts"
#define ACCOUNTS_PATH "/org/freedesktop/Accounts"
#define ACCOUNTS_INTERFACE "org.freedesktop.Accounts"
#define ACCOUNTS_USER_INTERFACE "org.freedesktop.Accounts.User"
#define ACCOUNTS_USER_PATH_PREFIX ACCOUNTS_PATH "/User"

/* AccountsService's error names: libaccountsservice maps them to ActUserManagerError. */
#define ACCOUNTS_ERROR_FAILED "org.freedesktop.Accounts.Error.Failed"
#define ACCOUNTS_ERROR_USER_EXISTS "org.freedesktop.Accounts.Error.UserExists"
#define ACCOUNTS_ERROR_USER_DOES_NOT_EXIST "org.freedesktop.Accounts.Error.UserDoesNotExist"
#define ACCOUNTS_ERROR_PERMISSION_DENIED "org.freedesktop.Accounts.Error.PermissionDenied"
#define ACCOUNTS_ERROR_NOT_SUPPORTED "org.freedesktop.Accounts.Error.NotSupported"

/* The API level this implements, for clients that look. */
#define ACCOUNTS_API_VERSION "22.08.8"

enum { ACCOUNT_TYPE_STANDARD = 0, ACCOUNT_TYPE_ADMINISTRATOR = 1 };
enum { PASSWORD_MODE_REGULAR = 0, PASSWORD_MODE_SET_AT_LOGIN = 1, PASSWORD_MODE_NONE = 2 };

typedef enum UserSource {
        SOURCE_HEARTH, /* a home hearthd manages */
        SOURCE_PASSWD, /* a person in /etc/passwd */
        SOURCE_OTHER,  /* found through NSS on request (FindUser*, CacheUser) */
} UserSource;

typedef struct AccUser {
        struct Accounts *a;
        UserSource source;
        uid_t uid;
        gid_t gid;
        char *name;
        char *real_name;
        char *home;
        char *shell;
        char *email;
        char *language;
        char *password_hint;
        int account_type;
        int password_mode;
        bool locked;
        bool system_account;
        bool local_account;
        bool cached;   /* listed by ListCachedUsers */
        bool saved;    /* has a state file */
        bool auto_login_record; /* Hearth: the record's autoLogin */
        bool auto_login;        /* GDM logs this user in */
        UserStorage storage;
        /* shadow's policy, days (-1: none), for GetPasswordExpirationPolicy */
        int64_t expire, last_change, min_days, max_days, warn_days, inactive_days;
        bool policy_known;
        Extras extras;
        char path[64];
        /* Every property value as one string: what reloads compare to emit Changed. */
        char *fingerprint;
        bool adopted; /* kept from the last reload while hearthd did not answer */
} AccUser;

typedef struct Op Op;

typedef struct Accounts {
        sd_event *event;
        sd_bus *bus;
        AccountsConfig config;

        char *state_dir;   /* users/ and icons/ below it */
        char *passwd_path, *group_path, *shadow_path, *shells_path;
        char *shadow_tools; /* NULL: the standard paths */

        AccUser **users;
        size_t n_users;
        /* Names asked for by FindUserBy*, kept across reloads as AccountsService does. */
        char **requested;
        char *autologin_user; /* from GDM's file, NULL if off */
        bool has_no_users, has_multiple_users;
        bool home1_failed;    /* last listing from hearthd failed: its users were kept */

        sd_event_source *reload_timer;

        /* Changing calls run one at a time, in order. */
        Op *queue_head, *queue_tail;
        unsigned n_queued;
        Op *running;

        /* polkit queries in flight, and their callers */
        unsigned n_polkit;
        struct PolkitQuery *polkit_queries;

        /* The Manager's properties as last announced (-1: never). */
        int emitted_no_users, emitted_multiple_users;
        char *emitted_autologin;
} Accounts;

/* accounts-users.c */
int accounts_reload(Accounts *a);
/* The full record hearthd keeps for name (we are root: with its privileged section). */
int accounts_fetch_record(Accounts *a, const char *name, UserRecord **ret);
void accounts_schedule_reload(Accounts *a);
AccUser *accounts_find_uid(Accounts *a, uid_t uid);
AccUser *accounts_find_name(Accounts *a, const char *name);
AccUser *accounts_find_path(Accounts *a, const char *path);
/* Adds name to the requested users and reloads; the user or NULL. */
AccUser *accounts_request_name(Accounts *a, const char *name);
const char *accounts_admin_group(Accounts *a);
void acc_user_free(AccUser *u);
int accounts_extras_path(Accounts *a, const char *name, char **ret);
int accounts_icon_path(Accounts *a, const char *name, char **ret);
int accounts_save_extras(Accounts *a, AccUser *u);
void accounts_remove_extras(Accounts *a, const char *name);
void accounts_free_users(Accounts *a);

/* accounts-ops.c: a changing call, checked, queued and run. */
typedef enum OpKind {
        OP_SET_REAL_NAME,
        OP_SET_EMAIL,
        OP_SET_LANGUAGE,
        OP_SET_XSESSION,
        OP_SET_SESSION,
        OP_SET_SESSION_TYPE,
        OP_SET_LOCATION,
        OP_SET_SHELL,
        OP_SET_ICON,
        OP_SET_LOCKED,
        OP_SET_ACCOUNT_TYPE,
        OP_SET_PASSWORD_MODE,
        OP_SET_PASSWORD,
        OP_SET_PASSWORD_HINT,
        OP_SET_AUTOMATIC_LOGIN,
        OP_SET_PASSWORD_POLICY,
        OP_SET_USER_EXPIRATION,
        OP_GET_PASSWORD_POLICY,
        OP_DELETE,
        OP_CREATE,
        OP_CACHE,
        OP_UNCACHE,
        /* internal, no caller: autoLogin off in the record of the user GDM no longer logs in */
        OP_CLEAR_AUTOLOGIN_RECORD,
} OpKind;

struct Op {
        Accounts *a;
        OpKind kind;
        sd_bus_message *msg;
        uid_t uid;      /* the user acted on, UID_INVALID for create/cache/uncache */
        char *name;     /* create/cache/uncache: the user name */
        char *s1, *s2;  /* string arguments; s1 of SetPassword is wiped */
        void *data;     /* SetIconFile: the image read as the caller */
        size_t data_len;
        int64_t n[4];
        bool b;
        bool as_owner;  /* granted as the user acting on herself: only her self-modifiable fields */
        sd_bus_slot *slot;
        uid_t caller_uid; /* who called, for reading an icon file as her */
        gid_t caller_gid;
        Op *next;
};

#define OPS_QUEUED_MAX 64

Op *op_new(Accounts *a, OpKind kind, sd_bus_message *msg, uid_t uid);
Op *op_free(Op *op);
static inline void op_freep(Op **op) {
        if (*op)
                op_free(*op);
}
#define _cleanup_op_ __attribute__((cleanup(op_freep)))
/* Queues a granted op; runs it when its turn comes. */
void op_enqueue(Op *op);
/* op_enqueue as what runs once accounts_authorize() grants op. */
void op_granted(Op *op, void *userdata);
/* Replies with an error and frees the op. */
void op_fail(Op *op, const char *name, const char *fmt, ...) _printf_(3, 4);
void ops_free_all(Accounts *a);

/* accounts-polkit.c: root passes; the owner of the data asks polkit for
 * own_action (allowed without polkit); everyone else asks for
 * admin_action (denied without polkit). Once granted, granted(op,
 * userdata) runs (at once, or when polkit answers); refused, op fails.
 * Takes op. */
typedef void (*AccountsGrantedFn)(Op *op, void *userdata);
void accounts_authorize(Op *op, uid_t owner, const char *own_action, const char *admin_action,
                        AccountsGrantedFn granted, void *userdata);

/* bus-accounts.c, bus-accounts-user.c */
int bus_accounts_register(Accounts *a);
int bus_accounts_user_register(Accounts *a);
void bus_accounts_emit_user_added(Accounts *a, const char *path);
void bus_accounts_emit_user_deleted(Accounts *a, const char *path);
void bus_accounts_emit_manager_changed(Accounts *a);
void bus_accounts_emit_user_changed(Accounts *a, const char *path);

/* accounts-shadow.c: shadow-utils for /etc/passwd users, when configured. */
int shadow_run(Accounts *a, const char *tool, const char *const *args, char **ret_error);
