/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-work: runs ONE operation on ONE home, then exits.
 *
 * Started as root by hearthd, one child per operation
 * (hearthd/worker-client.c), and by `homectl firstboot --root` on an image;
 * never by a user. Its exit statuses, which the caller turns into errors,
 * are common/worker-protocol.h. The storage it drives is storage/.
 *
 * The request — the home's user record, with its secret section when the
 * operation needs one — comes on stdin, never in argv or the environment.
 * The updated record, without secrets, goes to stdout. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "password.h"
#include "pkcs11-record.h"
#include "pkcs11-token.h"
#include "recovery-key.h"
#include "secret.h"
#include "size.h"
#include "user-record.h"
#include "worker-protocol.h"

static void help(void) {
        printf("Usage: hearth-work OPERATION < REQUEST.json > RECORD.json\n"
               "\n"
               "Runs one storage operation on one home and exits. hearthd starts it; tests\n"
               "and administrators may run it directly as root.\n"
               "\n"
               "Operations:\n"
               "  create      make the home's storage, seeded from skel; needs secret.password\n"
               "              unless privileged.hashedPassword is set. A block device in\n"
               "              imagePath must be unused and blank (no file system, partition\n"
               "              table or LUKS header); with --wipe what it holds is erased\n"
               "              first. --wipe never overrides \"in use\" (exit 13): mounted\n"
               "              (also through a loop device), held by a mapping, the backing\n"
               "              of a loop device, open in any process (it or, for a whole\n"
               "              disk, a partition), nor another home's\n"
               "  activate    check the password and make the home usable (mount it)\n"
               "  authenticate\n"
               "              check secret.password, change nothing\n"
               "  deactivate  make the home unusable until the next activation; with --force\n"
               "              even while files in it are open\n"
               "  lock        suspend an active encrypted home, wiping its key from memory\n"
               "  unlock      resume a locked home; needs secret.password\n"
               "  update      apply a changed record (e.g. diskSize) to the storage\n"
               "  resize      set the size to the record's diskSize, or to --size=SIZE\n"
               "              (min: as small as the data allows; max: all the backing\n"
               "              storage allows; or a size like 2G)\n"
               "  passwd      check secret.password, set privileged.hashedPassword from\n"
               "              secret.newPassword\n"
               "  inspect     report state and usage in the status section\n"
               "  remove      delete the home's storage, once proven this home's (its GPT\n"
               "              partition, LUKS2 label, luksUuid and identity token) and\n"
               "              unused (not opened\n"
               "              under another name, mounted or open: exit 13); anything else\n"
               "              is left; never while the home is active\n"
               "  clean       delete what killed operations left of the home (hidden\n"
               "              .#hearth-* entries in the home root); the home may be absent\n"
               "  skel-spare  make spares of the skel template (writable snapshots made in\n"
               "              advance, each taken whole by one subvolume create) for the\n"
               "              subvolume homes to come; the record is any subvolume home's\n"
               "  fixate      for a home found on this machine without a stored record: open\n"
               "              it with secret.password and put out the record it carries (the\n"
               "              LUKS2 token, ~/.identity of a .homedir) once its user name,\n"
               "              sections and signature (a key in $HEARTH_STATE_DIR) check out,\n"
               "              bound to this machine; mounts nothing\n"
               "\n"
               "The request on standard input is a JSON user record (systemd's format) with\n"
               "userName, uid, storage (directory, subvolume or luks) and, where needed, the\n"
               "secret section. Encrypted homes are <root>/<userName>.home images (or the\n"
               "block device in imagePath) in systemd-homed's layout (GPT partition of type\n"
               "773f91ef-66d4-49b5-bd83-d683bf40ad16 named <userName>, LUKS2 in it, the home\n"
               "the directory <userName> of its file system), mapped as\n"
               "/dev/mapper/home-<userName>.\n"
               "Directory and subvolume homes are stored in <root>/<userName>.homedir (a\n"
               "subvolume's files owned by nobody on disk) and mounted ID-mapped at\n"
               "homeDirectory while active, the storage's owner shown as the user; the\n"
               "storage itself is bind-mounted onto itself nosuid,nodev,noexec from create\n"
               "(and at each activation, if that mount is gone) until remove.\n"
               "A subvolume home is a snapshot of the skel template (made from the skel\n"
               "when it changed; found current by scanning the skel); --skel-template=TOKEN\n"
               "(create; hearthd, which watches the skel, says which is current) takes\n"
               "that one without scanning if it is there.\n"
               "Under full Btrfs qgroups, subvolumes made inside a subvolume home are put\n"
               "into the home's quota group; where that needs a quota rescan (a snapshot),\n"
               "--no-rescan (hearthd's, but once per [Quota] RescanIntervalSec=) leaves\n"
               "them out for now, held at what they reference, and starts none.\n"
               "Homes live in /home, or in $HEARTH_HOME_ROOT; homeDirectory must be\n"
               "<root>/<userName>. Per-home locks are in $HEARTH_RUNTIME_DIR (/run/hearth).\n"
               "\n"
               "Exit status:\n"
               "  0 done; 10 bad request; 11 wrong password; 12 no space; 13 busy;\n"
               "  14 not found; 15 already exists; 16 size not possible; 17 not supported;\n"
               "  18 damaged (header, record), or a storage stored under a UID that may not\n"
               "  own it (root's, another user's); 19 already active; 20 storage error;\n"
               "  21 not active; 22 TPM locked out (too many wrong PINs); 23 TPM state changed\n"
               "  (use the recovery key); 24 no usable TPM; 25 not this home's storage (remove\n"
               "  refused); 26 a new password that cannot be one (it reads as a recovery key);\n"
               "  27 TPM not asked: its counter of wrong PINs reached --tpm-tries-below=N\n"
               "  (hearthd's share of the TPM's tries for this home). The reason is one line on\n"
               "  standard error. A run that asked the TPM reports what it said as\n"
               "  status.<machine-id>.hearthTpm, or on failure as {\"hearthTpm\":…} on stdout.\n"
               "\n"
               "Environment: HEARTH_TPM2_TCTI selects the TPM for TPM2-sealed LUKS homes\n"
               "(default device:/dev/tpmrm0; swtpm:path=SOCKET for tests). For tests only:\n"
               "HEARTH_TEST_NO_IDMAP=1 takes ID-mapped mounts as refused (the chown fallback).\n");
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static int read_request(UserRecord **ret) {
        _cleanup_secure_buffer_ SecureBuffer *buf = NULL;
        _cleanup_free_ char *error = NULL;
        size_t n = 0;
        int r;

        /* The request holds passwords: keep it in locked memory. */
        r = secure_buffer_new(JSON_STRICT_MAX_SIZE + 1, &buf);
        if (r < 0)
                return log_oom();
        log_trace_phase("request: buffer locked");
        for (;;) {
                ssize_t k = read(STDIN_FILENO, (char *) buf->data + n, buf->size - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "cannot read request: %m");
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > JSON_STRICT_MAX_SIZE)
                        return log_error_errno(E2BIG, "request larger than %d bytes", JSON_STRICT_MAX_SIZE);
        }
        log_trace_phase("request: read");
        r = user_record_parse(buf->data, n, ret, &error);
        /* The secrets are held for the whole operation: in locked memory,
         * not in json-c's strings. */
        if (r >= 0 && (r = user_record_lock_secrets(*ret, &error)) < 0)
                *ret = user_record_free(*ret);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(EINVAL, "bad request: %s", error ?: "invalid record");
        return 0;
}

/* The PIN given for a token: secret.pkcs11Pin (homed's older name) or
 * secret.tokenPin, the first entry; NULL if none. */
static const char *token_pin(Home *h) {
        static const char *const keys[] = { "pkcs11Pin", "tokenPin" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *const *l = user_record_secret(h->rec, keys[i]);
                if (l && l[0] && l[0][0] && strlen(l[0]) <= PKCS11_PIN_MAX)
                        return l[0];
        }
        return NULL;
}

/* Home.pkcs11_decrypt (home.h), for LUKS homes: the token of entry index
 * decrypts its secret with the PIN given. */
static int token_decrypt(Home *h, size_t index, SecureBuffer **ret) {
        const Pkcs11EncryptedKey *k = &h->rec->pkcs11_encrypted_key[index];
        _cleanup_free_ void *data = NULL;
        size_t size = 0;
        int r;

        if (index >= h->rec->n_pkcs11_encrypted_key || pkcs11_data_decode(k->data, &data, &size) < 0)
                return -ENXIO; /* checked when parsed */
        r = pkcs11_token_decrypt(k->uri, token_pin(h), data, size, ret);
        if (r == -ENXIO)
                log_debug("home %s: token %s not present", h->name, k->uri);
        else if (r < 0 && r != -ENOMEM)
                log_error_errno(r, "home %s: token %s: %s", h->name, k->uri,
                                r == -ENOANO ? "PIN needed" : r == -ENOLCK ? "PIN locked"
                                : r == -EBADE || r == -EBADR || r == -EBADRQC ? "wrong PIN"
                                : "cannot decrypt the home's key");
        return r;
}

/* A home with PKCS#11 tokens enrolled (pkcs11-record.h): a password given
 * that matches the record's hashes or a token's opens it as before;
 * otherwise each token present decrypts its secret with the PIN, and the
 * secret's base64, once it matches its entry's hash, is the password. A
 * token absent is skipped; a PIN missing, wrong or locked is told apart
 * (worker-protocol.h) when nothing else opened the home. */
static int verify_password(Home *h) {
        const UserRecord *rec = h->rec;
        size_t nk = rec->n_pkcs11_encrypted_key;
        _cleanup_free_ const char **hashes = NULL;
        int r;

        if (nk == 0)
                return home_verify_password(h, rec->hashed_password);

        if (user_record_all_hashes(rec, &hashes) < 0)
                return log_oom();
        for (const char *const *p = rec->password; p && *p; p++) {
                r = password_verify(*p, hashes);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot verify password: %m", h->name);
                if (r > 0)
                        return 0;
        }

        int worst = 0;
        for (size_t i = 0; i < nk; i++) {
                const Pkcs11EncryptedKey *k = &rec->pkcs11_encrypted_key[i];
                _cleanup_secure_buffer_ SecureBuffer *secret = NULL;

                r = token_decrypt(h, i, &secret);
                if (r == -ENXIO)
                        continue;
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0) {
                        worst = pkcs11_error_worse(worst, r);
                        continue;
                }
                const char *one[] = { k->hashed_password, NULL };
                r = password_verify(secret->data, one);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot verify password: %m", h->name);
                if (r > 0) {
                        log_debug("home %s: opened with token %s", h->name, k->uri);
                        return 0;
                }
                log_error("home %s: token %s decrypts a key its entry's hash does not describe", h->name, k->uri);
        }
        if (worst < 0 && worst != -EIO)
                return worst;
        if (!rec->password || !rec->password[0])
                return log_error_errno(EKEYREJECTED, "home %s: password or token required", h->name);
        return log_error_errno(EKEYREJECTED, "home %s: password incorrect", h->name);
}

/* A new password must be one the home can be opened with: one that reads
 * as a recovery key is only ever tried as one (luks_volume_key_get()), and
 * would lock the person out (on a TPM home without a recovery key, for
 * good). Refused for every storage, so that the rule is one. */
static int check_new_passwords(Home *h, const char *const *passwords, const char *field) {
        for (size_t i = 0; passwords && passwords[i]; i++) {
                int r = recovery_key_shaped(passwords[i]);
                if (r < 0)
                        return log_oom();
                if (r > 0)
                        return log_error_errno(EILSEQ, "home %s: %s: entry %zu cannot be a password: "
                                               RECOVERY_KEY_SHAPED_WHY, h->name, field, i);
        }
        return 0;
}

static int op_create(Home *h, const StorageBackend *b) {
        int r;

        r = check_new_passwords(h, h->rec->password, "secret.password");
        if (r < 0)
                return r;

        if (h->rec->hashed_password && h->rec->hashed_password[0]) {
                /* Secrets given must be the ones the hashes describe. */
                if (h->rec->password && h->rec->password[0] && (r = verify_password(h)) < 0)
                        return r;
                /* Checked, and then not kept for a TPM PIN (user-record.h). */
                if (user_record_drop_pin_hash(h->rec) < 0)
                        return log_oom();
        } else if (h->rec->password && h->rec->password[0]) {
                /* Not the tokens' secrets (homectl gives them for LUKS
                 * homes' keyslots): those have their entries' hashes. */
                size_t n = 0, nk = h->rec->n_pkcs11_encrypted_key;
                _cleanup_free_ const char **own = calloc(strv_length((char **) h->rec->password) + 1, sizeof *own);
                if (!own)
                        return log_oom();
                for (const char *const *p = h->rec->password; *p; p++) {
                        bool token = false;
                        for (size_t i = 0; i < nk && !token; i++) {
                                const char *const one[] = { h->rec->pkcs11_encrypted_key[i].hashed_password, NULL };
                                r = password_verify(*p, one);
                                if (r < 0)
                                        return log_error_errno(r, "home %s: cannot verify password: %m", h->name);
                                token = r > 0;
                        }
                        if (!token)
                                own[n++] = *p;
                }
                if (n > 0 && (r = home_set_password_hashes(h, own)) < 0)
                        return r;
        }
        if (h->rec->last_change_usec == UINT64_MAX) {
                json_object_object_add(h->rec->json, "lastChangeUSec", json_object_new_int64((int64_t) now_usec()));
                if ((r = user_record_refresh(h->rec, NULL)) < 0)
                        return r;
        }
        log_trace_phase("create: passwords");
        return b->create(h);
}

static int op_passwd(Home *h, const StorageBackend *b) {
        const char *const *new_passwords = user_record_secret(h->rec, "newPassword");
        size_t n = user_record_secret_count(h->rec, "newPassword");
        int r;

        r = b->own_authentication ? 0 : verify_password(h);
        if (r < 0)
                return r;
        if (n == 0 || n > 64)
                return log_error_errno(EINVAL, "home %s: secret.newPassword: must be an array of 1 to 64 strings",
                                       h->name);
        for (size_t i = 0; i < n; i++)
                if (!new_passwords[i][0] || strlen(new_passwords[i]) > 4096)
                        return log_error_errno(EINVAL, "home %s: secret.newPassword: entry %zu must be a string "
                                               "of 1 to 4096 bytes", h->name, i);
        r = check_new_passwords(h, new_passwords, "secret.newPassword");
        if (r < 0)
                return r;
        r = home_set_password_hashes(h, new_passwords);
        if (r < 0)
                return r;
        return b->passwd ? b->passwd(h) : 0;
}

static int run(const char *op, Home *h, const StorageBackend *b) {
        int r;

        if (strcmp(op, WORKER_OP_CREATE) == 0)
                return op_create(h, b);
        if (strcmp(op, WORKER_OP_REMOVE) == 0)
                return b->remove(h);
        if (strcmp(op, WORKER_OP_ACTIVATE) == 0) {
                r = b->own_authentication ? 0 : verify_password(h);
                /* A newer trusted copy the home carries (moved here from a
                 * machine where it changed) first; LUKS reads its own. */
                if (r >= 0 && !b->own_authentication)
                        r = home_root_entry_reconcile(h);
                return r < 0 ? r : b->activate(h);
        }
        if (strcmp(op, WORKER_OP_FIXATE) == 0) {
                if (!b->fixate)
                        return log_error_errno(EOPNOTSUPP, "home %s: storage \"%s\" cannot be fixated", h->name,
                                               b->name);
                return b->fixate(h);
        }
        if (strcmp(op, WORKER_OP_AUTHENTICATE) == 0)
                return b->own_authentication && b->authenticate ? b->authenticate(h) : verify_password(h);
        if (strcmp(op, WORKER_OP_LOCK) == 0 || strcmp(op, WORKER_OP_UNLOCK) == 0) {
                int (*f)(Home *) = strcmp(op, WORKER_OP_LOCK) == 0 ? b->lock : b->unlock;
                if (!f)
                        return log_error_errno(EOPNOTSUPP, "home %s: storage \"%s\" cannot be locked", h->name,
                                               b->name);
                return f(h);
        }
        if (strcmp(op, WORKER_OP_DEACTIVATE) == 0)
                return b->deactivate(h);
        if (strcmp(op, WORKER_OP_UPDATE) == 0)
                return b->update(h);
        if (strcmp(op, WORKER_OP_RESIZE) == 0) {
                if (!b->resize)
                        return log_error_errno(EOPNOTSUPP, "home %s: storage \"%s\" has no size to change; "
                                               "use subvolume or luks", h->name, b->name);
                return b->resize(h);
        }
        if (strcmp(op, WORKER_OP_PASSWD) == 0)
                return op_passwd(h, b);
        if (strcmp(op, WORKER_OP_INSPECT) == 0)
                return 0; /* inspect runs after every operation anyway */
        if (strcmp(op, WORKER_OP_SKEL_SPARE) == 0) {
                r = home_skel_spares_fill(h);
                return r < 0 ? r : 0;
        }
        if (strcmp(op, WORKER_OP_CLEAN) == 0) {
                r = home_clean_leftovers(h);
                return r < 0 ? log_error_errno(r, "home %s: cannot remove all leftovers: %m", h->name) : 0;
        }
        return log_error_errno(EINVAL, "unknown operation \"%s\"", op);
}

/* What the TPM said, for hearthd (worker-protocol.h, WORKER_STATUS_TPM). */
static int tpm_report_in_status(Home *h) {
        const char *mid = user_record_machine_id();
        json_object *status, *mine;
        if (!h->tpm_report.known || !mid)
                return 0;
        if (!json_object_object_get_ex(h->rec->json, "status", &status)) {
                status = json_object_new_object();
                if (!status || json_object_object_add(h->rec->json, "status", status) < 0)
                        return -ENOMEM;
        }
        if (!json_object_object_get_ex(status, mid, &mine)) {
                mine = json_object_new_object();
                if (!mine || json_object_object_add(status, mid, mine) < 0)
                        return -ENOMEM;
        }
        json_object *report = worker_tpm_report_to_json(&h->tpm_report);
        if (!report || json_object_object_add(mine, WORKER_STATUS_TPM, report) < 0)
                return -ENOMEM;
        return 0;
}

static void tpm_report_on_failure(Home *h) {
        _cleanup_json_ json_object *j = h->tpm_report.known ? json_object_new_object() : NULL;
        json_object *report = j ? worker_tpm_report_to_json(&h->tpm_report) : NULL;
        if (!report || json_object_object_add(j, WORKER_STATUS_TPM, report) < 0)
                return; /* hearthd then knows less, and refuses nothing it would not */
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
}

static const char *const operations[] = {
        WORKER_OP_CREATE, WORKER_OP_ACTIVATE, WORKER_OP_AUTHENTICATE, WORKER_OP_DEACTIVATE,
        WORKER_OP_LOCK,   WORKER_OP_UNLOCK,   WORKER_OP_UPDATE,       WORKER_OP_RESIZE,
        WORKER_OP_PASSWD, WORKER_OP_INSPECT,  WORKER_OP_REMOVE,       WORKER_OP_CLEAN,
        WORKER_OP_FIXATE, WORKER_OP_SKEL_SPARE,
};

/* Operations after which a directory or subvolume home's ~/.identity is
 * brought up to its record, as systemd-homed keeps it in every home: what
 * makes the home portable (a .homedir copied to another machine is fixated
 * from it). LUKS homes write theirs in the backend. */
static bool stores_identity(const char *op) {
        return strcmp(op, WORKER_OP_CREATE) == 0 || strcmp(op, WORKER_OP_ACTIVATE) == 0 ||
               strcmp(op, WORKER_OP_UPDATE) == 0 || strcmp(op, WORKER_OP_PASSWD) == 0 ||
               strcmp(op, WORKER_OP_RESIZE) == 0;
}

int main(int argc, char *argv[]) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_home_ Home *h = NULL;
        const StorageBackend *b;
        const char *op;
        bool known = false;
        int r;

        log_set_program("hearth-work");
        log_trace_phase("main");
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "force", no_argument, NULL, 'f' },
                { "wipe", no_argument, NULL, 'w' },
                { "size", required_argument, NULL, 's' },
                { "tpm-tries-below", required_argument, NULL, 't' },
                { "skel-template", required_argument, NULL, 'S' },
                { "no-rescan", no_argument, NULL, 'R' },
                {}
        };
        bool force = false, wipe = false, no_rescan = false;
        const char *size_arg = NULL, *skel_current = NULL;
        uint32_t tpm_tries_below = UINT32_MAX;
        int c;
        while ((c = getopt_long(argc, argv, "hf", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'w':
                        wipe = true;
                        break;
                case 's':
                        size_arg = optarg;
                        break;
                case 't': {
                        char *end;
                        errno = 0;
                        unsigned long n = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || n >= UINT32_MAX) {
                                log_error("--tpm-tries-below: expected a number");
                                return WORKER_BAD_REQUEST;
                        }
                        tpm_tries_below = (uint32_t) n;
                        break;
                }
                case 'S':
                        skel_current = optarg;
                        break;
                case 'R':
                        no_rescan = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("hearth-work (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                default:
                        return WORKER_BAD_REQUEST;
                }
        if (argc - optind != 1) {
                log_error("expected exactly one OPERATION; see hearth-work --help");
                return WORKER_BAD_REQUEST;
        }
        op = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(operations); i++)
                known = known || strcmp(op, operations[i]) == 0;
        if (!known) {
                log_error("unknown operation \"%.32s\"; see hearth-work --help", op);
                return WORKER_BAD_REQUEST;
        }

        r = read_request(&rec);
        if (r < 0)
                return worker_exit_status(r);
        log_trace_phase("request read");
        b = storage_backend_find(rec->storage);
        if (!b) {
                log_error("home %s: storage: must be one of directory, subvolume, luks", rec->user_name);
                return WORKER_BAD_REQUEST;
        }
        r = home_open(rec, &h);
        if (r < 0)
                return worker_exit_status(r);
        log_trace_phase("home opened (locked)");
        h->force = force;
        if (wipe && strcmp(op, WORKER_OP_CREATE) != 0) {
                log_error("home %s: --wipe: for create only", h->name);
                return WORKER_BAD_REQUEST;
        }
        h->wipe = wipe;
        h->no_rescan = no_rescan;
        h->tpm_tries_below = tpm_tries_below;
        h->pkcs11_decrypt = token_decrypt;
        if (skel_current && strcmp(op, WORKER_OP_CREATE) != 0 && strcmp(op, WORKER_OP_SKEL_SPARE) != 0) {
                log_error("home %s: --skel-template: for create and skel-spare only", h->name);
                return WORKER_BAD_REQUEST;
        }
        h->skel_current = skel_current;
        if (size_arg) {
                uint64_t bytes;
                if (strcmp(op, WORKER_OP_RESIZE) != 0 || size_parse(size_arg, &bytes) < 0) {
                        log_error("home %s: --size: expected min, max or a size like 2G, for resize only", h->name);
                        return WORKER_BAD_REQUEST;
                }
                if (bytes == HEARTH_SIZE_MIN || bytes == HEARTH_SIZE_MAX)
                        h->size_request = bytes;
                else {
                        if (user_record_set_effective(rec, "diskSize", json_object_new_int64((int64_t) bytes)) < 0) {
                                log_error("home %s: --size: must be between 16 MiB and 1 EiB", h->name);
                                return WORKER_BAD_SIZE;
                        }
                }
        }

        r = run(op, h, b);
        log_trace_phase("operation done");
        if (r >= 0 && !b->own_authentication && stores_identity(op) && !h->identity_stored &&
            home_root_entry_store_identity(h) < 0)
                log_warning("home %s: ~/" HOME_IDENTITY_FILE " stays as it was", h->name);
        log_trace_phase("identity stored");
        if (r >= 0 && strcmp(op, WORKER_OP_REMOVE) != 0 && strcmp(op, WORKER_OP_CLEAN) != 0 &&
            strcmp(op, WORKER_OP_SKEL_SPARE) != 0)
                r = b->inspect(h);
        log_trace_phase("inspected");
        if (r < 0) {
                tpm_report_on_failure(h);
                return worker_exit_status(r);
        }
        if (tpm_report_in_status(h) < 0)
                return worker_exit_status(log_oom());

        user_record_strip(rec, USER_RECORD_SECRET);
        const char *out = user_record_to_string(rec, USER_RECORD_FORMAT_SHORT);
        if (!out || printf("%s\n", out) < 0 || fflush(stdout) != 0) {
                log_error("home %s: cannot write the record to stdout", rec->user_name);
                return WORKER_STORAGE_ERROR;
        }
        log_trace_phase("answered");
        return WORKER_OK;
}
