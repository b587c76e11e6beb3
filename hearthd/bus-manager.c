/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.home1.Manager at /org/freedesktop/home1. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "bus-error.h"
#include "bus-home.h"
#include "bus-manager.h"
#include "rebalance-run.h"
#include "bus-record-view.h"
#include "bus-util.h"
#include "home-mark.h"
#include "images.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "probe.h"
#include "secret.h"
#include "sysfs-block.h"
#include "uid-alloc.h"

static int no_such_home(sd_bus_error *error, const char *name) {
        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_HOME, "No home for user %s known", name);
}

static int home_by_name_arg(sd_bus_message *msg, Manager *m, ManagedHome **ret, sd_bus_error *error) {
        const char *name;
        int r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!valid_user_name(name))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "\"%.64s\" is not a valid user name", name);
        *ret = manager_find_by_name(m, name);
        return *ret ? 0 : no_such_home(error, name);
}

static int method_get_home_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ManagedHome *h;
        char buf[4096];
        int r = home_by_name_arg(msg, userdata, &h, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "usussso", (uint32_t) h->uid, managed_home_state(h),
                                          (uint32_t) h->uid, bus_record_real_name(h), managed_home_dir(h, buf, sizeof buf),
                                          bus_record_shell(h), h->path);
}

static int method_get_home_by_uid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ManagedHome *h;
        uint32_t uid;
        char buf[4096];
        int r = sd_bus_message_read(msg, "u", &uid);
        if (r < 0)
                return r;
        h = manager_find_by_uid(userdata, uid);
        if (!h)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_HOME, "No home for UID %u known", uid);
        return sd_bus_reply_method_return(msg, "ssussso", h->name, managed_home_state(h), (uint32_t) h->uid,
                                          bus_record_real_name(h), managed_home_dir(h, buf, sizeof buf),
                                          bus_record_shell(h), h->path);
}

static int reply_record(sd_bus_message *msg, ManagedHome *h) {
        bool full = bus_sees_privileged(msg, h);
        _cleanup_free_ char *json = bus_record_view(h, full);
        if (!json)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "sbo", json, !full, h->path);
}

static int method_get_user_record_by_name(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        ManagedHome *h;
        int r = home_by_name_arg(msg, userdata, &h, error);
        return r < 0 ? r : reply_record(msg, h);
}

static int method_get_user_record_by_uid(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint32_t uid;
        int r = sd_bus_message_read(msg, "u", &uid);
        if (r < 0)
                return r;
        ManagedHome *h = manager_find_by_uid(userdata, uid);
        if (!h)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_HOME, "No home for UID %u known", uid);
        return reply_record(msg, h);
}

static int method_list_homes(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        Manager *m = userdata;
        char buf[4096];
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(susussso)");
        for (size_t i = 0; r >= 0 && i < m->n_homes; i++) {
                ManagedHome *h = m->homes[i];
                r = sd_bus_message_append(reply, "(susussso)", h->name, (uint32_t) h->uid, managed_home_state(h),
                                          (uint32_t) h->uid, bus_record_real_name(h),
                                          managed_home_dir(h, buf, sizeof buf), bus_record_shell(h), h->path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

/* Methods on one home, by user name: the Home object's, shifted by one argument. */
static int method_on_home(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        static const struct {
                const char *manager, *home;
        } map[] = {
                { "ActivateHome", "Activate" },         { "DeactivateHome", "Deactivate" },
                { "UnregisterHome", "Unregister" },     { "RealizeHome", "Realize" },
                { "RemoveHome", "Remove" },             { "FixateHome", "Fixate" },
                { "AuthenticateHome", "Authenticate" }, { "ResizeHome", "Resize" },
                { "ChangePasswordHome", "ChangePassword" }, { "LockHome", "Lock" },
                { "UnlockHome", "Unlock" },             { "AcquireHome", "Acquire" },
                { "RefHome", "Ref" },                   { "ReleaseHome", "Release" },
        };
        const char *member = sd_bus_message_get_member(msg);
        ManagedHome *h;
        int r = home_by_name_arg(msg, userdata, &h, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(map[i].manager, member) == 0)
                        return bus_method_for_home(msg, h, map[i].home, error);
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_METHOD, "unknown method %s", member);
}

/* UpdateHome carries the user name inside the record. */
static int method_update_home(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_json_wipe_ json_object *j = NULL;
        _cleanup_free_ char *why = NULL;
        const char *text;
        json_object *name;
        int r;

        r = sd_bus_message_read(msg, "s", &text);
        if (r < 0)
                return r;
        r = access_precheck(&((Manager *) userdata)->access, msg, strlen(text), error);
        if (r < 0)
                return r;
        r = json_parse_strict(text, strlen(text), &j, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "record: %s", why ?: "invalid");
        if (!json_object_is_type(j, json_type_object) || !json_object_object_get_ex(j, "userName", &name) || !json_object_is_type(name, json_type_string))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "record: no userName");
        ManagedHome *h = manager_find_by_name(userdata, json_object_get_string(name));
        if (!h)
                return no_such_home(error, json_object_get_string(name));
        r = sd_bus_message_rewind(msg, true);
        if (r < 0)
                return r;
        return bus_method_for_home(msg, h, "Update", error);
}

/* ---- creating and registering ------------------------------------------------------ */

static bool uid_taken(uid_t uid, void *userdata) {
        return manager_uid_taken(userdata, uid);
}

static const char *default_storage(Manager *m) {
        struct statfs sfs;
        return statfs(m->home_root, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC ? "subvolume" : "directory";
}

/* Checks a new record against the homes we have and NSS, and binds it to
 * this machine: UID and GID, and storage if the record names none. */
/* The home whose record names the block device image too, if any: a new
 * home there would format another home's volume. */
/* The home whose storage image is, or holds, or is held by: under any
 * name (storage_paths_overlap()). */
static ManagedHome *image_taken(Manager *m, const char *image) {
        for (size_t i = 0; i < m->n_homes; i++) {
                const UserRecord *o = m->homes[i]->record;
                _cleanup_free_ char *theirs = NULL;
                if (!o || (o->storage != USER_STORAGE_LUKS && !o->image_path))
                        continue;
                if (luks_image_of(o, m->home_root, &theirs) < 0 || storage_paths_overlap(image, theirs) != 0)
                        return m->homes[i]; /* what cannot be told apart is taken */
        }
        return NULL;
}

static int prepare_new_record(Manager *m, UserRecord *rec, bool allocate, sd_bus_error *error) {
        const char *mid = user_record_machine_id();
        _cleanup_free_ char *why = NULL;
        json_object *binding, *mine;
        uid_t uid = rec->uid;
        int r;

        if (!mid)
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "this machine has no machine ID (/etc/machine-id)");
        if (manager_find_by_name(m, rec->user_name) || name_taken_nss(rec->user_name))
                return sd_bus_error_setf(error, BUS_ERROR_USER_NAME_EXISTS, "User name %s exists already",
                                         rec->user_name);
        ManagedHome *other = rec->image_path && strncmp(rec->image_path, "/dev/", 5) == 0
                                     ? image_taken(m, rec->image_path) : NULL;
        if (other)
                return sd_bus_error_setf(error, BUS_ERROR_HOME_EXISTS, "home %s: imagePath %s is the volume of home %s",
                                         rec->user_name, rec->image_path, other->name);
        if (uid != UID_INVALID) {
                if (!valid_home_uid(uid))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: uid must be between %u and %u",
                                                 rec->user_name, HOME_UID_MIN, HOME_UID_MAX);
                if (uid_taken(uid, m))
                        return sd_bus_error_setf(error, BUS_ERROR_UID_IN_USE, "UID %u is already in use",
                                                 (unsigned) uid);
        } else if (!allocate)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: record has no uid", rec->user_name);
        else if ((r = uid_alloc(rec->user_name, uid_taken, m, &uid)) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_UID_IN_USE, "no free UID between %u and %u",
                                         HOME_UID_MIN, HOME_UID_MAX);

        if (!json_object_object_get_ex(rec->json, "binding", &binding)) {
                binding = json_object_new_object();
                if (!binding || json_object_object_add(rec->json, "binding", binding) < 0)
                        return -ENOMEM;
        }
        if (!json_object_object_get_ex(binding, mid, &mine)) {
                mine = json_object_new_object();
                if (!mine || json_object_object_add(binding, mid, mine) < 0)
                        return -ENOMEM;
        }
        json_object_object_add(mine, "uid", json_object_new_int64(uid));
        json_object_object_add(mine, "gid", json_object_new_int64(uid));
        if (rec->storage == USER_STORAGE_UNSET)
                json_object_object_add(mine, "storage", json_object_new_string(default_storage(m)));
        r = user_record_refresh(rec, &why);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: record: %s", rec->user_name,
                                         why ?: "invalid");
        return 0;
}

static int parse_new_record(Manager *m, sd_bus_message *msg, UserRecord **ret, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL;
        const char *text;
        int r = sd_bus_message_read(msg, "s", &text);
        if (r < 0)
                return r;
        r = access_precheck(&m->access, msg, strlen(text), error);
        if (r < 0)
                return r;
        r = user_record_parse(text, strlen(text), ret, &why);
        bus_wipe_argument(text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "record: %s", why ?: "invalid");
        if (!(*ret)->user_name)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "record: userName: missing");
        return 0;
}

static int method_create_home(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_operation_ Operation *op = NULL;
        UserRecord *rec = NULL;
        int r;

        r = parse_new_record(m, msg, &rec, error);
        op = operation_new(OP_CREATE, rec ? rec->user_name : NULL, msg);
        if (!op) {
                user_record_free(rec);
                return -ENOMEM;
        }
        op->record = rec;
        if (r < 0)
                return r;
        const char *unsupported = user_record_unsupported(rec);
        if (unsupported)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "home %s: %s", rec->user_name, unsupported);
        /* Name, UID and NSS are checked once access is granted, so that
         * callers without it cannot make us do the lookups. */
        _cleanup_free_ char *why = NULL;
        /* A token's PIN too (homed's homectl sends it, not the token's
         * key): a LUKS home's worker decrypts the key with it. */
        r = secret_from_record(rec->json, rec->password, &op->secret, &why);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "%s", why ?: "secret: invalid");
        if (r < 0)
                return r;
        why = mfree(why);
        r = secret_recovery_from_record(rec->json, &op->recovery, &why);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "%s", why ?: "secret: recoveryKey: invalid");
        if (r < 0)
                return r;
        r = user_record_strip(rec, USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_SIGNATURE);
        if (r < 0)
                return r;
        access_check_then_run(&m->access, TAKE_PTR(op), UID_INVALID, ACCESS_ROOT_ONLY, HOME1_ACTION_CREATE_HOME,
                              bus_manager_home_granted, m);
        return 1;
}

static int method_register_home(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *reason = NULL, *dirty = NULL;
        const char *section;
        ManagedHome *h;
        uid_t uid = bus_sender_uid(msg);
        int r;

        if (uid != 0)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Access denied: RegisterHome needs root");
        r = parse_new_record(m, msg, &rec, error);
        if (r < 0)
                return r;
        /* A record from elsewhere, as homed takes it (user-record.h): what
         * bound it to its machine stays there. */
        section = user_record_unportable_section(rec);
        if (section)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS,
                                         "home %s: the record has a \"%s\" section, which a record registered here "
                                         "must not have (export it without: homectl inspect "
                                         "--export-format=stripped)", rec->user_name, section);
        /* Signed by a key this machine trusts, or by none (root vouches for
         * it, and it is signed here); never by an unknown key. */
        r = identity_store_verify(m->store, rec, "the record given", true, &reason);
        if (r == -ENOKEY || r == -EBADMSG)
                return sd_bus_error_setf(error, BUS_ERROR_BAD_SIGNATURE, "%s", reason);
        if (r < 0)
                return r;
        h = manager_find_by_name(m, rec->user_name);
        if (h && h->state == HOME_UNFIXATED)
                return sd_bus_error_setf(error, BUS_ERROR_USER_NAME_EXISTS,
                                         "home %s: found in %s and not fixated yet; authenticate as %s once to take "
                                         "the record it carries", rec->user_name, m->home_root, rec->user_name);
        r = prepare_new_record(m, rec, false, error);
        if (r < 0)
                return r;
        r = identity_store_save(m->store, rec);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "home %s: cannot store the record: %s",
                                         rec->user_name, strerror(-r));
        /* Its storage may be here already (a home brought along). */
        HomeState state = home_state_now(m->runtime_dir, m->home_root, rec, &dirty);
        r = manager_add_home(m, rec, state, &h);
        if (r < 0)
                return r;
        TAKE_PTR(rec);
        if (dirty) {
                log_warning("home %s: dirty: %s", h->name, dirty);
                h->dirty_reason = TAKE_PTR(dirty);
        }
        manager_flush_nss(m);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_adopt_home(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *path;
        uint64_t flags;
        int r;

        if (bus_sender_uid(msg) != 0)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Access denied: AdoptHome needs root");
        r = sd_bus_message_read(msg, "st", &path, &flags);
        if (r < 0)
                return r;
        if (flags != 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "flags must be 0");
        r = manager_adopt_image(m, path, error);
        if (r < 0)
                return r;
        manager_flush_nss(m);
        return sd_bus_reply_method_return(msg, NULL);
}

void bus_manager_home_granted(Operation *op, void *userdata) {
        Manager *m = userdata;
        ManagedHome *h;

        if (op->type == OP_CREATE) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                /* Another create may have taken the name or UID meanwhile. */
                int r = prepare_new_record(m, op->record, true, &error);
                if (r >= 0)
                        r = manager_add_home(m, op->record, HOME_ABSENT, &h);
                if (r < 0) {
                        if (!sd_bus_error_is_set(&error))
                                sd_bus_error_set_errno(&error, r);
                        operation_fail(op, error.name, "%s", error.message ?: "failed");
                        sd_bus_error_free(&error);
                        return;
                }
                op->record = NULL; /* the home's now */
                managed_home_enqueue(h, op);
                return;
        }
        h = manager_find_by_name(m, op->user_name);
        if (!h) {
                operation_fail(op, BUS_ERROR_NO_SUCH_HOME, "No home for user %s known", op->user_name);
                return;
        }
        managed_home_enqueue(h, op);
}

/* ---- all homes at once ----------------------------------------------------------------- */

typedef struct AllHomes {
        sd_bus_message *msg;
        unsigned pending;
        bool failed;
} AllHomes;

static void all_homes_step(Operation *op, const sd_bus_error *error, void *userdata) {
        AllHomes *a = userdata;
        if (error && !sd_bus_error_has_names(error, BUS_ERROR_HOME_NOT_ACTIVE, BUS_ERROR_HOME_LOCKED))
                a->failed = true;
        if (--a->pending > 0)
                return;
        if (a->failed)
                (void) sd_bus_reply_method_errorf(a->msg, BUS_ERROR_FAILED, "some homes could not be changed; see hearthd's log");
        else
                (void) sd_bus_reply_method_return(a->msg, NULL);
        sd_bus_message_unref(a->msg);
        free(a);
}

static int for_all_homes(sd_bus_message *msg, Manager *m, OperationType type, sd_bus_error *error) {
        if (bus_sender_uid(msg) != 0)
                return sd_bus_error_setf(error, BUS_ERROR_ACCESS_DENIED, "Access denied: %s needs root",
                                         sd_bus_message_get_member(msg));
        AllHomes *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->msg = sd_bus_message_ref(msg);
        a->pending = 1; /* ourselves, until every operation is queued */
        for (size_t i = 0; i < m->n_homes; i++) {
                ManagedHome *h = m->homes[i];
                if (h->state != HOME_ACTIVE)
                        continue;
                if (type == OP_LOCK && (h->record->storage != USER_STORAGE_LUKS || !home_refs_all_suspend(&h->refs)))
                        continue;
                Operation *op = operation_new(type, h->name, NULL);
                if (!op) {
                        a->failed = true;
                        continue;
                }
                op->done = all_homes_step;
                op->done_userdata = a;
                a->pending++;
                managed_home_enqueue(h, op);
        }
        all_homes_step(NULL, NULL, a);
        return 1;
}

static int method_lock_all(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return for_all_homes(msg, userdata, OP_LOCK, error);
}

static int method_deactivate_all(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return for_all_homes(msg, userdata, OP_DEACTIVATE, error);
}

static int method_rebalance(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return manager_rebalance_call(userdata, msg, error);
}

static int prop_auto_login(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                           void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "(sso)");
        for (size_t i = 0; r >= 0 && i < m->n_homes; i++) {
                ManagedHome *h = m->homes[i];
                if (h->record->auto_login > 0)
                        r = sd_bus_message_append(reply, "(sso)", h->name, "seat0", h->path);
        }
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED
#define SECRET (SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE)

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("AutoLogin", "a(sso)", prop_auto_login, 0, 0),
        SD_BUS_METHOD("GetHomeByName", "s", "usussso", method_get_home_by_name, UNPRIV),
        SD_BUS_METHOD("GetHomeByUID", "u", "ssussso", method_get_home_by_uid, UNPRIV),
        SD_BUS_METHOD("GetUserRecordByName", "s", "sbo", method_get_user_record_by_name, SECRET),
        SD_BUS_METHOD("GetUserRecordByUID", "u", "sbo", method_get_user_record_by_uid, SECRET),
        SD_BUS_METHOD("ListHomes", NULL, "a(susussso)", method_list_homes, UNPRIV),
        SD_BUS_METHOD("ActivateHome", "ss", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("DeactivateHome", "s", NULL, method_on_home, UNPRIV),
        SD_BUS_METHOD("RegisterHome", "s", NULL, method_register_home, SECRET),
        /* homed 258's: an image or .homedir found elsewhere, moved here. */
        SD_BUS_METHOD("AdoptHome", "st", NULL, method_adopt_home, UNPRIV),
        SD_BUS_METHOD("UnregisterHome", "s", NULL, method_on_home, UNPRIV),
        SD_BUS_METHOD("CreateHome", "s", NULL, method_create_home, SECRET),
        SD_BUS_METHOD("RealizeHome", "ss", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("RemoveHome", "s", NULL, method_on_home, UNPRIV),
        SD_BUS_METHOD("FixateHome", "ss", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("AuthenticateHome", "ss", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("UpdateHome", "s", NULL, method_update_home, SECRET),
        SD_BUS_METHOD("ResizeHome", "sts", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("ChangePasswordHome", "sss", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("LockHome", "s", NULL, method_on_home, UNPRIV),
        SD_BUS_METHOD("UnlockHome", "ss", NULL, method_on_home, SECRET),
        SD_BUS_METHOD("AcquireHome", "ssb", "h", method_on_home, SECRET),
        SD_BUS_METHOD("RefHome", "sb", "h", method_on_home, UNPRIV),
        SD_BUS_METHOD("ReleaseHome", "s", NULL, method_on_home, UNPRIV),
        SD_BUS_METHOD("LockAllHomes", NULL, NULL, method_lock_all, UNPRIV),
        SD_BUS_METHOD("DeactivateAllHomes", NULL, NULL, method_deactivate_all, UNPRIV),
        SD_BUS_METHOD("Rebalance", NULL, NULL, method_rebalance, UNPRIV),
        SD_BUS_VTABLE_END
};

int bus_manager_register(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                        manager_vtable, m);
}
