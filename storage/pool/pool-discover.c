/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "hex.h"
#include "log.h"
#include "macro.h"
#include "pool-discover.h"
#include "pool-metadata.h"

const char *pool_id_file(void) {
        const char *e = secure_getenv(POOL_ID_FILE_ENV);
        return e && *e ? e : POOL_ID_FILE;
}

int pool_uuid_from_string(const char *s, uint8_t ret[16]) {
        uint8_t u[16];
        size_t k = 0;

        if (strlen(s) != 36)
                return -EINVAL;
        for (size_t i = 0; i < 36;) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i++] != '-')
                                return -EINVAL;
                        continue;
                }
                int hi = unhexchar(s[i]), lo = unhexchar(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                u[k++] = (uint8_t) (hi << 4 | lo);
                i += 2;
        }
        memcpy(ret, u, 16);
        return 0;
}

int pool_id_read(const char *path, uint8_t ret[16]) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file_bounded(path, 4096, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "pool: cannot read %s: %m", path);
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t'))
                text[--len] = 0;
        static const uint8_t null[16];
        if (strlen(text) != len || pool_uuid_from_string(text, ret) < 0 || memcmp(ret, null, 16) == 0)
                return log_error_errno(EBADMSG, "pool: %s must hold this machine's pool UUID and nothing else; "
                                                "`hearth-pool status` on the pool's devices shows it", path);
        return 1;
}

/* Writes text to path atomically (0644), making its parent directories. */
static int record_write(const char *path, const char *text, const char *what) {
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return log_oom();
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                int r = mkdir_parents(dir, 0755);
                if (r < 0)
                        return log_error_errno(r, "pool: cannot make %s: %m", dir);
        }
        int r = write_file_atomic(path, text, strlen(text), 0644, 0);
        if (r < 0)
                return log_error_errno(r, "pool: cannot record %s in %s: %m", what, path);
        return 0;
}

int pool_id_write(const char *path, const uint8_t uuid[16]) {
        char text[38];
        pool_uuid_to_string(uuid, text);
        strcat(text, "\n");
        return record_write(path, text, "the pool's UUID");
}

const char *pool_pvs_file(void) {
        const char *e = secure_getenv(POOL_PVS_FILE_ENV);
        return e && *e ? e : POOL_PVS_FILE;
}

/* A sysfs device path as recorded: absolute, printable, no spaces. */
static bool hw_valid(const char *s) {
        if (s[0] != '/' || strlen(s) >= POOL_PV_HW_MAX)
                return false;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || (unsigned char) *c >= 0x7f)
                        return false;
        return true;
}

/* One "pv INDEX PARTUUID DISKGUID HW" line (the words after "pv"). */
static int pvs_parse_line(char *line, PoolRecord *rec) {
        char *w[5], *save = NULL;
        size_t n = 0;
        for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (n >= ELEMENTSOF(w))
                        return -EBADMSG;
                w[n++] = t;
        }
        if (n != 4 || rec->n_pvs >= POOL_PVS_MAX)
                return -EBADMSG;
        char *end;
        errno = 0;
        unsigned long index = strtoul(w[0], &end, 10);
        if (errno != 0 || *end || !isdigit((unsigned char) w[0][0]) || index >= POOL_PVS_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < rec->n_pvs; i++)
                if (rec->pv_index[i] == index)
                        return -EBADMSG;
        PoolPvIdentity *id = &rec->pv[rec->n_pvs];
        *id = (PoolPvIdentity) {};
        bool no_part = strcmp(w[1], "-") == 0, no_disk = strcmp(w[2], "-") == 0;
        if (no_part != no_disk)
                return -EBADMSG;
        if (!no_part) {
                static const uint8_t null[16];
                if (pool_uuid_from_string(w[1], id->part_uuid) < 0 || pool_uuid_from_string(w[2], id->disk_guid) < 0 ||
                    memcmp(id->part_uuid, null, 16) == 0 || memcmp(id->disk_guid, null, 16) == 0)
                        return -EBADMSG;
                id->gpt = true;
        }
        if (strcmp(w[3], "-") != 0) {
                if (!hw_valid(w[3]))
                        return -EBADMSG;
                strcpy(id->hw, w[3]);
        }
        rec->pv_index[rec->n_pvs++] = (uint32_t) index;
        return 0;
}

int pool_pvs_read(PoolRecord *rec) {
        _cleanup_free_ char *text = NULL;
        PoolRecord r0 = *rec;
        uint8_t pool[16];
        bool have_pool = false;
        size_t len;

        rec->n_pvs = r0.n_pvs = 0;
        int r = read_file_bounded(rec->pvs_path, 16384, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "pool: cannot read %s: %m", rec->pvs_path);
        if (strlen(text) != len)
                goto bad;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] == '#')
                        continue;
                if (strncmp(line, "pool ", 5) == 0 && !have_pool) {
                        if (pool_uuid_from_string(line + 5, pool) < 0)
                                goto bad;
                        have_pool = true;
                } else if (strncmp(line, "pv ", 3) == 0 && have_pool) {
                        if (pvs_parse_line(line + 3, &r0) < 0)
                                goto bad;
                } else
                        goto bad;
        }
        if (!have_pool || r0.n_pvs == 0)
                goto bad;
        if (!rec->has_uuid || memcmp(pool, rec->uuid, 16) != 0) {
                char a[37], b[37];
                if (rec->has_uuid)
                        log_warning("pool: %s records the physical volumes of pool %s, not of this machine's pool %s "
                                    "(recorded in %s); not using it", rec->pvs_path, pool_uuid_to_string(pool, a),
                                    pool_uuid_to_string(rec->uuid, b), rec->path);
                return 0;
        }
        *rec = r0;
        return 1;
bad:
        return log_error_errno(EBADMSG, "pool: %s is malformed: it must hold a \"pool UUID\" line, then one "
                                        "\"pv INDEX PARTUUID DISKGUID HWPATH\" line per physical volume; "
                                        "remove it and run `hearth-pool activate` to record it again", rec->pvs_path);
}

static const PoolPvIdentity *record_find(const PoolRecord *rec, uint32_t index) {
        for (size_t i = 0; i < rec->n_pvs; i++)
                if (rec->pv_index[i] == index)
                        return &rec->pv[i];
        return NULL;
}

int pool_pvs_write(const PoolRecord *rec) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        char a[37], b[37];

        FILE *f = open_memstream(&text, &size);
        if (!f)
                return log_oom();
        fprintf(f, "# Where this machine's pool's physical volumes sit: hearth-pool init and activate write\n"
                   "# this file (docs/POOL-FORMAT.md, \"Finding the PVs\"). pv INDEX PARTUUID DISKGUID HWPATH\n"
                   "pool %s\n", pool_uuid_to_string(rec->uuid, a));
        /* In index order, whichever order the PVs were found in. */
        for (uint32_t index = 0; index < POOL_PVS_MAX; index++) {
                const PoolPvIdentity *id = record_find(rec, index);
                if (!id)
                        continue;
                fprintf(f, "pv %" PRIu32 " %s %s %s\n", index, id->gpt ? pool_uuid_to_string(id->part_uuid, a) : "-",
                        id->gpt ? pool_uuid_to_string(id->disk_guid, b) : "-", hw_valid(id->hw) ? id->hw : "-");
        }
        if (fclose(f) != 0 || !text)
                return log_oom();
        return record_write(rec->pvs_path, text, "the pool's physical volumes");
}

static bool id_equal(const PoolPvIdentity *a, const PoolPvIdentity *b) {
        if (a->gpt != b->gpt || strcmp(a->hw, b->hw) != 0)
                return false;
        return !a->gpt || (memcmp(a->part_uuid, b->part_uuid, 16) == 0 && memcmp(a->disk_guid, b->disk_guid, 16) == 0);
}

bool pool_record_pvs_equal(const PoolRecord *a, const PoolRecord *b) {
        if (a->n_pvs != b->n_pvs)
                return false;
        for (size_t i = 0; i < a->n_pvs; i++) {
                size_t j = 0;
                while (j < b->n_pvs && b->pv_index[j] != a->pv_index[i])
                        j++;
                if (j == b->n_pvs || !id_equal(&a->pv[i], &b->pv[j]))
                        return false;
        }
        return true;
}

int pool_record_find_partition(const PoolRecord *rec, const PoolPvIdentity *id, uint32_t *ret_index) {
        if (!id->gpt)
                return 0;
        for (size_t i = 0; i < rec->n_pvs; i++)
                if (rec->pv[i].gpt && memcmp(rec->pv[i].part_uuid, id->part_uuid, 16) == 0 &&
                    memcmp(rec->pv[i].disk_guid, id->disk_guid, 16) == 0) {
                        *ret_index = rec->pv_index[i];
                        return 1;
                }
        return 0;
}

/* Whether a device is the partition recorded for a PV. The place in the
 * hardware does not count here (a disk moved to another port is still
 * the disk), except for a PV outside a GPT, which has nothing else. */
static bool id_matches(const PoolPvIdentity *want, const PoolPvIdentity *got) {
        if (want->gpt)
                return got->gpt && memcmp(want->part_uuid, got->part_uuid, 16) == 0 &&
                       memcmp(want->disk_guid, got->disk_guid, 16) == 0;
        return !got->gpt && (!want->hw[0] || strcmp(want->hw, got->hw) == 0);
}

static char *id_to_string(const PoolPvIdentity *id, char buf[static 128]) {
        char a[37], b[37];
        if (id->gpt)
                snprintf(buf, 128, "partition %s of disk %s", pool_uuid_to_string(id->part_uuid, a),
                         pool_uuid_to_string(id->disk_guid, b));
        else
                snprintf(buf, 128, "not a GPT partition");
        return buf;
}

int pool_discover_select(const PoolCandidate *c, size_t n, const PoolRecord *rec, bool *keep, PoolDiscovery *ret) {
        char a[37], b[37], ids[2][128];
        const uint8_t *ours = rec->has_uuid ? rec->uuid : NULL;
        size_t n_ok = 0, n_kept = 0;
        bool bound = ours && rec->n_pvs > 0;
        _cleanup_free_ bool *usable = calloc(n > 0 ? n : 1, sizeof *usable);

        *ret = (PoolDiscovery) {};
        if (!usable)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                keep[i] = usable[i] = false;
                if (!c[i].ok)
                        continue;
                /* Anyone can attach these (udisks lets an active user set up
                 * a loop device of her own file), and with any bytes on them. */
                if (c[i].loop || c[i].removable) {
                        log_warning("pool PV %s: ignored: %s, which any local user can attach; name it with "
                                    "--devices if it really is a PV", c[i].path,
                                    c[i].loop ? "a loop device" : "on a removable disk");
                        continue;
                }
                usable[i] = true;
                n_ok++;
                if (!ours)
                        ours = c[i].pool_uuid;
                else if (!rec->has_uuid && memcmp(ours, c[i].pool_uuid, 16) != 0) {
                        /* Which one is /home's? Only the record can say. */
                        size_t first = 0;
                        while (!usable[first] || memcmp(c[first].pool_uuid, ours, 16) != 0)
                                first++;
                        return log_error_errno(EXDEV, "pool: %s belongs to pool %s, %s to pool %s, and %s records no "
                                                      "pool UUID: refusing to guess which is this machine's; write "
                                                      "its UUID there, or name its devices with --devices",
                                               c[first].path, pool_uuid_to_string(ours, a), c[i].path,
                                               pool_uuid_to_string(c[i].pool_uuid, b), rec->path);
                }
        }
        if (n_ok == 0)
                return log_error_errno(ENODEV, "pool: no physical volume found (no block device carries a valid Hearth geometry block)");

        for (size_t i = 0; i < n; i++) {
                if (!usable[i])
                        continue;
                usable[i] = false;
                if (memcmp(c[i].pool_uuid, ours, 16) != 0) {
                        log_warning("pool PV %s: ignored: it belongs to pool %s, not to this machine's pool %s "
                                    "(recorded in %s)",
                                    c[i].path, pool_uuid_to_string(c[i].pool_uuid, a), pool_uuid_to_string(ours, b),
                                    rec->path);
                        continue;
                }
                if (bound) {
                        const PoolPvIdentity *want = record_find(rec, c[i].pv_index);
                        if (!want) {
                                log_warning("pool PV %s: ignored: it claims to be PV %" PRIu32 " of this machine's pool, "
                                            "which %s does not list", c[i].path, c[i].pv_index, rec->pvs_path);
                                continue;
                        }
                        if (!id_matches(want, &c[i].id)) {
                                log_warning("pool PV %s: ignored: it claims to be PV %" PRIu32 " of this machine's pool, "
                                            "but it is %s, and %s records %s", c[i].path, c[i].pv_index,
                                            id_to_string(&c[i].id, ids[0]), rec->pvs_path, id_to_string(want, ids[1]));
                                continue;
                        }
                }
                usable[i] = true;
        }

        /* The same PV twice. */
        for (size_t i = 0; i < n; i++) {
                if (!usable[i])
                        continue;
                size_t dup = n, n_same = 0, n_here = 0, here = n;
                const PoolPvIdentity *want = bound ? record_find(rec, c[i].pv_index) : NULL;
                for (size_t j = 0; j < n; j++) {
                        /* Bound, only the index counts: each passed the identity recorded for it. */
                        if (!usable[j] || (c[j].pv_index != c[i].pv_index &&
                                           (bound || memcmp(c[j].pv_uuid, c[i].pv_uuid, 16) != 0)))
                                continue;
                        n_same++;
                        if (j != i && dup == n)
                                dup = j;
                        if (want && want->hw[0] && strcmp(want->hw, c[j].id.hw) == 0) {
                                n_here++;
                                here = j;
                        }
                }
                if (n_same == 1) {
                        keep[i] = true;
                        continue;
                }
                if (!want)
                        return log_error_errno(ENOTUNIQ, "pool: %s and %s both claim to be PV %" PRIu32 " of pool %s "
                                                         "(a cloned disk?); refusing to guess which is real: "
                                                         "detach the copy, or name the devices with --devices",
                                               c[i < dup ? i : dup].path, c[i < dup ? dup : i].path, c[i].pv_index,
                                               pool_uuid_to_string(ours, a));
                /* Both are the recorded partition of the recorded disk: a
                 * copy of the disk, or GUIDs copied from lsblk. The disk's
                 * place in the hardware is what a user cannot copy. */
                if (n_here != 1)
                        return log_error_errno(ENOTUNIQ, "pool: %s and %s both are PV %" PRIu32 " of pool %s as %s "
                                                         "records it (%s), and %s: refusing to guess which is real: "
                                                         "detach the copy, or name the devices with --devices",
                                               c[i < dup ? i : dup].path, c[i < dup ? dup : i].path, c[i].pv_index,
                                               pool_uuid_to_string(ours, a), rec->pvs_path, id_to_string(want, ids[0]),
                                               n_here == 0 ? "neither sits where it records the disk"
                                                           : "both sit where it records the disk");
                if (here == i)
                        keep[i] = true;
                else
                        log_warning("pool PV %s: ignored: it carries the identity of PV %" PRIu32 " (%s), but %s sits "
                                    "where %s records that PV's disk (%s)", c[i].path, c[i].pv_index,
                                    id_to_string(want, ids[0]), c[here].path, rec->pvs_path, want->hw);
        }
        for (size_t i = 0; i < n; i++)
                n_kept += keep[i];
        if (n_kept == 0)
                return log_error_errno(ENODEV, "pool: no physical volume of this machine's pool %s (recorded in %s) found",
                                       pool_uuid_to_string(ours, a), rec->path);
        if (!rec->has_uuid) {
                log_warning("pool: %s records no pool UUID; taking pool %s, the only one found", rec->path,
                            pool_uuid_to_string(ours, a));
                ret->adopted = true;
        }
        ret->unbound = !bound;
        memcpy(ret->uuid, ours, 16);
        return 0;
}
