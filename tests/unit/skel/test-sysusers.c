/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysusers.d(5) parsing: a table of good lines with the fields expected, a
 * table of bad lines with the reason expected, and sysusers_load() on fake
 * roots (precedence, masks, order, file types, duplicates, hostile files). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <cmocka.h>

#include "fileio.h"
#include "log.h"
#include "sysusers.h"

typedef struct Good {
        const char *line;
        char type;
        const char *name, *id, *gecos, *home, *shell;
        bool locked;
} Good;

static const Good good[] = {
        /* The examples of sysusers.d(5). */
        { "u httpd 404 \"HTTP User\"", 'u', "httpd", "404", "HTTP User", NULL, NULL, false },
        { "u _authd /usr/bin/authd \"Authorization user\"", 'u', "_authd", "/usr/bin/authd", "Authorization user", NULL, NULL, false },
        { "u postgres - \"Postgresql Database\" /var/lib/pgsql /usr/libexec/postgresdb", 'u', "postgres", NULL,
          "Postgresql Database", "/var/lib/pgsql", "/usr/libexec/postgresdb", false },
        { "g input - -", 'g', "input", NULL, NULL, NULL, NULL, false },
        { "m _authd input", 'm', "_authd", "input", NULL, NULL, NULL, false },
        { "u root 0 \"Superuser\" /root /bin/zsh", 'u', "root", "0", "Superuser", "/root", "/bin/zsh", false },
        { "r - 500-900", 'r', NULL, "500-900", NULL, NULL, NULL, false },
        { "u! httpd 404 \"HTTP User\"", 'u', "httpd", "404", "HTTP User", NULL, NULL, true },
        /* Types and names. */
        { "g input", 'g', "input", NULL, NULL, NULL, NULL, false },
        { "g wheel 10", 'g', "wheel", "10", NULL, NULL, NULL, false },
        { "g grp /usr/bin/sudo", 'g', "grp", "/usr/bin/sudo", NULL, NULL, NULL, false },
        { "r - 500", 'r', NULL, "500", NULL, NULL, NULL, false },
        { "r - 0-4294967294", 'r', NULL, "0-4294967294", NULL, NULL, NULL, false },
        { "u! locked 990 \"Locked\" /home/locked", 'u', "locked", "990", "Locked", "/home/locked", NULL, true },
        { "u max-name_31chars_long_abcdefgh", 'u', "max-name_31chars_long_abcdefgh", NULL, NULL, NULL, NULL, false },
        { "\"u\" quotedtype", 'u', "quotedtype", NULL, NULL, NULL, NULL, false },
        { "m foo grp - - -", 'm', "foo", "grp", NULL, NULL, NULL, false },
        { "g foo - - - -", 'g', "foo", NULL, NULL, NULL, NULL, false },
        /* IDs. */
        { "u svc 991:991", 'u', "svc", "991:991", NULL, NULL, NULL, false },
        { "u svc 991:svcgrp", 'u', "svc", "991:svcgrp", NULL, NULL, NULL, false },
        { "u svc -:svcgrp", 'u', "svc", "-:svcgrp", NULL, NULL, NULL, false },
        { "u svc -:991", 'u', "svc", "-:991", NULL, NULL, NULL, false },
        { "u big 4294967294", 'u', "big", "4294967294", NULL, NULL, NULL, false },
        { "u zero 0", 'u', "zero", "0", NULL, NULL, NULL, false },
        { "u lead 007", 'u', "lead", "007", NULL, NULL, NULL, false },
        { "u p //usr//bin/./x", 'u', "p", "/usr/bin/x", NULL, NULL, NULL, false },
        /* White space, quoting, escapes, "-" and "". */
        { "  u\tindented\t-\t-\t/home/indented  ", 'u', "indented", NULL, NULL, "/home/indented", NULL, false },
        { "u crlf 5\r", 'u', "crlf", "5", NULL, NULL, NULL, false },
        { "u quoted - 'single quoted \\n kept' /home/q", 'u', "quoted", NULL, "single quoted \\n kept", "/home/q", NULL, false },
        { "u esc - \"tab\\there\"", 'u', "esc", NULL, "tab\there", NULL, NULL, false },
        { "u hex - \"\\x41\\102\\\\\\\"\"", 'u', "hex", NULL, "AB\\\"", NULL, NULL, false },
        { "u spc - \"a b\"\"c d\"", 'u', "spc", NULL, "a bc d", NULL, NULL, false },
        { "u bs - a\\ b", 'u', "bs", NULL, "a b", NULL, NULL, false },
        { "u mixed - \"it's\"' \"so\"'", 'u', "mixed", NULL, "it's \"so\"", NULL, NULL, false },
        { "u dash - - /srv/dash -", 'u', "dash", NULL, NULL, "/srv/dash", NULL, false },
        { "u empty \"\" '' /home/e", 'u', "empty", NULL, NULL, "/home/e", NULL, false },
        { "u qdash \"-\" \"-\"", 'u', "qdash", NULL, NULL, NULL, NULL, false },
        { "u space - - \"/home/with space\"", 'u', "space", NULL, NULL, "/home/with space", NULL, false },
        { "u utf8 - \"J\xc3\xbcrgen \xe2\x82\xac\"", 'u', "utf8", NULL, "J\xc3\xbcrgen \xe2\x82\xac", NULL, NULL, false },
        /* Paths are simplified as systemd does. */
        { "u simple - - /home//foo/./ /bin//sh", 'u', "simple", NULL, NULL, "/home/foo", "/bin/sh", false },
        { "u rooted - - /", 'u', "rooted", NULL, NULL, "/", NULL, false },
        /* Specifiers. */
        { "u pct - \"100%% sure\"", 'u', "pct", NULL, "100% sure", NULL, NULL, false },
        { "u trail - \"50%\"", 'u', "trail", NULL, "50%", NULL, NULL, false },
        { "u tmp - - %T/x %V/sh", 'u', "tmp", NULL, NULL, "/tmp/x", "/var/tmp/sh", false },
};

typedef struct Bad {
        const char *line;
        const char *error;
} Bad;

static const Bad bad[] = {
        /* Types and field counts. */
        { "x foo", "unknown line type \"x\"" },
        { "uu foo", "unknown line type \"uu\"" },
        { "g! foo", "unknown line type \"g!\"" },
        { "\001 foo", "unknown line type (expected" },
        { "u", "missing fields" },
        { "\"\"", "missing fields" },
        { "u foo - - /home/foo /bin/sh extra", "trailing garbage \"extra\"" },
        { "u foo - - /home/foo /bin/sh # comment", "trailing garbage \"# comment\"" },
        /* Names. */
        { "u 9x", "invalid user name \"9x\"" },
        { "u -", "a user line needs a user name" },
        { "u foo/bar", "invalid user name \"foo/bar\"" },
        { "u bad:name", "invalid user name \"bad:name\"" },
        { "u -leading-dash", "invalid user name" },
        { "u this-name-is-way-too-long-for-utmp-32", "invalid user name" },
        { "g 1grp", "invalid group name \"1grp\"" },
        { "g -", "a group line needs a group name" },
        { "m - grp", "a member line needs a user name" },
        { "m foo", "a member line needs a group name" },
        { "m foo 9grp", "invalid group name \"9grp\"" },
        { "r foo 1-2", "a range line takes \"-\" as its name, not \"foo\"" },
        /* IDs. */
        { "u foo abc", "invalid UID \"abc\"" },
        { "u foo -1", "invalid UID \"-1\"" },
        { "u foo +1", "invalid UID \"+1\"" },
        { "u foo ' 1'", "invalid UID \" 1\"" },
        { "u foo 4294967295", "invalid UID \"4294967295\"" },
        { "u foo 99999999999999999999", "invalid UID" },
        { "u foo 65535", "invalid UID \"65535\"" },
        { "u foo 12:9bad", "invalid GID or group name \"9bad\"" },
        { "u foo 12:", "invalid GID or group name \"\"" },
        { "u foo :12", "invalid UID \"\" in \":12\"" },
        { "u foo 65535:1", "invalid UID \"65535\"" },
        { "u foo 1:65535", "invalid GID or group name \"65535\"" },
        { "u foo /usr/../etc/x", "ID path \"/usr/../etc/x\" contains \"..\"" },
        { "g foo abc", "invalid GID \"abc\"" },
        { "g foo 1:2", "invalid GID \"1:2\"" },
        { "g foo 4294967295", "invalid GID" },
        { "r -", "a range line needs a range" },
        { "r - -", "a range line needs a range" },
        { "r - 900-500", "invalid range \"900-500\"" },
        { "r - a-b", "invalid range \"a-b\"" },
        { "r - 1-2-3", "invalid range" },
        { "r - -5", "invalid range" },
        { "r - 5-", "invalid range" },
        { "r - 1-65535", "invalid range" },
        { "r - /path", "invalid range \"/path\"" },
        /* Fields a type does not take. */
        { "g foo - \"gecos\"", "'g' lines take no GECOS field" },
        { "g foo - - /home/x", "'g' lines take no home directory field" },
        { "g foo - - - /bin/sh", "'g' lines take no shell field" },
        { "m foo grp extra", "'m' lines take no GECOS field" },
        { "r - 1-2 - /home/x", "'r' lines take no home directory field" },
        /* GECOS, home, shell. */
        { "u foo - \"bad:gecos\"", "GECOS field must not contain ':'" },
        { "u foo - \"new\\nline\"", "GECOS field must not contain ':' or a newline" },
        { "u foo - \"\\xff\"", "GECOS field is not valid UTF-8" },
        { "u foo - \"\\xc0\\x80\"", "GECOS field is not valid UTF-8" },
        { "u foo - \"\\xed\\xa0\\x80\"", "GECOS field is not valid UTF-8" },
        { "u foo - - relative/home", "home directory \"relative/home\" is not an absolute path" },
        { "u foo - - /home/../etc", "home directory \"/home/../etc\" contains \"..\"" },
        { "u foo - - /home/a:b", "home directory \"/home/a:b\" contains ':' or control characters" },
        { "u foo - - \"/home/a\\tb\"", "contains ':' or control characters" },
        { "u foo - - \"/home/\\xff\"", "is not valid UTF-8" },
        { "u foo - - /home/foo bin/sh", "shell \"bin/sh\" is not an absolute path" },
        { "u foo - - /home/foo /bin/../sh", "shell \"/bin/../sh\" contains \"..\"" },
        /* Quoting and escapes. */
        { "u foo - \"unterminated", "unterminated double quote" },
        { "u foo - 'unterminated", "unterminated single quote" },
        { "u foo - \"bad \\q escape\"", "unknown escape \"\\q\"" },
        { "u foo - \"\\x4\"", "escape \"\\x\" needs two hexadecimal digits" },
        { "u foo - \"\\x00\"", "NUL byte" },
        { "u foo - \"\\000\"", "NUL byte" },
        { "u foo - \"\\400\"", "out of range" },
        { "u foo - \"\\12\"", "octal escape needs three digits" },
        { "u foo 5 \\", "line ends in a backslash" },
        /* Specifiers. */
        { "u foo - \"%H\"", "specifier \"%H\" is not supported" },
        { "u foo - - /home/%m", "specifier \"%m\" is not supported" },
        { "u foo - \"%q\"", "unknown specifier \"%q\"" },
        { "u %%", "invalid user name \"%\"" },
};

static bool eq(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void test_good(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                SysusersEntry e = {};
                char *error = NULL;
                int r = sysusers_parse_line(good[i].line, &e, &error);
                if (r != 1)
                        fail_msg("[%zu] %s: %d %s", i, good[i].line, r, error ?: "");
                assert_null(error);
#define CHECK_FIELD(f)                                                                                 \
        do {                                                                                           \
                if (!eq(e.f, good[i].f))                                                               \
                        fail_msg("[%zu] %s: " #f " is \"%s\", expected \"%s\"", i, good[i].line,       \
                                 e.f ?: "(null)", good[i].f ?: "(null)");                              \
        } while (0)
                assert_int_equal(e.type, good[i].type);
                CHECK_FIELD(name);
                CHECK_FIELD(id);
                CHECK_FIELD(gecos);
                CHECK_FIELD(home);
                CHECK_FIELD(shell);
#undef CHECK_FIELD
                assert_int_equal(e.locked, good[i].locked);
                assert_null(e.file);
                if (e.type == SYSUSERS_USER)
                        assert_string_equal(sysusers_entry_home(&e), good[i].home ?: "/");
                sysusers_entry_done(&e);
        }
}

static void test_bad(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                SysusersEntry e = {};
                char *error = NULL;
                int r = sysusers_parse_line(bad[i].line, &e, &error);
                if (r != -EINVAL || !error || !strstr(error, bad[i].error))
                        fail_msg("[%zu] %s: got %d \"%s\", expected \"%s\"", i, bad[i].line, r, error ?: "",
                                 bad[i].error);
                /* Nothing half-filled is handed out. */
                assert_null(e.name);
                assert_null(e.id);
                free(error);
                /* The reason is optional. */
                assert_int_equal(sysusers_parse_line(bad[i].line, &e, NULL), -EINVAL);
        }
}

static void test_blank_and_long(void **state) {
        const char *lines[] = { "", "   ", "# comment", "   # indented comment", "\t", "\r", "#u foo" };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                SysusersEntry e = {};
                char *error = NULL;
                assert_int_equal(sysusers_parse_line(lines[i], &e, &error), 0);
                assert_null(error);
                assert_null(e.name);
        }

        /* 4096 bytes is the limit. */
        char line[4098];
        SysusersEntry e = {};
        char *error = NULL;
        memset(line, 'a', sizeof line);
        memcpy(line, "u foo - \"", 9);
        line[4095] = '"';
        line[4096] = 0;
        assert_int_equal(sysusers_parse_line(line, &e, &error), 1);
        assert_int_equal(strlen(e.gecos), 4096 - 10);
        sysusers_entry_done(&e);
        line[4096] = ' ';
        line[4097] = 0;
        assert_int_equal(sysusers_parse_line(line, &e, &error), -EINVAL);
        assert_non_null(strstr(error, "line longer than 4096 bytes"));
        free(error);
}

/* Fake roots. */

static char *root_dir;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static int setup(void **state) {
        root_dir = strdup("/tmp/hearth-test-sysusers.XXXXXX");
        if (!root_dir || !mkdtemp(root_dir))
                return -1;
        /* Malformed lines are warnings by design; keep the output readable. */
        log_set_max_level(LOG_ERR);
        return 0;
}

static int teardown(void **state) {
        int r = nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(root_dir);
        return r;
}

static const char *at(const char *rel) {
        static char buf[4][PATH_MAX];
        static unsigned k;
        char *p = buf[k++ % ELEMENTSOF(buf)];
        snprintf(p, PATH_MAX, "%s%s", root_dir, rel);
        return p;
}

static void mkdirs_for(const char *rel) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", at(rel));
        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_parents(dir, 0755), 0);
}

static void put(const char *rel, const char *data, size_t len) {
        mkdirs_for(rel);
        int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static void put_text(const char *rel, const char *text) {
        put(rel, text, strlen(text));
}

static void put_link(const char *rel, const char *target) {
        mkdirs_for(rel);
        assert_int_equal(symlink(target, at(rel)), 0);
}

static const SysusersEntry *find(const SysusersTable *t, SysusersType type, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < t->n_entries; i++)
                if (t->entries[i].type == type && eq(t->entries[i].name, name)) {
                        if (ret_index)
                                *ret_index = i;
                        return &t->entries[i];
                }
        return NULL;
}

static void test_load(void **state) {
        SysusersTable t = {};
        size_t ia = 0, ib = 0, id = 0, ie = 0;

        /* b.conf: /etc's overrides /usr/lib's. c.conf: masked by /etc. d.conf:
         * /run's overrides /usr/lib's. a.conf sorts first though it lives in
         * the third directory, e.conf last. */
        put_text("/usr/lib/sysusers.d/b.conf", "u from-usr - - /home/from-usr\n");
        put_text("/etc/sysusers.d/b.conf", "u from-etc - - /home/from-etc\n");
        put_text("/usr/lib/sysusers.d/c.conf", "u masked\n");
        put_link("/etc/sysusers.d/c.conf", "/dev/null");
        put_text("/usr/lib/sysusers.d/d.conf", "u d-from-usr\n");
        put_text("/run/sysusers.d/d.conf", "g grp\nm from-etc grp\n");
        put_text("/usr/local/lib/sysusers.d/a.conf", "# first\nu first 990\nu 9bad\n\nu after-bad 991\n");
        put_text("/usr/lib/sysusers.d/e.conf", "u last 992"); /* no final newline */
        /* Neither *.conf nor visible: ignored. */
        put_text("/usr/lib/sysusers.d/x.txt", "u txt\n");
        put_text("/usr/lib/sysusers.d/conf", "u bare\n");
        put_text("/usr/lib/sysusers.d/.conf", "u dotconf\n");
        put_text("/usr/lib/sysusers.d/.hidden.conf", "u hidden\n");
        put_text("/usr/lib/sysusers.d/b.conf.rpmsave", "u rpmsave\n");

        assert_int_equal(sysusers_load(root_dir, &t), 0);
        assert_int_equal(t.n_entries, 6);

        const SysusersEntry *e = find(&t, SYSUSERS_USER, "first", &ia);
        assert_non_null(e);
        assert_int_equal(ia, 0);
        assert_int_equal(e->line, 2);
        assert_string_equal(e->file, at("/usr/local/lib/sysusers.d/a.conf"));
        e = find(&t, SYSUSERS_USER, "after-bad", NULL);
        assert_non_null(e);
        assert_int_equal(e->line, 5);
        e = find(&t, SYSUSERS_USER, "from-etc", &ib);
        assert_non_null(e);
        assert_string_equal(e->file, at("/etc/sysusers.d/b.conf"));
        assert_string_equal(sysusers_entry_home(e), "/home/from-etc");
        assert_null(find(&t, SYSUSERS_USER, "from-usr", NULL));
        assert_null(find(&t, SYSUSERS_USER, "masked", NULL));
        assert_null(find(&t, SYSUSERS_USER, "d-from-usr", NULL));
        assert_non_null(find(&t, SYSUSERS_GROUP, "grp", &id));
        e = find(&t, SYSUSERS_MEMBER, "from-etc", NULL);
        assert_non_null(e);
        assert_string_equal(e->id, "grp");
        e = find(&t, SYSUSERS_USER, "last", &ie);
        assert_non_null(e);
        assert_string_equal(e->id, "992");
        assert_string_equal(sysusers_entry_home(e), "/");
        /* Files in the order of their names, lines in file order. */
        assert_true(ia < ib && ib < id && id < ie);
        assert_int_equal(ie, t.n_entries - 1);
        const char *ignored[] = { "txt", "bare", "dotconf", "hidden", "rpmsave", "9bad" };
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
                assert_null(find(&t, SYSUSERS_USER, ignored[i], NULL));
        sysusers_table_done(&t);
        assert_int_equal(t.n_entries, 0);
        assert_null(t.entries);

        /* The same root with a trailing slash names the same files. */
        _cleanup_free_ char *slashed = NULL;
        assert_true(asprintf(&slashed, "%s//", root_dir) > 0);
        assert_int_equal(sysusers_load(slashed, &t), 0);
        assert_int_equal(t.n_entries, 6);
        assert_string_equal(t.entries[0].file, at("/usr/local/lib/sysusers.d/a.conf"));
        sysusers_table_done(&t);
}

static void test_load_duplicates(void **state) {
        SysusersTable t = {};

        /* systemd-sysusers keeps the first declaration of a name. */
        put_text("/usr/lib/sysusers.d/10-first.conf", "u svc 900 - /home/svc\ng svc 900\nm svc wheel\n");
        put_text("/usr/lib/sysusers.d/20-second.conf",
                 "u svc 901 - /home/other\n"    /* conflicting: ignored, with a warning */
                 "u svc 900 - /home/svc\n"      /* identical: ignored */
                 "g svc 901\n"                  /* groups have their own names */
                 "u wheel\n"                    /* a user named like a group is fine */
                 "m svc wheel\n");              /* members are not deduplicated */
        assert_int_equal(sysusers_load(root_dir, &t), 0);
        assert_int_equal(t.n_entries, 5);
        size_t n_users = 0;
        for (size_t i = 0; i < t.n_entries; i++)
                if (t.entries[i].type == SYSUSERS_USER && strcmp(t.entries[i].name, "svc") == 0) {
                        n_users++;
                        assert_string_equal(t.entries[i].home, "/home/svc");
                        assert_string_equal(t.entries[i].id, "900");
                }
        assert_int_equal(n_users, 1);
        assert_string_equal(find(&t, SYSUSERS_GROUP, "svc", NULL)->id, "900");
        assert_non_null(find(&t, SYSUSERS_USER, "wheel", NULL));
        sysusers_table_done(&t);
}

/* Without openat2() (before Linux 5.6, and under valgrind, which does not
 * know it) absolute symlinks below a root resolve on the host. */
static bool have_openat2(void) {
        struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
        int fd = (int) syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
        if (fd < 0)
                return false;
        close(fd);
        return true;
}

static void test_load_hostile(void **state) {
        SysusersTable t = {};
        char big[6000];
        bool in_root = have_openat2();

        /* An over-long line and a NUL byte are skipped; line numbers stay right. */
        memset(big, 'x', sizeof big);
        memcpy(big, "u long", 6);
        big[sizeof big - 1] = '\n';
        put("/usr/lib/sysusers.d/long.conf", big, sizeof big);
        assert_int_equal(truncate(at("/usr/lib/sysusers.d/long.conf"), sizeof big), 0);
        int fd = open(at("/usr/lib/sysusers.d/long.conf"), O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        static const char tail[] = "u nul\0byte\nu fine 5\n";
        assert_int_equal(write(fd, tail, sizeof tail - 1), (ssize_t) sizeof tail - 1);
        close(fd);
        /* A FIFO, directly or through a symlink, must not hang the reader. */
        assert_int_equal(mkdir_parents(at("/run/sysusers.d"), 0755), 0);
        assert_int_equal(mkfifo(at("/run/sysusers.d/fifo.conf"), 0644), 0);
        put_link("/run/sysusers.d/via-link.conf", "fifo.conf");
        /* A directory named *.conf neither counts nor hides a file. */
        assert_int_equal(mkdir_parents(at("/etc/sysusers.d/dir.conf"), 0755), 0);
        put_text("/usr/lib/sysusers.d/dir.conf", "u behind-dir\n");
        /* An absolute symlink resolves inside the root, as with systemd-sysusers --root. */
        put_text("/usr/lib/sysusers.d/real.conf.in", "u via-absolute-link\n");
        put_link("/etc/sysusers.d/linked.conf", "/usr/lib/sysusers.d/real.conf.in");
        /* A dangling link is skipped. */
        put_link("/etc/sysusers.d/dangling.conf", "/no/such/file");

        assert_int_equal(sysusers_load(root_dir, &t), 0);
        const SysusersEntry *e = find(&t, SYSUSERS_USER, "fine", NULL);
        bool ok = e && e->line == 3 && find(&t, SYSUSERS_USER, "behind-dir", NULL);
        if (in_root) {
                e = find(&t, SYSUSERS_USER, "via-absolute-link", NULL);
                ok = ok && t.n_entries == 3 && e && strcmp(e->file, at("/etc/sysusers.d/linked.conf")) == 0;
        } else {
                print_message("no openat2(): not checking absolute symlinks below the root\n");
                ok = ok && t.n_entries == 2;
        }
        sysusers_table_done(&t);
        assert_true(ok);
}

static void test_load_empty_and_missing(void **state) {
        SysusersTable t = { .n_entries = 42 };
        _cleanup_free_ char *missing = NULL;

        /* No directories at all: an empty table. */
        assert_int_equal(sysusers_load(root_dir, &t), 0);
        assert_int_equal(t.n_entries, 0);
        sysusers_table_done(&t);

        /* A mistyped root is an error, not a system without users. */
        assert_true(asprintf(&missing, "%s/no-such-dir", root_dir) > 0);
        assert_true(sysusers_load(missing, &t) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_blank_and_long),
                cmocka_unit_test_setup_teardown(test_load, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_duplicates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_hostile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_load_empty_and_missing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
