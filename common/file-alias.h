/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Hearth tells files apart by (st_dev, st_ino). A stacking or network file
 * system shows a file it passes through under a device number of its own,
 * so one file has two identities: overlayfs (a file of its upper or lower
 * directory), FUSE (bindfs), NFS and 9p (a local file exported back), CIFS,
 * Ceph. Those keep the file's inode number, or overlayfs (xino) puts a
 * layer's index in the top bits of it; so where either side of a
 * comparison lives on such a file system, the same inode number below
 * those bits is taken to be perhaps the same file. Two unrelated files
 * meeting so only make a check refuse (fail closed). */

typedef struct FileId {
        dev_t dev;
        ino_t ino;
        bool aliasing; /* on a file system listed above, or on one that cannot be told */
} FileId;

/* Whether a statfs() f_type is one of the file systems above. */
bool fs_type_aliases(int64_t f_type);

/* The identity of the file at path (symlinks followed). -errno if it
 * cannot be stat()ed; a file system that cannot be told counts as
 * aliasing. Logs nothing. */
int file_id_of_path(const char *path, FileId *ret);

/* Whether a and b are, or perhaps are, the same file. */
bool file_ids_may_match(const FileId *a, const FileId *b);

/* Whether the file st (reached at path, for its file system's type; NULL
 * if no path reaches it) is, or perhaps is, the file id. */
bool file_may_be(const FileId *id, const struct stat *st, const char *path);
