/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearthd: owns every home's state and offers org.freedesktop.home1 (and
 * io.hearth.Pool1) on the system bus. Storage work runs in hearth-work
 * children, pool work in hearth-pool children; this process only keeps
 * state, checks callers and answers.
 *
 * Started as root by the service manager (hearthd.service, an init script)
 * or by D-Bus activation. Called over the bus by homectl, pam_hearth,
 * hearth-accounts and any other client of systemd-homed's API;
 * libnss_hearth reads the passwd and group files it writes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bus-home.h"
#include "bus-manager.h"
#include "bus-names.h"
#include "bus-pool.h"
#include "bus-util.h"
#include "config.h"
#include "fileio.h"
#include "images.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "rebalance-run.h"
#include "pool-tool.h"
#include "runtime-paths.h"
#include "userdb.h"
#include "worker-protocol.h"


static void help(void) {
        printf("Usage: hearthd [OPTIONS...]\n"
               "\n"
               "Hearth's home-area manager daemon. It offers the org.freedesktop.home1 API of\n"
               "systemd-homed on the system bus (or on the bus in $DBUS_SYSTEM_BUS_ADDRESS),\n"
               "keeps each home's record and state, and runs every storage operation in a\n"
               "hearth-work child. It is started by the service manager or D-Bus activation;\n"
               "SIGTERM and SIGINT stop it without deactivating any home.\n"
               "\n"
               "Options:\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "     --state-dir=DIR     Signed user records, the machine key and the keys\n"
               "                         of machines whose homes are trusted here\n"
               "                         (NAME.public, root's, writable by no one else)\n"
               "                         (default: %s)\n"
               "     --runtime-dir=DIR   Locks, state across restarts, and the passwd and\n"
               "                         group files for libnss_hearth (default: /run/hearth)\n"
               "     --home-root=DIR     Where homes live (default: /home); a USER.home image\n"
               "                         or USER.homedir brought there is found (also while\n"
               "                         hearthd runs) and fixated at its first login\n"
               "     --worker=PATH       The storage worker (default: %s)\n"
               "     --pool-tool=PATH    The extent pool tool behind io.hearth.Pool1\n"
               "                         (default: %s)\n"
               "     --config=FILE       Read FILE instead of the first of\n"
               "                         /etc/hearth/hearth.conf, /run/hearth/hearth.conf,\n"
               "                         /usr/lib/hearth/hearth.conf\n"
               "     --userdb-dir=DIR    Serve systemd's userdb (io.systemd.UserDatabase) for the\n"
               "                         homes on DIR/io.hearth.Home, if DIR's parent exists\n"
               "                         (default: $HEARTH_USERDB_DIR, else %s);\n"
               "                         empty: do not serve it\n"
               "     --log-level=LEVEL   err, warning, notice, info or debug (default: info)\n"
               "\n"
               "Exit status: 0 after a clean stop; 1 if it could not start (the reason is on\n"
               "standard error); 2 for an invalid command line.\n",
               HEARTH_STATE_DIR, HEARTH_WORKER_PATH, HEARTH_POOL_TOOL_PATH, USERDB_DIR_DEFAULT);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        unsigned n = manager_running_operations(m);

        if (n == 0 || m->stopping) {
                log_info("stopping on signal %u; homes stay as they are", si->ssi_signo);
                return sd_event_exit(m->event, 0);
        }
        /* A worker killed halfway through a resize could damage a file
         * system: let the running ones finish (a second signal does not wait). */
        log_info("stopping on signal %u after %u running operation(s); homes stay as they are", si->ssi_signo, n);
        manager_stop(m);
        return 0;
}

static int connect_bus(Manager *m) {
        int r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to the system bus: %m");
        r = bus_manager_register(m);
        if (r >= 0)
                r = bus_home_register(m);
        if (r >= 0)
                r = pool_service_start(m->pool);
        if (r < 0)
                return log_error_errno(r, "cannot register the D-Bus objects: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "cannot attach to the event loop: %m");
        /* Claimed last: clients calling us find everything in place. */
        r = sd_bus_request_name(m->bus, HOME1_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "cannot own " HOME1_BUS_NAME ": %m");
        return 0;
}

int main(int argc, char *argv[]) {
        const char *state_dir = NULL, *runtime_dir = HEARTH_RUNTIME_DIR_DEFAULT, *home_root = "/home",
                   *worker = HEARTH_WORKER_PATH, *pool_tool = HEARTH_POOL_TOOL_PATH, *config = NULL,
                   *userdb_dir = getenv("HEARTH_USERDB_DIR") ?: USERDB_DIR_DEFAULT;
        Manager *m = NULL;
        int r, c;

        log_set_program("hearthd");
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "state-dir", required_argument, NULL, 's' },
                { "runtime-dir", required_argument, NULL, 'r' },
                { "home-root", required_argument, NULL, 'H' },
                { "worker", required_argument, NULL, 'w' },
                { "log-level", required_argument, NULL, 'l' },
                { "pool-tool", required_argument, NULL, 'p' },
                { "config", required_argument, NULL, 'c' },
                { "userdb-dir", required_argument, NULL, 'u' },
                {}
        };
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("hearthd (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                case 's':
                        state_dir = optarg;
                        break;
                case 'r':
                        runtime_dir = optarg;
                        break;
                case 'H':
                        home_root = optarg;
                        break;
                case 'w':
                        worker = optarg;
                        break;
                case 'p':
                        pool_tool = optarg;
                        break;
                case 'c':
                        config = optarg;
                        break;
                case 'u':
                        userdb_dir = optarg;
                        break;
                case 'l':
                        if (log_set_level_option(optarg) < 0)
                                return 2;
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                log_error("unexpected argument \"%.64s\"; see hearthd --help", argv[optind]);
                return 2;
        }
        if (!state_dir)
                state_dir = identity_store_default_dir();
        if (userdb_dir[0] && userdb_dir[0] != '/') {
                log_error("%s: must be an absolute path", userdb_dir);
                return 2;
        }
        for (const char *const *d = (const char *const[]) { state_dir, runtime_dir, home_root, worker, pool_tool, NULL }; *d; d++)
                if ((*d)[0] != '/') {
                        log_error("%s: must be an absolute path", *d);
                        return 2;
                }
        if (access(worker, X_OK) < 0) {
                log_error_errno(errno, "the worker %s cannot be run: %m", worker);
                return 1;
        }
        umask(0022);
        /* Our own lookups (memberOf's groups, through NSS) must not come
         * back to us through nss-systemd while we wait for them, as homed. */
        if (setenv("SYSTEMD_BYPASS_USERDB", USERDB_SERVICE, 1) < 0)
                return log_oom(), 1;
        /* Each reference a session holds is a pipe end here. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        r = manager_new(state_dir, runtime_dir, home_root, worker, &m);
        if (r < 0)
                return 1;
        /* A broken hearth.conf stops the start: running on defaults the
         * admin did not choose would surprise more. */
        r = pool_service_new(m, pool_tool, config, &m->pool);
        if (r >= 0)
                r = worker_timeouts_load(&m->timeouts, config);
        if (r >= 0)
                r = quota_sweep_config_load(&m->quota_sweep_usec, &m->quota_rescan_usec, config);
        rebalance_config_init(&m->rebalance_config);
        if (r >= 0)
                r = rebalance_config_load(&m->rebalance_config, config);
        if (r < 0) {
                manager_free(m);
                return 1;
        }
        /* Workers and hearth-pool runs end through the loop (worker-client.c). */
        r = daemon_event_new(&m->event, true, on_signal, m);
        if (r < 0)
                goto finish;
        r = mkdir_parents(runtime_dir, 0755);
        if (r < 0) {
                log_error_errno(r, "cannot create %s: %m", runtime_dir);
                goto finish;
        }
        r = manager_start(m);
        if (r >= 0)
                r = manager_images_start(m);
        if (r >= 0)
                r = connect_bus(m);
        if (r >= 0)
                r = userdb_start(m, userdb_dir);
        if (r >= 0)
                r = manager_start_quota_sweep(m);
        if (r >= 0)
                r = manager_start_rebalance(m);
        if (r < 0)
                goto finish;
        manager_clean_leftovers(m);
        log_info("ready: %zu home(s), state in %s, homes in %s", m->n_homes, state_dir, home_root);
        r = sd_event_loop(m->event);
        if (r < 0)
                log_error_errno(r, "event loop failed: %m");
finish:
        manager_free(m);
        return r < 0 ? 1 : 0;
}
