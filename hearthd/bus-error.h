/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Error names of org.freedesktop.home1, as systemd-homed sends them, so
 * clients written for homed recognise every failure. */
#define BUS_ERROR_NO_SUCH_HOME            "org.freedesktop.home1.NoSuchHome"
#define BUS_ERROR_USER_NAME_EXISTS        "org.freedesktop.home1.UserNameExists"
#define BUS_ERROR_UID_IN_USE              "org.freedesktop.home1.UIDInUse"
#define BUS_ERROR_BAD_SIGNATURE           "org.freedesktop.home1.BadSignature"
#define BUS_ERROR_HOME_ABSENT             "org.freedesktop.home1.HomeAbsent"
#define BUS_ERROR_HOME_UNFIXATED          "org.freedesktop.home1.HomeUnfixated"
#define BUS_ERROR_HOME_ALREADY_ACTIVE     "org.freedesktop.home1.HomeAlreadyActive"
#define BUS_ERROR_HOME_ALREADY_FIXATED    "org.freedesktop.home1.HomeAlreadyFixated"
#define BUS_ERROR_HOME_NOT_ACTIVE         "org.freedesktop.home1.HomeNotActive"
#define BUS_ERROR_HOME_LOCKED             "org.freedesktop.home1.HomeLocked"
#define BUS_ERROR_HOME_NOT_LOCKED         "org.freedesktop.home1.HomeNotLocked"
#define BUS_ERROR_HOME_BUSY               "org.freedesktop.home1.HomeBusy"
#define BUS_ERROR_HOME_IN_USE             "org.freedesktop.home1.HomeInUse"
#define BUS_ERROR_HOME_EXISTS             "org.freedesktop.home1.HomeExists"
#define BUS_ERROR_HOME_CANT_AUTHENTICATE  "org.freedesktop.home1.HomeCantAuthenticate"
#define BUS_ERROR_BAD_PASSWORD            "org.freedesktop.home1.BadPassword"
#define BUS_ERROR_BAD_PASSWORD_AND_NO_TOKEN "org.freedesktop.home1.BadPasswordAndNoToken"
#define BUS_ERROR_BAD_RECOVERY_KEY        "org.freedesktop.home1.BadRecoveryKey"
#define BUS_ERROR_AUTHENTICATION_LIMIT_HIT "org.freedesktop.home1.AuthenticationLimitHit"
#define BUS_ERROR_NO_DISK_SPACE           "org.freedesktop.home1.NoDiskSpace"
#define BUS_ERROR_BAD_HOME_SIZE           "org.freedesktop.home1.BadHomeSize"
#define BUS_ERROR_RECORD_MISMATCH         "org.freedesktop.home1.RecordMismatch"
#define BUS_ERROR_RECORD_DOWNGRADE        "org.freedesktop.home1.RecordDowngrade"
#define BUS_ERROR_RECORD_SIGNED           "org.freedesktop.home1.RecordSigned"
#define BUS_ERROR_TOO_MANY_OPERATIONS     "org.freedesktop.home1.TooManyOperations"
#define BUS_ERROR_REBALANCE_NOT_NEEDED    "org.freedesktop.home1.RebalanceNotNeeded"
#define BUS_ERROR_LOW_PASSWORD_QUALITY    "org.freedesktop.home1.LowPasswordQuality"
#define BUS_ERROR_TOKEN_PIN_LOCKED        "org.freedesktop.home1.TokenPinLocked"
/* Hearth's own: TPM2-sealed homes, which homed does not have. */
#define BUS_ERROR_TPM_STATE_CHANGED       "io.hearth.Home.TpmStateChanged"
#define BUS_ERROR_TPM_UNAVAILABLE         "io.hearth.Home.TpmUnavailable"
#define BUS_ERROR_FOREIGN_STORAGE         "io.hearth.Home.ForeignStorage"

#define BUS_ERROR_ACCESS_DENIED           "org.freedesktop.DBus.Error.AccessDenied"
#define BUS_ERROR_INVALID_ARGS            "org.freedesktop.DBus.Error.InvalidArgs"
#define BUS_ERROR_NOT_SUPPORTED           "org.freedesktop.DBus.Error.NotSupported"
#define BUS_ERROR_FAILED                  "org.freedesktop.DBus.Error.Failed"
#define BUS_ERROR_NO_MEMORY               "org.freedesktop.DBus.Error.NoMemory"

/* The D-Bus error for a hearth-work exit status, given the operation (a
 * wrong password means something else to an operation with no secret). */
const char *bus_error_from_worker(int status, const char *op);
