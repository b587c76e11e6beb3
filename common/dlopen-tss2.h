/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "dlopen-util.h"

/* tpm2-tss, opened when first needed (dlopen-util.h): libtss2-mu.so.0 alone
 * for reading and writing sealed blobs (the systemd-tpm2 token, no TPM
 * needed); dlopen_tss2() opens it with libtss2-esys.so.0, libtss2-rc.so.0
 * and libtss2-tctildr.so.0, for talking to a TPM. */
int dlopen_tss2_mu(void);
int dlopen_tss2(void);

DLSYM_PROTOTYPE(Tss2_MU_TPM2B_PRIVATE_Marshal);
DLSYM_PROTOTYPE(Tss2_MU_TPM2B_PRIVATE_Unmarshal);
DLSYM_PROTOTYPE(Tss2_MU_TPM2B_PUBLIC_Marshal);
DLSYM_PROTOTYPE(Tss2_MU_TPM2B_PUBLIC_Unmarshal);
DLSYM_PROTOTYPE(Esys_Create);
DLSYM_PROTOTYPE(Esys_CreatePrimary);
DLSYM_PROTOTYPE(Esys_EvictControl);
DLSYM_PROTOTYPE(Esys_Finalize);
DLSYM_PROTOTYPE(Esys_FlushContext);
DLSYM_PROTOTYPE(Esys_Free);
DLSYM_PROTOTYPE(Esys_GetCapability);
DLSYM_PROTOTYPE(Esys_Initialize);
DLSYM_PROTOTYPE(Esys_Load);
DLSYM_PROTOTYPE(Esys_PolicyAuthValue);
DLSYM_PROTOTYPE(Esys_PolicyGetDigest);
DLSYM_PROTOTYPE(Esys_PolicyPCR);
DLSYM_PROTOTYPE(Esys_ReadPublic);
DLSYM_PROTOTYPE(Esys_StartAuthSession);
DLSYM_PROTOTYPE(Esys_TRSess_SetAttributes);
DLSYM_PROTOTYPE(Esys_TR_Close);
DLSYM_PROTOTYPE(Esys_TR_FromTPMPublic);
DLSYM_PROTOTYPE(Esys_TR_SetAuth);
DLSYM_PROTOTYPE(Esys_Unseal);
DLSYM_PROTOTYPE(Tss2_RC_Decode);
DLSYM_PROTOTYPE(Tss2_TctiLdr_Finalize);
DLSYM_PROTOTYPE(Tss2_TctiLdr_Initialize);
