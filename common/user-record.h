/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

/* systemd's JSON User Records (docs/USER_RECORD.md in systemd).
 *
 * The JSON tree is the record: every field Hearth does not know survives a
 * round trip untouched. The typed members below are a validated view of it,
 * re-derived after every change; their strings point into the tree.
 *
 * The view is the record as it applies to this machine: the regular
 * section, then each perMachine entry matching this machine's ID or host
 * name, then binding.<machine-id>, each overriding the one before. Entries
 * for other machines are still checked. */

/* The "service" of the status section of a Hearth home's record (homed's is
 * "io.systemd.Home"), and the name of hearthd's userdb socket and service
 * (hearthd/userdb.h). */
#define USER_RECORD_SERVICE_HEARTH "io.hearth.Home"
#define UID_INVALID ((uid_t) -1)
#define GID_INVALID ((gid_t) -1)
#define HOME_UID_MIN ((uid_t) 60001)
#define HOME_UID_MAX ((uid_t) 60513)
#define USER_RECORD_DISK_SIZE_MIN (UINT64_C(16) * 1024 * 1024)
#define USER_RECORD_DISK_SIZE_MAX (UINT64_C(1) << 60)
#define USER_NAME_MAX 31
/* The shell of a record that names none, as homed shows it (bus, NSS). */
#define USER_RECORD_SHELL_DEFAULT "/bin/bash"

typedef enum UserStorage {
        USER_STORAGE_UNSET = -1,
        USER_STORAGE_LUKS,
        USER_STORAGE_DIRECTORY,
        USER_STORAGE_SUBVOLUME,
        USER_STORAGE_FSCRYPT,
        _USER_STORAGE_MAX,
} UserStorage;

typedef enum UserDisposition {
        USER_DISPOSITION_UNSET = -1,
        USER_DISPOSITION_INTRINSIC,
        USER_DISPOSITION_SYSTEM,
        USER_DISPOSITION_DYNAMIC,
        USER_DISPOSITION_REGULAR,
        USER_DISPOSITION_CONTAINER,
        USER_DISPOSITION_RESERVED,
        _USER_DISPOSITION_MAX,
} UserDisposition;

/* Sections, for user_record_strip() and has_sections. */
typedef enum UserRecordSection {
        USER_RECORD_PRIVILEGED  = 1 << 0,
        USER_RECORD_PER_MACHINE = 1 << 1,
        USER_RECORD_BINDING     = 1 << 2,
        USER_RECORD_STATUS      = 1 << 3,
        USER_RECORD_SIGNATURE   = 1 << 4,
        USER_RECORD_SECRET      = 1 << 5,
} UserRecordSection;

/* autoResizeMode: what activate and deactivate do to a LUKS home's size. */
typedef enum UserAutoResize {
        USER_AUTO_RESIZE_OFF,
        USER_AUTO_RESIZE_GROW,            /* activate grows it back to diskSize */
        USER_AUTO_RESIZE_SHRINK_AND_GROW, /* ... and deactivate shrinks it to its least */
        _USER_AUTO_RESIZE_MAX,
} UserAutoResize;
#define USER_REBALANCE_WEIGHT_DEFAULT 100
#define USER_REBALANCE_WEIGHT_MAX 10000

typedef struct UserRecord {
        json_object *json;

        const char *user_name;
        const char *real_name;
        const char *email_address;
        const char *home_directory;
        const char *image_path;
        const char *shell;
        const char *file_system_type;
        uid_t uid;
        gid_t gid;
        const char **member_of;
        UserStorage storage;
        UserDisposition disposition;
        uint64_t disk_size; /* UINT64_MAX: unset */
        /* homed's diskSizeRelative: a share of the space the home is made
         * in, UINT32_MAX being all of it; UINT64_MAX: unset. diskSize wins. */
        uint64_t disk_size_relative;

        int locked; /* -1: unset */
        uint64_t not_before_usec, not_after_usec;
        uint64_t last_change_usec, last_password_change_usec;
        uint64_t password_change_min_usec, password_change_max_usec;
        uint64_t password_change_warn_usec, password_change_inactive_usec;
        int password_change_now;
        int enforce_password_policy;
        int auto_login;

        int luks_discard;
        int auto_resize_mode;      /* UserAutoResize; -1: unset (user_record_auto_resize()) */
        uint64_t rebalance_weight; /* 0: never rebalanced; UINT64_MAX: unset (100) */
        const char *luks_cipher;
        const char *luks_cipher_mode;
        uint64_t luks_volume_key_size;
        const char *partition_uuid;   /* partitionUuid, as the record spells it */
        const char *luks_uuid;        /* luksUuid */
        const char *file_system_uuid; /* fileSystemUuid */
        const char *volume_key_check; /* hearthVolumeKeyCheck: hex HMAC-SHA256 keyed with the LUKS volume key */
        const char *luks_pbkdf_type;
        const char *luks_pbkdf_hash_algorithm;
        uint64_t luks_pbkdf_time_cost_usec;
        uint64_t luks_pbkdf_memory_cost;
        uint64_t luks_pbkdf_parallel_threads;
        uint64_t luks_pbkdf_force_iterations;
        const char *luks_extra_mount_options;
        const char *skeleton_directory;
        /* homed's fields that Hearth keeps as given, checked: the session
         * settings (applied at login by others), descriptive ones, CIFS's. */
        const char *realm, *location, *icon_name, *time_zone, *preferred_language;
        const char *cifs_domain, *cifs_user_name, *cifs_service, *cifs_extra_mount_options;
        const char *password_hint;          /* privileged.passwordHint */
        const char **ssh_authorized_keys;   /* privileged.sshAuthorizedKeys */
        const char **environment;           /* NAME=VALUE */
        uint64_t umask, access_mode;        /* UINT64_MAX: unset */
        int64_t nice_level;                 /* INT64_MAX: unset */
        json_object *resource_limits;       /* {"RLIMIT_NOFILE":{"cur":…,"max":…}}, checked; NULL: unset */
        uint64_t tasks_max, memory_high, memory_max, cpu_weight, io_weight;
        uint64_t rate_limit_interval_usec, rate_limit_burst, stop_delay_usec;
        int kill_processes, drop_caches, luks_offline_discard;
        int mount_no_suid, mount_no_devices, mount_no_execute;
        uint64_t luks_sector_size;
        bool has_fido2; /* fido2HmacCredential or fido2HmacSalt present */
        /* What the owner may change herself (self-modify.h); NULL: unset. */
        const char **self_modifiable_fields;
        const char **self_modifiable_blobs;
        const char **self_modifiable_privileged;

        const char **hashed_password; /* privileged.hashedPassword */
        const char **pkcs11_token_uri; /* pkcs11TokenUri (common/pkcs11-record.h) */
        struct Pkcs11EncryptedKey *pkcs11_encrypted_key; /* privileged.pkcs11EncryptedKey */
        size_t n_pkcs11_encrypted_key;
        const char **password;        /* secret.password, or its locked copy */

        unsigned has_sections; /* UserRecordSection bits present in the tree */
        /* The secret section's lists after user_record_lock_secrets(). */
        struct RecordSecrets *secrets;
} UserRecord;

/* Parses hostile text strictly (see json-strict.h) and validates it. On
 * failure *ret_error (if given) holds one line naming the field and the rule,
 * e.g. "diskSize: must be at least 16 MiB". Returns 0, -EINVAL, -E2BIG or
 * -ENOMEM. Secrets in the text are wiped from json-c's buffers. */
int user_record_parse(const char *text, size_t len, UserRecord **ret, char **ret_error);

/* Validates a tree; takes ownership of j in every case. */
int user_record_from_json(json_object *j, UserRecord **ret, char **ret_error);

/* Re-derives the typed view after the tree was edited. Returns -EINVAL (with
 * the message) if the edit made the record invalid. */
int user_record_refresh(UserRecord *rec, char **ret_error);

/* Frees the record; the secret section's strings are wiped first. */
UserRecord *user_record_free(UserRecord *rec);
static inline void user_record_freep(UserRecord **rec) {
        user_record_free(*rec);
}
#define _cleanup_user_record_ __attribute__((cleanup(user_record_freep)))

/* Sets a field so that it takes effect on this machine: in the regular
 * section, and in every perMachine entry matching this machine that sets it
 * too (clients such as homectl put diskSize there). Takes value. Returns 0,
 * -ENOMEM, or -EINVAL if the record became invalid. */
int user_record_set_effective(UserRecord *rec, const char *field, json_object *value);

/* Removes a field so that the record no longer sets it on this machine:
 * from the regular section and from every perMachine entry matching this
 * machine. Returns 0, -ENOMEM, or -EINVAL if the record became invalid. */
int user_record_unset_effective(UserRecord *rec, const char *field);

/* Does this perMachine entry apply to this machine? */
bool user_record_per_machine_matches(json_object *entry);

/* Moves every list of strings in the secret section (password,
 * newPassword, recoveryKey, …) out of the tree into locked, non-dumpable
 * memory, wiping json-c's copies: for hearth-work, which holds a request's
 * secrets for a whole operation. rec->password and user_record_secret()
 * read them from there afterwards, across refreshes and a replaced tree.
 * Returns 0, -ENOMEM or -EINVAL (message in *ret_error). */
int user_record_lock_secrets(UserRecord *rec, char **ret_error);

/* Every hash that opens the home: privileged.hashedPassword, then each
 * PKCS#11 token's key hash (a card's key is a password too), NULL-ended;
 * the strings stay the record's. -ENOMEM. */
int user_record_all_hashes(const UserRecord *rec, const char ***ret);
/* The NULL-terminated list secret.KEY locked by user_record_lock_secrets(),
 * or NULL if there is none. */
const char *const *user_record_secret(const UserRecord *rec, const char *key);
/* How many strings that list has. */
size_t user_record_secret_count(const UserRecord *rec, const char *key);

/* Removes the given sections (secret strings are wiped, locked secrets
 * freed) and refreshes. */
int user_record_strip(UserRecord *rec, unsigned sections);

/* What a record asks for that Hearth cannot honour yet (FIDO2 tokens,
 * another LUKS sector size, trimming at logout, dropping caches, mounts
 * without nosuid/nodev or with noexec, an access mode other than 0700):
 * NULL, or a message naming the field and saying "not supported yet". */
const char *user_record_unsupported(const UserRecord *rec);

/* A home whose key is sealed in the TPM with its password as PIN and no
 * password keyslot: storage luks, "tpm2" true, "tpm2KeepPassword" not true.
 * A hash of that password anywhere but inside the encrypted volume would
 * let whoever has the disk guess it offline, past the TPM's
 * dictionary-attack lockout, and then open the home on the first try; so
 * such a record carries no privileged.hashedPassword, not even in the
 * volume (the header's token, ~/.identity, whose copies go to backups):
 * hearthd stores it without one, the worker sets none and drops the one an
 * older record has, and a password is only ever checked through the TPM. */
bool user_record_pin_only(const UserRecord *rec);
/* A LUKS home with "tpm2" true, whether or not it keeps a password keyslot:
 * its passwords may go to the TPM as PIN. */
bool user_record_tpm2(const UserRecord *rec);
/* Drops privileged.hashedPassword (and privileged, if nothing else is in
 * it) from a user_record_pin_only() record, nothing else: 1 if there was
 * one, 0 if not or if the record is no such home's. */
int user_record_drop_pin_hash(UserRecord *rec);
/* The same drop whatever the record says: for a home whose LUKS header
 * shows it PIN-only (a systemd-tpm2 token, no password keyslot) though its
 * record does not (storage/home.h, home_pin_only()). */
int user_record_drop_password_hash(UserRecord *rec);

/* Sets lastChangeUSec to now (µs, CLOCK_REALTIME), never backwards: one
 * past the old value if that is not earlier, so that an older copy of the
 * record (the home's own, ~/.identity) never becomes the newer one again. */
int user_record_bump_last_change(UserRecord *rec, uint64_t now);

/* A record that travels between machines — the copy in a home (LUKS2
 * token, ~/.identity), one exported (homectl inspect
 * --export-format=stripped) or registered (RegisterHome) — is
 * systemd-homed's "embedded" record: regular, privileged and perMachine
 * sections and the signature, nothing that says where it is stored on some
 * machine or holds secrets. As homed (USER_RECORD_LOAD_EMBEDDED), one with
 * such a section is refused: a binding names another machine's image,
 * UUIDs and UID, which must not decide where this machine looks for the
 * home's storage. The first of "binding", "status", "secret" rec has, or
 * NULL. */
const char *user_record_unportable_section(const UserRecord *rec);
/* What a portable record leaves out (user_record_without()). */
#define USER_RECORD_UNPORTABLE (USER_RECORD_BINDING | USER_RECORD_STATUS | USER_RECORD_SECRET)

/* A new tree holding the record without the given sections; members are
 * shared with rec->json, so treat it as read-only. */
json_object *user_record_without(const UserRecord *rec, unsigned sections);

typedef enum UserRecordFormat {
        USER_RECORD_FORMAT_PRETTY,
        USER_RECORD_FORMAT_SHORT,
} UserRecordFormat;

/* Serializes the whole tree. The string lives until the record changes or
 * is freed. */
const char *user_record_to_string(UserRecord *rec, UserRecordFormat format);

const char *user_storage_to_string(UserStorage s);
UserStorage user_storage_from_string(const char *s);
const char *user_disposition_to_string(UserDisposition d);
const char *user_auto_resize_to_string(int m);
int user_auto_resize_from_string(const char *s); /* -1 if unknown */
/* autoResizeMode, or homed's default when unset: shrink-and-grow for LUKS
 * homes (deactivate shrinks only what can shrink online: btrfs), off for
 * the others. */
int user_record_auto_resize(const UserRecord *rec);
/* rebalanceWeight, 100 when unset; 0: the home is left out. */
uint64_t user_record_rebalance_weight(const UserRecord *rec);
UserDisposition user_disposition_from_string(const char *s);

bool valid_user_name(const char *s);
static inline bool valid_home_uid(uid_t uid) {
        return uid >= HOME_UID_MIN && uid <= HOME_UID_MAX;
}

/* This machine's ID (32 hex digits) as records see it, or NULL if unknown. */
const char *user_record_machine_id(void);

/* For tests: which machine perMachine and binding are matched against.
 * NULL restores reading /etc/machine-id and the host name. */
void user_record_set_machine(const char *machine_id, const char *hostname);
