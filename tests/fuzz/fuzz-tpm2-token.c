/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the systemd-tpm2 LUKS2 token (storage/tpm2/tpm2-token.c), as
 * read from a LUKS header on a disk: the token JSON (parsed strictly, as
 * luks-tpm2.c does) and the tpm2-blob inside it.
 *
 * Invariants: a refusal is an error code, an accepted token has a keyslot
 * in range and a blob, re-encodes (tpm2_token_to_json) and decodes again to
 * the same thing; the blob splitter survives any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "json-strict.h"
#include "log.h"
#include "tpm2-token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_object *j = NULL, *again = NULL;
        Tpm2Sealed s, s2;
        int keyslot = -1, keyslot2 = -1;

        log_set_max_level(0);

        /* The blob splitter on raw bytes. */
        TPM2B_PRIVATE priv;
        TPM2B_PUBLIC pub;
        (void) tpm2_blob_unmarshal(data, size, &priv, &pub);

        if (json_parse_strict((const char *) data, size, &j, NULL) < 0)
                return 0;
        int r = tpm2_token_from_json(j, &s, &keyslot);
        json_object_put(j);
        if (r > 0)
                abort();
        if (r < 0)
                return 0;
        if (keyslot < 0 || keyslot > TPM2_TOKEN_MAX_KEYSLOT || s.blob_size == 0 || s.blob_size > sizeof s.blob)
                abort();
        if (tpm2_token_to_json(&s, keyslot, &again) < 0)
                abort();
        r = tpm2_token_from_json(again, &s2, &keyslot2);
        json_object_put(again);
        if (r < 0 || keyslot2 != keyslot || s2.blob_size != s.blob_size || memcmp(s2.blob, s.blob, s.blob_size) != 0 ||
            s2.pcr_mask != s.pcr_mask || s2.primary_alg != s.primary_alg || s2.pin != s.pin ||
            s2.has_salt != s.has_salt || memcmp(s2.policy_hash, s.policy_hash, sizeof s.policy_hash) != 0 ||
            (s.has_salt && memcmp(s2.salt, s.salt, sizeof s.salt) != 0))
                abort();
        return 0;
}
