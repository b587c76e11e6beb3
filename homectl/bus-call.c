/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-call.h"
#include "exit-status.h"
#include "log.h"
#include "record-build.h"
#include "secret-text.h"
#include "secret.h"

int bus_connect(bool interactive, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                log_error_errno(r, "cannot connect to the system bus%s%s%s: %m", a ? " at \"" : "", a ?: "",
                                a ? "\"" : "");
                return EXIT_FAIL;
        }
        (void) sd_bus_set_allow_interactive_authorization(bus, interactive);
        /* The default for calls that do not name their own. */
        (void) sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_DEFAULT);
        *ret = bus;
        return EXIT_OK;
}

int log_bus_error(const char *user, const char *method, const sd_bus_error *e, int r) {
        const char *msg = NULL;
        char buf[256];

        if (e && sd_bus_error_is_set(e))
                msg = e->message && e->message[0] ? e->message : bus_error_default_message(e->name) ?: e->name;
        if (!msg) {
                errno = r < 0 ? -r : EIO;
                snprintf(buf, sizeof buf, "%m");
                msg = buf;
        }
        /* hearthd's messages may already name the home: say it once. */
        size_t n = user ? strlen(user) : 0;
        if (user && strncmp(msg, "home ", 5) == 0 && strncmp(msg + 5, user, n) == 0 && msg[5 + n] == ':')
                log_error("%s", msg);
        else if (user)
                log_error("home %s: %s", user, msg);
        else
                log_error("%s: %s", method, msg);
        /* hearthd's words say what happened; the hint says what to do. */
        if (e && sd_bus_error_is_set(e)) {
                _cleanup_free_ char *hint = NULL;
                if (bus_error_hint(e->name, user, &hint) < 0)
                        log_oom();
                else if (hint)
                        log_error("%s", hint);
        }
        return exit_status_from_bus_error(e && sd_bus_error_is_set(e) ? e->name : NULL, r);
}

int bus_append_secret(sd_bus_message *m, const Passwords *p) {
        _cleanup_secure_buffer_ SecureBuffer *json = NULL;
        int r;

        r = passwords_to_json(p, &json);
        if (r < 0)
                return r;
        return sd_bus_message_append(m, "s", json->data);
}

int bus_append_record(sd_bus_message *m, const Passwords *secret, void *userdata) {
        UserRecord *rec = userdata;
        int r;

        /* update: the secret travels inside the record. */
        if (secret && (r = record_set_secret(rec, secret)) < 0)
                return r;
        _cleanup_secret_text_ SecretText text = {};
        r = secret_text_record(rec->json, &text);
        if (r < 0)
                return r;
        return sd_bus_message_append(m, "s", text.buf->data);
}

static int build_call(sd_bus *bus, const HomeCall *c, sd_bus_message **ret) {
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                           c->method);
        if (r < 0)
                return r;
        /* Secrets go in this message: sd-bus wipes it when it is freed. */
        if (c->secret || !c->user_argument)
                (void) sd_bus_message_sensitive(m);
        if (c->user_argument && (r = sd_bus_message_append(m, "s", c->user)) < 0)
                return r;
        if (c->append)
                r = c->append(m, c->secret, c->userdata);
        else if (c->secret)
                r = bus_append_secret(m, c->secret);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int home_call(sd_bus *bus, const HomeCall *c, sd_bus_message **ret_reply) {
        int asked = 0;
        bool pin_from_env = false;
        int r;

        for (;;) {
                _cleanup_bus_message_ sd_bus_message *m = NULL, *reply = NULL;
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_secure_buffer_ SecureBuffer *pw = NULL;
                char prompt[64];

                r = build_call(bus, c, &m);
                if (r < 0) {
                        if (c->user)
                                log_error_errno(r, "home %s: cannot build the %s call: %m", c->user, c->method);
                        else
                                log_error_errno(r, "%s: cannot build the call: %m", c->method);
                        return EXIT_FAIL;
                }
                r = sd_bus_call(bus, m, c->timeout ?: BUS_TIMEOUT_DEFAULT, &error, &reply);
                if (r >= 0) {
                        if (ret_reply)
                                *ret_reply = TAKE_PTR(reply);
                        return EXIT_OK;
                }

                /* A token's PIN: $PIN first (once), then the terminal. */
                if (c->secret && bus_error_wants_pin(error.name) && asked < ASK_PASSWORD_TRIES) {
                        const char *e = secrets_env_pin();
                        if (e && !pin_from_env) {
                                pin_from_env = true;
                                asked++;
                                if (passwords_set_pin(c->secret, e) < 0)
                                        return log_oom(), EXIT_FAIL;
                                continue;
                        }
                        if (ask_password_possible()) {
                                if (c->secret->pin)
                                        log_warning("home %s: wrong PIN, please try again", c->user ?: "?");
                                snprintf(prompt, sizeof prompt, "Security token PIN for user %s: ", c->user ?: "?");
                                r = ask_password_tty(prompt, &pw);
                                if (r < 0) {
                                        log_error_errno(r, "home %s: cannot read the PIN: %m", c->user ?: "?");
                                        return r == -ECANCELED ? EXIT_BAD_PASSWORD : EXIT_FAIL;
                                }
                                asked++;
                                if (passwords_set_pin(c->secret, pw->data) < 0)
                                        return log_oom(), EXIT_FAIL;
                                continue;
                        }
                        int status = log_bus_error(c->user, c->method, &error, r);
                        if (!c->secret->pin)
                                log_error("home %s: the security token's PIN is needed: set $PIN, or run on a "
                                          "terminal without --no-ask-password", c->user ?: "?");
                        return status;
                }
                if (!c->secret || !bus_error_wants_password(error.name) || !ask_password_possible() ||
                    asked >= ASK_PASSWORD_TRIES) {
                        int status = log_bus_error(c->user, c->method, &error, r);
                        if (c->secret && bus_error_wants_password(error.name) && asked == 0 && c->secret->n == 0)
                                log_error("home %s: a password is needed: set $PASSWORD, or run on a terminal "
                                          "without --no-ask-password",
                                          c->user ?: "?");
                        return status;
                }

                if (c->secret->n > 0)
                        log_warning("home %s: password incorrect or not sufficient, please try again", c->user ?: "?");
                snprintf(prompt, sizeof prompt, "Password for user %s: ", c->user ?: "?");
                r = ask_password_tty(prompt, &pw);
                if (r < 0) {
                        log_error_errno(r, "home %s: cannot read the password: %m", c->user ?: "?");
                        return r == -ECANCELED ? EXIT_BAD_PASSWORD : EXIT_FAIL;
                }
                asked++;
                r = passwords_add(c->secret, pw->data);
                if (r < 0) {
                        log_oom();
                        return EXIT_FAIL;
                }
        }
}
