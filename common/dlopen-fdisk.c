/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-fdisk.h"

DLSYM_FUNCTION(fdisk_assign_device);
DLSYM_FUNCTION(fdisk_deassign_device);
DLSYM_FUNCTION(fdisk_get_label);
DLSYM_FUNCTION(fdisk_get_partition);
DLSYM_FUNCTION(fdisk_get_sector_size);
DLSYM_FUNCTION(fdisk_is_labeltype);
DLSYM_FUNCTION(fdisk_label_parse_parttype);
DLSYM_FUNCTION(fdisk_new_context);
DLSYM_FUNCTION(fdisk_new_partition);
DLSYM_FUNCTION(fdisk_partition_get_size);
DLSYM_FUNCTION(fdisk_partition_get_start);
DLSYM_FUNCTION(fdisk_partition_set_size);
DLSYM_FUNCTION(fdisk_partition_set_start);
DLSYM_FUNCTION(fdisk_set_partition);
DLSYM_FUNCTION(fdisk_set_partition_type);
DLSYM_FUNCTION(fdisk_unref_context);
DLSYM_FUNCTION(fdisk_unref_partition);
DLSYM_FUNCTION(fdisk_unref_parttype);
DLSYM_FUNCTION(fdisk_write_disklabel);

int dlopen_fdisk(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_ERR, "libfdisk.so.1", "partition tables of the pool",
                               DLSYM_ARG(fdisk_assign_device),
                               DLSYM_ARG(fdisk_deassign_device),
                               DLSYM_ARG(fdisk_get_label),
                               DLSYM_ARG(fdisk_get_partition),
                               DLSYM_ARG(fdisk_get_sector_size),
                               DLSYM_ARG(fdisk_is_labeltype),
                               DLSYM_ARG(fdisk_label_parse_parttype),
                               DLSYM_ARG(fdisk_new_context),
                               DLSYM_ARG(fdisk_new_partition),
                               DLSYM_ARG(fdisk_partition_get_size),
                               DLSYM_ARG(fdisk_partition_get_start),
                               DLSYM_ARG(fdisk_partition_set_size),
                               DLSYM_ARG(fdisk_partition_set_start),
                               DLSYM_ARG(fdisk_set_partition),
                               DLSYM_ARG(fdisk_set_partition_type),
                               DLSYM_ARG(fdisk_unref_context),
                               DLSYM_ARG(fdisk_unref_partition),
                               DLSYM_ARG(fdisk_unref_parttype),
                               DLSYM_ARG(fdisk_write_disklabel),
                               NULL);
}
