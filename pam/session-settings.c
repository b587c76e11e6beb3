/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record's session settings, applied at pam_sm_open_session. pam_systemd
 * applies the same ones, the same way, from the record logind gets through
 * userdb; pam_hearth's session_settings=no leaves them to it (README,
 * "pam_hearth"). */
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "macro.h"
#include "rlimit-name.h"
#include "session-settings.h"

#define ENV_ENTRIES_MAX 256
#define ZONEINFO_DIR "/usr/share/zoneinfo"

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

const char *session_env_refused(const char *entry) {
        static const char *const owned[] = {
                "USER",           "LOGNAME",           "HOME",     "SHELL",    "MAIL", "PWD",
                "XDG_RUNTIME_DIR", "XDG_SEAT",         "XDG_VTNR",
        };
        const char *eq = strchr(entry, '=');
        if (!eq || eq == entry)
                return "is not NAME=VALUE";
        size_t n = (size_t) (eq - entry);
        if (strspn(entry, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n ||
            (entry[0] >= '0' && entry[0] <= '9'))
                return "is not NAME=VALUE";
        if (n >= 3 && strncmp(entry, "LD_", 3) == 0)
                return "sets the dynamic loader's variables";
        if (n >= 12 && strncmp(entry, "XDG_SESSION_", 12) == 0)
                return "sets a variable the login owns";
        for (size_t i = 0; i < ELEMENTSOF(owned); i++)
                if (strlen(owned[i]) == n && strncmp(owned[i], entry, n) == 0)
                        return "sets a variable the login owns";
        if (has_control(eq + 1))
                return "has control characters in its value";
        return NULL;
}

bool session_time_zone_name_valid(const char *tz) {
        size_t n = strlen(tz);
        if (n == 0 || n > 255 || tz[0] == '/' || tz[n - 1] == '/' || strstr(tz, "..") || strstr(tz, "//"))
                return false;
        return strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") == n;
}

bool session_language_name_valid(const char *lang) {
        size_t n = strlen(lang);
        if (n == 0 || n > 127 || lang[0] == '.')
                return false;
        return strspn(lang, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") == n;
}

/* A zone this machine has: a regular file under ZONEINFO_DIR (a bad TZ would
 * silently give UTC). */
static bool time_zone_installed(const char *tz) {
        char path[sizeof ZONEINFO_DIR + 257];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, tz);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool language_installed(const char *lang) {
        locale_t l = newlocale(LC_ALL_MASK, lang, (locale_t) 0);
        if (l == (locale_t) 0)
                return false;
        freelocale(l);
        return true;
}

/* Puts NAME=VALUE unless NAME is set already (a module before us, the
 * login itself, or pam_systemd: the first one wins, as in pam_systemd). */
static int put_unless_set(pam_handle_t *pamh, const char *user, const char *entry, size_t name_len, bool debug) {
        char name[256];
        if (name_len >= sizeof name) {
                pam_syslog(pamh, LOG_WARNING, "home %s: an environment name is longer than 255 bytes; ignored", user);
                return -EINVAL;
        }
        memcpy(name, entry, name_len);
        name[name_len] = 0;
        if (pam_getenv(pamh, name)) {
                if (debug)
                        pam_syslog(pamh, LOG_DEBUG, "home %s: $%s already set, the record's not used", user, name);
                return 0;
        }
        int r = pam_putenv(pamh, entry);
        if (r != PAM_SUCCESS) {
                pam_syslog(pamh, LOG_ERR, "home %s: cannot set $%s: %s", user, name, pam_strerror(pamh, r));
                return -ENOMEM;
        }
        if (debug)
                pam_syslog(pamh, LOG_DEBUG, "home %s: $%s set from the record", user, name);
        return 0;
}

static int put_prefixed(pam_handle_t *pamh, const char *user, const char *name, const char *prefix,
                        const char *value, bool debug) {
        char entry[1100]; /* the record's text is at most 1024 bytes */
        int n = snprintf(entry, sizeof entry, "%s=%s%s", name, prefix, value);
        if (n < 0 || (size_t) n >= sizeof entry) {
                pam_syslog(pamh, LOG_WARNING, "home %s: $%s would be too long; not set", user, name);
                return -E2BIG;
        }
        return put_unless_set(pamh, user, entry, strlen(name), debug);
}

/* A JSON limit value: a number, or null for infinity. */
static rlim_t limit_value(json_object *v) {
        if (!v)
                return RLIM_INFINITY;
        uint64_t u = json_object_get_uint64(v);
        return u >= (uint64_t) RLIM_INFINITY ? RLIM_INFINITY : (rlim_t) u;
}

/* Sets one limit; where the hard limit may not be raised (not root), both
 * are capped at the one we have, as pam_systemd's setrlimit_closest(). */
static int set_limit(int l, rlim_t cur, rlim_t max) {
        struct rlimit rl = { .rlim_cur = cur, .rlim_max = max }, now;
        if (setrlimit(l, &rl) == 0)
                return 0;
        if (errno != EPERM || getrlimit(l, &now) < 0)
                return -errno;
        rl.rlim_max = max < now.rlim_max ? max : now.rlim_max;
        rl.rlim_cur = cur < rl.rlim_max ? cur : rl.rlim_max;
        return setrlimit(l, &rl) < 0 ? -errno : 0;
}

static int apply_limits(pam_handle_t *pamh, const char *user, json_object *limits, bool debug) {
        int skipped = 0;
        json_object_object_foreach(limits, key, lim) {
                json_object *cur = NULL, *max = NULL;
                int l = rlimit_from_name(key, strlen(key));
                if (l < 0 || strncmp(key, "RLIMIT_", 7) != 0) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: resourceLimits: \"%.32s\" is not a limit this "
                                   "machine knows; ignored", user, key);
                        skipped++;
                        continue;
                }
                /* user_record_parse() checked the shape; a record is checked twice anyway. */
                if (!json_object_is_type(lim, json_type_object) || !json_object_object_get_ex(lim, "cur", &cur) ||
                    !json_object_object_get_ex(lim, "max", &max)) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: resourceLimits: %s is malformed; ignored", user, key);
                        skipped++;
                        continue;
                }
                rlim_t c = limit_value(cur), m = limit_value(max);
                if (c > m) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: resourceLimits: %s: cur exceeds max; ignored", user,
                                   key);
                        skipped++;
                        continue;
                }
                int r = set_limit(l, c, m);
                if (r < 0) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: cannot set %s: %s; ignored", user, key, strerror(-r));
                        skipped++;
                } else if (debug)
                        pam_syslog(pamh, LOG_DEBUG, "home %s: %s set from the record", user, key);
        }
        return skipped;
}

int session_settings_apply(pam_handle_t *pamh, const UserRecord *rec, bool debug) {
        const char *user = rec->user_name;
        int skipped = 0;

        if (rec->umask != UINT64_MAX) {
                /* Only permission bits: umask() ignores the rest anyway. */
                umask((mode_t) (rec->umask & 0777));
                if (debug)
                        pam_syslog(pamh, LOG_DEBUG, "home %s: umask %04o from the record", user,
                                   (unsigned) (rec->umask & 0777));
        }

        for (size_t i = 0; rec->environment && rec->environment[i]; i++) {
                const char *why = i >= ENV_ENTRIES_MAX ? "is past the first 256 entries"
                                                       : session_env_refused(rec->environment[i]);
                if (why) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: environment entry %zu %s; ignored", user, i, why);
                        skipped++;
                        continue;
                }
                if (put_unless_set(pamh, user, rec->environment[i], strcspn(rec->environment[i], "="), debug) < 0)
                        skipped++;
        }

        if (rec->email_address && !has_control(rec->email_address) &&
            put_prefixed(pamh, user, "EMAIL", "", rec->email_address, debug) < 0)
                skipped++;

        if (rec->time_zone) {
                if (!session_time_zone_name_valid(rec->time_zone) || !time_zone_installed(rec->time_zone)) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: timeZone is not a time zone of this machine; "
                                   "$TZ not set", user);
                        skipped++;
                } else if (put_prefixed(pamh, user, "TZ", ":", rec->time_zone, debug) < 0)
                        skipped++;
        }

        if (rec->preferred_language) {
                if (!session_language_name_valid(rec->preferred_language) ||
                    !language_installed(rec->preferred_language)) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: preferredLanguage is not a locale installed here; "
                                   "$LANG not set", user);
                        skipped++;
                } else if (put_prefixed(pamh, user, "LANG", "", rec->preferred_language, debug) < 0)
                        skipped++;
        }

        if (rec->nice_level != INT64_MAX) {
                if (rec->nice_level < -20 || rec->nice_level > 19) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: niceLevel out of range; ignored", user);
                        skipped++;
                } else if (setpriority(PRIO_PROCESS, 0, (int) rec->nice_level) < 0) {
                        pam_syslog(pamh, LOG_WARNING, "home %s: cannot set nice level %d: %s; ignored", user,
                                   (int) rec->nice_level, strerror(errno));
                        skipped++;
                } else if (debug)
                        pam_syslog(pamh, LOG_DEBUG, "home %s: nice level %d from the record", user,
                                   (int) rec->nice_level);
        }

        if (rec->resource_limits)
                skipped += apply_limits(pamh, user, rec->resource_limits, debug);
        return skipped;
}
