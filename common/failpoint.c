/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failpoint.h"
#include "log.h"

void failpoint(const char *name) {
        const char *e = getenv(FAILPOINT_ENV);
        size_t n = strlen(name);

        if (!e || strncmp(e, name, n) != 0)
                return;
        if (strcmp(e + n, ":stop") == 0) {
                /* A test looks at what the process holds at this step. */
                log_notice("failpoint %s: stopping myself (SIGSTOP)", name);
                fflush(stderr);
                raise(SIGSTOP);
                return;
        }
        if (e[n] != 0)
                return;
        log_notice("failpoint %s: killing myself (SIGKILL)", name);
        fflush(stderr);
        raise(SIGKILL);
}
