/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "mountinfo.h"

void mountinfo_unescape(char *s) {
        char *w = s;
        for (const char *r = s; *r;)
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        *w = 0;
}

int mountinfo_top_at(const char *path, const char *where, char *fstype, size_t fstype_size, char *source,
                     size_t source_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        int r = -ENOENT;

        if (!f)
                return negative_errno();
        while (getline(&line, &n, f) > 0) {
                char at[PATH_MAX], type[64] = "", src[PATH_MAX] = "";
                if (sscanf(line, "%*u %*u %*u:%*u %*s %4095s", at) != 1)
                        continue;
                mountinfo_unescape(at);
                if (strcmp(at, where) != 0)
                        continue;
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(sep, " - %63s %4095s", type, src) != 2)
                        continue;
                mountinfo_unescape(src);
                snprintf(fstype, fstype_size, "%s", type);
                snprintf(source, source_size, "%s", src);
                r = 0; /* a later line is mounted over this one */
        }
        return r;
}
