/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hearth-work's command line, as hearthd and homectl firstboot --root run
 * it: `hearth-work [--force] [--wipe] [--size=SIZE] OPERATION`, the request
 * (the record, with its secret section) on standard input, the resulting
 * record on standard output. */

#ifndef HEARTH_WORKER_PATH
#define HEARTH_WORKER_PATH "/usr/libexec/hearth-work"
#endif

#define WORKER_OP_CREATE       "create"
#define WORKER_OP_ACTIVATE     "activate"
#define WORKER_OP_AUTHENTICATE "authenticate"
#define WORKER_OP_DEACTIVATE   "deactivate"
#define WORKER_OP_LOCK         "lock"
#define WORKER_OP_UNLOCK       "unlock"
#define WORKER_OP_UPDATE       "update"
#define WORKER_OP_RESIZE       "resize"
#define WORKER_OP_PASSWD       "passwd"
#define WORKER_OP_INSPECT      "inspect"
#define WORKER_OP_REMOVE       "remove"
#define WORKER_OP_CLEAN        "clean"  /* remove what an interrupted operation left */
/* A home found on this machine whose record is not stored yet (hearthd's
 * "unfixated" home): the request is the record hearthd made of its name,
 * UID and storage, with secret.password; the record the home carries
 * (LUKS2 token, ~/.identity of a .homedir), checked and bound to this
 * machine, comes back once the password opens it. Nothing is mounted. */
#define WORKER_OP_FIXATE       "fixate"
/* Tops up the spares of the skel template (skel/skel-template.h) for the
 * subvolume homes to come; the request is any subvolume home's record (its
 * UID is what the ID map is checked with), which is not touched. hearthd
 * runs it after each subvolume create; --skel-template= as for create. */
#define WORKER_OP_SKEL_SPARE   "skel-spare"

/* Work in progress in the home root is hidden under
 * ".#hearth-<what>.<user>.<XXXXXX>" (what: create, remove, ...) and renamed
 * into place; whatever a killed worker leaves under such a name is a
 * leftover that hearthd and `hearth-work clean` finish. */
#define WORKER_LEFTOVER_PREFIX ".#hearth-"
#define WORKER_LEFTOVER_SUFFIX_LEN 6

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is name such a leftover? Then *user points at its user name inside name,
 * *user_len long. */
bool worker_leftover_parse(const char *name, const char **user, size_t *user_len);

/* Options. --size= takes what size_parse() does (common/size.h): "min" and
 * "max" are HEARTH_SIZE_MIN and HEARTH_SIZE_MAX. */
#define WORKER_OPT_FORCE "--force" /* deactivate even while in use */
#define WORKER_OPT_WIPE  "--wipe"  /* create: erase what a block device holds */
#define WORKER_OPT_SIZE  "--size=" /* resize only */
/* --tpm-tries-below=N: ask the TPM to unseal only while its dictionary-attack
 * counter is below N (0: never; hearthd's budget, hearthd/home-policy.h);
 * above, exit WORKER_TPM_RESERVED without a try. */
#define WORKER_OPT_TPM_TRIES_BELOW "--tpm-tries-below="

/* What the TPM's dictionary-attack protection said in a run on a home sealed
 * in it, for hearthd's budget of TPM tries (hearthd/home-policy.h): the
 * member WORKER_STATUS_TPM, {"tried": bool (a PIN went to the TPM),
 * "wrongPin": bool (the TPM counted it), "failures": TPM_PT_LOCKOUT_COUNTER
 * after, "maxFailures": TPM_PT_MAX_AUTH_FAIL, "interval":
 * TPM_PT_LOCKOUT_INTERVAL (seconds to forget one)}. On success in
 * status.<machine-id> of the record returned (hearthd takes it out, as
 * WORKER_STATUS_QUOTA); on failure standard output holds
 * {"hearthTpm": {...}} alone. */
#define WORKER_STATUS_TPM "hearthTpm"

typedef struct WorkerTpmReport {
        bool known; /* the TPM's state was read */
        bool tried;
        bool wrong_pin;
        uint32_t failures, max_failures, interval;
} WorkerTpmReport;

/* NULL if out of memory. */
struct json_object *worker_tpm_report_to_json(const WorkerTpmReport *r);
/* The report in j (the member's value); -EINVAL if malformed. */
int worker_tpm_report_from_json(struct json_object *j, WorkerTpmReport *ret);
/* The report in a worker's standard output, of either shape above: 1 and
 * *ret, 0 if there is none, -EINVAL if malformed. */
int worker_tpm_report_from_output(const char *text, size_t len, const char *machine_id, WorkerTpmReport *ret);

/* Subvolume homes, from hearthd, which gives it to all workers but one
 * every [Quota] RescanIntervalSec=: start no quota rescan. Under full
 * qgroups putting a subvolume made inside a home into the home's group
 * makes the kernel's counts inconsistent, and so needs a rescan, unless all
 * it references is its own (not so for a snapshot); during a rescan every
 * group counts from 0 and the kernel checks limits against that. Such a
 * subvolume is left out of the group then, and held at what it references
 * (its own limit) until a run that may start a rescan puts it there.
 * Run by hand, hearth-work starts the rescan it needs. */
#define WORKER_OPT_NO_RESCAN "--no-rescan"

/* create only, from hearthd: the skel template (skel/skel-template.h, a
 * token of skel_template_token()) that is current, which the caller knows
 * because it has watched the skel since a worker's scan found it current
 * (skel/skel-watch.h) and saw nothing change. The worker then snapshots it
 * without scanning the skel; if it is not there, it scans as without the
 * option. Run by hand, hearth-work scans. */
#define WORKER_OPT_SKEL_TEMPLATE "--skel-template="

/* A member of status.<machine-id> in the record a worker returns for a
 * subvolume home, for hearthd only (it takes it out before any client sees
 * the status): {"mode": "off"|"full"|"simple", "adopted": [paths]} — the
 * file system's quota mode, and the subvolumes inside the home this run
 * put into the home's quota group (paths below the home). */
#define WORKER_STATUS_QUOTA         "hearthQuota"
#define WORKER_STATUS_QUOTA_MODE    "mode"
#define WORKER_STATUS_QUOTA_ADOPTED "adopted"
/* Also: "held": [paths] — subvolumes inside the home left out of its group
 * for now (WORKER_OPT_NO_RESCAN), newly held at what they reference;
 * "rescan": true — this run started a quota rescan. */
#define WORKER_STATUS_QUOTA_HELD    "held"
#define WORKER_STATUS_QUOTA_RESCAN  "rescan"

/* A member of status.<machine-id>, for hearthd only (taken out likewise):
 * an array of one-line notices for the administrator about what this run
 * did, e.g. "file system cannot ID-map, changed owners instead"; hearthd
 * logs each as "home <user>: <notice>". (What a worker writes to stderr
 * is read only when it fails.) */
#define WORKER_STATUS_NOTICES "hearthNotices"

/* A member of status.<machine-id> after a create, for hearthd only (taken
 * out likewise): the token of the skel template the home is a snapshot of,
 * which this run's scan of the skel found current (absent when it took
 * WORKER_OPT_SKEL_TEMPLATE's word, or made no snapshot). hearthd takes it
 * for current while nothing in the skel changed since before the run
 * began. */
#define WORKER_STATUS_SKEL_TEMPLATE "hearthSkelTemplate"

/* hearth-work's exit statuses: what went wrong, for hearthd to turn into the
 * matching org.freedesktop.home1 error. The reason, naming the home, is one
 * line on stderr. */
enum {
        WORKER_OK = 0,
        WORKER_BAD_REQUEST = 10,    /* malformed or inconsistent request */
        WORKER_BAD_PASSWORD = 11,   /* no password given matches */
        WORKER_NO_SPACE = 12,       /* ENOSPC, EDQUOT */
        WORKER_BUSY = 13,           /* another operation on the home runs, or it is in use */
        WORKER_NOT_FOUND = 14,      /* the home's storage does not exist */
        WORKER_EXISTS = 15,         /* create: something is already there */
        WORKER_BAD_SIZE = 16,       /* resize below usage, or out of range */
        WORKER_UNSUPPORTED = 17,    /* the backend or filesystem cannot do it */
        WORKER_CORRUPT = 18,        /* damaged LUKS header, untrusted or broken embedded record; a
                                     * .homedir stored under a UID that may not own it (EUCLEAN) */
        WORKER_ACTIVE = 19,         /* already active (or already locked) */
        WORKER_STORAGE_ERROR = 20,  /* anything else */
        WORKER_NOT_ACTIVE = 21,     /* deactivate, lock, unlock of a home that is not active */
        WORKER_TPM_LOCKOUT = 22,    /* the TPM refuses PINs for now (dictionary-attack lockout) */
        WORKER_TPM_CHANGED = 23,    /* PCRs changed or another TPM: the recovery key opens it */
        WORKER_TPM_UNAVAILABLE = 24,/* no usable TPM, and no other keyslot the password opens */
        WORKER_FOREIGN = 25,        /* the storage is not provably this home's (EMEDIUMTYPE); left
                                     * untouched: remove finds another volume; activate, unlock and
                                     * the rest find an image whose LUKS or partition UUID is not the
                                     * record's, or whose TPM2 token it cannot vouch for (no PIN,
                                     * other PCRs, a keyslot not there), without asking the TPM */
        WORKER_PASSWORD_QUALITY = 26, /* create, passwd: a new password that cannot be one (it reads as a
                                       * recovery key) */
        WORKER_TPM_RESERVED = 27,   /* the TPM's counter reached --tpm-tries-below: not asked */
        /* A PKCS#11 token (pkcs11-token.h) that would open the home is present: */
        WORKER_TOKEN_PIN_NEEDED = 28,     /* no secret.pkcs11Pin given (ENOANO) */
        WORKER_BAD_PIN = 29,              /* the token refused the PIN (EBADE) */
        WORKER_BAD_PIN_FEW_TRIES = 30,    /* ... and says few tries are left (EBADR) */
        WORKER_BAD_PIN_ONE_TRY = 31,      /* ... and says one try is left (EBADRQC) */
        WORKER_TOKEN_PIN_LOCKED = 32,     /* the token's PIN is locked (ENOLCK) */
};

int worker_exit_status(int error);
