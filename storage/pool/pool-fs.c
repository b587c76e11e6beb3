/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What is on a volume when it grows or shrinks: the filesystem (through
 * fs.h: online where mounted, offline for ext4), or an open LUKS mapping
 * that must already fit (the home's resize shrinks what is inside). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <blkid/blkid.h>
#include <libcryptsetup.h>

#include "crypt-log.h"
#include "dlopen-blkid.h"
#include "dlopen-cryptsetup.h"
#include "fs.h"
#include "log.h"
#include "macro.h"
#include "pool-internal.h"

static void unescape_mount(char *s) {
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = 0;
}

/* Where the dm device dev is mounted (btrfs reports an anonymous dev_t in
 * mountinfo, so the source is compared too). 0 and empty strings if not. */
int pool_find_mount(dev_t dev, char mountpoint[static PATH_MAX], char fstype[static 32]) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        mountpoint[0] = fstype[0] = 0;
        if (!f)
                return log_error_errno(errno, "pool: cannot read /proc/self/mountinfo: %m");
        while (getline(&line, &size, f) > 0) {
                unsigned ma, mi;
                char mp[PATH_MAX], type[32], src[PATH_MAX];
                struct stat st;

                if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, mp) != 3)
                        continue;
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(dash, " - %31s %4095s", type, src) != 2)
                        continue;
                unescape_mount(src);
                bool match = makedev(ma, mi) == dev ||
                             (src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev);
                if (!match)
                        continue;
                unescape_mount(mp);
                snprintf(mountpoint, PATH_MAX, "%s", mp);
                snprintf(fstype, 32, "%s", type);
                return 1;
        }
        return 0;
}

static int probe_fstype(const char *dev, char fstype[static 32]) {
        fstype[0] = 0;
        int r = dlopen_blkid();
        if (r < 0)
                return r;
        blkid_probe pr = sym_blkid_new_probe_from_filename(dev);
        if (!pr)
                return log_error_errno(errno ?: EIO, "pool: cannot probe %s", dev);
        sym_blkid_probe_enable_superblocks(pr, 1);
        sym_blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        r = sym_blkid_do_safeprobe(pr);
        const char *t = NULL;
        if (r == 0 && sym_blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0 && t)
                snprintf(fstype, 32, "%s", t);
        sym_blkid_free_probe(pr);
        if (r == -2)
                snprintf(fstype, 32, "ambiguous");
        return 0;
}

/* Grows the volume's filesystem to its device: online where mounted. */
int pool_fs_grow(const char *volume, dev_t dev) {
        char mp[PATH_MAX], type[32], node[128], what[128];
        int r;

        snprintf(node, sizeof node, "/dev/mapper/" POOL_DM_PREFIX "%s", volume);
        snprintf(what, sizeof what, "pool volume %s", volume);
        r = pool_find_mount(dev, mp, type);
        if (r < 0)
                return r;
        if (r > 0) {
                if (strcmp(type, "btrfs") == 0)
                        r = fs_btrfs_resize_dev(what, mp, dev, 0);
                else if (strcmp(type, "ext4") == 0 || strcmp(type, "xfs") == 0)
                        r = fs_grow(type, node, mp);
                else {
                        log_notice("%s: %s on %s cannot be grown by Hearth; grow it yourself", what, type, mp);
                        return 0;
                }
                if (r < 0)
                        return r;
                log_info("%s: %s on %s grown online", what, type, mp);
                return 0;
        }
        r = probe_fstype(node, type);
        if (r < 0)
                return r;
        if (strcmp(type, "crypto_LUKS") == 0) {
                log_debug("%s: holds LUKS; the home's resize grows the mapping and its filesystem", what);
                return 0;
        }
        if (strcmp(type, "ext4") == 0) {
                r = run_tool(what, (char *const[]) { "e2fsck", "-f", "-y", node, NULL });
                if (r >= 0)
                        r = fs_grow("ext4", node, NULL);
                if (r >= 0)
                        log_info("%s: ext4 grown offline", what);
                return r;
        }
        if (type[0])
                log_notice("%s: %s is not mounted; it grows to the new size when mounted and resized", what, type);
        return 0;
}

/* The pool cannot shrink what is inside a LUKS volume; the home's resize
 * does (filesystem, then the mapping) and then shrinks the volume. So a
 * LUKS volume shrinks only under open mappings that already end within the
 * new size: anything else would cut off encrypted data. */
static int volume_luks_fits(const char *what, dev_t dev, uint64_t new_size) {
        char path[PATH_MAX];
        struct dirent *de;
        unsigned n = 0;
        int r = 0;

        r = storage_crypt_log_setup();
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/holders", major(dev), minor(dev));
        DIR *dir = opendir(path);
        if (!dir)
                return log_error_errno(errno, "%s: cannot list what holds it (%s): %m", what, path);
        while (r >= 0 && (de = readdir(dir))) {
                char np[PATH_MAX], name[128] = "";
                struct crypt_device *cd = NULL;
                struct crypt_active_device cad;

                if (de->d_name[0] == '.' || strlen(de->d_name) > 64)
                        continue;
                n++;
                snprintf(np, sizeof np, "/sys/class/block/%s/dm/name", de->d_name);
                _cleanup_fclose_ FILE *f = fopen(np, "re");
                if (f && fgets(name, sizeof name, f))
                        name[strcspn(name, "\n")] = 0;
                if (!name[0]) {
                        r = log_error_errno(EBUSY, "%s: held by %s, not a device-mapper device; refusing to shrink under it", what, de->d_name);
                        break;
                }
                if (sym_crypt_init_by_name(&cd, name) < 0 || sym_crypt_get_active_device(cd, name, &cad) < 0) {
                        if (cd)
                                sym_crypt_free(cd);
                        r = log_error_errno(EBUSY, "%s: held by %s, not a mapping Hearth can measure; refusing to shrink under it", what, name);
                        break;
                }
                sym_crypt_free(cd);
                if (cad.size > UINT64_MAX / 512 || cad.offset > UINT64_MAX / 512 - cad.size || (cad.offset + cad.size) * 512 > new_size)
                        r = log_error_errno(EBUSY, "%s: the LUKS mapping %s on it reaches past the new size of %" PRIu64 " bytes; "
                                            "shrink the home (hearth-work resize), which shrinks what is inside first", what, name, new_size);
        }
        closedir(dir);
        if (r >= 0 && n == 0)
                r = log_error_errno(EOPNOTSUPP, "%s: holds LUKS, which is not open; shrink the home (hearth-work resize), "
                                    "which shrinks what is inside first", what);
        return r;
}

/* Shrinks the filesystem to new_size bytes, before the device shrinks. */
int pool_fs_shrink(const char *volume, dev_t dev, uint64_t new_size) {
        char mp[PATH_MAX], type[32], node[128], what[128];
        int r;

        snprintf(node, sizeof node, "/dev/mapper/" POOL_DM_PREFIX "%s", volume);
        snprintf(what, sizeof what, "pool volume %s", volume);
        r = pool_find_mount(dev, mp, type);
        if (r < 0)
                return r;
        bool mounted = r > 0;
        if (!mounted) {
                r = probe_fstype(node, type);
                if (r < 0)
                        return r;
        }
        if (strcmp(type, "btrfs") == 0) {
                if (!mounted)
                        return log_error_errno(EOPNOTSUPP, "%s: btrfs shrinks online only; mount it first", what);
                return fs_btrfs_resize_dev(what, mp, dev, new_size);
        }
        if (strcmp(type, "ext4") == 0) {
                if (mounted)
                        return log_error_errno(EBUSY, "%s: ext4 shrinks offline only; unmount %s first", what, mp);
                return fs_shrink("ext4", node, NULL, new_size);
        }
        if (strcmp(type, "xfs") == 0)
                return log_error_errno(EOPNOTSUPP, "%s: xfs cannot shrink; only growing is possible", what);
        if (strcmp(type, "crypto_LUKS") == 0)
                return volume_luks_fits(what, dev, new_size);
        if (type[0] == 0)
                return 0; /* nothing recognisable on it: nothing to cut */
        return log_error_errno(EOPNOTSUPP, "%s: holds %s, which Hearth cannot shrink; refusing to cut it off", what, type);
}
