/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "macro.h"
#include "mountinfo.h"
#include "open-in-root.h"
#include "overlay-layers.h"

static int layers_add(char ***layers, size_t *n, const char *s, size_t len) {
        if (*n >= OVERLAY_LAYERS_MAX)
                return -E2BIG;
        char **more = reallocarray(*layers, *n + 2, sizeof(char *));
        if (!more)
                return -ENOMEM;
        *layers = more;
        more[*n] = strndup(s, len);
        if (!more[*n])
                return -ENOMEM;
        more[++*n] = NULL;
        return 0;
}

/* lowerdir='s list: "a:b::c", a ':' in a name escaped as "\:", and any
 * character after a '\' taken as it is. An empty element is the "::"
 * before the data-only layers. */
static int lowerdir_split(const char *list, char ***layers, size_t *n) {
        _cleanup_free_ char *name = malloc(strlen(list) + 1);
        size_t len = 0;
        if (!name)
                return -ENOMEM;
        for (const char *p = list;; p++) {
                if (*p == '\\' && p[1]) {
                        name[len++] = *++p;
                        continue;
                }
                if (*p && *p != ':') {
                        name[len++] = *p;
                        continue;
                }
                if (len > 0) {
                        name[len] = 0;
                        int r = layers_add(layers, n, name, len);
                        if (r < 0)
                                return r;
                }
                len = 0;
                if (!*p)
                        return 0;
        }
}

int overlay_options_parse(const char *opts, bool metacopy_default, char ***ret_layers, bool *ret_metacopy) {
        _cleanup_free_ char *copy = strdup(opts);
        _cleanup_strv_free_ char **layers = NULL;
        size_t n = 0;
        bool metacopy = metacopy_default;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        /* A ',' in a value is escaped (\054): the options split at each. */
        for (char *o = copy, *next; o && r >= 0; o = next) {
                next = strchr(o, ',');
                if (next)
                        *next++ = 0;
                o[strcspn(o, "\n")] = 0;
                mountinfo_unescape(o);
                char *eq = strchr(o, '=');
                if (!eq) {
                        /* "lowerdir+" without a value: a layer given by descriptor, say */
                        if (strcmp(o, "lowerdir+") == 0 || strcmp(o, "datadir+") == 0 || strcmp(o, "upperdir") == 0)
                                r = layers_add(&layers, &n, "", 0);
                        continue;
                }
                *eq = 0;
                const char *v = eq + 1;
                if (strcmp(o, "lowerdir") == 0)
                        r = lowerdir_split(v, &layers, &n);
                else if (strcmp(o, "lowerdir+") == 0 || strcmp(o, "datadir+") == 0 || strcmp(o, "upperdir") == 0)
                        r = layers_add(&layers, &n, v, strlen(v));
                else if (strcmp(o, "metacopy") == 0)
                        metacopy = strcmp(v, "off") != 0;
        }
        if (r < 0)
                return r;
        if (!layers && (r = layers_add(&layers, &n, "", 0)) < 0)
                return r; /* no layer named: none can be looked at */
        *ret_layers = TAKE_PTR(layers);
        *ret_metacopy = metacopy;
        return 0;
}

static bool metacopy_by_default(void) {
        char c = 'N';
        _cleanup_close_ int fd = open("/sys/module/overlay/parameters/metacopy", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && read(fd, &c, 1) != 1)
                c = 'Y'; /* unreadable: as if on */
        return c == 'Y' || c == 'y' || c == '1';
}

#define WALK_DEPTH_MAX 256

/* 1 if an entry below dfd (a directory; the file system's own tree, no
 * mount on it followed, as overlayfs follows none in a layer) is the file,
 * 0 if none is; -E2BIG when the walk's entries are spent, -ELOOP too deep. */
static int walk_for(int dfd, unsigned depth, dev_t dev, ino_t ino, OverlayWalk *walk) {
        struct stat dst;
        if (depth > WALK_DEPTH_MAX)
                return -ELOOP;
        if (fstat(dfd, &dst) < 0)
                return -errno;
        _cleanup_dir_ DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -errno;
        }
        for (struct dirent *e; (errno = 0, e = readdir(d));) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (walk->entries_left == 0)
                        return -E2BIG;
                walk->entries_left--;
                if (dst.st_dev == dev && e->d_ino == ino && e->d_type != DT_DIR)
                        return 1;
                if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
                        continue;
                int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
                if (sub < 0 && errno == EPERM)
                        sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT)
                                continue; /* not a directory (DT_UNKNOWN), or gone */
                        return -errno;
                }
                struct statx stx;
                if (statx(sub, "", AT_EMPTY_PATH, 0, &stx) == 0 && (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
                        close(sub);
                        continue;
                }
                int r = walk_for(sub, depth + 1, dev, ino, walk);
                if (r != 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

static bool walked_before(OverlayWalk *walk, const struct stat *st) {
        for (size_t i = 0; i < walk->n_walked; i++)
                if (walk->walked[i].dev == st->st_dev && walk->walked[i].ino == st->st_ino)
                        return true;
        if (walk->n_walked < OVERLAY_WALKED_MAX) {
                walk->walked[walk->n_walked].dev = st->st_dev;
                walk->walked[walk->n_walked].ino = st->st_ino;
                walk->n_walked++;
        }
        return false;
}

/* Whether a layer on another device than the file may still hold it: a
 * btrfs file system shows each subvolume under a device number of its
 * own, and a layer's tree reaches into nested ones. */
static bool may_reach_other_device(int layer_fd, dev_t dev) {
        struct statfs lsf;
        struct stat st;
        char node[64];
        if (fstatfs(layer_fd, &lsf) < 0 || lsf.f_type != BTRFS_SUPER_MAGIC)
                return false;
        /* The file is on btrfs too: its device number is anonymous (0:N). */
        snprintf(node, sizeof node, "/sys/dev/block/%u:%u", major(dev), minor(dev));
        return major(dev) == 0 && stat(node, &st) < 0;
}

int overlay_layers_hold(const char *opts, int root_fd, dev_t dev, ino_t ino, OverlayWalk *walk, char *why,
                        size_t why_size) {
        _cleanup_strv_free_ char **layers = NULL;
        bool metacopy;
        int r = overlay_options_parse(opts, metacopy_by_default(), &layers, &metacopy);
        if (r == -E2BIG) {
                snprintf(why, why_size, "more than %d layers", OVERLAY_LAYERS_MAX);
                return 1;
        }
        if (r < 0)
                return r;
        if (!metacopy)
                return 0;
        for (char **l = layers; *l; l++) {
                if ((*l)[0] != '/') {
                        snprintf(why, why_size, "a layer it names as \"%s\" cannot be looked up", *l);
                        return 1;
                }
                int fd = open_in_root(root_fd, *l, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0) {
                        if (fd >= 0)
                                close(fd);
                        snprintf(why, why_size, "its layer %s cannot be looked at", *l);
                        return 1;
                }
                if ((st.st_dev != dev && !may_reach_other_device(fd, dev)) || walked_before(walk, &st)) {
                        close(fd);
                        continue;
                }
                r = walk_for(fd, 0, dev, ino, walk);
                if (r > 0)
                        snprintf(why, why_size, "it is a file of its layer %s", *l);
                else if (r < 0)
                        snprintf(why, why_size, "its layer %s cannot be searched for it (%s)", *l, strerror(-r));
                if (r != 0)
                        return 1;
        }
        return 0;
}
