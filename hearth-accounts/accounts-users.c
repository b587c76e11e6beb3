/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The users hearth-accounts shows: Hearth homes as hearthd reports them,
 * people in /etc/passwd, and users clients asked for by name. Every reload
 * builds the list afresh and compares it with the last one, so UserAdded,
 * UserDeleted and Changed go out for what really changed, whoever changed
 * it (us, homectl, usermod). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "accounts.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

#define PASSWD_ENTRIES_MAX 100000
#define LOCAL_USERS_MAX 50 /* AccountsService lists at most this many /etc/passwd users */
#define REQUESTED_MAX 64
#define GDM_CONFIG_MAX (256 * 1024)

void acc_user_free(AccUser *u) {
        if (!u)
                return;
        free(u->name);
        free(u->real_name);
        free(u->home);
        free(u->shell);
        free(u->email);
        free(u->language);
        free(u->password_hint);
        free(u->fingerprint);
        extras_done(&u->extras);
        free(u);
}

static void free_list(AccUser **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                acc_user_free(l[i]);
        free(l);
}

void accounts_free_users(Accounts *a) {
        free_list(a->users, a->n_users);
        a->users = NULL;
        a->n_users = 0;
        strv_free(a->requested);
        a->requested = NULL;
        a->autologin_user = mfree(a->autologin_user);
}

AccUser *accounts_find_uid(Accounts *a, uid_t uid) {
        for (size_t i = 0; i < a->n_users; i++)
                if (a->users[i]->uid == uid)
                        return a->users[i];
        return NULL;
}

AccUser *accounts_find_name(Accounts *a, const char *name) {
        for (size_t i = 0; i < a->n_users; i++)
                if (strcmp(a->users[i]->name, name) == 0)
                        return a->users[i];
        return NULL;
}

AccUser *accounts_find_path(Accounts *a, const char *path) {
        for (size_t i = 0; i < a->n_users; i++)
                if (strcmp(a->users[i]->path, path) == 0)
                        return a->users[i];
        return NULL;
}

int accounts_extras_path(Accounts *a, const char *name, char **ret) {
        return asprintf(ret, "%s/users/%s", a->state_dir, name) < 0 ? -ENOMEM : 0;
}

int accounts_icon_path(Accounts *a, const char *name, char **ret) {
        return asprintf(ret, "%s/icons/%s", a->state_dir, name) < 0 ? -ENOMEM : 0;
}

int accounts_save_extras(Accounts *a, AccUser *u) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r = accounts_extras_path(a, u->name, &path);
        if (r >= 0)
                r = extras_format(&u->extras, &text);
        if (r < 0)
                return r;
        r = write_file_atomic(path, text, strlen(text), 0600, 0);
        if (r < 0)
                return log_error_errno(r, "accounts user %s: cannot write %s: %m", u->name, path);
        u->saved = true;
        return 0;
}

void accounts_remove_extras(Accounts *a, const char *name) {
        _cleanup_free_ char *p = NULL, *i = NULL;
        if (accounts_extras_path(a, name, &p) >= 0 && unlink(p) < 0 && errno != ENOENT)
                log_warning_errno(errno, "accounts user %s: cannot remove %s: %m", name, p);
        if (accounts_icon_path(a, name, &i) >= 0 && unlink(i) < 0 && errno != ENOENT)
                log_warning_errno(errno, "accounts user %s: cannot remove %s: %m", name, i);
}

static void load_extras(Accounts *a, AccUser *u) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        if (accounts_extras_path(a, u->name, &path) < 0)
                return;
        int r = read_file_bounded(path, EXTRAS_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning_errno(r, "accounts user %s: cannot read %s: %m", u->name, path);
                return;
        }
        if (extras_parse(text, &u->extras) >= 0)
                u->saved = true;
}

static int dup_or_empty(char **dst, const char *s) {
        *dst = strdup(s ?: "");
        return *dst ? 0 : -ENOMEM;
}

static AccUser *user_new(Accounts *a, UserSource source, uid_t uid, const char *name) {
        AccUser *u = calloc(1, sizeof *u);
        if (!u || !(u->name = strdup(name))) {
                free(u);
                return NULL;
        }
        u->a = a;
        u->source = source;
        u->uid = uid;
        u->gid = (gid_t) uid;
        u->storage = USER_STORAGE_UNSET;
        u->local_account = true;
        u->cached = true;
        u->expire = u->last_change = u->min_days = u->max_days = u->warn_days = u->inactive_days = -1;
        snprintf(u->path, sizeof u->path, ACCOUNTS_USER_PATH_PREFIX "%u", (unsigned) uid);
        return u;
}

static int add_user(AccUser ***list, size_t *n, AccUser *u) {
        AccUser **l = realloc(*list, (*n + 1) * sizeof *l);
        if (!l) {
                acc_user_free(u);
                return -ENOMEM;
        }
        l[(*n)++] = u;
        *list = l;
        return 0;
}

static bool in_list(AccUser **l, size_t n, uid_t uid, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (l[i]->uid == uid || strcmp(l[i]->name, name) == 0)
                        return true;
        return false;
}

const char *accounts_admin_group(Accounts *a) {
        if (a->config.admin_group[0])
                return a->config.admin_group;
        /* Debian's is sudo, Fedora's and Arch's wheel. */
        _cleanup_fclose_ FILE *f = fopen(a->group_path, "re");
        struct group *g;
        bool wheel = false;
        while (f && (g = fgetgrent(f)))
                if (strcmp(g->gr_name, "sudo") == 0)
                        return "sudo";
                else if (strcmp(g->gr_name, "wheel") == 0)
                        wheel = true;
        return wheel ? "wheel" : "sudo";
}

/* ---- Hearth users, from hearthd ------------------------------------------------- */

static void days(uint64_t usec, int64_t *ret) {
        *ret = usec == UINT64_MAX ? -1 : (int64_t) (usec / (UINT64_C(86400) * USEC_PER_SEC));
}

static const char *json_string_at(json_object *j, const char *section, const char *key) {
        json_object *s, *v;
        if (section && (!json_object_object_get_ex(j, section, &s) || !json_object_is_type(s, json_type_object)))
                return NULL;
        if (!json_object_object_get_ex(section ? s : j, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* A non-empty list privileged.KEY: a security token that opens the home. */
static bool json_has_privileged(json_object *j, const char *key) {
        json_object *s, *v;
        return json_object_object_get_ex(j, "privileged", &s) && json_object_is_type(s, json_type_object) &&
               json_object_object_get_ex(s, key, &v) && json_object_is_type(v, json_type_array) &&
               json_object_array_length(v) > 0;
}

static int fill_from_record(Accounts *a, AccUser *u, const UserRecord *rec) {
        const char *lang = json_string_at(rec->json, NULL, "preferredLanguage");
        const char *hint = json_string_at(rec->json, "privileged", "passwordHint");
        const char *admin = accounts_admin_group(a);
        int r;

        if ((r = dup_or_empty(&u->real_name, rec->real_name)) < 0 ||
            (r = dup_or_empty(&u->email, rec->email_address)) < 0 ||
            (r = dup_or_empty(&u->language, lang && accounts_valid_language(lang) ? lang : NULL)) < 0 ||
            (r = dup_or_empty(&u->password_hint, hint && accounts_valid_text(hint) ? hint : NULL)) < 0)
                return r;
        u->auto_login_record = rec->auto_login > 0;
        u->account_type = ACCOUNT_TYPE_STANDARD;
        for (const char **g = rec->member_of; g && *g; g++)
                if (strcmp(*g, admin) == 0)
                        u->account_type = ACCOUNT_TYPE_ADMINISTRATOR;
        /* No hash and no token: no password she types is accepted, so she
         * cannot log in — what accounts-daemon reports for useradd's "!"
         * (locked, regular), and GNOME Settings shows "Account disabled".
         * A home sealed in the TPM keeps no hash of its PIN
         * (user_record_pin_only()). */
        bool no_secret = !user_record_pin_only(rec) && (!rec->hashed_password || !rec->hashed_password[0]) &&
                         !json_has_privileged(rec->json, "pkcs11EncryptedKey") &&
                         !json_has_privileged(rec->json, "fido2HmacSalt");
        u->password_mode = rec->password_change_now > 0 ? PASSWORD_MODE_SET_AT_LOGIN : PASSWORD_MODE_REGULAR;
        u->locked = rec->locked > 0 || (no_secret && rec->password_change_now <= 0);
        u->storage = rec->storage;
        days(rec->not_after_usec, &u->expire);
        days(rec->last_password_change_usec, &u->last_change);
        days(rec->password_change_min_usec, &u->min_days);
        days(rec->password_change_max_usec, &u->max_days);
        days(rec->password_change_warn_usec, &u->warn_days);
        days(rec->password_change_inactive_usec, &u->inactive_days);
        u->policy_known = true;
        return 0;
}

int accounts_fetch_record(Accounts *a, const char *name, UserRecord **ret) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *why = NULL;
        const char *json;
        int incomplete, r;

        r = sd_bus_call_method(a->bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                               "GetUserRecordByName", &error, &reply, "s", name);
        if (r < 0)
                return log_warning_errno(r, "accounts user %s: hearthd gives no record: %s", name,
                                         error.message ?: strerror(-r));
        r = sd_bus_message_read(reply, "sb", &json, &incomplete);
        if (r < 0)
                return r;
        r = user_record_parse(json, strlen(json), ret, &why);
        if (r < 0)
                return log_warning_errno(r, "accounts user %s: hearthd's record is not valid: %s", name,
                                         why ?: strerror(-r));
        return 0;
}

static int load_hearth(Accounts *a, AccUser ***list, size_t *n) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *name, *state, *real_name, *home, *shell, *path;
        uint32_t uid, gid;
        int r;

        r = sd_bus_call_method(a->bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE, "ListHomes",
                               &error, &reply, NULL);
        if (r < 0) {
                /* Not running (yet) is normal; its users stay as we last saw them. */
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        log_debug("hearthd is not on the bus");
                else
                        log_warning("hearthd: ListHomes failed: %s", error.message ?: strerror(-r));
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(susussso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(susussso)", &name, &uid, &state, &gid, &real_name, &home, &shell,
                                        &path)) > 0) {
                _cleanup_user_record_ UserRecord *rec = NULL;
                if (!valid_user_name(name) || !valid_home_uid(uid) || in_list(*list, *n, uid, name) ||
                    !accounts_valid_path(home) || !accounts_valid_path(shell)) {
                        log_warning("hearthd lists a home that is not valid (\"%.32s\", %u): skipped", name, uid);
                        continue;
                }
                AccUser *u = user_new(a, SOURCE_HEARTH, uid, name);
                if (!u)
                        return -ENOMEM;
                u->gid = gid;
                if (!(u->home = strdup(home)) || !(u->shell = strdup(shell)) ||
                    (accounts_fetch_record(a, name, &rec) >= 0 && fill_from_record(a, u, rec) < 0)) {
                        acc_user_free(u);
                        return -ENOMEM;
                }
                if (!rec && ((r = dup_or_empty(&u->real_name, NULL)) < 0 || (r = dup_or_empty(&u->email, NULL)) < 0 ||
                             (r = dup_or_empty(&u->language, NULL)) < 0 ||
                             (r = dup_or_empty(&u->password_hint, NULL)) < 0)) {
                        acc_user_free(u);
                        return r;
                }
                if ((r = add_user(list, n, u)) < 0)
                        return r;
        }
        return r;
}

/* ---- /etc/passwd, /etc/shadow, /etc/group -------------------------------------- */

typedef struct ShadowInfo {
        bool found, locked, empty;
        int64_t lstchg, min, max, warn, inact, expire;
} ShadowInfo;

static ShadowInfo shadow_lookup(Accounts *a, const char *name) {
        ShadowInfo s = {};
        _cleanup_fclose_ FILE *f = fopen(a->shadow_path, "re");
        struct spwd *sp;
        for (unsigned i = 0; f && i < PASSWD_ENTRIES_MAX && (sp = fgetspent(f)); i++)
                if (strcmp(sp->sp_namp, name) == 0) {
                        s = (ShadowInfo) {
                                .found = true,
                                .locked = sp->sp_pwdp && sp->sp_pwdp[0] == '!',
                                .empty = !sp->sp_pwdp || !sp->sp_pwdp[0],
                                .lstchg = sp->sp_lstchg, .min = sp->sp_min, .max = sp->sp_max,
                                .warn = sp->sp_warn, .inact = sp->sp_inact, .expire = sp->sp_expire,
                        };
                        break;
                }
        return s;
}

static bool in_admin_group(Accounts *a, const char *name, gid_t gid) {
        const char *admin = accounts_admin_group(a);
        _cleanup_fclose_ FILE *f = fopen(a->group_path, "re");
        struct group *g;
        for (unsigned i = 0; f && i < PASSWD_ENTRIES_MAX && (g = fgetgrent(f)); i++) {
                if (strcmp(g->gr_name, admin) != 0)
                        continue;
                if (g->gr_gid == gid)
                        return true;
                for (char **m = g->gr_mem; m && *m; m++)
                        if (strcmp(*m, name) == 0)
                                return true;
        }
        return false;
}

static char **read_shells(Accounts *a) {
        _cleanup_fclose_ FILE *f = fopen(a->shells_path, "re");
        char line[256 + 1];
        char **l = NULL;
        size_t n = 0;
        int r;
        if (!f)
                return NULL;
        while (n < 256 && (r = read_line_bounded(f, line, sizeof line - 1)) != 0) {
                if (r < 0 || line[0] != '/')
                        continue;
                char **nl = realloc(l, (n + 2) * sizeof *nl);
                if (!nl)
                        break;
                l = nl;
                if (!(l[n] = strdup(line)))
                        break;
                l[++n] = NULL;
        }
        return l;
}

/* A user from a passwd entry (the file's, or NSS's). */
static int user_from_pwent(Accounts *a, const struct passwd *pw, UserSource source, char *const *shells,
                           AccUser **ret) {
        AccUser *u = user_new(a, source, pw->pw_uid, pw->pw_name);
        if (!u)
                return -ENOMEM;
        u->gid = pw->pw_gid;
        /* GECOS up to the first comma is the real name, as AccountsService reads it. */
        const char *gecos = pw->pw_gecos ?: "";
        size_t n = strcspn(gecos, ",");
        _cleanup_free_ char *real = strndup(gecos, n);
        if (!real || !(u->home = strdup(pw->pw_dir ?: "")) || !(u->shell = strdup(pw->pw_shell ?: "")) ||
            !(u->real_name = strdup(accounts_valid_text(real) ? real : ""))) {
                acc_user_free(u);
                return -ENOMEM;
        }
        u->system_account = !accounts_is_human(pw->pw_uid, pw->pw_name, pw->pw_shell, shells);
        u->account_type = pw->pw_uid == 0 || in_admin_group(a, pw->pw_name, pw->pw_gid) ? ACCOUNT_TYPE_ADMINISTRATOR
                                                                                       : ACCOUNT_TYPE_STANDARD;
        ShadowInfo s = shadow_lookup(a, pw->pw_name);
        u->locked = s.locked;
        u->password_mode = s.found && s.lstchg == 0 ? PASSWORD_MODE_SET_AT_LOGIN
                           : s.found && s.empty     ? PASSWORD_MODE_NONE
                                                    : PASSWORD_MODE_REGULAR;
        if (s.found) {
                u->policy_known = true;
                u->expire = s.expire;
                u->last_change = s.lstchg;
                u->min_days = s.min;
                u->max_days = s.max;
                u->warn_days = s.warn;
                u->inactive_days = s.inact;
        }
        *ret = u;
        return 0;
}

static bool passwd_file_has(Accounts *a, const char *name) {
        _cleanup_fclose_ FILE *f = fopen(a->passwd_path, "re");
        struct passwd *pw;
        for (unsigned i = 0; f && i < PASSWD_ENTRIES_MAX && (pw = fgetpwent(f)); i++)
                if (strcmp(pw->pw_name, name) == 0)
                        return true;
        return false;
}

static int load_passwd(Accounts *a, char *const *shells, AccUser ***list, size_t *n) {
        _cleanup_fclose_ FILE *f = fopen(a->passwd_path, "re");
        struct passwd *pw;
        unsigned listed = 0;
        int r;

        if (!f)
                return log_warning_errno(errno, "cannot read %s: %m", a->passwd_path);
        for (unsigned i = 0; i < PASSWD_ENTRIES_MAX && listed < LOCAL_USERS_MAX && (pw = fgetpwent(f)); i++) {
                if (!valid_user_name(pw->pw_name) || in_list(*list, *n, pw->pw_uid, pw->pw_name) ||
                    !accounts_is_human(pw->pw_uid, pw->pw_name, pw->pw_shell, shells))
                        continue;
                AccUser *u;
                if ((r = user_from_pwent(a, pw, SOURCE_PASSWD, shells, &u)) < 0 || (r = add_user(list, n, u)) < 0)
                        return r;
                listed++;
        }
        return 0;
}

/* Users clients asked for by name, and those with a state file (cached by
 * CacheUser), looked up through NSS. */
static int load_other(Accounts *a, char *const *shells, AccUser ***list, size_t *n) {
        _cleanup_free_ char *users_dir = NULL;
        char **names = NULL;
        size_t n_names = 0;
        int r = 0;

        if (asprintf(&users_dir, "%s/users", a->state_dir) < 0)
                return -ENOMEM;
        DIR *d = opendir(users_dir);
        for (struct dirent *de; d && n_names < 1024 && (de = readdir(d));) {
                if (!valid_user_name(de->d_name) || is_atomic_temp_name(de->d_name))
                        continue;
                char **nn = realloc(names, (n_names + 1) * sizeof *nn);
                if (!nn) {
                        r = -ENOMEM;
                        break;
                }
                names = nn;
                if (!(names[n_names] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                n_names++;
        }
        if (d)
                closedir(d);

        for (size_t i = 0; r >= 0 && i < n_names + strv_length(a->requested); i++) {
                bool cached = i < n_names;
                const char *name = cached ? names[i] : a->requested[i - n_names];
                if (in_list(*list, *n, UID_INVALID, name))
                        continue;
                errno = 0;
                struct passwd *pw = getpwnam(name);
                if (!pw)
                        continue;
                AccUser *u;
                if ((r = user_from_pwent(a, pw, SOURCE_OTHER, shells, &u)) < 0)
                        break;
                u->cached = cached && !u->system_account;
                u->local_account = passwd_file_has(a, name);
                r = add_user(list, n, u);
        }
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        return r;
}

static int load_autologin(Accounts *a) {
        _cleanup_free_ char *text = NULL, *user = NULL;
        bool enabled = false;
        int r = read_file_bounded(a->config.gdm_config, GDM_CONFIG_MAX, &text, NULL);
        a->autologin_user = mfree(a->autologin_user);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_warning_errno(r, "cannot read GDM's configuration %s: %m", a->config.gdm_config);
        r = gdm_conf_get_autologin(text, &enabled, &user);
        if (r < 0)
                return r;
        if (enabled && user && valid_user_name(user))
                a->autologin_user = TAKE_PTR(user);
        return 0;
}

/* ---- the reload --------------------------------------------------------------------- */

static char *fingerprint(Accounts *a, const AccUser *u) {
        char *s = NULL;
        const Extras *e = &u->extras;
#define X(k) (e->value[k] ?: "")
        if (asprintf(&s, "%u\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%d%d%d%d%d%d\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
                     (unsigned) u->uid, u->name, u->real_name ?: "", u->home ?: "", u->shell ?: "",
                     u->source == SOURCE_HEARTH ? u->email : X(EXTRA_EMAIL),
                     u->source == SOURCE_HEARTH ? u->language : X(EXTRA_LANGUAGE),
                     u->source == SOURCE_HEARTH ? u->password_hint : X(EXTRA_PASSWORD_HINT), u->account_type,
                     u->password_mode, u->locked, u->system_account, u->local_account, u->cached, u->saved,
                     u->auto_login, X(EXTRA_XSESSION),
                     X(EXTRA_SESSION), X(EXTRA_SESSION_TYPE), X(EXTRA_LOCATION), X(EXTRA_ICON),
                     u->source == SOURCE_HEARTH ? user_storage_to_string(u->storage) ?: "" : "") < 0)
                return NULL;
#undef X
        return s;
}

static AccUser *match(AccUser **l, size_t n, const AccUser *u) {
        for (size_t i = 0; i < n; i++)
                if (l[i] && l[i]->uid == u->uid && strcmp(l[i]->name, u->name) == 0)
                        return l[i];
        return NULL;
}

int accounts_reload(Accounts *a) {
        AccUser **list = NULL, **old = a->users;
        size_t n = 0, n_old = a->n_users;
        _cleanup_strv_free_ char **shells = read_shells(a);
        bool hearth_ok;
        int r;

        r = load_hearth(a, &list, &n);
        hearth_ok = r >= 0;
        if (r == -ENOMEM)
                goto fail;
        if (!hearth_ok)
                /* Keep what hearthd last said: a restart of hearthd must not
                 * look to GDM like every user was deleted. */
                for (size_t i = 0; i < n_old; i++)
                        if (old[i]->source == SOURCE_HEARTH) {
                                old[i]->adopted = true;
                                if ((r = add_user(&list, &n, old[i])) < 0) {
                                        old[i] = NULL;
                                        goto fail;
                                }
                                old[i] = NULL;
                        }
        a->home1_failed = !hearth_ok;
        r = load_passwd(a, shells, &list, &n);
        if (r == -ENOMEM)
                goto fail;
        if (r < 0)
                /* An unreadable /etc/passwd (EMFILE, EACCES) is not every
                 * local user gone: keep them, and their icons and files. */
                for (size_t i = 0; i < n_old; i++)
                        if (old[i] && old[i]->source == SOURCE_PASSWD) {
                                old[i]->adopted = true;
                                if ((r = add_user(&list, &n, old[i])) < 0) {
                                        old[i] = NULL;
                                        goto fail;
                                }
                                old[i] = NULL;
                        }
        if ((r = load_other(a, shells, &list, &n)) < 0)
                goto fail;
        for (size_t i = 0; i < n; i++)
                if (!list[i]->adopted) {
                        load_extras(a, list[i]);
                        if (list[i]->source != SOURCE_HEARTH &&
                            ((r = dup_or_empty(&list[i]->email, list[i]->extras.value[EXTRA_EMAIL])) < 0 ||
                             (r = dup_or_empty(&list[i]->language, list[i]->extras.value[EXTRA_LANGUAGE])) < 0 ||
                             (r = dup_or_empty(&list[i]->password_hint, list[i]->extras.value[EXTRA_PASSWORD_HINT])) < 0))
                                goto fail;
                }
        (void) load_autologin(a);

        a->users = list;
        a->n_users = n;
        list = NULL;

        size_t people = 0;
        for (size_t i = 0; i < a->n_users; i++) {
                AccUser *u = a->users[i], *o = u->adopted ? u : match(old, n_old, u);
                u->auto_login = a->autologin_user && strcmp(a->autologin_user, u->name) == 0;
                char *fp = fingerprint(a, u); /* NULL (no memory) counts as changed */
                if (u->cached && !u->system_account)
                        people++;
                if (!o)
                        bus_accounts_emit_user_added(a, u->path);
                else if (!fp || !o->fingerprint || strcmp(o->fingerprint, fp) != 0)
                        bus_accounts_emit_user_changed(a, u->path);
                free(u->fingerprint);
                u->fingerprint = fp;
                u->adopted = false;
        }
        for (size_t i = 0; i < n_old; i++) {
                if (!old[i] || match(a->users, a->n_users, old[i]))
                        continue;
                bus_accounts_emit_user_deleted(a, old[i]->path);
                /* Gone for good (not just hearthd restarting): so is what we kept. */
                if (old[i]->source != SOURCE_OTHER)
                        accounts_remove_extras(a, old[i]->name);
        }
        free_list(old, n_old);

        bool no = people == 0, multiple = people > 1;
        if (no != a->has_no_users || multiple != a->has_multiple_users) {
                a->has_no_users = no;
                a->has_multiple_users = multiple;
        }
        bus_accounts_emit_manager_changed(a);
        return 0;

fail:
        /* Out of memory: the previous list stays, with what was adopted from it put back. */
        for (size_t i = 0, j = 0; list && i < n; i++) {
                if (!list[i]->adopted) {
                        acc_user_free(list[i]);
                        continue;
                }
                list[i]->adopted = false;
                while (j < n_old && old[j])
                        j++;
                if (j < n_old)
                        old[j] = list[i];
        }
        free(list);
        return log_oom();
}

static int on_reload_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Accounts *a = userdata;
        a->reload_timer = sd_event_source_unref(a->reload_timer);
        (void) accounts_reload(a);
        return 0;
}

void accounts_schedule_reload(Accounts *a) {
        if (a->reload_timer || !a->event)
                return;
        /* Files are often written twice in a row (passwd then shadow). */
        if (sd_event_add_time_relative(a->event, &a->reload_timer, CLOCK_MONOTONIC, 200 * 1000, 0, on_reload_timer,
                                       a) < 0)
                (void) accounts_reload(a);
}

AccUser *accounts_request_name(Accounts *a, const char *name) {
        AccUser *u = accounts_find_name(a, name);
        if (u)
                return u;
        size_t n = strv_length(a->requested);
        if (n >= REQUESTED_MAX || !getpwnam(name))
                return NULL;
        char **l = realloc(a->requested, (n + 2) * sizeof *l);
        if (!l)
                return NULL;
        a->requested = l;
        if (!(l[n] = strdup(name)))
                return NULL;
        l[n + 1] = NULL;
        (void) accounts_reload(a);
        return accounts_find_name(a, name);
}
