/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/open-in-root.c and common/rm-rf.c. The fallback for kernels
 * without openat2 is tested by taking openat2 away: a seccomp filter makes
 * it fail with ENOSYS, as Linux before 5.6 (and valgrind) does. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>

#include <cmocka.h>

#include "macro.h"
#include "open-in-root.h"
#include "rm-rf.h"

/* <tmp>/outside/secret is the host's file; <tmp>/root is the root, with
 * root/etc/conf, root/abs -> <tmp>/outside (absolute), root/rel -> etc
 * (relative), root/up -> ../outside. */
typedef struct Fixture {
        char tmp[64];
        int tmp_fd;
        int root_fd;
} Fixture;

static void write_file(int dir_fd, const char *name, const char *text) {
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof *f);
        char abs_target[128];

        assert_non_null(f);
        strcpy(f->tmp, "/tmp/hearth-test-open-in-root.XXXXXX");
        assert_non_null(mkdtemp(f->tmp));
        f->tmp_fd = open(f->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->tmp_fd >= 0);
        assert_int_equal(mkdirat(f->tmp_fd, "outside", 0755), 0);
        assert_int_equal(mkdirat(f->tmp_fd, "root", 0755), 0);
        assert_int_equal(mkdirat(f->tmp_fd, "root/etc", 0755), 0);
        write_file(f->tmp_fd, "outside/secret", "host\n");
        write_file(f->tmp_fd, "root/etc/conf", "image\n");
        snprintf(abs_target, sizeof abs_target, "%s/outside", f->tmp);
        assert_int_equal(symlinkat(abs_target, f->tmp_fd, "root/abs"), 0);
        assert_int_equal(symlinkat("etc", f->tmp_fd, "root/rel"), 0);
        assert_int_equal(symlinkat("../outside", f->tmp_fd, "root/up"), 0);
        f->root_fd = openat(f->tmp_fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->root_fd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        close(f->root_fd);
        assert_int_equal(rm_rf_children(f->tmp_fd, NULL), 0);
        close(f->tmp_fd);
        assert_int_equal(rmdir(f->tmp), 0);
        free(f);
        return 0;
}

/* "image" if path opens root/etc/conf, "host" if it escaped, NULL if refused. */
static const char *which(int root_fd, const char *path) {
        static char buf[16];
        int fd = open_in_root(root_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        assert_true(n > 0);
        buf[n] = 0;
        return strcmp(buf, "image\n") == 0 ? "image" : "host";
}

/* Checks done with and without openat2: no path leaves the root. */
static void check_never_outside(int root_fd) {
        const char *w;

        assert_string_equal(which(root_fd, "/etc/conf"), "image");
        assert_string_equal(which(root_fd, "etc//conf"), "image");
        w = which(root_fd, "/abs/secret");
        assert_true(!w || strcmp(w, "host") != 0);
        w = which(root_fd, "/up/secret");
        assert_true(!w || strcmp(w, "host") != 0);
        w = which(root_fd, "/../outside/secret");
        assert_true(!w || strcmp(w, "host") != 0);
        w = which(root_fd, "/etc/../../outside/secret");
        assert_true(!w || strcmp(w, "host") != 0);
        /* Directories, as skel-copy and sysusers open them. */
        int fd = open_in_root(root_fd, "/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(open_in_root(root_fd, "/etc/conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC), -ENOTDIR);
        assert_int_equal(open_in_root(root_fd, "/missing", O_RDONLY | O_CLOEXEC), -ENOENT);
}

static void test_openat2(void **state) {
        Fixture *f = *state;
        struct open_how how = { .flags = O_RDONLY };
        int fd = (int) syscall(SYS_openat2, f->root_fd, ".", &how, sizeof how);
        if (fd < 0 && errno == ENOSYS)
                skip();
        close(fd);
        check_never_outside(f->root_fd);
        /* Resolved inside the root: a relative symlink works. */
        assert_string_equal(which(f->root_fd, "/rel/conf"), "image");
}

/* openat2 fails with ENOSYS from now on, in this process. */
static int take_openat2_away(void) {
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(filter), .filter = filter };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -errno : 0;
}

/* Before Linux 5.6: the walk refuses every symlink rather than resolve one
 * on the host. A plain openat() here opened <tmp>/outside/secret. */
static void test_without_openat2(void **state) {
        Fixture *f = *state;
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                /* cmocka's assertions longjmp into the parent's state: in
                 * the child, a failed one must end the child. */
                if (take_openat2_away() < 0)
                        _exit(77);
                errno = 0;
                struct open_how how = { .flags = O_RDONLY };
                if (syscall(SYS_openat2, f->root_fd, ".", &how, sizeof how) >= 0 || errno != ENOSYS)
                        _exit(3);
                if (which(f->root_fd, "/abs/secret") || which(f->root_fd, "/up/secret") ||
                    which(f->root_fd, "/../outside/secret") || which(f->root_fd, "/etc/../../outside/secret"))
                        _exit(4);
                if (open_in_root(f->root_fd, "/abs/secret", O_RDONLY | O_CLOEXEC) != -ELOOP ||
                    open_in_root(f->root_fd, "/rel", O_RDONLY | O_DIRECTORY | O_CLOEXEC) != -ELOOP)
                        _exit(5);
                const char *w = which(f->root_fd, "/etc/conf");
                if (!w || strcmp(w, "image") != 0)
                        _exit(6);
                int fd = open_in_root(f->root_fd, "/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        _exit(7);
                close(fd);
                if (open_in_root(f->root_fd, "/etc/conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC) != -ENOTDIR ||
                    open_in_root(f->root_fd, "/missing", O_RDONLY | O_CLOEXEC) != -ENOENT)
                        _exit(8);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                skip(); /* no seccomp here */
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_running_system(void **state) {
        Fixture *f = *state;
        char path[128];

        /* root_fd -1: the path as it is, symlinks followed. */
        snprintf(path, sizeof path, "%s/root/abs/secret", f->tmp);
        assert_string_equal(which(-1, path), "host");
}

static void test_rm_rf(void **state) {
        Fixture *f = *state;
        struct stat st;

        /* The symlink goes, not what it points to. */
        assert_int_equal(mkdirat(f->root_fd, "tree", 0755), 0);
        assert_int_equal(mkdirat(f->root_fd, "tree/sub", 0755), 0);
        write_file(f->root_fd, "tree/sub/file", "x");
        assert_int_equal(symlinkat("../../outside", f->root_fd, "tree/sub/link"), 0);
        assert_int_equal(rm_rf_at(f->root_fd, "tree", NULL), 0);
        assert_int_equal(fstatat(f->root_fd, "tree", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(f->tmp_fd, "outside/secret", &st, 0), 0);
        assert_int_equal(rm_rf_at(f->root_fd, "tree", NULL), 0); /* already gone: fine */

        /* Children only: the directory stays. */
        assert_int_equal(mkdirat(f->root_fd, "keep", 0755), 0);
        write_file(f->root_fd, "keep/a", "x");
        assert_int_equal(mkdirat(f->root_fd, "keep/b", 0755), 0);
        int fd = openat(f->root_fd, "keep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(rm_rf_children(fd, NULL), 0);
        assert_int_equal(fstatat(fd, "a", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(fd, "b", &st, AT_SYMLINK_NOFOLLOW), -1);
        close(fd);
        assert_int_equal(fstatat(f->root_fd, "keep", &st, AT_SYMLINK_NOFOLLOW), 0);
}

static int hook_calls;
/* Takes "opaque" away itself, as storage/home.c does with a subvolume. */
static int count_hook(int dir_fd, const char *name, int fd, const struct stat *st) {
        hook_calls++;
        if (strcmp(name, "opaque") != 0)
                return 0;
        return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? -errno : 1;
}

static void test_rm_rf_hook(void **state) {
        Fixture *f = *state;
        struct stat st;

        assert_int_equal(mkdirat(f->root_fd, "h", 0755), 0);
        assert_int_equal(mkdirat(f->root_fd, "h/opaque", 0755), 0);
        assert_int_equal(mkdirat(f->root_fd, "h/plain", 0755), 0);
        hook_calls = 0;
        assert_int_equal(rm_rf_at(f->root_fd, "h", count_hook), 0);
        assert_int_equal(hook_calls, 3);
        assert_int_equal(fstatat(f->root_fd, "h", &st, AT_SYMLINK_NOFOLLOW), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_openat2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_without_openat2, setup, teardown),
                cmocka_unit_test_setup_teardown(test_running_system, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rm_rf, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rm_rf_hook, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
