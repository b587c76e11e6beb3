/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include <openssl/rand.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "dlopen-tss2.h"
#include "fileio.h"
#include "log.h"
#include "runtime-paths.h"
#include "tpm2-token.h"
#include "tpm2.h"

_Static_assert(TPM2_SEALED_BLOB_MAX >= sizeof(TPM2B_PRIVATE) + sizeof(TPM2B_PUBLIC),
               "TPM2_SEALED_BLOB_MAX must hold any marshalled TPM2B_PRIVATE and TPM2B_PUBLIC");
_Static_assert(TPM2_SEALED_SECRET_SIZE <= sizeof(((TPM2B_SENSITIVE_DATA *) 0)->buffer), "secret too large");
_Static_assert(TPM2_SEALED_POLICY_SIZE == TPM2_SHA256_DIGEST_SIZE, "policy digests are sha256");

/* How often a PCR change between PolicyPCR and Unseal is retried. */
#define PCR_CHANGED_RETRIES 3

struct Tpm2 {
        TSS2_TCTI_CONTEXT *tcti;
        ESYS_CONTEXT *esys;
        ESYS_TR srk;            /* ESYS_TR_NONE until srk_get() */
        bool srk_transient;     /* no room to persist it: flushed by tpm2_free() */
        Tpm2PrimaryAlg srk_alg;
};

/* A transient object or session, flushed when it goes out of scope: without
 * a resource manager nobody else would, and the TPM has only a few slots. */
typedef struct Handle {
        ESYS_CONTEXT *esys;
        ESYS_TR tr;
        bool has_auth; /* an authValue was set: ESYS frees its copy without wiping */
} Handle;

static void handle_flush(Handle *h) {
        if (h->tr == ESYS_TR_NONE)
                return;
        if (h->has_auth) {
                const TPM2B_AUTH empty = {};
                /* Esys_TR_SetAuth() copies the whole structure: the old bytes are overwritten. */
                (void) sym_Esys_TR_SetAuth(h->esys, h->tr, &empty);
        }
        (void) sym_Esys_FlushContext(h->esys, h->tr);
        h->tr = ESYS_TR_NONE;
}
#define _cleanup_flush_ __attribute__((cleanup(handle_flush)))
#define HANDLE(t) { .esys = (t)->esys, .tr = ESYS_TR_NONE }

static void esys_freep(void *p) {
        sym_Esys_Free(*(void **) p);
}
#define _cleanup_esys_ __attribute__((cleanup(esys_freep)))

static const TPMT_SYM_DEF session_aes = {
        .algorithm = TPM2_ALG_AES,
        .keyBits.aes = 128,
        .mode.aes = TPM2_ALG_CFB,
};

/* A TPM response code without the number of the handle, session or
 * parameter it is about; codes of the TSS layers are returned unchanged. */
static TSS2_RC rc_base(TSS2_RC rc) {
        TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;

        if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
                return rc;
        rc &= ~TSS2_RC_LAYER_MASK;
        if (rc & TPM2_RC_FMT1)
                return rc & (TPM2_RC_FMT1 | 0x3F);
        return rc;
}

static int tss_error(TSS2_RC rc, int error, const char *what) {
        return log_error_errno(error, "TPM2: %s failed: %s", what, sym_Tss2_RC_Decode(rc));
}

static void pcr_list(uint32_t mask, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (int i = 0; i < TPM2_SEALED_PCR_COUNT && n < size; i++)
                if (mask & (UINT32_C(1) << i))
                        n += (size_t) snprintf(buf + n, size - n, "%s%d", n > 0 ? "," : "", i);
        if (n == 0)
                snprintf(buf, size, "none");
}

/* ---- the connection ---------------------------------------------------- */

static int check_pcr_bank(Tpm2 *t, const char *tcti) {
        _cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more;
        TSS2_RC rc;

        /* The first command: tells a TPM that answers from one that doesn't. */
        rc = sym_Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS, 0, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(ENODEV, "TPM2: the TPM at \"%s\" does not answer: %s", tcti, sym_Tss2_RC_Decode(rc));

        for (uint32_t i = 0; i < cap->data.assignedPCR.count && i < TPM2_NUM_PCR_BANKS; i++) {
                const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
                if (s->hash == TPM2_ALG_SHA256 && s->sizeofSelect >= 3 &&
                    (s->pcrSelect[0] | s->pcrSelect[1] | s->pcrSelect[2]) != 0)
                        return 0;
        }
        return log_error_errno(EOPNOTSUPP, "TPM2: the TPM at \"%s\" has no active sha256 PCR bank", tcti);
}

int tpm2_open(const char *tcti, Tpm2 **ret) {
        _cleanup_tpm2_ Tpm2 *t = NULL;
        TSS2_RC rc;
        int r;

        if (!tcti)
                tcti = TPM2_TCTI_DEFAULT;
        r = dlopen_tss2();
        if (r < 0)
                return r;

        /* tpm2-tss prints every failed command to stderr; the errors that
         * matter are reported here once, in words. A TSS2_LOG the user set
         * wins, and with HEARTH_LOG_LEVEL=debug tpm2-tss speaks too. */
        if (log_get_max_level() < LOG_DEBUG)
                (void) setenv("TSS2_LOG", "all+none", 0);

        t = calloc(1, sizeof *t);
        if (!t)
                return log_oom();
        t->srk = ESYS_TR_NONE;

        rc = sym_Tss2_TctiLdr_Initialize(tcti, &t->tcti);
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(ENODEV, "TPM2: no TPM at \"%s\": %s", tcti, sym_Tss2_RC_Decode(rc));
        rc = sym_Esys_Initialize(&t->esys, t->tcti, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return log_error_errno(ENODEV, "TPM2: cannot use the TPM at \"%s\": %s", tcti, sym_Tss2_RC_Decode(rc));

        r = check_pcr_bank(t, tcti);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(t);
        return 0;
}

Tpm2 *tpm2_free(Tpm2 *t) {
        if (!t)
                return NULL;
        if (t->esys) {
                if (t->srk != ESYS_TR_NONE) {
                        if (t->srk_transient)
                                (void) sym_Esys_FlushContext(t->esys, t->srk);
                        else
                                (void) sym_Esys_TR_Close(t->esys, &t->srk); /* forget it, never evict */
                }
                sym_Esys_Finalize(&t->esys);
        }
        if (t->tcti)
                sym_Tss2_TctiLdr_Finalize(&t->tcti);
        free(t);
        return NULL;
}

/* ---- the storage root key --------------------------------------------- */

/* Whatever sits at 0x81000001 must be a storage key before anything is
 * sealed under it; it belongs to the machine, so it is never replaced. */
static int srk_check(Tpm2 *t, ESYS_TR srk, Tpm2PrimaryAlg *ret_alg) {
        _cleanup_esys_ TPM2B_PUBLIC *pub = NULL;
        const TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                 TPMA_OBJECT_FIXEDPARENT;
        TSS2_RC rc;

        rc = sym_Esys_ReadPublic(t->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "reading the storage root key at 0x81000001");

        if ((pub->publicArea.type != TPM2_ALG_ECC && pub->publicArea.type != TPM2_ALG_RSA) ||
            (pub->publicArea.objectAttributes & need) != need ||
            (pub->publicArea.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
                return log_error_errno(EADDRINUSE,
                                       "TPM2: the key at 0x81000001 is not a storage root key (a restricted "
                                       "decryption key); it is left alone and nothing can be sealed");
        *ret_alg = pub->publicArea.type == TPM2_ALG_ECC ? TPM2_SEALED_ECC : TPM2_SEALED_RSA;
        return 0;
}

/* 1 with t->srk set if the SRK exists, 0 if not. */
static int srk_find(Tpm2 *t) {
        _cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more;
        Tpm2PrimaryAlg alg = TPM2_SEALED_ECC;
        ESYS_TR srk;
        TSS2_RC rc;
        int r;

        rc = sym_Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                                TPM2_SRK_HANDLE, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "listing persistent objects");
        if (cap->data.handles.count == 0 || cap->data.handles.handle[0] != TPM2_SRK_HANDLE)
                return 0;

        rc = sym_Esys_TR_FromTPMPublic(t->esys, TPM2_SRK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &srk);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "opening the storage root key at 0x81000001");
        r = srk_check(t, srk, &alg);
        if (r < 0) {
                (void) sym_Esys_TR_Close(t->esys, &srk);
                return r;
        }
        t->srk = srk;
        t->srk_alg = alg;
        return 1;
}

/* Two processes finding no SRK at once would both make one; the second
 * EvictControl would fail. The lock makes the second find the first's. */
static int srk_lock(int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        const char *dir = hearth_runtime_dir();
        int r;

        if (asprintf(&path, "%s/tpm2-srk.lock", dir) < 0)
                return log_oom();
        r = mkdir_parents(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "TPM2: cannot create %s: %m", dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return log_error_errno(errno, "TPM2: cannot open %s: %m", path);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return log_error_errno(errno, "TPM2: cannot lock %s: %m", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The SRK template of the TCG provisioning guidance: the same template on the
 * same TPM (same storage seed) always yields the same key, so a recreated
 * SRK still loads what was sealed under the one that went missing. */
static TSS2_RC srk_create_primary(Tpm2 *t, Tpm2PrimaryAlg alg, ESYS_TR *ret) {
        const TPMT_SYM_DEF_OBJECT aes = {
                .algorithm = TPM2_ALG_AES,
                .keyBits.aes = 128,
                .mode.aes = TPM2_ALG_CFB,
        };
        TPM2B_PUBLIC tmpl = {
                .publicArea = {
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                            TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                            TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
                },
        };
        const TPM2B_SENSITIVE_CREATE sensitive = {};
        const TPM2B_DATA outside = {};
        const TPML_PCR_SELECTION creation_pcrs = {};

        if (alg == TPM2_SEALED_ECC) {
                tmpl.publicArea.type = TPM2_ALG_ECC;
                tmpl.publicArea.parameters.eccDetail = (TPMS_ECC_PARMS) {
                        .symmetric = aes,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf.scheme = TPM2_ALG_NULL,
                };
                tmpl.publicArea.unique.ecc.x.size = 32; /* zeros */
                tmpl.publicArea.unique.ecc.y.size = 32;
        } else {
                tmpl.publicArea.type = TPM2_ALG_RSA;
                tmpl.publicArea.parameters.rsaDetail = (TPMS_RSA_PARMS) {
                        .symmetric = aes,
                        .scheme.scheme = TPM2_ALG_NULL,
                        .keyBits = 2048,
                        .exponent = 0,
                };
                tmpl.publicArea.unique.rsa.size = 256; /* zeros */
        }

        return sym_Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &sensitive, &tmpl, &outside, &creation_pcrs, ret, NULL, NULL, NULL, NULL);
}

static int ecc_p256_supported(Tpm2 *t) {
        _cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more;
        TSS2_RC rc;

        rc = sym_Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_ECC_CURVES,
                                TPM2_ECC_NIST_P256, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
                return 0; /* a TPM without ECC may refuse the question itself */
        return cap->data.eccCurves.count > 0 && cap->data.eccCurves.eccCurves[0] == TPM2_ECC_NIST_P256;
}

static int srk_create(Tpm2 *t) {
        _cleanup_flush_ Handle primary = HANDLE(t);
        Tpm2PrimaryAlg alg = TPM2_SEALED_RSA;
        ESYS_TR persistent;
        TSS2_RC rc = TPM2_RC_FAILURE;

        if (ecc_p256_supported(t)) {
                alg = TPM2_SEALED_ECC;
                rc = srk_create_primary(t, alg, &primary.tr);
                if (rc != TSS2_RC_SUCCESS) {
                        log_debug("TPM2: cannot create an ECC P-256 storage root key (%s), trying RSA 2048",
                                  sym_Tss2_RC_Decode(rc));
                        alg = TPM2_SEALED_RSA;
                }
        }
        if (alg == TPM2_SEALED_RSA)
                rc = srk_create_primary(t, alg, &primary.tr);
        if (rc != TSS2_RC_SUCCESS) {
                switch (rc_base(rc)) {
                case TPM2_RC_AUTH_FAIL:
                case TPM2_RC_BAD_AUTH:
                        return log_error_errno(EACCES, "TPM2: no storage root key at 0x81000001, and the owner "
                                                       "hierarchy has a password, so none can be created");
                case TPM2_RC_HIERARCHY:
                        return log_error_errno(EACCES, "TPM2: no storage root key at 0x81000001, and the owner "
                                                       "hierarchy is disabled");
                default:
                        return tss_error(rc, EOPNOTSUPP, "creating a storage root key (ECC P-256 or RSA 2048)");
                }
        }

        rc = sym_Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, primary.tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                               TPM2_SRK_HANDLE, &persistent);
        switch (rc_base(rc)) {
        case TSS2_RC_SUCCESS:
                t->srk = persistent;
                t->srk_alg = alg;
                log_info("TPM2: created the storage root key (%s) at 0x81000001",
                         alg == TPM2_SEALED_ECC ? "ECC P-256" : "RSA 2048");
                return 0;
        case TPM2_RC_NV_DEFINED: {
                /* Made meanwhile by a program that does not take our lock. */
                int r = srk_find(t);
                if (r == 0)
                        return log_error_errno(EIO, "TPM2: 0x81000001 is taken but holds no object");
                return r < 0 ? r : 0;
        }
        case TPM2_RC_NV_SPACE:
                /* The same template gives the same key: a transient one
                 * serves as well, it only costs a CreatePrimary per use. */
                log_warning("TPM2: no room in the TPM to make the storage root key persistent; "
                            "using it for this operation only");
                t->srk = primary.tr;
                primary.tr = ESYS_TR_NONE;
                t->srk_transient = true;
                t->srk_alg = alg;
                return 0;
        default:
                return tss_error(rc, EIO, "making the storage root key persistent at 0x81000001");
        }
}

static int srk_get(Tpm2 *t) {
        _cleanup_close_ int lock = -1;
        int r;

        if (t->srk != ESYS_TR_NONE)
                return 0;
        r = srk_find(t);
        if (r != 0)
                return r < 0 ? r : 0;

        r = srk_lock(&lock);
        if (r < 0)
                return r;
        r = srk_find(t); /* made while we waited for the lock? */
        if (r != 0)
                return r < 0 ? r : 0;
        return srk_create(t);
}

/* ---- sessions and policy ---------------------------------------------- */

static int session_set(Tpm2 *t, ESYS_TR session, TPMA_SESSION attributes) {
        TSS2_RC rc = sym_Esys_TRSess_SetAttributes(t->esys, session, attributes | TPMA_SESSION_CONTINUESESSION, 0xFF);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "setting session attributes");
        return 0;
}

/* A session salted to the SRK: its key reaches the TPM encrypted to the SRK,
 * so whoever listens on the bus can neither read the parameters it encrypts
 * nor test PIN guesses against its HMACs. */
static int session_start(Tpm2 *t, TPM2_SE type, Handle *ret) {
        TSS2_RC rc = sym_Esys_StartAuthSession(t->esys, t->srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                           NULL, type, &session_aes, TPM2_ALG_SHA256, &ret->tr);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "starting a session salted to the storage root key");
        /* Flushed explicitly on every path, so the TPM never drops it first. */
        return session_set(t, ret->tr, 0);
}

/* PolicyPCR over the sha256 PCRs in mask at their current values, then
 * PolicyAuthValue with a PIN; the session's digest in ret_digest. */
static int policy_run(Tpm2 *t, ESYS_TR session, uint32_t pcr_mask, bool pin, uint8_t ret_digest[TPM2_SEALED_POLICY_SIZE]) {
        _cleanup_esys_ TPM2B_DIGEST *digest = NULL;
        TSS2_RC rc;

        if (pcr_mask != 0) {
                const TPML_PCR_SELECTION selection = {
                        .count = 1,
                        .pcrSelections[0] = {
                                .hash = TPM2_ALG_SHA256,
                                .sizeofSelect = 3,
                                .pcrSelect = { pcr_mask & 0xFF, (pcr_mask >> 8) & 0xFF, (pcr_mask >> 16) & 0xFF },
                        },
                };
                const TPM2B_DIGEST current = {}; /* empty: the TPM takes the PCRs as they are */

                rc = sym_Esys_PolicyPCR(t->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &selection);
                if (rc != TSS2_RC_SUCCESS)
                        return tss_error(rc, EIO, "PolicyPCR");
        }
        if (pin) {
                rc = sym_Esys_PolicyAuthValue(t->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
                if (rc != TSS2_RC_SUCCESS)
                        return tss_error(rc, EIO, "PolicyAuthValue");
        }
        rc = sym_Esys_PolicyGetDigest(t->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "PolicyGetDigest");
        if (digest->size != TPM2_SEALED_POLICY_SIZE)
                return log_error_errno(EIO, "TPM2: the policy digest has %u bytes, not %d", digest->size,
                                       TPM2_SEALED_POLICY_SIZE);
        memcpy(ret_digest, digest->buffer, TPM2_SEALED_POLICY_SIZE);
        return 0;
}

/* ---- seal and unseal -------------------------------------------------- */

/* given: the secret to seal (passwd re-seals the one the keyslot opens
 * with), or NULL for fresh random bytes. */
static int seal(Tpm2 *t, const uint32_t *pcrs, size_t n_pcrs, const char *pin, const SecureBuffer *given,
                Tpm2Sealed *ret_sealed, SecureBuffer **ret_secret) {
        _cleanup_secure_buffer_ SecureBuffer *auth = NULL, *sensitive_buf = NULL, *secret = NULL;
        _cleanup_flush_ Handle trial = HANDLE(t), session = HANDLE(t);
        _cleanup_esys_ TPM2B_PRIVATE *private = NULL;
        _cleanup_esys_ TPM2B_PUBLIC *public = NULL;
        TPM2B_SENSITIVE_CREATE *sensitive;
        const TPM2B_DATA outside = {};
        const TPML_PCR_SELECTION creation_pcrs = {};
        Tpm2Sealed s = {};
        size_t offset = 0;
        TSS2_RC rc;
        int r;

        for (size_t i = 0; i < n_pcrs; i++) {
                if (pcrs[i] >= TPM2_SEALED_PCR_COUNT)
                        return log_error_errno(EINVAL, "TPM2: there is no PCR %u (0..23)", pcrs[i]);
                s.pcr_mask |= UINT32_C(1) << pcrs[i];
        }
        s.pin = pin != NULL;

        r = srk_get(t);
        if (r < 0)
                return r;
        s.primary_alg = t->srk_alg;

        if (pin) {
                if (RAND_bytes(s.salt, sizeof s.salt) != 1)
                        return log_error_errno(EIO, "TPM2: cannot get random bytes for the PIN salt");
                s.has_salt = true;
                r = tpm2_pin_auth_value(pin, s.salt, sizeof s.salt, &auth);
                if (r < 0)
                        return log_error_errno(r, "TPM2: cannot derive the authorization value from the PIN: %m");
        }

        /* The policy digest as the TPM computes it (a trial session runs the
         * policy without enforcing it): what unseal will compare against. */
        rc = sym_Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   NULL, TPM2_SE_TRIAL, &(const TPMT_SYM_DEF) { .algorithm = TPM2_ALG_NULL },
                                   TPM2_ALG_SHA256, &trial.tr);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "starting a trial policy session");
        r = session_set(t, trial.tr, 0);
        if (r < 0)
                return r;
        r = policy_run(t, trial.tr, s.pcr_mask, s.pin, s.policy_hash);
        if (r < 0)
                return r;
        handle_flush(&trial);

        /* The secret and the authValue go to the TPM in one parameter, which
         * the session encrypts; here they live in locked memory. */
        r = secure_buffer_new(sizeof(TPM2B_SENSITIVE_CREATE), &sensitive_buf);
        if (r < 0)
                return log_oom();
        sensitive = sensitive_buf->data;
        sensitive->sensitive.data.size = TPM2_SEALED_SECRET_SIZE;
        if (given) {
                if (given->size != TPM2_SEALED_SECRET_SIZE)
                        return log_error_errno(EINVAL, "TPM2: a sealed secret has %d bytes, not %zu",
                                               TPM2_SEALED_SECRET_SIZE, given->size);
                memcpy(sensitive->sensitive.data.buffer, given->data, TPM2_SEALED_SECRET_SIZE);
        } else if (RAND_priv_bytes(sensitive->sensitive.data.buffer, TPM2_SEALED_SECRET_SIZE) != 1)
                return log_error_errno(EIO, "TPM2: cannot get random bytes for the secret");
        if (auth) {
                sensitive->sensitive.userAuth.size = (UINT16) auth->size;
                memcpy(sensitive->sensitive.userAuth.buffer, auth->data, auth->size);
        }

        /* No USERWITHAUTH: only the policy opens it. No NODA: wrong PINs count. */
        TPM2B_PUBLIC template = {
                .publicArea = {
                        .type = TPM2_ALG_KEYEDHASH,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT,
                        .authPolicy.size = TPM2_SEALED_POLICY_SIZE,
                        .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                },
        };
        memcpy(template.publicArea.authPolicy.buffer, s.policy_hash, TPM2_SEALED_POLICY_SIZE);

        r = session_start(t, TPM2_SE_HMAC, &session);
        if (r < 0)
                return r;
        r = session_set(t, session.tr, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT);
        if (r < 0)
                return r;
        rc = sym_Esys_Create(t->esys, t->srk, session.tr, ESYS_TR_NONE, ESYS_TR_NONE, sensitive, &template, &outside,
                         &creation_pcrs, &private, &public, NULL, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "creating the sealed object");

        rc = sym_Tss2_MU_TPM2B_PRIVATE_Marshal(private, s.blob, sizeof s.blob, &offset);
        if (rc == TSS2_RC_SUCCESS)
                rc = sym_Tss2_MU_TPM2B_PUBLIC_Marshal(public, s.blob, sizeof s.blob, &offset);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "marshalling the sealed object");
        s.blob_size = offset;

        r = secure_buffer_new(TPM2_SEALED_SECRET_SIZE, &secret);
        if (r < 0)
                return log_oom();
        memcpy(secret->data, sensitive->sensitive.data.buffer, TPM2_SEALED_SECRET_SIZE);

        char list[3 * TPM2_SEALED_PCR_COUNT];
        pcr_list(s.pcr_mask, list, sizeof list);
        log_debug("TPM2: sealed a secret to PCRs %s (sha256)%s", list, pin ? " and a PIN" : "");

        *ret_sealed = s;
        if (ret_secret)
                *ret_secret = TAKE_PTR(secret);
        return 0;
}

int tpm2_seal(Tpm2 *t, const uint32_t *pcrs, size_t n_pcrs, const char *pin,
              Tpm2Sealed *ret_sealed, SecureBuffer **ret_secret) {
        return seal(t, pcrs, n_pcrs, pin, NULL, ret_sealed, ret_secret);
}

int tpm2_seal_secret(Tpm2 *t, const uint32_t *pcrs, size_t n_pcrs, const char *pin, const SecureBuffer *secret,
                     Tpm2Sealed *ret_sealed) {
        return seal(t, pcrs, n_pcrs, pin, secret, ret_sealed, NULL);
}

int tpm2_get_lockout(Tpm2 *t, Tpm2Lockout *ret) {
        _cleanup_esys_ TPMS_CAPABILITY_DATA *cap = NULL;
        Tpm2Lockout l = {};
        TPMI_YES_NO more;
        TSS2_RC rc;

        rc = sym_Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                TPM2_PT_PERMANENT, TPM2_PT_LOCKOUT_RECOVERY - TPM2_PT_PERMANENT + 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
                return tss_error(rc, EIO, "reading the dictionary-attack state");
        for (uint32_t i = 0; i < cap->data.tpmProperties.count && i < TPM2_MAX_TPM_PROPERTIES; i++) {
                const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];
                switch (p->property) {
                case TPM2_PT_PERMANENT:
                        l.in_lockout = p->value & TPMA_PERMANENT_INLOCKOUT;
                        break;
                case TPM2_PT_LOCKOUT_COUNTER:
                        l.failures = p->value;
                        break;
                case TPM2_PT_MAX_AUTH_FAIL:
                        l.max_failures = p->value;
                        break;
                case TPM2_PT_LOCKOUT_INTERVAL:
                        l.interval = p->value;
                        break;
                case TPM2_PT_LOCKOUT_RECOVERY:
                        l.recovery = p->value;
                        break;
                }
        }
        *ret = l;
        return 0;
}

static int lockout_error(Tpm2 *t) {
        Tpm2Lockout l;

        if (tpm2_get_lockout(t, &l) < 0 || l.interval == 0)
                return log_error_errno(ETIME, "TPM2: the TPM is in dictionary-attack lockout after too many wrong "
                                              "PINs; it stays so until the lockout is reset with its lockout "
                                              "authorization");
        return log_error_errno(ETIME, "TPM2: the TPM is in dictionary-attack lockout after too many wrong PINs; "
                                      "it accepts another attempt within %" PRIu32 " s", l.interval);
}

static int unseal_error(Tpm2 *t, TSS2_RC rc, uint32_t pcr_mask) {
        char list[3 * TPM2_SEALED_PCR_COUNT];
        Tpm2Lockout l;

        switch (rc_base(rc)) {
        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_BAD_AUTH:
                if (tpm2_get_lockout(t, &l) < 0 || l.max_failures == 0)
                        return log_error_errno(EKEYREJECTED, "TPM2: wrong PIN");
                if (l.failures >= l.max_failures)
                        return log_error_errno(EKEYREJECTED, "TPM2: wrong PIN; that was the last attempt, the TPM "
                                                             "is now in dictionary-attack lockout for up to %" PRIu32 " s",
                                               l.interval);
                return log_error_errno(EKEYREJECTED, "TPM2: wrong PIN (%" PRIu32 " of %" PRIu32 " attempts left "
                                                     "before the TPM locks out)",
                                       l.max_failures - l.failures, l.max_failures);
        case TPM2_RC_LOCKOUT:
                return lockout_error(t);
        case TPM2_RC_POLICY_FAIL:
                pcr_list(pcr_mask, list, sizeof list);
                return log_error_errno(ESTALE, "TPM2: the TPM refused the policy (PCRs %s): the boot state changed "
                                               "since the key was sealed; use the recovery key", list);
        default:
                return tss_error(rc, EIO, "unsealing");
        }
}

int tpm2_unseal(Tpm2 *t, const Tpm2Sealed *s, const char *pin, SecureBuffer **ret_secret) {
        _cleanup_secure_buffer_ SecureBuffer *auth = NULL, *secret = NULL;
        _cleanup_flush_ Handle session = HANDLE(t), object = HANDLE(t);
        _cleanup_esys_ TPM2B_SENSITIVE_DATA *out = NULL;
        TPM2B_PRIVATE private;
        TPM2B_PUBLIC public;
        char list[3 * TPM2_SEALED_PCR_COUNT];
        TSS2_RC rc;
        int r;

        if (s->pin && !pin)
                return log_error_errno(EKEYREJECTED, "TPM2: the sealed key needs a PIN");
        if (s->blob_size > sizeof s->blob || (s->pcr_mask >> TPM2_SEALED_PCR_COUNT) != 0 ||
            tpm2_blob_unmarshal(s->blob, s->blob_size, &private, &public) < 0 ||
            memcmp(public.publicArea.authPolicy.buffer, s->policy_hash, TPM2_SEALED_POLICY_SIZE) != 0)
                return log_error_errno(EUCLEAN, "TPM2: the sealed object is malformed or does not match its policy hash");
        pcr_list(s->pcr_mask, list, sizeof list);

        r = srk_get(t);
        if (r < 0)
                return r;

        if (s->pin) {
                r = tpm2_pin_auth_value(pin, s->has_salt ? s->salt : NULL, sizeof s->salt, &auth);
                if (r < 0)
                        return log_error_errno(r, "TPM2: cannot derive the authorization value from the PIN: %m");
        }

        r = session_start(t, TPM2_SE_HMAC, &session);
        if (r < 0)
                return r;
        rc = sym_Esys_Load(t->esys, t->srk, session.tr, ESYS_TR_NONE, ESYS_TR_NONE, &private, &public, &object.tr);
        if (rc != TSS2_RC_SUCCESS) {
                /* The parent's key checks the blob's integrity: another SRK, another TPM. */
                if (rc_base(rc) == TPM2_RC_INTEGRITY)
                        return log_error_errno(ENOKEY, "TPM2: this TPM cannot load the sealed key (sealed under %s "
                                                       "storage root key): it was sealed on another TPM, or this "
                                                       "TPM was cleared since; use the recovery key",
                                               s->primary_alg == TPM2_SEALED_RSA ? "an RSA" : "an ECC");
                return tss_error(rc, EIO, "loading the sealed object");
        }

        if (auth) {
                TPM2B_AUTH a = { .size = (UINT16) auth->size };
                memcpy(a.buffer, auth->data, auth->size);
                rc = sym_Esys_TR_SetAuth(t->esys, object.tr, &a);
                explicit_bzero(&a, sizeof a);
                object.has_auth = true;
                if (rc != TSS2_RC_SUCCESS)
                        return tss_error(rc, EIO, "setting the authorization value");
        }

        for (int attempt = 0;; attempt++) {
                _cleanup_flush_ Handle policy = HANDLE(t);
                uint8_t digest[TPM2_SEALED_POLICY_SIZE];

                r = session_start(t, TPM2_SE_POLICY, &policy);
                if (r < 0)
                        return r;
                r = policy_run(t, policy.tr, s->pcr_mask, s->pin, digest);
                if (r < 0)
                        return r;
                /* Known before the object is touched: a PCR change costs no
                 * dictionary-attack failure and gets its own message. */
                if (memcmp(digest, s->policy_hash, sizeof digest) != 0)
                        return log_error_errno(ESTALE, "TPM2: PCRs %s (sha256) differ from when the key was sealed: "
                                                       "firmware, boot loader or Secure Boot state changed; use the "
                                                       "recovery key", list);

                /* Response encryption: the secret crosses the bus encrypted. */
                r = session_set(t, session.tr, TPMA_SESSION_ENCRYPT);
                if (r < 0)
                        return r;
                rc = sym_Esys_Unseal(t->esys, object.tr, policy.tr, session.tr, ESYS_TR_NONE, &out);
                if (rc == TSS2_RC_SUCCESS)
                        break;
                if (rc_base(rc) == TPM2_RC_PCR_CHANGED && attempt + 1 < PCR_CHANGED_RETRIES) {
                        log_debug("TPM2: PCRs changed between PolicyPCR and Unseal, retrying");
                        continue;
                }
                return unseal_error(t, rc, s->pcr_mask);
        }

        if (out->size == 0) {
                explicit_bzero(out, sizeof *out);
                return log_error_errno(EUCLEAN, "TPM2: the sealed object holds no data");
        }
        r = secure_buffer_new(out->size, &secret);
        if (r >= 0)
                memcpy(secret->data, out->buffer, out->size);
        explicit_bzero(out, sizeof *out);
        if (r < 0)
                return log_oom();

        *ret_secret = TAKE_PTR(secret);
        return 0;
}
