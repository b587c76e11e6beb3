/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secrets on their way through homectl, pam_hearth, hearthd and hearth-work
 * stay in locked, non-dumpable memory: after each step, no memory a core
 * dump would hold (tests/unit/common/dump-scan.h) contains the password. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ask-password.h"
#include "dump-scan.h"
#include "json-strict.h"
#include "passwords.h"
#include "record-build.h"
#include "secret-request.h"
#include "secret-text.h"
#include "secret.h"
#include "user-record.h"

/* Writes pieces into a new SecureBuffer: the test's inputs hold the secret
 * too and must not be found themselves. */
static SecureBuffer *concat(const char *const *parts) {
        size_t len = 1, n = 0;
        SecureBuffer *b = NULL;
        for (const char *const *p = parts; *p; p++)
                len += strlen(*p);
        assert_int_equal(secure_buffer_new(len, &b), 0);
        for (const char *const *p = parts; *p; p++) {
                memcpy((char *) b->data + n, *p, strlen(*p));
                n += strlen(*p);
        }
        ((char *) b->data)[n] = 0;
        return b;
}

static void test_scanner_finds(void **state) {
        /* The scanner itself: a plain heap copy, freed, is found (under ASan
         * the quarantine keeps it; in a plain build the chunk is not reused
         * before the scan). */
        SecureBuffer *pw = dump_secret_new(1);
        char *copy = strdup(pw->data);
        char where[256];
        assert_non_null(copy);
        assert_true(dump_scan_count((const char *) pw->data + DUMP_SECRET_SKIP, DUMP_SECRET_LEN - DUMP_SECRET_SKIP,
                                    where, sizeof where) >= 1);
        erase_and_free(copy);
        assert_not_in_dump(pw, "wiped copy");
        secure_buffer_free(pw);
}

/* pam_hearth and homectl: the passwords offered and the secret argument. */
static void test_passwords(void **state) {
        SecureBuffer *pw = dump_secret_new(2);
        Passwords p = {};
        SecureBuffer *json = NULL;

        assert_int_equal(passwords_add(&p, pw->data), 0);
        assert_not_in_dump(pw, "passwords_add");
        assert_int_equal(passwords_to_json(&p, &json), 0);
        assert_non_null(strstr(json->data, pw->data));
        assert_not_in_dump(pw, "passwords_to_json");
        secure_buffer_free(json);
        passwords_done(&p);
        assert_not_in_dump(pw, "after passwords_done");
        secure_buffer_free(pw);
}

/* homectl: $PASSWORD and $NEWPASSWORD. */
static void test_env(void **state) {
        SecureBuffer *pw = dump_secret_new(3);
        SecureBuffer *npw = dump_secret_new(4);

        assert_int_equal(setenv("PASSWORD", pw->data, 1), 0);
        assert_int_equal(setenv("NEWPASSWORD", npw->data, 1), 0);
        assert_int_equal(secrets_env_load(), 0);
        assert_null(getenv("PASSWORD"));
        assert_string_equal(secrets_env_password(), pw->data);
        assert_string_equal(secrets_env_new_password(), npw->data);
        assert_not_in_dump(pw, "secrets_env_load");
        assert_not_in_dump(npw, "secrets_env_load (new)");
        secrets_env_free();
        assert_not_in_dump(pw, "secrets_env_free");
        secure_buffer_free(pw);
        secure_buffer_free(npw);
}

/* homectl create/update: the record with its secret section, as sent. */
static void test_record_text(void **state) {
        SecureBuffer *pw = dump_secret_new(5);
        SecureBuffer *text = concat((const char *const[]) {
                "{\"userName\":\"alice\",\"secret\":{\"password\":[\"", pw->data,
                "\"]},\"realName\":\"Alice Liddell of the Looking-Glass House, Oxford\",\"shell\":\"/bin/sh\","
                "\"emailAddress\":\"alice.liddell@looking-glass.example.org\",\"location\":\"Christ Church\","
                "\"memberOf\":[\"wheel\",\"audio\",\"video\",\"plugdev\",\"netdev\"]}", NULL });
        UserRecord *rec = NULL;

        SecretText out = {};
        json_object *j = NULL;

        assert_int_equal(user_record_parse(text->data, strlen(text->data), &rec, NULL), 0);
        assert_int_equal(secret_text_record(rec->json, &out), 0);
        user_record_free(rec);
        assert_not_in_dump(pw, "record serialized and freed");
        /* The same record, secret and all. */
        assert_int_equal(user_record_parse(out.buf->data, out.len, &rec, NULL), 0);
        assert_string_equal(rec->password[0], pw->data);
        assert_string_equal(rec->shell, "/bin/sh");
        user_record_free(rec);
        secret_text_done(&out);
        j = json_object_new_object();
        assert_int_equal(secret_text_record(j, &out), 0);
        assert_string_equal(out.buf->data, "{}");
        secret_text_done(&out);
        json_object_put(j);
        assert_not_in_dump(pw, "reparsed and freed");
        secure_buffer_free(text);
        secure_buffer_free(pw);
}

/* hearthd: a secret argument parsed, and the worker's request. */
static void test_daemon_secret(void **state) {
        SecureBuffer *pw = dump_secret_new(6);
        SecureBuffer *npw = dump_secret_new(7);
        SecureBuffer *arg = concat((const char *const[]) { "{\"password\":[\"", pw->data, "\"]}", NULL });
        SecureBuffer *narg = concat((const char *const[]) { "{\"password\":[\"", npw->data, "\"]}", NULL });
        SecureBuffer *request = NULL;
        Secret *s = NULL, *ns = NULL;
        size_t len;

        assert_int_equal(secret_parse(arg->data, &s, NULL), 0);
        assert_int_equal(secret_parse(narg->data, &ns, NULL), 0);
        assert_not_in_dump(pw, "secret_parse");
        assert_int_equal(secret_request_build("{\"userName\":\"alice\"}", s, ns, NULL, &request, &len), 0);
        assert_non_null(memmem(request->data, len, npw->data, DUMP_SECRET_LEN));
        assert_not_in_dump(pw, "secret_request_build");
        assert_not_in_dump(npw, "secret_request_build (new)");
        secure_buffer_free(request);
        secret_free(s);
        secret_free(ns);
        assert_not_in_dump(pw, "freed");
        secure_buffer_free(arg);
        secure_buffer_free(narg);
        secure_buffer_free(pw);
        secure_buffer_free(npw);
}

/* hearthd CreateHome/UpdateHome: the record's secret.password taken out. */
static void test_daemon_record(void **state) {
        SecureBuffer *pw = dump_secret_new(8);
        SecureBuffer *text = concat((const char *const[]) {
                "{\"userName\":\"alice\",\"secret\":{\"password\":[\"", pw->data, "\"]}}", NULL });
        UserRecord *rec = NULL;
        Secret *s = NULL;

        assert_int_equal(user_record_parse(text->data, strlen(text->data), &rec, NULL), 0);
        assert_int_equal(secret_from_strv(rec->password, &s), 0);
        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET), 0);
        assert_not_in_dump(pw, "record stripped");
        user_record_free(rec);
        secret_free(s);
        assert_not_in_dump(pw, "freed");
        secure_buffer_free(text);
        secure_buffer_free(pw);
}

/* hearth-work: the request's secrets, held for the whole operation. */
static void test_worker_request(void **state) {
        SecureBuffer *pw = dump_secret_new(9);
        SecureBuffer *npw = dump_secret_new(10);
        SecureBuffer *rk = dump_secret_new(11);
        SecureBuffer *text = concat((const char *const[]) {
                "{\"userName\":\"alice\",\"secret\":{\"password\":[\"", pw->data, "\"],\"newPassword\":[\"",
                npw->data, "\",\"second\"],\"recoveryKey\":[\"", rk->data,
                "\"],\"pkcs11ProtectedAuthenticationPathPermitted\":true},\"realName\":\"Alice\"}", NULL });
        UserRecord *rec = NULL;
        char *error = NULL;

        assert_int_equal(user_record_parse(text->data, strlen(text->data), &rec, NULL), 0);
        assert_int_equal(user_record_lock_secrets(rec, &error), 0);
        assert_null(error);
        assert_not_in_dump(pw, "locked (password)");
        assert_not_in_dump(npw, "locked (newPassword)");
        assert_not_in_dump(rk, "locked (recoveryKey)");
        /* Where the storage code finds them, also after a refresh. */
        assert_int_equal(user_record_refresh(rec, NULL), 0);
        assert_string_equal(rec->password[0], pw->data);
        assert_null(rec->password[1]);
        assert_int_equal(user_record_secret_count(rec, "newPassword"), 2);
        assert_string_equal(user_record_secret(rec, "newPassword")[0], npw->data);
        assert_string_equal(user_record_secret(rec, "newPassword")[1], "second");
        assert_null(user_record_secret(rec, "newPassword")[2]);
        assert_string_equal(user_record_secret(rec, "recoveryKey")[0], rk->data);
        assert_null(user_record_secret(rec, "tokenPin"));
        assert_true(rec->has_sections & USER_RECORD_SECRET);
        /* What is no list of strings stays in the tree; the record as
         * printed holds no secret. */
        const char *out = user_record_to_string(rec, USER_RECORD_FORMAT_SHORT);
        assert_non_null(strstr(out, "pkcs11ProtectedAuthenticationPathPermitted"));
        assert_null(strstr(out, "newPassword"));
        assert_not_in_dump(pw, "printed");
        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET), 0);
        assert_null(rec->password);
        assert_null(user_record_secret(rec, "newPassword"));
        user_record_free(rec);
        assert_not_in_dump(npw, "freed");
        secure_buffer_free(text);
        secure_buffer_free(pw);
        secure_buffer_free(npw);
        secure_buffer_free(rk);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scanner_finds),
                cmocka_unit_test(test_passwords),
                cmocka_unit_test(test_env),
                cmocka_unit_test(test_record_text),
                cmocka_unit_test(test_daemon_secret),
                cmocka_unit_test(test_daemon_record),
                cmocka_unit_test(test_worker_request),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
