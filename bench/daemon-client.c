/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench/daemon-client: times org.freedesktop.home1 calls for bench/daemon,
 * on one sd-bus connection to the system bus ($DBUS_SYSTEM_BUS_ADDRESS),
 * sequential calls, clock_gettime(CLOCK_MONOTONIC) around each.
 *
 *   daemon-client wait-name TIMEOUT_S
 *       Subscribes to NameOwnerChanged for org.freedesktop.home1, prints
 *       "armed" on stdout, then, when the name gets an owner, prints
 *       CLOCK_REALTIME in microseconds (comparable with bash's $EPOCHREALTIME).
 *   daemon-client list CALLS EXPECT_HOMES
 *   daemon-client record CALLS N_USERS     GetUserRecordByName, random u%05d < N_USERS
 *   daemon-client home CALLS N_USERS       GetHomeByName, random users
 *   daemon-client record-one CALLS USER    GetUserRecordByName of one user
 *   daemon-client prop CALLS USER          Properties.Get State on that user's Home object
 *   daemon-client ping CALLS               org.freedesktop.DBus.Peer.Ping to hearthd
 *                                          (answered by sd-bus itself: the bus floor)
 *   daemon-client spawn CALLS -- CMD...    fork+exec+wait CMD (stdout to /dev/null)
 *
 * Timing modes print one line:
 *   <label> calls=N p50_us=… p99_us=… mean_us=… max_us=… [extra]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"

static double now_us(clockid_t c) {
        struct timespec ts;
        clock_gettime(c, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p) {
        size_t k = (size_t) (p / 100.0 * n + 0.999999);
        if (k < 1)
                k = 1;
        if (k > n)
                k = n;
        return v[k - 1];
}

static void report(const char *label, double *v, size_t n, const char *extra) {
        double sum = 0;
        qsort(v, n, sizeof *v, cmp_double);
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        printf("%s calls=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f%s%s\n", label, n, pct(v, n, 50),
               pct(v, n, 99), sum / n, v[n - 1], extra ? " " : "", extra ?: "");
}

static void die_bus(const char *what, const sd_bus_error *e, int r) {
        fprintf(stderr, "daemon-client: %s: %s\n", what, e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
        exit(1);
}

static sd_bus *connect_bus(void) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                die_bus("cannot connect to the system bus", NULL, r);
        return bus;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old, *new;
        if (sd_bus_message_read(m, "sss", &name, &old, &new) >= 0 && strcmp(name, HOME1_BUS_NAME) == 0 && new[0])
                *(double *) userdata = now_us(CLOCK_REALTIME);
        return 0;
}

static int wait_name(double timeout_s) {
        sd_bus *bus = connect_bus();
        double got = 0, deadline = now_us(CLOCK_MONOTONIC) + timeout_s * 1e6;
        int r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, &got);
        if (r < 0)
                die_bus("cannot subscribe to NameOwnerChanged", NULL, r);
        /* sd_bus_match_signal() is synchronous: the match is in place now. */
        printf("armed\n");
        fflush(stdout);
        while (got == 0) {
                double left = deadline - now_us(CLOCK_MONOTONIC);
                if (left <= 0) {
                        fprintf(stderr, "daemon-client: %s did not appear within %.0f s\n", HOME1_BUS_NAME, timeout_s);
                        return 1;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        die_bus("bus", NULL, r);
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, (uint64_t) left);
                if (r < 0)
                        die_bus("bus", NULL, r);
        }
        printf("%.0f\n", got);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static long arg_long(const char *s, const char *what) {
        char *end;
        long v = strtol(s, &end, 10);
        if (!*s || *end || v < 1) {
                fprintf(stderr, "daemon-client: %s: expected a positive number, got \"%s\"\n", what, s);
                exit(2);
        }
        return v;
}

typedef enum Kind { LIST, RECORD, HOME, RECORD_ONE, PING, PROP } Kind;

static int run_calls(Kind kind, long calls, long n_users, const char *one_user) {
        sd_bus *bus = connect_bus();
        double *v = calloc((size_t) calls, sizeof *v);
        size_t bytes = 0, entries = 0;
        char extra[128] = "";
        unsigned seed = 12345;
        char *home_path = NULL;
        int r;

        if (!v)
                return 1;
        if (kind == PROP) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                const char *p;
                r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                       "GetHomeByName", &e, &reply, "s", one_user);
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "ususs");
                if (r >= 0)
                        r = sd_bus_message_skip(reply, "s");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &p);
                if (r < 0)
                        die_bus(one_user, &e, r);
                home_path = strdup(p);
                sd_bus_message_unref(reply);
                if (!home_path)
                        return 1;
        }
        for (long i = 0; i < calls; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                char user[32];
                const char *text, *path;
                int incomplete;

                snprintf(user, sizeof user, "u%05ld", n_users > 0 ? (long) (rand_r(&seed) % n_users) : 0);
                if (one_user)
                        snprintf(user, sizeof user, "%s", one_user);
                double t0 = now_us(CLOCK_MONOTONIC);
                switch (kind) {
                case LIST:
                        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                               "ListHomes", &e, &reply, NULL);
                        break;
                case RECORD:
                case RECORD_ONE:
                        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                               "GetUserRecordByName", &e, &reply, "s", user);
                        break;
                case HOME:
                        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                               "GetHomeByName", &e, &reply, "s", user);
                        break;
                case PROP:
                        r = sd_bus_call_method(bus, HOME1_BUS_NAME, home_path, "org.freedesktop.DBus.Properties",
                                               "Get", &e, &reply, "ss", HOME1_HOME_INTERFACE, "State");
                        break;
                case PING:
                        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                                               "Ping", &e, &reply, NULL);
                        break;
                }
                if (r < 0)
                        die_bus(user, &e, r);
                /* Reading the reply is part of what a client pays. */
                if (kind == LIST) {
                        size_t k = 0;
                        r = sd_bus_message_enter_container(reply, 'a', "(susussso)");
                        while (r >= 0 && (r = sd_bus_message_skip(reply, "(susussso)")) > 0)
                                k++;
                        if (r < 0)
                                die_bus("ListHomes reply", NULL, r);
                        entries = k;
                } else if (kind == RECORD || kind == RECORD_ONE) {
                        r = sd_bus_message_read(reply, "sbo", &text, &incomplete, &path);
                        if (r < 0)
                                die_bus("GetUserRecordByName reply", NULL, r);
                        bytes += strlen(text);
                }
                v[i] = now_us(CLOCK_MONOTONIC) - t0;
                sd_bus_message_unref(reply);
                sd_bus_error_free(&e);
        }
        if (kind == LIST) {
                if ((long) entries != n_users) {
                        fprintf(stderr, "daemon-client: ListHomes returned %zu homes, expected %ld\n", entries,
                                n_users);
                        return 1;
                }
                snprintf(extra, sizeof extra, "homes=%zu", entries);
        } else if (kind == RECORD || kind == RECORD_ONE)
                snprintf(extra, sizeof extra, "record_bytes=%zu", bytes / (size_t) calls);
        report(kind == LIST   ? "ListHomes"
               : kind == HOME ? "GetHomeByName"
               : kind == PING ? "Ping"
               : kind == PROP ? "Home.State"
                              : "GetUserRecordByName",
               v, (size_t) calls, extra);
        free(v);
        free(home_path);
        sd_bus_flush_close_unref(bus);
        return 0;
}

static int spawn(long calls, char **cmd) {
        double *v = calloc((size_t) calls, sizeof *v);
        int failures = 0;
        if (!v)
                return 1;
        for (long i = 0; i < calls; i++) {
                int status;
                double t0 = now_us(CLOCK_MONOTONIC);
                pid_t pid = fork();
                if (pid < 0) {
                        perror("fork");
                        return 1;
                }
                if (pid == 0) {
                        int fd = open("/dev/null", O_WRONLY);
                        if (fd >= 0)
                                dup2(fd, STDOUT_FILENO);
                        execvp(cmd[0], cmd);
                        _exit(127);
                }
                if (waitpid(pid, &status, 0) < 0) {
                        perror("waitpid");
                        return 1;
                }
                v[i] = now_us(CLOCK_MONOTONIC) - t0;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failures++;
        }
        if (failures) {
                fprintf(stderr, "daemon-client: %s failed %d of %ld times\n", cmd[0], failures, calls);
                return 1;
        }
        report("spawn", v, (size_t) calls, NULL);
        free(v);
        return 0;
}

int main(int argc, char *argv[]) {
        const char *verb = argc > 1 ? argv[1] : "";

        if (strcmp(verb, "wait-name") == 0 && argc == 3)
                return wait_name((double) arg_long(argv[2], "TIMEOUT_S"));
        if (strcmp(verb, "list") == 0 && argc == 4)
                return run_calls(LIST, arg_long(argv[2], "CALLS"), arg_long(argv[3], "EXPECT_HOMES"), NULL);
        if (strcmp(verb, "record") == 0 && argc == 4)
                return run_calls(RECORD, arg_long(argv[2], "CALLS"), arg_long(argv[3], "N_USERS"), NULL);
        if (strcmp(verb, "home") == 0 && argc == 4)
                return run_calls(HOME, arg_long(argv[2], "CALLS"), arg_long(argv[3], "N_USERS"), NULL);
        if (strcmp(verb, "record-one") == 0 && argc == 4)
                return run_calls(RECORD_ONE, arg_long(argv[2], "CALLS"), 0, argv[3]);
        if (strcmp(verb, "prop") == 0 && argc == 4)
                return run_calls(PROP, arg_long(argv[2], "CALLS"), 0, argv[3]);
        if (strcmp(verb, "ping") == 0 && argc == 3)
                return run_calls(PING, arg_long(argv[2], "CALLS"), 0, NULL);
        if (strcmp(verb, "spawn") == 0 && argc >= 5 && strcmp(argv[3], "--") == 0)
                return spawn(arg_long(argv[2], "CALLS"), argv + 4);
        fprintf(stderr, "usage: daemon-client wait-name TIMEOUT_S | list CALLS EXPECT_HOMES |\n"
                        "       record CALLS N_USERS | home CALLS N_USERS | record-one CALLS USER |\n"
                        "       prop CALLS USER | ping CALLS | spawn CALLS -- CMD...\n");
        return 2;
}
