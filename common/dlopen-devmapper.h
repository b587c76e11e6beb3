/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libdevmapper.h>

#include "dlopen-util.h"

/* libdevmapper.so.1.02.1, opened when first needed (dlopen-util.h). */
int dlopen_devmapper(void);

DLSYM_PROTOTYPE(dm_get_next_target);
DLSYM_PROTOTYPE(dm_log_with_errno_init);
DLSYM_PROTOTYPE(dm_mknodes);
DLSYM_PROTOTYPE(dm_task_add_target);
DLSYM_PROTOTYPE(dm_task_create);
DLSYM_PROTOTYPE(dm_task_destroy);
DLSYM_PROTOTYPE(dm_task_get_errno);
DLSYM_PROTOTYPE(dm_task_get_info);
DLSYM_PROTOTYPE(dm_task_get_name);
DLSYM_PROTOTYPE(dm_task_get_uuid);
DLSYM_PROTOTYPE(dm_task_retry_remove);
DLSYM_PROTOTYPE(dm_task_run);
DLSYM_PROTOTYPE(dm_task_set_add_node);
DLSYM_PROTOTYPE(dm_task_set_cookie);
DLSYM_PROTOTYPE(dm_task_set_name);
DLSYM_PROTOTYPE(dm_task_set_uuid);
DLSYM_PROTOTYPE(dm_task_skip_lockfs);
DLSYM_PROTOTYPE(dm_udev_complete);
DLSYM_PROTOTYPE(dm_udev_get_sync_support);
DLSYM_PROTOTYPE(dm_udev_set_checking);
DLSYM_PROTOTYPE(dm_udev_set_sync_support);
DLSYM_PROTOTYPE(dm_udev_wait);
DLSYM_PROTOTYPE(dm_udev_wait_immediate);
