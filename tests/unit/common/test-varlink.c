/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/varlink.c: framing, names, calls and replies as a peer may send
 * them, and the messages we send. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "varlink.h"

static void test_frame(void **state) {
        size_t len = 99;
        (void) state;
        assert_int_equal(varlink_frame("abc", 3, 10, &len), 0);
        assert_int_equal(varlink_frame("abc\0def", 7, 10, &len), 1);
        assert_int_equal(len, 3);
        assert_int_equal(varlink_frame("\0", 1, 10, &len), 1);
        assert_int_equal(len, 0);
        /* A NUL past the bound does not count. */
        assert_int_equal(varlink_frame("abcdef\0", 7, 4, &len), -E2BIG);
        assert_int_equal(varlink_frame("abc", 3, 3, &len), -E2BIG);
}

static void test_names(void **state) {
        (void) state;
        assert_true(varlink_name_valid("io.systemd.UserDatabase.GetUserRecord"));
        assert_true(varlink_name_valid("org.varlink.service.InvalidParameter"));
        assert_true(varlink_name_valid("a.b.C"));
        assert_true(varlink_name_valid("io.my-host.X1"));
        assert_false(varlink_name_valid("GetUserRecord"));
        assert_false(varlink_name_valid("io.GetUserRecord"));
        assert_false(varlink_name_valid("io.systemd.getUserRecord"));
        assert_false(varlink_name_valid("io..systemd.X"));
        assert_false(varlink_name_valid("io.systemd-.X"));
        assert_false(varlink_name_valid("io.1systemd.X"));
        assert_false(varlink_name_valid("io.systemd.X_Y"));
        assert_false(varlink_name_valid("io.systemd."));
        assert_false(varlink_name_valid(""));
        assert_false(varlink_name_valid(NULL));
}

static int call(const char *text, VarlinkCall *c) {
        char *why = NULL;
        int r = varlink_call_parse(text, strlen(text), c, &why);
        if (r == -EINVAL)
                assert_non_null(why);
        free(why);
        return r;
}

static void test_call(void **state) {
        VarlinkCall c;
        (void) state;

        assert_int_equal(call("{\"method\":\"a.b.C\",\"parameters\":{\"x\":1},\"more\":true}", &c), 0);
        assert_string_equal(c.method, "a.b.C");
        assert_true(c.more);
        assert_false(c.oneway);
        assert_int_equal(json_object_object_length(c.parameters), 1);
        varlink_call_done(&c);
        /* No parameters: an empty object. */
        assert_int_equal(call("{\"method\":\"a.b.C\",\"oneway\":true}", &c), 0);
        assert_true(json_object_is_type(c.parameters, json_type_object));
        assert_true(c.oneway);
        varlink_call_done(&c);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"parameters\":null}", &c), 0);
        varlink_call_done(&c);

        assert_int_equal(call("{}", &c), -EINVAL);
        assert_int_equal(call("[]", &c), -EINVAL);
        assert_int_equal(call("null", &c), -EINVAL);
        assert_int_equal(call("{\"method\":1}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"x\"}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"parameters\":[]}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"more\":1}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"more\":true,\"oneway\":true}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"upgrade\":true}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"x\":true}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"method\":\"a.b.D\"}", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\"", &c), -EINVAL);
        assert_int_equal(call("{\"method\":\"a.b.C\",\"parameters\":{\"s\":\"\\u0000\"}}", &c), -EINVAL);
        /* A NUL inside the message (the caller frames at the first one). */
        assert_int_equal(varlink_call_parse("{}\0{}", 5, &c, NULL), -EINVAL);
}

static void test_reply(void **state) {
        VarlinkReply r;
        char *why = NULL;
        const char *ok = "{\"parameters\":{\"a\":1},\"continues\":true}";
        const char *err = "{\"error\":\"io.systemd.UserDatabase.NoRecordFound\"}";
        const char *bad = "{\"error\":\"a.b.C\",\"continues\":true}";
        (void) state;

        assert_int_equal(varlink_reply_parse(ok, strlen(ok), &r, NULL), 0);
        assert_null(r.error);
        assert_true(r.continues);
        varlink_reply_done(&r);
        assert_int_equal(varlink_reply_parse(err, strlen(err), &r, NULL), 0);
        assert_string_equal(r.error, "io.systemd.UserDatabase.NoRecordFound");
        assert_int_equal(json_object_object_length(r.parameters), 0);
        varlink_reply_done(&r);
        assert_int_equal(varlink_reply_parse(bad, strlen(bad), &r, &why), -EINVAL);
        free(why);
}

static void test_format(void **state) {
        json_object *p = json_object_new_object();
        char *m;
        size_t len;
        (void) state;

        json_object_object_add(p, "userName", json_object_new_string("a/b"));
        assert_int_equal(varlink_format_call("a.b.C", p, true, &m, &len), 0);
        assert_string_equal(m, "{\"method\":\"a.b.C\",\"parameters\":{\"userName\":\"a/b\"},\"more\":true}");
        assert_int_equal(len, strlen(m) + 1);
        free(m);
        assert_int_equal(varlink_format_reply(p, false, &m, &len), 0);
        assert_string_equal(m, "{\"parameters\":{\"userName\":\"a/b\"}}");
        free(m);
        assert_int_equal(varlink_format_reply(NULL, true, &m, &len), 0);
        assert_string_equal(m, "{\"parameters\":{},\"continues\":true}");
        free(m);
        assert_int_equal(varlink_format_error("io.systemd.UserDatabase.BadService", NULL, &m, &len), 0);
        assert_string_equal(m, "{\"error\":\"io.systemd.UserDatabase.BadService\",\"parameters\":{}}");
        free(m);
        assert_int_equal(varlink_format_error("bad", NULL, &m, &len), -EINVAL);
        assert_int_equal(varlink_format_call("bad", NULL, false, &m, &len), -EINVAL);
        /* The parameters stay the caller's. */
        assert_int_equal(json_object_put(p), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_frame),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_call),
                cmocka_unit_test(test_reply),
                cmocka_unit_test(test_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
