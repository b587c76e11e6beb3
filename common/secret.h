/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

/* Memory for secrets: passwords, PINs, volume keys. A SecureBuffer is its own
 * anonymous mapping, locked into RAM where the limit allows (so it is not
 * swapped), excluded from core dumps, and wiped before it is unmapped. */

typedef struct SecureBuffer {
        void *data;
        size_t size;   /* usable bytes */
        size_t mapped; /* bytes mapped, a multiple of the page size */
        int locked;    /* 1 if mlock() succeeded */
} SecureBuffer;

int secure_buffer_new(size_t size, SecureBuffer **ret);
void secure_buffer_free(SecureBuffer *b);
static inline void secure_buffer_freep(SecureBuffer **b) {
        secure_buffer_free(*b);
}
#define _cleanup_secure_buffer_ __attribute__((cleanup(secure_buffer_freep)))

/* Wipe and free a heap string that held a secret. */
void erase_and_free(char *s);
static inline void erase_and_freep(char **s) {
        erase_and_free(*s);
}
#define _cleanup_erase_ __attribute__((cleanup(erase_and_freep)))

/* json-c keeps string values in plain heap memory and frees them without
 * wiping. Call this on a tree (or a section of one) that held secrets: it
 * overwrites every string in it with zeros and drops the reference, so it
 * must be the last reference to those strings. */
void json_object_wipe_and_put(json_object *j);
static inline void json_object_wipe_and_putp(json_object **j) {
        if (*j)
                json_object_wipe_and_put(*j);
}
#define _cleanup_json_wipe_ __attribute__((cleanup(json_object_wipe_and_putp)))

/* Overwrite string contents in place without dropping the reference. */
void json_object_wipe_strings(json_object *j);
