/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <crypt.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "macro.h"
#include "password.h"
#include "secret.h"

static void crypt_data_erase(struct crypt_data **d) {
        if (*d) {
                explicit_bzero(*d, sizeof **d);
                free(*d);
        }
}

int password_hash(const char *password, char **ret) {
        _cleanup_(crypt_data_erase) struct crypt_data *cd = calloc(1, sizeof *cd);
        char salt[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *h;

        if (!cd)
                return -ENOMEM;
        /* count 0 = libxcrypt's default cost for yescrypt. */
        if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
                return errno > 0 ? -errno : -EINVAL;
        h = crypt_rn(password, salt, cd, sizeof *cd);
        if (!h || h[0] == '*')
                return errno > 0 ? -errno : -EINVAL;
        *ret = strdup(h);
        return *ret ? 0 : -ENOMEM;
}

int password_verify(const char *password, const char *const *hashes) {
        _cleanup_(crypt_data_erase) struct crypt_data *cd = calloc(1, sizeof *cd);
        int found = 0;

        if (!cd)
                return -ENOMEM;
        for (const char *const *h = hashes; h && *h; h++) {
                const char *out = crypt_rn(password, *h, cd, sizeof *cd);
                size_t n = strlen(*h);

                /* A locked ("!…") or unparsable entry yields "*0"/"*1" or NULL
                 * and simply never matches. */
                if (!out || strlen(out) != n)
                        continue;
                if (CRYPTO_memcmp(out, *h, n) == 0)
                        found = 1;
        }
        return found;
}
