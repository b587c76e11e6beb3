/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "worker-client.h"

/* The record plus slack; a worker printing more is broken. */
#define OUTPUT_MAX (JSON_STRICT_MAX_SIZE + 4096)
#define REASON_MAX 4096

struct WorkerJob {
        pid_t pid;
        sd_event_source *child, *out_src, *err_src, *timer;
        uint64_t timeout_usec;
        bool timed_out;
        /* Freed while its child still ran: the job waits for the exit to
         * reap it, so that a worker stuck in the kernel never blocks us. */
        bool orphan;
        WorkerJob *next_orphan;
        int out_fd, err_fd;
        char *out;
        size_t out_len, out_alloc;
        bool out_overflow;
        char err[REASON_MAX];
        size_t err_len;
        WorkerDoneFn done;
        void *userdata;
};

/* Jobs freed before their worker exited; kept reachable until it does. */
static WorkerJob *orphans;

pid_t worker_job_pid(const WorkerJob *job) {
        return job ? job->pid : 0;
}

static void job_destroy(WorkerJob *job) {
        sd_event_source_disable_unref(job->out_src);
        sd_event_source_disable_unref(job->err_src);
        sd_event_source_disable_unref(job->timer);
        sd_event_source_disable_unref(job->child);
        if (job->out_fd >= 0)
                close(job->out_fd);
        if (job->err_fd >= 0)
                close(job->err_fd);
        free(job->out);
        free(job);
}

WorkerJob *worker_job_free(WorkerJob *job) {
        if (!job)
                return NULL;
        if (!job->child) {
                job_destroy(job);
                return NULL;
        }
        /* Still running: it must not outlive the call it serves. It is not
         * waited for here: a worker in uninterruptible sleep (a hung mount)
         * dies only when the kernel lets it, and hearthd must go on
         * answering meanwhile. The exit handler reaps it and frees the job. */
        (void) sd_event_source_send_child_signal(job->child, SIGKILL, NULL, 0);
        job->done = NULL;
        job->orphan = true;
        job->out_src = sd_event_source_disable_unref(job->out_src);
        job->err_src = sd_event_source_disable_unref(job->err_src);
        job->timer = sd_event_source_disable_unref(job->timer);
        job->next_orphan = orphans;
        orphans = job;
        return NULL;
}

static void orphan_reaped(WorkerJob *job) {
        for (WorkerJob **p = &orphans; *p; p = &(*p)->next_orphan)
                if (*p == job) {
                        *p = job->next_orphan;
                        break;
                }
        job_destroy(job);
}

void worker_jobs_release_orphans(void) {
        while (orphans) {
                WorkerJob *job = orphans;
                orphans = job->next_orphan;
                /* Not waited for (see worker_job_free); it was sent SIGKILL
                 * and dies with us at the latest (PR_SET_PDEATHSIG). */
                (void) sd_event_source_set_child_process_own(job->child, false);
                job_destroy(job);
        }
}

/* Reads what is there; returns 1 at EOF, 0 when it would block. */
static int drain(WorkerJob *job, int fd) {
        for (;;) {
                char buf[16384];
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : 1;
                }
                if (n == 0)
                        return 1;
                if (fd == job->out_fd) {
                        if (job->out_len + (size_t) n > OUTPUT_MAX) {
                                job->out_overflow = true;
                                continue;
                        }
                        if (job->out_len + (size_t) n + 1 > job->out_alloc) {
                                size_t a = (job->out_len + (size_t) n + 1) * 2;
                                char *p = realloc(job->out, a);
                                if (!p) {
                                        job->out_overflow = true;
                                        continue;
                                }
                                job->out = p;
                                job->out_alloc = a;
                        }
                        memcpy(job->out + job->out_len, buf, (size_t) n);
                        job->out_len += (size_t) n;
                        job->out[job->out_len] = 0;
                } else {
                        /* Keep the tail: the reason is the last line. */
                        for (ssize_t i = 0; i < n; i++) {
                                if (job->err_len + 1 >= sizeof job->err) {
                                        memmove(job->err, job->err + sizeof job->err / 2,
                                                job->err_len - sizeof job->err / 2);
                                        job->err_len -= sizeof job->err / 2;
                                }
                                job->err[job->err_len++] = buf[i];
                        }
                        job->err[job->err_len] = 0;
                }
        }
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkerJob *job = userdata;
        if (drain(job, fd) > 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

/* The last non-empty line of what the worker said, made fit for a D-Bus
 * error message: valid UTF-8 (which D-Bus requires), no control characters,
 * at most 512 bytes. Tools the worker runs may print anything. */
static const char *last_line(char *s, size_t len) {
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
                s[--len] = 0;
        char *line = memrchr(s, '\n', len);
        line = line ? line + 1 : s;

        unsigned char *p = (unsigned char *) line, *out = p;
        while (*p && out - (unsigned char *) line < 512) {
                size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
                bool ok = n > 0 && !(n == 2 && *p < 0xC2) && !(n == 4 && *p > 0xF4);
                for (size_t i = 1; ok && i < n; i++)
                        ok = (p[i] & 0xC0) == 0x80;
                /* Overlong three- and four-byte forms, surrogates, > U+10FFFF. */
                if (ok && n == 3)
                        ok = !(p[0] == 0xE0 && p[1] < 0xA0) && !(p[0] == 0xED && p[1] >= 0xA0);
                if (ok && n == 4)
                        ok = !(p[0] == 0xF0 && p[1] < 0x90) && !(p[0] == 0xF4 && p[1] >= 0x90);
                if (!ok || (n == 1 && (*p < 0x20 || *p == 0x7F))) {
                        *out++ = '?';
                        p++;
                        continue;
                }
                memmove(out, p, n);
                out += n;
                p += n;
        }
        *out = 0;
        return line;
}

static int on_worker_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        WorkerJob *job = userdata;
        WorkerResult result = {};

        /* Everything it wrote is in the pipes now. */
        (void) drain(job, job->out_fd);
        (void) drain(job, job->err_fd);
        job->child = sd_event_source_disable_unref(job->child);
        job->timer = sd_event_source_disable_unref(job->timer);
        if (job->orphan) {
                orphan_reaped(job);
                return 0;
        }

        if (si->si_code == CLD_EXITED)
                result.status = si->si_status;
        else {
                result.status = -1;
                result.signal = si->si_status;
        }
        result.output = job->out_overflow ? "" : job->out ? job->out : "";
        result.output_len = job->out_overflow ? 0 : job->out_len;
        result.reason = last_line(job->err, job->err_len);
        result.timed_out = job->timed_out;
        result.timeout_usec = job->timeout_usec;
        if (job->out_overflow && result.status == 0) {
                result.status = 20;
                result.reason = "worker printed an oversized record";
        }
        WorkerDoneFn done = TAKE_PTR(job->done);
        if (done)
                done(&result, job->userdata);
        return 0;
}

/* Past its time limit: killed, and the call answered now, without waiting
 * for a worker that may not die soon (stopped, or stuck in a mount). */
static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        WorkerJob *job = userdata;
        WorkerResult result = {
                .status = -1,
                .signal = SIGKILL,
                .output = "",
                .reason = "",
                .timed_out = true,
                .timeout_usec = job->timeout_usec,
        };

        job->timed_out = true;
        job->timer = sd_event_source_disable_unref(job->timer);
        log_warning("worker %d: still running after its time limit; killing it and the tools it runs",
                    (int) job->pid);
        (void) sd_event_source_send_child_signal(job->child, SIGKILL, NULL, 0);
        (void) kill(-job->pid, SIGKILL);
        WorkerDoneFn done = TAKE_PTR(job->done);
        if (done)
                done(&result, job->userdata);
        return 0;
}

static int request_memfd(const void *request, size_t len) {
        _cleanup_close_ int fd = memfd_create("hearth-request", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, (const char *) request + done, len - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) n;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        (void) fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        return TAKE_FD(fd);
}

int worker_job_start(sd_event *event, const WorkerEnv *env, char *const argv[], const void *request,
                     size_t request_len, uint64_t timeout_usec, WorkerDoneFn done, void *userdata, WorkerJob **ret) {
        _cleanup_close_ int in = -1;
        int out[2] = { -1, -1 }, err[2] = { -1, -1 };
        char *args[16];
        size_t n = 0;
        int r;

        args[n++] = (char *) "hearth-work";
        for (; argv[n - 1] && n < ELEMENTSOF(args) - 1; n++)
                args[n] = argv[n - 1];
        args[n] = NULL;

        in = request_memfd(request, request_len);
        if (in < 0)
                return log_error_errno(in, "cannot hand a request to the worker: %m");
        if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = log_error_errno(errno, "cannot create pipes for the worker: %m");
                goto fail;
        }

        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                r = log_error_errno(errno, "cannot fork a worker: %m");
                goto fail;
        }
        if (pid == 0) {
                /* The child. hearthd is single-threaded, so setenv() is safe here. */
                sigset_t all;
                /* A worker outliving hearthd would finish work nobody
                 * records; killed instead, it leaves the home as it was. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                /* Its own process group: a time limit kills the tools it
                 * runs (mkfs, e2fsck, resize2fs) with it. */
                (void) setpgid(0, 0);
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (dup2(in, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
                    dup2(err[1], STDERR_FILENO) < 0)
                        _exit(127);
                /* The pipes' read ends are non-blocking; the worker's ends
                 * must not be. */
                (void) fcntl(STDOUT_FILENO, F_SETFL, 0);
                (void) fcntl(STDERR_FILENO, F_SETFL, 0);
                /* Messages in one known encoding; the service manager's
                 * notification socket is hearthd's, not the worker's. */
                (void) unsetenv("NOTIFY_SOCKET");
                if (setenv("LC_ALL", "C.UTF-8", 1) < 0 ||
                    setenv("HEARTH_STATE_DIR", env->state_dir, 1) < 0 ||
                    setenv("HEARTH_RUNTIME_DIR", env->runtime_dir, 1) < 0 ||
                    setenv("HEARTH_HOME_ROOT", env->home_root, 1) < 0)
                        _exit(127);
                execv(env->worker_path, args);
                _exit(127);
        }
        (void) setpgid(pid, pid); /* whichever of the two runs first */
        close(out[1]);
        close(err[1]);

        WorkerJob *job = calloc(1, sizeof *job);
        if (!job) {
                kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                close(out[0]);
                close(err[0]);
                return log_oom();
        }
        job->pid = pid;
        job->out_fd = out[0];
        job->err_fd = err[0];
        job->done = done;
        job->userdata = userdata;
        job->timeout_usec = timeout_usec;
        r = sd_event_add_child(event, &job->child, pid, WEXITED, on_worker_exit, job);
        if (r >= 0)
                r = sd_event_add_io(event, &job->out_src, job->out_fd, EPOLLIN, on_output, job);
        if (r >= 0)
                r = sd_event_add_io(event, &job->err_src, job->err_fd, EPOLLIN, on_output, job);
        if (r >= 0 && timeout_usec > 0 && timeout_usec != UINT64_MAX)
                r = sd_event_add_time_relative(event, &job->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_timeout, job);
        if (r < 0) {
                if (!job->child) {
                        kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                } else
                        (void) sd_event_source_set_child_process_own(job->child, true);
                job_destroy(job);
                return log_error_errno(r, "cannot watch the worker: %m");
        }
        /* Pipe events first; the exit handler drains whatever is left. */
        (void) sd_event_source_set_priority(job->child, SD_EVENT_PRIORITY_NORMAL + 10);
        *ret = job;
        return 0;

fail:
        for (int i = 0; i < 2; i++) {
                if (out[i] >= 0)
                        close(out[i]);
                if (err[i] >= 0)
                        close(err[i]);
        }
        return r;
}
