/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "secret.h"

/* JSON text that holds secrets, written by hand into locked memory. json-c
 * serializes into a printbuf that it grows with realloc() and frees without
 * wiping, leaving pieces of every secret in the heap: text with a secret in
 * it is never made by json_object_to_json_string*(). */

typedef struct SecretText {
        SecureBuffer *buf; /* NULL until something is written */
        size_t len;        /* bytes written; buf->data[len] is NUL */
} SecretText;

void secret_text_done(SecretText *t);
static inline void secret_text_donep(SecretText *t) {
        secret_text_done(t);
}
#define _cleanup_secret_text_ __attribute__((cleanup(secret_text_donep)))

/* Appends len bytes, growing into a new SecureBuffer (the old one wiped)
 * when needed. Returns 0, -ENOMEM or -E2BIG. */
int secret_text_put(SecretText *t, const char *s, size_t len);
/* Appends s as a JSON string, quoted and escaped. */
int secret_text_put_string(SecretText *t, const char *s);
/* Appends j: strings, arrays and objects by hand, other values (numbers,
 * booleans, null; no secret is one) through json-c. */
int secret_text_put_json(SecretText *t, json_object *j);

/* The text of record (an object): every member but "secret" as json-c
 * writes it, then the secret section by hand. The form homectl sends and
 * hearth-work reads. */
int secret_text_record(json_object *record, SecretText *ret);
