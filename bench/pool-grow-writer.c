/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench/pool-grow-writer: measures the I/O pause a resize causes, for
 * bench/pool-grow. Not installed, not part of meson test.
 *
 *   pool-grow-writer FILE
 *
 * Writes 4 KiB at a time to FILE (a 16 MiB region, rewritten round and
 * round, so the file stays small however long it runs), each write followed
 * by fdatasync(), and records the time between consecutive completed
 * writes: a write that the device holds back (a dm suspend, a filesystem
 * resize holding a lock) shows as one long gap. A page-cache write without
 * the flush would complete while the device is suspended and hide the pause.
 *
 * Prints "ready" on stdout once the first write reached the disk.
 * SIGUSR1 ends the baseline and starts the measured window (the resize);
 * a gap is counted in the phase in which it ended, so one that spans the
 * signal counts as the window's. SIGTERM or SIGINT stop it after the write
 * in progress, whose gap still counts: a write stuck until after the resize
 * is measured in full. Then it prints one line:
 *
 *   base_writes=N base_p50_us=… base_max_us=… win_writes=N win_p50_us=… win_p99_us=… win_max_us=…
 *
 * Exit status: 0, or 1 when a write failed or FILE cannot be opened. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

#define BLOCK 4096
#define REGION_BLOCKS 4096 /* 16 MiB */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t window_started;

static void on_stop(int sig) {
        stop_requested = 1;
}

static void on_mark(int sig) {
        window_started = 1;
}

typedef struct Gaps {
        uint64_t *v;
        size_t n, allocated;
        uint64_t max;
} Gaps;

static void gaps_done(Gaps *g) {
        free(g->v);
}

static int gaps_add(Gaps *g, uint64_t us) {
        if (g->n == g->allocated) {
                size_t a = g->allocated ? g->allocated * 2 : 4096;
                uint64_t *v = realloc(g->v, a * sizeof *v);
                if (!v)
                        return -ENOMEM;
                g->v = v;
                g->allocated = a;
        }
        g->v[g->n++] = us;
        if (us > g->max)
                g->max = us;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile; sorts the gaps. 0 when there are none. */
static uint64_t gaps_pct(Gaps *g, unsigned p) {
        if (g->n == 0)
                return 0;
        qsort(g->v, g->n, sizeof *g->v, cmp_u64);
        size_t k = (g->n * p + 99) / 100;
        return g->v[k > 0 ? k - 1 : 0];
}

static uint64_t now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static int write_block(int fd, const uint8_t *buf, off_t offset) {
        ssize_t k = pwrite(fd, buf, BLOCK, offset);
        if (k < 0)
                return negative_errno();
        if (k != BLOCK)
                return -EIO; /* a short write of 4 KiB: the disk is full */
        if (fdatasync(fd) < 0)
                return negative_errno();
        return 0;
}

static int run(const char *path) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                int r = negative_errno();
                fprintf(stderr, "pool-grow-writer: cannot open %s: %s\n", path, strerror(-r));
                return r;
        }

        /* Not zeros, so that no filesystem can store the blocks as holes. */
        uint8_t buf[BLOCK];
        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (uint8_t) (i * 131 + 7);

        _cleanup_(gaps_done) Gaps base = {}, win = {};
        uint64_t last = now_us();
        for (uint64_t i = 0; !stop_requested; i++) {
                int r = write_block(fd, buf, (off_t) (i % REGION_BLOCKS) * BLOCK);
                if (r < 0) {
                        fprintf(stderr, "pool-grow-writer: write to %s: %s\n", path, strerror(-r));
                        return r;
                }
                uint64_t t = now_us();
                if (i == 0) {
                        /* The first write also creates the file's extents:
                         * not a gap between writes. */
                        puts("ready");
                        fflush(stdout);
                } else if ((r = gaps_add(window_started ? &win : &base, t - last)) < 0) {
                        fprintf(stderr, "pool-grow-writer: %s\n", strerror(-r));
                        return r;
                }
                last = t;
        }

        uint64_t base_max = base.max, win_max = win.max;
        uint64_t base_p50 = gaps_pct(&base, 50);
        uint64_t win_p50 = gaps_pct(&win, 50), win_p99 = gaps_pct(&win, 99);
        printf("base_writes=%zu base_p50_us=%" PRIu64 " base_max_us=%" PRIu64 " win_writes=%zu win_p50_us=%" PRIu64
               " win_p99_us=%" PRIu64 " win_max_us=%" PRIu64 "\n",
               base.n, base_p50, base_max, win.n, win_p50, win_p99, win_max);
        return fflush(stdout) == EOF ? -EIO : 0;
}

int main(int argc, char *argv[]) {
        if (argc != 2 || argv[1][0] == '-') {
                bool help = argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
                fputs("Usage: pool-grow-writer FILE\n"
                      "Writes 4 KiB + fdatasync in a loop; SIGUSR1 starts the measured window,\n"
                      "SIGTERM stops and prints the gaps between writes (see bench/pool-grow).\n",
                      help ? stdout : stderr);
                return help ? 0 : 2;
        }

        /* SA_RESTART: a signal must never turn a write into a failure. */
        struct sigaction stop = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
        struct sigaction mark = { .sa_handler = on_mark, .sa_flags = SA_RESTART };
        if (sigaction(SIGTERM, &stop, NULL) < 0 || sigaction(SIGINT, &stop, NULL) < 0 ||
            sigaction(SIGUSR1, &mark, NULL) < 0) {
                perror("pool-grow-writer: sigaction");
                return 1;
        }
        return run(argv[1]) < 0 ? 1 : 0;
}
