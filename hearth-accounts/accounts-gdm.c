/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GDM's automatic login: [daemon] AutomaticLoginEnable= and AutomaticLogin=
 * in its key file (/etc/gdm3/daemon.conf on Debian), read and written the
 * way AccountsService does, every other line left as the admin wrote it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "accounts-logic.h"
#include "macro.h"

static const char *skip_blank(const char *s, const char *end) {
        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        return s;
}

/* For a line [s, end): 1 and the group name if it is a group header, 2 and
 * key/value if it is Key=Value, 0 otherwise. */
static int classify(const char *s, const char *end, const char **a, size_t *alen, const char **b, size_t *blen) {
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                end--;
        s = skip_blank(s, end);
        if (s == end || *s == '#' || *s == ';')
                return 0;
        if (*s == '[') {
                const char *close = memchr(s, ']', (size_t) (end - s));
                if (!close)
                        return 0;
                *a = s + 1;
                *alen = (size_t) (close - s - 1);
                return 1;
        }
        const char *eq = memchr(s, '=', (size_t) (end - s));
        if (!eq)
                return 0;
        const char *k_end = eq;
        while (k_end > s && (k_end[-1] == ' ' || k_end[-1] == '\t'))
                k_end--;
        *a = s;
        *alen = (size_t) (k_end - s);
        *b = skip_blank(eq + 1, end);
        *blen = (size_t) (end - *b);
        return 2;
}

static bool is(const char *s, size_t n, const char *word) {
        return strlen(word) == n && memcmp(s, word, n) == 0;
}

int gdm_conf_get_autologin(const char *text, bool *ret_enabled, char **ret_user) {
        bool in_daemon = false, enabled = false;
        char *user = NULL;

        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
                const char *a, *b;
                size_t alen, blen;
                int t = classify(line, end, &a, &alen, &b, &blen);
                if (t == 1)
                        in_daemon = is(a, alen, "daemon");
                else if (t == 2 && in_daemon) {
                        if (is(a, alen, "AutomaticLoginEnable"))
                                enabled = (blen == 4 && strncasecmp(b, "true", 4) == 0) || is(b, blen, "1");
                        else if (is(a, alen, "AutomaticLogin")) {
                                free(user);
                                user = blen > 0 ? strndup(b, blen) : NULL;
                                if (blen > 0 && !user)
                                        return -ENOMEM;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        *ret_enabled = enabled;
        *ret_user = user;
        return 0;
}

int gdm_conf_set_autologin(const char *text, const char *user, bool enabled, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        bool in_daemon = false, seen_daemon = false, wrote = false;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;

#define PUT_KEYS()                                                                                  \
        do {                                                                                        \
                fprintf(f, "AutomaticLoginEnable=%s\nAutomaticLogin=%s\n", enabled ? "True" : "False", \
                        user ?: "");                                                                \
                wrote = true;                                                                       \
        } while (0)

        for (const char *line = text ?: ""; *line;) {
                const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
                const char *a, *b;
                size_t alen, blen;
                int t = classify(line, end, &a, &alen, &b, &blen);
                if (t == 1) {
                        if (in_daemon && !wrote)
                                PUT_KEYS();
                        in_daemon = is(a, alen, "daemon");
                        seen_daemon = seen_daemon || in_daemon;
                } else if (t == 2 && in_daemon &&
                           (is(a, alen, "AutomaticLoginEnable") || is(a, alen, "AutomaticLogin"))) {
                        /* Both keys are written together, where the first was. */
                        if (!wrote)
                                PUT_KEYS();
                        line = nl ? nl + 1 : end;
                        continue;
                }
                fwrite(line, 1, (size_t) (end - line), f);
                fputc('\n', f);
                line = nl ? nl + 1 : end;
        }
        /* Still unwritten: [daemon] is missing, or is the last group. */
        if (!wrote) {
                if (!seen_daemon)
                        fputs(ftell(f) > 0 ? "\n[daemon]\n" : "[daemon]\n", f);
                PUT_KEYS();
        }
#undef PUT_KEYS
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
