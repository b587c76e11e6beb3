/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysusers.d(5) parsing: the declarations only, to find system users whose
 * homes Hearth may seed. Creating the users is systemd-sysusers' job, so the
 * rules here follow it (systemd 252) wherever a line's meaning is concerned:
 * a line it would reject is rejected here too, so that we never act on a
 * declaration that never became a user. The files are hostile input: lines,
 * files and entries are bounded, and every field is checked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "fileio.h"
#include "hex.h"
#include "log.h"
#include "macro.h"
#include "open-in-root.h"
#include "path-util.h"
#include "sysusers.h"
#include "user-record.h"

/* systemd allows longer lines; no sensible declaration comes near this. */
#define LINE_MAX_BYTES 4096
#define FILES_MAX 4096
#define ENTRIES_MAX 65536
#define FIELDS_MAX 6 /* type, name, ID, GECOS, home, shell */

static const char *const dirs[] = {
        "/etc/sysusers.d",
        "/run/sysusers.d",
        "/usr/local/lib/sysusers.d",
        "/usr/lib/sysusers.d",
};

_printf_(2, 3) static int fail(char **error, const char *fmt, ...) {
        va_list ap;

        if (error) {
                free(*error);
                va_start(ap, fmt);
                if (vasprintf(error, fmt, ap) < 0)
                        *error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One C escape; s points after the backslash. Returns the number of
 * characters consumed, or -EINVAL. A NUL byte is refused: it would cut the
 * field short without anyone noticing. */
static int unescape_one(const char *s, char *ret, char **error) {
        switch (*s) {
        case 'a': *ret = '\a'; return 1;
        case 'b': *ret = '\b'; return 1;
        case 'f': *ret = '\f'; return 1;
        case 'n': *ret = '\n'; return 1;
        case 'r': *ret = '\r'; return 1;
        case 't': *ret = '\t'; return 1;
        case 'v': *ret = '\v'; return 1;
        case '\\': case '"': case '\'': case ' ':
                *ret = *s;
                return 1;
        case 'x': {
                int a = unhexchar(s[1]), b = a >= 0 ? unhexchar(s[2]) : -1;
                if (a < 0 || b < 0)
                        return fail(error, "escape \"\\x\" needs two hexadecimal digits");
                if (a == 0 && b == 0)
                        return fail(error, "escape \"\\x00\" would put a NUL byte in a field");
                *ret = (char) (a * 16 + b);
                return 3;
        }
        case '0' ... '7': {
                if (s[1] < '0' || s[1] > '7' || s[2] < '0' || s[2] > '7')
                        return fail(error, "octal escape needs three digits (\"\\%.3s\")", s);
                int v = (s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0');
                if (v > 0xFF)
                        return fail(error, "octal escape \"\\%.3s\" is out of range", s);
                if (v == 0)
                        return fail(error, "escape \"\\000\" would put a NUL byte in a field");
                *ret = (char) v;
                return 3;
        }
        case 0:
                return fail(error, "line ends in a backslash");
        default:
                if ((unsigned char) *s < 0x20 || *s == 0x7F)
                        return fail(error, "unknown escape \"\\\" followed by byte 0x%02x", (unsigned char) *s);
                return fail(error, "unknown escape \"\\%c\"", *s);
        }
}

/* Splits off the next field: white space separates; "…" quotes with C
 * escapes inside; '…' quotes literally; outside quotes a backslash escapes
 * as inside double quotes (so "\ " is a space). Quoted and unquoted parts
 * next to each other form one field. Returns 1 with the field, 0 at the end
 * of the line, -EINVAL for bad quoting or escapes. */
static int next_field(const char **p, char **ret, char **error) {
        const char *s = *p;
        _cleanup_free_ char *out = NULL;
        char quote = 0;
        size_t n = 0;

        while (is_space(*s))
                s++;
        if (!*s)
                return 0;
        out = malloc(strlen(s) + 1); /* unescaping only ever shrinks */
        if (!out)
                return -ENOMEM;
        for (; *s; s++) {
                if (quote == '\'') {
                        if (*s == '\'')
                                quote = 0;
                        else
                                out[n++] = *s;
                        continue;
                }
                if (quote == '"' && *s == '"') {
                        quote = 0;
                        continue;
                }
                if (!quote) {
                        if (is_space(*s))
                                break;
                        if (*s == '"' || *s == '\'') {
                                quote = *s;
                                continue;
                        }
                }
                if (*s == '\\') {
                        int k = unescape_one(s + 1, &out[n], error);
                        if (k < 0)
                                return k;
                        n++;
                        s += k;
                        continue;
                }
                out[n++] = *s;
        }
        if (quote)
                return fail(error, "unterminated %s quote", quote == '"' ? "double" : "single");
        out[n] = 0;
        *p = s;
        *ret = TAKE_PTR(out);
        return 1;
}

/* The specifiers sysusers.d(5) knows. Only those that do not depend on the
 * running machine are expanded; the others would need the image's
 * os-release, machine ID or kernel, and a declaration using them is refused
 * rather than misread. */
static int expand_specifiers(char **field, char **error) {
        const char *s = *field;
        size_t need = 1;

        if (!strchr(s, '%'))
                return 0;
        for (const char *p = s; *p; p++) {
                if (*p != '%' || !p[1]) {
                        need++;
                        continue;
                }
                p++;
                switch (*p) {
                case '%': need += 1; break;
                case 'T': need += strlen("/tmp"); break;
                case 'V': need += strlen("/var/tmp"); break;
                case 'a': case 'A': case 'b': case 'B': case 'H': case 'l': case 'm':
                case 'M': case 'o': case 'v': case 'w': case 'W':
                        return fail(error, "specifier \"%%%c\" is not supported (it depends on the machine)", *p);
                default:
                        if ((unsigned char) *p < 0x20 || *p == 0x7F || (unsigned char) *p >= 0x80)
                                return fail(error, "unknown specifier \"%%\" followed by byte 0x%02x",
                                            (unsigned char) *p);
                        return fail(error, "unknown specifier \"%%%c\"", *p);
                }
        }
        char *out = malloc(need), *o = out;
        if (!out)
                return -ENOMEM;
        for (const char *p = s; *p; p++) {
                if (*p != '%' || !p[1]) {
                        *o++ = *p; /* a trailing '%' stays, as in systemd */
                        continue;
                }
                p++;
                o = stpcpy(o, *p == 'T' ? "/tmp" : *p == 'V' ? "/var/tmp" : "%");
        }
        *o = 0;
        free(*field);
        *field = out;
        return 0;
}

/* A UID or GID as systemd's parse_uid() takes it: decimal, 0…4294967294,
 * but not 65535 (the 16-bit -1, which some tools still treat as "none").
 * No sign, no white space. */
bool sysusers_parse_id(const char *s, uint32_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (uint64_t) (*p - '0');
                if (v >= UINT32_MAX)
                        return false;
        }
        if (v == 65535)
                return false;
        if (ret)
                *ret = (uint32_t) v;
        return true;
}

static bool valid_utf8(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                uint32_t c;
                int len;
                if (*p < 0x80) {
                        p++;
                        continue;
                } else if ((*p & 0xE0) == 0xC0) {
                        c = *p & 0x1F;
                        len = 2;
                } else if ((*p & 0xF0) == 0xE0) {
                        c = *p & 0x0F;
                        len = 3;
                } else if ((*p & 0xF8) == 0xF0) {
                        c = *p & 0x07;
                        len = 4;
                } else
                        return false;
                for (int i = 1; i < len; i++) {
                        if ((p[i] & 0xC0) != 0x80)
                                return false;
                        c = (c << 6) | (p[i] & 0x3F);
                }
                /* Overlong forms, surrogates and beyond Unicode. */
                if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
                    (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
                        return false;
                p += len;
        }
        return true;
}

static bool has_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7F)
                        return true;
        return false;
}

/* Home, shell and the ID path: absolute, normalized (simplified in place),
 * valid UTF-8 without control characters; passwd(5) has no way to quote a
 * ':' in a home or shell. */
static int check_path(const char *what, char *path, bool colon_ok, char **error) {
        if (path[0] != '/')
                return fail(error, "%s \"%s\" is not an absolute path", what, path);
        if (has_control(path) || (!colon_ok && strchr(path, ':')))
                return fail(error, "%s \"%s\" contains %scontrol characters", what, path, colon_ok ? "" : "':' or ");
        if (!valid_utf8(path))
                return fail(error, "%s \"%s\" is not valid UTF-8", what, path);
        path_simplify(path);
        if (path_has_dotdot(path))
                return fail(error, "%s \"%s\" contains \"..\"", what, path);
        if (strlen(path) >= PATH_MAX)
                return fail(error, "%s is longer than %d bytes", what, PATH_MAX - 1);
        return 0;
}

static int check_name(const char *what, const char *name, char **error) {
        if (!valid_user_name(name))
                return fail(error,
                            "invalid %s name \"%s\" (1 to %d characters of a-z, A-Z, 0-9, '_' and '-', "
                            "not starting with a digit or '-')",
                            what, name, USER_NAME_MAX);
        return 0;
}

/* The ID field of 'u', 'g' and 'r' lines. */
static int check_id(SysusersType type, char *id, char **error) {
        uint32_t a, b;

        if (id[0] == '/') {
                if (type == SYSUSERS_RANGE)
                        return fail(error, "invalid range \"%s\": expected FROM-TO or a single ID", id);
                return check_path("ID path", id, true, error);
        }
        switch (type) {
        case SYSUSERS_USER: {
                /* "uid", "uid:gid", "uid:group", and "-" for the UID with a group. */
                char *colon = strchr(id, ':');
                if (colon) {
                        *colon = 0;
                        const char *uid = id, *gid = colon + 1;
                        bool ok_uid = strcmp(uid, "-") == 0 || sysusers_parse_id(uid, NULL);
                        bool ok_gid = sysusers_parse_id(gid, NULL) || valid_user_name(gid);
                        *colon = ':';
                        if (!ok_uid)
                                return fail(error, "invalid UID \"%.*s\" in \"%s\"", (int) (colon - id), id, id);
                        if (!ok_gid)
                                return fail(error, "invalid GID or group name \"%s\"", colon + 1);
                        return 0;
                }
                if (!sysusers_parse_id(id, NULL))
                        return fail(error, "invalid UID \"%s\" (0 to 4294967294, not 65535)", id);
                return 0;
        }
        case SYSUSERS_GROUP:
                if (!sysusers_parse_id(id, NULL))
                        return fail(error, "invalid GID \"%s\" (0 to 4294967294, not 65535)", id);
                return 0;
        case SYSUSERS_RANGE: {
                char *dash = strchr(id, '-');
                bool ok;
                if (dash) {
                        *dash = 0;
                        ok = sysusers_parse_id(id, &a) && sysusers_parse_id(dash + 1, &b) && a <= b;
                        *dash = '-';
                } else
                        ok = sysusers_parse_id(id, NULL);
                if (!ok)
                        return fail(error, "invalid range \"%s\": expected FROM-TO (FROM <= TO) or a single ID", id);
                return 0;
        }
        default:
                return fail(error, "unexpected ID \"%s\"", id);
        }
}

static void fields_free(char *(*fields)[FIELDS_MAX]) {
        for (size_t i = 0; i < FIELDS_MAX; i++)
                free((*fields)[i]);
}

int sysusers_parse_line(const char *line, SysusersEntry *ret, char **ret_error) {
        _cleanup_(fields_free) char *f[FIELDS_MAX] = {};
        _cleanup_(sysusers_entry_done) SysusersEntry e = {};
        const char *p = line;
        size_t n = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (strnlen(line, LINE_MAX_BYTES + 1) > LINE_MAX_BYTES)
                return fail(ret_error, "line longer than %d bytes", LINE_MAX_BYTES);
        while (is_space(*p))
                p++;
        if (!*p || *p == '#')
                return 0;

        for (;;) {
                char *field = NULL;
                const char *rest = p;
                r = next_field(&p, &field, ret_error);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (n == FIELDS_MAX) {
                        free(field);
                        while (is_space(*rest))
                                rest++;
                        return fail(ret_error, "trailing garbage \"%.32s%s\" after the shell field", rest,
                                    strlen(rest) > 32 ? "…" : "");
                }
                f[n++] = field;
        }
        if (n < 2)
                return fail(ret_error, "missing fields: a line needs at least a type and a name");

        if (strcmp(f[0], "u") == 0 || strcmp(f[0], "u!") == 0) {
                e.type = SYSUSERS_USER;
                e.locked = f[0][1] == '!';
        } else if (strcmp(f[0], "g") == 0 || strcmp(f[0], "m") == 0 || strcmp(f[0], "r") == 0)
                e.type = (SysusersType) f[0][0];
        else if (has_control(f[0]) || strlen(f[0]) > 16)
                return fail(ret_error, "unknown line type (expected u, u!, g, m or r)");
        else
                return fail(ret_error, "unknown line type \"%s\" (expected u, u!, g, m or r)", f[0]);

        /* "-" and "" mean "unset" in every field. */
        for (size_t i = 1; i < n; i++)
                if (!f[i][0] || strcmp(f[i], "-") == 0) {
                        free(f[i]);
                        f[i] = NULL;
                } else if ((r = expand_specifiers(&f[i], ret_error)) < 0)
                        return r;

        const char *what = e.type == SYSUSERS_GROUP ? "group" : "user";
        if (e.type == SYSUSERS_RANGE) {
                if (f[1])
                        return fail(ret_error, "a range line takes \"-\" as its name, not \"%s\"", f[1]);
                if (!f[2])
                        return fail(ret_error, "a range line needs a range (FROM-TO) in the ID field");
        } else if (!f[1])
                return fail(ret_error, "a %s line needs a %s name, not \"-\"",
                            e.type == SYSUSERS_MEMBER ? "member" : what, what);
        else if ((r = check_name(what, f[1], ret_error)) < 0)
                return r;

        if (e.type != SYSUSERS_USER) {
                static const char *const names[FIELDS_MAX] = { [3] = "GECOS", [4] = "home directory", [5] = "shell" };
                for (size_t i = 3; i < FIELDS_MAX; i++)
                        if (f[i])
                                return fail(ret_error, "'%c' lines take no %s field (\"%s\")", (char) e.type,
                                            names[i], f[i]);
        }
        if (e.type == SYSUSERS_MEMBER) {
                if (!f[2])
                        return fail(ret_error, "a member line needs a group name in the ID field");
                if ((r = check_name("group", f[2], ret_error)) < 0)
                        return r;
        } else if (f[2] && (r = check_id(e.type, f[2], ret_error)) < 0)
                return r;

        if (f[3]) {
                /* systemd's rule; passwd(5) would split the line at a ':'. */
                if (strchr(f[3], ':') || strchr(f[3], '\n'))
                        return fail(ret_error, "GECOS field must not contain ':' or a newline");
                if (!valid_utf8(f[3]))
                        return fail(ret_error, "GECOS field is not valid UTF-8");
        }
        if (f[4] && (r = check_path("home directory", f[4], false, ret_error)) < 0)
                return r;
        if (f[5] && (r = check_path("shell", f[5], false, ret_error)) < 0)
                return r;

        e.name = TAKE_PTR(f[1]);
        e.id = TAKE_PTR(f[2]);
        e.gecos = TAKE_PTR(f[3]);
        e.home = TAKE_PTR(f[4]);
        e.shell = TAKE_PTR(f[5]);
        *ret = e;
        e = (SysusersEntry) {};
        return 1;
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

typedef struct Loader {
        SysusersTable t;
        size_t allocated;
        void *users, *groups; /* tsearch() trees of Declared, for duplicates */
        bool full;
} Loader;

typedef struct Declared {
        const char *name;
        size_t index;
} Declared;

static int compare_declared(const void *a, const void *b) {
        return strcmp(((const Declared *) a)->name, ((const Declared *) b)->name);
}

static bool same(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* systemd-sysusers keeps the first declaration of a user or group and
 * ignores later ones; so must we, or we would seed a home that no user has. */
static int add_entry(Loader *l, SysusersEntry *e) {
        void **tree = e->type == SYSUSERS_USER ? &l->users : e->type == SYSUSERS_GROUP ? &l->groups : NULL;
        _cleanup_free_ Declared *d = NULL;

        if (l->t.n_entries >= ENTRIES_MAX) {
                if (!l->full)
                        log_warning("%s:%u: more than %d declarations, ignoring the rest", e->file, e->line,
                                    ENTRIES_MAX);
                l->full = true;
                sysusers_entry_done(e);
                return 0;
        }
        if (tree) {
                d = malloc(sizeof *d);
                if (!d)
                        return -ENOMEM;
                *d = (Declared) { .name = e->name, .index = l->t.n_entries };
                Declared **found = tsearch(d, tree, compare_declared);
                if (!found)
                        return -ENOMEM;
                if (*found != d) {
                        const SysusersEntry *o = &l->t.entries[(*found)->index];
                        if (!same(o->id, e->id) || !same(o->gecos, e->gecos) || !same(o->home, e->home) ||
                            !same(o->shell, e->shell) || o->locked != e->locked)
                                log_warning("%s:%u: %s \"%s\" is already declared at %s:%u, ignoring this line",
                                            e->file, e->line, e->type == SYSUSERS_USER ? "user" : "group", e->name,
                                            o->file, o->line);
                        sysusers_entry_done(e);
                        return 0;
                }
        }
        if (l->t.n_entries == l->allocated) {
                size_t k = l->allocated ? l->allocated * 2 : 16;
                SysusersEntry *n = realloc(l->t.entries, k * sizeof *n);
                if (!n) {
                        if (tree)
                                tdelete(d, tree, compare_declared);
                        return -ENOMEM;
                }
                l->t.entries = n;
                l->allocated = k;
        }
        l->t.entries[l->t.n_entries++] = *e;
        *e = (SysusersEntry) {};
        d = NULL; /* the tree owns it now */
        return 0;
}

static int load_file(Loader *l, int fd, const char *path) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = malloc(LINE_MAX_BYTES + 1);
        unsigned no = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                return -ENOMEM;
        }
        while ((r = read_line_bounded(f, buf, LINE_MAX_BYTES)) != 0) {
                _cleanup_(sysusers_entry_done) SysusersEntry e = {};
                _cleanup_free_ char *error = NULL;

                no++;
                if (r == -EIO) {
                        log_warning_errno(errno, "%s:%u: cannot read, ignoring the rest of the file: %m", path, no);
                        return 0;
                }
                if (r == -E2BIG || r == -EBADMSG) {
                        log_warning("%s:%u: %s, ignoring line", path, no,
                                    r == -E2BIG ? "line longer than 4096 bytes" : "line contains a NUL byte");
                        continue;
                }
                r = sysusers_parse_line(buf, &e, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_warning("%s:%u: %s, ignoring line", path, no, error ?: "invalid line");
                        continue;
                }
                if (r == 0)
                        continue;
                e.file = strdup(path);
                if (!e.file)
                        return -ENOMEM;
                e.line = no;
                r = add_entry(l, &e);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct ConfFile {
        char *name;
        size_t dir; /* index into dirs */
} ConfFile;

static int compare_conf(const void *a, const void *b) {
        return strcmp(((const ConfFile *) a)->name, ((const ConfFile *) b)->name);
}

static bool is_conf_name(const char *name) {
        size_t n = strlen(name);
        /* Hidden files are editor and package-manager leftovers, as for systemd. */
        return name[0] != '.' && n > strlen(".conf") && strcmp(name + n - strlen(".conf"), ".conf") == 0;
}

/* Collects the *.conf names of all directories, each name from the first
 * directory that has it. */
static int list_files(int root_fd, const char *prefix, ConfFile **ret, size_t *ret_n) {
        ConfFile *files = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(dirs) && r == 0; i++) {
                int fd = open_in_root(root_fd, dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        if (fd != -ENOENT && fd != -ENOTDIR)
                                log_warning_errno(fd, "%s%s: cannot open, ignoring: %m", prefix, dirs[i]);
                        continue;
                }
                DIR *d = fdopendir(fd);
                if (!d) {
                        close(fd);
                        r = -ENOMEM;
                        break;
                }
                struct dirent *de;
                while ((de = readdir(d))) {
                        bool seen = false;
                        /* As systemd: directories, FIFOs and the like neither count nor shadow. */
                        if (de->d_type != DT_REG && de->d_type != DT_LNK && de->d_type != DT_UNKNOWN)
                                continue;
                        if (!is_conf_name(de->d_name))
                                continue;
                        for (size_t k = 0; k < n && !seen; k++)
                                seen = strcmp(files[k].name, de->d_name) == 0;
                        if (seen)
                                continue; /* overridden or masked by an earlier directory */
                        if (n >= FILES_MAX) {
                                log_warning("%s%s: more than %d configuration files, ignoring %s", prefix, dirs[i],
                                            FILES_MAX, de->d_name);
                                continue;
                        }
                        ConfFile *l = realloc(files, (n + 1) * sizeof *files);
                        if (!l) {
                                r = -ENOMEM;
                                break;
                        }
                        files = l;
                        files[n] = (ConfFile) { .name = strdup(de->d_name), .dir = i };
                        if (!files[n].name) {
                                r = -ENOMEM;
                                break;
                        }
                        n++;
                }
                closedir(d);
        }
        if (r < 0) {
                for (size_t k = 0; k < n; k++)
                        free(files[k].name);
                free(files);
                return r;
        }
        if (n > 0) /* qsort(NULL, 0) is undefined */
                qsort(files, n, sizeof *files, compare_conf);
        *ret = files;
        *ret_n = n;
        return 0;
}

/* Opens one configuration file into *ret_fd; -1 if the file is masked or
 * not usable (logged). Returns 0 or -ENOMEM. */
static int open_conf(int root_fd, const char *dir, const char *name, const char *path, int *ret_fd) {
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;

        *ret_fd = -1;
        if (asprintf(&rel, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        /* The mask is a symlink to /dev/null, which need not exist below a root. */
        char target[sizeof "/dev/null"];
        ssize_t k = 0;
        _cleanup_close_ int dfd = open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                k = readlinkat(dfd, name, target, sizeof target);
        if (k == (ssize_t) strlen("/dev/null") && memcmp(target, "/dev/null", (size_t) k) == 0) {
                log_debug("%s: masked", path);
                return 0;
        }
        /* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
        fd = open_in_root(root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                log_warning_errno(fd, "%s: cannot open, ignoring: %m", path);
                return 0;
        }
        if (fstat(fd, &st) < 0) {
                log_warning_errno(errno, "%s: cannot stat, ignoring: %m", path);
                return 0;
        }
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                /* A symlink to /dev/null by another path; systemd also masks with it. */
                log_debug("%s: masked (a device)", path);
                return 0;
        }
        if (!S_ISREG(st.st_mode)) {
                log_warning("%s: not a regular file, ignoring", path);
                return 0;
        }
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
                log_warning_errno(errno, "%s: cannot read, ignoring: %m", path);
                return 0;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int sysusers_load(const char *root, SysusersTable *ret) {
        _cleanup_close_ int root_fd = -1;
        _cleanup_free_ char *prefix = NULL;
        ConfFile *files = NULL;
        Loader l = {};
        size_t n = 0;
        int r;

        /* Paths in messages carry the root; "" for none or "/". */
        size_t len = root ? strlen(root) : 0;
        while (len > 0 && root[len - 1] == '/')
                len--;
        prefix = strndup(root ?: "", len);
        if (!prefix)
                return -ENOMEM;
        if (prefix[0]) {
                root_fd = open(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return log_error_errno(errno, "cannot open root directory %s: %m", prefix);
        }

        r = list_files(root_fd, prefix, &files, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s%s/%s", prefix, dirs[files[i].dir], files[i].name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                int fd;
                r = open_conf(root_fd, dirs[files[i].dir], files[i].name, path, &fd);
                if (r >= 0 && fd >= 0)
                        r = load_file(&l, fd, path);
        }
        for (size_t i = 0; i < n; i++)
                free(files[i].name);
        free(files);
        tdestroy(l.users, free);
        tdestroy(l.groups, free);
        if (r < 0) {
                sysusers_table_done(&l.t);
                return r;
        }
        *ret = l.t;
        return 0;
}
