/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fileio.h"
#include "identity-store.h"
#include "macro.h"
#include "sign.h"
#include "uid-alloc.h"
#include "user-record.h"

#define MACHINE_ID "0123456789abcdef0123456789abcdef"
#define CLEARTEXT "cleartext-Pa55word"

/* ---- fixture: a temporary directory, the store in <tmp>/state ----------- */

typedef struct Fixture {
        char *tmp;
        char *dir; /* the store's directory, created by the first save */
        IdentityStore *store;
        char *saved_env; /* HEARTH_STATE_DIR before the test */
        bool had_env;
} Fixture;

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

static int setup_store(void **state) {
        Fixture *f = calloc(1, sizeof *f);
        const char *e = getenv("HEARTH_STATE_DIR");

        if (!f)
                return -1;
        f->had_env = e != NULL;
        f->saved_env = e ? strdup(e) : NULL;
        f->tmp = strdup("/tmp/hearth-test-identity-store.XXXXXX");
        if (!f->tmp || !mkdtemp(f->tmp) || asprintf(&f->dir, "%s/state", f->tmp) < 0 ||
            identity_store_open(f->dir, &f->store) < 0) {
                free(f->tmp);
                free(f);
                return -1;
        }
        user_record_set_machine(MACHINE_ID, "testhost");
        *state = f;
        return 0;
}

static int teardown_store(void **state) {
        Fixture *f = *state;
        int r = nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

        if (f->had_env)
                setenv("HEARTH_STATE_DIR", f->saved_env, 1);
        else
                unsetenv("HEARTH_STATE_DIR");
        user_record_set_machine(NULL, NULL);
        identity_store_free(f->store);
        free(f->saved_env);
        free(f->dir);
        free(f->tmp);
        free(f);
        return r == 0 ? 0 : -1;
}

/* ---- helpers ---------------------------------------------------------- */

static char *path_join(const char *dir, const char *name) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static char *record_file(Fixture *f, const char *user) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s.identity", f->dir, user) >= 0);
        return p;
}

/* A valid record; extra is more members, starting with ',' (or ""). */
static char *record_text(const char *user, const char *uid_json, const char *extra) {
        char *t = NULL;
        assert_true(asprintf(&t,
                             "{\"userName\":\"%s\",\"realName\":\"Test User\",%s%s%s\"homeDirectory\":\"/home/%s\","
                             "\"storage\":\"directory\",\"disposition\":\"regular\"%s}",
                             user, uid_json ? "\"uid\":" : "", uid_json ?: "", uid_json ? "," : "", user,
                             extra) >= 0);
        return t;
}

static UserRecord *make_record(const char *user, uid_t uid, const char *extra) {
        char uid_json[32], *text;
        UserRecord *rec = NULL;
        char *error = NULL;
        int r;

        snprintf(uid_json, sizeof uid_json, "%u,\"gid\":%u", (unsigned) uid, (unsigned) uid);
        text = record_text(user, uid_json, extra);
        r = user_record_parse(text, strlen(text), &rec, &error);
        if (r != 0)
                fail_msg("record refused: %s\n%s", error ?: "?", text);
        free(text);
        return rec;
}

static void save(Fixture *f, const char *user, uid_t uid) {
        UserRecord *rec = make_record(user, uid, "");
        assert_int_equal(identity_store_save(f->store, rec), 0);
        user_record_free(rec);
}

/* Not inlined: GCC 12 at -O3 then takes its result for a pointer to its local. */
__attribute__((noinline)) static char *read_text(const char *path) {
        char *text = NULL;
        int r = read_file_bounded(path, 2 * IDENTITY_FILE_MAX, &text, NULL);
        if (r != 0)
                fail_msg("%s: cannot read: %s", path, strerror(-r));
        return text;
}

static void write_text(const char *path, const char *text) {
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0600, 0), 0);
}

/* s/from/to/ on a file, first occurrence only. */
static void sed_file(const char *path, const char *from, const char *to) {
        _cleanup_free_ char *text = read_text(path), *out = NULL;
        const char *p = strstr(text, from);

        if (!p)
                fail_msg("%s does not contain \"%s\"", path, from);
        size_t at = (size_t) (p - text), n = strlen(from);
        assert_true(asprintf(&out, "%.*s%s%s", (int) at, text, to, text + at + n) >= 0);
        write_text(path, out);
}

static int load(Fixture *f, const char *user) {
        UserRecord *rec = NULL;
        int r = identity_store_load(f->store, user, &rec);

        assert_true(r == 0 ? rec != NULL : rec == NULL);
        user_record_free(rec);
        return r;
}

/* A name no user or group has, for this run. */
static void random_name(char *buf, size_t size) {
        static unsigned counter;
        unsigned long v = (unsigned long) time(NULL) ^ ((unsigned long) getpid() << 16) ^ (++counter * 7919UL);

        assert_true(size >= 16);
        strcpy(buf, "hx");
        for (size_t i = 2; i < 14; i++) {
                buf[i] = (char) ('a' + v % 26);
                v = v / 26 + (unsigned long) rand();
        }
        buf[14] = 0;
}

static char *list_joined(Fixture *f) {
        char **names = NULL, *out;
        size_t len = 1;

        assert_int_equal(identity_store_list(f->store, &names), 0);
        assert_non_null(names);
        for (char **n = names; *n; n++)
                len += strlen(*n) + 1;
        out = calloc(1, len);
        assert_non_null(out);
        for (char **n = names; *n; n++) {
                if (n != names)
                        strcat(out, "|");
                strcat(out, *n);
        }
        strv_free(names);
        return out;
}

static void assert_list(Fixture *f, const char *expected) {
        char *l = list_joined(f);
        if (strcmp(l, expected) != 0)
                fail_msg("identity_store_list: \"%s\", expected \"%s\"", l, expected);
        free(l);
}

/* ---- tests ------------------------------------------------------------ */

static void test_save_and_load(void **state) {
        Fixture *f = *state;
        UserRecord *rec = make_record("alice", 60100,
                                      ",\"secret\":{\"password\":[\"" CLEARTEXT "\"]},"
                                      "\"status\":{\"" MACHINE_ID "\":{\"state\":\"active\"}}");
        char *path = record_file(f, "alice"), *text, *p;
        UserRecord *loaded = NULL;
        IdentityStore *other = NULL;
        SignatureStatus s;
        Keyring *kr;
        struct stat st;

        assert_non_null(rec->password);
        assert_int_equal(identity_store_save(f->store, rec), 0);

        /* rec is now what was written: no secret, no status, signed. */
        assert_null(rec->password);
        assert_false(rec->has_sections & (USER_RECORD_SECRET | USER_RECORD_STATUS));
        assert_true(rec->has_sections & USER_RECORD_SIGNATURE);

        /* The directory was created 0700, the file is 0600 and secret-free. */
        assert_int_equal(stat(f->dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        text = read_text(path);
        assert_null(strstr(text, "secret"));
        assert_null(strstr(text, CLEARTEXT));
        assert_null(strstr(text, "password"));
        assert_null(strstr(text, "\"status\""));
        assert_non_null(strstr(text, "\"signature\""));
        free(text);

        /* The machine key was made on first use. */
        p = path_join(f->dir, "local.private");
        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        free(p);

        assert_int_equal(identity_store_load(f->store, "alice", &loaded), 0);
        assert_string_equal(loaded->user_name, "alice");
        assert_string_equal(loaded->real_name, "Test User");
        assert_int_equal(loaded->uid, 60100);
        assert_null(loaded->password);
        assert_false(loaded->has_sections & (USER_RECORD_SECRET | USER_RECORD_STATUS));
        assert_true(loaded->has_sections & USER_RECORD_SIGNATURE);
        assert_int_equal(identity_store_keyring(f->store, false, &kr), 0);
        assert_int_equal(keyring_verify(kr, loaded, &s), 0);
        assert_int_equal(s, SIGNATURE_LOCAL);
        user_record_free(loaded);
        loaded = NULL;

        /* A fresh store object on the same directory reads it too. */
        assert_int_equal(identity_store_open(f->dir, &other), 0);
        assert_string_equal(identity_store_dir(other), f->dir);
        assert_int_equal(identity_store_load(other, "alice", &loaded), 0);
        assert_int_equal(loaded->uid, 60100);
        user_record_free(loaded);
        loaded = NULL;

        /* Saving again replaces the record. */
        assert_int_equal(json_object_object_add(rec->json, "realName", json_object_new_string("Alice Liddell")), 0);
        assert_int_equal(user_record_refresh(rec, NULL), 0);
        assert_int_equal(identity_store_save(other, rec), 0);
        assert_int_equal(identity_store_load(f->store, "alice", &loaded), 0);
        assert_string_equal(loaded->real_name, "Alice Liddell");
        user_record_free(loaded);

        /* Nothing else is in the directory: no temporary files. */
        assert_list(f, "alice");
        {
                DIR *d = opendir(f->dir);
                struct dirent *de;
                unsigned n = 0;
                assert_non_null(d);
                while ((de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        if (strcmp(de->d_name, "alice.identity") != 0 && strcmp(de->d_name, "local.private") != 0 &&
                            strcmp(de->d_name, "local.public") != 0)
                                fail_msg("unexpected file %s in the store", de->d_name);
                        n++;
                }
                closedir(d);
                assert_int_equal(n, 3);
        }

        identity_store_free(other);
        user_record_free(rec);
        free(path);
}

static void test_save_refuses_uid(void **state) {
        static const uid_t bad[] = { 0, 1000, HOME_UID_MIN - 1, HOME_UID_MAX + 1, 65534, 4294967294U };
        Fixture *f = *state;
        char *path = record_file(f, "alice"), *text;
        UserRecord *rec;
        struct stat st;
        char *error = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                rec = make_record("alice", bad[i], ",\"secret\":{\"password\":[\"" CLEARTEXT "\"]}");
                assert_int_equal(identity_store_save(f->store, rec), -EINVAL);
                user_record_free(rec);
        }

        /* no uid at all */
        text = record_text("alice", NULL, "");
        assert_int_equal(user_record_parse(text, strlen(text), &rec, &error), 0);
        assert_int_equal(rec->uid, UID_INVALID);
        assert_int_equal(identity_store_save(f->store, rec), -EINVAL);
        user_record_free(rec);
        free(text);

        /* Nothing was written, not even the directory or a key. */
        assert_int_equal(lstat(path, &st), -1);
        assert_int_equal(lstat(f->dir, &st), -1);
        assert_int_equal(errno, ENOENT);

        /* The ends of the range are fine. */
        save(f, "alice", HOME_UID_MIN);
        save(f, "bob", HOME_UID_MAX);
        assert_list(f, "alice|bob");
        free(path);
}

static void test_load_errors(void **state) {
        Fixture *f = *state;
        char *alice = record_file(f, "alice"), *p, *q, *text, *big;
        UserRecord *rec = NULL;
        Keyring *other = NULL;
        IdentityStore *s2 = NULL;

        /* nothing there */
        assert_int_equal(identity_store_load(f->store, "alice", &rec), -ENOENT);
        assert_null(rec);
        save(f, "alice", 60100);
        assert_int_equal(load(f, "alice"), 0);

        /* invalid names never become paths */
        assert_int_equal(load(f, "../etc"), -EINVAL);
        assert_int_equal(load(f, "../state/alice"), -EINVAL);
        assert_int_equal(load(f, ""), -EINVAL);
        assert_int_equal(load(f, "a/b"), -EINVAL);
        assert_int_equal(load(f, "alice\n"), -EINVAL);
        assert_int_equal(load(f, ".identity"), -EINVAL);
        assert_int_equal(identity_store_remove(f->store, "../etc"), -EINVAL);

        /* the record of another user under this name */
        p = record_file(f, "mallory");
        text = read_text(alice);
        write_text(p, text);
        free(text);
        assert_int_equal(load(f, "mallory"), -EBADMSG);
        free(p);

        /* modified on disk after signing: a signed field, then the uid */
        text = read_text(alice);
        sed_file(alice, "Test User", "Evil User");
        assert_int_equal(load(f, "alice"), -EBADMSG);
        write_text(alice, text);
        assert_int_equal(load(f, "alice"), 0);
        sed_file(alice, "60100", "60101");
        assert_int_equal(load(f, "alice"), -EBADMSG);
        write_text(alice, text);
        /* unsigned sections may change, but the record must stay valid */
        sed_file(alice, "\"signature\"", "\"status\":{\"" MACHINE_ID "\":{\"x\":1}},\"signature\"");
        assert_int_equal(load(f, "alice"), 0);
        write_text(alice, text);
        free(text);

        /* not a valid record at all */
        write_text(alice, "");
        assert_int_equal(load(f, "alice"), -EBADMSG);
        write_text(alice, "{\"userName\":\"alice\",\"userName\":\"alice\"}");
        assert_int_equal(load(f, "alice"), -EBADMSG);
        write_text(alice, "{\"userName\":\"alice\",\"uid\":\"60100\"}");
        assert_int_equal(load(f, "alice"), -EBADMSG);

        /* unsigned, written by hand */
        text = record_text("alice", "60100", "");
        write_text(alice, text);
        free(text);
        assert_int_equal(load(f, "alice"), -ENOKEY);

        /* larger than 1 MiB, even if the start is a fine record */
        big = malloc(IDENTITY_FILE_MAX + 2);
        assert_non_null(big);
        memset(big, ' ', IDENTITY_FILE_MAX + 1);
        big[IDENTITY_FILE_MAX + 1] = 0;
        text = record_text("alice", "60100", "");
        memcpy(big, text, strlen(text));
        free(text);
        write_text(alice, big);
        free(big);
        assert_int_equal(load(f, "alice"), -EBADMSG);

        /* signed by another machine: refused until its key is trusted */
        p = path_join(f->tmp, "other");
        assert_int_equal(keyring_open(p, true, &other), 0);
        free(p);
        rec = make_record("bob", 60200, "");
        assert_int_equal(keyring_sign(other, rec), 0);
        p = record_file(f, "bob");
        write_text(p, user_record_to_string(rec, USER_RECORD_FORMAT_PRETTY));
        free(p);
        user_record_free(rec);
        rec = NULL;
        assert_int_equal(load(f, "bob"), -ENOKEY);
        p = path_join(f->tmp, "other/local.public");
        q = path_join(f->dir, "other.public");
        text = read_text(p);
        write_text(q, text);
        free(text);
        free(p);
        free(q);
        assert_int_equal(identity_store_open(f->dir, &s2), 0);
        assert_int_equal(identity_store_load(s2, "bob", &rec), 0);
        assert_int_equal(rec->uid, 60200);
        user_record_free(rec);
        identity_store_free(s2);
        keyring_free(other);

        /* a symlink is not followed, a directory is not a record */
        assert_int_equal(unlink(alice), 0);
        p = record_file(f, "bob");
        assert_int_equal(symlink(p, alice), 0);
        free(p);
        assert_true(load(f, "alice") < 0);
        assert_int_equal(unlink(alice), 0);
        assert_int_equal(mkdir(alice, 0700), 0);
        assert_true(load(f, "alice") < 0);
        assert_int_equal(rmdir(alice), 0);
        assert_int_equal(load(f, "alice"), -ENOENT);

        free(alice);
}

static void test_unsigned_before_key(void **state) {
        Fixture *f = *state;
        char *p = record_file(f, "ghost"), *text = record_text("ghost", "60300", "");

        /* A load before any save opens the keyring without a key pair ... */
        assert_int_equal(mkdir(f->dir, 0700), 0);
        write_text(p, text);
        assert_int_equal(load(f, "ghost"), -ENOKEY);

        /* ... and a later save through the same store still gets to sign. */
        save(f, "alice", 60100);
        assert_int_equal(load(f, "alice"), 0);
        assert_int_equal(load(f, "ghost"), -ENOKEY);
        free(text);
        free(p);
}

/* Records from outside the store (a home's image, RegisterHome) pass one
 * check: signed by this machine's or a trusted key, the trusted keys read
 * again once before an unknown signer is refused; and a trusted signer's
 * signature survives a save while nothing signed changed. */
static void test_verify_and_keep(void **state) {
        Fixture *f = *state;
        Keyring *other = NULL;
        UserRecord *rec;
        char *reason = NULL, *p, *q, *text, *mine, *theirs;
        json_object *sig, *key;

        save(f, "alice", 60100);
        p = path_join(f->tmp, "other");
        assert_int_equal(keyring_open(p, true, &other), 0);
        free(p);
        theirs = strdup(keyring_public_pem(other));
        p = path_join(f->dir, "local.public");
        mine = read_text(p);
        free(p);

        /* unsigned: refused, or passed where root vouches for it */
        rec = make_record("bob", 60200, "");
        assert_int_equal(identity_store_verify(f->store, rec, "the test", false, &reason), -ENOKEY);
        assert_string_equal(reason, "home bob: the record in the test is unsigned, refusing");
        free(reason);
        reason = NULL;
        assert_int_equal(identity_store_verify(f->store, rec, "the test", true, &reason), 0);
        assert_null(reason);

        /* an unknown signer, named with what to do */
        assert_int_equal(keyring_sign(other, rec), 0);
        assert_int_equal(identity_store_verify(f->store, rec, "the test", false, &reason), -ENOKEY);
        assert_non_null(strstr(reason, "home bob: the record in the test is signed by an unknown key, refusing"));
        assert_non_null(strstr(reason, ".public"));
        free(reason);
        reason = NULL;
        assert_int_equal(identity_store_verify(f->store, rec, "the test", true, NULL), -ENOKEY);

        /* its key installed while the store is open: trusted at once */
        p = path_join(f->tmp, "other/local.public");
        q = path_join(f->dir, "other.public");
        text = read_text(p);
        write_text(q, text);
        free(text);
        free(p);
        free(q);
        assert_int_equal(identity_store_verify(f->store, rec, "the test", false, NULL), 0);

        /* stored, it keeps its signer's signature; changed, it is ours */
        assert_int_equal(identity_store_save(f->store, rec), 0);
        assert_true(json_object_object_get_ex(rec->json, "signature", &sig));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(sig, 0), "key", &key));
        assert_string_equal(json_object_get_string(key), theirs);
        user_record_free(rec);
        rec = NULL;
        assert_int_equal(identity_store_load(f->store, "bob", &rec), 0);
        assert_int_equal(json_object_object_add(rec->json, "realName", json_object_new_string("Bob")), 0);
        assert_int_equal(user_record_refresh(rec, NULL), 0);
        assert_int_equal(identity_store_verify(f->store, rec, "the test", false, &reason), -EBADMSG);
        assert_string_equal(reason,
                            "home bob: the record in the test: signature does not match (modified after signing), "
                            "refusing");
        free(reason);
        assert_int_equal(identity_store_save(f->store, rec), 0);
        assert_true(json_object_object_get_ex(rec->json, "signature", &sig));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(sig, 0), "key", &key));
        assert_string_equal(json_object_get_string(key), mine);
        user_record_free(rec);

        /* its key withdrawn while the store is open: no longer trusted */
        rec = make_record("carl", 60201, "");
        assert_int_equal(keyring_sign(other, rec), 0);
        assert_int_equal(identity_store_verify(f->store, rec, "the test", false, NULL), 0);
        q = path_join(f->dir, "other.public");
        assert_int_equal(unlink(q), 0);
        free(q);
        assert_int_equal(identity_store_verify(f->store, rec, "the test", false, NULL), -ENOKEY);
        user_record_free(rec);

        keyring_free(other);
        free(mine);
        free(theirs);
}

static void test_list_and_remove(void **state) {
        static const char *const junk[] = {
                ".#hearth.dave.identityAb12Cd", /* write_file_atomic()'s temporary files */
                ".#hearth.erin.identity",
                "notes.txt",
                "frank.identity.bak",
                ".identity",
                "in valid.identity",
                "9lives.identity",
        };
        Fixture *f = *state;
        char **names = NULL;

        /* no directory yet: an empty list */
        assert_int_equal(identity_store_list(f->store, &names), 0);
        assert_non_null(names);
        assert_null(names[0]);
        strv_free(names);

        save(f, "carol", 60103);
        save(f, "alice", 60101);
        save(f, "Bob", 60104);
        save(f, "bob", 60102);
        for (size_t i = 0; i < ELEMENTSOF(junk); i++) {
                char *p = path_join(f->dir, junk[i]);
                write_text(p, "{}");
                free(p);
        }
        assert_true(is_atomic_temp_name(junk[0]));
        assert_true(is_atomic_temp_name(junk[1]));

        /* sorted by byte value */
        assert_list(f, "Bob|alice|bob|carol");

        assert_int_equal(identity_store_remove(f->store, "bob"), 0);
        assert_int_equal(identity_store_remove(f->store, "bob"), -ENOENT);
        assert_int_equal(load(f, "bob"), -ENOENT);
        assert_int_equal(identity_store_remove(f->store, "nobody-here"), -ENOENT);
        assert_list(f, "Bob|alice|carol");
        assert_int_equal(load(f, "Bob"), 0);
        assert_int_equal(identity_store_remove(f->store, "Bob"), 0);
        assert_int_equal(identity_store_remove(f->store, "alice"), 0);
        assert_int_equal(identity_store_remove(f->store, "carol"), 0);
        assert_list(f, "");
}

static bool never_taken(uid_t uid, void *userdata) {
        (void) uid;
        (void) userdata;
        return false;
}

static void test_allocate_uid(void **state) {
        Fixture *f = *state;
        char name[16], holder[4][16], *p, *text, uid_json[32];
        uid_t first = 0, again = 0, expected = 0, u2 = 0, u3 = 0, u4 = 0, u5 = 0;
        IdentityStore *s2 = NULL;

        random_name(name, sizeof name);
        for (size_t i = 0; i < ELEMENTSOF(holder); i++)
                random_name(holder[i], sizeof holder[i]);

        /* The first choice is derived from the name alone. */
        assert_int_equal(identity_store_allocate_uid(f->store, name, &first), 0);
        assert_true(valid_home_uid(first));
        assert_int_equal(identity_store_allocate_uid(f->store, name, &again), 0);
        assert_int_equal(first, again);
        assert_int_equal(uid_alloc(name, never_taken, NULL, &expected), 0);
        if (!uid_taken_nss(expected))
                assert_int_equal(first, expected);
        p = path_join(f->tmp, "elsewhere");
        assert_int_equal(identity_store_open(p, &s2), 0);
        free(p);
        assert_int_equal(identity_store_allocate_uid(s2, name, &again), 0);
        assert_int_equal(first, again);
        identity_store_free(s2);

        /* A UID held by a saved record is skipped. */
        save(f, holder[0], first);
        assert_int_equal(identity_store_allocate_uid(f->store, name, &u2), 0);
        assert_true(valid_home_uid(u2));
        assert_int_not_equal(u2, first);

        save(f, holder[1], u2);
        assert_int_equal(identity_store_allocate_uid(f->store, name, &u3), 0);
        assert_true(valid_home_uid(u3));
        assert_true(u3 != first && u3 != u2);

        /* So is one held by a record that does not verify (unsigned). */
        snprintf(uid_json, sizeof uid_json, "%u", (unsigned) u3);
        text = record_text(holder[2], uid_json, "");
        p = record_file(f, holder[2]);
        write_text(p, text);
        free(p);
        free(text);
        assert_int_equal(load(f, holder[2]), -ENOKEY);
        assert_int_equal(identity_store_allocate_uid(f->store, name, &u4), 0);
        assert_true(valid_home_uid(u4));
        assert_true(u4 != first && u4 != u2 && u4 != u3);

        /* and a GID held by a record */
        snprintf(uid_json, sizeof uid_json, "%u,\"gid\":%u",
                 (unsigned) (u4 == HOME_UID_MIN ? HOME_UID_MAX : HOME_UID_MIN), (unsigned) u4);
        text = record_text(holder[3], uid_json, "");
        p = record_file(f, holder[3]);
        write_text(p, text);
        free(p);
        free(text);
        assert_int_equal(identity_store_allocate_uid(f->store, name, &u5), 0);
        assert_true(valid_home_uid(u5));
        assert_true(u5 != first && u5 != u2 && u5 != u3 && u5 != u4);

        /* Removing the first holder frees its UID again. */
        assert_int_equal(identity_store_remove(f->store, holder[0]), 0);
        assert_int_equal(identity_store_allocate_uid(f->store, name, &again), 0);
        assert_int_equal(again, first);
}

static void test_name_taken(void **state) {
        Fixture *f = *state;
        char name[16], other[16];

        random_name(name, sizeof name);
        random_name(other, sizeof other);
        assert_string_not_equal(name, other);

        assert_true(identity_store_name_taken(f->store, "root"));
        assert_false(identity_store_name_taken(f->store, name));
        save(f, name, 60123);
        assert_true(identity_store_name_taken(f->store, name));
        assert_false(identity_store_name_taken(f->store, other));
        /* invalid names are never free */
        assert_true(identity_store_name_taken(f->store, "../etc"));
        assert_true(identity_store_name_taken(f->store, ""));

        assert_int_equal(identity_store_remove(f->store, name), 0);
        assert_false(identity_store_name_taken(f->store, name));
}

static void test_state_dir_env(void **state) {
        Fixture *f = *state;
        IdentityStore *s = NULL;
        UserRecord *rec = NULL;
        char *envdir = path_join(f->tmp, "from-env"), *p;
        struct stat st;

        assert_int_equal(setenv("HEARTH_STATE_DIR", envdir, 1), 0);
        assert_string_equal(identity_store_default_dir(), envdir);
        assert_int_equal(identity_store_open(NULL, &s), 0);
        assert_string_equal(identity_store_dir(s), envdir);

        rec = make_record("alice", 60100, "");
        assert_int_equal(identity_store_save(s, rec), 0);
        user_record_free(rec);
        rec = NULL;
        p = path_join(envdir, "alice.identity");
        assert_int_equal(lstat(p, &st), 0);
        free(p);
        p = path_join(envdir, "local.private");
        assert_int_equal(lstat(p, &st), 0);
        free(p);
        assert_int_equal(identity_store_load(s, "alice", &rec), 0);
        user_record_free(rec);
        identity_store_free(s);

        /* An explicit directory wins over the environment. */
        assert_string_equal(identity_store_dir(f->store), f->dir);
        assert_int_equal(load(f, "alice"), -ENOENT);

        /* Relative or empty values are ignored. */
        assert_int_equal(setenv("HEARTH_STATE_DIR", "relative/dir", 1), 0);
        assert_string_equal(identity_store_default_dir(), HEARTH_STATE_DIR);
        assert_int_equal(setenv("HEARTH_STATE_DIR", "", 1), 0);
        assert_string_equal(identity_store_default_dir(), HEARTH_STATE_DIR);
        assert_int_equal(unsetenv("HEARTH_STATE_DIR"), 0);
        assert_string_equal(identity_store_default_dir(), HEARTH_STATE_DIR);
        assert_int_equal(identity_store_open(NULL, &s), 0);
        assert_string_equal(identity_store_dir(s), HEARTH_STATE_DIR);
        identity_store_free(s);

        free(envdir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_save_and_load, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_save_refuses_uid, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_load_errors, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_unsigned_before_key, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_verify_and_keep, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_list_and_remove, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_allocate_uid, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_name_taken, setup_store, teardown_store),
                cmocka_unit_test_setup_teardown(test_state_dir_env, setup_store, teardown_store),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
