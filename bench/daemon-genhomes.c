/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench/daemon-genhomes: fills a state directory with N signed identity
 * records (users u00000, u00001, …; directory storage, home not created) for
 * bench/daemon. Not installed, not part of meson test.
 *
 *   daemon-genhomes STATE_DIR COUNT MODE
 *   daemon-genhomes --load STATE_DIR   (times what hearthd's start does per record)
 *
 * MODE picks the UIDs, because the home range 60001–60513 holds only 513:
 *   range   uid 60001+i; COUNT must be <= 513. Every record is written by
 *           identity_store_save(), exactly as hearthd stores one.
 *   wrap    uid 60001 + i % 513: every record valid on its own and written by
 *           identity_store_save(), but hearthd keeps only the first home of
 *           each UID (manager_start() ignores the others).
 *   beyond  uid 60001+i for the first 513, then 1000000+i (past 65535, so
 *           neither nobody nor the 16-bit -1). identity_store_save() refuses
 *           those (and so do CreateHome/RegisterHome), so they are
 *           signed with the machine key directly (keyring_sign) and written
 *           like identity_store_save() would: a state hearthd itself never
 *           produces, but one its loader accepts (identity_store_load() and
 *           manager_start() do not check the range).
 *
 * Records are pretty-printed and signed like real ones; with a machine ID,
 * uid/gid/storage are also in binding.<machine-id>, as CreateHome puts them.
 * write_file_atomic() fsyncs each file and the directory: put STATE_DIR on a
 * tmpfs to make 10,000 records take seconds rather than minutes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "identity-store.h"
#include "log.h"
#include "macro.h"
#include "sign.h"
#include "user-record.h"

#define RANGE_SIZE (HOME_UID_MAX - HOME_UID_MIN + 1)

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What identity_store_save() does, without its home-range check. */
static int save_unchecked(IdentityStore *s, UserRecord *rec) {
        _cleanup_free_ char *path = NULL;
        Keyring *kr;
        const char *text;
        int r;

        if (asprintf(&path, "%s/%s.identity", identity_store_dir(s), rec->user_name) < 0)
                return -ENOMEM;
        r = identity_store_keyring(s, true, &kr);
        if (r < 0)
                return r;
        r = keyring_sign(kr, rec);
        if (r < 0)
                return r;
        text = user_record_to_string(rec, USER_RECORD_FORMAT_PRETTY);
        if (!text)
                return -ENOMEM;
        return write_file_atomic(path, text, strlen(text), 0600, 0);
}

static int generate(const char *dir, long count, const char *mode) {
        _cleanup_identity_store_ IdentityStore *s = NULL;
        const char *mid = user_record_machine_id();
        bool beyond = strcmp(mode, "beyond") == 0, wrap = strcmp(mode, "wrap") == 0;
        double t0 = now_ms();
        int r;

        if (!beyond && !wrap && strcmp(mode, "range") != 0) {
                fprintf(stderr, "daemon-genhomes: MODE must be range, wrap or beyond\n");
                return 2;
        }
        if (!beyond && !wrap && count > (long) RANGE_SIZE) {
                fprintf(stderr, "daemon-genhomes: range: at most %u homes fit in %u-%u\n", RANGE_SIZE, HOME_UID_MIN,
                        HOME_UID_MAX);
                return 2;
        }
        r = identity_store_open(dir, &s);
        if (r < 0)
                return 1;

        for (long i = 0; i < count; i++) {
                _cleanup_user_record_ UserRecord *rec = NULL;
                _cleanup_free_ char *text = NULL, *binding = NULL, *error = NULL;
                unsigned uid = HOME_UID_MIN + (unsigned) (wrap ? i % RANGE_SIZE : i);
                if (beyond && i >= (long) RANGE_SIZE)
                        uid = 1000000 + (unsigned) i;

                if (mid && asprintf(&binding, ",\"binding\":{\"%s\":{\"uid\":%u,\"gid\":%u,\"storage\":\"directory\"}}",
                                    mid, uid, uid) < 0)
                        return 1;
                if (asprintf(&text,
                             "{\"userName\":\"u%05ld\",\"realName\":\"Bench User %ld\",\"uid\":%u,\"gid\":%u,"
                             "\"disposition\":\"regular\",\"storage\":\"directory\",\"shell\":\"/bin/bash\","
                             "\"memberOf\":[\"users\"],\"lastChangeUSec\":1764000000000000,"
                             "\"lastPasswordChangeUSec\":1764000000000000,\"preferredLanguage\":\"en_GB.UTF-8\","
                             "\"privileged\":{\"hashedPassword\":[\"$y$j9T$nbAJtPuS7rMxhE3pNKXxB/"
                             "$gMl/xz9PliEPe51EEpHEXWOj9BnZFLzOTKKt0lYm7l0\"]}%s}",
                             i, i, uid, uid, binding ?: "") < 0)
                        return 1;
                r = user_record_parse(text, strlen(text), &rec, &error);
                if (r < 0) {
                        fprintf(stderr, "daemon-genhomes: u%05ld: %s\n", i, error ?: strerror(-r));
                        return 1;
                }
                r = valid_home_uid(rec->uid) ? identity_store_save(s, rec) : save_unchecked(s, rec);
                if (r < 0) {
                        fprintf(stderr, "daemon-genhomes: u%05ld: cannot save: %s\n", i, strerror(-r));
                        return 1;
                }
        }
        printf("%ld records (%s) in %.0f ms\n", count, mode, now_ms() - t0);
        return 0;
}

/* The per-record work of manager_start(), without the daemon: list, then
 * load (read + parse + PEM-parse the key + Ed25519 verify) each record, and
 * the duplicate-UID check done as manager_find_by_uid() does it (a scan of
 * the homes kept so far). Prints where start-up time goes. */
static int load_all(const char *dir) {
        _cleanup_identity_store_ IdentityStore *s = NULL;
        _cleanup_strv_free_ char **names = NULL;
        UserRecord **kept = NULL;
        size_t n = 0, n_kept = 0;
        double t0, t_list, t_load = 0, t_scan = 0;

        if (identity_store_open(dir, &s) < 0)
                return 1;
        t0 = now_ms();
        if (identity_store_list(s, &names) < 0)
                return 1;
        t_list = now_ms() - t0;
        n = strv_length(names);
        kept = calloc(n + 1, sizeof *kept);
        if (!kept)
                return 1;
        for (char **p = names; *p; p++) {
                UserRecord *rec = NULL;
                double a = now_ms();
                if (identity_store_load(s, *p, &rec) < 0)
                        continue;
                double b = now_ms();
                bool dup = false;
                for (size_t i = 0; i < n_kept; i++)
                        if (kept[i]->uid == rec->uid) {
                                dup = true;
                                break;
                        }
                t_load += b - a;
                t_scan += now_ms() - b;
                if (dup)
                        user_record_free(rec);
                else
                        kept[n_kept++] = rec;
        }
        printf("list %zu names: %.1f ms; load+verify: %.1f ms (%.1f us/record); uid scans: %.1f ms; kept %zu\n", n,
               t_list, t_load, n ? t_load * 1e3 / n : 0, t_scan, n_kept);
        for (size_t i = 0; i < n_kept; i++)
                user_record_free(kept[i]);
        free(kept);
        return 0;
}

int main(int argc, char *argv[]) {
        log_set_program("daemon-genhomes");
        if (argc == 3 && strcmp(argv[1], "--load") == 0)
                return load_all(argv[2]);
        if (argc != 4) {
                fprintf(stderr, "usage: daemon-genhomes STATE_DIR COUNT range|wrap|beyond\n"
                                "       daemon-genhomes --load STATE_DIR\n");
                return 2;
        }
        char *end;
        long count = strtol(argv[2], &end, 10);
        if (*end || count < 1 || count > 100000) {
                fprintf(stderr, "daemon-genhomes: COUNT must be 1..100000\n");
                return 2;
        }
        return generate(argv[1], count, argv[3]);
}
