/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include <security/pam_modules.h>

#include "user-record.h"

/* What a login process can apply from the user's record itself, as systemd's
 * pam_systemd does (its apply_user_record_settings()): umask, niceLevel,
 * resourceLimits on the process that opens the session (its children, the
 * session, inherit them); environment, emailAddress → EMAIL, timeZone →
 * TZ=":Area/City", preferredLanguage → LANG in the PAM environment, none of
 * them replacing a variable already set there.
 *
 * The record is hostile (its owner may change umask, environment, timeZone
 * and preferredLanguage herself): each value is checked again here; a bad
 * one is logged once with the user's name and skipped, and the rest still
 * applied, since a bad setting must never lock a person out. Returns the
 * number of settings skipped. */
int session_settings_apply(pam_handle_t *pamh, const UserRecord *rec, bool debug);

/* The checks, pure (tests/unit/pam). NULL if entry ("NAME=VALUE") may go
 * into a session's environment, else why not. Refused: names the login
 * itself or logind owns (USER, LOGNAME, HOME, SHELL, MAIL, PWD, XDG_RUNTIME_DIR,
 * XDG_SESSION_*, XDG_SEAT, XDG_VTNR) and the dynamic loader's (LD_*);
 * values with control characters. */
const char *session_env_refused(const char *entry);
/* A time zone name as tzdata spells it ("Europe/Berlin", "UTC"): no "..",
 * not absolute, at most 255 bytes of [A-Za-z0-9/_+-]. Whether it exists is
 * checked separately. */
bool session_time_zone_name_valid(const char *tz);
/* A locale name ("de_DE.UTF-8", "C.UTF-8", "sr_RS@latin"): at most 127
 * bytes of [A-Za-z0-9_.@-], not starting with '.'. */
bool session_language_name_valid(const char *lang);
