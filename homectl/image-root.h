/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "user-record.h"

/* homectl firstboot --root=DIR: homes made into an image that is not
 * running, without hearthd. hearth-work makes the storage under DIR/home
 * (skel from the image), and the record is registered as hearthd registers
 * it: signed by the image's own machine key in DIR/var/lib/hearth (made
 * there if absent), so that hearthd finds it when the image boots. Only
 * directory and subvolume homes: formatting a LUKS home needs
 * device-mapper. The functions return exit statuses and log why. */

typedef struct ImageRoot ImageRoot;

/* Opens DIR (not "/"; root only: homes are given to their users). The
 * worker is $HEARTH_WORKER_PATH if set, for tests, else the installed
 * hearth-work. */
int image_root_open(const char *dir, ImageRoot **ret);
ImageRoot *image_root_free(ImageRoot *img);
static inline void image_root_freep(ImageRoot **img) {
        image_root_free(*img);
}
#define _cleanup_image_root_ __attribute__((cleanup(image_root_freep)))

const char *image_root_path(const ImageRoot *img);

/* The image has a home of that name (a record in its store). */
bool image_root_has_home(ImageRoot *img, const char *user);

/* The name of a user or group of the image: a home, or an entry of its
 * /etc/passwd or /etc/group. */
bool image_root_name_taken(ImageRoot *img, const char *name);

/* A regular user of the image: a home, or one in its /etc/passwd
 * (firstboot_passwd_is_regular). Returns 1 and the name, or 0. */
int image_root_regular_user(ImageRoot *img, char **ret_name);

/* Makes the home of rec, a record built without a machine ID (its fields
 * hold for every machine the image boots on): refuses a name or UID the
 * image has, picks a free UID if none is given, runs hearth-work create,
 * and registers the signed record. */
int image_root_create(ImageRoot *img, UserRecord *rec);
