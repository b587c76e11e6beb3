/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-file.h"
#include "fileio.h"
#include "runtime-paths.h"
#include "log.h"
#include "macro.h"
#include "size.h"

static const char *const config_dirs[] = { "/etc/hearth", HEARTH_RUNTIME_DIR_DEFAULT, "/usr/lib/hearth" };

/* Sections one Hearth program reads and the others skip without a word
 * (hearthd reads [Pool], [Worker], [Quota] and [Rebalance], each with its own loader; hearth-accounts [Accounts], hearth-work [TPM2]). */
static const char *const shared_sections[] = { "Pool", "Accounts", "TPM2", "Worker", "Quota", "Rebalance" };

static bool someone_elses(const char *section, const ConfigItem *items, size_t n_items) {
        bool shared = false;
        for (size_t i = 0; i < ELEMENTSOF(shared_sections); i++)
                shared = shared || strcmp(shared_sections[i], section) == 0;
        for (size_t i = 0; shared && i < n_items; i++)
                if (strcmp(items[i].section, section) == 0)
                        return false;
        return shared;
}

int config_find(char **ret_path) {
        *ret_path = NULL;
        for (size_t i = 0; i < ELEMENTSOF(config_dirs); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", config_dirs[i], CONFIG_FILE_NAME) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) == 0) {
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
                if (errno != ENOENT)
                        return log_error_errno(errno, "config %s: %m", p);
        }
        return 0;
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        return s;
}

int config_parse_file(const char *path, const ConfigItem *items, size_t n_items) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_file_bounded(path, CONFIG_FILE_MAX, &data, &len);
        if (r < 0)
                return log_error_errno(r, "config %s: cannot read: %s", path,
                                       r == -EFBIG ? "larger than 256 KiB" : strerror(-r));
        if (strlen(data) != len)
                return log_error_errno(EBADMSG, "config %s: contains a NUL byte", path);

        char section[CONFIG_LINE_MAX + 1] = "";
        unsigned lineno = 0;
        for (char *line = data, *next; line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                lineno++;
                if (strlen(line) > CONFIG_LINE_MAX)
                        return log_error_errno(E2BIG, "config %s:%u: line longer than %d bytes", path, lineno,
                                               CONFIG_LINE_MAX);
                char *l = strip(line);
                if (!*l || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        char *end = strchr(l, ']');
                        if (!end || end[1] || end == l + 1)
                                return log_error_errno(EBADMSG, "config %s:%u: malformed section header", path, lineno);
                        *end = 0;
                        snprintf(section, sizeof section, "%s", l + 1);
                        continue;
                }
                char *eq = strchr(l, '=');
                if (!eq)
                        return log_error_errno(EBADMSG, "config %s:%u: expected Key=Value", path, lineno);
                *eq = 0;
                const char *key = strip(l), *value = strip(eq + 1);
                if (!*section)
                        return log_error_errno(EBADMSG, "config %s:%u: %s outside of any [Section]", path, lineno, key);
                const ConfigItem *it = NULL;
                for (size_t i = 0; i < n_items && !it; i++)
                        if (strcmp(items[i].section, section) == 0 && strcmp(items[i].key, key) == 0)
                                it = &items[i];
                if (!it) {
                        if (!someone_elses(section, items, n_items))
                                log_warning("config %s:%u: unknown setting [%s] %s, ignored", path, lineno, section,
                                            key);
                        continue;
                }
                r = it->parse(value, it->data);
                if (r < 0)
                        return log_error_errno(r, "config %s:%u: [%s] %s=%s: not a valid value", path, lineno, section,
                                               key, value);
        }
        return 0;
}

int config_load(const char *path, const ConfigItem *items, size_t n_items) {
        _cleanup_free_ char *found = NULL;
        if (!path) {
                int r = config_find(&found);
                if (r < 0)
                        return r;
                if (!found)
                        return 0;
                path = found;
        }
        return config_parse_file(path, items, n_items);
}

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int config_parse_bool(const char *value, void *data) {
        return parse_boolean(value, data);
}

int config_parse_size(const char *value, void *data) {
        uint64_t v;
        int r = size_parse(value, &v);
        if (r < 0)
                return r;
        if (v >= HEARTH_SIZE_MAX)
                return -ERANGE;
        *(uint64_t *) data = v;
        return 0;
}

int config_parse_seconds(const char *value, void *data) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "", USEC_PER_SEC },         { "s", USEC_PER_SEC },     { "sec", USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC }, { "m", 60 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
                { "ms", 1000 },
        };
        char *end;
        if (!isdigit((unsigned char) *value))
                return -EINVAL;
        errno = 0;
        unsigned long long n = strtoull(value, &end, 10);
        if (errno != 0)
                return -ERANGE;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(end, units[i].suffix) == 0) {
                        /* A year is more than any interval needs. */
                        if (n > 366ULL * 24 * 3600 * USEC_PER_SEC / units[i].usec)
                                return -ERANGE;
                        *(uint64_t *) data = (uint64_t) n * units[i].usec;
                        return 0;
                }
        return -EINVAL;
}
