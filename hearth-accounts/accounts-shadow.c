/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shadow-utils for /etc/passwd users, as AccountsService drives them, when
 * the admin enabled it (ManageShadowUsers=yes). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "accounts.h"
#include "log.h"
#include "macro.h"

#define SHADOW_ARGS_MAX 16
#define SHADOW_OUTPUT_MAX 1024

static const struct {
        const char *tool, *path;
} shadow_paths[] = {
        { "usermod", "/usr/sbin/usermod" }, { "userdel", "/usr/sbin/userdel" }, { "gpasswd", "/usr/bin/gpasswd" },
        { "passwd", "/usr/bin/passwd" },    { "chage", "/usr/bin/chage" },
};

static int tool_path(Accounts *a, const char *tool, char **ret) {
        for (size_t i = 0; i < ELEMENTSOF(shadow_paths); i++)
                if (strcmp(shadow_paths[i].tool, tool) == 0) {
                        if (a->shadow_tools)
                                return asprintf(ret, "%s/%s", a->shadow_tools, tool) < 0 ? -ENOMEM : 0;
                        return (*ret = strdup(shadow_paths[i].path)) ? 0 : -ENOMEM;
                }
        return -EINVAL;
}

/* Runs the tool and waits for it (they take milliseconds). On failure
 * *ret_error says which tool failed and its first line of output. */
int shadow_run(Accounts *a, const char *tool, const char *const *args, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        const char *argv[SHADOW_ARGS_MAX + 2];
        size_t n = 0;
        int p[2], r;

        if ((r = tool_path(a, tool, &path)) < 0)
                return r;
        argv[n++] = path;
        for (; args[n - 1] && n <= SHADOW_ARGS_MAX; n++)
                argv[n] = args[n - 1];
        argv[n] = NULL;
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
                        _exit(127);
                execv(path, (char *const *) argv);
                _exit(127);
        }
        close(p[1]);
        char out[SHADOW_OUTPUT_MAX + 1];
        size_t len = 0;
        for (;;) {
                char discard[512];
                ssize_t k = len < SHADOW_OUTPUT_MAX ? read(p[0], out + len, SHADOW_OUTPUT_MAX - len)
                                                    : read(p[0], discard, sizeof discard);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                if (len < SHADOW_OUTPUT_MAX)
                        len += (size_t) k;
        }
        close(p[0]);
        out[len] = 0;
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        out[strcspn(out, "\n")] = 0;
        log_error("running '%s' failed: %s", path, out[0] ? out : "no output");
        if (ret_error && asprintf(ret_error, "running '%s' failed: %s", path, out[0] ? out : "no output") < 0)
                *ret_error = NULL;
        return -EIO;
}
