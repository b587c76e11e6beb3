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
} RecordChanges;

#define RECORD_CHANGES_INIT { .uid = UID_INVALID, .disk_size = UINT64_MAX }

void record_changes_done(RecordChanges *c);
bool record_changes_any(const RecordChanges *c);

/* --member-of=GROUP[,GROUP…], repeatable; "" clears the list. Returns
 * -EINVAL for a malformed group name. */
int record_changes_add_groups(RecordChanges *c, const char *arg);

/* Applies c to a record tree; machine_id NULL puts the machine-local
 * fields at the top level. */
int record_apply_changes(json_object *j, const RecordChanges *c, const char *machine_id);

/* create: base (taken, may be NULL) is the --identity record. user_name
 * (may be NULL if base has one) must agree with base's userName. If
 * passwords has entries they become secret.password, and their yescrypt
 * hashes privileged.hashedPassword. lastChangeUSec is set to now. The result
 * is validated; on -EINVAL *ret_error says why, naming the field. */
int record_build_create(json_object *base, const char *user_name, const RecordChanges *c, const char *machine_id,
                        const Passwords *passwords, uint64_t now, UserRecord **ret, char **ret_error);

/* update: the record the daemon has (not modified), without binding,
 * status, signature and secret, with c applied, and lastChangeUSec bumped
 * to now, or to the old value + 1 if the clock is behind. */
int record_build_update(const UserRecord *old, const RecordChanges *c, const char *machine_id, uint64_t now,
                        UserRecord **ret, char **ret_error);

/* Replaces the secret section of rec with {"password":[…]} (removes it for
 * none). The strings are wiped when rec is freed. */
int record_set_secret(UserRecord *rec, const Passwords *p);

/* CLOCK_REALTIME in µs. */
uint64_t now_usec(void);
