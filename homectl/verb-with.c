/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl with USER -- CMD…: hold a reference on the home while CMD runs
 * inside it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-call.h"
#include "exit-status.h"
#include "homectl.h"
#include "log.h"

static int append_acquire(sd_bus_message *m, const Passwords *secret, void *userdata) {
        int r = bus_append_secret(m, secret);
        if (r < 0)
                return r;
        return sd_bus_message_append(m, "b", 0); /* pleaseSuspend */
}

/* Runs argv in dir and returns its exit status (128+N for signal N, 127 if
 * it could not be started). */
static int run_in(const char *user, const char *dir, char **argv) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
        int status;
        pid_t pid;

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "home %s: cannot fork: %m", user), EXIT_FAIL;
        if (pid == 0) {
                if (chdir(dir) < 0) {
                        log_error_errno(errno, "home %s: cannot change to %s: %m", user, dir);
                        _exit(127);
                }
                execvp(argv[0], argv);
                log_error_errno(errno, "home %s: cannot execute %s: %m", user, argv[0]);
                _exit(127);
        }

        /* Like system(3): ^C is for the command, homectl stays to release
         * the home afterwards. */
        sigemptyset(&ign.sa_mask);
        sigaction(SIGINT, &ign, &old_int);
        sigaction(SIGQUIT, &ign, &old_quit);
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        status = -errno;
                        break;
                }
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);

        if (status < 0)
                return log_error_errno(status, "home %s: cannot wait for %s: %m", user, argv[0]), EXIT_FAIL;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return EXIT_FAIL;
}

int verb_with(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *acquired = NULL, *home = NULL;
        _cleanup_passwords_ Passwords secret = {};
        _cleanup_close_ int fd = -1;
        const char *user = argv[1], *state, *real_name, *dir, *shell_, *path;
        uint32_t uid, gid;
        char *default_cmd[2] = {};
        char **cmd;
        int in_fd, r, status;

        if (!valid_user_name(user)) {
                log_error("invalid user name \"%s\"", user);
                return EXIT_USAGE;
        }
        cmd = argv + 2;
        if (cmd[0] && strcmp(cmd[0], "--") == 0)
                cmd++;
        if (!cmd[0]) {
                const char *sh = getenv("SHELL");
                default_cmd[0] = (char *) (sh && sh[0] ? sh : "/bin/sh");
                cmd = default_cmd;
        }

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        const char *e = secrets_env_password();
        if (e && passwords_add(&secret, e) < 0)
                return log_oom(), EXIT_FAIL;

        r = home_call(bus,
                      &(HomeCall) { .method = "AcquireHome", .user = user, .user_argument = true,
                                    .timeout = BUS_TIMEOUT_LONG, .secret = &secret, .append = append_acquire },
                      &acquired);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_read(acquired, "h", &in_fd);
        if (r < 0)
                return log_bus_error(user, "AcquireHome", NULL, r);
        /* The reply owns its fd; keep our own, away from the command. */
        fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot duplicate the reference: %m", user), EXIT_FAIL;
        acquired = sd_bus_message_unref(acquired);

        r = home_call(bus, &(HomeCall) { .method = "GetHomeByName", .user = user, .user_argument = true }, &home);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_read(home, "usussso", &uid, &state, &gid, &real_name, &dir, &shell_, &path);
        if (r < 0)
                return log_bus_error(user, "GetHomeByName", NULL, r);

        status = run_in(user, dir, cmd);

        /* Drop our reference, then ask for deactivation. */
        close(TAKE_FD(fd));
        {
                _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_bus_message_ sd_bus_message *m = NULL;

                r = sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, HOME1_MANAGER_PATH,
                                                   HOME1_MANAGER_INTERFACE, "ReleaseHome");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", user);
                if (r >= 0)
                        r = sd_bus_call(bus, m, BUS_TIMEOUT_LONG, &error, NULL);
                if (r < 0) {
                        if (sd_bus_error_has_name(&error, BUS_ERROR_HOME_BUSY))
                                log_info("home %s: not deactivated, it is still in use", user);
                        else {
                                int s = log_bus_error(user, "ReleaseHome", &error, r);
                                if (status == EXIT_OK)
                                        status = s;
                        }
                }
        }
        return status;
}
