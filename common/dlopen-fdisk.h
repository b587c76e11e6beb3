/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libfdisk/libfdisk.h>

#include "dlopen-util.h"

/* libfdisk.so.1, opened when first needed (dlopen-util.h). */
int dlopen_fdisk(void);

DLSYM_PROTOTYPE(fdisk_assign_device);
DLSYM_PROTOTYPE(fdisk_deassign_device);
DLSYM_PROTOTYPE(fdisk_get_label);
DLSYM_PROTOTYPE(fdisk_get_partition);
DLSYM_PROTOTYPE(fdisk_get_sector_size);
DLSYM_PROTOTYPE(fdisk_is_labeltype);
DLSYM_PROTOTYPE(fdisk_label_parse_parttype);
DLSYM_PROTOTYPE(fdisk_new_context);
DLSYM_PROTOTYPE(fdisk_new_partition);
DLSYM_PROTOTYPE(fdisk_partition_get_size);
DLSYM_PROTOTYPE(fdisk_partition_get_start);
DLSYM_PROTOTYPE(fdisk_partition_set_size);
DLSYM_PROTOTYPE(fdisk_partition_set_start);
DLSYM_PROTOTYPE(fdisk_set_partition);
DLSYM_PROTOTYPE(fdisk_set_partition_type);
DLSYM_PROTOTYPE(fdisk_unref_context);
DLSYM_PROTOTYPE(fdisk_unref_partition);
DLSYM_PROTOTYPE(fdisk_unref_parttype);
DLSYM_PROTOTYPE(fdisk_write_disklabel);
