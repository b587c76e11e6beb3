/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "json-strict.h"
#include "macro.h"
#include "pkcs11-record.h"
#include "secret.h"
#include "user-record.h"

/* Bounds on known fields; unknown fields are bounded by the document size. */
#define TEXT_MAX 1024
#define TOKEN_MAX 64
#define LIST_MAX 1024
#define SECRET_MAX 4096

typedef enum FieldKind {
        FIELD_USER_NAME,
        FIELD_REAL_NAME,
        FIELD_EMAIL,
        FIELD_PATH,
        FIELD_UID,
        FIELD_GID,
        FIELD_GROUPS,
        FIELD_STORAGE,
        FIELD_DISPOSITION,
        FIELD_FS_TYPE,
        FIELD_UUID,
        FIELD_PBKDF_TYPE,
        FIELD_TOKEN,
        FIELD_MOUNT_OPTIONS,
        FIELD_BOOL,
        FIELD_AUTO_RESIZE,
        FIELD_REBALANCE_WEIGHT,
        FIELD_USEC,
        FIELD_DISK_SIZE,
        FIELD_DISK_SHARE,
        FIELD_KEY_SIZE,
        FIELD_MEMORY_COST,
        FIELD_THREADS,
        FIELD_ITERATIONS,
        FIELD_HASHES,
        FIELD_SECRETS,
        FIELD_FIELD_NAMES,
        FIELD_PKCS11_URIS,
        FIELD_PKCS11_KEYS,
        FIELD_TEXT,        /* string, no control characters */
        FIELD_TEXT_LIST,
        FIELD_REALM,
        FIELD_FILENAME,
        FIELD_ENV,
        FIELD_MODE,
        FIELD_NICE,
        FIELD_U64,
        FIELD_WEIGHT,
        FIELD_RLIMITS,
        FIELD_SECTOR_SIZE,
        FIELD_FIDO2,
} FieldKind;

/* Where a field may appear. */
enum {
        IN_REGULAR = 1 << 0,
        IN_PER_MACHINE = 1 << 1,
        IN_BINDING = 1 << 2,
        IN_PRIVILEGED = 1 << 3,
        IN_SECRET = 1 << 4,
};
#define IN_MACHINE (IN_REGULAR | IN_PER_MACHINE)
#define IN_BOUND (IN_REGULAR | IN_PER_MACHINE | IN_BINDING)

typedef struct Field {
        const char *name;
        FieldKind kind;
        size_t offset;
        unsigned where;
} Field;

#define F(n, k, m, w) { n, k, offsetof(UserRecord, m), w }
static const Field fields[] = {
        F("userName", FIELD_USER_NAME, user_name, IN_REGULAR),
        F("realName", FIELD_REAL_NAME, real_name, IN_MACHINE),
        F("emailAddress", FIELD_EMAIL, email_address, IN_MACHINE),
        F("homeDirectory", FIELD_PATH, home_directory, IN_BOUND),
        F("imagePath", FIELD_PATH, image_path, IN_BOUND),
        F("shell", FIELD_PATH, shell, IN_MACHINE),
        F("uid", FIELD_UID, uid, IN_BOUND),
        F("gid", FIELD_GID, gid, IN_BOUND),
        F("memberOf", FIELD_GROUPS, member_of, IN_MACHINE),
        F("storage", FIELD_STORAGE, storage, IN_BOUND),
        F("disposition", FIELD_DISPOSITION, disposition, IN_REGULAR),
        F("diskSize", FIELD_DISK_SIZE, disk_size, IN_MACHINE),
        F("diskSizeRelative", FIELD_DISK_SHARE, disk_size_relative, IN_MACHINE),
        F("fileSystemType", FIELD_FS_TYPE, file_system_type, IN_BOUND),
        F("locked", FIELD_BOOL, locked, IN_MACHINE),
        F("notBeforeUSec", FIELD_USEC, not_before_usec, IN_MACHINE),
        F("notAfterUSec", FIELD_USEC, not_after_usec, IN_MACHINE),
        F("lastChangeUSec", FIELD_USEC, last_change_usec, IN_REGULAR),
        F("lastPasswordChangeUSec", FIELD_USEC, last_password_change_usec, IN_REGULAR),
        F("passwordChangeMinUSec", FIELD_USEC, password_change_min_usec, IN_MACHINE),
        F("passwordChangeMaxUSec", FIELD_USEC, password_change_max_usec, IN_MACHINE),
        F("passwordChangeWarnUSec", FIELD_USEC, password_change_warn_usec, IN_MACHINE),
        F("passwordChangeInactiveUSec", FIELD_USEC, password_change_inactive_usec, IN_MACHINE),
        F("passwordChangeNow", FIELD_BOOL, password_change_now, IN_MACHINE),
        F("enforcePasswordPolicy", FIELD_BOOL, enforce_password_policy, IN_MACHINE),
        F("autoLogin", FIELD_BOOL, auto_login, IN_MACHINE),
        F("luksDiscard", FIELD_BOOL, luks_discard, IN_MACHINE),
        /* systemd-homed's: how a LUKS home follows its use, and its share
         * of the free space when homes are rebalanced. */
        F("autoResizeMode", FIELD_AUTO_RESIZE, auto_resize_mode, IN_MACHINE),
        F("rebalanceWeight", FIELD_REBALANCE_WEIGHT, rebalance_weight, IN_MACHINE),
        F("luksCipher", FIELD_TOKEN, luks_cipher, IN_BOUND),
        F("luksCipherMode", FIELD_TOKEN, luks_cipher_mode, IN_BOUND),
        F("luksVolumeKeySize", FIELD_KEY_SIZE, luks_volume_key_size, IN_BOUND),
        /* Which partition, LUKS volume and file system are the home's
         * (systemd-homed keeps them in the binding section). */
        F("partitionUuid", FIELD_UUID, partition_uuid, IN_BOUND),
        F("luksUuid", FIELD_UUID, luks_uuid, IN_BOUND),
        F("fileSystemUuid", FIELD_UUID, file_system_uuid, IN_BOUND),
        /* Hearth's own: which volume key the record was bound to. */
        F("hearthVolumeKeyCheck", FIELD_TOKEN, volume_key_check, IN_BOUND),
        F("luksPbkdfType", FIELD_PBKDF_TYPE, luks_pbkdf_type, IN_MACHINE),
        F("luksPbkdfHashAlgorithm", FIELD_TOKEN, luks_pbkdf_hash_algorithm, IN_MACHINE),
        F("luksPbkdfTimeCostUSec", FIELD_USEC, luks_pbkdf_time_cost_usec, IN_MACHINE),
        F("luksPbkdfMemoryCost", FIELD_MEMORY_COST, luks_pbkdf_memory_cost, IN_MACHINE),
        F("luksPbkdfParallelThreads", FIELD_THREADS, luks_pbkdf_parallel_threads, IN_MACHINE),
        F("luksPbkdfForceIterations", FIELD_ITERATIONS, luks_pbkdf_force_iterations, IN_MACHINE),
        F("luksExtraMountOptions", FIELD_MOUNT_OPTIONS, luks_extra_mount_options, IN_MACHINE),
        F("skeletonDirectory", FIELD_PATH, skeleton_directory, IN_MACHINE),
        F("selfModifiableFields", FIELD_FIELD_NAMES, self_modifiable_fields, IN_REGULAR),
        F("selfModifiableBlobs", FIELD_FIELD_NAMES, self_modifiable_blobs, IN_REGULAR),
        F("selfModifiablePrivileged", FIELD_FIELD_NAMES, self_modifiable_privileged, IN_REGULAR),
        F("hashedPassword", FIELD_HASHES, hashed_password, IN_PRIVILEGED),
        F("password", FIELD_SECRETS, password, IN_SECRET),
        /* homed's: a token (smart card) that opens the home (pkcs11-record.h). */
        F("pkcs11TokenUri", FIELD_PKCS11_URIS, pkcs11_token_uri, IN_MACHINE),
        F("pkcs11EncryptedKey", FIELD_PKCS11_KEYS, pkcs11_encrypted_key, IN_PRIVILEGED),
        F("realm", FIELD_REALM, realm, IN_MACHINE),
        F("location", FIELD_TEXT, location, IN_MACHINE),
        F("iconName", FIELD_FILENAME, icon_name, IN_MACHINE),
        F("timeZone", FIELD_TEXT, time_zone, IN_MACHINE),
        F("preferredLanguage", FIELD_TEXT, preferred_language, IN_MACHINE),
        F("cifsDomain", FIELD_TEXT, cifs_domain, IN_MACHINE),
        F("cifsUserName", FIELD_TEXT, cifs_user_name, IN_MACHINE),
        F("cifsService", FIELD_TEXT, cifs_service, IN_MACHINE),
        F("cifsExtraMountOptions", FIELD_MOUNT_OPTIONS, cifs_extra_mount_options, IN_MACHINE),
        F("passwordHint", FIELD_TEXT, password_hint, IN_PRIVILEGED),
        F("sshAuthorizedKeys", FIELD_TEXT_LIST, ssh_authorized_keys, IN_PRIVILEGED),
        F("environment", FIELD_ENV, environment, IN_MACHINE),
        F("umask", FIELD_MODE, umask, IN_MACHINE),
        F("accessMode", FIELD_MODE, access_mode, IN_MACHINE),
        F("niceLevel", FIELD_NICE, nice_level, IN_MACHINE),
        F("resourceLimits", FIELD_RLIMITS, resource_limits, IN_MACHINE),
        F("tasksMax", FIELD_U64, tasks_max, IN_MACHINE),
        F("memoryHigh", FIELD_U64, memory_high, IN_MACHINE),
        F("memoryMax", FIELD_U64, memory_max, IN_MACHINE),
        F("cpuWeight", FIELD_WEIGHT, cpu_weight, IN_MACHINE),
        F("ioWeight", FIELD_WEIGHT, io_weight, IN_MACHINE),
        F("rateLimitIntervalUSec", FIELD_USEC, rate_limit_interval_usec, IN_MACHINE),
        F("rateLimitBurst", FIELD_U64, rate_limit_burst, IN_MACHINE),
        F("stopDelayUSec", FIELD_USEC, stop_delay_usec, IN_MACHINE),
        F("killProcesses", FIELD_BOOL, kill_processes, IN_MACHINE),
        F("dropCaches", FIELD_BOOL, drop_caches, IN_MACHINE),
        F("luksOfflineDiscard", FIELD_BOOL, luks_offline_discard, IN_MACHINE),
        F("mountNoSuid", FIELD_BOOL, mount_no_suid, IN_MACHINE),
        F("mountNoDevices", FIELD_BOOL, mount_no_devices, IN_MACHINE),
        F("mountNoExecute", FIELD_BOOL, mount_no_execute, IN_MACHINE),
        F("luksSectorSize", FIELD_SECTOR_SIZE, luks_sector_size, IN_MACHINE),
        F("fido2HmacCredential", FIELD_FIDO2, has_fido2, IN_MACHINE),
        F("fido2HmacSalt", FIELD_FIDO2, has_fido2, IN_PRIVILEGED),
};
#undef F

static const char *const storage_names[_USER_STORAGE_MAX] = {
        [USER_STORAGE_LUKS] = "luks",
        [USER_STORAGE_DIRECTORY] = "directory",
        [USER_STORAGE_SUBVOLUME] = "subvolume",
        [USER_STORAGE_FSCRYPT] = "fscrypt",
};

static const char *const disposition_names[_USER_DISPOSITION_MAX] = {
        [USER_DISPOSITION_INTRINSIC] = "intrinsic",
        [USER_DISPOSITION_SYSTEM] = "system",
        [USER_DISPOSITION_DYNAMIC] = "dynamic",
        [USER_DISPOSITION_REGULAR] = "regular",
        [USER_DISPOSITION_CONTAINER] = "container",
        [USER_DISPOSITION_RESERVED] = "reserved",
};

static int lookup(const char *const *table, int n, const char *s) {
        for (int i = 0; s && i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return i;
        return -1;
}

const char *user_storage_to_string(UserStorage s) {
        return s >= 0 && s < _USER_STORAGE_MAX ? storage_names[s] : NULL;
}
UserStorage user_storage_from_string(const char *s) {
        return (UserStorage) lookup(storage_names, _USER_STORAGE_MAX, s);
}
static const char *const auto_resize_names[_USER_AUTO_RESIZE_MAX] = {
        [USER_AUTO_RESIZE_OFF] = "off",
        [USER_AUTO_RESIZE_GROW] = "grow",
        [USER_AUTO_RESIZE_SHRINK_AND_GROW] = "shrink-and-grow",
};
const char *user_auto_resize_to_string(int m) {
        return m >= 0 && m < _USER_AUTO_RESIZE_MAX ? auto_resize_names[m] : NULL;
}
int user_auto_resize_from_string(const char *s) {
        return lookup(auto_resize_names, _USER_AUTO_RESIZE_MAX, s);
}
int user_record_auto_resize(const UserRecord *rec) {
        if (rec->auto_resize_mode >= 0)
                return rec->auto_resize_mode;
        /* homed's default: LUKS homes follow their use, others do not. */
        return rec->storage == USER_STORAGE_LUKS ? USER_AUTO_RESIZE_SHRINK_AND_GROW : USER_AUTO_RESIZE_OFF;
}
uint64_t user_record_rebalance_weight(const UserRecord *rec) {
        return rec->rebalance_weight == UINT64_MAX ? USER_REBALANCE_WEIGHT_DEFAULT : rec->rebalance_weight;
}

const char *user_disposition_to_string(UserDisposition d) {
        return d >= 0 && d < _USER_DISPOSITION_MAX ? disposition_names[d] : NULL;
}
UserDisposition user_disposition_from_string(const char *s) {
        return (UserDisposition) lookup(disposition_names, _USER_DISPOSITION_MAX, s);
}

/* ---- machine identity ------------------------------------------------- */

static char machine_id[33];
static char hostname[HOST_NAME_MAX + 1];
static bool machine_known, machine_overridden;

void user_record_set_machine(const char *id, const char *host) {
        machine_overridden = id || host;
        machine_known = machine_overridden;
        snprintf(machine_id, sizeof machine_id, "%s", id ?: "");
        snprintf(hostname, sizeof hostname, "%s", host ?: "");
}

static bool valid_machine_id(const char *s) {
        if (strlen(s) != 32)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static void machine_load(void) {
        if (machine_known)
                return;
        machine_known = true;
        machine_id[0] = 0;
        FILE *f = fopen("/etc/machine-id", "re");
        if (f) {
                char line[64];
                if (fgets(line, sizeof line, f)) {
                        line[strcspn(line, "\n")] = 0;
                        if (valid_machine_id(line))
                                memcpy(machine_id, line, sizeof machine_id); /* 32 + NUL */
                }
                fclose(f);
        }
        if (gethostname(hostname, sizeof hostname) < 0)
                hostname[0] = 0;
        hostname[sizeof hostname - 1] = 0;
}

/* ---- errors ----------------------------------------------------------- */

typedef struct Context {
        char **error;     /* where the message goes, may be NULL */
        const char *path; /* section prefix for messages: "", "perMachine[1].", … */
} Context;

_printf_(3, 4) static int fail(const Context *c, const char *field, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        if (!c->error || *c->error)
                return -EINVAL;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        size_t plen = strlen(c->path);
        /* A rule about a whole section entry: "perMachine[0]: …". */
        if (!field[0] && plen > 0 && c->path[plen - 1] == '.')
                plen--;
        if (asprintf(c->error, "%.*s%s%s%s", (int) plen, c->path, field, plen || field[0] ? ": " : "", msg) < 0)
                *c->error = NULL;
        return -EINVAL;
}

/* ---- value checks ----------------------------------------------------- */

bool valid_user_name(const char *s) {
        size_t n = strlen(s);

        /* The portable subset shadow-utils, systemd and NSS all accept. */
        if (n == 0 || n > USER_NAME_MAX)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

static bool has_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7F)
                        return true;
        return false;
}

static bool valid_path(const char *s) {
        size_t n = strlen(s);

        if (n < 2 || n >= PATH_MAX || s[0] != '/' || s[n - 1] == '/' || has_control(s))
                return false;
        /* Normalized: no empty, "." or ".." components. */
        for (const char *p = s; *p;) {
                const char *c = p + 1, *e = strchrnul(c, '/');
                size_t len = (size_t) (e - c);
                if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                p = e;
        }
        return true;
}

static bool valid_token(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > TOKEN_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || strchr("-_.:", s[i])))
                        return false;
        return true;
}

/* A 128-bit ID as systemd takes one: 8-4-4-4-12 hex digits, or 32 of
 * them without dashes; either case. */
static bool valid_uuid(const char *s) {
        size_t n = strlen(s), digits = 0;
        bool dashes = n == 36;

        if (n != 36 && n != 32)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (dashes && (i == 8 || i == 13 || i == 18 || i == 23)) {
                        if (s[i] != '-')
                                return false;
                        continue;
                }
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
                        return false;
                digits++;
        }
        return digits == 32;
}

static int get_string(const Context *c, const char *field, json_object *v, size_t max, const char **ret) {
        if (!json_object_is_type(v, json_type_string))
                return fail(c, field, "must be a string");
        if ((size_t) json_object_get_string_len(v) > max)
                return fail(c, field, "must be at most %zu bytes", max);
        *ret = json_object_get_string(v);
        return 0;
}

static int get_unsigned(const Context *c, const char *field, json_object *v, uint64_t *ret) {
        if (!json_object_is_type(v, json_type_int))
                return fail(c, field, "must be an unsigned integer");
        if (json_object_get_int64(v) < 0)
                return fail(c, field, "must not be negative");
        *ret = json_object_get_uint64(v);
        return 0;
}

static int get_list(const Context *c, const char *field, json_object *v, size_t item_max,
                    bool secret, const char ***ret) {
        size_t n;

        if (!json_object_is_type(v, json_type_array))
                return fail(c, field, "must be an array of strings");
        n = json_object_array_length(v);
        if (n > LIST_MAX)
                return fail(c, field, "must have at most %d entries", LIST_MAX);

        const char **l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string)) {
                        free(l);
                        return fail(c, field, "entry %zu must be a string", i);
                }
                if ((size_t) json_object_get_string_len(e) > item_max) {
                        free(l);
                        return fail(c, field, "entry %zu must be at most %zu bytes", i, item_max);
                }
                if (!secret && has_control(json_object_get_string(e))) {
                        free(l);
                        return fail(c, field, "entry %zu must not contain control characters", i);
                }
                l[i] = json_object_get_string(e);
        }
        free(*ret);
        *ret = l;
        return 0;
}

/* ---- dispatch --------------------------------------------------------- */

static int dispatch_field(const Context *c, const Field *f, json_object *v, UserRecord *rec) {
        void *p = (char *) rec + f->offset;
        const char *s = NULL;
        uint64_t u = 0;
        int r;

        switch (f->kind) {
        case FIELD_USER_NAME:
                if ((r = get_string(c, f->name, v, TEXT_MAX, &s)) < 0)
                        return r;
                if (!valid_user_name(s))
                        return fail(c, f->name,
                                    "must be 1 to %d characters of A-Z, a-z, 0-9, '_' and '-', "
                                    "starting with a letter or '_'", USER_NAME_MAX);
                *(const char **) p = s;
                return 0;

        case FIELD_REAL_NAME:
                if ((r = get_string(c, f->name, v, TEXT_MAX, &s)) < 0)
                        return r;
                if (strchr(s, ':') || has_control(s))
                        return fail(c, f->name, "must not contain ':' or control characters");
                *(const char **) p = s;
                return 0;

        case FIELD_EMAIL:
                if ((r = get_string(c, f->name, v, 254, &s)) < 0)
                        return r;
                if (!strchr(s, '@') || has_control(s) || strpbrk(s, " \t"))
                        return fail(c, f->name, "must be an address of the form user@domain without spaces");
                *(const char **) p = s;
                return 0;

        case FIELD_PATH:
                if ((r = get_string(c, f->name, v, PATH_MAX, &s)) < 0)
                        return r;
                if (!valid_path(s))
                        return fail(c, f->name,
                                    "must be an absolute, normalized path (no '.', '..', '//' or trailing '/')");
                *(const char **) p = s;
                return 0;

        case FIELD_UID:
        case FIELD_GID:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                /* (uid_t) -1 is "invalid" to the kernel; 65535 is -1 in 16 bits. */
                if (u >= UINT32_MAX || u == 65535)
                        return fail(c, f->name, "must be between 0 and 4294967294 and not 65535");
                if (f->kind == FIELD_UID)
                        *(uid_t *) p = (uid_t) u;
                else
                        *(gid_t *) p = (gid_t) u;
                return 0;

        case FIELD_GROUPS: {
                const char ***l = p;
                if ((r = get_list(c, f->name, v, TEXT_MAX, false, l)) < 0)
                        return r;
                for (size_t i = 0; (*l)[i]; i++) {
                        if (!valid_user_name((*l)[i]))
                                return fail(c, f->name, "entry %zu is not a valid group name", i);
                        for (size_t k = 0; k < i; k++)
                                if (strcmp((*l)[k], (*l)[i]) == 0)
                                        return fail(c, f->name, "group \"%s\" listed twice", (*l)[i]);
                }
                return 0;
        }

        case FIELD_STORAGE:
                if ((r = get_string(c, f->name, v, TOKEN_MAX, &s)) < 0)
                        return r;
                if (strcmp(s, "cifs") == 0)
                        return fail(c, f->name, "%s is not supported yet (luks, directory, subvolume or fscrypt)", s);
                if (user_storage_from_string(s) < 0)
                        return fail(c, f->name, "must be one of luks, directory, subvolume, fscrypt");
                *(UserStorage *) p = user_storage_from_string(s);
                return 0;

        case FIELD_DISPOSITION:
                if ((r = get_string(c, f->name, v, TOKEN_MAX, &s)) < 0)
                        return r;
                if (user_disposition_from_string(s) < 0)
                        return fail(c, f->name,
                                    "must be one of intrinsic, system, dynamic, regular, container, reserved");
                *(UserDisposition *) p = user_disposition_from_string(s);
                return 0;

        case FIELD_FS_TYPE:
                if ((r = get_string(c, f->name, v, TOKEN_MAX, &s)) < 0)
                        return r;
                if (strcmp(s, "btrfs") != 0 && strcmp(s, "ext4") != 0 && strcmp(s, "xfs") != 0)
                        return fail(c, f->name, "must be one of btrfs, ext4, xfs");
                *(const char **) p = s;
                return 0;

        case FIELD_UUID:
                if ((r = get_string(c, f->name, v, TOKEN_MAX, &s)) < 0)
                        return r;
                if (!valid_uuid(s))
                        return fail(c, f->name, "must be a UUID (8-4-4-4-12 hexadecimal digits)");
                *(const char **) p = s;
                return 0;

        case FIELD_PBKDF_TYPE:
                if ((r = get_string(c, f->name, v, TOKEN_MAX, &s)) < 0)
                        return r;
                if (strcmp(s, "argon2id") != 0 && strcmp(s, "argon2i") != 0 && strcmp(s, "pbkdf2") != 0)
                        return fail(c, f->name, "must be one of argon2id, argon2i, pbkdf2");
                *(const char **) p = s;
                return 0;

        case FIELD_TOKEN:
                if ((r = get_string(c, f->name, v, TEXT_MAX, &s)) < 0)
                        return r;
                if (!valid_token(s))
                        return fail(c, f->name, "must be 1 to %d characters of A-Z, a-z, 0-9, '-', '_', '.', ':'",
                                    TOKEN_MAX);
                *(const char **) p = s;
                return 0;

        case FIELD_MOUNT_OPTIONS:
                if ((r = get_string(c, f->name, v, TEXT_MAX, &s)) < 0)
                        return r;
                if (has_control(s) || strpbrk(s, " \t"))
                        return fail(c, f->name, "must be a comma-separated list without spaces");
                *(const char **) p = s;
                return 0;

        case FIELD_BOOL:
                if (!json_object_is_type(v, json_type_boolean))
                        return fail(c, f->name, "must be a boolean");
                *(int *) p = json_object_get_boolean(v);
                return 0;

        case FIELD_AUTO_RESIZE:
                if ((r = get_string(c, f->name, v, TOKEN_MAX, &s)) < 0)
                        return r;
                if (user_auto_resize_from_string(s) < 0)
                        return fail(c, f->name, "must be one of off, grow, shrink-and-grow");
                *(int *) p = user_auto_resize_from_string(s);
                return 0;

        case FIELD_REBALANCE_WEIGHT:
                /* homed's: 1-10000, or false (never rebalanced); 0 too. */
                if (json_object_is_type(v, json_type_boolean)) {
                        if (json_object_get_boolean(v))
                                return fail(c, f->name, "must be a number from 1 to 10000, or false");
                        *(uint64_t *) p = 0;
                        return 0;
                }
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u > USER_REBALANCE_WEIGHT_MAX)
                        return fail(c, f->name, "must be a number from 1 to 10000, or false");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_USEC:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                *(uint64_t *) p = u;
                return 0;

        case FIELD_DISK_SIZE:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u < USER_RECORD_DISK_SIZE_MIN)
                        return fail(c, f->name, "must be at least 16 MiB");
                if (u > USER_RECORD_DISK_SIZE_MAX)
                        return fail(c, f->name, "must be at most 1 EiB");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_DISK_SHARE:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u > UINT32_MAX)
                        return fail(c, f->name, "must be a share from 0 to 4294967295 (all of the space)");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_KEY_SIZE:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u != 16 && u != 32 && u != 64)
                        return fail(c, f->name, "must be 16, 32 or 64 (bytes)");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_MEMORY_COST:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u > UINT64_C(4) * 1024 * 1024 * 1024)
                        return fail(c, f->name, "must be at most 4 GiB");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_THREADS:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u < 1 || u > 16)
                        return fail(c, f->name, "must be between 1 and 16");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_ITERATIONS:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u < 1 || u > UINT32_MAX)
                        return fail(c, f->name, "must be between 1 and 4294967295");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_HASHES: {
                const char ***l = p;
                if ((r = get_list(c, f->name, v, TEXT_MAX, false, l)) < 0)
                        return r;
                for (size_t i = 0; (*l)[i]; i++)
                        if (!(*l)[i][0] || strchr((*l)[i], ':'))
                                return fail(c, f->name, "entry %zu must be a non-empty crypt(3) hash without ':'", i);
                return 0;
        }

        case FIELD_SECRETS: {
                const char ***l = p;
                if ((r = get_list(c, f->name, v, SECRET_MAX, true, l)) < 0)
                        return r;
                for (size_t i = 0; (*l)[i]; i++)
                        if (!(*l)[i][0])
                                return fail(c, f->name, "entry %zu must not be empty", i);
                return 0;
        }

        case FIELD_FIELD_NAMES: {
                const char ***l = p;
                if ((r = get_list(c, f->name, v, TOKEN_MAX, false, l)) < 0)
                        return r;
                for (size_t i = 0; (*l)[i]; i++)
                        if (!valid_token((*l)[i]))
                                return fail(c, f->name, "entry %zu is not a field name", i);
                return 0;
        }

        case FIELD_PKCS11_URIS:
        case FIELD_PKCS11_KEYS: {
                const char *w = NULL;
                size_t i = SIZE_MAX, n = 0;
                void *l = NULL;
                r = f->kind == FIELD_PKCS11_URIS
                            ? pkcs11_token_uris_parse(v, (const char ***) &l, &w, &i)
                            : pkcs11_encrypted_keys_parse(v, (Pkcs11EncryptedKey **) &l, &n, &w, &i);
                if (r == -EINVAL)
                        return i == SIZE_MAX ? fail(c, f->name, "%s", w) : fail(c, f->name, "entry %zu %s", i, w);
                if (r < 0)
                        return r;
                free(*(void **) p);
                *(void **) p = l;
                if (f->kind == FIELD_PKCS11_KEYS)
                        rec->n_pkcs11_encrypted_key = n;
                return 0;
        }

        case FIELD_TEXT:
        case FIELD_REALM:
        case FIELD_FILENAME:
                if ((r = get_string(c, f->name, v, TEXT_MAX, &s)) < 0)
                        return r;
                if (!s[0] || has_control(s))
                        return fail(c, f->name, "must be non-empty text without control characters");
                if (f->kind == FIELD_REALM && (strlen(s) > 253 || strpbrk(s, " /@:") || s[0] == '.'))
                        return fail(c, f->name, "must be a DNS domain");
                if (f->kind == FIELD_FILENAME &&
                    (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 255))
                        return fail(c, f->name, "must be a file name");
                *(const char **) p = s;
                return 0;

        case FIELD_TEXT_LIST:
        case FIELD_ENV: {
                const char ***l = p;
                if ((r = get_list(c, f->name, v, TEXT_MAX, false, l)) < 0)
                        return r;
                for (size_t i = 0; f->kind == FIELD_ENV && (*l)[i]; i++) {
                        const char *e = (*l)[i], *eq = strchr(e, '=');
                        if (!eq || eq == e || strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                                                       (size_t) (eq - e) || (e[0] >= '0' && e[0] <= '9'))
                                return fail(c, f->name, "entry %zu must be NAME=VALUE", i);
                }
                return 0;
        }

        case FIELD_MODE:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u > 07777)
                        return fail(c, f->name, "must be a file mode (at most 07777)");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_NICE:
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -20 ||
                    json_object_get_int64(v) > 19)
                        return fail(c, f->name, "must be an integer from -20 to 19");
                *(int64_t *) p = json_object_get_int64(v);
                return 0;

        case FIELD_U64:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                *(uint64_t *) p = u;
                return 0;

        case FIELD_WEIGHT:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u < 1 || u > 10000)
                        return fail(c, f->name, "must be a number from 1 to 10000");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_RLIMITS: {
                if (!json_object_is_type(v, json_type_object))
                        return fail(c, f->name, "must be an object");
                if (json_object_object_length(v) > 32)
                        return fail(c, f->name, "must have at most 32 entries");
                json_object_object_foreach(v, key, lim) {
                        json_object *cur, *max;
                        if (strncmp(key, "RLIMIT_", 7) != 0 || strlen(key) > 24 || !valid_token(key))
                                return fail(c, f->name, "\"%.32s\" is not a resource limit name", key);
                        if (!json_object_is_type(lim, json_type_object) ||
                            !json_object_object_get_ex(lim, "cur", &cur) ||
                            !json_object_object_get_ex(lim, "max", &max) || json_object_object_length(lim) != 2)
                                return fail(c, f->name, "%s must be an object with \"cur\" and \"max\"", key);
                        if ((cur && (!json_object_is_type(cur, json_type_int) || json_object_get_int64(cur) < 0)) ||
                            (max && (!json_object_is_type(max, json_type_int) || json_object_get_int64(max) < 0)))
                                return fail(c, f->name, "%s: cur and max must be unsigned integers or null", key);
                        if (cur && max && json_object_get_uint64(cur) > json_object_get_uint64(max))
                                return fail(c, f->name, "%s: cur must not exceed max", key);
                }
                *(json_object **) p = v;
                return 0;
        }

        case FIELD_SECTOR_SIZE:
                if ((r = get_unsigned(c, f->name, v, &u)) < 0)
                        return r;
                if (u < 512 || u > 4096 || (u & (u - 1)))
                        return fail(c, f->name, "must be 512, 1024, 2048 or 4096");
                *(uint64_t *) p = u;
                return 0;

        case FIELD_FIDO2:
                *(bool *) p = true;
                return 0;
        }
        return -EINVAL;
}

static const Field *field_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (strcmp(fields[i].name, name) == 0)
                        return &fields[i];
        return NULL;
}

/* Applies the known fields of one section object to rec. */
static int dispatch_section(const Context *c, json_object *obj, unsigned where, UserRecord *rec) {
        json_object_object_foreach(obj, key, v) {
                const Field *f = field_find(key);
                int r;

                if (!f)
                        continue; /* unknown: kept as is */
                if (!(f->where & where))
                        return fail(c, key, "not allowed in this section");
                r = dispatch_field(c, f, v, rec);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int match_list(const Context *c, const char *field, json_object *v, bool ids, const char *mine,
                      bool *matched) {
        size_t n = 1;
        bool array = json_object_is_type(v, json_type_array);

        if (array)
                n = json_object_array_length(v);
        else if (!json_object_is_type(v, json_type_string))
                return fail(c, field, "must be a string or an array of strings");
        if (n > LIST_MAX)
                return fail(c, field, "must have at most %d entries", LIST_MAX);
        for (size_t i = 0; i < n; i++) {
                json_object *e = array ? json_object_array_get_idx(v, i) : v;
                const char *s;
                if (!json_object_is_type(e, json_type_string))
                        return fail(c, field, "must be a string or an array of strings");
                s = json_object_get_string(e);
                if (ids ? !valid_machine_id(s) : (strlen(s) == 0 || strlen(s) > HOST_NAME_MAX || has_control(s)))
                        return fail(c, field, ids ? "entry %zu is not a machine ID (32 lowercase hex digits)"
                                                  : "entry %zu is not a host name", i);
                if (mine[0] && strcmp(s, mine) == 0)
                        *matched = true;
        }
        return 0;
}

static void view_free(UserRecord *rec) {
        free(rec->member_of);
        free(rec->self_modifiable_fields);
        free(rec->self_modifiable_blobs);
        free(rec->self_modifiable_privileged);
        free(rec->hashed_password);
        free(rec->password);
        free(rec->pkcs11_token_uri);
        free(rec->pkcs11_encrypted_key);
        free(rec->ssh_authorized_keys);
        free(rec->environment);
}

static void view_reset(UserRecord *rec) {
        json_object *j = rec->json;
        struct RecordSecrets *secrets = rec->secrets;
        view_free(rec);
        *rec = (UserRecord) {
                .json = j,
                .secrets = secrets,
                .uid = UID_INVALID,
                .gid = GID_INVALID,
                .storage = USER_STORAGE_UNSET,
                .disposition = USER_DISPOSITION_UNSET,
                .disk_size = UINT64_MAX,
                .disk_size_relative = UINT64_MAX,
                .locked = -1,
                .not_before_usec = UINT64_MAX,
                .not_after_usec = UINT64_MAX,
                .last_change_usec = UINT64_MAX,
                .last_password_change_usec = UINT64_MAX,
                .password_change_min_usec = UINT64_MAX,
                .password_change_max_usec = UINT64_MAX,
                .password_change_warn_usec = UINT64_MAX,
                .password_change_inactive_usec = UINT64_MAX,
                .password_change_now = -1,
                .enforce_password_policy = -1,
                .auto_login = -1,
                .luks_discard = -1,
                .auto_resize_mode = -1,
                .rebalance_weight = UINT64_MAX,
                .luks_volume_key_size = UINT64_MAX,
                .luks_pbkdf_time_cost_usec = UINT64_MAX,
                .luks_pbkdf_memory_cost = UINT64_MAX,
                .luks_pbkdf_parallel_threads = UINT64_MAX,
                .luks_pbkdf_force_iterations = UINT64_MAX,
                .umask = UINT64_MAX,
                .access_mode = UINT64_MAX,
                .nice_level = INT64_MAX,
                .tasks_max = UINT64_MAX,
                .memory_high = UINT64_MAX,
                .memory_max = UINT64_MAX,
                .cpu_weight = UINT64_MAX,
                .io_weight = UINT64_MAX,
                .rate_limit_interval_usec = UINT64_MAX,
                .rate_limit_burst = UINT64_MAX,
                .stop_delay_usec = UINT64_MAX,
                .kill_processes = -1,
                .drop_caches = -1,
                .luks_offline_discard = -1,
                .mount_no_suid = -1,
                .mount_no_devices = -1,
                .mount_no_execute = -1,
                .luks_sector_size = UINT64_MAX,
        };
}

static int check_per_machine(Context *c, json_object *v, UserRecord *rec) {
        char prefix[48];
        int r;

        if (!json_object_is_type(v, json_type_array))
                return fail(c, "perMachine", "must be an array of objects");
        if (json_object_array_length(v) > LIST_MAX)
                return fail(c, "perMachine", "must have at most %d entries", LIST_MAX);

        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i), *m;
                Context sub = { .error = c->error, .path = prefix };
                bool matched = false, any = false;

                snprintf(prefix, sizeof prefix, "perMachine[%zu].", i);
                if (!json_object_is_type(e, json_type_object))
                        return fail(c, "perMachine", "entry %zu must be an object", i);
                if (json_object_object_get_ex(e, "matchMachineId", &m)) {
                        any = true;
                        if ((r = match_list(&sub, "matchMachineId", m, true, machine_id, &matched)) < 0)
                                return r;
                }
                if (json_object_object_get_ex(e, "matchHostname", &m)) {
                        any = true;
                        if ((r = match_list(&sub, "matchHostname", m, false, hostname, &matched)) < 0)
                                return r;
                }
                if (!any)
                        return fail(&sub, "", "needs matchMachineId or matchHostname");

                if (matched)
                        r = dispatch_section(&sub, e, IN_PER_MACHINE, rec);
                else {
                        /* Checked like a matching entry, but applied nowhere. */
                        UserRecord scratch = { .json = NULL };
                        view_reset(&scratch);
                        r = dispatch_section(&sub, e, IN_PER_MACHINE, &scratch);
                        view_free(&scratch);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* binding and status: objects keyed by machine ID. */
static int check_by_machine(Context *c, const char *name, json_object *v, UserRecord *rec) {
        char prefix[80];
        int r;

        if (!json_object_is_type(v, json_type_object))
                return fail(c, name, "must be an object keyed by machine ID");
        json_object_object_foreach(v, id, e) {
                Context sub = { .error = c->error, .path = prefix };
                if (!valid_machine_id(id))
                        return fail(c, name, "key is not a machine ID (32 lowercase hex digits)");
                if (!json_object_is_type(e, json_type_object))
                        return fail(c, name, "entry for %s must be an object", id);
                snprintf(prefix, sizeof prefix, "%s.%s.", name, id);
                if (!rec)
                        continue;
                if (strcmp(id, machine_id) == 0)
                        r = dispatch_section(&sub, e, IN_BINDING, rec);
                else {
                        /* Another machine's binding: checked, applied nowhere. */
                        UserRecord scratch = { .json = NULL };
                        view_reset(&scratch);
                        r = dispatch_section(&sub, e, IN_BINDING, &scratch);
                        view_free(&scratch);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_signature(Context *c, json_object *v) {
        if (!json_object_is_type(v, json_type_array))
                return fail(c, "signature", "must be an array of objects");
        if (json_object_array_length(v) > 16)
                return fail(c, "signature", "must have at most 16 entries");
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i), *d, *k;
                if (!json_object_is_type(e, json_type_object) ||
                    !json_object_object_get_ex(e, "data", &d) || !json_object_is_type(d, json_type_string) ||
                    !json_object_object_get_ex(e, "key", &k) || !json_object_is_type(k, json_type_string))
                        return fail(c, "signature", "entry %zu must be an object with strings \"data\" and \"key\"", i);
                if (json_object_get_string_len(d) > 1024 || json_object_get_string_len(k) > 4096)
                        return fail(c, "signature", "entry %zu is too long", i);
        }
        return 0;
}

static int record_derive(UserRecord *rec, char **ret_error) {
        Context c = { .error = ret_error, .path = "" };
        json_object *v;
        int r;

        if (ret_error)
                *ret_error = NULL;
        machine_load();
        view_reset(rec);

        if (!json_object_is_type(rec->json, json_type_object))
                return fail(&c, "", "a user record must be a JSON object");

        r = dispatch_section(&c, rec->json, IN_REGULAR, rec);
        if (r < 0)
                return r;

        if (json_object_object_get_ex(rec->json, "privileged", &v)) {
                Context sub = { .error = ret_error, .path = "privileged." };
                rec->has_sections |= USER_RECORD_PRIVILEGED;
                if (!json_object_is_type(v, json_type_object))
                        return fail(&c, "privileged", "must be an object");
                if ((r = dispatch_section(&sub, v, IN_PRIVILEGED, rec)) < 0)
                        return r;
        }
        if (json_object_object_get_ex(rec->json, "perMachine", &v)) {
                rec->has_sections |= USER_RECORD_PER_MACHINE;
                if ((r = check_per_machine(&c, v, rec)) < 0)
                        return r;
        }
        if (json_object_object_get_ex(rec->json, "binding", &v)) {
                rec->has_sections |= USER_RECORD_BINDING;
                if ((r = check_by_machine(&c, "binding", v, rec)) < 0)
                        return r;
        }
        if (json_object_object_get_ex(rec->json, "status", &v)) {
                rec->has_sections |= USER_RECORD_STATUS;
                if ((r = check_by_machine(&c, "status", v, NULL)) < 0)
                        return r;
        }
        if (json_object_object_get_ex(rec->json, "signature", &v)) {
                rec->has_sections |= USER_RECORD_SIGNATURE;
                if ((r = check_signature(&c, v)) < 0)
                        return r;
        }
        if (json_object_object_get_ex(rec->json, "secret", &v)) {
                Context sub = { .error = ret_error, .path = "secret." };
                rec->has_sections |= USER_RECORD_SECRET;
                if (!json_object_is_type(v, json_type_object))
                        return fail(&c, "secret", "must be an object");
                if ((r = dispatch_section(&sub, v, IN_SECRET, rec)) < 0)
                        return r;
        }

        if (rec->secrets) {
                rec->has_sections |= USER_RECORD_SECRET;
                /* The tree's own secret.password, if one was put back, wins. */
                const char *const *pw = user_record_secret(rec, "password");
                size_t n = user_record_secret_count(rec, "password");
                if (!rec->password && pw) {
                        rec->password = calloc(n + 1, sizeof *rec->password);
                        if (!rec->password)
                                return -ENOMEM;
                        memcpy(rec->password, pw, n * sizeof *pw);
                }
        }

        /* Rules across fields, on the record as it applies here. */
        if (!rec->user_name)
                return fail(&c, "userName", "required");
        if (rec->not_before_usec != UINT64_MAX && rec->not_after_usec != UINT64_MAX &&
            rec->not_after_usec < rec->not_before_usec)
                return fail(&c, "notAfterUSec", "must not be before notBeforeUSec");
        if (rec->password_change_min_usec != UINT64_MAX && rec->password_change_max_usec != UINT64_MAX &&
            rec->password_change_max_usec < rec->password_change_min_usec)
                return fail(&c, "passwordChangeMaxUSec", "must not be less than passwordChangeMinUSec");
        if (rec->storage == USER_STORAGE_LUKS && rec->home_directory && rec->image_path &&
            strcmp(rec->home_directory, rec->image_path) == 0)
                return fail(&c, "imagePath", "must differ from homeDirectory");
        return 0;
}

bool user_record_per_machine_matches(json_object *entry) {
        Context c = { .path = "" };
        json_object *m;
        bool matched = false;

        machine_load();
        if (!json_object_is_type(entry, json_type_object))
                return false;
        if (json_object_object_get_ex(entry, "matchMachineId", &m) &&
            match_list(&c, "matchMachineId", m, true, machine_id, &matched) < 0)
                return false;
        if (json_object_object_get_ex(entry, "matchHostname", &m) &&
            match_list(&c, "matchHostname", m, false, hostname, &matched) < 0)
                return false;
        return matched;
}

int user_record_set_effective(UserRecord *rec, const char *field, json_object *value) {
        json_object *pm;

        if (json_object_object_get_ex(rec->json, "perMachine", &pm) && json_object_is_type(pm, json_type_array))
                for (size_t i = 0; i < json_object_array_length(pm); i++) {
                        json_object *e = json_object_array_get_idx(pm, i);
                        if (json_object_object_get_ex(e, field, NULL) && user_record_per_machine_matches(e) &&
                            json_object_object_add(e, field, json_object_get(value)) < 0)
                                return -ENOMEM;
                }
        if (json_object_object_add(rec->json, field, value) < 0)
                return -ENOMEM;
        return user_record_refresh(rec, NULL);
}

int user_record_unset_effective(UserRecord *rec, const char *field) {
        json_object *pm;

        if (json_object_object_get_ex(rec->json, "perMachine", &pm) && json_object_is_type(pm, json_type_array))
                for (size_t i = 0; i < json_object_array_length(pm); i++) {
                        json_object *e = json_object_array_get_idx(pm, i);
                        if (user_record_per_machine_matches(e))
                                json_object_object_del(e, field);
                }
        json_object_object_del(rec->json, field);
        return user_record_refresh(rec, NULL);
}

int user_record_from_json(json_object *j, UserRecord **ret, char **ret_error) {
        UserRecord *rec;
        int r;

        rec = calloc(1, sizeof *rec);
        if (!rec) {
                json_object_wipe_and_put(j);
                return -ENOMEM;
        }
        rec->json = j;
        r = record_derive(rec, ret_error);
        if (r < 0) {
                user_record_free(rec);
                return r;
        }
        *ret = rec;
        return 0;
}

int user_record_parse(const char *text, size_t len, UserRecord **ret, char **ret_error) {
        json_object *j = NULL;
        int r;

        r = json_parse_strict(text, len, &j, ret_error);
        if (r < 0)
                return r;
        return user_record_from_json(j, ret, ret_error);
}

int user_record_refresh(UserRecord *rec, char **ret_error) {
        return record_derive(rec, ret_error);
}

/* ---- secrets in locked memory ----------------------------------------------------- */

typedef struct RecordSecrets {
        SecureBuffer *buf; /* the strings, NUL-separated */
        size_t n;
        char **keys;          /* names are no secret */
        const char ***values; /* NULL-terminated, into buf */
        size_t *counts;
} RecordSecrets;

static void record_secrets_free(RecordSecrets *s) {
        if (!s)
                return;
        secure_buffer_free(s->buf);
        for (size_t i = 0; i < s->n; i++) {
                free(s->keys[i]);
                free(s->values[i]);
        }
        free(s->keys);
        free(s->values);
        free(s->counts);
        free(s);
}

static bool is_string_list(json_object *v) {
        if (!json_object_is_type(v, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(v); i++)
                if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                        return false;
        return true;
}

int user_record_lock_secrets(UserRecord *rec, char **ret_error) {
        json_object *sec;
        size_t total = 1, n = 0;
        int r;

        if (!json_object_object_get_ex(rec->json, "secret", &sec) || !json_object_is_type(sec, json_type_object))
                return 0;
        json_object_object_foreach(sec, k0, v0) {
                (void) k0;
                if (!is_string_list(v0))
                        continue;
                n++;
                for (size_t i = 0; i < json_object_array_length(v0); i++)
                        total += (size_t) json_object_get_string_len(json_object_array_get_idx(v0, i)) + 1;
        }
        if (n == 0)
                return 0;

        RecordSecrets *s = calloc(1, sizeof *s);
        if (!s || !(s->keys = calloc(n, sizeof *s->keys)) || !(s->values = calloc(n, sizeof *s->values)) ||
            !(s->counts = calloc(n, sizeof *s->counts)) || secure_buffer_new(total, &s->buf) < 0) {
                record_secrets_free(s);
                return -ENOMEM;
        }
        char *p = s->buf->data;
        json_object_object_foreach(sec, k, v) {
                if (!is_string_list(v))
                        continue;
                size_t m = json_object_array_length(v);
                if (!(s->keys[s->n] = strdup(k)) || !(s->values[s->n] = calloc(m + 1, sizeof **s->values))) {
                        free(s->keys[s->n]);
                        record_secrets_free(s);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < m; i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        size_t len = (size_t) json_object_get_string_len(e);
                        memcpy(p, json_object_get_string(e), len);
                        p[len] = 0;
                        s->values[s->n][i] = p;
                        p += len + 1;
                }
                s->counts[s->n++] = m;
        }
        /* The tree's copies go: wiped, then dropped. */
        for (size_t i = 0; i < s->n; i++) {
                json_object *list;
                if (json_object_object_get_ex(sec, s->keys[i], &list))
                        json_object_wipe_strings(list);
                json_object_object_del(sec, s->keys[i]);
        }
        if (json_object_object_length(sec) == 0)
                json_object_object_del(rec->json, "secret");
        record_secrets_free(rec->secrets);
        rec->secrets = s;
        r = record_derive(rec, ret_error);
        return r;
}

const char *const *user_record_secret(const UserRecord *rec, const char *key) {
        for (size_t i = 0; rec->secrets && i < rec->secrets->n; i++)
                if (strcmp(rec->secrets->keys[i], key) == 0)
                        return rec->secrets->values[i];
        return NULL;
}

size_t user_record_secret_count(const UserRecord *rec, const char *key) {
        for (size_t i = 0; rec->secrets && i < rec->secrets->n; i++)
                if (strcmp(rec->secrets->keys[i], key) == 0)
                        return rec->secrets->counts[i];
        return 0;
}

static void wipe_secret(json_object *j) {
        json_object *s;
        if (j && json_object_object_get_ex(j, "secret", &s))
                json_object_wipe_strings(s);
}

UserRecord *user_record_free(UserRecord *rec) {
        if (!rec)
                return NULL;
        view_free(rec);
        wipe_secret(rec->json);
        json_object_put(rec->json);
        record_secrets_free(rec->secrets);
        free(rec);
        return NULL;
}

static const char *const section_names[] = {
        "privileged", "perMachine", "binding", "status", "signature", "secret",
};

json_object *user_record_without(const UserRecord *rec, unsigned sections) {
        json_object *j = json_object_new_object();
        if (!j)
                return NULL;
        json_object_object_foreach(rec->json, k, v) {
                bool skip = false;
                for (size_t i = 0; i < ELEMENTSOF(section_names); i++)
                        if ((sections & (1u << i)) && strcmp(k, section_names[i]) == 0)
                                skip = true;
                if (!skip && json_object_object_add(j, k, json_object_get(v)) < 0) {
                        json_object_put(j);
                        return NULL;
                }
        }
        return j;
}

const char *user_record_unportable_section(const UserRecord *rec) {
        static const unsigned bound = USER_RECORD_BINDING | USER_RECORD_STATUS | USER_RECORD_SECRET;
        for (size_t i = 0; i < ELEMENTSOF(section_names); i++)
                if ((bound & (1u << i)) && json_object_object_get_ex(rec->json, section_names[i], NULL))
                        return section_names[i];
        return NULL;
}

int user_record_strip(UserRecord *rec, unsigned sections) {
        if (sections & USER_RECORD_SECRET) {
                wipe_secret(rec->json);
                record_secrets_free(rec->secrets);
                rec->secrets = NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(section_names); i++)
                if (sections & (1u << i))
                        json_object_object_del(rec->json, section_names[i]);
        /* Removing sections cannot make a valid record invalid, except the
         * view losing a binding; re-derive all the same. */
        return record_derive(rec, NULL);
}

int user_record_bump_last_change(UserRecord *rec, uint64_t now) {
        uint64_t last = rec->last_change_usec;
        uint64_t change = last != UINT64_MAX && last >= now ? last + 1 : now;
        json_object *v = json_object_new_uint64(change);
        if (!v || json_object_object_add(rec->json, "lastChangeUSec", v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return record_derive(rec, NULL);
}

static bool top_bool(json_object *j, const char *key) {
        json_object *v;
        return json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

bool user_record_tpm2(const UserRecord *rec) {
        return rec->storage == USER_STORAGE_LUKS && top_bool(rec->json, "tpm2");
}

bool user_record_pin_only(const UserRecord *rec) {
        return user_record_tpm2(rec) && !top_bool(rec->json, "tpm2KeepPassword");
}

int user_record_drop_pin_hash(UserRecord *rec) {
        return user_record_pin_only(rec) ? user_record_drop_password_hash(rec) : 0;
}

int user_record_drop_password_hash(UserRecord *rec) {
        json_object *priv;
        if (!json_object_object_get_ex(rec->json, "privileged", &priv) ||
            !json_object_object_get_ex(priv, "hashedPassword", NULL))
                return 0;
        json_object_object_del(priv, "hashedPassword");
        if (json_object_object_length(priv) == 0)
                json_object_object_del(rec->json, "privileged");
        int r = record_derive(rec, NULL);
        return r < 0 ? r : 1;
}

const char *user_record_to_string(UserRecord *rec, UserRecordFormat format) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
        flags |= format == USER_RECORD_FORMAT_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                     : JSON_C_TO_STRING_PLAIN;
        return json_object_to_json_string_ext(rec->json, flags);
}

const char *user_record_machine_id(void) {
        machine_load();
        return machine_id[0] ? machine_id : NULL;
}

int user_record_all_hashes(const UserRecord *rec, const char ***ret) {
        size_t nh = 0, nk = rec->n_pkcs11_encrypted_key;

        while (rec->hashed_password && rec->hashed_password[nh])
                nh++;
        const char **hashes = calloc(nh + nk + 1, sizeof *hashes);
        if (!hashes)
                return -ENOMEM;
        for (size_t i = 0; i < nh; i++)
                hashes[i] = rec->hashed_password[i];
        for (size_t i = 0; i < nk; i++)
                hashes[nh + i] = rec->pkcs11_encrypted_key[i].hashed_password;
        *ret = hashes;
        return 0;
}

const char *user_record_unsupported(const UserRecord *rec) {
        if (rec->has_fido2)
                return "fido2HmacCredential: FIDO2 security tokens are not supported yet";
        if (rec->luks_sector_size != UINT64_MAX && rec->luks_sector_size != 512)
                return "luksSectorSize: LUKS sectors other than 512 bytes are not supported yet";
        if (rec->luks_offline_discard > 0)
                return "luksOfflineDiscard: trimming the image at deactivation is not supported yet";
        if (rec->drop_caches > 0)
                return "dropCaches: dropping the caches at deactivation is not supported yet";
        if (rec->mount_no_suid == 0)
                return "mountNoSuid: homes are always mounted nosuid; other mounts are not supported yet";
        if (rec->mount_no_devices == 0)
                return "mountNoDevices: homes are always mounted nodev; other mounts are not supported yet";
        if (rec->mount_no_execute > 0)
                return "mountNoExecute: noexec home mounts are not supported yet";
        if (rec->access_mode != UINT64_MAX && rec->access_mode != 0700)
                return "accessMode: home directories are always 0700; other modes are not supported yet";
        return NULL;
}
