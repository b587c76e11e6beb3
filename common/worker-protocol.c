/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "json-strict.h"
#include "macro.h"
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
        case EUSERS: return WORKER_TPM_RESERVED;
        case ENOANO: return WORKER_TOKEN_PIN_NEEDED;
        case EBADE: return WORKER_BAD_PIN;
        case EBADR: return WORKER_BAD_PIN_FEW_TRIES;
        case EBADRQC: return WORKER_BAD_PIN_ONE_TRY;
        case ENOLCK: return WORKER_TOKEN_PIN_LOCKED;
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

json_object *worker_tpm_report_to_json(const WorkerTpmReport *r) {
        json_object *j = json_object_new_object();
        if (!j || json_object_object_add(j, "tried", json_object_new_boolean(r->tried)) < 0 ||
            json_object_object_add(j, "wrongPin", json_object_new_boolean(r->wrong_pin)) < 0 ||
            json_object_object_add(j, "failures", json_object_new_int64(r->failures)) < 0 ||
            json_object_object_add(j, "maxFailures", json_object_new_int64(r->max_failures)) < 0 ||
            json_object_object_add(j, "interval", json_object_new_int64(r->interval)) < 0) {
                json_object_put(j);
                return NULL;
        }
        return j;
}

static int get_u32(json_object *j, const char *key, uint32_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_int))
                return -EINVAL;
        int64_t x = json_object_get_int64(v);
        if (x < 0 || x > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) x;
        return 0;
}

static int get_bool(json_object *j, const char *key, bool *ret) {
        json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *ret = json_object_get_boolean(v);
        return 0;
}

int worker_tpm_report_from_json(json_object *j, WorkerTpmReport *ret) {
        WorkerTpmReport r = { .known = true };
        if (!json_object_is_type(j, json_type_object) || get_bool(j, "tried", &r.tried) < 0 ||
            get_bool(j, "wrongPin", &r.wrong_pin) < 0 || get_u32(j, "failures", &r.failures) < 0 ||
            get_u32(j, "maxFailures", &r.max_failures) < 0 || get_u32(j, "interval", &r.interval) < 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

int worker_tpm_report_from_output(const char *text, size_t len, const char *machine_id, WorkerTpmReport *ret) {
        _cleanup_json_ json_object *j = NULL;
        json_object *status, *mine, *report;
        if (len == 0 || json_parse_strict(text, len, &j, NULL) < 0 || !json_object_is_type(j, json_type_object))
                return 0; /* no JSON: no report (the record's own checks say more) */
        if (json_object_object_get_ex(j, WORKER_STATUS_TPM, &report))
                return worker_tpm_report_from_json(report, ret) < 0 ? -EINVAL : 1;
        if (machine_id && json_object_object_get_ex(j, "status", &status) &&
            json_object_object_get_ex(status, machine_id, &mine) &&
            json_object_object_get_ex(mine, WORKER_STATUS_TPM, &report))
                return worker_tpm_report_from_json(report, ret) < 0 ? -EINVAL : 1;
        return 0;
}
