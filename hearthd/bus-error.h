/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "bus-names.h"

/* The D-Bus error for a hearth-work exit status, given the operation (a
 * wrong password means something else to an operation with no secret). */
const char *bus_error_from_worker(int status, const char *op);
