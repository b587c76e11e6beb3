/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Reads a regular file of at most max bytes (symlinks are not followed).
 * The buffer is NUL-terminated. Returns 0, -EFBIG if larger, -EBADF if not a
 * regular file, or the open/read error. */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len);

typedef enum WriteFlags {
        WRITE_NO_REPLACE = 1 << 0, /* fail with -EEXIST instead of replacing */
} WriteFlags;

/* Writes data so that a crash at any point leaves either the old file or
 * the new one at path, never a torn one: a hidden temporary file in the same
 * directory, fsync, rename (or link for WRITE_NO_REPLACE), fsync of the
 * directory. The temporary file is removed on failure. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, WriteFlags flags);

/* True for the names write_file_atomic() uses for its temporary files, so
 * that directory scans can skip them. */
int is_atomic_temp_name(const char *name);

/* Reads one line of at most max bytes into buf (max + 1 bytes), without the
 * newline. Returns 1, 0 at the end of the file, -E2BIG for a line that is
 * too long and -EBADMSG for one with a NUL byte (the rest of such a line is
 * read and dropped, so the next call starts on the next line), or -EIO. */
int read_line_bounded(FILE *f, char *buf, size_t max);

/* pread()/pwrite() of exactly size bytes at offset, retrying on EINTR and
 * short transfers. -EIO when the file or device ends first. */
int pread_full(int fd, void *buf, size_t size, uint64_t offset);
int pwrite_full(int fd, const void *buf, size_t size, uint64_t offset);

/* mkdir -p; the last component gets mode, parents 0755. */
int mkdir_parents(const char *path, mode_t mode);
