/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fileio.h"
#include "json-strict.h"
#include "macro.h"
#include "sign.h"
#include "user-record.h"

#define MACHINE_ID "0123456789abcdef0123456789abcdef"
#define OTHER_MACHINE_ID "fedcba9876543210fedcba9876543210"

/* One record with every kind of section that is signed: known fields,
 * an unknown field with nested values, privileged and perMachine. */
static const char record_text[] =
        "{\"userName\":\"alice\",\"realName\":\"Alice Liddell\",\"uid\":60100,\"gid\":60100,"
        "\"homeDirectory\":\"/home/alice\",\"storage\":\"directory\",\"disposition\":\"regular\","
        "\"diskSize\":1073741824,\"futureBig\":18446744073709551615,\"futureNeg\":-9223372036854775808,"
        "\"futureField\":{\"nested\":[1,-2,\"three\",{\"z\":true,\"a\":null}]},"
        "\"privileged\":{\"hashedPassword\":[\"$6$salt$hash\"],\"futurePrivileged\":\"x\"},"
        "\"perMachine\":[{\"matchHostname\":\"elsewhere\",\"shell\":\"/bin/zsh\"}]}";

/* The same record, every object's keys in another order. */
static const char record_text_reordered[] =
        "{\"perMachine\":[{\"shell\":\"/bin/zsh\",\"matchHostname\":\"elsewhere\"}],"
        "\"privileged\":{\"futurePrivileged\":\"x\",\"hashedPassword\":[\"$6$salt$hash\"]},"
        "\"futureField\":{\"nested\":[1,-2,\"three\",{\"a\":null,\"z\":true}]},"
        "\"futureNeg\":-9223372036854775808,\"diskSize\":1073741824,\"futureBig\":18446744073709551615,"
        "\"disposition\":\"regular\",\"storage\":\"directory\",\"homeDirectory\":\"/home/alice\","
        "\"gid\":60100,\"uid\":60100,\"realName\":\"Alice Liddell\",\"userName\":\"alice\"}";

/* ---- fixture: one temporary directory per test ------------------------- */

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

static int setup_tmpdir(void **state) {
        char *dir = strdup("/tmp/hearth-test-sign.XXXXXX");

        if (!dir || !mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        user_record_set_machine(MACHINE_ID, "testhost");
        *state = dir;
        return 0;
}

static int teardown_tmpdir(void **state) {
        char *dir = *state;
        int r = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

        free(dir);
        user_record_set_machine(NULL, NULL);
        return r == 0 ? 0 : -1;
}

/* ---- helpers ---------------------------------------------------------- */

static char *path_join(const char *dir, const char *name) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static UserRecord *parse_record(const char *text) {
        UserRecord *rec = NULL;
        char *error = NULL;
        int r = user_record_parse(text, strlen(text), &rec, &error);
        if (r != 0)
                fail_msg("record refused (%d): %s", r, error ?: "(no message)");
        assert_null(error);
        return rec;
}

static UserRecord *copy_record(UserRecord *rec) {
        return parse_record(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT));
}

static Keyring *open_keyring(const char *dir, const char *sub, bool create) {
        Keyring *kr = NULL;
        char *p = path_join(dir, sub);
        assert_int_equal(keyring_open(p, create, &kr), 0);
        assert_non_null(kr);
        free(p);
        return kr;
}

static SignatureStatus verify(Keyring *kr, const UserRecord *rec) {
        SignatureStatus s = (SignatureStatus) -1;
        assert_int_equal(keyring_verify(kr, rec, &s), 0);
        return s;
}

static void assert_status(Keyring *kr, const UserRecord *rec, SignatureStatus expected) {
        SignatureStatus s = verify(kr, rec);
        if (s != expected)
                fail_msg("signature status: got \"%s\", expected \"%s\"", signature_status_to_string(s),
                         signature_status_to_string(expected));
}

static char *read_text(const char *path) {
        char *text = NULL;
        int r = read_file_bounded(path, 65536, &text, NULL);
        if (r != 0)
                fail_msg("%s: cannot read: %s", path, strerror(-r));
        return text;
}

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        /* whatever the umask: only its owner may write it (a trusted key must be so) */
        assert_int_equal(chmod(path, 0644), 0);
}

/* Sets (value != NULL) or deletes the member at a dotted path, then
 * re-derives the typed view, which must stay valid. */
static void edit_record(UserRecord *rec, const char *dotted, const char *value_json) {
        char *path = strdup(dotted), *key = path, *dot;
        json_object *parent = rec->json;
        char *error = NULL;

        assert_non_null(path);
        while ((dot = strchr(key, '.'))) {
                *dot = 0;
                assert_true(json_object_object_get_ex(parent, key, &parent));
                key = dot + 1;
        }
        if (value_json) {
                json_object *v = json_tokener_parse(value_json);
                assert_non_null(v);
                assert_int_equal(json_object_object_add(parent, key, v), 0);
        } else {
                assert_true(json_object_object_get_ex(parent, key, NULL));
                json_object_object_del(parent, key);
        }
        free(path);
        if (user_record_refresh(rec, &error) != 0)
                fail_msg("edit of %s made the record invalid: %s", dotted, error ?: "?");
}

static json_object *signature_entry(UserRecord *rec, size_t i) {
        json_object *array;
        assert_true(json_object_object_get_ex(rec->json, "signature", &array));
        assert_true(json_object_is_type(array, json_type_array));
        assert_true(i < json_object_array_length(array));
        return json_object_array_get_idx(array, i);
}

static const char *signature_field(UserRecord *rec, const char *field) {
        json_object *v;
        assert_true(json_object_object_get_ex(signature_entry(rec, 0), field, &v));
        assert_true(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

static void set_signature_field(UserRecord *rec, const char *field, const char *value) {
        char *error = NULL;
        assert_int_equal(json_object_object_add(signature_entry(rec, 0), field, json_object_new_string(value)), 0);
        if (user_record_refresh(rec, &error) != 0)
                fail_msg("refresh after editing signature.%s: %s", field, error ?: "?");
}

static UserRecord *signed_record(Keyring *kr, const char *text) {
        UserRecord *rec = parse_record(text);
        assert_int_equal(keyring_sign(kr, rec), 0);
        return rec;
}

static char *public_pem_of(EVP_PKEY *k) {
        BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long n;
        char *ret;

        assert_non_null(b);
        assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
        n = BIO_get_mem_data(b, &data);
        assert_true(n > 0);
        /* not strndup(): the BIO's buffer has no NUL to stop at */
        ret = malloc((size_t) n + 1);
        assert_non_null(ret);
        memcpy(ret, data, (size_t) n);
        ret[n] = 0;
        BIO_free(b);
        return ret;
}

/* ---- keyring ---------------------------------------------------------- */

static void test_keyring_create_and_reload(void **state) {
        const char *dir = *state;
        char *statedir = path_join(dir, "var/lib/hearth");
        char *priv = path_join(statedir, "local.private"), *pub = path_join(statedir, "local.public");
        Keyring *kr = NULL;
        char *first, *text;
        struct stat st;

        /* Missing parents are created, the state directory itself 0700. */
        assert_int_equal(keyring_open(statedir, true, &kr), 0);
        assert_int_equal(stat(statedir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(lstat(priv, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(lstat(pub, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0644);

        assert_non_null(keyring_public_pem(kr));
        first = strdup(keyring_public_pem(kr));
        assert_non_null(first);
        assert_non_null(strstr(first, "-----BEGIN PUBLIC KEY-----"));
        text = read_text(pub);
        assert_string_equal(text, first);
        free(text);
        text = read_text(priv);
        assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----"));
        free(text);
        keyring_free(kr);

        /* A second open, with or without create, loads the same key. */
        assert_int_equal(keyring_open(statedir, true, &kr), 0);
        assert_string_equal(keyring_public_pem(kr), first);
        keyring_free(kr);
        assert_int_equal(keyring_open(statedir, false, &kr), 0);
        assert_string_equal(keyring_public_pem(kr), first);

        /* A lost or damaged local.public is derived again from the private
         * key, by an open that may write (create); a read-only open writes
         * nothing but still knows the public key. */
        keyring_free(kr);
        assert_int_equal(unlink(pub), 0);
        assert_int_equal(keyring_open(statedir, false, &kr), 0);
        assert_string_equal(keyring_public_pem(kr), first);
        assert_int_equal(access(pub, F_OK), -1);
        keyring_free(kr);
        assert_int_equal(keyring_open(statedir, true, &kr), 0);
        assert_string_equal(keyring_public_pem(kr), first);
        text = read_text(pub);
        assert_string_equal(text, first);
        free(text);
        keyring_free(kr);
        write_text(pub, "garbage\n");
        assert_int_equal(keyring_open(statedir, true, &kr), 0);
        assert_string_equal(keyring_public_pem(kr), first);
        text = read_text(pub);
        assert_string_equal(text, first);
        free(text);
        keyring_free(kr);

        free(first);
        free(priv);
        free(pub);
        free(statedir);
}

static void test_keyring_without_key(void **state) {
        const char *dir = *state;
        Keyring *empty, *missing, *other;
        UserRecord *rec;
        char *p;
        struct stat st;

        /* An existing directory without a key pair ... */
        p = path_join(dir, "empty");
        assert_int_equal(mkdir(p, 0700), 0);
        free(p);
        empty = open_keyring(dir, "empty", false);
        assert_null(keyring_public_pem(empty));
        p = path_join(dir, "empty/local.private");
        assert_int_equal(lstat(p, &st), -1);
        assert_int_equal(errno, ENOENT);
        free(p);

        /* ... or no directory at all, which a read-only open does not create. */
        missing = open_keyring(dir, "missing", false);
        assert_null(keyring_public_pem(missing));
        p = path_join(dir, "missing");
        assert_int_equal(lstat(p, &st), -1);
        assert_int_equal(errno, ENOENT);
        free(p);

        rec = parse_record(record_text);
        assert_int_equal(keyring_sign(empty, rec), -ENOKEY);
        assert_int_equal(keyring_sign(missing, rec), -ENOKEY);
        assert_false(rec->has_sections & USER_RECORD_SIGNATURE);
        assert_false(json_object_object_get_ex(rec->json, "signature", NULL));
        assert_status(empty, rec, SIGNATURE_UNSIGNED);
        user_record_free(rec);

        /* Nothing is trusted: a good signature by another key is not. */
        other = open_keyring(dir, "other", true);
        rec = signed_record(other, record_text);
        assert_status(other, rec, SIGNATURE_LOCAL);
        assert_status(empty, rec, SIGNATURE_UNTRUSTED);
        assert_status(missing, rec, SIGNATURE_UNTRUSTED);
        user_record_free(rec);

        keyring_free(other);
        keyring_free(missing);
        keyring_free(empty);
}

static void test_keyring_bad_private_key(void **state) {
        const char *dir = *state;
        char *statedir = path_join(dir, "bad"), *priv = path_join(statedir, "local.private");
        Keyring *kr = NULL;
        EVP_PKEY *ec;
        BIO *b;
        char *data;
        long n;

        assert_int_equal(mkdir(statedir, 0700), 0);
        write_text(priv, "not a key\n");
        assert_int_equal(keyring_open(statedir, true, &kr), -EBADMSG);
        assert_int_equal(keyring_open(statedir, false, &kr), -EBADMSG);

        /* A private key of another type is refused too. */
        ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_non_null(ec);
        b = BIO_new(BIO_s_mem());
        assert_non_null(b);
        assert_int_equal(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
        n = BIO_get_mem_data(b, &data);
        assert_int_equal(write_file_atomic(priv, data, (size_t) n, 0600, 0), 0);
        assert_int_equal(keyring_open(statedir, true, &kr), -EBADMSG);
        BIO_free(b);
        EVP_PKEY_free(ec);

        free(priv);
        free(statedir);
}

/* ---- signing and verifying -------------------------------------------- */

static void test_sign_verify_local(void **state) {
        const char *dir = *state;
        Keyring *kr = open_keyring(dir, "a", true);
        UserRecord *rec = parse_record(record_text), *copy;
        json_object *array;
        const char *data;

        assert_status(kr, rec, SIGNATURE_UNSIGNED);
        assert_int_equal(keyring_sign(kr, rec), 0);
        assert_true(rec->has_sections & USER_RECORD_SIGNATURE);
        assert_status(kr, rec, SIGNATURE_LOCAL);

        /* "signature": [ { "data": <88 chars of base64>, "key": <PEM> } ] */
        assert_true(json_object_object_get_ex(rec->json, "signature", &array));
        assert_int_equal(json_object_array_length(array), 1);
        assert_int_equal(json_object_object_length(signature_entry(rec, 0)), 2);
        data = signature_field(rec, "data");
        assert_int_equal(strlen(data), 88);
        assert_int_equal(strspn(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"), 86);
        assert_string_equal(data + 86, "==");
        assert_string_equal(signature_field(rec, "key"), keyring_public_pem(kr));

        /* Signing again replaces the signature instead of adding one;
         * Ed25519 is deterministic, so it is the same one. */
        copy = copy_record(rec);
        assert_int_equal(keyring_sign(kr, copy), 0);
        assert_true(json_object_object_get_ex(copy->json, "signature", &array));
        assert_int_equal(json_object_array_length(array), 1);
        assert_string_equal(signature_field(copy, "data"), signature_field(rec, "data"));
        user_record_free(copy);

        /* The signature survives serialization, pretty or short. */
        copy = parse_record(user_record_to_string(rec, USER_RECORD_FORMAT_PRETTY));
        assert_status(kr, copy, SIGNATURE_LOCAL);
        user_record_free(copy);
        copy = copy_record(rec);
        assert_status(kr, copy, SIGNATURE_LOCAL);
        user_record_free(copy);

        user_record_free(rec);
        keyring_free(kr);
}

static void test_modifications(void **state) {
        static const struct {
                const char *path;
                const char *value; /* NULL: delete */
                SignatureStatus expected;
        } edits[] = {
                /* signed: everything but binding, status, signature, secret */
                { "realName", "\"Mallory\"", SIGNATURE_BAD },
                { "realName", NULL, SIGNATURE_BAD },
                { "realName", "\"Alice Liddell \"", SIGNATURE_BAD },
                { "uid", "60101", SIGNATURE_BAD },
                { "gid", "0", SIGNATURE_BAD },
                { "diskSize", "2147483648", SIGNATURE_BAD },
                { "futureBig", "18446744073709551614", SIGNATURE_BAD },
                { "futureNeg", "-9223372036854775807", SIGNATURE_BAD },
                { "homeDirectory", "\"/root\"", SIGNATURE_BAD },
                { "shell", "\"/bin/sh\"", SIGNATURE_BAD }, /* a new field */
                { "futureField.nested", "[1,-2,\"three\",{\"z\":true,\"a\":null},5]", SIGNATURE_BAD },
                { "futureField.nested", "[1,-2,\"three\",{\"z\":false,\"a\":null}]", SIGNATURE_BAD },
                { "futureField.other", "1", SIGNATURE_BAD },
                { "anotherUnknown", "{}", SIGNATURE_BAD },
                { "privileged.hashedPassword", "[\"$6$salt$other\"]", SIGNATURE_BAD },
                { "privileged.futurePrivileged", "\"y\"", SIGNATURE_BAD },
                { "privileged", NULL, SIGNATURE_BAD },
                { "perMachine", "[{\"matchHostname\":\"elsewhere\",\"shell\":\"/bin/bash\"}]", SIGNATURE_BAD },
                { "perMachine", "[{\"matchHostname\":\"testhost\",\"shell\":\"/bin/zsh\"}]", SIGNATURE_BAD },
                /* not signed */
                { "binding", "{\"" OTHER_MACHINE_ID "\":{\"uid\":60200,\"gid\":60200}}", SIGNATURE_LOCAL },
                { "binding", "{\"" MACHINE_ID "\":{\"homeDirectory\":\"/home/alice2\"}}", SIGNATURE_LOCAL },
                { "status", "{\"" MACHINE_ID "\":{\"state\":\"active\",\"diskUsage\":1234}}", SIGNATURE_LOCAL },
                { "secret", "{\"password\":[\"hunter2\"]}", SIGNATURE_LOCAL },
                { "signature", NULL, SIGNATURE_UNSIGNED },
                { "signature", "[]", SIGNATURE_UNSIGNED },
        };
        const char *dir = *state;
        Keyring *kr = open_keyring(dir, "a", true);
        UserRecord *rec = signed_record(kr, record_text);
        char *text = strdup(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT));

        assert_non_null(text);
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                UserRecord *copy = parse_record(text);
                SignatureStatus s;

                assert_status(kr, copy, SIGNATURE_LOCAL);
                edit_record(copy, edits[i].path, edits[i].value);
                s = verify(kr, copy);
                if (s != edits[i].expected)
                        fail_msg("after setting %s to %s: got \"%s\", expected \"%s\"", edits[i].path,
                                 edits[i].value ?: "(deleted)", signature_status_to_string(s),
                                 signature_status_to_string(edits[i].expected));

                /* The unsigned sections may change; the signed ones still may not. */
                if (edits[i].expected == SIGNATURE_LOCAL) {
                        edit_record(copy, "realName", "\"Mallory\"");
                        assert_status(kr, copy, SIGNATURE_BAD);
                }
                user_record_free(copy);
        }

        free(text);
        user_record_free(rec);
        keyring_free(kr);
}

static void test_key_order(void **state) {
        const char *dir = *state;
        Keyring *kr = open_keyring(dir, "a", true);
        UserRecord *rec = signed_record(kr, record_text);
        UserRecord *reordered = parse_record(record_text_reordered);
        char *c1 = NULL, *c2 = NULL;
        json_object *sig;

        /* Different text, same canonical form. */
        assert_string_not_equal(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT),
                                user_record_to_string(reordered, USER_RECORD_FORMAT_SHORT));
        json_object_object_del(rec->json, "signature");
        assert_int_equal(json_format_canonical(rec->json, &c1, NULL), 0);
        assert_int_equal(json_format_canonical(reordered->json, &c2, NULL), 0);
        assert_string_equal(c1, c2);
        free(c1);
        free(c2);
        user_record_free(rec);

        /* A signature made over one order verifies over the other. */
        rec = signed_record(kr, record_text);
        assert_true(json_object_object_get_ex(rec->json, "signature", &sig));
        assert_int_equal(json_object_object_add(reordered->json, "signature", json_object_get(sig)), 0);
        assert_int_equal(user_record_refresh(reordered, NULL), 0);
        assert_status(kr, reordered, SIGNATURE_LOCAL);

        /* and the other way round */
        user_record_free(rec);
        user_record_free(reordered);
        reordered = signed_record(kr, record_text_reordered);
        rec = parse_record(record_text);
        assert_true(json_object_object_get_ex(reordered->json, "signature", &sig));
        assert_int_equal(json_object_object_add(rec->json, "signature", json_object_get(sig)), 0);
        assert_int_equal(user_record_refresh(rec, NULL), 0);
        assert_status(kr, rec, SIGNATURE_LOCAL);

        user_record_free(rec);
        user_record_free(reordered);
        keyring_free(kr);
}

static void copy_file(const char *from, const char *to) {
        char *text = read_text(from);
        write_text(to, text);
        free(text);
}

static void test_trust(void **state) {
        const char *dir = *state;
        Keyring *a = open_keyring(dir, "a", true), *b = open_keyring(dir, "b", true), *c;
        UserRecord *rec = signed_record(a, record_text), *both;
        char *from = path_join(dir, "a/local.public"), *to;
        json_object *array;

        assert_status(a, rec, SIGNATURE_LOCAL);
        assert_status(b, rec, SIGNATURE_UNTRUSTED);

        /* Trust is only read when the keyring is opened. */
        to = path_join(dir, "b/a.public");
        copy_file(from, to);
        assert_status(b, rec, SIGNATURE_UNTRUSTED);
        keyring_free(b);
        b = open_keyring(dir, "b", false);
        assert_status(b, rec, SIGNATURE_TRUSTED);
        free(to);

        /* A keyring without a key pair trusts NAME.public files all the same;
         * unreadable ones and temporary files are ignored. */
        to = path_join(dir, "c");
        assert_int_equal(mkdir(to, 0700), 0);
        free(to);
        to = path_join(dir, "c/.#hearth.a.public");
        copy_file(from, to);
        free(to);
        to = path_join(dir, "c/junk.public");
        write_text(to, "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n");
        free(to);
        to = path_join(dir, "c/a.public.disabled");
        copy_file(from, to);
        free(to);
        c = open_keyring(dir, "c", false);
        assert_null(keyring_public_pem(c));
        assert_status(c, rec, SIGNATURE_UNTRUSTED);
        keyring_free(c);
        to = path_join(dir, "c/a.public");
        copy_file(from, to);
        free(to);
        c = open_keyring(dir, "c", false);
        assert_status(c, rec, SIGNATURE_TRUSTED);
        keyring_free(c);

        /* Signed by both A and B: each keyring reports its best signature. */
        both = signed_record(b, record_text);
        assert_true(json_object_object_get_ex(both->json, "signature", &array));
        assert_int_equal(json_object_array_add(array, json_object_get(signature_entry(rec, 0))), 0);
        assert_int_equal(user_record_refresh(both, NULL), 0);
        assert_status(a, both, SIGNATURE_LOCAL);
        assert_status(b, both, SIGNATURE_LOCAL);
        c = open_keyring(dir, "d", true);
        assert_status(c, both, SIGNATURE_UNTRUSTED);
        keyring_free(c);

        /* but one bad signature among good ones spoils the record */
        edit_record(both, "realName", "\"Alice\"");
        assert_status(a, both, SIGNATURE_BAD);
        user_record_free(both);

        free(from);
        user_record_free(rec);
        keyring_free(a);
        keyring_free(b);
}

/* A trusted key counts only as a regular file that no one but its owner
 * (root, or the user running the tests) may write, as homed requires. */
static void test_trusted_key_files(void **state) {
        const char *dir = *state;
        Keyring *a = open_keyring(dir, "a", true), *b;
        UserRecord *rec = signed_record(a, record_text);
        char *from = path_join(dir, "a/local.public"), *to = path_join(dir, "b/a.public");

        keyring_free(open_keyring(dir, "b", true));
        copy_file(from, to);
        assert_int_equal(chmod(to, 0664), 0);
        b = open_keyring(dir, "b", false);
        assert_status(b, rec, SIGNATURE_UNTRUSTED);
        keyring_free(b);
        assert_int_equal(chmod(to, 0646), 0);
        b = open_keyring(dir, "b", false);
        assert_status(b, rec, SIGNATURE_UNTRUSTED);
        keyring_free(b);
        if (geteuid() == 0) {
                assert_int_equal(chmod(to, 0644), 0);
                assert_int_equal(chown(to, 60123, 60123), 0);
                b = open_keyring(dir, "b", false);
                assert_status(b, rec, SIGNATURE_UNTRUSTED);
                keyring_free(b);
                assert_int_equal(chown(to, 0, 0), 0);
        }
        /* nor through a symlink */
        assert_int_equal(unlink(to), 0);
        assert_int_equal(symlink(from, to), 0);
        b = open_keyring(dir, "b", false);
        assert_status(b, rec, SIGNATURE_UNTRUSTED);
        keyring_free(b);
        assert_int_equal(unlink(to), 0);
        copy_file(from, to);
        b = open_keyring(dir, "b", false);
        assert_status(b, rec, SIGNATURE_TRUSTED);
        keyring_free(b);

        free(from);
        free(to);
        user_record_free(rec);
        keyring_free(a);
}

/* keyring_ensure_signed(): a signature by this machine's or a trusted key
 * stays; anything else is replaced by this machine's. */
static void test_ensure_signed(void **state) {
        const char *dir = *state;
        Keyring *a = open_keyring(dir, "a", true), *b = open_keyring(dir, "b", true), *c = open_keyring(dir, "c", true);
        char *from = path_join(dir, "a/local.public"), *to = path_join(dir, "b/a.public");
        UserRecord *rec;

        copy_file(from, to);
        keyring_free(b);
        b = open_keyring(dir, "b", false);

        rec = signed_record(a, record_text); /* A's, trusted by B */
        char *before = strdup(signature_field(rec, "data"));
        assert_int_equal(keyring_ensure_signed(b, rec), 0);
        assert_string_equal(signature_field(rec, "data"), before);
        assert_string_equal(signature_field(rec, "key"), keyring_public_pem(a));
        assert_status(b, rec, SIGNATURE_TRUSTED);
        /* the binding is not signed: it may change, the signature stays */
        edit_record(rec, "binding", "{\"" MACHINE_ID "\":{\"uid\":60111,\"gid\":60111}}");
        assert_int_equal(keyring_ensure_signed(b, rec), 0);
        assert_string_equal(signature_field(rec, "data"), before);
        free(before);
        /* changed: signed by B */
        edit_record(rec, "realName", "\"Alice\"");
        assert_int_equal(keyring_ensure_signed(b, rec), 0);
        assert_string_equal(signature_field(rec, "key"), keyring_public_pem(b));
        assert_status(b, rec, SIGNATURE_LOCAL);
        user_record_free(rec);

        /* an unknown signer's is replaced, and so is none */
        rec = signed_record(c, record_text);
        assert_int_equal(keyring_ensure_signed(b, rec), 0);
        assert_string_equal(signature_field(rec, "key"), keyring_public_pem(b));
        user_record_free(rec);
        rec = parse_record(record_text);
        assert_int_equal(keyring_ensure_signed(b, rec), 0);
        assert_status(b, rec, SIGNATURE_LOCAL);
        user_record_free(rec);

        free(from);
        free(to);
        keyring_free(a);
        keyring_free(b);
        keyring_free(c);
}

static void test_bad_signatures(void **state) {
        const char *dir = *state;
        Keyring *a = open_keyring(dir, "a", true), *b = open_keyring(dir, "b", true);
        UserRecord *rec = signed_record(a, record_text);
        char *text = strdup(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT));
        char *good_data = strdup(signature_field(rec, "data"));
        char data[89];
        EVP_PKEY *k;
        char *pem;
        UserRecord *r;

        assert_non_null(text);
        assert_non_null(good_data);

        static const char *const bad_data[] = {
                "",
                "AAAA",
                "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_data); i++) {
                r = parse_record(text);
                set_signature_field(r, "data", bad_data[i]);
                assert_status(a, r, SIGNATURE_BAD);
                user_record_free(r);
        }

        /* Variations of the good signature: one character changed, other
         * padding, leading white space, and the unused bits of the last
         * character set. */
        for (int v = 0; v < 5; v++) {
                memcpy(data, good_data, sizeof data);
                switch (v) {
                case 0:
                        data[10] = data[10] == 'A' ? 'B' : 'A';
                        break;
                case 1:
                        memcpy(data + 86, "AA", 2);
                        break;
                case 2:
                        memcpy(data + 86, "A=", 2);
                        break;
                case 3:
                        memmove(data + 1, data, 87);
                        data[0] = ' ';
                        break;
                case 4: {
                        /* Character 86 holds 2 bits of the signature and 4
                         * unused bits: set one of the unused ones. */
                        static const char alphabet[] =
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                        const char *p = strchr(alphabet, data[85]);
                        assert_non_null(p);
                        assert_int_equal((p - alphabet) & 0x0f, 0);
                        data[85] = alphabet[(p - alphabet) | 1];
                        break;
                }
                }
                r = parse_record(text);
                set_signature_field(r, "data", data);
                if (verify(a, r) != SIGNATURE_BAD)
                        fail_msg("variation %d of the signature (\"%s\") accepted", v, data);
                user_record_free(r);
        }

        /* '=' in place of an 'A' (base64 decoders may read both as 0): find
         * a record whose signature has an 'A' to replace. */
        for (unsigned i = 0;; i++) {
                char name[32];
                char *p;

                assert_true(i < 64);
                snprintf(name, sizeof name, "\"Alice %u\"", i);
                r = parse_record(text);
                edit_record(r, "realName", name);
                assert_int_equal(keyring_sign(a, r), 0);
                assert_status(a, r, SIGNATURE_LOCAL);
                memcpy(data, signature_field(r, "data"), sizeof data);
                p = memchr(data, 'A', 84);
                if (!p) {
                        user_record_free(r);
                        continue;
                }
                *p = '=';
                set_signature_field(r, "data", data);
                if (verify(a, r) != SIGNATURE_BAD)
                        fail_msg("signature with '=' for 'A' (\"%s\") accepted", data);
                user_record_free(r);
                break;
        }

        /* Keys that are not Ed25519 public keys in PEM form. */
        r = parse_record(text);
        set_signature_field(r, "key", "hello");
        assert_status(a, r, SIGNATURE_BAD);
        user_record_free(r);
        r = parse_record(text);
        set_signature_field(r, "key", "");
        assert_status(a, r, SIGNATURE_BAD);
        user_record_free(r);

        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
        assert_non_null(k);
        pem = public_pem_of(k);
        r = parse_record(text);
        set_signature_field(r, "key", pem);
        assert_status(a, r, SIGNATURE_BAD);
        user_record_free(r);
        free(pem);
        EVP_PKEY_free(k);

        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_non_null(k);
        pem = public_pem_of(k);
        r = parse_record(text);
        set_signature_field(r, "key", pem);
        assert_status(a, r, SIGNATURE_BAD);
        user_record_free(r);
        free(pem);
        EVP_PKEY_free(k);

        /* A's signature claimed to be by B (whom A does not trust, and
         * whom B does): it does not match B's key. */
        r = parse_record(text);
        set_signature_field(r, "key", keyring_public_pem(b));
        assert_status(a, r, SIGNATURE_BAD);
        assert_status(b, r, SIGNATURE_BAD);
        user_record_free(r);

        /* B's signature over another record, pasted onto this one. */
        {
                UserRecord *other = signed_record(b, "{\"userName\":\"bob\",\"uid\":60101}");
                r = parse_record(text);
                set_signature_field(r, "data", signature_field(other, "data"));
                set_signature_field(r, "key", signature_field(other, "key"));
                assert_status(b, r, SIGNATURE_BAD);
                user_record_free(r);
                user_record_free(other);
        }

        /* Untouched, it is still fine. */
        r = parse_record(text);
        assert_status(a, r, SIGNATURE_LOCAL);
        user_record_free(r);

        free(good_data);
        free(text);
        user_record_free(rec);
        keyring_free(a);
        keyring_free(b);
}

static void test_status_strings(void **state) {
        (void) state;
        assert_string_equal(signature_status_to_string(SIGNATURE_UNSIGNED), "unsigned");
        assert_string_equal(signature_status_to_string(SIGNATURE_LOCAL), "signed by this machine");
        assert_string_equal(signature_status_to_string((SignatureStatus) 42), "?");
        assert_string_equal(signature_status_to_string((SignatureStatus) -1), "?");
}

/* ---- canonical JSON --------------------------------------------------- */

static void assert_canonical(json_object *j, const char *expected) {
        char *s = NULL;
        size_t len = 0;

        assert_int_equal(json_format_canonical(j, &s, &len), 0);
        assert_non_null(s);
        assert_int_equal(len, strlen(s));
        if (strcmp(s, expected) != 0)
                fail_msg("canonical form:\n got      %s\n expected %s", s, expected);
        free(s);
}

static void assert_canonical_text(const char *text, const char *expected) {
        json_object *j = NULL;
        char *error = NULL;

        if (json_parse_strict(text, strlen(text), &j, &error) != 0)
                fail_msg("%s refused: %s", text, error ?: "?");
        assert_canonical(j, expected);
        json_object_put(j);
}

static void test_canonical(void **state) {
        json_object *j, *o;

        (void) state;

        /* sorted by byte value at every level, no white space */
        assert_canonical_text(" { \"b\" : 1 , \"a\" : { \"d\" : [ true , false , null ] , \"c\" : \"x\" } ,\n"
                              "\t\"A\" : -5 , \"a b\" : [ ] , \"\xc3\xa9\" : { } ,"
                              " \"B\" : [ { \"y\" : 1 , \"x\" : 2 } ] }",
                              "{\"A\":-5,\"B\":[{\"x\":2,\"y\":1}],\"a\":{\"c\":\"x\",\"d\":[true,false,null]},"
                              "\"a b\":[],\"b\":1,\"\xc3\xa9\":{}}");
        assert_canonical_text("{}", "{}");
        assert_canonical_text("[]", "[]");
        assert_canonical_text("[[[[{\"z\":{\"b\":{},\"a\":[]}}]]]]", "[[[[{\"z\":{\"a\":[],\"b\":{}}}]]]]");
        assert_canonical_text("\"\"", "\"\"");

        /* integers exactly, at both ends of int64 and uint64 */
        assert_canonical_text("{\"u\":18446744073709551615,\"n\":-9223372036854775808,\"m\":9223372036854775807,"
                              "\"z\":0,\"o\":-1,\"p\":9223372036854775808}",
                              "{\"m\":9223372036854775807,\"n\":-9223372036854775808,\"o\":-1,"
                              "\"p\":9223372036854775808,\"u\":18446744073709551615,\"z\":0}");
        j = json_object_new_array();
        json_object_array_add(j, json_object_new_uint64(UINT64_MAX));
        json_object_array_add(j, json_object_new_int64(INT64_MIN));
        json_object_array_add(j, json_object_new_int64(INT64_MAX));
        json_object_array_add(j, json_object_new_int64(-42));
        assert_canonical(j, "[18446744073709551615,-9223372036854775808,9223372036854775807,-42]");
        json_object_put(j);

        /* escapes: quote, backslash, the short forms, other control
         * characters as \u00XX; '/', DEL and UTF-8 as they are */
        j = json_object_new_string("q\"b\\n\nr\rt\tb\bf\f\x01\x1f/\x7f\xc3\xa9");
        assert_canonical(j, "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f/\x7f\xc3\xa9\"");
        json_object_put(j);
        assert_canonical_text("\"\\u001bx\\/\\u00e9\"", "\"\\u001bx/\xc3\xa9\"");

        /* keys are escaped the same way and sorted by their raw bytes */
        o = json_object_new_object();
        json_object_object_add(o, "k\"ey", json_object_new_int(1));
        json_object_object_add(o, "k\ney", json_object_new_int(2));
        json_object_object_add(o, "k\\ey", json_object_new_int(3));
        assert_canonical(o, "{\"k\\ney\":2,\"k\\\"ey\":1,\"k\\\\ey\":3}");
        json_object_put(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_keyring_create_and_reload, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_keyring_without_key, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_keyring_bad_private_key, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_sign_verify_local, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_modifications, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_key_order, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_trust, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_bad_signatures, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_trusted_key_files, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_ensure_signed, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_status_strings),
                cmocka_unit_test(test_canonical),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
