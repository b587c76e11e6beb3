/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

static const char *program = "hearth";
static int max_level = -1;

void log_set_program(const char *name) {
        program = name;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        if (max_level < 0) {
                const char *e = getenv("HEARTH_LOG_LEVEL");
                max_level = e && strcmp(e, "debug") == 0 ? LOG_DEBUG : LOG_INFO;
        }
        return max_level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = { [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                                             [LOG_INFO] = "info", [LOG_DEBUG] = "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return (int) i;
        return -EINVAL;
}

int log_set_level_option(const char *arg) {
        int level = log_level_from_string(arg);
        if (level < 0)
                return log_error_errno(EINVAL, "--log-level: expected err, warning, notice, info or debug");
        log_set_max_level(level);
        return 0;
}

int log_full_errno(int level, int error, const char *fmt, ...) {
        int saved = errno;
        error = error < 0 ? -error : error;

        if (level <= log_get_max_level()) {
                char buf[1024];
                va_list ap;

                va_start(ap, fmt);
                errno = error; /* so that %m works */
                vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);
                /* Messages quote names from users and disks: one message must
                 * stay one line, and carry no terminal escapes. */
                for (char *p = buf; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7F)
                                *p = '?';
                fprintf(stderr, "%s: %s\n", program, buf);
        }

        errno = saved;
        return -error;
}

void log_trace_phase(const char *phase) {
        static int on = -1;
        static int64_t origin; /* ns, CLOCK_REALTIME */
        struct timespec ts;

        if (on < 0) {
                const char *e = getenv("HEARTH_TRACE_PHASES");
                on = e && *e;
                if (!on)
                        return;
                char *end;
                long long t = strtoll(e, &end, 10);
                if (!*end && t > 0)
                        origin = t;
                else {
                        clock_gettime(CLOCK_REALTIME, &ts);
                        origin = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
                }
        }
        if (!on)
                return;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
        fprintf(stderr, "%s: trace: %.3f %s\n", program, (double) (now - origin) / 1e6, phase);
}
