/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-accounts: org.freedesktop.Accounts (AccountsService's API) for
 * GNOME Settings, GDM and gnome-initial-setup, which call it over the
 * system bus. Started as root by the service manager
 * (hearth-accounts.service, an init script) or by D-Bus activation, in
 * accounts-daemon's place. A client of hearthd for Hearth users; it keeps
 * no record of its own. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "accounts.h"
#include "config.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

static void help(void) {
        printf("Usage: hearth-accounts [OPTIONS...]\n"
               "\n"
               "AccountsService's org.freedesktop.Accounts API on the system bus (or the bus in\n"
               "$DBUS_SYSTEM_BUS_ADDRESS), for Hearth users through hearthd and, read-only\n"
               "unless [Accounts] ManageShadowUsers=yes, for people in /etc/passwd. Started by\n"
               "the service manager or D-Bus activation; it conflicts with accounts-daemon.\n"
               "\n"
               "Options:\n"
               "  -h --help              Show this help and exit\n"
               "     --version           Show the version and exit\n"
               "     --state-dir=DIR     Per-user data and icons (default: %s-accounts)\n"
               "     --config=FILE       Read FILE instead of the first hearth.conf found in\n"
               "                         /etc/hearth, /run/hearth, /usr/lib/hearth\n"
               "     --gdm-config=FILE   GDM's configuration, for automatic login (default:\n"
               "                         [Accounts] GdmConfig=, else %s)\n"
               "     --passwd=FILE --group=FILE --shadow=FILE --shells=FILE\n"
               "                         Read these instead of /etc/passwd, /etc/group,\n"
               "                         /etc/shadow, /etc/shells (for tests)\n"
               "     --shadow-tools=DIR  Run usermod, userdel, gpasswd, passwd, chage from DIR\n"
               "     --log-level=LEVEL   err, warning, notice, info or debug (default: info)\n"
               "\n"
               "Exit status: 0 after a clean stop; 1 if it could not start; 2 for an invalid\n"
               "command line.\n",
               HEARTH_STATE_DIR, ACCOUNTS_DEFAULT_GDM_CONFIG);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Accounts *a = userdata;
        log_info("stopping on signal %u", si->ssi_signo);
        return sd_event_exit(a->event, 0);
}

static int on_home1_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        accounts_schedule_reload(userdata);
        return 0;
}

/* A change to one of the files we read, in a directory we watch. */
static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Accounts *a = userdata;
        const char *files[] = { a->passwd_path, a->group_path, a->shadow_path, a->shells_path, a->config.gdm_config };
        if (ev->mask & IN_Q_OVERFLOW) {
                accounts_schedule_reload(a);
                return 0;
        }
        if (ev->len == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                const char *base = strrchr(files[i], '/');
                if (base && strcmp(base + 1, ev->name) == 0) {
                        accounts_schedule_reload(a);
                        break;
                }
        }
        return 0;
}

static void watch_files(Accounts *a) {
        const char *files[] = { a->passwd_path, a->group_path, a->shadow_path, a->shells_path, a->config.gdm_config };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *copy = strdup(files[i]);
                if (!copy)
                        return;
                const char *dir = dirname(copy);
                int r = sd_event_add_inotify(a->event, NULL, dir,
                                             IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ONLYDIR, on_inotify,
                                             a);
                /* GDM may not be installed: automatic login then has no file to watch. */
                if (r < 0)
                        log_debug_errno(r, "cannot watch %s: %m", dir);
        }
}

static int connect_bus(Accounts *a) {
        int r = sd_bus_open_system(&a->bus);
        if (r < 0)
                return log_error_errno(r, "cannot connect to the system bus: %m");
        r = bus_accounts_register(a);
        if (r >= 0)
                r = bus_accounts_user_register(a);
        if (r < 0)
                return log_error_errno(r, "cannot register the D-Bus objects: %m");
        r = sd_bus_attach_event(a->bus, a->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                /* Every change hearthd announces, and hearthd coming and going. */
                r = sd_bus_match_signal_async(a->bus, NULL, HOME1_BUS_NAME, NULL, NULL, NULL, on_home1_signal, NULL, a);
        if (r >= 0)
                r = sd_bus_add_match_async(a->bus, NULL,
                                           "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                                           "arg0='" HOME1_BUS_NAME "'",
                                           on_home1_signal, NULL, a);
        if (r < 0)
                return log_error_errno(r, "cannot watch hearthd: %m");
        (void) accounts_reload(a);
        /* Claimed last, so that the first client finds every user in place. */
        r = sd_bus_request_name(a->bus, ACCOUNTS_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "cannot own %s (is accounts-daemon running?): %m", ACCOUNTS_BUS_NAME);
        return 0;
}

static int make_dirs(const char *state_dir) {
        _cleanup_free_ char *users = NULL, *icons = NULL;
        int r;
        if (asprintf(&users, "%s/users", state_dir) < 0 || asprintf(&icons, "%s/icons", state_dir) < 0)
                return log_oom();
        /* Per-user data is private; icons are read by GDM's own user. */
        if ((r = mkdir_parents(state_dir, 0755)) < 0 || (r = mkdir_parents(users, 0700)) < 0 ||
            (r = mkdir_parents(icons, 0755)) < 0)
                return log_error_errno(r, "cannot create %s: %m", state_dir);
        return 0;
}

int main(int argc, char *argv[]) {
        Accounts a = {
                .emitted_no_users = -1,
                .emitted_multiple_users = -1,
        };
        const char *config = NULL, *gdm_config = NULL, *state_dir = NULL;
        const char *passwd = "/etc/passwd", *group = "/etc/group", *shadow = "/etc/shadow", *shells = "/etc/shells",
                   *tools = NULL;
        _cleanup_free_ char *default_state = NULL;
        int r, c;

        log_set_program("hearth-accounts");
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "state-dir", required_argument, NULL, 's' },
                { "config", required_argument, NULL, 'c' },
                { "gdm-config", required_argument, NULL, 'g' },
                { "passwd", required_argument, NULL, 'P' },
                { "group", required_argument, NULL, 'G' },
                { "shadow", required_argument, NULL, 'S' },
                { "shells", required_argument, NULL, 'L' },
                { "shadow-tools", required_argument, NULL, 'T' },
                { "log-level", required_argument, NULL, 'l' },
                {}
        };
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("hearth-accounts (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                case 's':
                        state_dir = optarg;
                        break;
                case 'c':
                        config = optarg;
                        break;
                case 'g':
                        gdm_config = optarg;
                        break;
                case 'P':
                        passwd = optarg;
                        break;
                case 'G':
                        group = optarg;
                        break;
                case 'S':
                        shadow = optarg;
                        break;
                case 'L':
                        shells = optarg;
                        break;
                case 'T':
                        tools = optarg;
                        break;
                case 'l':
                        if (log_set_level_option(optarg) < 0)
                                return 2;
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                log_error("unexpected argument \"%.64s\"; see hearth-accounts --help", argv[optind]);
                return 2;
        }
        if (!state_dir) {
                /* Beside hearthd's directory, not in it: that one is root's
                 * alone, and GDM and GNOME Settings read the icons. */
                if (asprintf(&default_state, "%s-accounts", HEARTH_STATE_DIR) < 0)
                        return 1;
                state_dir = default_state;
        }
        for (const char *const *p = (const char *const[]) { state_dir, passwd, group, shadow, shells, NULL }; *p; p++)
                if (!accounts_valid_path(*p)) {
                        log_error("%.64s: must be an absolute path", *p);
                        return 2;
                }
        if ((tools && !accounts_valid_path(tools)) || (gdm_config && !accounts_valid_path(gdm_config))) {
                log_error("--shadow-tools= and --gdm-config= take absolute paths");
                return 2;
        }

        accounts_config_init(&a.config);
        /* A broken hearth.conf stops the start, as it stops hearthd's. */
        if (accounts_config_load(&a.config, config) < 0)
                return 1;
        if (gdm_config)
                snprintf(a.config.gdm_config, sizeof a.config.gdm_config, "%s", gdm_config);
        if (!(a.state_dir = strdup(state_dir)) || !(a.passwd_path = strdup(passwd)) ||
            !(a.group_path = strdup(group)) || !(a.shadow_path = strdup(shadow)) || !(a.shells_path = strdup(shells)) ||
            (tools && !(a.shadow_tools = strdup(tools)))) {
                r = log_oom();
                goto finish;
        }
        umask(0022);
        r = make_dirs(state_dir);
        if (r < 0)
                goto finish;

        r = daemon_event_new(&a.event, false, on_signal, &a);
        if (r < 0)
                goto finish;
        watch_files(&a);
        r = connect_bus(&a);
        if (r < 0)
                goto finish;
        log_info("ready: %zu user(s), default storage %s, admin group %s, state in %s", a.n_users,
                 accounts_storage_to_string(a.config.default_storage), accounts_admin_group(&a), state_dir);
        r = sd_event_loop(a.event);
        if (r < 0)
                log_error_errno(r, "event loop failed: %m");
finish:
        ops_free_all(&a);
        accounts_free_users(&a);
        a.reload_timer = sd_event_source_unref(a.reload_timer);
        a.bus = sd_bus_flush_close_unref(a.bus);
        a.event = sd_event_unref(a.event);
        free(a.emitted_autologin);
        free(a.state_dir);
        free(a.passwd_path);
        free(a.group_path);
        free(a.shadow_path);
        free(a.shells_path);
        free(a.shadow_tools);
        return r < 0 ? 1 : 0;
}
