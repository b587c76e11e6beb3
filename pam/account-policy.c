/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <security/_pam_types.h>

#include "account-policy.h"

/* Sets the verdict and leaves account_verdict(). */
#define SAY_RETURN(...)            \
        do {                       \
                SAY(v, __VA_ARGS__); \
                return;            \
        } while (0)

#define USEC_PER_DAY (UINT64_C(86400) * 1000000)

#define SAY(v, code, ...)                                                  \
        do {                                                               \
                (v)->pam_code = (code);                                    \
                snprintf((v)->message, sizeof (v)->message, __VA_ARGS__);  \
        } while (0)

/* Additions that cannot wrap. */
static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void account_verdict(const UserRecord *rec, uint64_t now, AccountVerdict *v) {
        const char *name = rec->user_name;
        *v = (AccountVerdict) { .pam_code = PAM_SUCCESS };

        if (rec->locked > 0)
                SAY_RETURN(PAM_ACCT_EXPIRED, "The account of %s is locked.", name);
        if (rec->not_before_usec != UINT64_MAX && rec->not_before_usec > 0 && now < rec->not_before_usec)
                SAY_RETURN(PAM_ACCT_EXPIRED, "The account of %s is not valid yet.", name);
        if (rec->not_after_usec != UINT64_MAX && rec->not_after_usec > 0 && now > rec->not_after_usec)
                SAY_RETURN(PAM_ACCT_EXPIRED, "The account of %s has expired.", name);

        if (rec->password_change_now > 0)
                SAY_RETURN(PAM_NEW_AUTHTOK_REQD, "The password of %s must be changed now.", name);

        uint64_t last = rec->last_password_change_usec, max = rec->password_change_max_usec;
        if (last == UINT64_MAX || last == 0 || max == UINT64_MAX || max == 0)
                return;
        uint64_t expires = add_sat(last, max);
        uint64_t inactive = rec->password_change_inactive_usec;
        if (now >= expires) {
                /* Past the grace period the password no longer lets anyone in. */
                if (inactive != UINT64_MAX && now >= add_sat(expires, inactive))
                        SAY_RETURN(PAM_ACCT_EXPIRED, "The password of %s expired too long ago; ask an administrator.",
                                   name);
                SAY_RETURN(PAM_NEW_AUTHTOK_REQD, "The password of %s has expired and must be changed now.",
                           name);
        }
        uint64_t warn = rec->password_change_warn_usec;
        if (warn != UINT64_MAX && warn > 0 && now >= (expires > warn ? expires - warn : 0)) {
                uint64_t days = (expires - now + USEC_PER_DAY - 1) / USEC_PER_DAY;
                SAY(v, PAM_SUCCESS, "The password of %s expires in %" PRIu64 " day(s).", name, days);
                v->warn = 1;
        }
}
