/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record's half of PKCS#11 tokens (common/pkcs11-record.h): homed's
 * fields parsed through user_record_parse() (a record homed writes, and
 * hostile ones, each refused naming the field), enrolment added and
 * cleared, base64 decoded strictly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pkcs11-record.h"
#include "user-record.h"

#define URI "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;token=hearth;id=%01;type=cert"
#define HASH "$y$j9T$abcdefghijklmnop$0123456789abcdefghijklmnopqrstuvwxyzABCDE"
/* What homed 252 writes for a home enrolled with homectl --pkcs11-token-uri. */
#define HOMED_RECORD                                                                                    \
        "{\"userName\":\"alice\",\"pkcs11TokenUri\":[\"" URI "\"],"                                     \
        "\"privileged\":{\"hashedPassword\":[\"" HASH "\"],"                                            \
        "\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"AAECAwQ=\",\"hashedPassword\":\"" HASH \
        "\"}]}}"

static UserRecord *parse_ok(const char *text) {
        UserRecord *rec = NULL;
        char *err = NULL;
        int r = user_record_parse(text, strlen(text), &rec, &err);
        if (r < 0)
                fail_msg("refused: %s", err ?: "?");
        return rec;
}

static void assert_refused(const char *text, const char *message) {
        UserRecord *rec = NULL;
        char *err = NULL;
        assert_int_equal(user_record_parse(text, strlen(text), &rec, &err), -EINVAL);
        assert_non_null(err);
        if (!strstr(err, message))
                fail_msg("message \"%s\" lacks \"%s\"", err, message);
        free(err);
}

static void test_homed_record(void **state) {
        UserRecord *rec = parse_ok(HOMED_RECORD);
        assert_non_null(rec->pkcs11_token_uri);
        assert_string_equal(rec->pkcs11_token_uri[0], URI);
        assert_null(rec->pkcs11_token_uri[1]);
        assert_int_equal(rec->n_pkcs11_encrypted_key, 1);
        assert_string_equal(rec->pkcs11_encrypted_key[0].uri, URI);
        assert_string_equal(rec->pkcs11_encrypted_key[0].data, "AAECAwQ=");
        assert_string_equal(rec->pkcs11_encrypted_key[0].hashed_password, HASH);

        void *data = NULL;
        size_t size = 0;
        assert_int_equal(pkcs11_data_decode(rec->pkcs11_encrypted_key[0].data, &data, &size), 0);
        assert_int_equal(size, 5);
        assert_memory_equal(data, "\0\1\2\3\4", 5);
        free(data);

        /* Stripping privileged (what other users see) leaves the URIs. */
        assert_int_equal(user_record_strip(rec, USER_RECORD_PRIVILEGED), 0);
        assert_int_equal(rec->n_pkcs11_encrypted_key, 0);
        assert_non_null(rec->pkcs11_token_uri);
        user_record_free(rec);
}

static void test_hostile(void **state) {
        static const struct {
                const char *json, *message;
        } bad[] = {
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":\"" URI "\"}", "pkcs11TokenUri: must be an array" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[1]}", "pkcs11TokenUri: entry 0 is not a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"http://x\"]}", "entry 0 is not a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"pkcs11:\"]}", "entry 0 is not a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"pkcs11:a b\"]}", "entry 0 is not a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"pkcs11:\\u00e9\"]}", "entry 0 is not a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"pkcs11:x\\n\"]}", "entry 0 is not a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"pkcs11:x\",\"pkcs11:x\"]}", "entry 1 is listed twice" },
                /* The encrypted key belongs in privileged only. */
                { "{\"userName\":\"a\",\"pkcs11EncryptedKey\":[]}", "pkcs11EncryptedKey: not allowed in this section" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11TokenUri\":[]}}", "not allowed in this section" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":{}}}",
                  "privileged.pkcs11EncryptedKey: must be an array of objects" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[\"x\"]}}", "entry 0 must be an object" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"data\":\"AAAA\",\"hashedPassword\":\"" HASH "\"}]}}",
                  "entry 0 \"uri\" must be a PKCS#11 URI" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"AAA\",\"hashedPassword\":\"" HASH "\"}]}}",
                  "\"data\" must be base64" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"A=AA\",\"hashedPassword\":\"" HASH "\"}]}}",
                  "\"data\" must be base64" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"AA*A\",\"hashedPassword\":\"" HASH "\"}]}}",
                  "\"data\" must be base64" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"\",\"hashedPassword\":\"" HASH "\"}]}}",
                  "\"data\" must be base64" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"AAAA\"}]}}",
                  "\"hashedPassword\" must be a crypt(3) hash" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"" URI "\",\"data\":\"AAAA\",\"hashedPassword\":\"a:b\"}]}}",
                  "\"hashedPassword\" must be a crypt(3) hash" },
                { "{\"userName\":\"a\",\"privileged\":{\"pkcs11EncryptedKey\":["
                  "{\"uri\":\"" URI "\",\"data\":\"AAAA\",\"hashedPassword\":\"" HASH "\"},"
                  "{\"uri\":\"" URI "\",\"data\":\"AAAA\",\"hashedPassword\":\"" HASH "\"}]}}",
                  "entry 1 names a URI another entry names" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_refused(bad[i].json, bad[i].message);
}

/* Lengths at and past the bounds. */
static void test_bounds(void **state) {
        char *uri = malloc(PKCS11_URI_MAX + 2), *text = malloc(PKCS11_URI_MAX + 128);
        assert_non_null(uri);
        assert_non_null(text);
        memcpy(uri, "pkcs11:", 7);
        memset(uri + 7, 'x', PKCS11_URI_MAX - 7);
        uri[PKCS11_URI_MAX] = 0;
        assert_true(pkcs11_uri_valid(uri));
        snprintf(text, PKCS11_URI_MAX + 128, "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"%s\"]}", uri);
        user_record_free(parse_ok(text));
        strcat(uri, "x");
        assert_false(pkcs11_uri_valid(uri));
        snprintf(text, PKCS11_URI_MAX + 128, "{\"userName\":\"a\",\"pkcs11TokenUri\":[\"%s\"]}", uri);
        assert_refused(text, "entry 0 is not a PKCS#11 URI");
        free(uri);
        free(text);

        /* Too many entries. */
        size_t cap = 64 + (PKCS11_KEYS_MAX + 1) * 16;
        char *many = malloc(cap);
        assert_non_null(many);
        strcpy(many, "{\"userName\":\"a\",\"pkcs11TokenUri\":[");
        for (int i = 0; i <= PKCS11_KEYS_MAX; i++)
                sprintf(many + strlen(many), "%s\"pkcs11:n=%d\"", i ? "," : "", i);
        strcat(many, "]}");
        assert_refused(many, "pkcs11TokenUri: has too many entries");
        free(many);

        /* data: PKCS11_DATA_MAX bytes decode; one more does not. */
        size_t n64 = (PKCS11_DATA_MAX + 2) / 3 * 4;
        char *b64 = malloc(n64 + 8);
        assert_non_null(b64);
        memset(b64, 'A', n64);
        b64[n64] = 0;
        /* 2048 bytes = 2730 chars + "==" padding pattern; build exactly. */
        void *d = NULL;
        size_t size = 0;
        memset(b64, 'A', 2728);
        strcpy(b64 + 2728, "AA==");
        assert_int_equal(pkcs11_data_decode(b64, &d, &size), 0);
        assert_int_equal(size, 2047);
        free(d);
        strcpy(b64 + 2728, "AAA=");
        assert_int_equal(pkcs11_data_decode(b64, &d, &size), 0);
        assert_int_equal(size, PKCS11_DATA_MAX);
        free(d);
        strcpy(b64 + 2728, "AAAA");
        assert_int_equal(pkcs11_data_decode(b64, &d, &size), -EINVAL);
        free(b64);
}

static void test_add_and_clear(void **state) {
        UserRecord *rec = parse_ok("{\"userName\":\"alice\",\"privileged\":{\"hashedPassword\":[\"" HASH "\"]}}");
        char *err = NULL;

        assert_int_equal(pkcs11_record_add(rec->json, URI, "\0\1\2\3\4", 5, HASH), 0);
        /* Enrolling the same URI again replaces its entry. */
        assert_int_equal(pkcs11_record_add(rec->json, URI, "\7\7\7", 3, HASH), 0);
        assert_int_equal(pkcs11_record_add(rec->json, "pkcs11:token=b", "\1", 1, HASH), 0);
        assert_int_equal(user_record_refresh(rec, &err), 0);
        assert_int_equal(rec->n_pkcs11_encrypted_key, 2);
        assert_string_equal(rec->pkcs11_encrypted_key[0].uri, URI);
        assert_string_equal(rec->pkcs11_encrypted_key[0].data, "BwcH");
        assert_string_equal(rec->pkcs11_token_uri[0], URI);
        assert_string_equal(rec->pkcs11_token_uri[1], "pkcs11:token=b");
        assert_null(rec->pkcs11_token_uri[2]);

        assert_int_equal(pkcs11_record_add(rec->json, "nope", "\1", 1, HASH), -EINVAL);
        assert_int_equal(pkcs11_record_add(rec->json, URI, "\1", 1, "a:b"), -EINVAL);
        assert_int_equal(pkcs11_record_add(rec->json, URI, "\1", 0, HASH), -EINVAL);

        assert_int_equal(pkcs11_record_clear(rec->json), 1);
        assert_int_equal(user_record_refresh(rec, &err), 0);
        assert_int_equal(rec->n_pkcs11_encrypted_key, 0);
        assert_null(rec->pkcs11_token_uri);
        assert_non_null(rec->hashed_password); /* the password stays */
        assert_int_equal(pkcs11_record_clear(rec->json), 0);
        user_record_free(rec);

        /* privileged goes when the key was all it held. */
        rec = parse_ok("{\"userName\":\"alice\"}");
        assert_int_equal(pkcs11_record_add(rec->json, URI, "\1", 1, HASH), 0);
        assert_int_equal(pkcs11_record_clear(rec->json), 1);
        assert_false(json_object_object_get_ex(rec->json, "privileged", NULL));
        user_record_free(rec);
}

/* Several tokens present, none opening: the answer is the error that says
 * most (a locked PIN, then a wrong one, then a missing one; a token that
 * failed says least), whatever the order. */
static void test_error_worse(void **state) {
        (void) state;
        assert_int_equal(pkcs11_error_worse(0, -EIO), -EIO);
        assert_int_equal(pkcs11_error_worse(-EIO, -ENOANO), -ENOANO);
        assert_int_equal(pkcs11_error_worse(-ENOANO, -EIO), -ENOANO);
        assert_int_equal(pkcs11_error_worse(-ENOANO, -EBADE), -EBADE);
        assert_int_equal(pkcs11_error_worse(-EBADE, -ENOANO), -EBADE);
        assert_int_equal(pkcs11_error_worse(-EBADE, -EIO), -EBADE);
        assert_int_equal(pkcs11_error_worse(-EBADE, -ENOLCK), -ENOLCK);
        assert_int_equal(pkcs11_error_worse(-ENOLCK, -EBADE), -ENOLCK);
        assert_int_equal(pkcs11_error_worse(-ENOLCK, -ENOANO), -ENOLCK);
        assert_int_equal(pkcs11_error_worse(-EIO, -EBADRQC), -EBADRQC);
        assert_int_equal(pkcs11_error_worse(-ENOANO, -EBADR), -EBADR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_homed_record),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_add_and_clear),
                cmocka_unit_test(test_error_worse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
