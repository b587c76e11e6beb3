/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: sysusers.d lines (skel/sysusers.c), as a package or an
 * image hands them to hearth-skel. Each line of the input is parsed.
 *
 * Invariants: a refusal says why; an accepted entry has a known type, a
 * name unless it is a range, and (users) a home. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "log.h"
#include "sysusers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_string(data, size);
        if (!text)
                return 0;
        log_set_max_level(0);

        for (char *line = text, *next; line; line = next) {
                SysusersEntry e = {};
                char *err = NULL;
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                int r = sysusers_parse_line(line, &e, &err);
                if (r > 0) {
                        if (err)
                                abort();
                        if (e.type != SYSUSERS_USER && e.type != SYSUSERS_GROUP && e.type != SYSUSERS_MEMBER &&
                            e.type != SYSUSERS_RANGE)
                                abort();
                        if (e.type != SYSUSERS_RANGE && !e.name)
                                abort();
                        if (e.type == SYSUSERS_USER && !sysusers_entry_home(&e))
                                abort();
                        uint32_t id;
                        if (e.id)
                                (void) sysusers_parse_id(e.id, &id);
                        sysusers_entry_done(&e);
                } else if (r < 0 && r != -ENOMEM && !err)
                        abort();
                free(err);
        }
        free(text);
        return 0;
}
