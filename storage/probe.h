/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "user-record.h"

/* What a home's storage looks like from outside, without a worker, a lock
 * or libcryptsetup: what hearthd re-derives a home's state from when it
 * starts and after a worker died (hearthd/home-policy.h). Each backend
 * answers for its own homes, as it alone knows where their storage is and
 * what their mapping is called. A library of its own (probe.c,
 * luks-probe.c): hearthd links it without the backends, their libraries
 * (libcryptsetup, libdevmapper, TPM2…) and their operations. */
typedef struct StorageProbe {
        bool present;       /* its storage is there: the .homedir, the image, the device */
        bool has_mapping;   /* a storage that is set up while active: mapped (LUKS) or mounted */
        bool mapped;        /* ... and it is set up now */
        bool mount;         /* has_mapping: set up means mounted on the home directory (directory, subvolume) */
        char mapping[256];  /* has_mapping: the node, "/dev/mapper/<name>", or the mount point, for messages */
} StorageProbe;

/* The probe of rec's backend under home_root: 0, or -ENOMEM. A record
 * naming no backend is probed as a home that is an entry of the root. */
int storage_probe(const UserRecord *rec, const char *home_root, StorageProbe *ret);

/* The backends' probes, one each (storage_probe() picks). */
/* directory, subvolume: present if <home_root>/<user>.homedir is there,
 * whatever it is (common/home-layout.h); mapped if <home_root>/<user> is a
 * mount (storage/home-mount.c checks it is the storage's). */
int storage_probe_top(const UserRecord *rec, const char *home_root, StorageProbe *ret);
/* luks (luks-probe.c): the image or device, and the mapping. */
int storage_probe_luks(const UserRecord *rec, const char *home_root, StorageProbe *ret);

/* Where a LUKS home's image is by name alone: imagePath if it is below
 * /dev (a block device or a pool volume), else <root>/<user>.home. The
 * LUKS backend checks the rest (luks_image_path()). 0 or -ENOMEM. */
int luks_image_of(const UserRecord *rec, const char *root, char **ret);
