/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "log.h"
#include "macro.h"
#include "pkcs11-record.h"
#include "pkcs11-token.h"

#define CERTS_PER_TOKEN_MAX 64
#define CERT_MAX (64 * 1024)

typedef struct Modules {
        CK_FUNCTION_LIST **list;
        bool single; /* $HEARTH_PKCS11_MODULE: loaded and released on its own */
} Modules;

static int modules_load(Modules *ret) {
        const char *path = getenv(PKCS11_ENV_MODULE);

        *ret = (Modules) {};
        if (path && path[0]) {
                CK_FUNCTION_LIST *m = p11_kit_module_load(path, 0);
                if (!m)
                        return log_error_errno(ENXIO, "PKCS#11 module %s: cannot load: %s", path, p11_kit_message() ?: "?");
                if (p11_kit_module_initialize(m) != CKR_OK) {
                        p11_kit_module_release(m);
                        return log_error_errno(EIO, "PKCS#11 module %s: cannot initialize", path);
                }
                ret->list = calloc(2, sizeof *ret->list);
                if (!ret->list) {
                        p11_kit_module_finalize(m);
                        p11_kit_module_release(m);
                        return -ENOMEM;
                }
                ret->list[0] = m;
                ret->single = true;
                return 0;
        }
        ret->list = p11_kit_modules_load_and_initialize(0);
        if (!ret->list)
                return log_error_errno(EIO, "cannot load the PKCS#11 modules of p11-kit's configuration: %s",
                                       p11_kit_message() ?: "?");
        return 0;
}

static void modules_done(Modules *m) {
        if (!m->list)
                return;
        if (m->single) {
                p11_kit_module_finalize(m->list[0]);
                p11_kit_module_release(m->list[0]);
                free(m->list);
        } else
                p11_kit_modules_finalize_and_release(m->list);
        m->list = NULL;
}

/* One certificate found: what a visitor gets. */
typedef struct Found {
        CK_FUNCTION_LIST *module;
        CK_SLOT_ID slot;
        CK_TOKEN_INFO token;
        CK_SESSION_HANDLE session;
        CK_OBJECT_HANDLE cert;
} Found;

/* Returns > 0 to stop the walk with that value, 0 to go on, < 0 to fail. */
typedef int (*visit_fn)(Found *f, void *userdata);

static int get_attribute(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
                         size_t max, void **ret, size_t *ret_size) {
        CK_ATTRIBUTE a = { .type = type };
        if (m->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
            a.ulValueLen == 0 || a.ulValueLen > max)
                return -EIO;
        a.pValue = malloc(a.ulValueLen);
        if (!a.pValue)
                return -ENOMEM;
        if (m->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
                free(a.pValue);
                return -EIO;
        }
        *ret = a.pValue;
        *ret_size = a.ulValueLen;
        return 0;
}

/* Every certificate object on every token present that match (NULL: any)
 * matches. */
static int walk_certificates(Modules *mods, P11KitUri *match, visit_fn visit, void *userdata) {
        CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
        CK_ATTRIBUTE tmpl[16] = { { CKA_CLASS, &cls, sizeof cls } };
        CK_ULONG nt = 1;

        if (match) {
                CK_ULONG na = 0;
                CK_ATTRIBUTE *a = p11_kit_uri_get_attributes(match, &na);
                for (CK_ULONG i = 0; i < na && nt < ELEMENTSOF(tmpl); i++)
                        if (a[i].type != CKA_CLASS)
                                tmpl[nt++] = a[i];
        }

        for (size_t i = 0; mods->list[i]; i++) {
                CK_FUNCTION_LIST *m = mods->list[i];
                CK_INFO info;
                CK_ULONG n = 0;

                /* p11-kit's trust module holds the system's CA certificates,
                 * no one's key. */
                if (!mods->single) {
                        char *trust = p11_kit_config_option(m, "trust-policy");
                        bool skip = trust && strcmp(trust, "yes") == 0;
                        free(trust);
                        if (skip)
                                continue;
                }
                if (m->C_GetInfo(&info) != CKR_OK)
                        continue;
                if (match && !p11_kit_uri_match_module_info(match, &info))
                        continue;
                if (m->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n == 0)
                        continue;
                if (n > 256)
                        n = 256;
                _cleanup_free_ CK_SLOT_ID *slots = calloc(n, sizeof *slots);
                if (!slots)
                        return -ENOMEM;
                if (m->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
                        continue;
                for (CK_ULONG k = 0; k < n; k++) {
                        Found f = { .module = m, .slot = slots[k] };
                        CK_OBJECT_HANDLE objs[CERTS_PER_TOKEN_MAX];
                        CK_ULONG nobj = 0;
                        int r = 0;

                        if (m->C_GetTokenInfo(slots[k], &f.token) != CKR_OK)
                                continue;
                        if (match && !p11_kit_uri_match_token_info(match, &f.token))
                                continue;
                        if (m->C_OpenSession(slots[k], CKF_SERIAL_SESSION, NULL, NULL, &f.session) != CKR_OK)
                                continue;
                        if (m->C_FindObjectsInit(f.session, tmpl, nt) == CKR_OK) {
                                if (m->C_FindObjects(f.session, objs, ELEMENTSOF(objs), &nobj) != CKR_OK)
                                        nobj = 0;
                                m->C_FindObjectsFinal(f.session);
                        }
                        for (CK_ULONG o = 0; o < nobj && r == 0; o++) {
                                f.cert = objs[o];
                                r = visit(&f, userdata);
                        }
                        m->C_CloseSession(f.session);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

static int parse_uri(const char *uri, P11KitUri **ret) {
        P11KitUri *u = p11_kit_uri_new();
        if (!u)
                return -ENOMEM;
        if (!pkcs11_uri_valid(uri) || p11_kit_uri_parse(uri, P11_KIT_URI_FOR_ANY, u) != P11_KIT_URI_OK) {
                p11_kit_uri_free(u);
                return log_error_errno(EINVAL, "\"%s\" is not a PKCS#11 URI", uri);
        }
        *ret = u;
        return 0;
}

static int cert_public_key(Found *f, EVP_PKEY **ret) {
        _cleanup_free_ void *der = NULL;
        size_t size = 0;
        int r = get_attribute(f->module, f->session, f->cert, CKA_VALUE, CERT_MAX, &der, &size);
        if (r < 0)
                return r;
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long) size);
        if (!x)
                return -EIO;
        EVP_PKEY *k = X509_get_pubkey(x);
        X509_free(x);
        if (!k)
                return -EIO;
        *ret = k;
        return 0;
}

/* The URI naming this certificate: its token and CKA_ID, no type. The
 * same URI names its private key: systemd-homed (252 too) looks for the
 * private key with the record's URI and refuses one that says type=cert;
 * the certificate is looked for here with the class added. */
static int cert_uri(Found *f, char **ret) {
        P11KitUri *u = p11_kit_uri_new();
        _cleanup_free_ void *id = NULL;
        size_t id_size = 0;
        int r;

        if (!u)
                return -ENOMEM;
        memcpy(p11_kit_uri_get_token_info(u), &f->token, sizeof f->token);
        if (get_attribute(f->module, f->session, f->cert, CKA_ID, 256, &id, &id_size) >= 0) {
                CK_ATTRIBUTE b = { CKA_ID, id, id_size };
                p11_kit_uri_set_attribute(u, &b);
        }
        r = p11_kit_uri_format(u, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, ret) == P11_KIT_URI_OK ? 0 : -ENOMEM;
        p11_kit_uri_free(u);
        if (r == 0 && !pkcs11_uri_valid(*ret)) {
                free(*ret);
                return -EIO;
        }
        return r;
}

typedef struct FindCtx {
        unsigned n;
        char *uri;
        EVP_PKEY *pkey;
        bool print;
} FindCtx;

static int visit_find(Found *f, void *userdata) {
        FindCtx *c = userdata;
        _cleanup_free_ char *uri = NULL;
        int r = cert_uri(f, &uri);
        if (r < 0)
                return r;
        if (c->print) {
                printf("%s\n", uri);
                return 0;
        }
        if (++c->n > 1)
                return 0;
        r = cert_public_key(f, &c->pkey);
        if (r < 0)
                return log_error_errno(EIO, "%s: cannot read the certificate's public key", uri);
        c->uri = TAKE_PTR(uri);
        return 0;
}

int pkcs11_token_find_certificate(const char *uri, char **ret_uri, EVP_PKEY **ret_pkey) {
        Modules mods;
        FindCtx c = {};
        P11KitUri *match = NULL;
        int r;

        if (strcmp(uri, "auto") != 0 && (r = parse_uri(uri, &match)) < 0)
                return r;
        r = modules_load(&mods);
        if (r >= 0)
                r = walk_certificates(&mods, match, visit_find, &c);
        modules_done(&mods);
        p11_kit_uri_free(match);
        if (r >= 0 && c.n == 0)
                r = log_error_errno(strcmp(uri, "auto") == 0 ? ENOTUNIQ : ENXIO,
                                    "no certificate %s on any PKCS#11 token present", strcmp(uri, "auto") == 0 ? "" : uri);
        else if (r >= 0 && c.n > 1)
                r = log_error_errno(ENOTUNIQ, "%u certificates match %s; name one (--pkcs11-token-uri=list)", c.n, uri);
        else if (r >= 0 && EVP_PKEY_get_base_id(c.pkey) != EVP_PKEY_RSA && EVP_PKEY_get_base_id(c.pkey) != EVP_PKEY_EC)
                r = log_error_errno(EOPNOTSUPP, "%s: the certificate's key is neither RSA nor EC", c.uri);
        if (r < 0) {
                free(c.uri);
                EVP_PKEY_free(c.pkey);
                return r;
        }
        *ret_uri = c.uri;
        *ret_pkey = c.pkey;
        return 0;
}

int pkcs11_token_list(void) {
        Modules mods;
        FindCtx c = { .print = true };
        int r = modules_load(&mods);
        if (r >= 0)
                r = walk_certificates(&mods, NULL, visit_find, &c);
        modules_done(&mods);
        return r;
}

static int base64_secure(const void *data, size_t size, SecureBuffer **ret) {
        SecureBuffer *b = NULL;
        int r = secure_buffer_new((size + 2) / 3 * 4 + 1, &b);
        if (r < 0)
                return r;
        EVP_EncodeBlock(b->data, data, (int) size);
        *ret = b;
        return 0;
}

/* EC (systemd-homed since systemd 255, systemd-cryptenroll alike): a fresh
 * key pair on the certificate's curve; the secret is the ECDH shared
 * secret of its private key and the certificate's public key (the x
 * coordinate, as CKD_NULL derives it on the token); what the record keeps
 * is its public key (the uncompressed point). */
static int secret_make_ec(EVP_PKEY *pkey, SecureBuffer **ret_secret, void **ret_encrypted, size_t *ret_size) {
        _cleanup_secure_buffer_ SecureBuffer *raw = NULL;
        char group[64];
        size_t glen = 0, n = 0;
        EVP_PKEY *eph = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        unsigned char *point = NULL;
        int r = -EIO;

        if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1 || glen == 0)
                return -EOPNOTSUPP;
        eph = EVP_EC_gen(group);
        if (!eph)
                return -EOPNOTSUPP;
        ctx = EVP_PKEY_CTX_new(eph, NULL);
        if (ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, pkey) > 0 &&
            EVP_PKEY_derive(ctx, NULL, &n) > 0 && n > 0 && n <= PKCS11_DATA_MAX &&
            secure_buffer_new(n, &raw) >= 0 && EVP_PKEY_derive(ctx, raw->data, &n) > 0) {
                size_t m = EVP_PKEY_get1_encoded_public_key(eph, &point);
                if (m > 0 && m <= PKCS11_DATA_MAX && (r = base64_secure(raw->data, n, ret_secret)) >= 0) {
                        *ret_encrypted = TAKE_PTR(point);
                        *ret_size = m;
                        r = 0;
                }
        }
        OPENSSL_free(point);
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(eph);
        return r;
}

int pkcs11_secret_make(EVP_PKEY *pkey, SecureBuffer **ret_secret, void **ret_encrypted, size_t *ret_size) {
        _cleanup_secure_buffer_ SecureBuffer *raw = NULL;
        int bits = EVP_PKEY_get_bits(pkey);
        int r;

        if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC)
                return secret_make_ec(pkey, ret_secret, ret_encrypted, ret_size);
        if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
                return -EOPNOTSUPP;
        /* homed's size: half the modulus, well inside PKCS#1 v1.5's room. */
        if (bits < 1024 || bits > PKCS11_DATA_MAX * 8)
                return -EOPNOTSUPP;
        size_t n = (size_t) bits / 16;
        if ((r = secure_buffer_new(n, &raw)) < 0)
                return r;
        if (RAND_priv_bytes(raw->data, (int) n) != 1)
                return -EIO;

        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
        size_t out = 0;
        unsigned char *enc = NULL;
        r = -EIO;
        if (ctx && EVP_PKEY_encrypt_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
            EVP_PKEY_encrypt(ctx, NULL, &out, raw->data, n) > 0 && (enc = malloc(out)) &&
            EVP_PKEY_encrypt(ctx, enc, &out, raw->data, n) > 0)
                r = 0;
        EVP_PKEY_CTX_free(ctx);
        if (r == 0)
                r = base64_secure(raw->data, n, ret_secret);
        if (r < 0) {
                free(enc);
                return r;
        }
        *ret_encrypted = enc;
        *ret_size = out;
        return 0;
}

typedef struct DecryptCtx {
        const char *pin;
        const void *encrypted;
        size_t size;
        SecureBuffer *secret;
} DecryptCtx;

static int bad_pin(Found *f) {
        CK_TOKEN_INFO ti;
        if (f->module->C_GetTokenInfo(f->slot, &ti) == CKR_OK) {
                if (ti.flags & CKF_USER_PIN_LOCKED)
                        return -ENOLCK;
                if (ti.flags & CKF_USER_PIN_FINAL_TRY)
                        return -EBADRQC;
                if (ti.flags & CKF_USER_PIN_COUNT_LOW)
                        return -EBADR;
        }
        return -EBADE;
}

/* EC: the shared secret of the token's private key and the public key
 * the record keeps (point, as EVP_PKEY_get1_encoded_public_key() wrote
 * it), derived on the token as a session object we read and destroy. */
static int derive_ec(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const void *point, size_t size,
                     SecureBuffer *out, CK_ULONG *ret_len) {
        static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
        static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        static CK_KEY_TYPE type = CKK_GENERIC_SECRET;
        CK_ATTRIBUTE tmpl[] = {
                { CKA_TOKEN, &no, sizeof no },
                { CKA_CLASS, &cls, sizeof cls },
                { CKA_KEY_TYPE, &type, sizeof type },
                { CKA_SENSITIVE, &no, sizeof no },
                { CKA_EXTRACTABLE, &yes, sizeof yes },
        };
        CK_ECDH1_DERIVE_PARAMS params = {
                .kdf = CKD_NULL,
                .public_data = (CK_BYTE *) point,
                .public_data_len = size,
        };
        CK_MECHANISM mech = { CKM_ECDH1_DERIVE, &params, sizeof params };
        CK_OBJECT_HANDLE secret;
        int r = 0;

        if (m->C_DeriveKey(s, &mech, key, tmpl, ELEMENTSOF(tmpl), &secret) != CKR_OK)
                return -EIO;
        CK_ATTRIBUTE v = { CKA_VALUE, out->data, out->size };
        if (m->C_GetAttributeValue(s, secret, &v, 1) != CKR_OK || v.ulValueLen == 0 ||
            v.ulValueLen == CK_UNAVAILABLE_INFORMATION || v.ulValueLen > out->size)
                r = -EIO;
        else
                *ret_len = v.ulValueLen;
        (void) m->C_DestroyObject(s, secret);
        return r;
}

static int visit_decrypt(Found *f, void *userdata) {
        DecryptCtx *c = userdata;
        CK_FUNCTION_LIST *m = f->module;
        _cleanup_free_ void *id = NULL;
        size_t id_size = 0;
        CK_RV rv;

        if (f->token.flags & CKF_USER_PIN_LOCKED)
                return -ENOLCK;
        if (f->token.flags & CKF_LOGIN_REQUIRED) {
                if (!c->pin) {
                        if (!(f->token.flags & CKF_PROTECTED_AUTHENTICATION_PATH))
                                return -ENOANO;
                        rv = m->C_Login(f->session, CKU_USER, NULL, 0);
                } else
                        rv = m->C_Login(f->session, CKU_USER, (CK_UTF8CHAR *) c->pin, strlen(c->pin));
                if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
                        return bad_pin(f);
                if (rv == CKR_PIN_LOCKED)
                        return -ENOLCK;
                if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
                        return -EIO;
        }

        int r = get_attribute(m, f->session, f->cert, CKA_ID, 256, &id, &id_size);
        if (r < 0)
                return r;
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, id, id_size } };
        CK_OBJECT_HANDLE key;
        CK_ULONG n = 0;
        if (m->C_FindObjectsInit(f->session, tmpl, ELEMENTSOF(tmpl)) != CKR_OK)
                return -EIO;
        rv = m->C_FindObjects(f->session, &key, 1, &n);
        m->C_FindObjectsFinal(f->session);
        if (rv != CKR_OK || n != 1)
                return -EIO;

        CK_KEY_TYPE kt = CKK_RSA;
        CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof kt };
        if (m->C_GetAttributeValue(f->session, key, &ka, 1) != CKR_OK)
                return -EIO;
        _cleanup_secure_buffer_ SecureBuffer *out = NULL;
        CK_ULONG len = PKCS11_DATA_MAX;
        if ((r = secure_buffer_new(PKCS11_DATA_MAX, &out)) < 0)
                return r;
        if (kt == CKK_EC)
                r = derive_ec(m, f->session, key, c->encrypted, c->size, out, &len);
        else if (kt == CKK_RSA) {
                CK_MECHANISM mech = { CKM_RSA_PKCS, NULL, 0 };
                if (m->C_DecryptInit(f->session, &mech, key) != CKR_OK ||
                    m->C_Decrypt(f->session, (CK_BYTE *) c->encrypted, c->size, out->data, &len) != CKR_OK || len == 0)
                        return -EIO;
        } else
                return -EOPNOTSUPP;
        if (r < 0)
                return r;
        r = base64_secure(out->data, len, &c->secret);
        return r < 0 ? r : 1;
}

int pkcs11_token_decrypt(const char *uri, const char *pin, const void *encrypted, size_t size,
                         SecureBuffer **ret_secret) {
        Modules mods;
        DecryptCtx c = { .pin = pin, .encrypted = encrypted, .size = size };
        P11KitUri *match = NULL;
        int r;

        if ((r = parse_uri(uri, &match)) < 0)
                return r;
        r = modules_load(&mods);
        if (r >= 0)
                r = walk_certificates(&mods, match, visit_decrypt, &c);
        modules_done(&mods);
        p11_kit_uri_free(match);
        if (r == 0)
                return -ENXIO;
        if (r < 0)
                return r;
        *ret_secret = c.secret;
        return 0;
}
