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
#include "dm-table.h"
#include "file-alias.h"
#include "kernel-exports.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "mountinfo.h"
#include "overlay-layers.h"
#include "sysfs-block.h"

/* What is looked for: block devices by number, or one file by inode. A
 * partition's bytes are also reached through its disk and through any
 * partition of the disk that overlaps it (a hostile table may declare
 * such): those are "reach", each with its range on the disk, and the
 * partition's own range is [disk_start, disk_end). */
typedef struct Target {
        BlockMember m[BLOCK_MEMBERS_MAX];
        size_t n;
        BlockMember reach[BLOCK_MEMBERS_MAX];
        size_t n_reach;
        BlockMember disk; /* for a partition, its disk (devnum 0 otherwise) */
        uint64_t disk_start, disk_end;
        bool file;
        FileId file_id;
        const char *file_path; /* for a file: a path that names it, or NULL */
} Target;

static const BlockMember *target_find(const Target *t, dev_t rdev, bool *ret_reach) {
        for (size_t i = 0; i < t->n; i++)
                if (t->m[i].devnum == rdev) {
                        *ret_reach = false;
                        return &t->m[i];
                }
        for (size_t i = 0; i < t->n_reach; i++)
                if (t->reach[i].devnum == rdev) {
                        *ret_reach = true;
                        return &t->reach[i];
                }
        return NULL;
}

static bool target_has_rdev(const Target *t, dev_t rdev) {
        bool reach;
        return target_find(t, rdev, &reach);
}

/* Whether bytes [off, off + len) of block device rdev are bytes of the
 * target (len 0: to the end). */
static bool target_reached(const Target *t, dev_t rdev, uint64_t off, uint64_t len) {
        bool reach;
        const BlockMember *b = target_find(t, rdev, &reach);
        if (!b)
                return false;
        if (!reach)
                return true; /* the device or one of its partitions: any of its bytes */
        uint64_t end = len == 0 || len > b->size || off > b->size - len ? b->size : off + len;
        if (off >= end)
                return false;
        return b->start + off < t->disk_end && t->disk_start < b->start + end;
}

/* st as reached at path (NULL: no path reaches it), for a file's other
 * identities (file-alias.h). */
static bool target_matches(const Target *t, const struct stat *st, const char *path) {
        if (t->file)
                return file_may_be(&t->file_id, st, path);
        return S_ISBLK(st->st_mode) && target_has_rdev(t, st->st_rdev);
}

/* The device and, if it is a whole disk, its partitions; if it is a
 * partition, what else on its disk holds its bytes. */
static int target_block(const char *node, Target *t) {
        _cleanup_free_ BlockMember *on_disk = NULL;
        BlockMember disk;
        struct stat st;
        uint64_t start, size;
        size_t n;
        int r;

        *t = (Target) {};
        if (stat(node, &st) < 0)
                return negative_errno();
        if (!S_ISBLK(st.st_mode))
                return -ENOTBLK;
        r = block_device_members(st.st_rdev, t->m, &t->n);
        if (r < 0)
                return r;
        r = block_device_on_disk(st.st_rdev, &disk, &start, &size);
        if (r < 0)
                return r;
        if (disk.devnum == st.st_rdev)
                return 0;
        t->disk = disk;
        t->disk_start = start;
        t->disk_end = start + size;
        on_disk = calloc(BLOCK_MEMBERS_MAX, sizeof *on_disk);
        if (!on_disk)
                return -ENOMEM;
        r = block_device_members(disk.devnum, on_disk, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const BlockMember *b = &on_disk[i];
                if (b->devnum != st.st_rdev && b->start < t->disk_end && t->disk_start < b->start + b->size)
                        t->reach[t->n_reach++] = *b;
        }
        return 0;
}

/* A device-mapper holder is best named by its mapping. */
static void describe_holder(const char *holder, char *why, size_t size) {
        char path[PATH_MAX], dm[128];
        snprintf(path, sizeof path, "/sys/class/block/%s/dm/name", holder);
        sysfs_read_line(path, dm, sizeof dm);
        if (dm[0])
                snprintf(why, size, "held by %s (/dev/mapper/%s)", holder, dm);
        else
                snprintf(why, size, "held by %s", holder);
}

static int check_holders(const Target *t, char *why, size_t size) {
        for (size_t i = 0; i < t->n + t->n_reach; i++) {
                const BlockMember *b = i < t->n ? &t->m[i] : &t->reach[i - t->n];
                char path[PATH_MAX];
                snprintf(path, sizeof path, "/sys/dev/block/%u:%u/holders", major(b->devnum), minor(b->devnum));
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
                        else if (i < t->n)
                                snprintf(why, size, "its partition %s is %s", b->name, holder);
                        else
                                snprintf(why, size, "%s, which holds its bytes, is %s", b->name, holder);
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
                sysfs_read_line(path, backing, sizeof backing);
                if (!backing[0])
                        continue; /* not bound */
                char *deleted = strstr(backing, " (deleted)");
                if (deleted && !deleted[strlen(" (deleted)")])
                        *deleted = 0;
                /* A loop device over the disk a partition is on reaches the
                 * partition only within its offset and size limit: the
                 * kernel's record below tells. */
                bool reach = false;
                bool named = stat(backing, &st) == 0;
                found = named && target_matches(t, &st, backing) &&
                        (t->file || (target_find(t, st.st_rdev, &reach) && !reach));

                _cleanup_close_ int fd = found ? -1 : open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                struct loop_info64 info;
                if (fd >= 0 && ioctl(fd, LOOP_GET_STATUS64, &info) == 0) {
                        if (t->file) {
                                /* A loop device over a file on FUSE, NFS, 9p… (root's
                                 * doing) is perhaps any file: counted. */
                                FileId lo = { .dev = (dev_t) info.lo_device, .ino = (ino_t) info.lo_inode };
                                lo.alias = loop_file_alias(e->d_name, lo.dev, lo.ino, NULL);
                                found = file_ids_may_match(&t->file_id, &lo);
                        } else
                                found = info.lo_rdevice != 0 &&
                                        target_reached(t, (dev_t) info.lo_rdevice, info.lo_offset, info.lo_sizelimit);
                }
                if (found) {
                        snprintf(why, size, "backs the loop device %s", node);
                        return 1;
                }
        }
        return 0;
}

/* Whether a failure to look into /proc/PID means "cannot tell": not
 * allowed (another user's or a non-dumpable process, without
 * CAP_SYS_PTRACE), as opposed to gone (it exited). */
static bool errno_denied(int e) {
        return e == EACCES || e == EPERM;
}

/* The erofs file systems mounted from a regular file that was found and
 * is not the target, by device number: those the check could account for. */
#define EROFS_SEEN_MAX 256
/* And where an image mounted with fsoffset= (Linux 6.16: a header of its
 * own before the file system) has its superblock: 1024 bytes past it. */
#define EROFS_OFFSETS_MAX 16
typedef struct ErofsSeen {
        dev_t dev[EROFS_SEEN_MAX];
        size_t n;
        uint64_t offset[EROFS_OFFSETS_MAX];
        size_t n_offsets;
        bool offsets_overflow;
} ErofsSeen;

static void erofs_seen_add(ErofsSeen *e, dev_t dev) {
        for (size_t i = 0; i < e->n; i++)
                if (e->dev[i] == dev)
                        return;
        if (e->n < EROFS_SEEN_MAX)
                e->dev[e->n++] = dev; /* beyond: unaccounted, which fails closed */
}

/* The fsoffset= among an erofs mount's super options (mountinfo's last
 * field, after fstype and source). */
static void erofs_offset_add(ErofsSeen *e, const char *after_separator) {
        char fstype[64], source[PATH_MAX], opts[PATH_MAX];
        if (sscanf(after_separator, " - %63s %4095s %4095s", fstype, source, opts) != 3)
                return;
        for (char *o = opts, *next; o; o = next) {
                next = strchr(o, ',');
                if (next)
                        *next++ = 0;
                if (strncmp(o, "fsoffset=", 9) != 0)
                        continue;
                char *end;
                errno = 0;
                unsigned long long off = strtoull(o + 9, &end, 0);
                if (errno || *end || o[9] == 0 || off > UINT64_MAX - 1024) {
                        e->offsets_overflow = true; /* cannot tell where: any file is perhaps it */
                        continue;
                }
                bool known = false;
                for (size_t i = 0; i < e->n_offsets && !known; i++)
                        known = e->offset[i] == off;
                if (known)
                        continue;
                if (e->n_offsets < EROFS_OFFSETS_MAX)
                        e->offset[e->n_offsets++] = off;
                else
                        e->offsets_overflow = true;
        }
}

/* How many erofs file systems the kernel has mounted from something other
 * than a block device (a file, since Linux 6.12): each has an entry in
 * /sys/fs/erofs named other than a block device, in whichever mount
 * namespace it is, whatever its source now names. */
static size_t erofs_file_mounts(void) {
        _cleanup_dir_ DIR *d = opendir("/sys/fs/erofs");
        size_t n = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
                char path[NAME_MAX + 32];
                if (e->d_name[0] == '.' || strcmp(e->d_name, "features") == 0)
                        continue;
                snprintf(path, sizeof path, "/sys/class/block/%s", e->d_name);
                if (access(path, F_OK) < 0)
                        n++;
        }
        return n;
}

static bool erofs_magic_at(int fd, uint64_t offset) {
        uint8_t magic[4];
        if (pread(fd, magic, sizeof magic, (off_t) (offset + 1024)) != (ssize_t) sizeof magic)
                return false;
        return magic[0] == 0xe2 && magic[1] == 0xe1 && magic[2] == 0xf5 && magic[3] == 0xe0;
}

/* Whether the file carries an erofs superblock (magic at 1024, or 1024
 * past any fsoffset= a mount uses), or cannot be read to tell. */
static bool file_is_erofs(const char *path, const ErofsSeen *e) {
        if (!path || e->offsets_overflow)
                return true;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return true;
        if (erofs_magic_at(fd, 0))
                return true;
        for (size_t i = 0; i < e->n_offsets; i++)
                if (erofs_magic_at(fd, e->offset[i]))
                        return true;
        return false;
}

/* The mounts of one mount namespace, through a process in it (proc_dir:
 * /proc/PID, or /proc/self). A source is looked up under the process's
 * root, where it names what it names. Trusted are only the sources of
 * file systems that no user can mount (in a user namespace) with a source
 * of her choosing: btrfs (whose device number is anonymous: its source
 * names the device) and erofs (since Linux 6.12, a regular file mounted
 * without a loop device; what composefs does). A FUSE mount's source
 * (fsname=) may name any device or file. */
/* mountinfo's super options: the field after fstype and source. */
static const char *super_options(const char *sep) {
        const char *p = sep + 3;
        for (int field = 0; field < 2; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return NULL;
                p++;
        }
        return p;
}

/* A file of a layer of a metacopy overlay is read by whoever reads the
 * overlay, under other numbers (overlay-layers.h). */
static int check_overlay(const Target *t, const char *proc_dir, const char *sep, const char *where,
                         const char *ns_name, OverlayWalk *walk, char *why, size_t size) {
        char path[PATH_MAX], reason[PATH_MAX + 128] = "", at[PATH_MAX];
        const char *opts = super_options(sep);
        if (!opts)
                return 0;
        snprintf(path, sizeof path, "%s/root", proc_dir);
        _cleanup_close_ int root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return errno == ENOENT || errno == ESRCH ? 0 : negative_errno();
        int r = overlay_layers_hold(opts, root_fd, t->file_id.dev, t->file_id.ino, walk, reason, sizeof reason);
        if (r <= 0)
                return r;
        snprintf(at, sizeof at, "%s", where);
        mountinfo_unescape(at);
        snprintf(why, size,
                 "the overlay mounted on %s%s uses metacopy (it reads its layers' files under other files' numbers: "
                 "who reads them cannot be told), and %s",
                 at, ns_name, reason);
        return 1;
}

static int check_mounts_of(const Target *t, const char *proc_dir, const char *ns_name, ErofsSeen *erofs,
                           OverlayWalk *walk, char *why, size_t size) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/mountinfo", proc_dir);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        if (!f)
                return errno == ENOENT || errno == ESRCH || errno_denied(errno) ? 0 : negative_errno();
        while (getline(&line, &n, f) > 0) {
                unsigned maj, min;
                char where[PATH_MAX], fstype[64] = "", source[PATH_MAX] = "", at[PATH_MAX + 64];
                struct stat st;
                if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, where) != 3)
                        continue;
                const char *sep = strstr(line, " - ");
                if (sep)
                        (void) sscanf(sep, " - %63s %4095s", fstype, source);
                mountinfo_unescape(source);
                bool found = target_has_rdev(t, makedev(maj, min));
                if (t->file && sep && strcmp(fstype, "overlay") == 0) {
                        int r = check_overlay(t, proc_dir, sep, where, ns_name, walk, why, size);
                        if (r != 0)
                                return r;
                }
                bool erofs_file = t->file && strcmp(fstype, "erofs") == 0;
                if (erofs_file)
                        erofs_offset_add(erofs, sep);
                /* A source in /proc (an fd of the mounter's) names nothing here. */
                if (!found && source[0] == '/' && strncmp(source, "/proc/", 6) != 0 &&
                    (strcmp(fstype, "btrfs") == 0 || erofs_file)) {
                        snprintf(at, sizeof at, "%s/root%s", proc_dir, source);
                        bool named = stat(at, &st) == 0;
                        found = named && target_matches(t, &st, at);
                        if (named && !found && erofs_file && S_ISREG(st.st_mode))
                                erofs_seen_add(erofs, makedev(maj, min));
                }
                if (found) {
                        mountinfo_unescape(where);
                        snprintf(why, size, "mounted on %s%s", where, ns_name);
                        return 1;
                }
        }
        return 0;
}

/* Mounted in this mount namespace, or in any other (through each
 * namespace's first process); for a file, also mounted where no mount
 * table shows it (/sys/fs/erofs counts them all). */
static int check_mounts(const Target *t, char *why, size_t size) {
        _cleanup_free_ ino_t *seen = NULL;
        size_t n_seen = 0, cap = 0;
        struct stat ns;

        ErofsSeen erofs = {};
        _cleanup_free_ OverlayWalk *walk = calloc(1, sizeof *walk);
        if (!walk)
                return -ENOMEM;
        walk->entries_left = OVERLAY_WALK_ENTRIES_MAX;
        int r = check_mounts_of(t, "/proc/self", "", &erofs, walk, why, size);
        if (r != 0)
                return r;
        if (stat("/proc/self/ns/mnt", &ns) < 0)
                return negative_errno();
        _cleanup_dir_ DIR *proc = opendir("/proc");
        if (!proc)
                return negative_errno();
        for (struct dirent *e; (e = readdir(proc));) {
                char *end, dir[64], ns_name[96];
                long pid = strtol(e->d_name, &end, 10);
                if (pid <= 0 || *end)
                        continue;
                snprintf(dir, sizeof dir, "/proc/%ld/ns/mnt", pid);
                struct stat st;
                if (stat(dir, &st) < 0 || st.st_ino == ns.st_ino)
                        continue; /* gone, or not to be looked into (the process check counts it) */
                bool known = false;
                for (size_t i = 0; i < n_seen && !known; i++)
                        known = seen[i] == st.st_ino;
                if (known)
                        continue;
                if (n_seen == cap) {
                        ino_t *more = reallocarray(seen, cap ? cap * 2 : 16, sizeof *seen);
                        if (!more)
                                return -ENOMEM;
                        seen = more;
                        cap = cap ? cap * 2 : 16;
                }
                seen[n_seen++] = st.st_ino;
                snprintf(dir, sizeof dir, "/proc/%ld", pid);
                snprintf(ns_name, sizeof ns_name, " in the mount namespace of process %ld", pid);
                r = check_mounts_of(t, dir, ns_name, &erofs, walk, why, size);
                if (r != 0)
                        return r;
        }
        /* An image mounted as a file that no mount table here accounts
         * for is perhaps this one; and as a mount's source names a file only
         * by the name it had (another file may carry it now), any erofs
         * image is perhaps one of those mounted as files. */
        size_t erofs_files = t->file ? erofs_file_mounts() : 0;
        if (erofs_files > 0 && (erofs_files > erofs.n || file_is_erofs(t->file_path, &erofs))) {
                snprintf(why, size,
                         "an erofs image is mounted as a file, and which file cannot be told (a mount names it by "
                         "the name it had; renamed or deleted, mounted through a descriptor, or in a mount namespace "
                         "no process shows): perhaps this one");
                return 1;
        }
        return 0;
}

/* 1 if an entry of dir (fds or mapped files: magic links, stat()ed
 * through) is the target, -EACCES if the process may not be looked into.
 * path: the directory's path, for a file's file system. */
static int dir_has_target(int procfd, const char *dir, const char *path, const Target *t) {
        _cleanup_close_ int dfd = openat(procfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno_denied(errno) ? -EACCES : 0; /* else gone, or a kernel thread */
        _cleanup_dir_ DIR *d = fdopendir(dfd);
        if (!d)
                return 0;
        dfd = -1;
        for (struct dirent *f; (f = readdir(d));) {
                struct stat st;
                if (f->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(d), f->d_name, &st, 0) < 0) {
                        if (errno_denied(errno))
                                return -EACCES;
                        continue; /* closed meanwhile, or a socket's dangling link */
                }
                char at[PATH_MAX];
                snprintf(at, sizeof at, "%s/%s", path, f->d_name);
                if (target_matches(t, &st, at))
                        return 1;
        }
        return 0;
}

/* Open in any thread's file table (a thread may have unshared its own),
 * or mapped into memory (the fd it was mapped with since closed). 1 if so,
 * -EACCES if it cannot be told. */
static int process_uses(int procfd, long pid, const Target *t) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
        int r = dir_has_target(procfd, "fd", path, t);
        if (r == 0) {
                snprintf(path, sizeof path, "/proc/%ld/map_files", pid);
                r = dir_has_target(procfd, "map_files", path, t);
        }
        if (r != 0)
                return r;
        _cleanup_close_ int tfd = openat(procfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_dir_ DIR *tasks = tfd >= 0 ? fdopendir(tfd) : NULL;
        if (!tasks)
                return 0;
        tfd = -1;
        for (struct dirent *e; (e = readdir(tasks));) {
                char dir[NAME_MAX + 8];
                if (e->d_name[0] == '.' || strtol(e->d_name, NULL, 10) == pid)
                        continue;
                snprintf(dir, sizeof dir, "%s/fd", e->d_name);
                snprintf(path, sizeof path, "/proc/%ld/task/%s/fd", pid, e->d_name);
                r = dir_has_target(dirfd(tasks), dir, path, t);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* Whether every user ID of the process is root's (the status file can be
 * read when its descriptors cannot). */
static bool process_is_root(int procfd) {
        _cleanup_close_ int fd = openat(procfd, "status", O_RDONLY | O_CLOEXEC);
        _cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
        char line[256];
        unsigned r, e, s, fs;

        if (!f)
                return false;
        fd = -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &fs) == 4)
                        return r == 0 && e == 0 && s == 0 && fs == 0;
        return false;
}

/* A process of another user that may not be looked into counts as a user: were it one, the
 * device would be formatted under its open descriptor. */
static int check_processes(const Target *t, char *why, size_t size) {
        _cleanup_dir_ DIR *proc = opendir("/proc");
        if (!proc)
                return negative_errno();
        for (struct dirent *e; (e = readdir(proc));) {
                char *end, path[64], comm[64];
                long pid = strtol(e->d_name, &end, 10);
                if (pid <= 0 || *end || pid == getpid())
                        continue;
                _cleanup_close_ int procfd = openat(dirfd(proc), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (procfd < 0)
                        continue;
                int r = process_uses(procfd, pid, t);
                if (r < 0 && process_is_root(procfd))
                        continue; /* root's own (a container's init, say): root is not who we guard against */
                if (r == 0)
                        continue;
                snprintf(path, sizeof path, "/proc/%ld/comm", pid);
                sysfs_read_line(path, comm, sizeof comm);
                if (r > 0)
                        snprintf(why, size, "open in process %ld (%s)", pid, comm[0] ? comm : "?");
                else
                        snprintf(why, size,
                                 "perhaps open in process %ld (%s), whose open files cannot be looked at "
                                 "(without CAP_SYS_PTRACE)",
                                 pid, comm[0] ? comm : "?");
                return 1;
        }
        return 0;
}

/* udev's workers open every block device that changes (after a write of
 * ours, too) to probe it, and let go within moments. Any process may call
 * itself "(udev-worker)", so none is excused by its name: the check is
 * repeated for a moment, and whoever still holds the device or file then
 * is a user. */
#define PROCESS_GRACE_STEP_USEC 100000
#define PROCESS_GRACE_STEPS 20 /* 2 s */

static int check_processes_settled(const Target *t, char *why, size_t size) {
        for (unsigned i = 0;; i++) {
                int r = check_processes(t, why, size);
                if (r <= 0 || i >= PROCESS_GRACE_STEPS)
                        return r;
                (void) usleep(PROCESS_GRACE_STEP_USEC);
        }
}

typedef struct ExportMatch {
        const Target *t;
        char *why;
        size_t size;
} ExportMatch;

static int export_matches(const char *path, const char *what, void *userdata) {
        ExportMatch *m = userdata;
        struct stat st;
        if (path[0] != '/' || stat(path, &st) < 0) {
                /* Renamed or removed since, or not a path here: it may be this one. */
                snprintf(m->why, m->size, "%s serves \"%s\", which cannot be looked at: perhaps it", what, path);
                return 1;
        }
        bool found = target_matches(m->t, &st, path) ||
                     (!m->t->file && S_ISBLK(st.st_mode) && m->t->disk.devnum != 0 && st.st_rdev == m->t->disk.devnum);
        if (found)
                snprintf(m->why, m->size, "served by the kernel as %s (%s)", what, path);
        return found;
}

/* Served by the kernel's SCSI or NVMe target (kernel-exports.h). */
static int check_kernel_exports(const Target *t, char *why, size_t size) {
        ExportMatch m = { .t = t, .why = why, .size = size };
        int r = kernel_exports_foreach(export_matches, &m);
        if (r == -EUCLEAN) {
                snprintf(why, size, "the kernel's SCSI or NVMe target is loaded and its configuration (configfs, "
                         KERNEL_EXPORTS_CONFIGFS ") is not mounted: what it serves cannot be told");
                return 1;
        }
        return r;
}

/* A file: behind another loop device (except: a loop device node that
 * does not count), served by the kernel, mounted as a file, open. */
static int check_file(const Target *t, const char *except, char *why, size_t size) {
        int r = check_loops(t, except, why, size);
        if (r == 0)
                r = check_kernel_exports(t, why, size);
        if (r == 0)
                r = check_mounts(t, why, size);
        if (r == 0)
                r = check_processes_settled(t, why, size);
        return r;
}

#define STACK_DEPTH_MAX 8

static int device_busy_below(dev_t devnum, const char *name, unsigned depth, char *why, size_t size);

/* A partition stands on what its disk stands on (a loop device's file, an
 * md array's members). */
static int below_disk_of_partition(const Target *t, unsigned depth, char *why, size_t size) {
        char inner[512] = "";
        int r = device_busy_below(t->disk.devnum, t->disk.name, depth, inner, sizeof inner);
        if (r > 0)
                snprintf(why, size, "it is a partition of %s, and %s", t->disk.name, inner);
        return r;
}

/* One block device and its partitions: the checks above. except_loop: a
 * loop device (node) over it that does not count. Holders are not looked
 * at for a device under a device-mapper table (holders false): other
 * tables share it by design (the extent pool's volumes share their PVs,
 * which pool_device_is_pv() guards), and its table claimed it, so nothing
 * can mount it; a mount of one of its partitions, a loop device over it or
 * a process with it open still count. */
static int device_busy_at(const char *node, const char *except_loop, bool holders, unsigned depth, char *why,
                          size_t size) {
        _cleanup_free_ Target *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        int r = target_block(node, t);
        if (r < 0)
                return r;
        r = holders ? check_holders(t, why, size) : 0;
        if (r == 0)
                r = check_loops(t, except_loop, why, size);
        if (r == 0)
                r = check_kernel_exports(t, why, size);
        if (r == 0)
                r = check_mounts(t, why, size);
        if (r == 0)
                r = check_processes_settled(t, why, size);
        if (r == 0)
                r = device_busy_below(t->m[0].devnum, t->m[0].name, depth, why, size);
        if (r == 0 && t->disk.devnum != 0)
                r = below_disk_of_partition(t, depth, why, size);
        return r;
}

/* A device-mapper device whose bytes of below (devnum below_dev, named
 * below_name in sysfs) another table maps too: a second name for them
 * (`cryptsetup open` of one volume twice, a dm-linear copy of a mounted
 * range). The kernel lets tables share a device, so no claim shows it. */
static int check_dm_siblings(dev_t devnum, const char *name, dev_t below_dev, const char *below_name, char *why,
                             size_t size) {
        _cleanup_free_ DmRange *mine = NULL;
        size_t n_mine = 0;
        char path[PATH_MAX];
        int r;

        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/dm", major(devnum), minor(devnum));
        if (access(path, F_OK) < 0)
                return 0; /* md, bcache: not a table */
        r = dm_table_ranges(devnum, &mine, &n_mine);
        if (r < 0)
                return log_error_errno(r, "%s: cannot read its device-mapper table: %m", name);
        snprintf(path, sizeof path, "/sys/class/block/%s/holders", below_name);
        _cleanup_dir_ DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        for (struct dirent *e; (e = readdir(d));) {
                char dev_path[PATH_MAX], line[32];
                unsigned maj, min;
                if (e->d_name[0] == '.' || strcmp(e->d_name, name) == 0)
                        continue;
                snprintf(dev_path, sizeof dev_path, "/sys/class/block/%s/dev", e->d_name);
                sysfs_read_line(dev_path, line, sizeof line);
                if (sscanf(line, "%u:%u", &maj, &min) != 2)
                        continue; /* gone */
                snprintf(dev_path, sizeof dev_path, "/sys/class/block/%s/dm", e->d_name);
                if (access(dev_path, F_OK) < 0)
                        continue; /* an md array or bcache over it: its holders check sees it */
                _cleanup_free_ DmRange *theirs = NULL;
                size_t n_theirs = 0;
                r = dm_table_ranges(makedev(maj, min), &theirs, &n_theirs);
                if (r == -ENXIO)
                        continue;
                if (r < 0)
                        return log_error_errno(r, "%s: cannot read its device-mapper table: %m", e->d_name);
                for (size_t i = 0; i < n_mine; i++)
                        for (size_t j = 0; j < n_theirs; j++)
                                if (mine[i].dev == below_dev && dm_ranges_overlap(&mine[i], &theirs[j])) {
                                        char dm[128] = "";
                                        snprintf(dev_path, sizeof dev_path, "/sys/class/block/%s/dm/name", e->d_name);
                                        sysfs_read_line(dev_path, dm, sizeof dm);
                                        snprintf(why, size, "its bytes of %s are mapped by %s%s%s%s too", below_name,
                                                 e->d_name, dm[0] ? " (/dev/mapper/" : "", dm, dm[0] ? ")" : "");
                                        return 1;
                                }
        }
        return 0;
}

/* What a device stands on is used through it: the device (or file)
 * behind a loop device, the devices under a device-mapper table. Each is
 * in use if anything but this device uses it: another loop device over
 * it, a mount, a holder, a process. */
static int device_busy_below(dev_t devnum, const char *name, unsigned depth, char *why, size_t size) {
        char path[PATH_MAX], node[NAME_MAX + 8], inner[512] = "";
        int r;

        if (depth >= STACK_DEPTH_MAX)
                return log_error_errno(ELOOP, "%s: devices stacked more than %d deep", name, STACK_DEPTH_MAX);
        snprintf(node, sizeof node, "/dev/%s", name);
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/loop", major(devnum), minor(devnum));
        if (access(path, F_OK) == 0) {
                _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
                struct loop_info64 info;
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != devnum)
                        return -ENODEV; /* cannot tell what it stands on */
                if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0)
                        return errno == ENXIO ? 0 : negative_errno(); /* ENXIO: not bound */
                if (info.lo_rdevice != 0) {
                        char below[NAME_MAX + 8];
                        snprintf(path, sizeof path, "/sys/dev/block/%u:%u", major((dev_t) info.lo_rdevice),
                                 minor((dev_t) info.lo_rdevice));
                        char real[PATH_MAX];
                        if (!realpath(path, real))
                                return negative_errno();
                        snprintf(below, sizeof below, "/dev/%s", strrchr(real, '/') + 1);
                        /* The kernel's own claims, which no list here names:
                         * a mount in another mount namespace, a btrfs member
                         * its mountinfo does not name, an ext4 journal, swap.
                         * The loop device holds no claim on what backs it. */
                        _cleanup_close_ int excl = open(below, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
                        if (excl < 0 && errno == EBUSY) {
                                snprintf(why, size,
                                         "it is a loop device over %s, which is claimed exclusively (mounted, perhaps in "
                                         "another mount namespace; a btrfs member; a journal; swap)",
                                         below);
                                return 1;
                        }
                        if (excl >= 0) {
                                close(excl);
                                excl = -1;
                        }
                        r = device_busy_at(below, node, true, depth + 1, inner, sizeof inner);
                        if (r > 0)
                                snprintf(why, size, "it is a loop device over %s, which is %s", below, inner);
                        return r;
                }
                Target f = { .file = true,
                             .file_id = { .dev = (dev_t) info.lo_device, .ino = (ino_t) info.lo_inode } };
                char backing[PATH_MAX];
                f.file_id.alias = loop_file_alias(name, f.file_id.dev, f.file_id.ino, backing);
                f.file_path = backing[0] ? backing : NULL;
                if (f.file_id.alias == FILE_ALIAS_OPAQUE) {
                        snprintf(why, size,
                                 "it is a loop device over a file on FUSE, NFS, 9p, CIFS or Ceph, which may show a file "
                                 "of another file system under numbers of its own: who else uses it cannot be told");
                        return 1;
                }
                r = check_file(&f, node, inner, sizeof inner);
                if (r > 0)
                        snprintf(why, size, "it is a loop device over a file that is in use (%s)", inner);
                return r;
        }
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/slaves", major(devnum), minor(devnum));
        _cleanup_dir_ DIR *d = opendir(path);
        if (!d)
                return 0;
        for (struct dirent *e; (e = readdir(d));) {
                char below[NAME_MAX + 8];
                if (e->d_name[0] == '.')
                        continue;
                snprintf(below, sizeof below, "/dev/%s", e->d_name);
                char slave_dev[NAME_MAX + 32], line[32];
                unsigned maj, min;
                snprintf(slave_dev, sizeof slave_dev, "/sys/class/block/%s/dev", e->d_name);
                sysfs_read_line(slave_dev, line, sizeof line);
                if (sscanf(line, "%u:%u", &maj, &min) != 2)
                        return -ENODEV; /* cannot tell what it stands on */
                r = check_dm_siblings(devnum, name, makedev(maj, min), e->d_name, why, size);
                if (r != 0)
                        return r;
                r = device_busy_at(below, NULL, false, depth + 1, inner, sizeof inner);
                if (r > 0)
                        snprintf(why, size, "it is mapped onto %s, which is %s", below, inner);
                if (r != 0)
                        return r;
        }
        return 0;
}

int device_busy(const char *node, const char *except, char *why, size_t why_size) {
        return device_busy_at(node, except, true, 0, why, why_size);
}

int image_file_busy(const char *path, const char *except, char *why, size_t why_size) {
        Target t = { .file = true, .file_path = path };
        int r = file_id_of_path(path, &t.file_id);
        if (r < 0)
                return r;
        /* An image on FUSE, NFS… is looked for under its own numbers only:
         * perhaps-any-file would refuse every remove (README, Security). */
        if (t.file_id.alias == FILE_ALIAS_OPAQUE)
                t.file_id.alias = FILE_ALIAS_INODE;
        return check_file(&t, except, why, why_size);
}
