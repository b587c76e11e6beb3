/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The skel template's change detection (skel/skel-template.h), pure: the
 * digest over the scanned entries, and what an entry means for the
 * template. The template itself is tested on Btrfs by
 * tests/host/test-skel-template.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "skel-template.h"

static const char *const default_paths[] = { "/etc/skel", "/usr/etc/skel" };
static const char *const default_origins[] = { "/etc/skel", "/usr/etc/skel" };

static struct stat file_stat(void) {
        struct stat st = {};
        st.st_mode = S_IFREG | 0644;
        st.st_uid = 0;
        st.st_gid = 0;
        st.st_size = 220;
        st.st_mtim = (struct timespec) { 1700000000, 123456789 };
        st.st_ctim = (struct timespec) { 1700000001, 987654321 };
        st.st_ino = 4242;
        st.st_dev = 0x801;
        st.st_nlink = 1;
        return st;
}

/* The digest of n entries over the default two sources. */
static void digest_of(const SkelEntry *e, size_t n, char out[SKEL_DIGEST_HEX + 1]) {
        SkelDigest d = {};
        assert_int_equal(skel_digest_begin(&d, default_paths, default_origins, 2), 0);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(skel_digest_add(&d, &e[i]), 0);
        assert_int_equal(skel_digest_end(&d, out), 0);
        assert_int_equal(strlen(out), SKEL_DIGEST_HEX);
        assert_null(d.ctx);
}

static void digest_one(const char *path, const struct stat *st, const char *link, char out[SKEL_DIGEST_HEX + 1]) {
        SkelEntry e = { .layer = 0, .origin = "/etc/skel", .path = path, .st = st, .link = link };
        digest_of(&e, 1, out);
}

static void test_digest_stable(void **state) {
        char a[SKEL_DIGEST_HEX + 1], b[SKEL_DIGEST_HEX + 1];
        struct stat st = file_stat();

        digest_one(".bashrc", &st, NULL, a);
        digest_one(".bashrc", &st, NULL, b);
        assert_string_equal(a, b);
        for (const char *p = a; *p; p++)
                assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
        /* A symlink's target counts only for symlinks. */
        digest_one(".bashrc", &st, "ignored", b);
        assert_string_equal(a, b);
}

/* Every field the brief of the change detection names moves the digest. */
static void test_digest_each_field(void **state) {
        char base[SKEL_DIGEST_HEX + 1], other[SKEL_DIGEST_HEX + 1];
        struct stat st0 = file_stat();

        digest_one(".bashrc", &st0, NULL, base);
        for (unsigned field = 0; field < 12; field++) {
                struct stat st = file_stat();
                switch (field) {
                case 0: st.st_mode = S_IFREG | 0600; break;
                case 1: st.st_mode = S_IFREG | 04644; break;
                case 2: st.st_uid = 1000; break;
                case 3: st.st_gid = 1000; break;
                case 4: st.st_size = 221; break;
                case 5: st.st_mtim.tv_nsec++; break;
                case 6: st.st_mtim.tv_sec++; break;
                case 7: st.st_ctim.tv_nsec++; break;
                case 8: st.st_ctim.tv_sec++; break;
                case 9: st.st_ino++; break;
                case 10: st.st_dev++; break;
                case 11: st.st_nlink = 2; break;
                }
                digest_one(".bashrc", &st, NULL, other);
                if (strcmp(base, other) == 0)
                        fail_msg("field %u does not change the digest", field);
        }
        /* The path, the type. */
        digest_one(".bashrc2", &st0, NULL, other);
        assert_string_not_equal(base, other);
        struct stat dir = file_stat();
        dir.st_mode = S_IFDIR | 0644;
        digest_one(".bashrc", &dir, NULL, other);
        assert_string_not_equal(base, other);
}

static void test_digest_links(void **state) {
        char a[SKEL_DIGEST_HEX + 1], b[SKEL_DIGEST_HEX + 1], c[SKEL_DIGEST_HEX + 1];
        struct stat st = file_stat();

        st.st_mode = S_IFLNK | 0777;
        digest_one(".x", &st, "/dev/null", a); /* a mask */
        digest_one(".x", &st, "/dev/nul", b);
        digest_one(".x", &st, "", c);
        assert_string_not_equal(a, b);
        assert_string_not_equal(a, c);
        assert_string_not_equal(b, c);
}

/* Lengths go first: no two different lists of entries feed the same bytes. */
static void test_digest_unambiguous(void **state) {
        char a[SKEL_DIGEST_HEX + 1], b[SKEL_DIGEST_HEX + 1];
        struct stat st = file_stat(), ln = file_stat();

        ln.st_mode = S_IFLNK | 0777;
        SkelEntry x[] = { { .origin = "/etc/skel", .path = "ab", .st = &ln, .link = "c" } };
        SkelEntry y[] = { { .origin = "/etc/skel", .path = "a", .st = &ln, .link = "bc" } };
        digest_of(x, 1, a);
        digest_of(y, 1, b);
        assert_string_not_equal(a, b);

        /* Order, and which layer an entry is in. */
        SkelEntry p[] = { { .path = "a", .st = &st }, { .path = "b", .st = &st } };
        SkelEntry q[] = { { .path = "b", .st = &st }, { .path = "a", .st = &st } };
        digest_of(p, 2, a);
        digest_of(q, 2, b);
        assert_string_not_equal(a, b);
        SkelEntry l1[] = { { .layer = 1, .path = "a", .st = &st } };
        digest_of(p, 1, a);
        digest_of(l1, 1, b);
        assert_string_not_equal(a, b);

        /* Nothing at all differs from one empty-named entry. */
        SkelEntry top[] = { { .path = "", .st = &st } };
        digest_of(top, 0, a);
        digest_of(top, 1, b);
        assert_string_not_equal(a, b);
}

/* The sources: which exist, where (a root prefixed), as what. */
static void test_digest_sources(void **state) {
        char a[SKEL_DIGEST_HEX + 1], b[SKEL_DIGEST_HEX + 1];
        struct stat st = file_stat();
        SkelEntry e = { .path = "a", .st = &st };
        static const char *const one[] = { "/etc/skel" };
        static const char *const rooted[] = { "/img/etc/skel" };
        static const char *const factory[] = { "/usr/share/factory/etc/skel" };
        SkelDigest d = {};

        assert_int_equal(skel_digest_begin(&d, one, one, 1), 0);
        assert_int_equal(skel_digest_add(&d, &e), 0);
        assert_int_equal(skel_digest_end(&d, a), 0);

        assert_int_equal(skel_digest_begin(&d, rooted, one, 1), 0);
        assert_int_equal(skel_digest_add(&d, &e), 0);
        assert_int_equal(skel_digest_end(&d, b), 0);
        assert_string_not_equal(a, b);

        assert_int_equal(skel_digest_begin(&d, factory, factory, 1), 0);
        assert_int_equal(skel_digest_add(&d, &e), 0);
        assert_int_equal(skel_digest_end(&d, b), 0);
        assert_string_not_equal(a, b);

        digest_of(&e, 1, b); /* two sources */
        assert_string_not_equal(a, b);

        /* Abandoned half-way: nothing leaks (ASan). */
        assert_int_equal(skel_digest_begin(&d, one, one, 1), 0);
        assert_int_equal(skel_digest_add(&d, &e), 0);
        skel_digest_done(&d);
        assert_null(d.ctx);
}

static unsigned check(const char *path, mode_t mode, uid_t uid, gid_t gid, const char *link) {
        struct stat st = file_stat();
        st.st_mode = mode;
        st.st_uid = uid;
        st.st_gid = gid;
        SkelEntry e = { .origin = "/etc/skel", .path = path, .st = &st, .link = link };
        return skel_entry_check(&e, NULL);
}

static void test_entry_owners(void **state) {
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 0, 0, NULL), 0);
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 1000, 100, NULL), 0);
        assert_int_equal(check("bin/tool", S_IFREG | 04755, 0, 0, NULL), 0); /* set-UID: kept, the same for all */
        /* Whether she may read it depends on whether it is hers. */
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 60001, 0, NULL), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 60513, 0, NULL), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 0, 60200, NULL), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 65534, 0, NULL), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 0, 65534, NULL), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".config", S_IFDIR | 0755, 60100, 60100, NULL), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".bashrc", S_IFREG | 0644, 60000, 60514, NULL), 0);
        /* Neither checked nor copied by owner: symlinks, skipped types. */
        assert_int_equal(check(".link", S_IFLNK | 0777, 60100, 60100, "target"), 0);
        assert_int_equal(check("fifo", S_IFIFO | 0600, 60100, 60100, NULL), 0);
        assert_int_equal(check("null", S_IFCHR | 0600, 0, 0, NULL), 0);
}

static void test_entry_unreadable(void **state) {
        assert_int_equal(check(".secret", S_IFREG | 0600, 0, 0, NULL), SKEL_ENTRY_UNREADABLE);
        assert_int_equal(check(".secret", S_IFREG | 0640, 0, 0, NULL), SKEL_ENTRY_UNREADABLE);
        assert_int_equal(check(".exec-only", S_IFREG | 0711, 0, 0, NULL), SKEL_ENTRY_UNREADABLE);
        assert_int_equal(check(".ssh", S_IFDIR | 0700, 0, 0, NULL), SKEL_ENTRY_UNREADABLE);
        assert_int_equal(check(".dir", S_IFDIR | 0711, 0, 0, NULL), SKEL_ENTRY_UNREADABLE);
        assert_int_equal(check(".dir", S_IFDIR | 0744, 0, 0, NULL), SKEL_ENTRY_UNREADABLE);
        assert_int_equal(check(".dir", S_IFDIR | 0705, 0, 0, NULL), 0);
        assert_int_equal(check(".f", S_IFREG | 0604, 0, 0, NULL), 0);
        assert_int_equal(check(".ssh", S_IFDIR | 0700, 60100, 0, NULL), SKEL_ENTRY_PER_USER | SKEL_ENTRY_UNREADABLE);
        /* A source's top: only what it holds is copied. */
        assert_int_equal(check("", S_IFDIR | 0700, 60100, 65534, NULL), 0);
}

/* The seeding rewrites absolute links into the source to point into her home. */
static void test_entry_links(void **state) {
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "/dev/null"), 0);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, ".bashrc"), 0);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "../../etc/skel/.bashrc"), 0);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "/etc/skelx/.bashrc"), 0);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "/usr/etc/skel/.bashrc"), 0); /* another source's */
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "/etc/skel/.bashrc"), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "/etc/skel"), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "//etc/./skel/../skel/x"), SKEL_ENTRY_PER_USER);
        assert_int_equal(check(".l", S_IFLNK | 0777, 0, 0, "/etc/foo/../skel/x"), SKEL_ENTRY_PER_USER);

        /* Each layer by its own origin. */
        struct stat st = file_stat();
        st.st_mode = S_IFLNK | 0777;
        SkelEntry e = { .layer = 1, .origin = "/usr/etc/skel", .path = ".l", .st = &st, .link = "/usr/etc/skel/x" };
        assert_int_equal(skel_entry_check(&e, NULL), SKEL_ENTRY_PER_USER);
        e.link = "/etc/skel/x";
        assert_int_equal(skel_entry_check(&e, NULL), 0);
        e.origin = NULL; /* an explicit relative source: never rewritten */
        e.link = "/usr/etc/skel/x";
        assert_int_equal(skel_entry_check(&e, NULL), 0);
}

/* A change within the clock tick of the scan could go unseen. */
static void test_entry_recent(void **state) {
        struct stat st = file_stat();
        SkelEntry e = { .origin = "/etc/skel", .path = ".bashrc", .st = &st };
        struct timespec since = st.st_ctim;

        assert_int_equal(skel_entry_check(&e, &since), SKEL_ENTRY_RECENT);
        since.tv_nsec++;
        assert_int_equal(skel_entry_check(&e, &since), 0);
        since = st.st_ctim;
        since.tv_sec--;
        since.tv_nsec = 999999999;
        assert_int_equal(skel_entry_check(&e, &since), SKEL_ENTRY_RECENT);
        since.tv_sec += 2;
        since.tv_nsec = 0;
        assert_int_equal(skel_entry_check(&e, &since), 0);
        /* Tops too: a source renamed just now. */
        e.path = "";
        since = st.st_ctim;
        assert_int_equal(skel_entry_check(&e, &since), SKEL_ENTRY_RECENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest_stable),
                cmocka_unit_test(test_digest_each_field),
                cmocka_unit_test(test_digest_links),
                cmocka_unit_test(test_digest_unambiguous),
                cmocka_unit_test(test_digest_sources),
                cmocka_unit_test(test_entry_owners),
                cmocka_unit_test(test_entry_unreadable),
                cmocka_unit_test(test_entry_links),
                cmocka_unit_test(test_entry_recent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
