/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker's view of a home: request checks, locking, hidden work names,
 * leftover cleanup, tree removal, and exit statuses. No root needed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "home.h"
#include "log.h"
#include "worker-protocol.h"

static char tmp[] = "/tmp/hearth-test-home.XXXXXX";
static char root[256], run[256];

static int setup(void **state) {
        assert_non_null(mkdtemp(tmp));
        snprintf(root, sizeof root, "%s/home", tmp);
        snprintf(run, sizeof run, "%s/run", tmp);
        assert_int_equal(mkdir(root, 0755), 0);
        setenv("HEARTH_HOME_ROOT", root, 1);
        setenv("HEARTH_RUNTIME_DIR", run, 1);
        log_set_max_level(LOG_EMERG);
        return 0;
}

static int teardown(void **state) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        return system(cmd) == 0 ? 0 : -1;
}

static UserRecord *record(const char *json) {
        UserRecord *rec = NULL;
        char *error = NULL;
        if (user_record_parse(json, strlen(json), &rec, &error) < 0)
                fail_msg("record refused: %s", error);
        return rec;
}

static void test_open_checks(void **state) {
        static const struct {
                const char *json;
                int err;
        } cases[] = {
                { "{\"userName\":\"a\",\"uid\":1000}", -EINVAL },
                { "{\"userName\":\"a\"}", -EINVAL },
                { "{\"userName\":\"a\",\"uid\":60000}", -EINVAL },
                { "{\"userName\":\"a\",\"uid\":60514}", -EINVAL },
                { "{\"userName\":\"a\",\"uid\":60001,\"gid\":60002}", -EINVAL },
                { "{\"userName\":\"a\",\"uid\":60001,\"homeDirectory\":\"/home/a\"}", -EINVAL },
                { "{\"userName\":\"a\",\"uid\":60001,\"homeDirectory\":\"/etc\"}", -EINVAL },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                UserRecord *rec = record(cases[i].json);
                Home *h = NULL;
                int r = home_open(rec, &h);
                if (r != cases[i].err)
                        fail_msg("case %zu: %d, expected %d", i, r, cases[i].err);
                assert_null(h);
                user_record_free(rec);
        }

        char json[512];
        snprintf(json, sizeof json, "{\"userName\":\"a\",\"uid\":60001,\"gid\":60001,\"homeDirectory\":\"%s/a\"}", root);
        UserRecord *rec = record(json);
        Home *h = NULL;
        assert_int_equal(home_open(rec, &h), 0);
        char want[300];
        snprintf(want, sizeof want, "%s/a", root);
        assert_string_equal(h->path, want);
        /* Stored as homed stores directory and subvolume homes. */
        snprintf(want, sizeof want, "%s/a.homedir", root);
        assert_string_equal(h->storage_path, want);
        assert_string_equal(h->storage_name, "a.homedir");

        /* The lock is per home: a second open of the same home is busy, of
         * another home is not. */
        Home *h2 = NULL;
        assert_int_equal(home_open(rec, &h2), -EBUSY);
        UserRecord *other = record("{\"userName\":\"b\",\"uid\":60002}");
        assert_int_equal(home_open(other, &h2), 0);
        home_free(h2);
        home_free(h);
        assert_int_equal(home_open(rec, &h), 0); /* released with the first */
        home_free(h);
        user_record_free(other);
        user_record_free(rec);

        /* A home root that is a symlink is refused. */
        char link[300];
        snprintf(link, sizeof link, "%s/link", tmp);
        assert_int_equal(symlink(root, link), 0);
        setenv("HEARTH_HOME_ROOT", link, 1);
        rec = record("{\"userName\":\"a\",\"uid\":60001}");
        assert_int_equal(home_open(rec, &h), -ENOTDIR); /* O_NOFOLLOW|O_DIRECTORY on a symlink */
        user_record_free(rec);
        setenv("HEARTH_HOME_ROOT", root, 1);
}

static void test_temp_and_leftovers(void **state) {
        UserRecord *rec = record("{\"userName\":\"carol\",\"uid\":60003}");
        Home *h = NULL;
        char *t1 = NULL, *t2 = NULL, path[512];
        int fd;

        assert_int_equal(home_open(rec, &h), 0);
        assert_int_equal(home_temp_name(h, "create", &t1), 0);
        assert_int_equal(home_temp_name(h, "create", &t2), 0);
        assert_true(strncmp(t1, ".#hearth-create.carol.", 22) == 0);
        assert_int_equal(strlen(t1), 22 + 6);
        assert_string_not_equal(t1, t2);

        /* Leftovers: a tree under t1, a file under t2; others' names stay. */
        assert_int_equal(mkdirat(h->root_fd, t1, 0700), 0);
        snprintf(path, sizeof path, "%s/%s/sub", root, t1);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(path, sizeof path, "%s/%s/sub/f", root, t1);
        fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
        fd = openat(h->root_fd, t2, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);
        const char *keep[] = { ".#hearth-create.carolyn.abcdef", ".#hearth-create.caro.abcdef",
                               ".#hearth-create.carol.abc", "carol", ".#other.carol.abcdef" };
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
                assert_int_equal(mkdirat(h->root_fd, keep[i], 0700), 0);

        assert_int_equal(home_clean_leftovers(h), 2); /* how many were removed */
        assert_int_equal(faccessat(h->root_fd, t1, F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(faccessat(h->root_fd, t2, F_OK, AT_SYMLINK_NOFOLLOW), -1);
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
                assert_int_equal(faccessat(h->root_fd, keep[i], F_OK, AT_SYMLINK_NOFOLLOW), 0);
                assert_int_equal(unlinkat(h->root_fd, keep[i], AT_REMOVEDIR), 0);
        }
        free(t1);
        free(t2);
        home_free(h);
        user_record_free(rec);
}

/* Where the storage is goes into binding.<machine-id>, added to what is
 * there, and an inspect's sections keep it (homed binds luksUuid and the
 * like there; hearthd hands the binding back with every request). */
static void test_bind(void **state) {
        static const char mid[] = "0123456789abcdef0123456789abcdef";
        UserRecord *rec;
        Home *h = NULL;
        json_object *b, *e, *v;

        user_record_set_machine(mid, "host");
        rec = record("{\"userName\":\"dora\",\"uid\":60004,\"storage\":\"luks\","
                     "\"binding\":{\"0123456789abcdef0123456789abcdef\":{\"gid\":60004}}}");
        assert_int_equal(home_open(rec, &h), 0);
        json_object *f = json_object_new_object();
        json_object_object_add(f, "luksUuid", json_object_new_string("7e6a5db3-8891-43c6-a4e4-3f5f2a15785e"));
        json_object_object_add(f, "fileSystemType", json_object_new_string("ext4"));
        assert_int_equal(home_bind(h, f), 0);
        f = json_object_new_object();
        json_object_object_add(f, "fileSystemUuid", json_object_new_string("c5218c75-c4f2-4d4e-bcff-73227d020c9f"));
        assert_int_equal(home_bind(h, f), 0);
        assert_string_equal(rec->luks_uuid, "7e6a5db3-8891-43c6-a4e4-3f5f2a15785e");
        assert_string_equal(rec->file_system_uuid, "c5218c75-c4f2-4d4e-bcff-73227d020c9f");
        assert_string_equal(rec->file_system_type, "ext4");
        assert_null(json_object_object_get(rec->json, "luksUuid")); /* not in the signed part */
        assert_int_equal(home_update_sections(h, NULL), 0);
        assert_true(json_object_object_get_ex(rec->json, "binding", &b));
        assert_true(json_object_object_get_ex(b, mid, &e));
        assert_true(json_object_object_get_ex(e, "luksUuid", &v));
        assert_true(json_object_object_get_ex(e, "fileSystemUuid", &v));
        assert_true(json_object_object_get_ex(e, "gid", &v)); /* what was bound before stays too */
        assert_true(json_object_object_get_ex(e, "homeDirectory", &v));
        assert_string_equal(rec->luks_uuid, "7e6a5db3-8891-43c6-a4e4-3f5f2a15785e");
        home_free(h);
        user_record_free(rec);
        user_record_set_machine(NULL, NULL);
}

static void test_rm_rf_no_follow(void **state) {
        char outside[300], path[512];
        int dfd, fd;

        /* A symlink inside the tree to a directory outside: the link goes,
         * what it points to stays. */
        snprintf(outside, sizeof outside, "%s/outside", tmp);
        assert_int_equal(mkdir(outside, 0755), 0);
        snprintf(path, sizeof path, "%s/keep", outside);
        fd = open(path, O_CREAT | O_WRONLY, 0600);
        assert_true(fd >= 0);
        close(fd);

        dfd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(dfd >= 0);
        assert_int_equal(mkdirat(dfd, "victim", 0700), 0);
        snprintf(path, sizeof path, "%s/victim/a/b/c", root);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && ln -s '%s' '%s/victim/a/link' && touch '%s/f'", path, outside,
                 root, path);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(home_rm_rf_at(dfd, "victim"), 0);
        assert_int_equal(faccessat(dfd, "victim", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        snprintf(path, sizeof path, "%s/keep", outside);
        assert_int_equal(access(path, F_OK), 0);
        assert_int_equal(home_rm_rf_at(dfd, "victim"), 0); /* already gone: fine */
        close(dfd);
}

static void test_exit_status(void **state) {
        assert_int_equal(worker_exit_status(0), WORKER_OK);
        assert_int_equal(worker_exit_status(-EINVAL), WORKER_BAD_REQUEST);
        assert_int_equal(worker_exit_status(-EKEYREJECTED), WORKER_BAD_PASSWORD);
        /* A PKCS#11 token's PIN (common/pkcs11-token.h's errors). */
        assert_int_equal(worker_exit_status(-ENOANO), WORKER_TOKEN_PIN_NEEDED);
        assert_int_equal(worker_exit_status(-EBADE), WORKER_BAD_PIN);
        assert_int_equal(worker_exit_status(-EBADR), WORKER_BAD_PIN_FEW_TRIES);
        assert_int_equal(worker_exit_status(-EBADRQC), WORKER_BAD_PIN_ONE_TRY);
        assert_int_equal(worker_exit_status(-ENOLCK), WORKER_TOKEN_PIN_LOCKED);
        assert_int_equal(worker_exit_status(-EDQUOT), WORKER_NO_SPACE);
        assert_int_equal(worker_exit_status(-ENOSPC), WORKER_NO_SPACE);
        assert_int_equal(worker_exit_status(-EBUSY), WORKER_BUSY);
        assert_int_equal(worker_exit_status(-ENOENT), WORKER_NOT_FOUND);
        assert_int_equal(worker_exit_status(-EEXIST), WORKER_EXISTS);
        assert_int_equal(worker_exit_status(-ERANGE), WORKER_BAD_SIZE);
        assert_int_equal(worker_exit_status(-EOPNOTSUPP), WORKER_UNSUPPORTED);
        assert_int_equal(worker_exit_status(-EIO), WORKER_STORAGE_ERROR);
        assert_int_equal(worker_exit_status(-ELOOP), WORKER_STORAGE_ERROR);
        assert_int_equal(worker_exit_status(-EILSEQ), WORKER_PASSWORD_QUALITY);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_checks),
                cmocka_unit_test(test_temp_and_leftovers),
                cmocka_unit_test(test_bind),
                cmocka_unit_test(test_rm_rf_no_follow),
                cmocka_unit_test(test_exit_status),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
