/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* homectl pool …: the extent pool through hearthd's io.hearth.Pool1. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-call.h"
#include "exit-status.h"
#include "homectl.h"
#include "json-strict.h"
#include "log.h"
#include "pool-print.h"
#include "size.h"

/* Growing a filesystem online or checking every extent takes a while. */
#define POOL_TIMEOUT (UINT64_C(30) * 60 * USEC_PER_SEC)

static int pool_call(const Options *o, const char *method, sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_message_ sd_bus_message *m = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        if ((r = bus_connect(o->ask_password, &bus)) != EXIT_OK)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, HOME1_BUS_NAME, POOL1_PATH, POOL1_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, o->ask_password);
        if (r < 0)
                return log_bus_error(NULL, method, NULL, r);
        r = sd_bus_call(bus, m, POOL_TIMEOUT, &error, ret_reply);
        if (r < 0)
                return log_bus_error(NULL, "pool", &error, r);
        return EXIT_OK;
}

static int parse_json_reply(const char *text, json_object **ret) {
        _cleanup_free_ char *why = NULL;
        if (json_parse_strict(text, strlen(text), ret, &why) < 0 || !json_object_is_type(*ret, json_type_object)) {
                log_error("pool: hearthd answered with malformed JSON%s%s", why ? ": " : "", why ?: "");
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

static void print_json(json_object *j, const Options *o) {
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_NOSLASHESCAPE |
                                                           (o->json == JSON_PRETTY ? JSON_C_TO_STRING_PRETTY
                                                                                   : JSON_C_TO_STRING_PLAIN)));
}

static int pool_status(const Options *o) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_json_ json_object *j = NULL;
        const char *text;
        int r = pool_call(o, "GetStatus", &reply, NULL);
        if (r != EXIT_OK)
                return r;
        if ((r = sd_bus_message_read(reply, "s", &text)) < 0)
                return log_bus_error(NULL, "GetStatus", NULL, r);
        if ((r = parse_json_reply(text, &j)) != EXIT_OK)
                return r;
        if (o->json != JSON_OFF)
                print_json(j, o);
        else
                pool_status_print(stdout, j);
        return EXIT_OK;
}

static int pool_check(const Options *o) {
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        _cleanup_json_ json_object *j = NULL;
        const char *text;
        uint32_t problems;
        int r = pool_call(o, "Check", &reply, "b", (int) o->pool_repair);
        if (r != EXIT_OK)
                return r;
        if ((r = sd_bus_message_read(reply, "us", &problems, &text)) < 0)
                return log_bus_error(NULL, "Check", NULL, r);
        if ((r = parse_json_reply(text, &j)) != EXIT_OK)
                return r;
        if (o->json != JSON_OFF)
                print_json(j, o);
        else
                pool_check_print(stdout, j);
        json_object *consistent;
        bool ok = json_object_object_get_ex(j, "consistent", &consistent) &&
                  json_object_is_type(consistent, json_type_boolean) && json_object_get_boolean(consistent);
        return ok ? EXIT_OK : EXIT_POOL_PROBLEMS;
}

/* SIZE, or with sign (+ for grow, - for shrink) a change. */
static int parse_pool_size(const char *verb, const char *arg, char sign, uint64_t *ret, int *ret_relative) {
        bool rel = sign && arg[0] == sign;
        uint64_t v;
        if (size_parse(arg + rel, &v) < 0 || v == 0 || v >= HEARTH_SIZE_MAX) {
                log_error("pool %s: invalid size \"%s\": expected e.g. 10G or 512M%s%c%s", verb, arg,
                          sign ? ", or with a leading " : "", sign ? sign : ' ', sign ? " a change" : "");
                return EXIT_USAGE;
        }
        *ret = v;
        *ret_relative = rel;
        return EXIT_OK;
}

static const struct {
        const char *name;
        int min_args, max_args; /* after "pool VERB" */
} pool_verbs[] = {
        { "status", 0, 0 }, { "check", 0, 0 }, { "activate", 0, 0 }, { "init", 2, 2 },
        { "grow", 2, 2 },   { "shrink", 2, 2 }, { "release", 1, 1 },
};

int verb_pool(int argc, char **argv, const Options *o) {
        const char *verb = argv[1];
        size_t i;
        for (i = 0; i < ELEMENTSOF(pool_verbs); i++)
                if (strcmp(verb, pool_verbs[i].name) == 0)
                        break;
        if (i == ELEMENTSOF(pool_verbs)) {
                log_error("pool: unknown command \"%s\"; expected status, check, activate, init, grow, shrink or "
                          "release",
                          verb);
                return EXIT_USAGE;
        }
        if (argc - 2 < pool_verbs[i].min_args || argc - 2 > pool_verbs[i].max_args) {
                log_error("pool %s: expected %d argument(s); see homectl --help", verb, pool_verbs[i].min_args);
                return EXIT_USAGE;
        }
        if ((o->pool_force || o->extent_size) && strcmp(verb, "init") != 0) {
                log_error("pool %s: --force and --extent-size= only apply to pool init", verb);
                return EXIT_USAGE;
        }
        if (o->pool_repair && strcmp(verb, "check") != 0) {
                log_error("pool %s: --repair only applies to pool check", verb);
                return EXIT_USAGE;
        }
        if (o->json != JSON_OFF && strcmp(verb, "status") != 0 && strcmp(verb, "check") != 0) {
                log_error("pool %s: --json only applies to pool status and pool check", verb);
                return EXIT_USAGE;
        }

        uint64_t size;
        int rel, r;
        if (strcmp(verb, "status") == 0)
                return pool_status(o);
        if (strcmp(verb, "check") == 0)
                return pool_check(o);
        if (strcmp(verb, "activate") == 0)
                return pool_call(o, "Activate", NULL, NULL);
        if (strcmp(verb, "init") == 0) {
                for (int k = 2; k < 4; k++)
                        if (strncmp(argv[k], "/dev/", 5) != 0) {
                                log_error("pool init: \"%s\" is not a device path (/dev/…)", argv[k]);
                                return EXIT_USAGE;
                        }
                r = pool_call(o, "Init", NULL, "sstt", argv[2], argv[3], o->extent_size, (uint64_t) o->pool_force);
                if (r == EXIT_OK)
                        printf("Pool created on %s (home) and %s (pool). Run `homectl pool activate`, or reboot, "
                               "to map /dev/mapper/hearth-pool-home.\n",
                               argv[2], argv[3]);
                return r;
        }
        if (strcmp(verb, "release") == 0) {
                if ((r = parse_pool_size(verb, argv[2], 0, &size, &rel)) != EXIT_OK)
                        return r;
                return pool_call(o, "Release", NULL, "t", size);
        }
        bool grow = strcmp(verb, "grow") == 0;
        if ((r = parse_pool_size(verb, argv[3], grow ? '+' : '-', &size, &rel)) != EXIT_OK)
                return r;
        return pool_call(o, grow ? "Grow" : "Shrink", NULL, "stb", argv[2], size, rel);
}
