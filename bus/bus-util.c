/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-names.h"
#include "bus-util.h"

uid_t bus_sender_uid(sd_bus_message *msg) {
        _cleanup_bus_creds_ sd_bus_creds *creds = NULL;
        uid_t uid;

        if (!msg || sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
            sd_bus_creds_get_euid(creds, &uid) < 0)
                return (uid_t) -1;
        return uid;
}

int bus_home_object_path(const char *name, char **ret) {
        return sd_bus_path_encode(HOME1_HOME_PATH_PREFIX, name, ret);
}
