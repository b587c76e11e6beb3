/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* What a core dump of this process would show: every readable mapping not
 * marked MADV_DONTDUMP, read through /proc/self/mem (so ASan's poisoned
 * quarantine, which keeps freed bytes as they were, is read too). Tests
 * put a recognizable secret through code and then ask whether any of it is
 * left there. SecureBuffers are MADV_DONTDUMP and so are not looked at. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "secret.h"

#define DUMP_SCAN_CHUNK (1024 * 1024)
/* Larger mappings are address space reservations (ASan's shadow, allocator
 * regions), not data; they are skipped. */
#define DUMP_SCAN_MAX_MAPPING (UINT64_C(1) << 32)

/* A secret of 48 bytes made at run time in locked, non-dumpable memory, so
 * that the test's own text does not hold it. Its bytes 16… are searched
 * for: allocators overwrite the first 16 bytes of a freed chunk with their
 * list pointers, the rest stays. */
#define DUMP_SECRET_LEN 48
#define DUMP_SECRET_SKIP 16

static inline SecureBuffer *dump_secret_new(unsigned seed) {
        SecureBuffer *b = NULL;
        if (secure_buffer_new(DUMP_SECRET_LEN + 1, &b) < 0)
                return NULL;
        char *s = b->data;
        uint32_t x = 2463534242u ^ (seed * 2654435761u);
        for (size_t i = 0; i < DUMP_SECRET_LEN; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                s[i] = (char) ((x >> 8) % 2 ? 'a' + (x >> 9) % 26 : 'A' + (x >> 9) % 26);
        }
        s[DUMP_SECRET_LEN] = 0;
        return b;
}

/* Counts the places outside MADV_DONTDUMP mappings that hold needle; the
 * first is described in where. Returns -1 if the process cannot be read. */
static inline int dump_scan_count(const void *needle, size_t len, char *where, size_t where_size) {
        FILE *maps = fopen("/proc/self/smaps", "re");
        int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
        /* The scan buffer is not dumpable either, or it would find itself. */
        char *buf = mmap(NULL, DUMP_SCAN_CHUNK + len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        int found = 0;

        if (where_size > 0)
                where[0] = 0;
        if (!maps || mem < 0 || buf == MAP_FAILED) {
                if (maps)
                        fclose(maps);
                if (mem >= 0)
                        close(mem);
                if (buf != MAP_FAILED)
                        munmap(buf, DUMP_SCAN_CHUNK + len);
                return -1;
        }
        (void) madvise(buf, DUMP_SCAN_CHUNK + len, MADV_DONTDUMP);

        /* smaps first in full: reading memory must not change the list. */
        static struct range {
                uint64_t start, end;
                char perms[5];
                char name[96];
                bool dontdump;
        } ranges[4096];
        size_t n = 0;
        char line[512];
        while (fgets(line, sizeof line, maps)) {
                unsigned long long s, e;
                char perms[5];
                int off = 0;
                if (sscanf(line, "%llx-%llx %4s %*s %*s %*s %n", &s, &e, perms, &off) >= 3 && strchr(line, '-') &&
                    line[0] != 'V' && n < sizeof ranges / sizeof ranges[0]) {
                        ranges[n] = (struct range) { .start = s, .end = e };
                        memcpy(ranges[n].perms, perms, 5);
                        snprintf(ranges[n].name, sizeof ranges[n].name, "%s", off > 0 ? line + off : "");
                        ranges[n].name[strcspn(ranges[n].name, "\n")] = 0;
                        n++;
                } else if (strncmp(line, "VmFlags:", 8) == 0 && n > 0)
                        ranges[n - 1].dontdump = strstr(line, " dd") != NULL;
        }
        fclose(maps);

        for (size_t i = 0; i < n; i++) {
                struct range *r = &ranges[i];
                if (r->perms[0] != 'r' || r->dontdump || r->end - r->start > DUMP_SCAN_MAX_MAPPING ||
                    strcmp(r->name, "[vvar]") == 0 || strcmp(r->name, "[vsyscall]") == 0)
                        continue;
                /* Chunks overlap by len - 1 so that nothing across a border is missed. */
                for (uint64_t a = r->start; a < r->end;) {
                        size_t want = (size_t) (r->end - a < DUMP_SCAN_CHUNK + len ? r->end - a : DUMP_SCAN_CHUNK + len);
                        ssize_t k = pread(mem, buf, want, (off_t) a);
                        if (k <= 0)
                                break;
                        for (char *p = buf; (p = memmem(p, (size_t) k - (size_t) (p - buf), needle, len)); p++) {
#ifdef DUMP_SCAN_DESCRIBE
                                void __asan_describe_address(void *addr);
                                __asan_describe_address((void *) (uintptr_t) (a + (uint64_t) (p - buf)));
#endif
                                if (found++ == 0 && where_size > 0)
                                        snprintf(where, where_size, "0x%llx in %s %s",
                                                 (unsigned long long) (a + (uint64_t) (p - buf)), r->perms,
                                                 r->name[0] ? r->name : "[anonymous]");
                        }
                        if ((size_t) k < want || a + (uint64_t) k >= r->end)
                                break;
                        a += (uint64_t) k - (len - 1);
                }
        }
        close(mem);
        munmap(buf, DUMP_SCAN_CHUNK + len);
        return found;
}

/* Asserts (cmocka) that no dumpable memory holds the secret in b. */
#define assert_not_in_dump(b, what)                                                                        \
        do {                                                                                               \
                char where_[256];                                                                          \
                int n_ = dump_scan_count((const char *) (b)->data + DUMP_SECRET_SKIP,                      \
                                         DUMP_SECRET_LEN - DUMP_SECRET_SKIP, where_, sizeof where_);       \
                if (n_ != 0)                                                                               \
                        fail_msg("%s: the secret is in dumpable memory %d time(s), first at %s", (what), n_, \
                                 where_);                                                                  \
        } while (0)
