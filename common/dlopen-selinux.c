/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-selinux.h"

DLSYM_FUNCTION(freecon);
DLSYM_FUNCTION(is_selinux_enabled);
DLSYM_FUNCTION(selabel_close);
DLSYM_FUNCTION(selabel_lookup);
DLSYM_FUNCTION(selabel_open);
DLSYM_FUNCTION(setfscreatecon);

int dlopen_selinux(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_DEBUG, "libselinux.so.1", "SELinux labels",
                               DLSYM_ARG(freecon),
                               DLSYM_ARG(is_selinux_enabled),
                               DLSYM_ARG(selabel_close),
                               DLSYM_ARG(selabel_lookup),
                               DLSYM_ARG(selabel_open),
                               DLSYM_ARG(setfscreatecon),
                               NULL);
}
