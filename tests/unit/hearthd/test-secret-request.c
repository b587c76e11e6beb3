/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secrets from the bus (hearthd/secret-request.c): a PKCS#11 PIN in
 * homed's members (pkcs11Pin, tokenPin) is kept beside the passwords and
 * reaches the worker's request as secret.pkcs11Pin; bad PINs are refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secret-request.h"

static void test_pin(void **state) {
        Secret *s = NULL;
        SecureBuffer *req = NULL;
        size_t len = 0;

        assert_int_equal(secret_parse("{\"password\":[\"pw\"],\"pkcs11Pin\":[\"1234\",\"5678\"]}", &s, NULL), 0);
        assert_int_equal(s->n_password, 1);
        assert_non_null(s->pin);
        assert_string_equal(s->pin->data, "1234");
        assert_int_equal(secret_request_build("{\"userName\":\"alice\"}", s, NULL, NULL, &req, &len), 0);
        assert_string_equal(req->data,
                            "{\"userName\":\"alice\",\"secret\":{\"password\":[\"pw\"],\"pkcs11Pin\":[\"1234\"]}}");
        secure_buffer_free(req);
        secret_free(s);

        /* homed's later name, and a PIN alone. */
        assert_int_equal(secret_parse("{\"tokenPin\":[\"99\\\"9\"]}", &s, NULL), 0);
        assert_int_equal(s->n_password, 0);
        assert_string_equal(s->pin->data, "99\"9");
        assert_int_equal(secret_request_build("{\"userName\":\"alice\"}", s, NULL, NULL, &req, &len), 0);
        assert_string_equal(req->data,
                            "{\"userName\":\"alice\",\"secret\":{\"password\":[],\"pkcs11Pin\":[\"99\\\"9\"]}}");
        secure_buffer_free(req);
        secret_free(s);

        assert_int_equal(secret_parse("{\"password\":[\"pw\"]}", &s, NULL), 0);
        assert_null(s->pin);
        secret_free(s);
}

/* CreateHome and UpdateHome: the record's secret section, its PIN kept
 * (homed's homectl sends the PIN at create, for a LUKS home's keyslot). */
static void test_from_record(void **state) {
        const char *const pw[] = { "pw", NULL };
        Secret *s = NULL;
        char *why = NULL;
        json_object *j;

        (void) state;
        j = json_tokener_parse("{\"userName\":\"a\",\"secret\":{\"password\":[\"pw\"],\"tokenPin\":[\"1234\"]}}");
        assert_int_equal(secret_from_record(j, pw, &s, &why), 0);
        assert_int_equal(s->n_password, 1);
        assert_string_equal(s->password[0], "pw");
        assert_string_equal(s->pin->data, "1234");
        secret_free(s);
        s = NULL;
        json_object_put(j);

        /* No PIN: the passwords; nothing: no Secret. */
        j = json_tokener_parse("{\"userName\":\"a\",\"secret\":{\"password\":[\"pw\"]}}");
        assert_int_equal(secret_from_record(j, pw, &s, &why), 0);
        assert_int_equal(s->n_password, 1);
        assert_null(s->pin);
        secret_free(s);
        s = NULL;
        assert_int_equal(secret_from_record(j, NULL, &s, &why), 0);
        assert_null(s);
        json_object_put(j);

        j = json_tokener_parse("{\"userName\":\"a\",\"secret\":{\"pkcs11Pin\":[\"\"]}}");
        assert_int_equal(secret_from_record(j, NULL, &s, &why), -EINVAL);
        assert_non_null(strstr(why, "pkcs11Pin"));
        free(why);
        json_object_put(j);
}

static void test_bad_pin(void **state) {
        static const char *const bad[] = {
                "{\"pkcs11Pin\":\"1234\"}",
                "{\"pkcs11Pin\":[1234]}",
                "{\"pkcs11Pin\":[\"\"]}",
                "{\"tokenPin\":[\"\"]}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                Secret *s = NULL;
                char *err = NULL;
                assert_int_equal(secret_parse(bad[i], &s, &err), -EINVAL);
                assert_non_null(err);
                assert_non_null(strstr(err, i < 3 ? "secret: pkcs11Pin: " : "secret: tokenPin: "));
                free(err);
        }
        /* 256 bytes are a PIN, 257 are not. */
        char text[400];
        char pin[258];
        memset(pin, '7', 257);
        pin[257] = 0;
        Secret *s = NULL;
        snprintf(text, sizeof text, "{\"pkcs11Pin\":[\"%s\"]}", pin);
        assert_int_equal(secret_parse(text, &s, NULL), -EINVAL);
        pin[256] = 0;
        snprintf(text, sizeof text, "{\"pkcs11Pin\":[\"%s\"]}", pin);
        assert_int_equal(secret_parse(text, &s, NULL), 0);
        secret_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pin),
                cmocka_unit_test(test_bad_pin),
                cmocka_unit_test(test_from_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
