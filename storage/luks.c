/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encrypted homes: each home is a LUKS2 volume (an image file on a loop
 * device, or a block device) with a filesystem inside, mapped as
 * /dev/mapper/home-<user> (common/home-dm.h) and mounted on the home
 * directory while active.
 * Everything LUKS goes through libcryptsetup.
 *
 * A home whose imagePath is /dev/mapper/hearth-pool-<volume> lives on that
 * volume of the extent pool (storage/pool/): create makes the volume,
 * resize grows and shrinks it (never moving data), remove gives its extents
 * back to the pool.
 *
 * The record travels with the home: a LUKS2 token of type hearth-identity
 * and ~/.identity hold a copy signed by the machine key, and activation
 * prefers the newer of the stored and embedded copies, provided the embedded
 * one is signed by a trusted key.
 *
 * This file: the volume (image or device, the mapping's name, attach and
 * open), unlocking it, and the backend table; luks-internal.h lists the
 * others. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "backend.h"
#include "crypt-log.h"
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
                crypt_free(v->cd);
        if (v->loop_fd >= 0)
                close(v->loop_fd); /* autoclear detaches once dm lets go too */
        free(v->image);
        free(v->dev);
        *v = (Volume) { .loop_fd = -1 };
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
 * name, its header carries the user's name as label and Hearth's
 * subsystem, and it sits on the home's image (the block device itself, or
 * a loop device of the image file; with creating, also of the hidden image
 * of an unfinished create). 1 yes, 0 no such mapping or not the home's.
 * Anything else mapped under a home's name is left alone. */
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
        storage_crypt_log_setup();
        if (crypt_init_by_name(&cd, name) < 0)
                return 0;
        const char *label = crypt_get_label(cd), *subsystem = crypt_get_subsystem(cd), *luks_uuid = crypt_get_uuid(cd);
        const char *under = crypt_get_device_name(cd);
        ours = label && strcmp(label, h->name) == 0 && subsystem && strcmp(subsystem, LUKS_SUBSYSTEM) == 0 &&
               luks_uuid && dm_uuid_names_luks_uuid(uuid, luks_uuid) && under && stat(under, &dev) == 0 &&
               S_ISBLK(dev.st_mode);
        if (ours && is_block)
                ours = stat(image, &img) == 0 && S_ISBLK(img.st_mode) && img.st_rdev == dev.st_rdev;
        else if (ours && loop_backed_by(under, image) <= 0) {
                _cleanup_free_ char *backing = NULL, *prefix = NULL;
                ours = creating && loop_backing_file(under, &backing) >= 0 &&
                       asprintf(&prefix, "%s/.#hearth-create.%s.", h->root, h->name) >= 0 &&
                       strncmp(backing, prefix, strlen(prefix)) == 0;
        }
        crypt_free(cd);
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
        if (dm_uuid_of(name, uuid, sizeof uuid) == -ENOENT || crypt_status(NULL, name) == CRYPT_INACTIVE)
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

int luks_volume_attach(Home *h, const char *image, bool is_block, Volume *v) {
        int r;

        storage_crypt_log_setup();
        v->loop_fd = -1;
        v->image = strdup(image);
        if (!v->image)
                return log_oom();
        v->is_block = is_block;
        r = luks_home_pool_volume(h, v->pool_volume);
        if (r < 0)
                return r;
        if (r == 0)
                v->pool_volume[0] = 0;
        else {
                r = luks_pool_volume_up(h, v->pool_volume, image);
                if (r < 0)
                        return r;
        }
        if (is_block)
                v->dev = strdup(image);
        else {
                r = loop_attach(image, false, &v->dev, &v->loop_fd);
                if (r == -ENOENT)
                        return log_error_errno(ENOENT, "home %s: image %s does not exist", h->name, image);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot attach %s to a loop device: %m", h->name, image);
        }
        if (!v->dev)
                return log_oom();
        r = crypt_init(&v->cd, v->dev);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open %s: %m", h->name, v->dev);
        return 0;
}

int luks_volume_open(Home *h, Volume *v) {
        _cleanup_free_ char *image = NULL;
        bool is_block;
        int r;

        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = luks_volume_attach(h, image, is_block, v);
        if (r < 0)
                return r;
        r = crypt_load(v->cd, CRYPT_LUKS2, NULL);
        if (r < 0)
                return log_error_errno(EUCLEAN, "home %s: %s has no valid LUKS2 header (damaged, or not a Hearth "
                                       "home)", h->name, image);
        return 0;
}

/* The volume behind an active mapping: the same loop device the mapping
 * uses (a second loop device on the same file would not see size changes
 * the mapping sees, and the other way round). */
int luks_volume_open_active(Home *h, const char *name, Volume *v) {
        _cleanup_free_ char *image = NULL;
        bool is_block;
        int r;

        storage_crypt_log_setup();
        v->loop_fd = -1;
        r = luks_image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = crypt_init_by_name(&v->cd, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open /dev/mapper/%s: %m", h->name, name);
        v->image = TAKE_PTR(image);
        v->is_block = is_block;
        r = luks_home_pool_volume(h, v->pool_volume);
        if (r < 0)
                return r;
        if (r == 0)
                v->pool_volume[0] = 0;
        v->dev = strdup(crypt_get_device_name(v->cd));
        if (!v->dev)
                return log_oom();
        if (!is_block) {
                v->loop_fd = open(v->dev, O_RDWR | O_CLOEXEC);
                if (v->loop_fd < 0)
                        return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, v->dev);
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
        int opened = crypt_volume_key_get(v->cd, slot, o->vk->data, &vk_size, pass, len);
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
        for (int slot = 0; slot < crypt_keyslot_max(CRYPT_LUKS2); slot++) {
                crypt_keyslot_info ki = crypt_keyslot_status(cd, slot);
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
 * key never reaches the TPM. When the TPM cannot be used (PCRs changed,
 * lockout, none) and no other keyslot opens, that is the error, so that
 * the person learns to use the recovery key.
 * Returns the keyslot; *o holds the key and what opened it. */
int luks_volume_key_get(Home *h, Volume *v, Opened *o) {
        const char *const *pw = h->rec->password;
        Tpm2Sealed sealed;
        int r, slot, tpm_slot = -1, tpm_error = 0;
        char note[128] = "";

        luks_opened_done(o);
        if (!pw || !pw[0])
                return log_error_errno(EKEYREJECTED, "home %s: password required", h->name);
        r = secure_buffer_new((size_t) crypt_get_volume_key_size(v->cd) ?: 64, &o->vk);
        if (r < 0)
                return log_oom();
        r = luks_tpm2_find(h, v->cd, &sealed, &tpm_slot);
        if (r < 0 && r != -ENOENT)
                tpm_error = r;
        bool tpm = r >= 0, password_slots = !tpm || has_password_keyslot(v->cd);
        const char *pin = NULL;

        for (; *pw; pw++) {
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
                return slot;
        }
        if (tpm && pin) {
                _cleanup_secure_buffer_ SecureBuffer *pass = NULL, *secret = NULL;
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

/* The key put to use: with name, the volume is activated under that name;
 * with flags alone, the key is kept for this context (crypt_resize of an
 * active LUKS2 volume needs it). */
int luks_use_volume_key(Home *h, Volume *v, const char *name, uint32_t flags, const Opened *o) {
        int r = crypt_activate_by_volume_key(v->cd, name, o->vk->data, o->vk_size, flags);
        if (r == -EEXIST)
                return log_error_errno(EALREADY, "home %s: /dev/mapper/%s is already active", h->name, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot %s: %m", h->name, name ? "activate the volume" : "load its key");
        return 0;
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
        .inspect = luks_inspect,
        .remove = luks_remove,
        .exists = luks_exists,
};
