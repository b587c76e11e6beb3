/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Where homectl's secrets come from ($PASSWORD, $NEWPASSWORD, the
 * terminal) and the list of them sent with a call. Every string here is
 * wiped before it is freed; none is ever logged. */

#define PASSWORD_MAX 4096
#define ASK_PASSWORD_TRIES 5

/* The passwords to offer for one home, in order. */
typedef struct Passwords {
        char **list; /* n entries; NULL when n == 0 */
        size_t n;
} Passwords;

void passwords_done(Passwords *p);
static inline void passwords_donep(Passwords *p) {
        passwords_done(p);
}
#define _cleanup_passwords_ __attribute__((cleanup(passwords_donep)))

/* Appends a copy of s. */
int passwords_add(Passwords *p, const char *s);
/* Appends s itself; on failure s is wiped and freed. */
int passwords_add_take(Passwords *p, char *s);

/* The contents of a secret section, {"password":[…]} or {} for none, as
 * text: the form of the `s secret` arguments. *ret must be freed with
 * erase_and_free(). */
int passwords_to_json(const Passwords *p, char **ret);

/* Reads $PASSWORD and $NEWPASSWORD once, then wipes and removes them from
 * the environment so that no child (homectl with) inherits them. */
int secrets_env_load(void);
const char *secrets_env_password(void);     /* NULL if unset */
const char *secrets_env_new_password(void); /* NULL if unset */
void secrets_env_free(void);

/* Whether asking is allowed (not --no-ask-password) and possible: standard
 * input is a terminal and /dev/tty can be opened. */
void ask_password_set_allowed(bool b);
bool ask_password_possible(void);

/* Prints prompt on /dev/tty and reads one line with echo off. The terminal
 * is restored on every path, including SIGINT, SIGTERM, SIGHUP and SIGQUIT
 * (the signal is then delivered as usual). Returns 0, -ECANCELED on end of
 * input, -E2BIG for a line longer than PASSWORD_MAX, or the errno. *ret
 * must be freed with erase_and_free(). */
int ask_password_tty(const char *prompt, char **ret);

/* "New password: " and "Retype new password: " until both match (at most
 * ASK_PASSWORD_TRIES rounds); empty passwords are refused. Logs its own
 * errors as "home USER: …". */
int ask_new_password(const char *user, char **ret);
