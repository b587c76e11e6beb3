/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysusers.d(5) parsing: the declarations only, to find system users whose
 * homes Hearth may seed. Creating the users is systemd-sysusers' job. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "sysusers.h"
#include "user-record.h"

#define LINE_MAX_BYTES 4096
#define FILES_MAX 4096

static const char *const dirs[] = {
        "/etc/sysusers.d",
        "/run/sysusers.d",
        "/usr/local/lib/sysusers.d",
        "/usr/lib/sysusers.d",
};

_printf_(2, 3) static int fail(char **error, const char *fmt, ...) {
        va_list ap;
        if (error) {
                va_start(ap, fmt);
                if (vasprintf(error, fmt, ap) < 0)
                        *error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

/* Splits off the next field: white space separates, "…" and '…' quote,
 * and inside double quotes (and outside) C escapes are understood. Returns 1
 * with the field, 0 at the end of the line, -EINVAL for bad quoting. */
static int next_field(const char **p, char **ret, char **error) {
        const char *s = *p;
        char *out, quote = 0;
        size_t n = 0;

        while (*s == ' ' || *s == '\t')
                s++;
        if (!*s)
                return 0;
        out = malloc(strlen(s) + 1);
        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                if (quote) {
                        if (*s == quote) {
                                quote = 0;
                                continue;
                        }
                } else if (*s == ' ' || *s == '\t')
                        break;
                else if (*s == '"' || *s == '\'') {
                        quote = *s;
                        continue;
                }
                if (*s == '\\' && quote != '\'') {
                        s++;
                        switch (*s) {
                        case 'n': out[n++] = '\n'; break;
                        case 't': out[n++] = '\t'; break;
                        case '\\': case '"': case '\'': case ' ': out[n++] = *s; break;
                        default:
                                free(out);
                                return fail(error, *s ? "unknown escape \"\\%c\"" : "line ends in a backslash", *s);
                        }
                        continue;
                }
                out[n++] = *s;
        }
        if (quote) {
                free(out);
                return fail(error, "unterminated quote");
        }
        out[n] = 0;
        *p = s;
        *ret = out;
        return 1;
}

static bool parse_id(const char *s, uint32_t *ret) {
        char *end;
        unsigned long long v;
        if (!s[0] || s[0] == '-' || s[0] == '+' || (s[0] == '0' && s[1]))
                return false;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v >= UINT32_MAX || v == 65535)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static bool valid_abs_path(const char *s) {
        if (s[0] != '/' || strlen(s) >= PATH_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20)
                        return false;
        return true;
}

static int check_id(const SysusersEntry *e, char **error) {
        const char *id = e->id;
        uint32_t a, b;

        if (!id)
                return 0;
        if (id[0] == '/') {
                if (e->type == SYSUSERS_RANGE || !valid_abs_path(id))
                        return fail(error, "invalid ID \"%s\"", id);
                return 0;
        }
        switch (e->type) {
        case SYSUSERS_USER: {
                const char *colon = strchr(id, ':');
                _cleanup_free_ char *uid = colon ? strndup(id, (size_t) (colon - id)) : strdup(id);
                if (!uid)
                        return -ENOMEM;
                if (!parse_id(uid, &a))
                        return fail(error, "invalid UID \"%s\"", uid);
                if (colon && !parse_id(colon + 1, &b) && !valid_user_name(colon + 1))
                        return fail(error, "invalid GID or group name \"%s\"", colon + 1);
                return 0;
        }
        case SYSUSERS_GROUP:
                if (!parse_id(id, &a))
                        return fail(error, "invalid GID \"%s\"", id);
                return 0;
        case SYSUSERS_RANGE: {
                const char *dash = strchr(id, '-');
                _cleanup_free_ char *lo = dash ? strndup(id, (size_t) (dash - id)) : strdup(id);
                if (!lo)
                        return -ENOMEM;
                if (!parse_id(lo, &a) || (dash && (!parse_id(dash + 1, &b) || b < a)))
                        return fail(error, "invalid range \"%s\"", id);
                return 0;
        }
        default:
                return fail(error, "unexpected ID \"%s\"", id);
        }
}

int sysusers_parse_line(const char *line, SysusersEntry *ret, char **ret_error) {
        _cleanup_free_ char *type = NULL;
        char *fields[5] = {};
        SysusersEntry e = {};
        const char *p = line;
        size_t n = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (strlen(line) > LINE_MAX_BYTES)
                return fail(ret_error, "line longer than %d bytes", LINE_MAX_BYTES);
        while (*p == ' ' || *p == '\t')
                p++;
        if (!*p || *p == '#' || *p == '\n')
                return 0;

        r = next_field(&p, &type, ret_error);
        if (r <= 0)
                return r < 0 ? r : 0;
        for (;;) {
                char *f;
                r = next_field(&p, &f, ret_error);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                if (n == ELEMENTSOF(fields)) {
                        free(f);
                        r = fail(ret_error, "trailing garbage \"%.32s\"", p);
                        goto fail;
                }
                fields[n++] = f;
        }

        if (strcmp(type, "u") == 0 || strcmp(type, "u!") == 0) {
                e.type = SYSUSERS_USER;
                e.locked = type[1] == '!';
        } else if (strlen(type) == 1 && strchr("gmr", type[0]))
                e.type = (SysusersType) type[0];
        else {
                r = fail(ret_error, "unknown line type \"%.16s\"", type);
                goto fail;
        }
        if (n < 1 || (e.type == SYSUSERS_MEMBER && n < 2)) {
                r = fail(ret_error, "missing fields");
                goto fail;
        }
        /* "-" is "unset" in every field. */
        for (size_t i = 0; i < n; i++)
                if (strcmp(fields[i], "-") == 0) {
                        free(fields[i]);
                        fields[i] = NULL;
                }

        if (e.type == SYSUSERS_RANGE) {
                if (fields[0]) {
                        r = fail(ret_error, "a range line takes \"-\" as its name");
                        goto fail;
                }
                if (!fields[1]) {
                        r = fail(ret_error, "a range line needs a range");
                        goto fail;
                }
        } else if (!fields[0] || !valid_user_name(fields[0])) {
                r = fail(ret_error, "invalid %s name \"%s\"", e.type == SYSUSERS_GROUP ? "group" : "user",
                         fields[0] ?: "-");
                goto fail;
        }
        if (e.type == SYSUSERS_MEMBER) {
                if (!fields[1] || !valid_user_name(fields[1])) {
                        r = fail(ret_error, "invalid group name \"%s\"", fields[1] ?: "-");
                        goto fail;
                }
                if (n > 2) {
                        r = fail(ret_error, "a member line takes a user and a group only");
                        goto fail;
                }
        } else if (e.type != SYSUSERS_USER && (n > 4 || (n > 2 && (fields[2] || (n > 3 && fields[3]))))) {
                /* g and r lines: GECOS, home and shell make no sense. */
                r = fail(ret_error, "%s lines take no GECOS, home or shell", e.type == SYSUSERS_GROUP ? "group" : "range");
                goto fail;
        }

        e.name = TAKE_PTR(fields[0]);
        if (e.type == SYSUSERS_MEMBER)
                e.id = TAKE_PTR(fields[1]); /* the group */
        else {
                e.id = TAKE_PTR(fields[1]);
                e.gecos = TAKE_PTR(fields[2]);
                e.home = TAKE_PTR(fields[3]);
                e.shell = TAKE_PTR(fields[4]);
        }
        if (e.type != SYSUSERS_MEMBER && (r = check_id(&e, ret_error)) < 0)
                goto fail_entry;
        if (e.gecos && (strchr(e.gecos, ':') || strchr(e.gecos, '\n'))) {
                r = fail(ret_error, "GECOS field must not contain ':' or a newline");
                goto fail_entry;
        }
        if (e.home && !valid_abs_path(e.home)) {
                r = fail(ret_error, "home directory \"%s\" is not an absolute path", e.home);
                goto fail_entry;
        }
        if (e.shell && !valid_abs_path(e.shell)) {
                r = fail(ret_error, "shell \"%s\" is not an absolute path", e.shell);
                goto fail_entry;
        }
        *ret = e;
        return 1;

fail_entry:
        sysusers_entry_done(&e);
fail:
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                free(fields[i]);
        return r;
}

void sysusers_entry_done(SysusersEntry *e) {
        free(e->name);
        free(e->id);
        free(e->gecos);
        free(e->home);
        free(e->shell);
        free(e->file);
        *e = (SysusersEntry) {};
}

void sysusers_table_done(SysusersTable *t) {
        for (size_t i = 0; i < t->n_entries; i++)
                sysusers_entry_done(&t->entries[i]);
        free(t->entries);
        *t = (SysusersTable) {};
}

const char *sysusers_entry_home(const SysusersEntry *e) {
        return e->home ?: "/";
}

static int compare_base(const void *a, const void *b) {
        const char *x = strrchr(*(char *const *) a, '/') + 1, *y = strrchr(*(char *const *) b, '/') + 1;
        return strcmp(x, y);
}

static int load_file(const char *path, SysusersTable *t) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t size = 0;
        unsigned no = 0;

        if (!f)
                return log_warning_errno(errno, "%s: cannot open: %m", path), 0;
        while (getline(&line, &size, f) >= 0) {
                SysusersEntry e;
                _cleanup_free_ char *error = NULL;
                no++;
                line[strcspn(line, "\n")] = 0;
                int r = sysusers_parse_line(line, &e, &error);
                if (r == -ENOMEM) {
                        free(line);
                        return r;
                }
                if (r < 0) {
                        log_warning("%s:%u: %s, ignoring line", path, no, error ?: "invalid line");
                        continue;
                }
                if (r == 0)
                        continue;
                e.file = strdup(path);
                e.line = no;
                SysusersEntry *n = realloc(t->entries, (t->n_entries + 1) * sizeof *n);
                if (!n || !e.file) {
                        sysusers_entry_done(&e);
                        free(line);
                        return -ENOMEM;
                }
                t->entries = n;
                t->entries[t->n_entries++] = e;
        }
        free(line);
        return 0;
}

int sysusers_load(const char *root, SysusersTable *ret) {
        _cleanup_strv_free_ char **files = NULL;
        size_t n = 0;
        const char *prefix = root && strcmp(root, "/") != 0 ? root : "";
        SysusersTable t = {};
        int r = 0;

        files = calloc(1, sizeof *files);
        if (!files)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s%s", prefix, dirs[i]) < 0)
                        return -ENOMEM;
                DIR *d = opendir(dir);
                if (!d)
                        continue;
                struct dirent *de;
                while ((de = readdir(d))) {
                        size_t len = strlen(de->d_name);
                        bool seen = false;
                        if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0 || de->d_name[0] == '.')
                                continue;
                        /* A file in an earlier directory overrides, or masks. */
                        for (size_t k = 0; k < n; k++)
                                seen = seen || strcmp(strrchr(files[k], '/') + 1, de->d_name) == 0;
                        if (seen || n >= FILES_MAX)
                                continue;
                        char *path, **l;
                        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0 ||
                            !(l = realloc(files, (n + 2) * sizeof *files))) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        files = l;
                        files[n++] = path;
                        files[n] = NULL;
                }
                closedir(d);
        }
        qsort(files, n, sizeof *files, compare_base);
        for (size_t i = 0; i < n; i++) {
                char target[16];
                ssize_t k = readlink(files[i], target, sizeof target - 1);
                if (k == 9 && memcmp(target, "/dev/null", 9) == 0)
                        continue; /* masked */
                r = load_file(files[i], &t);
                if (r < 0) {
                        sysusers_table_done(&t);
                        return r;
                }
        }
        *ret = t;
        return 0;
}
