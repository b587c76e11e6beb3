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
#include "sysfs-block.h"
#include "pool.h"

/* 1 and why if this member is a PV (its geometry block, its GPT type, the
 * record), 0 if not. */
static int member_is_pv(int fd, const BlockMember *m, const PoolRecord *rec, char *why, size_t size) {
        PoolGeometry g;
        PartInfo pi;
        char u[37];
        uint32_t index;

        int r = pool_geometry_probe(fd, m->start, &g);
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
        BlockMember *m = NULL;
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
        sysfs_read_line(path, dm, sizeof dm);
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
        m = calloc(BLOCK_MEMBERS_MAX, sizeof *m);
        if (!m)
                return log_oom();
        r = block_device_members(st.st_rdev, m, &n);
        if (r < 0)
                log_error_errno(r, "pool: cannot list %s and its partitions in sysfs: %m", node);
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
