/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The device-mapper names of encrypted homes, shared by hearth-work (which
 * maps them) and hearthd (which looks at them to derive a home's state).
 *
 * A home is mapped as HOME_DM_PREFIX<user>, homed's own name: extent-pool
 * volumes are hearth-pool-<volume> (storage/pool/pool.h), so no user name can
 * name a pool device. Homes used to be mapped as hearth-<user>, which for a
 * user "pool-home" was /home's pool device; a home still mapped under that
 * old name (active across an upgrade) is found there too, but only when its
 * dm UUID says it is a LUKS2 mapping made under that name
 * (CRYPT-LUKS2-<luks uuid>-hearth-<user>, as libcryptsetup names them). */
#define HOME_DM_PREFIX "home-"
#define HOME_DM_LEGACY_PREFIX "hearth-"
/* The extent pool's volumes (storage/pool/). */
#define POOL_DM_PREFIX "hearth-pool-"

/* libcryptsetup's dm UUID prefix for LUKS2 mappings. */
#define HOME_DM_UUID_LUKS2 "CRYPT-LUKS2-"

/* dm names are at most 127 bytes; user names at most 31. */
#define HOME_DM_NAME_MAX 64

/* HOME_DM_PREFIX<user> or HOME_DM_LEGACY_PREFIX<user> into buf; -ENAMETOOLONG. */
int home_dm_name(const char *user, bool legacy, char buf[static HOME_DM_NAME_MAX]);

/* The dm UUID of /dev/mapper/<name> (from sysfs): 0, -ENOENT if there is no
 * such mapping, or another negative errno. */
int dm_uuid_of(const char *name, char *buf, size_t size);

/* Whether the dm UUID is libcryptsetup's for a LUKS2 mapping named name:
 * CRYPT-LUKS2-<32 hex digits>-<name>. */
bool dm_uuid_is_luks2_named(const char *uuid, const char *name);
