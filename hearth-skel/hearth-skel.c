/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-skel: seed, once, the homes of system users declared in
 * sysusers.d, and seed single directories by hand.
 *
 * Run as root by an administrator, or by an image builder on an image's
 * root (--root DIR); no Hearth process starts it. The skel copy and the
 * sysusers.d parser it drives are the skel/ library.
 *
 * systemd-sysusers records a home for a system user but never creates it.
 * This tool fills that gap for homes below /home (or configured prefixes),
 * where a human may log in as the user and expect dotfiles. It runs as root
 * on paths that other users may control, so every home is reached from the
 * root directory one component at a time without following symlinks, and a
 * new home is built under a hidden name and renamed into place only when
 * complete. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include "config.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "open-in-root.h"
#include "rm-rf.h"
#include "runtime-paths.h"
#include "home-layout.h"
#include "skel-conf.h"
#include "skel-template.h"
#include "skel.h"
#include "sysusers.h"
#include "user-record.h"

#define CONF_LINE_MAX SKEL_CONF_LINE_MAX
#define PREFIXES_MAX SKEL_CONF_PREFIXES_MAX
#define HOME_MODE 0700

static const char *const skel_confs[] = {
        "/etc/hearth/skel.conf",
        HEARTH_RUNTIME_DIR_DEFAULT "/skel.conf",
        "/usr/lib/hearth/skel.conf",
};

static const char *arg_root = NULL; /* NULL: the running system */
static const char *arg_skel = NULL;
static bool arg_dry_run = false;

typedef struct Context {
        int root_fd;          /* the root directory, where every path walk starts */
        const char *prefix;   /* --root without trailing slashes, "" for none, for messages */
        char **home_prefixes; /* /home and skel.conf's HomePrefix= values */
        char **handled;       /* homes already dealt with in this run */
        size_t n_handled;
} Context;

static void help(void) {
        printf("Usage: hearth-skel [OPTIONS...] sysusers\n"
               "       hearth-skel [OPTIONS...] seed USER TARGET\n"
               "\n"
               "Seed home directories from the skeleton: /etc/skel, /usr/etc/skel and\n"
               "/usr/share/factory/etc/skel merged (an earlier entry wins; an /etc/skel entry\n"
               "that is a symlink to /dev/null masks the path), or --skel DIR alone.\n"
               "\n"
               "Commands:\n"
               "  sysusers      For every user declared ('u' lines) in sysusers.d(5) files\n"
               "                (/etc/sysusers.d, /run/sysusers.d, /usr/local/lib/sysusers.d,\n"
               "                /usr/lib/sysusers.d) whose home lies below /home or below a\n"
               "                HomePrefix= of skel.conf, seed the home if it does not exist\n"
               "                or is an empty directory. systemd-sysusers records such homes\n"
               "                but never creates them.\n"
               "                A new home gets mode 0700, as every home Hearth makes, so that\n"
               "                other users cannot read it, and is owned by the user and its\n"
               "                primary group as NSS knows them (with --root, as\n"
               "                ROOT/etc/passwd says). An existing empty directory, owned by\n"
               "                root or the user, is seeded in place, given to the user and\n"
               "                keeps its mode. A non-empty home is never touched, so running\n"
               "                the command again changes nothing. A user not known yet is\n"
               "                skipped with a warning (run systemd-sysusers first), and so is\n"
               "                one whose home there is not the declared one (systemd-sysusers\n"
               "                never changes an existing user). \"/\" and the prefixes\n"
               "                themselves are never seeded. One line per declared\n"
               "                user says what was done, e.g. \"seeded /home/foo (3 files, ...)\"\n"
               "                or \"skipped /home/bar: not empty\".\n"
               "  seed USER TARGET\n"
               "                Seed the directory TARGET, an absolute path, for USER, a user\n"
               "                name known to NSS (or ROOT/etc/passwd) or UID:GID. TARGET is\n"
               "                created with mode 0700 if missing (its parent must exist); an\n"
               "                existing TARGET must be an empty directory owned by root or\n"
               "                the user (it keeps its mode), else it is refused.\n"
               "\n"
               "Options:\n"
               "  --root DIR    Operate on the system image at DIR: sysusers.d, skel.conf, the\n"
               "                skeleton, the homes and TARGET are below DIR, and users are\n"
               "                looked up in DIR/etc/passwd (NSS describes the running system)\n"
               "  --skel DIR    Seed from DIR alone, a path on the running system (not below\n"
               "                --root), instead of the merged default skeleton\n"
               "  --dry-run     Say what would be done; change nothing\n"
               "  -h --help     Show this help and exit\n"
               "     --version  Show the version and exit\n"
               "\n"
               "Safety:\n"
               "  Homes are reached from the root one directory at a time, never following a\n"
               "  symlink: a home whose path has a symlinked component (e.g. /home pointing\n"
               "  elsewhere) is refused. A new home is built under a hidden name next to it\n"
               "  (.#hearth-skel-home.*), flushed to disk and renamed into place when complete,\n"
               "  so an interrupted run leaves no half-seeded home behind.\n"
               "\n"
               "Speed:\n"
               "  A new home on the Btrfs file system of the home root (/home) is a snapshot\n"
               "  (a subvolume) of the skel template Hearth keeps there\n"
               "  (/home/.#hearth-skel-template), its files then given to the user, where the\n"
               "  merged default skeleton allows one (no --skel or --root; no entry owned by\n"
               "  a home's UID or nobody, none closed to others, no absolute symlink into the\n"
               "  skeleton; SELinux off). Otherwise the skeleton is copied (reflinks where\n"
               "  possible), and so it is into an existing empty directory.\n"
               "\n"
               "Files:\n"
               "  /etc/hearth/skel.conf, /run/hearth/skel.conf, /usr/lib/hearth/skel.conf\n"
               "                The first of these that exists (below --root) is read, the\n"
               "                others are not. Each line\n"
               "                    HomePrefix=/srv/users\n"
               "                adds a directory, besides /home, below which declared homes are\n"
               "                seeded (up to %d; \"/\" is refused). Empty lines and lines\n"
               "                starting with '#' are ignored; invalid lines are reported and\n"
               "                ignored.\n"
               "  /etc/skel, /usr/etc/skel, /usr/share/factory/etc/skel\n"
               "                The skeleton.\n"
               "\n"
               "Exit status:\n"
               "  0   success, including nothing to do\n"
               "  1   failure: a home could not be seeded, a configuration file could not\n"
               "      be read, or (seed) TARGET or USER was refused; the reason is on\n"
               "      standard error\n"
               "  2   invalid command line\n",
               PREFIXES_MAX - 1);
}

/* Opens a configuration file below the root for reading: a regular file,
 * never a FIFO that would hang us. Returns a stream, or NULL with errno
 * set (ENOENT: it does not exist). */
static FILE *open_conf(int root_fd, const char *path) {
        /* As systemd-sysusers --root resolves paths: inside the root. */
        _cleanup_close_ int fd = open_in_root(arg_root ? root_fd : -1, path,
                                              O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        int flags;

        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        if (fstat(fd, &st) < 0)
                return NULL;
        if (!S_ISREG(st.st_mode)) {
                errno = S_ISDIR(st.st_mode) ? EISDIR : EBADF;
                return NULL;
        }
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return NULL;
        FILE *f = fdopen(fd, "r");
        if (f)
                fd = -1;
        return f;
}

/* /home plus the HomePrefix= lines of the first skel.conf that exists. */
static int load_home_prefixes(Context *c) {
        _cleanup_strv_free_ char **l = calloc(PREFIXES_MAX + 1, sizeof *l);
        size_t n = 0;

        if (!l || !(l[n++] = strdup("/home")))
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(skel_confs); i++) {
                _cleanup_fclose_ FILE *f = open_conf(c->root_fd, skel_confs[i]);
                int r;

                if (!f) {
                        if (errno == ENOENT)
                                continue;
                        /* The admin's file must win: falling back to the next would hide the mistake. */
                        return log_error_errno(errno, "%s%s: cannot read: %m", c->prefix, skel_confs[i]);
                }
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, "%s%s", c->prefix, skel_confs[i]) < 0)
                        return log_oom();
                r = skel_conf_read_prefixes(f, what, l, &n, PREFIXES_MAX);
                if (r < 0)
                        return r;
                break; /* the first file found wins */
        }
        c->home_prefixes = TAKE_PTR(l);
        return 0;
}

static bool below_prefix(const char *home, char *const *prefixes) {
        for (char *const *p = prefixes; *p; p++) {
                size_t n = strlen(*p);
                if (strncmp(home, *p, n) == 0 && home[n] == '/' && home[n + 1])
                        return true;
        }
        return false;
}

/* A user as resolve_user() finds it. */
typedef struct User {
        uid_t uid;
        gid_t gid;
        char *home; /* as the user database has it */
} User;

static void user_done(User *u) {
        free(u->home);
        *u = (User) {};
}

/* Looks name up in ROOT/etc/passwd. Returns 0, -ESRCH if absent, or a
 * logged error. */
static int lookup_image_passwd(const Context *c, const char *name, User *ret) {
        _cleanup_fclose_ FILE *f = open_conf(c->root_fd, "/etc/passwd");
        _cleanup_free_ char *buf = malloc(CONF_LINE_MAX + 1);
        unsigned no = 0;
        int r;

        if (!buf)
                return log_oom();
        if (!f) {
                if (errno == ENOENT)
                        return -ESRCH;
                return log_error_errno(errno, "%s/etc/passwd: cannot read: %m", c->prefix);
        }
        while ((r = read_line_bounded(f, buf, CONF_LINE_MAX)) != 0) {
                char *fields[6], *p = buf;
                uint32_t uid, gid;

                no++;
                if (r == -EIO)
                        return log_error_errno(EIO, "%s/etc/passwd:%u: cannot read: %m", c->prefix, no);
                if (r < 0)
                        continue;
                /* name:password:UID:GID:GECOS:home:shell — NIS "+"/"-" lines name no user here. */
                for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                        fields[i] = strsep(&p, ":");
                if (!fields[5] || strcmp(fields[0], name) != 0)
                        continue;
                if (!sysusers_parse_id(fields[2], &uid) || !sysusers_parse_id(fields[3], &gid)) {
                        log_warning("%s/etc/passwd:%u: user %s has an invalid UID or GID, ignoring it", c->prefix,
                                    no, name);
                        return -ESRCH;
                }
                *ret = (User) { .uid = uid, .gid = gid, .home = strdup(fields[5]) };
                if (!ret->home)
                        return log_oom();
                return 0;
        }
        return -ESRCH;
}

/* The user's UID, primary GID and home: from NSS, or with --root from
 * ROOT/etc/passwd, since NSS describes the running system, not the image.
 * Returns 0, -ESRCH for an unknown user, or a logged error. */
static int resolve_user(const Context *c, const char *name, User *ret) {
        long size = sysconf(_SC_GETPW_R_SIZE_MAX);
        struct passwd pw, *p = NULL;
        int r;

        if (arg_root)
                return lookup_image_passwd(c, name, ret);
        if (size <= 0)
                size = 16384;
        for (;;) {
                _cleanup_free_ char *buf = malloc((size_t) size);
                if (!buf)
                        return log_oom();
                r = getpwnam_r(name, &pw, buf, (size_t) size, &p);
                if (r == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (r != 0)
                        return log_error_errno(r, "cannot look up user %s: %m", name);
                if (!p)
                        return -ESRCH;
                if (p->pw_uid == (uid_t) -1 || p->pw_gid == (gid_t) -1) {
                        log_warning("user %s has an invalid UID or GID in NSS, ignoring it", name);
                        return -ESRCH;
                }
                *ret = (User) { .uid = p->pw_uid, .gid = p->pw_gid, .home = strdup(p->pw_dir ?: "") };
                if (!ret->home)
                        return log_oom();
                return 0;
        }
}

/* 1 if the directory is empty, 0 if not, or a negative errno. */
static int dir_is_empty(int fd) {
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* its own file position */
        DIR *d;
        struct dirent *de;
        int empty = 1;

        if (dfd < 0)
                return negative_errno();
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -ENOMEM;
        }
        errno = 0;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        empty = 0;
                        break;
                }
        if (empty && errno != 0)
                empty = negative_errno();
        closedir(d);
        return empty;
}

/* Opens the parent directory of path (absolute, normalized, not "/") below
 * the root, one component at a time, refusing symlinks. *ret_name points
 * into path. Errors are logged. */
static int open_parent(const Context *c, const char *path, int *ret_fd, const char **ret_name) {
        _cleanup_close_ int fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *p = path + 1, *slash;

        if (fd < 0)
                return log_error_errno(errno, "%s/: cannot open: %m", c->prefix);
        while ((slash = strchr(p, '/'))) {
                char component[NAME_MAX + 1];
                size_t n = (size_t) (slash - p);
                struct stat st;

                if (n > NAME_MAX)
                        return log_error_errno(ENAMETOOLONG, "%s: component too long", path);
                memcpy(component, p, n);
                component[n] = 0;
                if (fstatat(fd, component, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                return log_error_errno(errno, "%s: parent directory %.*s does not exist", path,
                                                       (int) (slash - path), path);
                        return log_error_errno(errno, "%s: cannot look at %.*s: %m", path, (int) (slash - path),
                                               path);
                }
                if (S_ISLNK(st.st_mode))
                        return log_error_errno(ELOOP, "%s: %.*s is a symbolic link, refusing to follow it", path,
                                               (int) (slash - path), path);
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(ENOTDIR, "%s: %.*s is not a directory", path, (int) (slash - path),
                                               path);
                /* O_NOFOLLOW: had it been swapped for a symlink since, this fails. */
                int sub = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return log_error_errno(errno, "%s: cannot open %.*s: %m", path, (int) (slash - path), path);
                close(fd);
                fd = sub;
                p = slash + 1;
        }
        if (strlen(p) > NAME_MAX)
                return log_error_errno(ENAMETOOLONG, "%s: name too long", path);
        *ret_name = p;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* "skipped PATH: REASON" for sysusers, an error for seed, where the caller
 * named the target and expects it seeded. */
_printf_(4, 5) static int refuse(bool explicit, int error, const char *path, const char *fmt, ...) {
        char reason[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        if (explicit)
                return log_error_errno(error, "%s: %s, refusing to seed it", path, reason);
        printf("skipped %s: %s\n", path, reason);
        return 0;
}

static const char *plural(unsigned n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

static void print_seeded(const char *path, const SkelStats *s) {
        printf("seeded %s (%u %s, %u %s, %u %s)\n", path, s->files, plural(s->files, "file", "files"), s->dirs,
               plural(s->dirs, "directory", "directories"), s->symlinks, plural(s->symlinks, "symlink", "symlinks"));
}

/* A new home on the home root's Btrfs file system: a snapshot of the skel
 * template (skel-template.h), its files given to the user. 1 if made as
 * tmp (*ret_fd open on it), 0 if no template serves (nothing made), or a
 * logged error. */
static int seed_from_template(int parent, const char *tmp, const char *path, const SkelOptions *opts,
                              SkelStats *stats, int *ret_fd) {
        const char *home_root = home_root_default();
        _cleanup_close_ int root_fd = -1, fd = -1;
        int r;

        /* Her own skel, or an image's: copied (no template is left in an image). */
        if (opts->skel_dir || opts->root)
                return 0;
        root_fd = open(home_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || skel_template_snapshot(root_fd, home_root, true, false, NULL, parent, tmp, NULL) < 0)
                return 0;
        struct stat st;
        fd = openat(parent, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                r = log_error_errno(errno, "%s: cannot open the new directory: %m", path);
        else if (st.st_uid != 0 || (st.st_mode & 077))
                /* Not the snapshot (root's, 0700): swapped in by someone who may write to the parent. */
                r = log_error_errno(EBUSY, "%s: %s was replaced while it was made", path, tmp);
        else
                r = skel_template_give(fd, opts->uid, opts->gid, stats);
        if (r < 0) {
                closep(&fd);
                if (skel_template_remove(parent, tmp) < 0)
                        log_warning("%s: the partly seeded directory %s is left next to it", path, tmp);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 1;
}

/* Seeds a new home: built under a hidden name in the parent, so that
 * nothing half-done ever carries the home's name, then renamed into place. */
static int seed_new(int parent, const char *name, const char *path, const SkelOptions *opts) {
        _cleanup_close_ int fd = -1;
        SkelStats stats = {};
        char tmp[64];
        struct stat st;
        int r;

        if (fstat(parent, &st) < 0)
                return log_error_errno(errno, "%s: cannot look at its parent directory: %m", path);
        for (unsigned i = 0;; i++) {
                snprintf(tmp, sizeof tmp, ".#hearth-skel-home.%u.%u", (unsigned) getpid(), i);
                if (fstatat(parent, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                        break;
                if (i >= 100)
                        return log_error_errno(EEXIST, "%s: cannot create a directory next to it: %m", path);
        }
        r = seed_from_template(parent, tmp, path, opts, &stats, &fd);
        if (r < 0)
                return r;
        if (r == 0) {
                if (mkdirat(parent, tmp, HOME_MODE) < 0)
                        return log_error_errno(errno, "%s: cannot create a directory next to it: %m", path);
                fd = openat(parent, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        r = log_error_errno(errno, "%s: cannot open the new directory: %m", path);
                        goto fail;
                }
                r = skel_seed(fd, opts, &stats);
                if (r < 0)
                        goto fail;
        }
        /* The umask may have taken bits from mkdirat()'s mode. */
        if (fchown(fd, opts->uid, opts->gid) < 0 || fchmod(fd, HOME_MODE) < 0) {
                r = log_error_errno(errno, "%s: cannot set owner %u:%u and mode: %m", path, opts->uid, opts->gid);
                goto fail;
        }
        /* Contents on disk before the name: after a crash the home is
         * complete or absent, and the next run seeds it again. */
        if (syncfs(fd) < 0) {
                r = log_error_errno(errno, "%s: cannot flush to disk: %m", path);
                goto fail;
        }
        if (renameat2(parent, tmp, parent, name, RENAME_NOREPLACE) < 0) {
                r = -errno;
                if (r == -EINVAL || r == -ENOSYS)
                        /* No RENAME_NOREPLACE here; a plain rename replaces at most an empty directory. */
                        r = renameat(parent, tmp, parent, name) < 0 ? -errno : 0;
                if (r == -EEXIST || r == -ENOTEMPTY) {
                        log_warning("%s: appeared while it was being seeded, leaving it alone", path);
                        (void) skel_template_remove(parent, tmp);
                        return -EEXIST;
                }
                if (r < 0) {
                        log_error_errno(r, "%s: cannot rename the seeded directory into place: %m", path);
                        goto fail;
                }
        }
        (void) fsync(parent);
        print_seeded(path, &stats);
        return 1;

fail:
        closep(&fd);
        if (skel_template_remove(parent, tmp) < 0)
                log_warning("%s: the partly seeded directory %s is left next to it", path, tmp);
        return r;
}

/* Seeds an existing empty directory in place; on failure empties it again,
 * so that the next run retries. Returns 1 if seeded, 0 if nothing changed. */
static int seed_existing(int fd, const struct stat *st, const char *path, const SkelOptions *opts) {
        SkelStats stats = {};
        int r;

        r = skel_seed(fd, opts, &stats);
        if (r < 0) {
                if (rm_rf_children(fd, NULL) < 0)
                        log_warning("%s: cannot remove what was copied before the failure", path);
                return r;
        }
        bool copied = stats.files || stats.dirs || stats.symlinks || stats.hardlinks;
        if (!copied && st->st_uid == opts->uid && st->st_gid == opts->gid) {
                printf("unchanged %s: empty, and so is the skeleton\n", path);
                return 0;
        }
        /* Given to the user, whose home it is; the mode is the admin's. */
        if (fchown(fd, opts->uid, opts->gid) < 0)
                return log_error_errno(errno, "%s: cannot give it to %u:%u: %m", path, opts->uid, opts->gid);
        print_seeded(path, &stats);
        return 1;
}

/* Seeds the home at path (absolute, normalized, below the root) for
 * uid:gid. explicit: the seed command, where anything but a missing or
 * empty directory is an error; for sysusers it is a skip. Returns 1 if
 * seeded (or would be, with --dry-run), 0 if skipped or unchanged (a line
 * is printed), or a logged error. */
static int seed_home(const Context *c, const char *path, uid_t uid, gid_t gid, bool explicit) {
        _cleanup_close_ int parent = -1, fd = -1;
        const char *name = NULL;
        struct stat st;
        int r;

        r = open_parent(c, path, &parent, &name);
        if (r < 0)
                return r;
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return log_error_errno(errno, "%s: %m", path);
        } else {
                if (S_ISLNK(st.st_mode))
                        return refuse(explicit, ELOOP, path, "is a symbolic link");
                if (!S_ISDIR(st.st_mode))
                        return refuse(explicit, ENOTDIR, path, "exists and is not a directory");
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0)
                        return log_error_errno(errno, "%s: cannot open: %m", path);
                r = dir_is_empty(fd);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot read: %m", path);
                if (r == 0)
                        return refuse(explicit, ENOTEMPTY, path, "not empty");
                /* Someone else's empty directory is not ours to hand over. */
                if (st.st_uid != 0 && st.st_uid != uid)
                        return refuse(explicit, EPERM, path, "empty, but owned by UID %u, neither root nor %u",
                                      (unsigned) st.st_uid, (unsigned) uid);
        }

        if (arg_dry_run) {
                printf("would seed %s (%s, owner %u:%u)\n", path, fd < 0 ? "new directory" : "existing empty directory",
                       (unsigned) uid, (unsigned) gid);
                return 1;
        }
        SkelOptions opts = {
                .uid = uid,
                .gid = gid,
                .home_path = path,
                .skel_dir = arg_skel,
                .root = arg_root,
        };
        if (fd < 0)
                return seed_new(parent, name, path, &opts);
        return seed_existing(fd, &st, path, &opts);
}

static bool handled_before(Context *c, const char *home) {
        for (size_t i = 0; i < c->n_handled; i++)
                if (strcmp(c->handled[i], home) == 0)
                        return true;
        char **l = realloc(c->handled, (c->n_handled + 2) * sizeof *l);
        if (!l)
                return false; /* only a duplicate message is at stake */
        c->handled = l;
        if ((l[c->n_handled] = strdup(home)))
                c->n_handled++;
        l[c->n_handled] = NULL;
        return false;
}

/* Whether the home the user database gives is the declared one. */
static bool same_home(const char *actual, const char *declared) {
        _cleanup_free_ char *copy = strdup(actual);
        return copy && skel_path_normalize(copy) && strcmp(copy, declared) == 0;
}

static int cmd_sysusers(Context *c) {
        SysusersTable t = {};
        unsigned seeded = 0, failed = 0;
        int r;

        r = load_home_prefixes(c);
        if (r < 0)
                return r;
        r = sysusers_load(arg_root, &t);
        if (r < 0)
                return log_error_errno(r, "cannot read sysusers.d: %m");
        for (size_t i = 0; i < t.n_entries; i++) {
                const SysusersEntry *e = &t.entries[i];
                const char *home = sysusers_entry_home(e);
                _cleanup_(user_done) User u = {};

                if (e->type != SYSUSERS_USER)
                        continue;
                if (strcmp(home, "/") == 0) {
                        printf("skipped %s: no home directory\n", e->name);
                        continue;
                }
                if (!below_prefix(home, c->home_prefixes)) {
                        printf("skipped %s: home of %s, not below /home or a HomePrefix=\n", home, e->name);
                        continue;
                }
                if (handled_before(c, home)) {
                        printf("skipped %s: home of %s too, already dealt with for an earlier user\n", home,
                               e->name);
                        continue;
                }
                r = resolve_user(c, e->name, &u);
                if (r == -ESRCH) {
                        log_warning("%s:%u: user %s is not known%s, not seeding %s", e->file, e->line, e->name,
                                    arg_root ? " in the image's /etc/passwd" : " (run systemd-sysusers first)", home);
                        printf("skipped %s: user %s unknown\n", home, e->name);
                        continue;
                }
                if (r >= 0 && !same_home(u.home, home)) {
                        /* systemd-sysusers never changes an existing user: the
                         * declared home is then nobody's. */
                        log_warning("%s:%u: user %s has the home %s, not the declared %s; not seeding it", e->file,
                                    e->line, e->name, u.home, home);
                        /* The user database's home is untrusted text: only the (sanitized) log shows it. */
                        printf("skipped %s: not the home of %s in the user database\n", home, e->name);
                        continue;
                }
                if (r >= 0)
                        r = seed_home(c, home, u.uid, u.gid, false);
                if (r < 0) {
                        printf("failed %s\n", home);
                        failed++;
                } else
                        seeded += (unsigned) r;
        }
        sysusers_table_done(&t);

        if (failed > 0)
                printf("%s%u %s, %u failed\n", arg_dry_run ? "would seed " : "", seeded,
                       arg_dry_run ? plural(seeded, "home", "homes") : "seeded", failed);
        else if (seeded == 0)
                printf("nothing to do\n");
        else if (arg_dry_run)
                printf("would seed %u %s\n", seeded, plural(seeded, "home", "homes"));
        else
                printf("seeded %u %s\n", seeded, plural(seeded, "home", "homes"));
        return failed > 0 ? -EIO : 0;
}

/* Returns 0, 1 (failure) or 2 (usage). */
static int cmd_seed(Context *c, const char *user, const char *target) {
        _cleanup_free_ char *path = strdup(target);
        _cleanup_(user_done) User u = {};
        int r;

        if (!path)
                return log_oom(), 1;
        if (strchr(user, ':')) {
                _cleanup_free_ char *copy = strdup(user);
                char *g = copy ? strchr(copy, ':') : NULL;
                uint32_t u32, g32;
                if (!copy)
                        return log_oom(), 1;
                *g++ = 0;
                if (!sysusers_parse_id(copy, &u32) || !sysusers_parse_id(g, &g32)) {
                        log_error("USER: \"%s\" is not UID:GID (0 to 4294967294, not 65535)", user);
                        return 2;
                }
                u.uid = u32;
                u.gid = g32;
        } else if (!valid_user_name(user)) {
                log_error("USER: \"%s\" is neither a user name nor UID:GID", user);
                return 2;
        } else {
                r = resolve_user(c, user, &u);
                if (r == -ESRCH)
                        log_error("%s: no such user%s", user, arg_root ? " in the image's /etc/passwd" : "");
                if (r < 0)
                        return 1;
        }
        if (!skel_path_normalize(path)) {
                log_error("TARGET: \"%s\" is not an absolute path without \"..\"", target);
                return 2;
        }
        if (strcmp(path, "/") == 0) {
                log_error("TARGET: refusing to seed /");
                return 2;
        }
        return seed_home(c, path, u.uid, u.gid, true) < 0 ? 1 : 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_ROOT = 0x100, ARG_SKEL, ARG_DRY_RUN, ARG_VERSION };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT },
                { "skel", required_argument, NULL, ARG_SKEL },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                {}
        };
        _cleanup_free_ char *prefix = NULL;
        _cleanup_close_ int root_fd = -1;
        Context c = {};
        int opt, ret;

        log_set_program("hearth-skel");
        /* Lines on stdout and warnings on stderr stay in order in a log. */
        setvbuf(stdout, NULL, _IOLBF, 0);

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hearth-skel (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                case ARG_ROOT:
                        if (optarg[0] != '/') {
                                log_error("--root: \"%s\" is not an absolute path", optarg);
                                return 2;
                        }
                        arg_root = optarg[strspn(optarg, "/")] ? optarg : NULL;
                        break;
                case ARG_SKEL:
                        if (!optarg[0]) {
                                log_error("--skel: needs a directory");
                                return 2;
                        }
                        arg_skel = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                default:
                        log_error("see hearth-skel --help");
                        return 2;
                }

        const char *cmd = optind < argc ? argv[optind] : NULL;
        int n_args = argc - optind - 1;
        if (!cmd || !((strcmp(cmd, "sysusers") == 0 && n_args == 0) || (strcmp(cmd, "seed") == 0 && n_args == 2))) {
                log_error("expected \"sysusers\" or \"seed USER TARGET\"; see hearth-skel --help");
                return 2;
        }

        size_t len = arg_root ? strlen(arg_root) : 0;
        while (len > 0 && arg_root[len - 1] == '/')
                len--;
        prefix = strndup(arg_root ?: "", len);
        if (!prefix)
                return log_oom(), 1;
        root_fd = open(arg_root ?: "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                log_error_errno(errno, "--root: cannot open %s: %m", arg_root ?: "/");
                return 1;
        }
        c = (Context) { .root_fd = root_fd, .prefix = prefix };

        if (strcmp(cmd, "sysusers") == 0)
                ret = cmd_sysusers(&c) < 0 ? 1 : 0;
        else
                ret = cmd_seed(&c, argv[optind + 1], argv[optind + 2]);

        strv_free(c.home_prefixes);
        strv_free(c.handled);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("cannot write to standard output");
                ret = 1;
        }
        return ret;
}
