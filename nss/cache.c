/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "macro.h"

void file_cache_clear(FileCache *c) {
        table_unref(c->table);
        c->table = NULL;
}

static FileId file_id(const struct stat *st) {
        return (FileId) { .dev = st->st_dev, .ino = st->st_ino, .mtim = st->st_mtim, .size = st->st_size };
}

static bool same_file(const FileId *a, const FileId *b) {
        return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec;
}

/* Whoever can write the file decides which UID a name has and where its
 * home is (sshd reads authorized_keys from there): only root, or the
 * process itself (tests pointing HEARTH_RUNTIME_DIR at their own files;
 * secure_getenv keeps that out of set-uid programs). */
static int check_owner(const struct stat *st) {
        if (!S_ISREG(st->st_mode))
                return -EBADF;
        if ((st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_uid != 0 && st->st_uid != geteuid()))
                return -EPERM;
        if ((uint64_t) st->st_size > TABLE_FILE_MAX)
                return -EFBIG;
        return 0;
}

static int read_all(int fd, size_t hint, char **ret, size_t *ret_len) {
        /* Room for the size fstat() saw, one byte more to notice that the
         * file grew, and the terminating NUL. */
        size_t cap = hint + 2, n = 0;
        _cleanup_free_ char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (n + 1 == cap) {
                        char *p = realloc(buf, cap * 2);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        cap *= 2;
                }
                k = read(fd, buf + n, cap - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > TABLE_FILE_MAX)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

static int load(FileCache *c, Table **ret) {
        /* A file replaced while it is read is read again, a few times. */
        for (int attempt = 0;; attempt++) {
                _cleanup_close_ int fd = -1;
                _cleanup_free_ char *text = NULL;
                struct stat st, after;
                FileId id, id_after;
                size_t len;
                int r;

                /* O_NONBLOCK: a FIFO put there must not hang the caller. */
                fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
                if (fd < 0)
                        return errno == ENOTDIR ? -ENOENT : negative_errno();
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                r = check_owner(&st);
                if (r < 0)
                        return r;
                r = read_all(fd, (size_t) st.st_size, &text, &len);
                if (r < 0)
                        return r;
                if (fstat(fd, &after) < 0)
                        return negative_errno();
                id = file_id(&st);
                id_after = file_id(&after);
                if (!same_file(&id, &id_after) && attempt < 3)
                        continue;
                r = table_parse(c->kind, TAKE_PTR(text), len, ret);
                if (r < 0)
                        return r;
                c->id = id;
                return 0;
        }
}

void file_probe(const char *dir, const char *file, FileProbe *p) {
        struct stat st;
        int n = snprintf(p->path, sizeof p->path, "%s/%s", dir, file);

        p->error = 0;
        if (n < 0 || (size_t) n >= sizeof p->path)
                p->error = -ENAMETOOLONG;
        else if (lstat(p->path, &st) < 0)
                p->error = errno == ENOTDIR ? -ENOENT : negative_errno();
        else if (S_ISLNK(st.st_mode))
                p->error = -ELOOP; /* never followed: it could point anywhere */
        else
                p->id = file_id(&st);
}

int file_cache_peek(const FileCache *c, const FileProbe *p, Table **ret) {
        if (p->error < 0)
                return p->error;
        if (!c->table || !same_file(&c->id, &p->id) || strcmp(c->path, p->path) != 0)
                return -ESTALE;
        *ret = c->table;
        return 0;
}

int file_cache_get(FileCache *c, const FileProbe *p, Table **ret) {
        Table *t = NULL;
        int r = file_cache_peek(c, p, ret);

        if (r != -ESTALE) {
                /* A file that is gone frees its copy. */
                if (r < 0)
                        file_cache_clear(c);
                return r;
        }
        /* The file may have changed again since the probe: the identity
         * kept is that of the file actually read (see load()). */
        file_cache_clear(c);
        strcpy(c->path, p->path);
        r = load(c, &t);
        if (r < 0)
                return r;
        c->table = t;
        *ret = t;
        return 0;
}
