/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A LUKS home's image file on the file system under it (/home). */

/* Turns copy-on-write (and with it compression) off for an image file, as
 * homed does: FS_NOCOW_FL and FS_NOCOMP_FL, which btrfs takes only on an
 * empty file, so before its first byte is written. With copy-on-write
 * every rewrite of the LUKS2 header or of a keyslot lands in a new place
 * and the old copy stays on the disk: after a password change, the old
 * password and the old keyslot still give the volume key to whoever reads
 * the raw disk. Snapshots of /home keep old copies all the same.
 * 0, or a negative errno if the file system refuses (or ignores) it:
 * logged, as a warning on btrfs, where it matters, else at debug level. */
int image_file_nocow(int fd, const char *what);
