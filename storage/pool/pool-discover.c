/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
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

int pool_id_write(const char *path, const uint8_t uuid[16]) {
        char text[38];
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
        pool_uuid_to_string(uuid, text);
        strcat(text, "\n");
        int r = write_file_atomic(path, text, strlen(text), 0644, 0);
        if (r < 0)
                return log_error_errno(r, "pool: cannot record the pool's UUID in %s: %m", path);
        return 0;
}

int pool_discover_select(const PoolCandidate *c, size_t n, const uint8_t *recorded, const char *record_path,
                         bool *keep, uint8_t ret_uuid[16], bool *ret_adopted) {
        char a[37], b[37];
        const uint8_t *ours = recorded;
        size_t n_ok = 0, n_kept = 0;

        *ret_adopted = false;
        for (size_t i = 0; i < n; i++) {
                keep[i] = false;
                if (!c[i].ok)
                        continue;
                n_ok++;
                if (!ours)
                        ours = c[i].pool_uuid;
                else if (!recorded && memcmp(ours, c[i].pool_uuid, 16) != 0) {
                        /* Which one is /home's? Only the record can say. */
                        size_t first = 0;
                        while (!c[first].ok || memcmp(c[first].pool_uuid, ours, 16) != 0)
                                first++;
                        return log_error_errno(EXDEV, "pool: %s belongs to pool %s, %s to pool %s, and %s records no "
                                                      "pool UUID: refusing to guess which is this machine's; write "
                                                      "its UUID there, or name its devices with --devices",
                                               c[first].path, pool_uuid_to_string(ours, a), c[i].path,
                                               pool_uuid_to_string(c[i].pool_uuid, b), record_path);
                }
        }
        if (n_ok == 0)
                return log_error_errno(ENODEV, "pool: no physical volume found (no block device carries a valid Hearth geometry block)");

        for (size_t i = 0; i < n; i++) {
                if (!c[i].ok)
                        continue;
                if (memcmp(c[i].pool_uuid, ours, 16) != 0) {
                        log_warning("pool PV %s: ignored: it belongs to pool %s, not to this machine's pool %s "
                                    "(recorded in %s)",
                                    c[i].path, pool_uuid_to_string(c[i].pool_uuid, a), pool_uuid_to_string(ours, b),
                                    record_path);
                        continue;
                }
                for (size_t j = 0; j < i; j++)
                        if (keep[j] && (c[j].pv_index == c[i].pv_index || memcmp(c[j].pv_uuid, c[i].pv_uuid, 16) == 0))
                                return log_error_errno(ENOTUNIQ, "pool: %s and %s both claim to be PV %u of pool %s "
                                                                 "(a cloned disk?); refusing to guess which is real: "
                                                                 "detach the copy, or name the devices with --devices",
                                                       c[j].path, c[i].path, c[i].pv_index, pool_uuid_to_string(ours, a));
                keep[i] = true;
                n_kept++;
        }
        if (n_kept == 0)
                return log_error_errno(ENODEV, "pool: no physical volume of this machine's pool %s (recorded in %s) found",
                                       pool_uuid_to_string(ours, a), record_path);
        if (!recorded) {
                log_warning("pool: %s records no pool UUID; taking pool %s, the only one found", record_path,
                            pool_uuid_to_string(ours, a));
                *ret_adopted = true;
        }
        memcpy(ret_uuid, ours, 16);
        return 0;
}
