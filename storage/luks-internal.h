/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of the LUKS backend (luks*.c), nothing else: the
 * backend is storage_luks (backend.h). One job per file:
 *
 *   luks.c           the volume (image, device or pool volume; where in it
 *                    the LUKS volume lies; the mapping's name), attach,
 *                    open, unlock; the backend table
 *   luks-mount.c     the file system's private mount and the home's mount
 *                    of its <user> directory
 *   luks-record.c    the record in the LUKS2 token (~/.identity: home-identity.c),
 *                    fixation from it
 *   luks-pool.c      homes on a pool volume (pool.h, under the pool lock)
 *   luks-create.c    create
 *   luks-activate.c  activate, deactivate, lock, unlock
 *   luks-passwd.c    passwd, authenticate
 *   luks-resize.c    resize
 *   luks-remove.c    exists, inspect, update, remove */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcryptsetup.h>

#include "gpt.h"
#include "home.h"
#include "pool.h"
#include "probe.h"
#include "secret.h"
#include "user-record.h"

/* The layout is systemd-homed's (docs/HOME_DIRECTORY.md in systemd), so
 * that a home moves between homed and Hearth:
 *
 *   image file or whole disk: a GPT with one partition of type
 *     GPT_TYPE_USER_HOME named <user>, from 1 MiB to the end (4 KiB
 *     aligned); a pool volume, a partition or another device-mapper device
 *     holds the LUKS2 volume directly (homed opens both);
 *   LUKS2: label <user>, subsystem "systemd-home", 4 MiB of metadata, a
 *     systemd-homed token with the record encrypted (identity-token.h);
 *     systemd-tpm2 and systemd-recovery tokens beside it;
 *   the file system: label <user>, UUID the record's fileSystemUuid;
 *   the home: the directory <user> at its root, with ~/.identity.
 *
 * Hearth's earlier layout (LUKS2 on the whole image, subsystem "hearth",
 * token hearth-identity, the home at the file system's root) is not read. */
#define LUKS_SUBSYSTEM "systemd-home"
#define LUKS_SUBSYSTEM_OLD "hearth"
#define LUKS_METADATA_SIZE (UINT64_C(4) << 20)
#define IDENTITY_FILE HOME_IDENTITY_FILE
/* Room for the LUKS2 header on a pool volume, above the filesystem's least. */
#define LUKS_HEADER_ROOM (UINT64_C(16) << 20)
/* What the GPT costs an image: 1 MiB before the partition, the backup
 * table and the rounding to 4 KiB after it. */
#define LUKS_GPT_ROOM (UINT64_C(2) << 20)

typedef struct Volume {
        char *image;   /* image file or block device */
        bool is_block;
        char pool_volume[POOL_NAME_MAX + 1]; /* the pool volume it is, or "" */
        char *dev;     /* what LUKS sits on: /dev/loopN or the block device */
        int loop_fd;
        struct crypt_device *cd;
        /* Where in the image the LUKS volume lies: the GPT partition
         * (part, in a table of sector_size) or, without gpt, all of it. */
        bool gpt;
        uint32_t sector_size;
        GptPartition part;
        uint64_t image_bytes; /* the image's size when it was looked at */
} Volume;

/* What opened a volume: its key, and which offered secret did. */
typedef struct Opened {
        SecureBuffer *vk; /* the volume key: its first vk_size bytes */
        size_t vk_size;
        int slot;
        const char *password; /* the entry of secret.password that opened it */
        bool recovery_key;    /* that entry is a recovery key: never a password hash */
        SecureBuffer *tpm_secret; /* opened through the TPM: the secret it unsealed (passwd seals it anew) */
        bool by_token;        /* a PKCS#11 token's secret opened it (decrypted, or given): no password */
        size_t pkcs11_key;    /* ... decrypted: its entry in privileged.pkcs11EncryptedKey */
        bool pkcs11_decrypted;
} Opened;

void luks_volume_close(Volume *v);
#define _cleanup_volume_ __attribute__((cleanup(luks_volume_close)))
void luks_opened_done(Opened *o);
#define _cleanup_opened_ __attribute__((cleanup(luks_opened_done)))

/* luks.c */
int luks_locate(Home *h, const char *image, bool is_block, Volume *v, char *why, size_t why_size);
bool luks_block_is_partition_like(const char *image);
int luks_check_header(Home *h, Volume *v);
/* Whether uuid (a header's) is the record's luksUuid; true if the record
 * keeps none (a home found here, an older record). */
bool luks_uuid_is_records(Home *h, const char *uuid);
int luks_find_mapping(Home *h, char *name, bool creating);
const char *luks_fstype(Home *h);
int luks_image_path(Home *h, char **ret, bool *ret_block);
bool luks_is_active(Home *h);
int luks_require_name_free(Home *h, const char *name);
int luks_volume_unlock(Home *h, Volume *v, const char *name, uint32_t flags, Opened *o);
int luks_use_volume_key(Home *h, Volume *v, const char *name, uint32_t flags, const Opened *o);
/* Mappings made or resumed through cd keep their key in their table. */
void luks_key_in_table(struct crypt_device *cd);
uint32_t luks_activate_flags(Home *h);
int luks_volume_attach(Home *h, const char *image, bool is_block, Volume *v, char *why, size_t why_size);
int luks_volume_attach_new(Home *h, const char *image, bool is_block, const GptPartition *part, uint32_t sector_size,
                           Volume *v);
int luks_uuid_parse(const char *s, uint8_t ret[16]);
int luks_volume_key_get(Home *h, Volume *v, Opened *o);
int luks_password_pbkdf_set(Home *h, struct crypt_device *cd);
/* For a keyslot whose secret is random (sealed in the TPM, decrypted by a
 * token): PBKDF2 at libcryptsetup's least, 1000 iterations. */
int luks_strong_secret_pbkdf_set(Home *h, struct crypt_device *cd);
/* The record's hearthVolumeKeyCheck for this volume key and LUKS UUID:
 * 64 hex digits. -ENOMEM, -EIO. */
int luks_volume_key_check_value(const void *vk, size_t vk_size, const char *luks_uuid, char ret[static 65]);
int luks_volume_open(Home *h, Volume *v);
int luks_volume_open_active(Home *h, const char *name, Volume *v);

/* luks-mount.c */
int luks_mount_dir(Home *h, const char *what, char **ret);
int luks_mount_fs(Home *h, const char *fstype, const char *dev, const char *what, char **ret_mnt);
int luks_open_home_dir(Home *h, const char *mnt, int *ret_fd);
int luks_mount_home(Home *h, int home_fd);
int luks_fs_type(Home *h, const char *dev, char type[static 16]);

/* luks-record.c */
int luks_fixate(Home *h);
int luks_token_find(Volume *v);
int luks_token_read(Home *h, Volume *v, const Opened *o, UserRecord **ret);
int luks_token_write(Home *h, Volume *v, const Opened *o);

/* luks-pool.c */
int luks_home_pool_volume(Home *h, char volume[static POOL_NAME_MAX + 1]);
int luks_open_pool(Home *h, Pool **ret);
int luks_pool_volume_discard(Home *h, const char *volume);
int luks_pool_volume_prepare(Home *h, const char *volume, const char *node, uint64_t min, bool *ret_created);
int luks_pool_volume_resize(Home *h, Pool *p, const char *volume, uint64_t size, bool grow);
int luks_pool_volume_size(Home *h, const char *volume, const char *node, uint64_t *ret);
int luks_pool_volume_up(Home *h, const char *volume, const char *node);
int luks_refuse_pool_device(Home *h, const char *dev);

/* luks-create.c */
int luks_image_allocate(Home *h, const char *path, int fd, uint64_t size);
int luks_image_fits(Home *h, uint64_t size, uint64_t allocated);
int luks_image_room(Home *h, uint64_t *ret);
int luks_create(Home *h);

/* luks-activate.c */
int luks_clean_stale_mapping(Home *h);
int luks_activate(Home *h);
int luks_deactivate(Home *h);
int luks_lock(Home *h);
int luks_unlock(Home *h);
int luks_set_state(Home *h, const char *state);

/* luks-pkcs11.c: PKCS#11 tokens' keyslots. Each opens with the base64 of
 * the token's secret (as systemd-homed's and systemd-cryptenroll's do) and
 * is named by a LUKS2 token of type systemd-pkcs11 as systemd-cryptenroll
 * writes it ({"keyslots":["N"],"pkcs11-uri":…,"pkcs11-key":…}, and
 * "hearth-enrolled": true): what passwd keeps (any systemd-pkcs11 token's)
 * and removing the token from the record removes (only those marked so:
 * a keyslot enrolled by hand with systemd-cryptenroll stays). The record's
 * entry, not the header's token, is what is decrypted: the header is the
 * disk's. */
/* The entry of privileged.pkcs11EncryptedKey whose hash pw matches: its
 * index, -ENOENT if none (-ENOMEM). */
int luks_pkcs11_entry_of(Home *h, const char *pw);
/* Keyslots a systemd-pkcs11 token names. */
void luks_pkcs11_keyslots(struct crypt_device *cd, bool mask[32]);
/* Tries each token of the record present (h->pkcs11_decrypt) against the
 * keyslots. The keyslot, -EPERM if none opened; *worst the error that
 * says most of a token that did not (0 if none). */
int luks_pkcs11_open(Home *h, Volume *v, Opened *o, int *worst);
/* How many of the record's entries have no keyslot named yet. */
int luks_pkcs11_pending(Home *h, Volume *v);
typedef enum LuksPkcs11Sync {
        LUKS_PKCS11_MARK,   /* activation: name the keyslot a token opened, if unnamed */
        LUKS_PKCS11_ENROL,  /* create, update: every entry gets its keyslot, the others' go */
} LuksPkcs11Sync;
/* Brings the keyslots to the record's entries (o: the opened volume's key
 * and what opened it). With ENROL an entry's secret is a secret.password
 * entry its hash matches, else the token's (PIN); one that cannot be had
 * fails (-EKEYREJECTED, or the token's error); a token of ours no entry
 * has loses its keyslot, unless no other keyslot would be left (-EPERM). */
int luks_pkcs11_sync(Home *h, Volume *v, const Opened *o, LuksPkcs11Sync mode, bool fresh);

/* luks-passwd.c */
int luks_authenticate(Home *h);
int luks_passwd(Home *h);

/* luks-resize.c */
int luks_resize(Home *h);
typedef enum LuksResizeFlags {
        LUKS_RESIZE_RECORD = 0,
        LUKS_RESIZE_UNMOUNTED = 1 << 0,   /* active but unmounted (deactivation): mounted privately if need be */
        LUKS_RESIZE_KEEP_RECORD = 1 << 1, /* diskSize stays as it is (autoResizeMode's shrink) */
        LUKS_RESIZE_GROW_ONLY = 1 << 2,   /* never shrink (autoResizeMode's grow at activation) */
} LuksResizeFlags;
/* luks_resize() with the volume key at hand (known, from activation: no
 * second unlock), or NULL. An active mapping whose key is in its table
 * (activated by Hearth) resizes without any secret; the header's copy of
 * the record then waits for the next activation. */
int luks_resize_opened(Home *h, const Opened *known, LuksResizeFlags flags);

/* luks-remove.c */
int luks_exists(Home *h);
int luks_inspect(Home *h);
int luks_remove(Home *h);
int luks_update(Home *h);
