/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnss_hearth through its NSS entry points (and its parser directly):
 * lookups, ERANGE with every too-small buffer, malformed and hostile lines,
 * unsafe files, re-reading after a change, enumeration order, initgroups. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "nss-hearth.h"
#include "table.h"

/* hearthd's format (hearthd/nss-files.c): bob is a member of audio and of
 * alice's group's neighbour; audio and video are groups defined elsewhere
 * that carry only Hearth's members. */
static const char PASSWD[] =
        "alice:x:60001:60001:Alice Liddell:/home/alice:/bin/sh\n"
        "bob:x:60002:60002:Bob,Room 1,,:/home/bob:/bin/bash\n"
        "carol:x:60003:60003::/home/carol:\n";
static const char GROUP[] =
        "alice:x:60001:\n"
        "bob:x:60002:alice,carol\n"
        "carol:x:60003:\n"
        "audio:x:29:alice,bob\n"
        "video:x:44:carol\n";

static char *dir;

/* ---- fixture ------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state) {
        dir = strdup("/tmp/hearth-test-nss-module.XXXXXX");
        if (!dir || !mkdtemp(dir))
                return -1;
        return setenv("HEARTH_RUNTIME_DIR", dir, 1);
}

static int teardown(void **state) {
        int r;

        (void) _nss_hearth_endpwent();
        (void) _nss_hearth_endgrent();
        (void) chmod(dir, 0700);
        r = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        dir = mfree(dir);
        unsetenv("HEARTH_RUNTIME_DIR");
        return r == 0 ? 0 : -1;
}

/* ---- helpers --------------------------------------------------------------------- */

static char *path_of(const char *name) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static void write_raw(const char *path, const void *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(fchmod(fd, 0644), 0);
        assert_int_equal(close(fd), 0);
}

/* As hearthd replaces them: a new file renamed over the old one. */
static void put_file(const char *name, const char *text) {
        _cleanup_free_ char *tmp = NULL, *path = path_of(name);

        assert_true(asprintf(&tmp, "%s/.#%s.tmp", dir, name) >= 0);
        write_raw(tmp, text, strlen(text));
        assert_int_equal(rename(tmp, path), 0);
}

static void put_both(void) {
        put_file("passwd", PASSWD);
        put_file("group", GROUP);
}

static enum nss_status pwnam(const char *name, struct passwd *pw, int *err) {
        static char buf[4096];
        return _nss_hearth_getpwnam_r(name, pw, buf, sizeof buf, err);
}

static enum nss_status pwuid(uid_t uid, struct passwd *pw, int *err) {
        static char buf[4096];
        return _nss_hearth_getpwuid_r(uid, pw, buf, sizeof buf, err);
}

static enum nss_status grnam(const char *name, struct group *gr, int *err) {
        static char buf[4096];
        return _nss_hearth_getgrnam_r(name, gr, buf, sizeof buf, err);
}

static enum nss_status grgid(gid_t gid, struct group *gr, int *err) {
        static char buf[4096];
        return _nss_hearth_getgrgid_r(gid, gr, buf, sizeof buf, err);
}

static void assert_pw(const struct passwd *pw, const char *name, uid_t uid, const char *gecos, const char *dir_,
                      const char *shell) {
        assert_string_equal(pw->pw_name, name);
        assert_string_equal(pw->pw_passwd, "x");
        assert_int_equal(pw->pw_uid, uid);
        assert_int_equal(pw->pw_gid, uid);
        assert_string_equal(pw->pw_gecos, gecos);
        assert_string_equal(pw->pw_dir, dir_);
        assert_string_equal(pw->pw_shell, shell);
}

/* "a,b" of gr_mem, for comparing member lists in one assertion. */
static void assert_members(const struct group *gr, const char *expected) {
        char joined[512] = "";

        for (char **m = gr->gr_mem; *m; m++) {
                if (m != gr->gr_mem)
                        strcat(joined, ",");
                strcat(joined, *m);
        }
        assert_string_equal(joined, expected);
}

static void assert_pw_absent(const char *name) {
        struct passwd pw;
        int err = 0;
        assert_int_equal(pwnam(name, &pw, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
}

static void assert_pw_shell(const char *name, const char *shell) {
        struct passwd pw;
        int err = 0;
        assert_int_equal(pwnam(name, &pw, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_shell, shell);
}

/* ---- lookups ----------------------------------------------------------------------- */

static void test_passwd_lookups(void **state) {
        struct passwd pw;
        int err = 0;

        put_both();
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
        assert_pw(&pw, "alice", 60001, "Alice Liddell", "/home/alice", "/bin/sh");
        assert_int_equal(pwuid(60002, &pw, &err), NSS_STATUS_SUCCESS);
        assert_pw(&pw, "bob", 60002, "Bob,Room 1,,", "/home/bob", "/bin/bash");
        /* Empty fields are fields. */
        assert_int_equal(pwnam("carol", &pw, &err), NSS_STATUS_SUCCESS);
        assert_pw(&pw, "carol", 60003, "", "/home/carol", "");

        assert_pw_absent("dave");
        assert_pw_absent("Alice");
        err = 0;
        assert_int_equal(pwuid(60004, &pw, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
        err = 0;
        assert_int_equal(pwuid((uid_t) -1, &pw, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
}

/* A child forked after the module ran (its fork handlers registered) must
 * still look users up: the locks are made anew there. */
static void test_lookup_after_fork(void **state) {
        struct passwd pw;
        int err = 0, status;

        put_both();
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                alarm(10); /* a deadlock ends as SIGALRM */
                _exit(pwnam("bob", &pw, &err) == NSS_STATUS_SUCCESS && pwuid(60001, &pw, &err) == NSS_STATUS_SUCCESS
                              ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_group_lookups(void **state) {
        struct group gr;
        int err = 0;

        put_both();
        assert_int_equal(grnam("bob", &gr, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_name, "bob");
        assert_string_equal(gr.gr_passwd, "x");
        assert_int_equal(gr.gr_gid, 60002);
        assert_members(&gr, "alice,carol");
        assert_int_equal(grgid(60001, &gr, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_name, "alice");
        assert_members(&gr, "");

        /* Lines of groups defined elsewhere only carry memberships. */
        err = 0;
        assert_int_equal(grnam("audio", &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
        err = 0;
        assert_int_equal(grgid(44, &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
        err = 0;
        assert_int_equal(grnam("nobody", &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
        err = 0;
        assert_int_equal(grgid((gid_t) -1, &gr, &err), NSS_STATUS_NOTFOUND);

        /* A group is a user's own only with her name and her UID as GID. */
        put_file("group", "alice:x:60009:\nbob:x:60002:\nzed:x:60003:\n");
        err = 0;
        assert_int_equal(grnam("alice", &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(grnam("zed", &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(grgid(60003, &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(grnam("bob", &gr, &err), NSS_STATUS_SUCCESS);
        /* Without a passwd file no group is Hearth's. */
        _cleanup_free_ char *p = path_of("passwd");
        assert_int_equal(unlink(p), 0);
        err = 0;
        assert_int_equal(grnam("bob", &gr, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
}

/* A relative $HEARTH_RUNTIME_DIR is not taken (common/runtime-paths.h):
 * the files would depend on the working directory of whatever program
 * looks a user up. The module then reads /run/hearth. */
static void test_relative_runtime_dir(void **state) {
        struct passwd pw;
        int err = 0;
        char cwd[4096];

        if (access("/run/hearth/passwd", F_OK) == 0)
                skip(); /* a running hearthd's users would answer */
        put_both();
        assert_non_null(getcwd(cwd, sizeof cwd));
        assert_int_equal(chdir(dir), 0);
        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", ".", 1), 0);
        enum nss_status st = pwnam("alice", &pw, &err);
        assert_int_equal(chdir(cwd), 0);
        assert_int_equal(st, NSS_STATUS_NOTFOUND);
}

static void test_missing_files(void **state) {
        struct passwd pw;
        struct group gr;
        long int start = 1, size = 1;
        gid_t *groups = malloc(sizeof *groups);
        char buf[256];
        int err = 0;

        assert_non_null(groups);
        groups[0] = 1;
        for (int round = 0; round < 3; round++) {
                /* An empty directory, no directory, and a file where the directory should be. */
                if (round == 1)
                        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", "/nonexistent/hearth", 1), 0);
                if (round == 2) {
                        _cleanup_free_ char *f = path_of("file");
                        write_raw(f, "", 0);
                        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", f, 1), 0);
                }
                err = 0;
                assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                err = 0;
                assert_int_equal(pwuid(60001, &pw, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                err = 0;
                assert_int_equal(grnam("alice", &gr, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                err = 0;
                assert_int_equal(grgid(60001, &gr, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                (void) _nss_hearth_setpwent(0);
                err = 0;
                assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                (void) _nss_hearth_endpwent();
                (void) _nss_hearth_setgrent(0);
                err = 0;
                assert_int_equal(_nss_hearth_getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                (void) _nss_hearth_endgrent();
                err = 0;
                assert_int_equal(_nss_hearth_initgroups_dyn("alice", 60001, &start, &size, &groups, 0, &err),
                                 NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                assert_int_equal(start, 1);
        }
        free(groups);
}

/* Names no file can hold are not looked for. */
static void test_query_names(void **state) {
        char long_name[TABLE_NAME_MAX + 2];

        put_both();
        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        assert_pw_absent("");
        assert_pw_absent("alice:x");
        assert_pw_absent("alice,bob");
        assert_pw_absent("+alice");
        assert_pw_absent(long_name);
        assert_pw_absent(NULL);
}

static void test_errno_kept(void **state) {
        struct passwd pw;
        int err = 0;

        put_both();
        errno = EXDEV;
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
        assert_int_equal(errno, EXDEV);
        /* On failure *errnop tells, errno stays (unless *errnop is errno
         * itself, as in glibc) even though lstat() failed on the way. */
        _cleanup_free_ char *p = path_of("passwd");
        assert_int_equal(unlink(p), 0);
        errno = EXDEV;
        err = 0;
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
        assert_int_equal(errno, EXDEV);
        assert_int_equal(pwnam("nobody", &pw, &errno), NSS_STATUS_NOTFOUND);
        assert_int_equal(errno, ENOENT);
}

/* ---- ERANGE ------------------------------------------------------------------------------ */

/* Every size below the one that fits gives TRYAGAIN/ERANGE; each buffer is
 * malloc'd to its exact size (at every alignment), so that ASan and
 * valgrind see a write past it. */
static void test_erange_passwd(void **state) {
        const size_t need = strlen("alice") + strlen("x") + strlen("Alice Liddell") + strlen("/home/alice") +
                            strlen("/bin/sh") + 5;

        put_both();
        for (size_t len = 0; len <= need; len++) {
                char *buf = len ? malloc(len) : NULL;
                struct passwd pw;
                int err = 0;
                enum nss_status s = _nss_hearth_getpwnam_r("alice", &pw, buf, len, &err);

                if (len < need) {
                        assert_int_equal(s, NSS_STATUS_TRYAGAIN);
                        assert_int_equal(err, ERANGE);
                        err = 0;
                        assert_int_equal(_nss_hearth_getpwuid_r(60001, &pw, buf, len, &err), NSS_STATUS_TRYAGAIN);
                        assert_int_equal(err, ERANGE);
                } else {
                        assert_int_equal(s, NSS_STATUS_SUCCESS);
                        assert_pw(&pw, "alice", 60001, "Alice Liddell", "/home/alice", "/bin/sh");
                }
                free(buf);
        }
}

static void test_erange_group(void **state) {
        /* The pointer array needs alignment: try every misalignment. */
        for (size_t off = 0; off < sizeof(char *); off++) {
                size_t fit = 0;

                put_both();
                for (size_t len = 0; len < 256 && !fit; len++) {
                        char *block = malloc(off + len + 1), *buf = block + off;
                        struct group gr;
                        int err = 0;
                        enum nss_status s = _nss_hearth_getgrnam_r("bob", &gr, buf, len, &err);

                        if (s == NSS_STATUS_SUCCESS) {
                                fit = len;
                                assert_int_equal(gr.gr_gid, 60002);
                                assert_string_equal(gr.gr_name, "bob");
                                assert_members(&gr, "alice,carol");
                                assert_int_equal((uintptr_t) gr.gr_mem % alignof(char *), 0);
                                /* Everything inside the caller's buffer. */
                                assert_true((char *) gr.gr_mem >= buf && (char *) (gr.gr_mem + 3) <= buf + len);
                        } else {
                                assert_int_equal(s, NSS_STATUS_TRYAGAIN);
                                assert_int_equal(err, ERANGE);
                                err = 0;
                                assert_int_equal(_nss_hearth_getgrgid_r(60002, &gr, buf, len, &err),
                                                 NSS_STATUS_TRYAGAIN);
                                assert_int_equal(err, ERANGE);
                        }
                        free(block);
                }
                /* 3 pointers, "bob", "x", "alice", "carol", padding below one pointer. */
                assert_true(fit >= 3 * sizeof(char *) + 4 + 2 + 6 + 6);
                assert_true(fit < 3 * sizeof(char *) + 4 + 2 + 6 + 6 + sizeof(char *));
        }
}

/* A too-small buffer must not move the enumeration on: the caller retries
 * the same entry with a larger one. */
static void test_erange_enumeration(void **state) {
        char small[8], big[512];
        struct passwd pw;
        struct group gr;
        int err = 0;

        put_both();
        assert_int_equal(_nss_hearth_setpwent(0), NSS_STATUS_SUCCESS);
        assert_int_equal(_nss_hearth_getpwent_r(&pw, small, sizeof small, &err), NSS_STATUS_TRYAGAIN);
        assert_int_equal(err, ERANGE);
        assert_int_equal(_nss_hearth_getpwent_r(&pw, big, sizeof big, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "alice");
        assert_int_equal(_nss_hearth_getpwent_r(&pw, small, sizeof small, &err), NSS_STATUS_TRYAGAIN);
        assert_int_equal(_nss_hearth_getpwent_r(&pw, big, sizeof big, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "bob");
        assert_int_equal(_nss_hearth_endpwent(), NSS_STATUS_SUCCESS);

        assert_int_equal(_nss_hearth_setgrent(0), NSS_STATUS_SUCCESS);
        assert_int_equal(_nss_hearth_getgrent_r(&gr, big, sizeof big, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_name, "alice");
        err = 0;
        assert_int_equal(_nss_hearth_getgrent_r(&gr, small, sizeof small, &err), NSS_STATUS_TRYAGAIN);
        assert_int_equal(err, ERANGE);
        assert_int_equal(_nss_hearth_getgrent_r(&gr, big, sizeof big, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(gr.gr_name, "bob");
        assert_members(&gr, "alice,carol");
        assert_int_equal(_nss_hearth_endgrent(), NSS_STATUS_SUCCESS);
}

/* ---- malformed and hostile input ------------------------------------------------------------ */

static Table *parse(TableKind kind, const char *text, size_t len) {
        char *copy = malloc(len + 1);
        Table *t = NULL;

        assert_non_null(copy);
        memcpy(copy, text, len);
        assert_int_equal(table_parse(kind, copy, len, &t), 0);
        return t;
}

static void test_malformed_passwd(void **state) {
        static const char *const bad[] = {
                "x1:x:1:1:g:/h:/s:extra",     /* 8 fields */
                "x2:x:2:2:g:/h",              /* 6 fields */
                "x3",                         /* 1 field */
                "x4:x:-4:4:g:/h:/s",          /* sign */
                "x5:x:+5:5:g:/h:/s",
                "x6:x:4294967295:6:g:/h:/s",  /* (uid_t) -1 */
                "x7:x:4294967296:7:g:/h:/s",  /* 2^32 */
                "x8:x:99999999999999999999999999:8:g:/h:/s",
                "x9:x:09:9:g:/h:/s",          /* leading zero */
                "x10:x: 10:10:g:/h:/s",       /* space */
                "x11:x::11:g:/h:/s",          /* empty UID */
                "x12:x:12::g:/h:/s",          /* empty GID */
                "x13:x:0x13:13:g:/h:/s",
                ":x:14:14:g:/h:/s",           /* empty name */
                "+x15:x:15:15:g:/h:/s",       /* NIS compat syntax */
                "-x16:x:16:16:g:/h:/s",
                "1x17:x:17:17:g:/h:/s",       /* leading digit */
                "x 18:x:18:18:g:/h:/s",
                "x.19:x:19:19:g:/h:/s",
                "x20:x:20:20:g\r:/h:/s",      /* control characters anywhere */
                "x21:x:21:21:g:/h\x7f:/s",
                "x22:x:22:22:g:/h:/s\t",
                "x23:x:23:23:g\x1b[2J:/h:/s",
                "x24\xc3\xa9:x:24:24:g:/h:/s", /* name outside the portable set */
                "x25:x:0:0:g:/root:/bin/sh",  /* outside the homes' range: root, */
                "x26:x:1000:1000:g:/h:/s",    /* a regular /etc/passwd user, */
                "x27:x:60000:60000:g:/h:/s",  /* just below, */
                "x28:x:60514:60514:g:/h:/s",  /* just above, */
                "x29:x:60029:0:g:/h:/s",      /* a home's UID with root's group */
        };
        char text[8192] = "# a comment\n\n";
        Table *t;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                strcat(text, bad[i]);
                strcat(text, "\nok");
                sprintf(text + strlen(text), "%zu:x:%zu:%zu:G\xc3\xa9rard:/home/ok:/bin/sh\n", i, 60100 + i,
                        60100 + i);
        }
        t = parse(TABLE_PASSWD, text, strlen(text));
        assert_int_equal(t->n_entries, ELEMENTSOF(bad));
        assert_int_equal(t->n_skipped, ELEMENTSOF(bad));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char name[16];
                const PwEntry *e;

                snprintf(name, sizeof name, "ok%zu", i);
                e = table_pw_by_name(t, name);
                assert_non_null(e);
                assert_int_equal(e->uid, 60100 + i);
                assert_string_equal(e->gecos, "G\xc3\xa9rard");
                assert_ptr_equal(table_pw_by_uid(t, (uid_t) (60100 + i)), e);
                snprintf(name, sizeof name, "x%zu", i + 1);
                assert_null(table_pw_by_name(t, name));
        }
        for (uid_t u = 0; u < 30; u++)
                assert_null(table_pw_by_uid(t, u));
        assert_null(table_pw_by_uid(t, 1000));
        assert_null(table_pw_by_uid(t, 60029));
        table_unref(t);
}

static void test_malformed_group(void **state) {
        static const char *const bad[] = {
                "g1:x:1:a,,b", "g2:x:2:a,", "g3:x:3:,a", "g4:x:4:a b", "g5:x:5", "g6:x:6:a:b",
                "g7:x:x:a",    "g8:x:8:a,-b", "g9:x:9:a,b\r", "g10:x:0:a", "",
        };
        const char *text = "g1:x:1:a,,b\nok1:x:101:a,b\ng2:x:2:a,\ng3:x:3:,a\ng4:x:4:a b\n"
                           "g5:x:5\ng6:x:6:a:b\ng7:x:x:a\ng8:x:8:a,-b\ng9:x:9:a,b\r\nok2:x:102:\ng10:x:0:a\n"
                           "ok3:x:103:z";
        Table *t = parse(TABLE_GROUP, text, strlen(text));
        const GrEntry *g;

        assert_int_equal(t->n_skipped, ELEMENTSOF(bad) - 1);
        assert_int_equal(t->n_entries, 3);
        g = table_gr_by_name(t, "ok1");
        assert_non_null(g);
        assert_int_equal(g->gid, 101);
        assert_int_equal(g->n_members, 2);
        assert_true(table_gr_has_member(t, g, "a"));
        assert_true(table_gr_has_member(t, g, "b"));
        assert_false(table_gr_has_member(t, g, "c"));
        assert_int_equal(table_gr_by_name(t, "ok2")->n_members, 0);
        /* The last line needs no newline. */
        g = table_gr_by_gid(t, 103);
        assert_non_null(g);
        assert_true(table_gr_has_member(t, g, "z"));
        for (gid_t gid = 0; gid < 10; gid++)
                assert_null(table_gr_by_gid(t, gid));
        table_unref(t);
}

static void test_long_lines_and_nul(void **state) {
        size_t long_len = TABLE_LINE_MAX + 100, len;
        char *text = malloc(long_len + 256), *p = text;
        Table *t;

        assert_non_null(text);
        p += sprintf(p, "ok1:x:60001:60001::/h:/s\nlong:x:60002:60002:");
        memset(p, 'a', long_len);
        p += long_len;
        p += sprintf(p, ":/h:/s\nok2:x:60003:60003::/h:/s\nnul:x:60004:60004:");
        *p++ = 0;
        p += sprintf(p, ":/h:/s\nok3:x:60005:60005::/h:/s\n");
        len = (size_t) (p - text);
        t = parse(TABLE_PASSWD, text, len);
        assert_int_equal(t->n_entries, 3);
        assert_int_equal(t->n_skipped, 2);
        assert_null(table_pw_by_name(t, "long"));
        assert_null(table_pw_by_name(t, "nul"));
        assert_non_null(table_pw_by_name(t, "ok3"));
        table_unref(t);

        /* The same through the module: no crash, the good lines answer. */
        _cleanup_free_ char *path = path_of("passwd");
        write_raw(path, text, len);
        assert_pw_shell("ok2", "/s");
        assert_pw_absent("long");
        assert_pw_absent("nul");
        free(text);
}

/* The first line of a name or an ID wins, as with nss_files; enumeration
 * still shows every line. */
static void test_duplicates(void **state) {
        struct passwd pw;
        int err = 0;

        put_file("passwd", "alice:x:60001:60001::/first:/bin/sh\n"
                           "alice:x:60009:60009::/second:/bin/sh\n"
                           "eve:x:60001:60001::/eve:/bin/sh\n");
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_dir, "/first");
        assert_int_equal(pwuid(60001, &pw, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_dir, "/first");
        assert_int_equal(pwuid(60009, &pw, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_dir, "/second");
        assert_int_equal(pwnam("eve", &pw, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_dir, "/eve");
}

/* Random damage to a valid file: the parser never crashes (ASan, valgrind)
 * and whatever it accepts is well-formed and found again. */
static void test_mutations(void **state) {
        static const char alphabet[] = ":,\n\0#+-0123456789abcXYZ_ \x7f\xff";
        unsigned seed = 12345;
        size_t base_len = strlen(PASSWD) + strlen(GROUP);

        for (int i = 0; i < 3000; i++) {
                TableKind kind = i % 2 ? TABLE_GROUP : TABLE_PASSWD;
                const char *base = kind == TABLE_GROUP ? GROUP : PASSWD;
                size_t len = strlen(base);
                char text[512];
                Table *t;

                assert_true(len + 8 < sizeof text && base_len > 0);
                memcpy(text, base, len);
                for (int k = 0; k < 1 + i % 7; k++) {
                        seed = seed * 1103515245u + 12345u;
                        size_t at = (seed >> 8) % len;
                        seed = seed * 1103515245u + 12345u;
                        text[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
                }
                t = parse(kind, text, len);
                for (size_t e = 0; e < t->n_entries; e++) {
                        const char *name = kind == TABLE_GROUP ? t->gr[e].name : t->pw[e].name;
                        assert_true(table_valid_name(name));
                        if (kind == TABLE_GROUP) {
                                const GrEntry *g = table_gr_by_name(t, name);
                                assert_non_null(g);
                                assert_string_equal(g->name, name);
                                for (uint32_t m = 0; m < t->gr[e].n_members; m++)
                                        assert_true(table_valid_name(t->members[t->gr[e].first_member + m]));
                                assert_non_null(table_gr_by_gid(t, t->gr[e].gid));
                        } else {
                                const PwEntry *p = table_pw_by_name(t, name);
                                assert_non_null(p);
                                assert_string_equal(p->name, name);
                                assert_non_null(table_pw_by_uid(t, t->pw[e].uid));
                                assert_null(strpbrk(p->gecos, "\n\r"));
                        }
                }
                table_unref(t);
        }
}

static void test_limits(void **state) {
        /* Lines past TABLE_ENTRIES_MAX entries are ignored. */
        size_t n = TABLE_ENTRIES_MAX + 10, cap = n * 32 + 1, len = 0;
        char *text = malloc(cap);
        Table *t;

        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(text + len, cap - len, "u%zu:x:%zu:60001::/:\n", i, 60001 + i % 513);
        t = parse(TABLE_PASSWD, text, len);
        assert_int_equal(t->n_entries, TABLE_ENTRIES_MAX);
        assert_non_null(table_pw_by_name(t, "u0"));
        assert_non_null(table_pw_by_name(t, "u262143"));
        assert_null(table_pw_by_name(t, "u262144"));
        table_unref(t);

        /* Members in the whole file are bounded: the line that would pass
         * TABLE_MEMBERS_MAX is skipped. 32 lines of 32,760 members ("a,a,…",
         * within TABLE_LINE_MAX) hold 1,048,320; the 33rd does not fit. */
        size_t per_line = 32760, lines = 33, line_len = 2 * per_line - 1 + 16;
        text = realloc(text, lines * line_len + 64);
        assert_non_null(text);
        len = 0;
        for (size_t l = 0; l < lines; l++) {
                len += (size_t) sprintf(text + len, "g%zu:x:%zu:", l, l + 1);
                for (size_t m = 0; m < per_line; m++) {
                        text[len++] = 'a';
                        text[len++] = ',';
                }
                text[len - 1] = '\n';
        }
        len += (size_t) sprintf(text + len, "last:x:999:b\n");
        t = parse(TABLE_GROUP, text, len);
        assert_int_equal(t->n_entries, 33);
        assert_int_equal(t->n_skipped, 1);
        assert_non_null(table_gr_by_name(t, "g31"));
        assert_null(table_gr_by_name(t, "g32"));
        assert_int_equal(table_gr_by_name(t, "last")->n_members, 1);
        assert_true(t->n_members <= TABLE_MEMBERS_MAX);
        table_unref(t);
        free(text);
}

static void test_unsafe_files(void **state) {
        _cleanup_free_ char *passwd = path_of("passwd"), *other = path_of("other");
        struct passwd pw;
        int err = 0;

        put_both();
        assert_pw_shell("alice", "/bin/sh");

        /* Writable by others than the owner: refused. chmod does not change
         * the modification time, but a refused file is never cached. */
        assert_int_equal(chmod(passwd, 0666), 0);
        struct timespec later[2] = { { 0, UTIME_OMIT }, { time(NULL) + 10, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, passwd, later, 0), 0);
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
        assert_int_equal(err, EPERM);
        assert_int_equal(chmod(passwd, 0620), 0);
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
        assert_int_equal(chmod(passwd, 0644), 0);
        assert_pw_shell("alice", "/bin/sh");

        /* Owned by someone else (only root can make such a file). */
        if (geteuid() == 0) {
                assert_int_equal(chown(passwd, 12345, 12345), 0);
                assert_int_equal(utimensat(AT_FDCWD, passwd, (struct timespec[2]) { { 0, UTIME_OMIT }, { 1, 0 } }, 0),
                                 0);
                assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
                assert_int_equal(err, EPERM);
                assert_int_equal(chown(passwd, 0, 0), 0);
        }

        /* A symlink is not followed (it could point anywhere). */
        write_raw(other, PASSWD, strlen(PASSWD));
        assert_int_equal(unlink(passwd), 0);
        assert_int_equal(symlink(other, passwd), 0);
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
        assert_int_equal(err, ELOOP);

        /* Not a regular file: a directory, a FIFO (which must not block). */
        assert_int_equal(unlink(passwd), 0);
        assert_int_equal(mkdir(passwd, 0755), 0);
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
        assert_int_equal(rmdir(passwd), 0);
        assert_int_equal(mkfifo(passwd, 0644), 0);
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
        assert_int_equal(err, EBADF);
        assert_int_equal(unlink(passwd), 0);

        /* Too large: refused before reading (sparse, so cheap to make). */
        int fd = open(passwd, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, PASSWD, strlen(PASSWD)), (ssize_t) strlen(PASSWD));
        assert_int_equal(ftruncate(fd, (off_t) TABLE_FILE_MAX + 1), 0);
        assert_int_equal(close(fd), 0);
        assert_int_equal(pwnam("alice", &pw, &err), NSS_STATUS_UNAVAIL);
        assert_int_equal(err, EFBIG);
        assert_int_equal(truncate(passwd, (off_t) strlen(PASSWD)), 0);
        assert_pw_shell("alice", "/bin/sh");
}

/* ---- re-reading ----------------------------------------------------------------------------- */

static void test_reread(void **state) {
        _cleanup_free_ char *passwd = path_of("passwd");
        const char *v1 = "alice:x:60001:60001::/home/alice:/bin/aaa\n";
        const char *v2 = "alice:x:60001:60001::/home/alice:/bin/bbb\n";
        const char *v3 = "alice:x:60001:60001::/home/alice:/bin/cccc\n";
        struct stat st;
        struct timespec times[2];

        /* Replaced by rename (what hearthd does): a new inode. */
        put_file("passwd", v1);
        assert_pw_shell("alice", "/bin/aaa");
        assert_pw_absent("dave");
        put_file("passwd", "alice:x:60001:60001::/home/alice:/bin/zzz\ndave:x:60004:60004::/home/dave:/bin/sh\n");
        assert_pw_shell("alice", "/bin/zzz");
        assert_pw_shell("dave", "/bin/sh");

        /* Rewritten in place, same size: the modification time tells (set
         * explicitly: two writes can fall into one timestamp tick). */
        put_file("passwd", v1);
        assert_pw_shell("alice", "/bin/aaa");
        assert_int_equal(stat(passwd, &st), 0);
        write_raw(passwd, v2, strlen(v2));
        times[0] = st.st_atim;
        times[1] = (struct timespec) { st.st_mtim.tv_sec + 1, st.st_mtim.tv_nsec };
        assert_int_equal(utimensat(AT_FDCWD, passwd, times, 0), 0);
        assert_pw_shell("alice", "/bin/bbb");

        /* In place, same modification time, other size: the size tells. */
        assert_int_equal(stat(passwd, &st), 0);
        write_raw(passwd, v3, strlen(v3));
        times[1] = st.st_mtim;
        assert_int_equal(utimensat(AT_FDCWD, passwd, times, 0), 0);
        assert_pw_shell("alice", "/bin/cccc");

        /* Removed, then back. */
        assert_int_equal(unlink(passwd), 0);
        assert_pw_absent("alice");
        put_file("passwd", v1);
        assert_pw_shell("alice", "/bin/aaa");

        /* Another runtime directory is another file. */
        _cleanup_free_ char *other = NULL;
        assert_true(asprintf(&other, "%s/other", dir) >= 0);
        assert_int_equal(mkdir(other, 0755), 0);
        _cleanup_free_ char *other_passwd = NULL;
        assert_true(asprintf(&other_passwd, "%s/passwd", other) >= 0);
        write_raw(other_passwd, v2, strlen(v2));
        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", other, 1), 0);
        assert_pw_shell("alice", "/bin/bbb");
        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", dir, 1), 0);
        assert_pw_shell("alice", "/bin/aaa");
}

/* ---- enumeration ---------------------------------------------------------------------------- */

static void test_enumeration(void **state) {
        char buf[1024];
        struct passwd pw;
        struct group gr;
        int err = 0;

        /* File order, malformed lines left out, duplicates kept. */
        put_file("passwd", "zed:x:60009:60009::/z:/bin/sh\nbad line\nalice:x:60001:60001::/a:/bin/sh\n"
                           "mia:x:60005:60005::/m:/bin/sh\nalice:x:60007:60007::/a2:/bin/sh\n");
        put_file("group", "audio:x:29:zed\nzed:x:60009:\nmia:x:60005:alice\nalice:x:60001:\nwrong:x:1:\n");
        const char *const users[] = { "zed", "alice", "mia", "alice" };
        for (int round = 0; round < 2; round++) {
                /* A second round after endpwent starts over. */
                if (round == 0)
                        assert_int_equal(_nss_hearth_setpwent(1), NSS_STATUS_SUCCESS);
                for (size_t i = 0; i < ELEMENTSOF(users); i++) {
                        assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
                        assert_string_equal(pw.pw_name, users[i]);
                }
                err = 0;
                assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(err, ENOENT);
                assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
                assert_int_equal(_nss_hearth_endpwent(), NSS_STATUS_SUCCESS);
        }

        /* Groups: Hearth's own ones, in file order. */
        assert_int_equal(_nss_hearth_setgrent(0), NSS_STATUS_SUCCESS);
        const char *const groups[] = { "zed", "mia", "alice" };
        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                assert_int_equal(_nss_hearth_getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
                assert_string_equal(gr.gr_name, groups[i]);
        }
        assert_members(&gr, "");
        err = 0;
        assert_int_equal(_nss_hearth_getgrent_r(&gr, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(err, ENOENT);
        assert_int_equal(_nss_hearth_endgrent(), NSS_STATUS_SUCCESS);

        /* An enumeration keeps the copy it started on when the file is
         * replaced meanwhile; lookups see the new one at once. */
        put_both();
        assert_int_equal(_nss_hearth_setpwent(0), NSS_STATUS_SUCCESS);
        assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "alice");
        put_file("passwd", "dave:x:60004:60004::/d:/bin/sh\n");
        assert_pw_shell("dave", "/bin/sh");
        assert_pw_absent("bob");
        assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "bob");
        assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "carol");
        assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_NOTFOUND);
        assert_int_equal(_nss_hearth_endpwent(), NSS_STATUS_SUCCESS);

        /* getpwent without setpwent starts by itself. */
        assert_int_equal(_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err), NSS_STATUS_SUCCESS);
        assert_string_equal(pw.pw_name, "dave");
        assert_int_equal(_nss_hearth_endpwent(), NSS_STATUS_SUCCESS);
}

/* ---- initgroups ---------------------------------------------------------------------------- */

/* initgroups_dyn as glibc calls it: the primary group already in the array. */
static enum nss_status call_initgroups(const char *user, gid_t primary, long int limit, gid_t *prefill, size_t n_prefill,
                                  char *out, size_t out_size) {
        long int start = 1 + (long int) n_prefill, size = start;
        gid_t *groups = malloc((size_t) size * sizeof *groups);
        int err = 0;
        enum nss_status s;

        assert_non_null(groups);
        groups[0] = primary;
        for (size_t i = 0; i < n_prefill; i++)
                groups[1 + i] = prefill[i];
        s = _nss_hearth_initgroups_dyn(user, primary, &start, &size, &groups, limit, &err);
        assert_true(start <= size);
        if (limit > 0)
                assert_true(start <= limit);
        out[0] = 0;
        for (long int i = 1 + (long int) n_prefill; i < start; i++)
                snprintf(out + strlen(out), out_size - strlen(out), "%s%u", out[0] ? " " : "", (unsigned) groups[i]);
        if (s == NSS_STATUS_NOTFOUND)
                assert_int_equal(err, ENOENT);
        free(groups);
        return s;
}

static void test_initgroups(void **state) {
        char got[512];

        put_both();
        /* Every line counts, the user's own groups and those defined elsewhere, in file order. */
        assert_int_equal(call_initgroups("alice", 60001, 0, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "60002 29");
        assert_int_equal(call_initgroups("carol", 60003, 0, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "60002 44");
        assert_int_equal(call_initgroups("bob", 60002, 0, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "29");
        /* The primary group is not added again, nor one already there. */
        assert_int_equal(call_initgroups("alice", 29, 0, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "60002");
        assert_int_equal(call_initgroups("alice", 60001, 0, (gid_t[]) { 29 }, 1, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "60002");
        /* Member only of the group passed as primary: nothing to add. */
        assert_int_equal(call_initgroups("bob", 29, 0, NULL, 0, got, sizeof got), NSS_STATUS_NOTFOUND);
        assert_string_equal(got, "");
        /* The caller's limit. */
        assert_int_equal(call_initgroups("alice", 60001, 2, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "60002");
        /* No memberships, an unknown or impossible name. */
        assert_int_equal(call_initgroups("dave", 60004, 0, NULL, 0, got, sizeof got), NSS_STATUS_NOTFOUND);
        assert_int_equal(call_initgroups("al", 60001, 0, NULL, 0, got, sizeof got), NSS_STATUS_NOTFOUND);
        assert_int_equal(call_initgroups("alice,bob", 60001, 0, NULL, 0, got, sizeof got), NSS_STATUS_NOTFOUND);

        /* Many groups: the array grows. */
        char text[64 * 40] = "";
        for (int i = 0; i < 60; i++)
                sprintf(text + strlen(text), "g%d:x:%d:x,eve,y\n", i, 1000 + i);
        put_file("group", text);
        assert_int_equal(call_initgroups("eve", 60001, 0, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_int_equal(strncmp(got, "1000 1001 1002 ", 15), 0);
        assert_non_null(strstr(got, " 1059"));
        assert_int_equal(call_initgroups("eve", 60001, 10, NULL, 0, got, sizeof got), NSS_STATUS_SUCCESS);
        assert_string_equal(got, "1000 1001 1002 1003 1004 1005 1006 1007 1008");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_passwd_lookups, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lookup_after_fork, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_lookups, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_query_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errno_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_erange_passwd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_erange_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_erange_enumeration, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_passwd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_lines_and_nul, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsafe_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reread, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enumeration, setup, teardown),
                cmocka_unit_test_setup_teardown(test_initgroups, setup, teardown),
                cmocka_unit_test_setup_teardown(test_relative_runtime_dir, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
