/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fs-resize grow|shrink FSTYPE DEV MOUNTPOINT [BYTES]: storage/fs.c's
 * fs_grow() and fs_shrink(), as the LUKS backend calls them on a home's
 * mounted filesystem (test-fs-resize.sh). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "log.h"

int main(int argc, char *argv[]) {
        log_set_program("fs-resize");
        if (argc == 5 && strcmp(argv[1], "grow") == 0)
                return fs_grow(argv[2], argv[3], argv[4]) < 0;
        if (argc == 6 && strcmp(argv[1], "shrink") == 0)
                return fs_shrink(argv[2], argv[3], argv[4], strtoull(argv[5], NULL, 10)) < 0;
        fprintf(stderr, "usage: fs-resize grow|shrink FSTYPE DEV MOUNTPOINT [BYTES]\n");
        return 2;
}
