/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "worker-protocol.h"

int worker_exit_status(int error) {
        switch (-error) {
        case 0: return WORKER_OK;
        case EINVAL: case EBADMSG: case E2BIG: return WORKER_BAD_REQUEST;
        case EUCLEAN: return WORKER_CORRUPT;
        case EALREADY: return WORKER_ACTIVE;
        case ENOTCONN: return WORKER_NOT_ACTIVE;
        case EKEYREJECTED: return WORKER_BAD_PASSWORD;
        case ENOSPC: case EDQUOT: return WORKER_NO_SPACE;
        case EBUSY: return WORKER_BUSY;
        case ENOENT: return WORKER_NOT_FOUND;
        case EEXIST: return WORKER_EXISTS;
        case ERANGE: return WORKER_BAD_SIZE;
        case EOPNOTSUPP: case ENOTTY: return WORKER_UNSUPPORTED;
        case ETIME: return WORKER_TPM_LOCKOUT;
        case ESTALE: case ENOKEY: return WORKER_TPM_CHANGED;
        case ENODEV: return WORKER_TPM_UNAVAILABLE;
        case EMEDIUMTYPE: return WORKER_FOREIGN;
        default: return WORKER_STORAGE_ERROR;
        }
}
