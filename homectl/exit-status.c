/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "exit-status.h"
#include "macro.h"

/* The one table of exit statuses: number, meaning (for --help) and the
 * D-Bus errors that map to it. An error not listed gives EXIT_FAIL. */
static const struct {
        int status;
        const char *help;
        const char *errors[10];
} table[] = {
        { EXIT_OK, "success", {} },
        { EXIT_FAIL, "failure not listed below, e.g. the system bus or hearthd cannot be reached", {} },
        { EXIT_USAGE, "invalid command line, e.g. an unknown verb or option, a malformed size", {} },
        { EXIT_POOL_PROBLEMS, "pool check found problems (left after --repair)", {} },
        { EXIT_NO_POOL,
          "no usable extent pool: none found, a partition missing, metadata corrupt\n(" BUS_ERROR_POOL_NO_POOL ")",
          { BUS_ERROR_POOL_NO_POOL } },
        { EXIT_INVALID_RECORD,
          "the record is invalid, or modified after it was signed; the reason,\n"
          "naming the field, is on standard error (inspect --identity, create, update,\n"
          "firstboot, register); or a record (registered, or carried by a home at its\n"
          "first login) is unsigned or signed by a key this machine does not trust\n"
          "(" BUS_ERROR_BAD_SIGNATURE ")",
          { BUS_ERROR_BAD_SIGNATURE } },
        { EXIT_NO_INPUT,
          "the --identity input, a register FILE, or a firstboot credential or its\n"
          "directory, could not be read; or adopt's PATH is no USER.home image or\n"
          "USER.homedir directory (" BUS_ERROR_UNRECOGNIZED_HOME_FORMAT ")",
          { BUS_ERROR_UNRECOGNIZED_HOME_FORMAT } },
        { EXIT_NO_SUCH_HOME, "no such home (" BUS_ERROR_NO_SUCH_HOME ")", { BUS_ERROR_NO_SUCH_HOME } },
        { EXIT_BUSY,
          "the home is busy, try again later (HomeBusy, HomeInUse, TooManyOperations)",
          { BUS_ERROR_HOME_BUSY, BUS_ERROR_HOME_IN_USE, BUS_ERROR_TOO_MANY_OPERATIONS } },
        { EXIT_ACCESS_DENIED,
          "access denied (" BUS_ERROR_ACCESS_DENIED "), or the record\n"
          "returned is incomplete for this caller (update), or firstboot --root not run\nas root",
          { BUS_ERROR_ACCESS_DENIED, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" } },
        { EXIT_BAD_PASSWORD,
          "authentication failed: wrong or missing password and no way to ask\n"
          "(BadPassword, BadPasswordAndNoToken, AuthenticationLimitHit, BadRecoveryKey,\n"
          "BadPin…, TokenPinNeeded, TokenPinLocked); or a new password refused (empty,\n"
          "or read as a recovery key: LowPasswordQuality)",
          { BUS_ERROR_BAD_PASSWORD, BUS_ERROR_BAD_PASSWORD_AND_NO_TOKEN, BUS_ERROR_AUTHENTICATION_LIMIT_HIT,
            BUS_ERROR_BAD_RECOVERY_KEY, BUS_ERROR_BAD_PIN, BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT,
            BUS_ERROR_BAD_PIN_ONE_TRY_LEFT, BUS_ERROR_TOKEN_PIN_NEEDED, BUS_ERROR_TOKEN_PIN_LOCKED,
            BUS_ERROR_LOW_PASSWORD_QUALITY } },
        { EXIT_TPM_STATE_CHANGED,
          "the TPM no longer unseals the home's key: its PCRs changed (firmware or\n"
          "boot change) or it is another TPM; activate with the recovery key\n"
          "(" BUS_ERROR_TPM_STATE_CHANGED ")",
          { BUS_ERROR_TPM_STATE_CHANGED } },
        { EXIT_TPM_UNAVAILABLE,
          "the home's key is sealed (or to be sealed) in a TPM and no usable TPM was\n"
          "found; the home's recovery key still opens it (" BUS_ERROR_TPM_UNAVAILABLE ")",
          { BUS_ERROR_TPM_UNAVAILABLE } },
        { EXIT_FOREIGN_STORAGE,
          "the home's storage is not provably its own, and was left untouched: its\n"
          "LUKS or partition UUID is not the record's, or its TPM2 token asks for no\n"
          "PIN or other PCRs than the record's (a different image?); or remove found\n"
          "another volume (" BUS_ERROR_FOREIGN_STORAGE ")",
          { BUS_ERROR_FOREIGN_STORAGE } },
};

/* For errors hearthd may send without a message, words better than the
 * error's name. */
static const struct {
        const char *name, *message;
} default_messages[] = {
        { BUS_ERROR_TOKEN_PIN_LOCKED,
          "the TPM locks out password attempts after too many wrong ones (dictionary-attack "
          "protection); try again later" },
        { BUS_ERROR_TPM_STATE_CHANGED,
          "the TPM no longer unseals the key: its state changed (firmware or boot change)" },
        { BUS_ERROR_TPM_UNAVAILABLE, "the key is sealed in a TPM and no usable TPM was found" },
        { BUS_ERROR_FOREIGN_STORAGE, "the home's storage is not provably its own (a different image?)" },
};

const char *bus_error_default_message(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(default_messages); i++)
                if (strcmp(name, default_messages[i].name) == 0)
                        return default_messages[i].message;
        return NULL;
}

int bus_error_hint(const char *name, const char *user, char **ret) {
        *ret = NULL;
        if (!name || strcmp(name, BUS_ERROR_TPM_STATE_CHANGED) != 0)
                return 0;
        if (!user)
                user = "USER";
        if (asprintf(ret,
                     "home %s: the TPM's state changed (firmware or boot change); activate with the recovery key: "
                     "PASSWORD=<recovery key> homectl activate %s",
                     user, user) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int exit_status_from_bus_error(const char *name, int r) {
        if (name) {
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        for (size_t k = 0; k < ELEMENTSOF(table[i].errors) && table[i].errors[k]; k++)
                                if (strcmp(name, table[i].errors[k]) == 0)
                                        return table[i].status;
                return EXIT_FAIL;
        }
        if (r == -EACCES || r == -EPERM)
                return EXIT_ACCESS_DENIED;
        return EXIT_FAIL;
}

int bus_error_wants_pin(const char *name) {
        return name && (strcmp(name, BUS_ERROR_TOKEN_PIN_NEEDED) == 0 || strcmp(name, BUS_ERROR_BAD_PIN) == 0 ||
                        strcmp(name, BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT) == 0 ||
                        strcmp(name, BUS_ERROR_BAD_PIN_ONE_TRY_LEFT) == 0);
}

int bus_error_wants_password(const char *name) {
        return name && (strcmp(name, BUS_ERROR_BAD_PASSWORD) == 0 ||
                        strcmp(name, BUS_ERROR_BAD_PASSWORD_AND_NO_TOKEN) == 0);
}

void exit_status_print_help(FILE *f) {
        fputs("Exit status:\n", f);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                const char *p = table[i].help;
                fprintf(f, "  %-3d ", table[i].status);
                /* Continuation lines line up under the first. */
                for (; *p; p++) {
                        fputc(*p, f);
                        if (*p == '\n')
                                fputs("      ", f);
                }
                fputc('\n', f);
        }
        fputs("  with: the command's exit status, 128+N if it was killed by signal N,\n"
              "      127 if it could not be started\n",
              f);
}
