/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files hearthd writes (hearthd/nss-files.c) as libnss_hearth reads them:
 * the exact format, memberOf as group members, and the answers the module
 * gives from them. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fileio.h"
#include "macro.h"
#include "nss-files.h"
#include "nss-hearth.h"
#include "user-record.h"

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static UserRecord *record(const char *json) {
        UserRecord *rec = NULL;
        char *error = NULL;

        if (user_record_parse(json, strlen(json), &rec, &error) < 0)
                fail_msg("%s: %s", json, error);
        return rec;
}

static void assert_file(const char *dir, const char *name, const char *expected) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;

        assert_true(asprintf(&path, "%s/%s", dir, name) >= 0);
        assert_int_equal(read_file_bounded(path, 1 << 20, &text, &len), 0);
        assert_string_equal(text, expected);
}

static void test_round_trip(void **state) {
        char dir[] = "/tmp/hearth-test-nss-files.XXXXXX";
        UserRecord *recs[5];
        struct passwd pw;
        struct group gr;
        char buf[512];
        long int start = 1, size = 1;
        gid_t *groups = malloc(sizeof *groups);
        int err = 0;

        assert_non_null(groups);
        assert_non_null(mkdtemp(dir));
        /* bob is a home: alice joins his own group. adm is defined
         * elsewhere: a line with its GID carries alice and bob. root is
         * never given through us (GID 0), a group nobody defines is left out. dave's UID is outside the home range:
         * no line at all, and not a member anywhere. */
        recs[0] = record("{\"userName\":\"alice\",\"uid\":60001,\"realName\":\"Alice L.\","
                         "\"memberOf\":[\"bob\",\"root\",\"adm\",\"hearth-no-such-group\"]}");
        recs[1] = record("{\"userName\":\"bob\",\"uid\":60002,\"shell\":\"/bin/sh\",\"memberOf\":[\"root\",\"adm\"]}");
        recs[2] = record("{\"userName\":\"carol\",\"uid\":60003,\"homeDirectory\":\"/srv/carol\"}");
        recs[3] = record("{\"userName\":\"dave\",\"uid\":70000,\"memberOf\":[\"root\",\"bob\"]}");
        recs[4] = NULL;
        assert_int_equal(nss_files_write(dir, "/home", recs, 4), 0);

        assert_file(dir, "passwd",
                    "alice:x:60001:60001:Alice L.:/home/alice:/bin/bash\n"
                    "bob:x:60002:60002::/home/bob:/bin/sh\n"
                    "carol:x:60003:60003::/srv/carol:/bin/bash\n");
        assert_file(dir, "group",
                    "alice:x:60001:\n"
                    "bob:x:60002:alice\n"
                    "carol:x:60003:\n"
                    "adm:x:4:alice,bob\n");

        /* What the module makes of them. */
        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", dir, 1), 0);
        assert_int_equal(_nss_hearth_getpwnam_r("alice", &pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_gecos, "Alice L.");
        assert_int_equal(_nss_hearth_getgrgid_r(60002, &gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_mem[0], "alice");
        assert_null(gr.gr_mem[1]);
        assert_int_equal(_nss_hearth_getgrnam_r("adm", &gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
        groups[0] = 60001;
        assert_int_equal(_nss_hearth_initgroups_dyn("alice", 60001, &start, &size, &groups, 0, &err),
                         NSS_STATUS_SUCCESS);
        assert_int_equal(start, 3);
        assert_int_equal(groups[1], 60002);
        assert_int_equal(groups[2], 4);
        assert_int_equal(_nss_hearth_getpwnam_r("dave", &pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);

        /* bob is removed: alice's membership of his group goes with him. */
        user_record_free(recs[1]);
        recs[1] = recs[2];
        assert_int_equal(nss_files_write(dir, "/home", recs, 2), 0);
        assert_file(dir, "group",
                    "alice:x:60001:\n"
                    "carol:x:60003:\n"
                    "adm:x:4:alice\n");

        for (size_t i = 0; i < 4; i++)
                if (i != 2)
                        user_record_free(recs[i]);
        free(groups);
        unsetenv("HEARTH_RUNTIME_DIR");
        assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
