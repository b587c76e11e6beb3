/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "passwords.h"
#include "secret.h"

/* Where homectl's secrets come from ($PASSWORD, $NEWPASSWORD, the
 * terminal) and the list of them sent with a call. Every string here is
 * wiped before it is freed; none is ever logged. */

#define PASSWORD_MAX 4096
#define ASK_PASSWORD_TRIES 5

/* Reads $PASSWORD, $NEWPASSWORD and $PIN once, then wipes and removes them from
 * the environment so that no child (homectl with) inherits them. */
int secrets_env_load(void);
const char *secrets_env_password(void);     /* NULL if unset */
const char *secrets_env_new_password(void); /* NULL if unset */
const char *secrets_env_pin(void);          /* $PIN (a security token's, as systemd's homectl), NULL if unset */
void secrets_env_free(void);

/* Whether asking is allowed (not --no-ask-password) and possible: standard
 * input is a terminal and /dev/tty can be opened. */
void ask_password_set_allowed(bool b);
bool ask_password_possible(void);

/* Prints prompt on /dev/tty and reads one line with echo off. The terminal
 * is restored on every path, including SIGINT, SIGTERM, SIGHUP and SIGQUIT
 * (the signal is then delivered as usual). Returns 0, -ECANCELED on end of
 * input, -E2BIG for a line longer than PASSWORD_MAX, or the errno. *ret
 * holds the line, NUL-terminated, in locked memory. */
int ask_password_tty(const char *prompt, SecureBuffer **ret);

/* The same with echo on, for what is no secret (a user name, a shell). */
int ask_string_tty(const char *prompt, char **ret);

/* "New password: " and "Retype new password: " until both match (at most
 * ASK_PASSWORD_TRIES rounds); empty passwords and ones new_password_ok()
 * refuses are asked again. Logs its own errors as "home USER: …". */
int ask_new_password(const char *user, SecureBuffer **ret);

/* Whether pw may become a password, before hearthd is asked: not empty,
 * and not one taken for a recovery key (recovery_key_shaped(); hearth-work
 * refuses it too). Logs why not, naming user. */
bool new_password_ok(const char *user, const char *pw);
