/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "backend.h"

static const StorageBackend *const backends[] = {
        &storage_directory,
        &storage_subvolume,
        &storage_luks,
        &storage_fscrypt,
};

const StorageBackend *storage_backend_find(UserStorage storage) {
        for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
                if (backends[i]->storage == storage)
                        return backends[i];
        return NULL;
}
