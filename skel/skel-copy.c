/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copying skeleton trees into new homes; see skel.h for what is kept.
 *
 * Safety: every entry is created relative to an fd of its (new) parent
 * directory, parents are opened with O_NOFOLLOW|O_DIRECTORY, nothing that
 * exists in the target is ever replaced, and regular files appear under
 * their name only once complete (O_TMPFILE + linkat, or a hidden name +
 * rename). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
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
#include "skel.h"

#define MAX_DEPTH 128
#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VALUE_MAX_BYTES 65536

static const char *const default_sources[] = {
        "/etc/skel",
        "/usr/etc/skel",
        "/usr/share/factory/etc/skel",
};

typedef struct Inode {
        dev_t dev;
        ino_t ino;
        char *relpath; /* where the first link was copied to */
} Inode;

typedef struct Copy {
        const SkelOptions *opts;
        SkelStats *stats;
        int target_root_fd;
        const char *source;      /* the source as the target system sees it (without root) */
        char **masked;           /* relative paths masked by /dev/null symlinks */
        size_t n_masked;
        Inode *inodes;           /* hard links seen, per source */
        size_t n_inodes;
#if HAVE_SELINUX
        struct selabel_handle *label;
#endif
} Copy;

static void copy_done(Copy *c) {
        for (size_t i = 0; i < c->n_masked; i++)
                free(c->masked[i]);
        free(c->masked);
        for (size_t i = 0; i < c->n_inodes; i++)
                free(c->inodes[i].relpath);
        free(c->inodes);
#if HAVE_SELINUX
        if (c->label)
                selabel_close(c->label);
#endif
}

static bool is_masked(Copy *c, const char *rel) {
        for (size_t i = 0; i < c->n_masked; i++)
                if (strcmp(c->masked[i], rel) == 0)
                        return true;
        return false;
}

static int strv_push(char ***l, size_t *n, const char *s) {
        char **nl = realloc(*l, (*n + 1) * sizeof **l);
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[*n] = strdup(s);
        if (!nl[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

/* SELinux: label what we create as the policy says for its final path. */
static void label_prepare(Copy *c, const char *rel, mode_t mode) {
#if HAVE_SELINUX
        if (!c->label || !c->opts->home_path)
                return;
        _cleanup_free_ char *path = NULL;
        char *con = NULL;
        if (asprintf(&path, "%s%s%s", c->opts->home_path, rel[0] ? "/" : "", rel) < 0)
                return;
        if (selabel_lookup(c->label, &con, path, mode) == 0) {
                (void) setfscreatecon(con);
                freecon(con);
        }
#else
        (void) c;
        (void) rel;
        (void) mode;
#endif
}

static void label_reset(Copy *c) {
#if HAVE_SELINUX
        if (c->label)
                (void) setfscreatecon(NULL);
#else
        (void) c;
#endif
}

/* Which extended attributes travel: user data, security labels (but not
 * file capabilities: a home is no place for privileged programs, and not
 * SELinux labels when the policy assigns them), and POSIX ACLs. */
static bool xattr_wanted(Copy *c, const char *name) {
        if (strncmp(name, "user.", 5) == 0)
                return true;
        if (strcmp(name, "system.posix_acl_access") == 0 || strcmp(name, "system.posix_acl_default") == 0)
                return true;
        if (strncmp(name, "security.", 9) == 0) {
                if (strcmp(name, "security.capability") == 0)
                        return false;
#if HAVE_SELINUX
                if (c->label && strcmp(name, "security.selinux") == 0)
                        return false;
#endif
                return true;
        }
        return false;
}

/* Copies xattrs from src_fd to dst_fd. A target that does not support a
 * namespace (ENOTSUP) is not an error: "where the target allows". */
static int copy_xattrs(Copy *c, int src_fd, int dst_fd, const char *rel) {
        _cleanup_free_ char *names = NULL, *value = NULL;
        ssize_t n;

        n = flistxattr(src_fd, NULL, 0);
        if (n <= 0)
                return 0; /* none, or the source cannot have any */
        if (n > XATTR_LIST_MAX_BYTES)
                return log_error_errno(E2BIG, "skel: %s: too many extended attributes", rel);
        names = malloc((size_t) n);
        value = malloc(XATTR_VALUE_MAX_BYTES);
        if (!names || !value)
                return -ENOMEM;
        n = flistxattr(src_fd, names, (size_t) n);
        if (n < 0)
                return log_error_errno(errno, "skel: %s: cannot list extended attributes: %m", rel);
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                if (!xattr_wanted(c, p))
                        continue;
                ssize_t k = fgetxattr(src_fd, p, value, XATTR_VALUE_MAX_BYTES);
                if (k < 0) {
                        if (errno == ENODATA)
                                continue;
                        return log_error_errno(errno, "skel: %s: cannot read attribute %s: %m", rel, p);
                }
                if (fsetxattr(dst_fd, p, value, (size_t) k, 0) < 0) {
                        if (errno == ENOTSUP || errno == EOPNOTSUPP)
                                continue;
                        return log_error_errno(errno, "skel: %s: cannot set attribute %s: %m", rel, p);
                }
        }
        return 0;
}

/* Owner first: chown clears set-ID bits, so the mode goes on after it. */
static int set_meta(Copy *c, int src_fd, int dst_fd, const struct stat *st, const char *rel) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        int r;

        if (fchown(dst_fd, c->opts->uid, c->opts->gid) < 0)
                return log_error_errno(errno, "skel: %s: cannot set owner: %m", rel);
        if (fchmod(dst_fd, st->st_mode & 07777) < 0)
                return log_error_errno(errno, "skel: %s: cannot set mode: %m", rel);
        r = copy_xattrs(c, src_fd, dst_fd, rel);
        if (r < 0)
                return r;
        if (futimens(dst_fd, ts) < 0)
                return log_error_errno(errno, "skel: %s: cannot set times: %m", rel);
        return 0;
}

static int copy_data(Copy *c, int src, int dst, const struct stat *st, const char *rel) {
        /* A reflink shares the extents: nearly free, and no extra space. */
        if (ioctl(dst, FICLONE, src) == 0) {
                c->stats->reflinked++;
                c->stats->bytes += (unsigned long long) st->st_size;
                return 0;
        }
        for (;;) {
                ssize_t k = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
                                break; /* fall back to read/write from where we are */
                        return log_error_errno(errno, "skel: %s: cannot copy: %m", rel);
                }
                if (k == 0)
                        return 0;
                c->stats->bytes += (unsigned long long) k;
        }
        char buf[65536];
        for (;;) {
                ssize_t k = read(src, buf, sizeof buf);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "skel: %s: cannot read: %m", rel);
                }
                if (k == 0)
                        return 0;
                for (ssize_t done = 0; done < k;) {
                        ssize_t w = write(dst, buf + done, (size_t) (k - done));
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return log_error_errno(errno, "skel: %s: cannot write: %m", rel);
                        }
                        done += w;
                }
                c->stats->bytes += (unsigned long long) k;
        }
}

static int copy_file(Copy *c, int src_dir, int dst_dir, const char *name, const struct stat *st, const char *rel) {
        _cleanup_close_ int src = -1, dst = -1;
        char tmp[32] = "";
        int r;

        src = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (src < 0)
                return log_error_errno(errno, "skel: %s: cannot open: %m", rel);

        label_prepare(c, rel, st->st_mode);
        dst = openat(dst_dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (dst < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                /* No O_TMPFILE here: a hidden name, renamed when complete. */
                for (int i = 0; i < 100 && dst < 0; i++) {
                        snprintf(tmp, sizeof tmp, ".#hearth-skel.%d.%d", (int) getpid(), i);
                        dst = openat(dst_dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                        if (dst < 0 && errno != EEXIST)
                                break;
                }
        }
        label_reset(c);
        if (dst < 0)
                return log_error_errno(errno, "skel: %s: cannot create: %m", rel);

        r = copy_data(c, src, dst, st, rel);
        if (r >= 0)
                r = set_meta(c, src, dst, st, rel);
        if (r < 0)
                goto fail;
        if (tmp[0]) {
                if (renameat2(dst_dir, tmp, dst_dir, name, RENAME_NOREPLACE) < 0) {
                        r = log_error_errno(errno, "skel: %s: cannot create: %m", rel);
                        goto fail;
                }
        } else {
                char proc[64];
                snprintf(proc, sizeof proc, "/proc/self/fd/%d", dst);
                if (linkat(AT_FDCWD, proc, dst_dir, name, AT_SYMLINK_FOLLOW) < 0)
                        return log_error_errno(errno, "skel: %s: cannot create: %m", rel);
        }
        c->stats->files++;
        return 0;

fail:
        if (tmp[0])
                (void) unlinkat(dst_dir, tmp, 0);
        return r;
}

static int copy_symlink(Copy *c, int src_dir, int dst_dir, const char *name, const struct stat *st, const char *rel) {
        char target[PATH_MAX];
        _cleanup_free_ char *rewritten = NULL;
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        ssize_t n;

        n = readlinkat(src_dir, name, target, sizeof target - 1);
        if (n < 0)
                return log_error_errno(errno, "skel: %s: cannot read link: %m", rel);
        target[n] = 0;

        /* An absolute link into the skel tree points into the home instead. */
        size_t sl = strlen(c->source);
        if (c->opts->home_path && target[0] == '/' && strncmp(target, c->source, sl) == 0 &&
            (target[sl] == '/' || target[sl] == 0)) {
                if (asprintf(&rewritten, "%s%s", c->opts->home_path, target + sl) < 0)
                        return -ENOMEM;
        }
        label_prepare(c, rel, S_IFLNK);
        int r = symlinkat(rewritten ?: target, dst_dir, name);
        label_reset(c);
        if (r < 0)
                return log_error_errno(errno, "skel: %s: cannot create link: %m", rel);
        if (fchownat(dst_dir, name, c->opts->uid, c->opts->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            utimensat(dst_dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "skel: %s: cannot set owner or times: %m", rel);
        c->stats->symlinks++;
        return 0;
}

static int copy_dir(Copy *c, int src_fd, int dst_fd, const char *rel, unsigned depth);

static int copy_entry(Copy *c, int src_dir, int dst_dir, const char *name, const char *parent_rel, unsigned depth) {
        _cleanup_free_ char *rel = NULL;
        struct stat st, existing;
        int r;

        if (asprintf(&rel, "%s%s%s", parent_rel, parent_rel[0] ? "/" : "", name) < 0)
                return -ENOMEM;
        if (is_masked(c, rel))
                return 0;
        if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "skel: %s: %m", rel);

        if (S_ISLNK(st.st_mode)) {
                char target[16];
                ssize_t n = readlinkat(src_dir, name, target, sizeof target - 1);
                if (n == 9 && memcmp(target, "/dev/null", 9) == 0) {
                        /* /etc overriding /usr: this path is masked. */
                        return strv_push(&c->masked, &c->n_masked, rel) < 0 ? -ENOMEM : 0;
                }
        }

        /* Earlier sources win; directories merge. */
        if (fstatat(dst_dir, name, &existing, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISDIR(st.st_mode) && S_ISDIR(existing.st_mode)) {
                        _cleanup_close_ int s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (s < 0 || d < 0)
                                return log_error_errno(errno, "skel: %s: cannot open directory: %m", rel);
                        return copy_dir(c, s, d, rel, depth + 1);
                }
                return 0;
        } else if (errno != ENOENT)
                return log_error_errno(errno, "skel: %s: %m", rel);

        if (S_ISREG(st.st_mode)) {
                if (st.st_nlink > 1) {
                        for (size_t i = 0; i < c->n_inodes; i++)
                                if (c->inodes[i].dev == st.st_dev && c->inodes[i].ino == st.st_ino) {
                                        if (linkat(c->target_root_fd, c->inodes[i].relpath, dst_dir, name, 0) < 0)
                                                return log_error_errno(errno, "skel: %s: cannot link: %m", rel);
                                        c->stats->hardlinks++;
                                        return 0;
                                }
                }
                r = copy_file(c, src_dir, dst_dir, name, &st, rel);
                if (r >= 0 && st.st_nlink > 1) {
                        Inode *n = realloc(c->inodes, (c->n_inodes + 1) * sizeof *n);
                        if (!n)
                                return -ENOMEM;
                        c->inodes = n;
                        n[c->n_inodes] = (Inode) { .dev = st.st_dev, .ino = st.st_ino, .relpath = strdup(rel) };
                        if (!n[c->n_inodes].relpath)
                                return -ENOMEM;
                        c->n_inodes++;
                }
                return r;
        }
        if (S_ISLNK(st.st_mode))
                return copy_symlink(c, src_dir, dst_dir, name, &st, rel);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int s = -1, d = -1;
                s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0)
                        return log_error_errno(errno, "skel: %s: cannot open directory: %m", rel);
                label_prepare(c, rel, S_IFDIR);
                r = mkdirat(dst_dir, name, 0700);
                label_reset(c);
                if (r < 0)
                        return log_error_errno(errno, "skel: %s: cannot create directory: %m", rel);
                d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        return log_error_errno(errno, "skel: %s: cannot open new directory: %m", rel);
                c->stats->dirs++;
                r = copy_dir(c, s, d, rel, depth + 1);
                if (r < 0)
                        return r;
                /* Times last: filling the directory changed them. */
                return set_meta(c, s, d, &st, rel);
        }
        log_warning("skel: %s: skipping %s", rel,
                    S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device node");
        c->stats->skipped++;
        return 0;
}

static int copy_dir(Copy *c, int src_fd, int dst_fd, const char *rel, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int r = 0, fd;

        if (depth > MAX_DEPTH)
                return log_error_errno(ELOOP, "skel: %s: nested deeper than %d levels", rel, MAX_DEPTH);
        fd = dup(src_fd);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return negative_errno();
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = copy_entry(c, src_fd, dst_fd, de->d_name, rel, depth);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int skel_default_sources(const char *root, char ***ret) {
        _cleanup_strv_free_ char **l = calloc(ELEMENTSOF(default_sources) + 1, sizeof *l);
        size_t n = 0;

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(default_sources); i++) {
                char *p;
                struct stat st;
                if (asprintf(&p, "%s%s", root && strcmp(root, "/") != 0 ? root : "", default_sources[i]) < 0)
                        return -ENOMEM;
                if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        free(p);
                        continue;
                }
                l[n++] = p;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int skel_seed(int target_fd, const SkelOptions *opts, SkelStats *ret_stats) {
        _cleanup_strv_free_ char **sources = NULL;
        SkelStats stats = {};
        Copy c = { .opts = opts, .stats = &stats, .target_root_fd = target_fd };
        const char *root = opts->root && strcmp(opts->root, "/") != 0 ? opts->root : "";
        int r = 0;

        if (opts->skel_dir) {
                sources = calloc(2, sizeof *sources);
                if (!sources || !(sources[0] = strdup(opts->skel_dir)))
                        return -ENOMEM;
        } else if ((r = skel_default_sources(opts->root, &sources)) < 0)
                return r;

#if HAVE_SELINUX
        if (is_selinux_enabled() > 0)
                c.label = selabel_open(SELABEL_CTX_FILE, NULL, 0);
#endif
        for (char **s = sources; *s; s++) {
                _cleanup_close_ int fd = open(*s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT && !opts->skel_dir)
                                continue;
                        r = log_error_errno(errno, "skel: cannot open %s: %m", *s);
                        break;
                }
                /* Links are rewritten relative to where the source lives on the
                 * target system, which --root does not change. */
                c.source = opts->skel_dir ? *s : *s + strlen(root);
                /* Hard links only within one source. */
                for (size_t i = 0; i < c.n_inodes; i++)
                        free(c.inodes[i].relpath);
                c.n_inodes = 0;
                r = copy_dir(&c, fd, target_fd, "", 0);
                if (r < 0)
                        break;
        }
        copy_done(&c);
        if (ret_stats)
                *ret_stats = stats;
        return r;
}
