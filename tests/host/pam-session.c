/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A PAM application for tests/host/test-pam.sh (run under pam_wrapper):
 * authenticate, check the account, open a session, run CMD while it is
 * open, close it. pamtester cannot hold a session open while a check runs.
 *   pam-session SERVICE USER [CMD...]
 * CMD runs with the PAM environment added to ours, as a login's session.
 * Answers hidden prompts with $PAM_TEST_PASSWORD; prints PAM's messages
 * as "info: …" / "error: …" on stdout. Exit status: 0, or 10 + the step
 * (1 authenticate, 2 account, 3 open, 4 command, 5 close) that failed, with
 * the PAM code on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct pam_response *r = calloc((size_t) n, sizeof *r);
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++)
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON: {
                        const char *pw = getenv("PAM_TEST_PASSWORD");
                        r[i].resp = strdup(pw ? pw : "");
                        break;
                }
                case PAM_ERROR_MSG:
                        printf("error: %s\n", msg[i]->msg);
                        break;
                default:
                        printf("info: %s\n", msg[i]->msg);
                }
        *resp = r;
        return PAM_SUCCESS;
}

int main(int argc, char *argv[]) {
        if (argc < 3) {
                fprintf(stderr, "usage: pam-session SERVICE USER [CMD...]\n");
                return 2;
        }
        struct pam_conv conv = { converse, NULL };
        pam_handle_t *pamh = NULL;
        int step = 0, r = pam_start(argv[1], argv[2], &conv, &pamh);
        if (r != PAM_SUCCESS) {
                fprintf(stderr, "pam_start: %s\n", pam_strerror(NULL, r));
                return 2;
        }
        if ((r = pam_authenticate(pamh, 0)) != PAM_SUCCESS)
                step = 1;
        else if ((r = pam_acct_mgmt(pamh, 0)) != PAM_SUCCESS)
                step = 2;
        else if ((r = pam_open_session(pamh, 0)) != PAM_SUCCESS)
                step = 3;
        else {
                if (argc > 3) {
                        fflush(stdout);
                        pid_t pid = fork();
                        if (pid == 0) {
                                const char *home = pam_getenv(pamh, "HOME");
                                if (home)
                                        setenv("PAM_TEST_HOME", home, 1);
                                /* What the modules put in the PAM environment,
                                 * as login and sshd pass it to the session. */
                                char **env = pam_getenvlist(pamh);
                                for (size_t i = 0; env && env[i]; i++)
                                        putenv(env[i]);
                                execvp(argv[3], argv + 3);
                                _exit(127);
                        }
                        int status;
                        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                step = 4;
                }
                int c = pam_close_session(pamh, 0);
                if (c != PAM_SUCCESS && step == 0) {
                        step = 5;
                        r = c;
                }
        }
        if (step > 0 && step != 4)
                fprintf(stderr, "step %d: %s (%d)\n", step, pam_strerror(pamh, r), r);
        pam_end(pamh, r);
        return step ? 10 + step : 0;
}
