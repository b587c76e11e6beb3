/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-blkid.h"

DLSYM_FUNCTION(blkid_do_probe);
DLSYM_FUNCTION(blkid_do_safeprobe);
DLSYM_FUNCTION(blkid_do_wipe);
DLSYM_FUNCTION(blkid_free_probe);
DLSYM_FUNCTION(blkid_new_probe);
DLSYM_FUNCTION(blkid_new_probe_from_filename);
DLSYM_FUNCTION(blkid_probe_enable_partitions);
DLSYM_FUNCTION(blkid_probe_enable_superblocks);
DLSYM_FUNCTION(blkid_probe_lookup_value);
DLSYM_FUNCTION(blkid_probe_set_device);
DLSYM_FUNCTION(blkid_probe_set_partitions_flags);
DLSYM_FUNCTION(blkid_probe_set_superblocks_flags);

int dlopen_blkid(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_ERR, "libblkid.so.1", "probing block devices",
                               DLSYM_ARG(blkid_do_probe),
                               DLSYM_ARG(blkid_do_safeprobe),
                               DLSYM_ARG(blkid_do_wipe),
                               DLSYM_ARG(blkid_free_probe),
                               DLSYM_ARG(blkid_new_probe),
                               DLSYM_ARG(blkid_new_probe_from_filename),
                               DLSYM_ARG(blkid_probe_enable_partitions),
                               DLSYM_ARG(blkid_probe_enable_superblocks),
                               DLSYM_ARG(blkid_probe_lookup_value),
                               DLSYM_ARG(blkid_probe_set_device),
                               DLSYM_ARG(blkid_probe_set_partitions_flags),
                               DLSYM_ARG(blkid_probe_set_superblocks_flags),
                               NULL);
}
