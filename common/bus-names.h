/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus contract between hearthd and its clients (homectl, pam_hearth,
 * hearth-accounts, bench, tests): the bus name, object paths, interfaces,
 * error names and polkit actions of org.freedesktop.home1 and of Hearth's
 * io.hearth.Pool1 beside it. Spelled here only; the polkit actions must
 * match org.freedesktop.home1.policy, installed with hearthd.
 *
 * org.freedesktop.Accounts is not here: only hearth-accounts speaks it
 * (hearth-accounts/accounts.h). */

/* ---- org.freedesktop.home1 ------------------------------------------------ */

#define HOME1_BUS_NAME          "org.freedesktop.home1"
#define HOME1_MANAGER_PATH      "/org/freedesktop/home1"
#define HOME1_MANAGER_INTERFACE HOME1_BUS_NAME ".Manager"
/* A home's object is HOME1_HOME_PATH_PREFIX "/" followed by its escaped name. */
#define HOME1_HOME_PATH_PREFIX  HOME1_MANAGER_PATH "/home"
#define HOME1_HOME_INTERFACE    HOME1_BUS_NAME ".Home"

/* Error names as systemd-homed sends them, so clients written for homed
 * recognise every failure. */
#define HOME1_ERROR(e) HOME1_BUS_NAME "." e
#define BUS_ERROR_NO_SUCH_HOME            HOME1_ERROR("NoSuchHome")
#define BUS_ERROR_USER_NAME_EXISTS        HOME1_ERROR("UserNameExists")
#define BUS_ERROR_UID_IN_USE              HOME1_ERROR("UIDInUse")
#define BUS_ERROR_BAD_SIGNATURE           HOME1_ERROR("BadSignature")
#define BUS_ERROR_HOME_ABSENT             HOME1_ERROR("HomeAbsent")
#define BUS_ERROR_HOME_UNFIXATED          HOME1_ERROR("HomeUnfixated")
#define BUS_ERROR_HOME_ALREADY_ACTIVE     HOME1_ERROR("HomeAlreadyActive")
#define BUS_ERROR_HOME_ALREADY_FIXATED    HOME1_ERROR("HomeAlreadyFixated")
#define BUS_ERROR_HOME_NOT_ACTIVE         HOME1_ERROR("HomeNotActive")
#define BUS_ERROR_HOME_LOCKED             HOME1_ERROR("HomeLocked")
#define BUS_ERROR_HOME_NOT_LOCKED         HOME1_ERROR("HomeNotLocked")
#define BUS_ERROR_HOME_BUSY               HOME1_ERROR("HomeBusy")
#define BUS_ERROR_HOME_IN_USE             HOME1_ERROR("HomeInUse")
#define BUS_ERROR_HOME_EXISTS             HOME1_ERROR("HomeExists")
#define BUS_ERROR_HOME_CANT_AUTHENTICATE  HOME1_ERROR("HomeCantAuthenticate")
#define BUS_ERROR_BAD_PASSWORD            HOME1_ERROR("BadPassword")
#define BUS_ERROR_BAD_PASSWORD_AND_NO_TOKEN HOME1_ERROR("BadPasswordAndNoToken")
#define BUS_ERROR_BAD_RECOVERY_KEY        HOME1_ERROR("BadRecoveryKey")
#define BUS_ERROR_AUTHENTICATION_LIMIT_HIT HOME1_ERROR("AuthenticationLimitHit")
#define BUS_ERROR_NO_DISK_SPACE           HOME1_ERROR("NoDiskSpace")
#define BUS_ERROR_BAD_HOME_SIZE           HOME1_ERROR("BadHomeSize")
#define BUS_ERROR_RECORD_MISMATCH         HOME1_ERROR("RecordMismatch")
#define BUS_ERROR_RECORD_DOWNGRADE        HOME1_ERROR("RecordDowngrade")
#define BUS_ERROR_RECORD_SIGNED           HOME1_ERROR("RecordSigned")
#define BUS_ERROR_TOO_MANY_OPERATIONS     HOME1_ERROR("TooManyOperations")
#define BUS_ERROR_REBALANCE_NOT_NEEDED    HOME1_ERROR("RebalanceNotNeeded")
#define BUS_ERROR_LOW_PASSWORD_QUALITY    HOME1_ERROR("LowPasswordQuality")
#define BUS_ERROR_TOKEN_PIN_LOCKED        HOME1_ERROR("TokenPinLocked")
/* homed 258's AdoptHome: a path that is no home image or directory. */
#define BUS_ERROR_UNRECOGNIZED_HOME_FORMAT HOME1_ERROR("UnrecognizedHomeFormat")
/* A PKCS#11 token's PIN (hearth-work's WORKER_TOKEN_PIN_NEEDED and the
 * statuses after it). */
#define BUS_ERROR_BAD_PIN                 HOME1_ERROR("BadPin")
#define BUS_ERROR_BAD_PIN_FEW_TRIES_LEFT  HOME1_ERROR("BadPinFewTriesLeft")
#define BUS_ERROR_BAD_PIN_ONE_TRY_LEFT    HOME1_ERROR("BadPinOneTryLeft")
#define BUS_ERROR_TOKEN_PIN_NEEDED        HOME1_ERROR("TokenPinNeeded")

/* Hearth's own: TPM2-sealed homes, which homed does not have. */
#define HEARTH_HOME_ERROR(e) "io.hearth.Home." e
#define BUS_ERROR_TPM_STATE_CHANGED       HEARTH_HOME_ERROR("TpmStateChanged")
#define BUS_ERROR_TPM_UNAVAILABLE         HEARTH_HOME_ERROR("TpmUnavailable")
#define BUS_ERROR_FOREIGN_STORAGE         HEARTH_HOME_ERROR("ForeignStorage")

/* polkit actions (org.freedesktop.home1.policy). */
#define HOME1_ACTION(a) HOME1_BUS_NAME "." a
#define HOME1_ACTION_CREATE_HOME          HOME1_ACTION("create-home")
#define HOME1_ACTION_REMOVE_HOME          HOME1_ACTION("remove-home")
#define HOME1_ACTION_AUTHENTICATE_HOME    HOME1_ACTION("authenticate-home")
#define HOME1_ACTION_UPDATE_HOME          HOME1_ACTION("update-home")
#define HOME1_ACTION_UPDATE_HOME_BY_OWNER HOME1_ACTION("update-home-by-owner")
#define HOME1_ACTION_RESIZE_HOME          HOME1_ACTION("resize-home")
#define HOME1_ACTION_PASSWD_HOME          HOME1_ACTION("passwd-home")
#define HOME1_ACTION_ACTIVATE_HOME        HOME1_ACTION("activate-home")

/* ---- io.hearth.Pool1, on hearthd's connection (HOME1_BUS_NAME) ----------- */

#define POOL1_PATH      "/io/hearth/Pool"
#define POOL1_INTERFACE "io.hearth.Pool1"

#define BUS_ERROR_POOL_NO_POOL "io.hearth.Pool.NoPool"
#define BUS_ERROR_POOL_FAILED  "io.hearth.Pool.Failed"

#define POOL1_ACTION_MANAGE "io.hearth.manage-pool"

/* ---- the standard errors hearthd sends ------------------------------------ */

#define BUS_ERROR_ACCESS_DENIED           "org.freedesktop.DBus.Error.AccessDenied"
#define BUS_ERROR_INVALID_ARGS            "org.freedesktop.DBus.Error.InvalidArgs"
#define BUS_ERROR_NOT_SUPPORTED           "org.freedesktop.DBus.Error.NotSupported"
#define BUS_ERROR_FAILED                  "org.freedesktop.DBus.Error.Failed"
#define BUS_ERROR_NO_MEMORY               "org.freedesktop.DBus.Error.NoMemory"
