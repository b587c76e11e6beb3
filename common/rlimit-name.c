/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/resource.h>

#include "macro.h"
#include "rlimit-name.h"

static const char *const names[] = {
        [RLIMIT_CPU] = "CPU",         [RLIMIT_FSIZE] = "FSIZE",           [RLIMIT_DATA] = "DATA",
        [RLIMIT_STACK] = "STACK",     [RLIMIT_CORE] = "CORE",             [RLIMIT_RSS] = "RSS",
        [RLIMIT_NOFILE] = "NOFILE",   [RLIMIT_AS] = "AS",                 [RLIMIT_NPROC] = "NPROC",
        [RLIMIT_MEMLOCK] = "MEMLOCK", [RLIMIT_LOCKS] = "LOCKS",           [RLIMIT_SIGPENDING] = "SIGPENDING",
        [RLIMIT_MSGQUEUE] = "MSGQUEUE", [RLIMIT_NICE] = "NICE",           [RLIMIT_RTPRIO] = "RTPRIO",
        [RLIMIT_RTTIME] = "RTTIME",
};

const char *rlimit_name(int l) {
        return l >= 0 && (size_t) l < ELEMENTSOF(names) ? names[l] : NULL;
}

int rlimit_from_name(const char *name, size_t len) {
        if (len > 7 && strncmp(name, "RLIMIT_", 7) == 0) {
                name += 7;
                len -= 7;
        }
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
                        return (int) i;
        return -1;
}
