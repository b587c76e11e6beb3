/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [Accounts] in hearth.conf, and the checks on values clients send. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accounts-logic.h"
#include "conf-file.h"
#include "log.h"
#include "macro.h"
#include "user-record.h"

void accounts_config_init(AccountsConfig *c) {
        *c = (AccountsConfig) { .default_storage = ACCOUNTS_STORAGE_AUTO };
        snprintf(c->gdm_config, sizeof c->gdm_config, "%s", ACCOUNTS_DEFAULT_GDM_CONFIG);
}

static const char *const storage_names[] = {
        [ACCOUNTS_STORAGE_AUTO] = "auto",
        [ACCOUNTS_STORAGE_DIRECTORY] = "directory",
        [ACCOUNTS_STORAGE_SUBVOLUME] = "subvolume",
        [ACCOUNTS_STORAGE_LUKS] = "luks",
};

const char *accounts_storage_to_string(AccountsStorage s) {
        return (size_t) s < ELEMENTSOF(storage_names) ? storage_names[s] : NULL;
}

static int parse_storage(const char *value, void *data) {
        for (size_t i = 0; i < ELEMENTSOF(storage_names); i++)
                if (strcmp(value, storage_names[i]) == 0) {
                        *(AccountsStorage *) data = (AccountsStorage) i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_group(const char *value, void *data) {
        if (*value && !valid_user_name(value))
                return -EINVAL;
        snprintf(data, ACCOUNTS_GROUP_NAME_MAX + 1, "%s", value);
        return 0;
}

static int parse_path(const char *value, void *data) {
        if (!accounts_valid_path(value) || strlen(value) > ACCOUNTS_PATH_MAX)
                return -EINVAL;
        snprintf(data, ACCOUNTS_PATH_MAX + 1, "%s", value);
        return 0;
}

int accounts_config_load(AccountsConfig *c, const char *path) {
        const ConfigItem items[] = {
                { "Accounts", "DefaultStorage", parse_storage, &c->default_storage },
                { "Accounts", "AdminGroup", parse_group, c->admin_group },
                { "Accounts", "ManageShadowUsers", config_parse_bool, &c->manage_shadow_users },
                { "Accounts", "GdmConfig", parse_path, c->gdm_config },
        };
        return config_load(path, items, ELEMENTSOF(items));
}

const char *accounts_storage_for_create(AccountsStorage s) {
        switch (s) {
        case ACCOUNTS_STORAGE_DIRECTORY:
                return "directory";
        case ACCOUNTS_STORAGE_SUBVOLUME:
                return "subvolume";
        case ACCOUNTS_STORAGE_LUKS:
                return "luks";
        default:
                /* auto: "luks" once homes can be sealed to a TPM where one
                 * exists; until then hearthd's own rule. */
                return NULL;
        }
}

/* ---- values --------------------------------------------------------------------- */

/* Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
 * and no C0/C1 control characters or DEL. */
static bool utf8_clean(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        while (*p) {
                unsigned c = *p, n;
                uint32_t cp;
                if (c < 0x80) {
                        if (c < 0x20 || c == 0x7f)
                                return false;
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07;
                else
                        return false;
                for (unsigned i = 1; i <= n; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (p[i] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
                        return false;
                p += n + 1;
        }
        return true;
}

bool accounts_valid_text(const char *s) {
        return s && strlen(s) <= ACCOUNTS_VALUE_MAX && utf8_clean(s);
}

static bool only_chars(const char *s, const char *set, size_t max) {
        size_t n = strlen(s);
        return n <= max && strspn(s, set) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

bool accounts_valid_language(const char *s) {
        return s && only_chars(s, ALNUM "_.@-", 64) && s[0] != '.' && s[0] != '-';
}

bool accounts_valid_session(const char *s) {
        return s && only_chars(s, ALNUM "_.+-", 64) && s[0] != '.' && s[0] != '-';
}

bool accounts_valid_path(const char *s) {
        if (!s || s[0] != '/' || strlen(s) > 255 || !utf8_clean(s))
                return false;
        for (const char *p = s; (p = strstr(p, "..")); p += 2)
                if (p[-1] == '/' && (p[2] == '/' || p[2] == 0))
                        return false;
        return true;
}

bool accounts_valid_crypted_password(const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n < 3 || n > 512 || s[0] != '$')
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
                        return false;
        return strchr(s + 1, '$') != NULL;
}

/* ---- people ---------------------------------------------------------------------- */

bool accounts_is_human(uid_t uid, const char *name, const char *shell, char *const *shells) {
        /* AccountsService's list of names that are never people. */
        static const char *const excluded[] = {
                "bin", "root", "daemon", "adm", "lp", "sync", "shutdown", "halt", "mail", "news", "uucp",
                "operator", "nobody", "nobody4", "noaccess", "postgres", "pvm", "rpm", "nfsnobody", "pcap",
                "mysql", "ftp", "games", "man", "at", "gdm", "gnome-initial-setup",
        };
        if (uid < ACCOUNTS_HUMAN_UID_MIN || uid == (uid_t) 65534 || !name)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(excluded); i++)
                if (strcmp(name, excluded[i]) == 0)
                        return false;
        if (!shell || !shell[0])
                return false;
        const char *base = strrchr(shell, '/');
        base = base ? base + 1 : shell;
        if (strcmp(base, "nologin") == 0 || strcmp(base, "false") == 0)
                return false;
        if (!shells)
                return true;
        for (char *const *s = shells; *s; s++)
                if (strcmp(*s, shell) == 0)
                        return true;
        return false;
}
