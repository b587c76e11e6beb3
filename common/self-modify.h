/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "user-record.h"

/* What a user may change on her own record without an administrator.
 *
 * A record names it in selfModifiableFields (regular and matching perMachine
 * fields), selfModifiableBlobs (blobManifest entries) and
 * selfModifiablePrivileged (privileged fields), as systemd's user records do.
 * A record without a list gets the default below, which is systemd's minus
 * what would let her past a rule an administrator set: her shell, her
 * password hash (a password changes only with the old one, through
 * ChangePassword), the password age and the token and recovery-key
 * settings. The lists themselves, and the record's sections as a whole,
 * are never hers to change, whatever a list says. */

typedef enum SelfModifiableList {
        SELF_MODIFIABLE_FIELDS,
        SELF_MODIFIABLE_BLOBS,
        SELF_MODIFIABLE_PRIVILEGED,
        _SELF_MODIFIABLE_MAX,
} SelfModifiableList;

/* The record's list, or the default; NULL-terminated. */
const char *const *self_modifiable_list(const UserRecord *rec, SelfModifiableList which);

/* May the owner of current turn it into incoming? Compares everything but
 * what current's lists allow, lastChangeUSec (checked elsewhere) and the
 * sections a service owns (status, signature, binding, secret). Returns 1 if
 * allowed, 0 if not with *ret_field naming the first field that changed
 * ("memberOf", "privileged.hashedPassword", "perMachine"), or -ENOMEM. */
int self_modify_allowed(const UserRecord *current, const UserRecord *incoming, char **ret_field);
