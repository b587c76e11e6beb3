/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "table.h"

/* The parsed copy of one file, kept until the file changes: each use costs
 * one lstat() (made before taking any lock), and the file is read again only
 * when its device, inode, modification time or size differ from the copy's.
 * Not thread-safe by itself: the module's lock guards every FileCache. */
typedef struct FileId {
        dev_t dev;
        ino_t ino;
        struct timespec mtim;
        off_t size;
} FileId;

/* What lstat() says about <dir>/<file> now. */
typedef struct FileProbe {
        int error; /* 0, -ENOENT without a file, or another negative errno */
        char path[PATH_MAX];
        FileId id;
} FileProbe;

typedef struct FileCache {
        TableKind kind;
        const char *file; /* "passwd" or "group", below the runtime directory */
        char path[PATH_MAX];
        FileId id;    /* of the file the table was read from */
        Table *table; /* NULL: nothing cached */
} FileCache;

#define FILE_CACHE_INIT(k, f) { .kind = (k), .file = (f) }

/* Needs no lock. Errors are kept in p->error: -ELOOP for a symlink,
 * -ENAMETOOLONG, -ENOENT also when dir is not a directory. */
void file_probe(const char *dir, const char *file, FileProbe *p);

/* With the lock held for reading: the cached table if it is the probed
 * file. Returns 0, the probe's error, or -ESTALE when the file must be
 * (re)read, which file_cache_get() does with the lock held for writing. */
int file_cache_peek(const FileCache *c, const FileProbe *p, Table **ret);

/* With the lock held for writing: the table of the probed file, read again
 * if it changed. The cache keeps the reference (table_ref() for a caller
 * that holds on to it). Returns 0, the probe's error, or the error of
 * reading it: -EPERM (writable by others than its owner, or owned by
 * someone other than root or us), -EFBIG (over TABLE_FILE_MAX), -EBADF (not
 * a regular file), -ENOMEM, or what open() or read() said. */
int file_cache_get(FileCache *c, const FileProbe *p, Table **ret);

void file_cache_clear(FileCache *c);
