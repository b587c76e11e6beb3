/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log-ratelimit.h"

bool log_ratelimit_pass(LogRatelimit *rl, uint64_t now_usec, unsigned *ret_suppressed) {
        *ret_suppressed = 0;
        if (!rl->started || now_usec < rl->begin_usec || now_usec - rl->begin_usec >= rl->interval_usec) {
                *ret_suppressed = rl->suppressed;
                rl->started = true;
                rl->begin_usec = now_usec;
                rl->n = 0;
                rl->suppressed = 0;
        }
        if (rl->n < rl->burst) {
                rl->n++;
                return true;
        }
        if (rl->suppressed < UINT32_MAX)
                rl->suppressed++;
        return false;
}
