/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-devmapper.h"

DLSYM_FUNCTION(dm_get_next_target);
DLSYM_FUNCTION(dm_log_with_errno_init);
DLSYM_FUNCTION(dm_mknodes);
DLSYM_FUNCTION(dm_task_add_target);
DLSYM_FUNCTION(dm_task_create);
DLSYM_FUNCTION(dm_task_destroy);
DLSYM_FUNCTION(dm_task_get_errno);
DLSYM_FUNCTION(dm_task_get_info);
DLSYM_FUNCTION(dm_task_get_name);
DLSYM_FUNCTION(dm_task_get_uuid);
DLSYM_FUNCTION(dm_task_retry_remove);
DLSYM_FUNCTION(dm_task_run);
DLSYM_FUNCTION(dm_task_set_add_node);
DLSYM_FUNCTION(dm_task_set_cookie);
DLSYM_FUNCTION(dm_task_set_name);
DLSYM_FUNCTION(dm_task_set_uuid);
DLSYM_FUNCTION(dm_task_skip_lockfs);
DLSYM_FUNCTION(dm_udev_complete);
DLSYM_FUNCTION(dm_udev_get_sync_support);
DLSYM_FUNCTION(dm_udev_set_checking);
DLSYM_FUNCTION(dm_udev_set_sync_support);
DLSYM_FUNCTION(dm_udev_wait);
DLSYM_FUNCTION(dm_udev_wait_immediate);

int dlopen_devmapper(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_ERR, "libdevmapper.so.1.02.1", "device-mapper tables",
                               DLSYM_ARG(dm_get_next_target),
                               DLSYM_ARG(dm_log_with_errno_init),
                               DLSYM_ARG(dm_mknodes),
                               DLSYM_ARG(dm_task_add_target),
                               DLSYM_ARG(dm_task_create),
                               DLSYM_ARG(dm_task_destroy),
                               DLSYM_ARG(dm_task_get_errno),
                               DLSYM_ARG(dm_task_get_info),
                               DLSYM_ARG(dm_task_get_name),
                               DLSYM_ARG(dm_task_get_uuid),
                               DLSYM_ARG(dm_task_retry_remove),
                               DLSYM_ARG(dm_task_run),
                               DLSYM_ARG(dm_task_set_add_node),
                               DLSYM_ARG(dm_task_set_cookie),
                               DLSYM_ARG(dm_task_set_name),
                               DLSYM_ARG(dm_task_set_uuid),
                               DLSYM_ARG(dm_task_skip_lockfs),
                               DLSYM_ARG(dm_udev_complete),
                               DLSYM_ARG(dm_udev_get_sync_support),
                               DLSYM_ARG(dm_udev_set_checking),
                               DLSYM_ARG(dm_udev_set_sync_support),
                               DLSYM_ARG(dm_udev_wait),
                               DLSYM_ARG(dm_udev_wait_immediate),
                               NULL);
}
