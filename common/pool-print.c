/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "pool-print.h"
#include "size.h"

static const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static uint64_t jnum(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && v ? (uint64_t) json_object_get_uint64(v) : 0;
}

/* json-c asserts on arrays that are not: the JSON came over the bus. */
static size_t alen(json_object *o) {
        return json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
}

static json_object *jget(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

void pool_status_print(FILE *f, json_object *s) {
        char b1[SIZE_FORMAT_MAX], b2[SIZE_FORMAT_MAX];
        json_object *pvs = jget(s, "pvs"), *vols = jget(s, "volumes");

        if (!json_object_get_boolean(jget(s, "valid")))
                fprintf(f, "Pool metadata: NOT USABLE: %s\n", jstr(s, "error"));
        else
                fprintf(f, "Pool %s: sequence %" PRIu64 ", extent size %s, metadata read from %s\n", jstr(s, "pool_uuid"),
                       jnum(s, "seq"), size_format(jnum(s, "extent_size"), b1), jstr(s, "metadata_from"));
        fprintf(f, "\n%-3s %-5s %-18s %8s %14s %6s  %s\n", "PV", "ROLE", "DEVICE", "SIZE", "EXTENTS", "FREE", "METADATA COPIES");
        for (size_t i = 0; i < alen(pvs); i++) {
                json_object *p = json_object_array_get_idx(pvs, i), *c = jget(p, "copies");
                char ext[64], copies[512];
                size_t len = 0;
                snprintf(ext, sizeof ext, "%" PRIu64 "-%" PRIu64, jnum(p, "first_extent"),
                         jnum(p, "first_extent") + jnum(p, "extent_count") - (jnum(p, "extent_count") > 0));
                copies[0] = 0;
                for (const char *k = "A"; *k; k = (*k == 'A' ? "B" : "")) {
                        json_object *cp = jget(c, k);
                        bool cur = strcmp(jstr(c, "current"), k) == 0;
                        if (json_object_get_boolean(jget(cp, "valid")))
                                len += (size_t) snprintf(copies + len, sizeof copies - len, "%s%s seq %" PRIu64 "%s", len ? ", " : "", k,
                                                         jnum(cp, "seq"), cur ? " (current)" : "");
                        else
                                len += (size_t) snprintf(copies + len, sizeof copies - len, "%s%s INVALID (%s)", len ? ", " : "", k,
                                                         jstr(cp, "error"));
                        if (len >= sizeof copies)
                                break;
                }
                fprintf(f, "%-3" PRIu64 " %-5s %-18s %8s %14s %6" PRIu64 "  %s%s\n", jnum(p, "index"), jstr(p, "role"), jstr(p, "device"),
                       size_format(jnum(p, "size"), b1), ext, jnum(p, "free_extents"), copies,
                       json_object_get_boolean(jget(c, "stale")) ? " [stale]" : "");
        }
        if (alen(vols) > 0)
                fprintf(f, "\n%-12s %8s %8s  %-28s %s\n", "VOLUME", "SIZE", "EXTENTS", "DEVICE", "RUNS (pv:first+count)");
        for (size_t i = 0; i < alen(vols); i++) {
                json_object *v = json_object_array_get_idx(vols, i), *runs = jget(v, "runs");
                char rs[1024];
                size_t len = 0;
                rs[0] = 0;
                for (size_t k = 0; k < alen(runs) && len < sizeof rs - 64; k++) {
                        json_object *r = json_object_array_get_idx(runs, k);
                        len += (size_t) snprintf(rs + len, sizeof rs - len, "%s%" PRIu64 ":%" PRIu64 "+%" PRIu64, k ? " " : "",
                                                 jnum(r, "pv"), jnum(r, "first"), jnum(r, "count"));
                }
                fprintf(f, "%-12s %8s %8" PRIu64 "  %-28s %s\n", jstr(v, "name"), size_format(jnum(v, "size"), b1), jnum(v, "extents"),
                       json_object_get_boolean(jget(v, "active")) ? jstr(v, "device") : "(inactive)", rs);
                if (jget(v, "mountpoint"))
                        fprintf(f, "%-12s mounted on %s (%s)\n", "", jstr(v, "mountpoint"), jstr(v, "fstype"));
        }
        if (json_object_get_boolean(jget(s, "valid")))
                fprintf(f, "\nFree: %" PRIu64 " extents (%s); releasable next to root: %" PRIu64 " extents (%s)\n",
                       jnum(s, "free_extents"), size_format(jnum(s, "free_bytes"), b1), jnum(s, "releasable_extents"),
                       size_format(jnum(s, "releasable_bytes"), b2));
}

void pool_check_print(FILE *f, json_object *c) {
        json_object *probs = jget(c, "problems");
        for (size_t i = 0; i < alen(probs); i++) {
                json_object *p = json_object_array_get_idx(probs, i);
                fprintf(f, "%s: %s%s\n", jstr(p, "kind"), jstr(p, "message"),
                       json_object_get_boolean(jget(p, "repaired")) ? " (repaired)" : "");
        }
        if (json_object_get_boolean(jget(c, "consistent")))
                fprintf(f, "pool: consistent\n");
        else
                fprintf(f, "pool: %s problems\n", "has");
}

