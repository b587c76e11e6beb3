/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hearth's runtime directory: per-home locks and mount points, the TPM SRK
 * lock, the NSS files hearthd writes (passwd, group). hearthd takes it as
 * --runtime-dir= and hands it to hearth-work as $HEARTH_RUNTIME_DIR; the
 * NSS and PAM modules, loaded into other programs, read it the same way.
 *
 * Header-only: libnss_hearth links nothing but libc. */

#define HEARTH_RUNTIME_DIR_DEFAULT "/run/hearth"

/* $HEARTH_RUNTIME_DIR if it is an absolute path, else the default.
 * secure_getenv: a set-uid program loading the NSS or PAM module must not
 * be pointed at other files. */
static inline const char *hearth_runtime_dir(void) {
        const char *e = secure_getenv("HEARTH_RUNTIME_DIR");
        return e && e[0] == '/' ? e : HEARTH_RUNTIME_DIR_DEFAULT;
}

/* Whether hearthd manages user, decided without the bus: the passwd file
 * it writes for NSS names her. So programs loading the PAM module or the
 * ssh helper never wait on hearthd for users it does not manage. */
static inline bool hearth_runtime_has_user(const char *user) {
        char path[4096], line[4096];
        size_t n = strlen(user);
        bool found = false;

        snprintf(path, sizeof path, "%s/passwd", hearth_runtime_dir());
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        while (!found && fgets(line, sizeof line, f))
                found = strncmp(line, user, n) == 0 && line[n] == ':';
        fclose(f);
        return found;
}
