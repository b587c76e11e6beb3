/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs that are one or two calls on org.freedesktop.home1.Manager. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ask-password.h"
#include "bus-call.h"
#include "exit-status.h"
#include "home-create.h"
#include "homectl.h"
#include "identity-file.h"
#include "log.h"
#include "pkcs11-record.h"
#include "pkcs11-token.h"
#include "secret.h"
#include "size.h"

static int check_user_name(const char *name) {
        if (valid_user_name(name))
                return 0;
        log_error("invalid user name \"%s\"", name);
        return -EINVAL;
}

/* The first failure is what homectl exits with; later users still run. */
static void keep_first(int *status, int r) {
        if (*status == EXIT_OK)
                *status = r;
}

/* The passwords to start with: $PASSWORD, if set. */
static int secret_from_env(Passwords *p) {
        const char *e = secrets_env_password();
        if (e && passwords_add(p, e) < 0)
                return log_oom();
        return 0;
}

/* ---- list ------------------------------------------------------------- */

static int compare_name(const void *a, const void *b) {
        json_object *const *x = a, *const *y = b, *nx, *ny;
        json_object_object_get_ex(*x, "name", &nx);
        json_object_object_get_ex(*y, "name", &ny);
        return strcmp(json_object_get_string(nx), json_object_get_string(ny));
}

int verb_list(int argc, char **argv, const Options *o) {
        static const char *const headers[] = { "NAME", "UID", "GID", "STATE", "REALNAME", "HOME", "SHELL" };
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_table_ Table *t = NULL;
        _cleanup_json_ json_object *array = NULL;
        bool color = colors_enabled();
        int r;

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        r = home_call(bus, &(HomeCall) { .method = "ListHomes" }, &reply);
        if (r != EXIT_OK)
                return r;

        t = table_new(ELEMENTSOF(headers), headers);
        array = json_object_new_array();
        if (!t || !array)
                return log_oom(), EXIT_FAIL;

        r = sd_bus_message_enter_container(reply, 'a', "(susussso)");
        if (r < 0)
                return log_bus_error(NULL, "ListHomes", NULL, r);
        for (;;) {
                const char *name, *state, *real_name, *home, *shell, *path;
                uint32_t uid, gid;
                char uid_s[16], gid_s[16];

                r = sd_bus_message_read(reply, "(susussso)", &name, &uid, &state, &gid, &real_name, &home, &shell,
                                        &path);
                if (r < 0)
                        return log_bus_error(NULL, "ListHomes", NULL, r);
                if (r == 0)
                        break;
                snprintf(uid_s, sizeof uid_s, "%" PRIu32, uid);
                snprintf(gid_s, sizeof gid_s, "%" PRIu32, gid);
                const char *cells[] = { name, uid_s, gid_s, state, real_name[0] ? real_name : "-", home, shell };
                const char *colors[] = { NULL, NULL, NULL, state_color(state), NULL, NULL, NULL };
                if (table_add_row(t, cells, colors) < 0)
                        return log_oom(), EXIT_FAIL;

                json_object *e = json_object_new_object();
                if (!e || json_object_array_add(array, e) < 0) {
                        json_object_put(e);
                        return log_oom(), EXIT_FAIL;
                }
                /* Keys as systemd's tables name their columns in JSON. */
                if (json_object_object_add(e, "name", json_object_new_string(name)) < 0 ||
                    json_object_object_add(e, "uid", json_object_new_uint64(uid)) < 0 ||
                    json_object_object_add(e, "gid", json_object_new_uint64(gid)) < 0 ||
                    json_object_object_add(e, "state", json_object_new_string(state)) < 0 ||
                    json_object_object_add(e, "realname", json_object_new_string(real_name)) < 0 ||
                    json_object_object_add(e, "home", json_object_new_string(home)) < 0 ||
                    json_object_object_add(e, "shell", json_object_new_string(shell)) < 0)
                        return log_oom(), EXIT_FAIL;
        }

        if (o->json != JSON_OFF) {
                json_object_array_sort(array, compare_name);
                printf("%s\n", json_object_to_json_string_ext(array, JSON_C_TO_STRING_NOSLASHESCAPE |
                                                                             (o->json == JSON_PRETTY
                                                                                      ? JSON_C_TO_STRING_PRETTY |
                                                                                                JSON_C_TO_STRING_SPACED
                                                                                      : JSON_C_TO_STRING_PLAIN)));
                return EXIT_OK;
        }

        table_sort(t, 0);
        if (table_rows(t) > 0)
                table_print(t, stdout, o->legend, color);
        if (o->legend) {
                if (table_rows(t) > 0)
                        printf("\n%zu home areas listed.\n", table_rows(t));
                else
                        printf("No home areas.\n");
        }
        return EXIT_OK;
}

/* ---- inspect ---------------------------------------------------------- */

static int inspect_one(sd_bus *bus, const char *arg, const Options *o, bool first) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        char who[USER_NAME_MAX + 1];
        const char *text, *path;
        int incomplete, r;

        if (!arg || (arg[0] && strspn(arg, "0123456789") == strlen(arg))) {
                /* A UID, or no argument: the calling user's. */
                _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
                unsigned long long u = arg ? strtoull(arg, NULL, 10) : (unsigned long long) getuid();
                if (u >= UID_INVALID) {
                        log_error("invalid UID \"%s\"", arg);
                        return EXIT_USAGE;
                }
                snprintf(who, sizeof who, "%llu", u);
                r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                       "GetUserRecordByUID", &e, &reply, "u", (uint32_t) u);
                if (r < 0)
                        return log_bus_error(who, "GetUserRecordByUID", &e, r);
        } else {
                if (check_user_name(arg) < 0)
                        return EXIT_USAGE;
                snprintf(who, sizeof who, "%s", arg);
                r = home_call(bus, &(HomeCall) { .method = "GetUserRecordByName", .user = arg, .user_argument = true },
                              &reply);
                if (r != EXIT_OK)
                        return r;
        }

        r = sd_bus_message_read(reply, "sbo", &text, &incomplete, &path);
        if (r < 0)
                return log_bus_error(who, "GetUserRecord", NULL, r);
        r = user_record_parse(text, strlen(text), &rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: the record hearthd returned is invalid: %s", who, error ?: "?");
                return EXIT_FAIL;
        }
        (void) user_record_strip(rec, USER_RECORD_SECRET);

        if (o->json != JSON_OFF) {
                if (record_export(rec, o->export_format) < 0)
                        return log_oom(), EXIT_FAIL;
                printf("%s\n", user_record_to_string(rec, o->json == JSON_PRETTY ? USER_RECORD_FORMAT_PRETTY
                                                                                 : USER_RECORD_FORMAT_SHORT));
                return EXIT_OK;
        }
        if (!first)
                putchar('\n');
        record_print_summary(stdout, rec, colors_enabled());
        if (incomplete)
                field(stdout, "Note", "privileged fields are hidden from this caller");
        return EXIT_OK;
}

int verb_inspect(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int status = EXIT_OK, r;

        if (o->identity) {
                if (argc > 1) {
                        log_error("inspect: --identity= and user names exclude each other");
                        return EXIT_USAGE;
                }
                return verb_inspect_identity(o->identity, o->json);
        }
        for (int i = 1; i < argc; i++)
                if (strspn(argv[i], "0123456789") != strlen(argv[i]) && check_user_name(argv[i]) < 0)
                        return EXIT_USAGE;
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        if (argc <= 1)
                return inspect_one(bus, NULL, o, true);
        for (int i = 1; i < argc; i++)
                keep_first(&status, inspect_one(bus, argv[i], o, i == 1));
        return status;
}

/* ---- create ----------------------------------------------------------- */

int verb_create(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_json_wipe_ json_object *base = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_passwords_ Passwords passwords = {};
        _cleanup_secure_buffer_ SecureBuffer *recovery_key = NULL;
        const char *user = argc > 1 ? argv[1] : NULL;
        bool set_hashes;
        json_object *v;
        int r;

        if (o->pkcs11_token_uri && strcmp(o->pkcs11_token_uri, "list") == 0)
                return pkcs11_token_list() < 0 ? EXIT_FAIL : EXIT_OK;
        if (!user && !o->identity) {
                log_error("create: a user name is needed (or --identity=FILE naming one)");
                return EXIT_USAGE;
        }
        if (user && check_user_name(user) < 0)
                return EXIT_USAGE;
        if (o->identity && (r = record_tree_load(o->identity, &base)) != EXIT_OK)
                return r;
        if (!user && base && json_object_object_get_ex(base, "userName", &v) &&
            json_object_is_type(v, json_type_string))
                user = json_object_get_string(v);
        if (!user) {
                log_error("%s: userName: required", o->identity);
                return EXIT_INVALID_RECORD;
        }

        /* Refused before the password is asked for twice. */
        r = create_check_recovery_key(base, user, &o->changes, o->recovery_key);
        if (r != EXIT_OK)
                return r;
        /* A token alone opens it when no password is given or can be asked. */
        if (o->pkcs11_token_uri && !secrets_env_new_password() && !ask_password_possible() &&
            !record_tree_list_get(base, "privileged", "hashedPassword", 0) &&
            !record_tree_list_get(base, "secret", "password", 0))
                set_hashes = true;
        else if ((r = create_passwords(user, base, &passwords, &set_hashes)) != EXIT_OK)
                return r;
        r = create_build_record(TAKE_PTR(base), user, &o->changes, user_record_machine_id(), &passwords, set_hashes,
                                o->recovery_key, &rec, &recovery_key);
        if (r != EXIT_OK)
                return r;
        if (o->pkcs11_token_uri && (r = create_enroll_pkcs11(rec, o->pkcs11_token_uri, NULL)) != EXIT_OK)
                return r;

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        if ((r = create_call(bus, rec)) != EXIT_OK)
                return r;
        /* Only now: a key shown for a home that was never made would be
         * written down for nothing. */
        create_show_recovery_key(rec->user_name, recovery_key);
        return EXIT_OK;
}

/* ---- update ----------------------------------------------------------- */

static int append_resize(sd_bus_message *m, const Passwords *secret, void *userdata);

int verb_update(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_user_record_ UserRecord *old = NULL, *rec = NULL;
        _cleanup_passwords_ Passwords secret = {};
        _cleanup_free_ char *error = NULL;
        const char *user = argv[1], *text, *path;
        int incomplete, r;

        if (check_user_name(user) < 0)
                return EXIT_USAGE;
        if (o->pkcs11_token_uri && strcmp(o->pkcs11_token_uri, "list") == 0)
                return pkcs11_token_list() < 0 ? EXIT_FAIL : EXIT_OK;
        if (!record_changes_any(&o->changes) && !o->pkcs11_token_uri) {
                log_error("update: no field to change given; see homectl --help");
                return EXIT_USAGE;
        }
        /* The volume is sealed at create; a changed record would only claim
         * PCRs or keyslots the header does not have. */
        if (record_changes_tpm2_any(&o->changes)) {
                log_error("update: --tpm2, --tpm2-pcrs= and --tpm2-keep-password= are chosen when the home is "
                          "created; re-enrolling an existing home is not supported");
                return EXIT_USAGE;
        }
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;

        r = home_call(bus, &(HomeCall) { .method = "GetUserRecordByName", .user = user, .user_argument = true },
                      &reply);
        if (r != EXIT_OK)
                return r;
        r = sd_bus_message_read(reply, "sbo", &text, &incomplete, &path);
        if (r < 0)
                return log_bus_error(user, "GetUserRecordByName", NULL, r);
        if (incomplete) {
                log_error("home %s: the record is incomplete for this caller (its privileged section is hidden); "
                          "run as root or as %s",
                          user, user);
                return EXIT_ACCESS_DENIED;
        }
        r = user_record_parse(text, strlen(text), &old, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: the record hearthd returned is invalid: %s", user, error ?: "?");
                return EXIT_FAIL;
        }

        free(error);
        error = NULL;
        r = record_build_update(old, &o->changes, user_record_machine_id(), now_usec(), &rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: %s", user, error ?: strerror(-r));
                if (r == -EMEDIUMTYPE) /* --tpm2 for a home that is not LUKS */
                        return record_changes_tpm2_any(&o->changes) ? EXIT_USAGE : EXIT_INVALID_RECORD;
                return r == -EINVAL ? EXIT_INVALID_RECORD : EXIT_FAIL;
        }

        _cleanup_secure_buffer_ SecureBuffer *token_secret = NULL;
        if (o->pkcs11_token_uri && o->pkcs11_token_uri[0] &&
            (r = create_enroll_pkcs11(rec, o->pkcs11_token_uri, &token_secret)) != EXIT_OK)
                return r;
        if (o->pkcs11_token_uri && !o->pkcs11_token_uri[0]) {
                /* Not the last way in. */
                if (!rec->hashed_password || !rec->hashed_password[0]) {
                        log_error("home %s: has no password: removing its tokens would lock it for good; set a "
                                  "password first (homectl passwd)", user);
                        return EXIT_USAGE;
                }
                if (pkcs11_record_clear(rec->json) < 0 || user_record_refresh(rec, &error) < 0)
                        return log_oom(), EXIT_FAIL;
        }
        if (secret_from_env(&secret) < 0)
                return EXIT_FAIL;
        /* A LUKS home's new keyslot opens with the token's key. */
        if (token_secret && old->storage == USER_STORAGE_LUKS && passwords_add(&secret, token_secret->data) < 0)
                return log_oom(), EXIT_FAIL;
        r = home_call(bus,
                      &(HomeCall) { .method = "UpdateHome", .user = user, .timeout = BUS_TIMEOUT_LONG,
                                    .secret = &secret, .append = bus_append_record, .userdata = rec },
                      NULL);
        if (r != EXIT_OK)
                return r;
        /* As systemd's homectl: a size given is the home's size now, not
         * only the record's (a directory home has none to change). */
        bool resize = o->and_resize > 0 ||
                      (o->and_resize < 0 && o->changes.disk_size_set && rec->storage != USER_STORAGE_DIRECTORY &&
                       (rec->disk_size != UINT64_MAX || rec->disk_size_relative != UINT64_MAX));
        if (resize) {
                uint64_t size = HEARTH_SIZE_RECORD;
                r = home_call(bus,
                              &(HomeCall) { .method = "ResizeHome", .user = user, .user_argument = true,
                                            .timeout = BUS_TIMEOUT_LONG, .secret = &secret,
                                            .append = append_resize, .userdata = &size },
                              NULL);
                if (r != EXIT_OK)
                        return r;
        }
        if (o->and_change_password)
                return verb_passwd(2, (char *[]) { (char *) "passwd", (char *) user, NULL }, o);
        return EXIT_OK;
}

/* ---- calls on one home at a time --------------------------------------- */

/* METHOD(s user[, s secret]) for each user named. */
static int each_user(int argc, char **argv, const Options *o, const char *method, bool with_secret, uint64_t timeout) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int status = EXIT_OK, r;

        for (int i = 1; i < argc; i++)
                if (check_user_name(argv[i]) < 0)
                        return EXIT_USAGE;
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        for (int i = 1; i < argc; i++) {
                _cleanup_passwords_ Passwords secret = {};
                if (with_secret && secret_from_env(&secret) < 0)
                        return EXIT_FAIL;
                keep_first(&status, home_call(bus,
                                              &(HomeCall) { .method = method, .user = argv[i], .user_argument = true,
                                                            .timeout = timeout, .secret = with_secret ? &secret : NULL },
                                              NULL));
        }
        return status;
}

int verb_remove(int argc, char **argv, const Options *o) {
        return each_user(argc, argv, o, "RemoveHome", false, BUS_TIMEOUT_LONG);
}

int verb_activate(int argc, char **argv, const Options *o) {
        return each_user(argc, argv, o, "ActivateHome", true, BUS_TIMEOUT_LONG);
}

int verb_deactivate(int argc, char **argv, const Options *o) {
        return each_user(argc, argv, o, "DeactivateHome", false, BUS_TIMEOUT_DEFAULT);
}

int verb_lock(int argc, char **argv, const Options *o) {
        return each_user(argc, argv, o, "LockHome", false, BUS_TIMEOUT_DEFAULT);
}

int verb_unlock(int argc, char **argv, const Options *o) {
        return each_user(argc, argv, o, "UnlockHome", true, BUS_TIMEOUT_DEFAULT);
}

int verb_authenticate(int argc, char **argv, const Options *o) {
        return each_user(argc, argv, o, "AuthenticateHome", true, BUS_TIMEOUT_DEFAULT);
}

static int all_homes(const Options *o, const char *method) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int r;

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        return home_call(bus, &(HomeCall) { .method = method, .timeout = BUS_TIMEOUT_LONG }, NULL);
}

int verb_lock_all(int argc, char **argv, const Options *o) {
        return all_homes(o, "LockAllHomes");
}

int verb_deactivate_all(int argc, char **argv, const Options *o) {
        return all_homes(o, "DeactivateAllHomes");
}

/* Rebalance(): nothing to change is no failure, as homed's homectl says. */
int verb_rebalance(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        r = sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                                           "Rebalance");
        if (r >= 0)
                r = sd_bus_call(bus, m, BUS_TIMEOUT_LONG, &e, NULL); /* a resize per home */
        if (r < 0 && sd_bus_error_has_name(&e, BUS_ERROR_REBALANCE_NOT_NEEDED)) {
                log_info("No homes needed rebalancing.");
                return EXIT_OK;
        }
        if (r < 0)
                return log_bus_error(NULL, "Rebalance", &e, r);
        log_info("Completed rebalancing.");
        return EXIT_OK;
}

/* ---- resize ----------------------------------------------------------- */

static int append_resize(sd_bus_message *m, const Passwords *secret, void *userdata) {
        int r = sd_bus_message_append(m, "t", *(const uint64_t *) userdata);
        if (r < 0)
                return r;
        return bus_append_secret(m, secret);
}

int verb_resize(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_passwords_ Passwords secret = {};
        uint64_t size = HEARTH_SIZE_RECORD; /* no SIZE */
        int r;

        if (check_user_name(argv[1]) < 0)
                return EXIT_USAGE;
        if (argc > 2) {
                r = size_parse(argv[2], &size);
                if (r < 0 || size == HEARTH_SIZE_RECORD) {
                        log_error("resize: invalid size \"%s\": expected e.g. 10G, 512M, min or max", argv[2]);
                        return EXIT_USAGE;
                }
        }
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        if (secret_from_env(&secret) < 0)
                return EXIT_FAIL;
        return home_call(bus,
                         &(HomeCall) { .method = "ResizeHome", .user = argv[1], .user_argument = true,
                                       .timeout = BUS_TIMEOUT_LONG, .secret = &secret, .append = append_resize,
                                       .userdata = &size },
                         NULL);
}

/* ---- passwd ----------------------------------------------------------- */

static int append_passwd(sd_bus_message *m, const Passwords *old, void *userdata) {
        int r = bus_append_secret(m, userdata);
        if (r < 0)
                return r;
        return bus_append_secret(m, old);
}

int verb_passwd(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_passwords_ Passwords new_secret = {}, old_secret = {};
        const char *user = argv[1], *e;
        int r;

        if (check_user_name(user) < 0)
                return EXIT_USAGE;
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;

        e = secrets_env_new_password();
        if (e) {
                if (!e[0]) {
                        log_error("home %s: $NEWPASSWORD is empty", user);
                        return EXIT_BAD_PASSWORD;
                }
                if (!new_password_ok(user, e))
                        return EXIT_BAD_PASSWORD;
                if (passwords_add(&new_secret, e) < 0)
                        return log_oom(), EXIT_FAIL;
        } else if (ask_password_possible()) {
                _cleanup_secure_buffer_ SecureBuffer *pw = NULL;
                if (ask_new_password(user, &pw) < 0)
                        return EXIT_BAD_PASSWORD;
                if (passwords_add(&new_secret, pw->data) < 0)
                        return log_oom(), EXIT_FAIL;
        } else {
                log_error("home %s: a new password is needed: set $NEWPASSWORD, or run on a terminal without "
                          "--no-ask-password",
                          user);
                return EXIT_BAD_PASSWORD;
        }

        if (secret_from_env(&old_secret) < 0)
                return EXIT_FAIL;
        return home_call(bus,
                         &(HomeCall) { .method = "ChangePasswordHome", .user = user, .user_argument = true,
                                       .timeout = BUS_TIMEOUT_LONG, .secret = &old_secret, .append = append_passwd,
                                       .userdata = &new_secret },
                         NULL);
}
