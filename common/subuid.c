/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "subuid.h"

#define SUBUID_FILE_MAX (1024 * 1024)
#define SUBUID_RANGES_MAX 16384

typedef struct SubuidRange {
        uint64_t start, end; /* [start, end) */
        uid_t owner;
} SubuidRange;

static struct {
        struct stat st;
        bool loaded;
        SubuidRange *ranges;
        size_t n;
} cache;

static uid_t owner_of(const char *name, uid_t range_start) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(name, &end, 10);
        if (name[0] >= '0' && name[0] <= '9' && !errno && !*end && v < UINT32_MAX)
                return v != 0 ? (uid_t) v : range_start;
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res && res->pw_uid != 0)
                return res->pw_uid;
        /* root's ranges (rootful containers) are not root: no share of root's. */
        return range_start;
}

static void load(const struct stat *st) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        free(cache.ranges);
        cache.ranges = NULL;
        cache.n = 0;
        cache.st = *st;
        cache.loaded = true;
        if (st->st_size > SUBUID_FILE_MAX || !(f = fopen(SUBUID_PATH, "re")))
                return;
        while (getline(&line, &cap, f) > 0 && cache.n < SUBUID_RANGES_MAX) {
                char name[256];
                unsigned long long start, count;
                if (sscanf(line, "%255[^:\n]:%llu:%llu", name, &start, &count) != 3 || count == 0 ||
                    start > UINT32_MAX || count > UINT32_MAX)
                        continue;
                SubuidRange *more = reallocarray(cache.ranges, cache.n + 1, sizeof *more);
                if (!more)
                        return;
                cache.ranges = more;
                more[cache.n++] = (SubuidRange) { .start = start, .end = start + count,
                                                  .owner = owner_of(name, (uid_t) start) };
        }
}

uid_t subuid_owner(uid_t uid) {
        struct stat st;
        if (stat(SUBUID_PATH, &st) < 0) {
                free(cache.ranges);
                cache.ranges = NULL;
                cache.n = 0;
                cache.loaded = false;
                return uid;
        }
        if (!cache.loaded || st.st_ino != cache.st.st_ino || st.st_dev != cache.st.st_dev ||
            st.st_size != cache.st.st_size || st.st_mtim.tv_sec != cache.st.st_mtim.tv_sec ||
            st.st_mtim.tv_nsec != cache.st.st_mtim.tv_nsec)
                load(&st);
        for (size_t i = 0; i < cache.n; i++)
                if (uid >= cache.ranges[i].start && uid < cache.ranges[i].end)
                        return cache.ranges[i].owner;
        return uid;
}
