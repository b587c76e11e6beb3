/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the Varlink message reader (common/varlink.c) on what
 * a peer of hearthd's userdb socket sends: a byte stream cut into
 * NUL-terminated messages, each parsed as a call (what hearthd reads) and
 * as a reply (what a client reads).
 *
 * Invariants: framing never reads past the bound and finds the first NUL;
 * an accepted call has a valid method name and an object as parameters,
 * and formats back to a call that parses to the same method, flags and
 * parameters; likewise a reply. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "varlink.h"

static void check_call(const char *msg, size_t len) {
        VarlinkCall c, again;
        char *why = NULL, *text = NULL;
        size_t tlen;

        if (varlink_call_parse(msg, len, &c, &why) < 0) {
                free(why);
                return;
        }
        if (!varlink_name_valid(c.method) || !json_object_is_type(c.parameters, json_type_object) ||
            (c.more && c.oneway))
                abort();
        if (varlink_format_call(c.method, c.parameters, c.more, &text, &tlen) == 0) {
                if (tlen == 0 || text[tlen - 1] != 0 || strlen(text) != tlen - 1)
                        abort();
                if (varlink_call_parse(text, tlen - 1, &again, &why) < 0)
                        abort();
                if (strcmp(again.method, c.method) != 0 || again.more != c.more ||
                    !json_object_equal(again.parameters, c.parameters))
                        abort();
                varlink_call_done(&again);
                free(text);
        }
        varlink_call_done(&c);
}

static void check_reply(const char *msg, size_t len) {
        VarlinkReply r, again;
        char *why = NULL, *text = NULL;
        size_t tlen;
        int k;

        if (varlink_reply_parse(msg, len, &r, &why) < 0) {
                free(why);
                return;
        }
        if (r.error && (r.continues || !varlink_name_valid(r.error)))
                abort();
        k = r.error ? varlink_format_error(r.error, r.parameters, &text, &tlen)
                    : varlink_format_reply(r.parameters, r.continues, &text, &tlen);
        if (k == 0) {
                if (varlink_reply_parse(text, tlen - 1, &again, &why) < 0)
                        abort();
                if ((again.error ? strcmp(again.error, r.error ?: "") != 0 : r.error != NULL) ||
                    again.continues != r.continues || !json_object_equal(again.parameters, r.parameters))
                        abort();
                varlink_reply_done(&again);
                free(text);
        }
        varlink_reply_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data;
        size_t left = size;

        if (size > 4 * VARLINK_CALL_MAX)
                return 0;
        while (left > 0) {
                size_t len;
                int r = varlink_frame(p, left, VARLINK_CALL_MAX, &len);
                if (r < 0) {
                        if (left < VARLINK_CALL_MAX || memchr(p, 0, VARLINK_CALL_MAX))
                                abort();
                        break;
                }
                if (r == 0) {
                        if (memchr(p, 0, left))
                                abort();
                        break;
                }
                if (len >= left || p[len] != 0 || memchr(p, 0, len))
                        abort();
                check_call(p, len);
                check_reply(p, len);
                p += len + 1;
                left -= len + 1;
        }
        return 0;
}
