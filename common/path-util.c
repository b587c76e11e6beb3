/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "path-util.h"

void path_simplify(char *path) {
        char *out = path + 1;
        const char *p = path;

        for (;;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                size_t n = strcspn(p, "/");
                if (!(n == 1 && p[0] == '.')) {
                        if (out > path + 1)
                                *out++ = '/';
                        memmove(out, p, n);
                        out += n;
                }
                p += n;
        }
        *out = 0;
}

bool path_has_dotdot(const char *path) {
        for (const char *p = path; (p = strstr(p, "..")); p += 2)
                if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
                        return true;
        return false;
}
