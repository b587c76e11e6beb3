/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A PKCS#11 module for tests: SoftHSM2 (or the module in
 * $PKCS11_SHIM_MODULE) with its token's PIN state taken from a file, since
 * SoftHSM2 never locks a PIN and flags "count low" after any failure.
 * $PKCS11_SHIM_STATE names the file; its first word is the state:
 *   ok      no PIN flags (SoftHSM2's own are dropped)
 *   low     CKF_USER_PIN_COUNT_LOW
 *   final   CKF_USER_PIN_FINAL_TRY
 *   locked  CKF_USER_PIN_LOCKED, and C_Login answers CKR_PIN_LOCKED
 * A missing file is "ok". Everything else passes through. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST real, shim;

static const char *state(void) {
        static char word[16];
        const char *p = getenv("PKCS11_SHIM_STATE");
        FILE *f = p ? fopen(p, "re") : NULL;
        word[0] = 0;
        if (f) {
                if (fscanf(f, "%15s", word) != 1)
                        word[0] = 0;
                fclose(f);
        }
        return word[0] ? word : "ok";
}

static CK_RV shim_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
        CK_RV rv = real.C_GetTokenInfo(slot, info);
        if (rv != CKR_OK)
                return rv;
        info->flags &= ~(CK_FLAGS) (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
        const char *s = state();
        if (strcmp(s, "low") == 0)
                info->flags |= CKF_USER_PIN_COUNT_LOW;
        else if (strcmp(s, "final") == 0)
                info->flags |= CKF_USER_PIN_FINAL_TRY;
        else if (strcmp(s, "locked") == 0)
                info->flags |= CKF_USER_PIN_LOCKED;
        return CKR_OK;
}

static CK_RV shim_login(CK_SESSION_HANDLE s, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
        if (strcmp(state(), "locked") == 0)
                return CKR_PIN_LOCKED;
        return real.C_Login(s, type, pin, len);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ret);
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ret) {
        const char *path = getenv("PKCS11_SHIM_MODULE");
        CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
        CK_FUNCTION_LIST_PTR l;

        if (!real.C_GetFunctionList) {
                void *h = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
                if (!h)
                        return CKR_GENERAL_ERROR;
                *(void **) &get = dlsym(h, "C_GetFunctionList");
                if (!get || get(&l) != CKR_OK)
                        return CKR_GENERAL_ERROR;
                real = *l;
                shim = real;
                shim.C_GetTokenInfo = shim_get_token_info;
                shim.C_Login = shim_login;
                shim.C_GetFunctionList = C_GetFunctionList;
        }
        *ret = &shim;
        return CKR_OK;
}
