/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fileio.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "sign.h"

#define KEY_FILE_MAX 16384
#define SIGNED_SECTIONS (USER_RECORD_BINDING | USER_RECORD_STATUS | USER_RECORD_SIGNATURE | USER_RECORD_SECRET)

struct Keyring {
        EVP_PKEY *private_key;
        char *public_pem;
        EVP_PKEY **trusted;
        size_t n_trusted;
        /* The key of the last signature checked: records signed by the same
         * machine repeat it, and decoding PEM costs more than verifying. */
        char *last_pem;
        EVP_PKEY *last_key;
};

static void pkey_freep(EVP_PKEY **k) {
        EVP_PKEY_free(*k);
}
static void bio_freep(BIO **b) {
        BIO_free(*b);
}
static void md_ctx_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}
#define _cleanup_pkey_ _cleanup_(pkey_freep)
#define _cleanup_md_ctx_ _cleanup_(md_ctx_freep)
#define _cleanup_bio_ _cleanup_(bio_freep)

const char *signature_status_to_string(SignatureStatus s) {
        static const char *const names[] = {
                [SIGNATURE_UNSIGNED] = "unsigned",
                [SIGNATURE_UNTRUSTED] = "signed by an unknown key",
                [SIGNATURE_TRUSTED] = "signed by a trusted key",
                [SIGNATURE_LOCAL] = "signed by this machine",
                [SIGNATURE_BAD] = "signature does not match (modified after signing)",
        };
        return s >= 0 && s < (int) ELEMENTSOF(names) ? names[s] : "?";
}

/* Ed25519 keys as OpenSSL writes them (RFC 8410): a fixed DER prefix and
 * the 32 key bytes, in one PEM block. Read and written here directly:
 * OpenSSL's decoder framework costs more than all the rest of a worker's
 * create (bench/skel); any other form goes to it. */
static const uint8_t ed25519_pkcs8_prefix[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                  0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
static const uint8_t ed25519_spki_prefix[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
#define ED25519_KEY_SIZE 32
#define PEM_B64_MAX 128

/* The DER of a PEM block "label" that is all of text (a final newline
 * allowed), into der: its length, or -1 for anything else. */
static int pem_block_der(const char *text, size_t len, const char *label, uint8_t der[PEM_B64_MAX]) {
        char begin[64], end[64], b64[PEM_B64_MAX + 1];
        size_t nb = 0;

        snprintf(begin, sizeof begin, "-----BEGIN %s-----\n", label);
        snprintf(end, sizeof end, "-----END %s-----", label);
        if (len > 0 && text[len - 1] == '\n')
                len--;
        size_t lb = strlen(begin), le = strlen(end);
        if (len < lb + le + 1 || memcmp(text, begin, lb) != 0 || memcmp(text + len - le, end, le) != 0 ||
            text[len - le - 1] != '\n')
                return -1;
        for (size_t i = lb; i < len - le - 1; i++) {
                if (text[i] == '\n')
                        continue;
                if (nb >= PEM_B64_MAX || !(isalnum((unsigned char) text[i]) || text[i] == '+' || text[i] == '/' ||
                                           text[i] == '='))
                        return -1;
                b64[nb++] = text[i];
        }
        b64[nb] = 0;
        if (nb == 0 || nb % 4 != 0)
                return -1;
        /* EVP_DecodeBlock() counts the padding as bytes. */
        int pad = (b64[nb - 1] == '=') + (b64[nb - 2] == '=');
        int n = EVP_DecodeBlock(der, (const unsigned char *) b64, (int) nb);
        explicit_bzero(b64, sizeof b64);
        return n < 0 ? -1 : n - pad;
}

/* 1 and the key if text is an Ed25519 key of the form above, 0 if it is
 * something else (the caller asks OpenSSL), -ENOMEM. */
static int ed25519_parse(const char *text, size_t len, bool private, EVP_PKEY **ret) {
        uint8_t der[PEM_B64_MAX];
        const uint8_t *prefix = private ? ed25519_pkcs8_prefix : ed25519_spki_prefix;
        size_t np = private ? sizeof ed25519_pkcs8_prefix : sizeof ed25519_spki_prefix;
        int n = pem_block_der(text, len, private ? "PRIVATE KEY" : "PUBLIC KEY", der);
        int r = 0;

        if (n == (int) (np + ED25519_KEY_SIZE) && memcmp(der, prefix, np) == 0) {
                *ret = private ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, der + np, ED25519_KEY_SIZE)
                               : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der + np, ED25519_KEY_SIZE);
                r = *ret ? 1 : -ENOMEM;
        }
        explicit_bzero(der, sizeof der);
        return r;
}

static int pem_public(EVP_PKEY *k, char **ret) {
        uint8_t der[sizeof ed25519_spki_prefix + ED25519_KEY_SIZE];
        size_t n_raw = ED25519_KEY_SIZE;
        char b64[PEM_B64_MAX + 1];

        memcpy(der, ed25519_spki_prefix, sizeof ed25519_spki_prefix);
        if (EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 &&
            EVP_PKEY_get_raw_public_key(k, der + sizeof ed25519_spki_prefix, &n_raw) == 1 &&
            n_raw == ED25519_KEY_SIZE) {
                /* 60 characters: one line, as PEM_write_bio_PUBKEY() puts it. */
                EVP_EncodeBlock((unsigned char *) b64, der, (int) sizeof der);
                return asprintf(ret, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64) < 0 ? -ENOMEM
                                                                                                          : 0;
        }

        _cleanup_bio_ BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long n;

        if (!b || PEM_write_bio_PUBKEY(b, k) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(b, &data);
        /* Not strndup(): the BIO's buffer has no terminating NUL to scan for. */
        *ret = malloc((size_t) n + 1);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, data, (size_t) n);
        (*ret)[n] = 0;
        return 0;
}

static EVP_PKEY *pem_parse_public(const char *pem, size_t len) {
        EVP_PKEY *k = NULL;
        int r = ed25519_parse(pem, len, false, &k);
        if (r != 0)
                return r > 0 ? k : NULL;

        _cleanup_bio_ BIO *b = BIO_new_mem_buf(pem, (int) len);
        if (!b)
                return NULL;
        k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        if (k && EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
                EVP_PKEY_free(k);
                return NULL;
        }
        return k;
}

static int keyring_add_trusted(Keyring *kr, EVP_PKEY *k) {
        EVP_PKEY **t = realloc(kr->trusted, (kr->n_trusted + 1) * sizeof *t);
        if (!t)
                return -ENOMEM;
        kr->trusted = t;
        kr->trusted[kr->n_trusted++] = k;
        return 0;
}

static int load_private(Keyring *kr, const char *path) {
        _cleanup_free_ char *text = NULL;
        _cleanup_bio_ BIO *b = NULL;
        size_t len;
        int r;

        r = read_file_bounded(path, KEY_FILE_MAX, &text, &len);
        if (r < 0)
                return r;
        r = ed25519_parse(text, len, true, &kr->private_key);
        if (r == 0) {
                b = BIO_new_mem_buf(text, (int) len);
                if (!b) {
                        explicit_bzero(text, len);
                        return -ENOMEM;
                }
                kr->private_key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        }
        explicit_bzero(text, len);
        if (r == -ENOMEM)
                return r;
        if (!kr->private_key || EVP_PKEY_get_base_id(kr->private_key) != EVP_PKEY_ED25519)
                return log_error_errno(EBADMSG, "%s: not an Ed25519 private key in PEM form", path);
        return 0;
}

static int create_private(const char *statedir, const char *path) {
        _cleanup_pkey_ EVP_PKEY *k = NULL;
        _cleanup_bio_ BIO *b = NULL;
        char *data;
        long n;
        int r;

        r = mkdir_parents(statedir, 0700);
        if (r < 0)
                return log_error_errno(r, "%s: cannot create state directory: %m", statedir);
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        b = BIO_new(BIO_s_secmem());
        if (!k || !b || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
                return log_error_errno(ENOMEM, "cannot generate the machine key");
        n = BIO_get_mem_data(b, &data);
        /* Another process may create the key at the same moment; the first
         * one wins and both then use it. */
        r = write_file_atomic(path, data, (size_t) n, 0600, WRITE_NO_REPLACE);
        if (r < 0 && r != -EEXIST)
                return log_error_errno(r, "%s: cannot write machine key: %m", path);
        return 0;
}

/* A trusted key is trust given by whoever may write it: only a regular file
 * of root's (or of the user running us: tests, image builders) that no one
 * else may write counts, as systemd-homed requires of its *.public files.
 * -EPERM (with *why) for one that fails that, else 0 or the read error. */
static int read_trusted_key(int dir_fd, const char *name, char **ret, size_t *ret_len, const char **why) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *text = NULL;
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode)) {
                *why = "not a regular file";
                return -EPERM;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                *why = "not owned by root";
                return -EPERM;
        }
        if (st.st_mode & 0022) {
                *why = "writable by others than its owner";
                return -EPERM;
        }
        if (st.st_size > KEY_FILE_MAX)
                return -EFBIG;
        text = malloc(KEY_FILE_MAX + 1);
        if (!text)
                return -ENOMEM;
        n = read(fd, text, KEY_FILE_MAX + 1);
        if (n < 0)
                return negative_errno();
        if (n > KEY_FILE_MAX)
                return -EFBIG;
        text[n] = 0;
        *ret = TAKE_PTR(text);
        *ret_len = (size_t) n;
        return 0;
}

static int load_public_dir(Keyring *kr, const char *statedir) {
        DIR *d = opendir(statedir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                _cleanup_free_ char *text = NULL;
                const char *why = NULL;
                size_t len;

                if (n <= 7 || strcmp(de->d_name + n - 7, ".public") != 0 || strcmp(de->d_name, "local.public") == 0 ||
                    is_atomic_temp_name(de->d_name))
                        continue;
                int r = read_trusted_key(dirfd(d), de->d_name, &text, &len, &why);
                if (r == -EPERM) {
                        log_warning("%s/%s: %s: not trusted, ignoring", statedir, de->d_name, why);
                        continue;
                }
                if (r < 0) {
                        log_warning("%s/%s: cannot read trusted key, ignoring", statedir, de->d_name);
                        continue;
                }
                EVP_PKEY *k = pem_parse_public(text, len);
                if (!k) {
                        log_warning("%s/%s: not an Ed25519 public key in PEM form, ignoring", statedir, de->d_name);
                        continue;
                }
                if (keyring_add_trusted(kr, k) < 0) {
                        EVP_PKEY_free(k);
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        return 0;
}

int keyring_open(const char *statedir, bool create, Keyring **ret) {
        _cleanup_free_ char *priv = NULL, *pub = NULL;
        Keyring *kr;
        int r;

        if (asprintf(&priv, "%s/local.private", statedir) < 0 || asprintf(&pub, "%s/local.public", statedir) < 0)
                return -ENOMEM;
        kr = calloc(1, sizeof *kr);
        if (!kr)
                return -ENOMEM;

        r = load_private(kr, priv);
        if (r == -ENOENT && create) {
                r = create_private(statedir, priv);
                if (r >= 0)
                        r = load_private(kr, priv);
        }
        if (r < 0 && r != -ENOENT) {
                if (r != -EBADMSG)
                        log_error_errno(r, "%s: cannot load machine key: %m", priv);
                keyring_free(kr);
                return r;
        }

        if (kr->private_key) {
                /* The public half is derived, so rewriting it is always safe;
                 * a read-only open (create=false) writes nothing. */
                r = pem_public(kr->private_key, &kr->public_pem);
                if (r >= 0 && create) {
                        _cleanup_free_ char *old = NULL;
                        if (read_file_bounded(pub, KEY_FILE_MAX, &old, NULL) < 0 || strcmp(old, kr->public_pem) != 0)
                                r = write_file_atomic(pub, kr->public_pem, strlen(kr->public_pem), 0644, 0);
                }
                if (r >= 0 && EVP_PKEY_up_ref(kr->private_key) == 1)
                        r = keyring_add_trusted(kr, kr->private_key);
                if (r < 0) {
                        log_error_errno(r, "%s: cannot write public key: %m", pub);
                        keyring_free(kr);
                        return r;
                }
        }

        r = load_public_dir(kr, statedir);
        if (r < 0) {
                keyring_free(kr);
                return log_error_errno(r, "%s: cannot read trusted keys: %m", statedir);
        }
        *ret = kr;
        return 0;
}

Keyring *keyring_free(Keyring *kr) {
        if (!kr)
                return NULL;
        for (size_t i = 0; i < kr->n_trusted; i++)
                EVP_PKEY_free(kr->trusted[i]);
        free(kr->trusted);
        EVP_PKEY_free(kr->private_key);
        EVP_PKEY_free(kr->last_key);
        free(kr->last_pem);
        free(kr->public_pem);
        free(kr);
        return NULL;
}

const char *keyring_public_pem(Keyring *kr) {
        return kr->public_pem;
}

static int signed_payload(const UserRecord *rec, char **ret, size_t *ret_len) {
        json_object *j = user_record_without(rec, SIGNED_SECTIONS);
        int r;

        if (!j)
                return -ENOMEM;
        r = json_format_canonical(j, ret, ret_len);
        json_object_put(j);
        return r;
}

int keyring_sign(Keyring *kr, UserRecord *rec) {
        _cleanup_free_ char *payload = NULL;
        _cleanup_md_ctx_ EVP_MD_CTX *ctx = NULL;
        unsigned char sig[64];
        char b64[4 * sizeof sig / 3 + 4];
        size_t len, siglen = sizeof sig;
        json_object *array, *entry;
        int r;

        if (!kr->private_key)
                return -ENOKEY;
        r = signed_payload(rec, &payload, &len);
        if (r < 0)
                return r;

        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, kr->private_key) != 1 ||
            EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) payload, len) != 1)
                return log_error_errno(EIO, "user %s: signing failed", rec->user_name);
        EVP_EncodeBlock((unsigned char *) b64, sig, (int) siglen);

        array = json_object_new_array();
        entry = json_object_new_object();
        if (!array || !entry || json_object_array_add(array, entry) < 0) {
                json_object_put(array);
                json_object_put(entry);
                return -ENOMEM;
        }
        if (json_object_object_add(entry, "data", json_object_new_string(b64)) < 0 ||
            json_object_object_add(entry, "key", json_object_new_string(kr->public_pem)) < 0 ||
            json_object_object_add(rec->json, "signature", array) < 0) {
                json_object_put(array);
                return -ENOMEM;
        }
        return user_record_refresh(rec, NULL);
}

int keyring_ensure_signed(Keyring *kr, UserRecord *rec) {
        SignatureStatus status;
        int r = keyring_verify(kr, rec, &status);
        if (r < 0)
                return r;
        if (status == SIGNATURE_LOCAL || status == SIGNATURE_TRUSTED)
                return 0;
        return keyring_sign(kr, rec);
}

static bool keyring_trusts(Keyring *kr, EVP_PKEY *k, bool *local) {
        for (size_t i = 0; i < kr->n_trusted; i++)
                if (EVP_PKEY_eq(kr->trusted[i], k) == 1) {
                        *local = kr->private_key && kr->trusted[i] == kr->private_key;
                        return true;
                }
        return false;
}

/* A new reference to the key that pem encodes, or NULL if it is invalid. */
static EVP_PKEY *keyring_decode_cached(Keyring *kr, const char *pem, size_t len) {
        if (kr->last_pem && strlen(kr->last_pem) == len && memcmp(kr->last_pem, pem, len) == 0 &&
            EVP_PKEY_up_ref(kr->last_key) == 1)
                return kr->last_key;
        EVP_PKEY *key = pem_parse_public(pem, len);
        char *copy = key ? strndup(pem, len) : NULL;
        if (!copy || EVP_PKEY_up_ref(key) != 1) {
                free(copy);
                return key;
        }
        free(kr->last_pem);
        EVP_PKEY_free(kr->last_key);
        kr->last_pem = copy;
        kr->last_key = key;
        return key;
}

int keyring_verify(Keyring *kr, const UserRecord *rec, SignatureStatus *ret) {
        _cleanup_free_ char *payload = NULL;
        SignatureStatus best = SIGNATURE_UNSIGNED;
        json_object *array;
        size_t len;
        int r;

        if (!json_object_object_get_ex(rec->json, "signature", &array)) {
                *ret = SIGNATURE_UNSIGNED;
                return 0;
        }
        r = signed_payload(rec, &payload, &len);
        if (r < 0)
                return r;

        /* The record's own validation already checked the shape. */
        for (size_t i = 0; i < json_object_array_length(array); i++) {
                json_object *e = json_object_array_get_idx(array, i), *d, *k;
                unsigned char sig[128];
                char b64[89];
                bool local = false;
                int n;

                json_object_object_get_ex(e, "data", &d);
                json_object_object_get_ex(e, "key", &k);
                _cleanup_pkey_ EVP_PKEY *key = keyring_decode_cached(kr, json_object_get_string(k),
                                                                     (size_t) json_object_get_string_len(k));
                if (!key) {
                        *ret = SIGNATURE_BAD;
                        return 0;
                }
                /* Ed25519 signatures are 64 bytes: 88 characters of base64.
                 * EVP_DecodeBlock() reads '=' anywhere as 'A' and ignores the
                 * bits past the 64th byte, so only the canonical encoding of
                 * the decoded bytes is accepted: one signature, one text. */
                if (json_object_get_string_len(d) != 88 ||
                    (n = EVP_DecodeBlock(sig, (const unsigned char *) json_object_get_string(d), 88)) != 66 ||
                    EVP_EncodeBlock((unsigned char *) b64, sig, 64) != 88 ||
                    memcmp(b64, json_object_get_string(d), 88) != 0) {
                        *ret = SIGNATURE_BAD;
                        return 0;
                }
                _cleanup_md_ctx_ EVP_MD_CTX *ctx = EVP_MD_CTX_new();
                if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
                        return -ENOMEM;
                if (EVP_DigestVerify(ctx, sig, 64, (unsigned char *) payload, len) != 1) {
                        *ret = SIGNATURE_BAD;
                        return 0;
                }

                SignatureStatus s = SIGNATURE_UNTRUSTED;
                if (keyring_trusts(kr, key, &local))
                        s = local ? SIGNATURE_LOCAL : SIGNATURE_TRUSTED;
                if (s > best)
                        best = s;
        }
        *ret = best;
        return 0;
}
