/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include "dlopen-tss2.h"
#include "hex.h"
#include "log.h"
#include "tpm2-token.h"

#define BASE64_LEN(n) (4 * (((n) + 2) / 3))
#define STR_(x) #x
#define STR(x) STR_(x)

static void encode_base64(char *out, const uint8_t *in, size_t len) {
        EVP_EncodeBlock((unsigned char *) out, in, (int) len);
}

/* EVP_DecodeBlock() reads '=' anywhere as 'A', skips white space at the ends
 * and keeps the bits past the last byte, so one value would have many
 * spellings. Only the canonical one is accepted: re-encoding must give the
 * input back. */
static int decode_base64(const char *in, size_t in_len, uint8_t *out, size_t out_max, size_t *ret_len) {
        _cleanup_free_ char *check = NULL;
        size_t n, pad = 0;
        int d;

        if (in_len == 0 || in_len % 4 != 0 || in_len / 4 * 3 > out_max + 2)
                return -EINVAL;
        if (in[in_len - 1] == '=')
                pad = in[in_len - 2] == '=' ? 2 : 1;
        n = in_len / 4 * 3 - pad;
        if (n > out_max)
                return -EINVAL;

        /* EVP_DecodeBlock writes whole 3-byte groups, padding included. */
        uint8_t buf[BASE64_LEN(TPM2_SEALED_BLOB_MAX) / 4 * 3];
        if (in_len / 4 * 3 > sizeof buf)
                return -EINVAL;
        d = EVP_DecodeBlock(buf, (const unsigned char *) in, (int) in_len);
        if (d < 0 || (size_t) d != in_len / 4 * 3)
                return -EINVAL;

        check = malloc(in_len + 1);
        if (!check)
                return -ENOMEM;
        encode_base64(check, buf, n);
        if (memcmp(check, in, in_len) != 0)
                return -EINVAL;

        memcpy(out, buf, n);
        explicit_bzero(buf, sizeof buf);
        *ret_len = n;
        return 0;
}

static int decode_hex(const char *in, size_t in_len, uint8_t *out, size_t out_len) {
        if (in_len != 2 * out_len)
                return -EINVAL;
        for (size_t i = 0; i < out_len; i++) {
                int hi = unhexchar(in[2 * i]), lo = unhexchar(in[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

int tpm2_blob_unmarshal(const uint8_t *blob, size_t size, TPM2B_PRIVATE *ret_private, TPM2B_PUBLIC *ret_public) {
        TPM2B_PRIVATE priv = {};
        TPM2B_PUBLIC pub = {};
        size_t offset = 0;
        int r;

        r = dlopen_tss2_mu();
        if (r < 0)
                return r;
        if (sym_Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, size, &offset, &priv) != TSS2_RC_SUCCESS ||
            sym_Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, size, &offset, &pub) != TSS2_RC_SUCCESS ||
            offset != size)
                return -EUCLEAN;
        /* A sealed data object with a policy of one sha256 digest, as
         * tpm2_seal() makes and systemd-cryptenroll does. */
        if (priv.size == 0 || pub.publicArea.type != TPM2_ALG_KEYEDHASH ||
            pub.publicArea.nameAlg != TPM2_ALG_SHA256 ||
            pub.publicArea.authPolicy.size != TPM2_SEALED_POLICY_SIZE)
                return -EUCLEAN;
        if (ret_private)
                *ret_private = priv;
        if (ret_public)
                *ret_public = pub;
        return 0;
}

int tpm2_token_to_json(const Tpm2Sealed *s, int keyslot, json_object **ret) {
        _cleanup_json_ json_object *j = NULL;
        json_object *a;
        char slot[16], policy[2 * TPM2_SEALED_POLICY_SIZE + 1];
        _cleanup_free_ char *blob = NULL;

        if (keyslot < 0 || keyslot > TPM2_TOKEN_MAX_KEYSLOT || s->blob_size == 0 || s->blob_size > TPM2_SEALED_BLOB_MAX)
                return -EINVAL;

        blob = malloc(BASE64_LEN(s->blob_size) + 1);
        if (!blob)
                return -ENOMEM;
        encode_base64(blob, s->blob, s->blob_size);
        for (size_t i = 0; i < TPM2_SEALED_POLICY_SIZE; i++)
                snprintf(policy + 2 * i, 3, "%02x", s->policy_hash[i]);
        snprintf(slot, sizeof slot, "%d", keyslot);

        j = json_object_new_object();
        if (!j || json_object_object_add(j, "type", json_object_new_string(TPM2_TOKEN_TYPE)) < 0)
                return -ENOMEM;

        a = json_object_new_array();
        if (!a || json_object_object_add(j, "keyslots", a) < 0 ||
            json_object_array_add(a, json_object_new_string(slot)) < 0)
                return -ENOMEM;

        if (json_object_object_add(j, "tpm2-blob", json_object_new_string(blob)) < 0)
                return -ENOMEM;

        a = json_object_new_array();
        if (!a || json_object_object_add(j, "tpm2-pcrs", a) < 0)
                return -ENOMEM;
        for (int i = 0; i < TPM2_SEALED_PCR_COUNT; i++)
                if ((s->pcr_mask & (UINT32_C(1) << i)) && json_object_array_add(a, json_object_new_int(i)) < 0)
                        return -ENOMEM;

        if (json_object_object_add(j, "tpm2-pcr-bank", json_object_new_string("sha256")) < 0 ||
            json_object_object_add(j, "tpm2-primary-alg",
                                   json_object_new_string(s->primary_alg == TPM2_SEALED_RSA ? "rsa" : "ecc")) < 0 ||
            json_object_object_add(j, "tpm2-policy-hash", json_object_new_string(policy)) < 0 ||
            json_object_object_add(j, "tpm2-pin", json_object_new_boolean(s->pin)) < 0)
                return -ENOMEM;

        if (s->pin && s->has_salt) {
                char salt[BASE64_LEN(TPM2_PIN_SALT_SIZE) + 1];
                encode_base64(salt, s->salt, TPM2_PIN_SALT_SIZE);
                if (json_object_object_add(j, "tpm2_salt", json_object_new_string(salt)) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(j);
        return 0;
}

/* -EUCLEAN with the reason, for every way a field can be wrong. */
static int bad(const char *field, const char *why) {
        return log_error_errno(EUCLEAN, "TPM2 token: %s %s", field, why);
}

static int get_string(json_object *j, const char *field, bool required, size_t max, const char **ret, size_t *ret_len) {
        json_object *v;

        if (!json_object_object_get_ex(j, field, &v) || !v) {
                if (required)
                        return bad(field, "is missing");
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string))
                return bad(field, "is not a string");
        int len = json_object_get_string_len(v);
        if (len <= 0 || (size_t) len > max)
                return bad(field, len <= 0 ? "is empty" : "is too long");
        const char *s = json_object_get_string(v);
        if (strlen(s) != (size_t) len)
                return bad(field, "contains a NUL byte");
        *ret = s;
        *ret_len = (size_t) len;
        return 0;
}

static int parse_keyslots(json_object *j, int *ret) {
        json_object *a, *e;
        const char *s;
        int len;

        if (!json_object_object_get_ex(j, "keyslots", &a) || !a)
                return bad("keyslots", "is missing");
        if (!json_object_is_type(a, json_type_array))
                return bad("keyslots", "is not an array");
        /* systemd-cryptenroll assigns each TPM2 token to one keyslot. */
        if (json_object_array_length(a) != 1)
                return bad("keyslots", "does not name exactly one keyslot");
        e = json_object_array_get_idx(a, 0);
        if (!json_object_is_type(e, json_type_string))
                return bad("keyslots", "holds something else than a string");
        s = json_object_get_string(e);
        len = json_object_get_string_len(e);
        /* Decimal, no sign, no leading zero, no white space: "0".."31". */
        if (len < 1 || len > 2 || (size_t) len != strlen(s) || s[0] < '0' || s[0] > '9' ||
            (len == 2 && (s[0] == '0' || s[1] < '0' || s[1] > '9')))
                return bad("keyslots", "holds something else than a keyslot number");
        int slot = len == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
        if (slot > TPM2_TOKEN_MAX_KEYSLOT)
                return bad("keyslots", "names a keyslot past the last one LUKS2 has");
        *ret = slot;
        return 0;
}

static int parse_pcrs(json_object *j, uint32_t *ret) {
        json_object *a;
        uint32_t mask = 0;

        if (!json_object_object_get_ex(j, "tpm2-pcrs", &a) || !a)
                return bad("tpm2-pcrs", "is missing");
        if (!json_object_is_type(a, json_type_array))
                return bad("tpm2-pcrs", "is not an array");
        if (json_object_array_length(a) > TPM2_SEALED_PCR_COUNT)
                return bad("tpm2-pcrs", "lists more PCRs than there are");
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_int))
                        return bad("tpm2-pcrs", "holds something else than an integer");
                int64_t pcr = json_object_get_int64(e);
                if (pcr < 0 || pcr >= TPM2_SEALED_PCR_COUNT)
                        return bad("tpm2-pcrs", "holds a PCR index out of range 0..23");
                if (mask & (UINT32_C(1) << pcr))
                        return bad("tpm2-pcrs", "lists a PCR twice");
                mask |= UINT32_C(1) << pcr;
        }
        *ret = mask;
        return 0;
}

static int parse_bool(json_object *j, const char *field, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(j, field, &v) || !v) {
                *ret = false;
                return 0;
        }
        if (!json_object_is_type(v, json_type_boolean))
                return bad(field, "is not a boolean");
        *ret = json_object_get_boolean(v);
        return 0;
}

/* Fields newer systemd writes for policies this code does not build: an
 * unseal would fail its policy check and be misreported as a PCR change. */
static int refuse_unsupported(json_object *j) {
        json_object *v;
        bool b = false;
        int r;

        if (json_object_object_get_ex(j, "tpm2-pubkey", &v))
                return log_error_errno(EOPNOTSUPP, "TPM2 token: signed PCR policies (tpm2-pubkey) are not supported");
        if (json_object_object_get_ex(j, "tpm2-pubkey-pcrs", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        return bad("tpm2-pubkey-pcrs", "is not an array");
                if (json_object_array_length(v) > 0)
                        return log_error_errno(EOPNOTSUPP, "TPM2 token: signed PCR policies (tpm2-pubkey-pcrs) are not supported");
        }
        r = parse_bool(j, "tpm2_pcrlock", &b);
        if (r < 0)
                return r;
        if (b)
                return log_error_errno(EOPNOTSUPP, "TPM2 token: pcrlock policies (tpm2_pcrlock) are not supported");
        return 0;
}

int tpm2_token_from_json(json_object *j, Tpm2Sealed *ret, int *ret_keyslot) {
        Tpm2Sealed s = {};
        TPM2B_PUBLIC pub;
        const char *str;
        size_t len;
        int keyslot = -1, r;

        if (!json_object_is_type(j, json_type_object))
                return log_error_errno(EUCLEAN, "TPM2 token: not a JSON object");

        /* Not ours: no message, a caller scanning all tokens skips it. */
        json_object *type;
        if (!json_object_object_get_ex(j, "type", &type) || !json_object_is_type(type, json_type_string) ||
            strcmp(json_object_get_string(type), TPM2_TOKEN_TYPE) != 0)
                return -EMEDIUMTYPE;

        r = refuse_unsupported(j);
        if (r < 0)
                return r;

        r = parse_keyslots(j, &keyslot);
        if (r < 0)
                return r;

        r = get_string(j, "tpm2-blob", true, BASE64_LEN(TPM2_SEALED_BLOB_MAX), &str, &len);
        if (r < 0)
                return r;
        if (decode_base64(str, len, s.blob, sizeof s.blob, &s.blob_size) < 0)
                return bad("tpm2-blob", "is not canonical base64 of at most " STR(TPM2_SEALED_BLOB_MAX) " bytes");
        if (tpm2_blob_unmarshal(s.blob, s.blob_size, NULL, &pub) < 0)
                return bad("tpm2-blob", "does not hold one TPM2B_PRIVATE and one sealed-data TPM2B_PUBLIC");

        r = parse_pcrs(j, &s.pcr_mask);
        if (r < 0)
                return r;

        r = get_string(j, "tpm2-pcr-bank", false, 16, &str, &len);
        if (r < 0)
                return r;
        if (str && strcmp(str, "sha256") != 0) {
                if (strcmp(str, "sha1") == 0 || strcmp(str, "sha384") == 0 || strcmp(str, "sha512") == 0)
                        return log_error_errno(EOPNOTSUPP, "TPM2 token: PCR bank %s is not supported, only sha256", str);
                return bad("tpm2-pcr-bank", "names no known hash");
        }

        r = get_string(j, "tpm2-primary-alg", false, 16, &str, &len);
        if (r < 0)
                return r;
        if (!str || strcmp(str, "ecc") == 0)
                s.primary_alg = TPM2_SEALED_ECC;
        else if (strcmp(str, "rsa") == 0)
                s.primary_alg = TPM2_SEALED_RSA;
        else
                return bad("tpm2-primary-alg", "is neither \"ecc\" nor \"rsa\"");

        r = get_string(j, "tpm2-policy-hash", true, 2 * TPM2_SEALED_POLICY_SIZE, &str, &len);
        if (r < 0)
                return r;
        if (decode_hex(str, len, s.policy_hash, sizeof s.policy_hash) < 0)
                return bad("tpm2-policy-hash", "is not 64 hexadecimal digits");
        if (memcmp(s.policy_hash, pub.publicArea.authPolicy.buffer, TPM2_SEALED_POLICY_SIZE) != 0)
                return bad("tpm2-policy-hash", "does not match the policy of the sealed object in tpm2-blob");

        r = parse_bool(j, "tpm2-pin", &s.pin);
        if (r < 0)
                return r;

        r = get_string(j, "tpm2_salt", false, BASE64_LEN(TPM2_PIN_SALT_SIZE), &str, &len);
        if (r < 0)
                return r;
        if (str) {
                if (!s.pin)
                        return bad("tpm2_salt", "is set but tpm2-pin is not");
                if (decode_base64(str, len, s.salt, sizeof s.salt, &len) < 0 || len != TPM2_PIN_SALT_SIZE)
                        return bad("tpm2_salt", "is not base64 of " STR(TPM2_PIN_SALT_SIZE) " bytes");
                s.has_salt = true;
        }

        *ret = s;
        if (ret_keyslot)
                *ret_keyslot = keyslot;
        return 0;
}

int tpm2_secret_to_passphrase(const SecureBuffer *secret, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *p = NULL;
        int r;

        if (!secret || secret->size == 0 || secret->size > INT32_MAX / 2)
                return -EINVAL;
        r = secure_buffer_new(BASE64_LEN(secret->size) + 1, &p);
        if (r < 0)
                return r;
        encode_base64(p->data, secret->data, secret->size);
        p->size = BASE64_LEN(secret->size);
        *ret = TAKE_PTR(p);
        return 0;
}
