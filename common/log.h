/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* One line per message on stderr, prefixed by the program name. Errors are
 * logged once, where they are understood; callers further up only pass the
 * negative errno on. Never pass secrets to these functions. */

void log_set_program(const char *name);
void log_set_max_level(int level);
int log_get_max_level(void);
/* "err", "warning", "notice", "info", "debug" → LOG_*, or -EINVAL: the
 * --log-level= of the daemons. */
int log_level_from_string(const char *s);
/* --log-level=arg: sets the level, or logs what is expected and returns -EINVAL. */
int log_set_level_option(const char *arg);

/* Returns -abs(error) so that callers can write `return log_error_errno(r, ...)`. */
int log_full_errno(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full(level, ...) ((void) log_full_errno((level), 0, __VA_ARGS__))
#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_oom() log_full_errno(LOG_ERR, ENOMEM, "out of memory")

/* The time an operation's phases take, for measuring (bench/skel): with
 * $HEARTH_TRACE_PHASES set, one line "trace: <ms> <phase>" on stderr per
 * call, ms since $HEARTH_TRACE_PHASES's value if that is a CLOCK_REALTIME
 * in ns (`date +%s%N` as the caller starts the program: exec and the
 * dynamic loader count), else since the first call. Off, it costs a getenv
 * once. */
void log_trace_phase(const char *phase);
