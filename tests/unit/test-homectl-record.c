/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl's pure logic: record building for create/update, the secret
 * argument's JSON, exit statuses for D-Bus errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ask-password.h"
#include "exit-status.h"
#include "json-strict.h"
#include "password.h"
#include "record-build.h"

#define MID "0123456789abcdef0123456789abcdef"

static int setup(void **state) {
        user_record_set_machine(MID, "testhost");
        return 0;
}

static json_object *get(json_object *j, const char *path) {
        /* "a.b.0.c": object keys and array indexes. */
        char buf[256], *save = NULL;
        snprintf(buf, sizeof buf, "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save)) {
                if (json_object_is_type(j, json_type_array))
                        j = json_object_array_get_idx(j, (size_t) atoi(k));
                else if (!json_object_object_get_ex(j, k, &j))
                        return NULL;
        }
        return j;
}

static const char *get_s(json_object *j, const char *path) {
        json_object *v = get(j, path);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void test_create_minimal(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;
        char *error = NULL;

        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1000, &rec, &error), 0);
        assert_null(error);
        assert_string_equal(rec->user_name, "alice");
        assert_int_equal(rec->disposition, USER_DISPOSITION_REGULAR);
        assert_int_equal(rec->last_change_usec, 1000);
        assert_null(get(rec->json, "perMachine"));
        assert_null(get(rec->json, "secret"));
        assert_null(get(rec->json, "privileged"));
        user_record_free(rec);
}

static void test_create_fields(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        Passwords pw = {};
        UserRecord *rec = NULL;
        char *error = NULL;

        c.real_name = "Alice Liddell";
        c.email_address = "alice@example.org";
        c.shell = "/bin/zsh";
        c.storage = "luks";
        c.fs_type = "btrfs";
        c.image_path = "/home/alice.home";
        c.uid = 60100;
        c.uid_set = true;
        c.disk_size = UINT64_C(10) << 30;
        c.disk_size_set = true;
        assert_int_equal(record_changes_add_groups(&c, "wheel,audio"), 0);
        assert_int_equal(record_changes_add_groups(&c, "video,audio"), 0);
        assert_int_equal(passwords_add(&pw, "wonder\"land"), 0);

        assert_int_equal(record_build_create(NULL, "alice", &c, MID, &pw, 5000, &rec, &error), 0);
        assert_string_equal(get_s(rec->json, "realName"), "Alice Liddell");
        assert_string_equal(get_s(rec->json, "emailAddress"), "alice@example.org");
        assert_string_equal(get_s(rec->json, "shell"), "/bin/zsh");
        assert_int_equal(json_object_get_int64(get(rec->json, "uid")), 60100);
        assert_int_equal(json_object_array_length(get(rec->json, "memberOf")), 3);
        assert_string_equal(get_s(rec->json, "memberOf.2"), "video");
        /* Machine-local settings sit in perMachine, not at the top. */
        assert_null(get(rec->json, "storage"));
        assert_null(get(rec->json, "diskSize"));
        assert_string_equal(get_s(rec->json, "perMachine.0.matchMachineId.0"), MID);
        assert_string_equal(get_s(rec->json, "perMachine.0.storage"), "luks");
        assert_string_equal(get_s(rec->json, "perMachine.0.fileSystemType"), "btrfs");
        assert_string_equal(get_s(rec->json, "perMachine.0.imagePath"), "/home/alice.home");
        assert_int_equal(json_object_get_uint64(get(rec->json, "perMachine.0.diskSize")), UINT64_C(10) << 30);
        /* ...and apply to this machine. */
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        assert_int_equal(rec->disk_size, UINT64_C(10) << 30);
        /* Password: plain text in secret, hash in privileged. */
        assert_string_equal(get_s(rec->json, "secret.password.0"), "wonder\"land");
        const char *hashes[] = { get_s(rec->json, "privileged.hashedPassword.0"), NULL };
        assert_non_null(hashes[0]);
        assert_int_equal(password_verify("wonder\"land", hashes), 1);
        assert_int_equal(rec->last_password_change_usec, 5000);

        user_record_free(rec);
        passwords_done(&pw);
        record_changes_done(&c);
}

static void test_create_identity_base(void **state) {
        static const char text[] = "{\"userName\":\"alice\",\"realName\":\"Old\",\"preferredLanguage\":\"de_DE\","
                                   "\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"storage\":\"directory\"}]}";
        RecordChanges c = RECORD_CHANGES_INIT;
        json_object *j = NULL;
        UserRecord *rec = NULL;
        char *error = NULL;

        assert_int_equal(json_parse_strict(text, strlen(text), &j, NULL), 0);
        c.real_name = "New";
        c.storage = "subvolume";
        assert_int_equal(record_build_create(j, NULL, &c, MID, NULL, 1, &rec, &error), 0);
        assert_string_equal(rec->real_name, "New");
        assert_string_equal(get_s(rec->json, "preferredLanguage"), "de_DE");
        /* The existing entry for this machine is reused. */
        assert_int_equal(json_object_array_length(get(rec->json, "perMachine")), 1);
        assert_int_equal(rec->storage, USER_STORAGE_SUBVOLUME);
        user_record_free(rec);

        /* A name on the command line must agree with the file. */
        assert_int_equal(json_parse_strict(text, strlen(text), &j, NULL), 0);
        assert_int_equal(record_build_create(j, "bob", &c, MID, NULL, 1, &rec, &error), -EINVAL);
        assert_non_null(strstr(error, "userName"));
        free(error);
}

static void test_create_invalid(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;
        char *error = NULL;

        c.disk_size = 1000;
        c.disk_size_set = true;
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), -EINVAL);
        assert_non_null(strstr(error, "diskSize: must be at least 16 MiB"));
        free(error);
        error = NULL;

        c = (RecordChanges) RECORD_CHANGES_INIT;
        c.shell = "bin/sh";
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), -EINVAL);
        assert_non_null(strstr(error, "shell"));
        free(error);
        error = NULL;

        assert_int_equal(record_build_create(NULL, NULL, &c, MID, NULL, 1, &rec, &error), -EINVAL);
        assert_non_null(strstr(error, "userName"));
        free(error);
}

static void test_groups(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        assert_false(record_changes_any(&c));
        assert_int_equal(record_changes_add_groups(&c, "a,b"), 0);
        assert_true(record_changes_any(&c));
        assert_int_equal(c.n_member_of, 2);
        assert_int_equal(record_changes_add_groups(&c, ""), 0);
        assert_int_equal(c.n_member_of, 0);
        assert_true(c.member_of_set);
        assert_int_equal(record_changes_add_groups(&c, "ok,bad/name"), -EINVAL);
        assert_int_equal(record_changes_add_groups(&c, "a,,b"), -EINVAL);
        record_changes_done(&c);
}

static UserRecord *stored(const char *text) {
        UserRecord *rec = NULL;
        assert_int_equal(user_record_parse(text, strlen(text), &rec, NULL), 0);
        return rec;
}

static void test_update(void **state) {
        UserRecord *old = stored("{\"userName\":\"alice\",\"realName\":\"A\",\"shell\":\"/bin/sh\","
                                 "\"memberOf\":[\"wheel\"],\"lastChangeUSec\":2000,"
                                 "\"binding\":{\"" MID "\":{\"uid\":60100,\"storage\":\"directory\"}},"
                                 "\"status\":{\"" MID "\":{\"state\":\"active\"}},"
                                 "\"signature\":[{\"data\":\"x\",\"key\":\"y\"}],"
                                 "\"secret\":{\"password\":[\"pw\"]}}");
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;
        char *error = NULL;

        c.real_name = "Alice";
        c.shell = ""; /* removes */
        assert_int_equal(record_changes_add_groups(&c, ""), 0);
        c.disk_size = UINT64_C(1) << 30;
        c.disk_size_set = true;

        /* Clock behind the record: old + 1. */
        assert_int_equal(record_build_update(old, &c, MID, 1500, &rec, &error), 0);
        assert_int_equal(rec->last_change_usec, 2001);
        assert_string_equal(rec->real_name, "Alice");
        assert_null(get(rec->json, "shell"));
        assert_null(get(rec->json, "memberOf"));
        assert_null(get(rec->json, "binding"));
        assert_null(get(rec->json, "status"));
        assert_null(get(rec->json, "signature"));
        assert_null(get(rec->json, "secret"));
        assert_int_equal(json_object_get_uint64(get(rec->json, "perMachine.0.diskSize")), UINT64_C(1) << 30);
        /* The old record is untouched. */
        assert_string_equal(old->real_name, "A");
        assert_non_null(get(old->json, "binding"));
        user_record_free(rec);

        /* Clock ahead: now. */
        assert_int_equal(record_build_update(old, &c, MID, 9000, &rec, &error), 0);
        assert_int_equal(rec->last_change_usec, 9000);

        /* The secret can be put in for the retry, and replaced. */
        Passwords pw = {};
        assert_int_equal(passwords_add(&pw, "one"), 0);
        assert_int_equal(record_set_secret(rec, &pw), 0);
        assert_string_equal(get_s(rec->json, "secret.password.0"), "one");
        assert_int_equal(passwords_add(&pw, "two"), 0);
        assert_int_equal(record_set_secret(rec, &pw), 0);
        assert_string_equal(get_s(rec->json, "secret.password.1"), "two");
        passwords_done(&pw);
        assert_int_equal(record_set_secret(rec, &pw), 0);
        assert_null(get(rec->json, "secret"));
        user_record_free(rec);

        /* A removal of a machine-local field also removes it at the top. */
        record_changes_done(&c);
        c = (RecordChanges) RECORD_CHANGES_INIT;
        user_record_free(old);
        old = stored("{\"userName\":\"alice\",\"storage\":\"luks\",\"lastChangeUSec\":1}");
        c.storage = "";
        assert_int_equal(record_build_update(old, &c, MID, 9000, &rec, &error), 0);
        assert_null(get(rec->json, "storage"));
        assert_int_equal(rec->storage, USER_STORAGE_UNSET);
        user_record_free(rec);
        user_record_free(old);
}

static void test_no_machine_id(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;

        c.storage = "directory";
        assert_int_equal(record_build_create(NULL, "alice", &c, NULL, NULL, 1, &rec, NULL), 0);
        assert_string_equal(get_s(rec->json, "storage"), "directory");
        assert_null(get(rec->json, "perMachine"));
        user_record_free(rec);
}

static void test_secret_json(void **state) {
        Passwords p = {};
        char *s = NULL;
        json_object *j = NULL;

        assert_int_equal(passwords_to_json(&p, &s), 0);
        assert_string_equal(s, "{}");
        free(s);
        assert_int_equal(passwords_to_json(NULL, &s), 0);
        assert_string_equal(s, "{}");
        free(s);

        assert_int_equal(passwords_add(&p, "plain"), 0);
        assert_int_equal(passwords_add(&p, "q\"b\\s\n\x01ü"), 0);
        assert_int_equal(passwords_to_json(&p, &s), 0);
        assert_string_equal(s, "{\"password\":[\"plain\",\"q\\\"b\\\\s\\u000a\\u0001ü\"]}");
        /* And it is JSON that means the same strings. */
        assert_int_equal(json_parse_strict(s, strlen(s), &j, NULL), 0);
        assert_string_equal(get_s(j, "password.1"), "q\"b\\s\n\x01ü");
        json_object_put(j);
        free(s);
        passwords_done(&p);
        assert_int_equal(p.n, 0);
}

static void test_exit_status(void **state) {
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.NoSuchHome", -EIO), EXIT_NO_SUCH_HOME);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.DBus.Error.AccessDenied", -EACCES),
                         EXIT_ACCESS_DENIED);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.BadPassword", -EIO), EXIT_BAD_PASSWORD);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.BadPasswordAndNoToken", -EIO),
                         EXIT_BAD_PASSWORD);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.AuthenticationLimitHit", -EIO),
                         EXIT_BAD_PASSWORD);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.TokenPinLocked", -EIO), EXIT_BAD_PASSWORD);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.HomeBusy", -EIO), EXIT_BUSY);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.TooManyOperations", -EIO), EXIT_BUSY);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.HomeInUse", -EIO), EXIT_BUSY);
        assert_int_equal(exit_status_from_bus_error("org.freedesktop.home1.HomeNotActive", -EIO), EXIT_FAIL);
        assert_int_equal(exit_status_from_bus_error(NULL, -EACCES), EXIT_ACCESS_DENIED);
        assert_int_equal(exit_status_from_bus_error(NULL, -ENOENT), EXIT_FAIL);
        assert_true(bus_error_wants_password("org.freedesktop.home1.BadPassword"));
        assert_true(bus_error_wants_password("org.freedesktop.home1.BadPasswordAndNoToken"));
        assert_false(bus_error_wants_password("org.freedesktop.home1.AuthenticationLimitHit"));
        assert_false(bus_error_wants_password(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_minimal),  cmocka_unit_test(test_create_fields),
                cmocka_unit_test(test_create_identity_base), cmocka_unit_test(test_create_invalid),
                cmocka_unit_test(test_groups),          cmocka_unit_test(test_update),
                cmocka_unit_test(test_no_machine_id),   cmocka_unit_test(test_secret_json),
                cmocka_unit_test(test_exit_status),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
