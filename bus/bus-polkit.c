/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "bus-polkit.h"
#include "bus-util.h"
#include "log.h"

int bus_polkit_check_async(sd_bus *bus, sd_bus_message *msg, const char *action, bool interactive,
                           uint64_t timeout_usec, sd_bus_message_handler_t callback, void *userdata,
                           sd_bus_slot **ret_slot) {
        _cleanup_bus_message_ sd_bus_message *call = NULL;
        const char *sender = sd_bus_message_get_sender(msg);
        int r;

        if (!sender)
                return -EPERM;
        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        /* subject (a system bus name), action, details, flags (1: allow
         * user interaction), cancellation id */
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender,
                                          action, 0, interactive ? UINT32_C(1) : UINT32_C(0), "");
        if (r < 0)
                return r;
        return sd_bus_call_async(bus, ret_slot, call, callback, userdata, timeout_usec);
}

PolkitAnswer bus_polkit_read_reply(sd_bus_message *reply) {
        PolkitAnswer a = {};
        int authorized = 0, challenge = 0;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                a.absent = sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
                if (!a.absent)
                        log_warning("polkit: %s: %s", e->name, e->message ?: "");
        } else if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") < 0 ||
                   sd_bus_message_read(reply, "bb", &authorized, &challenge) < 0)
                log_warning("polkit: malformed answer");
        a.authorized = authorized;
        a.challenge = challenge;
        return a;
}
