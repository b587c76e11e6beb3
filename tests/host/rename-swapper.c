/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For test-remove-race.sh: run as a home's user with its working directory
 * in her home, it swaps dI (a directory holding a nested subvolume) with sI
 * (a symlink out of the home) for I < N, over and over, until killed — what
 * a hostile user would do while root removes her home. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
        int n = argc > 1 ? atoi(argv[1]) : 50;
        char d[32], s[32];

        for (;;)
                for (int i = 0; i < n; i++) {
                        snprintf(d, sizeof d, "d%d", i);
                        snprintf(s, sizeof s, "s%d", i);
                        (void) renameat2(AT_FDCWD, d, AT_FDCWD, s, RENAME_EXCHANGE);
                }
}
