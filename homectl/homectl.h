/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "record-build.h"

/* What the command line asked for, shared by the verbs. */
typedef struct Options {
        JsonMode json;
        ExportFormat export_format; /* --export-format=, -E */
        bool legend;
        bool ask_password;
        const char *identity; /* --identity=FILE */
        RecordChanges changes; /* the field flags of create and update */
        bool pool_force;       /* pool init --force */
        bool pool_repair;      /* pool check --repair */
        uint64_t extent_size;  /* pool init --extent-size=, 0 = hearth-pool's default */
        const char *credentials; /* firstboot --credentials=DIR */
        const char *root;        /* firstboot --root=DIR */
        bool prompt_new_user;    /* firstboot --prompt-new-user */
        int recovery_key;        /* create, firstboot --recovery-key=: -1 unset, 0 no, 1 yes */
        int and_resize;          /* update --and-resize=: -1 unset (yes with --disk-size=), 0 no, 1 yes */
        bool and_change_password; /* update --and-change-password= */
        const char *pkcs11_token_uri; /* create --pkcs11-token-uri=: a URI, "auto" or "list" */
} Options;

/* Each verb gets its arguments with argv[0] the verb's name (the count is
 * checked by the caller) and returns an exit status. */
int verb_list(int argc, char **argv, const Options *o);
int verb_inspect(int argc, char **argv, const Options *o);
int verb_create(int argc, char **argv, const Options *o);
int verb_remove(int argc, char **argv, const Options *o);
int verb_activate(int argc, char **argv, const Options *o);
int verb_deactivate(int argc, char **argv, const Options *o);
int verb_update(int argc, char **argv, const Options *o);
int verb_passwd(int argc, char **argv, const Options *o);
int verb_resize(int argc, char **argv, const Options *o);
int verb_lock(int argc, char **argv, const Options *o);
int verb_unlock(int argc, char **argv, const Options *o);
int verb_lock_all(int argc, char **argv, const Options *o);
int verb_deactivate_all(int argc, char **argv, const Options *o);
int verb_rebalance(int argc, char **argv, const Options *o);
int verb_authenticate(int argc, char **argv, const Options *o);
int verb_with(int argc, char **argv, const Options *o);
int verb_pool(int argc, char **argv, const Options *o);
int verb_firstboot(int argc, char **argv, const Options *o);
int verb_adopt(int argc, char **argv, const Options *o);
int verb_register(int argc, char **argv, const Options *o);
int verb_unregister(int argc, char **argv, const Options *o);
