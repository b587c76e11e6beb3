/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stddef.h>

#include <json-c/json.h>

#include "secret.h"

/* Secrets as clients send them on the bus: the contents of a record's
 * secret section, e.g. {"password":["pw1","pw2"]}, or {} for none. Only the
 * passwords are kept, in locked memory; the JSON they came in is wiped. */
typedef struct Secret {
        SecureBuffer *buf; /* the strings, NUL-separated */
        const char **password;
        size_t n_password;
        SecureBuffer *pin; /* a PKCS#11 token's PIN (secret.pkcs11Pin or tokenPin, the first), or NULL */
} Secret;

#define SECRET_PASSWORDS_MAX 64
#define SECRET_PASSWORD_MAX 4096
#define SECRET_PIN_MAX 256

/* Parses hostile text (password, and pkcs11Pin or tokenPin: arrays of
 * strings; other members are ignored). Returns 0, or -EINVAL with a message in ret_error. */
int secret_parse(const char *text, Secret **ret, char **ret_error);
/* A Secret holding copies of passwords (a record's secret.password). */
int secret_from_strv(const char *const *passwords, Secret **ret);
/* The secrets of a record's secret section (CreateHome, UpdateHome): its
 * passwords (rec->password, already checked by the record's parser) and,
 * through secret_parse(), a token's PIN if it has one. *ret stays NULL
 * with neither. -EINVAL with a message in ret_error. */
int secret_from_record(json_object *record, const char *const *passwords, Secret **ret, char **ret_error);
Secret *secret_free(Secret *s);
static inline void secret_freep(Secret **s) {
        secret_free(*s);
}
#define _cleanup_secret_ __attribute__((cleanup(secret_freep)))

/* The worker's request: record_json (an object without a secret section,
 * serialized) with a secret section added holding "password" from secret,
 * "newPassword" from new_secret and "recoveryKey" from recovery (each may be
 * NULL), and "pkcs11Pin" from secret's PIN, in locked memory. */
int secret_request_build(const char *record_json, const Secret *secret, const Secret *new_secret,
                         const Secret *recovery, SecureBuffer **ret, size_t *ret_len);

/* The recovery keys of a record's secret section (secret.recoveryKey, at
 * most 4 strings of at most 128 bytes), for create. *ret is NULL if none. */
int secret_recovery_from_record(json_object *record, Secret **ret, char **ret_error);
