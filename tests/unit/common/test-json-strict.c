/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json-strict.h"

static void expect_ok(const char *text, size_t len) {
        json_object *j = NULL;
        char *error = NULL;
        int r = json_parse_strict(text, len, &j, &error);
        if (r != 0)
                fail_msg("refused %s: %s", text, error ?: "(no message)");
        json_object_put(j);
}

static void expect_fail(const char *text, size_t len, int err, const char *msg) {
        json_object *j = NULL;
        char *error = NULL;
        int r = json_parse_strict(text, len, &j, &error);
        if (r != err)
                fail_msg("%.60s: got %d, expected %d (%s)", text, r, err, error ?: "");
        assert_null(j);
        assert_non_null(error);
        if (!strstr(error, msg))
                fail_msg("%.60s: message \"%s\" lacks \"%s\"", text, error, msg);
        free(error);
}

#define OK(s) expect_ok(s, sizeof(s) - 1)
#define FAIL(s, m) expect_fail(s, sizeof(s) - 1, -EINVAL, m)

static void test_accepts(void **state) {
        OK("{}");
        OK("[]");
        OK("0");
        OK("-0");
        OK("123");
        OK("1.5e-3");
        OK("\"x\"");
        OK("true");
        OK("null");
        OK(" {\"a\" : [1, 2, {\"b\": null}], \"c\": \"\\u00e9\\ud83d\\ude00\\n\"} ");
        OK("{\"a\":1,\"A\":2,\"a \":3}");
        OK("{\"x\":{\"a\":1},\"y\":{\"a\":2}}"); /* same key, different objects */
        OK("18446744073709551615");
        OK("-9223372036854775808");
        OK("\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
}

static void test_refuses(void **state) {
        FAIL("", "unexpected end of input");
        FAIL("{", "expected a string as object key");
        FAIL("{\"a\":1,}", "expected a string as object key");
        FAIL("[1,]", "unexpected character");
        FAIL("{\"a\":1 \"b\":2}", "expected ',' or '}'");
        FAIL("{'a':1}", "expected a string as object key");
        FAIL("{a:1}", "expected a string as object key");
        FAIL("{\"a\":1}x", "trailing data");
        FAIL("{\"a\":1}{}", "trailing data");
        FAIL("01", "leading zero");
        FAIL("1.", "invalid number");
        FAIL(".5", "unexpected character");
        FAIL("1e", "invalid number");
        FAIL("+1", "unexpected character");
        FAIL("NaN", "unexpected character");
        FAIL("tru", "unexpected character");
        FAIL("18446744073709551616", "integer out of range");
        FAIL("-9223372036854775809", "integer out of range");
        FAIL("\"abc", "unterminated string");
        FAIL("\"a\tb\"", "control character");
        FAIL("\"\\x\"", "invalid escape");
        FAIL("\"\\u12\"", "\\u escape");
        FAIL("\"\\u12g4\"", "invalid \\u escape");
        FAIL("\"\\u0000\"", "NUL character");
        FAIL("\"\\ud800\"", "lone high surrogate");
        FAIL("\"\\ud800\\u0041\"", "invalid surrogate pair");
        FAIL("\"\\udc00\"", "lone low surrogate");
        FAIL("\"\xc3\x28\"", "invalid UTF-8");
        FAIL("\"\xc0\xaf\"", "invalid UTF-8");
        FAIL("\"\xed\xa0\x80\"", "invalid UTF-8");
        FAIL("\"\xf4\x90\x80\x80\"", "invalid UTF-8");
        FAIL("\"\xe2\x82\"", "invalid UTF-8");
        FAIL("\"\xff\"", "invalid UTF-8");
        FAIL("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
        FAIL("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", "duplicate key \"c\"");
        FAIL("{\"uid\":1,\"\\u0075id\":2}", "duplicate key \"uid\"");
        expect_fail("{\"a\":\"x\0y\"}", 11, -EINVAL, "NUL byte");
}

static void test_position(void **state) {
        json_object *j = NULL;
        char *error = NULL;
        const char text[] = "{\n  \"a\": 1,\n  \"b\": tru\n}";
        assert_int_equal(json_parse_strict(text, sizeof text - 1, &j, &error), -EINVAL);
        assert_string_equal(error, "line 3, column 8: unexpected character");
        free(error);
}

static void test_depth(void **state) {
        char buf[256];
        size_t n = 0;
        for (int i = 0; i < JSON_STRICT_MAX_DEPTH; i++)
                buf[n++] = '[';
        for (int i = 0; i < JSON_STRICT_MAX_DEPTH; i++)
                buf[n++] = ']';
        expect_ok(buf, n);

        n = 0;
        for (int i = 0; i <= JSON_STRICT_MAX_DEPTH; i++)
                buf[n++] = '[';
        for (int i = 0; i <= JSON_STRICT_MAX_DEPTH; i++)
                buf[n++] = ']';
        expect_fail(buf, n, -EINVAL, "nested deeper than 32 levels");

        /* A million open brackets must not recurse a million times. */
        size_t big = 1000 * 1000;
        char *deep = malloc(big);
        assert_non_null(deep);
        memset(deep, '[', big);
        expect_fail(deep, big, -EINVAL, "nested deeper");
        free(deep);
}

static void test_size_limit(void **state) {
        size_t n = JSON_STRICT_MAX_SIZE + 1;
        char *big = malloc(n);
        assert_non_null(big);
        memset(big, ' ', n);
        big[0] = '0';
        expect_fail(big, n, -E2BIG, "too large");
        /* Exactly at the limit is fine. */
        expect_ok(big, n - 1);
        free(big);
}

static void test_canonical(void **state) {
        const char text[] = "{ \"b\": [3, {\"z\": 1, \"a\": \"x\\\"\\\\\\n\\u0001\"}], \"a\": -5, \"c\": 18446744073709551615, "
                            "\"d\": true, \"e\": null, \"f\": 0.5 }";
        json_object *j = NULL;
        char *out = NULL;
        size_t len;

        assert_int_equal(json_parse_strict(text, sizeof text - 1, &j, NULL), 0);
        assert_int_equal(json_format_canonical(j, &out, &len), 0);
        assert_string_equal(out, "{\"a\":-5,\"b\":[3,{\"a\":\"x\\\"\\\\\\n\\u0001\",\"z\":1}],"
                                 "\"c\":18446744073709551615,\"d\":true,\"e\":null,\"f\":0.5}");
        assert_int_equal(len, strlen(out));
        free(out);
        json_object_put(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_accepts),
                cmocka_unit_test(test_refuses),
                cmocka_unit_test(test_position),
                cmocka_unit_test(test_depth),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_canonical),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
