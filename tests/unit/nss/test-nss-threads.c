/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnss_hearth from many threads at once: 8 threads × 10,000 lookups by
 * name and by UID through the module's entry points, one thread enumerating,
 * while another replaces the passwd and group files again and again (new
 * file, rename, as hearthd does). Every answer must be one of the two
 * versions' entries, whole: a torn or mixed copy is a failure. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "nss-hearth.h"

#define N_USERS    200  /* in both versions */
#define N_EXTRA    50   /* only in version B */
#define N_READERS  8
#define N_LOOKUPS  10000
#define UID_BASE   60200 /* 250 users inside the homes' range, below flip's 60500 */

static char *dir;
static char *text[2]; /* the two versions of passwd */
static char *group_text[2];
static atomic_bool stop;
static atomic_uint rewrites, failures, seen_a, seen_b;

/* Version A lists the users in order, version B backwards with extra users
 * and a different line for "flip", so that both differ in size (a rename
 * is then always noticed, even if the inode number is reused at once). */
static char *make_passwd(int version) {
        size_t cap = (N_USERS + N_EXTRA + 1) * 96, len = 0;
        char *t = malloc(cap);

        assert_non_null(t);
        for (int k = 0; k < N_USERS; k++) {
                int i = version == 0 ? k : N_USERS - 1 - k;
                len += (size_t) snprintf(t + len, cap - len, "user%d:x:%d:%d:User %d:/home/user%d:/bin/sh\n", i,
                                         UID_BASE + i, UID_BASE + i, i, i);
        }
        if (version == 1)
                for (int i = 0; i < N_EXTRA; i++)
                        len += (size_t) snprintf(t + len, cap - len, "extra%d:x:%d:%d::/home/extra%d:/bin/sh\n", i,
                                                 UID_BASE + N_USERS + i, UID_BASE + N_USERS + i, i);
        len += (size_t) snprintf(t + len, cap - len, "flip:x:60500:60500:%s:/home/flip:%s\n",
                                 version == 0 ? "A" : "B", version == 0 ? "/bin/a" : "/bin/b");
        return t;
}

static char *make_group(int version) {
        size_t cap = (N_USERS + 2) * 64, len = 0;
        char *t = malloc(cap);

        assert_non_null(t);
        for (int i = 0; i < N_USERS; i++)
                len += (size_t) snprintf(t + len, cap - len, "user%d:x:%d:%s\n", i, UID_BASE + i,
                                         i % 10 == 0 ? "flip" : "");
        len += (size_t) snprintf(t + len, cap - len, "flip:x:60500:\naudio:x:29:%s\n",
                                 version == 0 ? "flip" : "flip,user1");
        return t;
}

static void replace(const char *name, const char *content) {
        char tmp[512], path[512];
        size_t len = strlen(content);
        int fd;

        snprintf(tmp, sizeof tmp, "%s/.#%s.tmp", dir, name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, content, len) != (ssize_t) len || close(fd) < 0 || rename(tmp, path) < 0)
                atomic_fetch_add(&failures, 1);
}

static void *writer(void *arg) {
        for (unsigned v = 1; !atomic_load(&stop); v++) {
                replace("passwd", text[v % 2]);
                replace("group", group_text[v % 2]);
                atomic_fetch_add(&rewrites, 1);
                usleep(200);
        }
        return NULL;
}

static bool check_user(const struct passwd *pw, int i) {
        char gecos[32], home[32], name[32];

        snprintf(name, sizeof name, "user%d", i);
        snprintf(gecos, sizeof gecos, "User %d", i);
        snprintf(home, sizeof home, "/home/user%d", i);
        return strcmp(pw->pw_name, name) == 0 && pw->pw_uid == (uid_t) (UID_BASE + i) &&
               pw->pw_gid == (gid_t) (UID_BASE + i) && strcmp(pw->pw_passwd, "x") == 0 &&
               strcmp(pw->pw_gecos, gecos) == 0 && strcmp(pw->pw_dir, home) == 0 &&
               strcmp(pw->pw_shell, "/bin/sh") == 0;
}

/* Either version's "flip", never half of each. */
static bool check_flip(const struct passwd *pw) {
        return strcmp(pw->pw_name, "flip") == 0 && pw->pw_uid == 60500 &&
               ((strcmp(pw->pw_gecos, "A") == 0 && strcmp(pw->pw_shell, "/bin/a") == 0) ||
                (strcmp(pw->pw_gecos, "B") == 0 && strcmp(pw->pw_shell, "/bin/b") == 0));
}

static void *reader(void *arg) {
        unsigned t = (unsigned) (uintptr_t) arg, bad = 0;
        char buf[256];

        for (unsigned n = 0; n < N_LOOKUPS; n++) {
                int i = (int) ((n * 7 + t * 31) % N_USERS), err = 0;
                uid_t uid = (uid_t) (UID_BASE + i);
                char name[32];
                struct passwd pw;
                enum nss_status s;
                int len = snprintf(name, sizeof name, "user%d", i);

                if (n % 50 == 49) {
                        s = _nss_hearth_getpwnam_r("flip", &pw, buf, sizeof buf, &err);
                        bad += s != NSS_STATUS_SUCCESS || !check_flip(&pw);
                        atomic_fetch_add(pw.pw_gecos[0] == 'A' ? &seen_a : &seen_b, 1);
                } else if (n % 2) {
                        s = _nss_hearth_getpwnam_r(name, &pw, buf, sizeof buf, &err);
                        bad += s != NSS_STATUS_SUCCESS || !check_user(&pw, i);
                } else {
                        s = _nss_hearth_getpwuid_r(uid, &pw, buf, sizeof buf, &err);
                        bad += s != NSS_STATUS_SUCCESS || !check_user(&pw, i);
                }
                /* One byte short is ERANGE, whichever version is read:
                 * name, "x", "User <i>", "/home/<name>", "/bin/sh", 5 NULs. */
                if (n % 100 == 0) {
                        size_t need = (size_t) len + 1 + (size_t) (len + 1) + (size_t) (len + 6) + 7 + 5;
                        err = 0;
                        s = _nss_hearth_getpwuid_r(uid, &pw, buf, need - 1, &err);
                        bad += s != NSS_STATUS_TRYAGAIN || err != ERANGE;
                        s = _nss_hearth_getpwuid_r(uid, &pw, buf, need, &err);
                        bad += s != NSS_STATUS_SUCCESS || !check_user(&pw, i);
                }
        }
        atomic_fetch_add(&failures, bad);
        return NULL;
}

/* Enumerations and initgroups run alongside: each enumeration is one
 * version, whole (201 or 251 entries). */
static void *enumerator(void *arg) {
        unsigned bad = 0;
        char buf[256];

        while (!atomic_load(&stop)) {
                struct passwd pw;
                unsigned count = 0;
                int err = 0;
                long int start = 1, size = 4;
                gid_t *groups = malloc(4 * sizeof *groups);

                (void) _nss_hearth_setpwent(0);
                while (_nss_hearth_getpwent_r(&pw, buf, sizeof buf, &err) == NSS_STATUS_SUCCESS)
                        count++;
                (void) _nss_hearth_endpwent();
                bad += count != N_USERS + 1 && count != N_USERS + N_EXTRA + 1;

                if (!groups) {
                        bad++;
                        continue;
                }
                groups[0] = 60500;
                /* flip: user0, user10, … user190, and audio. */
                bad += _nss_hearth_initgroups_dyn("flip", 60500, &start, &size, &groups, 0, &err) !=
                       NSS_STATUS_SUCCESS;
                bad += start != N_USERS / 10 + 2;
                free(groups);
        }
        atomic_fetch_add(&failures, bad);
        return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void test_threads(void **state) {
        pthread_t readers[N_READERS], w, e;

        /* tmpfs if there is one: on ext4 a rename over a file flushes the
         * new one first (auto_da_alloc), which slows the writer down. */
        struct stat st;
        bool shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0;
        dir = strdup(shm ? "/dev/shm/hearth-test-nss-threads.XXXXXX" : "/tmp/hearth-test-nss-threads.XXXXXX");
        assert_non_null(dir);
        assert_non_null(mkdtemp(dir));
        assert_int_equal(setenv("HEARTH_RUNTIME_DIR", dir, 1), 0);
        for (int v = 0; v < 2; v++) {
                text[v] = make_passwd(v);
                group_text[v] = make_group(v);
        }
        replace("passwd", text[0]);
        replace("group", group_text[0]);

        assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
        assert_int_equal(pthread_create(&e, NULL, enumerator, NULL), 0);
        for (uintptr_t t = 0; t < N_READERS; t++)
                assert_int_equal(pthread_create(&readers[t], NULL, reader, (void *) t), 0);
        for (int t = 0; t < N_READERS; t++)
                assert_int_equal(pthread_join(readers[t], NULL), 0);
        atomic_store(&stop, true);
        assert_int_equal(pthread_join(w, NULL), 0);
        assert_int_equal(pthread_join(e, NULL), 0);

        print_message("%u rewrites during %d lookups; flip seen as A %u times, as B %u times\n",
                      atomic_load(&rewrites), N_READERS * N_LOOKUPS, atomic_load(&seen_a), atomic_load(&seen_b));
        assert_int_equal(atomic_load(&failures), 0);
        /* The files did change under the readers. */
        assert_true(atomic_load(&seen_a) > 0 && atomic_load(&seen_b) > 0);

        for (int v = 0; v < 2; v++) {
                free(text[v]);
                free(group_text[v]);
        }
        assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_threads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
