/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "table.h"
#include "user-record.h"

static inline void table_unrefp(Table **t) {
        table_unref(*t);
}

Table *table_ref(Table *t) {
        if (t)
                t->n_ref++;
        return t;
}

void table_unref(Table *t) {
        if (!t || --t->n_ref > 0)
                return;
        free(t->by_name);
        free(t->by_id);
        free(t->members);
        free(t->pw);
        free(t->gr);
        free(t->text);
        free(t);
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool table_valid_name(const char *s) {
        size_t n;

        if (!s || !(is_alpha(s[0]) || s[0] == '_'))
                return false;
        for (n = 1; s[n]; n++) {
                if (n >= TABLE_NAME_MAX)
                        return false;
                if (!(is_alpha(s[n]) || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
                        return false;
        }
        return true;
}

/* A plain decimal number: no sign, no space, no leading zero (whether
 * "010" means 8 or 10 depends on the reader), and never (uid_t) -1, which
 * the system calls take as "no change". */
static int parse_id(const char *s, uint32_t *ret) {
        uint64_t v = 0;

        if (!*s || (s[0] == '0' && s[1]))
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
                if (v >= UINT32_MAX)
                        return -EINVAL;
        }
        *ret = (uint32_t) v;
        return 0;
}

/* Splits line at ':' into at most max fields; more than max (or fewer than
 * max) make the line malformed. */
static bool split_fields(char *line, char **fields, size_t max) {
        size_t n = 0;

        fields[n++] = line;
        for (char *p = line; *p; p++) {
                if (*p != ':')
                        continue;
                if (n == max)
                        return false;
                *p = 0;
                fields[n++] = p + 1;
        }
        return n == max;
}

/* Arrays grow by doubling; the limits keep the sizes far from overflow. */
static int grow(void **array, size_t *cap, size_t need, size_t item) {
        size_t n = *cap ? *cap : 16;
        void *p;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        p = realloc(*array, n * item);
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = n;
        return 0;
}

static int parse_passwd_line(Table *t, char *line, size_t *cap) {
        char *f[7];
        uint32_t uid, gid;
        int r;

        if (!split_fields(line, f, ELEMENTSOF(f)))
                return -EINVAL;
        if (!table_valid_name(f[0]) || parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
                return -EINVAL;
        /* Whoever wrote the file, it names no one outside the homes' range:
         * never root, never a system user. */
        if (!valid_home_uid(uid) || !valid_home_uid(gid))
                return -EINVAL;
        r = grow((void **) &t->pw, cap, t->n_entries + 1, sizeof *t->pw);
        if (r < 0)
                return r;
        t->pw[t->n_entries++] = (PwEntry) {
                .name = f[0], .passwd = f[1], .uid = uid, .gid = gid,
                .gecos = f[4], .dir = f[5], .shell = f[6],
        };
        return 0;
}

static int parse_group_line(Table *t, char *line, size_t *cap, size_t *members_cap) {
        char *f[4];
        uint32_t gid;
        size_t first = t->n_members;
        int r;

        if (!split_fields(line, f, ELEMENTSOF(f)))
                return -EINVAL;
        if (!table_valid_name(f[0]) || parse_id(f[2], &gid) < 0 || gid == 0)
                return -EINVAL;
        /* "a,b": each member a valid name; an empty field is no member, but
         * an empty item ("a,,b", "a,") makes the line malformed. */
        for (char *m = f[3]; *m;) {
                char *comma = strchr(m, ',');
                if (comma)
                        *comma = 0;
                if (!table_valid_name(m) || t->n_members >= TABLE_MEMBERS_MAX) {
                        t->n_members = first;
                        return -EINVAL;
                }
                r = grow((void **) &t->members, members_cap, t->n_members + 1, sizeof *t->members);
                if (r < 0)
                        return r;
                t->members[t->n_members++] = m;
                if (!comma)
                        break;
                m = comma + 1;
                if (!*m) {
                        t->n_members = first;
                        return -EINVAL;
                }
        }
        r = grow((void **) &t->gr, cap, t->n_entries + 1, sizeof *t->gr);
        if (r < 0)
                return r;
        t->gr[t->n_entries++] = (GrEntry) {
                .name = f[0], .passwd = f[1], .gid = gid,
                .first_member = (uint32_t) first, .n_members = (uint32_t) (t->n_members - first),
        };
        return 0;
}

static bool has_control(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7F)
                        return true;
        return false;
}

/* ---- indexes ------------------------------------------------------------- */

static uint32_t hash_name(const char *s) {
        uint32_t h = 2166136261u; /* FNV-1a */
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 16777619u;
        }
        return h;
}

static uint32_t hash_id(uint32_t x) {
        /* IDs are often consecutive: mix them before masking. */
        x ^= x >> 16;
        x *= 0x45d9f3bu;
        x ^= x >> 16;
        return x;
}

static const char *name_at(const Table *t, uint32_t i) {
        return t->kind == TABLE_PASSWD ? t->pw[i].name : t->gr[i].name;
}

static uint32_t id_at(const Table *t, uint32_t i) {
        return t->kind == TABLE_PASSWD ? t->pw[i].uid : t->gr[i].gid;
}

static uint32_t find_name(const Table *t, const char *name) {
        for (uint32_t h = hash_name(name) & t->mask;; h = (h + 1) & t->mask) {
                uint32_t slot = t->by_name[h];
                if (slot == 0 || strcmp(name_at(t, slot - 1), name) == 0)
                        return h;
        }
}

static uint32_t find_id(const Table *t, uint32_t id) {
        for (uint32_t h = hash_id(id) & t->mask;; h = (h + 1) & t->mask) {
                uint32_t slot = t->by_id[h];
                if (slot == 0 || id_at(t, slot - 1) == id)
                        return h;
        }
}

static int build_indexes(Table *t) {
        size_t buckets = 16;

        /* At most half full, so every probe ends at an empty bucket. */
        while (buckets < 2 * t->n_entries)
                buckets *= 2;
        t->by_name = calloc(buckets, sizeof *t->by_name);
        t->by_id = calloc(buckets, sizeof *t->by_id);
        if (!t->by_name || !t->by_id)
                return -ENOMEM;
        t->mask = (uint32_t) (buckets - 1);
        for (uint32_t i = 0; i < t->n_entries; i++) {
                uint32_t h = find_name(t, name_at(t, i));
                if (t->by_name[h] == 0)
                        t->by_name[h] = i + 1;
                h = find_id(t, id_at(t, i));
                if (t->by_id[h] == 0)
                        t->by_id[h] = i + 1;
        }
        return 0;
}

/* ---- parsing --------------------------------------------------------------- */

int table_parse(TableKind kind, char *text, size_t len, Table **ret) {
        _cleanup_(table_unrefp) Table *t = calloc(1, sizeof *t);
        size_t cap = 0, members_cap = 0;
        char *p, *end;
        int r;

        if (!t) {
                free(text);
                return -ENOMEM;
        }
        t->kind = kind;
        t->n_ref = 1;
        t->text = text;
        text[len] = 0;

        for (p = text, end = text + len; p < end && t->n_entries < TABLE_ENTRIES_MAX;) {
                char *nl = memchr(p, '\n', (size_t) (end - p));
                char *e = nl ? nl : end;
                size_t n = (size_t) (e - p);

                *e = 0;
                if (n == 0 || p[0] == '#')
                        r = 0;
                else if (n > TABLE_LINE_MAX || has_control(p, n))
                        r = -EINVAL;
                else if (kind == TABLE_PASSWD)
                        r = parse_passwd_line(t, p, &cap);
                else
                        r = parse_group_line(t, p, &cap, &members_cap);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        t->n_skipped++;
                p = e + 1;
        }
        r = build_indexes(t);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- lookups ------------------------------------------------------------------ */

const PwEntry *table_pw_by_name(const Table *t, const char *name) {
        uint32_t slot;

        if (t->kind != TABLE_PASSWD)
                return NULL;
        slot = t->by_name[find_name(t, name)];
        return slot ? &t->pw[slot - 1] : NULL;
}

const PwEntry *table_pw_by_uid(const Table *t, uid_t uid) {
        uint32_t slot;

        if (t->kind != TABLE_PASSWD)
                return NULL;
        slot = t->by_id[find_id(t, uid)];
        return slot ? &t->pw[slot - 1] : NULL;
}

const GrEntry *table_gr_by_name(const Table *t, const char *name) {
        uint32_t slot;

        if (t->kind != TABLE_GROUP)
                return NULL;
        slot = t->by_name[find_name(t, name)];
        return slot ? &t->gr[slot - 1] : NULL;
}

const GrEntry *table_gr_by_gid(const Table *t, gid_t gid) {
        uint32_t slot;

        if (t->kind != TABLE_GROUP)
                return NULL;
        slot = t->by_id[find_id(t, gid)];
        return slot ? &t->gr[slot - 1] : NULL;
}

bool table_gr_has_member(const Table *t, const GrEntry *g, const char *user) {
        for (uint32_t i = 0; i < g->n_members; i++)
                if (strcmp(t->members[g->first_member + i], user) == 0)
                        return true;
        return false;
}
