/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kernel-exports.h"
#include "macro.h"

#define CONFIGFS_MAGIC 0x62656570

/* A configfs attribute's text (at most size - 1 bytes), or "". */
static void read_attr(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
        buf[n > 0 ? n : 0] = 0;
}

static bool attr_is_one(const char *path) {
        char v[8];
        read_attr(path, v, sizeof v);
        return v[0] == '1';
}

static bool is_dir(int dfd, const struct dirent *e) {
        struct stat st;
        if (e->d_name[0] == '.')
                return false;
        return fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* LIO: core/fileio_N/NAME/info says "… File: PATH  Size: …". */
static int lio_fileio(int (*fn)(const char *, const char *, void *), void *userdata) {
        const char *core = KERNEL_EXPORTS_CONFIGFS "/target/core";
        _cleanup_dir_ DIR *d = opendir(core);
        if (!d)
                return 0;
        for (struct dirent *hba; (hba = readdir(d));) {
                if (strncmp(hba->d_name, "fileio_", 7) != 0 || !is_dir(dirfd(d), hba))
                        continue;
                char hba_path[PATH_MAX];
                snprintf(hba_path, sizeof hba_path, "%s/%s", core, hba->d_name);
                _cleanup_dir_ DIR *h = opendir(hba_path);
                for (struct dirent *dev; h && (dev = readdir(h));) {
                        char path[PATH_MAX * 2], info[PATH_MAX + 512], what[NAME_MAX * 2 + 16];
                        if (!is_dir(dirfd(h), dev))
                                continue;
                        snprintf(path, sizeof path, "%s/%s/enable", hba_path, dev->d_name);
                        if (!attr_is_one(path))
                                continue; /* not opened until enabled */
                        snprintf(path, sizeof path, "%s/%s/info", hba_path, dev->d_name);
                        read_attr(path, info, sizeof info);
                        char *file = strstr(info, "File: ");
                        if (!file)
                                continue;
                        file += 6;
                        char *end = strstr(file, "  Size:");
                        if (end)
                                *end = 0;
                        file[strcspn(file, "\n")] = 0;
                        snprintf(what, sizeof what, "LIO %s/%s", hba->d_name, dev->d_name);
                        int r = fn(file, what, userdata);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

/* nvmet: subsystems/NQN/namespaces/N/device_path. */
static int nvmet(int (*fn)(const char *, const char *, void *), void *userdata) {
        const char *subs = KERNEL_EXPORTS_CONFIGFS "/nvmet/subsystems";
        _cleanup_dir_ DIR *d = opendir(subs);
        if (!d)
                return 0;
        for (struct dirent *sub; (sub = readdir(d));) {
                if (!is_dir(dirfd(d), sub))
                        continue;
                char ns_dir[PATH_MAX];
                snprintf(ns_dir, sizeof ns_dir, "%s/%s/namespaces", subs, sub->d_name);
                _cleanup_dir_ DIR *n = opendir(ns_dir);
                for (struct dirent *ns; n && (ns = readdir(n));) {
                        char path[PATH_MAX * 2], dev[PATH_MAX], what[NAME_MAX * 2 + 64];
                        if (!is_dir(dirfd(n), ns))
                                continue;
                        snprintf(path, sizeof path, "%s/%s/enable", ns_dir, ns->d_name);
                        if (!attr_is_one(path))
                                continue;
                        snprintf(path, sizeof path, "%s/%s/device_path", ns_dir, ns->d_name);
                        read_attr(path, dev, sizeof dev);
                        dev[strcspn(dev, "\n")] = 0;
                        if (!dev[0])
                                continue;
                        snprintf(what, sizeof what, "the NVMe target's %s, namespace %s", sub->d_name, ns->d_name);
                        int r = fn(dev, what, userdata);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

int kernel_exports_foreach(int (*fn)(const char *path, const char *what, void *userdata), void *userdata) {
        struct statfs sf;
        bool loaded = access("/sys/module/target_core_file", F_OK) == 0 || access("/sys/module/nvmet", F_OK) == 0;
        if (statfs(KERNEL_EXPORTS_CONFIGFS, &sf) < 0 || sf.f_type != CONFIGFS_MAGIC)
                return loaded ? -EUCLEAN : 0;
        int r = lio_fileio(fn, userdata);
        if (r == 0)
                r = nvmet(fn, userdata);
        return r;
}
