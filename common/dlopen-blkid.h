/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <blkid/blkid.h>

#include "dlopen-util.h"

/* libblkid.so.1, opened when first needed (dlopen-util.h). */
int dlopen_blkid(void);

DLSYM_PROTOTYPE(blkid_do_probe);
DLSYM_PROTOTYPE(blkid_do_safeprobe);
DLSYM_PROTOTYPE(blkid_do_wipe);
DLSYM_PROTOTYPE(blkid_free_probe);
DLSYM_PROTOTYPE(blkid_new_probe);
DLSYM_PROTOTYPE(blkid_new_probe_from_filename);
DLSYM_PROTOTYPE(blkid_probe_enable_partitions);
DLSYM_PROTOTYPE(blkid_probe_enable_superblocks);
DLSYM_PROTOTYPE(blkid_probe_lookup_value);
DLSYM_PROTOTYPE(blkid_probe_set_device);
DLSYM_PROTOTYPE(blkid_probe_set_partitions_flags);
DLSYM_PROTOTYPE(blkid_probe_set_superblocks_flags);
