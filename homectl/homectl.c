/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl: the command line of hearthd (systemd-homed's homectl), run by
 * users and administrators; it calls hearthd over the system bus. Also run
 * by hearth-firstboot.service (`homectl firstboot`), and on an image with
 * no bus, where `firstboot --root` runs hearth-work itself.
 *
 * This file: option parsing and verb dispatch. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ask-password.h"
#include "conf-file.h"
#include "config.h"
#include "exit-status.h"
#include "homectl.h"
#include "pkcs11-record.h"
#include "record-args.h"
#include "identity-store.h"
#include "log.h"
#include "macro.h"
#include "size.h"

static void help(void) {
        printf("Usage: homectl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Create, inspect and manage home areas managed by Hearth. homectl is a client of\n"
               "the org.freedesktop.home1 service on the system bus (hearthd); only\n"
               "inspect --identity=FILE and firstboot --root=DIR work without it.\n"
               "\n"
               "Commands:\n"
               "  list                      List home areas\n"
               "  inspect [USER|UID...]     Show the record and state of homes (default: yours)\n"
               "  inspect --identity=FILE   Validate a user record offline and show it\n"
               "  create USER               Create a home area and its user\n"
               "  create --identity=FILE    Create from a JSON user record (options apply on top)\n"
               "  remove USER...            Remove home areas and their users\n"
               "  activate USER...          Activate (unlock and mount) home areas\n"
               "  deactivate USER...        Deactivate (unmount and lock) home areas\n"
               "  update USER [OPTIONS]     Change fields of a user record; with --disk-size=,\n"
               "                            the home is resized to it after the update\n"
               "                            (--and-resize=no: not; --and-resize=yes: also\n"
               "                            without it); --and-change-password=yes then\n"
               "                            changes the password, as passwd does\n"
               "  passwd USER               Change the password of a user\n"
               "  resize USER [SIZE]        Resize a home area; SIZE is e.g. 10G, or min or max;\n"
               "                            without SIZE, to the record's disk size\n"
               "  lock USER...              Lock (suspend) active home areas\n"
               "  unlock USER...            Unlock locked home areas\n"
               "  lock-all                  Lock all suitable home areas\n"
               "  rebalance                 Share free space among LUKS homes by their weights\n"
               "  deactivate-all            Deactivate all active home areas\n"
               "  authenticate USER...      Check the password of users\n"
               "  with USER [--] [CMD...]   Activate a home, run CMD (default $SHELL) in it,\n"
               "                            then release the home\n"
               "\n"
               "Taking homes to and from other machines (root):\n"
               "  adopt PATH...             Take the home in PATH (USER.home, a LUKS image, or\n"
               "                            USER.homedir) as a home here: moved into the home\n"
               "                            root (/home; same file system only), where hearthd\n"
               "                            also finds one put there by hand. Its record, read\n"
               "                            from it at the first login or authenticate with\n"
               "                            the password, must be signed by this machine or by\n"
               "                            a key installed as %s/NAME.public\n"
               "  register [FILE...|-]      Register user records (default: standard input;\n"
               "                            or --identity=FILE) exported elsewhere with\n"
               "                            inspect --export-format=stripped; signed by a\n"
               "                            trusted key, or unsigned (then signed here)\n"
               "  unregister USER...        Forget homes here, leaving their storage as it is\n"
               "  firstboot                 Create the first user: a home for each credential\n"
               "                            home.create.USER (a JSON user record) in\n"
               "                            $CREDENTIALS_DIRECTORY and --credentials=DIR; if none\n"
               "                            was created and no regular user exists, with\n"
               "                            --prompt-new-user, one asked for on the terminal\n"
               "                            (not with systemd.firstboot=no on the kernel command\n"
               "                            line). Homes that exist are left alone; the user\n"
               "                            record options apply to every home it makes\n"
               "\n"
               "Extent pool commands (/home as dm-linear extents over the home partition and\n"
               "a pool partition between root and home; docs/POOL-FORMAT.md):\n"
               "  pool status               Partitions, metadata copies, volumes, free space\n"
               "  pool check [--repair]     Verify metadata and live tables; report leaked or\n"
               "                            doubly owned extents; --repair rewrites stale copies\n"
               "                            and reloads lagging tables\n"
               "  pool init HOME_PART POOL_PART [--extent-size=SIZE] [--force]\n"
               "                            Place a new pool; POOL_PART gets Hearth's GPT type.\n"
               "                            Partitions holding data are refused unless --force\n"
               "  pool activate             Map every volume (/dev/mapper/hearth-pool-VOLUME)\n"
               "  pool grow VOLUME SIZE|+SIZE\n"
               "                            Grow a volume and its mounted file system online\n"
               "  pool shrink VOLUME SIZE|-SIZE\n"
               "                            Shrink the file system (btrfs online, ext4 unmounted;\n"
               "                            xfs cannot), then the volume\n"
               "  pool release SIZE         Give free space next to root back to the disk\n"
               "hearthd can grow /home by itself: see [Pool] AutoGrow= in hearth.conf(5).\n"
               "\n"
               "Options:\n"
               "  -h --help                 Show this help and exit\n"
               "     --version              Show the version and exit\n"
               "     --no-pager             Accepted; output is never paged\n"
               "     --no-legend            Do not print the column headers and the footer\n"
               "     --no-ask-password      Never ask for a password on the terminal\n"
               "  -H --host=HOST            Refused: remote operation is not supported\n"
               "  -M --machine=CONTAINER    Refused: remote operation is not supported\n"
               "     --json=pretty|short|off\n"
               "                            Print records (inspect), the list (list) and the pool\n"
               "                            (pool status, pool check) as JSON\n"
               "  -j                        Same as --json=pretty on a terminal, --json=short otherwise\n"
               "     --export-format=full|stripped|minimal\n"
               "                            inspect --json: the whole record (full, the default),\n"
               "                            without this machine's binding and status (stripped:\n"
               "                            what another machine registers), without the\n"
               "                            signature too (minimal)\n"
               "  -E                        Same as -j --export-format=stripped; -EE: =minimal\n"
               "     --identity=FILE        Read a user record from FILE (\"-\" for standard input):\n"
               "                            inspect checks it offline, create uses it as the base\n"
               "     --extent-size=SIZE     pool init: extent size, a power of two (default 64M)\n"
               "     --force                pool init: overwrite partitions that hold data\n"
               "     --repair               pool check: repair what can be repaired\n"
               "     --credentials=DIR      firstboot: read home.create.USER credentials from DIR\n"
               "                            too (systems without systemd's credentials)\n"
               "     --prompt-new-user      firstboot: ask for a user on the terminal if there is\n"
               "                            none\n"
               "     --root=DIR             firstboot: make the homes in the image mounted at DIR,\n"
               "                            without hearthd (directory and subvolume homes only;\n"
               "                            records signed with the image's key in\n"
               "                            DIR/var/lib/hearth)\n"
               "\n"
               "User record fields (create, update and firstboot; an empty value removes one):\n"
               "  -c --real-name=NAME       Real name of the user\n"
               "     --email-address=EMAIL  Email address of the user\n"
               "  -G --member-of=GROUP[,GROUP...]\n"
               "                            Auxiliary groups; may be repeated\n"
               "  -s --shell=PATH           Login shell\n"
               "  -u --uid=UID              Numeric UID (hearthd picks one from 60001-60513 if unset)\n"
               "     --storage=directory|subvolume|luks|fscrypt\n"
               "                            Storage mechanism of the home area (cifs is not\n"
               "                            supported yet)\n"
               "     --disk-size=SIZE       Size of the home area, e.g. 10G, 512M, 1.5T, or a share of\n"
               "                            the free space, e.g. 20%%\n"
               "     --auto-resize-mode=MODE\n"
               "                            off, grow or shrink-and-grow: a LUKS home's size\n"
               "                            at activation and deactivation\n"
               "     --rebalance-weight=N   Share of free space at rebalancing (1-10000, off)\n"
               "     --fs-type=TYPE         File system inside a LUKS home (btrfs, ext4, xfs)\n"
               "     --image-path=PATH      Path of the LUKS image, subvolume or directory\n"
               "     --tpm2[=BOOL]          Seal the LUKS key in this machine's TPM, the password\n"
               "                            being its PIN (BOOL defaults to yes). A home with no\n"
               "                            storage set becomes a LUKS home; other storage is refused\n"
               "     --tpm2-pcrs=PCR[,PCR...]\n"
               "                            PCRs 0-23 the key is bound to (default 7; empty for\n"
               "                            none); implies --tpm2\n"
               "     --tpm2-keep-password[=BOOL]\n"
               "                            Keep a password keyslot beside the TPM's (default no, so\n"
               "                            that the disk alone cannot be guessed at offline)\n"
               "  -c --comment=NAME         Same as --real-name=\n"
               "     --groups=GROUP[,GROUP...]\n"
               "                            Same as --member-of=\n"
               "     --realm=REALM          Realm (a DNS domain) of the user\n"
               "     --location=LOCATION    Where the user is on earth\n"
               "     --icon-name=NAME       Icon name of the user\n"
               "  -d --home-dir=PATH        Home directory\n"
               "  -k --skel=PATH            Skeleton directory copied into a new home\n"
               "     --setenv=VARIABLE[=VALUE]\n"
               "                            Environment variable at log-in (from ours if no\n"
               "                            value); repeatable\n"
               "     --timezone=TIMEZONE    Time zone at log-in (e.g. Europe/Berlin)\n"
               "     --language=LOCALE      Preferred language at log-in (e.g. de_DE.UTF-8)\n"
               "     --ssh-authorized-keys=KEY|@FILE\n"
               "                            SSH public keys; repeatable (privileged section)\n"
               "     --locked=BOOL          Lock the account\n"
               "     --not-before=TIMESTAMP --not-after=TIMESTAMP (-e --expiredate=)\n"
               "                            No log-ins before / after (e.g. 2030-01-01,\n"
               "                            \"2030-01-01 12:00 UTC\", @SECONDS, +30d)\n"
               "     --rate-limit-interval=SECS --rate-limit-burst=NUMBER\n"
               "                            Log-in attempts allowed per interval\n"
               "     --password-hint=HINT   Password hint (privileged section)\n"
               "     --enforce-password-policy=BOOL (-P: =no)\n"
               "     --password-change-now=BOOL\n"
               "                            The password must be changed at the next log-in\n"
               "     --password-change-min=TIME --password-change-max=TIME\n"
               "     --password-change-warn=TIME --password-change-inactive=TIME\n"
               "                            Password aging (TIME: e.g. 1d, 12w, \"1d 12h\")\n"
               "     --access-mode=MODE     Mode of the home directory (only 0700 is supported)\n"
               "     --umask=MODE --nice=NICE --rlimit=LIMIT=VALUE[:VALUE]\n"
               "                            Session settings at log-in (rlimit: e.g.\n"
               "                            NOFILE=1024:4096, CORE=infinity; LIMIT= removes one)\n"
               "     --tasks-max=MAX --memory-high=BYTES --memory-max=BYTES\n"
               "     --cpu-weight=WEIGHT --io-weight=WEIGHT\n"
               "                            Resource control of the user's slice\n"
               "     --drop-caches=BOOL     Drop caches at log-out (yes is not supported yet)\n"
               "     --luks-discard=BOOL --luks-offline-discard=BOOL\n"
               "                            Discard on the mounted LUKS home / trim at log-out\n"
               "                            (offline: yes is not supported yet)\n"
               "     --luks-cipher=CIPHER --luks-cipher-mode=MODE\n"
               "     --luks-volume-key-size=BYTES\n"
               "     --luks-pbkdf-type=TYPE --luks-pbkdf-hash-algorithm=ALGORITHM\n"
               "     --luks-pbkdf-time-cost=SECS --luks-pbkdf-memory-cost=BYTES\n"
               "     --luks-pbkdf-parallel-threads=NUMBER\n"
               "                            LUKS encryption and key derivation of a new home\n"
               "     --luks-sector-size=BYTES\n"
               "                            LUKS sector size (only 512 is supported yet)\n"
               "     --luks-extra-mount-options=OPTIONS\n"
               "                            Mount options of the LUKS home's file system\n"
               "     --nosuid=BOOL --nodev=BOOL --noexec=BOOL\n"
               "                            Mount flags (homes are always nosuid,nodev,exec;\n"
               "                            others are not supported yet)\n"
               "     --cifs-domain=DOMAIN --cifs-user-name=USER --cifs-service=//HOST/SERVICE\n"
               "     --cifs-extra-mount-options=OPTIONS\n"
               "                            CIFS settings (storage cifs is not supported yet)\n"
               "     --stop-delay=SECS --kill-processes=BOOL --auto-login=BOOL\n"
               "                            Log-in behaviour\n"
               "     --fido2-device=PATH --fido2-with-client-pin=BOOL\n"
               "     --fido2-with-user-presence=BOOL --fido2-with-user-verification=BOOL\n"
               "                            FIDO2 tokens: not supported yet\n"
               "Storage, disk size, file system type and image path are this machine's settings:\n"
               "they are stored in a perMachine entry matching this machine's ID.\n"
               "\n"
               "Security token (create, update):\n"
               "     --pkcs11-token-uri=URI|auto|list\n"
               "                            Let the PKCS#11 token (smart card) holding the RSA\n"
               "                            certificate URI names (auto: the only one present)\n"
               "                            open the home with its PIN; list shows the URIs;\n"
               "                            update: adds one, empty removes them all\n"
               "Recovery key (create and firstboot; homes with --tpm2 or tpm2 in the record):\n"
               "     --recovery-key=BOOL    Enroll a random recovery key and print it once the home\n"
               "                            is made (default yes); a secret.recoveryKey in the\n"
               "                            record is enrolled instead. It opens the home when the\n"
               "                            TPM no longer unseals its key (firmware or boot change):\n"
               "                            PASSWORD=<recovery key> homectl activate USER.\n"
               "                            \"no\" needs --tpm2-keep-password\n"
               "\n"
               "Environment:\n"
               "  $PASSWORD                 Password to try first (activate, unlock, authenticate,\n"
               "                            update, resize, with; the old one for passwd)\n"
               "  $NEWPASSWORD              New password for create and passwd, instead of asking\n"
               "  $PIN                      A security token's PIN, when hearthd asks for one\n"
               "                            (TokenPinNeeded, BadPin…), instead of asking\n"
               "  $NO_COLOR                 Do not colour the state of homes\n"
               "  $DBUS_SYSTEM_BUS_ADDRESS  The system bus to talk to\n"
               "  $CREDENTIALS_DIRECTORY    firstboot: the credentials systemd passes (e.g.\n"
               "                            ImportCredential=home.*)\n"
               "When a password is wrong or missing, homectl asks on the terminal (up to %d\n"
               "times) unless --no-ask-password is given or standard input is not a terminal.\n"
               "\n"
               "Records are JSON user records in systemd's format (docs/USER_RECORD.md). With\n"
               "inspect --identity, the record is parsed strictly (no duplicate keys, valid\n"
               "UTF-8, bounded size and nesting) and every known field is checked. Its signature\n"
               "is checked against the keys in %s (or $HEARTH_STATE_DIR). The secret\n"
               "section is never printed.\n"
               "\n",
               identity_store_default_dir(), ASK_PASSWORD_TRIES, identity_store_default_dir());
        exit_status_print_help(stdout);
}

typedef int (*VerbFunction)(int argc, char **argv, const Options *o);

static const struct Verb {
        const char *name;
        int min_args, max_args; /* counting the verb; -1: any */
        VerbFunction run;
        bool record_fields; /* takes --real-name= and friends */
} verbs[] = {
        { "list", 1, 1, verb_list, false },
        { "inspect", 1, -1, verb_inspect, false },
        { "create", 1, 2, verb_create, true },
        { "remove", 2, -1, verb_remove, false },
        { "activate", 2, -1, verb_activate, false },
        { "deactivate", 2, -1, verb_deactivate, false },
        { "update", 2, 2, verb_update, true },
        { "passwd", 2, 2, verb_passwd, false },
        { "resize", 2, 3, verb_resize, false },
        { "lock", 2, -1, verb_lock, false },
        { "unlock", 2, -1, verb_unlock, false },
        { "lock-all", 1, 1, verb_lock_all, false },
        { "rebalance", 1, 1, verb_rebalance, false },
        { "deactivate-all", 1, 1, verb_deactivate_all, false },
        { "authenticate", 2, -1, verb_authenticate, false },
        { "with", 2, -1, verb_with, false },
        { "pool", 2, -1, verb_pool, false },
        { "firstboot", 1, 1, verb_firstboot, true },
        { "adopt", 2, -1, verb_adopt, false },
        { "register", 1, -1, verb_register, false },
        { "unregister", 2, -1, verb_unregister, false },
};

static int parse_uid_arg(const char *s, RecordChanges *c) {
        unsigned long long u;
        char *end;

        c->uid_set = true;
        if (!s[0]) {
                c->uid = UID_INVALID;
                return 0;
        }
        errno = 0;
        u = strtoull(s, &end, 10);
        if (s[0] < '0' || s[0] > '9' || *end || errno || u >= UID_INVALID) {
                log_error("--uid=: invalid UID \"%s\"", s);
                return -EINVAL;
        }
        c->uid = (uid_t) u;
        return 0;
}

/* "20%", "33.5%", "12.25%": a share of the space, as systemd's homectl
 * scales it (UINT32_MAX: all of it). -EINVAL if s is no percentage. */
static int parse_disk_share(const char *s, uint64_t *ret) {
        unsigned whole = 0, frac = 0, digits = 0;
        const char *p = s;
        if (!*p)
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                whole = whole * 10 + (unsigned) (*p - '0');
                if (whole > 100)
                        return -EINVAL;
        }
        if (p == s)
                return -EINVAL;
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++)
                        if (++digits <= 2)
                                frac = frac * 10 + (unsigned) (*p - '0');
                        else
                                return -EINVAL; /* finer than a permyriad */
                if (digits == 0)
                        return -EINVAL;
                if (digits == 1)
                        frac *= 10;
        }
        if (strcmp(p, "%") != 0)
                return -EINVAL;
        uint64_t permyriad = (uint64_t) whole * 100 + frac;
        if (permyriad > 10000)
                return -EINVAL;
        *ret = (permyriad * UINT32_MAX + 5000) / 10000;
        return 0;
}

static int parse_disk_size_arg(const char *s, RecordChanges *c) {
        c->disk_size_set = true;
        c->disk_size_relative_set = false;
        if (!s[0]) {
                c->disk_size = UINT64_MAX;
                return 0;
        }
        if (strchr(s, '%')) {
                if (parse_disk_share(s, &c->disk_size_relative) < 0) {
                        log_error("--disk-size=: invalid share \"%s\": expected a percentage of the free space, "
                                  "e.g. 20%% or 33.5%%", s);
                        return -EINVAL;
                }
                c->disk_size = UINT64_MAX;
                c->disk_size_relative_set = true;
                return 0;
        }
        if (strcmp(s, HEARTH_SIZE_WORD_MIN) == 0 || strcmp(s, HEARTH_SIZE_WORD_MAX) == 0 ||
            size_parse(s, &c->disk_size) < 0 || c->disk_size == UINT64_MAX) {
                log_error("--disk-size=: invalid size \"%s\": expected e.g. 10G, 512M or 1.5T", s);
                return -EINVAL;
        }
        return 0;
}

/* A number from 1 to 10000, "off" (0: never rebalanced) or "" (unset: 100). */
static int parse_rebalance_weight_arg(const char *s, RecordChanges *c) {
        c->rebalance_weight_set = true;
        if (!s[0]) {
                c->rebalance_weight = UINT64_MAX;
                return 0;
        }
        if (strcmp(s, "off") == 0) {
                c->rebalance_weight = 0;
                return 0;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end || s[0] < '0' || s[0] > '9' || v > USER_REBALANCE_WEIGHT_MAX) {
                log_error("--rebalance-weight=: expected a number from 0 to %d or off, got \"%s\"",
                          USER_REBALANCE_WEIGHT_MAX, s);
                return -EINVAL;
        }
        c->rebalance_weight = v;
        return 0;
}

/* --NAME[=BOOL]: no value means yes. */
static int parse_bool_arg(const char *name, const char *arg, bool *ret) {
        if (!arg) {
                *ret = true;
                return 0;
        }
        if (config_parse_bool(arg, ret) < 0) {
                log_error("%s=: expected a boolean (yes, no, true, false, on, off, 1, 0), got \"%s\"", name, arg);
                return -EINVAL;
        }
        return 0;
}

static int parse_argv(int argc, char *argv[], Options *o) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_IDENTITY,
                ARG_NO_PAGER,
                ARG_NO_LEGEND,
                ARG_NO_ASK_PASSWORD,
                ARG_EMAIL_ADDRESS,
                ARG_STORAGE,
                ARG_DISK_SIZE,
                ARG_AUTO_RESIZE_MODE,
                ARG_REBALANCE_WEIGHT,
                ARG_FS_TYPE,
                ARG_IMAGE_PATH,
                ARG_EXTENT_SIZE,
                ARG_FORCE,
                ARG_REPAIR,
                ARG_CREDENTIALS,
                ARG_PROMPT_NEW_USER,
                ARG_ROOT,
                ARG_TPM2,
                ARG_TPM2_PCRS,
                ARG_TPM2_KEEP_PASSWORD,
                ARG_RECOVERY_KEY,
                ARG_AND_RESIZE,
                ARG_AND_CHANGE_PASSWORD,
                ARG_PKCS11_TOKEN_URI,
                ARG_EXPORT_FORMAT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", required_argument, NULL, ARG_JSON },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "host", required_argument, NULL, 'H' },
                { "machine", required_argument, NULL, 'M' },
                { "real-name", required_argument, NULL, 'c' },
                { "comment", required_argument, NULL, 'c' },
                { "groups", required_argument, NULL, 'G' },
                { "email-address", required_argument, NULL, ARG_EMAIL_ADDRESS },
                { "member-of", required_argument, NULL, 'G' },
                { "shell", required_argument, NULL, 's' },
                { "uid", required_argument, NULL, 'u' },
                { "storage", required_argument, NULL, ARG_STORAGE },
                { "disk-size", required_argument, NULL, ARG_DISK_SIZE },
                { "auto-resize-mode", required_argument, NULL, ARG_AUTO_RESIZE_MODE },
                { "rebalance-weight", required_argument, NULL, ARG_REBALANCE_WEIGHT },
                { "fs-type", required_argument, NULL, ARG_FS_TYPE },
                { "image-path", required_argument, NULL, ARG_IMAGE_PATH },
                { "extent-size", required_argument, NULL, ARG_EXTENT_SIZE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "repair", no_argument, NULL, ARG_REPAIR },
                { "credentials", required_argument, NULL, ARG_CREDENTIALS },
                { "prompt-new-user", no_argument, NULL, ARG_PROMPT_NEW_USER },
                { "root", required_argument, NULL, ARG_ROOT },
                { "tpm2", optional_argument, NULL, ARG_TPM2 },
                { "tpm2-pcrs", required_argument, NULL, ARG_TPM2_PCRS },
                { "tpm2-keep-password", optional_argument, NULL, ARG_TPM2_KEEP_PASSWORD },
                { "recovery-key", required_argument, NULL, ARG_RECOVERY_KEY },
                { "and-resize", required_argument, NULL, ARG_AND_RESIZE },
                { "and-change-password", required_argument, NULL, ARG_AND_CHANGE_PASSWORD },
                { "pkcs11-token-uri", required_argument, NULL, ARG_PKCS11_TOKEN_URI },
                { "export-format", required_argument, NULL, ARG_EXPORT_FORMAT },
        };
        RecordChanges *c = &o->changes;
        int opt, r;
        /* Ours, then systemd's one-option-one-field ones (record-args.c). */
        _cleanup_free_ struct option *all = calloc(ELEMENTSOF(options) + record_args_count + 1, sizeof *all);
        char shortopts[64] = "hjEPH:M:I:c:G:s:u:";
        if (!all)
                return log_oom();
        memcpy(all, options, sizeof options);
        for (size_t i = 0; i < record_args_count; i++) {
                all[ELEMENTSOF(options) + i] = (struct option) { record_args[i].option, required_argument, NULL,
                                                                 RECORD_ARG_BASE + (int) i };
                if (record_args[i].short_option) {
                        size_t n = strlen(shortopts);
                        assert(n + 3 <= sizeof shortopts);
                        shortopts[n] = (char) record_args[i].short_option;
                        shortopts[n + 1] = ':';
                        shortopts[n + 2] = 0;
                }
        }

        while ((opt = getopt_long(argc, argv, shortopts, all, NULL)) >= 0) {
                if (opt >= RECORD_ARG_BASE && (size_t) (opt - RECORD_ARG_BASE) < record_args_count) {
                        if ((r = record_arg_parse(c, (size_t) (opt - RECORD_ARG_BASE), optarg)) < 0)
                                return r;
                        continue;
                }
                for (size_t i = 0; i < record_args_count; i++)
                        if (opt == record_args[i].short_option && opt != 0) {
                                opt = RECORD_ARG_BASE + (int) i;
                                break;
                        }
                if (opt >= RECORD_ARG_BASE) {
                        if ((r = record_arg_parse(c, (size_t) (opt - RECORD_ARG_BASE), optarg)) < 0)
                                return r;
                        continue;
                }
                switch (opt) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("homectl (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                case ARG_JSON:
                        if (strcmp(optarg, "pretty") == 0)
                                o->json = JSON_PRETTY;
                        else if (strcmp(optarg, "short") == 0)
                                o->json = JSON_SHORT;
                        else if (strcmp(optarg, "off") == 0)
                                o->json = JSON_OFF;
                        else if (strcmp(optarg, "help") == 0) {
                                printf("pretty\nshort\noff\n");
                                return 0;
                        } else {
                                log_error("--json=: expected pretty, short or off, got \"%s\"", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'j':
                        o->json = isatty(STDOUT_FILENO) ? JSON_PRETTY : JSON_SHORT;
                        break;
                case ARG_EXPORT_FORMAT:
                        if (strcmp(optarg, "help") == 0) {
                                for (int i = 0; i < _EXPORT_FORMAT_MAX; i++)
                                        printf("%s\n", export_format_to_string(i));
                                return 0;
                        }
                        r = export_format_from_string(optarg);
                        if (r < 0) {
                                log_error("--export-format=: expected full, stripped or minimal, got \"%s\"", optarg);
                                return -EINVAL;
                        }
                        o->export_format = r;
                        break;
                case 'E':
                        /* As systemd's homectl: each -E strips one step more. */
                        if (o->export_format >= EXPORT_FORMAT_MINIMAL) {
                                log_error("-E: given more than twice");
                                return -EINVAL;
                        }
                        o->export_format++;
                        if (o->json == JSON_OFF)
                                o->json = isatty(STDOUT_FILENO) ? JSON_PRETTY : JSON_SHORT;
                        break;
                case 'P':
                        if ((r = record_arg_no_password_policy(c)) < 0)
                                return r;
                        break;
                case ARG_IDENTITY:
                case 'I':
                        o->identity = optarg;
                        break;
                case ARG_NO_PAGER:
                        break;
                case ARG_NO_LEGEND:
                        o->legend = false;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        o->ask_password = false;
                        break;
                case 'H':
                        log_error("-H/--host=: remote operation is not supported");
                        return -EOPNOTSUPP;
                case 'M':
                        log_error("-M/--machine=: remote operation is not supported");
                        return -EOPNOTSUPP;
                case 'c':
                        c->real_name = optarg;
                        break;
                case ARG_EMAIL_ADDRESS:
                        c->email_address = optarg;
                        break;
                case 'G':
                        r = record_changes_add_groups(c, optarg);
                        if (r == -ENOMEM)
                                return log_oom();
                        if (r < 0) {
                                log_error("--member-of=: invalid group name in \"%s\"", optarg);
                                return r;
                        }
                        break;
                case 's':
                        c->shell = optarg;
                        break;
                case 'u':
                        if ((r = parse_uid_arg(optarg, c)) < 0)
                                return r;
                        break;
                case ARG_STORAGE:
                        /* cifs is homed's too: written, and refused when the
                         * record is checked ("not supported yet"). */
                        if (optarg[0] && strcmp(optarg, "directory") != 0 && strcmp(optarg, "subvolume") != 0 &&
                            strcmp(optarg, "luks") != 0 && strcmp(optarg, "fscrypt") != 0 &&
                            strcmp(optarg, "cifs") != 0) {
                                log_error("--storage=: expected luks, fscrypt, directory, subvolume or cifs, got \"%s\"",
                                          optarg);
                                return -EINVAL;
                        }
                        c->storage = optarg;
                        break;
                case ARG_DISK_SIZE:
                        if ((r = parse_disk_size_arg(optarg, c)) < 0)
                                return r;
                        break;
                case ARG_AUTO_RESIZE_MODE:
                        if (optarg[0] && user_auto_resize_from_string(optarg) < 0) {
                                log_error("--auto-resize-mode=: expected off, grow or shrink-and-grow, got \"%s\"", optarg);
                                return -EINVAL;
                        }
                        c->auto_resize_mode = optarg;
                        break;
                case ARG_REBALANCE_WEIGHT:
                        if ((r = parse_rebalance_weight_arg(optarg, c)) < 0)
                                return r;
                        break;
                case ARG_FS_TYPE:
                        c->fs_type = optarg;
                        break;
                case ARG_IMAGE_PATH:
                        c->image_path = optarg;
                        break;
                case ARG_EXTENT_SIZE:
                        if (size_parse(optarg, &o->extent_size) < 0 || o->extent_size == 0 ||
                            o->extent_size >= HEARTH_SIZE_MAX) {
                                log_error("--extent-size=: invalid size \"%s\": expected e.g. 64M", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_FORCE:
                        o->pool_force = true;
                        break;
                case ARG_REPAIR:
                        o->pool_repair = true;
                        break;
                case ARG_CREDENTIALS:
                        if (optarg[0] != '/') {
                                log_error("--credentials=: expected an absolute directory, got \"%s\"", optarg);
                                return -EINVAL;
                        }
                        o->credentials = optarg;
                        break;
                case ARG_PROMPT_NEW_USER:
                        o->prompt_new_user = true;
                        break;
                case ARG_ROOT:
                        if (!optarg[0]) {
                                log_error("--root=: expected a directory");
                                return -EINVAL;
                        }
                        o->root = optarg;
                        break;
                case ARG_TPM2:
                        if ((r = parse_bool_arg("--tpm2", optarg, &c->tpm2)) < 0)
                                return r;
                        c->tpm2_set = true;
                        break;
                case ARG_TPM2_PCRS:
                        if (tpm2_pcrs_parse(optarg, &c->tpm2_pcrs) < 0) {
                                log_error("--tpm2-pcrs=: expected PCR numbers 0-%d separated by commas (e.g. 7 or "
                                          "0,7) or nothing, got \"%s\"",
                                          TPM2_PCR_MAX, optarg);
                                return -EINVAL;
                        }
                        c->tpm2_pcrs_set = true;
                        break;
                case ARG_TPM2_KEEP_PASSWORD:
                        if ((r = parse_bool_arg("--tpm2-keep-password", optarg, &c->tpm2_keep_password)) < 0)
                                return r;
                        c->tpm2_keep_password_set = true;
                        break;
                case ARG_PKCS11_TOKEN_URI:
                        if (optarg[0] && strcmp(optarg, "list") != 0 && strcmp(optarg, "auto") != 0 &&
                            !pkcs11_uri_valid(optarg)) {
                                log_error("--pkcs11-token-uri=: expected a PKCS#11 URI (\"pkcs11:…\"), \"auto\", \"list\" "
                                          "or nothing (update: remove the tokens)");
                                return -EINVAL;
                        }
                        o->pkcs11_token_uri = optarg;
                        break;
                case ARG_RECOVERY_KEY: {
                        bool b;
                        if ((r = parse_bool_arg("--recovery-key", optarg, &b)) < 0)
                                return r;
                        o->recovery_key = b;
                        break;
                }
                case ARG_AND_RESIZE: {
                        bool b;
                        if ((r = parse_bool_arg("--and-resize", optarg, &b)) < 0)
                                return r;
                        o->and_resize = b;
                        break;
                }
                case ARG_AND_CHANGE_PASSWORD:
                        if ((r = parse_bool_arg("--and-change-password", optarg, &o->and_change_password)) < 0)
                                return r;
                        break;
                default:
                        return -EINVAL;
                }
        }

        /* After the loop, so that the order of the options does not matter. */
        if (c->tpm2_pcrs_set) {
                if (c->tpm2_set && !c->tpm2) {
                        log_error("--tpm2-pcrs= asks for a TPM2-sealed key, --tpm2=no for none");
                        return -EINVAL;
                }
                c->tpm2 = c->tpm2_set = true;
        }
        if (c->tpm2_set && c->tpm2 && c->storage && c->storage[0] && strcmp(c->storage, "luks") != 0) {
                log_error("--tpm2: a TPM2-sealed key needs --storage=luks, not %s", c->storage);
                return -EINVAL;
        }
        return 1;
}

/* "pool shrink home -512M": getopt would read -512M as options -5, -1, ….
 * After a "shrink" argument (and before "--"), an argument that looks like a
 * negative number is swapped for a mark of ours while getopt runs and put
 * back afterwards, found by pointer, not by content. Marks are empty strings
 * that live until main returns, so an option that took one as its value
 * holds "" rather than freed memory. */
typedef struct HiddenArgs {
        char **saved; /* the original of argument i, or NULL */
        char (*marks)[1];
} HiddenArgs;

static int hide_negative_numbers(int argc, char **argv, HiddenArgs *h) {
        bool after_shrink = false;
        h->saved = calloc((size_t) argc + 1, sizeof *h->saved);
        h->marks = calloc((size_t) argc + 1, sizeof *h->marks);
        if (!h->saved || !h->marks)
                return -ENOMEM;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strcmp(argv[i], "shrink") == 0)
                        after_shrink = true;
                if (!after_shrink || argv[i][0] != '-' || argv[i][1] < '0' || argv[i][1] > '9')
                        continue;
                h->saved[i] = argv[i];
                argv[i] = h->marks[i];
        }
        return 0;
}

static void restore_negative_numbers(int argc, char **argv, const HiddenArgs *h) {
        for (int i = 1; i < argc; i++)
                for (int k = 1; k < argc; k++)
                        if (h->saved[k] && argv[i] == h->marks[k]) {
                                argv[i] = h->saved[k];
                                break;
                        }
}

static int dispatch(int argc, char **argv, const Options *o) {
        if (argc <= 0) {
                log_error("missing command; see homectl --help");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const struct Verb *v = &verbs[i];
                if (strcmp(argv[0], v->name) != 0)
                        continue;
                if (argc < v->min_args) {
                        log_error("%s: too few arguments; see homectl --help", v->name);
                        return EXIT_USAGE;
                }
                if (v->max_args >= 0 && argc > v->max_args) {
                        log_error("%s: too many arguments; see homectl --help", v->name);
                        return EXIT_USAGE;
                }
                if (!v->record_fields && record_changes_any(&o->changes)) {
                        log_error("%s: the user record options (--real-name=, --storage=, …) only apply to create, "
                                  "update and firstboot",
                                  v->name);
                        return EXIT_USAGE;
                }
                if ((o->pool_force || o->pool_repair || o->extent_size) && v->run != verb_pool) {
                        log_error("%s: --force, --repair and --extent-size= only apply to pool commands", v->name);
                        return EXIT_USAGE;
                }
                if (o->pkcs11_token_uri && v->run != verb_create && v->run != verb_update) {
                        log_error("%s: --pkcs11-token-uri= only applies to create and update", v->name);
                        return EXIT_USAGE;
                }
                if (o->pkcs11_token_uri && !o->pkcs11_token_uri[0] && v->run != verb_update) {
                        log_error("%s: --pkcs11-token-uri= needs a URI, \"auto\" or \"list\"", v->name);
                        return EXIT_USAGE;
                }
                if ((o->and_resize >= 0 || o->and_change_password) && v->run != verb_update) {
                        log_error("%s: --and-resize= and --and-change-password= only apply to update", v->name);
                        return EXIT_USAGE;
                }
                if (o->recovery_key >= 0 && v->run != verb_create && v->run != verb_firstboot) {
                        log_error("%s: --recovery-key= only applies to create and firstboot", v->name);
                        return EXIT_USAGE;
                }
                if ((o->credentials || o->root || o->prompt_new_user) && v->run != verb_firstboot) {
                        log_error("%s: --credentials=, --root= and --prompt-new-user only apply to firstboot", v->name);
                        return EXIT_USAGE;
                }
                if (o->identity && v->run != verb_inspect && v->run != verb_create && v->run != verb_register) {
                        log_error("%s: --identity= only applies to inspect, create and register", v->name);
                        return EXIT_USAGE;
                }
                if (o->export_format != EXPORT_FORMAT_FULL && v->run != verb_inspect) {
                        log_error("%s: --export-format= and -E only apply to inspect", v->name);
                        return EXIT_USAGE;
                }
                return v->run(argc, argv, o);
        }
        log_error("unknown command \"%s\"; see homectl --help", argv[0]);
        return EXIT_USAGE;
}

int main(int argc, char *argv[]) {
        Options o = { .json = JSON_OFF,
                      .legend = true,
                      .ask_password = true,
                      .changes = RECORD_CHANGES_INIT,
                      .recovery_key = -1,
                      .and_resize = -1 };
        int r;

        log_set_program("homectl");
        /* First, so that no path out leaves them in the environment. */
        if (secrets_env_load() < 0) {
                log_oom();
                return EXIT_FAIL;
        }

        HiddenArgs hidden = {};
        if (hide_negative_numbers(argc, argv, &hidden) < 0) {
                free(hidden.saved);
                free(hidden.marks);
                log_oom();
                return EXIT_FAIL;
        }
        r = parse_argv(argc, argv, &o);
        restore_negative_numbers(argc, argv, &hidden);
        if (r <= 0)
                r = r < 0 ? (r == -ENOMEM ? EXIT_FAIL : EXIT_USAGE) : EXIT_OK;
        else {
                ask_password_set_allowed(o.ask_password);
                r = dispatch(argc - optind, argv + optind, &o);
        }

        record_changes_done(&o.changes);
        secrets_env_free();
        free(hidden.saved);
        free(hidden.marks);
        return r;
}
