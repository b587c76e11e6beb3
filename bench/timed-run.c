/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helper of bench/skel: runs a command and syncs a file system, timing both
 * without a shell's forks around them (a `date` before and after costs
 * more than a create from a spare on a loaded machine).
 *
 * Usage: timed-run REPORT SYNC_PATH COMMAND [ARG...]
 * Standard streams are the command's. REPORT gets one line: the wall
 * seconds from fork to the end of syncfs() of SYNC_PATH's file system,
 * the seconds of the command alone, those of the sync, and the command's
 * CPU seconds (user + system). Exits with the command's status. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
        if (argc < 4) {
                fprintf(stderr, "usage: timed-run REPORT SYNC_PATH COMMAND [ARG...]\n");
                return 2;
        }
        int sync_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
        if (sync_fd < 0) {
                perror(argv[2]);
                return 2;
        }
        double t0 = now();
        pid_t pid = fork();
        if (pid < 0) {
                perror("fork");
                return 2;
        }
        if (pid == 0) {
                execvp(argv[3], argv + 3);
                perror(argv[3]);
                _exit(127);
        }
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) {
                perror("wait4");
                return 2;
        }
        double t1 = now();
        if (syncfs(sync_fd) < 0) {
                perror("syncfs");
                return 2;
        }
        double t2 = now();
        FILE *f = fopen(argv[1], "we");
        if (!f)
                return 2;
        fprintf(f, "%.4f %.4f %.4f %.3f\n", t2 - t0, t1 - t0, t2 - t1,
                (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
                        (double) ru.ru_stime.tv_usec / 1e6);
        fclose(f);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
