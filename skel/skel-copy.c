/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seeding a home from skeleton trees; see skel.h for what is kept.
 *
 * The source may contain anything and the target may be raced: every entry
 * is created relative to an fd of its new parent, directories are entered
 * with O_NOFOLLOW|O_DIRECTORY, nothing that already exists in the target is
 * replaced or written through, and a regular file gets its name only once
 * complete (O_TMPFILE + linkat, or a hidden name + rename). The walk over
 * several sources is a merge of directory listings, not of what the target
 * already holds, so that something planted in the target is an error rather
 * than a silently skipped entry. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fs.h>

#if HAVE_SELINUX
#include <selinux/label.h>
#include <selinux/selinux.h>
#endif

#include "log.h"
#include "macro.h"
#include "open-in-root.h"
#include "skel.h"
#if HAVE_SELINUX
#include "dlopen-selinux.h"
#endif

/* Deeper trees fail with -ELOOP. Each level holds one fd per source that has
 * the directory plus one in the target, so 256 levels stay below the usual
 * 1024-fd soft limit unless all three sources are that deep. */
#define MAX_DEPTH 256
#define COPY_BUFFER_SIZE (128u * 1024)

static const char *const default_sources[] = {
        "/etc/skel",
        "/usr/etc/skel",
        "/usr/share/factory/etc/skel",
};
#define MAX_SOURCES ELEMENTSOF(default_sources)
_Static_assert(MAX_SOURCES == SKEL_SOURCES_MAX, "skel.h counts the default sources");

typedef struct Source {
        int fd;             /* the directory being copied, in this source */
        const char *path;   /* the source's top directory, for messages */
        const char *origin; /* the top as the target system sees it (normalized), for rewriting links; or NULL */
} Source;

/* The first copy of a source inode with several links. */
typedef struct Linked {
        dev_t dev;
        ino_t ino;
        char *rel;
} Linked;

typedef struct Seeder {
        const SkelOptions *opts;
        SkelStats *stats;
        const char *home; /* home_path without trailing slashes, or NULL */
        int target_fd;
        dev_t target_dev;
        ino_t target_ino;
        bool masks;      /* merging: a symlink to /dev/null masks the path */
        bool no_tmpfile; /* O_TMPFILE unavailable or not linkable here */
        unsigned tmp_counter;
        void *linked; /* tsearch() tree of Linked */
        char *buf;    /* read()/write() fallback, allocated on first use */
        char *xbuf;   /* one xattr value, allocated on first use */
        char link[PATH_MAX];
        char rel[PATH_MAX]; /* the entry at hand, relative to the target */
        size_t rel_len;
#if HAVE_SELINUX
        struct selabel_handle *label;
#endif
} Seeder;

static int linked_compare(const void *a, const void *b) {
        const Linked *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        return 0;
}

static void linked_free(void *p) {
        Linked *l = p;

        free(l->rel);
        free(l);
}

static void seeder_done(Seeder *s) {
        tdestroy(s->linked, linked_free);
        free(s->buf);
        free(s->xbuf);
#if HAVE_SELINUX
        if (s->label)
                sym_selabel_close(s->label);
#endif
}

/* ---- paths ---------------------------------------------------------------- */

/* Lexically normalized absolute path: no "//", ".", ".." or trailing "/". */
static int path_normalize(const char *p, char **ret) {
        size_t len = 0;
        char *out = malloc(strlen(p) + 2);

        if (!out)
                return -ENOMEM;
        while (*p) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0 || (n == 1 && p[0] == '.')) {
                } else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (len > 0 && out[--len] != '/')
                                ;
                } else {
                        out[len++] = '/';
                        memcpy(out + len, p, n);
                        len += n;
                }
                p += n;
        }
        if (len == 0)
                out[len++] = '/';
        out[len] = 0;
        *ret = out;
        return 0;
}

/* The rest of path below prefix ("" for prefix itself), or NULL; both normalized. */
static const char *path_below(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        if (strcmp(prefix, "/") == 0)
                return path + 1;
        if (strncmp(path, prefix, n) != 0)
                return NULL;
        if (path[n] == 0)
                return path + n;
        return path[n] == '/' ? path + n + 1 : NULL;
}

/* root without trailing slashes; "" for none or "/". */
static int root_prefix(const char *root, char **ret) {
        size_t n = root ? strlen(root) : 0;

        while (n > 0 && root[n - 1] == '/')
                n--;
        *ret = strndup(root ? root : "", n);
        return *ret ? 0 : -ENOMEM;
}

typedef struct Sources {
        Source v[MAX_SOURCES];
        size_t n;
} Sources;

static void sources_done(Sources *l) {
        for (size_t i = 0; i < l->n; i++)
                closep(&l->v[i].fd);
}

/* Opens the default sources that exist below root into srcs; *ret_paths
 * gets their paths with root prefixed (which srcs points into). */
static int open_default_sources(const char *root, Sources *srcs, char ***ret_paths) {
        _cleanup_strv_free_ char **paths = calloc(MAX_SOURCES + 1, sizeof *paths);
        _cleanup_free_ char *prefix = NULL;
        _cleanup_close_ int root_fd = -1;
        size_t n = 0;

        if (!paths || root_prefix(root, &prefix) < 0)
                return log_oom();
        if (prefix[0]) {
                /* A mistyped root is an error, not a root without sources. */
                root_fd = open(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return log_error_errno(errno, "skel: cannot open root directory %s: %m", prefix);
        }
        for (size_t i = 0; i < MAX_SOURCES; i++) {
                /* Without openat2() (before Linux 5.6, or under valgrind) no
                 * symlink is followed, rather than one resolved on the host. */
                int fd = open_in_root(root_fd, default_sources[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd == -ENOENT || fd == -ENOTDIR)
                        continue;
                if (fd == -ELOOP) {
                        log_warning("skel: %s%s: a symlink that cannot be resolved inside the root (a loop, or "
                                    "no openat2() here), skipping it", prefix, default_sources[i]);
                        continue;
                }
                if (fd < 0)
                        return log_error_errno(fd, "skel: cannot open %s%s: %m", prefix, default_sources[i]);
                if (asprintf(&paths[n], "%s%s", prefix, default_sources[i]) < 0) {
                        paths[n] = NULL;
                        close(fd);
                        return log_oom();
                }
                srcs->v[srcs->n++] = (Source) { .fd = fd, .path = paths[n], .origin = default_sources[i] };
                n++;
        }
        *ret_paths = TAKE_PTR(paths);
        return 0;
}

int skel_default_sources(const char *root, char ***ret) {
        _cleanup_(sources_done) Sources srcs = {};

        return open_default_sources(root, &srcs, ret);
}

int skel_sources_open(const char *root, SkelSources *ret) {
        _cleanup_(sources_done) Sources srcs = {};
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        r = open_default_sources(root, &srcs, &paths);
        if (r < 0)
                return r;
        *ret = (SkelSources) { .n = srcs.n };
        for (size_t i = 0; i < srcs.n; i++) {
                ret->fd[i] = TAKE_FD(srcs.v[i].fd);
                ret->origin[i] = srcs.v[i].origin;
                ret->path[i] = TAKE_PTR(paths[i]);
        }
        return 0;
}

void skel_sources_done(SkelSources *s) {
        for (size_t i = 0; i < s->n; i++) {
                closep(&s->fd[i]);
                free(s->path[i]);
        }
        *s = (SkelSources) {};
}

/* ---- the relative path of the entry at hand ------------------------------- */

static int rel_push(Seeder *s, const char *name, size_t *ret_saved) {
        size_t n = strlen(name), need = s->rel_len + (s->rel_len > 0) + n;

        *ret_saved = s->rel_len;
        if (n > NAME_MAX || need >= sizeof s->rel)
                return log_error_errno(ENAMETOOLONG, "skel: %s%s%s: path too long", s->rel, s->rel_len ? "/" : "",
                                       name);
        if (s->rel_len > 0)
                s->rel[s->rel_len++] = '/';
        memcpy(s->rel + s->rel_len, name, n + 1);
        s->rel_len += n;
        return 0;
}

static void rel_pop(Seeder *s, size_t saved) {
        s->rel_len = saved;
        s->rel[saved] = 0;
}

/* ---- SELinux ------------------------------------------------------------- */

bool skel_labels_by_path(void) {
#if HAVE_SELINUX
        /* Without selinuxfs SELinux is off, which is what libselinux would
         * find out: not loaded for that (a create from the skel template asks). */
        if (access("/sys/fs/selinux/enforce", F_OK) < 0)
                return false;
        return dlopen_selinux() >= 0 && sym_is_selinux_enabled() > 0;
#else
        return false;
#endif
}

/* New entries get the label the policy gives their path below home_path,
 * not the source's (which is a label for /etc). */
static int label_prepare(Seeder *s, mode_t mode) {
#if HAVE_SELINUX
        _cleanup_free_ char *path = NULL;
        char *con = NULL;
        int r;

        if (!s->label)
                return 0;
        if (asprintf(&path, "%s/%s", s->home, s->rel) < 0)
                return log_oom();
        if (sym_selabel_lookup(s->label, &con, path, (int) (mode & S_IFMT)) < 0) {
                if (errno == ENOENT) /* no rule: the default labeling */
                        return sym_setfscreatecon(NULL) < 0 ? log_error_errno(errno, "skel: %s: cannot reset SELinux "
                                                                                 "create context: %m", s->rel) : 0;
                return log_error_errno(errno, "skel: %s: cannot look up SELinux label: %m", s->rel);
        }
        r = sym_setfscreatecon(con);
        sym_freecon(con);
        if (r < 0)
                return log_error_errno(errno, "skel: %s: cannot set SELinux create context: %m", s->rel);
#endif
        return 0;
}

static void label_reset(Seeder *s) {
#if HAVE_SELINUX
        if (s->label)
                (void) sym_setfscreatecon(NULL);
#endif
}

/* ---- attributes -------------------------------------------------------- */

/* User data, security attributes and POSIX ACLs travel. The SELinux label
 * does not: it belongs to the path (see label_prepare()). */
static bool xattr_wanted(const char *name, bool is_dir) {
        if (strncmp(name, "user.", 5) == 0)
                return true;
        if (strncmp(name, "security.", 9) == 0)
                return strcmp(name, "security.selinux") != 0;
        if (strcmp(name, "system.posix_acl_access") == 0)
                return true;
        return is_dir && strcmp(name, "system.posix_acl_default") == 0;
}

static int copy_xattrs(Seeder *s, const Source *src, int sfd, int dfd, bool is_dir) {
        _cleanup_free_ char *names = NULL;
        ssize_t n;

        /* The list can change between the two calls; retry a few times. */
        for (unsigned attempt = 0;; attempt++) {
                n = flistxattr(sfd, NULL, 0);
                if (n < 0) {
                        if (errno == ENOTSUP || errno == EOPNOTSUPP)
                                return 0;
                        break;
                }
                if (n == 0)
                        return 0;
                free(names);
                names = malloc((size_t) n);
                if (!names)
                        return log_oom();
                n = flistxattr(sfd, names, (size_t) n);
                if (n >= 0 || errno != ERANGE || attempt >= 3)
                        break;
        }
        if (n < 0)
                return log_error_errno(errno, "skel: %s/%s: cannot list extended attributes: %m", src->path, s->rel);

        for (const char *p = names; p < names + n; p += strlen(p) + 1) {
                ssize_t k;

                if (!xattr_wanted(p, is_dir))
                        continue;
                if (!s->xbuf && !(s->xbuf = malloc(XATTR_SIZE_MAX)))
                        return log_oom();
                k = fgetxattr(sfd, p, s->xbuf, XATTR_SIZE_MAX);
                if (k < 0) {
                        if (errno == ENODATA) /* removed meanwhile */
                                continue;
                        return log_error_errno(errno, "skel: %s/%s: cannot read attribute %s: %m", src->path,
                                               s->rel, p);
                }
                if (fsetxattr(dfd, p, s->xbuf, (size_t) k, 0) < 0) {
                        /* The target's file system lacks this namespace. */
                        if (errno == ENOTSUP || errno == EOPNOTSUPP)
                                continue;
                        return log_error_errno(errno, "skel: %s: cannot set attribute %s: %m", s->rel, p);
                }
        }
        return 0;
}

/* Owner, attributes, mode, times, in this order: chown clears set-ID bits
 * and file capabilities, and an ACL is part of the mode. */
static int set_attributes(Seeder *s, const Source *src, int sfd, int dfd, const struct stat *st) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        int r;

        if (fchown(dfd, s->opts->uid, s->opts->gid) < 0)
                return log_error_errno(errno, "skel: %s: cannot set owner: %m", s->rel);
        r = copy_xattrs(s, src, sfd, dfd, S_ISDIR(st->st_mode));
        if (r < 0)
                return r;
        if (fchmod(dfd, st->st_mode & 07777) < 0)
                return log_error_errno(errno, "skel: %s: cannot set mode: %m", s->rel);
        if (futimens(dfd, ts) < 0)
                return log_error_errno(errno, "skel: %s: cannot set times: %m", s->rel);
        return 0;
}

/* ---- regular files ------------------------------------------------------ */

/* Copies st_size bytes (less if the file shrank meanwhile). */
static int copy_data(Seeder *s, const Source *src, int sfd, int dfd, const struct stat *st, bool *ret_reflinked,
                     unsigned long long *ret_bytes) {
        off_t in = 0, out = 0;

        *ret_reflinked = false;
        if (st->st_size == 0) {
                *ret_bytes = 0;
                return 0;
        }
        /* A reflink shares the extents: nearly free, and no space used. */
        if (ioctl(dfd, FICLONE, sfd) == 0) {
                *ret_reflinked = true;
                *ret_bytes = (unsigned long long) st->st_size;
                return 0;
        }

        while (in < st->st_size) {
                ssize_t k = copy_file_range(sfd, &in, dfd, &out, (size_t) (st->st_size - in), 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Not between these files (other file systems…): by hand from here. */
                        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                            errno == EBADF || errno == ETXTBSY)
                                break;
                        return log_error_errno(errno, "skel: %s: cannot copy data: %m", s->rel);
                }
                if (k == 0)
                        break; /* end of file, or a file system that copies nothing: read() tells */
        }

        if (in < st->st_size && !s->buf && !(s->buf = malloc(COPY_BUFFER_SIZE)))
                return log_oom();
        while (in < st->st_size) {
                size_t want = (size_t) (st->st_size - in) < COPY_BUFFER_SIZE ? (size_t) (st->st_size - in)
                                                                                : COPY_BUFFER_SIZE;
                ssize_t k = pread(sfd, s->buf, want, in);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "skel: %s/%s: cannot read: %m", src->path, s->rel);
                }
                if (k == 0)
                        break;
                for (ssize_t done = 0; done < k;) {
                        ssize_t w = pwrite(dfd, s->buf + done, (size_t) (k - done), out);
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return log_error_errno(errno, "skel: %s: cannot write: %m", s->rel);
                        }
                        done += w;
                        out += w;
                }
                in += k;
        }
        *ret_bytes = (unsigned long long) in;
        return 0;
}

static int fill_file(Seeder *s, const Source *src, int sfd, int dfd, const struct stat *st, bool *ret_reflinked,
                     unsigned long long *ret_bytes) {
        int r = copy_data(s, src, sfd, dfd, st, ret_reflinked, ret_bytes);
        return r < 0 ? r : set_attributes(s, src, sfd, dfd, st);
}

/* Gives the O_TMPFILE fd a name. -EXDEV: it cannot be done here (no
 * privilege for AT_EMPTY_PATH and no /proc); anything else is logged. */
static int link_tmpfile(Seeder *s, int fd, int dir_fd, const char *name) {
        char proc[64];

        if (linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) == 0)
                return 0;
        if (errno == EEXIST)
                return log_error_errno(errno, "skel: %s: already exists in the target, refusing to replace it",
                                       s->rel);
        if (errno != ENOENT && errno != EPERM && errno != EINVAL)
                return log_error_errno(errno, "skel: %s: cannot create: %m", s->rel);
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) == 0)
                return 0;
        if (errno == EEXIST)
                return log_error_errno(errno, "skel: %s: already exists in the target, refusing to replace it",
                                       s->rel);
        if (errno == ENOENT)
                return -EXDEV;
        return log_error_errno(errno, "skel: %s: cannot create: %m", s->rel);
}

/* Returns 0, -EXDEV if O_TMPFILE cannot be used here (nothing logged), or
 * another logged error. */
static int create_via_tmpfile(Seeder *s, const Source *src, int sfd, int dir_fd, const char *name,
                              const struct stat *st, bool *ret_reflinked, unsigned long long *ret_bytes) {
        _cleanup_close_ int fd = -1;
        int r;

        r = label_prepare(s, S_IFREG);
        if (r < 0)
                return r;
        fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        label_reset(s);
        if (fd < 0) {
                if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
                        return -EXDEV;
                return log_error_errno(errno, "skel: %s: cannot create: %m", s->rel);
        }
        r = fill_file(s, src, sfd, fd, st, ret_reflinked, ret_bytes);
        if (r < 0)
                return r; /* the unnamed inode goes with the fd */
        return link_tmpfile(s, fd, dir_fd, name);
}

static int create_via_hidden_name(Seeder *s, const Source *src, int sfd, int dir_fd, const char *name,
                                  const struct stat *st, bool *ret_reflinked, unsigned long long *ret_bytes) {
        _cleanup_close_ int fd = -1;
        char tmp[64];
        int r;

        r = label_prepare(s, S_IFREG);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 100 && fd < 0; i++) {
                snprintf(tmp, sizeof tmp, ".#hearth-skel.%u.%u", (unsigned) getpid(), s->tmp_counter++);
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && errno != EEXIST)
                        break;
        }
        label_reset(s);
        if (fd < 0)
                return log_error_errno(errno, "skel: %s: cannot create a temporary file: %m", s->rel);

        r = fill_file(s, src, sfd, fd, st, ret_reflinked, ret_bytes);
        if (r >= 0) {
                if (renameat2(dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) == 0)
                        return 0;
                r = -errno;
                if (r == -EINVAL || r == -ENOSYS)
                        /* No RENAME_NOREPLACE here: link, which never replaces, then unlink. */
                        r = linkat(dir_fd, tmp, dir_fd, name, 0) < 0 ? -errno : 0;
                if (r == -EEXIST)
                        log_error_errno(r, "skel: %s: already exists in the target, refusing to replace it", s->rel);
                else if (r < 0)
                        log_error_errno(r, "skel: %s: cannot create: %m", s->rel);
        }
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

/* Opens for reading without touching the source's access time where allowed. */
static int open_source(int dir_fd, const char *name, int flags) {
        int fd = openat(dir_fd, name, flags | O_NOATIME);

        if (fd < 0 && errno == EPERM) /* not the owner, no CAP_FOWNER */
                fd = openat(dir_fd, name, flags);
        return fd;
}

static bool same_inode(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Another name for a file already copied: a hard link to the first copy,
 * whose parent is reached one component at a time without following
 * symlinks. */
static int link_again(Seeder *s, const Linked *first, int dir_fd, const char *name) {
        _cleanup_close_ int parent = -1;
        const char *p = first->rel, *slash;
        int at = s->target_fd;

        while ((slash = strchr(p, '/'))) {
                char component[NAME_MAX + 1];
                size_t n = (size_t) (slash - p);
                int fd;

                if (n > NAME_MAX)
                        return log_error_errno(ENAMETOOLONG, "skel: %s: path too long", first->rel);
                memcpy(component, p, n);
                component[n] = 0;
                fd = openat(at, component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "skel: %s: cannot reach %s to link to it: %m", s->rel,
                                               first->rel);
                closep(&parent);
                at = parent = fd;
                p = slash + 1;
        }
        if (linkat(at, p, dir_fd, name, 0) < 0) {
                if (errno == EEXIST)
                        return log_error_errno(errno, "skel: %s: already exists in the target, refusing to replace "
                                                      "it", s->rel);
                return log_error_errno(errno, "skel: %s: cannot link to %s: %m", s->rel, first->rel);
        }
        s->stats->hardlinks++;
        return 0;
}

static int remember_linked(Seeder *s, const struct stat *st) {
        Linked *l = calloc(1, sizeof *l);
        void *node;

        if (!l)
                return log_oom();
        *l = (Linked) { .dev = st->st_dev, .ino = st->st_ino, .rel = strdup(s->rel) };
        if (!l->rel || !(node = tsearch(l, &s->linked, linked_compare))) {
                linked_free(l);
                return log_oom();
        }
        if (*(Linked **) node != l) /* cannot happen: looked up before copying */
                linked_free(l);
        return 0;
}

/* Do st's permission bits give uid:gid need (r = 04, x = 01)? */
static bool mode_allows(const struct stat *st, uid_t uid, gid_t gid, mode_t need) {
        if (st->st_uid == uid)
                return ((st->st_mode >> 6) & need) == need;
        if (st->st_gid == gid)
                return ((st->st_mode >> 3) & need) == need;
        return (st->st_mode & need) == need;
}

/* Could the new user have read st herself (and, for a directory, listed it)? */
static bool user_could_read(const Seeder *s, const struct stat *st) {
        return mode_allows(st, s->opts->uid, s->opts->gid, S_ISDIR(st->st_mode) ? 05 : 04);
}

/* Entries a user record may not have copied; 1 if this one is skipped. */
static int skip_unreadable(Seeder *s, const Source *src, const struct stat *st) {
        if (!s->opts->for_user_record || user_could_read(s, st))
                return 0;
        log_warning("skel: %s/%s: not readable by uid %u, skipping it", src->path, s->rel, (unsigned) s->opts->uid);
        s->stats->skipped++;
        return 1;
}

static int seed_file(Seeder *s, const Source *src, const char *name, int dir_fd, const struct stat *lst) {
        _cleanup_close_ int sfd = -1;
        unsigned long long bytes = 0;
        bool reflinked = false;
        struct stat st;
        int r;

        /* O_NONBLOCK: a FIFO swapped in since the lstat must not block us. */
        sfd = open_source(src->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (sfd < 0)
                return log_error_errno(errno, "skel: %s/%s: cannot open: %m", src->path, s->rel);
        if (fstat(sfd, &st) < 0)
                return log_error_errno(errno, "skel: %s/%s: cannot stat: %m", src->path, s->rel);
        if (!S_ISREG(st.st_mode) || !same_inode(&st, lst))
                return log_error_errno(EBUSY, "skel: %s/%s: replaced while being copied", src->path, s->rel);
        if (skip_unreadable(s, src, &st))
                return 0;

        if (st.st_nlink > 1) {
                Linked key = { .dev = st.st_dev, .ino = st.st_ino };
                Linked **found = tfind(&key, &s->linked, linked_compare);
                if (found)
                        return link_again(s, *found, dir_fd, name);
        }

        r = -EXDEV;
        if (!s->no_tmpfile) {
                r = create_via_tmpfile(s, src, sfd, dir_fd, name, &st, &reflinked, &bytes);
                if (r == -EXDEV) {
                        log_debug("skel: %s: no linkable O_TMPFILE here, using hidden temporary names", s->rel);
                        s->no_tmpfile = true;
                }
        }
        if (r == -EXDEV)
                r = create_via_hidden_name(s, src, sfd, dir_fd, name, &st, &reflinked, &bytes);
        if (r < 0)
                return r;

        s->stats->files++;
        s->stats->reflinked += reflinked;
        s->stats->bytes += bytes;
        return st.st_nlink > 1 ? remember_linked(s, &st) : 0;
}

/* ---- symlinks ---------------------------------------------------------- */

/* Reads the link into s->link. */
static int read_link(Seeder *s, const Source *src, int dir_fd, const char *name) {
        ssize_t n = readlinkat(dir_fd, name, s->link, sizeof s->link);

        if (n < 0)
                return log_error_errno(errno, "skel: %s/%s: cannot read link: %m", src->path, s->rel);
        if ((size_t) n >= sizeof s->link)
                return log_error_errno(ENAMETOOLONG, "skel: %s/%s: link target too long", src->path, s->rel);
        s->link[n] = 0;
        return 0;
}

static bool is_mask(const Seeder *s, const char *target) {
        return s->masks && strcmp(target, "/dev/null") == 0;
}

int skel_link_into_source(const char *target, const char *origin, char **ret_rest) {
        _cleanup_free_ char *norm = NULL;
        const char *rest;

        *ret_rest = NULL;
        if (!origin || target[0] != '/')
                return 0;
        if (path_normalize(target, &norm) < 0)
                return -ENOMEM;
        rest = path_below(norm, origin);
        if (!rest)
                return 0;
        *ret_rest = strdup(rest);
        return *ret_rest ? 1 : -ENOMEM;
}

/* An absolute link to something inside the source points to the same place
 * below the home instead; *ret stays NULL for links kept as they are. */
static int rewrite_link(Seeder *s, const Source *src, char **ret) {
        _cleanup_free_ char *rest = NULL;
        int r;

        *ret = NULL;
        if (!s->home)
                return 0;
        r = skel_link_into_source(s->link, src->origin, &rest);
        if (r < 0)
                return log_oom();
        if (r == 0)
                return 0;
        if (asprintf(ret, "%s%s%s", s->home[0] ? s->home : "", rest[0] || !s->home[0] ? "/" : "", rest) < 0)
                return log_oom();
        if (strlen(*ret) >= PATH_MAX) {
                free(*ret);
                *ret = NULL;
                return log_error_errno(ENAMETOOLONG, "skel: %s: rewritten link target too long", s->rel);
        }
        return 0;
}

static int seed_symlink(Seeder *s, const Source *src, const char *name, int dir_fd, const struct stat *st) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        _cleanup_free_ char *rewritten = NULL;
        int r;

        r = read_link(s, src, src->fd, name);
        if (r < 0)
                return r;
        if (is_mask(s, s->link)) {
                log_debug("skel: %s: masked by %s", s->rel, src->path);
                return 0;
        }
        r = rewrite_link(s, src, &rewritten);
        if (r < 0)
                return r;

        r = label_prepare(s, S_IFLNK);
        if (r < 0)
                return r;
        r = symlinkat(rewritten ?: s->link, dir_fd, name);
        label_reset(s);
        if (r < 0) {
                if (errno == EEXIST)
                        return log_error_errno(errno, "skel: %s: already exists in the target, refusing to replace "
                                                      "it", s->rel);
                return log_error_errno(errno, "skel: %s: cannot create symlink: %m", s->rel);
        }
        if (fchownat(dir_fd, name, s->opts->uid, s->opts->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "skel: %s: cannot set owner: %m", s->rel);
        if (utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "skel: %s: cannot set times: %m", s->rel);
        s->stats->symlinks++;
        return 0;
}

/* ---- directories ------------------------------------------------------- */

typedef struct Names {
        char **v;
        size_t n;
} Names;

static void names_done(Names *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
}

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in a source directory, sorted (for a reproducible order of
 * work and of messages). */
static int read_names(Seeder *s, const Source *src, Names *ret) {
        _cleanup_(names_done) Names l = {};
        size_t allocated = 0;
        struct dirent *de;
        DIR *d;
        int fd = fcntl(src->fd, F_DUPFD_CLOEXEC, 3);

        if (fd < 0 || !(d = fdopendir(fd))) {
                int r = log_error_errno(errno, "skel: %s%s%s: cannot read directory: %m", src->path,
                                        s->rel_len ? "/" : "", s->rel);
                if (fd >= 0)
                        close(fd);
                return r;
        }
        rewinddir(d); /* the fd shares its offset with src->fd */
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (l.n == allocated) {
                        size_t a = allocated ? allocated * 2 : 16;
                        char **v = realloc(l.v, a * sizeof *v);
                        if (!v)
                                goto oom;
                        l.v = v;
                        allocated = a;
                }
                if (!(l.v[l.n] = strdup(de->d_name)))
                        goto oom;
                l.n++;
        }
        if (errno != 0) {
                int r = log_error_errno(errno, "skel: %s%s%s: cannot read directory: %m", src->path,
                                        s->rel_len ? "/" : "", s->rel);
                closedir(d);
                return r;
        }
        closedir(d);
        if (l.n > 1)
                qsort(l.v, l.n, sizeof *l.v, name_compare);
        *ret = l;
        l = (Names) {};
        return 0;
oom:
        closedir(d);
        return log_oom();
}

static int seed_dir(Seeder *s, const Source *srcs, size_t n, int dir_fd, unsigned depth);

static bool root_owned_safe(const struct stat *st) {
        if (st->st_uid != 0)
                return false;
        /* In a sticky directory no one else may rename or remove root's entries. */
        if ((st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX))
                return false;
        return !(st->st_mode & S_IWGRP) || st->st_gid == 0 || (st->st_mode & S_ISVTX);
}

/* Opens an absolute path whose every directory, from / down, is root's and
 * changeable by no one else: what a record's skeletonDirectory may name.
 * Symlinks are not followed. Returns the fd or -errno; *ret_untrusted says
 * a directory failed the rule. */
static int open_root_owned_dir(const char *path, uid_t uid, gid_t gid, bool *ret_untrusted) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int fd = -1;
        struct stat st;
        char *save = NULL;

        *ret_untrusted = false;
        if (!copy)
                return -ENOMEM;
        if (path[0] != '/')
                return -EINVAL;
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (char *c = strtok_r(copy, "/", &save);; c = strtok_r(NULL, "/", &save)) {
                if (fstat(fd, &st) < 0)
                        return -errno;
                /* ...and one she could have reached herself: searched every
                 * directory down to it, and listed it (no /root). */
                if (!root_owned_safe(&st) || !mode_allows(&st, uid, gid, c ? 01 : 05)) {
                        *ret_untrusted = true;
                        return -EPERM;
                }
                if (!c)
                        break;
                int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                close(fd);
                fd = next;
        }
        int r = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return r < 0 ? -errno : r;
}

static int open_source_dir(Seeder *s, const Source *src, const char *name, const struct stat *lst, int *ret) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        fd = open_source(src->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "skel: %s/%s: cannot open directory: %m", src->path, s->rel);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "skel: %s/%s: cannot stat: %m", src->path, s->rel);
        if (!same_inode(&st, lst))
                return log_error_errno(EBUSY, "skel: %s/%s: replaced while being copied", src->path, s->rel);
        if (skip_unreadable(s, src, &st)) {
                *ret = -1;
                return 0;
        }
        if (st.st_dev == s->target_dev && st.st_ino == s->target_ino) {
                /* The target lies inside the source: do not copy the copy. */
                log_warning("skel: %s/%s: is the target directory itself, skipping it", src->path, s->rel);
                *ret = -1;
                return 0;
        }
        *ret = TAKE_FD(fd);
        return 0;
}

/* srcs[0] holds the directory's winning entry; the others are later
 * sources, whose directories of the same name merge into it. */
static int seed_subdir(Seeder *s, const Source *srcs, size_t n, const char *name, int dir_fd,
                       const struct stat *st, unsigned depth) {
        _cleanup_(sources_done) Sources sub = {};
        _cleanup_close_ int dfd = -1;
        bool existed = false;
        int fd, r;

        if (depth >= MAX_DEPTH)
                return log_error_errno(ELOOP, "skel: %s: directories nested deeper than %u levels, refusing",
                                       s->rel, MAX_DEPTH);

        r = open_source_dir(s, &srcs[0], name, st, &fd);
        if (r < 0 || fd < 0)
                return r;
        sub.v[sub.n++] = (Source) { .fd = fd, .path = srcs[0].path, .origin = srcs[0].origin };
        for (size_t i = 1; i < n; i++) {
                struct stat other;

                if (fstatat(srcs[i].fd, name, &other, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return log_error_errno(errno, "skel: %s/%s: cannot stat: %m", srcs[i].path, s->rel);
                }
                if (S_ISLNK(other.st_mode) && s->masks) {
                        r = read_link(s, &srcs[i], srcs[i].fd, name);
                        if (r < 0)
                                return r;
                        if (is_mask(s, s->link))
                                break; /* masks this path in the sources after it */
                }
                if (!S_ISDIR(other.st_mode))
                        continue; /* the earlier directory wins */
                r = open_source_dir(s, &srcs[i], name, &other, &fd);
                if (r < 0)
                        return r;
                if (fd >= 0)
                        sub.v[sub.n++] = (Source) { .fd = fd, .path = srcs[i].path, .origin = srcs[i].origin };
        }

        r = label_prepare(s, S_IFDIR);
        if (r < 0)
                return r;
        /* 0700 until filled: the final mode may not let us in. */
        r = mkdirat(dir_fd, name, 0700);
        label_reset(s);
        if (r < 0) {
                if (errno != EEXIST)
                        return log_error_errno(errno, "skel: %s: cannot create directory: %m", s->rel);
                existed = true;
        }
        dfd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                if (existed && (errno == ELOOP || errno == ENOTDIR))
                        return log_error_errno(errno, "skel: %s: exists in the target and is not a directory, "
                                                      "refusing to write through it", s->rel);
                return log_error_errno(errno, "skel: %s: cannot open directory: %m", s->rel);
        }
        if (fchown(dfd, s->opts->uid, s->opts->gid) < 0)
                return log_error_errno(errno, "skel: %s: cannot set owner: %m", s->rel);
        if (!existed)
                s->stats->dirs++;

        r = seed_dir(s, sub.v, sub.n, dfd, depth + 1);
        if (r < 0)
                return r;
        /* After the contents: creating them changed the times, and a default
         * ACL set earlier would have been inherited by them. */
        return set_attributes(s, &sub.v[0], sub.v[0].fd, dfd, st);
}

static int seed_entry(Seeder *s, const Source *srcs, size_t n, const char *name, int dir_fd, unsigned depth) {
        struct stat st;

        if (fstatat(srcs[0].fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT) {
                        log_debug("skel: %s/%s: removed while copying, skipping", srcs[0].path, s->rel);
                        return 0;
                }
                return log_error_errno(errno, "skel: %s/%s: cannot stat: %m", srcs[0].path, s->rel);
        }
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                return seed_file(s, &srcs[0], name, dir_fd, &st);
        case S_IFLNK:
                return seed_symlink(s, &srcs[0], name, dir_fd, &st);
        case S_IFDIR:
                return seed_subdir(s, srcs, n, name, dir_fd, &st, depth);
        default:
                log_warning("skel: %s/%s: skipping %s", srcs[0].path, s->rel,
                            S_ISFIFO(st.st_mode)   ? "a FIFO"
                            : S_ISSOCK(st.st_mode) ? "a socket"
                            : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device node"
                                                                          : "an entry of unknown type");
                s->stats->skipped++;
                return 0;
        }
}

/* Copies the directory that srcs[0..n) hold (earlier wins) into dir_fd. */
static int seed_dir(Seeder *s, const Source *srcs, size_t n, int dir_fd, unsigned depth) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_(names_done) Names names = {};
                int r = read_names(s, &srcs[i], &names);
                if (r < 0)
                        return r;

                for (size_t k = 0; k < names.n; k++) {
                        const char *name = names.v[k];
                        bool shadowed = false;
                        size_t saved;

                        /* Whatever an earlier source has at this name (even a
                         * mask, even another type) was dealt with there. */
                        for (size_t j = 0; j < i && !shadowed; j++) {
                                struct stat st;
                                if (fstatat(srcs[j].fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                                        shadowed = true;
                                else if (errno != ENOENT)
                                        return log_error_errno(errno, "skel: %s%s%s/%s: cannot stat: %m",
                                                               srcs[j].path, s->rel_len ? "/" : "", s->rel, name);
                        }
                        if (shadowed)
                                continue;

                        r = rel_push(s, name, &saved);
                        if (r < 0)
                                return r;
                        r = seed_entry(s, &srcs[i], n - i, name, dir_fd, depth);
                        rel_pop(s, saved);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- entry point --------------------------------------------------------- */

int skel_seed(int target_fd, const SkelOptions *opts, SkelStats *ret_stats) {
        _cleanup_(seeder_done) Seeder s = {};
        _cleanup_(sources_done) Sources srcs = {};
        _cleanup_free_ char *home = NULL, *explicit_origin = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        SkelStats dummy;
        struct stat st;
        int r;

        if (!opts || target_fd < 0)
                return -EINVAL;
        s.opts = opts;
        s.stats = ret_stats ?: &dummy;
        *s.stats = (SkelStats) {};
        s.target_fd = target_fd;

        if (fstat(target_fd, &st) < 0)
                return log_error_errno(errno, "skel: cannot stat the target directory: %m");
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "skel: the target is not a directory");
        s.target_dev = st.st_dev;
        s.target_ino = st.st_ino;

        if (opts->home_path) {
                if (opts->home_path[0] != '/')
                        return log_error_errno(EINVAL, "skel: home path %s is not absolute", opts->home_path);
                r = path_normalize(opts->home_path, &home);
                if (r < 0)
                        return log_oom();
                if (strcmp(home, "/") == 0)
                        home[0] = 0; /* joined with "/rest" below */
                s.home = home;
        }

        if (opts->skel_dir) {
                bool untrusted = false;
                int fd;
                if (opts->for_user_record)
                        fd = open_root_owned_dir(opts->skel_dir, opts->uid, opts->gid, &untrusted);
                else if ((fd = open(opts->skel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        fd = -errno;
                if (untrusted)
                        return log_error_errno(EPERM, "skel: skeleton directory %s: it, or a directory above it, "
                                               "is not root's, is writable by others, or is closed to uid %u",
                                               opts->skel_dir, (unsigned) opts->uid);
                if (fd < 0)
                        return log_error_errno(-fd, "skel: cannot open skeleton directory %s: %m", opts->skel_dir);
                if (opts->skel_dir[0] == '/' && path_normalize(opts->skel_dir, &explicit_origin) < 0) {
                        close(fd);
                        return log_oom();
                }
                srcs.v[srcs.n++] = (Source) { .fd = fd, .path = opts->skel_dir, .origin = explicit_origin };
        } else {
                r = open_default_sources(opts->root, &srcs, &paths);
                if (r < 0)
                        return r;
                s.masks = true;
        }

#if HAVE_SELINUX
        if (s.home && skel_labels_by_path()) {
                s.label = sym_selabel_open(SELABEL_CTX_FILE, NULL, 0);
                if (!s.label)
                        return log_error_errno(errno, "skel: cannot open the SELinux file labeling database: %m");
        }
#endif

        return seed_dir(&s, srcs.v, srcs.n, target_fd, 0);
}
