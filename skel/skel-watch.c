/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearthd's inotify watch on the default skel; see skel-watch.h for what
 * it vouches for and the ordering that makes it safe. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "log.h"
#include "macro.h"
#include "skel-watch.h"
#include "skel.h"

#define DEPTH_MAX 256 /* as skel_seed() */
#define TICKET_NONE UINT64_MAX

/* Everything that changes what a seeding copies; events on children come
 * to their directory's watch. */
#define DIR_MASK                                                                                                  \
        (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |         \
         IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD)
/* A file with more names: written through one outside the skel, its
 * directory hears nothing. */
#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_MASK_ADD)
/* A source's parent: its name given to another directory or symlink. */
#define PARENT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
                     IN_ONLYDIR | IN_MASK_ADD)

typedef struct Watch {
        int wd;
        char *name; /* a source's parent: only events about this name count; NULL: all */
} Watch;

struct SkelWatch {
        char *root;
        int ifd;
        size_t max;
        Watch *watches;
        size_t n_watches, allocated;
        bool armed;
        uint64_t changes; /* events seen (and watches dropped) so far: tickets are counts */
        char *current;    /* the template a scan found current, ... */
        uint64_t current_changes; /* ... with this many changes seen before it began */
        uint64_t current_usec;
        uint64_t retry_usec; /* after a failed set-up: not before */
        /* What inotify cannot tell, as it was when set up: */
        size_t n_sources;
        const char *origin[SKEL_SOURCES_MAX];
        dev_t dev[SKEL_SOURCES_MAX];
        ino_t ino[SKEL_SOURCES_MAX];
        char *mounts; /* the lines of mountinfo at or below a source */
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int skel_watch_new(const char *root, size_t max_watches, SkelWatch **ret) {
        SkelWatch *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->ifd < 0 || (root && !(w->root = strdup(root)))) {
                int r = w->ifd < 0 ? negative_errno() : -ENOMEM;
                skel_watch_free(w);
                return r;
        }
        w->max = max_watches ?: SKEL_WATCH_MAX_DEFAULT;
        *ret = w;
        return 0;
}

static void drop(SkelWatch *w) {
        for (size_t i = 0; i < w->n_watches; i++) {
                (void) inotify_rm_watch(w->ifd, w->watches[i].wd);
                free(w->watches[i].name);
        }
        w->n_watches = 0;
        w->armed = false;
        w->current = mfree(w->current);
        w->mounts = mfree(w->mounts);
        w->n_sources = 0;
        w->changes++;
}

SkelWatch *skel_watch_free(SkelWatch *w) {
        if (!w)
                return NULL;
        if (w->ifd >= 0) {
                drop(w);
                close(w->ifd);
        }
        free(w->watches);
        free(w->root);
        free(w);
        return NULL;
}

int skel_watch_fd(const SkelWatch *w) {
        return w->ifd;
}

bool skel_watch_armed(const SkelWatch *w, size_t *ret_watches) {
        if (ret_watches)
                *ret_watches = w->n_watches;
        return w->armed;
}

static Watch *find_watch(SkelWatch *w, int wd) {
        for (size_t i = 0; i < w->n_watches; i++)
                if (w->watches[i].wd == wd)
                        return &w->watches[i];
        return NULL;
}

void skel_watch_process(SkelWatch *w) {
        char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;

        for (;;) {
                ssize_t n = read(w->ifd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n <= 0) {
                        /* Cannot know: as if it changed. */
                        changed = true;
                        break;
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        p += sizeof *ev + ev->len;
                        /* A watch gone (dropped here, or its directory
                         * deleted, which came as IN_DELETE_SELF first). */
                        if (ev->mask == IN_IGNORED)
                                continue;
                        if (!(ev->mask & IN_Q_OVERFLOW)) {
                                Watch *x = find_watch(w, ev->wd);
                                /* A source's parent: only what is done to its name. */
                                if (x && x->name && ev->len > 0 && strcmp(ev->name, x->name) != 0)
                                        continue;
                        }
                        changed = true;
                }
        }
        if (!changed)
                return;
        if (w->armed)
                log_debug("skel watch: the skel changed; the next create scans it");
        drop(w);
}

/* Watches the file or directory open as fd (by its fd: never a path that
 * could be swapped meanwhile). name: see Watch. */
static int add_watch(SkelWatch *w, int fd, uint32_t mask, const char *name) {
        char path[64];
        int wd;

        if (w->n_watches >= w->max)
                return -E2BIG;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        wd = inotify_add_watch(w->ifd, path, mask);
        if (wd < 0)
                return negative_errno();
        Watch *x = find_watch(w, wd);
        if (x) {
                /* The same inode watched twice: every event of it counts. */
                if (!name)
                        x->name = mfree(x->name);
                return 0;
        }
        if (w->n_watches == w->allocated) {
                size_t a = w->allocated ? w->allocated * 2 : 64;
                Watch *v = realloc(w->watches, a * sizeof *v);
                if (!v)
                        return -ENOMEM;
                w->watches = v;
                w->allocated = a;
        }
        w->watches[w->n_watches] = (Watch) { .wd = wd };
        if (name && !(w->watches[w->n_watches].name = strdup(name))) {
                (void) inotify_rm_watch(w->ifd, wd);
                return -ENOMEM;
        }
        w->n_watches++;
        return 0;
}

/* Only where every change is made through this kernel, so that inotify
 * hears of it. */
static int local_fs(int fd) {
        struct statfs sfs;
        if (fstatfs(fd, &sfs) < 0)
                return negative_errno();
        switch ((unsigned long) sfs.f_type) {
        case BTRFS_SUPER_MAGIC:
        case EXT4_SUPER_MAGIC:
        case XFS_SUPER_MAGIC:
        case TMPFS_MAGIC:
        case RAMFS_MAGIC:
        case OVERLAYFS_SUPER_MAGIC:
        case F2FS_SUPER_MAGIC:
        case SQUASHFS_MAGIC:
        case EROFS_SUPER_MAGIC_V1:
                return 0;
        default:
                return -EREMOTE;
        }
}

/* The directory fd (on dev) and everything below it: watched before it
 * is listed, so that what is made in it after the listing is an event. */
static int watch_dir(SkelWatch *w, int fd, dev_t parent_dev, unsigned depth) {
        struct stat st;
        DIR *d;
        int r;

        if (depth >= DEPTH_MAX)
                return -ELOOP;
        r = add_watch(w, fd, DIR_MASK, NULL);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* A mount inside the skel: its file system too. */
        if (st.st_dev != parent_dev && (r = local_fs(fd)) < 0)
                return r;
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        d = fdopendir(dfd);
        if (!d) {
                r = negative_errno();
                close(dfd);
                return r;
        }
        for (;;) {
                struct dirent *de;
                struct stat est;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = errno ? negative_errno() : 0;
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type != DT_DIR && de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (fstatat(fd, de->d_name, &est, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue; /* gone since the listing: an event */
                        r = negative_errno();
                        break;
                }
                if (S_ISREG(est.st_mode) && est.st_nlink <= 1)
                        continue;
                if (!S_ISREG(est.st_mode) && !S_ISDIR(est.st_mode))
                        continue;
                _cleanup_close_ int sub = openat(fd, de->d_name,
                                                 S_ISDIR(est.st_mode) ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                                                                      : O_PATH | O_NOFOLLOW | O_CLOEXEC);
                struct stat again;
                if (sub < 0 || fstat(sub, &again) < 0) {
                        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                                continue; /* replaced: an event */
                        r = negative_errno();
                        break;
                }
                if (again.st_ino != est.st_ino || again.st_dev != est.st_dev)
                        continue; /* replaced: an event */
                r = S_ISDIR(est.st_mode) ? watch_dir(w, sub, st.st_dev, depth + 1)
                                         : add_watch(w, sub, FILE_MASK, NULL);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

/* mountinfo's escapes (\040 for a space…) undone, in place. */
static void unescape(char *s) {
        char *o = s;
        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *o++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 4;
                } else
                        *o++ = *p++;
        }
        *o = 0;
}

static bool at_or_below(const char *path, const char *top) {
        size_t n = strlen(top);
        if (n == 1 && top[0] == '/')
                return true;
        return strncmp(path, top, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* The lines of /proc/self/mountinfo whose mount point is at or below one
 * of tops (as the kernel resolves them), concatenated: a mount made on a
 * directory of the skel, which inotify does not report. */
static int relevant_mounts(char *const *tops, size_t n, char **ret) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        char *text = NULL;
        size_t size = 0, len = 0;
        FILE *out;

        if (!f)
                return negative_errno();
        out = open_memstream(&text, &size);
        if (!out)
                return -ENOMEM;
        while (getline(&line, &len, f) > 0) {
                _cleanup_free_ char *copy = strdup(line);
                char *save = NULL, *point = NULL;
                if (!copy) {
                        fclose(out);
                        free(text);
                        return -ENOMEM;
                }
                /* ID, parent ID, major:minor, root, mount point, … */
                char *field = strtok_r(copy, " ", &save);
                for (int i = 1; field && i < 5; i++)
                        field = strtok_r(NULL, " ", &save);
                point = field;
                if (!point)
                        continue;
                unescape(point);
                for (size_t i = 0; i < n; i++)
                        if (at_or_below(point, tops[i])) {
                                fputs(line, out);
                                break;
                        }
        }
        if (fclose(out) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

/* What each source resolves to now, and the mounts on them. */
static int sources_now(SkelWatch *w, SkelSources *srcs, dev_t *dev, ino_t *ino, char **ret_mounts) {
        char *tops[SKEL_SOURCES_MAX] = {};
        int r;

        r = skel_sources_open(w->root, srcs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < srcs->n && r >= 0; i++) {
                struct stat st;
                char proc[64], buf[PATH_MAX];
                ssize_t k;

                snprintf(proc, sizeof proc, "/proc/self/fd/%d", srcs->fd[i]);
                k = readlink(proc, buf, sizeof buf - 1);
                if (fstat(srcs->fd[i], &st) < 0 || k <= 0)
                        r = negative_errno();
                else {
                        buf[k] = 0;
                        dev[i] = st.st_dev;
                        ino[i] = st.st_ino;
                        if (!(tops[i] = strdup(buf)))
                                r = -ENOMEM;
                }
        }
        if (r >= 0)
                r = relevant_mounts(tops, srcs->n, ret_mounts);
        for (size_t i = 0; i < srcs->n; i++)
                free(tops[i]);
        if (r < 0)
                skel_sources_done(srcs);
        return r;
}

static bool unchanged(SkelWatch *w) {
        _cleanup_(skel_sources_done) SkelSources srcs = {};
        _cleanup_free_ char *mounts = NULL;
        dev_t dev[SKEL_SOURCES_MAX];
        ino_t ino[SKEL_SOURCES_MAX];

        if (sources_now(w, &srcs, dev, ino, &mounts) < 0 || srcs.n != w->n_sources)
                return false;
        for (size_t i = 0; i < srcs.n; i++)
                if (srcs.origin[i] != w->origin[i] || dev[i] != w->dev[i] || ino[i] != w->ino[i])
                        return false;
        return strcmp(mounts, w->mounts) == 0;
}

/* A source's parent, for the source's name. */
static int watch_parent(SkelWatch *w, const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return 0;
        const char *name = path + (slash - dir) + 1;
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return add_watch(w, fd, PARENT_MASK, name);
}

static int arm(SkelWatch *w) {
        _cleanup_(skel_sources_done) SkelSources srcs = {};
        int r;

        r = sources_now(w, &srcs, w->dev, w->ino, &w->mounts);
        if (r < 0)
                return r;
        w->n_sources = srcs.n;
        for (size_t i = 0; i < srcs.n; i++) {
                w->origin[i] = srcs.origin[i];
                r = local_fs(srcs.fd[i]);
                if (r >= 0)
                        r = watch_parent(w, srcs.path[i]);
                if (r >= 0)
                        r = watch_dir(w, srcs.fd[i], w->dev[i], 0);
                if (r < 0)
                        return r;
        }
        w->armed = true;
        return 0;
}

void skel_watch_begin(SkelWatch *w, const char **ret_current, uint64_t *ret_ticket) {
        uint64_t now = now_usec();
        int r;

        *ret_current = NULL;
        *ret_ticket = TICKET_NONE;
        /* Every change whose call returned before now. */
        skel_watch_process(w);
        if (w->armed && !unchanged(w)) {
                log_debug("skel watch: a source of the skel resolves elsewhere now, or a mount on it changed");
                drop(w);
        }
        if (w->armed) {
                *ret_ticket = w->changes;
                if (w->current && w->current_changes == w->changes && now - w->current_usec < SKEL_WATCH_MAX_AGE_USEC)
                        *ret_current = w->current;
                return;
        }
        if (now < w->retry_usec)
                return;

        uint64_t before = w->changes;
        r = arm(w);
        if (r < 0) {
                if (r == -E2BIG)
                        log_info("skel watch: the skel needs more than %zu watches; each create scans it", w->max);
                else if (r == -EREMOTE)
                        log_info("skel watch: the skel is on a file system whose changes may be made elsewhere; "
                                 "each create scans it");
                else
                        (void) log_full_errno(LOG_INFO, r, "skel watch: cannot watch the skel (%m); each create scans it");
                drop(w);
                w->retry_usec = now + SKEL_WATCH_RETRY_USEC;
                return;
        }
        log_debug("skel watch: watching the skel (%zu watches)", w->n_watches);
        /* A change while it was set up drops it again: the ticket is old. */
        skel_watch_process(w);
        *ret_ticket = before;
}

void skel_watch_done(SkelWatch *w, uint64_t ticket, const char *token) {
        skel_watch_process(w);
        if (ticket == TICKET_NONE || !token || !w->armed || w->changes != ticket)
                return;
        char *t = strdup(token);
        if (!t)
                return;
        free(w->current);
        w->current = t;
        w->current_changes = ticket;
        w->current_usec = now_usec();
}
