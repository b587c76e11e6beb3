/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Taking homes from one machine to another, as systemd's homectl (258)
 * does it: adopt (a home's image or directory found elsewhere), register
 * (a user record exported elsewhere), unregister (forget a home here,
 * keeping its storage). The record travels inside the home (LUKS2 token,
 * ~/.identity) or as `homectl inspect --export-format=stripped` prints it;
 * the receiving machine trusts it if its signer's key is installed there
 * (NAME.public beside its records). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-call.h"
#include "exit-status.h"
#include "homectl.h"
#include "identity-file.h"
#include "log.h"
#include "macro.h"

/* The first failure is what homectl exits with; later arguments still run. */
static void keep_first(int *status, int r) {
        if (*status == EXIT_OK)
                *status = r;
}

static int append_adopt(sd_bus_message *m, const Passwords *secret, void *userdata) {
        return sd_bus_message_append(m, "st", (const char *) userdata, UINT64_C(0));
}

/* PATH as hearthd takes it: absolute (relative to the working directory
 * here), without "." and ".." and doubled slashes. */
static int absolute_path(const char *arg, char **ret) {
        _cleanup_free_ char *joined = NULL;
        char cwd[PATH_MAX];

        if (arg[0] != '/') {
                if (!getcwd(cwd, sizeof cwd))
                        return log_error_errno(errno, "cannot get the working directory: %m");
                if (asprintf(&joined, "%s/%s", cwd, arg) < 0)
                        return log_oom();
                arg = joined;
        }
        char *out = malloc(strlen(arg) + 2), *o = out;
        if (!out)
                return log_oom();
        for (const char *p = arg; *p;) {
                while (*p == '/')
                        p++;
                size_t n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n == 1 && p[0] == '.') {
                        p += n;
                        continue;
                }
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > out && *--o != '/')
                                ;
                        p += n;
                        continue;
                }
                *o++ = '/';
                memcpy(o, p, n);
                o += n;
                p += n;
        }
        if (o == out)
                *o++ = '/';
        *o = 0;
        *ret = out;
        return 0;
}

int verb_adopt(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int status = EXIT_OK, r;

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        for (int i = 1; i < argc; i++) {
                _cleanup_free_ char *path = NULL;
                if (absolute_path(argv[i], &path) < 0) {
                        keep_first(&status, EXIT_FAIL);
                        continue;
                }
                r = home_call(bus,
                              &(HomeCall) { .method = "AdoptHome", .timeout = BUS_TIMEOUT_LONG, .append = append_adopt,
                                            .userdata = path },
                              NULL);
                if (r == EXIT_OK)
                        log_info("%s: adopted; its record is read from it and checked at the first login (or "
                                 "homectl authenticate)", path);
                keep_first(&status, r);
        }
        return status;
}

static int register_one(sd_bus *bus, const char *path) {
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_user_record_ UserRecord *rec = NULL;
        size_t len;
        int r;

        r = identity_file_read(path, &text, &len);
        if (r < 0)
                return r == -ENOMEM ? EXIT_FAIL : EXIT_NO_INPUT;
        r = user_record_parse(text, len, &rec, &error);
        explicit_bzero(text, len);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("%s: %s", path, error ?: "invalid record");
                return EXIT_INVALID_RECORD;
        }
        if (!rec->user_name) {
                log_error("%s: userName: required", path);
                return EXIT_INVALID_RECORD;
        }
        /* Said here already: hearthd would refuse it the same way. */
        const char *section = user_record_unportable_section(rec);
        if (section) {
                log_error("%s: the record has a \"%s\" section, which a record registered here must not have; "
                          "export it with homectl inspect --export-format=stripped",
                          path, section);
                return EXIT_INVALID_RECORD;
        }
        return home_call(bus,
                         &(HomeCall) { .method = "RegisterHome", .user = rec->user_name, .append = bus_append_record,
                                       .userdata = rec },
                         NULL);
}

int verb_register(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int status = EXIT_OK, r;

        if (o->identity && argc > 1) {
                log_error("register: --identity= and FILE arguments exclude each other");
                return EXIT_USAGE;
        }
        for (int i = 1; i < argc && argc > 2; i++)
                if (strcmp(argv[i], "-") == 0) {
                        log_error("register: standard input (\"-\") only as the one record");
                        return EXIT_USAGE;
                }
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        if (argc <= 1)
                return register_one(bus, o->identity ?: "-");
        for (int i = 1; i < argc; i++)
                keep_first(&status, register_one(bus, argv[i]));
        return status;
}

int verb_unregister(int argc, char **argv, const Options *o) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int status = EXIT_OK, r;

        for (int i = 1; i < argc; i++)
                if (!valid_user_name(argv[i])) {
                        log_error("invalid user name \"%s\"", argv[i]);
                        return EXIT_USAGE;
                }
        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        for (int i = 1; i < argc; i++)
                keep_first(&status, home_call(bus,
                                              &(HomeCall) { .method = "UnregisterHome", .user = argv[i],
                                                            .user_argument = true, .timeout = BUS_TIMEOUT_LONG },
                                              NULL));
        return status;
}
