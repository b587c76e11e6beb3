/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <selinux/selinux.h>
#include <selinux/label.h>

#include "dlopen-util.h"

/* libselinux.so.1, opened when first needed (dlopen-util.h). */
int dlopen_selinux(void);

DLSYM_PROTOTYPE(freecon);
DLSYM_PROTOTYPE(is_selinux_enabled);
DLSYM_PROTOTYPE(selabel_close);
DLSYM_PROTOTYPE(selabel_lookup);
DLSYM_PROTOTYPE(selabel_open);
DLSYM_PROTOTYPE(setfscreatecon);
