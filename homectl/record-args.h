/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "record-build.h"

/* The user record options of systemd 252's homectl that map one option to
 * one record field (--umask=, --luks-pbkdf-type=, …): their syntax, the
 * field and the section it goes to, as homectl 252 writes them. An empty
 * value removes the field (from every section, as homectl's
 * drop_from_identity() does). */

typedef struct RecordArg {
        const char *option;  /* long option, without "--" */
        int short_option;    /* 0 if none */
        const char *field;   /* record field */
        RecordSection section;
        int kind;            /* RecordArgKind, record-args.c */
        const char *help_arg; /* "BOOL", "SECS", … for error messages */
} RecordArg;

extern const RecordArg record_args[];
extern const size_t record_args_count;

/* getopt values of the table's options: RECORD_ARG_BASE + index. */
#define RECORD_ARG_BASE 0x1000

/* Parses arg for record_args[index] and records the change in c. Logs and
 * returns -EINVAL on bad syntax, -ENOMEM. */
int record_arg_parse(RecordChanges *c, size_t index, const char *arg);

/* -P: enforcePasswordPolicy false. */
int record_arg_no_password_policy(RecordChanges *c);

/* systemd's time span syntax ("5min", "1h 30s", "2.5d", a bare number of
 * seconds, "infinity") in µs. */
int parse_sec(const char *s, uint64_t *ret);

/* A point in time: "@SECONDS", "YYYY-MM-DD[ HH:MM[:SS]][ UTC]" (local time
 * unless UTC), "now", "today", "tomorrow", "yesterday", "+SPAN", "-SPAN",
 * "SPAN ago"; µs since the epoch. */
int parse_timestamp(const char *s, uint64_t *ret);
