/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <string.h>

#include <libcryptsetup.h>

#include "crypt-log.h"
#include "dlopen-cryptsetup.h"
#include "log.h"

static void log_line(int level, const char *msg, void *userdata) {
        size_t n = strlen(msg);
        log_debug("libcryptsetup: %.*s", (int) (n && msg[n - 1] == '\n' ? n - 1 : n), msg);
}

int storage_crypt_log_setup(void) {
        static bool done;
        int r = dlopen_cryptsetup();
        if (r < 0)
                return r;
        if (!done) {
                sym_crypt_set_log_callback(NULL, log_line, NULL);
                done = true;
        }
        return 0;
}
