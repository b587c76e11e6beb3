/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* overlayfs with metacopy (Linux 4.19; data-only lower layers since 6.5,
 * what composefs uses) serves a file's bytes from another file of a lower
 * or data-only layer and shows the first file's inode number: a process
 * reading through the overlay holds a layer's file that no (st_dev, st_ino)
 * in /proc names, and the kernel opens it for her. So every file of such
 * an overlay's layers counts as in use while it is mounted (writing to the
 * layers of a mounted overlay is not allowed anyway: overlayfs's
 * documentation). Only root mounts these: metacopy needs trusted xattrs,
 * which a user namespace's mount cannot use, so no user can make an image
 * "in use" this way. */

#define OVERLAY_LAYERS_MAX 512

/* The layer directories an overlay's super options name (mountinfo's last
 * field as it stands, escaped): lowerdir= (':'-separated, "::" before the
 * data-only layers, '\' escaping a ':'), lowerdir+=, datadir+= and
 * upperdir=; each malloc'ed, NULL-terminated. *ret_metacopy: whether the
 * options turn metacopy on (metacopy_default, the module's default, when
 * they do not say). -E2BIG past OVERLAY_LAYERS_MAX layers, -ENOMEM. */
int overlay_options_parse(const char *opts, bool metacopy_default, char ***ret_layers, bool *ret_metacopy);

/* Layers already searched, and how many directory entries a search may
 * still read, across one check's mount tables. */
#define OVERLAY_WALKED_MAX 256
typedef struct OverlayWalk {
        struct {
                dev_t dev;
                ino_t ino;
        } walked[OVERLAY_WALKED_MAX];
        size_t n_walked;
        uint64_t entries_left;
} OverlayWalk;

#define OVERLAY_WALK_ENTRIES_MAX (8u * 1024 * 1024)

/* Whether the regular file (dev, ino) is perhaps a file of a layer of the
 * overlay with these super options, a metacopy one: its layers looked up
 * under root_fd (the root of a process in its mount namespace). 1 and the
 * reason in why (a layer that cannot be found or searched counts: the
 * mount is root's), 0 if not or if the overlay does not use metacopy,
 * -errno. */
int overlay_layers_hold(const char *opts, int root_fd, dev_t dev, ino_t ino, OverlayWalk *walk, char *why,
                        size_t why_size);
