/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "json-strict.h"
#include "secret.h"
#include "user-record.h"

static void test_secure_buffer(void **state) {
        SecureBuffer *b = NULL;
        long page = sysconf(_SC_PAGESIZE);

        assert_int_equal(secure_buffer_new(0, &b), -EINVAL);
        assert_int_equal(secure_buffer_new(100, &b), 0);
        assert_non_null(b->data);
        assert_int_equal(b->size, 100);
        assert_int_equal(b->mapped % (size_t) page, 0);
        assert_true(b->mapped >= 100);
        memset(b->data, 0x5a, b->size);

        /* As root (the test suite runs as root) locking always succeeds; the
         * page must then be resident. */
        if (geteuid() == 0) {
                unsigned char vec = 0;
                assert_true(b->locked);
                assert_int_equal(mincore(b->data, (size_t) page, &vec), 0);
                assert_true(vec & 1);
        }
        secure_buffer_free(b);
        secure_buffer_free(NULL);
}

static void test_json_wipe(void **state) {
        const char text[] = "{\"userName\":\"a\",\"secret\":{\"password\":[\"hunter2\",\"swordfish\"]}}";
        json_object *j = NULL, *s, *pw;

        assert_int_equal(json_parse_strict(text, strlen(text), &j, NULL), 0);
        assert_true(json_object_object_get_ex(j, "secret", &s));
        assert_true(json_object_object_get_ex(s, "password", &pw));
        const char *p0 = json_object_get_string(json_object_array_get_idx(pw, 0));
        const char *p1 = json_object_get_string(json_object_array_get_idx(pw, 1));
        json_object_wipe_strings(s);
        /* Same buffers, now all zero bytes. */
        for (size_t i = 0; i < strlen("hunter2"); i++)
                assert_int_equal(p0[i], 0);
        for (size_t i = 0; i < strlen("swordfish"); i++)
                assert_int_equal(p1[i], 0);
        /* Other parts of the tree are untouched. */
        json_object *name;
        assert_true(json_object_object_get_ex(j, "userName", &name));
        assert_string_equal(json_object_get_string(name), "a");
        json_object_wipe_and_put(j);
}

static void test_record_strip_wipes(void **state) {
        const char text[] = "{\"userName\":\"a\",\"secret\":{\"password\":[\"hunter2\"]}}";
        UserRecord *rec = NULL;

        assert_int_equal(user_record_parse(text, strlen(text), &rec, NULL), 0);
        assert_non_null(rec->password);
        const char *p = rec->password[0];
        /* Keep the string alive past the strip to look at its bytes. */
        json_object *s;
        assert_true(json_object_object_get_ex(rec->json, "secret", &s));
        json_object_get(s);
        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET), 0);
        assert_null(rec->password);
        assert_false(rec->has_sections & USER_RECORD_SECRET);
        assert_int_equal(p[0], 0);
        json_object_put(s);
        user_record_free(rec);
}

static void test_erase_and_free(void **state) {
        char *s = strdup("topsecret");
        assert_non_null(s);
        erase_and_free(s);
        erase_and_free(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secure_buffer),
                cmocka_unit_test(test_json_wipe),
                cmocka_unit_test(test_record_strip_wipes),
                cmocka_unit_test(test_erase_and_free),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
