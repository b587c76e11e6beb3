/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libudev.h>

#include "dlopen-util.h"

/* libudev.so.1, opened when first needed (dlopen-util.h). */
int dlopen_udev(void);

DLSYM_PROTOTYPE(udev_new);
DLSYM_PROTOTYPE(udev_queue_get_queue_is_empty);
DLSYM_PROTOTYPE(udev_queue_new);
DLSYM_PROTOTYPE(udev_queue_unref);
DLSYM_PROTOTYPE(udev_unref);
