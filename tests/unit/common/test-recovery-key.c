/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "recovery-key.h"

/* Expected texts computed independently:
 *   python3 -c "a='cbdefghijklnrtuv'; k=bytes(range(32)); s=''.join(a[b>>4]+a[b&15] for b in k);
 *               print('-'.join(s[i:i+8] for i in range(0,64,8)))" */
#define KEY_0_31 "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv"
#define KEY_FF00A55A "vvcclggl-vvcclggl-vvcclggl-vvcclggl-vvcclggl-vvcclggl-vvcclggl-vvcclggl"

static void test_format(void **state) {
        SecureBuffer *b = NULL;
        uint8_t key[RECOVERY_KEY_BYTES];

        for (size_t i = 0; i < sizeof key; i++)
                key[i] = (uint8_t) i;
        assert_int_equal(recovery_key_format(key, &b), 0);
        assert_int_equal(b->size, RECOVERY_KEY_TEXT_LEN);
        assert_int_equal(RECOVERY_KEY_TEXT_LEN, 71);
        assert_string_equal(b->data, KEY_0_31);
        secure_buffer_free(b);

        for (size_t i = 0; i < sizeof key; i += 4)
                memcpy(key + i, (uint8_t[]) { 0xFF, 0x00, 0xA5, 0x5A }, 4);
        assert_int_equal(recovery_key_format(key, &b), 0);
        assert_string_equal(b->data, KEY_FF00A55A);
        secure_buffer_free(b);
}

static void assert_parses_to_0_31(const char *text) {
        SecureBuffer *b = NULL;

        assert_int_equal(recovery_key_parse(text, &b), 0);
        assert_int_equal(b->size, RECOVERY_KEY_BYTES);
        for (size_t i = 0; i < RECOVERY_KEY_BYTES; i++)
                assert_int_equal(((uint8_t *) b->data)[i], i);
        secure_buffer_free(b);
}

static void test_parse(void **state) {
        assert_parses_to_0_31(KEY_0_31);
        /* Without dashes, upper case, mixed case. */
        assert_parses_to_0_31("cccbcdcecfcgchcicjckclcncrctcucvbcbbbdbebfbgbhbibjbkblbnbrbtbubv");
        assert_parses_to_0_31("CCCBCDCE-CFCGCHCI-CJCKCLCN-CRCTCUCV-BCBBBDBE-BFBGBHBI-BJBKBLBN-BRBTBUBV");
        assert_parses_to_0_31("CCCBCDCECFCGCHCICJCKCLCNCRCTCUCVBCBBBDBEBFBGBHBIBJBKBLBNBRBTBUBV");
        assert_parses_to_0_31("cccBCDce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubV");
}

static void test_parse_bad(void **state) {
        static const char *const bad[] = {
                "",
                "c",
                /* one character short, one too many */
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbub",
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubvc",
                "cccbcdcecfcgchcicjckclcncrctcucvbcbbbdbebfbgbhbibjbkblbnbrbtbub",
                "cccbcdcecfcgchcicjckclcncrctcucvbcbbbdbebfbgbhbibjbkblbnbrbtbubvv",
                /* letters outside the alphabet: a, m, 0 */
                "accbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubm",
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbu0v",
                /* dashes in the wrong place, or some missing */
                "cccbcdc-ecfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                "cccbcdcecfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubvc",
                "-cccbcdcecfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbub",
                /* white space around or inside */
                " cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv\n",
                "cccbcdce cfcgchci cjckclcn crctcucv bcbbbdbe bfbgbhbi bjbkblbn brbtbubv",
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                SecureBuffer *b = NULL;
                if (recovery_key_parse(bad[i], &b) != -EINVAL)
                        fail_msg("accepted: \"%s\"", bad[i]);
                assert_null(b);
        }
}

static void test_normalize(void **state) {
        SecureBuffer *b = NULL;

        assert_int_equal(recovery_key_normalize("CCCBCDCECFCGCHCICJCKCLCNCRCTCUCVBCBBBDBEBFBGBHBIBJBKBLBNBRBTBUBV", &b), 0);
        assert_string_equal(b->data, KEY_0_31);
        secure_buffer_free(b);
        b = NULL;
        assert_int_equal(recovery_key_normalize("not a key", &b), -EINVAL);
        assert_null(b);
}

/* As typed: white space around, or between groups instead of dashes. */
static void test_normalize_typed(void **state) {
        static const char *const good[] = {
                KEY_0_31,
                " " KEY_0_31 " ",
                "\t" KEY_0_31 "\n",
                "cccbcdce cfcgchci cjckclcn crctcucv bcbbbdbe bfbgbhbi bjbkblbn brbtbubv",
                "  CCCBCDCE  CFCGCHCI CJCKCLCN\tCRCTCUCV BCBBBDBE BFBGBHBI BJBKBLBN BRBTBUBV ",
                "cccbcdce - cfcgchci- cjckclcn -crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
        };
        static const char *const bad[] = {
                "", "   ", "not a key",
                "ccc bcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv", /* a gap inside a group */
                "cccbcdce  cfcgchci cjckclcn crctcucv bcbbbdbe bfbgbhbi bjbkblbn brbtbub",  /* one short */
        };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                SecureBuffer *b = NULL;
                if (recovery_key_normalize_typed(good[i], &b) != 0)
                        fail_msg("refused: \"%s\"", good[i]);
                assert_string_equal(b->data, KEY_0_31);
                secure_buffer_free(b);
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                SecureBuffer *b = NULL;
                if (recovery_key_normalize_typed(bad[i], &b) != -EINVAL)
                        fail_msg("accepted: \"%s\"", bad[i]);
                assert_null(b);
        }
}

/* A new password create and passwd refuse: every spelling a recovery key is
 * taken in at login, the attack's upper-case one among them; and nothing
 * that merely looks alike. */
static void test_shaped(void **state) {
        static const char *const shaped[] = {
                KEY_0_31,
                "cccbcdcecfcgchcicjckclcncrctcucvbcbbbdbebfbgbhbibjbkblbnbrbtbubv",
                "CCCBCDCE-CFCGCHCI-CJCKCLCN-CRCTCUCV-BCBBBDBE-BFBGBHBI-BJBKBLBN-BRBTBUBV",
                "VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB",
                "cccBCDce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubV",
                " " KEY_0_31 " ",
                "cccbcdce cfcgchci cjckclcn crctcucv bcbbbdbe bfbgbhbi bjbkblbn brbtbubv",
                "cccbcdce - cfcgchci- cjckclcn -crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
        };
        static const char *const not_shaped[] = {
                "", "correct horse battery staple", "tina-pw", "Summer2026!",
                /* one letter short, one outside the alphabet, a group split */
                "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbub",
                "accbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                "ccc bcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv",
                /* a key with more after it */
                KEY_0_31 "!",
        };
        for (size_t i = 0; i < sizeof shaped / sizeof shaped[0]; i++)
                if (recovery_key_shaped(shaped[i]) != 1)
                        fail_msg("not taken for a recovery key: \"%s\"", shaped[i]);
        for (size_t i = 0; i < sizeof not_shaped / sizeof not_shaped[0]; i++)
                if (recovery_key_shaped(not_shaped[i]) != 0)
                        fail_msg("taken for a recovery key: \"%s\"", not_shaped[i]);
}

static void test_generate(void **state) {
        SecureBuffer *a = NULL, *b = NULL, *k = NULL;

        assert_int_equal(recovery_key_generate(&a), 0);
        assert_int_equal(recovery_key_generate(&b), 0);
        assert_int_equal(a->size, RECOVERY_KEY_TEXT_LEN);
        assert_int_equal(strlen(a->data), RECOVERY_KEY_TEXT_LEN);
        assert_string_not_equal(a->data, b->data);
        assert_int_equal(recovery_key_parse(a->data, &k), 0);
        for (size_t i = 8; i < RECOVERY_KEY_TEXT_LEN; i += 9)
                assert_int_equal(((char *) a->data)[i], '-');
        secure_buffer_free(a);
        secure_buffer_free(b);
        secure_buffer_free(k);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_normalize),
                cmocka_unit_test(test_normalize_typed),
                cmocka_unit_test(test_shaped),
                cmocka_unit_test(test_generate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
