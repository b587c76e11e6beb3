/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

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
        case EILSEQ: return WORKER_PASSWORD_QUALITY;
        default: return WORKER_STORAGE_ERROR;
        }
}

bool worker_leftover_parse(const char *name, const char **user, size_t *user_len) {
        const size_t n = strlen(WORKER_LEFTOVER_PREFIX);
        if (strncmp(name, WORKER_LEFTOVER_PREFIX, n) != 0)
                return false;
        const char *first = strchr(name + n, '.'), *last = strrchr(name, '.');
        if (!first || last <= first + 1 || strlen(last + 1) != WORKER_LEFTOVER_SUFFIX_LEN)
                return false;
        *user = first + 1;
        *user_len = (size_t) (last - first - 1);
        return true;
}
