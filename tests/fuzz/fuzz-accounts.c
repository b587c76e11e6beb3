/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: hearth-accounts' files (hearth-accounts/): the per-user
 * key files in /var/lib/hearth-accounts/users (AccountsService's format,
 * copied over from /var/lib/AccountsService), GDM's daemon.conf, and the
 * icon type sniffer. The first byte picks which.
 *
 * Invariants: the per-user file round-trips (format, parse: the same
 * values) and only keeps valid text; GDM's autologin read after setting
 * it gives back what was set. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accounts-logic.h"
#include "fuzz-util.h"
#include "log.h"

static void extras(const char *text) {
        Extras e = {}, again = {};
        char *out = NULL;

        if (extras_parse(text, &e) < 0)
                return;
        for (int k = 0; k < _EXTRA_MAX; k++)
                if (e.value[k] && !accounts_valid_text(e.value[k]))
                        abort();
        if (extras_format(&e, &out) < 0)
                goto done;
        if (extras_parse(out, &again) < 0)
                goto done;
        for (int k = 0; k < _EXTRA_MAX; k++)
                if (!e.value[k] != !again.value[k] || (e.value[k] && strcmp(e.value[k], again.value[k]) != 0))
                        abort();
done:
        free(out);
        extras_done(&e);
        extras_done(&again);
}

static void gdm(const char *text) {
        bool enabled;
        char *user = NULL, *out = NULL, *user2 = NULL;

        if (gdm_conf_get_autologin(text, &enabled, &user) < 0)
                return;
        free(user);
        if (gdm_conf_set_autologin(text, "alice", true, &out) < 0)
                return;
        if (gdm_conf_get_autologin(out, &enabled, &user2) < 0 || !enabled || !user2 || strcmp(user2, "alice") != 0)
                abort();
        free(user2);
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        log_set_max_level(0);
        unsigned mode = data[0] % 3;
        data++, size--;
        if (mode == 2) {
                (void) accounts_image_type(data, size);
                return 0;
        }
        if (size > EXTRAS_FILE_MAX)
                return 0;
        char *text = fuzz_string(data, size);
        if (!text)
                return 0;
        if (mode == 0)
                extras(text);
        else
                gdm(text);
        free(text);
        return 0;
}
