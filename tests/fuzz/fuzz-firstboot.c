/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: what homectl firstboot reads (homectl/firstboot-parse.c,
 * homectl/identity-file.c). The first byte picks the parser:
 *   0  a home.create.* credential file: record_tree_load(), the userName
 *      and password lookups firstboot makes, then the record as hearthd
 *      parses it;
 *   1  a credential's name (firstboot_credential_user);
 *   2  the kernel command line (firstboot_cmdline_get);
 *   3  passwd / group lines (colon_line_parse and the regular-user rules).
 *
 * Invariants: a credential's user is the suffix of its name and a valid
 * user name; the command line gives 1, 0, -ENOENT or -EINVAL; an accepted colon line
 * has a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firstboot-parse.h"
#include "fuzz-util.h"
#include "identity-file.h"
#include "log.h"
#include "secret.h"
#include "user-record.h"

static void credential(const uint8_t *data, size_t size) {
        json_object *j = NULL, *v;
        const char *path = fuzz_file(data, size);

        if (!path || record_tree_load(path, &j) != 0)
                return;
        if (!json_object_is_type(j, json_type_object))
                abort();
        if (json_object_object_get_ex(j, "userName", &v) && json_object_is_type(v, json_type_string))
                (void) firstboot_credential_user(json_object_get_string(v));
        (void) record_tree_list_get(j, "privileged", "hashedPassword", 0);
        for (size_t i = 0; record_tree_list_get(j, "secret", "password", i); i++)
                ;
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        UserRecord *rec = NULL;
        char *err = NULL;
        if (s && user_record_parse(s, strlen(s), &rec, &err) >= 0)
                user_record_free(rec);
        free(err);
        json_object_wipe_and_put(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        log_set_max_level(0);
        user_record_set_machine("0123456789abcdef0123456789abcdef", "fuzzhost");
        unsigned mode = data[0] & 3;
        data++, size--;
        if (mode == 0) {
                credential(data, size);
                return 0;
        }

        char *text = fuzz_string(data, size);
        if (!text)
                return 0;
        if (mode == 1) {
                const char *u = firstboot_credential_user(text);
                if (u && (u < text || strncmp(text, FIRSTBOOT_CREDENTIAL_PREFIX, strlen(FIRSTBOOT_CREDENTIAL_PREFIX)) != 0 ||
                          !valid_user_name(u)))
                        abort();
        } else if (mode == 2) {
                int r = firstboot_cmdline_get(text);
                if (r != 1 && r != 0 && r != -ENOENT && r != -EINVAL)
                        abort();
        } else {
                bool passwd = size > 0 && (data[0] & 1);
                for (char *line = text, *next; line; line = next) {
                        ColonEntry e;
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        if (colon_line_parse(line, passwd, &e) < 0)
                                continue;
                        if (!e.name)
                                abort();
                        if (passwd) {
                                (void) firstboot_passwd_is_regular(&e);
                                if (e.shell)
                                        (void) firstboot_shell_is_login(e.shell);
                        }
                }
        }
        free(text);
        return 0;
}
