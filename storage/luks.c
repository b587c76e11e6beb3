/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encrypted homes: each home is a LUKS2 volume (an image file on a loop
 * device, or a block device) with a filesystem inside, mapped as
 * /dev/mapper/home-<user> (common/home-dm.h) and mounted on the home
 * directory while active.
 * Everything LUKS goes through libcryptsetup.
 *
 * A home whose imagePath is /dev/mapper/hearth-pool-<volume> lives on that
 * volume of the extent pool (storage/pool.c): create makes the volume,
 * resize grows and shrinks it (never moving data), remove gives its extents
 * back to the pool.
 *
 * The record travels with the home: a LUKS2 token of type hearth-identity
 * and ~/.identity hold a copy signed by the machine key, and activation
 * prefers the newer of the stored and embedded copies, provided the embedded
 * one is signed by a trusted key. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/ioctl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

#include <blkid/blkid.h>
#include <libcryptsetup.h>
#include <openssl/rand.h>

#include "backend.h"
#include "fileio.h"
#include "fs.h"
#include "home-dm.h"
#include "identity-store.h"
#include "identity-token.h"
#include "json-strict.h"
#include "log.h"
#include "loop.h"
#include "luks-tpm2.h"
#include "macro.h"
#include "password.h"
#include "pool.h"
#include "recovery-key.h"
#include "runtime-paths.h"
#include "secret.h"
#include "self-modify.h"
#include "sign.h"
#include "size.h"

#define LUKS_SUBSYSTEM "hearth" /* in every home's LUKS2 header, beside the user's name as label */
#define IDENTITY_FILE ".identity"

typedef struct Volume {
        char *image;   /* image file or block device */
        bool is_block;
        char pool_volume[POOL_NAME_MAX + 1]; /* the pool volume it is, or "" */
        char *dev;     /* what LUKS sits on: /dev/loopN or the block device */
        int loop_fd;
        struct crypt_device *cd;
} Volume;

/* libcryptsetup talks on stderr by default; its lines are details of the one
 * error we report, so they go to the debug log. */
static void hearth_crypt_log(int level, const char *msg, void *userdata) {
        size_t n = strlen(msg);
        log_debug("libcryptsetup: %.*s", (int) (n && msg[n - 1] == '\n' ? n - 1 : n), msg);
}

static void crypt_log_setup(void) {
        static bool done;
        if (!done) {
                crypt_set_log_callback(NULL, hearth_crypt_log, NULL);
                done = true;
        }
}

static void volume_close(Volume *v) {
        if (v->cd)
                crypt_free(v->cd);
        if (v->loop_fd >= 0)
                close(v->loop_fd); /* autoclear detaches once dm lets go too */
        free(v->image);
        free(v->dev);
        *v = (Volume) { .loop_fd = -1 };
}
#define _cleanup_volume_ __attribute__((cleanup(volume_close)))

static int image_path(Home *h, char **ret, bool *ret_block);

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
        r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        crypt_log_setup();
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
static int find_mapping(Home *h, char *name, bool creating) {
        for (int legacy = 0; legacy < 2; legacy++) {
                if (home_dm_name(h->name, legacy, name) < 0)
                        return -ENAMETOOLONG;
                int r = mapping_is_ours(h, name, creating);
                if (r != 0)
                        return r;
        }
        return home_dm_name(h->name, false, name);
}

static bool is_active(Home *h) {
        char name[HOME_DM_NAME_MAX];
        return find_mapping(h, name, false) > 0;
}

/* The current name must be free before the home is mapped under it:
 * whatever else holds it is not ours to close. */
static int require_name_free(Home *h, const char *name) {
        char uuid[256];
        if (dm_uuid_of(name, uuid, sizeof uuid) == -ENOENT || crypt_status(NULL, name) == CRYPT_INACTIVE)
                return 0;
        return log_error_errno(EBUSY, "home %s: /dev/mapper/%s exists and is not this home's volume; refusing to "
                               "use or close it", h->name, name);
}

static const char *fstype(Home *h) {
        return h->rec->file_system_type ?: "btrfs";
}

/* 1 and the volume if imagePath is /dev/mapper/hearth-pool-<volume>, 0 if
 * the home is not on a pool volume. */
static int home_pool_volume(Home *h, char volume[static POOL_NAME_MAX + 1]) {
        int r = pool_volume_from_device(h->rec->image_path, volume);
        if (r == -EINVAL)
                return log_error_errno(EINVAL, "home %s: imagePath %s: no valid pool volume name after " POOL_DEVICE_PREFIX,
                                       h->name, h->rec->image_path);
        if (r > 0 && strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EINVAL, "home %s: imagePath names the pool volume home, which is /home itself; "
                                       "a LUKS home needs a pool volume of its own", h->name);
        return r;
}

/* Brings the pool volume's device up if the pool was not activated (or the
 * volume was added since): from validated metadata under the pool lock, as
 * boot does, writing no metadata and touching no other volume, so a login
 * does not depend on an administrator having run hearth-pool activate. */
static int pool_volume_up(Home *h, const char *volume, const char *node) {
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        struct stat st;
        int r;

        if (stat(node, &st) == 0)
                return S_ISBLK(st.st_mode) ? 0 : log_error_errno(ENOTBLK, "home %s: %s is not a block device", h->name, node);
        if (errno != ENOENT)
                return log_error_errno(errno, "home %s: %s: %m", h->name, node);
        r = pool_open(NULL, false, &p);
        if (r < 0)
                return log_error_errno(r, "home %s: pool volume %s is not active, and the pool cannot be opened "
                                       "(see above; hearth-pool status)", h->name, volume);
        r = pool_volume_info(p, volume, &info);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: pool volume %s does not exist", h->name, volume);
        if (r >= 0)
                r = pool_volume_activate(p, volume);
        if (r < 0)
                return r;
        log_info("home %s: pool volume %s was not active; activated it", h->name, volume);
        return 0;
}

/* The image: imagePath if it names a block device, else <root>/<user>.home;
 * nothing else, so a record cannot point create or remove at another file. */
static int image_path(Home *h, char **ret, bool *ret_block) {
        char volume[POOL_NAME_MAX + 1];
        struct stat st;
        int r;

        r = home_pool_volume(h, volume);
        if (r < 0)
                return r;
        if (r > 0) {
                /* Its device may be missing (pool not active, volume not
                 * made yet): volume_attach() and create deal with that. */
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
        if (asprintf(&def, "%s/%s.home", h->root, h->name) < 0)
                return log_oom();
        if (h->rec->image_path && strcmp(h->rec->image_path, def) != 0)
                return log_error_errno(EINVAL, "home %s: imagePath: must be %s or a block device", h->name, def);
        *ret_block = false;
        *ret = TAKE_PTR(def);
        return 0;
}

static int volume_attach(Home *h, const char *image, bool is_block, Volume *v) {
        int r;

        crypt_log_setup();
        v->loop_fd = -1;
        v->image = strdup(image);
        if (!v->image)
                return log_oom();
        v->is_block = is_block;
        r = home_pool_volume(h, v->pool_volume);
        if (r < 0)
                return r;
        if (r == 0)
                v->pool_volume[0] = 0;
        else {
                r = pool_volume_up(h, v->pool_volume, image);
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

static int volume_open(Home *h, Volume *v) {
        _cleanup_free_ char *image = NULL;
        bool is_block;
        int r;

        r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = volume_attach(h, image, is_block, v);
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
static int volume_open_active(Home *h, const char *name, Volume *v) {
        _cleanup_free_ char *image = NULL;
        bool is_block;
        int r;

        crypt_log_setup();
        v->loop_fd = -1;
        r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = crypt_init_by_name(&v->cd, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open /dev/mapper/%s: %m", h->name, name);
        v->image = TAKE_PTR(image);
        v->is_block = is_block;
        r = home_pool_volume(h, v->pool_volume);
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

/* What opened a volume: its key, and which offered secret did. */
typedef struct Opened {
        SecureBuffer *vk; /* the volume key: its first vk_size bytes */
        size_t vk_size;
        int slot;
        const char *password; /* the entry of secret.password that opened it */
        bool recovery_key;    /* that entry is a recovery key: never a password hash */
} Opened;

static void opened_done(Opened *o) {
        secure_buffer_free(o->vk);
        *o = (Opened) { .slot = -1 };
}
#define _cleanup_opened_ __attribute__((cleanup(opened_done)))

/* One passphrase against the keyslots (slot, or any). Returns the keyslot,
 * -EPERM if it opens none. */
static int try_passphrase(Home *h, Volume *v, int slot, const char *pass, size_t len, Opened *o) {
        size_t vk_size = o->vk->size;
        int opened = crypt_volume_key_get(v->cd, slot, o->vk->data, &vk_size, pass, len);
        if (opened < 0)
                return opened == -EPERM ? -EPERM
                                        : log_error_errno(opened, "home %s: cannot unlock %s: %m", h->name,
                                                          v->image ?: v->dev);
        o->vk_size = vk_size;
        o->slot = opened;
        return opened;
}

/* The one way from the offered secrets to the volume key, for activate,
 * unlock after lock, authenticate, passwd, resize and update alike. Tries
 * each password of secret.password: as the TPM's PIN when the header has a
 * systemd-tpm2 token, as a recovery key when it is shaped like one (any
 * spelling recovery_key_normalize() takes), and as a passphrase of the
 * other keyslots. Each costs one unseal or one PBKDF run. When the TPM
 * cannot be used (PCRs changed, lockout, none) and no other keyslot opens,
 * that is the error, so that the person learns to use the recovery key.
 * Returns the keyslot; *o holds the key and what opened it. */
static int volume_key_get(Home *h, Volume *v, Opened *o) {
        const char *const *pw = h->rec->password;
        Tpm2Sealed sealed;
        int r, slot, tpm_slot = -1, tpm_error = 0;
        char note[128] = "";

        opened_done(o);
        if (!pw || !pw[0])
                return log_error_errno(EKEYREJECTED, "home %s: password required", h->name);
        r = secure_buffer_new((size_t) crypt_get_volume_key_size(v->cd) ?: 64, &o->vk);
        if (r < 0)
                return log_oom();
        r = luks_tpm2_find(h, v->cd, &sealed, &tpm_slot);
        if (r < 0 && r != -ENOENT)
                tpm_error = r;
        bool tpm = r >= 0;

        for (; *pw; pw++) {
                bool recovery = luks_is_recovery_key(*pw);
                if (recovery) {
                        _cleanup_secure_buffer_ SecureBuffer *norm = NULL;
                        if (recovery_key_normalize(*pw, &norm) < 0)
                                return log_oom();
                        slot = try_passphrase(h, v, CRYPT_ANY_SLOT, norm->data, strlen(norm->data), o);
                } else {
                        slot = -EPERM;
                        if (tpm && tpm_error != -ETIME) {
                                _cleanup_secure_buffer_ SecureBuffer *pass = NULL;
                                r = luks_tpm2_passphrase(h, &sealed, *pw, &pass, note, sizeof note);
                                if (r >= 0)
                                        slot = try_passphrase(h, v, tpm_slot, pass->data, pass->size, o);
                                else if (r != -EKEYREJECTED)
                                        tpm_error = r;
                        }
                        if (slot == -EPERM)
                                slot = try_passphrase(h, v, CRYPT_ANY_SLOT, *pw, strlen(*pw), o);
                }
                if (slot == -EPERM)
                        continue;
                if (slot < 0)
                        return slot;
                o->password = *pw;
                o->recovery_key = recovery;
                return slot;
        }
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
static int use_volume_key(Home *h, Volume *v, const char *name, uint32_t flags, const Opened *o) {
        int r = crypt_activate_by_volume_key(v->cd, name, o->vk->data, o->vk_size, flags);
        if (r == -EEXIST)
                return log_error_errno(EALREADY, "home %s: /dev/mapper/%s is already active", h->name, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot %s: %m", h->name, name ? "activate the volume" : "load its key");
        return 0;
}

/* volume_key_get(), then use_volume_key() if name or flags ask for it
 * (without either, only checked, which needs no device-mapper). Returns
 * the keyslot. */
static int unlock(Home *h, Volume *v, const char *name, uint32_t flags, Opened *o) {
        int slot = volume_key_get(h, v, o);
        if (slot < 0 || (!name && !flags))
                return slot;
        int r = use_volume_key(h, v, name, flags, o);
        return r < 0 ? r : slot;
}

/* ---- the embedded record ------------------------------------------------ */

/* What is embedded: the signed record without per-machine sections. */
static int embedded_json(Home *h, char **ret) {
        json_object *j = user_record_without(h->rec, USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_BINDING);
        if (!j)
                return log_oom();
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        json_object_put(j);
        return *ret ? 0 : log_oom();
}

/* Signs the record with the machine key, so the embedded copies verify. */
static int sign_record(Home *h) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        Keyring *kr;
        int r;

        r = identity_store_open(NULL, &store);
        if (r >= 0)
                r = identity_store_keyring(store, true, &kr);
        if (r >= 0)
                r = keyring_sign(kr, h->rec);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot sign the record: %m", h->name);
        return 0;
}

/* The id of the hearth-identity token, or -ENOENT. */
static int token_find(Volume *v) {
        for (int i = 0; i < 32; i++) {
                const char *type;
                if (crypt_token_status(v->cd, i, &type) == CRYPT_TOKEN_EXTERNAL_UNKNOWN && type &&
                    strcmp(type, IDENTITY_TOKEN_TYPE) == 0)
                        return i;
        }
        return -ENOENT;
}

/* The record into the hearth-identity token, encrypted with the volume key
 * (identity-token.h): the header alone tells nothing about the user. */
static int token_write(Home *h, Volume *v, const Opened *o) {
        _cleanup_free_ char *rec = NULL, *token = NULL;
        int r, id;

        r = embedded_json(h, &rec);
        if (r < 0)
                return r;
        r = identity_token_seal(crypt_get_cipher(v->cd), crypt_get_cipher_mode(v->cd), o->vk->data, o->vk_size, rec,
                                &token);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "home %s: the volume's cipher %s-%s has no OpenSSL counterpart to encrypt the "
                                          "record in the header with", h->name, crypt_get_cipher(v->cd) ?: "?",
                                       crypt_get_cipher_mode(v->cd) ?: "?");
        if (r < 0)
                return log_error_errno(r, "home %s: cannot encrypt the record for the header: %m", h->name);
        /* Replace ours in place if there is one. */
        id = token_find(v);
        r = crypt_token_json_set(v->cd, id >= 0 ? id : CRYPT_ANY_TOKEN, token);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot write the identity token: %m", h->name);
        return 0;
}

/* The record in the header: 0, or 1 if it was in clear text (a home made
 * before the record was encrypted: rewrite it); -ENOENT if there is none. */
static int token_read(Home *h, Volume *v, const Opened *o, UserRecord **ret) {
        _cleanup_free_ char *error = NULL, *text = NULL;
        const char *json;
        int i = token_find(v);

        if (i < 0 || crypt_token_json_get(v->cd, i, &json) < 0)
                return -ENOENT;
        int legacy = identity_token_open(json, crypt_get_cipher(v->cd), crypt_get_cipher_mode(v->cd), o->vk->data,
                                         o->vk_size, &text);
        if (legacy == -ENOMEM)
                return log_oom();
        if (legacy < 0)
                return log_error_errno(EUCLEAN, "home %s: identity token unreadable: %s", h->name,
                                       legacy == -EINVAL ? "malformed" : "does not decrypt with the volume key");
        int r = user_record_parse(text, strlen(text), ret, &error);
        explicit_bzero(text, strlen(text));
        if (r < 0)
                return log_error_errno(EUCLEAN, "home %s: identity token holds an invalid record: %s", h->name,
                                       error ?: "?");
        if (legacy)
                log_info("home %s: the identity token holds the record in clear text; encrypting it", h->name);
        return legacy;
}

static int identity_file_write(Home *h, int dir_fd) {
        _cleanup_free_ char *rec = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        r = embedded_json(h, &rec);
        if (r < 0)
                return r;
        r = home_temp_name(h, "identity", &tmp);
        if (r < 0)
                return r;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot write ~/" IDENTITY_FILE ": %m", h->name);
        size_t n = strlen(rec);
        if (write(fd, rec, n) != (ssize_t) n || write(fd, "\n", 1) != 1 || fsync(fd) < 0 ||
            fchown(fd, h->rec->uid, (gid_t) h->rec->uid) < 0 ||
            renameat(dir_fd, tmp, dir_fd, IDENTITY_FILE) < 0) {
                r = log_error_errno(errno, "home %s: cannot write ~/" IDENTITY_FILE ": %m", h->name);
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

/* ~/.identity is in the user's hands: she may put a symlink, a FIFO, a
 * device or garbage there. Only a regular file of bounded size that parses
 * is read, without following or blocking; anything else is ignored with a
 * warning (-EUCLEAN) and rewritten by the caller. -ENOENT if absent. */
static int identity_file_read(Home *h, int dir_fd, UserRecord **ret) {
        _cleanup_close_ int fd = openat(dir_fd, IDENTITY_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        _cleanup_free_ char *text = NULL, *error = NULL;
        struct stat st;
        size_t len = 0;

        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 || fstat(fd, &st) < 0) {
                log_warning_errno(errno, "home %s: ~/" IDENTITY_FILE " cannot be opened (%m); ignoring it", h->name);
                return -EUCLEAN;
        }
        if (!S_ISREG(st.st_mode)) {
                log_warning("home %s: ~/" IDENTITY_FILE " is not a regular file; ignoring it", h->name);
                return -EUCLEAN;
        }
        if (st.st_size > IDENTITY_FILE_MAX) {
                log_warning("home %s: ~/" IDENTITY_FILE " is larger than %d bytes; ignoring it", h->name, IDENTITY_FILE_MAX);
                return -EUCLEAN;
        }
        text = malloc(IDENTITY_FILE_MAX + 1);
        if (!text)
                return log_oom();
        for (;;) {
                ssize_t k = read(fd, text + len, IDENTITY_FILE_MAX + 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        log_warning_errno(errno, "home %s: ~/" IDENTITY_FILE " unreadable (%m); ignoring it", h->name);
                        return -EUCLEAN;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > IDENTITY_FILE_MAX) {
                        log_warning("home %s: ~/" IDENTITY_FILE " grew past %d bytes; ignoring it", h->name,
                                    IDENTITY_FILE_MAX);
                        return -EUCLEAN;
                }
        }
        text[len] = 0;
        if (user_record_parse(text, len, ret, &error) < 0) {
                log_warning("home %s: ~/" IDENTITY_FILE ": %s; ignoring it", h->name, error ?: "invalid");
                return -EUCLEAN;
        }
        return 0;
}

/* Checks an embedded copy and, if it is newer than the stored record and
 * signed by a trusted key, makes it the record. */
static int reconcile(Home *h, UserRecord *embedded, const char *where) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        SignatureStatus status;
        Keyring *kr;
        int r;

        if (strcmp(embedded->user_name, h->name) != 0)
                return log_error_errno(EUCLEAN, "home %s: the record in %s is for \"%s\"", h->name, where,
                                       embedded->user_name);
        r = identity_store_open(NULL, &store);
        if (r >= 0)
                r = identity_store_keyring(store, false, &kr);
        if (r >= 0)
                r = keyring_verify(kr, embedded, &status);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot verify the record in %s: %m", h->name, where);
        if (status != SIGNATURE_LOCAL && status != SIGNATURE_TRUSTED)
                return log_error_errno(EUCLEAN, "home %s: the record in %s: %s, refusing", h->name, where,
                                       signature_status_to_string(status));
        if (embedded->last_change_usec == UINT64_MAX || h->rec->last_change_usec == UINT64_MAX ||
            embedded->last_change_usec <= h->rec->last_change_usec)
                return 0;

        /* ~/.identity is the user's to write: a signed copy she kept (from
         * before an administrator took a group away) must not bring back
         * more than she may change herself. The header's token is not hers. */
        if (strcmp(where, "~/" IDENTITY_FILE) == 0) {
                _cleanup_free_ char *field = NULL;
                r = self_modify_allowed(h->rec, embedded, &field);
                if (r < 0)
                        return log_oom();
                if (r == 0) {
                        log_warning("home %s: the record in %s is newer but changes %s, which its user may not "
                                    "change; ignoring it", h->name, where, field);
                        return 0;
                }
        }
        /* Newer: keep this machine's binding and the request's secrets. */
        log_info("home %s: the record in %s is newer than the stored one; using it", h->name, where);
        json_object *keep_secret = NULL, *keep_binding = NULL, *j = json_object_get(embedded->json);
        if (json_object_object_get_ex(h->rec->json, "secret", &keep_secret))
                json_object_object_add(j, "secret", json_object_get(keep_secret));
        if (json_object_object_get_ex(h->rec->json, "binding", &keep_binding))
                json_object_object_add(j, "binding", json_object_get(keep_binding));
        json_object_put(h->rec->json);
        h->rec->json = j;
        return user_record_refresh(h->rec, NULL);
}

/* ---- create ---------------------------------------------------------------- */

static int set_pbkdf(Home *h, Volume *v) {
        const UserRecord *rec = h->rec;
        struct crypt_pbkdf_type p = {
                .type = rec->luks_pbkdf_type ?: CRYPT_KDF_ARGON2ID,
                .hash = rec->luks_pbkdf_hash_algorithm ?: "sha512",
                /* homed's defaults: 500 ms and 64 MiB, not libcryptsetup's
                 * 2 s that every login would wait for. */
                .time_ms = rec->luks_pbkdf_time_cost_usec != UINT64_MAX
                                   ? (uint32_t) (rec->luks_pbkdf_time_cost_usec / 1000 ?: 1) : 500,
                .max_memory_kb = rec->luks_pbkdf_memory_cost != UINT64_MAX
                                         ? (uint32_t) (rec->luks_pbkdf_memory_cost / 1024) : 65536,
                .parallel_threads = rec->luks_pbkdf_parallel_threads != UINT64_MAX
                                            ? (uint32_t) rec->luks_pbkdf_parallel_threads : 1,
        };
        int r;

        if (strcmp(p.type, CRYPT_KDF_PBKDF2) == 0) {
                p.max_memory_kb = 0;
                p.parallel_threads = 0;
        }
        /* luksPbkdfForceIterations (systemd's field): fixed cost, no
         * benchmark. Tests use it to make formatting cheap. */
        if (rec->luks_pbkdf_force_iterations != UINT64_MAX) {
                p.iterations = (uint32_t) rec->luks_pbkdf_force_iterations;
                p.time_ms = 0;
                p.flags = CRYPT_PBKDF_NO_BENCHMARK;
                if (p.max_memory_kb < 32 && p.max_memory_kb != 0)
                        p.max_memory_kb = 32;
        }
        r = crypt_set_pbkdf_type(v->cd, &p);
        if (r < 0)
                return log_error_errno(r, "home %s: PBKDF settings refused by libcryptsetup: %m", h->name);
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
        if (h->rec->disk_size != UINT64_MAX) {
                *ret = h->rec->disk_size;
                return 0;
        }
        /* As homed: a share of what is free, here a fifth, in whole MiB. */
        struct statvfs sv;
        if (fstatvfs(h->root_fd, &sv) < 0)
                return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->root);
        *ret = (uint64_t) sv.f_bavail * sv.f_frsize / 5 / (1024 * 1024) * (1024 * 1024);
        return 0;
}

/* What an image may take of the file system under it: what is free there
 * but a floor left to the system, a twentieth of that file system (at most
 * 1 GiB). An image that filled /home would leave the other homes, logs and
 * everyone's files without room, and the file system read-only at worst. */
static int image_room(Home *h, uint64_t *ret) {
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
static int image_fits(Home *h, uint64_t size, uint64_t allocated) {
        char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX], c[SIZE_FORMAT_MAX];
        uint64_t room, need = size > allocated ? size - allocated : 0;
        int r = image_room(h, &room);
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
static int image_allocate(Home *h, const char *path, int fd, uint64_t size) {
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

static int mount_dir(Home *h, const char *what, char **ret) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s/%s", hearth_runtime_dir(), what, h->name) < 0)
                return log_oom();
        int r = mkdir_parents(p, 0700);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot create %s: %m", h->name, p);
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---- homes on a pool volume ------------------------------------------------ */

#define LUKS_HEADER_ROOM (UINT64_C(16) << 20)

static int open_pool(Home *h, Pool **ret) {
        int r = pool_open(NULL, false, ret);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open the extent pool (see above; hearth-pool status)", h->name);
        return 0;
}

/* The pool volume a new home goes on: made now (diskSize, or a fifth of the
 * pool's free space as images take a fifth of /home's, rounded up to whole
 * extents), or one that exists and holds no LUKS volume yet (made with
 * hearth-pool create, or left by a create killed before it formatted). */
static int pool_volume_prepare(Home *h, const char *volume, const char *node, uint64_t min, bool *ret_created) {
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        uint64_t size, free_bytes, esb;
        int r;

        *ret_created = false;
        crypt_log_setup();
        r = open_pool(h, &p);
        if (r < 0)
                return r;
        r = pool_volume_info(p, volume, &info);
        if (r >= 0) {
                if (!info.active && (r = pool_volume_activate(p, volume)) < 0)
                        return r;
                /* Never format over a home: checked before anything is
                 * attached, so that no failure path wipes its header. */
                struct crypt_device *cd = NULL;
                bool luks = crypt_init(&cd, node) >= 0 && crypt_load(cd, CRYPT_LUKS, NULL) >= 0;
                if (cd)
                        crypt_free(cd);
                if (luks)
                        return log_error_errno(EEXIST, "home %s: pool volume %s already holds a LUKS volume (another home, or "
                                               "one an interrupted create left: remove that home first)", h->name, volume);
                log_info("home %s: using the existing pool volume %s", h->name, volume);
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = pool_free_space(p, &free_bytes, &esb);
        if (r < 0)
                return r;
        size = h->rec->disk_size != UINT64_MAX ? h->rec->disk_size : free_bytes / 5;
        size = (size / esb + (size % esb != 0)) * esb;
        if (size < min + LUKS_HEADER_ROOM) {
                char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
                return log_error_errno(ERANGE, "home %s: %s is too small for %s: at least %s are needed", h->name,
                                       size_format(size, a), fstype(h), size_format(min + LUKS_HEADER_ROOM, b));
        }
        r = pool_volume_create_full(p, volume, size, POOL_VOLUME_LUKS);
        if (r < 0)
                return r;
        *ret_created = true;
        return 0;
}

/* Removes the pool volume (a failed create's, or a removed home's). */
static int pool_volume_discard(Home *h, const char *volume) {
        _cleanup_pool_ Pool *p = NULL;
        int r = open_pool(h, &p);
        if (r >= 0)
                r = pool_volume_remove(p, volume);
        return r;
}

/* The volume's size: its device's if active, else the metadata's. */
static int pool_volume_size(Home *h, const char *volume, const char *node, uint64_t *ret) {
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        int r;

        _cleanup_close_ int fd = open(node, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                if (ioctl(fd, BLKGETSIZE64, ret) < 0)
                        return log_error_errno(errno, "home %s: cannot get the size of %s: %m", h->name, node);
                return 0;
        }
        if (errno != ENOENT)
                return log_error_errno(errno, "home %s: %s: %m", h->name, node);
        r = open_pool(h, &p);
        if (r < 0)
                return r;
        r = pool_volume_info(p, volume, &info);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: pool volume %s does not exist", h->name, volume);
        if (r < 0)
                return r;
        *ret = info.size;
        return 0;
}

/* Grows or shrinks the pool volume to size bytes (whole extents). */
static int pool_volume_resize(Home *h, const char *volume, uint64_t size, bool grow) {
        _cleanup_pool_ Pool *p = NULL;
        int r = open_pool(h, &p);
        if (r < 0)
                return r;
        return grow ? pool_grow(p, volume, size, false) : pool_shrink(p, volume, size, false);
}

/* Leftovers of a killed create: its mount and its mapping. The image file
 * itself goes with the other hidden leftovers. */
static void clean_create_leftovers(Home *h) {
        _cleanup_free_ char *mnt = NULL;
        char name[HOME_DM_NAME_MAX];

        if (mount_dir(h, "create", &mnt) >= 0)
                (void) umount2(mnt, MNT_DETACH);
        if (find_mapping(h, name, true) > 0) {
                _cleanup_free_ char *image = NULL;
                bool is_block;
                struct stat st;
                /* Active without a finished image: only a killed create does that. */
                if (image_path(h, &image, &is_block) >= 0 && !is_block && stat(image, &st) < 0)
                        (void) crypt_deactivate_by_name(NULL, name, CRYPT_DEACTIVATE_FORCE);
        }
        (void) home_clean_leftovers(h);
}

/* Another home whose record names the same device (the identity store
 * hearthd keeps): its volume is not this create's to format, wipe or not. */
static int device_named_by_other_home(Home *h, const char *dev) {
        _cleanup_identity_store_ IdentityStore *store = NULL;
        char **names = NULL;
        struct stat mine, other;
        int r, found = 0;

        /* A pool volume's node may not be there yet: then by name only. */
        bool blk = stat(dev, &mine) == 0 && S_ISBLK(mine.st_mode);
        r = identity_store_open(NULL, &store);
        if (r >= 0)
                r = identity_store_list(store, &names);
        if (r < 0)
                return 0; /* no store (hearthd keeps none here): nothing to compare with */
        for (char **n = names; *n && !found; n++) {
                _cleanup_user_record_ UserRecord *rec = NULL;
                if (strcmp(*n, h->name) == 0 || identity_store_load(store, *n, &rec) < 0 || !rec->image_path)
                        continue;
                if (strcmp(rec->image_path, dev) == 0 ||
                    (blk && stat(rec->image_path, &other) == 0 && S_ISBLK(other.st_mode) && other.st_rdev == mine.st_rdev)) {
                        found = log_error_errno(EEXIST, "home %s: %s is the volume of home %s; refusing to format it",
                                                h->name, dev, *n);
                }
        }
        for (char **n = names; *n; n++)
                free(*n);
        free(names);
        return found;
}

/* A block device a new home may be made on: nobody uses it (mounted, held
 * by a mapping such as another home's, opened exclusively), and nothing is
 * on it — file system, partition table, LUKS header, RAID or LVM member —
 * unless the caller asked to wipe it (hearth-work create --wipe); then the
 * signatures found are erased first, as wipefs does. */
static int device_check_blank(Home *h, const char *dev) {
        _cleanup_close_ int fd = open(dev, (h->wipe ? O_RDWR : O_RDONLY) | O_EXCL | O_CLOEXEC);
        if (fd < 0 && errno == EBUSY)
                return log_error_errno(EBUSY, "home %s: %s is in use (mounted, held by a mapping such as another "
                                       "home's, or open); refusing to touch it", h->name, dev);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, dev);
        blkid_probe pr = blkid_new_probe();
        if (!pr || blkid_probe_set_device(pr, fd, 0, 0) < 0) {
                if (pr)
                        blkid_free_probe(pr);
                return log_error_errno(ENOMEM, "home %s: cannot probe %s", h->name, dev);
        }
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM);
        blkid_probe_enable_partitions(pr, 1);
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
        int r = 0, n = 0;
        char what[64] = "";
        while (blkid_do_probe(pr) == 0) {
                const char *t = NULL;
                if (!what[0] && (blkid_probe_lookup_value(pr, "TYPE", &t, NULL) == 0 ||
                                 blkid_probe_lookup_value(pr, "PTTYPE", &t, NULL) == 0) && t)
                        snprintf(what, sizeof what, "%s", t);
                n++;
                if (!h->wipe)
                        break;
                if (blkid_do_wipe(pr, 0) < 0) {
                        r = log_error_errno(EIO, "home %s: cannot wipe the %s signature on %s", h->name,
                                            t ?: "found", dev);
                        break;
                }
        }
        blkid_free_probe(pr);
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

static int luks_create(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        _cleanup_free_ char *image = NULL, *temp = NULL, *temp_path = NULL, *mnt = NULL;
        _cleanup_close_ int fd = -1, top = -1;
        char name[HOME_DM_NAME_MAX], mapped[80], volume[POOL_NAME_MAX + 1];
        uint64_t size = 0, min = 0;
        bool is_block = false, mounted = false, on_pool, pool_created = false, formatted = false;
        struct stat st;
        int r;

        LuksTpm2Wish tpm2;
        if (!h->rec->password || !h->rec->password[0])
                return log_error_errno(EINVAL, "home %s: secret.password: required for an encrypted home", h->name);
        r = luks_tpm2_wish(h, &tpm2);
        if (r < 0)
                return r;
        if (fs_min_size(fstype(h), &min) < 0)
                return log_error_errno(EOPNOTSUPP, "home %s: fileSystemType %s is not supported", h->name, fstype(h));
        r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        clean_create_leftovers(h);
        r = find_mapping(h, name, false);
        if (r < 0)
                return r;
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: /dev/mapper/%s is already active", h->name, name);
        r = require_name_free(h, name);
        if (r < 0)
                return r;
        if (!is_block && stat(image, &st) == 0)
                return log_error_errno(EEXIST, "home %s: %s already exists", h->name, image);
        if (is_block && (r = device_named_by_other_home(h, image)) < 0)
                return r;
        r = home_pool_volume(h, volume);
        if (r < 0)
                return r;
        on_pool = r > 0;
        if (on_pool) {
                r = pool_volume_prepare(h, volume, image, min, &pool_created);
                if (r < 0)
                        return r;
        }

        if (is_block && (r = device_check_blank(h, image)) < 0)
                goto fail;
        r = default_size(h, image, is_block, &size);
        if (r < 0)
                goto fail;
        if (size < min + LUKS_HEADER_ROOM) {
                char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
                r = log_error_errno(ERANGE, "home %s: %s is too small for %s: at least %s are needed", h->name,
                                    size_format(size, a), fstype(h), size_format(min + LUKS_HEADER_ROOM, b));
                goto fail;
        }
        if (!is_block && (r = image_fits(h, size, 0)) < 0)
                goto fail;

        /* Build under a hidden name; rename into place only when complete. */
        if (!is_block) {
                r = home_temp_name(h, "create", &temp);
                if (r < 0)
                        return r;
                fd = openat(h->root_fd, temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return log_error_errno(errno, "home %s: cannot create image: %m", h->name);
                r = image_allocate(h, temp, fd, size);
                if (r < 0)
                        goto fail;
                if (asprintf(&temp_path, "%s/%s", h->root, temp) < 0) {
                        r = log_oom();
                        goto fail;
                }
        }
        r = volume_attach(h, is_block ? image : temp_path, is_block, &v);
        if (r < 0)
                goto fail;
        r = set_pbkdf(h, &v);
        if (r < 0)
                goto fail;

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
        r = crypt_format(v.cd, CRYPT_LUKS2, h->rec->luks_cipher ?: "aes", h->rec->luks_cipher_mode ?: "xts-plain64",
                         NULL, o.vk->data, key_size, &params);
        if (r == -EINVAL) {
                params.sector_size = 512; /* the device cannot do 4096 */
                r = crypt_format(v.cd, CRYPT_LUKS2, h->rec->luks_cipher ?: "aes",
                                 h->rec->luks_cipher_mode ?: "xts-plain64", NULL, o.vk->data, key_size, &params);
        }
        if (r < 0) {
                r = log_error_errno(r, "home %s: cannot format LUKS2: %m", h->name);
                goto fail;
        }
        formatted = true;
        /* Sealed in the TPM, the disk alone must not open with the
         * password: no password keyslot unless asked for. */
        for (const char *const *pw = h->rec->password; (!tpm2.enabled || tpm2.keep_password) && *pw; pw++) {
                r = crypt_keyslot_add_by_volume_key(v.cd, CRYPT_ANY_SLOT, NULL, 0, *pw, strlen(*pw));
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot add a keyslot: %m", h->name);
                        goto fail;
                }
        }
        if (tpm2.enabled && (r = luks_tpm2_enroll(h, v.cd, &tpm2, h->rec->password[0])) < 0)
                goto fail;
        r = luks_recovery_enroll(h, v.cd);
        if (r < 0)
                goto fail;

        json_object_object_add(h->rec->json, "imagePath", json_object_new_string(image));
        /* homed's field: which LUKS volume is this home's (remove checks it). */
        if (crypt_get_uuid(v.cd))
                json_object_object_add(h->rec->json, "luksUuid", json_object_new_string(crypt_get_uuid(v.cd)));
        if (!h->rec->file_system_type)
                json_object_object_add(h->rec->json, "fileSystemType", json_object_new_string(fstype(h)));
        json_object_object_add(h->rec->json, "diskSize", json_object_new_int64((int64_t) size));
        r = user_record_refresh(h->rec, NULL);
        if (r >= 0)
                r = sign_record(h);
        if (r >= 0)
                r = token_write(h, &v, &o);
        if (r < 0)
                goto fail;

        r = crypt_activate_by_volume_key(v.cd, name, NULL, 0, h->rec->luks_discard > 0 ? CRYPT_ACTIVATE_ALLOW_DISCARDS : 0);
        if (r < 0) {
                r = log_error_errno(r, "home %s: cannot activate the new volume: %m", h->name);
                goto fail;
        }
        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", name);
        r = fs_make(fstype(h), mapped, h->name);
        if (r >= 0)
                r = mount_dir(h, "create", &mnt);
        if (r >= 0)
                r = fs_mount(fstype(h), mapped, mnt, NULL);
        if (r < 0)
                goto fail;
        mounted = true;

        top = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0) {
                r = log_error_errno(errno, "home %s: cannot open new filesystem: %m", h->name);
                goto fail;
        }
        r = home_seed(h, top);
        if (r >= 0)
                r = home_chown_top(h, top);
        if (r >= 0)
                r = identity_file_write(h, top);
        if (r >= 0 && syncfs(top) < 0)
                r = log_error_errno(errno, "home %s: cannot sync: %m", h->name);
        if (r < 0)
                goto fail;
        close(top);
        top = -1;
        if (umount(mnt) < 0) {
                r = log_error_errno(errno, "home %s: cannot unmount %s: %m", h->name, mnt);
                goto fail;
        }
        mounted = false;
        r = crypt_deactivate(v.cd, name);
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
        }
        (void) rmdir(mnt);
        free(h->state);
        h->state = strdup("inactive");
        return 0;

fail:
        if (mounted)
                (void) umount2(mnt, MNT_DETACH);
        if (mnt)
                (void) rmdir(mnt);
        if (v.cd && crypt_status(v.cd, name) >= CRYPT_ACTIVE)
                (void) crypt_deactivate_by_name(v.cd, name, CRYPT_DEACTIVATE_FORCE);
        if (temp)
                (void) unlinkat(h->root_fd, temp, 0);
        else if (is_block && formatted) /* leave no half-made header on a device: only ours */
                (void) crypt_wipe(v.cd, NULL, CRYPT_WIPE_ZERO, 0, UINT64_C(16) << 20, 1 << 20, 0, NULL, NULL);
        if (pool_created) {
                volume_close(&v); /* nothing of ours may hold the device */
                if (pool_volume_discard(h, volume) < 0)
                        log_warning("home %s: the pool volume %s made for it is left; hearth-pool remove %s removes it",
                                    h->name, volume, volume);
        }
        return r;
}

/* ---- activate, deactivate, lock, unlock ------------------------------------- */

static int set_state(Home *h, const char *state) {
        free(h->state);
        h->state = strdup(state);
        return h->state ? 0 : log_oom();
}

/* After a keyslot accepted a password (never a recovery key), make
 * privileged.hashedPassword agree:
 * the keyslots are the authority (a passwd interrupted after changing them
 * leaves the record behind). */
static int sync_hashes(Home *h, const char *password) {
        int r = password_verify(password, h->rec->hashed_password);
        if (r != 0)
                return r < 0 ? log_error_errno(r, "home %s: cannot verify password: %m", h->name) : 0;
        if (h->rec->hashed_password && h->rec->hashed_password[0])
                log_notice("home %s: the record's password hash did not match the keyslots; updated it", h->name);
        const char *const one[] = { password, NULL };
        return home_set_password_hashes(h, one);
}

/* A mapping that is active while the home is not mounted is what a worker
 * killed during create or an offline resize leaves: unmount its scratch
 * mounts and close it, so the home can be activated again. */
static int clean_stale_mapping(Home *h) {
        char name[HOME_DM_NAME_MAX];
        struct statx stx;
        int r;

        r = find_mapping(h, name, false);
        if (r <= 0)
                return r;
        /* Mounted on the home directory: really active. */
        if (statx(AT_FDCWD, h->path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
            (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return 0;
        for (const char *what = "create"; what; what = strcmp(what, "create") == 0 ? "resize" : NULL) {
                _cleanup_free_ char *mnt = NULL;
                if (mount_dir(h, what, &mnt) >= 0) {
                        (void) umount2(mnt, MNT_DETACH);
                        (void) rmdir(mnt);
                }
        }
        log_info("home %s: closing /dev/mapper/%s left by an interrupted operation", h->name, name);
        r = crypt_deactivate_by_name(NULL, name, CRYPT_DEACTIVATE_FORCE);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot close stale /dev/mapper/%s: %m", h->name, name);
        return 0;
}

static int luks_activate(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        _cleanup_close_ int top = -1;
        _cleanup_user_record_ UserRecord *from_token = NULL, *from_file = NULL;
        char name[HOME_DM_NAME_MAX], mapped[80];
        bool mounted = false, token_stale, file_stale;
        int r, legacy;

        r = clean_stale_mapping(h);
        if (r < 0)
                return r;
        r = find_mapping(h, name, false);
        if (r < 0)
                return r;
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: already active", h->name);
        r = require_name_free(h, name);
        if (r < 0)
                return r;
        r = volume_open(h, &v);
        if (r < 0)
                return r;
        /* The key first: the header's record is encrypted with it. It is
         * checked (signature, name) before the volume is mapped. */
        r = volume_key_get(h, &v, &o);
        if (r < 0)
                return r;
        legacy = token_read(h, &v, &o, &from_token);
        if (legacy < 0 && legacy != -ENOENT)
                return legacy;
        if (from_token && (r = reconcile(h, from_token, "the LUKS2 token")) < 0)
                return r;
        r = use_volume_key(h, &v, name, h->rec->luks_discard > 0 ? CRYPT_ACTIVATE_ALLOW_DISCARDS : 0, &o);
        if (r < 0)
                return r;
        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", name);
        r = fs_check(fstype(h), mapped);
        if (r < 0)
                goto fail;
        if (mkdirat(h->root_fd, h->name, 0700) < 0 && errno != EEXIST) {
                r = log_error_errno(errno, "home %s: cannot create mount point %s: %m", h->name, h->path);
                goto fail;
        }
        r = fs_mount(fstype(h), mapped, h->path, h->rec->luks_extra_mount_options);
        if (r < 0)
                goto fail;
        mounted = true;
        top = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0) {
                r = log_error_errno(errno, "home %s: cannot open %s: %m", h->name, h->path);
                goto fail;
        }
        r = identity_file_read(h, top, &from_file);
        if (from_file && (r = reconcile(h, from_file, "~/" IDENTITY_FILE)) < 0)
                goto fail;
        /* A recovery key is no password: its hash must never become one. */
        if (!o.recovery_key && (r = sync_hashes(h, o.password)) < 0)
                goto fail;

        /* Bring the embedded copies up to date: an old clear-text token is
         * encrypted, a missing or unusable ~/.identity written again. */
        token_stale = legacy != 0 || from_token->last_change_usec < h->rec->last_change_usec;
        file_stale = !from_file || from_file->last_change_usec < h->rec->last_change_usec;
        if ((token_stale || file_stale) && sign_record(h) >= 0) {
                if (token_stale && token_write(h, &v, &o) < 0)
                        log_warning("home %s: the header's copy of the record stays as it was", h->name);
                if (file_stale && identity_file_write(h, top) < 0)
                        log_warning("home %s: ~/" IDENTITY_FILE " stays as it was", h->name);
        }
        return set_state(h, "active");

fail:
        if (mounted)
                (void) umount2(h->path, MNT_DETACH);
        (void) crypt_deactivate_by_name(v.cd, name, CRYPT_DEACTIVATE_FORCE);
        return r;
}

/* The mapping's name, if the home is active; with sync, what is written to
 * the home is flushed first (before unmounting or suspending it). */
static int require_active(Home *h, char *name, size_t size, bool sync) {
        if (size < HOME_DM_NAME_MAX)
                return -ENAMETOOLONG;
        int r = find_mapping(h, name, false);
        if (r < 0)
                return r;
        if (r == 0)
                return log_error_errno(ENOTCONN, "home %s: not active", h->name);
        if (sync) {
                /* A locked home's I/O is suspended: syncfs would wait,
                 * unkillable, until someone unlocks it. */
                struct crypt_active_device cad;
                struct crypt_device *cd = NULL;
                bool suspended = crypt_init_by_name(&cd, name) >= 0 && crypt_get_active_device(cd, name, &cad) >= 0 &&
                                 (cad.flags & CRYPT_ACTIVATE_SUSPENDED);
                crypt_free(cd);
                if (suspended)
                        return log_error_errno(EBUSY, "home %s: locked; unlock it first", h->name);
                _cleanup_close_ int fd = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        (void) syncfs(fd);
        }
        return 0;
}

static int luks_deactivate(Home *h) {
        char name[64];
        int r;

        r = require_active(h, name, sizeof name, true);
        if (r < 0)
                return r;
        if (umount2(h->path, UMOUNT_NOFOLLOW) < 0) {
                if (errno == EBUSY && !h->force)
                        return log_error_errno(EBUSY, "home %s: busy: files in %s are open (force to detach "
                                               "anyway)", h->name, h->path);
                if (errno == EBUSY)
                        (void) umount2(h->path, MNT_DETACH | UMOUNT_NOFOLLOW);
                else if (errno != EINVAL) /* EINVAL: not mounted */
                        return log_error_errno(errno, "home %s: cannot unmount %s: %m", h->name, h->path);
        }
        r = crypt_deactivate_by_name(NULL, name, h->force ? CRYPT_DEACTIVATE_DEFERRED : 0);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot close /dev/mapper/%s: %m", h->name, name);
        return set_state(h, "inactive");
}

/* Whether the mapping is suspended (locked): 1, 0, or an error. */
static int is_suspended(Home *h, struct crypt_device *cd, const char *name) {
        struct crypt_active_device cad;
        int r = crypt_get_active_device(cd, name, &cad);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot query /dev/mapper/%s: %m", h->name, name);
        return (cad.flags & CRYPT_ACTIVATE_SUSPENDED) != 0;
}

/* What was read from a home stays in the page cache after its key is
 * gone, and the owner and root would go on reading it. There is no way to
 * drop one filesystem's pages, so all clean pages, dentries and inodes go
 * ("3"); the home's, its device suspended, cannot come back until it is
 * unlocked. Pages dirtied after the lock and files mapped into memory
 * stay, as they must. */
static void drop_caches(Home *h) {
        _cleanup_close_ int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || write(fd, "3\n", 2) != 2)
                log_warning_errno(errno, "home %s: cannot drop the page cache (%m): what was read from it before "
                                         "the lock stays readable until the kernel evicts it", h->name);
}

static int luks_lock(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        char name[64];
        int r;

        r = require_active(h, name, sizeof name, false);
        if (r < 0)
                return r;
        r = crypt_init_by_name(&v.cd, name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot open /dev/mapper/%s: %m", h->name, name);
        /* Before syncing: a suspended device would never finish a sync. */
        r = is_suspended(h, v.cd, name);
        if (r < 0)
                return r;
        if (r > 0)
                return log_error_errno(EALREADY, "home %s: already locked", h->name);
        (void) require_active(h, name, sizeof name, true);
        /* Suspends I/O and wipes the volume key from the kernel. */
        r = crypt_suspend(v.cd, name);
        if (r == -EBUSY)
                return log_error_errno(EALREADY, "home %s: already locked", h->name);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot lock: %m", h->name);
        drop_caches(h);
        return set_state(h, "locked");
}

/* After lock (as at suspend): the same secrets as activate, through the
 * same volume_key_get() — TPM and PIN, a recovery key in any spelling, a
 * password keyslot — with the same messages and tries left. */
static int luks_unlock(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        char name[64];
        int r;

        r = require_active(h, name, sizeof name, false);
        if (r < 0)
                return r;
        r = volume_open_active(h, name, &v);
        if (r < 0)
                return r;
        /* Checked first, so that an unlocked home costs no TPM try. */
        r = is_suspended(h, v.cd, name);
        if (r < 0)
                return r;
        if (r == 0)
                return log_error_errno(ENOTCONN, "home %s: not locked", h->name);
        r = volume_key_get(h, &v, &o);
        if (r < 0)
                return r;
        r = crypt_resume_by_volume_key(v.cd, name, o.vk->data, o.vk_size);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot unlock: %m", h->name);
        return set_state(h, "active");
}

/* ---- passwd ------------------------------------------------------------------ */

/* New keyslots first, old ones last: killed at any point, the home opens
 * with the old password or the new one. */
static int luks_passwd(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        const char *old;
        int r, old_slot;

        r = volume_open(h, &v);
        if (r < 0)
                return r;
        old_slot = volume_key_get(h, &v, &o);
        if (old_slot < 0)
                return old_slot;
        old = o.password;
        const char *const *np = user_record_secret(h->rec, "newPassword");
        if (!np || !np[0])
                return log_error_errno(EINVAL, "home %s: secret.newPassword: required", h->name);

        /* The TPM's PIN first: a crash after it leaves the TPM opening with
         * the new password and any password keyslot with the old. */
        Tpm2Sealed sealed;
        int tpm_slot;
        bool tpm = luks_tpm2_find(h, v.cd, &sealed, &tpm_slot) >= 0;
        if (tpm) {
                r = luks_tpm2_reseal(h, v.cd, old, np[0]);
                if (r < 0)
                        return r;
        }
        /* Keyslots of tokens (TPM2, recovery keys) are not passwords'. */
        bool token_slot[32];
        luks_token_keyslots(v.cd, token_slot);
        bool any_password_slot = false;
        for (int slot = 0; slot < crypt_keyslot_max(CRYPT_LUKS2) && slot < 32; slot++) {
                crypt_keyslot_info ki = crypt_keyslot_status(v.cd, slot);
                any_password_slot = any_password_slot ||
                                    ((ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST) && !token_slot[slot]);
        }
        if (!any_password_slot)
                goto signed_record;

        int added[64], n_added = 0;
        for (size_t i = 0; np[i] && i < 64; i++) {
                const char *pw = np[i];
                r = crypt_keyslot_add_by_passphrase(v.cd, CRYPT_ANY_SLOT, old, strlen(old), pw, strlen(pw));
                if (r < 0) {
                        log_error_errno(r, "home %s: cannot add a keyslot for the new password: %m", h->name);
                        for (int k = 0; k < n_added; k++)
                                (void) crypt_keyslot_destroy(v.cd, added[k]);
                        return r;
                }
                added[n_added++] = r;
        }
        /* Every other active keyslot belonged to an old password. */
        for (int slot = 0; slot < crypt_keyslot_max(CRYPT_LUKS2); slot++) {
                bool keep = false;
                crypt_keyslot_info ki = crypt_keyslot_status(v.cd, slot);
                if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
                        continue;
                for (int k = 0; k < n_added; k++)
                        keep = keep || added[k] == slot;
                if (keep || (slot < 32 && token_slot[slot]))
                        continue;
                r = crypt_keyslot_destroy(v.cd, slot);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot remove old keyslot %d: %m", h->name, slot);
        }
signed_record:
        /* The hashes were set by the worker already; re-sign and re-embed. */
        r = sign_record(h);
        if (r >= 0)
                r = token_write(h, &v, &o);
        return r;
}

/* ---- resize -------------------------------------------------------------------- */

static int luks_resize(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_free_ char *mnt = NULL;
        char name[64], mapped[80], a[SIZE_FORMAT_MAX];
        uint64_t want = h->rec->disk_size, current, min, header, pool_free = 0, esb = 0, allocated = 0;
        bool was_active, opened_here = false, mounted_here = false, on_pool;
        _cleanup_opened_ Opened o = { .slot = -1 };
        struct stat st;
        int r;

        if (want == UINT64_MAX && h->size_request == HEARTH_SIZE_RECORD)
                return log_error_errno(EINVAL, "home %s: diskSize: required for resize", h->name);
        r = clean_stale_mapping(h);
        if (r < 0)
                return r;
        r = find_mapping(h, name, false);
        if (r < 0)
                return r;
        was_active = r > 0;
        if (!was_active && (r = require_name_free(h, name)) < 0)
                return r;
        r = was_active ? volume_open_active(h, name, &v) : volume_open(h, &v);
        if (r < 0)
                return r;
        on_pool = v.pool_volume[0] != 0;
        if (v.is_block && !on_pool)
                return log_error_errno(EOPNOTSUPP, "home %s: %s is a block device; its size is not ours to change",
                                       h->name, v.image);
        if (on_pool) {
                _cleanup_pool_ Pool *p = NULL;
                PoolVolumeInfo info;
                r = open_pool(h, &p);
                if (r >= 0)
                        r = pool_volume_info(p, v.pool_volume, &info);
                if (r == -ENOENT)
                        return log_error_errno(ENOENT, "home %s: pool volume %s does not exist", h->name, v.pool_volume);
                if (r < 0)
                        return r;
                current = info.size;
                pool_free = info.free;
                esb = info.extent_size;
        } else {
                if (stat(v.image, &st) < 0)
                        return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, v.image);
                current = (uint64_t) st.st_size;
                /* What the image holds on disk: sparse (discard, or made
                 * before images were allocated) counts only what is there. */
                allocated = h->rec->luks_discard > 0 ? current : (uint64_t) st.st_blocks * 512;
                if (allocated > current)
                        allocated = current;
        }
        header = crypt_get_data_offset(v.cd) * 512;
        (void) fs_min_size(fstype(h), &min);
        if (h->size_request == HEARTH_SIZE_MAX && on_pool)
                want = current + pool_free; /* free extents serve nothing else */
        else if (h->size_request == HEARTH_SIZE_MAX) {
                /* All that is free below the image, but the system's floor. */
                uint64_t room;
                r = image_room(h, &room);
                if (r < 0)
                        return r;
                want = (allocated + room) / (1 << 20) * (1 << 20);
                if (want < current)
                        want = current;
        } else if (h->size_request == HEARTH_SIZE_MIN)
                want = current; /* decided once the filesystem is open, below */
        if (want < header + min)
                return log_error_errno(ERANGE, "home %s: %s is smaller than %s can be", h->name, size_format(want, a),
                                       fstype(h));
        /* A pool volume has whole extents; never less than asked for. */
        want = on_pool ? (want / esb + (want % esb != 0)) * esb : want / 4096 * 4096;
        if (!on_pool && want > current && (r = image_fits(h, want, allocated)) < 0)
                return r;
        snprintf(mapped, sizeof mapped, "/dev/mapper/%s", name);

        if (!was_active) {
                /* Offline: open the volume for the filesystem tools. */
                r = unlock(h, &v, name, 0, &o);
                if (r < 0)
                        return r;
                opened_here = true;
        } else {
                /* The active mapping's key is in the kernel keyring, out of
                 * reach of this context: a password brings it here. */
                r = unlock(h, &v, NULL, CRYPT_ACTIVATE_KEYRING_KEY, &o);
                if (r < 0)
                        return r;
        }
        const char *where = was_active ? h->path : NULL;
        bool shrinking = want < current || h->size_request == HEARTH_SIZE_MIN;
        bool online = strcmp(fstype(h), "ext4") != 0 || !shrinking; /* ext4 shrinks offline */
        if (!was_active && online) {
                r = mount_dir(h, "resize", &mnt);
                if (r >= 0)
                        r = fs_mount(fstype(h), mapped, mnt, NULL);
                if (r < 0)
                        goto out;
                mounted_here = true;
                where = mnt;
        }
        if (was_active && !online) {
                r = log_error_errno(EBUSY, "home %s: ext4 shrinks offline only; deactivate the home first", h->name);
                goto out;
        }
        if (h->size_request == HEARTH_SIZE_MIN) {
                uint64_t fs_min = 0;
                r = fs_min_estimate(fstype(h), mapped, where, &fs_min);
                if (r == -EOPNOTSUPP)
                        fs_min = current - header; /* cannot shrink: stays as it is */
                else if (r < 0)
                        goto out;
                /* Some room on top of the estimate, so the home stays usable. */
                uint64_t slack = fs_min / 20 > (UINT64_C(32) << 20) ? fs_min / 20 : UINT64_C(32) << 20;
                want = (header + fs_min + slack + (1 << 20) - 1) / (1 << 20) * (1 << 20);
                if (want < header + min)
                        want = header + min;
                if (on_pool)
                        want = (want / esb + (want % esb != 0)) * esb;
                if (want > current)
                        want = current;
        }

        /* On a pool volume the same size again finishes a grow killed
         * midway (the volume's table, the mapping or the filesystem left
         * behind): each step is a no-op where it is already done. */
        bool finish = on_pool && want == current;

        if (want > current || finish) {
                /* Grow: the container first, then what is inside it. */
                if (on_pool)
                        r = pool_volume_resize(h, v.pool_volume, want, true);
                else if ((r = image_allocate(h, v.image, -1, want)) >= 0)
                        r = loop_refresh_size(v.loop_fd);
                else
                        (void) truncate(v.image, (off_t) current); /* what a failed allocation took */
                if (r < 0)
                        goto out;
                r = crypt_resize(v.cd, name, 0);
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot grow the LUKS mapping: %m", h->name);
                        goto out;
                }
                r = fs_grow(fstype(h), mapped, where);
        } else if (want < current) {
                /* Shrink: what is inside first, the container last. */
                r = fs_shrink(fstype(h), mapped, where, want - header);
                if (r < 0)
                        goto out;
                r = crypt_resize(v.cd, name, (want - header) / 512);
                if (r < 0) {
                        r = log_error_errno(r, "home %s: cannot shrink the LUKS mapping: %m", h->name);
                        goto out;
                }
                if (on_pool)
                        r = pool_volume_resize(h, v.pool_volume, want, false);
                else if (truncate(v.image, (off_t) want) < 0)
                        r = log_error_errno(errno, "home %s: cannot shrink %s: %m", h->name, v.image);
                else
                        r = loop_refresh_size(v.loop_fd);
        }
        if (r >= 0) {
                json_object_object_add(h->rec->json, "diskSize", json_object_new_int64((int64_t) want));
                r = user_record_refresh(h->rec, NULL);
        }
        if (r >= 0)
                r = sign_record(h);
        if (r >= 0)
                r = token_write(h, &v, &o);
        if (r >= 0)
                log_info("home %s: now %s", h->name, size_format(want, a));
out:
        if (mounted_here)
                (void) umount(mnt);
        if (mnt)
                (void) rmdir(mnt);
        if (opened_here)
                (void) crypt_deactivate(v.cd, name);
        return r;
}

/* Checks a password against the keyslots without activating anything. */
static int luks_authenticate(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        int r = volume_open(h, &v);
        if (r < 0)
                return r;
        r = volume_key_get(h, &v, &o);
        return r < 0 ? r : 0;
}

/* ---- inspect, update, remove ------------------------------------------------------ */

static int luks_exists(Home *h) {
        _cleanup_free_ char *image = NULL;
        char volume[POOL_NAME_MAX + 1];
        bool is_block;
        struct stat st;
        int r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        if (stat(image, &st) == 0)
                return 1;
        if (errno != ENOENT)
                return -errno;
        r = home_pool_volume(h, volume);
        if (r <= 0)
                return r;
        /* An inactive pool volume exists all the same. */
        _cleanup_pool_ Pool *p = NULL;
        PoolVolumeInfo info;
        r = open_pool(h, &p);
        if (r < 0)
                return r;
        r = pool_volume_info(p, volume, &info);
        return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

static int luks_inspect(Home *h) {
        _cleanup_free_ char *image = NULL;
        json_object *status;
        bool is_block;
        struct stat st;
        int r;

        char volume[POOL_NAME_MAX + 1];
        uint64_t pool_size = 0;

        r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = home_pool_volume(h, volume);
        if (r < 0)
                return r;
        if (r > 0) {
                r = pool_volume_size(h, volume, image, &pool_size);
                if (r < 0)
                        return r;
        } else if (stat(image, &st) < 0)
                return log_error_errno(errno, "home %s: image %s: %m", h->name, image);
        if (!h->state) {
                r = set_state(h, is_active(h) ? "active" : "inactive");
                if (r < 0)
                        return r;
        }
        status = json_object_new_object();
        if (!status)
                return log_oom();
        if (pool_size > 0) /* the pool volume is the home's, as an image is */
                json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) pool_size));
        else if (!is_block)
                json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) st.st_size));
        if (strcmp(h->state, "active") == 0) {
                struct statvfs sv;
                if (statvfs(h->path, &sv) == 0) {
                        json_object_object_add(status, "diskFree",
                                               json_object_new_int64((int64_t) ((uint64_t) sv.f_bavail * sv.f_frsize)));
                        json_object_object_add(status, "diskUsage",
                                               json_object_new_int64((int64_t) ((uint64_t) (sv.f_blocks - sv.f_bfree) *
                                                                                sv.f_frsize)));
                }
        }
        return home_update_sections(h, status);
}

static int luks_update(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_opened_ Opened o = { .slot = -1 };
        int r = volume_open(h, &v);
        if (r < 0)
                return r;
        /* The header's copy is encrypted with the volume key: without a
         * password it waits for the next activation, which rewrites a copy
         * older than the record. */
        bool with_key = h->rec->password && h->rec->password[0];
        if (with_key && (r = volume_key_get(h, &v, &o)) < 0)
                return r;
        r = sign_record(h);
        if (r >= 0 && with_key)
                r = token_write(h, &v, &o);
        else if (r >= 0)
                log_info("home %s: no password given: the header's copy of the record is updated at the next "
                         "activation", h->name);
        if (r >= 0 && is_active(h)) {
                _cleanup_close_ int top = open(h->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                r = top < 0 ? log_error_errno(errno, "home %s: %s: %m", h->name, h->path) : identity_file_write(h, top);
        }
        return r;
}

/* Whether the opened volume is this home's: a LUKS2 header labelled with
 * the user's name in Hearth's subsystem, with the UUID the record keeps
 * (luksUuid; homes made before it was recorded have none), carrying a
 * Hearth identity token. Remove wipes nothing else. */
static int volume_is_ours(Home *h, Volume *v) {
        const char *label = crypt_get_label(v->cd), *subsystem = crypt_get_subsystem(v->cd);
        const char *uuid = crypt_get_uuid(v->cd), *want_uuid = NULL;
        json_object *j;
        char why[160] = "";

        if (json_object_object_get_ex(h->rec->json, "luksUuid", &j) && json_object_is_type(j, json_type_string))
                want_uuid = json_object_get_string(j);
        if (!label || strcmp(label, h->name) != 0)
                snprintf(why, sizeof why, "its LUKS2 label is \"%.64s\"", label ?: "");
        else if (!subsystem || strcmp(subsystem, LUKS_SUBSYSTEM) != 0)
                snprintf(why, sizeof why, "its LUKS2 subsystem is \"%.64s\", not " LUKS_SUBSYSTEM, subsystem ?: "");
        else if (want_uuid && (!uuid || strcasecmp(uuid, want_uuid) != 0))
                snprintf(why, sizeof why, "its LUKS UUID is %.40s, the record's %.40s", uuid ?: "none", want_uuid);
        /* The token's record is encrypted with the volume key, which remove
         * does not have: its presence is what the header can show. */
        else if (token_find(v) < 0)
                snprintf(why, sizeof why, "it carries no Hearth identity token");
        if (!why[0])
                return 0;
        return log_error_errno(EMEDIUMTYPE, "home %s: %s is not %s's volume (%s); refusing to remove it",
                               h->name, v->image, h->name, why);
}

static int luks_remove(Home *h) {
        _cleanup_volume_ Volume v = { .loop_fd = -1 };
        _cleanup_free_ char *image = NULL;
        char volume[POOL_NAME_MAX + 1];
        bool on_pool, is_block;
        int r;

        if (is_active(h))
                return log_error_errno(EBUSY, "home %s: active; deactivate it before removing", h->name);
        r = home_pool_volume(h, volume);
        if (r < 0)
                return r;
        on_pool = r > 0;
        if (on_pool) {
                /* A remove killed after the volume went has nothing left to do. */
                r = luks_exists(h);
                if (r < 0)
                        return r;
                if (r == 0) {
                        log_info("home %s: pool volume %s is already gone", h->name, volume);
                        (void) unlinkat(h->root_fd, h->name, AT_REMOVEDIR);
                        return set_state(h, "absent");
                }
        }
        r = image_path(h, &image, &is_block);
        if (r < 0)
                return r;
        r = volume_attach(h, image, is_block, &v);
        if (r < 0)
                return r;
        /* Only this home's volume is wiped: a device or file without its
         * header may be anything (another home, someone's file system), and
         * a damaged home is for its owner to wipe by hand. */
        if (crypt_load(v.cd, CRYPT_LUKS2, NULL) < 0)
                return log_error_errno(EMEDIUMTYPE, "home %s: %s has no LUKS2 header, so it is not provably %s's "
                                       "volume (damaged, or something else); refusing to remove it — if it is %s's "
                                       "and beyond repair, wipe it by hand", h->name, image, h->name, h->name);
        r = volume_is_ours(h, &v);
        if (r < 0)
                return r;
        if (!is_block && !on_pool) {
                /* The file may have been swapped since it was checked. */
                r = loop_backed_by(v.dev, image);
                if (r <= 0)
                        return log_error_errno(r < 0 ? -r : EBUSY, "home %s: %s changed while being removed", h->name,
                                               image);
        }
        /* Header and keyslots go first: the data is unreadable from then on. */
        r = crypt_wipe(v.cd, NULL, CRYPT_WIPE_ZERO, 0, crypt_get_data_offset(v.cd) * 512, 1 << 20, 0, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot wipe the LUKS header: %m", h->name);
        if (!v.is_block && unlink(v.image) < 0)
                return log_error_errno(errno, "home %s: cannot delete %s: %m", h->name, v.image);
        if (on_pool) {
                volume_close(&v); /* nothing of ours may hold the device */
                r = pool_volume_discard(h, volume);
                if (r < 0)
                        return r;
        }
        (void) unlinkat(h->root_fd, h->name, AT_REMOVEDIR); /* the empty mount point */
        return set_state(h, "absent");
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
