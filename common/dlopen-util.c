/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dlopen-util.h"
#include "log.h"
#include "macro.h"

int dlopen_many_sym(int *state, int log_level, const char *soname, const char *needed_for, ...) {
        if (*state != 0)
                return *state > 0 ? 0 : *state;

        /* RTLD_NODELETE: the pointers stay valid for the process's life. */
        void *dl = dlopen(soname, RTLD_NOW | RTLD_NODELETE);
        if (!dl) {
                const char *e = dlerror();
                *state = log_full_errno(log_level, EOPNOTSUPP, "%s is not available (needed for %s): %s",
                                        soname, needed_for, e ?: "unknown error");
                return *state;
        }

        va_list ap;
        va_start(ap, needed_for);
        void **p;
        while ((p = va_arg(ap, void **))) {
                const char *name = va_arg(ap, const char *);
                dlerror();
                void *f = dlsym(dl, name);
                if (!f) {
                        const char *e = dlerror();
                        va_end(ap);
                        /* Pointers resolved so far stay set; the library counts as missing. */
                        *state = log_full_errno(log_level, EOPNOTSUPP, "%s lacks %s (needed for %s): %s", soname,
                                                name, needed_for, e ?: "no such symbol");
                        return *state;
                }
                *p = f;
        }
        va_end(ap);
        *state = 1;
        return 0;
}

int dlopen_is_mapped(const char *soname) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
        char line[4096];
        size_t n = strlen(soname);

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                char *slash = strrchr(line, '/');
                if (slash && strncmp(slash + 1, soname, n) == 0 &&
                    (slash[1 + n] == '\n' || slash[1 + n] == '\0' || slash[1 + n] == '.'))
                        return 1;
        }
        return 0;
}
