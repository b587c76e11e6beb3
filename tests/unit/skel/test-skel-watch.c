/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The skel watch (skel/skel-watch.c): a template a scan found current is
 * handed on only while nothing in the skel changed, and every kind of
 * change — made right before the create, with no event loop running in
 * between — takes it back. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "skel-watch.h"

static char root[64];
static char path_buf[512];

static const char *at(const char *rel) {
        snprintf(path_buf, sizeof path_buf, "%s/%s", root, rel);
        return path_buf;
}

static void write_file(const char *rel, const char *text) {
        FILE *f = fopen(at(rel), "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void sh(const char *fmt, ...) _printf_(1, 2);
static void sh(const char *fmt, ...) {
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof cmd, fmt, ap);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
        (void) state;
        snprintf(root, sizeof root, "/tmp/test-skel-watch.XXXXXX");
        assert_non_null(mkdtemp(root));
        sh("mkdir -p %s/etc/skel/.config/app %s/usr/share/factory/etc/skel", root, root);
        write_file("etc/skel/.profile", "profile\n");
        write_file("etc/skel/.config/app/rc", "x=1\n");
        write_file("usr/share/factory/etc/skel/.factory", "factory\n");
        assert_int_equal(symlink(".profile", at("etc/skel/.link")), 0);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        sh("rm -rf %s", root);
        return 0;
}

/* A watch whose scan (made by hand here) found "T" current, as a worker
 * reporting it after a create would. */
static SkelWatch *vouched(void) {
        SkelWatch *w = NULL;
        const char *current;
        uint64_t ticket;

        assert_int_equal(skel_watch_new(root, 0, &w), 0);
        skel_watch_begin(w, &current, &ticket);
        assert_null(current);
        assert_true(skel_watch_armed(w, NULL));
        skel_watch_done(w, ticket, "T");
        skel_watch_begin(w, &current, &ticket);
        assert_non_null(current);
        assert_string_equal(current, "T");
        return w;
}

/* The next create is told nothing: it scans. No skel_watch_process() in
 * between: begin itself must read what is queued. */
static void assert_scans(SkelWatch *w, const char *what) {
        const char *current;
        uint64_t ticket;
        skel_watch_begin(w, &current, &ticket);
        if (current)
                fail_msg("after %s the stale template is still handed on", what);
}

static void assert_vouches(SkelWatch *w, const char *what) {
        const char *current;
        uint64_t ticket;
        skel_watch_begin(w, &current, &ticket);
        if (!current)
                fail_msg("after %s the template is no longer handed on", what);
}

static void test_unchanged(void **state) {
        (void) state;
        _cleanup_(skel_watch_freep) SkelWatch *w = vouched();
        assert_vouches(w, "nothing");
        /* Reading the skel (as a seeding does) changes nothing. */
        sh("cat %s/etc/skel/.profile %s/etc/skel/.config/app/rc > /dev/null; ls -R %s/etc/skel > /dev/null", root,
           root, root);
        assert_vouches(w, "reading the skel");
        /* Beside the skel, in its parent: not the skel. */
        write_file("etc/passwd", "x\n");
        sh("mv %s/etc/passwd %s/etc/passwd-", root, root);
        assert_vouches(w, "a change beside the skel");
}

typedef void (*Change)(void);
static void c_content(void) { write_file("etc/skel/.profile", "PROFILE\n"); }
static void c_nested(void) { write_file("etc/skel/.config/app/rc", "x=2\n"); }
static void c_factory(void) { write_file("usr/share/factory/etc/skel/.factory", "other\n"); }
static void c_mode(void) { assert_int_equal(chmod(at("etc/skel/.profile"), 0600), 0); }
static void c_dir_mode(void) { assert_int_equal(chmod(at("etc/skel/.config"), 0700), 0); }
static void c_times(void) { assert_int_equal(utimes(at("etc/skel/.config/app/rc"), NULL), 0); }
static void c_xattr(void) {
        /* Some file systems have no user xattrs: the times then. */
        if (setxattr(at("etc/skel/.profile"), "user.hearth", "1", 1, 0) < 0)
                assert_int_equal(utimes(at("etc/skel/.profile"), NULL), 0);
}
static void c_new(void) { write_file("etc/skel/.config/new", "new\n"); }
static void c_remove(void) { assert_int_equal(unlink(at("etc/skel/.config/app/rc")), 0); }
static void c_rename(void) { sh("mv %s/etc/skel/.profile %s/etc/skel/.profile2", root, root); }
static void c_mask(void) { assert_int_equal(symlink("/dev/null", at("etc/skel/.factory")), 0); }
static void c_symlink_swap(void) {
        sh("ln -s .config %s/etc/skel/.link.new && mv -T %s/etc/skel/.link.new %s/etc/skel/.link", root, root, root);
}
static void c_new_dir_then_file(void) { sh("mkdir %s/etc/skel/.d && echo x > %s/etc/skel/.d/f", root, root); }
static void c_source_swap(void) {
        sh("cp -a %s/etc/skel %s/etc/skel.new && mv %s/etc/skel %s/etc/skel.old && mv %s/etc/skel.new %s/etc/skel",
           root, root, root, root, root, root);
}
static void c_source_symlink(void) {
        sh("cp -a %s/etc/skel %s/etc/skel.real && rm -rf %s/etc/skel && ln -s skel.real %s/etc/skel", root, root,
           root, root);
}
static void c_source_appears(void) { sh("mkdir -p %s/usr/etc/skel", root); }
static void c_source_goes(void) { sh("rm -rf %s/usr/share/factory/etc/skel", root); }
static void c_truncate(void) { assert_int_equal(truncate(at("etc/skel/.profile"), 0), 0); }

static void test_each_change(void **state) {
        static const struct {
                const char *what;
                Change change;
        } changes[] = {
                { "new content", c_content },
                { "new content in a nested directory", c_nested },
                { "new content in a later layer", c_factory },
                { "a mode", c_mode },
                { "a directory's mode", c_dir_mode },
                { "times", c_times },
                { "an xattr", c_xattr },
                { "a new file", c_new },
                { "a removed file", c_remove },
                { "a rename", c_rename },
                { "a mask", c_mask },
                { "a symlink swapped", c_symlink_swap },
                { "a new directory and a file in it", c_new_dir_then_file },
                { "the source swapped for a copy", c_source_swap },
                { "the source replaced by a symlink", c_source_symlink },
                { "a source that appears", c_source_appears },
                { "a source that goes", c_source_goes },
                { "a truncation", c_truncate },
        };
        (void) state;
        for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
                teardown(NULL);
                setup(NULL);
                _cleanup_(skel_watch_freep) SkelWatch *w = vouched();
                changes[i].change();
                assert_scans(w, changes[i].what);
                /* And it is set up again: the next scan's word is taken. */
                const char *current;
                uint64_t ticket;
                skel_watch_begin(w, &current, &ticket);
                assert_null(current);
                skel_watch_done(w, ticket, "U");
                assert_vouches(w, changes[i].what);
        }
}

/* A change while the worker runs (after begin, before done): what the
 * worker's scan found may be the skel of before; not taken. */
static void test_change_during_create(void **state) {
        (void) state;
        _cleanup_(skel_watch_freep) SkelWatch *w = NULL;
        const char *current;
        uint64_t ticket;

        assert_int_equal(skel_watch_new(root, 0, &w), 0);
        skel_watch_begin(w, &current, &ticket);
        c_content();
        skel_watch_done(w, ticket, "T");
        assert_scans(w, "a change while the worker ran");

        /* Two creates at once, the change between: the later one's
         * report is not taken either. */
        skel_watch_begin(w, &current, &ticket);
        uint64_t first = ticket;
        skel_watch_done(w, first, "T");
        skel_watch_begin(w, &current, &ticket);
        assert_string_equal(current, "T");
        c_nested();
        skel_watch_done(w, ticket, "T");
        assert_scans(w, "a change while another create ran");
}

/* A file with a second name outside the skel, written through it. */
static void test_hard_link(void **state) {
        (void) state;
        char inside[512];
        snprintf(inside, sizeof inside, "%s", at("etc/skel/.profile"));
        assert_int_equal(link(inside, at("outside")), 0);
        _cleanup_(skel_watch_freep) SkelWatch *w = vouched();
        write_file("outside", "written elsewhere\n");
        assert_scans(w, "a write through another name");
}

/* More directories than watches allowed: never vouched for. */
static void test_bound(void **state) {
        (void) state;
        _cleanup_(skel_watch_freep) SkelWatch *w = NULL;
        const char *current;
        uint64_t ticket;

        assert_int_equal(skel_watch_new(root, 3, &w), 0);
        skel_watch_begin(w, &current, &ticket);
        assert_false(skel_watch_armed(w, NULL));
        skel_watch_done(w, ticket, "T");
        skel_watch_begin(w, &current, &ticket);
        assert_null(current);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_unchanged, setup, teardown),
                cmocka_unit_test_setup_teardown(test_each_change, setup, teardown),
                cmocka_unit_test_setup_teardown(test_change_during_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hard_link, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
