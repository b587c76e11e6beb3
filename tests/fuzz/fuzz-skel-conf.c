/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: skel.conf (skel/skel-conf.c), the HomePrefix= lines
 * hearth-skel reads from /etc/hearth or an image.
 *
 * Invariants: every prefix taken is absolute, canonical (normalizing it
 * again changes nothing), not "/", without ':' and not taken twice; at most
 * the limit is taken. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "log.h"
#include "skel-conf.h"

#define MAX 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *l[MAX + 1] = {};
        size_t n = 0;

        log_set_max_level(0);
        FILE *f = fmemopen((void *) data, size, "r");
        if (!f)
                return 0;
        l[n++] = strdup("/home");
        if (!l[0]) {
                fclose(f);
                return 0;
        }
        int r = skel_conf_read_prefixes(f, "skel.conf", l, &n, MAX);
        fclose(f);
        if (r < 0 && r != -ENOMEM && r != -EIO)
                abort();
        if (n > MAX || l[n])
                abort();
        for (size_t i = 0; i < n; i++) {
                char again[4096 + 1];
                size_t len = strlen(l[i]);
                if (l[i][0] != '/' || strchr(l[i], ':') || strcmp(l[i], "/") == 0 || len >= sizeof again)
                        abort();
                memcpy(again, l[i], len + 1);
                if (!skel_path_normalize(again) || strcmp(again, l[i]) != 0)
                        abort();
                for (size_t k = 0; k < i; k++)
                        if (strcmp(l[k], l[i]) == 0)
                                abort();
        }
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        return 0;
}
