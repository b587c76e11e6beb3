/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helper of bench/nss: CALLS getpwnam() calls in this one process for the
 * users PREFIX0 … PREFIX<N-1> (UID = BASE + i), spread over all of them,
 * each answer checked; prints the nanoseconds per call. Which NSS module
 * answers is up to /etc/nsswitch.conf, which bench/nss bind-mounts.
 *
 *   nss-bench PREFIX N CALLS BASE */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        unsigned long n, calls, base;
        char name[64];
        double t0, t1;

        if (argc != 5) {
                fprintf(stderr, "usage: %s PREFIX N CALLS BASE\n", argv[0]);
                return 2;
        }
        n = strtoul(argv[2], NULL, 10);
        calls = strtoul(argv[3], NULL, 10);
        base = strtoul(argv[4], NULL, 10);
        if (n == 0 || calls == 0) {
                fprintf(stderr, "N and CALLS must be positive\n");
                return 2;
        }

        /* One call first: loading the module is not what is measured. */
        snprintf(name, sizeof name, "%s0", argv[1]);
        if (!getpwnam(name)) {
                fprintf(stderr, "%s: not found (%s)\n", name, strerror(errno));
                return 1;
        }

        t0 = now();
        for (unsigned long k = 0; k < calls; k++) {
                /* A stride prime to N visits every user, in no file order. */
                unsigned long i = (k * 7919) % n;
                struct passwd *pw;

                snprintf(name, sizeof name, "%s%lu", argv[1], i);
                pw = getpwnam(name);
                if (!pw || pw->pw_uid != base + i) {
                        fprintf(stderr, "%s: wrong answer\n", name);
                        return 1;
                }
        }
        t1 = now();
        printf("%.0f\n", (t1 - t0) / (double) calls * 1e9);
        return 0;
}
