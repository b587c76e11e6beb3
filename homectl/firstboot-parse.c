/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fileio.h"
#include "firstboot-parse.h"
#include "macro.h"
#include "user-record.h"

#define COLON_LINE_MAX 4096

const char *firstboot_credential_user(const char *name) {
        size_t n = strlen(FIRSTBOOT_CREDENTIAL_PREFIX);

        if (strncmp(name, FIRSTBOOT_CREDENTIAL_PREFIX, n) != 0 || !valid_user_name(name + n))
                return NULL;
        return name + n;
}

static int parse_boolean(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int firstboot_cmdline_get(const char *cmdline) {
        static const char key[] = "systemd.firstboot";
        /* Longer words cannot be ours; they are read to their end and dropped. */
        char word[64];
        int result = -ENOENT;

        for (const char *p = cmdline;;) {
                size_t n = 0;
                bool quoted = false, any = false, too_long = false;

                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (!*p)
                        return result;
                for (; *p && (quoted || !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')); p++) {
                        any = true;
                        if (*p == '"') {
                                quoted = !quoted;
                                continue;
                        }
                        if (n + 1 >= sizeof word)
                                too_long = true;
                        else
                                word[n++] = *p;
                }
                word[n] = 0;
                if (!any || too_long)
                        continue;
                if (strcmp(word, "--") == 0)
                        return result;
                if (strcmp(word, key) == 0)
                        result = 1;
                else if (strncmp(word, key, sizeof key - 1) == 0 && word[sizeof key - 1] == '=')
                        result = parse_boolean(word + sizeof key);
        }
}

static int parse_id(const char *s, uint32_t *ret) {
        char *end;
        unsigned long long v;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (*end || errno || v >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

int colon_line_parse(char *line, bool passwd, ColonEntry *ret) {
        char *field[7] = {};
        size_t want = passwd ? 7 : 4, n = 0;

        /* The last field keeps any further ':', which makes the line malformed. */
        for (char *p = line;;) {
                field[n++] = p;
                if (n == want)
                        break;
                p = strchr(p, ':');
                if (!p)
                        break;
                *p++ = 0;
        }
        if (n != want || strchr(field[n - 1], ':') || !field[0][0] || field[0][0] == '+' || field[0][0] == '-')
                return -EINVAL;
        for (const unsigned char *c = (const unsigned char *) field[0]; *c; c++)
                if (*c <= ' ' || *c == 0x7F)
                        return -EINVAL;
        if (parse_id(field[2], &ret->id) < 0)
                return -EINVAL;
        ret->name = field[0];
        ret->shell = passwd ? field[6] : "";
        return 0;
}

int colon_file_scan(const char *path, bool passwd, ColonFn fn, void *userdata) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[COLON_LINE_MAX + 1];
        struct stat st;
        int fd, r;

        /* O_NONBLOCK: a FIFO put there must not hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        r = fstat(fd, &st) < 0 ? negative_errno() : S_ISREG(st.st_mode) ? 0 : -EBADF;
        if (r < 0) {
                close(fd);
                return r;
        }
        f = fdopen(fd, "re");
        if (!f) {
                r = negative_errno();
                close(fd);
                return r;
        }
        for (;;) {
                ColonEntry e;

                r = read_line_bounded(f, line, COLON_LINE_MAX);
                if (r == 0)
                        return 0;
                if (r == -EIO)
                        return r;
                if (r < 0 || colon_line_parse(line, passwd, &e) < 0)
                        continue;
                r = fn(&e, userdata);
                if (r != 0)
                        return r;
        }
}

bool firstboot_shell_is_login(const char *shell) {
        const char *base = strrchr(shell, '/');

        base = base ? base + 1 : shell;
        if (!shell[0])
                return true;
        return strcmp(base, "nologin") != 0 && strcmp(base, "false") != 0 && strcmp(base, "true") != 0;
}

bool firstboot_passwd_is_regular(const ColonEntry *e) {
        return e->id >= 1000 && e->id <= HOME_UID_MAX && firstboot_shell_is_login(e->shell);
}
