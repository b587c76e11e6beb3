/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "format.h"

/* --identity=FILE: reading a record from a file or standard input, and
 * the offline `inspect --identity`, which checks it without the daemon. */

/* Reads at most JSON_STRICT_MAX_SIZE bytes from path ("-": standard input).
 * Logs "PATH: …" on failure and returns -errno. The text may hold secrets:
 * wipe it (explicit_bzero) before freeing. */
int identity_file_read(const char *path, char **ret, size_t *ret_len);

/* Returns an exit status. */
int verb_inspect_identity(const char *path, JsonMode json);
