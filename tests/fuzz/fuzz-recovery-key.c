/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the recovery-key parser (common/recovery-key.c), on
 * what a person types at a password prompt.
 *
 * Invariants: an accepted key is 32 bytes, formats to the canonical 71
 * characters, and the canonical text parses back to the same bytes;
 * normalize agrees with parse + format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "recovery-key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SecureBuffer *key = NULL, *text = NULL, *again = NULL, *norm = NULL, *typed = NULL;

        if (size > 4096)
                return 0;
        char *s = fuzz_string(data, size);
        if (!s)
                return 0;
        int r = recovery_key_parse(s, &key);
        int n = recovery_key_normalize(s, &norm);
        int t = recovery_key_normalize_typed(s, &typed);
        if (r == -ENOMEM || n == -ENOMEM || t == -ENOMEM)
                goto out;
        /* What parses as is parses as typed, to the same key. */
        if (t < 0 ? n >= 0 : strlen(typed->data) != RECOVERY_KEY_TEXT_LEN || (n >= 0 && strcmp(typed->data, norm->data) != 0))
                abort();
        if ((r < 0) != (n < 0))
                abort();
        if (r < 0) {
                if (r != -EINVAL)
                        abort();
                goto out;
        }
        if (key->size != RECOVERY_KEY_BYTES)
                abort();
        if (recovery_key_format(key->data, &text) < 0)
                goto out;
        if (strlen(text->data) != RECOVERY_KEY_TEXT_LEN || strcmp(text->data, norm->data) != 0)
                abort();
        if (recovery_key_parse(text->data, &again) < 0 || memcmp(again->data, key->data, RECOVERY_KEY_BYTES) != 0)
                abort();
out:
        secure_buffer_free(key);
        secure_buffer_free(text);
        secure_buffer_free(again);
        secure_buffer_free(norm);
        secure_buffer_free(typed);
        free(s);
        return 0;
}
