/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libdevmapper.h>
#include <libudev.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>

#include "dlopen-devmapper.h"
#include "dlopen-udev.h"
#include "dm-linear.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

/* ---- libdevmapper's messages ------------------------------------------------ */

/* libdevmapper's first error (or fatal) message since the last task began, attached to the one error
 * we log ourselves; everything it says goes to the debug log. */
static _Thread_local char dm_last_error[512];

static bool streq_ptr(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static void dm_log_cb(int level, const char *file, int line, int dm_errno_or_class,
                      const char *f, ...) _printf_(5, 6);
static void dm_log_cb(int level, const char *file, int line, int dm_errno_or_class,
                      const char *f, ...) {
        char buf[sizeof dm_last_error];
        va_list ap;

        va_start(ap, f);
        vsnprintf(buf, sizeof buf, f, ap);
        va_end(ap);
        if (streq_ptr(buf, "<backtrace>"))
                return;
        /* The low bits are the level (2 fatal … 7 debug); the rest are
         * flags. The first error says most: later ones are consequences. */
        if ((level & 7) <= 3 && !dm_last_error[0])
                memcpy(dm_last_error, buf, sizeof buf);
        log_debug("libdevmapper: %s", buf);
}

static const char *dm_error_text(void) {
        return dm_last_error[0] ? dm_last_error : "libdevmapper gave no detail";
}

/* ---- udev ------------------------------------------------------------------ */

static bool udev_answers(void) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/udev/control" };

        /* A killed udevd leaves its socket behind, and libdevmapper only
         * checks that the file exists: then every cookie waits forever.
         * A connection that is accepted means udevd is alive. */
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        return connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0;
}

static bool udev_dm_rules_installed(void) {
        /* Without 95-dm-notify.rules nobody completes our cookies. The first
         * directory holding the name wins; /dev/null or empty masks it. */
        static const char *const dirs[] = {
                "/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d",
                "/usr/lib/udev/rules.d", "/lib/udev/rules.d",
        };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                char path[128];
                struct stat st;

                snprintf(path, sizeof path, "%s/95-dm-notify.rules", dirs[i]);
                if (stat(path, &st) < 0)
                        continue;
                return S_ISREG(st.st_mode) && st.st_size > 0;
        }
        return false;
}

/* Opens libdevmapper and decides, for this operation, whether we
 * synchronise with udev; sets up libdevmapper accordingly. 1 (udev) or 0, or
 * -EOPNOTSUPP when libdevmapper is missing (logged). */
static int dm_setup(void) {
        bool on;
        int r;

        r = dlopen_devmapper();
        if (r < 0)
                return r;
        sym_dm_log_with_errno_init(dm_log_cb);
        dm_last_error[0] = 0;

        on = !getenv("DM_DISABLE_UDEV") && udev_answers() && udev_dm_rules_installed();
        sym_dm_udev_set_sync_support(on);
        /* libdevmapper adds its own checks (SysV semaphores, cookies). */
        on = on && sym_dm_udev_get_sync_support();
        /* Without udev, libdevmapper makes the nodes; don't let it complain
         * that udev did not. */
        sym_dm_udev_set_checking(on);
        return on;
}

bool dm_linear_udev_sync(void) {
        return dm_setup() > 0;
}

uint64_t dm_linear_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static uint16_t cookie_flags(bool udev) {
        /* With udev: udev alone makes /dev/mapper nodes (recorded in its
         * database). Without: libdevmapper makes them, and udev, should it
         * run after all, keeps its device-mapper rules off them. */
        return udev ? DM_UDEV_DISABLE_LIBRARY_FALLBACK
                    : DM_UDEV_DISABLE_DM_RULES_FLAG | DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG;
}

static int task_set_cookie(struct dm_task *dmt, const char *name, bool udev, uint32_t *cookie) {
        *cookie = 0;
        if (!sym_dm_task_set_cookie(dmt, cookie, cookie_flags(udev)))
                return log_error_errno(EIO, "dm device %s: cannot set up udev synchronisation: %s",
                                       name, dm_error_text());
        return 0;
}

/* Our reloads do not wait for udev after the resume. Were udev still
 * handling an earlier change event of the device when we suspend it again,
 * its rules would read "suspended" and mark the device not ready, and
 * systemd would stop what is bound to it (the mount of /home). So a reload
 * first waits, bounded, for udev's queue to empty: one access() when
 * nothing is pending. */
static void udev_wait_idle(const char *name) {
        if (dlopen_udev() < 0)
                return;
        struct udev *u = sym_udev_new();
        struct udev_queue *q = u ? sym_udev_queue_new(u) : NULL;
        uint64_t deadline = dm_linear_now_usec() + DM_LINEAR_UDEV_IDLE_SEC * USEC_PER_SEC;
        useconds_t delay = 1000;

        while (q && !sym_udev_queue_get_queue_is_empty(q)) {
                if (dm_linear_now_usec() >= deadline) {
                        log_warning("dm device %s: udev is still busy after %d s; going ahead", name,
                                    DM_LINEAR_UDEV_IDLE_SEC);
                        break;
                }
                usleep(delay);
                if (delay < 20000)
                        delay *= 2;
        }
        sym_udev_queue_unref(q);
        sym_udev_unref(u);
}

/* Gives the task's uevent our flags but no semaphore: udev runs its rules
 * as for any event of ours (the /dev/mapper link and the rest are kept),
 * 95-dm-notify.rules finds a cookie "carrying flags only" and completes
 * nothing, and nobody waits. libdevmapper makes such a cookie itself when
 * udev synchronisation is off, so it is switched off around the call. */
static int task_set_flags_only(struct dm_task *dmt, const char *name, bool udev) {
        uint32_t cookie = 0;

        sym_dm_udev_set_sync_support(0);
        int ok = sym_dm_task_set_cookie(dmt, &cookie, cookie_flags(udev));
        sym_dm_udev_set_sync_support(udev);
        if (!ok || cookie != 0)
                return log_error_errno(EIO, "dm device %s: cannot mark the event for udev: %s",
                                       name, dm_error_text());
        return 0;
}

typedef enum NodeWanted { NODE_PRESENT, NODE_ABSENT } NodeWanted;

/* Called on every path after dm_task_set_cookie(), whether the task ran,
 * failed or never ran: releases the cookie's semaphore and runs the node
 * operations libdevmapper queued. Bounded: a udev that stops answering
 * costs DM_LINEAR_UDEV_TIMEOUT_SEC, and then we fix the node ourselves. */
static uint64_t cookie_wait(uint32_t cookie, const char *name, bool udev, NodeWanted wanted) {
        uint64_t start = dm_linear_now_usec(), deadline;
        useconds_t delay = 500;
        int ready = 0;

        if (!udev || cookie == 0) {
                (void) sym_dm_udev_wait(cookie);
                return dm_linear_now_usec() - start;
        }

        deadline = start + DM_LINEAR_UDEV_TIMEOUT_SEC * USEC_PER_SEC;
        for (;;) {
                if (!sym_dm_udev_wait_immediate(cookie, &ready)) {
                        log_warning("dm device %s: waiting for udev failed: %s", name, dm_error_text());
                        return dm_linear_now_usec() - start;
                }
                if (ready)
                        return dm_linear_now_usec() - start;
                if (dm_linear_now_usec() >= deadline)
                        break;
                usleep(delay);
                if (delay < 20000)
                        delay *= 2;
        }

        log_warning("dm device %s: udev did not confirm the event within %d s; "
                    "no longer waiting, fixing /dev/mapper/%s directly",
                    name, DM_LINEAR_UDEV_TIMEOUT_SEC, name);
        /* Take udev's part: one decrement for udev, then the wait decrements
         * our own count and destroys the semaphore. */
        (void) sym_dm_udev_complete(cookie);
        (void) sym_dm_udev_wait(cookie);
        if (wanted == NODE_PRESENT) {
                if (!sym_dm_mknodes(name))
                        log_warning("dm device %s: cannot create its /dev/mapper node: %s",
                                    name, dm_error_text());
        } else {
                char path[sizeof "/dev/mapper/" + DM_NAME_LEN];

                snprintf(path, sizeof path, "/dev/mapper/%s", name);
                if (unlink(path) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "dm device %s: cannot remove %s: %m", name, path);
        }
        return dm_linear_now_usec() - start;
}

/* ---- tasks ----------------------------------------------------------------- */

static void dm_task_destroyp(struct dm_task **t) {
        if (*t)
                sym_dm_task_destroy(*t);
}
#define _cleanup_dm_task_ _cleanup_(dm_task_destroyp)

static int task_new(int type, const char *name, struct dm_task **ret) {
        struct dm_task *dmt;

        dm_last_error[0] = 0;
        dmt = sym_dm_task_create(type);
        if (!dmt) /* no memory, or no device-mapper in the kernel */
                return log_error_errno(dm_last_error[0] ? EIO : ENOMEM, "dm device %s: libdevmapper cannot start a task: %s",
                                       name, dm_error_text());
        if (!sym_dm_task_set_name(dmt, name)) {
                sym_dm_task_destroy(dmt);
                return log_error_errno(EINVAL, "dm device %s: libdevmapper refuses the name: %s",
                                       name, dm_error_text());
        }
        *ret = dmt;
        return 0;
}

static int task_run(struct dm_task *dmt) {
        dm_last_error[0] = 0;
        if (sym_dm_task_run(dmt))
                return 0;
        int e = sym_dm_task_get_errno(dmt);
        return e > 0 ? -e : -EIO;
}

static int task_add_targets(struct dm_task *dmt, const char *name, const DmLinearTarget *t, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char params[64];

                snprintf(params, sizeof params, "%u:%u %" PRIu64, major(t[i].dev), minor(t[i].dev), t[i].offset);
                if (!sym_dm_task_add_target(dmt, t[i].start, t[i].length, "linear", params))
                        return log_error_errno(ENOMEM, "dm device %s: cannot add target %zu: %s",
                                               name, i, dm_error_text());
        }
        return 0;
}

/* ---- names ----------------------------------------------------------------- */

static bool dm_name_char_ok(char c) {
        /* libdevmapper's whitelist: anything else would be mangled. */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("#+-.:=@_", c);
}

static int check_string(const char *s, size_t max) {
        if (!s || !*s || strlen(s) > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                if (!dm_name_char_ok(*p))
                        return -EINVAL;
        return 0;
}

static int check_name(const char *name) {
        if (check_string(name, DM_NAME_LEN - 1) < 0)
                return log_error_errno(EINVAL, "dm device '%s': invalid name (1-%d characters of "
                                       "A-Z a-z 0-9 # + - . : = @ _)", name ? name : "", DM_NAME_LEN - 1);
        return 0;
}

/* ---- ownership ------------------------------------------------------------- */

/* Reads the device's info and dm UUID; -ENODEV (not logged) if it does not
 * exist, -EPERM (logged) if it is not Hearth's. */
static int inspect(const char *name, struct dm_info *ret_info) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;
        const char *uuid;
        int r;

        r = task_new(DM_DEVICE_INFO, name, &dmt);
        if (r < 0)
                return r;
        r = task_run(dmt);
        if (r < 0)
                return log_error_errno(r, "dm device %s: cannot query it: %s", name, dm_error_text());
        if (!sym_dm_task_get_info(dmt, ret_info))
                return log_error_errno(EIO, "dm device %s: no info in the reply: %s", name, dm_error_text());
        if (!ret_info->exists)
                return -ENODEV;
        uuid = sym_dm_task_get_uuid(dmt);
        if (!uuid || strncmp(uuid, DM_LINEAR_UUID_PREFIX, strlen(DM_LINEAR_UUID_PREFIX)) != 0)
                return log_error_errno(EPERM, "dm device %s: its dm UUID is %s%s%s, without the "
                                       DM_LINEAR_UUID_PREFIX " prefix: not a Hearth device, refusing to touch it",
                                       name, uuid && *uuid ? "'" : "", uuid && *uuid ? uuid : "empty",
                                       uuid && *uuid ? "'" : "");
        return 0;
}

static int inspect_existing(const char *name, struct dm_info *ret_info) {
        int r = inspect(name, ret_info);
        if (r == -ENODEV)
                return log_error_errno(ENODEV, "dm device %s: does not exist", name);
        return r;
}

/* ---- validation ------------------------------------------------------------ */

typedef struct DevGeometry {
        dev_t dev;
        unsigned block_size; /* logical, bytes */
        uint64_t sectors;
} DevGeometry;

static int device_geometry(const char *name, dev_t dev, DevGeometry *ret) {
        char paths[2][64];
        _cleanup_free_ char *uevent = NULL;
        char sys[96];
        int r;

        /* The udev symlink first; without udev, devtmpfs's node by the
         * kernel's name. Either way the node must be the device we mean. */
        snprintf(paths[0], sizeof paths[0], "/dev/block/%u:%u", major(dev), minor(dev));
        paths[1][0] = 0;
        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
        r = read_file_bounded(sys, 4096, &uevent, NULL);
        if (r >= 0) {
                const char *p = strstr(uevent, "DEVNAME=");
                if (p) {
                        p += strlen("DEVNAME=");
                        snprintf(paths[1], sizeof paths[1], "/dev/%.*s", (int) strcspn(p, "\n"), p);
                }
        } else if (r == -ENOENT)
                return log_error_errno(ENODEV, "dm device %s: table refers to block device %u:%u, "
                                       "which does not exist", name, major(dev), minor(dev));

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_close_ int fd = -1;
                struct stat st;
                uint64_t bytes;
                int bs;

                if (!paths[i][0])
                        continue;
                fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev)
                        continue;
                if (ioctl(fd, BLKSSZGET, &bs) < 0 || ioctl(fd, BLKGETSIZE64, &bytes) < 0)
                        return log_error_errno(errno, "dm device %s: cannot read the geometry of %s: %m",
                                               name, paths[i]);
                if (bs < 512 || (bs & (bs - 1)) != 0)
                        return log_error_errno(EIO, "dm device %s: %s reports a logical block size of %d",
                                               name, paths[i], bs);
                *ret = (DevGeometry) { .dev = dev, .block_size = (unsigned) bs, .sectors = bytes / 512 };
                return 0;
        }
        return log_error_errno(ENODEV, "dm device %s: cannot open block device %u:%u (tried %s%s%s) "
                               "to check the table", name, major(dev), minor(dev), paths[0],
                               paths[1][0] ? ", " : "", paths[1]);
}

int dm_linear_validate(const char *name, const DmLinearTarget *t, size_t n) {
        _cleanup_free_ DevGeometry *geo = NULL;
        size_t n_geo = 0;
        unsigned table_bs = 512;
        uint64_t expected = 0;
        int r;

        if (!name)
                name = "(unnamed)";
        if (n == 0 || !t)
                return log_error_errno(EINVAL, "dm device %s: empty table", name);

        geo = calloc(n, sizeof *geo);
        if (!geo)
                return log_oom();

        for (size_t i = 0; i < n; i++) {
                size_t g;

                if (t[i].length == 0)
                        return log_error_errno(EINVAL, "dm device %s: target %zu has length 0", name, i);
                if (t[i].start != expected)
                        return log_error_errno(EINVAL, "dm device %s: target %zu starts at sector %" PRIu64
                                               ", expected %" PRIu64 ": a table covers the device from "
                                               "sector 0 without gaps or overlaps", name, i, t[i].start, expected);
                if (t[i].start > UINT64_MAX - t[i].length || t[i].offset > UINT64_MAX - t[i].length)
                        return log_error_errno(EINVAL, "dm device %s: target %zu: sector numbers overflow", name, i);
                if (t[i].dev == 0)
                        return log_error_errno(EINVAL, "dm device %s: target %zu has no device", name, i);
                expected = t[i].start + t[i].length;

                for (g = 0; g < n_geo; g++)
                        if (geo[g].dev == t[i].dev)
                                break;
                if (g == n_geo) {
                        r = device_geometry(name, t[i].dev, &geo[g]);
                        if (r < 0)
                                return r;
                        n_geo++;
                }
                if (geo[g].block_size > table_bs)
                        table_bs = geo[g].block_size;

                unsigned spb = geo[g].block_size / 512;
                if (t[i].offset % spb != 0 || t[i].length % spb != 0)
                        return log_error_errno(EINVAL, "dm device %s: target %zu (offset %" PRIu64 ", length %"
                                               PRIu64 " sectors on %u:%u) is not aligned to that device's "
                                               "%u-byte logical blocks (multiples of %u sectors)",
                                               name, i, t[i].offset, t[i].length, major(t[i].dev),
                                               minor(t[i].dev), geo[g].block_size, spb);
                if (t[i].offset + t[i].length > geo[g].sectors)
                        return log_error_errno(ERANGE, "dm device %s: target %zu maps sectors %" PRIu64 "-%" PRIu64
                                               " of %u:%u, past its end (it has %" PRIu64 " sectors)",
                                               name, i, t[i].offset, t[i].offset + t[i].length - 1,
                                               major(t[i].dev), minor(t[i].dev), geo[g].sectors);

                for (size_t j = 0; j < i; j++)
                        if (t[j].dev == t[i].dev &&
                            t[j].offset < t[i].offset + t[i].length && t[i].offset < t[j].offset + t[j].length)
                                return log_error_errno(EINVAL, "dm device %s: targets %zu and %zu both map "
                                                       "sectors of %u:%u (%" PRIu64 "+%" PRIu64 " and %" PRIu64
                                                       "+%" PRIu64 ")", name, j, i, major(t[i].dev),
                                                       minor(t[i].dev), t[j].offset, t[j].length,
                                                       t[i].offset, t[i].length);
        }

        /* The dm device takes the largest logical block size of its devices,
         * and the kernel wants every target boundary aligned to it. */
        unsigned spb = table_bs / 512;
        for (size_t i = 0; i < n; i++)
                if (t[i].start % spb != 0 || t[i].length % spb != 0)
                        return log_error_errno(EINVAL, "dm device %s: target %zu (start %" PRIu64 ", length %"
                                               PRIu64 ") is not aligned to the table's %u-byte logical "
                                               "blocks (multiples of %u sectors)",
                                               name, i, t[i].start, t[i].length, table_bs, spb);
        return 0;
}

/* ---- operations ------------------------------------------------------------ */

/* The kernel refuses a second device with the same UUID; say which. */
static int uuid_in_use(const char *name, const char *uuid) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;
        struct dm_info info;
        int r;

        dm_last_error[0] = 0;
        dmt = sym_dm_task_create(DM_DEVICE_INFO);
        if (!dmt)
                return log_error_errno(dm_last_error[0] ? EIO : ENOMEM, "dm device %s: libdevmapper "
                                       "cannot start a task: %s", name, dm_error_text());
        if (!sym_dm_task_set_uuid(dmt, uuid))
                return log_error_errno(EINVAL, "dm device %s: libdevmapper refuses UUID %s: %s",
                                       name, uuid, dm_error_text());
        r = task_run(dmt);
        if (r < 0)
                return log_error_errno(r, "dm device %s: cannot look up UUID %s: %s", name, uuid,
                                       dm_error_text());
        if (!sym_dm_task_get_info(dmt, &info))
                return log_error_errno(EIO, "dm device %s: no info in the reply: %s", name, dm_error_text());
        if (info.exists)
                return log_error_errno(EBUSY, "dm device %s: UUID %s is in use by another device (%s)",
                                       name, uuid, sym_dm_task_get_name(dmt) ?: "?");
        return 0;
}

int dm_linear_create(const char *name, const char *uuid_suffix,
                     const DmLinearTarget *targets, size_t n, dev_t *ret_dev) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;
        char uuid[DM_UUID_LEN];
        struct dm_info info;
        uint32_t cookie = 0;
        bool udev;
        int r;

        r = dm_setup();
        if (r < 0)
                return r;
        udev = r > 0;
        r = check_name(name);
        if (r < 0)
                return r;
        if (check_string(uuid_suffix, DM_UUID_LEN - 1 - strlen(DM_LINEAR_UUID_PREFIX)) < 0)
                return log_error_errno(EINVAL, "dm device %s: invalid UUID suffix '%s'", name,
                                       uuid_suffix ? uuid_suffix : "");
        snprintf(uuid, sizeof uuid, DM_LINEAR_UUID_PREFIX "%s", uuid_suffix);
        r = dm_linear_validate(name, targets, n);
        if (r < 0)
                return r;

        r = inspect(name, &info);
        if (r == 0)
                return log_error_errno(EEXIST, "dm device %s: already exists", name);
        if (r != -ENODEV)
                return r;

        r = uuid_in_use(name, uuid);
        if (r < 0)
                return r;

        r = task_new(DM_DEVICE_CREATE, name, &dmt);
        if (r < 0)
                return r;
        if (!sym_dm_task_set_uuid(dmt, uuid))
                return log_error_errno(EINVAL, "dm device %s: libdevmapper refuses UUID %s: %s",
                                       name, uuid, dm_error_text());
        r = task_add_targets(dmt, name, targets, n);
        if (r < 0)
                return r;
        /* With a table, libdevmapper creates, loads and resumes; the node
         * appears on the resume. */
        if (!sym_dm_task_set_add_node(dmt, DM_ADD_NODE_ON_RESUME))
                return log_error_errno(EIO, "dm device %s: %s", name, dm_error_text());
        r = task_set_cookie(dmt, name, udev, &cookie);
        if (r < 0) {
                (void) cookie_wait(cookie, name, udev, NODE_ABSENT);
                return r;
        }
        r = task_run(dmt);
        if (r < 0) {
                /* Copy the message before the wait can overwrite it. */
                char why[sizeof dm_last_error];
                snprintf(why, sizeof why, "%s", dm_error_text());
                (void) cookie_wait(cookie, name, udev, NODE_ABSENT);
                if (r == -EBUSY)
                        return log_error_errno(r, "dm device %s: creating it failed: %s "
                                               "(is the UUID %s in use by another device?)", name, why, uuid);
                return log_error_errno(r, "dm device %s: creating it failed: %s", name, why);
        }
        (void) cookie_wait(cookie, name, udev, NODE_PRESENT);

        r = inspect_existing(name, &info);
        if (r < 0)
                return r;
        log_debug("dm device %s: created (%u:%u, %zu target%s, uuid %s)", name, info.major, info.minor,
                  n, n == 1 ? "" : "s", uuid);
        if (ret_dev)
                *ret_dev = makedev(info.major, info.minor);
        return 0;
}

static void clear_inactive(const char *name) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;

        if (task_new(DM_DEVICE_CLEAR, name, &dmt) < 0)
                return;
        if (task_run(dmt) < 0)
                log_warning("dm device %s: cannot clear the inactive table: %s", name, dm_error_text());
}

/* Resumes on whatever table is live, so that I/O does not stay held. */
static int resume_plain(const char *name, bool udev) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;
        uint32_t cookie = 0;
        int r;

        r = task_new(DM_DEVICE_RESUME, name, &dmt);
        if (r < 0)
                return r;
        r = task_set_cookie(dmt, name, udev, &cookie);
        if (r >= 0)
                r = task_run(dmt);
        (void) cookie_wait(cookie, name, udev, NODE_PRESENT);
        return r;
}

int dm_linear_reload_timed(const char *name, const DmLinearTarget *targets, size_t n,
                           DmLinearReloadTiming *ret_timing) {
        _cleanup_dm_task_ struct dm_task *load = NULL, *suspend = NULL, *resume = NULL;
        DmLinearReloadTiming timing = {};
        struct dm_info info;
        uint64_t t0, t1, t2, t3;
        bool udev;
        int r;

        r = dm_setup();
        if (r < 0)
                return r;
        udev = r > 0;
        r = check_name(name);
        if (r < 0)
                return r;
        r = dm_linear_validate(name, targets, n);
        if (r < 0)
                return r;
        r = inspect_existing(name, &info);
        if (r < 0)
                return r;
        if (udev)
                udev_wait_idle(name);

        /* 1. The whole new table into the inactive slot, while the device
         *    still serves I/O: allocating and checking a table under a
         *    suspended device could deadlock on memory pressure. */
        r = task_new(DM_DEVICE_RELOAD, name, &load);
        if (r < 0)
                return r;
        r = task_add_targets(load, name, targets, n);
        if (r < 0)
                return r;
        t0 = dm_linear_now_usec();
        r = task_run(load);
        if (r < 0)
                return log_error_errno(r, "dm device %s: loading the new table failed (the old one stays "
                                       "live; the kernel log may say why): %s", name, dm_error_text());
        timing.load_usec = dm_linear_now_usec() - t0;

        /* Everything the swap needs is prepared before I/O is held. */
        r = task_new(DM_DEVICE_SUSPEND, name, &suspend);
        if (r >= 0)
                r = task_new(DM_DEVICE_RESUME, name, &resume);
        if (r < 0) {
                clear_inactive(name);
                return r;
        }
        /* Flush in-flight I/O (no noflush); a linear remap that keeps the
         * existing sectors in place needs no filesystem freeze. */
        if (!sym_dm_task_skip_lockfs(suspend) || !sym_dm_task_set_add_node(resume, DM_ADD_NODE_ON_RESUME)) {
                clear_inactive(name);
                return log_error_errno(ENOMEM, "dm device %s: %s", name, dm_error_text());
        }
        /* The resume is not synchronised with udev: the device and its
         * node exist and keep their name and number, so there is nothing
         * to wait for, and waiting (as LVM does) costs more than the rest
         * of a grow. Its event still carries our flags, so udev treats it
         * as it treats our others. Without a cookie, cookie_wait() only
         * runs the node checks libdevmapper queued. */
        r = task_set_flags_only(resume, name, udev);
        if (r < 0) {
                clear_inactive(name);
                return r;
        }

        /* 2. Suspend (with flush), 3. resume: the kernel swaps the tables. */
        t1 = dm_linear_now_usec();
        r = task_run(suspend);
        t2 = dm_linear_now_usec();
        if (r < 0) {
                char why[sizeof dm_last_error];
                snprintf(why, sizeof why, "%s", dm_error_text());
                clear_inactive(name);
                /* A failed suspend may have left it half suspended. */
                (void) resume_plain(name, udev);
                return log_error_errno(r, "dm device %s: suspending failed, the old table stays live: %s",
                                       name, why);
        }
        r = task_run(resume);
        t3 = dm_linear_now_usec();
        timing.suspend_usec = t2 - t1;
        timing.resume_usec = t3 - t2;
        timing.pause_usec = t3 - t1;
        timing.suspend_at_usec = t1;
        if (r < 0) {
                char why[sizeof dm_last_error];
                snprintf(why, sizeof why, "%s", dm_error_text());
                (void) cookie_wait(0, name, udev, NODE_PRESENT);
                clear_inactive(name);
                int q = resume_plain(name, udev);
                if (q < 0)
                        return log_error_errno(r, "dm device %s: resuming with the new table failed (%s), and "
                                               "resuming on the old one failed too (%s): the device is "
                                               "SUSPENDED, I/O to it is held", name, why, dm_error_text());
                return log_error_errno(r, "dm device %s: resuming with the new table failed, back on the "
                                       "old table: %s", name, why);
        }
        timing.udev_usec = cookie_wait(0, name, udev, NODE_PRESENT);

        log_debug("dm device %s: new table live (%zu target%s, %" PRIu64 " sectors); I/O held %" PRIu64
                  " us (suspend %" PRIu64 " us, resume %" PRIu64 " us)", name, n, n == 1 ? "" : "s",
                  targets[n - 1].start + targets[n - 1].length, timing.pause_usec, timing.suspend_usec,
                  timing.resume_usec);
        if (ret_timing)
                *ret_timing = timing;
        return 0;
}

int dm_linear_reload(const char *name, const DmLinearTarget *targets, size_t n) {
        return dm_linear_reload_timed(name, targets, n, NULL);
}

int dm_linear_remove(const char *name) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;
        struct dm_info info;
        uint32_t cookie = 0;
        bool udev;
        int r;

        r = dm_setup();
        if (r < 0)
                return r;
        udev = r > 0;
        r = check_name(name);
        if (r < 0)
                return r;
        r = inspect(name, &info);
        if (r == -ENODEV) {
                log_debug("dm device %s: does not exist, nothing to remove", name);
                return r;
        }
        if (r < 0)
                return r;

        r = task_new(DM_DEVICE_REMOVE, name, &dmt);
        if (r < 0)
                return r;
        /* udev's probes open the device for a moment after each event. */
        if (!sym_dm_task_retry_remove(dmt))
                return log_error_errno(EIO, "dm device %s: %s", name, dm_error_text());
        r = task_set_cookie(dmt, name, udev, &cookie);
        if (r < 0) {
                (void) cookie_wait(cookie, name, udev, NODE_PRESENT);
                return r;
        }
        r = task_run(dmt);
        if (r < 0) {
                char why[sizeof dm_last_error];
                snprintf(why, sizeof why, "%s", dm_error_text());
                (void) cookie_wait(cookie, name, udev, NODE_PRESENT);
                if (r == -EBUSY && inspect(name, &info) == 0)
                        return log_error_errno(r, "dm device %s: in use (open count %d), not removed",
                                               name, info.open_count);
                return log_error_errno(r, "dm device %s: removing it failed: %s", name, why);
        }
        (void) cookie_wait(cookie, name, udev, NODE_ABSENT);
        log_debug("dm device %s: removed", name);
        return 0;
}

int dm_linear_table(const char *name, DmLinearTarget **ret_targets, size_t *ret_n) {
        _cleanup_dm_task_ struct dm_task *dmt = NULL;
        _cleanup_free_ DmLinearTarget *t = NULL;
        struct dm_info info;
        size_t n = 0, allocated = 0;
        void *next = NULL;
        const char *uuid;
        int r;

        r = dm_setup();
        if (r < 0)
                return r;
        r = check_name(name);
        if (r < 0)
                return r;
        r = inspect_existing(name, &info);
        if (r < 0)
                return r;

        r = task_new(DM_DEVICE_TABLE, name, &dmt);
        if (r < 0)
                return r;
        r = task_run(dmt);
        if (r < 0)
                return log_error_errno(r, "dm device %s: cannot read its table: %s", name, dm_error_text());
        /* The reply names the device it answered for: still ours? */
        uuid = sym_dm_task_get_uuid(dmt);
        if (!uuid || strncmp(uuid, DM_LINEAR_UUID_PREFIX, strlen(DM_LINEAR_UUID_PREFIX)) != 0)
                return log_error_errno(EPERM, "dm device %s: changed hands while being read "
                                       "(UUID now '%s'), refusing", name, uuid ? uuid : "");

        do {
                uint64_t start, length, offset;
                char *type = NULL, *params = NULL;
                unsigned maj, min;
                int end = -1;

                next = sym_dm_get_next_target(dmt, next, &start, &length, &type, &params);
                if (!type)
                        break;
                if (strcmp(type, "linear") != 0)
                        return log_error_errno(EMEDIUMTYPE, "dm device %s: target at sector %" PRIu64
                                               " is of type '%s', not linear", name, start, type);
                if (!params || sscanf(params, "%u:%u %" SCNu64 "%n", &maj, &min, &offset, &end) != 3 ||
                    end < 0 || params[end] != 0)
                        return log_error_errno(EBADMSG, "dm device %s: cannot parse linear target '%s'",
                                               name, params ? params : "");
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 8;
                        DmLinearTarget *m = reallocarray(t, a, sizeof *t);
                        if (!m)
                                return log_oom();
                        t = m;
                        allocated = a;
                }
                t[n++] = (DmLinearTarget) { .start = start, .length = length,
                                            .dev = makedev(maj, min), .offset = offset };
        } while (next);

        *ret_targets = TAKE_PTR(t);
        *ret_n = n;
        return 0;
}

int dm_linear_info(const char *name, DmLinearInfo *ret) {
        struct dm_info info;
        int r;

        r = dm_setup();
        if (r < 0)
                return r;
        r = check_name(name);
        if (r < 0)
                return r;
        r = inspect(name, &info);
        if (r == -ENODEV) {
                *ret = (DmLinearInfo) { .exists = false };
                return 0;
        }
        if (r < 0)
                return r;
        *ret = (DmLinearInfo) {
                .exists = true,
                .suspended = info.suspended,
                .has_live_table = info.live_table,
                .has_inactive_table = info.inactive_table,
                .open_count = info.open_count,
                .dev = makedev(info.major, info.minor),
        };
        return 0;
}
