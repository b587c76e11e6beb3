/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers every part of Hearth uses: scope-bound cleanup and sizes. */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static inline void json_object_putp(json_object **j) {
        if (*j)
                json_object_put(*j);
}

/* NULL-terminated arrays of strings. */
void strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
size_t strv_length(char *const *l);

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_dir_ _cleanup_(closedirp)
#define _cleanup_json_ _cleanup_(json_object_putp)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _tp = (p);        \
                (p) = NULL;                     \
                _tp;                            \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _tf = (fd);                 \
                (fd) = -1;                      \
                _tf;                            \
        })

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_INFINITY UINT64_MAX
