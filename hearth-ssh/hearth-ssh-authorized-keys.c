/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-ssh-authorized-keys USER: the ssh keys of a Hearth user's record
 * (sshAuthorizedKeys), one a line, for sshd's AuthorizedKeysCommand — what
 * `userdbctl ssh-authorized-keys %u` is to homed's users:
 *
 *   AuthorizedKeysCommand /usr/libexec/hearth-ssh-authorized-keys %u
 *   AuthorizedKeysCommandUser root
 *
 * sshd runs it before anyone is authenticated, with a name a stranger
 * typed: it prints nothing but that user's keys (the record's
 * privileged section, which hearthd shows only to root and the owner, is
 * never printed), and only if the account sshd would log in to — the one
 * NSS gives for the name, as sshd resolves it — is the Hearth user's own
 * (same name, same UID): a local account of the same name earlier in
 * nsswitch.conf gets nothing from her record. Nothing else is read or
 * written. Exit statuses below; sshd takes any output only on 0. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "bus-util.h"
#include "macro.h"
#include "runtime-paths.h"
#include "user-record.h"

enum {
        EXIT_KEYS = 0,       /* her keys printed */
        EXIT_NO_KEYS = 1,    /* a Hearth user whose record names no key */
        EXIT_USAGE = 2,      /* not one argument, or not a user name */
        EXIT_NOT_HEARTH = 3, /* not a Hearth user here, or NSS names another account */
        EXIT_FAILED = 4,     /* hearthd did not answer, or answered nonsense */
        EXIT_NOT_ROOT = 5,   /* hearthd left the keys out: run it as root */
};

#define BUS_TIMEOUT_USEC (UINT64_C(10) * 1000000)

static bool printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

int main(int argc, char *argv[]) {
        if (argc != 2 || !valid_user_name(argv[1])) {
                fprintf(stderr, "usage: hearth-ssh-authorized-keys USER\n");
                return EXIT_USAGE;
        }
        const char *user = argv[1];
        /* Not ours: no bus call, nothing printed (sshd goes on with its
         * AuthorizedKeysFile). */
        if (!hearth_runtime_has_user(user))
                return EXIT_NOT_HEARTH;
        errno = 0;
        struct passwd *pw = getpwnam(user);
        if (!pw) {
                fprintf(stderr, "%s: not known to NSS: %s\n", user, errno ? strerror(errno) : "no such user");
                return EXIT_NOT_HEARTH;
        }
        uid_t pw_uid = pw->pw_uid;

        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_bus_error_ sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_ sd_bus_message *reply = NULL;
        const char *json, *path;
        int incomplete;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_USEC);
        if (r < 0) {
                fprintf(stderr, "%s: no system bus: %s\n", user, strerror(-r));
                return EXIT_FAILED;
        }
        r = sd_bus_call_method(bus, HOME1_BUS_NAME, HOME1_MANAGER_PATH, HOME1_MANAGER_INTERFACE,
                               "GetUserRecordByName", &e, &reply, "s", user);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", user, e.message ?: strerror(-r));
                return sd_bus_error_has_name(&e, BUS_ERROR_NO_SUCH_HOME) ? EXIT_NOT_HEARTH : EXIT_FAILED;
        }
        if (sd_bus_message_read(reply, "sbo", &json, &incomplete, &path) < 0) {
                fprintf(stderr, "%s: malformed answer from hearthd\n", user);
                return EXIT_FAILED;
        }
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *why = NULL;
        if (user_record_parse(json, strlen(json), &rec, &why) < 0) {
                fprintf(stderr, "%s: the record is not valid: %s\n", user, why ?: "?");
                return EXIT_FAILED;
        }
        if (!rec->user_name || strcmp(rec->user_name, user) != 0 || rec->uid != pw_uid) {
                fprintf(stderr, "%s: NSS gives UID %u, not the Hearth user's; no keys\n", user, (unsigned) pw_uid);
                return EXIT_NOT_HEARTH;
        }
        if (incomplete) {
                fprintf(stderr, "%s: hearthd shows the keys only to root: set AuthorizedKeysCommandUser root\n",
                        user);
                return EXIT_NOT_ROOT;
        }
        size_t n = 0;
        for (size_t i = 0; rec->ssh_authorized_keys && rec->ssh_authorized_keys[i]; i++) {
                const char *k = rec->ssh_authorized_keys[i];
                /* One key, one line: an embedded newline would make two. */
                if (!k[0] || !printable(k)) {
                        fprintf(stderr, "%s: sshAuthorizedKeys entry %zu is not one line; skipped\n", user, i);
                        continue;
                }
                if (printf("%s\n", k) < 0)
                        return EXIT_FAILED;
                n++;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "%s: cannot write the keys: %s\n", user, strerror(errno));
                return EXIT_FAILED;
        }
        return n > 0 ? EXIT_KEYS : EXIT_NO_KEYS;
}
