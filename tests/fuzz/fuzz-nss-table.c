/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the NSS module's file parser (nss/table.c), on what
 * /run/hearth/passwd or /run/hearth/group holds. The first byte picks the
 * kind; the rest is the file.
 *
 * Invariants: every entry is found again by its name and by its ID (the
 * first line with that name or ID wins, so the one found has the same
 * name or ID), every name is valid, every group's members are in range,
 * and no passwd entry names an ID outside the homes' range (never root). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "table.h"
#include "user-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Table *t = NULL;

        if (size < 1)
                return 0;
        TableKind kind = data[0] & 1 ? TABLE_GROUP : TABLE_PASSWD;
        size_t len = size - 1;
        char *text = malloc(len + 1); /* table_parse() wants room for one more byte */
        if (!text)
                return 0;
        memcpy(text, data + 1, len);
        if (table_parse(kind, text, len, &t) < 0)
                return 0; /* -ENOMEM; text is freed by table_parse() */

        for (size_t i = 0; i < t->n_entries; i++) {
                if (kind == TABLE_PASSWD) {
                        const PwEntry *e = &t->pw[i], *f;
                        if (!table_valid_name(e->name) || !e->passwd || !e->gecos || !e->dir || !e->shell)
                                abort();
                        if (!valid_home_uid(e->uid) || !valid_home_uid(e->gid))
                                abort();
                        if (!(f = table_pw_by_name(t, e->name)) || strcmp(f->name, e->name) != 0)
                                abort();
                        if (!(f = table_pw_by_uid(t, e->uid)) || f->uid != e->uid)
                                abort();
                } else {
                        const GrEntry *e = &t->gr[i], *f;
                        if (!table_valid_name(e->name) || !e->passwd || e->gid == 0)
                                abort();
                        if (e->first_member > t->n_members || e->n_members > t->n_members - e->first_member)
                                abort();
                        if (!(f = table_gr_by_name(t, e->name)) || strcmp(f->name, e->name) != 0)
                                abort();
                        if (!(f = table_gr_by_gid(t, e->gid)) || f->gid != e->gid)
                                abort();
                        for (uint32_t m = 0; m < e->n_members; m++)
                                if (!table_gr_has_member(t, e, t->members[e->first_member + m]))
                                        abort();
                        (void) table_gr_has_member(t, e, "root");
                }
        }
        (void) table_pw_by_name(t, "root");
        (void) table_gr_by_gid(t, 0);
        table_unref(t);
        return 0;
}
