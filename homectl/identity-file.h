/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "format.h"

/* --identity=FILE: reading a record from a file or standard input, and
 * the offline `inspect --identity`, which checks it without the daemon. */

/* Reads at most JSON_STRICT_MAX_SIZE bytes from path ("-": standard input).
 * Logs "PATH: …" on failure and returns -errno. The text may hold secrets:
 * wipe it (explicit_bzero) before freeing. */
int identity_file_read(const char *path, char **ret, size_t *ret_len);

/* Returns an exit status. */
int verb_inspect_identity(const char *path, JsonMode json);

/* Reads a record file ("-": standard input) strictly into a tree, which
 * must be a JSON object. The tree may hold secrets: free it with
 * json_object_wipe_and_put(). */
int record_tree_load(const char *path, json_object **ret);

/* The i-th string of the list section.key in a tree (e.g.
 * secret.password), or NULL. */
const char *record_tree_list_get(json_object *j, const char *section, const char *key, size_t i);
