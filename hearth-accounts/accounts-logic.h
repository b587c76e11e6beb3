/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hearth-accounts' decisions that need no bus: its settings, the per-user
 * state file, GDM's automatic-login keys, what an icon file is, and which
 * /etc/passwd users count as people. Unit-tested in tests/unit. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- [Accounts] in hearth.conf ---------------------------------------------- */

typedef enum AccountsStorage {
        ACCOUNTS_STORAGE_AUTO,
        ACCOUNTS_STORAGE_DIRECTORY,
        ACCOUNTS_STORAGE_SUBVOLUME,
        ACCOUNTS_STORAGE_LUKS,
} AccountsStorage;

#define ACCOUNTS_GROUP_NAME_MAX 32
#define ACCOUNTS_PATH_MAX 256

typedef struct AccountsConfig {
        AccountsStorage default_storage;
        /* Empty: "sudo" if the group exists, else "wheel". */
        char admin_group[ACCOUNTS_GROUP_NAME_MAX + 1];
        bool manage_shadow_users;
        char gdm_config[ACCOUNTS_PATH_MAX + 1];
} AccountsConfig;

#define ACCOUNTS_DEFAULT_GDM_CONFIG "/etc/gdm3/daemon.conf"

void accounts_config_init(AccountsConfig *c);
/* Reads path (NULL: the first hearth.conf found); errors name file and line. */
int accounts_config_load(AccountsConfig *c, const char *path);
const char *accounts_storage_to_string(AccountsStorage s);

/* The storage CreateUser asks for, by the auto rule when the setting is
 * auto: NULL means "let hearthd choose" (subvolume on Btrfs, else
 * directory: hearthd knows where homes live). LUKS with a TPM would come
 * first, but TPM-sealed LUKS homes are not available yet. */
const char *accounts_storage_for_create(AccountsStorage s);

/* ---- values clients send ---------------------------------------------------- */

#define ACCOUNTS_VALUE_MAX 256

/* Valid UTF-8, no control characters, at most ACCOUNTS_VALUE_MAX bytes. */
bool accounts_valid_text(const char *s);
/* A locale name: [A-Za-z0-9_.@-], at most 64 bytes; empty allowed. */
bool accounts_valid_language(const char *s);
/* An absolute path without control characters or "..", at most 255 bytes. */
bool accounts_valid_path(const char *s);
/* A session name: [A-Za-z0-9_.+-], at most 64 bytes; empty allowed. */
bool accounts_valid_session(const char *s);
/* A crypt(3) hash: "$id$...", printable ASCII without ':' or white space,
 * at most 512 bytes. */
bool accounts_valid_crypted_password(const char *s);

/* ---- the per-user state file --------------------------------------------------- */

/* What hearth-accounts keeps for a user where the user record has no field:
 * AccountsService's [User] key file, so its files can be carried over. */
typedef enum ExtraKey {
        EXTRA_LANGUAGE,
        EXTRA_XSESSION,
        EXTRA_SESSION,
        EXTRA_SESSION_TYPE,
        EXTRA_EMAIL,
        EXTRA_LOCATION,
        EXTRA_PASSWORD_HINT,
        EXTRA_ICON,
        _EXTRA_MAX,
} ExtraKey;

typedef struct Extras {
        char *value[_EXTRA_MAX]; /* NULL: not set */
} Extras;

#define EXTRAS_FILE_MAX (16 * 1024)

void extras_done(Extras *e);
const char *extra_key_name(ExtraKey k);
/* Parses the key file; unknown groups and keys are skipped, a value that
 * is not accounts_valid_text() is dropped. Returns 0 or -ENOMEM. */
int extras_parse(const char *text, Extras *ret);
/* The key file for e; *ret is malloc'ed. */
int extras_format(const Extras *e, char **ret);
/* Sets (a copy of) value; NULL or "" removes the key. */
int extras_set(Extras *e, ExtraKey k, const char *value);

/* ---- icons ------------------------------------------------------------------------ */

#define ACCOUNTS_ICON_MAX (1024 * 1024)

/* "png", "jpeg", "gif", "webp", "bmp" by the first bytes, or NULL. */
const char *accounts_image_type(const void *data, size_t len);

/* ---- GDM's automatic login ---------------------------------------------------- */

/* The [daemon] AutomaticLoginEnable= and AutomaticLogin= of GDM's key file.
 * *ret_user is NULL when unset. */
int gdm_conf_get_autologin(const char *text, bool *ret_enabled, char **ret_user);
/* text with both keys set in [daemon] (added if missing), every other line
 * kept as it was. */
int gdm_conf_set_autologin(const char *text, const char *user, bool enabled, char **ret);

/* ---- people among /etc/passwd users --------------------------------------------- */

#define ACCOUNTS_HUMAN_UID_MIN 1000

/* AccountsService's rule: uid at least 1000, not a well-known system name,
 * and a login shell (listed in shells, not nologin or false). shells is
 * the list from /etc/shells (NULL-terminated); NULL accepts any shell that
 * is neither nologin nor false. */
bool accounts_is_human(uid_t uid, const char *name, const char *shell, char *const *shells);
