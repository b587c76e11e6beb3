/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "pool-tool.h"

/* homectl's exit statuses. The numbers, what they mean and which D-Bus
 * errors lead to them live in one table, exit-status.c; --help prints it. */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
        EXIT_POOL_PROBLEMS = POOL_TOOL_EXIT_PROBLEMS, /* pool check: as hearth-pool check */
        EXIT_NO_POOL = POOL_TOOL_EXIT_NO_POOL,
        EXIT_INVALID_RECORD = 65, /* EX_DATAERR */
        EXIT_NO_INPUT = 66,       /* EX_NOINPUT */
        EXIT_NO_SUCH_HOME = 67,   /* EX_NOUSER */
        EXIT_BUSY = 75,           /* EX_TEMPFAIL */
        EXIT_ACCESS_DENIED = 77,  /* EX_NOPERM */
        EXIT_BAD_PASSWORD = 79,
        EXIT_TPM_STATE_CHANGED = 80, /* the recovery key is the way in now */
        EXIT_TPM_UNAVAILABLE = 81,
        EXIT_FOREIGN_STORAGE = 82, /* the image is not provably the home's: refused, untouched */
};

/* The exit status for a failed D-Bus call: error name (may be NULL), else
 * the negative errno. */
int exit_status_from_bus_error(const char *name, int r);

/* What to say for an error that came without a message; NULL for most. */
const char *bus_error_default_message(const char *name);

/* What to do after an error, for the errors that have advice (after
 * TpmStateChanged: activate with the recovery key), naming user; NULL for
 * the others. Returns 0 or -ENOMEM. *ret must be freed. */
int bus_error_hint(const char *name, const char *user, char **ret);

/* True for the errors after which one more password may help. */
int bus_error_wants_password(const char *name);
/* TokenPinNeeded and BadPin…: asking for a PKCS#11 token's PIN may help. */
int bus_error_wants_pin(const char *name);

/* The "Exit status:" section of --help. */
void exit_status_print_help(FILE *f);
