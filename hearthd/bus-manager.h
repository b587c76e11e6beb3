/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "operation.h"

/* org.freedesktop.home1.Manager at HOME1_MANAGER_PATH. */

typedef struct Manager Manager;

int bus_manager_register(Manager *m);
/* What runs once access to a call on a home is granted (an
 * AccessGrantedFn, userdata the Manager): queue op on its home (found
 * again by name, as it may have gone meanwhile), or create the home. */
void bus_manager_home_granted(Operation *op, void *userdata);
