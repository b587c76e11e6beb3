/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* /proc/<pid>/mountinfo: what the pieces Hearth reads from it mean. */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
void mountinfo_unescape(char *s);

/* The file system type and source of the topmost mount at where (the last
 * one mountinfo lists there) in the mount table at path. 0, -ENOENT if
 * nothing is mounted there, or -errno. Logs nothing. */
int mountinfo_top_at(const char *path, const char *where, char *fstype, size_t fstype_size, char *source,
                     size_t source_size);
