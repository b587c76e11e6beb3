/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives storage/tpm2/tpm2.c for tests/host/test-tpm2.sh. The PIN comes on stdin
 * (never argv); results go to files and stdout, errors as their errno name.
 *
 *   test-tpm2-tool seal [--no-pin] TCTI PCRS TOKEN SECRET
 *       PCRS: comma-separated ("7", "0,7", "" for none). Writes the token
 *       JSON (keyslot 1) to TOKEN and the secret's hex to SECRET.
 *   test-tpm2-tool unseal [--no-pin] TCTI TOKEN
 *       Prints the secret's hex.
 *   test-tpm2-tool lockout TCTI
 *       Prints "failures=N max=M interval=S recovery=R in_lockout=B".
 *   test-tpm2-tool open TCTI
 *
 * Exit status 0, or 1 with "error=ENAME" on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json-strict.h"
#include "log.h"
#include "secret.h"
#include "tpm2-token.h"
#include "tpm2.h"

static int fail(int r) {
        const char *name = strerrorname_np(r < 0 ? -r : r);
        printf("error=%s\n", name ?: "unknown");
        return 1;
}

static int read_pin(SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        size_t n = 0;
        int r = secure_buffer_new(4096, &b);
        if (r < 0)
                return r;
        char *p = b->data;
        while (n < b->size - 1) {
                size_t k = fread(p + n, 1, b->size - 1 - n, stdin);
                if (k == 0)
                        break;
                n += k;
        }
        if (n > 0 && p[n - 1] == '\n')
                n--;
        p[n] = '\0';
        *ret = TAKE_PTR(b);
        return 0;
}

static void print_hex(FILE *f, const SecureBuffer *b) {
        for (size_t i = 0; i < b->size; i++)
                fprintf(f, "%02x", ((const unsigned char *) b->data)[i]);
        fputc('\n', f);
}

static int parse_pcrs(const char *s, uint32_t *pcrs, size_t *n) {
        *n = 0;
        while (*s) {
                char *end;
                unsigned long v = strtoul(s, &end, 10);
                if (end == s || *n >= TPM2_SEALED_PCR_COUNT * 2)
                        return -EINVAL;
                pcrs[(*n)++] = (uint32_t) v;
                s = *end == ',' ? end + 1 : end;
                if (*end && *end != ',')
                        return -EINVAL;
        }
        return 0;
}

static int do_seal(Tpm2 *t, bool no_pin, const char *pcr_text, const char *token_path, const char *secret_path) {
        _cleanup_secure_buffer_ SecureBuffer *pin = NULL, *secret = NULL;
        _cleanup_json_ json_object *j = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        uint32_t pcrs[TPM2_SEALED_PCR_COUNT * 2];
        size_t n;
        Tpm2Sealed s;
        int r;

        if (parse_pcrs(pcr_text, pcrs, &n) < 0)
                return fail(-EINVAL);
        if (!no_pin && (r = read_pin(&pin)) < 0)
                return fail(r);
        r = tpm2_seal(t, pcrs, n, pin ? pin->data : NULL, &s, &secret);
        if (r < 0)
                return fail(r);
        r = tpm2_token_to_json(&s, 1, &j);
        if (r < 0)
                return fail(r);
        const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        r = write_file_atomic(token_path, text, strlen(text), 0600, 0);
        if (r < 0)
                return fail(r);
        f = fopen(secret_path, "we");
        if (!f)
                return fail(-errno);
        print_hex(f, secret);
        return 0;
}

static int do_unseal(Tpm2 *t, bool no_pin, const char *token_path) {
        _cleanup_secure_buffer_ SecureBuffer *pin = NULL, *secret = NULL;
        _cleanup_json_ json_object *j = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        size_t len;
        Tpm2Sealed s;
        int r, keyslot;

        r = read_file_bounded(token_path, JSON_STRICT_MAX_SIZE, &text, &len);
        if (r < 0)
                return fail(r);
        r = json_parse_strict(text, len, &j, &error);
        if (r < 0) {
                log_error("%s: %s", token_path, error ?: "invalid JSON");
                return fail(r);
        }
        r = tpm2_token_from_json(j, &s, &keyslot);
        if (r < 0)
                return fail(r);
        if (!no_pin && (r = read_pin(&pin)) < 0)
                return fail(r);
        r = tpm2_unseal(t, &s, pin ? pin->data : NULL, &secret);
        if (r < 0)
                return fail(r);
        print_hex(stdout, secret);
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_tpm2_ Tpm2 *t = NULL;
        bool no_pin = false;
        int r;

        log_set_program("test-tpm2-tool");
        if (argc >= 3 && strcmp(argv[2], "--no-pin") == 0) {
                no_pin = true;
                memmove(argv + 2, argv + 3, (size_t) (argc - 3) * sizeof *argv);
                argc--;
        }
        if (argc < 3) {
                fprintf(stderr, "usage: see the comment at the top of test-tpm2-tool.c\n");
                return 2;
        }
        r = tpm2_open(argv[2], &t);
        if (r < 0)
                return fail(r);

        if (strcmp(argv[1], "open") == 0 && argc == 3)
                return 0;
        if (strcmp(argv[1], "seal") == 0 && argc == 6)
                return do_seal(t, no_pin, argv[3], argv[4], argv[5]);
        if (strcmp(argv[1], "unseal") == 0 && argc == 4)
                return do_unseal(t, no_pin, argv[3]);
        if (strcmp(argv[1], "lockout") == 0 && argc == 3) {
                Tpm2Lockout l;
                r = tpm2_get_lockout(t, &l);
                if (r < 0)
                        return fail(r);
                printf("failures=%u max=%u interval=%u recovery=%u in_lockout=%d\n", l.failures, l.max_failures,
                       l.interval, l.recovery, l.in_lockout);
                return 0;
        }
        fprintf(stderr, "usage: see the comment at the top of test-tpm2-tool.c\n");
        return 2;
}
