/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-tss2.h"

DLSYM_FUNCTION(Tss2_MU_TPM2B_PRIVATE_Marshal);
DLSYM_FUNCTION(Tss2_MU_TPM2B_PRIVATE_Unmarshal);
DLSYM_FUNCTION(Tss2_MU_TPM2B_PUBLIC_Marshal);
DLSYM_FUNCTION(Tss2_MU_TPM2B_PUBLIC_Unmarshal);
DLSYM_FUNCTION(Esys_Create);
DLSYM_FUNCTION(Esys_CreatePrimary);
DLSYM_FUNCTION(Esys_EvictControl);
DLSYM_FUNCTION(Esys_Finalize);
DLSYM_FUNCTION(Esys_FlushContext);
DLSYM_FUNCTION(Esys_Free);
DLSYM_FUNCTION(Esys_GetCapability);
DLSYM_FUNCTION(Esys_Initialize);
DLSYM_FUNCTION(Esys_Load);
DLSYM_FUNCTION(Esys_PolicyAuthValue);
DLSYM_FUNCTION(Esys_PolicyGetDigest);
DLSYM_FUNCTION(Esys_PolicyPCR);
DLSYM_FUNCTION(Esys_ReadPublic);
DLSYM_FUNCTION(Esys_StartAuthSession);
DLSYM_FUNCTION(Esys_TRSess_SetAttributes);
DLSYM_FUNCTION(Esys_TR_Close);
DLSYM_FUNCTION(Esys_TR_FromTPMPublic);
DLSYM_FUNCTION(Esys_TR_SetAuth);
DLSYM_FUNCTION(Esys_Unseal);
DLSYM_FUNCTION(Tss2_RC_Decode);
DLSYM_FUNCTION(Tss2_TctiLdr_Finalize);
DLSYM_FUNCTION(Tss2_TctiLdr_Initialize);

int dlopen_tss2_mu(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_ERR, "libtss2-mu.so.0", "TPM2 tokens",
                               DLSYM_ARG(Tss2_MU_TPM2B_PRIVATE_Marshal),
                               DLSYM_ARG(Tss2_MU_TPM2B_PRIVATE_Unmarshal),
                               DLSYM_ARG(Tss2_MU_TPM2B_PUBLIC_Marshal),
                               DLSYM_ARG(Tss2_MU_TPM2B_PUBLIC_Unmarshal),
                               NULL);
}

int dlopen_tss2(void) {
        static int esys, rc, tctildr;
        int r;

        r = dlopen_tss2_mu();
        if (r < 0)
                return r;
        r = dlopen_many_sym(&esys, LOG_ERR, "libtss2-esys.so.0", "the TPM2",
                            DLSYM_ARG(Esys_Create),
                            DLSYM_ARG(Esys_CreatePrimary),
                            DLSYM_ARG(Esys_EvictControl),
                            DLSYM_ARG(Esys_Finalize),
                            DLSYM_ARG(Esys_FlushContext),
                            DLSYM_ARG(Esys_Free),
                            DLSYM_ARG(Esys_GetCapability),
                            DLSYM_ARG(Esys_Initialize),
                            DLSYM_ARG(Esys_Load),
                            DLSYM_ARG(Esys_PolicyAuthValue),
                            DLSYM_ARG(Esys_PolicyGetDigest),
                            DLSYM_ARG(Esys_PolicyPCR),
                            DLSYM_ARG(Esys_ReadPublic),
                            DLSYM_ARG(Esys_StartAuthSession),
                            DLSYM_ARG(Esys_TRSess_SetAttributes),
                            DLSYM_ARG(Esys_TR_Close),
                            DLSYM_ARG(Esys_TR_FromTPMPublic),
                            DLSYM_ARG(Esys_TR_SetAuth),
                            DLSYM_ARG(Esys_Unseal),
                            NULL);
        if (r < 0)
                return r;
        r = dlopen_many_sym(&rc, LOG_ERR, "libtss2-rc.so.0", "the TPM2",
                            DLSYM_ARG(Tss2_RC_Decode),
                            NULL);
        if (r < 0)
                return r;
        r = dlopen_many_sym(&tctildr, LOG_ERR, "libtss2-tctildr.so.0", "the TPM2",
                            DLSYM_ARG(Tss2_TctiLdr_Finalize),
                            DLSYM_ARG(Tss2_TctiLdr_Initialize),
                            NULL);
        if (r < 0)
                return r;
        return 0;
}
