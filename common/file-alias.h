/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Hearth tells files apart by (st_dev, st_ino). A stacking or network file
 * system shows a file it passes through under a device number of its own,
 * so one file has two identities. Within one file system the pair still
 * tells files apart; across two, it depends on the kind:
 * - overlayfs and eCryptfs keep the file's inode number (overlayfs with
 *   xino puts a layer's index in its top bits): the same number below those
 *   bits is taken to be perhaps the same file (two unrelated files meeting
 *   so only make a check refuse). Not so an overlayfs metacopy file whose
 *   data comes from another layer's file: it shows its own number
 *   (storage/overlay-layers.h counts such an overlay's layers instead);
 * - FUSE (bindfs, sshfs), NFS, 9p, CIFS and Ceph may number a file as they
 *   like: nothing can be told, so a file there is perhaps any file of
 *   another file system. */

typedef enum FileAlias {
        FILE_ALIAS_NONE,   /* a file system that shows only its own files */
        FILE_ALIAS_INODE,  /* overlayfs, eCryptfs, or a file system that cannot be told */
        FILE_ALIAS_OPAQUE, /* FUSE, NFS, 9p, CIFS, Ceph */
} FileAlias;

typedef struct FileId {
        dev_t dev;
        ino_t ino;
        FileAlias alias;
} FileId;

/* What a statfs() f_type is, of the kinds above. */
FileAlias fs_type_alias(int64_t f_type);

/* What the file system of the file at path (followed) is; INODE if it
 * cannot be told. */
FileAlias path_alias(const char *path);

/* The identity of the file at path (symlinks followed). -errno if it
 * cannot be stat()ed. Logs nothing. */
int file_id_of_path(const char *path, FileId *ret);

/* Whether a and b are, or perhaps are, the same file. */
bool file_ids_may_match(const FileId *a, const FileId *b);

/* Whether the file st (reached at path, for its file system; NULL if no
 * path reaches it) is, or perhaps is, the file id. Only where its number
 * could make it matter is its file system looked up (a statfs()); one on a
 * file system that numbers files as it likes (OPAQUE) counts only with the
 * same number: a process's open files are not all taken to be the file
 * (any user may hold a FUSE file open). */
bool file_may_be(const FileId *id, const struct stat *st, const char *path);
