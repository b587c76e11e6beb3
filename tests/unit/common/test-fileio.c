/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

#include "fileio.h"
#include "macro.h"

/* ---- fixture: one temporary directory per test ------------------------- */

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

static int setup_tmpdir(void **state) {
        char *dir = strdup("/tmp/hearth-test-fileio.XXXXXX");

        if (!dir || !mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static int teardown_tmpdir(void **state) {
        char *dir = *state;
        int r = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

        free(dir);
        return r == 0 ? 0 : -1;
}

/* ---- helpers ---------------------------------------------------------- */

static bool quick_mode(void) {
        const char *e = getenv("HEARTH_TEST_QUICK");

        if (e && strcmp(e, "1") == 0)
                return true;
#ifdef HAVE_VALGRIND_H
        if (RUNNING_ON_VALGRIND)
                return true;
#endif
        return false;
}

static char *path_join(const char *dir, const char *name) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static mode_t file_mode(const char *path) {
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        return st.st_mode & 07777;
}

static void assert_content(const char *path, const char *expected, size_t len) {
        char *text = NULL;
        size_t n = 0;
        int r = read_file_bounded(path, 1024 * 1024, &text, &n);
        if (r != 0)
                fail_msg("%s: cannot read: %s", path, strerror(-r));
        assert_int_equal(n, len);
        assert_memory_equal(text, expected, len);
        assert_int_equal(text[n], 0);
        free(text);
}

/* Entries of dir other than "." and "..", "|"-separated and sorted, for
 * checking that nothing (no temporary file) was left behind. */
static int compare_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *list_dir(const char *dir) {
        char *names[64], *ret;
        size_t n = 0, len = 1;
        struct dirent *de;
        DIR *d = opendir(dir);

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                assert_true(n < ELEMENTSOF(names));
                names[n] = strdup(de->d_name);
                assert_non_null(names[n]);
                len += strlen(names[n]) + 1;
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof *names, compare_str);
        ret = calloc(1, len);
        assert_non_null(ret);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strcat(ret, "|");
                strcat(ret, names[i]);
                free(names[i]);
        }
        return ret;
}

static void assert_dir_entries(const char *dir, const char *expected) {
        char *l = list_dir(dir);
        if (strcmp(l, expected) != 0)
                fail_msg("%s holds \"%s\", expected \"%s\"", dir, l, expected);
        free(l);
}

/* ---- write_file_atomic ------------------------------------------------ */

static void test_write_mode(void **state) {
        const char *dir = *state;
        char *p = path_join(dir, "f");
        mode_t old = umask(077);

        /* The mode is exact, whatever the umask. */
        assert_int_equal(write_file_atomic(p, "hello", 5, 0640, 0), 0);
        assert_int_equal(file_mode(p), 0640);
        assert_content(p, "hello", 5);

        /* Replacing gives the new file the new mode. */
        assert_int_equal(write_file_atomic(p, "x", 1, 0604, 0), 0);
        assert_int_equal(file_mode(p), 0604);
        umask(0);
        assert_int_equal(write_file_atomic(p, "y", 1, 0600, 0), 0);
        assert_int_equal(file_mode(p), 0600);
        umask(old);

        /* Empty content is fine. */
        assert_int_equal(write_file_atomic(p, "", 0, 0600, 0), 0);
        assert_content(p, "", 0);
        assert_dir_entries(dir, "f");
        free(p);
}

static void test_write_replaces(void **state) {
        const char *dir = *state;
        char *p = path_join(dir, "data");
        char buf[16] = {};
        struct stat st1, st2;
        int fd;

        assert_int_equal(write_file_atomic(p, "version 1", 9, 0600, 0), 0);
        assert_int_equal(stat(p, &st1), 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_int_equal(write_file_atomic(p, "v2", 2, 0600, 0), 0);
        assert_content(p, "v2", 2);

        /* A new inode took the name: whoever had the old file open still
         * sees it whole, never a mix. */
        assert_int_equal(stat(p, &st2), 0);
        assert_true(st1.st_ino != st2.st_ino);
        assert_int_equal(read(fd, buf, sizeof buf), 9);
        assert_memory_equal(buf, "version 1", 9);
        close(fd);

        assert_dir_entries(dir, "data");
        free(p);
}

static void test_write_no_replace(void **state) {
        const char *dir = *state;
        char *p = path_join(dir, "key"), *link = path_join(dir, "dangling"), *target = path_join(dir, "target");
        struct stat st;

        assert_int_equal(write_file_atomic(p, "first", 5, 0600, WRITE_NO_REPLACE), 0);
        assert_content(p, "first", 5);
        assert_int_equal(file_mode(p), 0600);

        assert_int_equal(write_file_atomic(p, "second", 6, 0644, WRITE_NO_REPLACE), -EEXIST);
        assert_content(p, "first", 5);
        assert_int_equal(file_mode(p), 0600);
        assert_dir_entries(dir, "key");

        /* Anything at the path counts, a dangling symlink too, which is not
         * followed. */
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(write_file_atomic(link, "x", 1, 0600, WRITE_NO_REPLACE), -EEXIST);
        assert_int_equal(lstat(target, &st), -1);
        assert_int_equal(errno, ENOENT);
        assert_dir_entries(dir, "dangling|key");

        /* Without the flag, the symlink itself is replaced, not followed. */
        assert_int_equal(write_file_atomic(link, "x", 1, 0600, 0), 0);
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(lstat(target, &st), -1);
        assert_dir_entries(dir, "dangling|key");

        free(p);
        free(link);
        free(target);
}

static void test_write_failures(void **state) {
        const char *dir = *state;
        char *p;

        /* No such directory: fails before anything is created. */
        p = path_join(dir, "missing/file");
        assert_int_equal(write_file_atomic(p, "x", 1, 0600, 0), -ENOENT);
        assert_int_equal(write_file_atomic(p, "x", 1, 0600, WRITE_NO_REPLACE), -ENOENT);
        free(p);
        assert_dir_entries(dir, "");

        /* A parent that is a file. */
        p = path_join(dir, "plain");
        assert_int_equal(write_file_atomic(p, "x", 1, 0600, 0), 0);
        free(p);
        p = path_join(dir, "plain/file");
        assert_int_equal(write_file_atomic(p, "x", 1, 0600, 0), -ENOTDIR);
        free(p);
        assert_dir_entries(dir, "plain");

        /* The rename fails after the temporary file was written: it is
         * removed, and the directory in the way is left alone. */
        p = path_join(dir, "sub");
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
        p = path_join(dir, "sub/inner");
        assert_int_equal(write_file_atomic(p, "x", 1, 0600, 0), 0);
        free(p);
        p = path_join(dir, "sub");
        assert_true(write_file_atomic(p, "x", 1, 0600, 0) < 0);
        assert_int_equal(write_file_atomic(p, "x", 1, 0600, WRITE_NO_REPLACE), -EEXIST);
        free(p);
        assert_dir_entries(dir, "plain|sub");
        p = path_join(dir, "sub");
        assert_dir_entries(p, "inner");
        free(p);
}

static void test_write_relative(void **state) {
        const char *dir = *state;
        int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        assert_true(cwd >= 0);
        assert_int_equal(chdir(dir), 0);
        r = write_file_atomic("relative", "rel", 3, 0600, 0);
        assert_int_equal(fchdir(cwd), 0);
        close(cwd);
        assert_int_equal(r, 0);

        char *p = path_join(dir, "relative");
        assert_content(p, "rel", 3);
        free(p);
        assert_dir_entries(dir, "relative");
}

/* ---- atomicity under SIGKILL ------------------------------------------ */

#define CRASH_A_SIZE (256 * 1024)
#define CRASH_B_SIZE (512 * 1024)

static void crash_child(const char *path, const char *a, const char *b, volatile unsigned *written) {
        for (;;) {
                if (write_file_atomic(path, a, CRASH_A_SIZE, 0600, 0) < 0)
                        _exit(2);
                (*written)++;
                if (write_file_atomic(path, b, CRASH_B_SIZE, 0600, 0) < 0)
                        _exit(2);
                (*written)++;
        }
}

static void test_write_crash(void **state) {
        const char *dir = *state;
        char *path = path_join(dir, "target");
        char *a = malloc(CRASH_A_SIZE), *b = malloc(CRASH_B_SIZE);
        const bool quick = quick_mode();
        const unsigned iterations = quick ? 20 : 200;
        unsigned seed, seen_a = 0, seen_b = 0, seen_missing = 0, temp_left = 0, completed_writes = 0;
        volatile unsigned *written;
        const char *e = getenv("HEARTH_TEST_SEED");

        assert_non_null(a);
        assert_non_null(b);
        memset(a, 'a', CRASH_A_SIZE);
        memset(b, 'b', CRASH_B_SIZE);
        seed = e ? (unsigned) strtoul(e, NULL, 0) : (unsigned) time(NULL) ^ (unsigned) getpid();
        print_message("crash test: %u iterations, seed %u (HEARTH_TEST_SEED)\n", iterations, seed);

        /* Shared with the child: how many writes completed. Once one has,
         * the file must exist. */
        written = mmap(NULL, sizeof *written, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(written != MAP_FAILED);

        for (unsigned i = 0; i < iterations; i++) {
                bool fresh = i % 4 == 0, existed;
                unsigned delay_usec;
                int status, r;
                char *text = NULL;
                size_t len = 0;
                pid_t pid;
                DIR *d;
                struct dirent *de;
                unsigned left = 0;

                /* Every fourth round starts without the file. */
                if (fresh && unlink(path) < 0)
                        assert_int_equal(errno, ENOENT);
                existed = access(path, F_OK) == 0;
                *written = 0;

                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        crash_child(path, a, b, written);

                /* 200 µs to 5 ms (under valgrind everything is slower);
                 * rounds without the file also try to kill before the
                 * first write is done. */
                delay_usec = fresh ? (unsigned) rand_r(&seed) % 1000 : 200 + (unsigned) rand_r(&seed) % 4800;
                if (quick)
                        delay_usec *= 10;
                usleep(delay_usec);
                assert_int_equal(kill(pid, SIGKILL), 0);
                assert_int_equal(waitpid(pid, &status, 0), pid);
                if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
                        fail_msg("round %u: the writer failed on its own (status 0x%x)", i, (unsigned) status);
                completed_writes += *written;

                r = read_file_bounded(path, CRASH_B_SIZE, &text, &len);
                if (r == -ENOENT) {
                        /* Only possible when the round started without the
                         * file and no write had completed. */
                        if (existed || *written > 0)
                                fail_msg("round %u: file missing (existed before: %d, completed writes: %u)", i,
                                         existed, *written);
                        seen_missing++;
                } else {
                        if (r != 0)
                                fail_msg("round %u: cannot read: %s", i, strerror(-r));
                        if (len == CRASH_A_SIZE && memcmp(text, a, len) == 0)
                                seen_a++;
                        else if (len == CRASH_B_SIZE && memcmp(text, b, len) == 0)
                                seen_b++;
                        else
                                fail_msg("round %u: torn file: %zu bytes, starting with '%c' (delay %u µs)", i,
                                         len, len ? text[0] : '-', delay_usec);
                        free(text);
                }

                /* The killed writer may leave its temporary file behind, never
                 * more than one, and it must be recognisable as such. */
                d = opendir(dir);
                assert_non_null(d);
                while ((de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                            strcmp(de->d_name, "target") == 0)
                                continue;
                        if (!is_atomic_temp_name(de->d_name))
                                fail_msg("round %u: unexpected file %s", i, de->d_name);
                        assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
                        left++;
                }
                closedir(d);
                assert_true(left <= 1);
                temp_left += left;
        }

        print_message("crash test: %u×A, %u×B, %u×missing, %u temporary files left by killed writers, "
                      "%u completed writes\n", seen_a, seen_b, seen_missing, temp_left, completed_writes);
        assert_int_equal(seen_a + seen_b + seen_missing, iterations);

        munmap((void *) written, sizeof *written);
        free(a);
        free(b);
        free(path);
}

/* ---- read_file_bounded ------------------------------------------------ */

static void test_read_bounded(void **state) {
        const char *dir = *state;
        char *p = path_join(dir, "ten"), *text = NULL;
        size_t len = 0;

        assert_int_equal(write_file_atomic(p, "0123\0" "56789", 10, 0600, 0), 0);
        assert_int_equal(read_file_bounded(p, 10, &text, &len), 0);
        assert_int_equal(len, 10);
        assert_memory_equal(text, "0123\0" "56789", 11); /* with the terminating NUL */
        free(text);
        text = NULL;
        assert_int_equal(read_file_bounded(p, 1000, &text, NULL), 0);
        assert_string_equal(text, "0123");
        free(text);
        text = NULL;

        /* One byte over the limit. */
        assert_int_equal(read_file_bounded(p, 9, &text, &len), -EFBIG);
        assert_null(text);
        assert_int_equal(read_file_bounded(p, 0, &text, &len), -EFBIG);
        assert_null(text);
        free(p);

        /* Empty file, even with max 0. */
        p = path_join(dir, "empty");
        assert_int_equal(write_file_atomic(p, "", 0, 0600, 0), 0);
        assert_int_equal(read_file_bounded(p, 0, &text, &len), 0);
        assert_int_equal(len, 0);
        assert_string_equal(text, "");
        free(text);
        text = NULL;
        free(p);

        /* A file larger than its st_size says (procfs reports 0) is caught
         * while reading. */
        assert_int_equal(read_file_bounded("/proc/self/status", 8, &text, &len), -EFBIG);
        assert_null(text);
        assert_int_equal(read_file_bounded("/proc/self/status", 65536, &text, &len), 0);
        assert_non_null(strstr(text, "Name:"));
        assert_int_equal(strlen(text), len);
        free(text);
        text = NULL;

        p = path_join(dir, "missing");
        assert_int_equal(read_file_bounded(p, 100, &text, &len), -ENOENT);
        assert_null(text);
        free(p);
}

static void test_read_not_regular(void **state) {
        const char *dir = *state;
        char *p, *text = NULL, *target = path_join(dir, "regular");
        size_t len = 0;
        int r;

        assert_int_equal(write_file_atomic(target, "data", 4, 0600, 0), 0);

        /* a directory */
        assert_int_equal(read_file_bounded(dir, 100, &text, &len), -EBADF);
        assert_null(text);

        /* a FIFO without a writer: must not block waiting for one */
        p = path_join(dir, "fifo");
        assert_int_equal(mkfifo(p, 0600), 0);
        alarm(20); /* a hang kills the test instead of the CI job's time */
        r = read_file_bounded(p, 100, &text, &len);
        alarm(0);
        assert_int_equal(r, -EBADF);
        assert_null(text);
        free(p);

        /* a character device */
        assert_int_equal(read_file_bounded("/dev/null", 100, &text, &len), -EBADF);
        assert_null(text);

        /* symlinks are not followed, to a file or to a directory */
        p = path_join(dir, "link");
        assert_int_equal(symlink(target, p), 0);
        assert_int_equal(read_file_bounded(p, 100, &text, &len), -ELOOP);
        assert_null(text);
        free(p);
        p = path_join(dir, "dirlink");
        assert_int_equal(symlink(dir, p), 0);
        r = read_file_bounded(p, 100, &text, &len);
        assert_true(r == -ELOOP || r == -ENOTDIR);
        assert_null(text);
        free(p);
        p = path_join(dir, "dangling");
        assert_int_equal(symlink("/nonexistent/hearth", p), 0);
        assert_int_equal(read_file_bounded(p, 100, &text, &len), -ELOOP);
        assert_null(text);
        free(p);

        /* but the regular file is fine */
        assert_int_equal(read_file_bounded(target, 100, &text, &len), 0);
        assert_string_equal(text, "data");
        free(text);
        free(target);
}

/* ---- mkdir_parents and temporary names -------------------------------- */

static void test_mkdir_parents(void **state) {
        const char *dir = *state;
        char *p = path_join(dir, "a/b/c"), *q;
        mode_t old = umask(022);
        struct stat st;

        assert_int_equal(mkdir_parents(p, 0700), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        q = path_join(dir, "a");
        assert_int_equal(file_mode(q), 0755);
        free(q);
        q = path_join(dir, "a/b");
        assert_int_equal(file_mode(q), 0755);
        free(q);

        /* again: nothing to do, nothing changed */
        assert_int_equal(mkdir_parents(p, 0700), 0);
        assert_int_equal(file_mode(p), 0700);
        free(p);

        /* a trailing slash still names the last component */
        p = path_join(dir, "x/y/");
        assert_int_equal(mkdir_parents(p, 0750), 0);
        free(p);
        p = path_join(dir, "x/y");
        assert_int_equal(file_mode(p), 0750);
        free(p);
        p = path_join(dir, "x");
        assert_int_equal(file_mode(p), 0755);
        free(p);

        /* below an existing parent, and a single level */
        p = path_join(dir, "a/b/d");
        assert_int_equal(mkdir_parents(p, 0711), 0);
        assert_int_equal(file_mode(p), 0711);
        free(p);

        /* a file in the way */
        p = path_join(dir, "file");
        assert_int_equal(write_file_atomic(p, "", 0, 0600, 0), 0);
        free(p);
        p = path_join(dir, "file/sub/dir");
        assert_int_equal(mkdir_parents(p, 0700), -ENOTDIR);
        free(p);

        umask(old);
        assert_dir_entries(dir, "a|file|x");
}

static void test_temp_names(void **state) {
        (void) state;
        assert_true(is_atomic_temp_name(".#hearth.alice.identityAb12Cd"));
        assert_true(is_atomic_temp_name(".#hearth."));
        assert_false(is_atomic_temp_name(".#hearth"));
        assert_false(is_atomic_temp_name("alice.identity"));
        assert_false(is_atomic_temp_name(".hearth.alice"));
        assert_false(is_atomic_temp_name("x.#hearth.alice"));
        assert_false(is_atomic_temp_name(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_mode, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_replaces, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_no_replace, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_failures, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_relative, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_crash, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_bounded, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_not_regular, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_mkdir_parents, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_temp_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
