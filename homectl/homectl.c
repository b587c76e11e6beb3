/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "identity-store.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "secret.h"
#include "sign.h"
#include "size.h"
#include "user-record.h"

/* Exit codes; documented in --help. */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
        EXIT_INVALID_RECORD = 65, /* EX_DATAERR */
        EXIT_NO_INPUT = 66,       /* EX_NOINPUT */
};

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
} JsonMode;

static JsonMode arg_json = JSON_OFF;
static const char *arg_identity = NULL;

static void help(void) {
        printf("Usage: homectl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Create, inspect and manage home areas managed by Hearth.\n"
               "\n"
               "Commands:\n"
               "  inspect --identity=FILE   Validate a user record offline and show it\n"
               "\n"
               "Options:\n"
               "  -h --help                 Show this help and exit\n"
               "     --version              Show the version and exit\n"
               "     --identity=FILE        Read the user record from FILE (\"-\" for standard input)\n"
               "     --json=pretty|short|off\n"
               "                            Print the record as JSON instead of a table\n"
               "  -j                        Same as --json=pretty on a terminal, --json=short otherwise\n"
               "\n"
               "The record is a JSON user record in systemd's format (docs/USER_RECORD.md):\n"
               "it is parsed strictly (no duplicate keys, valid UTF-8, bounded size and nesting)\n"
               "and every known field is checked. Its signature is checked against the keys in\n"
               "%s (or $HEARTH_STATE_DIR). The secret section is never printed.\n"
               "\n"
               "Exit status:\n"
               "  0   success; for inspect, the record is valid\n"
               "  1   failure\n"
               "  2   invalid command line\n"
               "  65  the record is invalid, or modified after it was signed; the reason,\n"
               "      naming the field, is on standard error\n"
               "  66  the input could not be read\n",
               identity_store_default_dir());
}

static int read_input(const char *path, char **ret, size_t *ret_len) {
        if (strcmp(path, "-") != 0)
                return read_file_bounded(path, JSON_STRICT_MAX_SIZE, ret, ret_len);

        size_t n = 0;
        _cleanup_free_ char *buf = malloc(JSON_STRICT_MAX_SIZE + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                size_t k = fread(buf + n, 1, JSON_STRICT_MAX_SIZE + 1 - n, stdin);
                n += k;
                if (n > JSON_STRICT_MAX_SIZE)
                        return -EFBIG;
                if (k == 0)
                        break;
        }
        if (ferror(stdin))
                return -EIO;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

static void field(const char *label, const char *value) {
        if (value)
                printf("%26s: %s\n", label, value);
}

static void field_bool(const char *label, int value) {
        if (value >= 0)
                field(label, value ? "yes" : "no");
}

static void field_u64(const char *label, uint64_t value) {
        char buf[32];
        if (value != UINT64_MAX) {
                snprintf(buf, sizeof buf, "%" PRIu64, value);
                field(label, buf);
        }
}

static void field_time(const char *label, uint64_t usec) {
        char buf[64];
        time_t t;
        struct tm tm;

        if (usec == UINT64_MAX)
                return;
        t = (time_t) (usec / 1000000);
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%a %Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 " µs", usec);
        field(label, buf);
}

static void field_span(const char *label, uint64_t usec) {
        char buf[64];
        if (usec == UINT64_MAX)
                return;
        if (usec % (86400 * USEC_PER_SEC) == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 "d", usec / (86400 * USEC_PER_SEC));
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else if (usec % 1000 == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 "ms", usec / 1000);
        else
                snprintf(buf, sizeof buf, "%" PRIu64 "µs", usec);
        field(label, buf);
}

static void field_size(const char *label, uint64_t bytes) {
        char buf[SIZE_FORMAT_MAX];
        if (bytes != UINT64_MAX)
                field(label, size_format(bytes, buf));
}

static void field_list(const char *label, const char **l) {
        for (size_t i = 0; l && l[i]; i++)
                field(i == 0 ? label : "", l[i]);
}

static void print_table(const UserRecord *rec, const char *signature, bool had_secrets) {
        char buf[64];

        field("User name", rec->user_name);
        field("Real name", rec->real_name);
        field("Disposition", user_disposition_to_string(rec->disposition));
        field_bool("Locked", rec->locked);
        field_time("Not before", rec->not_before_usec);
        field_time("Not after", rec->not_after_usec);
        if (rec->uid != UID_INVALID) {
                snprintf(buf, sizeof buf, "%u", rec->uid);
                field("UID", buf);
        }
        if (rec->gid != GID_INVALID) {
                snprintf(buf, sizeof buf, "%u", rec->gid);
                field("GID", buf);
        }
        field_list("Aux. groups", rec->member_of);
        field("Email", rec->email_address);
        field("Directory", rec->home_directory);
        field("Storage", user_storage_to_string(rec->storage));
        field("Image path", rec->image_path);
        field("File system", rec->file_system_type);
        field_size("Disk size", rec->disk_size);
        field("Shell", rec->shell);
        field_time("Last change", rec->last_change_usec);
        field_time("Last password change", rec->last_password_change_usec);
        field_span("Password change min", rec->password_change_min_usec);
        field_span("Password change max", rec->password_change_max_usec);
        field_span("Password change warn", rec->password_change_warn_usec);
        field_span("Password change inactive", rec->password_change_inactive_usec);
        field_bool("Password change now", rec->password_change_now);
        field_bool("Enforce password policy", rec->enforce_password_policy);
        field_bool("Auto login", rec->auto_login);
        field_bool("LUKS discard", rec->luks_discard);
        if (rec->luks_cipher || rec->luks_cipher_mode) {
                snprintf(buf, sizeof buf, "%s-%s", rec->luks_cipher ?: "aes", rec->luks_cipher_mode ?: "xts-plain64");
                field("LUKS cipher", buf);
        }
        if (rec->luks_volume_key_size != UINT64_MAX) {
                snprintf(buf, sizeof buf, "%" PRIu64 " bit", rec->luks_volume_key_size * 8);
                field("LUKS volume key", buf);
        }
        field("PBKDF type", rec->luks_pbkdf_type);
        field("PBKDF hash", rec->luks_pbkdf_hash_algorithm);
        field_span("PBKDF time cost", rec->luks_pbkdf_time_cost_usec);
        field_size("PBKDF memory cost", rec->luks_pbkdf_memory_cost);
        field_u64("PBKDF threads", rec->luks_pbkdf_parallel_threads);
        field("Mount options", rec->luks_extra_mount_options);
        if (rec->hashed_password) {
                snprintf(buf, sizeof buf, "%zu", strv_length((char *const *) rec->hashed_password));
                field("Password hashes", buf);
        }
        if (had_secrets)
                field("Secrets", "present (not shown)");
        field("Signature", signature);
}

static int verb_inspect(void) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_identity_store_ IdentityStore *store = NULL;
        const char *signature = "not checked";
        SignatureStatus status = SIGNATURE_UNSIGNED;
        Keyring *kr;
        size_t len;
        int r;

        if (!arg_identity) {
                log_error("inspect: only --identity=FILE is available until the daemon exists");
                return EXIT_USAGE;
        }

        r = read_input(arg_identity, &text, &len);
        if (r < 0) {
                if (r == -EFBIG)
                        log_error("%s: larger than %d bytes", arg_identity, JSON_STRICT_MAX_SIZE);
                else if (r == -EBADF)
                        log_error("%s: not a regular file", arg_identity);
                else
                        log_error_errno(r, "%s: cannot read: %m", arg_identity);
                return EXIT_NO_INPUT;
        }

        r = user_record_parse(text, len, &rec, &error);
        explicit_bzero(text, len);
        if (r == -ENOMEM) {
                log_oom();
                return EXIT_FAIL;
        }
        if (r < 0) {
                log_error("%s: %s", arg_identity, error ?: "invalid record");
                return EXIT_INVALID_RECORD;
        }

        if (rec->has_sections & USER_RECORD_SIGNATURE) {
                if (identity_store_open(NULL, &store) >= 0 && identity_store_keyring(store, false, &kr) >= 0 &&
                    keyring_verify(kr, rec, &status) >= 0)
                        signature = signature_status_to_string(status);
                if (status == SIGNATURE_BAD) {
                        log_error("%s: signature: record was modified after it was signed", arg_identity);
                        return EXIT_INVALID_RECORD;
                }
        } else
                signature = signature_status_to_string(SIGNATURE_UNSIGNED);

        /* What we print is the record minus secrets, never the secrets. */
        bool had_secrets = rec->has_sections & USER_RECORD_SECRET;
        user_record_strip(rec, USER_RECORD_SECRET);

        if (arg_json == JSON_OFF)
                print_table(rec, signature, had_secrets);
        else
                printf("%s\n", user_record_to_string(rec, arg_json == JSON_PRETTY ? USER_RECORD_FORMAT_PRETTY
                                                                                  : USER_RECORD_FORMAT_SHORT));
        return EXIT_OK;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_IDENTITY };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", required_argument, NULL, ARG_JSON },
                { "identity", required_argument, NULL, ARG_IDENTITY },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hj", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("homectl (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                case ARG_JSON:
                        if (strcmp(optarg, "pretty") == 0)
                                arg_json = JSON_PRETTY;
                        else if (strcmp(optarg, "short") == 0)
                                arg_json = JSON_SHORT;
                        else if (strcmp(optarg, "off") == 0)
                                arg_json = JSON_OFF;
                        else if (strcmp(optarg, "help") == 0) {
                                printf("pretty\nshort\noff\n");
                                return 0;
                        } else {
                                log_error("--json=: expected pretty, short or off, got \"%s\"", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'j':
                        arg_json = isatty(STDOUT_FILENO) ? JSON_PRETTY : JSON_SHORT;
                        break;
                case ARG_IDENTITY:
                        arg_identity = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

int main(int argc, char *argv[]) {
        int r;

        log_set_program("homectl");
        r = parse_argv(argc, argv);
        if (r < 0)
                return EXIT_USAGE;
        if (r == 0)
                return EXIT_OK;

        if (optind >= argc) {
                log_error("missing command; see homectl --help");
                return EXIT_USAGE;
        }
        const char *verb = argv[optind];
        if (strcmp(verb, "inspect") == 0) {
                if (argc - optind > 1) {
                        log_error("inspect: user names are not supported until the daemon exists; use --identity=FILE");
                        return EXIT_USAGE;
                }
                return verb_inspect();
        }
        log_error("unknown command \"%s\"; see homectl --help", verb);
        return EXIT_USAGE;
}
