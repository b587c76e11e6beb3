/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdlib.h>
#include <sys/types.h>

/* Where a directory or subvolume home (and a LUKS home's image) is, below
 * the home root (/home), as
 * systemd-homed keeps them: shared by hearth-work (storage/home.h, which
 * makes and mounts them) and hearthd (which looks at them to derive a
 * home's state, and at what a killed create left).
 *
 * The storage is <root>/<user>HOME_STORAGE_SUFFIX; while the home is active
 * it is mounted, ID-mapped (storage/idmap.h), at <root>/<user>, its
 * homeDirectory. Its top is owned on disk by its stored owner: UID_NOBODY
 * for subvolume homes made here, the user's UID for directory homes; and
 * while hearthd runs the storage is bind-mounted onto itself nosuid,nodev,
 * noexec (storage/home-guard.h), so that nothing in it runs set-UID
 * through the raw path. */
#define HOME_STORAGE_SUFFIX ".homedir"

/* A LUKS home's image in the home root, as homed names it: <user>.home. */
#define HOME_IMAGE_SUFFIX ".home"

#define UID_NOBODY ((uid_t) 65534)

/* The home root: /home, or $HEARTH_HOME_ROOT (tests). hearth-work makes
 * homes there, hearth-skel keeps the skel template there too
 * (skel/skel-template.h). */
static inline const char *home_root_default(void) {
        const char *e = getenv("HEARTH_HOME_ROOT");
        return e && e[0] == '/' ? e : "/home";
}
