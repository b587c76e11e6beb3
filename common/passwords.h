/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "secret.h"

/* Passwords offered with a call to hearthd (homectl, pam_hearth): a list
 * whose strings live in locked, non-dumpable memory wiped when freed, and
 * its JSON form. */

/* The passwords to offer for one home, in order. */
typedef struct Passwords {
        char **list;        /* n entries, each in bufs[i]; NULL when n == 0 */
        SecureBuffer **bufs;
        size_t n;
        SecureBuffer *pin;  /* a PKCS#11 token's PIN, sent as secret.pkcs11Pin; NULL if none */
} Passwords;

void passwords_done(Passwords *p);
static inline void passwords_donep(Passwords *p) {
        passwords_done(p);
}
#define _cleanup_passwords_ __attribute__((cleanup(passwords_donep)))

/* Appends a copy of s. */
int passwords_add(Passwords *p, const char *s);
/* Appends a copy of s, then wipes and frees s (a heap string). */
int passwords_add_take(Passwords *p, char *s);

/* Sets the PIN (a copy of s), replacing one set before. */
int passwords_set_pin(Passwords *p, const char *s);

/* The contents of a secret section, {"password":[…]} (with "pkcs11Pin":[…]
 * when a PIN is set) or {} for none, as
 * text (NUL-terminated) in locked memory: the form of the `s secret`
 * arguments. */
int passwords_to_json(const Passwords *p, SecureBuffer **ret);
