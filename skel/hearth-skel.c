/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-skel: seed the homes of system users declared in sysusers.d, once,
 * and seed single directories by hand. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "skel.h"
#include "sysusers.h"
#include "user-record.h"

#define PREFIXES_MAX 32

static const char *arg_root = NULL;
static const char *arg_skel = NULL;
static bool arg_dry_run = false;

static void help(void) {
        printf("Usage: hearth-skel [OPTIONS] sysusers\n"
               "       hearth-skel [OPTIONS] seed USER TARGET\n"
               "\n"
               "Seeds home directories from the skeleton: /etc/skel, then /usr/etc/skel,\n"
               "then /usr/share/factory/etc/skel, merged (an earlier entry wins, an /etc\n"
               "entry that is a symlink to /dev/null masks the path), or --skel DIR alone.\n"
               "\n"
               "Commands:\n"
               "  sysusers       For every user declared in sysusers.d (/etc, /run,\n"
               "                 /usr/local/lib, /usr/lib) whose home lies below /home or\n"
               "                 below a HomePrefix= of skel.conf: create the home from skel\n"
               "                 (mode 0700, owned by the user as NSS knows it) when it does\n"
               "                 not exist or is empty. Non-empty homes are never touched, so\n"
               "                 running it again changes nothing.\n"
               "  seed USER TARGET\n"
               "                 Seed TARGET (created if missing, refused if not empty) for\n"
               "                 USER, a user name known to NSS or UID:GID.\n"
               "\n"
               "Options:\n"
               "  --root DIR     Operate on the system image at DIR: configuration, skel and\n"
               "                 homes below it, users from DIR/etc/passwd\n"
               "  --skel DIR     Use DIR as the only skeleton\n"
               "  --dry-run      Say what would be done, change nothing\n"
               "  -h --help      Show this help\n"
               "     --version   Show the version\n"
               "\n"
               "Files:\n"
               "  /etc/hearth/skel.conf, else /run/hearth/skel.conf, else\n"
               "  /usr/lib/hearth/skel.conf: lines \"HomePrefix=/srv/users\" add places\n"
               "  below which declared homes are seeded; '#' starts a comment.\n"
               "\n"
               "Exit status: 0 success, 1 failure (at least one home could not be\n"
               "seeded), 2 invalid command line.\n");
}

/* Home prefixes: /home plus those of the first skel.conf found. */
static int load_prefixes(char ***ret) {
        static const char *const confs[] = {
                "/etc/hearth/skel.conf", "/run/hearth/skel.conf", "/usr/lib/hearth/skel.conf",
        };
        _cleanup_strv_free_ char **l = calloc(PREFIXES_MAX + 2, sizeof *l);
        size_t n = 0;

        if (!l || !(l[n++] = strdup("/home")))
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(confs); i++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s%s", arg_root ?: "", confs[i]) < 0)
                        return -ENOMEM;
                _cleanup_fclose_ FILE *f = fopen(path, "re");
                if (!f)
                        continue;
                char line[4096];
                unsigned no = 0;
                while (fgets(line, sizeof line, f)) {
                        no++;
                        line[strcspn(line, "\n")] = 0;
                        char *p = line + strspn(line, " \t");
                        if (!*p || *p == '#')
                                continue;
                        if (strncmp(p, "HomePrefix=", 11) != 0 || p[11] != '/' || strstr(p, "/..") ||
                            strlen(p + 11) < 2) {
                                log_warning("%s:%u: expected HomePrefix=/absolute/path, ignoring", path, no);
                                continue;
                        }
                        if (n >= PREFIXES_MAX) {
                                log_warning("%s:%u: more than %d prefixes, ignoring", path, no, PREFIXES_MAX);
                                continue;
                        }
                        size_t len = strlen(p + 11);
                        while (len > 1 && p[11 + len - 1] == '/')
                                p[11 + --len] = 0;
                        if (!(l[n++] = strdup(p + 11)))
                                return -ENOMEM;
                }
                break; /* the first file found wins */
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool below_prefix(const char *home, char **prefixes) {
        for (char **p = prefixes; *p; p++) {
                size_t n = strlen(*p);
                if (strncmp(home, *p, n) == 0 && home[n] == '/' && home[n + 1])
                        return true;
        }
        return false;
}

/* The user's IDs: from NSS, or with --root from ROOT/etc/passwd (NSS
 * describes the running system, not the image). */
static int resolve_user(const char *name, uid_t *uid, gid_t *gid) {
        if (!arg_root) {
                char buf[16384];
                struct passwd pw, *p = NULL;
                if (getpwnam_r(name, &pw, buf, sizeof buf, &p) != 0 || !p)
                        return -ESRCH;
                *uid = p->pw_uid;
                *gid = p->pw_gid;
                return 0;
        }
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/etc/passwd", arg_root) < 0)
                return -ENOMEM;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -ESRCH;
        struct passwd *p;
        while ((p = fgetpwent(f)))
                if (strcmp(p->pw_name, name) == 0) {
                        *uid = p->pw_uid;
                        *gid = p->pw_gid;
                        return 0;
                }
        return -ESRCH;
}

static int dir_is_empty(int fd) {
        int dfd = dup(fd);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct dirent *de;
        int empty = 1;
        if (!d) {
                if (dfd >= 0)
                        close(dfd);
                return negative_errno();
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        empty = 0;
                        break;
                }
        closedir(d);
        return empty;
}

/* Opens the parent of path (below --root) without following any symlink on
 * the way, and returns the last component. */
static int open_parent(const char *path, int *ret_fd, const char **ret_name) {
        _cleanup_close_ int fd = open(arg_root ?: "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL, *comp, *next;

        if (fd < 0)
                return log_error_errno(errno, "%s: %m", arg_root ?: "/");
        if (!copy)
                return -ENOMEM;
        comp = strtok_r(copy, "/", &save);
        while (comp && (next = strtok_r(NULL, "/", &save))) {
                if (strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0)
                        return log_error_errno(EINVAL, "%s: not a normalized path", path);
                int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return log_error_errno(errno, "%s: cannot open \"%s\" (symlinks are not followed): %m", path,
                                               comp);
                close(fd);
                fd = sub;
                comp = next;
        }
        if (!comp || strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0)
                return log_error_errno(EINVAL, "%s: not a home directory path", path);
        *ret_name = path + (comp - copy);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Seeds <parent>/<name> for uid:gid. Returns 1 if seeded, 0 if skipped. */
static int seed_one(const char *path, uid_t uid, gid_t gid, bool must_be_new) {
        _cleanup_close_ int parent = -1, fd = -1;
        const char *name = NULL;
        SkelStats stats = {};
        bool made = false;
        struct stat st;
        int r;

        r = open_parent(path, &parent, &name);
        if (r < 0)
                return r;
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(ENOTDIR, "%s: exists and is not a directory", path);
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "%s: %m", path);
                r = dir_is_empty(fd);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot read: %m", path);
                if (r == 0) {
                        if (must_be_new)
                                return log_error_errno(ENOTEMPTY, "%s: not empty, refusing to seed it", path);
                        printf("skipped %s: not empty\n", path);
                        return 0;
                }
        } else if (errno != ENOENT)
                return log_error_errno(errno, "%s: %m", path);

        if (arg_dry_run) {
                printf("would seed %s for %u:%u\n", path, uid, gid);
                return 1;
        }
        if (fd < 0) {
                if (mkdirat(parent, name, 0700) < 0)
                        return log_error_errno(errno, "%s: cannot create: %m", path);
                made = true;
                fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "%s: %m", path);
        }
        SkelOptions opts = { .uid = uid, .gid = gid, .home_path = path, .skel_dir = arg_skel, .root = arg_root };
        r = skel_seed(fd, &opts, &stats);
        if (r >= 0 && (fchown(fd, uid, gid) < 0 || fchmod(fd, 0700) < 0))
                r = log_error_errno(errno, "%s: cannot set owner and mode: %m", path);
        if (r < 0) {
                if (made)
                        log_error("%s: seeding failed; the partial home is left for inspection", path);
                return r;
        }
        printf("seeded %s (%u files, %u directories, %u symlinks)\n", path, stats.files, stats.dirs, stats.symlinks);
        return 1;
}

static int cmd_sysusers(void) {
        SysusersTable t = {};
        _cleanup_strv_free_ char **prefixes = NULL;
        int r, failed = 0, seeded = 0;

        r = load_prefixes(&prefixes);
        if (r < 0)
                return log_oom();
        r = sysusers_load(arg_root, &t);
        if (r < 0)
                return log_error_errno(r, "cannot read sysusers.d: %m");
        for (size_t i = 0; i < t.n_entries; i++) {
                const SysusersEntry *e = &t.entries[i];
                const char *home = sysusers_entry_home(e);
                uid_t uid;
                gid_t gid;

                if (e->type != SYSUSERS_USER || !below_prefix(home, prefixes))
                        continue;
                if (resolve_user(e->name, &uid, &gid) < 0) {
                        log_warning("%s:%u: user %s is not known%s, skipping %s", e->file, e->line, e->name,
                                    arg_root ? " in the image's /etc/passwd" : " (run systemd-sysusers first)", home);
                        continue;
                }
                r = seed_one(home, uid, gid, false);
                if (r < 0)
                        failed++;
                else
                        seeded += r;
        }
        if (seeded == 0 && failed == 0)
                printf("nothing to do\n");
        sysusers_table_done(&t);
        return failed ? 1 : 0;
}

static int cmd_seed(const char *user, const char *target) {
        unsigned u, g;
        uid_t uid;
        gid_t gid;
        char extra;

        if (sscanf(user, "%u:%u%c", &u, &g, &extra) == 2) {
                uid = u;
                gid = g;
        } else if (!valid_user_name(user) || resolve_user(user, &uid, &gid) < 0) {
                log_error("%s: no such user", user);
                return 1;
        }
        if (target[0] != '/') {
                log_error("%s: TARGET must be an absolute path", target);
                return 2;
        }
        return seed_one(target, uid, gid, true) < 0 ? 1 : 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_ROOT = 0x100, ARG_SKEL, ARG_DRY_RUN, ARG_VERSION };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },      { "version", no_argument, NULL, ARG_VERSION },
                { "root", required_argument, NULL, ARG_ROOT }, { "skel", required_argument, NULL, ARG_SKEL },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN }, {}
        };
        int c;

        log_set_program("hearth-skel");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("hearth-skel (hearth) %s\n", HEARTH_VERSION);
                        return 0;
                case ARG_ROOT:
                        if (optarg[0] != '/') {
                                log_error("--root: must be an absolute path");
                                return 2;
                        }
                        arg_root = strcmp(optarg, "/") == 0 ? NULL : optarg;
                        break;
                case ARG_SKEL:
                        arg_skel = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                default:
                        return 2;
                }
        if (optind < argc && strcmp(argv[optind], "sysusers") == 0 && argc - optind == 1)
                return cmd_sysusers();
        if (optind < argc && strcmp(argv[optind], "seed") == 0 && argc - optind == 3)
                return cmd_seed(argv[optind + 1], argv[optind + 2]);
        log_error("expected \"sysusers\" or \"seed USER TARGET\"; see hearth-skel --help");
        return 2;
}
