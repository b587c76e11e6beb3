/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One parsed copy of /run/hearth/passwd or /run/hearth/group, as hearthd
 * writes them (passwd(5), group(5)), with indexes by name and by ID.
 *
 * The files are treated as hostile: a line that is too long, has a NUL or
 * control byte, the wrong number of fields, a name outside the portable set,
 * or an ID that is not a plain decimal number below 2^32-1 is skipped; the
 * file's size and the numbers of lines and members are bounded. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TABLE_FILE_MAX    (32u << 20) /* bytes; a larger file is refused */
#define TABLE_LINE_MAX    65536u      /* bytes; a longer line is skipped */
#define TABLE_ENTRIES_MAX 262144u     /* lines after that many entries are ignored */
#define TABLE_MEMBERS_MAX (1u << 20)  /* group members in the whole file */
#define TABLE_NAME_MAX    256u

typedef enum TableKind {
        TABLE_PASSWD,
        TABLE_GROUP,
} TableKind;

typedef struct PwEntry {
        const char *name, *passwd, *gecos, *dir, *shell;
        uid_t uid;
        gid_t gid;
} PwEntry;

typedef struct GrEntry {
        const char *name, *passwd;
        gid_t gid;
        uint32_t first_member, n_members; /* a range of Table.members */
} GrEntry;

typedef struct Table {
        TableKind kind;
        unsigned n_ref; /* not atomic: changed only with the module's cache lock held for writing */
        char *text;     /* the file, split in place; entries point into it */
        size_t n_entries;
        PwEntry *pw; /* TABLE_PASSWD, in file order */
        GrEntry *gr; /* TABLE_GROUP, in file order */
        const char **members;
        size_t n_members;
        size_t n_skipped; /* malformed lines (tests look at it) */
        /* Open addressing, entry index + 1 (0: empty); the first line with
         * a name or ID wins, as with nss_files. */
        uint32_t *by_name, *by_id;
        uint32_t mask;
} Table;

/* Parses text (len bytes, malloc'd with room for one more byte) and takes
 * it over, also on failure. Returns 0 or -ENOMEM. */
int table_parse(TableKind kind, char *text, size_t len, Table **ret);

Table *table_ref(Table *t);
void table_unref(Table *t);

/* Names the files may hold: 1 to TABLE_NAME_MAX of A-Z a-z 0-9 _ -, not
 * starting with a digit or '-' (the set hearthd writes; '+' and '-' lines
 * of the old NIS compat syntax, ',' and ':' can never be names). */
bool table_valid_name(const char *s);

const PwEntry *table_pw_by_name(const Table *t, const char *name);
const PwEntry *table_pw_by_uid(const Table *t, uid_t uid);
const GrEntry *table_gr_by_name(const Table *t, const char *name);
const GrEntry *table_gr_by_gid(const Table *t, gid_t gid);
bool table_gr_has_member(const Table *t, const GrEntry *g, const char *user);
