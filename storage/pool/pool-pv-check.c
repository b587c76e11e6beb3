/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a block device is the extent pool's (pool_device_is_pv(),
 * pool.h): what creating a LUKS home on a block device must never format.
 * A PV of a pool that is not active has no holders, and blkid knows no
 * signature on it, so neither "in use" nor "blank" sees it; a PV of an
 * active pool with no extent of a volume on it has no holders either. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pool-discover.h"
#include "pool-internal.h"
#include "pool.h"

#define MEMBERS_MAX 128 /* the device and its partitions */

typedef struct Member {
        dev_t devnum;
        char name[NAME_MAX + 1]; /* the kernel's: vdb, vdb3 */
        uint64_t base;           /* bytes: where it starts in the device checked */
} Member;

/* A sysfs attribute's first line, or "" if it cannot be read. */
static void sysfs_line(const char *path, char *buf, size_t size) {
        _cleanup_free_ char *text = NULL;
        buf[0] = 0;
        if (read_file_bounded(path, 4096, &text, NULL) >= 0) {
                text[strcspn(text, "\n")] = 0;
                snprintf(buf, size, "%s", text);
        }
}

/* The device and, if it is a whole disk, each of its partitions, with
 * where each starts on the disk. */
static int members_of(dev_t devnum, Member *m, size_t *n) {
        char sys[64], real[PATH_MAX];

        snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u", major(devnum), minor(devnum));
        if (!realpath(sys, real))
                return log_error_errno(errno, "pool: cannot find block device %u:%u in sysfs: %m", major(devnum),
                                       minor(devnum));
        m[0] = (Member) { .devnum = devnum };
        snprintf(m[0].name, sizeof m[0].name, "%s", strrchr(real, '/') + 1);
        *n = 1;
        __attribute__((cleanup(closedirp))) DIR *d = opendir(real);
        if (!d)
                return log_error_errno(errno, "pool: cannot list %s: %m", real);
        for (struct dirent *e; (e = readdir(d));) {
                char path[PATH_MAX + NAME_MAX + 16], dev[32], start[32];
                unsigned maj, min;
                uint64_t sectors;
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s/partition", real, e->d_name);
                if (access(path, F_OK) < 0)
                        continue;
                snprintf(path, sizeof path, "%s/%s/dev", real, e->d_name);
                sysfs_line(path, dev, sizeof dev);
                snprintf(path, sizeof path, "%s/%s/start", real, e->d_name);
                sysfs_line(path, start, sizeof start);
                if (sscanf(dev, "%u:%u", &maj, &min) != 2 || sscanf(start, "%" SCNu64, &sectors) != 1)
                        return log_error_errno(EIO, "pool: cannot read where partition %s of %s starts", e->d_name,
                                               m[0].name);
                if (*n >= MEMBERS_MAX)
                        return log_error_errno(E2BIG, "pool: %s has more than %d partitions", m[0].name,
                                               MEMBERS_MAX - 1);
                m[*n] = (Member) { .devnum = makedev(maj, min), .base = sectors * 512 };
                snprintf(m[*n].name, sizeof m[*n].name, "%s", e->d_name);
                (*n)++;
        }
        return 0;
}

/* 1 and why if this member is a PV (its geometry block, its GPT type, the
 * record), 0 if not. */
static int member_is_pv(int fd, const Member *m, const PoolRecord *rec, char *why, size_t size) {
        PoolGeometry g;
        PartInfo pi;
        char u[37];
        uint32_t index;

        int r = pool_geometry_probe(fd, m->base, &g);
        if (r > 0) {
                snprintf(why, size, "a physical volume (%" PRIu32 ") of extent pool %s: it carries its geometry block",
                         g.pv_index, pool_uuid_to_string(g.pool_uuid, u));
                return 1;
        }
        if (r == -EBADMSG) {
                snprintf(why, size, "a physical volume of an extent pool: it carries a (damaged) Hearth geometry block");
                return 1;
        }
        if (r < 0)
                return log_error_errno(r, "pool: cannot read %s: %m", m->name);
        r = pool_part_info(m->devnum, &pi); /* logged */
        if (r < 0)
                return r;
        if (pi.in_gpt && strcasecmp(pi.type, POOL_GPT_TYPE) == 0) {
                snprintf(why, size, "an extent pool's partition: its GPT partition type is the pool's (%s)",
                         POOL_GPT_TYPE);
                return 1;
        }
        if (pi.in_gpt) {
                PoolPvIdentity id = { .gpt = true };
                memcpy(id.part_uuid, pi.part_uuid, 16);
                memcpy(id.disk_guid, pi.disk_guid, 16);
                if (pool_record_find_partition(rec, &id, &index) > 0) {
                        snprintf(why, size, "physical volume %" PRIu32 " of this machine's pool %s, as %s records it",
                                 index, pool_uuid_to_string(rec->uuid, u), rec->pvs_path);
                        return 1;
                }
        }
        return 0;
}

int pool_device_is_pv(const char *node, char *why, size_t why_size) {
        Member *m = NULL;
        size_t n = 0;
        struct stat st;
        char path[96], dm[128];
        int r;

        if (stat(node, &st) < 0)
                return log_error_errno(errno, "pool: cannot stat %s: %m", node);
        if (!S_ISBLK(st.st_mode))
                return log_error_errno(ENOTBLK, "pool: %s is not a block device", node);
        /* A volume's own device, under another of its names (/dev/dm-N). */
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/dm/name", major(st.st_rdev), minor(st.st_rdev));
        sysfs_line(path, dm, sizeof dm);
        if (strncmp(dm, POOL_DM_PREFIX, strlen(POOL_DM_PREFIX)) == 0) {
                snprintf(why, why_size, "the extent pool's volume %s (" POOL_DEVICE_PREFIX "%s)",
                         dm + strlen(POOL_DM_PREFIX), dm + strlen(POOL_DM_PREFIX));
                return 1;
        }

        PoolRecord rec = { .path = pool_id_file(), .pvs_path = pool_pvs_file() };
        r = pool_id_read(rec.path, rec.uuid); /* logged */
        if (r < 0)
                return r;
        rec.has_uuid = r > 0;
        if (rec.has_uuid && (r = pool_pvs_read(&rec)) < 0) /* logged */
                return r;

        _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return log_error_errno(errno, "pool: cannot open %s: %m", node);
        m = calloc(MEMBERS_MAX, sizeof *m);
        if (!m)
                return log_oom();
        r = members_of(st.st_rdev, m, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char what[256];
                r = member_is_pv(fd, &m[i], &rec, what, sizeof what);
                if (r > 0) {
                        if (i == 0)
                                snprintf(why, why_size, "%s", what);
                        else
                                snprintf(why, why_size, "its partition %s is %s", m[i].name, what);
                }
                if (r != 0)
                        break;
        }
        free(m);
        return r;
}
