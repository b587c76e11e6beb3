/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Messages any local user can cause at will (a refused connection, say)
 * must not fill /var/log or make journald drop everything else of the
 * service: at most burst of them per interval; of those left out, one line
 * says how many at the next one let through. */
typedef struct LogRatelimit {
        uint64_t interval_usec;
        unsigned burst;
        bool started;
        uint64_t begin_usec;
        unsigned n;
        unsigned suppressed;
} LogRatelimit;

#define LOG_RATELIMIT_INIT(interval, b) { .interval_usec = (interval), .burst = (b) }

/* Whether a message may be logged now (now_usec: CLOCK_MONOTONIC); on the
 * first one of a new interval, *ret_suppressed is how many the last left
 * out (else 0). */
bool log_ratelimit_pass(LogRatelimit *rl, uint64_t now_usec, unsigned *ret_suppressed);
