/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-udev.h"

DLSYM_FUNCTION(udev_new);
DLSYM_FUNCTION(udev_queue_get_queue_is_empty);
DLSYM_FUNCTION(udev_queue_new);
DLSYM_FUNCTION(udev_queue_unref);
DLSYM_FUNCTION(udev_unref);

int dlopen_udev(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_ERR, "libudev.so.1", "waiting for udev",
                               DLSYM_ARG(udev_new),
                               DLSYM_ARG(udev_queue_get_queue_is_empty),
                               DLSYM_ARG(udev_queue_new),
                               DLSYM_ARG(udev_queue_unref),
                               DLSYM_ARG(udev_unref),
                               NULL);
}
