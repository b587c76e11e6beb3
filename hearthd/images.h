/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <systemd/sd-bus.h>

#include "manager.h"

/* Homes found in the home root, as systemd-homed finds them in /home: a
 * <user>.home image (LUKS) or a <user>.homedir directory or subvolume that
 * no stored record names becomes an unfixated home (home-policy.h) under
 * the user name its file name gives, with a UID of the home range, on the
 * bus and in the NSS files like any other; its record is taken from what
 * it carries at the first activation, authentication or Fixate
 * (managed-home.c), checked as every record from outside is. Found at
 * start and, through inotify on the home root, while hearthd runs; an
 * unfixated home whose image goes (moved out, deleted) goes with it, a
 * fixated one becomes absent (and inactive again when its storage comes
 * back). A name NSS knows (another user or group) is left alone. */

/* After manager_start(): the watch on the home root, then a scan of it.
 * Without a machine ID nothing is looked for (a home found could not be
 * bound to this machine). */
int manager_images_start(Manager *m);

/* AdoptHome: the image or directory at path (<user>.home, <user>.homedir)
 * becomes a home found here. Outside the home root it is moved into it
 * first (rename(2): the same file system only; the LUKS backend takes
 * images in the home root alone). 0, or the bus error set. */
int manager_adopt_image(Manager *m, const char *path, sd_bus_error *error);
