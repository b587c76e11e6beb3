/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ask-password.h"
#include "user-record.h"

/* The records create and update send, built the way homectl 252 builds
 * them: regular fields at the top level, the machine-local ones (storage,
 * diskSize, fileSystemType, imagePath) in a perMachine entry matching this
 * machine's ID. */

/* Where a field goes: the regular section, this machine's perMachine
 * entry, or the privileged section. */
typedef enum RecordSection {
        RECORD_SECTION_REGULAR,
        RECORD_SECTION_MACHINE,
        RECORD_SECTION_PRIVILEGED,
} RecordSection;

/* One field set by a table-driven option (record-args.h). */
typedef struct RecordExtra {
        RecordSection section;
        const char *key;    /* static */
        json_object *value; /* NULL: remove the field everywhere */
} RecordExtra;

typedef struct RecordChanges {
        /* NULL: leave alone; "": remove the field. */
        const char *real_name;
        const char *email_address;
        const char *shell;
        const char *storage;
        const char *fs_type;
        const char *image_path;
        /* Set by --member-of; an empty list removes memberOf. */
        char **member_of;
        size_t n_member_of;
        bool member_of_set;
        /* UID_INVALID / UINT64_MAX with the flag set: remove the field. */
        uid_t uid;
        bool uid_set;
        uint64_t disk_size;
        bool disk_size_set;
        /* --disk-size=N%: diskSizeRelative (UINT32_MAX: all of the space)
         * instead of diskSize, with disk_size_set too. */
        uint64_t disk_size_relative;
        bool disk_size_relative_set;
        /* autoResizeMode (off, grow, shrink-and-grow; "" removes it) and
         * rebalanceWeight (0 written as false; UINT64_MAX removes it). */
        const char *auto_resize_mode;
        uint64_t rebalance_weight;
        bool rebalance_weight_set;
        /* TPM2-sealed key of a LUKS home (top-level fields tpm2, tpm2Pcrs,
         * tpm2KeepPassword). Each value counts only with its flag set, so
         * that a zeroed RecordChanges changes nothing. */
        bool tpm2, tpm2_set;
        uint32_t tpm2_pcrs; /* bit n: PCR n; 0 with the flag set: no PCRs */
        bool tpm2_pcrs_set;
        bool tpm2_keep_password, tpm2_keep_password_set;
        /* The other fields, in command line order; a later option for the
         * same field replaces the earlier one. */
        RecordExtra *extra;
        size_t n_extra;
        /* --rlimit=: limits to set ({"RLIMIT_NOFILE":{"cur":…,"max":…}})
         * and to remove (the keys of rlimits_drop), merged into the
         * record's resourceLimits as homectl does. */
        json_object *rlimits, *rlimits_drop;
} RecordChanges;

#define RECORD_CHANGES_INIT { .uid = UID_INVALID, .disk_size = UINT64_MAX, .rebalance_weight = UINT64_MAX }

void record_changes_done(RecordChanges *c);

/* Sets key (static) in section to value (taken; NULL removes the field),
 * replacing an earlier change of key. */
int record_changes_set(RecordChanges *c, RecordSection section, const char *key, json_object *value);
/* The value an earlier option gave key, or NULL. */
json_object *record_changes_get(const RecordChanges *c, const char *key);
bool record_changes_any(const RecordChanges *c);

/* --member-of=GROUP[,GROUP…], repeatable; "" clears the list. Returns
 * -EINVAL for a malformed group name. */
int record_changes_add_groups(RecordChanges *c, const char *arg);

/* --tpm2-pcrs=: PCR numbers 0..23 separated by commas ("7,11"), or "" for
 * none, as a bit mask. Returns -EINVAL for anything else: an empty entry, a
 * sign, white space, a number above 23. Repeats are allowed. */
#define TPM2_PCR_MAX 23
int tpm2_pcrs_parse(const char *s, uint32_t *ret);

/* Whether the command line says anything about the TPM2 fields. */
bool record_changes_tpm2_any(const RecordChanges *c);

/* Whether the record (its regular section) asks for a TPM2-sealed key,
 * and whether it keeps a password keyslot beside it. */
bool record_wants_tpm2(json_object *j);
bool record_tpm2_keeps_password(json_object *j);

/* The TPM2 fields of a record tree: tpm2 and tpm2KeepPassword booleans,
 * tpm2Pcrs a list of distinct PCR numbers 0..23. With tpm2 true the home's
 * storage must be luks (storage is the record's effective one; hearthd
 * never picks LUKS by itself, so unset is refused too). Returns 0, or
 * -EINVAL for a malformed field and -EMEDIUMTYPE for the storage; *ret_error
 * names the field. */
int record_tpm2_check(json_object *j, UserStorage storage, char **ret_error);

/* Applies c to a record tree; machine_id NULL puts the machine-local
 * fields at the top level. */
int record_apply_changes(json_object *j, const RecordChanges *c, const char *machine_id);

/* create: base (taken, may be NULL) is the --identity record. user_name
 * (may be NULL if base has one) must agree with base's userName. If
 * passwords has entries they become secret.password, and their yescrypt
 * hashes privileged.hashedPassword. lastChangeUSec is set to now. A record
 * asking for a TPM2-sealed key with no storage set gets storage luks (for
 * machine_id, as --storage=luks would). The result is validated, TPM2
 * fields included (record_tpm2_check); on -EINVAL or -EMEDIUMTYPE
 * *ret_error says why, naming the field. */
int record_build_create(json_object *base, const char *user_name, const RecordChanges *c, const char *machine_id,
                        const Passwords *passwords, uint64_t now, UserRecord **ret, char **ret_error);

/* update: the record the daemon has (not modified), without binding,
 * status, signature and secret, with c applied, and lastChangeUSec bumped
 * to now, or to the old value + 1 if the clock is behind. TPM2 fields are
 * checked against old's storage (its binding says what hearthd chose). */
int record_build_update(const UserRecord *old, const RecordChanges *c, const char *machine_id, uint64_t now,
                        UserRecord **ret, char **ret_error);

/* Replaces the secret section of rec with {"password":[…]} (removes it for
 * none). The strings are wiped when rec is freed. */
int record_set_secret(UserRecord *rec, const Passwords *p);

/* Sets secret.recoveryKey to keys' list (creating the secret section),
 * wiping what was there. */
int record_set_recovery_keys(UserRecord *rec, const Passwords *keys);

/* CLOCK_REALTIME in µs. */
uint64_t now_usec(void);
