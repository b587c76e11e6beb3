/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include "file-alias.h"
#include "macro.h"

/* overlayfs xino: up to 2^7 layers' file systems in the top bits. */
#define ALIAS_INO_MASK ((UINT64_C(1) << 56) - 1)

bool fs_type_aliases(int64_t f_type) {
        switch (f_type) {
        case OVERLAYFS_SUPER_MAGIC:
        case FUSE_SUPER_MAGIC:
        case NFS_SUPER_MAGIC:
        case V9FS_MAGIC:
        case CIFS_SUPER_MAGIC:
        case SMB2_SUPER_MAGIC:
        case CEPH_SUPER_MAGIC:
                return true;
        default:
                return false;
        }
}

static bool path_aliasing(const char *path) {
        struct statfs sf;
        if (!path || statfs(path, &sf) < 0)
                return true;
        return fs_type_aliases((int64_t) sf.f_type);
}

int file_id_of_path(const char *path, FileId *ret) {
        struct stat st;
        if (stat(path, &st) < 0)
                return negative_errno();
        *ret = (FileId) { .dev = st.st_dev, .ino = st.st_ino, .aliasing = path_aliasing(path) };
        return 0;
}

static bool same_ino_below_layer_bits(ino_t a, ino_t b) {
        return ((uint64_t) a & ALIAS_INO_MASK) == ((uint64_t) b & ALIAS_INO_MASK);
}

bool file_ids_may_match(const FileId *a, const FileId *b) {
        if (a->dev == b->dev && a->ino == b->ino)
                return true;
        return (a->aliasing || b->aliasing) && same_ino_below_layer_bits(a->ino, b->ino);
}

/* The candidate's file system is looked up only when its inode number
 * could make it matter: it takes a statfs() of each. */
bool file_may_be(const FileId *id, const struct stat *st, const char *path) {
        if (!S_ISREG(st->st_mode))
                return false;
        if (st->st_dev == id->dev && st->st_ino == id->ino)
                return true;
        if (!same_ino_below_layer_bits(st->st_ino, id->ino))
                return false;
        return id->aliasing || path_aliasing(path);
}
