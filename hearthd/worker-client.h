/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/* hearthd's side of hearth-work: start one worker for one operation
 * without blocking the event loop, collect its record and its one-line
 * reason, and report once it has exited. */
typedef struct WorkerJob WorkerJob;

typedef struct WorkerResult {
        int status;         /* exit status, or -1 if killed by a signal */
        int signal;         /* the signal, when killed */
        const char *output; /* stdout (the updated record), NUL-terminated */
        size_t output_len;
        const char *reason; /* the last line of stderr, "" if none */
        bool timed_out;     /* killed for running past timeout_usec */
        uint64_t timeout_usec;
} WorkerResult;

typedef void (*WorkerDoneFn)(const WorkerResult *result, void *userdata);

typedef struct WorkerEnv {
        const char *worker_path;
        const char *state_dir;
        const char *runtime_dir;
        const char *home_root;
} WorkerEnv;

/* argv: the operation and its options (e.g. {"resize", "--size=min", NULL}).
 * The request is handed over as the worker's stdin in a sealed memfd, so
 * writing it can never block. done runs exactly once, unless the job is
 * freed first. A worker still running timeout_usec after its start (0 or
 * UINT64_MAX: no limit) is sent SIGKILL and done runs at once with
 * timed_out set, without waiting for it to die. */
int worker_job_start(sd_event *event, const WorkerEnv *env, char *const argv[], const void *request,
                     size_t request_len, uint64_t timeout_usec, WorkerDoneFn done, void *userdata, WorkerJob **ret);

/* Kills a running worker (SIGKILL) and frees the job without calling done;
 * a worker that has not exited yet is reaped when it does, never waited for. */
WorkerJob *worker_job_free(WorkerJob *job);
/* At exit: forgets the workers killed but not yet reaped (they die with
 * hearthd at the latest). */
void worker_jobs_release_orphans(void);
pid_t worker_job_pid(const WorkerJob *job);
