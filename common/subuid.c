/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "subuid.h"

#define SUBUID_FILE_MAX (8 * 1024 * 1024)
#define SUBUID_RANGES_MAX 262144
/* shadow's SUB_UID_MIN: where ranges begin unless login.defs says else. */
#define SUBUID_MIN_DEFAULT 100000

typedef struct SubuidRange {
        uint64_t start, end; /* [start, end) */
        uid_t owner;
} SubuidRange;

static struct {
        char path[PATH_MAX];
        struct stat st;
        bool loaded;
        bool partial; /* more than the limits: not every range is known */
        SubuidRange *ranges;
        size_t n;
} cache;

static bool is_account(uid_t uid) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        return getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res;
}

/* Never root: a range of root's (rootful containers) is not root. */
static uid_t not_root(uid_t owner, uint64_t range_start) {
        if (owner != 0)
                return owner;
        return range_start != 0 ? (uid_t) range_start : SUBUID_OWNER_UNKNOWN;
}

static uid_t owner_of(const char *name, uint64_t range_start) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(name, &end, 10);
        if (name[0] >= '0' && name[0] <= '9' && !errno && !*end && v < UINT32_MAX)
                return not_root((uid_t) v, range_start);
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res)
                return not_root(res->pw_uid, range_start);
        return not_root((uid_t) range_start, range_start);
}

static void load(const char *path, const struct stat *st) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        free(cache.ranges);
        cache.ranges = NULL;
        cache.n = 0;
        snprintf(cache.path, sizeof cache.path, "%s", path);
        cache.st = *st;
        cache.loaded = true;
        cache.partial = st->st_size > SUBUID_FILE_MAX;
        if (cache.partial || !(f = fopen(path, "re")))
                return;
        while (getline(&line, &cap, f) > 0) {
                char name[256];
                unsigned long long start, count;
                if (sscanf(line, "%255[^:\n]:%llu:%llu", name, &start, &count) != 3 || count == 0 ||
                    start > UINT32_MAX || count > UINT32_MAX)
                        continue;
                if (cache.n >= SUBUID_RANGES_MAX) {
                        cache.partial = true;
                        return;
                }
                SubuidRange *more = reallocarray(cache.ranges, cache.n + 1, sizeof *more);
                if (!more) {
                        cache.partial = true;
                        return;
                }
                cache.ranges = more;
                more[cache.n++] = (SubuidRange) { .start = start, .end = start + count, .owner = owner_of(name, start) };
        }
}

uid_t subuid_owner_in(const char *path, uid_t uid) {
        struct stat st;
        if (stat(path, &st) < 0) {
                free(cache.ranges);
                cache.ranges = NULL;
                cache.n = 0;
                cache.loaded = false;
                return uid;
        }
        if (!cache.loaded || strcmp(cache.path, path) != 0 || st.st_ino != cache.st.st_ino ||
            st.st_dev != cache.st.st_dev || st.st_size != cache.st.st_size ||
            st.st_mtim.tv_sec != cache.st.st_mtim.tv_sec || st.st_mtim.tv_nsec != cache.st.st_mtim.tv_nsec)
                load(path, &st);
        for (size_t i = 0; i < cache.n; i++)
                if (uid >= cache.ranges[i].start && uid < cache.ranges[i].end)
                        /* A range over someone's own account (a broken file) does not make her someone else. */
                        return is_account(uid) ? uid : cache.ranges[i].owner;
        /* Not all of the file was read: a UID where ranges are handed out
         * that is no account is perhaps anyone's subordinate: all such
         * count as one. */
        if (cache.partial && uid >= SUBUID_MIN_DEFAULT && !is_account(uid))
                return SUBUID_OWNER_UNKNOWN;
        return uid;
}

uid_t subuid_owner(uid_t uid) {
        return subuid_owner_in(SUBUID_PATH, uid);
}
