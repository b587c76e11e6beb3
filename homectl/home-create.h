/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "ask-password.h"
#include "identity-file.h"
#include "record-build.h"
#include "secret.h"

/* Making a new home, shared by create and firstboot: reading a record file,
 * the passwords it is created with, the record homectl sends, CreateHome.
 * Each returns an exit status (exit-status.h) and has logged why. */

/* What create sends as passwords, like systemd's homectl: the record's own
 * if it has some, else a new one from $NEWPASSWORD or the terminal; with
 * hashes but no plain text, one from $PASSWORD or the terminal that matches
 * them. *set_hashes says whether p is to be hashed into the record (it has
 * no hashes) or only sent as the secret. */
int create_passwords(const char *user, json_object *base, Passwords *p, bool *set_hashes);

/* The record for CreateHome: base (taken; may be NULL) with c applied for
 * machine_id (NULL: machine-local fields at the top level). If hash, the
 * passwords p are hashed into privileged.hashedPassword; either way they
 * become secret.password (none: no secret section).
 *
 * A record asking for a TPM2-sealed key (tpm2, from --tpm2 or the file)
 * gets a recovery key in secret.recoveryKey: base's own if it has one,
 * else a new one, returned in *ret_recovery_key to be shown once CreateHome
 * succeeded (create_show_recovery_key). recovery_key is --recovery-key=:
 * -1 unset, 0 no (refused unless the record keeps a password keyslot), 1
 * yes (refused for a record without tpm2). */
int create_build_record(json_object *base, const char *user, const RecordChanges *c, const char *machine_id,
                        const Passwords *p, bool hash, int recovery_key, UserRecord **ret,
                        SecureBuffer **ret_recovery_key);

/* The --recovery-key= checks of create_build_record on base (may be NULL)
 * with c applied, before any password is asked for. */
int create_check_recovery_key(json_object *base, const char *user, const RecordChanges *c, int recovery_key);

/* Prints a new home's recovery key on standard output, once, with how to
 * use it. Nothing if key is NULL. */
void create_show_recovery_key(const char *user, const SecureBuffer *key);

/* CreateHome with rec (its secret section included). */
/* --pkcs11-token-uri=URI|auto: a random key encrypted to the token's
 * certificate, its hash and the URI in rec (pkcs11-record.h). The key's
 * base64 (a LUKS keyslot's passphrase) in *ret_secret, or, ret_secret
 * NULL, for a LUKS home added to rec's secret.password. An exit status. */
int create_enroll_pkcs11(UserRecord *rec, const char *uri, SecureBuffer **ret_secret);
int create_call(sd_bus *bus, UserRecord *rec);
