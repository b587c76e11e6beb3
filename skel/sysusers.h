/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* sysusers.d(5): declarations of system users and groups.
 *
 * Files are read from /etc/sysusers.d, /run/sysusers.d,
 * /usr/local/lib/sysusers.d and /usr/lib/sysusers.d (below an optional root);
 * a file in an earlier directory overrides a same-named file in a later one,
 * and a symlink to /dev/null masks it. Files are processed in the order of
 * their names. */

typedef enum SysusersType {
        SYSUSERS_USER = 'u',
        SYSUSERS_GROUP = 'g',
        SYSUSERS_MEMBER = 'm',
        SYSUSERS_RANGE = 'r',
} SysusersType;

typedef struct SysusersEntry {
        SysusersType type;
        char *name;    /* user or group name; NULL ("-") for 'r' */
        char *id;      /* the ID field as written ("-", "42", "42:100", "42:grp", "/path", "1000-2000"), NULL for "-" */
        char *gecos;   /* NULL for "-" */
        char *home;    /* NULL for "-" */
        char *shell;   /* NULL for "-" */
        bool locked;   /* "u!" */
        char *file;    /* where it was declared, for messages */
        unsigned line;
} SysusersEntry;

typedef struct SysusersTable {
        SysusersEntry *entries;
        size_t n_entries;
} SysusersTable;

/* Parses one line. Returns 1 and fills *ret for an entry, 0 for a blank line
 * or comment, -EINVAL for a malformed line with *ret_error saying why (e.g.
 * "invalid user name \"9x\""). */
int sysusers_parse_line(const char *line, SysusersEntry *ret, char **ret_error);

/* Reads all configuration below root (NULL = "/"). Malformed lines are
 * logged with file:line and skipped, as systemd-sysusers does. */
int sysusers_load(const char *root, SysusersTable *ret);

void sysusers_entry_done(SysusersEntry *e);
void sysusers_table_done(SysusersTable *t);

/* A UID or GID as sysusers.d writes them: decimal, 0…4294967294 but not
 * 65535, no sign or white space. ret may be NULL. */
bool sysusers_parse_id(const char *s, uint32_t *ret);

/* The home directory a 'u' entry declares: its own field, else "/" (the
 * default systemd-sysusers uses). Never NULL for a 'u' entry. */
const char *sysusers_entry_home(const SysusersEntry *e);
