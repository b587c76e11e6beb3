/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal Varlink client for the userdb tests (common/varlink.c):
 *
 *   varlink-call [--more] [--oneway] SOCKET METHOD [PARAMETERS]
 *       one call; each reply's parameters on a line of its own; an error
 *       as "error NAME PARAMETERS" (exit 1); exit 2 if the connection or
 *       the protocol failed, 0 after the last reply.
 *   varlink-call --raw SOCKET [N]
 *       sends standard input as it is, then prints what comes back (NULs
 *       as newlines) until hearthd closes the connection or N messages
 *       came (exit 0), or 10 s pass (exit 3).
 *   varlink-call --idle SOCKET
 *       sends nothing; prints the seconds until hearthd closes the
 *       connection (exit 0), exit 3 after 60 s.
 *   varlink-call --many N SOCKET
 *       opens N connections at once, makes a lookup of nothing on the
 *       first (its answer printed; exit 1 if it is not NoRecordFound),
 *       then prints how many of them hearthd closed. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json-strict.h"
#include "varlink.h"

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || strlen(path) >= sizeof sa.sun_path)
                return -1;
        strcpy(sa.sun_path, path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                perror(path);
                close(fd);
                return -1;
        }
        return fd;
}

static bool send_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Waits up to ms for fd to become readable or hang up: 1, or 0 on time out. */
static int wait_in(int fd, int ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, ms) > 0;
}

static int do_raw(const char *path, int want) {
        char buf[65536];
        int got = 0;
        size_t n = fread(buf, 1, sizeof buf, stdin);
        int fd = connect_to(path);
        double start = now();

        if (fd < 0 || !send_all(fd, buf, n))
                return 2;
        for (;;) {
                if (!wait_in(fd, 1000)) {
                        if (now() - start > 10)
                                return 3;
                        continue;
                }
                ssize_t k = recv(fd, buf, sizeof buf, 0);
                if (k <= 0)
                        return 0;
                for (ssize_t i = 0; i < k; i++) {
                        putchar(buf[i] ? buf[i] : '\n');
                        got += !buf[i];
                }
                fflush(stdout);
                if (want > 0 && got >= want)
                        return 0;
        }
}

static int do_idle(const char *path) {
        char c;
        int fd = connect_to(path);
        double start = now();

        if (fd < 0)
                return 2;
        if (!wait_in(fd, 60000))
                return 3;
        if (recv(fd, &c, 1, 0) != 0)
                return 2;
        printf("%.1f\n", now() - start);
        return 0;
}

static int call(int fd, const char *method, const char *params_text, bool more, bool oneway) {
        json_object *params = NULL;
        char *msg, *why = NULL;
        size_t len;
        int rc = 0;

        if (params_text && json_parse_strict(params_text, strlen(params_text), &params, &why) < 0) {
                fprintf(stderr, "invalid parameters: %s\n", why ? why : "?");
                free(why);
                return 2;
        }
        int f = varlink_format_call(method, params, more, &msg, &len);
        json_object_put(params);
        if (f < 0)
                return 2;
        if (oneway) {
                /* {"method":…,"parameters":…,"oneway":true} */
                msg[len - 2] = 0;
                char *m2;
                if (asprintf(&m2, "%s,\"oneway\":true}", msg) < 0) {
                        free(msg);
                        return 2;
                }
                free(msg);
                msg = m2;
                len = strlen(m2) + 1;
        }
        bool sent = send_all(fd, msg, len);
        free(msg);
        if (!sent)
                return 2;
        if (oneway)
                return 0;

        static char buf[VARLINK_REPLY_MAX + 1];
        size_t have = 0;
        for (;;) {
                size_t mlen;
                int r = varlink_frame(buf, have, VARLINK_REPLY_MAX, &mlen);
                if (r < 0)
                        return 2;
                if (r == 0) {
                        if (!wait_in(fd, 30000))
                                return 2;
                        ssize_t k = recv(fd, buf + have, sizeof buf - have, 0);
                        if (k <= 0) {
                                fprintf(stderr, "connection closed\n");
                                return 2;
                        }
                        have += (size_t) k;
                        continue;
                }
                VarlinkReply rep;
                if (varlink_reply_parse(buf, mlen, &rep, &why) < 0) {
                        fprintf(stderr, "invalid reply: %s\n", why ? why : "?");
                        return 2;
                }
                memmove(buf, buf + mlen + 1, have - mlen - 1);
                have -= mlen + 1;
                const char *p = json_object_to_json_string_ext(rep.parameters, JSON_C_TO_STRING_PLAIN |
                                                                                       JSON_C_TO_STRING_NOSLASHESCAPE);
                bool last = !rep.continues;
                if (rep.error) {
                        printf("error %s %s\n", rep.error, p);
                        rc = 1;
                } else
                        printf("%s\n", p);
                varlink_reply_done(&rep);
                if (last)
                        return rc;
        }
}

static int do_many(const char *path, int n) {
        int fds[1024], closed = 0;

        if (n < 1 || n > 1024)
                return 2;
        for (int i = 0; i < n; i++)
                if ((fds[i] = connect_to(path)) < 0)
                        return 2;
        /* hearthd takes what waits in its backlog at once: once the first
         * connection is answered, the ones refused are closed. */
        int r = call(fds[0], "io.systemd.UserDatabase.GetUserRecord",
                     "{\"userName\":\"no-such-user\",\"service\":\"io.hearth.Home\"}", false, false);
        for (int i = 0; i < n; i++) {
                char c;
                if (wait_in(fds[i], 100) && recv(fds[i], &c, 1, MSG_DONTWAIT) == 0)
                        closed++;
        }
        printf("%d closed\n", closed);
        return r == 1 ? 0 : 1;
}

int main(int argc, char *argv[]) {
        bool more = false, oneway = false;
        int i = 1;

        if (argc >= 3 && strcmp(argv[1], "--raw") == 0)
                return do_raw(argv[2], argc >= 4 ? atoi(argv[3]) : 0);
        if (argc >= 3 && strcmp(argv[1], "--idle") == 0)
                return do_idle(argv[2]);
        if (argc >= 4 && strcmp(argv[1], "--many") == 0)
                return do_many(argv[3], atoi(argv[2]));
        for (; i < argc && argv[i][0] == '-'; i++)
                if (strcmp(argv[i], "--more") == 0)
                        more = true;
                else if (strcmp(argv[i], "--oneway") == 0)
                        oneway = true;
                else
                        return 2;
        if (argc - i < 2)
                return 2;
        int fd = connect_to(argv[i]);
        if (fd < 0)
                return 2;
        return call(fd, argv[i + 1], argv[i + 2], more, oneway);
}
