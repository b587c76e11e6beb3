/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* skel.conf: the HomePrefix= lines hearth-skel reads (a file an admin, or
 * an image being prepared, hands us). Parsing only; which file is read is
 * hearth-skel's business. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SKEL_CONF_LINE_MAX 4096
#define SKEL_CONF_PREFIXES_MAX 64

/* Makes path (absolute) canonical in place: no empty or "." components, no
 * trailing slash. Returns false if it is not absolute, has a ".." or control
 * characters, or is too long. */
bool skel_path_normalize(char *path);

/* Adds the HomePrefix= values of f (what names it in messages) to l, which
 * holds *n strings and has room for max and a NULL; values already in l are
 * skipped, invalid lines are logged and skipped. Returns 0, -EIO (a read
 * error, logged) or -ENOMEM. */
int skel_conf_read_prefixes(FILE *f, const char *what, char **l, size_t *n, size_t max);
