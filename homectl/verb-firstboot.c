/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl firstboot: the first user of a new system, as systemd's homectl
 * makes it. Homes from credentials named home.create.<user> (JSON user
 * records) in $CREDENTIALS_DIRECTORY and --credentials=DIR; if none was
 * created and no regular user exists, with --prompt-new-user, one asked for
 * on the terminal. Through hearthd, or with --root=DIR into an image that is
 * not running (image-root.c).
 *
 * Credentials are hostile input and never changed: read-only, bounded,
 * parsed strictly; their passwords are wiped after use and never logged. A
 * second run changes nothing: homes that exist are left as they are, and a
 * name, UID or path taken by anything else is refused. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ask-password.h"
#include "bus-call.h"
#include "exit-status.h"
#include "fileio.h"
#include "firstboot-parse.h"
#include "home-create.h"
#include "homectl.h"
#include "image-root.h"
#include "log.h"
#include "secret.h"
#include "uid-alloc.h"

/* More would be a mistake, not a first boot. */
#define CREDENTIALS_MAX 1024
#define CMDLINE_MAX (64 * 1024)

/* Where homes are made: hearthd, or an image. */
typedef struct Target {
        const Options *o;
        sd_bus *bus;       /* without --root */
        ImageRoot *image;  /* with --root */
        const char *root;  /* "/" or the image's, for paths the user gives */
        char **seen;       /* users whose credential was handled, NULL-terminated */
        size_t n_seen;
        unsigned created;
        int status;        /* the first failure */
} Target;

static void keep_first(Target *t, int status) {
        if (t->status == EXIT_OK)
                t->status = status;
}

/* ---- where homes go ------------------------------------------------------------- */

/* Sets *ret: a Hearth home of that name exists. Returns an exit status. */
static int target_home_exists(Target *t, const char *user, bool *ret) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (t->image) {
                *ret = image_root_has_home(t->image, user);
                return EXIT_OK;
        }
        r = sd_bus_call_method(t->bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE, "GetHomeByName",
                               &e, &reply, "s", user);
        if (r >= 0) {
                *ret = true;
                return EXIT_OK;
        }
        if (sd_bus_error_has_name(&e, BUS_ERROR_NO_SUCH_HOME)) {
                *ret = false;
                return EXIT_OK;
        }
        return log_bus_error(user, "GetHomeByName", &e, r);
}

/* A user or group of that name exists anywhere the new one would clash. */
static bool target_name_taken(Target *t, const char *user) {
        bool home = false;

        if (t->image)
                return image_root_name_taken(t->image, user);
        return target_home_exists(t, user, &home) != EXIT_OK || home || name_taken_nss(user);
}

/* base (taken) becomes the record of user, with the command line's fields
 * on top, and the home is made. */
static int target_create(Target *t, json_object *base, const char *user, const Passwords *p, bool hash) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_secure_buffer_ SecureBuffer *recovery_key = NULL;
        int r;

        r = create_build_record(base, user, &t->o->changes, t->image ? NULL : user_record_machine_id(), p, hash,
                                t->o->recovery_key, &rec, &recovery_key);
        if (r != EXIT_OK)
                return r;
        r = t->image ? image_root_create(t->image, rec) : create_call(t->bus, rec);
        if (r != EXIT_OK)
                return r;
        t->created++;
        log_info("home %s: created", rec->user_name);
        create_show_recovery_key(rec->user_name, recovery_key);
        return EXIT_OK;
}

/* ---- credentials ------------------------------------------------------------------ */

static bool seen(Target *t, const char *user) {
        for (size_t i = 0; i < t->n_seen; i++)
                if (strcmp(t->seen[i], user) == 0)
                        return true;
        return false;
}

static int mark_seen(Target *t, const char *user) {
        char **l = realloc(t->seen, (t->n_seen + 2) * sizeof *l);
        if (!l)
                return -ENOMEM;
        t->seen = l;
        if (!(t->seen[t->n_seen] = strdup(user)))
                return -ENOMEM;
        t->seen[++t->n_seen] = NULL;
        return 0;
}

/* The credential's own passwords: secret.password (hashed into the record
 * if it has no privileged.hashedPassword, else checked against it by
 * hearth-work), or none if it has hashes. Nothing is asked. */
static int credential_passwords(const char *cred, json_object *j, Passwords *p, bool *hash) {
        const char *e;

        *hash = !record_tree_list_get(j, "privileged", "hashedPassword", 0);
        for (size_t i = 0; (e = record_tree_list_get(j, "secret", "password", i)); i++)
                if (passwords_add(p, e) < 0)
                        return log_oom(), EXIT_FAIL;
        if (*hash && p->n == 0) {
                log_error("credential %s: has neither privileged.hashedPassword nor secret.password; a user "
                          "without a password is not created",
                          cred);
                return EXIT_BAD_PASSWORD;
        }
        return EXIT_OK;
}

static int credential_process(Target *t, const char *dir, const char *cred) {
        _cleanup_json_wipe_ json_object *j = NULL;
        _cleanup_passwords_ Passwords passwords = {};
        _cleanup_free_ char *path = NULL;
        const char *user = firstboot_credential_user(cred);
        json_object *v;
        bool exists, hash;
        int r;

        if (!user) {
                log_warning("credential %s: \"%s\" is not a valid user name; skipped", cred,
                            cred + strlen(FIRSTBOOT_CREDENTIAL_PREFIX));
                return EXIT_OK;
        }
        if (seen(t, user)) {
                log_info("credential %s in %s: read from another directory already; skipped", cred, dir);
                return EXIT_OK;
        }
        if (mark_seen(t, user) < 0 || asprintf(&path, "%s/%s", dir, cred) < 0)
                return log_oom(), EXIT_FAIL;

        r = record_tree_load(path, &j);
        if (r != EXIT_OK)
                return r;
        if (json_object_object_get_ex(j, "userName", &v)) {
                if (!json_object_is_type(v, json_type_string)) {
                        log_error("credential %s: userName: must be a string", cred);
                        return EXIT_INVALID_RECORD;
                }
                if (strcmp(json_object_get_string(v), user) != 0) {
                        /* A name the log can show: one line, no escapes. */
                        log_warning("credential %s: its userName \"%.*s\" is not %s; skipped", cred, USER_NAME_MAX,
                                    json_object_get_string(v), user);
                        return EXIT_OK;
                }
        }

        r = target_home_exists(t, user, &exists);
        if (r != EXIT_OK)
                return r;
        if (exists) {
                log_info("credential %s: home %s exists already; left as it is", cred, user);
                return EXIT_OK;
        }
        r = credential_passwords(cred, j, &passwords, &hash);
        if (r != EXIT_OK)
                return r;
        log_info("credential %s: creating home %s", cred, user);
        return target_create(t, TAKE_PTR(j), user, &passwords, hash);
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Every home.create.* in dir, in name order. A missing $CREDENTIALS_DIRECTORY
 * is no error (the unit may have been given none); a missing --credentials
 * directory is. */
static void credentials_dir(Target *t, const char *dir, bool must_exist) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT && !must_exist)
                        return;
                log_error_errno(errno, "credentials %s: cannot open: %m", dir);
                keep_first(t, EXIT_NO_INPUT);
                return;
        }
        names = calloc(CREDENTIALS_MAX + 1, sizeof *names);
        if (!names) {
                closedir(d);
                log_oom();
                keep_first(t, EXIT_FAIL);
                return;
        }
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, FIRSTBOOT_CREDENTIAL_PREFIX, strlen(FIRSTBOOT_CREDENTIAL_PREFIX)) != 0)
                        continue;
                if (n == CREDENTIALS_MAX) {
                        log_error("credentials %s: more than %d named " FIRSTBOOT_CREDENTIAL_PREFIX "*; the rest is "
                                  "ignored",
                                  dir, CREDENTIALS_MAX);
                        keep_first(t, EXIT_FAIL);
                        break;
                }
                if (!(names[n] = strdup(de->d_name))) {
                        closedir(d);
                        log_oom();
                        keep_first(t, EXIT_FAIL);
                        return;
                }
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof *names, compare_strings);
        for (size_t i = 0; i < n; i++)
                keep_first(t, credential_process(t, dir, names[i]));
}

/* ---- is there a user already? ----------------------------------------------------------- */

static int find_regular(const ColonEntry *e, void *userdata) {
        char **found = userdata;
        if (!firstboot_passwd_is_regular(e))
                return 0;
        *found = strdup(e->name);
        return *found ? 1 : -ENOMEM;
}

/* 1 and the name of one if a regular user exists: a Hearth home, or one in
 * /etc/passwd. Returns an exit status, or 1. */
static int regular_user(Target *t, char **ret_name) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *passwd, *name, *state, *real_name, *home, *shell, *path;
        uint32_t uid, gid;
        int r;

        if (t->image) {
                r = image_root_regular_user(t->image, ret_name);
                return r < 0 ? EXIT_FAIL : r > 0 ? 1 : EXIT_OK;
        }

        r = home_call(t->bus, &(HomeCall) { .method = "ListHomes" }, &reply);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(susussso)");
        if (r >= 0)
                r = sd_bus_message_read(reply, "(susussso)", &name, &uid, &state, &gid, &real_name, &home, &shell,
                                        &path);
        if (r < 0)
                return log_bus_error(NULL, "ListHomes", NULL, r);
        if (r > 0) {
                *ret_name = strdup(name);
                return *ret_name ? 1 : (log_oom(), EXIT_FAIL);
        }

        /* Tests point this at a passwd file of their own. */
        passwd = getenv("HEARTH_FIRSTBOOT_PASSWD");
        if (!passwd || passwd[0] != '/')
                passwd = "/etc/passwd";
        r = colon_file_scan(passwd, true, find_regular, ret_name);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "%s: cannot read: %m", passwd);
        return r > 0 ? 1 : EXIT_OK;
}

/* ---- asking ------------------------------------------------------------------------------------ */

/* Asks until check accepts the answer (it says why not), at most
 * ASK_PASSWORD_TRIES times. Returns 0, or -errno after saying why. */
typedef bool (*AnswerCheck)(Target *t, const char *answer);

static int ask(Target *t, const char *prompt, AnswerCheck check, char **ret) {
        for (int i = 0; i < ASK_PASSWORD_TRIES; i++) {
                _cleanup_free_ char *a = NULL;
                int r = ask_string_tty(prompt, &a);
                if (r < 0)
                        return log_error_errno(r, "cannot read the answer: %m");
                if (check(t, a)) {
                        *ret = TAKE_PTR(a);
                        return 0;
                }
        }
        log_error("no acceptable answer after %d tries", ASK_PASSWORD_TRIES);
        return -ECANCELED;
}

static bool check_user(Target *t, const char *a) {
        if (!a[0])
                return true; /* skip */
        if (!valid_user_name(a)) {
                log_warning("\"%.*s\" is not a valid user name (1 to %d of A-Z, a-z, 0-9, '_' and '-', starting with "
                            "a letter or '_'); try again",
                            USER_NAME_MAX, a, USER_NAME_MAX);
                return false;
        }
        if (target_name_taken(t, a)) {
                log_warning("user %s exists already; try again", a);
                return false;
        }
        return true;
}

static bool check_real_name(Target *t, const char *a) {
        for (const unsigned char *p = (const unsigned char *) a; *p; p++)
                if (*p == ':' || *p < 0x20 || *p == 0x7F) {
                        log_warning("a real name must not contain ':' or control characters; try again");
                        return false;
                }
        return true;
}

static bool check_groups(Target *t, const char *a) {
        RecordChanges c = RECORD_CHANGES_INIT;
        int r = record_changes_add_groups(&c, a);
        record_changes_done(&c);
        if (r == -EINVAL)
                log_warning("\"%s\" is not a comma-separated list of group names; try again", a);
        return r != -EINVAL; /* -ENOMEM shows later */
}

static bool check_shell(Target *t, const char *a) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (!a[0])
                return true;
        if (a[0] != '/' || strstr(a, "/../") || strstr(a, "/./")) {
                log_warning("a shell is an absolute path such as /bin/bash; try again");
                return false;
        }
        if (asprintf(&path, "%s%s", strcmp(t->root, "/") == 0 ? "" : t->root, a) < 0)
                return false;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
                log_warning("%s: not an executable program%s%s; try again", a, t->image ? " in " : "",
                            t->image ? t->root : "");
                return false;
        }
        return true;
}

static int prompt_new_user(Target *t) {
        _cleanup_free_ char *user = NULL, *real_name = NULL, *groups = NULL, *shell = NULL;
        _cleanup_secure_buffer_ SecureBuffer *pw = NULL;
        _cleanup_passwords_ Passwords passwords = {};
        _cleanup_json_ json_object *base = NULL;
        RecordChanges asked = RECORD_CHANGES_INIT;
        char prompt[128];

        printf("No regular user exists yet: create the first one.\n");
        fflush(stdout);
        if (ask(t, "User name (empty to skip): ", check_user, &user) < 0)
                return EXIT_FAIL;
        if (!user[0]) {
                log_info("no user name given: no user created");
                return EXIT_OK;
        }
        /* Refused now, not after every question was answered. */
        if (create_check_recovery_key(NULL, user, &t->o->changes, t->o->recovery_key) != EXIT_OK)
                return EXIT_USAGE;
        snprintf(prompt, sizeof prompt, "Real name of %s (empty for none): ", user);
        if (ask(t, prompt, check_real_name, &real_name) < 0)
                return EXIT_FAIL;
        if (ask_new_password(user, &pw) < 0)
                return EXIT_BAD_PASSWORD;
        snprintf(prompt, sizeof prompt, "Groups of %s, comma-separated (empty for none): ", user);
        if (ask(t, prompt, check_groups, &groups) < 0 ||
            ask(t, "Login shell (empty for the default): ", check_shell, &shell) < 0)
                return EXIT_FAIL;

        /* What was asked is the base; the command line's fields go on top. */
        if (real_name[0])
                asked.real_name = real_name;
        if (shell[0])
                asked.shell = shell;
        base = json_object_new_object();
        if (!base || (groups[0] && record_changes_add_groups(&asked, groups) < 0) ||
            record_apply_changes(base, &asked, NULL) < 0 || passwords_add(&passwords, pw->data) < 0) {
                record_changes_done(&asked);
                return log_oom(), EXIT_FAIL;
        }
        record_changes_done(&asked);
        return target_create(t, TAKE_PTR(base), user, &passwords, true);
}

/* ---- the verb ---------------------------------------------------------------------------------------- */

/* The kernel command line may turn the prompt off, as for
 * systemd-firstboot; credentials are still read (systemd's homectl does the
 * same). */
static bool prompt_allowed_by_cmdline(void) {
        _cleanup_free_ char *text = NULL;
        const char *cmdline = getenv("HEARTH_PROC_CMDLINE"); /* for tests */
        int r;

        if (!cmdline) {
                r = read_file_bounded("/proc/cmdline", CMDLINE_MAX, &text, NULL);
                if (r < 0) {
                        log_debug_errno(r, "/proc/cmdline: cannot read: %m");
                        return true;
                }
                cmdline = text;
        }
        r = firstboot_cmdline_get(cmdline);
        if (r == -EINVAL)
                log_warning("systemd.firstboot= on the kernel command line is no boolean; ignored");
        return r != 0;
}

int verb_firstboot(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_image_root_ ImageRoot *image = NULL;
        _cleanup_free_ char *regular = NULL;
        Target t = { .o = o, .root = "/" };
        bool prompt = o->prompt_new_user;
        const char *creds;
        int r;

        if (o->root) {
                if ((r = image_root_open(o->root, &image)) != EXIT_OK)
                        return r;
                t.image = image;
                t.root = image_root_path(image);
        } else {
                /* The build machine's command line says nothing about an image. */
                if (prompt && !prompt_allowed_by_cmdline()) {
                        log_info("systemd.firstboot=no on the kernel command line: not asking for a user");
                        prompt = false;
                }
                if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                        return r;
                t.bus = bus;
        }

        creds = getenv("CREDENTIALS_DIRECTORY");
        if (creds && creds[0] == '/')
                credentials_dir(&t, creds, false);
        else if (creds && creds[0])
                log_warning("$CREDENTIALS_DIRECTORY=%s is not an absolute path; ignored", creds);
        if (o->credentials)
                credentials_dir(&t, o->credentials, true);
        strv_free(t.seen);

        if (t.created > 0 || t.status != EXIT_OK)
                return t.status;

        r = regular_user(&t, &regular);
        if (r == 1) {
                log_info("a regular user exists already (%s): no user created", regular);
                return EXIT_OK;
        }
        if (r != EXIT_OK)
                return r;
        if (!prompt) {
                log_info("no credentials for a first user%s: no user created",
                         o->prompt_new_user ? "" : " and no --prompt-new-user");
                return EXIT_OK;
        }
        if (!ask_password_possible()) {
                log_info("no terminal to ask on (or --no-ask-password): no user created");
                return EXIT_OK;
        }
        return prompt_new_user(&t);
}
