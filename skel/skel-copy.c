/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder until the copier lands; see skel.h. */
#include <errno.h>

#include "skel.h"

int skel_seed(int target_fd, const SkelOptions *opts, SkelStats *stats) {
        return -EOPNOTSUPP;
}

int skel_default_sources(const char *root, char ***ret) {
        return -EOPNOTSUPP;
}
