/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macro.h"
#include "secret.h"

int secure_buffer_new(size_t size, SecureBuffer **ret) {
        long page = sysconf(_SC_PAGESIZE);
        SecureBuffer *b;
        size_t mapped;

        if (size == 0 || page <= 0 || size > SIZE_MAX - (size_t) page)
                return -EINVAL;
        mapped = (size + (size_t) page - 1) / (size_t) page * (size_t) page;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->data = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b->data == MAP_FAILED) {
                free(b);
                return -ENOMEM;
        }
        b->size = size;
        b->mapped = mapped;
        /* Locking can fail for unprivileged callers over RLIMIT_MEMLOCK;
         * the buffer is still wiped and kept out of core dumps then. */
        b->locked = mlock(b->data, mapped) == 0;
        (void) madvise(b->data, mapped, MADV_DONTDUMP);
        (void) madvise(b->data, mapped, MADV_DONTFORK);
        *ret = b;
        return 0;
}

void secure_buffer_free(SecureBuffer *b) {
        if (!b)
                return;
        explicit_bzero(b->data, b->mapped);
        if (b->locked)
                munlock(b->data, b->mapped);
        munmap(b->data, b->mapped);
        free(b);
}

void erase_and_free(char *s) {
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

void json_object_wipe_strings(json_object *j) {
        switch (json_object_get_type(j)) {
        case json_type_string: {
                /* json-c hands out its own buffer; casting away const is the
                 * only way to clear it before it is freed. */
                char *s = (char *) json_object_get_string(j);
                explicit_bzero(s, (size_t) json_object_get_string_len(j));
                break;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(j); i++)
                        json_object_wipe_strings(json_object_array_get_idx(j, i));
                break;
        case json_type_object: {
                json_object_object_foreach(j, k, v) {
                        (void) k;
                        json_object_wipe_strings(v);
                }
                break;
        }
        default:
                break;
        }
}

void json_object_wipe_and_put(json_object *j) {
        if (!j)
                return;
        json_object_wipe_strings(j);
        json_object_put(j);
}
