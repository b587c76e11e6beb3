/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include "file-alias.h"
#include "macro.h"

/* overlayfs xino: up to 2^7 layers' file systems in the top bits. */
#define ALIAS_INO_MASK ((UINT64_C(1) << 56) - 1)

FileAlias fs_type_alias(int64_t f_type) {
        switch (f_type) {
        case OVERLAYFS_SUPER_MAGIC:
        case ECRYPTFS_SUPER_MAGIC: /* the lower file's inode number on a device of its own (attack13) */
                return FILE_ALIAS_INODE;
        case FUSE_SUPER_MAGIC:
        case NFS_SUPER_MAGIC:
        case V9FS_MAGIC:
        case CIFS_SUPER_MAGIC:
        case SMB2_SUPER_MAGIC:
        case CEPH_SUPER_MAGIC:
                return FILE_ALIAS_OPAQUE;
        default:
                return FILE_ALIAS_NONE;
        }
}

FileAlias path_alias(const char *path) {
        struct statfs sf;
        if (!path || statfs(path, &sf) < 0)
                return FILE_ALIAS_INODE;
        return fs_type_alias((int64_t) sf.f_type);
}

int file_id_of_path(const char *path, FileId *ret) {
        struct stat st;
        if (stat(path, &st) < 0)
                return negative_errno();
        *ret = (FileId) { .dev = st.st_dev, .ino = st.st_ino, .alias = path_alias(path) };
        return 0;
}

static bool same_ino_below_layer_bits(ino_t a, ino_t b) {
        return ((uint64_t) a & ALIAS_INO_MASK) == ((uint64_t) b & ALIAS_INO_MASK);
}

bool file_ids_may_match(const FileId *a, const FileId *b) {
        if (a->dev == b->dev)
                return a->ino == b->ino;
        if (a->alias == FILE_ALIAS_OPAQUE || b->alias == FILE_ALIAS_OPAQUE)
                return true;
        return (a->alias != FILE_ALIAS_NONE || b->alias != FILE_ALIAS_NONE) && same_ino_below_layer_bits(a->ino, b->ino);
}

bool file_may_be(const FileId *id, const struct stat *st, const char *path) {
        if (!S_ISREG(st->st_mode))
                return false;
        if (st->st_dev == id->dev)
                return st->st_ino == id->ino;
        if (!same_ino_below_layer_bits(st->st_ino, id->ino))
                return false;
        return id->alias != FILE_ALIAS_NONE || path_alias(path) != FILE_ALIAS_NONE;
}
