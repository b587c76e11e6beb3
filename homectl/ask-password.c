/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ask-password.h"
#include "log.h"
#include "macro.h"
#include "recovery-key.h"
#include "secret.h"

/* ---- environment ------------------------------------------------------ */

static SecureBuffer *env_password, *env_new_password, *env_pin;

static int env_take(const char *name, SecureBuffer **ret) {
        char *v = getenv(name);
        size_t len;
        int r;

        if (!v)
                return 0;
        len = strlen(v);
        r = secure_buffer_new(len + 1, ret);
        if (r >= 0)
                memcpy((*ret)->data, v, len + 1);
        explicit_bzero(v, len);
        (void) unsetenv(name);
        return r;
}

int secrets_env_load(void) {
        int r = env_take("PASSWORD", &env_password);
        if (r < 0)
                return r;
        r = env_take("PIN", &env_pin);
        if (r < 0)
                return r;
        return env_take("NEWPASSWORD", &env_new_password);
}

const char *secrets_env_password(void) {
        return env_password ? env_password->data : NULL;
}

const char *secrets_env_pin(void) {
        return env_pin ? env_pin->data : NULL;
}

const char *secrets_env_new_password(void) {
        return env_new_password ? env_new_password->data : NULL;
}

void secrets_env_free(void) {
        secure_buffer_free(env_password);
        secure_buffer_free(env_new_password);
        secure_buffer_free(env_pin);
        env_password = env_new_password = env_pin = NULL;
}

/* ---- terminal --------------------------------------------------------- */

static bool ask_allowed = true;

void ask_password_set_allowed(bool b) {
        ask_allowed = b;
}

bool ask_password_possible(void) {
        if (!ask_allowed || !isatty(STDIN_FILENO))
                return false;
        int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

/* What the signal handler needs to put the terminal back. */
static volatile sig_atomic_t restore_fd = -1;
static struct termios restore_termios;
static const int restore_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void restore_and_reraise(int sig) {
        if (restore_fd >= 0) {
                (void) tcsetattr(restore_fd, TCSANOW, &restore_termios);
                (void) !write(restore_fd, "\n", 1);
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

static void write_all(int fd, const char *s) {
        size_t n = strlen(s);
        while (n > 0) {
                ssize_t k = write(fd, s, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                s += k;
                n -= (size_t) k;
        }
}

/* One line from /dev/tty, NUL-terminated in locked memory; echo off for
 * secrets. */
static int ask_tty(const char *prompt, bool echo, SecureBuffer **ret) {
        _cleanup_secure_buffer_ SecureBuffer *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct sigaction old[ELEMENTSOF(restore_signals)];
        struct termios t;
        bool termios_set = false;
        size_t n = 0;
        int r;

        r = secure_buffer_new(PASSWORD_MAX + 1, &buf);
        if (r < 0)
                return r;
        fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        if (tcgetattr(fd, &t) == 0) {
                struct sigaction sa = { .sa_handler = restore_and_reraise };
                sigemptyset(&sa.sa_mask);
                restore_termios = t;
                restore_fd = fd;
                for (size_t i = 0; i < ELEMENTSOF(restore_signals); i++)
                        (void) sigaction(restore_signals[i], &sa, &old[i]);
                if (!echo)
                        t.c_lflag &= ~(tcflag_t) (ECHO | ECHONL);
                t.c_lflag |= ICANON;
                termios_set = tcsetattr(fd, TCSADRAIN, &t) == 0;
        }

        write_all(fd, prompt);

        char *s = buf->data;
        r = 0;
        for (;;) {
                /* Read straight into the buffer: no copy on the stack. */
                char *c = s + (n < PASSWORD_MAX ? n : PASSWORD_MAX);
                ssize_t k = read(fd, c, 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (k == 0) {
                        if (n == 0)
                                r = -ECANCELED;
                        break;
                }
                if (*c == '\n' || *c == '\r')
                        break;
                if (n >= PASSWORD_MAX)
                        r = -E2BIG; /* keep reading to the end of the line */
                else
                        n++;
        }
        s[n] = 0;

        if (restore_fd >= 0) {
                if (termios_set)
                        (void) tcsetattr(fd, TCSADRAIN, &restore_termios);
                restore_fd = -1;
                for (size_t i = 0; i < ELEMENTSOF(restore_signals); i++)
                        (void) sigaction(restore_signals[i], &old[i], NULL);
        }
        /* With echo on, the terminal has echoed the newline already. */
        if (!echo)
                write_all(fd, "\n");

        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

int ask_password_tty(const char *prompt, SecureBuffer **ret) {
        return ask_tty(prompt, false, ret);
}

int ask_string_tty(const char *prompt, char **ret) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        int r = ask_tty(prompt, true, &b);
        if (r < 0)
                return r;
        *ret = strdup(b->data);
        return *ret ? 0 : -ENOMEM;
}

int ask_new_password(const char *user, SecureBuffer **ret) {
        for (int i = 0; i < ASK_PASSWORD_TRIES; i++) {
                _cleanup_secure_buffer_ SecureBuffer *a = NULL, *b = NULL;
                int r;

                r = ask_password_tty("New password: ", &a);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot read the new password: %m", user);
                if (!new_password_ok(user, a->data)) {
                        log_error("home %s: try again", user);
                        continue;
                }
                r = ask_password_tty("Retype new password: ", &b);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot read the new password: %m", user);
                if (strcmp(a->data, b->data) != 0) {
                        log_error("home %s: the passwords do not match, try again", user);
                        continue;
                }
                *ret = TAKE_PTR(a);
                return 0;
        }
        log_error("home %s: no new password after %d tries", user, ASK_PASSWORD_TRIES);
        return -ECANCELED;
}

bool new_password_ok(const char *user, const char *pw) {
        if (!pw[0]) {
                log_error("home %s: the password must not be empty", user);
                return false;
        }
        int r = recovery_key_shaped(pw);
        if (r < 0) {
                log_oom();
                return false;
        }
        if (r > 0) {
                log_error("home %s: this cannot be the password: " RECOVERY_KEY_SHAPED_WHY, user);
                return false;
        }
        return true;
}
