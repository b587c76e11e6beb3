/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User records: a table of malformed records, each refused with its own
 * message naming the field and the rule; a full valid record; unknown
 * fields surviving a round trip; perMachine and binding; stripping. */
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
#include "user-record.h"

#define MID "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"

typedef struct Bad {
        const char *json;
        size_t len; /* 0: strlen */
        int err;
        const char *error;
} Bad;

#define B(j, e) { j, 0, -EINVAL, e }

static const Bad bad[] = {
        /* types */
        B("{\"userName\":\"a\",\"uid\":\"60100\"}", "uid: must be an unsigned integer"),
        B("{\"userName\":\"a\",\"uid\":1.5}", "uid: must be an unsigned integer"),
        B("{\"userName\":\"a\",\"uid\":-1}", "uid: must not be negative"),
        B("{\"userName\":\"a\",\"uid\":65535}", "uid: must be between 0 and 4294967294 and not 65535"),
        B("{\"userName\":\"a\",\"uid\":4294967295}", "uid: must be between 0 and 4294967294"),
        B("{\"userName\":\"a\",\"gid\":4294967296}", "gid: must be between 0 and 4294967294"),
        B("{\"userName\":\"a\",\"locked\":\"yes\"}", "locked: must be a boolean"),
        B("{\"userName\":\"a\",\"locked\":1}", "locked: must be a boolean"),
        B("{\"userName\":\"a\",\"diskSize\":\"1G\"}", "diskSize: must be an unsigned integer"),
        B("{\"userName\":\"a\",\"diskSize\":1000}", "diskSize: must be at least 16 MiB"),
        B("{\"userName\":\"a\",\"diskSize\":2305843009213693952}", "diskSize: must be at most 1 EiB"),
        B("{\"userName\":\"a\",\"memberOf\":\"wheel\"}", "memberOf: must be an array of strings"),
        B("{\"userName\":\"a\",\"memberOf\":[1]}", "memberOf: entry 0 must be a string"),
        B("{\"userName\":\"a\",\"memberOf\":[\"wheel\",\"9x\"]}", "memberOf: entry 1 is not a valid group name"),
        B("{\"userName\":\"a\",\"memberOf\":[\"wheel\",\"wheel\"]}", "memberOf: group \"wheel\" listed twice"),
        B("{\"userName\":\"a\",\"realName\":[\"x\"]}", "realName: must be a string"),
        B("{\"userName\":\"a\",\"notBeforeUSec\":true}", "notBeforeUSec: must be an unsigned integer"),
        /* user names */
        B("{\"userName\":\"\"}", "userName: must be 1 to 31 characters"),
        B("{\"userName\":\"9lives\"}", "userName: must be 1 to 31 characters"),
        B("{\"userName\":\"a/b\"}", "userName: must be"),
        B("{\"userName\":\"..\"}", "userName: must be"),
        B("{\"userName\":\"abcdefghijklmnopqrstuvwxyzabcdef\"}", "userName: must be 1 to 31 characters"),
        B("{\"userName\":\"b\\u00e9a\"}", "userName: must be"),
        B("{\"userName\":\"has space\"}", "userName: must be"),
        B("{\"userName\":7}", "userName: must be a string"),
        B("{\"realName\":\"Nobody\"}", "userName: required"),
        /* top level */
        B("[]", "a user record must be a JSON object"),
        B("\"alice\"", "a user record must be a JSON object"),
        B("42", "a user record must be a JSON object"),
        B("null", "a user record must be a JSON object"),
        /* strings with rules */
        B("{\"userName\":\"a\",\"realName\":\"A:B\"}", "realName: must not contain ':' or control characters"),
        B("{\"userName\":\"a\",\"realName\":\"A\\nB\"}", "realName: must not contain ':' or control characters"),
        B("{\"userName\":\"a\",\"emailAddress\":\"nobody\"}", "emailAddress: must be an address"),
        B("{\"userName\":\"a\",\"homeDirectory\":\"home/a\"}", "homeDirectory: must be an absolute, normalized path"),
        B("{\"userName\":\"a\",\"homeDirectory\":\"/home/../root\"}", "homeDirectory: must be an absolute, normalized path"),
        B("{\"userName\":\"a\",\"homeDirectory\":\"/home/a/\"}", "homeDirectory: must be an absolute, normalized path"),
        B("{\"userName\":\"a\",\"homeDirectory\":\"/home//a\"}", "homeDirectory: must be an absolute, normalized path"),
        B("{\"userName\":\"a\",\"shell\":\"bash\"}", "shell: must be an absolute, normalized path"),
        B("{\"userName\":\"a\",\"storage\":\"fscrypt\"}", "storage: must be one of luks, directory, subvolume"),
        B("{\"userName\":\"a\",\"fileSystemType\":\"vfat\"}", "fileSystemType: must be one of btrfs, ext4, xfs"),
        B("{\"userName\":\"a\",\"disposition\":\"weird\"}", "disposition: must be one of intrinsic"),
        B("{\"userName\":\"a\",\"luksPbkdfType\":\"scrypt\"}", "luksPbkdfType: must be one of argon2id, argon2i, pbkdf2"),
        B("{\"userName\":\"a\",\"luksPbkdfParallelThreads\":0}", "luksPbkdfParallelThreads: must be between 1 and 16"),
        B("{\"userName\":\"a\",\"luksVolumeKeySize\":48}", "luksVolumeKeySize: must be 16, 32 or 64"),
        B("{\"userName\":\"a\",\"luksExtraMountOptions\":\"a b\"}", "luksExtraMountOptions: must be a comma-separated list"),
        B("{\"userName\":\"a\",\"luksCipher\":\"aes;rm\"}", "luksCipher: must be 1 to 64 characters"),
        /* cross-field */
        B("{\"userName\":\"a\",\"notBeforeUSec\":10,\"notAfterUSec\":5}", "notAfterUSec: must not be before notBeforeUSec"),
        B("{\"userName\":\"a\",\"passwordChangeMinUSec\":10,\"passwordChangeMaxUSec\":5}",
          "passwordChangeMaxUSec: must not be less than passwordChangeMinUSec"),
        /* sections */
        B("{\"userName\":\"a\",\"hashedPassword\":[\"$y$x\"]}", "hashedPassword: not allowed in this section"),
        B("{\"userName\":\"a\",\"privileged\":[]}", "privileged: must be an object"),
        B("{\"userName\":\"a\",\"privileged\":{\"hashedPassword\":\"$y$x\"}}", "privileged.hashedPassword: must be an array of strings"),
        B("{\"userName\":\"a\",\"privileged\":{\"hashedPassword\":[\"a:b\"]}}", "privileged.hashedPassword: entry 0 must be a non-empty crypt(3) hash"),
        B("{\"userName\":\"a\",\"privileged\":{\"hashedPassword\":[\"\"]}}", "privileged.hashedPassword: entry 0 must be a non-empty"),
        B("{\"userName\":\"a\",\"secret\":{\"password\":[\"\"]}}", "secret.password: entry 0 must not be empty"),
        B("{\"userName\":\"a\",\"secret\":[]}", "secret: must be an object"),
        B("{\"userName\":\"a\",\"perMachine\":{}}", "perMachine: must be an array of objects"),
        B("{\"userName\":\"a\",\"perMachine\":[{\"diskSize\":20000000}]}", "perMachine[0]: needs matchMachineId or matchHostname"),
        B("{\"userName\":\"a\",\"perMachine\":[{\"matchMachineId\":\"xyz\"}]}", "perMachine[0].matchMachineId: entry 0 is not a machine ID"),
        B("{\"userName\":\"a\",\"perMachine\":[{\"matchHostname\":\"h\",\"userName\":\"b\"}]}", "perMachine[0].userName: not allowed in this section"),
        B("{\"userName\":\"a\",\"perMachine\":[{\"matchMachineId\":\"" OTHER "\",\"diskSize\":1}]}", "perMachine[0].diskSize: must be at least 16 MiB"),
        B("{\"userName\":\"a\",\"binding\":{\"notamachine\":{}}}", "binding: key is not a machine ID"),
        B("{\"userName\":\"a\",\"binding\":{\"" MID "\":5}}", "binding: entry for " MID " must be an object"),
        B("{\"userName\":\"a\",\"binding\":{\"" MID "\":{\"realName\":\"x\"}}}", "realName: not allowed in this section"),
        B("{\"userName\":\"a\",\"status\":[]}", "status: must be an object keyed by machine ID"),
        B("{\"userName\":\"a\",\"signature\":{}}", "signature: must be an array of objects"),
        B("{\"userName\":\"a\",\"signature\":[{\"data\":\"x\"}]}", "signature: entry 0 must be an object with strings \"data\" and \"key\""),
        /* syntax and encoding */
        B("{\"userName\":\"a\",\"uid\":1,\"uid\":2}", "duplicate key \"uid\""),
        B("{\"userName\":\"a\",\"privileged\":{\"x\":1,\"x\":2}}", "duplicate key \"x\""),
        B("{\"uid\":1,\"\\u0075id\":2,\"userName\":\"a\"}", "duplicate key \"uid\""),
        B("{\"userName\":\"a\xc3\x28\"}", "invalid UTF-8"),
        B("{\"userName\":\"\xc0\xaf\"}", "invalid UTF-8"),
        B("{\"userName\":\"\xed\xa0\x80\"}", "invalid UTF-8"),
        { "{\"userName\":\"a\0b\"}", 18, -EINVAL, "NUL byte" },
        B("{\"userName\":\"a\\u0000b\"}", "NUL character"),
        B("{\"userName\":\"a\\ud800\"}", "lone high surrogate"),
        B("{\"userName\":\"a\"} x", "trailing data"),
        B("{\"userName\":\"a\",}", "expected a string as object key"),
        B("{'userName':'a'}", "expected a string as object key"),
        B("{\"userName\":\"a\",\"uid\":0123}", "leading zero"),
        B("{\"userName\":\"a\",\"uid\":18446744073709551616}", "integer out of range"),
        B("{\"userName\":\"a", "unterminated string"),
        B("{\"userName\":\"a\tb\"}", "control character in string"),
};

static char *deep_json(int depth) {
        size_t n = (size_t) depth * 2 + 64;
        char *s = malloc(n), *p = s;
        p += sprintf(p, "{\"userName\":\"a\",\"x\":");
        for (int i = 0; i < depth; i++)
                *p++ = '[';
        for (int i = 0; i < depth; i++)
                *p++ = ']';
        strcpy(p, "}");
        return s;
}

static void expect_bad(size_t i, const char *json, size_t len, int err, const char *want) {
        UserRecord *rec = NULL;
        char *error = NULL;
        int r = user_record_parse(json, len, &rec, &error);
        if (r != err || rec || !error || !strstr(error, want))
                fail_msg("case %zu: got %d \"%s\", expected %d \"%s\"", i, r, error ?: "(none)", err, want);
        free(error);
}

static void test_malformed(void **state) {
        user_record_set_machine(MID, "host1");
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                expect_bad(i, bad[i].json, bad[i].len ?: strlen(bad[i].json), bad[i].err, bad[i].error);

        /* Huge strings, deep nesting, a huge document. */
        char *s = malloc(3000);
        strcpy(s, "{\"userName\":\"a\",\"realName\":\"");
        memset(s + strlen(s), 'x', 2000);
        strcpy(s + 28 + 2000, "\"}");
        expect_bad(1000, s, strlen(s), -EINVAL, "realName: must be at most 1024 bytes");
        free(s);
        s = deep_json(40);
        expect_bad(1001, s, strlen(s), -EINVAL, "nested deeper than 32 levels");
        free(s);
        size_t big = JSON_STRICT_MAX_SIZE + 100;
        s = malloc(big + 1);
        memset(s, ' ', big);
        memcpy(s, "{\"userName\":\"a\"}", 16);
        s[big] = 0;
        expect_bad(1002, s, big, -E2BIG, "document too large");
        free(s);
        user_record_set_machine(NULL, NULL);
        assert_true(sizeof bad / sizeof bad[0] >= 40);
}

static UserRecord *parse_ok(const char *json) {
        UserRecord *rec = NULL;
        char *error = NULL;
        if (user_record_parse(json, strlen(json), &rec, &error) < 0)
                fail_msg("refused: %s", error);
        return rec;
}

static void test_full_record(void **state) {
        const char *json =
                "{\"userName\":\"alice\",\"realName\":\"Alice L\",\"emailAddress\":\"a@example.org\",\"uid\":60100,"
                "\"gid\":60100,\"memberOf\":[\"wheel\",\"audio\"],\"homeDirectory\":\"/home/alice\","
                "\"imagePath\":\"/home/alice.home\",\"shell\":\"/bin/zsh\",\"storage\":\"luks\",\"diskSize\":16777216,"
                "\"fileSystemType\":\"ext4\",\"disposition\":\"regular\",\"locked\":false,\"notBeforeUSec\":1,"
                "\"notAfterUSec\":2,\"lastChangeUSec\":3,\"lastPasswordChangeUSec\":4,\"passwordChangeMinUSec\":5,"
                "\"passwordChangeMaxUSec\":6,\"passwordChangeWarnUSec\":7,\"passwordChangeInactiveUSec\":8,"
                "\"passwordChangeNow\":true,\"enforcePasswordPolicy\":false,\"autoLogin\":true,\"luksDiscard\":true,"
                "\"luksCipher\":\"aes\",\"luksCipherMode\":\"xts-plain64\",\"luksVolumeKeySize\":64,"
                "\"luksPbkdfType\":\"argon2id\",\"luksPbkdfHashAlgorithm\":\"sha512\",\"luksPbkdfTimeCostUSec\":500000,"
                "\"luksPbkdfMemoryCost\":67108864,\"luksPbkdfParallelThreads\":4,\"luksExtraMountOptions\":\"noatime\","
                "\"skeletonDirectory\":\"/etc/skel\",\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]},"
                "\"secret\":{\"password\":[\"pw\"]}}";
        UserRecord *rec = parse_ok(json);
        assert_string_equal(rec->user_name, "alice");
        assert_string_equal(rec->real_name, "Alice L");
        assert_string_equal(rec->email_address, "a@example.org");
        assert_int_equal(rec->uid, 60100);
        assert_int_equal(rec->gid, 60100);
        assert_string_equal(rec->member_of[1], "audio");
        assert_null(rec->member_of[2]);
        assert_string_equal(rec->home_directory, "/home/alice");
        assert_string_equal(rec->image_path, "/home/alice.home");
        assert_string_equal(rec->shell, "/bin/zsh");
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        assert_int_equal(rec->disk_size, 16777216);
        assert_string_equal(rec->file_system_type, "ext4");
        assert_int_equal(rec->disposition, USER_DISPOSITION_REGULAR);
        assert_int_equal(rec->locked, 0);
        assert_int_equal(rec->not_before_usec, 1);
        assert_int_equal(rec->not_after_usec, 2);
        assert_int_equal(rec->last_change_usec, 3);
        assert_int_equal(rec->last_password_change_usec, 4);
        assert_int_equal(rec->password_change_min_usec, 5);
        assert_int_equal(rec->password_change_max_usec, 6);
        assert_int_equal(rec->password_change_warn_usec, 7);
        assert_int_equal(rec->password_change_inactive_usec, 8);
        assert_int_equal(rec->password_change_now, 1);
        assert_int_equal(rec->enforce_password_policy, 0);
        assert_int_equal(rec->auto_login, 1);
        assert_int_equal(rec->luks_discard, 1);
        assert_string_equal(rec->luks_cipher, "aes");
        assert_string_equal(rec->luks_cipher_mode, "xts-plain64");
        assert_int_equal(rec->luks_volume_key_size, 64);
        assert_string_equal(rec->luks_pbkdf_type, "argon2id");
        assert_string_equal(rec->luks_pbkdf_hash_algorithm, "sha512");
        assert_int_equal(rec->luks_pbkdf_time_cost_usec, 500000);
        assert_int_equal(rec->luks_pbkdf_memory_cost, 67108864);
        assert_int_equal(rec->luks_pbkdf_parallel_threads, 4);
        assert_string_equal(rec->luks_extra_mount_options, "noatime");
        assert_string_equal(rec->skeleton_directory, "/etc/skel");
        assert_string_equal(rec->hashed_password[0], "$y$a$b");
        assert_string_equal(rec->password[0], "pw");
        assert_int_equal(rec->has_sections, USER_RECORD_PRIVILEGED | USER_RECORD_SECRET);

        /* Stripping the secret wipes the password list from the view. */
        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET), 0);
        assert_null(rec->password);
        assert_string_equal(rec->hashed_password[0], "$y$a$b");
        user_record_free(rec);
}

static void test_round_trip(void **state) {
        const char *json = "{\"userName\":\"bob\",\"futureField\":{\"nested\":[1,2,{\"x\":null}]},\"uid\":60101,"
                           "\"privileged\":{\"hashedPassword\":[\"$y$q\"],\"sshAuthorizedKeys\":[\"ssh-ed25519 AAA\"]},"
                           "\"perMachine\":[{\"matchHostname\":\"h\",\"iconName\":\"x\"}],\"zzz\":18446744073709551615}";
        UserRecord *a = parse_ok(json);
        const char *out = user_record_to_string(a, USER_RECORD_FORMAT_SHORT);
        UserRecord *b = parse_ok(out);
        assert_true(json_object_equal(a->json, b->json));
        out = user_record_to_string(b, USER_RECORD_FORMAT_PRETTY);
        UserRecord *c = parse_ok(out);
        assert_true(json_object_equal(a->json, c->json));
        user_record_free(a);
        user_record_free(b);
        user_record_free(c);
}

static void test_per_machine_and_binding(void **state) {
        user_record_set_machine(MID, "host1");
        UserRecord *rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,\"perMachine\":["
                                   "{\"matchMachineId\":\"" OTHER "\",\"diskSize\":33554432},"
                                   "{\"matchMachineId\":[\"" OTHER "\",\"" MID "\"],\"diskSize\":67108864,\"storage\":\"luks\"},"
                                   "{\"matchHostname\":\"host1\",\"shell\":\"/bin/fish\"}],"
                                   "\"binding\":{\"" MID "\":{\"uid\":60200,\"imagePath\":\"/home/c.home\"},"
                                   "\"" OTHER "\":{\"uid\":60300}}}");
        assert_int_equal(rec->disk_size, 67108864); /* the matching entry, not the other machine's */
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        assert_string_equal(rec->shell, "/bin/fish");
        assert_int_equal(rec->uid, 60200); /* this machine's binding */
        assert_string_equal(rec->image_path, "/home/c.home");
        user_record_free(rec);

        user_record_set_machine(OTHER, "host2");
        rec = parse_ok("{\"userName\":\"c\",\"perMachine\":[{\"matchHostname\":\"host1\",\"shell\":\"/bin/fish\"}],"
                       "\"binding\":{\"" MID "\":{\"uid\":60200}}}");
        assert_null(rec->shell);
        assert_int_equal(rec->uid, UID_INVALID);
        user_record_free(rec);
        user_record_set_machine(NULL, NULL);
}

static void test_boundaries(void **state) {
        UserRecord *rec = parse_ok("{\"userName\":\"abcdefghijklmnopqrstuvwxyzabcde\",\"uid\":4294967294,\"diskSize\":16777216}");
        assert_int_equal(rec->uid, 4294967294u);
        user_record_free(rec);
        assert_true(valid_user_name("_x"));
        assert_false(valid_user_name("-x"));
        assert_false(valid_home_uid(60000));
        assert_true(valid_home_uid(60001));
        assert_true(valid_home_uid(60513));
        assert_false(valid_home_uid(60514));

        UserRecord *orig = parse_ok("{\"userName\":\"d\",\"secret\":{\"password\":[\"x\"]},\"status\":{}}");
        json_object *without = user_record_without(orig, USER_RECORD_SECRET | USER_RECORD_STATUS);
        assert_false(json_object_object_get_ex(without, "secret", NULL));
        assert_true(json_object_object_get_ex(orig->json, "secret", NULL)); /* untouched */
        json_object_put(without);
        user_record_free(orig);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_full_record),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_per_machine_and_binding),
                cmocka_unit_test(test_boundaries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
