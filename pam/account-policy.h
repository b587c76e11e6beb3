/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdint.h>

#include "user-record.h"

/* What the record says about logging in now: the PAM account verdict, as a
 * PAM return code, and a message for the person (NULL when none). Pure: the
 * time is an argument, so tests can travel. */
typedef struct AccountVerdict {
        int pam_code;        /* PAM_SUCCESS, PAM_ACCT_EXPIRED, PAM_NEW_AUTHTOK_REQD */
        char message[256];   /* shown through the conversation; "" when none */
        int warn;            /* 1: PAM_SUCCESS, but message is a warning (expiry soon) */
} AccountVerdict;

void account_verdict(const UserRecord *rec, uint64_t now_usec, AccountVerdict *ret);
