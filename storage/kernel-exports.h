/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Files and block devices the kernel serves to others by itself, with no
 * process holding them and no claim: a LIO SCSI target's fileio backstore
 * (iSCSI, vhost-scsi, tcm_loop; it takes a file or a block device) and an
 * NVMe-oF target's namespace (nvmet: file or block device). Their
 * configuration is in configfs (/sys/kernel/config), which lists each by
 * the path it was given. (LIO's iblock and pscsi backstores claim their
 * device, which an exclusive open sees.) */

#define KERNEL_EXPORTS_CONFIGFS "/sys/kernel/config"

/* Calls fn for each enabled export: its path as configured, and what it
 * is ("LIO fileio_0/vmdisk", "NVMe target nqn.…, namespace 1"). Stops at
 * the first fn that returns non-zero and returns that. -EUCLEAN if such
 * a target is loaded (its module in /sys/module) and configfs is not
 * mounted, so that its exports cannot be read. Logs nothing. */
int kernel_exports_foreach(int (*fn)(const char *path, const char *what, void *userdata), void *userdata);
