/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus-record-view.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "path-util.h"
#include "userdb.h"

#define USERDB_ERROR_NO_RECORD "io.systemd.UserDatabase.NoRecordFound"
#define USERDB_ERROR_BAD_SERVICE "io.systemd.UserDatabase.BadService"
#define USERDB_ERROR_CONFLICT "io.systemd.UserDatabase.ConflictingRecordFound"
#define USERDB_ERROR_NON_MATCHING "io.systemd.UserDatabase.NonMatchingRecordFound"
/* A name or filter string longer than this matches nothing of ours. */
#define USERDB_STRING_MAX 1024

typedef enum What { WHAT_USER, WHAT_GROUP, WHAT_MEMBERSHIP } What;

/* A call's parameters, checked; strings and arrays point into the call. */
typedef struct Query {
        What what;
        uid_t id;                 /* uid or gid; UID_INVALID: none */
        const char *name;         /* userName or groupName */
        const char *member;       /* GetMemberships: userName (name is groupName) */
        json_object *fuzzy_names; /* arrays of strings, or NULL */
        json_object *dispositions;
        uint64_t min, max;        /* uidMin/uidMax, gidMin/gidMax */
} Query;

/* A listing ("more"), one entry per run of the method: the names it
 * covers, taken when it started (homes come and go meanwhile: one gone is
 * skipped), and the entry to send next, made one ahead so that each reply
 * knows whether another follows. */
typedef struct Listing {
        Query q;
        char **users, **groups; /* memberships: pairs; else users only */
        size_t n, next;
        json_object *pending;
} Listing;

static void listing_free(void *p) {
        Listing *l = p;
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->users[i]);
                if (l->groups)
                        free(l->groups[i]);
        }
        free(l->users);
        free(l->groups);
        json_object_put(l->pending);
        free(l);
}

static bool listed(ManagedHome *h) {
        return h->record && h->name && valid_home_uid(h->uid);
}

static ManagedHome *find_name(Manager *m, const char *name) {
        ManagedHome *h = manager_find_by_name(m, name);
        return h && listed(h) ? h : NULL;
}

static ManagedHome *find_id(Manager *m, uid_t id) {
        ManagedHome *h = manager_find_by_uid(m, id);
        return h && listed(h) ? h : NULL;
}

static gid_t home_gid(ManagedHome *h) {
        return h->record->gid != GID_INVALID ? h->record->gid : h->uid;
}

static bool strv_has(const char **l, const char *s) {
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

static bool fuzzy_match(const Query *q, ManagedHome *h) {
        const char *fields[] = { h->name, h->record->real_name, h->record->email_address };

        if (!q->fuzzy_names)
                return true;
        for (size_t i = 0; i < json_object_array_length(q->fuzzy_names); i++) {
                const char *f = json_object_get_string(json_object_array_get_idx(q->fuzzy_names, i));
                for (size_t k = 0; k < ELEMENTSOF(fields); k++)
                        if (fields[k] && strcasestr(fields[k], f))
                                return true;
        }
        return false;
}

static bool disposition_match(const Query *q, ManagedHome *h) {
        /* homed's homes are regular users when their record says nothing. */
        UserDisposition d = h->record->disposition == USER_DISPOSITION_UNSET ? USER_DISPOSITION_REGULAR
                                                                               : h->record->disposition;
        if (!q->dispositions)
                return true;
        for (size_t i = 0; i < json_object_array_length(q->dispositions); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(q->dispositions, i)),
                           user_disposition_to_string(d)) == 0)
                        return true;
        return false;
}

/* The secondary filters (fuzzyNames, dispositionMask, the ID range). */
static bool filters_match(const Query *q, ManagedHome *h) {
        uint64_t id = q->what == WHAT_GROUP ? home_gid(h) : h->uid;
        return id >= q->min && id <= q->max && fuzzy_match(q, h) && disposition_match(q, h);
}

static int add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* {"record": …, "incomplete": …} as this peer may see it. */
static json_object *user_reply(VarlinkLink *link, ManagedHome *h) {
        uid_t peer = varlink_link_peer_uid(link);
        bool full = peer == 0 || peer == h->uid;
        _cleanup_json_ json_object *p = json_object_new_object();

        if (!p || add(p, "record", bus_record_view_json(h, full)) < 0 ||
            add(p, "incomplete", json_object_new_boolean(!full && (h->record->has_sections & USER_RECORD_PRIVILEGED))) < 0)
                return NULL;
        return TAKE_PTR(p);
}

/* Her own group, as homed makes it (group_record_synthesize()). */
static json_object *group_reply(ManagedHome *h) {
        _cleanup_json_ json_object *p = json_object_new_object(), *g = json_object_new_object();
        const char *mid = user_record_machine_id();
        _cleanup_free_ char *description = NULL;

        if (!p || !g || asprintf(&description, "Primary Group of User %s", h->name) < 0)
                return NULL;
        if (add(g, "groupName", json_object_new_string(h->name)) < 0 ||
            (h->record->realm && add(g, "realm", json_object_new_string(h->record->realm)) < 0) ||
            add(g, "description", json_object_new_string(description)) < 0 ||
            (h->record->disposition != USER_DISPOSITION_UNSET &&
             add(g, "disposition", json_object_new_string(user_disposition_to_string(h->record->disposition))) < 0))
                return NULL;
        if (mid) {
                json_object *binding = json_object_new_object(), *b = json_object_new_object();
                json_object *status = json_object_new_object(), *s = json_object_new_object();
                if (add(g, "binding", binding) < 0 || add(binding, mid, b) < 0 ||
                    add(b, "gid", json_object_new_int64(home_gid(h))) < 0 || add(g, "status", status) < 0 ||
                    add(status, mid, s) < 0 || add(s, "service", json_object_new_string(USERDB_SERVICE)) < 0)
                        return NULL;
        } else if (add(g, "gid", json_object_new_int64(home_gid(h))) < 0)
                return NULL;
        if (add(p, "record", TAKE_PTR(g)) < 0 || add(p, "incomplete", json_object_new_boolean(false)) < 0)
                return NULL;
        return TAKE_PTR(p);
}

static json_object *membership_reply(const char *user, const char *group) {
        _cleanup_json_ json_object *p = json_object_new_object();
        if (!p || add(p, "userName", json_object_new_string(user)) < 0 ||
            add(p, "groupName", json_object_new_string(group)) < 0)
                return NULL;
        return TAKE_PTR(p);
}

/* ---- parameters ---------------------------------------------------------- */

static bool string_array(json_object *v) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 64)
                return false;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *s = json_object_array_get_idx(v, i);
                if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) > USERDB_STRING_MAX)
                        return false;
        }
        return true;
}

static bool get_id(json_object *v, uint64_t *ret) {
        int64_t i;
        if (!json_object_is_type(v, json_type_int))
                return false;
        i = json_object_get_int64(v);
        /* (uid_t) -1 is no UID; json-c clamps what exceeds int64. */
        if (i < 0 || i >= (int64_t) UINT32_MAX)
                return false;
        *ret = (uint64_t) i;
        return true;
}

/* Returns 0 with q filled in, 1 when it answered the call (an invalid
 * parameter, a wrong service), or -ENOMEM. */
static int parse_query(VarlinkLink *link, const VarlinkCall *call, What what, Query *q) {
        const char *id_key = what == WHAT_GROUP ? "gid" : "uid", *name_key = what == WHAT_GROUP ? "groupName" : "userName";
        const char *min_key = what == WHAT_GROUP ? "gidMin" : "uidMin", *max_key = what == WHAT_GROUP ? "gidMax" : "uidMax";
        const char *service = NULL;
        uint64_t n = 0;

        *q = (Query) { .what = what, .id = UID_INVALID, .min = 0, .max = UINT32_MAX };
        json_object_object_foreach(call->parameters, key, v) {
                bool good;
                /* null is "not given", as systemd's dispatcher takes it. */
                if (!v)
                        continue;
                if (what != WHAT_MEMBERSHIP && strcmp(key, id_key) == 0) {
                        good = get_id(v, &n);
                        q->id = (uid_t) n;
                } else if (what == WHAT_MEMBERSHIP && strcmp(key, "userName") == 0) {
                        good = json_object_is_type(v, json_type_string);
                        q->member = json_object_get_string(v);
                } else if (strcmp(key, what == WHAT_MEMBERSHIP ? "groupName" : name_key) == 0) {
                        good = json_object_is_type(v, json_type_string);
                        q->name = json_object_get_string(v);
                } else if (strcmp(key, "service") == 0) {
                        good = json_object_is_type(v, json_type_string);
                        service = json_object_get_string(v);
                } else if (what != WHAT_MEMBERSHIP && strcmp(key, "fuzzyNames") == 0) {
                        good = string_array(v);
                        q->fuzzy_names = v;
                } else if (what != WHAT_MEMBERSHIP && strcmp(key, "dispositionMask") == 0) {
                        good = string_array(v);
                        q->dispositions = v;
                } else if (what != WHAT_MEMBERSHIP && strcmp(key, min_key) == 0)
                        good = get_id(v, &q->min);
                else if (what != WHAT_MEMBERSHIP && strcmp(key, max_key) == 0)
                        good = get_id(v, &q->max);
                else
                        good = false;
                if (!good)
                        return varlink_link_invalid_parameter(link, key) < 0 ? -ENOMEM : 1;
        }
        if (!service || strcmp(service, USERDB_SERVICE) != 0)
                return varlink_link_error(link, USERDB_ERROR_BAD_SERVICE, NULL) < 0 ? -ENOMEM : 1;
        return 0;
}

/* ---- answering ------------------------------------------------------------- */

static int reply_put(VarlinkLink *link, json_object *p, bool continues) {
        int r;
        if (!p)
                return -ENOMEM;
        r = varlink_link_reply(link, p, continues);
        json_object_put(p);
        return r;
}

static int no_record(VarlinkLink *link, const char *error) {
        return varlink_link_error(link, error, NULL);
}

/* The entry of the listing at i, or NULL if it is gone or filtered out. */
static json_object *render(Manager *m, VarlinkLink *link, Listing *l, size_t i, bool *oom) {
        json_object *p = NULL;
        ManagedHome *h = find_name(m, l->users[i]);

        if (!h)
                return NULL;
        if (l->q.what == WHAT_MEMBERSHIP) {
                if (!strv_has(h->record->member_of, l->groups[i]))
                        return NULL;
                p = membership_reply(h->name, l->groups[i]);
        } else if (!filters_match(&l->q, h))
                return NULL;
        else
                p = l->q.what == WHAT_USER ? user_reply(link, h) : group_reply(h);
        if (!p)
                *oom = true;
        return p;
}

static json_object *render_next(Manager *m, VarlinkLink *link, Listing *l, bool *oom) {
        while (l->next < l->n) {
                json_object *p = render(m, link, l, l->next++, oom);
                if (p || *oom)
                        return p;
        }
        return NULL;
}

static int push(Listing *l, const char *user, const char *group) {
        char *u = strdup(user), *g = group ? strdup(group) : NULL;
        if (!u || (group && !g)) {
                free(u);
                free(g);
                return -ENOMEM;
        }
        l->users[l->n] = u;
        if (l->groups)
                l->groups[l->n] = g;
        l->n++;
        return 0;
}

/* Every home, or the memberships q asks for. */
static int listing_new(Manager *m, const Query *q, Listing **ret) {
        Listing *l = calloc(1, sizeof *l);
        size_t cap = 0;
        int r = 0;

        if (!l)
                return -ENOMEM;
        l->q = *q;
        for (size_t i = 0; i < m->n_homes; i++)
                cap += q->what != WHAT_MEMBERSHIP ? 1
                       : listed(m->homes[i]) ? strv_length((char **) m->homes[i]->record->member_of) : 0;
        l->users = calloc(cap + 1, sizeof *l->users);
        if (q->what == WHAT_MEMBERSHIP)
                l->groups = calloc(cap + 1, sizeof *l->groups);
        if (!l->users || (q->what == WHAT_MEMBERSHIP && !l->groups)) {
                listing_free(l);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->n_homes && r >= 0; i++) {
                ManagedHome *h = m->homes[i];
                if (!listed(h) || (q->member && strcmp(q->member, h->name) != 0))
                        continue;
                if (q->what != WHAT_MEMBERSHIP) {
                        r = push(l, h->name, NULL);
                        continue;
                }
                for (const char **g = h->record->member_of; g && *g && r >= 0; g++)
                        if (!q->name || strcmp(q->name, *g) == 0)
                                r = push(l, h->name, *g);
        }
        if (r < 0) {
                listing_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

/* One run of a listing: the first time it sends nothing but makes it. */
static int run_listing(Manager *m, VarlinkLink *link, const VarlinkCall *call, const Query *q, void **state) {
        Listing *l = *state;
        bool oom = false;
        int r;

        if (!l) {
                r = listing_new(m, q, &l);
                if (r < 0)
                        return r;
                *state = l;
                l->pending = render_next(m, link, l, &oom);
                if (oom)
                        return -ENOMEM;
                if (!l->pending)
                        return no_record(link, USERDB_ERROR_NO_RECORD);
        }
        json_object *next = render_next(m, link, l, &oom);
        if (oom)
                return -ENOMEM;
        if (next && !call->more) {
                json_object_put(next);
                return varlink_link_error(link, VARLINK_ERROR_EXPECTED_MORE, NULL);
        }
        r = reply_put(link, TAKE_PTR(l->pending), next != NULL);
        l->pending = next;
        return r;
}

/* A user or group by name and/or ID. */
static int lookup(Manager *m, VarlinkLink *link, const Query *q) {
        ManagedHome *h = NULL, *by_id = q->id != UID_INVALID ? find_id(m, q->id) : NULL;

        if (q->name && strlen(q->name) <= USERDB_STRING_MAX)
                h = find_name(m, q->name);
        if (!h && !by_id)
                return no_record(link, USERDB_ERROR_NO_RECORD);
        /* A GID is her UID: find_id() found the group of the same number. */
        if ((q->name && q->id != UID_INVALID && h != by_id) ||
            (q->what == WHAT_GROUP && q->id != UID_INVALID && home_gid(h ?: by_id) != q->id))
                return no_record(link, USERDB_ERROR_CONFLICT);
        h = h ?: by_id;
        if (!filters_match(q, h))
                return no_record(link, USERDB_ERROR_NON_MATCHING);
        return reply_put(link, q->what == WHAT_USER ? user_reply(link, h) : group_reply(h), false);
}

static int method_record(VarlinkLink *link, const VarlinkCall *call, void **state, void *userdata, What what) {
        Manager *m = userdata;
        Query q;
        int r;

        if (*state) /* the next entry of a listing */
                return run_listing(m, link, call, &((Listing *) *state)->q, state);
        r = parse_query(link, call, what, &q);
        if (r != 0)
                return r < 0 ? r : 0;
        if (q.id == UID_INVALID && !q.name)
                return run_listing(m, link, call, &q, state);
        return lookup(m, link, &q);
}

static int method_user(VarlinkLink *link, const VarlinkCall *call, void **state, void *userdata) {
        return method_record(link, call, state, userdata, WHAT_USER);
}

static int method_group(VarlinkLink *link, const VarlinkCall *call, void **state, void *userdata) {
        return method_record(link, call, state, userdata, WHAT_GROUP);
}

static int method_memberships(VarlinkLink *link, const VarlinkCall *call, void **state, void *userdata) {
        Manager *m = userdata;
        Query q;
        int r;

        if (*state)
                return run_listing(m, link, call, &((Listing *) *state)->q, state);
        r = parse_query(link, call, WHAT_MEMBERSHIP, &q);
        if (r != 0)
                return r < 0 ? r : 0;
        return run_listing(m, link, call, &q, state);
}

static const VarlinkMethodEntry userdb_methods[] = {
        { "io.systemd.UserDatabase.GetUserRecord", method_user, listing_free },
        { "io.systemd.UserDatabase.GetGroupRecord", method_group, listing_free },
        { "io.systemd.UserDatabase.GetMemberships", method_memberships, listing_free },
        {}
};

int userdb_start(Manager *m, const char *dir) {
        _cleanup_free_ char *parent = NULL, *path = NULL;
        uint64_t idle_usec = 0;
        const char *e;
        char *slash;
        struct stat st;

        if (!dir || !dir[0])
                return 0;
        parent = strdup(dir);
        if (!parent || asprintf(&path, "%s/%s", dir, USERDB_SERVICE) < 0)
                return log_oom();
        slash = strrchr(parent, '/');
        if (slash)
                *(slash == parent ? slash + 1 : slash) = 0;
        if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_info("userdb: %s does not exist (no systemd here): not serving %s", parent, path);
                return 0;
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "userdb: cannot create %s: %m", dir);
        /* Tests only: a short idle timeout. */
        e = secure_getenv("HEARTH_VARLINK_IDLE_TIMEOUT_MSEC");
        if (e)
                idle_usec = strtoull(e, NULL, 10) * 1000;
        int r = varlink_server_new(m->event, path, userdb_methods, m, idle_usec, &m->userdb);
        if (r < 0)
                return r;
        log_info("userdb: serving %s", path);
        return 0;
}

void userdb_stop(Manager *m) {
        m->userdb = varlink_server_free(m->userdb);
}
