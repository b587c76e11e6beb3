/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/btrfs.h>

#include <blkid/blkid.h>

#include "dlopen-blkid.h"
#include "fs.h"
#include "log.h"
#include "macro.h"

int run_tool(const char *what, char *const argv[]) {
        return run_tool_output(what, argv, NULL, 0);
}

int run_tool_output(const char *what, char *const argv[], char *out, size_t out_size) {
        int pipefd[2], outfd[2] = { -1, -1 }, status;
        char buf[4096];
        size_t n = 0;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        if (out && pipe2(outfd, O_CLOEXEC) < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return negative_errno();
        }
        pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                if (out) {
                        close(outfd[0]);
                        close(outfd[1]);
                }
                return negative_errno();
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                if (null < 0 || dup2(null, 0) < 0 || dup2(out ? outfd[1] : null, 1) < 0 || dup2(pipefd[1], 2) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                dprintf(2, "cannot run %s: %m\n", argv[0]);
                _exit(127);
        }
        close(pipefd[1]);
        if (out) {
                /* Tools that report write little: read it all before stderr. */
                size_t m = 0;
                close(outfd[1]);
                for (;;) {
                        ssize_t k = read(outfd[0], out + m, out_size - 1 - m);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        m += (size_t) k;
                        if (m == out_size - 1) {
                                char sink[512];
                                while (read(outfd[0], sink, sizeof sink) > 0)
                                        ;
                                break;
                        }
                }
                out[m] = 0;
                close(outfd[0]);
        }
        for (;;) {
                ssize_t k = read(pipefd[0], buf + n, sizeof buf - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t) k;
                if (n == sizeof buf - 1) {
                        /* Keep the end: the last line says what went wrong. */
                        memmove(buf, buf + n / 2, n - n / 2);
                        n -= n / 2;
                }
        }
        close(pipefd[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        buf[n] = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;

        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        const char *last = strrchr(buf, '\n');
        last = last ? last + 1 : buf;
        if (WIFEXITED(status))
                log_error("%s: %s exited with %d%s%s", what, argv[0], WEXITSTATUS(status), *last ? ": " : "", last);
        else
                log_error("%s: %s killed by signal %d", what, argv[0], WTERMSIG(status));
        return -EIO;
}

int fs_min_size(const char *fstype, uint64_t *ret) {
        if (strcmp(fstype, "btrfs") == 0)
                *ret = UINT64_C(256) << 20;
        else if (strcmp(fstype, "ext4") == 0)
                *ret = UINT64_C(32) << 20;
        else if (strcmp(fstype, "xfs") == 0)
                *ret = UINT64_C(320) << 20; /* xfsprogs refuses below 300 MB */
        else
                return -EINVAL;
        return 0;
}

int fs_make(const char *fstype, const char *dev, const char *label, const char *uuid) {
        char what[128], xfs_uuid[64];
        snprintf(what, sizeof what, "making %s on %s", fstype, dev);
        if (strcmp(fstype, "btrfs") == 0)
                return run_tool(what, uuid ? (char *const[]) { "mkfs.btrfs", "-q", "-f", "-L", (char *) label, "-U",
                                                               (char *) uuid, (char *) dev, NULL }
                                           : (char *const[]) { "mkfs.btrfs", "-q", "-f", "-L", (char *) label,
                                                               (char *) dev, NULL });
        if (strcmp(fstype, "ext4") == 0)
                return run_tool(what, uuid ? (char *const[]) { "mkfs.ext4", "-q", "-F", "-L", (char *) label, "-U",
                                                               (char *) uuid, "-E", "lazy_itable_init=1,discard",
                                                               (char *) dev, NULL }
                                           : (char *const[]) { "mkfs.ext4", "-q", "-F", "-L", (char *) label, "-E",
                                                               "lazy_itable_init=1,discard", (char *) dev, NULL });
        if (strcmp(fstype, "xfs") == 0) {
                snprintf(xfs_uuid, sizeof xfs_uuid, "uuid=%s", uuid ?: "");
                return run_tool(what, uuid ? (char *const[]) { "mkfs.xfs", "-q", "-f", "-L", (char *) label, "-m",
                                                               xfs_uuid, (char *) dev, NULL }
                                           : (char *const[]) { "mkfs.xfs", "-q", "-f", "-L", (char *) label,
                                                               (char *) dev, NULL });
        }
        return log_error_errno(EOPNOTSUPP, "file system type %s is not supported", fstype);
}

int fs_probe(const char *dev, char *type, size_t type_size, char uuid[static 37]) {
        const char *t = NULL, *u = NULL;
        int r;

        r = dlopen_blkid();
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        blkid_probe pr = sym_blkid_new_probe();
        if (!pr)
                return -ENOMEM;
        if (sym_blkid_probe_set_device(pr, fd, 0, 0) < 0) {
                sym_blkid_free_probe(pr);
                return -EIO;
        }
        sym_blkid_probe_enable_superblocks(pr, 1);
        sym_blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID);
        /* safeprobe: two file systems' signatures on one device are no answer. */
        r = sym_blkid_do_safeprobe(pr);
        if (r == 0 && sym_blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0 && t) {
                snprintf(type, type_size, "%s", t);
                size_t n = 0;
                if (sym_blkid_probe_lookup_value(pr, "UUID", &u, NULL) == 0 && u)
                        for (; n < 36 && u[n]; n++)
                                uuid[n] = (char) (u[n] >= 'A' && u[n] <= 'F' ? u[n] - 'A' + 'a' : u[n]);
                uuid[n] = 0;
                r = 0;
        } else
                r = r < 0 ? -EIO : -ENOMEDIUM;
        sym_blkid_free_probe(pr);
        return r;
}

int fs_check(const char *fstype, const char *dev) {
        char what[128];
        snprintf(what, sizeof what, "checking %s on %s", fstype, dev);
        if (strcmp(fstype, "ext4") == 0) {
                /* -p: repair what is safe without questions; exit 1 means "fixed". */
                pid_t pid = fork();
                int status;
                if (pid < 0)
                        return negative_errno();
                if (pid == 0) {
                        int null = open("/dev/null", O_RDWR);
                        if (null >= 0) {
                                dup2(null, 0);
                                dup2(null, 1);
                                dup2(null, 2);
                        }
                        execlp("e2fsck", "e2fsck", "-p", dev, (char *) NULL);
                        _exit(127);
                }
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR)
                                return negative_errno();
                if (WIFEXITED(status) && WEXITSTATUS(status) <= 1)
                        return 0;
                return log_error_errno(EUCLEAN, "%s: e2fsck found errors it cannot repair unattended", what);
        }
        if (strcmp(fstype, "xfs") == 0)
                return run_tool(what, (char *const[]) { "xfs_repair", "-n", (char *) dev, NULL });
        return 0;
}

static const struct {
        const char *name;
        unsigned long flag;
        bool clear;
} mount_flags[] = {
        { "ro", MS_RDONLY, false },         { "rw", MS_RDONLY, true },
        { "noatime", MS_NOATIME, false },   { "nodiratime", MS_NODIRATIME, false },
        { "relatime", MS_RELATIME, false }, { "strictatime", MS_STRICTATIME, false },
        { "lazytime", MS_LAZYTIME, false }, { "noexec", MS_NOEXEC, false },
        { "exec", MS_NOEXEC, true },        { "sync", MS_SYNCHRONOUS, false },
        { "dirsync", MS_DIRSYNC, false },
};

#define BTRFS_NO_INLINE "max_inline=0"

int fs_mount(const char *fstype, const char *dev, const char *where, const char *extra_options) {
        unsigned long flags = MS_NOSUID | MS_NODEV;
        _cleanup_free_ char *copy = NULL, *data = NULL;
        size_t data_len = 0;

        copy = strdup(extra_options ?: "");
        data = calloc(1, strlen(extra_options ?: "") + sizeof BTRFS_NO_INLINE + 2);
        if (!copy || !data)
                return -ENOMEM;
        /* Btrfs keeps small files' data inside its metadata, which stays
         * cached after a lock has dropped every other cached page: such a
         * file could still be read from a locked home. Data extents only,
         * unless the record says otherwise. */
        if (strcmp(fstype, "btrfs") == 0 && !strstr(copy, "max_inline"))
                data_len = (size_t) sprintf(data, "%s", BTRFS_NO_INLINE);
        for (char *save = NULL, *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
                bool known = false;
                /* The record may not loosen nosuid/nodev. */
                if (strcmp(opt, "suid") == 0 || strcmp(opt, "dev") == 0)
                        return log_error_errno(EINVAL, "luksExtraMountOptions: \"%s\" is not allowed", opt);
                for (size_t i = 0; i < ELEMENTSOF(mount_flags); i++)
                        if (strcmp(opt, mount_flags[i].name) == 0) {
                                if (mount_flags[i].clear)
                                        flags &= ~mount_flags[i].flag;
                                else
                                        flags |= mount_flags[i].flag;
                                known = true;
                        }
                if (!known && strcmp(opt, "nosuid") != 0 && strcmp(opt, "nodev") != 0) {
                        data_len += (size_t) sprintf(data + data_len, "%s%s", data_len ? "," : "", opt);
                }
        }
        if (mount(dev, where, fstype, flags, data_len ? data : NULL) < 0)
                return log_error_errno(errno, "cannot mount %s on %s: %m", dev, where);
        return 0;
}

/* The one BTRFS_IOC_RESIZE: spec is "<devid>:<bytes>" or "<devid>:max". */
static int btrfs_resize_fd(int fd, const char *spec) {
        struct btrfs_ioctl_vol_args args = {};
        snprintf(args.name, sizeof args.name, "%s", spec);
        return ioctl(fd, BTRFS_IOC_RESIZE, &args) < 0 ? negative_errno() : 0;
}

/* The id of dev in the btrfs open as fd: looked up, as a filesystem whose
 * first device was replaced or removed has no device 1. */
static int btrfs_devid(const char *what, int fd, dev_t dev, uint64_t *ret) {
        struct btrfs_ioctl_fs_info_args fi = {};
        if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0)
                return log_error_errno(errno, "%s: cannot query the btrfs filesystem: %m", what);
        for (uint64_t id = 1; id <= fi.max_id && id < 65536; id++) {
                struct btrfs_ioctl_dev_info_args di = { .devid = id };
                struct stat st;
                if (ioctl(fd, BTRFS_IOC_DEV_INFO, &di) < 0)
                        continue;
                di.path[sizeof di.path - 1] = 0;
                if (stat((const char *) di.path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev) {
                        *ret = id;
                        return 0;
                }
        }
        if (fi.num_devices == 1) {
                *ret = fi.max_id;
                return 0;
        }
        return log_error_errno(ENODEV, "%s: the device is not part of the btrfs filesystem", what);
}

int fs_btrfs_resize_dev(const char *what, const char *mountpoint, dev_t dev, uint64_t bytes) {
        uint64_t devid = 0;
        char spec[64];
        _cleanup_close_ int fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "%s: cannot open %s: %m", what, mountpoint);
        int r = btrfs_devid(what, fd, dev, &devid);
        if (r < 0)
                return r;
        if (bytes == 0)
                snprintf(spec, sizeof spec, "%" PRIu64 ":max", devid);
        else
                snprintf(spec, sizeof spec, "%" PRIu64 ":%" PRIu64, devid, bytes);
        r = btrfs_resize_fd(fd, spec);
        if (r == -ENOSPC)
                return log_error_errno(ENOSPC, "%s: the data does not fit in the smaller size", what);
        if (r < 0)
                return log_error_errno(r, "%s: btrfs resize to %s failed: %m", what, spec);
        return 0;
}

/* A home's btrfs, by the node it is mounted from: its device id is looked
 * up like a pool volume's (fs_make() makes device 1, but a device replaced
 * or added and removed since has another). */
static int btrfs_resize_on(const char *what, const char *dev, const char *mountpoint, uint64_t bytes) {
        struct stat st;
        if (stat(dev, &st) < 0)
                return log_error_errno(errno, "%s: cannot stat %s: %m", what, dev);
        if (!S_ISBLK(st.st_mode))
                return log_error_errno(ENOTBLK, "%s: %s is not a block device", what, dev);
        return fs_btrfs_resize_dev(what, mountpoint, st.st_rdev, bytes);
}

int fs_grow(const char *fstype, const char *dev, const char *mountpoint) {
        char what[128];

        snprintf(what, sizeof what, "growing %s on %s", fstype, dev);
        if (strcmp(fstype, "btrfs") == 0) {
                if (!mountpoint)
                        return log_error_errno(EOPNOTSUPP, "%s: btrfs grows online only", what);
                return btrfs_resize_on(what, dev, mountpoint, 0);
        }
        if (strcmp(fstype, "ext4") == 0)
                return run_tool(what, (char *const[]) { "resize2fs", (char *) dev, NULL });
        if (strcmp(fstype, "xfs") == 0) {
                if (!mountpoint)
                        return log_error_errno(EOPNOTSUPP, "%s: xfs grows online only", what);
                return run_tool(what, (char *const[]) { "xfs_growfs", (char *) mountpoint, NULL });
        }
        return log_error_errno(EOPNOTSUPP, "%s: unsupported", what);
}

int fs_shrink(const char *fstype, const char *dev, const char *mountpoint, uint64_t new_size) {
        char what[128], size[32];
        int r;

        snprintf(what, sizeof what, "shrinking %s on %s", fstype, dev);
        if (strcmp(fstype, "btrfs") == 0) {
                if (!mountpoint)
                        return log_error_errno(EOPNOTSUPP, "%s: btrfs shrinks online only", what);
                return btrfs_resize_on(what, dev, mountpoint, new_size);
        }
        if (strcmp(fstype, "ext4") == 0) {
                if (mountpoint)
                        return log_error_errno(EBUSY, "%s: ext4 shrinks offline only; deactivate the home first", what);
                r = run_tool(what, (char *const[]) { "e2fsck", "-f", "-y", (char *) dev, NULL });
                if (r < 0)
                        return r;
                snprintf(size, sizeof size, "%" PRIu64 "K", new_size / 1024);
                return run_tool(what, (char *const[]) { "resize2fs", (char *) dev, size, NULL });
        }
        if (strcmp(fstype, "xfs") == 0)
                return log_error_errno(EOPNOTSUPP, "%s: xfs cannot shrink; only growing is possible", what);
        return log_error_errno(EOPNOTSUPP, "%s: unsupported", what);
}

int fs_min_estimate(const char *fstype, const char *dev, const char *mountpoint, uint64_t *ret) {
        char out[4096], what[128];
        int r;

        snprintf(what, sizeof what, "estimating the minimum size of %s", dev);
        if (strcmp(fstype, "btrfs") == 0) {
                if (!mountpoint)
                        return log_error_errno(EINVAL, "%s: btrfs must be mounted", what);
                r = run_tool_output(what, (char *const[]) { "btrfs", "inspect-internal", "min-dev-size",
                                                            (char *) mountpoint, NULL }, out, sizeof out);
                if (r < 0)
                        return r;
                if (sscanf(out, "%" SCNu64 " bytes", ret) != 1)
                        return log_error_errno(EBADMSG, "%s: cannot parse \"%.60s\"", what, out);
                return 0;
        }
        if (strcmp(fstype, "ext4") == 0) {
                uint64_t blocks, block_size = 0;
                r = run_tool_output(what, (char *const[]) { "resize2fs", "-P", (char *) dev, NULL }, out, sizeof out);
                if (r < 0)
                        return r;
                const char *p = strstr(out, "minimum size of the filesystem:");
                if (!p || sscanf(p, "minimum size of the filesystem: %" SCNu64, &blocks) != 1)
                        return log_error_errno(EBADMSG, "%s: cannot parse resize2fs -P output", what);
                r = run_tool_output(what, (char *const[]) { "dumpe2fs", "-h", (char *) dev, NULL }, out, sizeof out);
                if (r < 0)
                        return r;
                p = strstr(out, "Block size:");
                if (!p || sscanf(p, "Block size: %" SCNu64, &block_size) != 1 || block_size == 0)
                        return log_error_errno(EBADMSG, "%s: cannot parse the block size", what);
                *ret = blocks * block_size;
                return 0;
        }
        return -EOPNOTSUPP;
}
