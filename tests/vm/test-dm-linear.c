/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives storage/pool/dm-linear.c from tests/vm/dm-linear-inside.sh, one
 * operation per run, plus a checking writer and a reload benchmark.
 *
 *   test-dm-linear udev
 *   test-dm-linear create NAME UUID_SUFFIX RUN...
 *   test-dm-linear reload NAME RUN...
 *   test-dm-linear table NAME
 *   test-dm-linear info NAME
 *   test-dm-linear remove NAME
 *   test-dm-linear validate RUN...
 *   test-dm-linear writer DEVICE OFFSET_BYTES LENGTH_BYTES STOP_FILE [STARTED_FILE]
 *       (O_DIRECT, 64 KiB writes until STOP_FILE appears, then reads back;
 *        prints "gap START END" for every wait of 5 ms or more)
 *   test-dm-linear bench NAME COUNT RUN... -- RUN...
 *       (reloads alternately to the second table and back, COUNT times;
 *        prints "window START END" for each suspend → resume, and timings)
 *
 * RUN is DEVICE_PATH:OFFSET:LENGTH or MAJ:MIN:OFFSET:LENGTH in 512-byte
 * sectors; runs follow each other from sector 0 unless one is prefixed with
 * START= (to build broken tables on purpose). Exit status 0 on success, 1
 * on failure with the error name on the last line of stderr, 2 for usage. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dm-linear.h"
#include "log.h"
#include "macro.h"

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static int fail(int r) {
        fprintf(stderr, "test-dm-linear: failed: %s\n", strerrorname_np(-r) ?: "unknown");
        return 1;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || *s == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_run(const char *arg, uint64_t *next_start, DmLinearTarget *ret) {
        _cleanup_free_ char *s = strdup(arg);
        char *fields[4], *p, *eq;
        size_t n = 0;
        uint64_t start = *next_start;

        if (!s)
                return -ENOMEM;
        p = s;
        eq = strchr(p, '=');
        if (eq) {
                *eq = 0;
                if (parse_u64(p, &start) < 0)
                        return -EINVAL;
                p = eq + 1;
        }
        for (char *tok = strsep(&p, ":"); tok; tok = strsep(&p, ":")) {
                if (n == ELEMENTSOF(fields))
                        return -EINVAL;
                fields[n++] = tok;
        }
        DmLinearTarget t = { .start = start };
        if (n == 3) {
                struct stat st;
                if (stat(fields[0], &st) < 0)
                        return negative_errno();
                if (!S_ISBLK(st.st_mode))
                        return -ENOTBLK;
                t.dev = st.st_rdev;
        } else if (n == 4) {
                uint64_t maj, min;
                if (parse_u64(fields[0], &maj) < 0 || parse_u64(fields[1], &min) < 0)
                        return -EINVAL;
                t.dev = makedev((unsigned) maj, (unsigned) min);
        } else
                return -EINVAL;
        if (parse_u64(fields[n - 2], &t.offset) < 0 || parse_u64(fields[n - 1], &t.length) < 0)
                return -EINVAL;
        *next_start = start + t.length;
        *ret = t;
        return 0;
}

static int parse_runs(char **args, size_t n, DmLinearTarget **ret) {
        _cleanup_free_ DmLinearTarget *t = calloc(n ? n : 1, sizeof *t);
        uint64_t next = 0;

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (parse_run(args[i], &next, &t[i]) < 0) {
                        fprintf(stderr, "test-dm-linear: bad run '%s'\n", args[i]);
                        return -EINVAL;
                }
        *ret = TAKE_PTR(t);
        return 0;
}

static void print_timing(const DmLinearReloadTiming *t) {
        printf("pause_us %" PRIu64 " suspend_us %" PRIu64 " resume_us %" PRIu64 " load_us %" PRIu64
               " udev_us %" PRIu64 "\n", t->pause_usec, t->suspend_usec, t->resume_usec, t->load_usec,
               t->udev_usec);
}

/* ---- the checking writer ------------------------------------------------- */

#define CHUNK (64 * 1024)
#define GAP_REPORT_USEC 5000

static void fill(uint64_t *buf, uint64_t pass, uint64_t chunk) {
        for (size_t w = 0; w < CHUNK / sizeof *buf; w++)
                buf[w] = (pass << 40) ^ (chunk << 16) ^ w ^ UINT64_C(0x5a5a000000000000);
}

static int writer(const char *dev, const char *off_s, const char *len_s, const char *stop, const char *started) {
        _cleanup_close_ int fd = -1;
        uint64_t off, len, writes = 0, max_gap = 0, pass = 0, last;
        static uint64_t gaps[4096][2];
        size_t n_gaps = 0;
        void *buf = NULL, *rbuf = NULL;
        int r = 0;

        if (parse_u64(off_s, &off) < 0 || parse_u64(len_s, &len) < 0 || off % CHUNK || len % CHUNK || !len)
                return log_error_errno(EINVAL, "writer: offset and length must be multiples of %d", CHUNK);
        fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "writer: cannot open %s: %m", dev);
        if (posix_memalign(&buf, 4096, CHUNK) != 0 || posix_memalign(&rbuf, 4096, CHUNK) != 0)
                return log_oom();

        last = dm_linear_now_usec();
        for (bool stopping = false; !stopping;) {
                pass++;
                stopping = access(stop, F_OK) == 0; /* finish this pass, then stop */
                for (uint64_t c = 0; c < len / CHUNK; c++) {
                        fill(buf, pass, c);
                        ssize_t k = pwrite(fd, buf, CHUNK, (off_t) (off + c * CHUNK));
                        uint64_t now = dm_linear_now_usec();
                        if (k != CHUNK) {
                                r = log_error_errno(k < 0 ? errno : EIO, "writer: write at %" PRIu64 " failed: %m",
                                                    off + c * CHUNK);
                                goto out;
                        }
                        if (now - last > max_gap)
                                max_gap = now - last;
                        /* Long gaps with their times, to match them with
                         * the reload windows the bench prints. */
                        if (now - last >= GAP_REPORT_USEC && n_gaps < ELEMENTSOF(gaps)) {
                                gaps[n_gaps][0] = last;
                                gaps[n_gaps][1] = now;
                                n_gaps++;
                        }
                        last = now;
                        writes++;
                        if (writes == 1 && started) {
                                int s = open(started, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                                if (s >= 0)
                                        close(s);
                        }
                }
        }
        if (fdatasync(fd) < 0) {
                r = log_error_errno(errno, "writer: fdatasync failed: %m");
                goto out;
        }
        for (uint64_t c = 0; c < len / CHUNK; c++) {
                fill(buf, pass, c);
                if (pread(fd, rbuf, CHUNK, (off_t) (off + c * CHUNK)) != CHUNK || memcmp(buf, rbuf, CHUNK) != 0) {
                        r = log_error_errno(EIO, "writer: chunk %" PRIu64 " does not read back as written", c);
                        goto out;
                }
        }
        for (size_t i = 0; i < n_gaps; i++)
                printf("gap %" PRIu64 " %" PRIu64 "\n", gaps[i][0], gaps[i][1]);
        printf("writer: passes %" PRIu64 " writes %" PRIu64 " max_gap_us %" PRIu64 " errors 0 verified\n",
               pass, writes, max_gap);
out:
        free(buf);
        free(rbuf);
        return r;
}

/* ---- reload benchmark ---------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int bench(const char *name, const char *count_s, char **args, int n_args) {
        _cleanup_free_ DmLinearTarget *a = NULL, *b = NULL;
        _cleanup_free_ uint64_t *pauses = NULL;
        uint64_t count;
        int split = -1, r;

        for (int i = 0; i < n_args; i++)
                if (strcmp(args[i], "--") == 0)
                        split = i;
        if (parse_u64(count_s, &count) < 0 || count == 0 || split < 1 || split == n_args - 1)
                return -EINVAL;
        r = parse_runs(args, (size_t) split, &a);
        if (r < 0)
                return r;
        r = parse_runs(args + split + 1, (size_t) (n_args - split - 1), &b);
        if (r < 0)
                return r;
        pauses = calloc(count, sizeof *pauses);
        if (!pauses)
                return -ENOMEM;
        for (uint64_t i = 0; i < count; i++) {
                DmLinearReloadTiming t;
                bool to_b = i % 2 == 0;
                r = to_b ? dm_linear_reload_timed(name, b, (size_t) (n_args - split - 1), &t)
                         : dm_linear_reload_timed(name, a, (size_t) split, &t);
                if (r < 0)
                        return r;
                printf("window %" PRIu64 " %" PRIu64 "\n", t.suspend_at_usec, t.suspend_at_usec + t.pause_usec);
                printf("reload %" PRIu64 " %s: ", i, to_b ? "b" : "a");
                print_timing(&t);
                pauses[i] = t.pause_usec;
        }
        /* End on table a, whatever the count. */
        if (count % 2 == 1) {
                r = dm_linear_reload(name, a, (size_t) split);
                if (r < 0)
                        return r;
        }
        qsort(pauses, count, sizeof *pauses, cmp_u64);
        printf("pause_us min %" PRIu64 " median %" PRIu64 " max %" PRIu64 " over %" PRIu64 " reloads\n",
               pauses[0], pauses[count / 2], pauses[count - 1], count);
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_free_ DmLinearTarget *t = NULL;
        const char *cmd = argc > 1 ? argv[1] : "";
        int r;

        log_set_program("test-dm-linear");

        if (streq(cmd, "udev") && argc == 2) {
                printf("udev-sync %d\n", dm_linear_udev_sync());
                return 0;
        }
        if (streq(cmd, "create") && argc >= 5) {
                dev_t dev;
                r = parse_runs(argv + 4, (size_t) argc - 4, &t);
                if (r >= 0)
                        r = dm_linear_create(argv[2], argv[3], t, (size_t) argc - 4, &dev);
                if (r < 0)
                        return fail(r);
                printf("dev %u:%u\n", major(dev), minor(dev));
                return 0;
        }
        if (streq(cmd, "reload") && argc >= 4) {
                DmLinearReloadTiming timing;
                r = parse_runs(argv + 3, (size_t) argc - 3, &t);
                if (r >= 0)
                        r = dm_linear_reload_timed(argv[2], t, (size_t) argc - 3, &timing);
                if (r < 0)
                        return fail(r);
                printf("window %" PRIu64 " %" PRIu64 "\n", timing.suspend_at_usec,
                       timing.suspend_at_usec + timing.pause_usec);
                print_timing(&timing);
                return 0;
        }
        if (streq(cmd, "validate") && argc >= 3) {
                r = parse_runs(argv + 2, (size_t) argc - 2, &t);
                if (r >= 0)
                        r = dm_linear_validate("validate", t, (size_t) argc - 2);
                return r < 0 ? fail(r) : 0;
        }
        if (streq(cmd, "table") && argc == 3) {
                size_t n;
                r = dm_linear_table(argv[2], &t, &n);
                if (r < 0)
                        return fail(r);
                for (size_t i = 0; i < n; i++)
                        printf("%" PRIu64 " %" PRIu64 " %u:%u %" PRIu64 "\n", t[i].start, t[i].length,
                               major(t[i].dev), minor(t[i].dev), t[i].offset);
                return 0;
        }
        if (streq(cmd, "info") && argc == 3) {
                DmLinearInfo info;
                r = dm_linear_info(argv[2], &info);
                if (r < 0)
                        return fail(r);
                printf("exists %d suspended %d live %d inactive %d open %d dev %u:%u\n", info.exists,
                       info.suspended, info.has_live_table, info.has_inactive_table, info.open_count,
                       major(info.dev), minor(info.dev));
                return 0;
        }
        if (streq(cmd, "remove") && argc == 3) {
                r = dm_linear_remove(argv[2]);
                return r < 0 ? fail(r) : 0;
        }
        if (streq(cmd, "writer") && (argc == 6 || argc == 7)) {
                r = writer(argv[2], argv[3], argv[4], argv[5], argc == 7 ? argv[6] : NULL);
                return r < 0 ? fail(r) : 0;
        }
        if (streq(cmd, "bench") && argc >= 7) {
                r = bench(argv[2], argv[3], argv + 4, argc - 4);
                return r < 0 ? fail(r) : 0;
        }
        fprintf(stderr, "usage: see the comment at the top of %s\n", __FILE__);
        return 2;
}
