/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The skel template; see skel-template.h for the layout, the change
 * detection and the locking. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <openssl/evp.h>

#include "config.h"
#include "failpoint.h"
#include "home-layout.h"
#include "log.h"
#include "macro.h"
#include "rm-rf.h"
#include "skel-template.h"
#include "user-record.h"

/* As skel_seed(): deeper trees are refused there, and here. */
#define SCAN_DEPTH_MAX 256
/* Builds thrown away because the skel changed meanwhile, before copying. */
#define BUILD_ATTEMPTS 3
/* How long to wait for the clock to pass a change just made. */
#define RECENT_WAIT_MSEC 200
#define LOCK_POLL_MSEC 20
#define BTRFS_FIRST_INODE 256

/* ---- the digest ------------------------------------------------------------ */

static int feed(SkelDigest *d, const void *p, size_t n) {
        return EVP_DigestUpdate(d->ctx, p, n) == 1 ? 0 : -ENOMEM;
}

/* Fixed width, little-endian: the same bytes on every machine. */
static int feed_u64(SkelDigest *d, uint64_t v) {
        uint8_t b[8];
        for (size_t i = 0; i < sizeof b; i++)
                b[i] = (uint8_t) (v >> (8 * i));
        return feed(d, b, sizeof b);
}

/* Length first, so that no two sequences of strings feed the same bytes;
 * NULL differs from "". */
static int feed_str(SkelDigest *d, const char *s) {
        if (!s)
                return feed_u64(d, UINT64_MAX);
        size_t n = strlen(s);
        int r = feed_u64(d, n);
        return r < 0 ? r : feed(d, s, n);
}

static int feed_time(SkelDigest *d, const struct timespec *t) {
        int r = feed_u64(d, (uint64_t) t->tv_sec);
        return r < 0 ? r : feed_u64(d, (uint64_t) t->tv_nsec);
}

void skel_digest_done(SkelDigest *d) {
        EVP_MD_CTX_free(d->ctx);
        d->ctx = NULL;
}

int skel_digest_begin(SkelDigest *d, const char *const *paths, const char *const *origins, size_t n) {
        int r;

        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
                skel_digest_done(d);
                return -ENOMEM;
        }
        r = feed_str(d, "hearth-skel-template");
        if (r >= 0)
                r = feed_u64(d, SKEL_TEMPLATE_FORMAT);
        if (r >= 0)
                r = feed_str(d, HEARTH_VERSION);
        if (r >= 0)
                r = feed_u64(d, n);
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = feed_str(d, paths[i]);
                if (r >= 0)
                        r = feed_str(d, origins[i]);
        }
        if (r < 0)
                skel_digest_done(d);
        return r;
}

int skel_digest_add(SkelDigest *d, const SkelEntry *e) {
        const struct stat *st = e->st;
        int r;

        r = feed_u64(d, e->layer);
        if (r >= 0)
                r = feed_str(d, e->path);
        if (r >= 0)
                r = feed_u64(d, st->st_mode);
        if (r >= 0)
                r = feed_u64(d, st->st_uid);
        if (r >= 0)
                r = feed_u64(d, st->st_gid);
        if (r >= 0)
                r = feed_u64(d, (uint64_t) st->st_size);
        if (r >= 0)
                r = feed_time(d, &st->st_mtim);
        if (r >= 0)
                r = feed_time(d, &st->st_ctim);
        if (r >= 0)
                r = feed_u64(d, st->st_ino);
        if (r >= 0)
                r = feed_u64(d, st->st_dev);
        if (r >= 0)
                r = feed_u64(d, st->st_nlink);
        if (r >= 0)
                r = feed_str(d, S_ISLNK(st->st_mode) ? e->link : NULL);
        return r;
}

int skel_digest_end(SkelDigest *d, char ret[SKEL_DIGEST_HEX + 1]) {
        static const char hex[] = "0123456789abcdef";
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        int ok = EVP_DigestFinal_ex(d->ctx, md, &n) == 1 && n == SKEL_DIGEST_SIZE;

        skel_digest_done(d);
        if (!ok)
                return -EIO;
        for (unsigned i = 0; i < n; i++) {
                ret[2 * i] = hex[md[i] >> 4];
                ret[2 * i + 1] = hex[md[i] & 15];
        }
        ret[2 * n] = 0;
        return 0;
}

/* An ID for which whether she may read an entry depends on who she is
 * (skel.h, for_user_record): a home's UID, or nobody, the template's. */
static bool id_per_user(uint32_t id) {
        return (id >= HOME_UID_MIN && id <= HOME_UID_MAX) || id == UID_NOBODY;
}

static int timespec_compare(const struct timespec *a, const struct timespec *b) {
        if (a->tv_sec != b->tv_sec)
                return a->tv_sec < b->tv_sec ? -1 : 1;
        if (a->tv_nsec != b->tv_nsec)
                return a->tv_nsec < b->tv_nsec ? -1 : 1;
        return 0;
}

unsigned skel_entry_check(const SkelEntry *e, const struct timespec *since) {
        const struct stat *st = e->st;
        unsigned f = 0;

        if (since && timespec_compare(&st->st_ctim, since) >= 0)
                f |= SKEL_ENTRY_RECENT;
        if (!e->path[0])
                return f;
        /* What skel_seed() checks and how: files and directories, by the
         * owner's bits for their owner, the group's for their group, the
         * others' for everyone else. */
        if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
                if (id_per_user(st->st_uid) || id_per_user(st->st_gid))
                        f |= SKEL_ENTRY_PER_USER;
                mode_t need = S_ISDIR(st->st_mode) ? 05 : 04;
                if ((st->st_mode & need) != need)
                        f |= SKEL_ENTRY_UNREADABLE;
        }
        if (S_ISLNK(st->st_mode) && e->link) {
                _cleanup_free_ char *rest = NULL;
                /* Out of memory: taken as rewritten, which only costs the template. */
                if (skel_link_into_source(e->link, e->origin, &rest) != 0)
                        f |= SKEL_ENTRY_PER_USER;
        }
        return f;
}

/* ---- the scan ---------------------------------------------------------------- */

typedef struct Scanner {
        SkelDigest digest;
        const struct timespec *since;
        SkelScan *out;
        unsigned layer;
        const char *origin;
        const char *top; /* the source's path, for messages */
        char rel[PATH_MAX];
        size_t rel_len;
        char link[PATH_MAX];
} Scanner;

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void names_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The names in the directory fd, sorted: the digest must not depend on
 * the order the file system lists them in. */
static int read_names(int fd, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0, allocated = 0;
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct dirent *de;

        if (!d) {
                int r = negative_errno();
                if (dfd >= 0)
                        close(dfd);
                return r;
        }
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 32;
                        char **p = realloc(v, a * sizeof *p);
                        if (!p)
                                goto oom;
                        v = p;
                        allocated = a;
                }
                if (!(v[n] = strdup(de->d_name)))
                        goto oom;
                n++;
        }
        if (errno != 0) {
                int r = negative_errno();
                closedir(d);
                names_free(v, n);
                return r;
        }
        closedir(d);
        if (n > 1)
                qsort(v, n, sizeof *v, name_compare);
        *ret = v;
        *ret_n = n;
        return 0;
oom:
        closedir(d);
        names_free(v, n);
        return -ENOMEM;
}

static int scan_add(Scanner *s, const struct stat *st) {
        SkelEntry e = {
                .layer = s->layer,
                .origin = s->origin,
                .path = s->rel,
                .st = st,
                .link = S_ISLNK(st->st_mode) ? s->link : NULL,
        };
        unsigned f = skel_entry_check(&e, s->since);

        if ((f & SKEL_ENTRY_PER_USER) && !s->out->per_user &&
            asprintf(&s->out->per_user, "%s/%s", s->top, s->rel) < 0) {
                s->out->per_user = NULL;
                return log_oom();
        }
        s->out->flags |= f;
        s->out->entries++;
        if (timespec_compare(&st->st_ctim, &s->out->newest) > 0)
                s->out->newest = st->st_ctim;
        return skel_digest_add(&s->digest, &e) < 0 ? log_oom() : 0;
}

static int scan_dir(Scanner *s, int fd, unsigned depth) {
        char **names = NULL;
        size_t n = 0;
        int r;

        if (depth >= SCAN_DEPTH_MAX)
                return log_error_errno(ELOOP, "skel: %s/%s: directories nested deeper than %u levels", s->top,
                                       s->rel, SCAN_DEPTH_MAX);
        r = read_names(fd, &names, &n);
        if (r < 0)
                return log_error_errno(r, "skel: %s%s%s: cannot read directory: %m", s->top, s->rel_len ? "/" : "",
                                       s->rel);
        for (size_t i = 0; i < n && r >= 0; i++) {
                size_t saved = s->rel_len, len = strlen(names[i]);
                struct stat st;

                if (saved + 1 + len >= sizeof s->rel) {
                        r = log_error_errno(ENAMETOOLONG, "skel: %s/%s/%s: path too long", s->top, s->rel, names[i]);
                        break;
                }
                if (saved)
                        s->rel[s->rel_len++] = '/';
                memcpy(s->rel + s->rel_len, names[i], len + 1);
                s->rel_len += len;

                if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        /* Gone since the listing: the scan after the build sees it too. */
                        if (errno != ENOENT)
                                r = log_error_errno(errno, "skel: %s/%s: cannot stat: %m", s->top, s->rel);
                } else {
                        s->link[0] = 0;
                        if (S_ISLNK(st.st_mode)) {
                                ssize_t k = readlinkat(fd, names[i], s->link, sizeof s->link - 1);
                                if (k < 0)
                                        r = log_error_errno(errno, "skel: %s/%s: cannot read link: %m", s->top, s->rel);
                                else
                                        s->link[k] = 0;
                        }
                        if (r >= 0)
                                r = scan_add(s, &st);
                        if (r >= 0 && S_ISDIR(st.st_mode)) {
                                _cleanup_close_ int sub = openat(fd, names[i],
                                                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                                struct stat again;
                                if (sub < 0 || fstat(sub, &again) < 0)
                                        r = errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                                                    ? 0 /* replaced: seen by the next scan */
                                                    : log_error_errno(errno, "skel: %s/%s: cannot open: %m", s->top,
                                                                      s->rel);
                                else if (again.st_ino == st.st_ino && again.st_dev == st.st_dev)
                                        r = scan_dir(s, sub, depth + 1);
                        }
                }
                s->rel_len = saved;
                s->rel[saved] = 0;
        }
        names_free(names, n);
        return r;
}

void skel_scan_done(SkelScan *s) {
        free(s->per_user);
        *s = (SkelScan) {};
}

int skel_scan(const char *root, const struct timespec *since, SkelScan *ret) {
        _cleanup_(skel_sources_done) SkelSources srcs = {};
        Scanner s = { .since = since, .out = ret };
        int r;

        *ret = (SkelScan) {};
        r = skel_sources_open(root, &srcs);
        if (r < 0)
                return r;
        r = skel_digest_begin(&s.digest, (const char *const *) srcs.path, srcs.origin, srcs.n);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < srcs.n && r >= 0; i++) {
                struct stat st;

                s.layer = (unsigned) i;
                s.origin = srcs.origin[i];
                s.top = srcs.path[i];
                s.rel[0] = 0;
                s.rel_len = 0;
                /* Its inode and device: a source moved or swapped for another. */
                if (fstat(srcs.fd[i], &st) < 0)
                        r = log_error_errno(errno, "skel: %s: cannot stat: %m", srcs.path[i]);
                if (r >= 0)
                        r = scan_add(&s, &st);
                if (r >= 0)
                        r = scan_dir(&s, srcs.fd[i], 0);
        }
        if (r >= 0 && skel_digest_end(&s.digest, ret->digest) < 0)
                r = log_error_errno(EIO, "skel: cannot compute the digest of the skel");
        skel_digest_done(&s.digest);
        if (r < 0)
                skel_scan_done(ret);
        return r;
}

/* ---- removing --------------------------------------------------------------- */

static bool is_subvolume(int fd, const struct stat *st) {
        struct statfs sfs;
        return st->st_ino == BTRFS_FIRST_INODE && fstatfs(fd, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC;
}

/* rm_rf_at's hook: a subvolume goes as one (nothing the seeding makes
 * holds another). */
static int remove_subvolume(int dir_fd, const char *name, int fd, const struct stat *st) {
        if (!is_subvolume(fd, st))
                return 0;
        enum btrfs_util_error e = btrfs_util_delete_subvolume_fd(dir_fd, name, 0);
        if (e != BTRFS_UTIL_OK)
                return errno ? -errno : -EIO;
        return 1;
}

int skel_template_remove(int dir_fd, const char *name) {
        return rm_rf_at(dir_fd, name, remove_subvolume);
}

/* ---- the template's directory and its lock ------------------------------------- */

static struct timespec now_coarse(void) {
        struct timespec ts = {};
        /* The clock the kernel stamps ctimes with. */
        (void) clock_gettime(CLOCK_REALTIME_COARSE, &ts);
        return ts;
}

static void sleep_msec(unsigned msec) {
        struct timespec ts = { .tv_sec = msec / 1000, .tv_nsec = (long) (msec % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* flock() op on fd, waiting at most SKEL_TEMPLATE_LOCK_WAIT_SEC: a builder
 * that hangs must not hang every create with it. */
static int lock_wait(int fd, int op) {
        for (unsigned waited = 0;; waited += LOCK_POLL_MSEC) {
                if (flock(fd, op | LOCK_NB) == 0)
                        return 0;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return negative_errno();
                if (waited >= SKEL_TEMPLATE_LOCK_WAIT_SEC * 1000u)
                        return -ETIMEDOUT;
                sleep_msec(LOCK_POLL_MSEC);
        }
}

static int btrfs_fsid(int fd, uint8_t ret[BTRFS_FSID_SIZE]) {
        struct btrfs_ioctl_fs_info_args args = {};
        if (ioctl(fd, BTRFS_IOC_FS_INFO, &args) < 0)
                return negative_errno();
        memcpy(ret, args.fsid, BTRFS_FSID_SIZE);
        return 0;
}

/* Whether a and b are on the same Btrfs file system (snapshots cannot
 * cross): 1, 0, or -EOPNOTSUPP if either is not Btrfs. */
static int same_btrfs(int a, int b) {
        uint8_t x[BTRFS_FSID_SIZE], y[BTRFS_FSID_SIZE];
        struct statfs sa, sb;

        if (fstatfs(a, &sa) < 0 || fstatfs(b, &sb) < 0)
                return negative_errno();
        if (sa.f_type != BTRFS_SUPER_MAGIC || sb.f_type != BTRFS_SUPER_MAGIC)
                return -EOPNOTSUPP;
        if (btrfs_fsid(a, x) < 0 || btrfs_fsid(b, y) < 0)
                return -EOPNOTSUPP;
        return memcmp(x, y, sizeof x) == 0;
}

/* The template's directory, made if missing: root's, 0700, never a
 * symlink; the fd for flock(). */
static int open_dir(int home_root_fd, const char *home_root, int *ret) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (mkdirat(home_root_fd, SKEL_TEMPLATE_DIR, 0700) < 0 && errno != EEXIST)
                return log_warning_errno(errno, "skel template: cannot create %s/" SKEL_TEMPLATE_DIR ": %m",
                                         home_root);
        fd = openat(home_root_fd, SKEL_TEMPLATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return log_warning_errno(errno, "skel template: cannot open %s/" SKEL_TEMPLATE_DIR ": %m",
                                         home_root);
        if (st.st_uid != 0)
                return log_warning_errno(EPERM, "skel template: %s/" SKEL_TEMPLATE_DIR " is owned by UID %u, not "
                                         "root; not using it", home_root, (unsigned) st.st_uid);
        if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
                return log_warning_errno(errno, "skel template: cannot close %s/" SKEL_TEMPLATE_DIR ": %m",
                                         home_root);
        *ret = TAKE_FD(fd);
        return 0;
}

/* The template named digest: 1 and its fd if it is one (a read-only
 * subvolume of root's), 0 if absent, -EUCLEAN if something else is there. */
static int open_template(int dir_fd, const char *digest, int *ret) {
        _cleanup_close_ int fd = openat(dir_fd, digest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        bool ro = false;

        if (fd < 0)
                return errno == ENOENT ? 0 : -EUCLEAN;
        if (fstat(fd, &st) < 0 || !is_subvolume(fd, &st) || st.st_uid != 0 ||
            btrfs_util_get_subvolume_read_only_fd(fd, &ro) != BTRFS_UTIL_OK || !ro)
                return -EUCLEAN;
        *ret = TAKE_FD(fd);
        return 1;
}

/* Removes every entry of the directory but keep: what killed builds left,
 * and templates of the skel as it was. Only under the exclusive lock: no
 * one is building or snapshotting then. */
static bool is_spare_of(const char *name, const char *digest) {
        return strlen(digest) == SKEL_DIGEST_HEX && strncmp(name, digest, SKEL_DIGEST_HEX) == 0 &&
               strncmp(name + SKEL_DIGEST_HEX, SKEL_TEMPLATE_SPARE_INFIX, strlen(SKEL_TEMPLATE_SPARE_INFIX)) == 0;
}

/* What the directory keeps beside its current template: that template's
 * spares. A spare of any other is of a skel as it was: never a home. */
static bool kept(const char *name, const char *keep) {
        return keep && (strcmp(name, keep) == 0 || is_spare_of(name, keep));
}

static void remove_others(int dir_fd, const char *home_root, const char *keep) {
        char **names = NULL;
        size_t n = 0;

        if (read_names(dir_fd, &names, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                if (kept(names[i], keep))
                        continue;
                int r = skel_template_remove(dir_fd, names[i]);
                if (r < 0)
                        log_warning_errno(r, "skel template: cannot remove %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root,
                                          names[i]);
                else
                        log_debug("skel template: removed %s/" SKEL_TEMPLATE_DIR "/%s", home_root, names[i]);
        }
        names_free(names, n);
}

static int random_suffix(char ret[7]) {
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char rnd[6];

        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return negative_errno();
        for (size_t i = 0; i < sizeof rnd; i++)
                ret[i] = chars[rnd[i] % (sizeof chars - 1)];
        ret[sizeof rnd] = 0;
        return 0;
}

static int random_build_name(char ret[sizeof(SKEL_TEMPLATE_BUILD_PREFIX) + 6]) {
        char suffix[7];
        int r = random_suffix(suffix);
        if (r < 0)
                return r;
        strcpy(ret, SKEL_TEMPLATE_BUILD_PREFIX);
        strcat(ret, suffix);
        return 0;
}

/* ---- building ------------------------------------------------------------------- */

/* Builds the template of the skel scanned as scan (at since) and names it
 * scan->digest. Under the exclusive lock. 0 and the template's fd; -ESTALE
 * if the skel changed meanwhile; another error, logged. Nothing but the
 * template is left. */
static int build(int dir_fd, const char *home_root, const SkelScan *scan, const struct timespec *since,
                 SkelStats *stats, int *ret) {
        char name[sizeof(SKEL_TEMPLATE_BUILD_PREFIX) + 6];
        _cleanup_close_ int fd = -1;
        enum btrfs_util_error e;
        SkelScan again = {};
        int r;

        r = random_build_name(name);
        if (r < 0)
                return log_warning_errno(r, "skel template: cannot get random bytes: %m");
        e = btrfs_util_create_subvolume_fd(dir_fd, name, 0, NULL, NULL);
        if (e != BTRFS_UTIL_OK)
                return log_warning_errno(errno ?: EIO, "skel template: cannot create a subvolume in %s/"
                                         SKEL_TEMPLATE_DIR ": %s", home_root, btrfs_util_strerror(e));
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = log_warning_errno(errno, "skel template: cannot open %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root,
                                      name);
                goto fail;
        }
        /* As a subvolume home's storage holds its skel (subvolume.c): all
         * of it nobody's; what she could not read is not there. */
        SkelOptions opts = {
                .uid = UID_NOBODY,
                .gid = (gid_t) UID_NOBODY,
                .for_user_record = true,
        };
        if (fchmod(fd, 0700) < 0) {
                r = log_warning_errno(errno, "skel template: cannot close %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root,
                                      name);
                goto fail;
        }
        r = skel_seed(fd, &opts, stats);
        if (r < 0)
                goto fail; /* logged by the copier */
        failpoint("skel-template-seeded");

        r = skel_scan(NULL, since, &again);
        if (r < 0)
                goto fail;
        bool changed = strcmp(again.digest, scan->digest) != 0;
        skel_scan_done(&again);
        if (changed) {
                log_debug("skel template: the skel changed while it was copied; again");
                r = -ESTALE;
                goto fail;
        }
        if (syncfs(fd) < 0) {
                r = log_warning_errno(errno, "skel template: cannot sync %s: %m", home_root);
                goto fail;
        }
        e = btrfs_util_set_subvolume_read_only_fd(fd, true);
        if (e != BTRFS_UTIL_OK) {
                r = log_warning_errno(errno ?: EIO, "skel template: cannot make %s/" SKEL_TEMPLATE_DIR "/%s "
                                      "read-only: %s", home_root, name, btrfs_util_strerror(e));
                goto fail;
        }
        failpoint("skel-template-built");
        /* Its name only now, complete and read-only: nothing half-built is
         * ever found by it. */
        if (renameat2(dir_fd, name, dir_fd, scan->digest, RENAME_NOREPLACE) < 0) {
                r = log_warning_errno(errno, "skel template: cannot name %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root,
                                      scan->digest);
                goto fail;
        }
        (void) fsync(dir_fd);
        *ret = TAKE_FD(fd);
        return 0;

fail:
        closep(&fd);
        int k = skel_template_remove(dir_fd, name);
        if (k < 0)
                log_warning_errno(k, "skel template: cannot remove %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root, name);
        return r;
}

/* ---- the snapshot ------------------------------------------------------------------ */

static int snapshot(int template_fd, int parent_fd, const char *name) {
        enum btrfs_util_error e = btrfs_util_create_snapshot_fd2(template_fd, parent_fd, name, 0, NULL, NULL);
        if (e != BTRFS_UTIL_OK)
                return log_warning_errno(errno ?: EIO, "skel template: cannot snapshot it as %s: %s", name,
                                         btrfs_util_strerror(e));
        return 0;
}

/* Scans until no entry changed within the clock's current tick: the
 * template's digest must not miss a change made right after the scan read
 * an entry. Gives up (-EOPNOTSUPP) on a skel that keeps changing, or has
 * change times ahead of the clock. */
static int scan_settled(SkelScan *scan, struct timespec *ret_since) {
        for (unsigned attempt = 0; attempt < BUILD_ATTEMPTS; attempt++) {
                struct timespec since = now_coarse(), newest;
                int r = skel_scan(NULL, &since, scan);
                if (r < 0)
                        return r;
                if (!(scan->flags & SKEL_ENTRY_RECENT)) {
                        *ret_since = since;
                        return 0;
                }
                newest = scan->newest;
                skel_scan_done(scan);
                for (unsigned waited = 0;; waited++) {
                        struct timespec now = now_coarse();
                        if (timespec_compare(&now, &newest) > 0)
                                break;
                        if (waited >= RECENT_WAIT_MSEC)
                                return log_debug_errno(EOPNOTSUPP, "skel template: the skel has change times "
                                                       "ahead of the clock");
                        sleep_msec(1);
                }
        }
        return log_debug_errno(EOPNOTSUPP, "skel template: the skel keeps changing");
}

/* Whether the directory holds more than the template keep. */
static bool holds_others(int dir_fd, const char *keep) {
        char **names = NULL;
        size_t n = 0;
        bool others = false;

        if (read_names(dir_fd, &names, &n) < 0)
                return false;
        for (size_t i = 0; i < n && !others; i++)
                others = !kept(names[i], keep);
        names_free(names, n);
        return others;
}

int skel_template_token(const char *digest, char ret[SKEL_TEMPLATE_TOKEN_MAX]) {
        int n = snprintf(ret, SKEL_TEMPLATE_TOKEN_MAX, "%u/%s/%s", SKEL_TEMPLATE_FORMAT, HEARTH_VERSION, digest);
        return n > 0 && n < SKEL_TEMPLATE_TOKEN_MAX ? 0 : -ENAMETOOLONG;
}

int skel_template_token_digest(const char *token, char ret[SKEL_DIGEST_HEX + 1]) {
        char prefix[SKEL_TEMPLATE_TOKEN_MAX];
        int n = snprintf(prefix, sizeof prefix, "%u/%s/", SKEL_TEMPLATE_FORMAT, HEARTH_VERSION);

        if (!token || n <= 0 || (size_t) n >= sizeof prefix || strncmp(token, prefix, (size_t) n) != 0)
                return -EINVAL;
        const char *d = token + n;
        if (strlen(d) != SKEL_DIGEST_HEX || strspn(d, "0123456789abcdef") != SKEL_DIGEST_HEX)
                return -EINVAL;
        memcpy(ret, d, SKEL_DIGEST_HEX + 1);
        return 0;
}

/* A spare of the template digest, moved to parent_fd/name: 1 if one was
 * there, 0 if none. Under the shared lock, with the template there: the
 * digest is the skel's as it is now, and no rebuild removes spares
 * meanwhile. Each rename takes one spare for one caller only; the one that
 * loses the race to a spare goes on to the next. */
static int take_spare(int dir_fd, const char *home_root, const char *digest, int parent_fd, const char *name) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = read_names(dir_fd, &names, &n);
        if (r < 0)
                return 0;
        r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_close_ int fd = -1;
                struct stat st;
                bool ro = true;

                if (!is_spare_of(names[i], digest))
                        continue;
                if (renameat2(dir_fd, names[i], parent_fd, name, RENAME_NOREPLACE) < 0) {
                        if (errno == ENOENT)
                                continue; /* another create's */
                        r = log_warning_errno(errno, "skel template: cannot take the spare %s/" SKEL_TEMPLATE_DIR
                                              "/%s: %m", home_root, names[i]);
                        break;
                }
                /* Only what skel_template_spares_fill() names so: anything
                 * else (a hand's work) is thrown away, not given to her. */
                fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0 && fstat(fd, &st) == 0 && is_subvolume(fd, &st) && st.st_uid == UID_NOBODY &&
                    st.st_gid == (gid_t) UID_NOBODY && (st.st_mode & 07777) == 0700 &&
                    btrfs_util_get_subvolume_read_only_fd(fd, &ro) == BTRFS_UTIL_OK && !ro) {
                        log_debug("skel template: took the spare %s/" SKEL_TEMPLATE_DIR "/%s", home_root, names[i]);
                        r = 1;
                        break;
                }
                log_warning("skel template: %s/" SKEL_TEMPLATE_DIR "/%s is no spare; removing it", home_root,
                            names[i]);
                closep(&fd);
                int k = skel_template_remove(parent_fd, name);
                if (k < 0) {
                        r = log_warning_errno(k, "skel template: cannot remove it: %m");
                        break;
                }
        }
        names_free(names, n);
        return r;
}

/* parent_fd/name from the template digest (open as fd, the shared lock
 * held): a spare if the caller takes one (*spare set) and one is there,
 * else a snapshot. */
static int snapshot_or_spare(int dir_fd, const char *home_root, const char *digest, int fd, int parent_fd,
                             const char *name, bool *spare) {
        if (*spare) {
                int r = take_spare(dir_fd, home_root, digest, parent_fd, name);
                if (r != 0)
                        return r < 0 ? r : 0;
                *spare = false;
        }
        return snapshot(fd, parent_fd, name);
}

/* The caller's word (current): its template, if there, snapshotted under
 * the shared lock. 1 if done, 0 if it is not there (the caller scans), or
 * a negative errno. */
static int snapshot_current(int dir_fd, const char *home_root, const char *digest, int parent_fd, const char *name,
                            bool *spare) {
        _cleanup_close_ int fd = -1;
        int r;

        r = lock_wait(dir_fd, LOCK_SH);
        if (r < 0)
                return log_warning_errno(r, "skel template: cannot lock %s/" SKEL_TEMPLATE_DIR ": %m", home_root);
        r = open_template(dir_fd, digest, &fd);
        if (r > 0) {
                log_debug("skel template: %s/" SKEL_TEMPLATE_DIR "/%s serves, current as the caller says", home_root,
                          digest);
                r = snapshot_or_spare(dir_fd, home_root, digest, fd, parent_fd, name, spare);
                r = r < 0 ? r : 1;
        } else
                r = 0;
        (void) flock(dir_fd, LOCK_UN);
        return r;
}

int skel_template_snapshot(int home_root_fd, const char *home_root, bool complete, bool spare, const char *current,
                           int parent_fd, const char *name, SkelTemplateInfo *ret_info) {
        SkelTemplateInfo dummy;
        SkelTemplateInfo *info = ret_info ?: &dummy;
        _cleanup_close_ int dir_fd = -1;
        int r;

        *info = (SkelTemplateInfo) {};
        const char *off = getenv(SKEL_TEMPLATE_TEST_OFF_ENV);
        if (off && strcmp(off, "1") == 0)
                return log_debug_errno(EOPNOTSUPP, "skel template: off ($" SKEL_TEMPLATE_TEST_OFF_ENV ")");
        if (skel_labels_by_path())
                return log_debug_errno(EOPNOTSUPP, "skel template: SELinux labels a home's files by their path");
        r = same_btrfs(home_root_fd, parent_fd);
        if (r == -EOPNOTSUPP)
                return log_debug_errno(EOPNOTSUPP, "skel template: %s or the new home's parent is not Btrfs",
                                       home_root);
        if (r < 0)
                return log_warning_errno(r, "skel template: cannot look at the file system of %s: %m", home_root);
        if (r == 0)
                return log_debug_errno(EOPNOTSUPP, "skel template: the new home is not on %s's file system",
                                       home_root);

        char digest[SKEL_DIGEST_HEX + 1];
        if (current && skel_template_token_digest(current, digest) >= 0) {
                r = open_dir(home_root_fd, home_root, &dir_fd);
                if (r < 0)
                        return r;
                info->spare = spare;
                r = snapshot_current(dir_fd, home_root, digest, parent_fd, name, &info->spare);
                if (r < 0)
                        return r;
                if (r > 0) {
                        memcpy(info->digest, digest, sizeof info->digest);
                        info->unscanned = true;
                        return 0;
                }
                log_debug("skel template: %.12s… is gone; scanning the skel", digest);
        } else if (current)
                log_debug("skel template: \"%.80s\" is no template of this build; scanning the skel", current);

        for (unsigned attempt = 0; attempt < BUILD_ATTEMPTS; attempt++) {
                _cleanup_(skel_scan_done) SkelScan scan = {};
                _cleanup_close_ int fd = -1;
                struct timespec since;

                r = scan_settled(&scan, &since);
                if (r < 0)
                        return r;
                if (scan.flags & SKEL_ENTRY_PER_USER)
                        return log_debug_errno(EOPNOTSUPP, "skel template: %s is copied differently for each user "
                                               "(owned by a home's UID or nobody, or an absolute link into the "
                                               "skel)", scan.per_user);
                if (complete && (scan.flags & SKEL_ENTRY_UNREADABLE))
                        return log_debug_errno(EOPNOTSUPP, "skel template: the skel holds entries others cannot "
                                               "read, which a home's template leaves out");
                memcpy(info->digest, scan.digest, sizeof info->digest);
                if (dir_fd < 0 && (r = open_dir(home_root_fd, home_root, &dir_fd)) < 0)
                        return r;

                /* Shared: no one removes it while it is snapshotted. */
                r = lock_wait(dir_fd, LOCK_SH);
                if (r < 0)
                        return log_warning_errno(r, "skel template: cannot lock %s/" SKEL_TEMPLATE_DIR ": %m",
                                                 home_root);
                r = open_template(dir_fd, scan.digest, &fd);
                if (r > 0) {
                        log_debug("skel template: %s/" SKEL_TEMPLATE_DIR "/%s serves", home_root, scan.digest);
                        info->spare = spare;
                        r = snapshot_or_spare(dir_fd, home_root, scan.digest, fd, parent_fd, name, &info->spare);
                        /* What a killed rebuild left, if no one else is here. */
                        if (r >= 0 && holds_others(dir_fd, scan.digest) && flock(dir_fd, LOCK_EX | LOCK_NB) == 0)
                                remove_others(dir_fd, home_root, scan.digest);
                        (void) flock(dir_fd, LOCK_UN);
                        return r;
                }

                r = lock_wait(dir_fd, LOCK_EX);
                if (r < 0)
                        return log_warning_errno(r, "skel template: cannot lock %s/" SKEL_TEMPLATE_DIR ": %m",
                                                 home_root);
                /* Another create may have built it while we waited. */
                r = open_template(dir_fd, scan.digest, &fd);
                if (r <= 0) {
                        remove_others(dir_fd, home_root, NULL);
                        r = build(dir_fd, home_root, &scan, &since, &info->stats, &fd);
                        if (r == -ESTALE) {
                                (void) flock(dir_fd, LOCK_UN);
                                continue;
                        }
                        if (r < 0)
                                return r;
                        info->rebuilt = true;
                        log_info("skel template: built %s/" SKEL_TEMPLATE_DIR "/%.12s… from %lu entries of the skel "
                                 "(%u files, %u directories, %u symlinks, %u left out)",
                                 home_root, scan.digest, scan.entries, info->stats.files, info->stats.dirs,
                                 info->stats.symlinks, info->stats.skipped);
                }
                remove_others(dir_fd, home_root, scan.digest);
                r = snapshot(fd, parent_fd, name);
                (void) flock(dir_fd, LOCK_UN);
                return r;
        }
        return log_debug_errno(EOPNOTSUPP, "skel template: the skel kept changing while it was copied");
}

/* ---- spares ------------------------------------------------------------------------ */

static unsigned count_spares(int dir_fd, const char *digest) {
        char **names = NULL;
        size_t n = 0;
        unsigned count = 0;

        if (read_names(dir_fd, &names, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                count += is_spare_of(names[i], digest);
        names_free(names, n);
        return count;
}

/* One spare of the template open as fd, built under a .build- name (what a
 * kill leaves is swept as a killed build's) and named only once prepared. */
static int make_spare(int dir_fd, const char *home_root, const char *digest, int fd, SkelSparePrepare prepare,
                      void *userdata) {
        char build_name[sizeof(SKEL_TEMPLATE_BUILD_PREFIX) + 6], suffix[7];
        char name[SKEL_DIGEST_HEX + sizeof(SKEL_TEMPLATE_SPARE_INFIX) + 6];
        _cleanup_close_ int spare_fd = -1;
        int r;

        r = random_build_name(build_name);
        if (r >= 0)
                r = random_suffix(suffix);
        if (r < 0)
                return log_warning_errno(r, "skel template: cannot make a name: %m");
        snprintf(name, sizeof name, "%s" SKEL_TEMPLATE_SPARE_INFIX "%s", digest, suffix);
        r = snapshot(fd, dir_fd, build_name);
        if (r < 0)
                return r;
        spare_fd = openat(dir_fd, build_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (spare_fd < 0)
                r = log_warning_errno(errno, "skel template: cannot open %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root,
                                      build_name);
        else
                r = prepare(spare_fd, userdata);
        if (r >= 0 && fchown(spare_fd, UID_NOBODY, (gid_t) UID_NOBODY) < 0)
                r = log_warning_errno(errno, "skel template: cannot give %s/" SKEL_TEMPLATE_DIR "/%s to nobody: %m",
                                      home_root, build_name);
        if (r >= 0 && fchmod(spare_fd, 0700) < 0)
                r = log_warning_errno(errno, "skel template: cannot close %s/" SKEL_TEMPLATE_DIR "/%s: %m",
                                      home_root, build_name);
        failpoint("skel-spare-prepared");
        /* No sync: a crash loses the name with the top's owner, or keeps
         * both (Btrfs commits in order), and the snapshot itself was
         * committed by the ioctl. */
        if (r >= 0 && renameat2(dir_fd, build_name, dir_fd, name, RENAME_NOREPLACE) < 0)
                r = log_warning_errno(errno, "skel template: cannot name %s/" SKEL_TEMPLATE_DIR "/%s: %m", home_root,
                                      name);
        if (r < 0) {
                closep(&spare_fd);
                (void) skel_template_remove(dir_fd, build_name);
                return r;
        }
        return 0;
}

int skel_template_spares_fill(int home_root_fd, const char *home_root, const char *current, unsigned want,
                              SkelSparePrepare prepare, void *userdata) {
        _cleanup_(skel_scan_done) SkelScan scan = {};
        _cleanup_close_ int dir_fd = -1, fd = -1;
        char digest[SKEL_DIGEST_HEX + 1];
        unsigned made = 0;
        int r;

        const char *off = getenv(SKEL_TEMPLATE_TEST_OFF_ENV);
        if ((off && strcmp(off, "1") == 0) || skel_labels_by_path())
                return 0;
        if (!current || skel_template_token_digest(current, digest) < 0) {
                /* Spares only of the template of the skel as it is now. */
                r = skel_scan(NULL, NULL, &scan);
                if (r < 0)
                        return r;
                if (scan.flags & SKEL_ENTRY_PER_USER)
                        return 0;
                memcpy(digest, scan.digest, sizeof digest);
        }
        r = open_dir(home_root_fd, home_root, &dir_fd);
        if (r < 0)
                return r;
        r = lock_wait(dir_fd, LOCK_SH);
        if (r < 0)
                return log_warning_errno(r, "skel template: cannot lock %s/" SKEL_TEMPLATE_DIR ": %m", home_root);
        r = open_template(dir_fd, digest, &fd);
        if (r > 0)
                for (unsigned have = count_spares(dir_fd, digest); have < want; have++) {
                        r = make_spare(dir_fd, home_root, digest, fd, prepare, userdata);
                        if (r < 0)
                                break;
                        made++;
                }
        (void) flock(dir_fd, LOCK_UN);
        if (made > 0)
                log_debug("skel template: %u spare(s) of %.12s… made", made, digest);
        /* What killed spares' builds left, if no one else is here; only
         * while the template is there: a word that is stale by now (a
         * create rebuilt it meanwhile) must not sweep the newer one. */
        if (holds_others(dir_fd, digest) && flock(dir_fd, LOCK_EX | LOCK_NB) == 0) {
                closep(&fd);
                if (open_template(dir_fd, digest, &fd) > 0)
                        remove_others(dir_fd, home_root, digest);
                (void) flock(dir_fd, LOCK_UN);
        }
        return r < 0 ? r : (int) made;
}

/* ---- giving a snapshot to an owner ------------------------------------------------------ */

#define CAPS_XATTR "security.capability"
#define CAPS_MAX 64 /* vfs_ns_cap_data is 24 bytes */

typedef struct Giver {
        uid_t uid;
        gid_t gid;
        SkelStats *stats;
} Giver;

/* One entry: owner, then what the chown took (set-ID bits, capabilities). */
static int give_one(Giver *g, int dir_fd, const char *name, const struct stat *st) {
        if (S_ISLNK(st->st_mode)) {
                if (fchownat(dir_fd, name, g->uid, g->gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return negative_errno();
                g->stats->symlinks++;
                return 0;
        }
        if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
                return -EUCLEAN; /* the seeding makes nothing else */
        if (st->st_uid != UID_NOBODY) {
                /* A second name of a file given already. */
                if (S_ISREG(st->st_mode) && st->st_uid == g->uid && st->st_nlink > 1) {
                        g->stats->hardlinks++;
                        return 0;
                }
                return -EUCLEAN;
        }
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                                       (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
        char caps[CAPS_MAX];
        ssize_t ncaps = -1;
        struct stat now;

        if (fd < 0 || fstat(fd, &now) < 0)
                return negative_errno();
        if (now.st_ino != st->st_ino || now.st_dev != st->st_dev)
                return -EBUSY;
        if (S_ISREG(st->st_mode)) {
                ncaps = fgetxattr(fd, CAPS_XATTR, caps, sizeof caps);
                if (ncaps < 0 && errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP)
                        return negative_errno();
        }
        if (fchown(fd, g->uid, g->gid) < 0)
                return negative_errno();
        if (ncaps >= 0 && fsetxattr(fd, CAPS_XATTR, caps, (size_t) ncaps, 0) < 0)
                return negative_errno();
        if ((st->st_mode & (S_ISUID | S_ISGID)) && fchmod(fd, st->st_mode & 07777) < 0)
                return negative_errno();
        if (S_ISREG(st->st_mode)) {
                g->stats->files++;
                g->stats->bytes += (unsigned long long) st->st_size;
        } else
                g->stats->dirs++;
        return 0;
}

static int give_dir(Giver *g, int fd, unsigned depth) {
        char **names = NULL;
        size_t n = 0;
        int r;

        if (depth >= SCAN_DEPTH_MAX)
                return -ELOOP;
        r = read_names(fd, &names, &n);
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct stat st;
                if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = negative_errno();
                        break;
                }
                /* Into a directory before its owner changes: its contents
                 * were given with their own modes, whatever its own is. */
                if (S_ISDIR(st.st_mode) && st.st_uid == UID_NOBODY) {
                        _cleanup_close_ int sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = negative_errno();
                                break;
                        }
                        r = give_dir(g, sub, depth + 1);
                        if (r < 0)
                                break;
                }
                r = give_one(g, fd, names[i], &st);
        }
        names_free(names, n);
        return r;
}

int skel_template_give(int fd, uid_t uid, gid_t gid, SkelStats *stats) {
        Giver g = { .uid = uid, .gid = gid, .stats = stats };
        int r;

        *stats = (SkelStats) {};
        r = give_dir(&g, fd, 0);
        if (r < 0)
                return log_error_errno(r, "skel template: cannot give the snapshot's files to %u:%u: %m",
                                       (unsigned) uid, (unsigned) gid);
        return 0;
}
