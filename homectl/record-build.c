/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "password.h"
#include "record-build.h"
#include "secret.h"

void record_changes_done(RecordChanges *c) {
        for (size_t i = 0; i < c->n_member_of; i++)
                free(c->member_of[i]);
        free(c->member_of);
        c->member_of = NULL;
        c->n_member_of = 0;
        for (size_t i = 0; i < c->n_extra; i++)
                json_object_put(c->extra[i].value);
        free(c->extra);
        c->extra = NULL;
        c->n_extra = 0;
        json_object_put(c->rlimits);
        json_object_put(c->rlimits_drop);
        c->rlimits = c->rlimits_drop = NULL;
}

int record_changes_set(RecordChanges *c, RecordSection section, const char *key, json_object *value) {
        for (size_t i = 0; i < c->n_extra; i++)
                if (strcmp(c->extra[i].key, key) == 0) {
                        json_object_put(c->extra[i].value);
                        c->extra[i].value = value;
                        c->extra[i].section = section;
                        return 0;
                }
        RecordExtra *l = realloc(c->extra, (c->n_extra + 1) * sizeof *l);
        if (!l) {
                json_object_put(value);
                return -ENOMEM;
        }
        c->extra = l;
        c->extra[c->n_extra++] = (RecordExtra) { .section = section, .key = key, .value = value };
        return 0;
}

json_object *record_changes_get(const RecordChanges *c, const char *key) {
        for (size_t i = 0; i < c->n_extra; i++)
                if (strcmp(c->extra[i].key, key) == 0)
                        return c->extra[i].value;
        return NULL;
}

bool record_changes_tpm2_any(const RecordChanges *c) {
        return c->tpm2_set || c->tpm2_pcrs_set || c->tpm2_keep_password_set;
}

bool record_changes_any(const RecordChanges *c) {
        return c->real_name || c->email_address || c->shell || c->storage || c->fs_type || c->image_path ||
               c->member_of_set || c->uid_set || c->disk_size_set || c->auto_resize_mode || c->rebalance_weight_set ||
               record_changes_tpm2_any(c) || c->n_extra > 0 || c->rlimits || c->rlimits_drop;
}

int tpm2_pcrs_parse(const char *s, uint32_t *ret) {
        uint32_t mask = 0;

        if (!s[0]) {
                *ret = 0;
                return 0;
        }
        for (const char *p = s;;) {
                unsigned n = 0;
                size_t digits = strspn(p, "0123456789");
                /* Three digits would already be out of range; the bound also
                 * keeps n from overflowing. */
                if (digits == 0 || digits > 2 || (p[digits] && p[digits] != ','))
                        return -EINVAL;
                for (size_t i = 0; i < digits; i++)
                        n = n * 10 + (unsigned) (p[i] - '0');
                if (n > TPM2_PCR_MAX)
                        return -EINVAL;
                mask |= UINT32_C(1) << n;
                p += digits;
                if (!*p)
                        break;
                p++; /* the comma; an entry must follow */
        }
        *ret = mask;
        return 0;
}

int record_changes_add_groups(RecordChanges *c, const char *arg) {
        c->member_of_set = true;
        if (!arg[0]) {
                record_changes_done(c);
                return 0;
        }
        for (const char *p = arg;;) {
                size_t n = strcspn(p, ",");
                _cleanup_free_ char *g = strndup(p, n);
                if (!g)
                        return -ENOMEM;
                if (!valid_user_name(g))
                        return -EINVAL;
                bool dup = false;
                for (size_t i = 0; i < c->n_member_of; i++)
                        dup = dup || strcmp(c->member_of[i], g) == 0;
                if (!dup) {
                        char **l = realloc(c->member_of, (c->n_member_of + 1) * sizeof *l);
                        if (!l)
                                return -ENOMEM;
                        c->member_of = l;
                        c->member_of[c->n_member_of++] = TAKE_PTR(g);
                }
                if (!p[n])
                        return 0;
                p += n + 1;
        }
}

static int set_string(json_object *j, const char *key, const char *value) {
        if (!value)
                return 0;
        if (!value[0]) {
                json_object_object_del(j, key);
                return 0;
        }
        json_object *s = json_object_new_string(value);
        if (!s || json_object_object_add(j, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int set_u64(json_object *j, const char *key, bool set, uint64_t value, uint64_t remove) {
        if (!set)
                return 0;
        if (value == remove) {
                json_object_object_del(j, key);
                return 0;
        }
        json_object *v = json_object_new_uint64(value);
        if (!v || json_object_object_add(j, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int set_list(json_object *j, const char *key, char *const *l, size_t n) {
        if (n == 0) {
                json_object_object_del(j, key);
                return 0;
        }
        json_object *a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_new_string(l[i]);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        if (json_object_object_add(j, key, a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        return 0;
}

static int set_bool(json_object *j, const char *key, bool set, bool value) {
        if (!set)
                return 0;
        json_object *v = json_object_new_boolean(value);
        if (!v || json_object_object_add(j, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* An empty mask is an empty list ("no PCRs"), not a removal: without the
 * field the worker binds to PCR 7. */
static int set_pcrs(json_object *j, bool set, uint32_t mask) {
        if (!set)
                return 0;
        json_object *a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        for (int i = 0; i <= TPM2_PCR_MAX; i++) {
                if (!(mask & (UINT32_C(1) << i)))
                        continue;
                json_object *n = json_object_new_int(i);
                if (!n || json_object_array_add(a, n) < 0) {
                        json_object_put(n);
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        if (json_object_object_add(j, "tpm2Pcrs", a) < 0) {
                json_object_put(a);
                return -ENOMEM;
        }
        return 0;
}

/* The perMachine entry homectl writes for this machine: matchMachineId is
 * exactly this ID (as a string or a one-entry list) and nothing else is
 * matched. Created (appended) if create is set and none exists. */
static json_object *this_machine_entry(json_object *j, const char *machine_id, bool create) {
        json_object *pm, *e, *m;

        if (!json_object_object_get_ex(j, "perMachine", &pm) || !json_object_is_type(pm, json_type_array)) {
                if (!create)
                        return NULL;
                pm = json_object_new_array();
                if (!pm || json_object_object_add(j, "perMachine", pm) < 0) {
                        json_object_put(pm);
                        return NULL;
                }
        }
        for (size_t i = 0; i < json_object_array_length(pm); i++) {
                e = json_object_array_get_idx(pm, i);
                if (!json_object_is_type(e, json_type_object) || json_object_object_get_ex(e, "matchHostname", NULL) ||
                    !json_object_object_get_ex(e, "matchMachineId", &m))
                        continue;
                if (json_object_is_type(m, json_type_array) && json_object_array_length(m) == 1)
                        m = json_object_array_get_idx(m, 0);
                if (json_object_is_type(m, json_type_string) && strcmp(json_object_get_string(m), machine_id) == 0)
                        return e;
        }
        if (!create)
                return NULL;

        /* A string, as homectl 252 writes it. */
        _cleanup_json_ json_object *n = json_object_new_object(), *id = json_object_new_string(machine_id);
        if (!n || !id)
                return NULL;
        if (json_object_object_add(n, "matchMachineId", json_object_get(id)) < 0)
                return NULL;
        if (json_object_array_add(pm, json_object_get(n)) < 0) {
                json_object_put(n);
                return NULL;
        }
        return n; /* the array holds the reference now */
}

static bool machine_changes_any(const RecordChanges *c) {
        return c->storage || c->fs_type || c->image_path || c->disk_size_set;
}

static int apply_machine(json_object *j, const RecordChanges *c) {
        int r;
        if ((r = set_string(j, "storage", c->storage)) < 0 || (r = set_string(j, "fileSystemType", c->fs_type)) < 0 ||
            (r = set_string(j, "imagePath", c->image_path)) < 0 ||
            (r = set_u64(j, "diskSize", c->disk_size_set && !c->disk_size_relative_set, c->disk_size,
                         UINT64_MAX)) < 0 ||
            (r = set_u64(j, "diskSizeRelative", c->disk_size_relative_set, c->disk_size_relative,
                         UINT64_MAX)) < 0)
                return r;
        return 0;
}

static int section(json_object *j, const char *name, json_object **ret);

/* As homectl's drop_from_identity(): the field goes from the regular
 * section, this machine's entry and the privileged section. */
static int apply_extra(json_object *j, const RecordChanges *c, const char *machine_id) {
        for (size_t i = 0; i < c->n_extra; i++) {
                const RecordExtra *x = &c->extra[i];
                json_object *to = j, *e = machine_id ? this_machine_entry(j, machine_id, false) : NULL, *priv;
                int r;

                if (!x->value) {
                        json_object_object_del(j, x->key);
                        if (e)
                                json_object_object_del(e, x->key);
                        if (json_object_object_get_ex(j, "privileged", &priv) &&
                            json_object_is_type(priv, json_type_object))
                                json_object_object_del(priv, x->key);
                        continue;
                }
                if (x->section == RECORD_SECTION_MACHINE && machine_id) {
                        if (!(to = this_machine_entry(j, machine_id, true)))
                                return -ENOMEM;
                } else if (x->section == RECORD_SECTION_PRIVILEGED) {
                        if ((r = section(j, "privileged", &to)) < 0)
                                return r;
                }
                if (json_object_object_add(to, x->key, json_object_get(x->value)) < 0) {
                        json_object_put(x->value);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int apply_rlimits(json_object *j, const RecordChanges *c) {
        json_object *old;
        _cleanup_json_ json_object *n = json_object_new_object();

        if (!c->rlimits && !c->rlimits_drop)
                return 0;
        if (!n)
                return -ENOMEM;
        if (json_object_object_get_ex(j, "resourceLimits", &old) && json_object_is_type(old, json_type_object)) {
                json_object_object_foreach(old, k, v) {
                        if (c->rlimits_drop && json_object_object_get_ex(c->rlimits_drop, k, NULL))
                                continue;
                        if (json_object_object_add(n, k, json_object_get(v)) < 0)
                                return -ENOMEM;
                }
        }
        if (c->rlimits) {
                json_object_object_foreach(c->rlimits, k2, v2) {
                        if (json_object_object_add(n, k2, json_object_get(v2)) < 0)
                                return -ENOMEM;
                }
        }
        if (json_object_object_length(n) == 0) {
                json_object_object_del(j, "resourceLimits");
                return 0;
        }
        return json_object_object_add(j, "resourceLimits", TAKE_PTR(n)) < 0 ? -ENOMEM : 0;
}

int record_apply_changes(json_object *j, const RecordChanges *c, const char *machine_id) {
        int r;

        if ((r = set_string(j, "realName", c->real_name)) < 0 ||
            (r = set_string(j, "emailAddress", c->email_address)) < 0 || (r = set_string(j, "shell", c->shell)) < 0 ||
            (r = set_u64(j, "uid", c->uid_set, c->uid, UID_INVALID)) < 0)
                return r;
        if (c->member_of_set && (r = set_list(j, "memberOf", c->member_of, c->n_member_of)) < 0)
                return r;
        if ((r = set_string(j, "autoResizeMode", c->auto_resize_mode)) < 0)
                return r;
        /* As homectl 252: the weight is set at the top level, and removed
         * from this machine's entry, where --disk-size= put 0. */
        if (c->rebalance_weight_set && machine_id) {
                json_object *e = this_machine_entry(j, machine_id, false);
                if (e)
                        json_object_object_del(e, "rebalanceWeight");
        }
        /* homed spells "never rebalanced" false: it takes no 0. */
        if (c->rebalance_weight_set && c->rebalance_weight == 0)
                r = set_bool(j, "rebalanceWeight", true, false);
        else
                r = set_u64(j, "rebalanceWeight", c->rebalance_weight_set, c->rebalance_weight, UINT64_MAX);
        if (r < 0)
                return r;
        if ((r = set_bool(j, "tpm2", c->tpm2_set, c->tpm2)) < 0 ||
            (r = set_pcrs(j, c->tpm2_pcrs_set, c->tpm2_pcrs)) < 0 ||
            (r = set_bool(j, "tpm2KeepPassword", c->tpm2_keep_password_set, c->tpm2_keep_password)) < 0)
                return r;

        if ((r = apply_extra(j, c, machine_id)) < 0)
                return r;
        /* homectl 252 keeps them in this machine's entry. */
        if (c->rlimits || c->rlimits_drop) {
                json_object *e = machine_id ? this_machine_entry(j, machine_id, true) : j;
                if (!e)
                        return -ENOMEM;
                if ((r = apply_rlimits(e, c)) < 0)
                        return r;
        }

        if (!machine_changes_any(c))
                return 0;
        if (!machine_id)
                return apply_machine(j, c);

        /* A removal ("--storage=") removes the field wherever it would apply
         * here: at the top level as well as in this machine's entry. */
        RecordChanges removals = {
                .storage = c->storage && !c->storage[0] ? "" : NULL,
                .fs_type = c->fs_type && !c->fs_type[0] ? "" : NULL,
                .image_path = c->image_path && !c->image_path[0] ? "" : NULL,
                .disk_size_set = c->disk_size_set && c->disk_size == UINT64_MAX,
                .disk_size = UINT64_MAX,
        };
        if ((r = apply_machine(j, &removals)) < 0)
                return r;

        json_object *e = this_machine_entry(j, machine_id, true);
        if (!e)
                return -ENOMEM;
        if ((r = apply_machine(e, c)) < 0)
                return r;
        /* homectl 252: a size given by hand turns rebalancing off for this
         * machine (rebalanceWeight 0 in its entry); "--disk-size=" removes
         * the size, relative size and weight wherever they are. */
        if (c->disk_size_relative_set) {
                /* A share replaces the size wherever it is. */
                json_object_object_del(j, "diskSize");
                json_object_object_del(e, "diskSize");
                return set_u64(e, "rebalanceWeight", true, 0, UINT64_MAX);
        }
        if (c->disk_size_set && c->disk_size != UINT64_MAX)
                return set_u64(e, "rebalanceWeight", true, 0, UINT64_MAX);
        if (c->disk_size_set) {
                json_object_object_del(j, "rebalanceWeight");
                json_object_object_del(j, "diskSizeRelative");
                json_object_object_del(e, "rebalanceWeight");
                json_object_object_del(e, "diskSizeRelative");
        }
        return 0;
}

static int set_time(json_object *j, const char *key, uint64_t usec) {
        return set_u64(j, key, true, usec, UINT64_MAX);
}

static int section(json_object *j, const char *name, json_object **ret) {
        json_object *s;
        if (json_object_object_get_ex(j, name, &s) && json_object_is_type(s, json_type_object)) {
                *ret = s;
                return 0;
        }
        s = json_object_new_object();
        if (!s || json_object_object_add(j, name, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static int set_secret_json(json_object *j, const Passwords *p) {
        json_object *old, *s;
        int r;

        if (json_object_object_get_ex(j, "secret", &old))
                json_object_wipe_strings(old);
        json_object_object_del(j, "secret");
        if (!p || p->n == 0)
                return 0;
        if ((r = section(j, "secret", &s)) < 0)
                return r;
        return set_list(s, "password", p->list, p->n);
}

int record_set_secret(UserRecord *rec, const Passwords *p) {
        int r = set_secret_json(rec->json, p);
        if (r < 0)
                return r;
        return user_record_refresh(rec, NULL);
}

static int set_passwords(json_object *j, const Passwords *p, uint64_t now) {
        json_object *priv, *hashes;
        int r;

        if (!p || p->n == 0)
                return 0;
        if ((r = set_secret_json(j, p)) < 0)
                return r;
        if ((r = section(j, "privileged", &priv)) < 0)
                return r;
        hashes = json_object_new_array();
        if (!hashes)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                _cleanup_free_ char *h = NULL;
                json_object *s;
                if ((r = password_hash(p->list[i], &h)) < 0) {
                        json_object_put(hashes);
                        return r;
                }
                s = json_object_new_string(h);
                if (!s || json_object_array_add(hashes, s) < 0) {
                        json_object_put(s);
                        json_object_put(hashes);
                        return -ENOMEM;
                }
        }
        if (json_object_object_add(priv, "hashedPassword", hashes) < 0) {
                json_object_put(hashes);
                return -ENOMEM;
        }
        return set_time(j, "lastPasswordChangeUSec", now);
}

_printf_(2, 3) static int fail(char **ret_error, const char *fmt, ...) {
        va_list ap;
        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static bool top_bool(json_object *j, const char *key) {
        json_object *v;
        return j && json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

bool record_wants_tpm2(json_object *j) {
        return top_bool(j, "tpm2");
}

bool record_tpm2_keeps_password(json_object *j) {
        return top_bool(j, "tpm2KeepPassword");
}

int record_tpm2_check(json_object *j, UserStorage storage, char **ret_error) {
        json_object *v;
        uint32_t seen = 0;

        if (ret_error)
                *ret_error = NULL;
        if (json_object_object_get_ex(j, "tpm2", &v) && !json_object_is_type(v, json_type_boolean))
                return fail(ret_error, "tpm2: must be a boolean");
        if (json_object_object_get_ex(j, "tpm2KeepPassword", &v) && !json_object_is_type(v, json_type_boolean))
                return fail(ret_error, "tpm2KeepPassword: must be a boolean");
        if (json_object_object_get_ex(j, "tpm2Pcrs", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        return fail(ret_error, "tpm2Pcrs: must be a list of PCR numbers 0-%d", TPM2_PCR_MAX);
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        int64_t n;
                        if (!json_object_is_type(e, json_type_int))
                                return fail(ret_error, "tpm2Pcrs: must be a list of PCR numbers 0-%d",
                                            TPM2_PCR_MAX);
                        n = json_object_get_int64(e);
                        if (n < 0 || n > TPM2_PCR_MAX)
                                return fail(ret_error, "tpm2Pcrs: %" PRId64 " is no PCR number (0-%d)", n,
                                            TPM2_PCR_MAX);
                        if (seen & (UINT32_C(1) << n))
                                return fail(ret_error, "tpm2Pcrs: PCR %" PRId64 " is listed twice", n);
                        seen |= UINT32_C(1) << n;
                }
        }
        if (record_wants_tpm2(j) && storage != USER_STORAGE_LUKS) {
                if (storage == USER_STORAGE_UNSET)
                        fail(ret_error, "tpm2: a TPM2-sealed key needs storage luks; the record sets none");
                else
                        fail(ret_error, "tpm2: a TPM2-sealed key needs storage luks, not %s",
                             user_storage_to_string(storage));
                return -EMEDIUMTYPE;
        }
        return 0;
}

int record_build_create(json_object *base, const char *user_name, const RecordChanges *c, const char *machine_id,
                        const Passwords *passwords, uint64_t now, UserRecord **ret, char **ret_error) {
        _cleanup_json_wipe_ json_object *j = base;
        _cleanup_user_record_ UserRecord *rec = NULL;
        json_object *v;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!j && !(j = json_object_new_object()))
                return -ENOMEM;
        if (!json_object_is_type(j, json_type_object))
                return fail(ret_error, "a user record must be a JSON object");

        if (json_object_object_get_ex(j, "userName", &v)) {
                if (user_name && json_object_is_type(v, json_type_string) &&
                    strcmp(json_object_get_string(v), user_name) != 0)
                        return fail(ret_error, "userName: the record names \"%s\", the command line \"%s\"",
                                    json_object_get_string(v), user_name);
        } else if (!user_name)
                return fail(ret_error, "userName: required");
        if (user_name && (r = set_string(j, "userName", user_name)) < 0)
                return r;
        if (!json_object_object_get_ex(j, "disposition", NULL) && (r = set_string(j, "disposition", "regular")) < 0)
                return r;

        if ((r = record_apply_changes(j, c, machine_id)) < 0)
                return r;
        if ((r = set_passwords(j, passwords, now)) < 0)
                return r;
        if ((r = set_time(j, "lastChangeUSec", now)) < 0)
                return r;

        r = user_record_from_json(TAKE_PTR(j), &rec, ret_error);
        if (r < 0)
                return r;
        /* Left unset, hearthd would pick a directory or subvolume, where a
         * TPM2 key means nothing: --tpm2 alone makes a LUKS home. */
        if (record_wants_tpm2(rec->json) && rec->storage == USER_STORAGE_UNSET) {
                RecordChanges luks = { .storage = "luks" };
                if ((r = record_apply_changes(rec->json, &luks, machine_id)) < 0)
                        return r;
                if ((r = user_record_refresh(rec, ret_error)) < 0)
                        return r;
        }
        if ((r = record_tpm2_check(rec->json, rec->storage, ret_error)) < 0)
                return r;
        *ret = TAKE_PTR(rec);
        return 0;
}

int record_build_update(const UserRecord *old, const RecordChanges *c, const char *machine_id, uint64_t now,
                        UserRecord **ret, char **ret_error) {
        _cleanup_json_wipe_ json_object *j = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_json_ json_object *shallow = NULL;
        uint64_t last;
        int r;

        if (ret_error)
                *ret_error = NULL;
        shallow = user_record_without(old, USER_RECORD_BINDING | USER_RECORD_STATUS | USER_RECORD_SIGNATURE |
                                                   USER_RECORD_SECRET);
        if (!shallow)
                return -ENOMEM;
        /* Members are shared with old; edit a copy. */
        if (json_object_deep_copy(shallow, &j, NULL) < 0)
                return -ENOMEM;

        if ((r = record_apply_changes(j, c, machine_id)) < 0)
                return r;

        last = old->last_change_usec;
        if (last != UINT64_MAX && now <= last)
                now = last + 1;
        if ((r = set_time(j, "lastChangeUSec", now)) < 0)
                return r;

        r = user_record_from_json(TAKE_PTR(j), &rec, ret_error);
        if (r < 0)
                return r;
        if ((r = record_tpm2_check(rec->json, old->storage, ret_error)) < 0)
                return r;
        *ret = TAKE_PTR(rec);
        return 0;
}

int record_set_recovery_keys(UserRecord *rec, const Passwords *keys) {
        json_object *s, *old;
        int r;

        if ((r = section(rec->json, "secret", &s)) < 0)
                return r;
        if (json_object_object_get_ex(s, "recoveryKey", &old))
                json_object_wipe_strings(old);
        if ((r = set_list(s, "recoveryKey", keys->list, keys->n)) < 0)
                return r;
        return user_record_refresh(rec, NULL);
}

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}
