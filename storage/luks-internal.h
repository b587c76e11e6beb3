/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between the files of the LUKS backend (luks*.c), nothing else: the
 * backend is storage_luks (backend.h). One job per file:
 *
 *   luks.c           the volume (image, device or pool volume; the mapping's
 *                    name), attach, open, unlock; the backend table
 *   luks-record.c    the record in the LUKS2 token and ~/.identity
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

#include "home.h"
#include "pool.h"
#include "probe.h"
#include "secret.h"
#include "user-record.h"

#define LUKS_SUBSYSTEM "hearth" /* in every home's LUKS2 header, beside the user's name as label */
#define IDENTITY_FILE ".identity"
/* Room for the LUKS2 header on a pool volume, above the filesystem's least. */
#define LUKS_HEADER_ROOM (UINT64_C(16) << 20)

typedef struct Volume {
        char *image;   /* image file or block device */
        bool is_block;
        char pool_volume[POOL_NAME_MAX + 1]; /* the pool volume it is, or "" */
        char *dev;     /* what LUKS sits on: /dev/loopN or the block device */
        int loop_fd;
        struct crypt_device *cd;
} Volume;

/* What opened a volume: its key, and which offered secret did. */
typedef struct Opened {
        SecureBuffer *vk; /* the volume key: its first vk_size bytes */
        size_t vk_size;
        int slot;
        const char *password; /* the entry of secret.password that opened it */
        bool recovery_key;    /* that entry is a recovery key: never a password hash */
        SecureBuffer *tpm_secret; /* opened through the TPM: the secret it unsealed (passwd seals it anew) */
} Opened;

void luks_volume_close(Volume *v);
#define _cleanup_volume_ __attribute__((cleanup(luks_volume_close)))
void luks_opened_done(Opened *o);
#define _cleanup_opened_ __attribute__((cleanup(luks_opened_done)))

/* luks.c */
int luks_find_mapping(Home *h, char *name, bool creating);
const char *luks_fstype(Home *h);
int luks_image_path(Home *h, char **ret, bool *ret_block);
bool luks_is_active(Home *h);
int luks_require_name_free(Home *h, const char *name);
int luks_volume_unlock(Home *h, Volume *v, const char *name, uint32_t flags, Opened *o);
int luks_use_volume_key(Home *h, Volume *v, const char *name, uint32_t flags, const Opened *o);
int luks_volume_attach(Home *h, const char *image, bool is_block, Volume *v);
int luks_volume_key_get(Home *h, Volume *v, Opened *o);
int luks_volume_open(Home *h, Volume *v);
int luks_volume_open_active(Home *h, const char *name, Volume *v);

/* luks-record.c */
int luks_identity_file_read(Home *h, int dir_fd, UserRecord **ret);
int luks_identity_file_write(Home *h, int dir_fd);
int luks_reconcile(Home *h, UserRecord *embedded, const char *where);
int luks_sign_record(Home *h);
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
int luks_mount_dir(Home *h, const char *what, char **ret);

/* luks-activate.c */
int luks_clean_stale_mapping(Home *h);
int luks_activate(Home *h);
int luks_deactivate(Home *h);
int luks_lock(Home *h);
int luks_unlock(Home *h);
int luks_set_state(Home *h, const char *state);

/* luks-passwd.c */
int luks_authenticate(Home *h);
int luks_passwd(Home *h);

/* luks-resize.c */
int luks_resize(Home *h);

/* luks-remove.c */
int luks_exists(Home *h);
int luks_inspect(Home *h);
int luks_remove(Home *h);
int luks_update(Home *h);
