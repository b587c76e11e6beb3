/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl's pure logic: record building for create/update (TPM2 fields
 * included), the secret argument's JSON, exit statuses for D-Bus errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ask-password.h"
#include "exit-status.h"
#include "format.h"
#include "json-path.h"
#include "json-strict.h"
#include "password.h"
#include "record-build.h"

#define MID "0123456789abcdef0123456789abcdef"

static int setup(void **state) {
        user_record_set_machine(MID, "testhost");
        return 0;
}

static const char *get_s(json_object *j, const char *path) {
        json_object *v = json_path(j, path);
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
        assert_null(json_path(rec->json, "perMachine"));
        assert_null(json_path(rec->json, "secret"));
        assert_null(json_path(rec->json, "privileged"));
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
        assert_int_equal(json_object_get_int64(json_path(rec->json, "uid")), 60100);
        assert_int_equal(json_object_array_length(json_path(rec->json, "memberOf")), 3);
        assert_string_equal(get_s(rec->json, "memberOf.2"), "video");
        /* Machine-local settings sit in perMachine, not at the top. */
        assert_null(json_path(rec->json, "storage"));
        assert_null(json_path(rec->json, "diskSize"));
        assert_string_equal(get_s(rec->json, "perMachine.0.matchMachineId"), MID);
        assert_string_equal(get_s(rec->json, "perMachine.0.storage"), "luks");
        assert_string_equal(get_s(rec->json, "perMachine.0.fileSystemType"), "btrfs");
        assert_string_equal(get_s(rec->json, "perMachine.0.imagePath"), "/home/alice.home");
        assert_int_equal(json_object_get_uint64(json_path(rec->json, "perMachine.0.diskSize")), UINT64_C(10) << 30);
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
        assert_int_equal(json_object_array_length(json_path(rec->json, "perMachine")), 1);
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
        assert_null(json_path(rec->json, "shell"));
        assert_null(json_path(rec->json, "memberOf"));
        assert_null(json_path(rec->json, "binding"));
        assert_null(json_path(rec->json, "status"));
        assert_null(json_path(rec->json, "signature"));
        assert_null(json_path(rec->json, "secret"));
        assert_int_equal(json_object_get_uint64(json_path(rec->json, "perMachine.0.diskSize")), UINT64_C(1) << 30);
        /* The old record is untouched. */
        assert_string_equal(old->real_name, "A");
        assert_non_null(json_path(old->json, "binding"));
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
        assert_null(json_path(rec->json, "secret"));
        user_record_free(rec);

        /* A removal of a machine-local field also removes it at the top. */
        record_changes_done(&c);
        c = (RecordChanges) RECORD_CHANGES_INIT;
        user_record_free(old);
        old = stored("{\"userName\":\"alice\",\"storage\":\"luks\",\"lastChangeUSec\":1}");
        c.storage = "";
        assert_int_equal(record_build_update(old, &c, MID, 9000, &rec, &error), 0);
        assert_null(json_path(rec->json, "storage"));
        assert_int_equal(rec->storage, USER_STORAGE_UNSET);
        user_record_free(rec);

        /* autoResizeMode and rebalanceWeight: top-level; off is homed's false. */
        c.storage = NULL;
        c.auto_resize_mode = "grow";
        c.rebalance_weight = 0;
        c.rebalance_weight_set = true;
        assert_int_equal(record_build_update(old, &c, MID, 9000, &rec, &error), 0);
        assert_string_equal(get_s(rec->json, "autoResizeMode"), "grow");
        assert_true(json_object_is_type(json_path(rec->json, "rebalanceWeight"), json_type_boolean));
        assert_false(json_object_get_boolean(json_path(rec->json, "rebalanceWeight")));
        assert_true(user_record_rebalance_weight(rec) == 0);
        assert_int_equal(user_record_auto_resize(rec), USER_AUTO_RESIZE_GROW);
        user_record_free(rec);
        c.rebalance_weight = 250;
        c.auto_resize_mode = "";
        assert_int_equal(record_build_update(old, &c, MID, 9000, &rec, &error), 0);
        assert_null(json_path(rec->json, "autoResizeMode"));
        assert_int_equal(json_object_get_uint64(json_path(rec->json, "rebalanceWeight")), 250);
        assert_int_equal(user_record_auto_resize(rec), USER_AUTO_RESIZE_SHRINK_AND_GROW); /* LUKS: homed's default */
        user_record_free(rec);
        c.rebalance_weight = UINT64_MAX; /* --rebalance-weight= removes it */
        assert_int_equal(record_build_update(old, &c, MID, 9000, &rec, &error), 0);
        assert_null(json_path(rec->json, "rebalanceWeight"));
        assert_true(user_record_rebalance_weight(rec) == USER_REBALANCE_WEIGHT_DEFAULT);
        user_record_free(rec);
        user_record_free(old);
}

static void test_no_machine_id(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;

        c.storage = "directory";
        assert_int_equal(record_build_create(NULL, "alice", &c, NULL, NULL, 1, &rec, NULL), 0);
        assert_string_equal(get_s(rec->json, "storage"), "directory");
        assert_null(json_path(rec->json, "perMachine"));
        user_record_free(rec);
}

static void test_tpm2_pcrs_parse(void **state) {
        uint32_t m = 0xdead;

        assert_int_equal(tpm2_pcrs_parse("7", &m), 0);
        assert_int_equal(m, UINT32_C(1) << 7);
        assert_int_equal(tpm2_pcrs_parse("11,7", &m), 0);
        assert_int_equal(m, (UINT32_C(1) << 7) | (UINT32_C(1) << 11));
        assert_int_equal(tpm2_pcrs_parse("0,23,7,7", &m), 0);
        assert_int_equal(m, UINT32_C(1) | (UINT32_C(1) << 7) | (UINT32_C(1) << 23));
        assert_int_equal(tpm2_pcrs_parse("07", &m), 0);
        assert_int_equal(m, UINT32_C(1) << 7);
        /* Empty: no PCRs at all, which is not the default. */
        assert_int_equal(tpm2_pcrs_parse("", &m), 0);
        assert_int_equal(m, 0);

        static const char *const bad[] = {
                "24", "99", "100", "007", "-1", "+7", " 7", "7 ", "7,", ",7", "7,,11", ",", "0x7", "7;11", "seven",
                "4294967303", /* 2^32 + 7 */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                m = 0xdead;
                assert_int_equal(tpm2_pcrs_parse(bad[i], &m), -EINVAL);
                assert_int_equal(m, 0xdead); /* untouched on failure */
        }
}

static void test_create_tpm2(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;
        char *error = NULL;

        /* Nothing asked: no field. */
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), 0);
        assert_null(json_path(rec->json, "tpm2"));
        assert_null(json_path(rec->json, "tpm2Pcrs"));
        assert_null(json_path(rec->json, "tpm2KeepPassword"));
        assert_false(record_wants_tpm2(rec->json));
        assert_false(record_changes_any(&c));
        user_record_free(rec);

        /* --tpm2-pcrs=7,11 --storage=luks: the fields at the top level, PCRs
         * in order; storage stays in perMachine. */
        c.storage = "luks";
        assert_int_equal(tpm2_pcrs_parse("11,7", &c.tpm2_pcrs), 0);
        c.tpm2_pcrs_set = c.tpm2_set = c.tpm2 = true;
        assert_true(record_changes_any(&c));
        assert_true(record_changes_tpm2_any(&c));
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), 0);
        assert_true(json_object_is_type(json_path(rec->json, "tpm2"), json_type_boolean));
        assert_true(json_object_get_boolean(json_path(rec->json, "tpm2")));
        assert_int_equal(json_object_array_length(json_path(rec->json, "tpm2Pcrs")), 2);
        assert_int_equal(json_object_get_int(json_path(rec->json, "tpm2Pcrs.0")), 7);
        assert_int_equal(json_object_get_int(json_path(rec->json, "tpm2Pcrs.1")), 11);
        assert_null(json_path(rec->json, "tpm2KeepPassword"));
        assert_null(json_path(rec->json, "perMachine.0.tpm2"));
        assert_true(record_wants_tpm2(rec->json));
        assert_false(record_tpm2_keeps_password(rec->json));
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        user_record_free(rec);

        /* --tpm2 alone makes a LUKS home, for this machine. */
        c = (RecordChanges) RECORD_CHANGES_INIT;
        c.tpm2_set = c.tpm2 = true;
        c.tpm2_keep_password_set = c.tpm2_keep_password = true;
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), 0);
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        assert_string_equal(get_s(rec->json, "perMachine.0.storage"), "luks");
        assert_null(json_path(rec->json, "tpm2Pcrs")); /* the worker's default, 7 */
        assert_true(json_object_get_boolean(json_path(rec->json, "tpm2KeepPassword")));
        assert_true(record_tpm2_keeps_password(rec->json));
        user_record_free(rec);
        /* ...or at the top level without a machine ID (firstboot --root). */
        assert_int_equal(record_build_create(NULL, "alice", &c, NULL, NULL, 1, &rec, &error), 0);
        assert_string_equal(get_s(rec->json, "storage"), "luks");
        user_record_free(rec);

        /* --tpm2-pcrs= (empty): an empty list, not the default. */
        c = (RecordChanges) RECORD_CHANGES_INIT;
        c.storage = "luks";
        c.tpm2_pcrs_set = c.tpm2_set = c.tpm2 = true;
        assert_int_equal(tpm2_pcrs_parse("", &c.tpm2_pcrs), 0);
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), 0);
        assert_true(json_object_is_type(json_path(rec->json, "tpm2Pcrs"), json_type_array));
        assert_int_equal(json_object_array_length(json_path(rec->json, "tpm2Pcrs")), 0);
        user_record_free(rec);

        /* --tpm2=no: false, and storage is left to hearthd. */
        c = (RecordChanges) RECORD_CHANGES_INIT;
        c.tpm2_set = true;
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), 0);
        assert_true(json_object_is_type(json_path(rec->json, "tpm2"), json_type_boolean));
        assert_false(json_object_get_boolean(json_path(rec->json, "tpm2")));
        assert_int_equal(rec->storage, USER_STORAGE_UNSET);
        user_record_free(rec);

        /* Any other storage is refused, from the flags or from the record. */
        c = (RecordChanges) RECORD_CHANGES_INIT;
        c.tpm2_set = c.tpm2 = true;
        c.storage = "directory";
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, NULL, 1, &rec, &error), -EMEDIUMTYPE);
        assert_non_null(strstr(error, "tpm2: a TPM2-sealed key needs storage luks, not directory"));
        free(error);
        error = NULL;

        static const char subvol[] = "{\"userName\":\"alice\",\"storage\":\"subvolume\",\"tpm2\":true}";
        json_object *j = NULL;
        c = (RecordChanges) RECORD_CHANGES_INIT;
        assert_int_equal(json_parse_strict(subvol, strlen(subvol), &j, NULL), 0);
        assert_int_equal(record_build_create(j, NULL, &c, MID, NULL, 1, &rec, &error), -EMEDIUMTYPE);
        assert_non_null(strstr(error, "not subvolume"));
        free(error);
        error = NULL;
        /* ...unless the command line turns it off. */
        c.tpm2_set = true;
        assert_int_equal(json_parse_strict(subvol, strlen(subvol), &j, NULL), 0);
        assert_int_equal(record_build_create(j, NULL, &c, MID, NULL, 1, &rec, &error), 0);
        assert_false(record_wants_tpm2(rec->json));
        user_record_free(rec);
}

static void test_tpm2_record_fields(void **state) {
        static const struct {
                const char *text; /* the fields after "userName" */
                int result;
                const char *error;
        } cases[] = {
                { "\"tpm2\":true,\"tpm2Pcrs\":[0,7,23],\"tpm2KeepPassword\":false", 0, NULL },
                { "\"tpm2\":true,\"tpm2Pcrs\":[]", 0, NULL },
                { "\"tpm2\":false,\"storage\":\"directory\"", 0, NULL },
                { "\"tpm2\":\"yes\"", -EINVAL, "tpm2: must be a boolean" },
                { "\"tpm2\":1", -EINVAL, "tpm2: must be a boolean" },
                { "\"tpm2\":true,\"tpm2KeepPassword\":\"no\"", -EINVAL, "tpm2KeepPassword: must be a boolean" },
                { "\"tpm2\":true,\"tpm2Pcrs\":7", -EINVAL, "tpm2Pcrs: must be a list" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[\"7\"]", -EINVAL, "tpm2Pcrs: must be a list" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[7.5]", -EINVAL, "tpm2Pcrs: must be a list" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[24]", -EINVAL, "tpm2Pcrs: 24 is no PCR number" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[-1]", -EINVAL, "tpm2Pcrs: -1 is no PCR number" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[99]", -EINVAL, "tpm2Pcrs: 99 is no PCR number" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[4294967303]", -EINVAL, "is no PCR number" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[7,7]", -EINVAL, "tpm2Pcrs: PCR 7 is listed twice" },
                /* Checked without tpm2 too: the worker reads them either way. */
                { "\"tpm2Pcrs\":[30]", -EINVAL, "tpm2Pcrs: 30 is no PCR number" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                RecordChanges c = RECORD_CHANGES_INIT;
                UserRecord *rec = NULL;
                char *error = NULL, text[256];
                json_object *j = NULL;

                snprintf(text, sizeof text, "{\"userName\":\"alice\",%s}", cases[i].text);
                assert_int_equal(json_parse_strict(text, strlen(text), &j, NULL), 0);
                int r = record_build_create(j, NULL, &c, MID, NULL, 1, &rec, &error);
                if (r != cases[i].result || (cases[i].error && (!error || !strstr(error, cases[i].error))))
                        fail_msg("%s: got %d \"%s\"", text, r, error ?: "");
                if (r == 0)
                        user_record_free(rec);
                free(error);
        }
}

static void test_update_tpm2(void **state) {
        /* Storage chosen by hearthd lives in the binding, which update drops:
         * the check uses the stored record's effective storage. */
        UserRecord *luks = stored("{\"userName\":\"alice\",\"lastChangeUSec\":1,"
                                  "\"binding\":{\"" MID "\":{\"storage\":\"luks\"}}}");
        UserRecord *dir = stored("{\"userName\":\"bob\",\"lastChangeUSec\":1,"
                                 "\"binding\":{\"" MID "\":{\"storage\":\"directory\"}}}");
        RecordChanges c = RECORD_CHANGES_INIT;
        UserRecord *rec = NULL;
        char *error = NULL;

        c.tpm2_pcrs_set = c.tpm2_set = c.tpm2 = true;
        c.tpm2_pcrs = UINT32_C(1) << 7;
        assert_int_equal(record_build_update(luks, &c, MID, 9000, &rec, &error), 0);
        assert_true(record_wants_tpm2(rec->json));
        assert_int_equal(json_object_get_int(json_path(rec->json, "tpm2Pcrs.0")), 7);
        /* Never a storage change on update. */
        assert_null(json_path(rec->json, "perMachine"));
        assert_null(json_path(rec->json, "storage"));
        user_record_free(rec);

        assert_int_equal(record_build_update(dir, &c, MID, 9000, &rec, &error), -EMEDIUMTYPE);
        assert_non_null(strstr(error, "not directory"));
        free(error);
        user_record_free(luks);
        user_record_free(dir);
}

static void test_recovery_key_secret(void **state) {
        RecordChanges c = RECORD_CHANGES_INIT;
        Passwords pw = {};
        UserRecord *rec = NULL;

        c.tpm2_set = c.tpm2 = true;
        assert_int_equal(passwords_add(&pw, "pw"), 0);
        assert_int_equal(record_build_create(NULL, "alice", &c, MID, &pw, 1, &rec, NULL), 0);
        Passwords keys = {};
        assert_int_equal(passwords_add(&keys, "first"), 0);
        assert_int_equal(record_set_recovery_keys(rec, &keys), 0);
        passwords_done(&keys);
        assert_int_equal(passwords_add(&keys, "second"), 0);
        assert_int_equal(record_set_recovery_keys(rec, &keys), 0);
        passwords_done(&keys);
        /* Beside the password, replacing the earlier key. */
        assert_string_equal(get_s(rec->json, "secret.password.0"), "pw");
        assert_int_equal(json_object_array_length(json_path(rec->json, "secret.recoveryKey")), 1);
        assert_string_equal(get_s(rec->json, "secret.recoveryKey.0"), "second");
        /* Never printed with the record. */
        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET), 0);
        assert_null(strstr(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT), "second"));
        user_record_free(rec);
        passwords_done(&pw);
}

static void test_print_recovery_key(void **state) {
#define KEY "cccbcdce-cfcgchci-cjckclcn-crctcucv-bcbbbdbe-bfbgbhbi-bjbkblbn-brbtbubv"
        char buf[1024];
        int fds[2];
        ssize_t n;

        assert_int_equal(pipe(fds), 0);
        print_recovery_key(fds[1], "alice", KEY);
        close(fds[1]);
        n = read(fds[0], buf, sizeof buf - 1);
        close(fds[0]);
        assert_true(n > 0);
        buf[n] = 0;
        /* On a line of its own, in its groups, and how to use it. */
        assert_non_null(strstr(buf, "\n        " KEY "\n"));
        assert_non_null(strstr(buf, "Recovery key of home alice"));
        assert_non_null(strstr(buf, "Write it down: it is shown once and never stored."));
        assert_non_null(strstr(buf, "PASSWORD=<recovery key> homectl activate alice\n"));
        assert_null(strstr(strstr(buf, KEY) + 1, KEY)); /* once */
#undef KEY
}

static char *summary(const char *text) {
        UserRecord *rec = stored(text);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        record_print_offline(f, rec, "unsigned", false);
        fclose(f);
        user_record_free(rec);
        return buf;
}

static void test_print_tpm2(void **state) {
        static const struct {
                const char *fields, *line; /* line NULL: none */
        } cases[] = {
                { "\"storage\":\"luks\"", NULL },
                { "\"tpm2\":false", NULL },
                { "\"tpm2\":true", "TPM2 key: yes, PCRs 7\n" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[0,7,11]", "TPM2 key: yes, PCRs 0+7+11\n" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[]", "TPM2 key: yes, PCRs none\n" },
                { "\"tpm2\":true,\"tpm2KeepPassword\":true", "TPM2 key: yes, PCRs 7, password keyslot kept\n" },
                { "\"tpm2\":true,\"tpm2Pcrs\":[7,\"x\",99]", "TPM2 key: yes, PCRs 7+?+?\n" },
                { "\"tpm2\":true,\"tpm2Pcrs\":{}", "TPM2 key: yes, PCRs ?\n" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char text[256];
                snprintf(text, sizeof text, "{\"userName\":\"alice\",%s}", cases[i].fields);
                char *out = summary(text);
                if (cases[i].line ? !strstr(out, cases[i].line) : !!strstr(out, "TPM2"))
                        fail_msg("%s:\n%s", text, out);
                free(out);
        }

        /* Hundreds of PCR entries: cut short, not overflowing. */
        char big[4096] = "{\"userName\":\"alice\",\"tpm2\":true,\"tpm2Pcrs\":[7";
        for (int i = 0; i < 500; i++)
                strcat(big, ",23");
        strcat(big, "]}");
        free(summary(big));
}

static void test_secret_json(void **state) {
        Passwords p = {};
        SecureBuffer *b = NULL;
        const char *s;
        json_object *j = NULL;

        assert_int_equal(passwords_to_json(&p, &b), 0);
        s = b->data;
        assert_string_equal(s, "{}");
        secure_buffer_free(b);
        assert_int_equal(passwords_to_json(NULL, &b), 0);
        s = b->data;
        assert_string_equal(s, "{}");
        secure_buffer_free(b);

        assert_int_equal(passwords_add(&p, "plain"), 0);
        assert_int_equal(passwords_add(&p, "q\"b\\s\n\x01ü"), 0);
        assert_int_equal(passwords_to_json(&p, &b), 0);
        s = b->data;
        assert_string_equal(s, "{\"password\":[\"plain\",\"q\\\"b\\\\s\\u000a\\u0001ü\"]}");
        /* And it is JSON that means the same strings. */
        assert_int_equal(json_parse_strict(s, strlen(s), &j, NULL), 0);
        assert_string_equal(get_s(j, "password.1"), "q\"b\\s\n\x01ü");
        json_object_put(j);
        secure_buffer_free(b);

        /* A token's PIN goes beside the passwords, and alone. */
        assert_int_equal(passwords_set_pin(&p, "12\"34"), 0);
        assert_int_equal(passwords_to_json(&p, &b), 0);
        s = b->data;
        assert_string_equal(s, "{\"password\":[\"plain\",\"q\\\"b\\\\s\\u000a\\u0001ü\"],\"pkcs11Pin\":[\"12\\\"34\"]}");
        secure_buffer_free(b);
        passwords_done(&p);
        assert_int_equal(p.n, 0);
        assert_null(p.pin);
        assert_int_equal(passwords_set_pin(&p, "1234"), 0);
        assert_int_equal(passwords_to_json(&p, &b), 0);
        s = b->data;
        assert_string_equal(s, "{\"password\":[],\"pkcs11Pin\":[\"1234\"]}");
        secure_buffer_free(b);
        passwords_done(&p);
}

static void test_print_pkcs11(void **state) {
        char *out = summary("{\"userName\":\"alice\",\"pkcs11TokenUri\":[\"pkcs11:token=a\",\"pkcs11:token=b\"]}");
        if (!strstr(out, "PKCS11 Token: pkcs11:token=a\n") || !strstr(out, "pkcs11:token=b\n"))
                fail_msg("%s", out);
        free(out);
        out = summary("{\"userName\":\"alice\"}");
        if (strstr(out, "PKCS11"))
                fail_msg("%s", out);
        free(out);
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
        assert_int_equal(exit_status_from_bus_error("io.hearth.Home.TpmStateChanged", -EIO), EXIT_TPM_STATE_CHANGED);
        assert_int_equal(exit_status_from_bus_error("io.hearth.Home.TpmUnavailable", -EIO), EXIT_TPM_UNAVAILABLE);
        assert_int_equal(EXIT_TPM_STATE_CHANGED, 80);
        assert_int_equal(EXIT_TPM_UNAVAILABLE, 81);
        assert_int_equal(exit_status_from_bus_error("io.hearth.Home.ForeignStorage", -EIO), EXIT_FOREIGN_STORAGE);
        assert_int_equal(EXIT_FOREIGN_STORAGE, 82);
        assert_non_null(strstr(bus_error_default_message("io.hearth.Home.ForeignStorage"), "different image"));
        assert_non_null(bus_error_default_message("org.freedesktop.home1.TokenPinLocked"));
        assert_non_null(strstr(bus_error_default_message("io.hearth.Home.TpmStateChanged"), "firmware or boot"));
        assert_null(bus_error_default_message("org.freedesktop.home1.BadPassword"));
        assert_null(bus_error_default_message(NULL));
        char *hint = NULL;
        assert_int_equal(bus_error_hint("io.hearth.Home.TpmStateChanged", "alice", &hint), 0);
        assert_string_equal(hint, "home alice: the TPM's state changed (firmware or boot change); activate with the "
                                  "recovery key: PASSWORD=<recovery key> homectl activate alice");
        free(hint);
        assert_int_equal(bus_error_hint("io.hearth.Home.TpmUnavailable", "alice", &hint), 0);
        assert_null(hint);
        assert_int_equal(bus_error_hint(NULL, "alice", &hint), 0);
        assert_null(hint);
        assert_false(bus_error_wants_password("io.hearth.Home.TpmStateChanged"));
        assert_false(bus_error_wants_password("org.freedesktop.home1.TokenPinLocked"));
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
                cmocka_unit_test(test_exit_status),     cmocka_unit_test(test_tpm2_pcrs_parse),
                cmocka_unit_test(test_create_tpm2),     cmocka_unit_test(test_tpm2_record_fields),
                cmocka_unit_test(test_update_tpm2),     cmocka_unit_test(test_recovery_key_secret),
                cmocka_unit_test(test_print_recovery_key), cmocka_unit_test(test_print_tpm2),
                cmocka_unit_test(test_print_pkcs11),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
