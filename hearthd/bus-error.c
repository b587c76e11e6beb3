/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus-error.h"
#include "worker-protocol.h"

const char *bus_error_from_worker(int status, const char *op) {
        switch (status) {
        case WORKER_BAD_REQUEST:
                return BUS_ERROR_INVALID_ARGS;
        case WORKER_BAD_PASSWORD:
                return BUS_ERROR_BAD_PASSWORD;
        case WORKER_NO_SPACE:
                return BUS_ERROR_NO_DISK_SPACE;
        case WORKER_BUSY:
                return BUS_ERROR_HOME_BUSY;
        case WORKER_NOT_FOUND:
                return BUS_ERROR_HOME_ABSENT;
        case WORKER_EXISTS:
                return BUS_ERROR_HOME_EXISTS;
        case WORKER_BAD_SIZE:
                return BUS_ERROR_BAD_HOME_SIZE;
        case WORKER_UNSUPPORTED:
                return BUS_ERROR_NOT_SUPPORTED;
        case WORKER_CORRUPT:
                return BUS_ERROR_BAD_SIGNATURE;
        case WORKER_TPM_LOCKOUT:
                return BUS_ERROR_TOKEN_PIN_LOCKED;
        case WORKER_TPM_CHANGED:
                return BUS_ERROR_TPM_STATE_CHANGED;
        case WORKER_TPM_UNAVAILABLE:
                return BUS_ERROR_TPM_UNAVAILABLE;
        case WORKER_FOREIGN:
                return BUS_ERROR_FOREIGN_STORAGE;
        case WORKER_PASSWORD_QUALITY:
                return BUS_ERROR_LOW_PASSWORD_QUALITY;
        case WORKER_TOKEN_PIN_NEEDED:
                return BUS_ERROR_TOKEN_PIN_NEEDED;
        case WORKER_BAD_PIN:
                return BUS_ERROR_BAD_PIN;
        case WORKER_BAD_PIN_FEW_TRIES:
                return BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT;
        case WORKER_BAD_PIN_ONE_TRY:
                return BUS_ERROR_BAD_PIN_ONE_TRY_LEFT;
        case WORKER_TOKEN_PIN_LOCKED:
                return BUS_ERROR_TOKEN_PIN_LOCKED;
        case WORKER_TPM_RESERVED:
                return BUS_ERROR_AUTHENTICATION_LIMIT_HIT;
        case WORKER_ACTIVE:
                return strcmp(op, WORKER_OP_LOCK) == 0 ? BUS_ERROR_HOME_LOCKED : BUS_ERROR_HOME_ALREADY_ACTIVE;
        case WORKER_NOT_ACTIVE:
                return strcmp(op, WORKER_OP_UNLOCK) == 0 ? BUS_ERROR_HOME_NOT_LOCKED : BUS_ERROR_HOME_NOT_ACTIVE;
        default:
                return BUS_ERROR_FAILED;
        }
}
