/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one-option-one-field user record options of systemd 252's homectl:
 * which field, which section, which syntax; the facts are homectl 252's
 * (src/home/homectl.c, parse_argv()), checked against it by
 * tests/host/test-homectl-parity.sh. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "conf-file.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "path-util.h"
#include "record-args.h"
#include "rlimit-name.h"
#include "size.h"

typedef enum RecordArgKind {
        K_STRING,       /* any text without control characters */
        K_SAFE,         /* homectl's string_is_safe(): no control characters, quotes or backslashes */
        K_BOOL,
        K_SEC,          /* time span in µs */
        K_TIMESTAMP,    /* point in time in µs */
        K_SIZE,         /* bytes, K/M/G/… of 1024 */
        K_U64,
        K_UNSIGNED,     /* 32 bits */
        K_ACCESS_MODE,  /* octal, ≤ 07777, written unsigned */
        K_UMASK,        /* octal, ≤ 07777, written as an integer */
        K_NICE,
        K_WEIGHT,       /* cgroup weight 1…10000 */
        K_SECTOR_SIZE,  /* 512…4096, a power of two */
        K_PATH,         /* made absolute against the working directory */
        K_HOME_DIR,
        K_REALM,
        K_TIMEZONE,
        K_LANGUAGE,
        K_ENV,
        K_SSH_KEYS,
        K_RLIMIT,
        K_CIFS_SERVICE,
        K_FIDO2_DEVICE,
        K_FIDO2_FLAG,   /* parsed, no field: how a FIDO2 token would be enrolled */
} RecordArgKind;

#define R RECORD_SECTION_REGULAR
#define M RECORD_SECTION_MACHINE
#define P RECORD_SECTION_PRIVILEGED
const RecordArg record_args[] = {
        { "realm", 0, "realm", R, K_REALM, "REALM" },
        { "location", 0, "location", R, K_STRING, "LOCATION" },
        { "icon-name", 0, "iconName", R, K_STRING, "NAME" },
        { "home-dir", 'd', "homeDirectory", R, K_HOME_DIR, "PATH" },
        { "skel", 'k', "skeletonDirectory", M, K_PATH, "PATH" },
        { "setenv", 0, "environment", R, K_ENV, "VARIABLE[=VALUE]" },
        { "timezone", 0, "timeZone", R, K_TIMEZONE, "TIMEZONE" },
        { "language", 0, "preferredLanguage", R, K_LANGUAGE, "LOCALE" },
        { "ssh-authorized-keys", 0, "sshAuthorizedKeys", P, K_SSH_KEYS, "KEYS" },
        { "fido2-device", 0, "fido2HmacCredential", R, K_FIDO2_DEVICE, "PATH" },
        { "fido2-with-client-pin", 0, NULL, R, K_FIDO2_FLAG, "BOOL" },
        { "fido2-with-user-presence", 0, NULL, R, K_FIDO2_FLAG, "BOOL" },
        { "fido2-with-user-verification", 0, NULL, R, K_FIDO2_FLAG, "BOOL" },
        { "locked", 0, "locked", R, K_BOOL, "BOOL" },
        { "not-before", 0, "notBeforeUSec", R, K_TIMESTAMP, "TIMESTAMP" },
        { "not-after", 0, "notAfterUSec", R, K_TIMESTAMP, "TIMESTAMP" },
        { "expiredate", 'e', "notAfterUSec", R, K_TIMESTAMP, "TIMESTAMP" },
        { "rate-limit-interval", 0, "rateLimitIntervalUSec", R, K_SEC, "SECS" },
        { "rate-limit-burst", 0, "rateLimitBurst", R, K_UNSIGNED, "NUMBER" },
        { "password-hint", 0, "passwordHint", P, K_STRING, "HINT" },
        { "enforce-password-policy", 0, "enforcePasswordPolicy", R, K_BOOL, "BOOL" },
        { "password-change-now", 0, "passwordChangeNow", R, K_BOOL, "BOOL" },
        { "password-change-min", 0, "passwordChangeMinUSec", R, K_SEC, "TIME" },
        { "password-change-max", 0, "passwordChangeMaxUSec", R, K_SEC, "TIME" },
        { "password-change-warn", 0, "passwordChangeWarnUSec", R, K_SEC, "TIME" },
        { "password-change-inactive", 0, "passwordChangeInactiveUSec", R, K_SEC, "TIME" },
        { "access-mode", 0, "accessMode", R, K_ACCESS_MODE, "MODE" },
        { "umask", 0, "umask", R, K_UMASK, "MODE" },
        { "nice", 0, "niceLevel", R, K_NICE, "NICE" },
        { "rlimit", 0, "resourceLimits", M, K_RLIMIT, "LIMIT=VALUE[:VALUE]" },
        { "tasks-max", 0, "tasksMax", R, K_U64, "MAX" },
        { "memory-high", 0, "memoryHigh", M, K_SIZE, "BYTES" },
        { "memory-max", 0, "memoryMax", M, K_SIZE, "BYTES" },
        { "cpu-weight", 0, "cpuWeight", R, K_WEIGHT, "WEIGHT" },
        { "io-weight", 0, "ioWeight", R, K_WEIGHT, "WEIGHT" },
        { "drop-caches", 0, "dropCaches", R, K_BOOL, "BOOL" },
        { "luks-discard", 0, "luksDiscard", R, K_BOOL, "BOOL" },
        { "luks-offline-discard", 0, "luksOfflineDiscard", R, K_BOOL, "BOOL" },
        { "luks-cipher", 0, "luksCipher", R, K_SAFE, "CIPHER" },
        { "luks-cipher-mode", 0, "luksCipherMode", R, K_SAFE, "MODE" },
        { "luks-volume-key-size", 0, "luksVolumeKeySize", R, K_UNSIGNED, "BITS" },
        { "luks-pbkdf-type", 0, "luksPbkdfType", R, K_SAFE, "TYPE" },
        { "luks-pbkdf-hash-algorithm", 0, "luksPbkdfHashAlgorithm", R, K_SAFE, "ALGORITHM" },
        { "luks-pbkdf-time-cost", 0, "luksPbkdfTimeCostUSec", R, K_SEC, "SECS" },
        { "luks-pbkdf-memory-cost", 0, "luksPbkdfMemoryCost", M, K_SIZE, "BYTES" },
        { "luks-pbkdf-parallel-threads", 0, "luksPbkdfParallelThreads", R, K_UNSIGNED, "NUMBER" },
        { "luks-sector-size", 0, "luksSectorSize", R, K_SECTOR_SIZE, "BYTES" },
        { "luks-extra-mount-options", 0, "luksExtraMountOptions", R, K_STRING, "OPTIONS" },
        { "nosuid", 0, "mountNoSuid", R, K_BOOL, "BOOL" },
        { "nodev", 0, "mountNoDevices", R, K_BOOL, "BOOL" },
        { "noexec", 0, "mountNoExecute", R, K_BOOL, "BOOL" },
        { "cifs-domain", 0, "cifsDomain", R, K_STRING, "DOMAIN" },
        { "cifs-user-name", 0, "cifsUserName", R, K_STRING, "USER" },
        { "cifs-service", 0, "cifsService", R, K_CIFS_SERVICE, "SERVICE" },
        { "cifs-extra-mount-options", 0, "cifsExtraMountOptions", R, K_STRING, "OPTIONS" },
        { "stop-delay", 0, "stopDelayUSec", R, K_SEC, "SECS" },
        { "kill-processes", 0, "killProcesses", R, K_BOOL, "BOOL" },
        { "auto-login", 0, "autoLogin", R, K_BOOL, "BOOL" },
};
#undef R
#undef M
#undef P
const size_t record_args_count = ELEMENTSOF(record_args);

/* Bounds of what one option may carry: the record's own (user-record.c)
 * are checked again when the record is built. */
#define ARG_TEXT_MAX 4096
#define ENV_MAX 256
#define SSH_KEYS_MAX 256

static bool has_cc(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* safe_atou64(): decimal digits only (a leading '+' or white space is
 * what strtoull takes and homectl too; a '-' is refused). */
static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        const char *p = s;
        while (isspace((unsigned char) *p))
                p++;
        if (*p == '-' || !*p)
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (end == p || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_octal_mode(const char *s, uint64_t *ret) {
        char *end;
        if (!*s || *s == '-' || isspace((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 8);
        if (errno || *end || v > 07777)
                return -EINVAL;
        *ret = v;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} time_units[] = {
        { "seconds", 1000000 }, { "second", 1000000 }, { "sec", 1000000 },       { "s", 1000000 },
        { "minutes", 60000000 }, { "minute", 60000000 }, { "min", 60000000 },
        { "months", 2629800000000 }, { "month", 2629800000000 }, { "M", 2629800000000 },
        { "msec", 1000 },       { "ms", 1000 },          { "m", 60000000 },
        { "hours", 3600000000 }, { "hour", 3600000000 }, { "hr", 3600000000 },   { "h", 3600000000 },
        { "days", 86400000000 }, { "day", 86400000000 }, { "d", 86400000000 },
        { "weeks", 604800000000 }, { "week", 604800000000 }, { "w", 604800000000 },
        { "years", 31557600000000 }, { "year", 31557600000000 }, { "y", 31557600000000 },
        { "usec", 1 },          { "us", 1 },             { "\xc2\xb5s", 1 },
};

int parse_sec(const char *s, uint64_t *ret) {
        uint64_t total = 0;
        const char *p = s;
        bool any = false;

        while (isspace((unsigned char) *p))
                p++;
        if (strcmp(p, "infinity") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        for (;;) {
                while (isspace((unsigned char) *p))
                        p++;
                if (!*p)
                        break;
                if (!isdigit((unsigned char) *p) && *p != '.')
                        return -EINVAL;
                char *end;
                errno = 0;
                unsigned long long whole = strtoull(p, &end, 10);
                if (errno)
                        return -ERANGE;
                uint64_t frac = 0, frac_div = 1;
                if (*end == '.') {
                        end++;
                        for (; isdigit((unsigned char) *end); end++)
                                if (frac_div < UINT64_C(1000000000000)) {
                                        frac = frac * 10 + (uint64_t) (*end - '0');
                                        frac_div *= 10;
                                }
                }
                if (end == p || (end == p + 1 && *p == '.'))
                        return -EINVAL;
                p = end;
                while (isspace((unsigned char) *p))
                        p++;
                uint64_t unit = 1000000;
                size_t len = 0;
                for (size_t i = 0; i < ELEMENTSOF(time_units); i++) {
                        size_t l = strlen(time_units[i].suffix);
                        if (strncmp(p, time_units[i].suffix, l) == 0 && !isalpha((unsigned char) p[l]) && l > len) {
                                unit = time_units[i].usec;
                                len = l;
                        }
                }
                if (len == 0 && isalpha((unsigned char) *p))
                        return -EINVAL;
                p += len;
                if (whole > UINT64_MAX / unit)
                        return -ERANGE;
                uint64_t v = whole * unit + (uint64_t) ((long double) frac * unit / frac_div);
                if (v < whole * unit || total + v < total)
                        return -ERANGE;
                total += v;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

int parse_timestamp(const char *s, uint64_t *ret) {
        struct timespec now;
        uint64_t span;
        size_t n = strlen(s);

        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t now_us = (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;

        if (s[0] == '@') {
                if (parse_sec(s + 1, &span) < 0 || span == UINT64_MAX)
                        return -EINVAL;
                *ret = span;
                return 0;
        }
        if (strcmp(s, "now") == 0) {
                *ret = now_us;
                return 0;
        }
        if (s[0] == '+' || s[0] == '-') {
                if (parse_sec(s + 1, &span) < 0 || span == UINT64_MAX)
                        return -EINVAL;
                if (s[0] == '-' && span > now_us)
                        return -ERANGE;
                *ret = s[0] == '+' ? now_us + span : now_us - span;
                return 0;
        }
        if (n > 4 && strcmp(s + n - 4, " ago") == 0) {
                _cleanup_free_ char *t = strndup(s, n - 4);
                if (!t)
                        return -ENOMEM;
                if (parse_sec(t, &span) < 0 || span == UINT64_MAX || span > now_us)
                        return -EINVAL;
                *ret = now_us - span;
                return 0;
        }

        char buf[64];
        bool utc = false;
        if (n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, n + 1);
        if (n > 4 && strcmp(buf + n - 4, " UTC") == 0) {
                utc = true;
                buf[n - 4] = 0;
        }

        struct tm tm = {};
        time_t t = now.tv_sec;
        int day_offset = 0;
        if (utc ? !gmtime_r(&t, &tm) : !localtime_r(&t, &tm))
                return -EINVAL;
        if (strcmp(buf, "today") == 0 || strcmp(buf, "tomorrow") == 0 || strcmp(buf, "yesterday") == 0) {
                day_offset = buf[0] == 't' && buf[2] == 'm' ? 1 : buf[0] == 'y' ? -1 : 0;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        } else {
                static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d" };
                bool parsed = false;
                for (size_t i = 0; i < ELEMENTSOF(formats) && !parsed; i++) {
                        struct tm x = { .tm_isdst = -1 };
                        const char *end = strptime(buf, formats[i], &x);
                        if (end && !*end) {
                                tm = x;
                                parsed = true;
                        }
                }
                if (!parsed)
                        return -EINVAL;
        }
        tm.tm_mday += day_offset;
        tm.tm_isdst = -1;
        t = utc ? timegm(&tm) : mktime(&tm);
        if (t == (time_t) -1 || t < 0)
                return -EINVAL;
        *ret = (uint64_t) t * 1000000;
        return 0;
}

static int set(RecordChanges *c, const RecordArg *a, json_object *v) {
        if (!v)
                return log_oom();
        int r = record_changes_set(c, a->section, a->field, v);
        return r < 0 ? log_oom() : 0;
}

static json_object *string_array(char **l, size_t n) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < n; i++) {
                json_object *s = json_object_new_string(l[i]);
                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        json_object_put(a);
                        return NULL;
                }
        }
        return a;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool env_name_valid(const char *s, size_t n) {
        if (n == 0 || n > 255 || isdigit((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_')
                        return false;
        return true;
}

/* --setenv=NAME=VALUE or NAME (the value from our environment, empty if
 * unset); replaces NAME's earlier entry; the list is kept sorted. */
static int parse_env(RecordChanges *c, const RecordArg *a, const char *arg) {
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t) (eq - arg) : strlen(arg);
        _cleanup_free_ char *entry = NULL;

        if (!env_name_valid(arg, nlen) || (eq && has_cc(eq + 1)) || strlen(arg) > ARG_TEXT_MAX) {
                log_error("Cannot assign environment variable %s: Invalid argument", arg);
                return -EINVAL;
        }
        if (eq)
                entry = strdup(arg);
        else {
                const char *v = secure_getenv(arg);
                if (asprintf(&entry, "%s=%s", arg, v ?: "") < 0)
                        entry = NULL;
        }
        if (!entry)
                return log_oom();

        json_object *old = record_changes_get(c, a->field);
        size_t n = old ? json_object_array_length(old) : 0;
        if (n >= ENV_MAX) {
                log_error("--setenv=: at most %d variables", ENV_MAX);
                return -EINVAL;
        }
        _cleanup_free_ char **l = calloc(n + 1, sizeof *l);
        if (!l)
                return log_oom();
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *e = json_object_get_string(json_object_array_get_idx(old, i));
                if (strncmp(e, entry, nlen + 1) != 0)
                        l[k++] = (char *) e;
        }
        l[k++] = entry;
        qsort(l, k, sizeof *l, cmp_str);
        return set(c, a, string_array(l, k));
}

/* --ssh-authorized-keys=KEY or @FILE (one key a line; '#' lines and empty
 * ones skipped); added to the earlier ones, duplicates dropped. */
static int parse_ssh_keys(RecordChanges *c, const RecordArg *a, const char *arg) {
        json_object *old = record_changes_get(c, a->field);
        size_t n = old ? json_object_array_length(old) : 0;
        _cleanup_free_ char **l = calloc(SSH_KEYS_MAX, sizeof *l);
        _cleanup_free_ char *text = NULL;
        int r;

        if (!l)
                return log_oom();
        for (size_t i = 0; i < n; i++)
                l[i] = (char *) json_object_get_string(json_object_array_get_idx(old, i));

        if (arg[0] == '@') {
                size_t size;
                r = read_file_bounded(arg + 1, 1024 * 1024, &text, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to open '%s': %m", arg + 1);
                if (strlen(text) != size) {
                        log_error("Failed to read from '%s': it holds a NUL byte", arg + 1);
                        return -EINVAL;
                }
        } else {
                if (has_cc(arg)) {
                        log_error("Authorized key contains control characters, refusing.");
                        return -EINVAL;
                }
                if (arg[0] == '#') {
                        log_error("Specified key is a comment?");
                        return -EINVAL;
                }
                if (!(text = strdup(arg)))
                        return log_oom();
        }
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t len = strlen(line);
                if (len > 0 && line[len - 1] == '\r')
                        line[--len] = 0;
                if (!line[0] || line[0] == '#')
                        continue;
                if (has_cc(line) || len > ARG_TEXT_MAX) {
                        log_error("Authorized key contains control characters or is too long, refusing.");
                        return -EINVAL;
                }
                bool dup = false;
                for (size_t i = 0; i < n && !dup; i++)
                        dup = strcmp(l[i], line) == 0;
                if (dup)
                        continue;
                if (n >= SSH_KEYS_MAX) {
                        log_error("--ssh-authorized-keys=: at most %d keys", SSH_KEYS_MAX);
                        return -EINVAL;
                }
                l[n++] = line;
        }
        return set(c, a, string_array(l, n));
}


static bool rlimit_is_bytes(int l) {
        return l == RLIMIT_FSIZE || l == RLIMIT_DATA || l == RLIMIT_STACK || l == RLIMIT_CORE || l == RLIMIT_RSS ||
               l == RLIMIT_AS || l == RLIMIT_MEMLOCK || l == RLIMIT_MSGQUEUE;
}

/* One value of --rlimit=: "infinity", a number; bytes with K, M, G… for
 * the size limits; seconds (time span) for CPU, µs for RTTIME. */
static int rlimit_value(int l, const char *s, json_object **ret) {
        uint64_t v;
        int r;

        if (strcmp(s, "infinity") == 0) {
                *ret = NULL; /* JSON null */
                return 0;
        }
        if (rlimit_is_bytes(l))
                r = size_parse(s, &v);
        else if (l == RLIMIT_CPU) {
                r = parse_sec(s, &v);
                if (r >= 0 && v != UINT64_MAX)
                        v = (v + 999999) / 1000000;
        } else if (l == RLIMIT_RTTIME)
                r = parse_sec(s, &v);
        else
                r = parse_u64(s, &v);
        if (r < 0)
                return -EINVAL;
        if (v == UINT64_MAX) {
                *ret = NULL;
                return 0;
        }
        if (!(*ret = json_object_new_uint64(v)))
                return -ENOMEM;
        return 1;
}

static int parse_rlimit(RecordChanges *c, const char *arg) {
        const char *eq = strchr(arg, '=');
        int l = -1;
        int r;

        if (!eq) {
                log_error("Can't parse resource limit assignment: %s", arg);
                return -EINVAL;
        }
        l = rlimit_from_name(arg, (size_t) (eq - arg));
        if (l < 0) {
                log_error("Unknown resource limit type: %.*s", (int) (eq - arg), arg);
                return -EINVAL;
        }
        char key[32];
        snprintf(key, sizeof key, "RLIMIT_%s", rlimit_name(l));

        if (!c->rlimits && !(c->rlimits = json_object_new_object()))
                return log_oom();
        if (!eq[1]) {
                json_object_object_del(c->rlimits, key);
                if (!c->rlimits_drop && !(c->rlimits_drop = json_object_new_object()))
                        return log_oom();
                if (json_object_object_add(c->rlimits_drop, key, NULL) < 0)
                        return log_oom();
                return 0;
        }

        _cleanup_free_ char *cur_s = strdup(eq + 1);
        if (!cur_s)
                return log_oom();
        char *colon = strchr(cur_s, ':');
        const char *max_s = cur_s;
        if (colon) {
                *colon = 0;
                max_s = colon + 1;
        }
        json_object *cur = NULL, *max = NULL, *o;
        if ((r = rlimit_value(l, cur_s, &cur)) < 0 || (r = rlimit_value(l, max_s, &max)) < 0) {
                json_object_put(cur);
                if (r == -ENOMEM)
                        return log_oom();
                log_error("Failed to parse resource limit value: %s", eq + 1);
                return -EINVAL;
        }
        uint64_t cv = cur ? json_object_get_uint64(cur) : UINT64_MAX, mv = max ? json_object_get_uint64(max) : UINT64_MAX;
        if (cv > mv) {
                json_object_put(cur);
                json_object_put(max);
                log_error("Failed to parse resource limit value: %s", eq + 1);
                return -EINVAL;
        }
        if (!(o = json_object_new_object()) || json_object_object_add(o, "cur", cur) < 0 ||
            json_object_object_add(o, "max", max) < 0 || json_object_object_add(c->rlimits, key, o) < 0) {
                json_object_put(o);
                return log_oom();
        }
        if (c->rlimits_drop)
                json_object_object_del(c->rlimits_drop, key);
        return 0;
}

static bool valid_realm(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
                return false;
        size_t label = 0;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                        continue;
                }
                if (!isalnum((unsigned char) *p) && *p != '-' && *p != '_')
                        return false;
                if (++label > 63)
                        return false;
        }
        return true;
}

static bool valid_timezone(const char *s) {
        if (strcmp(s, "UTC") == 0)
                return true;
        if (!s[0] || s[0] == '/' || strlen(s) > 255 || path_has_dotdot(s))
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("/-_+", *p))
                        return false;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "/usr/share/zoneinfo/%s", s) < 0)
                return false;
        char magic[4];
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        bool ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
        fclose(f);
        return ok;
}

static bool valid_locale(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-@", *p))
                        return false;
        return true;
}

/* //HOST/SERVICE[/DIRECTORY]. */
static bool valid_cifs_service(const char *s) {
        if (strncmp(s, "//", 2) != 0 || has_cc(s) || strlen(s) > ARG_TEXT_MAX)
                return false;
        const char *host = s + 2, *slash = strchr(host, '/');
        if (!slash || slash == host)
                return false;
        const char *svc = slash + 1, *end = strchrnul(svc, '/');
        if (end == svc)
                return false;
        return !path_has_dotdot(end);
}

static int make_absolute(const char *arg, char **ret) {
        _cleanup_free_ char *p = NULL;
        if (arg[0] == '/')
                p = strdup(arg);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return log_error_errno(errno, "Failed to get the working directory: %m");
                if (asprintf(&p, "%s/%s", cwd, arg) < 0)
                        p = NULL;
        }
        if (!p)
                return log_oom();
        path_simplify(p);
        *ret = TAKE_PTR(p);
        return 0;
}

int record_arg_no_password_policy(RecordChanges *c) {
        json_object *v = json_object_new_boolean(false);
        if (!v || record_changes_set(c, RECORD_SECTION_REGULAR, "enforcePasswordPolicy", v) < 0)
                return log_oom();
        return 0;
}

int record_arg_parse(RecordChanges *c, size_t index, const char *arg) {
        const RecordArg *a = &record_args[index];
        uint64_t u;
        bool b;
        int r;

        if (a->kind == K_FIDO2_FLAG) {
                if (parse_boolean(arg, &b) < 0) {
                        log_error("Failed to parse --%s= argument: %s", a->option, arg);
                        return -EINVAL;
                }
                return 0;
        }
        if (!arg[0]) {
                if (a->kind == K_RLIMIT) {
                        json_object_put(c->rlimits);
                        json_object_put(c->rlimits_drop);
                        c->rlimits = c->rlimits_drop = NULL;
                }
                if (a->kind == K_FIDO2_DEVICE && record_changes_set(c, a->section, "fido2HmacSalt", NULL) < 0)
                        return log_oom();
                return record_changes_set(c, a->section, a->field, NULL) < 0 ? log_oom() : 0;
        }
        if (strlen(arg) > ARG_TEXT_MAX && a->kind != K_SSH_KEYS) {
                log_error("--%s=: the value is longer than %d bytes", a->option, ARG_TEXT_MAX);
                return -EINVAL;
        }

        switch ((RecordArgKind) a->kind) {
        case K_STRING:
                if (has_cc(arg)) {
                        log_error("--%s=: the value must not contain control characters", a->option);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(arg));
        case K_SAFE:
                if (has_cc(arg) || strpbrk(arg, "'\"\\")) {
                        log_error("Parameter for %s field not valid: %s", a->field, arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(arg));
        case K_BOOL:
                if (parse_boolean(arg, &b) < 0) {
                        log_error("Failed to parse %s boolean: %s", a->field, arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_boolean(b));
        case K_SEC:
                if (parse_sec(arg, &u) < 0) {
                        log_error("Failed to parse %s parameter: %s", a->field, arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_uint64(u));
        case K_TIMESTAMP:
                if ((r = parse_timestamp(arg, &u)) < 0) {
                        if (r == -ENOMEM)
                                return log_oom();
                        log_error("Failed to parse %s parameter: %s", a->field, arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_uint64(u));
        case K_SIZE:
                if (size_parse(arg, &u) < 0) {
                        log_error("Failed to parse %s parameter: %s", a->field, arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_uint64(u));
        case K_U64:
        case K_UNSIGNED:
                if (parse_u64(arg, &u) < 0 || (a->kind == K_UNSIGNED && u > UINT32_MAX)) {
                        log_error("Failed to parse %s parameter: %s", a->field, arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_uint64(u));
        case K_ACCESS_MODE:
        case K_UMASK:
                if (parse_octal_mode(arg, &u) < 0) {
                        log_error(a->kind == K_UMASK ? "Failed to parse umask: %s" : "Access mode '%s' not valid.", arg);
                        return -EINVAL;
                }
                return set(c, a, a->kind == K_UMASK ? json_object_new_int64((int64_t) u) : json_object_new_uint64(u));
        case K_NICE: {
                char *end;
                errno = 0;
                long n = strtol(arg, &end, 10);
                if (errno || *end || end == arg || n < -20 || n > 19) {
                        log_error("Failed to parse nice level: %s", arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_int64(n));
        }
        case K_WEIGHT:
                if (parse_u64(arg, &u) < 0) {
                        log_error("Failed to parse --cpu-weight=/--io-weight= parameter: %s", arg);
                        return -EINVAL;
                }
                if (u < 1 || u > 10000) {
                        log_error("Weight %" PRIu64 " is out of valid weight range.", u);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_uint64(u));
        case K_SECTOR_SIZE:
                if (parse_u64(arg, &u) < 0 || u < 512 || u > 4096 || (u & (u - 1))) {
                        log_error("Failed to parse sector size parameter: %s (512…4096, a power of two)", arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_uint64(u));
        case K_PATH:
        case K_HOME_DIR: {
                _cleanup_free_ char *p = NULL;
                if ((r = make_absolute(arg, &p)) < 0)
                        return r;
                if (has_cc(p) || strlen(p) >= PATH_MAX || path_has_dotdot(p) ||
                    (a->kind == K_HOME_DIR && (strcmp(p, "/") == 0 || strncmp(p, "/dev/", 5) == 0 ||
                                               strncmp(p, "/proc/", 6) == 0 || strncmp(p, "/sys/", 5) == 0))) {
                        log_error(a->kind == K_HOME_DIR ? "Home directory '%s' not valid." : "Path '%s' not valid.", p);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(p));
        }
        case K_REALM:
                if (!valid_realm(arg)) {
                        log_error("Realm '%s' is not a valid DNS domain.", arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(arg));
        case K_TIMEZONE:
                if (!valid_timezone(arg)) {
                        log_error("Timezone '%s' is not valid.", arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(arg));
        case K_LANGUAGE:
                if (!valid_locale(arg)) {
                        log_error("Locale '%s' is not valid.", arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(arg));
        case K_ENV:
                return parse_env(c, a, arg);
        case K_SSH_KEYS:
                return parse_ssh_keys(c, a, arg);
        case K_RLIMIT:
                return parse_rlimit(c, arg);
        case K_CIFS_SERVICE:
                if (!valid_cifs_service(arg)) {
                        log_error("Failed to validate CIFS service name: %s", arg);
                        return -EINVAL;
                }
                return set(c, a, json_object_new_string(arg));
        case K_FIDO2_DEVICE:
                log_error("--fido2-device=: FIDO2 security tokens are not supported yet");
                return -EOPNOTSUPP;
        case K_FIDO2_FLAG:
                break;
        }
        return -EINVAL;
}
