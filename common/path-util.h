/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Drops empty and "." components and a trailing slash of an absolute path,
 * in place, like systemd's path_simplify(); ".." stays for the caller to
 * refuse, since it cannot be resolved without the file system. */
void path_simplify(char *path);

/* Whether a component of path is "..". */
bool path_has_dotdot(const char *path);
