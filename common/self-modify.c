/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The check is systemd's idea: take away from both records what the owner
 * may change, by the lists of the record as it is now (never as she sends
 * it, or she could list memberOf and add sudo in one go), and what is left
 * must be equal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "self-modify.h"

static const char *const default_fields[] = {
        "realName",
        "emailAddress",
        "iconName",
        "location",
        "umask",
        "environment",
        "timeZone",
        "preferredLanguage",
        "additionalLanguages",
        "preferredSessionLauncher",
        "preferredSessionType",
        NULL,
};

static const char *const default_blobs[] = {
        "avatar",
        "login-background",
        NULL,
};

static const char *const default_privileged[] = {
        "passwordHint",
        "sshAuthorizedKeys",
        NULL,
};

static const char *const nothing[] = { NULL };

/* Never the owner's, whatever a list says: the lists themselves and whole
 * sections (a list naming "privileged" must not open all of it). */
static const char *const never_hers[] = {
        "selfModifiableFields", "selfModifiableBlobs", "selfModifiablePrivileged",
        "privileged", "perMachine", "binding", "status", "signature", "secret", "blobManifest",
        NULL,
};

/* What services own and the owner's change never carries. */
static const char *const not_compared[] = {
        "lastChangeUSec", "status", "signature", "binding", "secret", NULL,
};

static bool listed(const char *const *l, const char *name) {
        for (; l && *l; l++)
                if (strcmp(*l, name) == 0)
                        return true;
        return false;
}

const char *const *self_modifiable_list(const UserRecord *rec, SelfModifiableList which) {
        const char **own = which == SELF_MODIFIABLE_FIELDS   ? rec->self_modifiable_fields
                           : which == SELF_MODIFIABLE_BLOBS  ? rec->self_modifiable_blobs
                                                             : rec->self_modifiable_privileged;
        if (own)
                return own;
        /* systemd gives the defaults to regular users only. */
        if (rec->disposition != USER_DISPOSITION_UNSET && rec->disposition != USER_DISPOSITION_REGULAR)
                return nothing;
        return which == SELF_MODIFIABLE_FIELDS  ? default_fields
               : which == SELF_MODIFIABLE_BLOBS ? default_blobs
                                                : default_privileged;
}

static int add(json_object *to, const char *key, json_object *v) {
        return json_object_object_add(to, key, json_object_get(v)) < 0 ? -ENOMEM : 0;
}

/* obj without the keys in allowed; NULL in *ret if nothing is left. */
static int without(json_object *obj, const char *const *allowed, bool guard, json_object **ret) {
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_foreach(obj, k, v) {
                if (listed(allowed, k) && !(guard && listed(never_hers, k)))
                        continue;
                if (add(o, k, v) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        if (json_object_object_length(o) == 0) {
                json_object_put(o);
                o = NULL;
        }
        *ret = o;
        return 0;
}

/* A regular section or a matching perMachine entry, without what she may change. */
static int reduce_section(const UserRecord *current, json_object *obj, json_object **ret) {
        _cleanup_json_ json_object *o = NULL, *blobs = NULL;
        json_object *manifest;
        int r;

        r = without(obj, self_modifiable_list(current, SELF_MODIFIABLE_FIELDS), true, &o);
        if (r < 0 || !o || !json_object_object_get_ex(o, "blobManifest", &manifest) ||
            !json_object_is_type(manifest, json_type_object)) {
                *ret = TAKE_PTR(o);
                return r;
        }
        r = without(manifest, self_modifiable_list(current, SELF_MODIFIABLE_BLOBS), false, &blobs);
        if (r < 0)
                return r;
        if (blobs)
                r = add(o, "blobManifest", blobs);
        else
                json_object_object_del(o, "blobManifest");
        *ret = TAKE_PTR(o);
        return r;
}

static int reduce(const UserRecord *current, const UserRecord *rec, json_object **ret) {
        _cleanup_json_ json_object *o = NULL, *top = NULL;
        json_object *v;
        int r;

        r = without(rec->json, not_compared, false, &top);
        if (r < 0)
                return r;
        if (!top)
                top = json_object_new_object();
        if (!top)
                return -ENOMEM;
        r = reduce_section(current, top, &o);
        if (r < 0)
                return r;
        if (!o)
                o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        if (json_object_object_get_ex(top, "privileged", &v) && json_object_is_type(v, json_type_object)) {
                _cleanup_json_ json_object *p = NULL;
                r = without(v, self_modifiable_list(current, SELF_MODIFIABLE_PRIVILEGED), false, &p);
                if (r < 0)
                        return r;
                if (p)
                        r = add(o, "privileged", p);
                else
                        json_object_object_del(o, "privileged");
                if (r < 0)
                        return r;
        }

        if (json_object_object_get_ex(top, "perMachine", &v) && json_object_is_type(v, json_type_array)) {
                _cleanup_json_ json_object *pm = json_object_new_array();
                if (!pm)
                        return -ENOMEM;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        _cleanup_json_ json_object *reduced = NULL;
                        /* Entries for other machines are not hers to touch at all. */
                        if (user_record_per_machine_matches(e)) {
                                r = reduce_section(current, e, &reduced);
                                if (r < 0)
                                        return r;
                        } else
                                reduced = json_object_get(e);
                        if (json_object_array_add(pm, reduced ? json_object_get(reduced) : json_object_new_object()) < 0)
                                return -ENOMEM;
                }
                if ((r = add(o, "perMachine", pm)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

/* The first key whose value differs between a and b, or NULL. */
static const char *first_difference(json_object *a, json_object *b) {
        json_object *w;
        json_object_object_foreach(a, k, v) {
                if (!json_object_object_get_ex(b, k, &w) || !json_object_equal(v, w))
                        return k;
        }
        json_object_object_foreach(b, k2, v2) {
                (void) v2;
                if (!json_object_object_get_ex(a, k2, NULL))
                        return k2;
        }
        return NULL;
}

int self_modify_allowed(const UserRecord *current, const UserRecord *incoming, char **ret_field) {
        _cleanup_json_ json_object *a = NULL, *b = NULL;
        int r;

        if ((r = reduce(current, current, &a)) < 0 || (r = reduce(current, incoming, &b)) < 0)
                return r;
        const char *k = first_difference(a, b);
        if (!k)
                return 1;
        if (ret_field) {
                json_object *pa = NULL, *pb = NULL;
                const char *inner = NULL;
                /* Name the privileged field, not the whole section. */
                if (strcmp(k, "privileged") == 0) {
                        json_object *empty = json_object_new_object();
                        if (!empty)
                                return -ENOMEM;
                        if (!json_object_object_get_ex(a, k, &pa))
                                pa = empty;
                        if (!json_object_object_get_ex(b, k, &pb))
                                pb = empty;
                        inner = first_difference(pa, pb);
                        r = asprintf(ret_field, "privileged.%s", inner ?: "");
                        json_object_put(empty);
                } else
                        r = (*ret_field = strdup(k)) ? 0 : -1;
                if (r < 0)
                        return -ENOMEM;
        }
        return 0;
}
