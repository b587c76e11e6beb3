/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/loop.h>

#include "device-busy.h"
#include "fileio.h"
#include "macro.h"

#define MEMBERS_MAX 128 /* the device and its partitions */

/* What is looked for: block devices by number, or one file by inode. */
typedef struct Target {
        dev_t rdev[MEMBERS_MAX];
        char name[MEMBERS_MAX][NAME_MAX + 1]; /* kernel names: vdc, vdc1 */
        size_t n;
        bool file;
        dev_t file_dev;
        ino_t file_ino;
} Target;

static bool target_has_rdev(const Target *t, dev_t rdev) {
        for (size_t i = 0; i < t->n; i++)
                if (t->rdev[i] == rdev)
                        return true;
        return false;
}

static bool target_matches(const Target *t, const struct stat *st) {
        if (t->file)
                return S_ISREG(st->st_mode) && st->st_dev == t->file_dev && st->st_ino == t->file_ino;
        return S_ISBLK(st->st_mode) && target_has_rdev(t, st->st_rdev);
}

/* A sysfs attribute's first line, or "" if it cannot be read. */
static void sysfs_line(const char *path, char *buf, size_t size) {
        _cleanup_free_ char *text = NULL;
        buf[0] = 0;
        if (read_file_bounded(path, 4096, &text, NULL) >= 0) {
                text[strcspn(text, "\n")] = 0;
                snprintf(buf, size, "%s", text);
        }
}

static int target_add(Target *t, dev_t rdev, const char *name) {
        if (t->n >= MEMBERS_MAX)
                return -E2BIG;
        t->rdev[t->n] = rdev;
        snprintf(t->name[t->n], sizeof t->name[t->n], "%s", name);
        t->n++;
        return 0;
}

/* The device and, if it is a whole disk, its partitions. */
static int target_block(const char *node, Target *t) {
        char sys[64], real[PATH_MAX];
        struct stat st;

        *t = (Target) {};
        if (stat(node, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
        if (!realpath(sys, real))
                return negative_errno();
        int r = target_add(t, st.st_rdev, strrchr(real, '/') + 1);
        if (r < 0)
                return r;
        _cleanup_dir_ DIR *d = opendir(real);
        if (!d)
                return negative_errno();
        for (struct dirent *e; (e = readdir(d));) {
                char path[PATH_MAX + NAME_MAX + 16], dev[32];
                unsigned maj, min;
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s/partition", real, e->d_name);
                if (access(path, F_OK) < 0)
                        continue;
                snprintf(path, sizeof path, "%s/%s/dev", real, e->d_name);
                sysfs_line(path, dev, sizeof dev);
                if (sscanf(dev, "%u:%u", &maj, &min) == 2 && (r = target_add(t, makedev(maj, min), e->d_name)) < 0)
                        return r;
        }
        return 0;
}

/* A device-mapper holder is best named by its mapping. */
static void describe_holder(const char *holder, char *why, size_t size) {
        char path[PATH_MAX], dm[128];
        snprintf(path, sizeof path, "/sys/class/block/%s/dm/name", holder);
        sysfs_line(path, dm, sizeof dm);
        if (dm[0])
                snprintf(why, size, "held by %s (/dev/mapper/%s)", holder, dm);
        else
                snprintf(why, size, "held by %s", holder);
}

static int check_holders(const Target *t, char *why, size_t size) {
        for (size_t i = 0; i < t->n; i++) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/holders", major(t->rdev[i]), minor(t->rdev[i]));
                _cleanup_dir_ DIR *d = opendir(path);
                if (!d)
                        continue; /* no holders directory: nothing can hold it */
                for (struct dirent *e; (e = readdir(d));) {
                        if (e->d_name[0] == '.')
                                continue;
                        char holder[NAME_MAX * 2 + 64];
                        describe_holder(e->d_name, holder, sizeof holder);
                        if (i == 0)
                                snprintf(why, size, "%s", holder);
                        else
                                snprintf(why, size, "its partition %s is %s", t->name[i], holder);
                        return 1;
                }
        }
        return 0;
}

/* Loop devices are no holders: the one on the device (or the file) is
 * found by its backing file, by path (sysfs) and by inode (the kernel's
 * own record, which a renamed or deleted path does not change). */
static int check_loops(const Target *t, const char *except, char *why, size_t size) {
        _cleanup_dir_ DIR *d = opendir("/sys/block");
        if (!d)
                return negative_errno();
        for (struct dirent *e; (e = readdir(d));) {
                char path[PATH_MAX], backing[PATH_MAX], node[NAME_MAX + 8];
                struct stat st;
                bool found = false;

                if (strncmp(e->d_name, "loop", 4) != 0)
                        continue;
                snprintf(node, sizeof node, "/dev/%s", e->d_name);
                if (except && strcmp(node, except) == 0)
                        continue;
                snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", e->d_name);
                sysfs_line(path, backing, sizeof backing);
                if (!backing[0])
                        continue; /* not bound */
                char *deleted = strstr(backing, " (deleted)");
                if (deleted && !deleted[strlen(" (deleted)")])
                        *deleted = 0;
                found = stat(backing, &st) == 0 && target_matches(t, &st);

                _cleanup_close_ int fd = found ? -1 : open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                struct loop_info64 info;
                if (fd >= 0 && ioctl(fd, LOOP_GET_STATUS64, &info) == 0) {
                        if (t->file)
                                found = info.lo_device == (uint64_t) t->file_dev && info.lo_inode == (uint64_t) t->file_ino;
                        else
                                found = info.lo_rdevice != 0 && target_has_rdev(t, (dev_t) info.lo_rdevice);
                }
                if (found) {
                        snprintf(why, size, "backs the loop device %s", node);
                        return 1;
                }
        }
        return 0;
}

/* Mount points are octal-escaped in mountinfo; enough to name one. */
static int check_mounts(const Target *t, char *why, size_t size) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        if (!f)
                return negative_errno();
        while (getline(&line, &n, f) > 0) {
                unsigned maj, min;
                char where[PATH_MAX], source[PATH_MAX] = "";
                struct stat st;
                if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, where) != 3)
                        continue;
                const char *sep = strstr(line, " - ");
                if (sep)
                        (void) sscanf(sep, " - %*s %4095s", source);
                /* btrfs reports an anonymous device number: its source names the device. */
                if (target_has_rdev(t, makedev(maj, min)) ||
                    (source[0] == '/' && stat(source, &st) == 0 && target_matches(t, &st))) {
                        snprintf(why, size, "mounted on %s", where);
                        return 1;
                }
        }
        return 0;
}

static int check_processes(const Target *t, char *why, size_t size) {
        _cleanup_dir_ DIR *proc = opendir("/proc");
        if (!proc)
                return negative_errno();
        for (struct dirent *e; (e = readdir(proc));) {
                char *end, path[64], comm[64];
                long pid = strtol(e->d_name, &end, 10);
                if (pid <= 0 || *end || pid == getpid())
                        continue;
                snprintf(path, sizeof path, "/proc/%ld/comm", pid);
                sysfs_line(path, comm, sizeof comm);
                /* udev probes every device that changes, and lets go. */
                if (strcmp(comm, "systemd-udevd") == 0 || strcmp(comm, "(udev-worker)") == 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%ld/fd", pid);
                _cleanup_dir_ DIR *fds = opendir(path);
                if (!fds)
                        continue; /* gone, or a kernel thread */
                for (struct dirent *f; (f = readdir(fds));) {
                        struct stat st;
                        if (f->d_name[0] == '.' || fstatat(dirfd(fds), f->d_name, &st, 0) < 0)
                                continue;
                        if (target_matches(t, &st)) {
                                snprintf(why, size, "open in process %ld (%s)", pid, comm[0] ? comm : "?");
                                return 1;
                        }
                }
        }
        return 0;
}

int device_busy(const char *node, const char *except, char *why, size_t why_size) {
        Target t;
        int r = target_block(node, &t);
        if (r < 0)
                return r;
        r = check_holders(&t, why, why_size);
        if (r == 0)
                r = check_loops(&t, except, why, why_size);
        if (r == 0)
                r = check_mounts(&t, why, why_size);
        if (r == 0)
                r = check_processes(&t, why, why_size);
        return r;
}

int image_file_busy(const char *path, const char *except, char *why, size_t why_size) {
        Target t = { .file = true };
        struct stat st;
        if (stat(path, &st) < 0)
                return negative_errno();
        t.file_dev = st.st_dev;
        t.file_ino = st.st_ino;
        int r = check_loops(&t, except, why, why_size);
        if (r == 0)
                r = check_processes(&t, why, why_size);
        return r;
}
