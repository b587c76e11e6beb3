/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-user state file (AccountsService's [User] key file) and what an
 * icon file may be. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accounts-logic.h"
#include "macro.h"

static const char *const extra_names[_EXTRA_MAX] = {
        [EXTRA_LANGUAGE] = "Language",
        [EXTRA_XSESSION] = "XSession",
        [EXTRA_SESSION] = "Session",
        [EXTRA_SESSION_TYPE] = "SessionType",
        [EXTRA_EMAIL] = "Email",
        [EXTRA_LOCATION] = "Location",
        [EXTRA_PASSWORD_HINT] = "PasswordHint",
        [EXTRA_ICON] = "Icon",
};

const char *extra_key_name(ExtraKey k) {
        return (size_t) k < _EXTRA_MAX ? extra_names[k] : NULL;
}

void extras_done(Extras *e) {
        for (size_t i = 0; i < _EXTRA_MAX; i++)
                e->value[i] = mfree(e->value[i]);
}

int extras_set(Extras *e, ExtraKey k, const char *value) {
        char *v = NULL;
        if (value && value[0] && !(v = strdup(value)))
                return -ENOMEM;
        free(e->value[k]);
        e->value[k] = v;
        return 0;
}

static char *trim(char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

int extras_parse(const char *text, Extras *ret) {
        _cleanup_free_ char *copy = strndup(text, EXTRAS_FILE_MAX);
        bool in_user = false;

        *ret = (Extras) {};
        if (!copy)
                return -ENOMEM;
        for (char *line = copy, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *l = trim(line);
                if (!*l || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        in_user = strcmp(l, "[User]") == 0;
                        continue;
                }
                char *eq = strchr(l, '=');
                if (!in_user || !eq)
                        continue;
                *eq = 0;
                const char *key = trim(l), *value = trim(eq + 1);
                for (size_t i = 0; i < _EXTRA_MAX; i++)
                        if (strcmp(key, extra_names[i]) == 0 && accounts_valid_text(value) &&
                            extras_set(ret, (ExtraKey) i, value) < 0) {
                                extras_done(ret);
                                return -ENOMEM;
                        }
        }
        return 0;
}

int extras_format(const Extras *e, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs("[User]\n", f);
        for (size_t i = 0; i < _EXTRA_MAX; i++)
                if (e->value[i])
                        fprintf(f, "%s=%s\n", extra_names[i], e->value[i]);
        /* AccountsService writes it; a file carried back keeps its meaning. */
        fputs("SystemAccount=false\n", f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

const char *accounts_image_type(const void *data, size_t len) {
        const unsigned char *p = data;
        if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
                return "png";
        if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
                return "jpeg";
        if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
                return "gif";
        if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
                return "webp";
        if (len >= 26 && p[0] == 'B' && p[1] == 'M')
                return "bmp";
        return NULL;
}
