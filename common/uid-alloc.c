/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>

#include "uid-alloc.h"
#include "user-record.h"

static uint64_t fnv1a(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

int uid_alloc(const char *user_name, UidTakenFn taken, void *userdata, uid_t *ret) {
        const uint64_t n = HOME_UID_MAX - HOME_UID_MIN + 1;
        uint64_t start = fnv1a(user_name) % n;

        for (uint64_t i = 0; i < n; i++) {
                uid_t uid = (uid_t) (HOME_UID_MIN + (start + i) % n);
                if (!taken(uid, userdata)) {
                        *ret = uid;
                        return 0;
                }
        }
        return -EBUSY;
}

bool uid_taken_nss(uid_t uid) {
        char buf[16384];
        struct passwd pw, *p = NULL;
        struct group gr, *g = NULL;

        /* A lookup error counts as taken: never hand out a UID we could not check. */
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &p) != 0 || p)
                return true;
        if (getgrgid_r((gid_t) uid, &gr, buf, sizeof buf, &g) != 0 || g)
                return true;
        return false;
}

bool name_taken_nss(const char *name) {
        char buf[16384];
        struct passwd pw, *p = NULL;
        struct group gr, *g = NULL;

        if (getpwnam_r(name, &pw, buf, sizeof buf, &p) != 0 || p)
                return true;
        if (getgrnam_r(name, &gr, buf, sizeof buf, &g) != 0 || g)
                return true;
        return false;
}
