/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "ask-password.h"
#include "record-build.h"

/* Making a new home, shared by create and firstboot: reading a record file,
 * the passwords it is created with, the record homectl sends, CreateHome.
 * Each returns an exit status (exit-status.h) and has logged why. */

/* Reads a record file ("-": standard input) strictly into a tree, which
 * must be a JSON object. The tree may hold secrets: free it with
 * json_object_wipe_and_put(). */
int record_tree_load(const char *path, json_object **ret);

/* The i-th string of the list section.key in a tree (e.g.
 * secret.password), or NULL. */
const char *record_tree_list_get(json_object *j, const char *section, const char *key, size_t i);

/* What create sends as passwords, like systemd's homectl: the record's own
 * if it has some, else a new one from $NEWPASSWORD or the terminal; with
 * hashes but no plain text, one from $PASSWORD or the terminal that matches
 * them. *set_hashes says whether p is to be hashed into the record (it has
 * no hashes) or only sent as the secret. */
int create_passwords(const char *user, json_object *base, Passwords *p, bool *set_hashes);

/* The record for CreateHome: base (taken; may be NULL) with c applied for
 * machine_id (NULL: machine-local fields at the top level). If hash, the
 * passwords p are hashed into privileged.hashedPassword; either way they
 * become secret.password (none: no secret section). */
int create_build_record(json_object *base, const char *user, const RecordChanges *c, const char *machine_id,
                        const Passwords *p, bool hash, UserRecord **ret);

/* CreateHome with rec (its secret section included). */
int create_call(sd_bus *bus, UserRecord *rec);
