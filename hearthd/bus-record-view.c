/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "bus-record-view.h"
#include "bus-util.h"
#include "identity-store.h"
#include "json-strict.h"
#include "macro.h"
#include "manager.h"

bool bus_sees_privileged(sd_bus_message *msg, ManagedHome *h) {
        uid_t uid = bus_sender_uid(msg);
        return uid == 0 || (uid != UID_INVALID && uid == h->uid);
}

const char *bus_record_real_name(ManagedHome *h) {
        return h->record->real_name ?: h->name;
}

const char *bus_record_shell(ManagedHome *h) {
        return h->record->shell ?: USER_RECORD_SHELL_DEFAULT;
}

/* Signed with this machine's key (identity_store_load() verified the
 * signature itself; this only tells whose key made it). */
static bool signed_locally(ManagedHome *h) {
        Keyring *kr;
        json_object *sigs;
        const char *mine;

        if (identity_store_keyring(h->manager->store, false, &kr) < 0 || !(mine = keyring_public_pem(kr)) ||
            !json_object_object_get_ex(h->record->json, "signature", &sigs) ||
            !json_object_is_type(sigs, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(sigs); i++) {
                json_object *key;
                if (json_object_object_get_ex(json_object_array_get_idx(sigs, i), "key", &key) &&
                    json_object_is_type(key, json_type_string) && strcmp(json_object_get_string(key), mine) == 0)
                        return true;
        }
        return false;
}

static int64_t status_int(json_object *status, const char *field) {
        json_object *v;
        if (!status || !json_object_object_get_ex(status, field, &v) || !json_object_is_type(v, json_type_int))
                return -1;
        return json_object_get_int64(v);
}

/* The fields homed adds to status for its clients (homectl inspect shows them). */
static void augment_status(ManagedHome *h, json_object *mine) {
        int64_t usage = status_int(mine, "diskUsage"), free_bytes = status_int(mine, "diskFree");
        int64_t floor = (int64_t) USER_RECORD_DISK_SIZE_MIN;

        json_object_object_add(mine, "state", json_object_new_string(managed_home_state(h)));
        json_object_object_add(mine, "service", json_object_new_string(USER_RECORD_SERVICE_HEARTH));
        json_object_object_add(mine, "signedLocally", json_object_new_boolean(signed_locally(h)));
        int64_t size = status_int(mine, "diskSize");
        if (usage > floor)
                floor = usage;
        json_object_object_add(mine, "diskFloor", json_object_new_int64(floor));
        if (usage >= 0 && free_bytes >= 0)
                json_object_object_add(mine, "diskCeiling", json_object_new_int64(usage + free_bytes));
        else if (size >= 0)
                json_object_object_add(mine, "diskCeiling", json_object_new_int64(size));
        if (h->state == HOME_DIRTY && h->dirty_reason)
                json_object_object_add(mine, "dirtyReason", json_object_new_string(h->dirty_reason));
}

json_object *bus_record_view_json(ManagedHome *h, bool full) {
        _cleanup_json_ json_object *j = user_record_without(h->record, USER_RECORD_SECRET | USER_RECORD_STATUS |
                                                                              (full ? 0 : USER_RECORD_PRIVILEGED));
        const char *mid = user_record_machine_id();
        if (!j)
                return NULL;
        if (mid) {
                json_object *status = json_object_new_object(), *mine = NULL;
                if (!status)
                        return NULL;
                if (h->status)
                        (void) json_object_deep_copy(h->status, &mine, NULL);
                if (!mine)
                        mine = json_object_new_object();
                if (!mine) {
                        json_object_put(status);
                        return NULL;
                }
                augment_status(h, mine);
                json_object_object_add(status, mid, mine);
                json_object_object_add(j, "status", status);
        }
        return TAKE_PTR(j);
}

char *bus_record_view(ManagedHome *h, bool full) {
        _cleanup_json_ json_object *j = bus_record_view_json(h, full);
        const char *s = j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : NULL;
        return s ? strdup(s) : NULL;
}
