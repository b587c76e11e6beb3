/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

/* JSON from users and disks is hostile. json-c alone accepts duplicate keys
 * (last one wins), so a record could say one thing to a reviewer and another
 * to us. This parser first checks the text against RFC 8259 with bounds, then
 * lets json-c build the tree:
 *   - at most JSON_STRICT_MAX_SIZE bytes, nesting at most JSON_STRICT_MAX_DEPTH;
 *   - valid UTF-8, no NUL bytes (raw or \u0000), no lone surrogates;
 *   - no duplicate keys in any object;
 *   - integers within int64/uint64.
 * The text may hold secrets: nothing of a string value is copied into error
 * messages, and json-c's scratch buffer is wiped before it is freed. */

#define JSON_STRICT_MAX_SIZE (1024 * 1024)
#define JSON_STRICT_MAX_DEPTH 32

/* Returns 0 or -EINVAL (malformed, message in *ret_error), -E2BIG, -ENOMEM.
 * For the literal "null", *ret is NULL. */
int json_parse_strict(const char *text, size_t len, json_object **ret, char **ret_error);

/* Serializes with keys sorted by byte value and no white space, the form
 * records are signed in. Returns 0 or -ENOMEM. */
int json_format_canonical(json_object *j, char **ret, size_t *ret_len);
