/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Making a LUKS home in systemd-homed's layout (luks-internal.h): the
 * image or device (allocated, checked blank), its GPT, the LUKS2 header,
 * keyslots, TPM2 and recovery enrolment, the file system, the home's
 * directory in it and the skeleton; anything half-made is undone. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <btrfsutil.h>
#include <libcryptsetup.h>
#include <openssl/rand.h>

#include "backend.h"
#include "device-busy.h"
#include "dlopen-blkid.h"
#include "dlopen-cryptsetup.h"
#include "fileio.h"
#include "fs.h"
#include "gpt.h"
#include "home-dm.h"
#include "image-file.h"
#include "identity-store.h"
#include "idmap.h"
#include "log.h"
#include "luks-tpm2.h"
#include "macro.h"
#include "runtime-paths.h"
#include "pool.h"
#include "secret.h"
#include "sysfs-block.h"
#include "size.h"

#include "luks-internal.h"

/* ---- create ---------------------------------------------------------------- */

/* For crypt_format() only: the volume key's digest in the header (PBKDF2)
 * gets the fewest iterations, as with cryptsetup --pbkdf-force-iterations,
 * instead of libcryptsetup benchmarking PBKDF2 and then spending the time
 * it measured (most of the format's time, seconds in the test VM). The
 * digest only checks a key a keyslot's KDF (what a guess pays for) or the
 * TPM already produced, or the random volume key itself: its cost protects
 * nothing. luks_password_pbkdf_set() sets the keyslots' settings after the format. */
static int set_pbkdf_for_format(Home *h, Volume *v) {
        struct crypt_pbkdf_type p = {
                .type = CRYPT_KDF_PBKDF2,
                .hash = h->rec->luks_pbkdf_hash_algorithm ?: "sha512",
                .iterations = 1000, /* libcryptsetup's minimum */
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        int r = sym_crypt_set_pbkdf_type(v->cd, &p);
        if (r < 0)
                return log_error_errno(r, "home %s: PBKDF settings for the volume key's digest refused by "
                                       "libcryptsetup: %m", h->name);
        return 0;
}

static int default_size(Home *h, const char *image, bool is_block, uint64_t *ret) {
        if (is_block) {
                _cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC);
                uint64_t size;
                if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0)
                        return log_error_errno(errno, "home %s: cannot get the size of %s: %m", h->name, image);
                *ret = size;
                return 0;
        }
        struct statvfs sv;
        if (h->rec->disk_size == UINT64_MAX) {
                if (fstatvfs(h->root_fd, &sv) < 0)
                        return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->root);
                int r = home_disk_size_from_share(h, (uint64_t) sv.f_bavail * sv.f_frsize);
                if (r < 0)
                        return r;
        }
        if (h->rec->disk_size != UINT64_MAX) {
                *ret = h->rec->disk_size & ~UINT64_C(4095); /* whole 4 KiB, as homed sizes images */
                return 0;
        }
        /* As homed: a share of what is free, here a fifth, in whole MiB. */
        *ret = (uint64_t) sv.f_bavail * sv.f_frsize / 5 / (1024 * 1024) * (1024 * 1024);
        return 0;
}

/* What an image may take of the file system under it: what is free there
 * but a floor left to the system, a twentieth of that file system (at most
 * 1 GiB). An image that filled /home would leave the other homes, logs and
 * everyone's files without room, and the file system read-only at worst. */
int luks_image_room(Home *h, uint64_t *ret) {
        struct statvfs sv;
        if (fstatvfs(h->root_fd, &sv) < 0)
                return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->root);
        uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize, total = (uint64_t) sv.f_blocks * sv.f_frsize;
        uint64_t floor = total / 20 < (UINT64_C(1) << 30) ? total / 20 : UINT64_C(1) << 30;
        *ret = avail > floor ? avail - floor : 0;
        return 0;
}

/* 0 if an image of size bytes, of which allocated are on disk already,
 * fits in that room; -ENOSPC if not. */
int luks_image_fits(Home *h, uint64_t size, uint64_t allocated) {
        char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX], c[SIZE_FORMAT_MAX];
        uint64_t room, need = size > allocated ? size - allocated : 0;
        int r = luks_image_room(h, &room);
        if (r < 0)
                return r;
        if (need <= room)
                return 0;
        return log_error_errno(ENOSPC, "home %s: an image of %s does not fit in %s: it needs %s more, and only %s "
                               "is free beyond what stays for the system", h->name, size_format(size, a), h->root,
                               size_format(need, b), size_format(room, c));
}

/* Gives the image file its size: allocated, as homed does unless discard
 * is on, so that the home cannot run out of room under its file system
 * later; sparse with discard, or where the file system cannot allocate. */
int luks_image_allocate(Home *h, const char *path, int fd, uint64_t size) {
        _cleanup_close_ int own = -1;
        if (fd < 0) {
                fd = own = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, path);
        }
        if (h->rec->luks_discard <= 0) {
                if (fallocate(fd, 0, 0, (off_t) size) == 0)
                        return 0;
                if (errno != EOPNOTSUPP && errno != ENOSYS)
                        return log_error_errno(errno, "home %s: cannot allocate %s: %m", h->name, path);
                log_debug("home %s: the file system under %s cannot allocate; the image stays sparse", h->name, path);
        }
        if (ftruncate(fd, (off_t) size) < 0)
                return log_error_errno(errno, "home %s: cannot size %s: %m", h->name, path);
        return 0;
}

/* Leftovers of a killed create: its mount and its mapping. The image file
 * itself goes with the other hidden leftovers. */
static void clean_create_leftovers(Home *h) {
        _cleanup_free_ char *mnt = NULL;
        char name[HOME_DM_NAME_MAX];

        if (luks_mount_dir(h, "create", &mnt) >= 0)
                (void) umount2(mnt, MNT_DETACH);
        if (luks_find_mapping(h, name, true) > 0) {
                _cleanup_free_ char *image = NULL;
                bool is_block;
                struct stat st;
                /* Active without a finished image: only a killed create does that. */
                if (luks_image_path(h, &image, &is_block) >= 0 && !is_block && stat(image, &st) < 0)
                        (void) sym_crypt_deactivate_by_name(NULL, name, CRYPT_DEACTIVATE_FORCE);
        }
        (void) home_clean_leftovers(h);
}

/* Another home whose record names the same device (the identity store
 * hearthd keeps): its volume is not this create's to format, wipe or not. */
static int device_named_by_other_home(Home *h, const char *dev) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        char **names = NULL;
        int r, found = 0;

        r = identity_store_open(NULL, &store);
        if (r >= 0)
                r = identity_store_list(store, &names);
        if (r < 0)
                return 0; /* no store (hearthd keeps none here): nothing to compare with */
        for (char **n = names; *n && !found; n++) {
                _cleanup_user_record_ UserRecord *rec = NULL;
                _cleanup_free_ char *theirs = NULL;
                if (strcmp(*n, h->name) == 0 || identity_store_load(store, *n, &rec) < 0 ||
                    (rec->storage != USER_STORAGE_LUKS && !rec->image_path))
                        continue;
                if (luks_image_of(rec, h->root, &theirs) < 0) {
                        found = log_oom();
                        break;
                }
                /* Under any name: the disk of its partition, a partition of
                 * its disk, a loop device over its image. A pool volume's
                 * node may not be there yet: then by name only. */
                r = storage_paths_overlap(dev, theirs);
                if (r < 0)
                        found = log_error_errno(r, "home %s: cannot tell whether %s holds home %s's %s: %m", h->name,
                                                dev, *n, theirs);
                else if (r > 0)
                        found = log_error_errno(EEXIST, "home %s: %s is, or holds, the volume of home %s (%s); refusing to format it",
                                                h->name, dev, *n, theirs);
        }
        for (char **n = names; *n; n++)
                free(*n);
        free(names);
        return found;
}

/* None of the users device-busy.h finds, and (exclusive_ok) an exclusive
 * open succeeded: the refusal, logged, names them. */
static int device_unused(Home *h, const char *dev, bool exclusive_ok) {
        char why[512] = "";
        int r = device_busy(dev, NULL, why, sizeof why);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot tell whether %s is in use: %m", h->name, dev);
        if (!exclusive_ok || r > 0)
                return log_error_errno(EBUSY, "home %s: %s is in use (%s); refusing to touch it%s", h->name, dev,
                                       r > 0 ? why : "claimed exclusively: mounted, mapped or swap",
                                       h->wipe ? " (--wipe erases signatures, never a device in use)" : "");
        return 0;
}

/* Claims a block device for create: an exclusive open, which mounts,
 * mappings and swap refuse, and none of the users an exclusive open does
 * not see (device-busy.h: loop devices on it, processes with it open,
 * mounts through it). --wipe never overrides this: it erases signatures,
 * not a device someone uses. The fd is the claim: held, nobody can mount
 * or map the device, so create keeps it wherever libcryptsetup and
 * dm-crypt do not need their own. */
static int device_claim(Home *h, const char *dev, int flags, int *ret_fd) {
        _cleanup_close_ int fd = open(dev, flags | O_EXCL | O_CLOEXEC);
        if (fd < 0 && errno != EBUSY)
                return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, dev);
        int r = device_unused(h, dev, fd >= 0);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int claim_release(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

/* A claimed block device a new home may be made on: nothing is on it —
 * file system, partition table, LUKS header, RAID or LVM member — unless
 * the caller asked to wipe it (hearth-work create --wipe); then the
 * signatures found are erased first, as wipefs does. */
static int device_check_blank(Home *h, const char *dev, int fd) {
        int r = dlopen_blkid();
        if (r < 0)
                return r;
        blkid_probe pr = sym_blkid_new_probe();
        if (!pr || sym_blkid_probe_set_device(pr, fd, 0, 0) < 0) {
                if (pr)
                        sym_blkid_free_probe(pr);
                return log_error_errno(ENOMEM, "home %s: cannot probe %s", h->name, dev);
        }
        sym_blkid_probe_enable_superblocks(pr, 1);
        sym_blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
        sym_blkid_probe_enable_partitions(pr, 1);
        sym_blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
        int n = 0;
        char what[64] = "";
        while (sym_blkid_do_probe(pr) == 0) {
                const char *t = NULL;
                if (!what[0] && (sym_blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0 ||
                                 sym_blkid_probe_lookup_value(pr, "PTTYPE", &t, NULL) == 0) && t)
                        snprintf(what, sizeof what, "%s", t);
                n++;
                if (!h->wipe)
                        break;
                if (sym_blkid_do_wipe(pr, 0) < 0) {
                        r = log_error_errno(EIO, "home %s: cannot wipe the %s signature on %s", h->name,
                                            t ?: "found", dev);
                        break;
                }
        }
        sym_blkid_free_probe(pr);
        if (r < 0)
                return r;
        if (n > 0 && !h->wipe)
                return log_error_errno(EEXIST, "home %s: %s holds %s%s; refusing to format it (hearth-work create "
                                       "--wipe erases it first)", h->name, dev, what[0] ? "a " : "data",
                                       what[0] ? what : "");
        if (n > 0) {
                log_info("home %s: wiped %d signature%s (%s) on %s", h->name, n, n == 1 ? "" : "s", what, dev);
                if (fsync(fd) < 0)
                        return log_error_errno(errno, "home %s: cannot sync %s: %m", h->name, dev);
        }
        return 0;
}

/* A random (version 4) UUID, or the record's: which partition, LUKS volume
 * or file system a new home gets (the record may name them, as homed's do,
 * so that a home can be made again with the same ones). */
static int uuid_pick(Home *h, const char *field, const char *from_record, uint8_t ret[16]) {
        if (from_record) {
                if (luks_uuid_parse(from_record, ret) < 0)
                        return log_error_errno(EINVAL, "home %s: %s: not a UUID", h->name, field);
                return 0;
        }
        if (RAND_bytes(ret, 16) != 1)
                return log_error_errno(EIO, "home %s: no random bytes for a UUID", h->name);
        ret[6] = (uint8_t) ((ret[6] & 0x0F) | 0x40);
        ret[8] = (uint8_t) ((ret[8] & 0x3F) | 0x80);
        return 0;
}

/* The home's directory at the root of its new file system: a subvolume on
 * btrfs (so it can be snapshotted alone), a directory elsewhere, as homed
 * makes it; the caller sets owner and mode. */
static int make_home_dir(Home *h, const char *fstype, const char *mnt, int *ret_fd) {
        _cleanup_close_ int top = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0)
                return log_error_errno(errno, "home %s: cannot open the new file system: %m", h->name);
        if (strcmp(fstype, "btrfs") == 0) {
                enum btrfs_util_error e = btrfs_util_create_subvolume_fd(top, h->name, 0, NULL, NULL);
                if (e != BTRFS_UTIL_OK)
                        return log_error_errno(errno ?: EIO, "home %s: cannot create the subvolume %s in the new file "
                                               "system: %s", h->name, h->name, btrfs_util_strerror(e));
        } else if (mkdirat(top, h->name, 0700) < 0)
                return log_error_errno(errno, "home %s: cannot create %s in the new file system: %m", h->name, h->name);
        return luks_open_home_dir(h, mnt, ret_fd);
}

/* What the new home holds: the skeleton, its owner and mode, ~/.identity.
 * fd is the directory <user> of the file system seen through the ID map
 * nobody → the user (idmap_populate()), userdata the Home: on disk it is
 * all nobody's, as systemd-homed stores a LUKS home. */
static int luks_populate(int fd, void *userdata) {
        Home *h = userdata;
        int r = home_populate(fd, h);
        if (r >= 0)
                r = home_identity_file_write(h, fd, h->rec->uid);
        return r;
}

int luks_create(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        _cleanup_free_ char *image = NULL, *temp = NULL, *temp_path = NULL, *mnt = NULL;
        _cleanup_close_ int fd = -1, home_fd = -1, claim = -1;
        char name[HOME_DM_NAME_MAX], mapped[80], volume[POOL_NAME_MAX + 1];
        char luks_uuid[37], fs_uuid[37], part_uuid[37];
        uint8_t uuid[16];
        uint64_t size = 0, min = 0;
        bool is_block = false, mounted = false, on_pool, pool_created = false, formatted = false, gpt, gpt_written = false;
        uint32_t sector_size = 512;
        GptPartition part = {};
        struct stat st;
        int r;

        LuksTpm2Wish tpm2;
        /* secret.password: passwords, and the secrets of the tokens the
         * record enrols (homectl's): those get the tokens' keyslots. */
        size_t n_pw = 0;
        bool is_token[64] = {};
        for (size_t i = 0; h->rec->password && h->rec->password[i]; i++) {
                if (i >= ELEMENTSOF(is_token))
                        return log_error_errno(EINVAL, "home %s: secret.password: more than %zu entries", h->name,
                                               ELEMENTSOF(is_token));
                r = h->rec->n_pkcs11_encrypted_key > 0 ? luks_pkcs11_entry_of(h, h->rec->password[i]) : -ENOENT;
                if (r == -ENOMEM)
                        return log_oom();
                is_token[i] = r >= 0;
                n_pw += r < 0;
        }
        if (n_pw == 0 && h->rec->n_pkcs11_encrypted_key == 0)
                return log_error_errno(EINVAL, "home %s: secret.password: required for an encrypted home", h->name);
        r = luks_tpm2_wish(h, &tpm2);
        if (r < 0)
                return r;
        if (tpm2.enabled && n_pw == 0)
                return log_error_errno(EINVAL, "home %s: tpm2: needs a password (the TPM's PIN)", h->name);
        const char *first_pw = NULL;
        for (size_t i = 0; !first_pw && h->rec->password && h->rec->password[i]; i++)
                if (!is_token[i])
                        first_pw = h->rec->password[i];
        const char *fstype = luks_fstype(h);
        if (fs_min_size(fstype, &min) < 0)
                return log_error_errno(EOPNOTSUPP, "home %s: fileSystemType %s is not supported", h->name, fstype);
        if ((r = uuid_pick(h, "partitionUuid", h->rec->partition_uuid, uuid)) < 0)
                return r;
        gpt_guid_format(uuid, false, part_uuid);
        if ((r = uuid_pick(h, "luksUuid", h->rec->luks_uuid, uuid)) < 0)
                return r;
        gpt_guid_format(uuid, false, luks_uuid);
        if ((r = uuid_pick(h, "fileSystemUuid", h->rec->file_system_uuid, uuid)) < 0)
                return r;
        gpt_guid_format(uuid, false, fs_uuid);
        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        clean_create_leftovers(h);
        r = luks_find_mapping(h, name, false);
        if (r < 0)
                return r;
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: /dev/mapper/%s is already active", h->name, name);
        r = luks_require_name_free(h, name);
        if (r < 0)
                return r;
        if (!is_block && stat(image, &st) == 0)
                return log_error_errno(EEXIST, "home %s: %s already exists", h->name, image);
        if (is_block && (r = device_named_by_other_home(h, image)) < 0)
                return r;
        r = luks_home_pool_volume(h, volume);
        if (r < 0)
                return r;
        on_pool = r > 0;
        if (on_pool) {
                r = luks_pool_volume_prepare(h, volume, image, min, &pool_created);
                if (r < 0)
                        return r;
        }
        /* A GPT around the volume, as homed makes it, for image files and
         * whole disks; a partition or pool volume holds it directly. */
        gpt = !is_block || !luks_block_is_partition_like(image);

        if (is_block && ((r = device_claim(h, image, h->wipe || gpt ? O_RDWR : O_RDONLY, &claim)) < 0 ||
                         (!on_pool && (r = luks_refuse_pool_device(h, image)) < 0) ||
                         (r = device_check_blank(h, image, claim)) < 0))
                goto fail;
        r = default_size(h, image, is_block, &size);
        if (r < 0)
                goto fail;
        uint64_t least = min + LUKS_HEADER_ROOM + (gpt ? LUKS_GPT_ROOM : 0);
        if (size < least) {
                char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
                r = log_error_errno(ERANGE, "home %s: %s is too small for %s: at least %s are needed", h->name,
                                    size_format(size, a), fstype, size_format(least, b));
                goto fail;
        }
        if (!is_block && (r = luks_image_fits(h, size, 0)) < 0)
                goto fail;
        /* The users again, just before the new home's first write (its GPT
         * or header): the claim keeps out mounts, mappings and swap, not a
         * process opening the device since the first look. */
        pool_failpoint("luks-create-format");
        if (is_block && (r = device_unused(h, image, true)) < 0)
                goto fail;

        /* Build under a hidden name; rename into place only when complete. */
        if (!is_block) {
                r = home_temp_name(h, "create", &temp);
                if (r < 0)
                        return r;
                fd = openat(h->root_fd, temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return log_error_errno(errno, "home %s: cannot create image: %m", h->name);
                (void) image_file_nocow(fd, image); /* logged; the home works either way */
                r = luks_image_allocate(h, temp, fd, size);
                if (r < 0)
                        goto fail;
                if (asprintf(&temp_path, "%s/%s", h->root, temp) < 0) {
                        r = log_oom();
                        goto fail;
                }
        }
        if (gpt) {
                /* Sectors of 512 bytes in image files (homed 252's, libfdisk's
                 * for files), the disk's own on a disk. */
                int ss = 512;
                if (is_block && ioctl(claim, BLKSSZGET, &ss) < 0) {
                        r = log_error_errno(errno, "home %s: cannot get the sector size of %s: %m", h->name, image);
                        goto fail;
                }
                sector_size = (uint32_t) ss;
                GptNewTable t = {
                        .sector_size = sector_size,
                        .disk_bytes = size / sector_size * sector_size,
                        .type = GPT_TYPE_USER_HOME,
                        .name = h->name,
                };
                if ((r = luks_uuid_parse(part_uuid, t.uuid)) < 0 || (r = uuid_pick(h, "disk GUID", NULL, t.disk_guid)) < 0)
                        goto fail;
                gpt_written = true;
                r = gpt_write_new(is_block ? claim : fd, &t, &part);
                if (r >= 0 && fsync(is_block ? claim : fd) < 0)
                        r = negative_errno();
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot write the partition table on %s: %m", h->name, image);
                        goto fail;
                }
        }
        r = gpt ? luks_volume_attach_new(h, is_block ? image : temp_path, is_block, &part, sector_size, &v)
                : luks_volume_attach_new(h, image, is_block, NULL, 0, &v);
        if (r < 0)
                goto fail;
        log_trace_phase("luks create: volume attached");
        r = set_pbkdf_for_format(h, &v);
        if (r < 0)
                goto fail;
        /* homed's: room for large tokens (the record, TPM2 policies). */
        r = sym_crypt_set_metadata_size(v.cd, LUKS_METADATA_SIZE, 0);
        if (r < 0) {
                r = log_error_errno(r, "home %s: cannot set the LUKS2 metadata size: %m", h->name);
                goto fail;
        }

        struct crypt_params_luks2 params = {
                .sector_size = 4096,
                .label = h->name,
                .subsystem = LUKS_SUBSYSTEM,
        };
        size_t key_size = h->rec->luks_volume_key_size != UINT64_MAX ? (size_t) h->rec->luks_volume_key_size : 64;
        /* Our own key, not libcryptsetup's: the record in the header is
         * encrypted with it. */
        if (secure_buffer_new(key_size, &o.vk) < 0) {
                r = log_oom();
                goto fail;
        }
        o.vk_size = key_size;
        if (RAND_priv_bytes(o.vk->data, (int) key_size) != 1) {
                r = log_error_errno(EIO, "home %s: no random bytes for the volume key", h->name);
                goto fail;
        }
        /* crypt_format() insists on an exclusive open of its own (a claim
         * held makes it fail, EBUSY), and writes through plain opens. On a
         * device without GPT the claim passes to it, and is taken back (and
         * the users checked again) as soon as the header is written:
         * whoever claims the device in between (root, for the moments the
         * header takes) makes create fail there, and the header it wrote is
         * wiped. Within a GPT it formats the loop device over the
         * partition, and the disk stays claimed. */
        if (!gpt)
                claim = claim_release(claim);
        const char *cipher = h->rec->luks_cipher ?: "aes", *mode = h->rec->luks_cipher_mode ?: "xts-plain64";
        r = sym_crypt_format(v.cd, CRYPT_LUKS2, cipher, mode, luks_uuid, o.vk->data, key_size, &params);
        if (r == -EINVAL) {
                params.sector_size = 512; /* the device cannot do 4096 */
                r = sym_crypt_format(v.cd, CRYPT_LUKS2, cipher, mode, luks_uuid, o.vk->data, key_size, &params);
        }
        if (r < 0) {
                r = log_error_errno(r, "home %s: cannot format LUKS2: %m", h->name);
                goto fail;
        }
        log_trace_phase("luks create: formatted");
        formatted = true;
        if (is_block && !gpt && (r = device_claim(h, image, O_RDONLY, &claim)) < 0)
                goto fail;
        r = luks_password_pbkdf_set(h, v.cd);
        if (r < 0)
                goto fail;
        /* Sealed in the TPM, the disk alone must not open with the
         * password: no password keyslot unless asked for. */
        for (size_t i = 0; (!tpm2.enabled || tpm2.keep_password) && h->rec->password && h->rec->password[i]; i++) {
                const char *pw = h->rec->password[i];
                if (is_token[i])
                        continue;
                r = sym_crypt_keyslot_add_by_volume_key(v.cd, CRYPT_ANY_SLOT, NULL, 0, pw, strlen(pw));
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot add a keyslot: %m", h->name);
                        goto fail;
                }
        }
        log_trace_phase("luks create: password keyslots added (PBKDF)");
        if (tpm2.enabled && (r = luks_tpm2_enroll(h, v.cd, &tpm2, first_pw)) < 0)
                goto fail;
        log_trace_phase("luks create: TPM2 enrolled");
        /* The tokens' keyslots: each secret given, else decrypted on the token. */
        if (h->rec->n_pkcs11_encrypted_key > 0 && (r = luks_pkcs11_sync(h, &v, &o, LUKS_PKCS11_ENROL, true)) < 0)
                goto fail;
        r = luks_recovery_enroll(h, v.cd);
        if (r < 0)
                goto fail;

        /* Where the home is on this machine, as homed binds it: not part of
         * the signed record that travels with the home. */
        json_object *bind = json_object_new_object();
        if (bind) {
                json_object_object_add(bind, "imagePath", json_object_new_string(image));
                if (gpt)
                        json_object_object_add(bind, "partitionUuid", json_object_new_string(part_uuid));
                json_object_object_add(bind, "luksUuid", json_object_new_string(luks_uuid));
                char check[65];
                if (luks_volume_key_check_value(o.vk->data, key_size, sym_crypt_get_uuid(v.cd) ?: luks_uuid, check) < 0) {
                        r = log_error_errno(EIO, "home %s: cannot compute the volume key's check value", h->name);
                        goto fail;
                }
                json_object_object_add(bind, "hearthVolumeKeyCheck", json_object_new_string(check));
                json_object_object_add(bind, "fileSystemUuid", json_object_new_string(fs_uuid));
                json_object_object_add(bind, "luksCipher", json_object_new_string(cipher));
                json_object_object_add(bind, "luksCipherMode", json_object_new_string(mode));
                json_object_object_add(bind, "luksVolumeKeySize", json_object_new_int64((int64_t) key_size));
                json_object_object_add(bind, "fileSystemType", json_object_new_string(fstype));
                json_object_object_add(bind, "storage", json_object_new_string("luks"));
        }
        r = home_bind(h, bind);
        if (r < 0)
                goto fail;
        r = user_record_set_effective(h->rec, "diskSize", json_object_new_int64((int64_t) size));
        if (r >= 0)
                r = home_sign_record(h);
        if (r >= 0)
                r = luks_token_write(h, &v, &o);
        if (r < 0)
                goto fail;

        log_trace_phase("luks create: record signed, token written");
        /* dm-crypt claims the device from here until it is closed. */
        if (!gpt)
                claim = claim_release(claim);
        r = sym_crypt_activate_by_volume_key(v.cd, name, NULL, 0, luks_activate_flags(h));
        if (r < 0) {
                r = log_error_errno(r, "home %s: cannot activate the new volume: %m", h->name);
                goto fail;
        }
        log_trace_phase("luks create: mapped");
        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", name);
        r = fs_make(fstype, mapped, h->name, fs_uuid);
        log_trace_phase("luks create: mkfs");
        if (r >= 0)
                r = luks_mount_fs(h, fstype, mapped, "create", &mnt);
        if (r < 0)
                goto fail;
        log_trace_phase("luks create: mounted");
        mounted = true;
        r = make_home_dir(h, fstype, mnt, &home_fd);
        bool unmapped = false;
        if (r >= 0)
                r = idmap_populate(h->name, home_fd, UID_NOBODY, h->rec->uid, luks_populate, h, &unmapped);
        if (r >= 0 && unmapped)
                home_notice(h, "file system cannot ID-map; its files are stored as UID %u, not %u", h->rec->uid,
                            UID_NOBODY);
        if (r >= 0 && syncfs(home_fd) < 0)
                r = log_error_errno(errno, "home %s: cannot sync: %m", h->name);
        if (r < 0)
                goto fail;
        log_trace_phase("luks create: populated, synced");
        close(TAKE_FD(home_fd));
        if (umount(mnt) < 0) {
                r = log_error_errno(errno, "home %s: cannot unmount %s: %m", h->name, mnt);
                goto fail;
        }
        mounted = false;
        log_trace_phase("luks create: unmounted");
        r = sym_crypt_deactivate(v.cd, name);
        if (r < 0) {
                r = log_error_errno(r, "home %s: cannot close the new volume: %m", h->name);
                goto fail;
        }
        if (!is_block) {
                if (fsync(fd) < 0) {
                        r = log_error_errno(errno, "home %s: cannot sync image: %m", h->name);
                        goto fail;
                }
                if (renameat2(h->root_fd, temp, h->root_fd, strrchr(image, '/') + 1, RENAME_NOREPLACE) < 0) {
                        r = log_error_errno(errno, "home %s: cannot move image into place: %m", h->name);
                        goto fail;
                }
                (void) fsync(h->root_fd);
        } else if (gpt) {
                luks_volume_close(&v); /* our loop device goes before the kernel reads the table */
                if (ioctl(claim, BLKRRPART, 0) < 0)
                        log_debug_errno(errno, "home %s: the kernel did not reread the partition table of %s: %m",
                                        h->name, image);
        }
        log_trace_phase("luks create: closed, image in place");
        (void) rmdir(mnt);
        free(h->state);
        h->state = strdup("inactive");
        return 0;

fail:
        if (home_fd >= 0)
                close(TAKE_FD(home_fd));
        if (mounted)
                (void) umount2(mnt, MNT_DETACH);
        if (mnt)
                (void) rmdir(mnt);
        if (v.cd && sym_crypt_status(v.cd, name) >= CRYPT_ACTIVE)
                (void) sym_crypt_deactivate_by_name(v.cd, name, CRYPT_DEACTIVATE_FORCE);
        if (temp)
                (void) unlinkat(h->root_fd, temp, 0);
        else if (is_block) {
                /* Leave no half-made home on a device: only what we wrote. */
                if (formatted)
                        (void) sym_crypt_wipe(v.cd, NULL, CRYPT_WIPE_ZERO, 0, UINT64_C(16) << 20, 1 << 20, 0, NULL, NULL);
                if (gpt_written && claim >= 0) {
                        (void) gpt_erase(claim, sector_size, size / sector_size * sector_size);
                        (void) fsync(claim);
                }
        }
        if (pool_created) {
                luks_volume_close(&v); /* nothing of ours may hold the device */
                if (luks_pool_volume_discard(h, volume) < 0)
                        log_warning("home %s: the pool volume %s made for it is left; hearth-pool remove %s removes it",
                                    h->name, volume, volume);
        }
        return r;
}
