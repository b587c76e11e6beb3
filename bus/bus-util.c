/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "bus-names.h"
#include "bus-util.h"
#include "log.h"

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

int daemon_event_new(sd_event **ret, bool children, sd_event_signal_handler_t on_stop, void *userdata) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (children)
                sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(ret);
        if (r >= 0)
                r = sd_event_add_signal(*ret, NULL, SIGTERM, on_stop, userdata);
        if (r >= 0)
                r = sd_event_add_signal(*ret, NULL, SIGINT, on_stop, userdata);
        if (r < 0)
                return log_error_errno(r, "cannot set up the event loop: %m");
        return 0;
}
