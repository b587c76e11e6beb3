/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* What homectl firstboot decides without the bus, unit-tested: which
 * credentials it takes, what the kernel command line says, and who in a
 * passwd file counts as a regular user. */

#define FIRSTBOOT_CREDENTIAL_PREFIX "home.create."

/* The user a credential named "home.create.<user>" is for, pointing into
 * name; NULL if the name has another form or <user> is not a valid user
 * name. */
const char *firstboot_credential_user(const char *name);

/* The last systemd.firstboot= on a kernel command line, as systemd reads
 * it: words split at white space, double quotes grouping and removed,
 * nothing after "--" (those words are init's arguments). Returns 1 (yes, or
 * the bare word), 0 (no), -ENOENT if absent, -EINVAL for a value that is no
 * boolean. */
int firstboot_cmdline_get(const char *cmdline);

/* One line of a passwd or group file: name, the third field (UID or GID)
 * and, for passwd, the seventh (the shell; "" if empty). */
typedef struct ColonEntry {
        const char *name;
        uint32_t id;
        const char *shell;
} ColonEntry;

/* Splits line (modified in place). -EINVAL for a malformed line: a field
 * missing, an ID that is no number below 2^32-1, a name with bytes a user
 * name cannot have. */
int colon_line_parse(char *line, bool passwd, ColonEntry *ret);

/* Calls fn for each well-formed line of the file at path (at most 4096
 * lines' worth of bytes per line; malformed lines are skipped, as NSS does).
 * fn returns > 0 to stop: that value is returned. Returns 0 at the end, or
 * the -errno of opening the file (symlinks are not followed). */
typedef int (*ColonFn)(const ColonEntry *e, void *userdata);
int colon_file_scan(const char *path, bool passwd, ColonFn fn, void *userdata);

/* A shell one can log in with: empty (passwd(5): /bin/sh), or anything
 * but nologin, false and true. */
bool firstboot_shell_is_login(const char *shell);

/* A regular user, as homectl firstboot counts them: UID 1000–60513 (the
 * regular and the home range; nobody, dynamic and container users lie
 * above) with a login shell. */
bool firstboot_passwd_is_regular(const ColonEntry *e);
