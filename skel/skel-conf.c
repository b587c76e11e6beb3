/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "path-util.h"
#include "skel-conf.h"

static char *strip(char *s) {
        size_t n;

        s += strspn(s, " \t\r");
        n = strlen(s);
        while (n > 0 && strchr(" \t\r", s[n - 1]))
                s[--n] = 0;
        return s;
}

bool skel_path_normalize(char *path) {
        if (path[0] != '/' || strlen(path) >= PATH_MAX)
                return false;
        for (const unsigned char *c = (const unsigned char *) path; *c; c++)
                if (*c < 0x20 || *c == 0x7F)
                        return false;
        if (path_has_dotdot(path))
                return false;
        path_simplify(path);
        return true;
}

int skel_conf_read_prefixes(FILE *f, const char *what, char **l, size_t *n, size_t max) {
        _cleanup_free_ char *buf = malloc(SKEL_CONF_LINE_MAX + 1);
        unsigned no = 0;
        int r;

        if (!buf)
                return log_oom();
        while ((r = read_line_bounded(f, buf, SKEL_CONF_LINE_MAX)) != 0) {
                no++;
                if (r == -EIO)
                        return log_error_errno(EIO, "%s:%u: cannot read: %m", what, no);
                if (r < 0) {
                        log_warning("%s:%u: %s, ignoring line", what, no,
                                    r == -E2BIG ? "line too long" : "line contains a NUL byte");
                        continue;
                }
                char *line = strip(buf), *eq;
                if (!*line || *line == '#')
                        continue;
                eq = strchr(line, '=');
                if (!eq) {
                        log_warning("%s:%u: expected KEY=VALUE, ignoring line", what, no);
                        continue;
                }
                *eq = 0;
                const char *key = strip(line);
                char *value = strip(eq + 1);
                if (strcmp(key, "HomePrefix") != 0) {
                        log_warning("%s:%u: unknown setting \"%.64s\", ignoring line", what, no, key);
                        continue;
                }
                if (!skel_path_normalize(value) || strchr(value, ':')) {
                        log_warning("%s:%u: HomePrefix= needs an absolute path without \"..\", ':' or "
                                    "control characters, ignoring line",
                                    what, no);
                        continue;
                }
                if (strcmp(value, "/") == 0) {
                        log_warning("%s:%u: HomePrefix=/ would seed every home on the system, ignoring line",
                                    what, no);
                        continue;
                }
                bool dup = false;
                for (size_t k = 0; k < *n && !dup; k++)
                        dup = strcmp(l[k], value) == 0;
                if (dup)
                        continue;
                if (*n >= max) {
                        log_warning("%s:%u: more than %zu prefixes, ignoring line", what, no, max - 1);
                        continue;
                }
                if (!(l[*n] = strdup(value)))
                        return log_oom();
                (*n)++;
        }
        return 0;
}
