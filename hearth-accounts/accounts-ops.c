/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Changing calls, once authorized: one at a time, in order, so that two
 * changes to one record never start from the same version. A Hearth user
 * is changed through hearthd (UpdateHome with a newer lastChangeUSec,
 * CreateHome, RemoveHome); what her record has no field for, and what
 * clients keep for /etc/passwd users, goes to a state file of ours;
 * /etc/passwd itself only through shadow-utils, and only when configured. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "accounts.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "secret.h"
#include "self-modify.h"

#define HOME1_CALL_TIMEOUT (UINT64_C(600) * USEC_PER_SEC)
#define DAY_USEC (UINT64_C(86400) * USEC_PER_SEC)
#define POLICY_DAYS_MAX 36500

static void run_next(Accounts *a);

Op *op_new(Accounts *a, OpKind kind, sd_bus_message *msg, uid_t uid) {
        Op *op = calloc(1, sizeof *op);
        if (!op)
                return NULL;
        op->a = a;
        op->kind = kind;
        op->msg = msg ? sd_bus_message_ref(msg) : NULL;
        op->uid = uid;
        op->caller_uid = op->caller_gid = UID_INVALID;
        return op;
}

Op *op_free(Op *op) {
        if (!op)
                return NULL;
        sd_bus_slot_unref(op->slot);
        sd_bus_message_unref(op->msg);
        free(op->name);
        erase_and_free(op->s1);
        free(op->s2);
        free(op->data);
        free(op);
        return NULL;
}

/* The op's call is answered (or has no caller): the next one may run. */
static void op_finish(Op *op) {
        Accounts *a = op->a;
        bool was_running = a->running == op;
        op_free(op);
        if (was_running) {
                a->running = NULL;
                run_next(a);
        }
}

void op_fail(Op *op, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (op->msg)
                (void) sd_bus_reply_method_error(op->msg, &SD_BUS_ERROR_MAKE_CONST(name, text ?: "failed"));
        else
                log_warning("%s", text ?: "failed");
        op_finish(op);
}

static void op_reply(Op *op) {
        if (op->msg)
                (void) sd_bus_reply_method_return(op->msg, NULL);
        op_finish(op);
}

void op_enqueue(Op *op) {
        Accounts *a = op->a;
        if (a->n_queued >= OPS_QUEUED_MAX)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "Too many changes are waiting; try again later");
        if (a->queue_tail)
                a->queue_tail->next = op;
        else
                a->queue_head = op;
        a->queue_tail = op;
        a->n_queued++;
        if (!a->running)
                run_next(a);
}

void op_granted(Op *op, void *userdata) {
        op_enqueue(op);
}

void ops_free_all(Accounts *a) {
        while (a->queue_head) {
                Op *op = a->queue_head;
                a->queue_head = op->next;
                op_free(op);
        }
        a->queue_tail = NULL;
        a->n_queued = 0;
        a->running = op_free(a->running);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* ---- hearthd's answers ------------------------------------------------------------ */

/* hearthd's errors in AccountsService's terms, with hearthd's words. */
static void fail_from_home1(Op *op, const sd_bus_error *e) {
        const char *name = ACCOUNTS_ERROR_FAILED;
        if (sd_bus_error_has_name(e, BUS_ERROR_NO_SUCH_HOME))
                name = ACCOUNTS_ERROR_USER_DOES_NOT_EXIST;
        else if (sd_bus_error_has_names(e, BUS_ERROR_USER_NAME_EXISTS, BUS_ERROR_UID_IN_USE, BUS_ERROR_HOME_EXISTS))
                name = ACCOUNTS_ERROR_USER_EXISTS;
        else if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                name = ACCOUNTS_ERROR_PERMISSION_DENIED;
        else if (sd_bus_error_has_name(e, SD_BUS_ERROR_NOT_SUPPORTED))
                name = ACCOUNTS_ERROR_NOT_SUPPORTED;
        op_fail(op, name, "hearthd: %s", e->message ?: e->name);
}

/* After a change: the new state is read back (and signalled) before the
 * caller hears that it is done, as AccountsService emits Changed first. */
static int on_home1_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Op *op = userdata;
        Accounts *a = op->a;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        op->slot = sd_bus_slot_unref(op->slot);
        if (e)
                return fail_from_home1(op, e), 0;
        (void) accounts_reload(a);

        if (op->kind == OP_CREATE) {
                AccUser *u = accounts_find_name(a, op->name);
                if (!u)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "user %s was created, but hearthd does not list it",
                                       op->name), 0;
                /* AccountsService saves a new user's file at once ("Saved"). */
                (void) accounts_save_extras(a, u);
                (void) sd_bus_reply_method_return(op->msg, "o", u->path);
                op_finish(op);
                return 0;
        }
        if (op->kind == OP_DELETE && op->name)
                accounts_remove_extras(a, op->name);
        if (op->kind == OP_SET_AUTOMATIC_LOGIN && op->s2 && strcmp(op->s2, op->name ?: "") != 0) {
                /* The user GDM logged in before keeps no autoLogin in her record. */
                AccUser *prev = accounts_find_name(a, op->s2);
                Op *clear = prev && prev->source == SOURCE_HEARTH && prev->auto_login_record
                                    ? op_new(a, OP_CLEAR_AUTOLOGIN_RECORD, NULL, prev->uid)
                                    : NULL;
                if (clear)
                        op_enqueue(clear);
        }
        op_reply(op);
        return 0;
}

static int call_home1(Op *op, const char *method, const char *types, ...) {
        _cleanup_bus_message_ sd_bus_message *call = NULL;
        va_list ap;
        int r = sd_bus_message_new_method_call(op->a->bus, &call, HOME1_BUS_NAME, HOME1_MANAGER_PATH,
                                               HOME1_MANAGER_INTERFACE, method);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(call, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call_async(op->a->bus, &op->slot, call, on_home1_reply, op, HOME1_CALL_TIMEOUT);
        if (r < 0)
                op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot call hearthd: %s", strerror(-r));
        return r;
}

/* ---- Hearth records ----------------------------------------------------------------- */

/* Sets a field where it takes effect on this machine; NULL removes it from
 * the regular section. */
static int rec_set(UserRecord *rec, const char *key, json_object *v) {
        if (!v) {
                json_object_object_del(rec->json, key);
                return user_record_refresh(rec, NULL);
        }
        return user_record_set_effective(rec, key, v);
}

static int rec_set_string(UserRecord *rec, const char *key, const char *s) {
        return rec_set(rec, key, s && s[0] ? json_object_new_string(s) : NULL);
}

static int rec_set_bool(UserRecord *rec, const char *key, bool b) {
        return rec_set(rec, key, json_object_new_boolean(b));
}

static int rec_set_days(UserRecord *rec, const char *key, int64_t d) {
        return rec_set(rec, key, d < 0 ? NULL : json_object_new_uint64((uint64_t) d * DAY_USEC));
}

/* privileged.<key>: v, or removed for NULL. */
static int rec_set_privileged(UserRecord *rec, const char *key, json_object *v) {
        json_object *p;
        if (!json_object_object_get_ex(rec->json, "privileged", &p)) {
                if (!v)
                        return 0;
                p = json_object_new_object();
                if (!p || json_object_object_add(rec->json, "privileged", p) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        if (!json_object_is_type(p, json_type_object)) {
                json_object_put(v);
                return -EINVAL;
        }
        if (v) {
                if (json_object_object_add(p, key, v) < 0)
                        return -ENOMEM;
        } else
                json_object_object_del(p, key);
        return user_record_refresh(rec, NULL);
}

static int rec_set_member_of(UserRecord *rec, const char *group, bool member) {
        json_object *l = json_object_new_array();
        if (!l)
                return -ENOMEM;
        for (const char **g = rec->member_of; g && *g; g++)
                if (strcmp(*g, group) != 0)
                        json_object_array_add(l, json_object_new_string(*g));
        if (member)
                json_object_array_add(l, json_object_new_string(group));
        if (json_object_array_length(l) == 0) {
                json_object_put(l);
                l = NULL;
        }
        return rec_set(rec, "memberOf", l);
}

static bool encrypted(const AccUser *u) {
        return u->storage != USER_STORAGE_DIRECTORY && u->storage != USER_STORAGE_SUBVOLUME;
}

/* Applies the op to the record. 0, or -EOPNOTSUPP/-EINVAL with *why set. */
static int edit_record(Op *op, AccUser *u, UserRecord *rec, const char **why) {
        int r;
        switch (op->kind) {
        case OP_SET_REAL_NAME:
                return rec_set_string(rec, "realName", op->s1);
        case OP_SET_EMAIL:
                return rec_set_string(rec, "emailAddress", op->s1);
        case OP_SET_LANGUAGE:
                return rec_set_string(rec, "preferredLanguage", op->s1);
        case OP_SET_SHELL:
                return rec_set_string(rec, "shell", op->s1);
        case OP_SET_LOCKED:
                return rec_set_bool(rec, "locked", op->b);
        case OP_SET_AUTOMATIC_LOGIN:
        case OP_CLEAR_AUTOLOGIN_RECORD:
                return rec_set_bool(rec, "autoLogin", op->kind == OP_SET_AUTOMATIC_LOGIN && op->b);
        case OP_SET_ACCOUNT_TYPE:
                return rec_set_member_of(rec, accounts_admin_group(op->a), op->n[0] == ACCOUNT_TYPE_ADMINISTRATOR);
        case OP_SET_PASSWORD_HINT:
                return rec_set_privileged(rec, "passwordHint", op->s1[0] ? json_object_new_string(op->s1) : NULL);
        case OP_SET_PASSWORD:
                if (encrypted(u)) {
                        *why = "its home is encrypted, and a crypted password cannot re-key it: change the "
                               "password with passwd (PAM) or homectl passwd";
                        return -EOPNOTSUPP;
                }
                json_object *hashes = json_object_new_array();
                if (!hashes || json_object_array_add(hashes, json_object_new_string(op->s1)) < 0) {
                        json_object_put(hashes);
                        return -ENOMEM;
                }
                if ((r = rec_set_privileged(rec, "hashedPassword", hashes)) < 0 ||
                    (r = rec_set_privileged(rec, "passwordHint", op->s2[0] ? json_object_new_string(op->s2) : NULL)) < 0 ||
                    (r = rec_set(rec, "lastPasswordChangeUSec", json_object_new_uint64(now_usec()))) < 0 ||
                    (r = rec_set(rec, "passwordChangeNow", NULL)) < 0)
                        return r;
                /* Setting a password unlocks the account, as usermod -p does for AccountsService. */
                return rec_set(rec, "locked", NULL);
        case OP_SET_PASSWORD_MODE:
                if (op->n[0] == PASSWORD_MODE_REGULAR) {
                        if ((r = rec_set(rec, "passwordChangeNow", NULL)) < 0)
                                return r;
                        return rec_set(rec, "locked", NULL);
                }
                if (op->n[0] == PASSWORD_MODE_SET_AT_LOGIN && encrypted(u))
                        /* Her password opens the volume: keep it, she changes it at login. */
                        return rec_set_bool(rec, "passwordChangeNow", true);
                if (encrypted(u)) {
                        *why = "its home is encrypted and cannot be without a password";
                        return -EOPNOTSUPP;
                }
                /* No password (for set-at-login: until she picks one), as passwd -d. */
                if ((r = rec_set_privileged(rec, "hashedPassword", NULL)) < 0 ||
                    (r = rec_set_privileged(rec, "passwordHint", NULL)) < 0 || (r = rec_set(rec, "locked", NULL)) < 0)
                        return r;
                return op->n[0] == PASSWORD_MODE_SET_AT_LOGIN ? rec_set_bool(rec, "passwordChangeNow", true)
                                                              : rec_set(rec, "passwordChangeNow", NULL);
        case OP_SET_PASSWORD_POLICY:
                if ((r = rec_set_days(rec, "passwordChangeMinUSec", op->n[0])) < 0 ||
                    (r = rec_set_days(rec, "passwordChangeMaxUSec", op->n[1])) < 0 ||
                    (r = rec_set_days(rec, "passwordChangeWarnUSec", op->n[2])) < 0)
                        return r;
                return rec_set_days(rec, "passwordChangeInactiveUSec", op->n[3]);
        case OP_SET_USER_EXPIRATION:
                return rec_set_days(rec, "notAfterUSec", op->n[0]);
        default:
                *why = "this change does not apply to a user record";
                return -EOPNOTSUPP;
        }
}

static void run_record_update(Op *op, AccUser *u) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        const char *why = NULL;
        int r;

        /* hearthd's current version: the update must be newer than it. */
        r = accounts_fetch_record(op->a, u->name, &rec);
        if (r < 0)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot read the record of %s from hearthd: %s", u->name,
                               strerror(-r));
        uint64_t last = rec->last_change_usec, now = now_usec();
        /* hearthd takes anything from us (root): her own change is held to
         * her record's self-service rule here, as hearthd would hold it. */
        _cleanup_user_record_ UserRecord *before = NULL;
        if (op->as_owner) {
                _cleanup_json_ json_object *copy = NULL;
                if (json_object_deep_copy(rec->json, &copy, NULL) < 0 ||
                    user_record_from_json(TAKE_PTR(copy), &before, NULL) < 0)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
        }
        r = edit_record(op, u, rec, &why);
        if (r >= 0 && before) {
                _cleanup_free_ char *field = NULL;
                r = self_modify_allowed(before, rec, &field);
                if (r == 0) {
                        log_info("accounts user %s: refused her change of %s, not among her self-modifiable fields",
                                 u->name, field);
                        return op_fail(op, ACCOUNTS_ERROR_PERMISSION_DENIED,
                                       "Not authorized: %s is not among the fields user %s may change", field,
                                       u->name);
                }
        }
        if (r >= 0)
                r = rec_set(rec, "lastChangeUSec",
                            json_object_new_uint64(last != UINT64_MAX && now <= last ? last + 1 : now));
        if (r >= 0)
                r = user_record_strip(rec, USER_RECORD_BINDING | USER_RECORD_STATUS | USER_RECORD_SIGNATURE |
                                                   USER_RECORD_SECRET);
        if (r == -EOPNOTSUPP)
                return op_fail(op, ACCOUNTS_ERROR_NOT_SUPPORTED, "User %s: %s", u->name, why);
        if (r == -EINVAL)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "User %s: the change makes the record invalid", u->name);
        if (r < 0)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "User %s: %s", u->name, strerror(-r));
        const char *json = user_record_to_string(rec, USER_RECORD_FORMAT_SHORT);
        if (!json)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
        log_info("accounts user %s: updating the record through hearthd", u->name);
        (void) call_home1(op, "UpdateHome", "s", json);
}

/* ---- our state files and icons -------------------------------------------------------- */

static ExtraKey extra_for(OpKind k) {
        switch (k) {
        case OP_SET_EMAIL:
                return EXTRA_EMAIL;
        case OP_SET_LANGUAGE:
                return EXTRA_LANGUAGE;
        case OP_SET_XSESSION:
                return EXTRA_XSESSION;
        case OP_SET_SESSION:
                return EXTRA_SESSION;
        case OP_SET_SESSION_TYPE:
                return EXTRA_SESSION_TYPE;
        case OP_SET_LOCATION:
                return EXTRA_LOCATION;
        case OP_SET_PASSWORD_HINT:
                return EXTRA_PASSWORD_HINT;
        case OP_SET_ICON:
                return EXTRA_ICON;
        default:
                return _EXTRA_MAX;
        }
}

/* Reads path as the caller would (her uid and gid, no groups), so that
 * nobody can have root read a file for her: a child that drops privileges
 * opens it and sends at most max + 1 bytes through a pipe. */
static int read_as_caller(const char *path, uid_t uid, gid_t gid, size_t max, char **ret, size_t *ret_len) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                _cleanup_free_ char *buf = NULL;
                size_t len = 0;
                close(p[0]);
                alarm(10); /* a file on a hung mount must not hang us */
                if (uid != 0 && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0))
                        _exit(2);
                int r = read_file_bounded(path, max, &buf, &len);
                if (r == -EFBIG)
                        _exit(3);
                if (r < 0)
                        _exit(4);
                for (size_t off = 0; off < len;) {
                        ssize_t k = write(p[1], buf + off, len - off);
                        if (k <= 0)
                                _exit(5);
                        off += (size_t) k;
                }
                _exit(0);
        }
        close(p[1]);
        char *buf = malloc(max + 1);
        size_t n = 0;
        while (buf && n <= max) {
                ssize_t k = read(p[0], buf + n, max + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(p[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (!buf)
                return -ENOMEM;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n > max) {
                free(buf);
                return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? -EFBIG
                       : WIFEXITED(status) && WEXITSTATUS(status) == 4 ? -EACCES
                                                                       : -EIO;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

static void run_extras(Op *op, AccUser *u) {
        Accounts *a = op->a;
        ExtraKey k = extra_for(op->kind);
        _cleanup_free_ char *icon = NULL;
        int r;

        if (op->kind == OP_SET_ICON && op->s1[0]) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                r = read_as_caller(op->s1, op->caller_uid, op->caller_gid, ACCOUNTS_ICON_MAX, &data, &len);
                if (r == -EFBIG)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "file '%s' is too large to be used as an icon",
                                       op->s1);
                if (r < 0)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "file '%s' cannot be read as a regular file by the caller",
                                       op->s1);
                if (!accounts_image_type(data, len))
                        return op_fail(op, ACCOUNTS_ERROR_FAILED,
                                       "file '%s' is not an image (PNG, JPEG, GIF, WebP or BMP)", op->s1);
                if ((r = accounts_icon_path(a, u->name, &icon)) < 0 ||
                    (r = write_file_atomic(icon, data, len, 0644, 0)) < 0)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot save the icon of %s: %s", u->name,
                                       strerror(-r));
        } else if (op->kind == OP_SET_ICON) {
                _cleanup_free_ char *old = NULL;
                if (accounts_icon_path(a, u->name, &old) >= 0 && unlink(old) < 0 && errno != ENOENT)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "failed to remove user icon, %s", strerror(errno));
        }
        r = extras_set(&u->extras, k, op->kind == OP_SET_ICON ? icon : op->s1);
        if (r >= 0)
                r = accounts_save_extras(a, u);
        if (r < 0)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot save the data of %s: %s", u->name, strerror(-r));
        (void) accounts_reload(a);
        /* A new picture at the same path: clients must still reload it. */
        if (op->kind == OP_SET_ICON && (u = accounts_find_uid(a, op->uid)))
                bus_accounts_emit_user_changed(a, u->path);
        op_reply(op);
}

/* ---- GDM's automatic login -------------------------------------------------------------- */

static int write_gdm_autologin(Accounts *a, const char *user, bool enabled) {
        _cleanup_free_ char *text = NULL, *out = NULL;
        const char *path = a->config.gdm_config;
        int r = read_file_bounded(path, 256 * 1024, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        r = gdm_conf_set_autologin(text, user, enabled, &out);
        if (r < 0)
                return r;
        return write_file_atomic(path, out, strlen(out), 0644, 0);
}

/* ---- running one op ----------------------------------------------------------------------- */

static bool is_extra_only(OpKind k, UserSource s) {
        switch (k) {
        case OP_SET_XSESSION:
        case OP_SET_SESSION:
        case OP_SET_SESSION_TYPE:
        case OP_SET_LOCATION:
        case OP_SET_ICON:
                return true;
        case OP_SET_EMAIL:
        case OP_SET_LANGUAGE:
        case OP_SET_PASSWORD_HINT:
                return s != SOURCE_HEARTH;
        default:
                return false;
        }
}

static void run_get_policy(Op *op, AccUser *u) {
        if (!u->policy_known)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "account expiration policy unknown to accounts service");
        (void) sd_bus_reply_method_return(op->msg, "xxxxxx", u->expire, u->last_change, u->min_days, u->max_days,
                                          u->warn_days, u->inactive_days);
        op_finish(op);
}

static void run_automatic_login(Op *op, AccUser *u) {
        Accounts *a = op->a;
        if (u->locked)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "failed to change automatic login: user is locked");
        bool is_current = a->autologin_user && strcmp(a->autologin_user, u->name) == 0;
        if (is_current == op->b && (u->source != SOURCE_HEARTH || u->auto_login_record == op->b))
                return op_reply(op);
        /* Whom GDM logged in before, to clear her record afterwards. */
        if (op->b && a->autologin_user && !(op->s2 = strdup(a->autologin_user)))
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
        if (is_current != op->b) {
                int r = write_gdm_autologin(a, u->name, op->b);
                if (r < 0)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "failed to change automatic login: %s: %s",
                                       a->config.gdm_config, strerror(-r));
        }
        if (!(op->name = strdup(u->name)))
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
        if (u->source == SOURCE_HEARTH)
                return run_record_update(op, u);
        (void) accounts_reload(a);
        op_reply(op);
}

#define SHADOW_REFUSAL                                                                                          \
        "User %s is a local account (/etc/passwd); hearth-accounts changes it only with ManageShadowUsers=yes in " \
        "[Accounts] of hearth.conf"

static void run_shadow(Op *op, AccUser *u) {
        Accounts *a = op->a;
        _cleanup_free_ char *why = NULL;
        char n[4][24];
        const char *admin = accounts_admin_group(a);
        int r = 0;

        if (!u->local_account)
                return op_fail(op, ACCOUNTS_ERROR_NOT_SUPPORTED, "User %s is not in %s: it cannot be changed here",
                               u->name, a->passwd_path);
        for (size_t i = 0; i < 4; i++)
                snprintf(n[i], sizeof n[i], "%" PRIi64, op->n[i]);
        switch (op->kind) {
        case OP_SET_REAL_NAME:
                r = shadow_run(a, "usermod", (const char *[]) { "-c", op->s1, "--", u->name, NULL }, &why);
                break;
        case OP_SET_SHELL:
                r = shadow_run(a, "usermod", (const char *[]) { "-s", op->s1, "--", u->name, NULL }, &why);
                break;
        case OP_SET_LOCKED:
                r = shadow_run(a, "usermod", (const char *[]) { op->b ? "-L" : "-U", "--", u->name, NULL }, &why);
                break;
        case OP_SET_ACCOUNT_TYPE:
                r = op->n[0] == ACCOUNT_TYPE_ADMINISTRATOR
                            ? shadow_run(a, "usermod", (const char *[]) { "-a", "-G", admin, "--", u->name, NULL }, &why)
                            : shadow_run(a, "gpasswd", (const char *[]) { "-d", u->name, admin, NULL }, &why);
                break;
        case OP_SET_PASSWORD:
                r = shadow_run(a, "usermod", (const char *[]) { "-p", op->s1, "--", u->name, NULL }, &why);
                if (r >= 0)
                        r = extras_set(&u->extras, EXTRA_PASSWORD_HINT, op->s2);
                break;
        case OP_SET_PASSWORD_MODE:
                if (op->n[0] == PASSWORD_MODE_REGULAR) {
                        if (u->locked)
                                r = shadow_run(a, "usermod", (const char *[]) { "-U", "--", u->name, NULL }, &why);
                        break;
                }
                r = shadow_run(a, "passwd", (const char *[]) { "-d", "--", u->name, NULL }, &why);
                if (r >= 0 && op->n[0] == PASSWORD_MODE_SET_AT_LOGIN)
                        r = shadow_run(a, "chage", (const char *[]) { "-d", "0", "--", u->name, NULL }, &why);
                if (r >= 0)
                        r = extras_set(&u->extras, EXTRA_PASSWORD_HINT, NULL);
                break;
        case OP_SET_PASSWORD_POLICY:
                r = shadow_run(a, "chage", (const char *[]) { "-m", n[0], "-M", n[1], "-W", n[2], "-I", n[3], "--",
                                                              u->name, NULL }, &why);
                break;
        case OP_SET_USER_EXPIRATION:
                r = shadow_run(a, "chage", (const char *[]) { "-E", n[0], "--", u->name, NULL }, &why);
                break;
        case OP_DELETE:
                r = op->b ? shadow_run(a, "userdel", (const char *[]) { "-f", "-r", "--", u->name, NULL }, &why)
                          : shadow_run(a, "userdel", (const char *[]) { "-f", "--", u->name, NULL }, &why);
                if (r >= 0)
                        accounts_remove_extras(a, u->name);
                break;
        default:
                return op_fail(op, ACCOUNTS_ERROR_NOT_SUPPORTED, "not supported for user %s", u->name);
        }
        if (r >= 0 && (op->kind == OP_SET_PASSWORD || op->kind == OP_SET_PASSWORD_MODE))
                r = accounts_save_extras(a, u);
        (void) accounts_reload(a);
        if (r < 0)
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "%s", why ?: strerror(-r));
        op_reply(op);
}

static bool group_exists(Accounts *a, const char *name) {
        _cleanup_fclose_ FILE *f = fopen(a->group_path, "re");
        struct group *g;
        while (f && (g = fgetgrent(f)))
                if (strcmp(g->gr_name, name) == 0)
                        return true;
        return false;
}

static void run_create(Op *op) {
        Accounts *a = op->a;
        _cleanup_json_ json_object *j = json_object_new_object();
        const char *storage = accounts_storage_for_create(a->config.default_storage);
        uint64_t now = now_usec();

        if (accounts_find_name(a, op->name) || getpwnam(op->name))
                return op_fail(op, ACCOUNTS_ERROR_USER_EXISTS, "A user with name '%s' already exists", op->name);
        if (storage && strcmp(storage, "luks") == 0)
                /* CreateUser carries no password, and a LUKS volume needs one. */
                return op_fail(op, ACCOUNTS_ERROR_NOT_SUPPORTED,
                               "DefaultStorage=luks: an encrypted home needs a password when it is created, which "
                               "CreateUser does not carry; create it with homectl create --storage=luks");
        if (op->n[0] == ACCOUNT_TYPE_ADMINISTRATOR) {
                const char *admin = accounts_admin_group(a);
                if (!group_exists(a, admin))
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "failed to set account type: %s group not found",
                                       admin);
                json_object *l = json_object_new_array();
                if (!l || json_object_array_add(l, json_object_new_string(admin)) < 0 ||
                    json_object_object_add(j, "memberOf", l) < 0)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
        }
        if (!j || json_object_object_add(j, "userName", json_object_new_string(op->name)) < 0 ||
            json_object_object_add(j, "disposition", json_object_new_string("regular")) < 0 ||
            json_object_object_add(j, "lastChangeUSec", json_object_new_uint64(now)) < 0 ||
            (op->s1[0] && json_object_object_add(j, "realName", json_object_new_string(op->s1)) < 0) ||
            (storage && json_object_object_add(j, "storage", json_object_new_string(storage)) < 0))
                return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
        log_info("accounts user %s: creating a %s home through hearthd", op->name, storage ?: "default");
        (void) call_home1(op, "CreateHome", "s", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
}

static void run_cache(Op *op) {
        Accounts *a = op->a;
        AccUser *u = accounts_find_name(a, op->name);
        if (!u && getpwnam(op->name)) {
                /* Cached means: has a state file, which lists it from now on. */
                AccUser tmp = { .name = op->name };
                if (accounts_save_extras(a, &tmp) < 0)
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "cannot save the data of %s", op->name);
                (void) accounts_reload(a);
                u = accounts_find_name(a, op->name);
        }
        if (!u)
                return op_fail(op, ACCOUNTS_ERROR_USER_DOES_NOT_EXIST, "No user with the name %s found", op->name);
        if (op->kind == OP_UNCACHE) {
                accounts_remove_extras(a, u->name);
                (void) accounts_reload(a);
                return op_reply(op);
        }
        if (!u->saved)
                (void) accounts_save_extras(a, u);
        (void) accounts_reload(a);
        u = accounts_find_name(a, op->name);
        (void) sd_bus_reply_method_return(op->msg, "o", u ? u->path : ACCOUNTS_PATH);
        op_finish(op);
}

static void run_op(Op *op) {
        Accounts *a = op->a;
        AccUser *u;

        if (op->kind == OP_CREATE)
                return run_create(op);
        if (op->kind == OP_CACHE || op->kind == OP_UNCACHE)
                return run_cache(op);
        /* The user may have gone while the op waited. */
        u = accounts_find_uid(a, op->uid);
        if (!u)
                return op_fail(op, ACCOUNTS_ERROR_USER_DOES_NOT_EXIST, "No user with uid %u found", (unsigned) op->uid);
        if (op->kind == OP_GET_PASSWORD_POLICY)
                return run_get_policy(op, u);
        if (u->source != SOURCE_HEARTH && !a->config.manage_shadow_users)
                return op_fail(op, ACCOUNTS_ERROR_NOT_SUPPORTED, SHADOW_REFUSAL, u->name);
        if (is_extra_only(op->kind, u->source))
                return run_extras(op, u);
        if (op->kind == OP_SET_AUTOMATIC_LOGIN)
                return run_automatic_login(op, u);
        if (u->source != SOURCE_HEARTH)
                return run_shadow(op, u);

        switch (op->kind) {
        case OP_DELETE:
                if (!(op->name = strdup(u->name)))
                        return op_fail(op, ACCOUNTS_ERROR_FAILED, "out of memory");
                if (a->autologin_user && strcmp(a->autologin_user, u->name) == 0)
                        (void) write_gdm_autologin(a, u->name, false);
                log_info("accounts user %s: %s through hearthd", u->name, op->b ? "removing" : "unregistering");
                (void) call_home1(op, op->b ? "RemoveHome" : "UnregisterHome", "s", u->name);
                return;
        case OP_SET_LOCKED:
                /* GDM must not log a locked user in; the record keeps autoLogin
                 * so that unlocking brings it back, as AccountsService does. */
                if (op->b && a->autologin_user && strcmp(a->autologin_user, u->name) == 0)
                        (void) write_gdm_autologin(a, u->name, false);
                else if (!op->b && u->auto_login_record && !a->autologin_user)
                        (void) write_gdm_autologin(a, u->name, true);
                break;
        default:
                break;
        }
        run_record_update(op, u);
}

static void run_next(Accounts *a) {
        while (!a->running && a->queue_head) {
                Op *op = a->queue_head;
                a->queue_head = op->next;
                if (!a->queue_head)
                        a->queue_tail = NULL;
                a->n_queued--;
                op->next = NULL;
                a->running = op;
                run_op(op);
        }
}
