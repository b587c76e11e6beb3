/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* Helpers shared by the libFuzzer targets. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (cut at its first NUL, as a reader of text
 * would see it), or NULL when out of memory. */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* The input as a regular file, for parsers that take a path: one file in
 * a private directory, rewritten for each input. Returns its path, or
 * NULL if it cannot be written. */
/* tmpfs: rewriting a file on ext4 flushes it at every close. */
static char fuzz_dir[] = "/dev/shm/hearth-fuzz-XXXXXX", fuzz_path[64];

static inline void fuzz_file_remove(void) {
        unlink(fuzz_path);
        rmdir(fuzz_dir);
}

static inline const char *fuzz_file(const uint8_t *data, size_t size) {
        const char *path = fuzz_path;
        if (!fuzz_path[0]) {
                if (!mkdtemp(fuzz_dir))
                        return NULL;
                snprintf(fuzz_path, sizeof fuzz_path, "%s/input", fuzz_dir);
                atexit(fuzz_file_remove);
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return NULL;
        size_t done = 0;
        while (done < size) {
                ssize_t k = write(fd, data + done, size - done);
                if (k <= 0) {
                        close(fd);
                        return NULL;
                }
                done += (size_t) k;
        }
        close(fd);
        return path;
}
