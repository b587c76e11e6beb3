/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encrypted homes: each home is a LUKS2 volume in systemd-homed's layout
 * (luks-internal.h): in the GPT partition of an image file or whole disk,
 * attached as a loop device over that range, or directly on a pool volume
 * or partition; mapped as /dev/mapper/home-<user> (common/home-dm.h); the
 * directory <user> of its file system mounted on the home directory while
 * active (luks-mount.c).
 * Everything LUKS goes through libcryptsetup.
 *
 * A home whose imagePath is /dev/mapper/hearth-pool-<volume> lives on that
 * volume of the extent pool (storage/pool/): create makes the volume,
 * resize grows and shrinks it (never moving data), remove gives its extents
 * back to the pool.
 *
 * The record travels with the home: a LUKS2 token of type systemd-homed
 * and ~/.identity hold a copy signed by the machine key, and activation
 * prefers the newer of the stored and embedded copies, provided the embedded
 * one is signed by a trusted key.
 *
 * This file: the volume (image or device, where the LUKS volume lies in it,
 * the mapping's name, attach and open), unlocking it, and the backend
 * table; luks-internal.h lists the others. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/fs.h>

#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backend.h"
#include "crypt-log.h"
#include "dlopen-cryptsetup.h"
#include "fileio.h"
#include "gpt.h"
#include "home-dm.h"
#include "log.h"
#include "loop.h"
#include "luks-tpm2.h"
#include "macro.h"
#include "pool.h"
#include "recovery-key.h"
#include "secret.h"

#include "luks-internal.h"

void luks_volume_close(Volume *v) {
        if (v->cd)
                sym_crypt_free(v->cd);
        if (v->loop_fd >= 0)
                close(v->loop_fd); /* autoclear detaches once dm lets go too */
        free(v->image);
        free(v->dev);
        *v = (Volume) { .loop_fd = -1 };
}

/* ---- where the LUKS volume lies -------------------------------------------- */

/* A UUID as records spell it (user-record.c): 8-4-4-4-12 or 32 digits. */
int luks_uuid_parse(const char *s, uint8_t ret[16]) {
        char dashed[37];
        if (strlen(s) == 32) {
                snprintf(dashed, sizeof dashed, "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12, s + 16, s + 20);
                s = dashed;
        }
        return gpt_guid_parse(s, ret);
}

/* A partition or device-mapper device (a pool volume, an LVM volume): a
 * new home's LUKS2 volume goes directly on it, where a whole disk gets a
 * GPT first, as systemd-homed partitions the disks it formats. */
bool luks_block_is_partition_like(const char *image) {
        char path[96];
        struct stat st;

        if (stat(image, &st) < 0 || !S_ISBLK(st.st_mode))
                return false;
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/partition", major(st.st_rdev), minor(st.st_rdev));
        if (access(path, F_OK) == 0)
                return true;
        snprintf(path, sizeof path, "/sys/dev/block/%u:%u/dm", major(st.st_rdev), minor(st.st_rdev));
        return access(path, F_OK) == 0;
}

/* Finds the home's LUKS2 volume in the image as systemd-homed does: a
 * LUKS2 header at its start is the volume itself; else the GPT's one
 * partition of type GPT_TYPE_USER_HOME named after the user (and, if the
 * record names one, with its partitionUuid). Fills v's placement. Returns
 * 0; -EMEDIUMTYPE with the reason in why when there is no such volume;
 * -EXDEV with the reason in why when there is, but with another
 * partitionUuid than the record's (a different image); another negative
 * errno when the image cannot be read. Logs nothing. */
int luks_locate(Home *h, const char *image, bool is_block, Volume *v, char *why, size_t why_size) {
        static const char luks_magic[6] = { 'L', 'U', 'K', 'S', (char) 0xba, (char) 0xbe };
        uint8_t want_uuid[16];
        char magic[6];
        struct stat st;
        int r;

        _cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (is_block ? 0 : O_NOFOLLOW));
        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        if (is_block ? !S_ISBLK(st.st_mode) : !S_ISREG(st.st_mode)) {
                snprintf(why, why_size, "it is not a %s", is_block ? "block device" : "regular file");
                return -EMEDIUMTYPE;
        }
        if (is_block) {
                if (ioctl(fd, BLKGETSIZE64, &v->image_bytes) < 0)
                        return negative_errno();
        } else
                v->image_bytes = (uint64_t) st.st_size;
        v->gpt = false;
        r = v->image_bytes < sizeof magic ? -EIO : pread_full(fd, magic, sizeof magic, 0);
        if (r >= 0 && memcmp(magic, luks_magic, sizeof magic) == 0)
                return 0;
        if (v->pool_volume[0]) {
                /* Hearth's own volumes carry the LUKS2 volume directly. */
                snprintf(why, why_size, "pool volume %s has no LUKS2 header at its start", v->pool_volume);
                return -EMEDIUMTYPE;
        }

        if (h->rec->partition_uuid && luks_uuid_parse(h->rec->partition_uuid, want_uuid) < 0)
                return -EINVAL; /* the record's check lets no other through */
        uint32_t sizes[2] = { 512, 4096 }, n_sizes = 2;
        if (is_block) {
                int ss;
                if (ioctl(fd, BLKSSZGET, &ss) < 0)
                        return negative_errno();
                sizes[0] = (uint32_t) ss;
                n_sizes = 1;
        }
        r = -EMEDIUMTYPE;
        for (uint32_t i = 0; i < n_sizes && r == -EMEDIUMTYPE; i++) {
                r = gpt_find_partition(fd, sizes[i], v->image_bytes, GPT_TYPE_USER_HOME, h->name,
                                       h->rec->partition_uuid ? want_uuid : NULL, &v->part);
                v->sector_size = sizes[i];
        }
        if (r == -ENOENT && h->rec->partition_uuid) {
                /* Only to say why: the home's partition with another UUID
                 * is another image's. */
                GptPartition other;
                if (gpt_find_partition(fd, v->sector_size, v->image_bytes, GPT_TYPE_USER_HOME, h->name, NULL,
                                       &other) == 0) {
                        char have[37];
                        gpt_guid_format(other.uuid, false, have);
                        snprintf(why, why_size, "its partition's UUID is %s, the record says %s", have,
                                 h->rec->partition_uuid);
                        return -EXDEV;
                }
        }
        switch (r) {
        case 0:
                v->gpt = true;
                return 0;
        case -EMEDIUMTYPE:
                snprintf(why, why_size, "it holds neither a LUKS2 header nor a GPT at its start");
                return -EMEDIUMTYPE;
        case -ENOENT:
                snprintf(why, why_size, "its GPT has no partition of type %s named \"%s\"%s%s", GPT_TYPE_USER_HOME,
                         h->name, h->rec->partition_uuid ? " with the partitionUuid " : "",
                         h->rec->partition_uuid ?: "");
                return -EMEDIUMTYPE;
        case -ENOTUNIQ:
                snprintf(why, why_size, "its GPT has more than one partition named \"%s\"", h->name);
                return -EMEDIUMTYPE;
        case -EBADMSG:
                snprintf(why, why_size, "its GPT entry named \"%s\" lies outside the table's usable area", h->name);
                return -EMEDIUMTYPE;
        default:
                return r;
        }
}

/* The header loaded in v->cd is a home's in systemd-homed's layout: the
 * user's name as label, subsystem systemd-home. Hearth's earlier layout
 * is named as such. -EUCLEAN otherwise, logged. */
int luks_check_header(Home *h, Volume *v) {
        const char *label = sym_crypt_get_label(v->cd), *subsystem = sym_crypt_get_subsystem(v->cd);

        if (subsystem && strcmp(subsystem, LUKS_SUBSYSTEM_OLD) == 0)
                return log_error_errno(EUCLEAN, "home %s: %s is in the layout of an earlier Hearth (LUKS2 on the "
                                       "whole image, subsystem \"hearth\"), which is no longer read; open it with "
                                       "cryptsetup, copy the data out and create the home anew", h->name, v->image);
        if (!label || strcmp(label, h->name) != 0 || !subsystem || strcmp(subsystem, LUKS_SUBSYSTEM) != 0)
                return log_error_errno(EUCLEAN, "home %s: the LUKS2 volume in %s is labelled \"%.64s\" in subsystem "
                                       "\"%.64s\", not \"%s\" in \"" LUKS_SUBSYSTEM "\": not this home's", h->name,
                                       v->image, label ?: "", subsystem ?: "", h->name);
        return 0;
}

bool luks_uuid_is_records(Home *h, const char *uuid) {
        uint8_t want[16], have[16];
        if (!h->rec->luks_uuid || luks_uuid_parse(h->rec->luks_uuid, want) < 0)
                return true;
        return uuid && luks_uuid_parse(uuid, have) >= 0 && memcmp(want, have, 16) == 0;
}

/* Activation, unlock and the rest take only the image the record was bound
 * to: one swapped in (the disk is in other hands more easily than the root
 * file system) is refused before any secret goes to it. */
static int check_luks_uuid(Home *h, Volume *v) {
        const char *uuid = sym_crypt_get_uuid(v->cd);
        if (luks_uuid_is_records(h, uuid))
                return 0;
        return log_error_errno(EMEDIUMTYPE, "home %s: the image's LUKS UUID is %s, the record says %s; refusing (a "
                               "different image?)", h->name, uuid ?: "none", h->rec->luks_uuid);
}

/* Whether the dm UUID's LUKS UUID (32 hex digits after the prefix) is the
 * header's (with dashes). */
static bool dm_uuid_names_luks_uuid(const char *dm_uuid, const char *luks_uuid) {
        const char *p = dm_uuid + strlen(HOME_DM_UUID_LUKS2);
        size_t n = 0;
        for (; *luks_uuid && n < 32; luks_uuid++)
                if (*luks_uuid != '-' && *luks_uuid != p[n++])
                        return false;
        return n == 32 && !*luks_uuid;
}

/* Whether the mapping `name` is this home's volume, so that it may be
 * used, closed or counted as the home's: its dm UUID says LUKS2 under that
 * name, its header carries the user's name as label and homed's
 * subsystem, and it sits on the home's image (the block device itself, or
 * a loop device of the image file or of the disk, over the home's
 * partition; with creating, also of the hidden image of an unfinished
 * create). 1 yes, 0 no such mapping or not the home's. Anything else mapped
 * under a home's name is left alone. */
static int mapping_is_ours(Home *h, const char *name, bool creating) {
        _cleanup_free_ char *image = NULL;
        char uuid[256];
        bool is_block, ours;
        struct crypt_device *cd = NULL;
        struct stat dev, img;
        int r;

        r = dm_uuid_of(name, uuid, sizeof uuid);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "home %s: cannot read the dm UUID of /dev/mapper/%s: %m", h->name, name);
        if (!dm_uuid_is_luks2_named(uuid, name)) {
                log_debug("home %s: /dev/mapper/%s (dm UUID %s) is no LUKS2 mapping of a home", h->name, name, uuid);
                return 0;
        }
        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = storage_crypt_log_setup();
        if (r < 0)
                return r;
        if (sym_crypt_init_by_name(&cd, name) < 0)
                return 0;
        const char *label = sym_crypt_get_label(cd), *subsystem = sym_crypt_get_subsystem(cd), *luks_uuid = sym_crypt_get_uuid(cd);
        const char *under = sym_crypt_get_device_name(cd);
        ours = label && strcmp(label, h->name) == 0 && subsystem && strcmp(subsystem, LUKS_SUBSYSTEM) == 0 &&
               luks_uuid && dm_uuid_names_luks_uuid(uuid, luks_uuid) && under && stat(under, &dev) == 0 &&
               S_ISBLK(dev.st_mode);
        if (ours && is_block && stat(image, &img) == 0 && S_ISBLK(img.st_mode) && img.st_rdev == dev.st_rdev)
                ours = true;
        else if (ours && loop_backed_by(under, image) <= 0) {
                _cleanup_free_ char *backing = NULL, *prefix = NULL;
                ours = !is_block && creating && loop_backing_file(under, &backing) >= 0 &&
                       asprintf(&prefix, "%s/.#hearth-create.%s.", h->root, h->name) >= 0 &&
                       strncmp(backing, prefix, strlen(prefix)) == 0;
        }
        sym_crypt_free(cd);
        if (!ours)
                log_debug("home %s: /dev/mapper/%s is not its volume", h->name, name);
        return ours;
}

/* The name this home is mapped under, into name (HOME_DM_NAME_MAX): 1 if it
 * is active (under the current name, or under the old one when it was
 * activated before an upgrade), else 0 and the current name. */
int luks_find_mapping(Home *h, char *name, bool creating) {
        for (int legacy = 0; legacy < 2; legacy++) {
                if (home_dm_name(h->name, legacy, name) < 0)
                        return -ENAMETOOLONG;
                int r = mapping_is_ours(h, name, creating);
                if (r != 0)
                        return r;
        }
        return home_dm_name(h->name, false, name);
}

bool luks_is_active(Home *h) {
        char name[HOME_DM_NAME_MAX];
        return luks_find_mapping(h, name, false) > 0;
}

/* The current name must be free before the home is mapped under it:
 * whatever else holds it is not ours to close. */
int luks_require_name_free(Home *h, const char *name) {
        char uuid[256];
        if (dm_uuid_of(name, uuid, sizeof uuid) == -ENOENT || sym_crypt_status(NULL, name) == CRYPT_INACTIVE)
                return 0;
        return log_error_errno(EBUSY, "home %s: /dev/mapper/%s exists and is not this home's volume; refusing to "
                               "use or close it", h->name, name);
}

const char *luks_fstype(Home *h) {
        return h->rec->file_system_type ?: "btrfs";
}

/* The image: imagePath if it names a block device, else <root>/<user>.home;
 * nothing else, so a record cannot point create or remove at another file. */
int luks_image_path(Home *h, char **ret, bool *ret_block) {
        char volume[POOL_NAME_MAX + 1];
        struct stat st;
        int r;

        r = luks_home_pool_volume(h, volume);
        if (r < 0)
                return r;
        if (r > 0) {
                /* Its device may be missing (pool not active, volume not
                 * made yet): luks_volume_attach() and create deal with that. */
                *ret_block = true;
                *ret = strdup(h->rec->image_path);
                return *ret ? 0 : log_oom();
        }
        if (h->rec->image_path && strncmp(h->rec->image_path, "/dev/", 5) == 0) {
                if (stat(h->rec->image_path, &st) < 0)
                        return log_error_errno(errno, "home %s: imagePath %s: %m", h->name, h->rec->image_path);
                if (!S_ISBLK(st.st_mode))
                        return log_error_errno(EINVAL, "home %s: imagePath %s is not a block device", h->name,
                                               h->rec->image_path);
                *ret_block = true;
                *ret = strdup(h->rec->image_path);
                return *ret ? 0 : log_oom();
        }
        _cleanup_free_ char *def = NULL;
        if (luks_image_of(h->rec, h->root, &def) < 0)
                return log_oom();
        if (h->rec->image_path && strcmp(h->rec->image_path, def) != 0)
                return log_error_errno(EINVAL, "home %s: imagePath: must be %s or a block device", h->name, def);
        *ret_block = false;
        *ret = TAKE_PTR(def);
        return 0;
}

/* The device LUKS sits on for a located volume: a loop device over the
 * partition (image file or disk), over the whole image file, or the block
 * device itself; then libcryptsetup's context on it. */
static int volume_attach_located(Home *h, Volume *v) {
        int r;

        if (v->gpt)
                r = loop_attach_range(v->image, false, v->part.start * 512, v->part.size * 512, &v->dev, &v->loop_fd);
        else if (!v->is_block)
                r = loop_attach(v->image, false, &v->dev, &v->loop_fd);
        else {
                v->dev = strdup(v->image);
                r = v->dev ? 0 : -ENOMEM;
        }
        if (r == -ENOMEM)
                return log_oom();
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: image %s does not exist", h->name, v->image);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot attach %s to a loop device: %m", h->name, v->image);
        r = sym_crypt_init(&v->cd, v->dev);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open %s: %m", h->name, v->dev);
        return 0;
}

static int volume_init(Home *h, const char *image, bool is_block, Volume *v) {
        int r;

        v->loop_fd = -1;
        r = storage_crypt_log_setup();
        if (r < 0)
                return r;
        v->image = strdup(image);
        if (!v->image)
                return log_oom();
        v->is_block = is_block;
        r = luks_home_pool_volume(h, v->pool_volume);
        if (r < 0)
                return r;
        if (r == 0)
                v->pool_volume[0] = 0;
        return 0;
}

/* An existing home's volume, found where it lies in the image (luks_locate;
 * -EMEDIUMTYPE or -EXDEV with why when there is none, or another's). */
int luks_volume_attach(Home *h, const char *image, bool is_block, Volume *v, char *why, size_t why_size) {
        int r = volume_init(h, image, is_block, v);
        if (r < 0)
                return r;
        if (v->pool_volume[0] && (r = luks_pool_volume_up(h, v->pool_volume, image)) < 0)
                return r;
        r = luks_locate(h, image, is_block, v, why, why_size);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: image %s does not exist", h->name, image);
        if (r == -EMEDIUMTYPE || r == -EXDEV)
                return r;
        if (r < 0)
                return log_error_errno(r, "home %s: cannot read %s: %m", h->name, image);
        return volume_attach_located(h, v);
}

/* A new home's volume (create): in the partition part of a GPT it just
 * wrote, or (part NULL) the whole image. */
int luks_volume_attach_new(Home *h, const char *image, bool is_block, const GptPartition *part, uint32_t sector_size,
                           Volume *v) {
        int r = volume_init(h, image, is_block, v);
        if (r < 0)
                return r;
        if (part) {
                v->gpt = true;
                v->part = *part;
                v->sector_size = sector_size;
        }
        return volume_attach_located(h, v);
}

int luks_volume_open(Home *h, Volume *v) {
        _cleanup_free_ char *image = NULL;
        char why[256] = "";
        bool is_block;
        int r;

        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = luks_volume_attach(h, image, is_block, v, why, sizeof why);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(EUCLEAN, "home %s: %s is no home in systemd-homed's layout (damaged, or "
                                       "something else): %s", h->name, image, why);
        if (r == -EXDEV)
                return log_error_errno(EMEDIUMTYPE, "home %s: %s: %s; refusing (a different image?)", h->name, image,
                                       why);
        if (r < 0)
                return r;
        r = sym_crypt_load(v->cd, CRYPT_LUKS2, NULL);
        if (r < 0)
                return log_error_errno(EUCLEAN, "home %s: %s has no valid LUKS2 header%s (damaged, or not a home)",
                                       h->name, image, v->gpt ? " in its partition" : "");
        r = luks_check_header(h, v);
        return r < 0 ? r : check_luks_uuid(h, v);
}

/* The volume behind an active mapping: the same loop device the mapping
 * uses (a second loop device on the same file would not see size changes
 * the mapping sees, and the other way round), which must cover the range
 * the image's GPT gives the home. */
int luks_volume_open_active(Home *h, const char *name, Volume *v) {
        _cleanup_free_ char *image = NULL;
        char why[256] = "";
        bool is_block;
        int r;

        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = volume_init(h, image, is_block, v);
        if (r < 0)
                return r;
        r = sym_crypt_init_by_name(&v->cd, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open /dev/mapper/%s: %m", h->name, name);
        v->dev = strdup(sym_crypt_get_device_name(v->cd));
        if (!v->dev)
                return log_oom();
        r = luks_locate(h, image, is_block, v, why, sizeof why);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(EUCLEAN, "home %s: %s: %s", h->name, image, why);
        if (r == -EXDEV)
                return log_error_errno(EMEDIUMTYPE, "home %s: %s: %s; refusing (a different image?)", h->name, image,
                                       why);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot read %s: %m", h->name, image);
        r = check_luks_uuid(h, v);
        if (r < 0)
                return r;
        if (v->gpt || !is_block) {
                uint64_t offset, limit;
                v->loop_fd = open(v->dev, O_RDWR | O_CLOEXEC);
                if (v->loop_fd < 0)
                        return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, v->dev);
                r = loop_get_range(v->loop_fd, &offset, &limit);
                if (r < 0)
                        return log_error_errno(r, "home %s: %s is no loop device: %m", h->name, v->dev);
                if (offset != (v->gpt ? v->part.start * 512 : 0))
                        return log_error_errno(EUCLEAN, "home %s: /dev/mapper/%s sits on %s at offset %" PRIu64
                                               ", not on the home's partition", h->name, name, v->dev, offset);
        }
        return 0;
}

void luks_opened_done(Opened *o) {
        secure_buffer_free(o->vk);
        secure_buffer_free(o->tpm_secret);
        *o = (Opened) { .slot = -1 };
}

/* One passphrase against the keyslots (slot, or any). Returns the keyslot,
 * -EPERM if it opens none. */
static int try_passphrase(Home *h, Volume *v, int slot, const char *pass, size_t len, Opened *o) {
        size_t vk_size = o->vk->size;
        int opened = sym_crypt_volume_key_get(v->cd, slot, o->vk->data, &vk_size, pass, len);
        if (opened < 0)
                return opened == -EPERM ? -EPERM
                                        : log_error_errno(opened, "home %s: cannot luks_volume_unlock %s: %m", h->name,
                                                          v->image ?: v->dev);
        o->vk_size = vk_size;
        o->slot = opened;
        return opened;
}

/* Whether the header has a keyslot no token claims: a password's. */
static bool has_password_keyslot(struct crypt_device *cd) {
        bool token_slot[32];
        luks_token_keyslots(cd, token_slot);
        for (int slot = 0; slot < sym_crypt_keyslot_max(CRYPT_LUKS2); slot++) {
                crypt_keyslot_info ki = sym_crypt_keyslot_status(cd, slot);
                if ((ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST) && (slot >= 32 || !token_slot[slot]))
                        return true;
        }
        return false;
}

/* The one way from the offered secrets to the volume key, for activate,
 * unlock after lock, authenticate, passwd, resize and update alike.
 * First what costs the TPM nothing: each entry of secret.password shaped
 * like a recovery key (any spelling recovery_key_normalize_typed() takes,
 * spaces included) against the keyslots, each other entry against the
 * password keyslots, if there are any (or the home has no TPM). Then, if
 * none opened and the header has a systemd-tpm2 token, the TPM once, with
 * the first entry that is no recovery key as PIN (homed puts the newest
 * first): every wrong PIN counts towards the TPM's dictionary-attack
 * lockout, which then refuses every user of the machine, so one request
 * costs at most one try, however many entries it carries, and a recovery
 * key never reaches the TPM. A token the header's owner cannot vouch for
 * (luks_tpm2_vouch(): no PIN, other PCRs than the record's, a keyslot the
 * header lacks; or, the record saying "tpm2", one that cannot be used) is
 * refused with -EMEDIUMTYPE before the TPM is asked. When the TPM cannot
 * be used (PCRs changed, lockout, none) and no other keyslot opens, that
 * is the error, so that the person learns to use the recovery key. Sets
 * h->header_pin_only.
 * Returns the keyslot; *o holds the key and what opened it. */
static int volume_key_find(Home *h, Volume *v, Opened *o) {
        const char *const *pw = h->rec->password;
        Tpm2Sealed sealed;
        int r, slot, tpm_slot = -1, tpm_error = 0;
        char note[128] = "";

        luks_opened_done(o);
        bool tokens = h->rec->n_pkcs11_encrypted_key > 0 && h->pkcs11_decrypt;
        if ((!pw || !pw[0]) && !tokens)
                return log_error_errno(EKEYREJECTED, "home %s: password required", h->name);
        r = secure_buffer_new((size_t) sym_crypt_get_volume_key_size(v->cd) ?: 64, &o->vk);
        if (r < 0)
                return log_oom();
        r = luks_tpm2_find(h, v->cd, &sealed, &tpm_slot);
        if (r < 0 && r != -ENOENT)
                tpm_error = r;
        bool tpm = r >= 0, has_password = has_password_keyslot(v->cd), password_slots = !tpm || has_password;
        bool pkcs11_slot[32];
        luks_pkcs11_keyslots(v->cd, pkcs11_slot);
        /* What the header holds decides, not the record, which may have
         * lost "tpm2": a password that only the TPM checks gets no hash. */
        h->header_pin_only = r != -ENOENT && !has_password;
        const char *pin = NULL;

        for (; pw && *pw; pw++) {
                _cleanup_secure_buffer_ SecureBuffer *norm = NULL;
                r = recovery_key_normalize_typed(*pw, &norm);
                if (r == -ENOMEM)
                        return log_oom();
                bool recovery = r >= 0;
                if (recovery)
                        slot = try_passphrase(h, v, CRYPT_ANY_SLOT, norm->data, strlen(norm->data), o);
                else {
                        pin = pin ?: *pw;
                        slot = password_slots ? try_passphrase(h, v, CRYPT_ANY_SLOT, *pw, strlen(*pw), o) : -EPERM;
                }
                if (slot == -EPERM)
                        continue;
                if (slot < 0)
                        return slot;
                o->password = *pw;
                o->recovery_key = recovery;
                /* A token's secret given as a password (homectl update
                 * enrolling it) is no password: no hash of it. */
                o->by_token = !recovery && slot < 32 && pkcs11_slot[slot];
                return slot;
        }
        /* Then the tokens present, with the PIN given: each a try of the
         * token's PIN counter, only once the passwords did not open it. */
        int token_error = 0;
        if (tokens) {
                slot = luks_pkcs11_open(h, v, o, &token_error);
                if (slot != -EPERM)
                        return slot;
        }
        /* Past here only the TPM can open it, and the token is the
         * image's, which whoever holds the disk may have written: checked
         * before the TPM is asked, so a refusal costs no try. */
        if (!tpm && tpm_error && pin && user_record_tpm2(h->rec))
                return log_error_errno(EMEDIUMTYPE, "home %s: the image's TPM2 token cannot be used (see above), "
                                       "though the record says its key is sealed in the TPM; refusing (a "
                                       "different image?). The recovery key still opens the home", h->name);
        if (tpm && pin) {
                _cleanup_secure_buffer_ SecureBuffer *pass = NULL, *secret = NULL;
                r = luks_tpm2_vouch(h, v->cd, &sealed, tpm_slot);
                if (r < 0)
                        return r;
                r = luks_tpm2_passphrase(h, &sealed, pin, &pass, &secret, note, sizeof note);
                if (r >= 0) {
                        slot = try_passphrase(h, v, tpm_slot, pass->data, pass->size, o);
                        if (slot >= 0) {
                                o->password = pin;
                                o->recovery_key = false;
                                o->tpm_secret = TAKE_PTR(secret);
                                return slot;
                        }
                        if (slot != -EPERM)
                                return slot;
                } else if (r != -EKEYREJECTED)
                        tpm_error = r;
        }
        /* The token's PIN missing, wrong or locked says more than "password
         * incorrect", when neither opened it. */
        if (token_error && token_error != -EIO && tpm_error == 0)
                return token_error;
        if (tpm_error == -EUSERS)
                return tpm_error; /* logged: hearthd's budget of TPM tries */
        if (tpm_error == -ETIME)
                return log_error_errno(ETIME, "home %s: the TPM refuses PINs for now (too many wrong ones); try later, "
                                              "or use the recovery key", h->name);
        if (tpm_error == -ESTALE || tpm_error == -ENOKEY)
                return log_error_errno(tpm_error, "home %s: the TPM no longer unseals its key (firmware, boot or TPM "
                                                  "changed); use the recovery key", h->name);
        if (tpm_error == -ENODEV)
                return log_error_errno(ENODEV, "home %s: its key is sealed in a TPM and no usable TPM is there; use "
                                               "the recovery key", h->name);
        return log_error_errno(EKEYREJECTED, "home %s: password incorrect%s%s", h->name, note[0] ? "; " : "", note);
}

/* Binds the record to the volume key itself. Everything else that tells
 * the home's image apart — UUIDs, label, the record its token carries (a
 * PIN-only home's has nothing private) — can be copied from public
 * information onto an image of one's own, with a keyslot for one's own
 * password; only the volume key cannot. An HMAC keyed with it over the
 * LUKS UUID is kept in the record's binding: made at create, and at the
 * first opening of a home whose record has none (found, or older); any
 * other key is refused before anything of the image is used. */
int luks_volume_key_check_value(const void *vk, size_t vk_size, const char *luks_uuid, char ret[static 65]) {
        static const char label[] = "hearth volume key check v1";
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned mac_size = 0;
        _cleanup_free_ char *msg = NULL;

        if (asprintf(&msg, "%s:%s", label, luks_uuid ?: "") < 0)
                return -ENOMEM;
        if (!HMAC(EVP_sha256(), vk, (int) vk_size, (const unsigned char *) msg, strlen(msg), mac, &mac_size) ||
            mac_size != 32)
                return -EIO;
        for (unsigned i = 0; i < 32; i++)
                snprintf(ret + 2 * i, 3, "%02x", mac[i]);
        explicit_bzero(mac, sizeof mac);
        return 0;
}

static int volume_key_check(Home *h, Volume *v, const Opened *o) {
        char hex[65];
        int r = luks_volume_key_check_value(o->vk->data, o->vk_size, sym_crypt_get_uuid(v->cd), hex);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot compute the volume key's check value: %m", h->name);
        if (h->rec->volume_key_check) {
                if (strlen(h->rec->volume_key_check) == 64 && CRYPTO_memcmp(h->rec->volume_key_check, hex, 64) == 0)
                        return 0;
                return log_error_errno(EMEDIUMTYPE, "home %s: %s opens, but not with the volume key the record "
                                       "was bound to; refusing (a different image?)", h->name, v->image ?: v->dev);
        }
        json_object *b = json_object_new_object();
        if (b && json_object_object_add(b, "hearthVolumeKeyCheck", json_object_new_string(hex)) < 0) {
                json_object_put(b);
                b = NULL;
        }
        return home_bind(h, b);
}

int luks_volume_key_get(Home *h, Volume *v, Opened *o) {
        int slot = volume_key_find(h, v, o);
        if (slot < 0)
                return slot;
        int r = volume_key_check(h, v, o);
        if (r < 0) {
                luks_opened_done(o);
                return r;
        }
        return slot;
}

/* The key put to use: with name, the volume is activated under that name;
 * with flags alone, the key is kept for this context (crypt_resize of an
 * active LUKS2 volume needs it). */
int luks_use_volume_key(Home *h, Volume *v, const char *name, uint32_t flags, const Opened *o) {
        /* A mapping made here keeps its key in its table, not in the
         * kernel keyring: hearthd resizes an active home (rebalancing,
         * autoResizeMode) without a secret. Root may read either; lock
         * wipes it from both. */
        if (name)
                luks_key_in_table(v->cd);
        int r = sym_crypt_activate_by_volume_key(v->cd, name, o->vk->data, o->vk_size, flags);
        if (r == -EEXIST)
                return log_error_errno(EALREADY, "home %s: /dev/mapper/%s is already active", h->name, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot %s: %m", h->name, name ? "activate the volume" : "load its key");
        return 0;
}

/* The record's settings, never the header's persistent flags: the LUKS2
 * JSON is guarded by a checksum anyone who can write the image recomputes,
 * not by the volume key, so "allow-discards" planted there would otherwise
 * show her free-space map through trims (attack12 F4). */
uint32_t luks_activate_flags(Home *h) {
        return CRYPT_ACTIVATE_IGNORE_PERSISTENT | (h->rec->luks_discard > 0 ? CRYPT_ACTIVATE_ALLOW_DISCARDS : 0);
}

void luks_key_in_table(struct crypt_device *cd) {
        (void) sym_crypt_volume_key_keyring(cd, 0);
}

/* luks_volume_key_get(), then luks_use_volume_key() if name or flags ask for it
 * (without either, only checked, which needs no device-mapper). Returns
 * the keyslot. */
int luks_volume_unlock(Home *h, Volume *v, const char *name, uint32_t flags, Opened *o) {
        int slot = luks_volume_key_get(h, v, o);
        if (slot < 0 || (!name && !flags))
                return slot;
        int r = luks_use_volume_key(h, v, name, flags, o);
        return r < 0 ? r : slot;
}

const StorageBackend storage_luks = {
        .authenticate = luks_authenticate,
        .name = "luks",
        .storage = USER_STORAGE_LUKS,
        .own_authentication = true,
        .create = luks_create,
        .activate = luks_activate,
        .deactivate = luks_deactivate,
        .lock = luks_lock,
        .unlock = luks_unlock,
        .update = luks_update,
        .resize = luks_resize,
        .passwd = luks_passwd,
        .fixate = luks_fixate,
        .inspect = luks_inspect,
        .remove = luks_remove,
        .exists = luks_exists,
};
