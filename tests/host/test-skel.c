/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* skel_seed() on real files: every kind of entry compared one by one, the
 * /etc → /usr merge with masks, an explicit source, symlinks planted in the
 * target, the depth limit, reflinks on a loop-file Btrfs, and a full target.
 * Needs root (ownership, mounts, loop devices): exits 77 otherwise. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <linux/fiemap.h>
#include <linux/openat2.h>

/* <linux/fs.h> has it, but clashes with <sys/mount.h> on glibc 2.36. */
#ifndef FS_IOC_FIEMAP
#define FS_IOC_FIEMAP _IOWR('f', 11, struct fiemap)
#endif

#include <cmocka.h>

#include "macro.h"
#include "skel.h"

#define OWNER 60123
#define HOME "/home/alice"
#define BIG_SIZE (3u * 1024 * 1024)

/* ---- small helpers ------------------------------------------------------ */

/* Paths built on the fly; a ring so that a few can be alive at once. */
static const char *at(const char *dir, const char *rel) {
        static char ring[8][PATH_MAX];
        static unsigned next;
        char *p = ring[next++ % ELEMENTSOF(ring)];

        if (snprintf(p, PATH_MAX, "%s/%s", dir, rel) >= PATH_MAX)
                fail_msg("path too long: %s/%s", dir, rel);
        return p;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static void rm_rf(const char *path) {
        /* FTW_MOUNT: never descend into something still mounted. */
        (void) nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* What a test made, undone by cleanup() even when an assertion failed. */
static char *made_dirs[16];
static char *made_mounts[4];

static const char *make_tmpdir(const char *tag) {
        char *p = NULL;

        assert_true(asprintf(&p, "/tmp/hearth-test-skel-%s.XXXXXX", tag) > 0);
        assert_non_null(mkdtemp(p));
        for (size_t i = 0; i < ELEMENTSOF(made_dirs); i++)
                if (!made_dirs[i])
                        return made_dirs[i] = p;
        fail_msg("too many temporary directories");
        return NULL;
}

static bool mount_tmpfs(const char *dir, const char *size) {
        char opts[64];

        snprintf(opts, sizeof opts, "size=%s,mode=0755", size);
        if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
                print_message("cannot mount a tmpfs (%s), skipping\n", strerror(errno));
                return false;
        }
        for (size_t i = 0; i < ELEMENTSOF(made_mounts); i++)
                if (!made_mounts[i]) {
                        made_mounts[i] = strdup(dir);
                        return true;
                }
        fail_msg("too many mounts");
        return false;
}

static int cleanup(void **state) {
        int r = 0;

        for (size_t i = ELEMENTSOF(made_mounts); i-- > 0;) {
                if (made_mounts[i] && umount2(made_mounts[i], MNT_DETACH) < 0)
                        r = -1;
                free(made_mounts[i]);
                made_mounts[i] = NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(made_dirs); i++) {
                if (made_dirs[i])
                        rm_rf(made_dirs[i]);
                free(made_dirs[i]);
                made_dirs[i] = NULL;
        }
        return r;
}

static int run(const char *fmt, ...) _printf_(1, 2);
static int run(const char *fmt, ...) {
        char cmd[2 * PATH_MAX];
        va_list ap;
        int r;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        r = system(cmd);
        return r == -1 ? -1 : WIFEXITED(r) ? WEXITSTATUS(r) : 128;
}

/* What seeding the tree being built should report. */
static SkelStats expect;

static void put(const char *path, const void *data, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        if (fd < 0)
                fail_msg("create %s: %s", path, strerror(errno));
        for (size_t done = 0; done < len;) {
                ssize_t k = write(fd, (const char *) data + done, len - done);
                assert_true(k > 0);
                done += (size_t) k;
        }
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
        expect.files++;
        expect.bytes += len;
}

static void put_str(const char *path, const char *s, mode_t mode) {
        put(path, s, strlen(s), mode);
}

static void mkd(const char *path, mode_t mode) {
        if (mkdir(path, 0700) < 0)
                fail_msg("mkdir %s: %s", path, strerror(errno));
        assert_int_equal(chmod(path, mode), 0); /* past the umask, with set-ID bits */
        expect.dirs++;
}

static void lnk(const char *target, const char *path) {
        if (symlink(target, path) < 0)
                fail_msg("symlink %s: %s", path, strerror(errno));
        expect.symlinks++;
}

static void set_times(const char *path, time_t asec, long ansec, time_t msec, long mnsec) {
        struct timespec ts[2] = { { asec, ansec }, { msec, mnsec } };

        if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
                fail_msg("utimensat %s: %s", path, strerror(errno));
}

static void xset(const char *path, const char *name, const void *value, size_t len) {
        if (lsetxattr(path, name, value, len, 0) < 0)
                fail_msg("setxattr %s %s: %s", path, name, strerror(errno));
}

/* A POSIX ACL as the kernel stores it in system.posix_acl_*: a version
 * header and (tag, perm, id) entries, little endian, sorted by tag and id. */
typedef struct AclEntry {
        uint16_t tag, perm;
        uint32_t id;
} AclEntry;
enum { ACL_USER_OBJ = 1, ACL_USER = 2, ACL_GROUP_OBJ = 4, ACL_GROUP = 8, ACL_MASK = 16, ACL_OTHER = 32 };
#define NO_ID UINT32_MAX

static void set_acl(const char *path, const char *name, const AclEntry *e, size_t n) {
        uint8_t blob[4 + 8 * 8];
        uint32_t v = htole32(2);

        assert_true(n <= 8);
        memcpy(blob, &v, 4);
        for (size_t i = 0; i < n; i++) {
                uint16_t tag = htole16(e[i].tag), perm = htole16(e[i].perm);
                uint32_t id = htole32(e[i].id);
                memcpy(blob + 4 + 8 * i, &tag, 2);
                memcpy(blob + 6 + 8 * i, &perm, 2);
                memcpy(blob + 8 + 8 * i, &id, 4);
        }
        xset(path, name, blob, 4 + 8 * n);
}

static char *slurp(const char *path, size_t *ret_len) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        char *buf;
        size_t len = 0;

        if (fd < 0)
                fail_msg("open %s: %s", path, strerror(errno));
        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t) st.st_size + 1);
        assert_non_null(buf);
        for (;;) {
                ssize_t k = read(fd, buf + len, (size_t) st.st_size + 1 - len);
                assert_true(k >= 0);
                if (k == 0 || len + (size_t) k > (size_t) st.st_size)
                        break;
                len += (size_t) k;
        }
        close(fd);
        buf[len] = 0;
        *ret_len = len;
        return buf;
}

static void assert_content(const char *path, const char *want) {
        size_t len;
        char *got = slurp(path, &len);

        if (len != strlen(want) || memcmp(got, want, len) != 0)
                fail_msg("%s: content \"%s\", expected \"%s\"", path, got, want);
        free(got);
}

static void assert_link(const char *path, const char *want) {
        char buf[PATH_MAX];
        ssize_t n = readlink(path, buf, sizeof buf - 1);

        if (n < 0)
                fail_msg("readlink %s: %s", path, strerror(errno));
        buf[n] = 0;
        if (strcmp(buf, want) != 0)
                fail_msg("%s -> %s, expected -> %s", path, buf, want);
}

static void assert_absent(const char *path) {
        struct stat st;

        if (lstat(path, &st) == 0 || errno != ENOENT)
                fail_msg("%s exists, should not", path);
}

/* The names in a directory, sorted, joined by '|' ("" for none). */
static char *listing(const char *dir) {
        struct dirent **l = NULL;
        int n = scandir(dir, &l, NULL, alphasort);
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        assert_true(n >= 0);
        assert_non_null(f);
        for (int i = 0, first = 1; i < n; i++) {
                if (strcmp(l[i]->d_name, ".") != 0 && strcmp(l[i]->d_name, "..") != 0) {
                        fprintf(f, "%s%s", first ? "" : "|", l[i]->d_name);
                        first = 0;
                }
                free(l[i]);
        }
        free(l);
        fclose(f);
        return s;
}

static void assert_listing(const char *dir, const char *want) {
        char *got = listing(dir);

        if (strcmp(got, want) != 0)
                fail_msg("%s holds \"%s\", expected \"%s\"", dir, got, want);
        free(got);
}

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                fail_msg("open %s: %s", path, strerror(errno));
        return fd;
}

static int seed(const char *target, const SkelOptions *opts, SkelStats *stats) {
        int fd = open_dir(target), r;

        memset(stats, 0xAA, sizeof *stats); /* seeding must fill it */
        r = skel_seed(fd, opts, stats);
        close(fd);
        return r;
}

static void assert_stats(const SkelStats *got, const SkelStats *want) {
        if (got->files != want->files || got->dirs != want->dirs || got->symlinks != want->symlinks ||
            got->hardlinks != want->hardlinks || got->skipped != want->skipped || got->bytes != want->bytes)
                fail_msg("stats: files %u dirs %u symlinks %u hardlinks %u skipped %u bytes %llu; expected "
                         "%u %u %u %u %u %llu",
                         got->files, got->dirs, got->symlinks, got->hardlinks, got->skipped, got->bytes,
                         want->files, want->dirs, want->symlinks, want->hardlinks, want->skipped, want->bytes);
        assert_true(got->reflinked <= got->files);
}

/* ---- the tree with every kind of entry ---------------------------------- */

/* Symlinks whose target seeding rewrites (relative path → expected target). */
typedef struct Rewrite {
        const char *rel;
        const char *target;
} Rewrite;

static const Rewrite full_rewrites[] = {
        { "abs-link", HOME "/shared/inner" },
        { "abs-top", HOME },
        { "abs-dotdot", HOME "/big" },
        { NULL, NULL },
};

static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
        uint64_t x = seed;
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p[i] = (uint8_t) x;
        }
}

static void make_big(const char *path) {
        uint8_t *big = malloc(BIG_SIZE);

        assert_non_null(big);
        fill_random(big, BIG_SIZE, 0x9E3779B97F4A7C15u);
        put(path, big, BIG_SIZE, 0644);
        free(big);
}

static void build_full_tree(const char *src) {
        char deep[PATH_MAX] = "deep";
        char abs[PATH_MAX];
        static const char bin[] = { 'a', 0, 'b', '\xff', 0 };

        memset(&expect, 0, sizeof expect);

        /* 50 nested directories below "deep". */
        mkd(at(src, deep), 0755);
        for (int i = 1; i <= 50; i++) {
                size_t l = strlen(deep);
                snprintf(deep + l, sizeof deep - l, "/d%02d", i);
                mkd(at(src, deep), 0755);
        }
        strcat(deep, "/leaf");
        put_str(at(src, deep), "bottom\n", 0644);

        put_str(at(src, "with space"), "space\n", 0644);
        put_str(at(src, "new\nline"), "newline\n", 0644);
        put_str(at(src, "\xff\xfe"), "bytes\n", 0644);
        put_str(at(src, ".hidden"), "hidden\n", 0644);
        put(at(src, "empty"), "", 0, 0644);
        make_big(at(src, "big"));
        put_str(at(src, "exec"), "#!/bin/sh\n", 0750);
        put_str(at(src, "private"), "secret\n", 0600);
        xset(at(src, "private"), "user.comment", "private file", 12);
        xset(at(src, "private"), "user.binary", bin, sizeof bin);
        /* Set-ID survives only if the owner is set before the mode. */
        put_str(at(src, "setuid"), "x", 04755);

        mkd(at(src, "shared"), 02775);
        xset(at(src, "shared"), "user.dir", "shared dir", 10);
        put_str(at(src, "shared/inner"), "inner\n", 0644);
        mkd(at(src, "sticky"), 01777);

        lnk("big", at(src, "rel-link"));
        snprintf(abs, sizeof abs, "%s/shared/inner", src);
        lnk(abs, at(src, "abs-link"));
        lnk(src, at(src, "abs-top"));
        snprintf(abs, sizeof abs, "%s/shared/../big", src);
        lnk(abs, at(src, "abs-dotdot"));
        lnk("/etc/passwd", at(src, "outside"));
        lnk("does/not/exist", at(src, "dangling"));

        put_str(at(src, "hl1"), "linked\n", 0644);
        mkd(at(src, "sub"), 0755);
        assert_int_equal(link(at(src, "hl1"), at(src, "sub/hl2")), 0);
        expect.hardlinks++;
        /* First copied below a directory ("links" sorts before "zz-link"):
         * linking to it walks the target's components. */
        mkd(at(src, "links"), 0755);
        put_str(at(src, "links/first"), "first\n", 0644);
        assert_int_equal(link(at(src, "links/first"), at(src, "zz-link")), 0);
        expect.hardlinks++;

        assert_int_equal(mkfifo(at(src, "fifo"), 0644), 0);
        expect.skipped++;

        /* ACLs: an access ACL on a file, and a directory with a default ACL
         * holding one file made before it (no ACL: the copy must not give it
         * the inherited one) and one made after (inherited ACL). */
        static const AclEntry file_acl[] = {
                { ACL_USER_OBJ, 6, NO_ID }, { ACL_USER, 4, 1234 }, { ACL_GROUP_OBJ, 4, NO_ID },
                { ACL_MASK, 4, NO_ID },     { ACL_OTHER, 0, NO_ID },
        };
        static const AclEntry dir_acl[] = {
                { ACL_USER_OBJ, 7, NO_ID }, { ACL_USER, 7, 4321 }, { ACL_GROUP_OBJ, 5, NO_ID },
                { ACL_MASK, 7, NO_ID },     { ACL_OTHER, 5, NO_ID },
        };
        put_str(at(src, "acl-file"), "acl\n", 0644);
        set_acl(at(src, "acl-file"), "system.posix_acl_access", file_acl, ELEMENTSOF(file_acl));
        mkd(at(src, "acl-dir"), 0755);
        put_str(at(src, "acl-dir/before"), "before\n", 0644);
        set_acl(at(src, "acl-dir"), "system.posix_acl_default", dir_acl, ELEMENTSOF(dir_acl));
        put_str(at(src, "acl-dir/after"), "after\n", 0644);

        /* Odd times; directories last, their contents being complete. */
        put_str(at(src, "old"), "old\n", 0644);
        set_times(at(src, "old"), 2, 0, 1, 1);
        put_str(at(src, "future"), "future\n", 0644);
        set_times(at(src, "future"), 4102444800, 999999999, 4102444800, 999999999);
        set_times(at(src, "rel-link"), 1000000000, 500000000, 1000000000, 500000000);
        set_times(at(src, "shared"), 1111111111, 0, 1234567890, 123456789);
        set_times(at(src, "deep/d01"), 1, 0, 86400, 42);
}

static bool xattr_compared(const char *name) {
        return strncmp(name, "user.", 5) == 0 || strncmp(name, "system.posix_acl_", 17) == 0 ||
               (strncmp(name, "security.", 9) == 0 && strcmp(name, "security.selinux") != 0);
}

/* Every compared attribute of a is on b with the same value; with both
 * directions checked, the two sets are equal. */
static void xattrs_subset(const char *a, const char *b, const char *rel) {
        char names[4096], va[4096], vb[4096];
        ssize_t n = llistxattr(a, names, sizeof names);

        assert_true(n >= 0);
        for (char *p = names; p < names + n; p += strlen(p) + 1) {
                if (!xattr_compared(p))
                        continue;
                ssize_t la = lgetxattr(a, p, va, sizeof va), lb = lgetxattr(b, p, vb, sizeof vb);
                if (lb < 0)
                        fail_msg("%s: attribute %s missing on %s (%s)", rel, p, b, strerror(errno));
                if (la != lb || memcmp(va, vb, (size_t) la) != 0)
                        fail_msg("%s: attribute %s differs between %s and %s", rel, p, a, b);
        }
}

static const char *rewritten(const Rewrite *rw, const char *rel) {
        for (; rw && rw->rel; rw++)
                if (strcmp(rw->rel, rel) == 0)
                        return rw->target;
        return NULL;
}

static char *join(const char *a, const char *b) {
        char *p = NULL;

        assert_true(asprintf(&p, "%s%s%s", a, a[0] && b[0] ? "/" : "", b) >= 0);
        return p;
}

/* Compares src and dst below rel, entry by entry, in both directions. */
static void compare_tree(const char *src, const char *dst, const char *rel, const Rewrite *rw, bool xattrs) {
        char *sdir = join(src, rel), *ddir = join(dst, rel);
        struct dirent **l = NULL;
        int n;

        n = scandir(sdir, &l, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                const char *name = l[i]->d_name;
                char *r = NULL, *sp = NULL, *dp = NULL;
                struct stat a, b;

                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        goto next;
                r = join(rel, name);
                sp = join(sdir, name);
                dp = join(ddir, name);
                assert_int_equal(lstat(sp, &a), 0);
                if (S_ISFIFO(a.st_mode) || S_ISSOCK(a.st_mode) || S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) {
                        assert_absent(dp);
                        goto next;
                }
                if (lstat(dp, &b) < 0)
                        fail_msg("%s: missing in the target (%s)", r, strerror(errno));
                if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT))
                        fail_msg("%s: type %o, expected %o", r, b.st_mode & S_IFMT, a.st_mode & S_IFMT);
                if (b.st_uid != OWNER || b.st_gid != OWNER)
                        fail_msg("%s: owned by %u:%u", r, b.st_uid, b.st_gid);
                if (!S_ISLNK(a.st_mode) && (a.st_mode & 07777) != (b.st_mode & 07777))
                        fail_msg("%s: mode %04o, expected %04o", r, b.st_mode & 07777, a.st_mode & 07777);
                if (a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec)
                        fail_msg("%s: mtime %lld.%09ld, expected %lld.%09ld", r, (long long) b.st_mtim.tv_sec,
                                 b.st_mtim.tv_nsec, (long long) a.st_mtim.tv_sec, a.st_mtim.tv_nsec);

                if (S_ISREG(a.st_mode)) {
                        size_t la, lb;
                        char *ca, *cb;

                        if (a.st_size != b.st_size)
                                fail_msg("%s: size %lld, expected %lld", r, (long long) b.st_size,
                                         (long long) a.st_size);
                        ca = slurp(sp, &la);
                        cb = slurp(dp, &lb);
                        if (la != lb || memcmp(ca, cb, la) != 0)
                                fail_msg("%s: content differs", r);
                        free(ca);
                        free(cb);
                } else if (S_ISLNK(a.st_mode)) {
                        char t[PATH_MAX];
                        ssize_t k = readlink(sp, t, sizeof t - 1);
                        assert_true(k >= 0);
                        t[k] = 0;
                        assert_link(dp, rewritten(rw, r) ?: t);
                } else if (S_ISDIR(a.st_mode))
                        compare_tree(src, dst, r, rw, xattrs);
                if (xattrs && !S_ISLNK(a.st_mode)) {
                        xattrs_subset(sp, dp, r);
                        xattrs_subset(dp, sp, r);
                }
        next:
                free(r);
                free(sp);
                free(dp);
                free(l[i]);
        }
        free(l);

        /* Nothing in the target that the source lacks (temporary files…). */
        n = scandir(ddir, &l, NULL, alphasort);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                struct stat a;
                if (strcmp(l[i]->d_name, ".") != 0 && strcmp(l[i]->d_name, "..") != 0 &&
                    lstat(at(sdir, l[i]->d_name), &a) < 0)
                        fail_msg("%s: unexpected entry \"%s\" in the target", ddir, l[i]->d_name);
                free(l[i]);
        }
        free(l);
        free(sdir);
        free(ddir);
}

/* Whether user.* attributes can be set below dir (tmpfs before Linux 6.6: no). */
static bool user_xattrs_supported(const char *dir) {
        const char *p = at(dir, ".probe");
        bool ok;

        put(p, "", 0, 0644);
        expect.files--;
        ok = setxattr(p, "user.probe", "1", 1, 0) == 0;
        unlink(p);
        return ok;
}

static void seed_full_tree_into(const char *target) {
        const char *src = make_tmpdir("src");
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME, .skel_dir = src };
        SkelStats stats;
        struct stat a, b;

        build_full_tree(src);
        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_stats(&stats, &expect);

        /* Access times, before anything below reads the copies. */
        assert_int_equal(lstat(at(target, "old"), &a), 0);
        assert_int_equal(a.st_atim.tv_sec, 2);
        assert_int_equal(lstat(at(target, "shared"), &a), 0);
        assert_int_equal(a.st_atim.tv_sec, 1111111111);
        assert_int_equal(lstat(at(target, "rel-link"), &a), 0);
        assert_int_equal(a.st_atim.tv_sec, 1000000000);
        assert_int_equal(a.st_atim.tv_nsec, 500000000);

        compare_tree(src, target, "", full_rewrites, user_xattrs_supported(target));

        /* Spot checks of what compare_tree() checks generically. */
        assert_int_equal(lstat(at(target, "hl1"), &a), 0);
        assert_int_equal(lstat(at(target, "sub/hl2"), &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(a.st_nlink, 2);
        assert_int_equal(lstat(at(target, "links/first"), &a), 0);
        assert_int_equal(lstat(at(target, "zz-link"), &b), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(lstat(at(target, "setuid"), &a), 0);
        assert_int_equal(a.st_mode & 07777, 04755);
        assert_int_equal(lstat(at(target, "shared"), &a), 0);
        assert_int_equal(a.st_mode & 07777, 02775);
        assert_int_equal(a.st_mtim.tv_nsec, 123456789);
        assert_link(at(target, "abs-link"), HOME "/shared/inner");
        assert_link(at(target, "outside"), "/etc/passwd");
        assert_int_equal(lstat(at(target, "big"), &a), 0);
        assert_int_equal(a.st_size, BIG_SIZE);
        assert_absent(at(target, "fifo"));
}

static void test_full_tree(void **state) {
        seed_full_tree_into(make_tmpdir("target"));
}

/* Across file systems: copy_file_range() refuses, read()/write() copies. */
static void test_full_tree_tmpfs(void **state) {
        const char *mnt = make_tmpdir("tmpfs");

        if (!mount_tmpfs(mnt, "64m"))
                skip();
        seed_full_tree_into(mnt);
}

/* ---- merge of the default sources --------------------------------------- */

static bool have_openat2(void) {
        struct open_how how = { .flags = O_PATH | O_CLOEXEC };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);

        if (fd >= 0)
                close(fd);
        return fd >= 0 || errno != ENOSYS;
}

static void test_merge(void **state) {
        const char *root = make_tmpdir("root"), *target = make_tmpdir("target");
        char **sources = NULL, etc[PATH_MAX], usr[PATH_MAX], fac[PATH_MAX];
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME, .root = root };
        SkelStats stats;
        struct stat st;

        snprintf(etc, sizeof etc, "%s/etc/skel", root);
        snprintf(usr, sizeof usr, "%s/usr/etc/skel", root);
        snprintf(fac, sizeof fac, "%s/usr/share/factory/etc/skel", root);
        assert_int_equal(run("mkdir -p '%s' '%s' '%s'", etc, usr, fac), 0);

        memset(&expect, 0, sizeof expect);
        /* /etc/skel */
        put_str(at(etc, "a"), "etc a", 0644);
        lnk("/dev/null", at(etc, "m"));
        put_str(at(etc, "fd"), "etc fd", 0644);
        mkd(at(etc, ".config"), 0700);
        put_str(at(etc, ".config/x"), "etc x", 0600);
        lnk("/dev/null", at(etc, ".config/masked"));
        lnk("/etc/skel/a", at(etc, "l"));
        lnk("/usr/etc/skel/b", at(etc, "nl"));
        /* /usr/etc/skel */
        put_str(at(usr, "a"), "usr a", 0644);
        put_str(at(usr, "b"), "usr b", 0644);
        put_str(at(usr, "m"), "usr m", 0644);
        mkd(at(usr, "fd"), 0755);
        put_str(at(usr, "fd/inner"), "usr fd/inner", 0644);
        mkd(at(usr, ".config"), 0755);
        put_str(at(usr, ".config/x"), "usr x", 0644);
        put_str(at(usr, ".config/y"), "usr y", 0644);
        /* /usr/share/factory/etc/skel */
        put_str(at(fac, "b"), "factory b", 0644);
        put_str(at(fac, "c"), "factory c", 0644);
        put_str(at(fac, "m"), "factory m", 0644);
        mkd(at(fac, ".config"), 0755);
        put_str(at(fac, ".config/z"), "factory z", 0644);
        mkd(at(fac, ".config/masked"), 0755);
        put_str(at(fac, ".config/masked/f"), "masked", 0644);
        lnk("/usr/share/factory/etc/skel/c", at(fac, "fl"));
        set_times(at(etc, ".config"), 1, 0, 777777777, 7);

        assert_int_equal(skel_default_sources(root, &sources), 0);
        assert_non_null(sources);
        assert_int_equal(strv_length(sources), 3);
        assert_string_equal(sources[0], etc);
        assert_string_equal(sources[1], usr);
        assert_string_equal(sources[2], fac);
        strv_free(sources);

        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_listing(target, ".config|a|b|c|fd|fl|l|nl");
        assert_listing(at(target, ".config"), "x|y|z");
        assert_content(at(target, "a"), "etc a");
        assert_content(at(target, "b"), "usr b");
        assert_content(at(target, "c"), "factory c");
        assert_content(at(target, "fd"), "etc fd");
        assert_content(at(target, ".config/x"), "etc x");
        assert_content(at(target, ".config/y"), "usr y");
        assert_content(at(target, ".config/z"), "factory z");
        assert_link(at(target, "l"), HOME "/a");
        assert_link(at(target, "fl"), HOME "/c");
        assert_link(at(target, "nl"), "/usr/etc/skel/b"); /* another source's path: verbatim */
        /* The directory is /etc's (mode, times), with all sources' contents. */
        assert_int_equal(lstat(at(target, ".config"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(st.st_mtim.tv_sec, 777777777);
        assert_int_equal(st.st_mtim.tv_nsec, 7);
        assert_int_equal(st.st_uid, OWNER);
        assert_int_equal(stats.files, 7);    /* a b c fd .config/{x,y,z} */
        assert_int_equal(stats.dirs, 1);     /* .config */
        assert_int_equal(stats.symlinks, 3); /* l nl fl */
        assert_int_equal(stats.skipped, 0);

        /* A missing source is skipped. */
        assert_int_equal(run("rm -rf '%s' '%s' && mkdir '%s'", usr, target, target), 0);
        assert_int_equal(skel_default_sources(root, &sources), 0);
        assert_int_equal(strv_length(sources), 2);
        assert_string_equal(sources[0], etc);
        assert_string_equal(sources[1], fac);
        strv_free(sources);
        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_listing(target, ".config|a|b|c|fd|fl|l|nl");
        assert_content(at(target, "b"), "factory b");
        assert_listing(at(target, ".config"), "x|z");

        /* No sources at all: nothing to do, no error. */
        assert_int_equal(run("rm -rf '%s/etc' '%s/usr' '%s' && mkdir '%s'", root, root, target, target), 0);
        assert_int_equal(skel_default_sources(root, &sources), 0);
        assert_null(sources[0]);
        strv_free(sources);
        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_listing(target, "");
        assert_int_equal(stats.files + stats.dirs + stats.symlinks, 0);

        /* A source that is an absolute symlink resolves inside the root, as it
         * would on the system the root is the image of; without openat2()
         * (valgrind, Linux < 5.6) it is skipped, never resolved on the host. */
        assert_int_equal(run("mkdir -p '%s/etc' '%s/usr/share/skel-real'", root, root), 0);
        assert_int_equal(symlink("/usr/share/skel-real", etc), 0);
        put_str(at(root, "usr/share/skel-real/inroot"), "in the root", 0644);
        assert_int_equal(skel_default_sources(root, &sources), 0);
        if (have_openat2()) {
                assert_int_equal(strv_length(sources), 1);
                assert_string_equal(sources[0], etc);
        } else {
                print_message("no openat2(): checking that a symlinked source is skipped\n");
                assert_int_equal(strv_length(sources), 0);
        }
        strv_free(sources);
        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_listing(target, have_openat2() ? "inroot" : "");
}

/* ---- an explicit source replaces the merge ------------------------------ */

static void test_skel_dir(void **state) {
        const char *root = make_tmpdir("root"), *dir = make_tmpdir("skel"), *target = make_tmpdir("target");
        char abs[PATH_MAX], slash[PATH_MAX];
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME "/", .root = root };
        SkelStats stats;

        assert_int_equal(run("mkdir -p '%s/etc/skel'", root), 0);
        put_str(at(root, "etc/skel/from-root"), "no", 0644);
        put_str(at(dir, "only"), "explicit", 0644);
        /* No merge, so nothing to mask: a link to /dev/null is just a link. */
        lnk("/dev/null", at(dir, "nul"));
        snprintf(abs, sizeof abs, "%s/only", dir);
        lnk(abs, at(dir, "abs"));

        snprintf(slash, sizeof slash, "%s/", dir); /* spelled with a trailing slash */
        opts.skel_dir = slash;
        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_listing(target, "abs|nul|only");
        assert_content(at(target, "only"), "explicit");
        assert_link(at(target, "nul"), "/dev/null");
        assert_link(at(target, "abs"), HOME "/only");

        /* An explicit source that does not exist is an error, not "nothing". */
        assert_int_equal(run("rm -rf '%s' && mkdir '%s'", target, target), 0);
        opts.skel_dir = at(dir, "missing");
        assert_int_equal(seed(target, &opts, &stats), -ENOENT);
        assert_listing(target, "");
}

/* ---- a symlink planted in the target is never written through ------------ */

static void test_target_symlink(void **state) {
        const char *src = make_tmpdir("src"), *target = make_tmpdir("target"), *elsewhere = make_tmpdir("elsewhere");
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME, .skel_dir = src };
        SkelStats stats;

        mkd(at(src, "docs"), 0755);
        put_str(at(src, "docs/readme"), "readme", 0644);
        mkd(at(src, "docs/sub"), 0755);

        /* A directory of the source is a symlink in the target. */
        assert_int_equal(symlink(elsewhere, at(target, "docs")), 0);
        assert_true(seed(target, &opts, &stats) < 0);
        assert_listing(elsewhere, "");
        assert_link(at(target, "docs"), elsewhere);

        /* A file of the source is a (dangling) symlink in the target. */
        assert_int_equal(unlink(at(target, "docs")), 0);
        assert_int_equal(run("rm -rf '%s' && mkdir '%s'", src, src), 0);
        put_str(at(src, "profile"), "profile", 0644);
        assert_int_equal(symlink(at(elsewhere, "profile"), at(target, "profile")), 0);
        assert_int_equal(seed(target, &opts, &stats), -EEXIST);
        assert_listing(elsewhere, "");
}

/* ---- nesting is bounded ----------------------------------------------- */

static void make_nested(const char *top, unsigned levels) {
        char p[PATH_MAX];
        size_t l = strlen(top);

        memcpy(p, top, l + 1);
        for (unsigned i = 0; i < levels; i++) {
                l += (size_t) snprintf(p + l, sizeof p - l, "/d");
                assert_int_equal(mkdir(p, 0755), 0);
        }
}

static void test_depth_limit(void **state) {
        const char *src = make_tmpdir("src"), *target = make_tmpdir("target");
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME, .skel_dir = src };
        SkelStats stats;

        make_nested(src, 256);
        assert_int_equal(seed(target, &opts, &stats), 0);
        assert_int_equal(stats.dirs, 256);

        assert_int_equal(run("rm -rf '%s' '%s' && mkdir '%s' '%s'", src, target, src, target), 0);
        make_nested(src, 257);
        assert_int_equal(seed(target, &opts, &stats), -ELOOP);
}

/* ---- reflinks on a loop-file Btrfs -------------------------------------- */

typedef struct LoopFs {
        const char *dir;  /* holds the image and the mount point */
        char loopdev[64]; /* the loop device this test attached, "" if none */
        bool mounted;
        const char *why;  /* why the file system is unavailable, NULL if it is there */
} LoopFs;

static int loopfs_setup(void **state) {
        static LoopFs fs;
        char cmd[PATH_MAX + 64];
        FILE *p;
        int fd;

        fs = (LoopFs) { .dir = make_tmpdir("btrfs") };
        *state = &fs;
        if (mkdir(at(fs.dir, "mnt"), 0755) < 0)
                return -1;
        if (run("command -v mkfs.btrfs >/dev/null") != 0) {
                fs.why = "no mkfs.btrfs";
                return 0;
        }
        fd = open(at(fs.dir, "img"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, 512 << 20) < 0 || close(fd) < 0)
                return -1;
        if (run("mkfs.btrfs -q '%s' >/dev/null 2>&1", at(fs.dir, "img")) != 0) {
                fs.why = "mkfs.btrfs failed";
                return 0;
        }
        snprintf(cmd, sizeof cmd, "losetup --find --show '%s' 2>/dev/null", at(fs.dir, "img"));
        p = popen(cmd, "r");
        if (!p || !fgets(fs.loopdev, sizeof fs.loopdev, p))
                fs.loopdev[0] = 0;
        if (p)
                pclose(p);
        fs.loopdev[strcspn(fs.loopdev, "\n")] = 0;
        if (strncmp(fs.loopdev, "/dev/loop", 9) != 0) {
                fs.loopdev[0] = 0;
                fs.why = "no loop device";
                return 0;
        }
        if (mount(fs.loopdev, at(fs.dir, "mnt"), "btrfs", 0, NULL) < 0) {
                fs.why = "cannot mount the Btrfs";
                return 0;
        }
        fs.mounted = true;
        return 0;
}

static int loopfs_teardown(void **state) {
        LoopFs *fs = *state;
        int r = 0;

        if (fs->mounted && umount(at(fs->dir, "mnt")) < 0)
                r = -1;
        /* Only the device this test attached. */
        if (fs->loopdev[0] && run("losetup -d '%s'", fs->loopdev) != 0)
                r = -1;
        return cleanup(state) < 0 ? -1 : r;
}

static bool all_extents_shared(const char *path, unsigned *ret_n) {
        struct fiemap *fm = calloc(1, sizeof *fm + 64 * sizeof(struct fiemap_extent));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        bool shared = false;

        assert_non_null(fm);
        assert_true(fd >= 0);
        fm->fm_length = FIEMAP_MAX_OFFSET;
        fm->fm_flags = FIEMAP_FLAG_SYNC;
        fm->fm_extent_count = 64;
        assert_int_equal(ioctl(fd, FS_IOC_FIEMAP, fm), 0);
        *ret_n = fm->fm_mapped_extents;
        if (fm->fm_mapped_extents > 0) {
                shared = true;
                for (unsigned i = 0; i < fm->fm_mapped_extents; i++)
                        if (!(fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_SHARED))
                                shared = false;
        }
        close(fd);
        free(fm);
        return shared;
}

static void test_reflink(void **state) {
        LoopFs *fs = *state;
        char src[PATH_MAX], target[PATH_MAX];
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME };
        SkelStats stats;
        struct timespec t0, t1;
        unsigned extents = 0;
        int fd;

        if (fs->why) {
                print_message("reflink test skipped: %s\n", fs->why);
                skip();
        }
        snprintf(src, sizeof src, "%s/mnt/skel", fs->dir);
        snprintf(target, sizeof target, "%s/mnt/home", fs->dir);
        assert_int_equal(mkdir(src, 0755), 0);
        assert_int_equal(mkdir(target, 0700), 0);
        memset(&expect, 0, sizeof expect);
        make_big(at(src, "big"));
        put_str(at(src, "small"), "small\n", 0644);
        fd = open_dir(src);
        assert_int_equal(syncfs(fd), 0); /* extents on disk, so FIEMAP sees them */
        close(fd);

        opts.skel_dir = src;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(seed(target, &opts, &stats), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_stats(&stats, &expect);
        assert_int_equal(stats.reflinked, 2);
        assert_true(all_extents_shared(at(target, "big"), &extents));
        print_message("btrfs: 3 MiB file reflinked (%u extent(s), all shared); seeding took %.2f ms\n", extents,
                      (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6);
        compare_tree(src, target, "", NULL, true);
}

/* ---- a full target: an error, and no partial file ------------------------ */

static void test_enospc(void **state) {
        const char *src = make_tmpdir("src"), *mnt = make_tmpdir("full"), *logdir = make_tmpdir("log");
        SkelOptions opts = { .uid = OWNER, .gid = OWNER, .home_path = HOME, .skel_dir = src };
        SkelStats stats;
        char *text, *line;
        size_t len;
        int saved, fd, r, lines = 0;

        if (!mount_tmpfs(mnt, "1m"))
                skip();
        memset(&expect, 0, sizeof expect);
        put_str(at(src, "a-small"), "small\n", 0644);
        make_big(at(src, "big"));

        /* Capture the log: the error is reported once, naming the file. */
        fd = open(at(logdir, "log"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        r = seed(mnt, &opts, &stats);
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(fd);

        assert_int_equal(r, -ENOSPC);
        assert_absent(at(mnt, "big"));
        assert_listing(mnt, "a-small"); /* no temporary file either */
        text = slurp(at(logdir, "log"), &len);
        for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                print_message("logged: %s\n", line);
                lines++;
                assert_non_null(strstr(line, "big"));
        }
        assert_int_equal(lines, 1);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_full_tree, cleanup),
                cmocka_unit_test_teardown(test_full_tree_tmpfs, cleanup),
                cmocka_unit_test_teardown(test_merge, cleanup),
                cmocka_unit_test_teardown(test_skel_dir, cleanup),
                cmocka_unit_test_teardown(test_target_symlink, cleanup),
                cmocka_unit_test_teardown(test_depth_limit, cleanup),
                cmocka_unit_test_setup_teardown(test_reflink, loopfs_setup, loopfs_teardown),
                cmocka_unit_test_teardown(test_enospc, cleanup),
        };

        if (geteuid() != 0) {
                printf("test-skel: needs root (ownership, mounts, loop devices), skipping\n");
                return 77;
        }
        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
