/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* The value at "a.b.0.c" (object keys and array indexes), or NULL: what
 * homectl's tests look up in the records it builds. */
static inline json_object *json_path(json_object *j, const char *path) {
        char buf[256], *save = NULL;
        snprintf(buf, sizeof buf, "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save)) {
                if (json_object_is_type(j, json_type_array))
                        j = json_object_array_get_idx(j, (size_t) atoi(k));
                else if (!json_object_object_get_ex(j, k, &j))
                        return NULL;
        }
        return j;
}
