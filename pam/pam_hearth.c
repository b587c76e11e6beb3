/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pam_hearth: logging in to a Hearth home. Loaded by libpam into the
 * programs that log users in (login, sshd, gdm, su, ...), in the stacks
 * pam-auth-update builds from pam/pam-configs/hearth; it calls hearthd over
 * the system bus. auth unlocks and mounts the home (AcquireHome, the
 * password as secret); account applies the record's validity and
 * password-age rules; session holds a reference (RefHome) for the session's
 * lifetime, so the home is deactivated after the last one closes, and
 * applies the record's session settings (session-settings.h); password
 * changes it with ChangePasswordHome.
 *
 * Users hearthd does not manage get PAM_USER_UNKNOWN, so the module stacks
 * with pam_unix. Nothing is written to stderr: this runs inside login,
 * sshd, gdm; messages go through the conversation and syslog. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <systemd/sd-bus.h>

#include "account-policy.h"
#include "bus-names.h"
#include "bus-util.h"
#include "macro.h"
#include "passwords.h"
#include "runtime-paths.h"
#include "secret.h"
#include "session-settings.h"
#include "user-record.h"

/* Every call to hearthd, unless the module's timeout= says otherwise: a
 * LUKS home with argon2id takes seconds, and a person at a login prompt
 * waits half a minute at most before she thinks it hangs. */
#define BUS_TIMEOUT_DEFAULT (UINT64_C(30) * 1000000)
#define BUS_TIMEOUT_MAX (UINT64_C(3600) * 1000000)
#define DATA_AUTH_FD "hearth-auth-fd"
#define DATA_SESSION_FD "hearth-session-fd"
#define FAIL_DELAY_USEC 2000000

typedef struct Args {
        bool debug;
        bool suspend; /* please_suspend: the home may be locked on suspend */
        bool session_settings; /* apply the record's umask, nice, limits, environment */
        uint64_t timeout_usec; /* of each call to hearthd */
} Args;

static void parse_args(pam_handle_t *pamh, int argc, const char **argv, Args *a) {
        *a = (Args) { .timeout_usec = BUS_TIMEOUT_DEFAULT, .session_settings = true };
        for (int i = 0; i < argc; i++) {
                if (strncmp(argv[i], "timeout=", 8) == 0) {
                        char *end;
                        errno = 0;
                        unsigned long long s = strtoull(argv[i] + 8, &end, 10);
                        if (errno != 0 || end == argv[i] + 8 || *end || s == 0 || s > BUS_TIMEOUT_MAX / 1000000)
                                pam_syslog(pamh, LOG_WARNING, "option \"%s\": expected seconds from 1 to 3600; "
                                           "using %llu", argv[i], (unsigned long long) (BUS_TIMEOUT_DEFAULT / 1000000));
                        else
                                a->timeout_usec = (uint64_t) s * 1000000;
                } else if (strcmp(argv[i], "debug") == 0)
                        a->debug = true;
                else if (strcmp(argv[i], "suspend") == 0)
                        a->suspend = true;
                else if (strcmp(argv[i], "session_settings=yes") == 0)
                        a->session_settings = true;
                else if (strcmp(argv[i], "session_settings=no") == 0)
                        a->session_settings = false; /* pam_systemd applies them */
                else if (strcmp(argv[i], "use_authtok") == 0 || strcmp(argv[i], "try_first_pass") == 0 ||
                         strcmp(argv[i], "use_first_pass") == 0)
                        ; /* pam_get_authtok() reads these itself */
                else
                        pam_syslog(pamh, LOG_WARNING, "unknown option \"%s\", ignored", argv[i]);
        }
}

#define debug(pamh, a, ...)                                      \
        do {                                                     \
                if ((a)->debug)                                  \
                        pam_syslog((pamh), LOG_DEBUG, __VA_ARGS__); \
        } while (0)

static bool error_is(const sd_bus_error *e, const char *name) {
        return sd_bus_error_has_name(e, name);
}

/* ---- the user and her home ------------------------------------------------------------ */

typedef struct HomeInfo {
        char state[32];
        char dir[4096];
} HomeInfo;

/* 1: a Hearth user, info filled; 0: not one (or no hearthd on the bus:
 * then there are no Hearth users to log in); a PAM error code otherwise,
 * negated. */
static int lookup_home(pam_handle_t *pamh, const Args *a, sd_bus *bus, const char *user, HomeInfo *info) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *state, *real_name, *dir, *shell, *path;
        uint32_t uid, gid;

        int r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE, "GetHomeByName",
                                   &e, &reply, "s", user);
        if (r < 0) {
                if (error_is(&e, BUS_ERROR_NO_SUCH_HOME)) {
                        debug(pamh, a, "%s is not a Hearth user (any more)", user);
                        return 0;
                }
                pam_syslog(pamh, LOG_ERR, "home %s: cannot look it up: %s", user, e.message ?: strerror(-r));
                if (r == -ETIMEDOUT)
                        pam_error(pamh, "The home of %s did not open in time; try again later.", user);
                return -PAM_AUTHINFO_UNAVAIL;
        }
        r = sd_bus_message_read(reply, "usussso", &uid, &state, &gid, &real_name, &dir, &shell, &path);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "home %s: malformed answer from hearthd", user);
                return -PAM_AUTHINFO_UNAVAIL;
        }
        snprintf(info->state, sizeof info->state, "%s", state);
        snprintf(info->dir, sizeof info->dir, "%s", dir);
        return 1;
}

/* Connects and looks the user up. Returns PAM_SUCCESS with a bus for a
 * Hearth user, PAM_USER_UNKNOWN for others, or the error. Whether she is
 * one is decided without the bus (hearthd's NSS file), so users it does not
 * manage never wait on it, and its users' logins fail (rather than fall
 * through to other modules) while it is down. */
static int open_for_user(pam_handle_t *pamh, const Args *a, const char **ret_user, sd_bus **ret_bus, HomeInfo *info) {
        const char *user;
        int r = pam_get_user(pamh, &user, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (!user || !valid_user_name(user) || !hearth_runtime_has_user(user)) {
                debug(pamh, a, "%s is not a Hearth user", user ?: "(none)");
                return PAM_USER_UNKNOWN;
        }
        _cleanup_bus_ sd_bus *bus = NULL;
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, a->timeout_usec);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "home %s: no system bus: %s", user, strerror(-r));
                return PAM_AUTHINFO_UNAVAIL;
        }
        r = lookup_home(pamh, a, bus, user, info);
        if (r <= 0)
                return r == 0 ? PAM_USER_UNKNOWN : -r;
        *ret_user = user;
        *ret_bus = TAKE_PTR(bus);
        return PAM_SUCCESS;
}

/* ---- references kept in PAM data ------------------------------------------------------- */

static void close_fd_data(pam_handle_t *pamh, void *data, int error_status) {
        int *fd = data;
        if (*fd >= 0)
                close(*fd);
        free(fd);
}

/* Keeps fd (taken) under name; the previous one there is closed. */
static int keep_fd(pam_handle_t *pamh, const char *name, int fd) {
        int *p = malloc(sizeof *p);
        if (!p) {
                close(fd);
                return PAM_BUF_ERR;
        }
        *p = fd;
        int r = pam_set_data(pamh, name, p, close_fd_data);
        if (r != PAM_SUCCESS)
                close_fd_data(pamh, p, 0);
        return r;
}

/* The fd in a reply, as our own close-on-exec copy: the session's shell
 * must not inherit it, or the home would outlive the logout. */
static int reply_fd(sd_bus_message *reply) {
        int fd;
        if (sd_bus_message_read(reply, "h", &fd) < 0)
                return -EBADMSG;
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        return copy < 0 ? -errno : copy;
}

/* ---- auth ------------------------------------------------------------------------------ */

static int secret_json(const char *password, const char *pin, SecureBuffer **ret) {
        _cleanup_passwords_ Passwords p = {};
        if (password && passwords_add(&p, password) < 0)
                return -ENOMEM;
        if (pin && passwords_set_pin(&p, pin) < 0)
                return -ENOMEM;
        return passwords_to_json(&p, ret);
}

#define PIN_TRIES 3

/* Whether the record names a PKCS#11 token (pkcs11TokenUri, in the section
 * everyone may read). */
static bool has_token(sd_bus *bus, const char *user) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        const char *json;
        if (sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                               "GetUserRecordByName", &e, &reply, "s", user) < 0 ||
            sd_bus_message_read(reply, "s", &json) < 0 || user_record_parse(json, strlen(json), &rec, NULL) < 0)
                return false;
        return rec->pkcs11_token_uri && rec->pkcs11_token_uri[0];
}

static bool pin_wanted(const sd_bus_error *e) {
        return error_is(e, BUS_ERROR_TOKEN_PIN_NEEDED) || error_is(e, BUS_ERROR_BAD_PIN) ||
               error_is(e, BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT) || error_is(e, BUS_ERROR_BAD_PIN_ONE_TRY_LEFT);
}

/* method(user, secret[, please_suspend]) → fd (AcquireHome) or nothing. */
static int call_with_secret(sd_bus *bus, const char *method, const char *user, const char *password,
                            const char *pin, bool suspend, int *ret_fd, sd_bus_error *e) {
        _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_secure_buffer_ SecureBuffer *secret = NULL;
        int r = secret_json(password, pin, &secret);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                           method);
        if (r >= 0)
                r = sd_bus_message_sensitive(m); /* wiped when freed */
        if (r >= 0)
                r = ret_fd ? sd_bus_message_append(m, "ssb", user, (const char *) secret->data, suspend)
                           : sd_bus_message_append(m, "ss", user, (const char *) secret->data);
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, false);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 0, e, &reply); /* 0: the bus's timeout, the module's */
        if (r < 0)
                return r;
        if (!ret_fd)
                return 0;
        r = reply_fd(reply);
        if (r < 0)
                return r;
        *ret_fd = r;
        return 0;
}

/* What a failed call means to PAM, telling the person what they can act on. */
static int pam_code_for(pam_handle_t *pamh, const char *user, const sd_bus_error *e, int r, int fallback) {
        if (error_is(e, BUS_ERROR_BAD_PASSWORD) || error_is(e, BUS_ERROR_BAD_PASSWORD_AND_NO_TOKEN) ||
            error_is(e, BUS_ERROR_BAD_RECOVERY_KEY) || error_is(e, BUS_ERROR_BAD_PIN)) {
                /* A TPM-sealed home: each wrong try counts towards its lockout; say so. */
                const char *tpm = e->message ? strstr(e->message, "TPM2:") : NULL;
                if (tpm)
                        pam_error(pamh, "Wrong password (%s).", tpm);
                return PAM_AUTH_ERR;
        }
        if (error_is(e, BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT) || error_is(e, BUS_ERROR_BAD_PIN_ONE_TRY_LEFT)) {
                pam_error(pamh, "%s", e->message);
                return PAM_AUTH_ERR;
        }
        if (error_is(e, BUS_ERROR_TPM_STATE_CHANGED)) {
                pam_error(pamh, "The TPM no longer opens the home of %s (firmware or boot changed): log in with the "
                                "recovery key as password.", user);
                return PAM_AUTH_ERR;
        }
        if (error_is(e, BUS_ERROR_AUTHENTICATION_LIMIT_HIT) || error_is(e, BUS_ERROR_TOKEN_PIN_LOCKED)) {
                pam_error(pamh, "Too many failed attempts for %s; try again later. (%s)", user, e->message);
                return PAM_MAXTRIES;
        }
        if (error_is(e, BUS_ERROR_NO_SUCH_HOME))
                return PAM_USER_UNKNOWN;
        if (error_is(e, BUS_ERROR_HOME_ABSENT)) {
                pam_error(pamh, "The home of %s is not available on this machine.", user);
                return PAM_AUTHINFO_UNAVAIL;
        }
        if (error_is(e, SD_BUS_ERROR_ACCESS_DENIED))
                return PAM_PERM_DENIED;
        if (r == -ETIMEDOUT || error_is(e, SD_BUS_ERROR_TIMEOUT) || error_is(e, SD_BUS_ERROR_NO_REPLY)) {
                pam_syslog(pamh, LOG_ERR, "home %s: hearthd did not answer in time: %s", user,
                           e && e->message ? e->message : strerror(-r));
                pam_error(pamh, "The home of %s did not open in time; try again later.", user);
                return fallback;
        }
        pam_syslog(pamh, LOG_ERR, "home %s: %s", user, e && e->message ? e->message : strerror(-r));
        pam_error(pamh, "The home of %s cannot be opened: %s", user, e && e->message ? e->message : strerror(-r));
        return fallback;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Args a;
        parse_args(pamh, argc, argv, &a);
        const char *user, *password = NULL;
        _cleanup_bus_ sd_bus *bus = NULL;
        HomeInfo info;
        int r = open_for_user(pamh, &a, &user, &bus, &info);
        if (r != PAM_SUCCESS)
                return r;

        r = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
        if (r != PAM_SUCCESS)
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : r;
        (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
        /* Hearth has no empty passwords (no nullok): nothing to ask hearthd,
         * unless a smart card opens the home (then its PIN is asked below;
         * the worker never takes nothing for such a record). */
        if (!password || !*password) {
                if (!has_token(bus, user))
                        return PAM_AUTH_ERR;
                password = NULL;
        }

        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(erase_and_freep) char *pin = NULL;
        int fd = -1;
        for (unsigned tries = 0;; tries++) {
                r = call_with_secret(bus, "AcquireHome", user, password, pin, a.suspend, &fd, &e);
                if (r < 0 && error_is(&e, BUS_ERROR_HOME_LOCKED)) {
                        /* Suspended with the session still open: the password unlocks it. */
                        debug(pamh, &a, "home %s is locked; unlocking", user);
                        sd_bus_error_free(&e);
                        r = call_with_secret(bus, "UnlockHome", user, password, pin, false, NULL, &e);
                        if (r >= 0)
                                r = call_with_secret(bus, "AcquireHome", user, password, pin, a.suspend, &fd, &e);
                }
                /* The password did not open it, and a smart card that would is
                 * plugged in (hearthd says so only then): ask for its PIN. */
                if (r >= 0 || tries >= PIN_TRIES || !pin_wanted(&e))
                        break;
                if (pin)
                        pam_error(pamh, "%s", error_is(&e, BUS_ERROR_BAD_PIN_ONE_TRY_LEFT)
                                                      ? "Wrong security token PIN; one try left."
                                              : error_is(&e, BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT)
                                                      ? "Wrong security token PIN; few tries left."
                                                      : "Wrong security token PIN.");
                erase_and_free(pin);
                pin = NULL;
                int pr = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &pin, "Security token PIN: ");
                if (pr != PAM_SUCCESS || !pin || !*pin)
                        return pr == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTH_ERR;
                sd_bus_error_free(&e);
        }
        if (r < 0)
                return pam_code_for(pamh, user, &e, r, PAM_AUTHINFO_UNAVAIL);
        debug(pamh, &a, "home %s acquired", user);
        return keep_fd(pamh, DATA_AUTH_FD, fd);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_SUCCESS;
}

/* ---- account --------------------------------------------------------------------------- */

/* The user's record as hearthd shows it to us (a login runs as root: with
 * its privileged section), parsed and checked. */
static int fetch_record(pam_handle_t *pamh, sd_bus *bus, const char *user, UserRecord **ret) {
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *json;
        int r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                   "GetUserRecordByName", &e, &reply, "s", user);
        if (r < 0)
                return pam_code_for(pamh, user, &e, r, PAM_AUTHINFO_UNAVAIL);
        if (sd_bus_message_read(reply, "s", &json) < 0) {
                pam_syslog(pamh, LOG_ERR, "home %s: malformed answer from hearthd", user);
                return PAM_AUTHINFO_UNAVAIL;
        }
        _cleanup_free_ char *why = NULL;
        if (user_record_parse(json, strlen(json), ret, &why) < 0) {
                pam_syslog(pamh, LOG_ERR, "home %s: the record is not valid: %s", user, why ?: "?");
                return PAM_AUTHINFO_UNAVAIL;
        }
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Args a;
        parse_args(pamh, argc, argv, &a);
        const char *user;
        _cleanup_bus_ sd_bus *bus = NULL;
        HomeInfo info;
        int r = open_for_user(pamh, &a, &user, &bus, &info);
        if (r != PAM_SUCCESS)
                return r;

        _cleanup_user_record_ UserRecord *rec = NULL;
        r = fetch_record(pamh, bus, user, &rec);
        if (r != PAM_SUCCESS)
                return r;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        AccountVerdict v;
        account_verdict(rec, (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000, &v);
        if (v.message[0] && !(flags & PAM_SILENT)) {
                if (v.pam_code == PAM_SUCCESS)
                        pam_info(pamh, "%s", v.message);
                else
                        pam_error(pamh, "%s", v.message);
        }
        debug(pamh, &a, "account %s: %s", user, v.message[0] ? v.message : "valid");
        return v.pam_code;
}

/* ---- session --------------------------------------------------------------------------- */

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Args a;
        parse_args(pamh, argc, argv, &a);
        const char *user;
        _cleanup_bus_ sd_bus *bus = NULL;
        HomeInfo info;
        int r = open_for_user(pamh, &a, &user, &bus, &info);
        if (r != PAM_SUCCESS)
                return r;

        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        int fd = -1;
        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE, "RefHome", &e, &reply,
                               "sb", user, (int) a.suspend);
        if (r < 0 && error_is(&e, BUS_ERROR_HOME_NOT_ACTIVE)) {
                /* A session without our auth (a key, su from root): the
                 * password, if an earlier module got one, activates it. */
                const void *pw = NULL;
                if (pam_get_item(pamh, PAM_AUTHTOK, &pw) != PAM_SUCCESS || !pw) {
                        pam_error(pamh, "The home of %s is not active; log in with its password to open it.", user);
                        return PAM_SESSION_ERR;
                }
                sd_bus_error_free(&e);
                r = call_with_secret(bus, "AcquireHome", user, pw, NULL, a.suspend, &fd, &e);
        }
        if (r < 0) {
                /* Whatever went wrong, it is the session that fails now. */
                (void) pam_code_for(pamh, user, &e, r, PAM_SESSION_ERR);
                return PAM_SESSION_ERR;
        }
        if (fd < 0 && (fd = reply_fd(reply)) < 0) {
                pam_syslog(pamh, LOG_ERR, "home %s: no reference in hearthd's answer", user);
                return PAM_SESSION_ERR;
        }
        r = keep_fd(pamh, DATA_SESSION_FD, fd);
        if (r != PAM_SUCCESS)
                return r;
        if (!pam_getenv(pamh, "HOME") && info.dir[0]) {
                char env[sizeof info.dir + 8];
                snprintf(env, sizeof env, "HOME=%s", info.dir);
                r = pam_putenv(pamh, env);
                if (r != PAM_SUCCESS)
                        return r;
        }
        debug(pamh, &a, "session for %s holds the home", user);
        if (a.session_settings) {
                /* The home is held: whatever the record says, the session opens. */
                _cleanup_user_record_ UserRecord *rec = NULL;
                if (fetch_record(pamh, bus, user, &rec) == PAM_SUCCESS) {
                        int skipped = session_settings_apply(pamh, rec, a.debug);
                        debug(pamh, &a, "session settings of %s applied, %d skipped", user, skipped);
                } else
                        pam_syslog(pamh, LOG_WARNING, "home %s: no record; the session goes without its settings",
                                   user);
        }
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Args a;
        parse_args(pamh, argc, argv, &a);
        /* Closing our references is all: hearthd deactivates the home once
         * the last one anywhere is gone. Replacing the data runs its
         * cleanup, which closes the fd. */
        (void) pam_set_data(pamh, DATA_SESSION_FD, NULL, NULL);
        (void) pam_set_data(pamh, DATA_AUTH_FD, NULL, NULL);
        debug(pamh, &a, "session closed");
        return PAM_SUCCESS;
}

/* ---- password -------------------------------------------------------------------------- */

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        Args a;
        parse_args(pamh, argc, argv, &a);
        const char *user, *old_pw = NULL, *new_pw = NULL;
        _cleanup_bus_ sd_bus *bus = NULL;
        HomeInfo info;
        int r = open_for_user(pamh, &a, &user, &bus, &info);
        if (r != PAM_SUCCESS)
                return r;
        if (flags & PAM_PRELIM_CHECK)
                return PAM_SUCCESS;

        /* The old password is needed even by root: an encrypted home is
         * re-keyed with it. */
        r = pam_get_authtok(pamh, PAM_OLDAUTHTOK, &old_pw, "Current password: ");
        if (r != PAM_SUCCESS)
                return r;
        r = pam_get_authtok(pamh, PAM_AUTHTOK, &new_pw, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (!new_pw || !*new_pw) {
                pam_error(pamh, "No password supplied.");
                return PAM_AUTHTOK_ERR;
        }

        _cleanup_secure_buffer_ SecureBuffer *old_secret = NULL, *new_secret = NULL;
        if (secret_json(old_pw, NULL, &old_secret) < 0 || secret_json(new_pw, NULL, &new_secret) < 0)
                return PAM_BUF_ERR;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        r = sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                           "ChangePasswordHome");
        if (r >= 0)
                r = sd_bus_message_sensitive(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", user, (const char *) new_secret->data,
                                          (const char *) old_secret->data);
        if (r < 0)
                return PAM_BUF_ERR;
        r = sd_bus_call(bus, m, 0, &e, NULL);
        if (r < 0) {
                if (error_is(&e, BUS_ERROR_BAD_PASSWORD) || error_is(&e, BUS_ERROR_BAD_PASSWORD_AND_NO_TOKEN)) {
                        pam_error(pamh, "The current password of %s is not correct.", user);
                        return PAM_AUTHTOK_ERR;
                }
                if (error_is(&e, BUS_ERROR_LOW_PASSWORD_QUALITY)) {
                        pam_error(pamh, "%s", e.message);
                        return PAM_AUTHTOK_ERR;
                }
                int code = pam_code_for(pamh, user, &e, r, PAM_AUTHTOK_ERR);
                return code == PAM_AUTH_ERR ? PAM_AUTHTOK_ERR : code;
        }
        debug(pamh, &a, "password of %s changed", user);
        return PAM_SUCCESS;
}
