/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-pool: the program that changes the extent pool (storage/pool/,
 * on-disk format docs/POOL-FORMAT.md): init, activate, grow, shrink,
 * create, remove, release, status, check. Installed to libexecdir. Run by:
 * hearthd, one call at a time, for io.hearth.Pool1 (hearthd/bus-pool.c: the
 * bus methods homectl pool calls, and growing a volume by itself); the
 * boot unit hearth-pool.service (activate); admins and tests directly. Its
 * exit statuses are the contract with bus-pool.c. hearth-work changes pool
 * volumes too, in-process (LUKS homes on a pool volume): the two are
 * serialized by the pool lock (storage/pool/pool.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "pool.h"
#include "pool-tool.h"
#include "pool-print.h"
#include "size.h"


static const char help_text[] =
"Usage: hearth-pool [OPTIONS] COMMAND [ARGS...]\n"
"\n"
"Drives Hearth's extent pool: /home (the volume \"home\") and other volumes as\n"
"chains of dm-linear extents over the home partition and a pool partition\n"
"between root and home. The on-disk format is docs/POOL-FORMAT.md.\n"
"\n"
"Commands:\n"
"  init HOME_PART POOL_PART [--extent-size=SIZE] [--force]\n"
"        Place a new pool: HOME_PART becomes the first run of the volume\n"
"        \"home\", POOL_PART (between root and home) donates extents and gets\n"
"        Hearth's GPT partition type 8f3b41c8-6d1e-4a7f-9c55-48454152544b.\n"
"        The first MiB of both is overwritten. Partitions holding a\n"
"        filesystem, LUKS, a partition table or a Hearth PV are refused\n"
"        unless --force; mounted or mapped partitions are always refused.\n"
"        SIZE defaults to 64M (a power of two, 1M ... 16G).\n"
"  status [--json]\n"
"        Physical volumes, metadata copies (which is current and why the\n"
"        other is not), volumes with their runs, free and releasable space.\n"
"  activate\n"
"        Build every volume's device /dev/mapper/hearth-pool-VOLUME from the\n"
"        metadata (boot time). Idempotent: a right table is left alone, one\n"
"        that lags the metadata (an interrupted grow) is reloaded; stale or\n"
"        invalid metadata copies are rewritten first.\n"
"  grow VOLUME SIZE|+SIZE\n"
"        Grow to SIZE, or by SIZE, rounded up to whole extents: allocate,\n"
"        commit, reload the table, grow the mounted filesystem online\n"
"        (btrfs, ext4, xfs; an unmounted ext4 offline). On a volume holding\n"
"        LUKS, hearth-work resize grows the mapping and what is inside.\n"
"  shrink VOLUME SIZE|-SIZE\n"
"        Shrink to SIZE, or by SIZE (the amount cut rounded down to whole\n"
"        extents): the filesystem first (btrfs mounted, ext4 unmounted; xfs\n"
"        cannot shrink), then the table, then the metadata. A volume\n"
"        holding LUKS shrinks only under an open mapping that already fits\n"
"        (hearth-work resize shrinks a LUKS home that way).\n"
"  create VOLUME SIZE\n"
"        Make a new volume of SIZE, rounded up to whole extents, placed next\n"
"        to home's extents (the space next to root stays free for release),\n"
"        and its device /dev/mapper/hearth-pool-VOLUME, whose first MiB is\n"
"        zeroed. VOLUME: 1-32 characters of a-z 0-9 _ -, not starting with\n"
"        -, not \"home\". A LUKS home whose imagePath is that device lives on\n"
"        the volume (hearth-work creates the volume itself if it is missing).\n"
"  remove VOLUME\n"
"        Remove the device, then the volume: its extents are free again\n"
"        (their data is not wiped). Refused while the device is open\n"
"        (mounted, or a LUKS mapping on it), and always for \"home\".\n"
"  release SIZE\n"
"        Give SIZE (rounded down to extents) of free space next to root\n"
"        back by moving the pool partition's start; root can then grow\n"
"        into it. If the pool partition is in use the kernel keeps its old\n"
"        view until the next boot; Hearth copes meanwhile.\n"
"  check [--repair] [--json]\n"
"        Verify every metadata copy and the live dm tables against the\n"
"        metadata; list invalid or stale copies, leaked and doubly owned\n"
"        extents. --repair rewrites stale copies and reloads lagging tables;\n"
"        ownership conflicts are only reported.\n"
"  failpoints\n"
"        List the failpoint names (test-only, see HEARTH_FAILPOINT).\n"
"\n"
"Options:\n"
"  --devices=A,B    The physical volumes. Without it every block device is\n"
"                   scanned for a Hearth geometry block (/sys/class/block)\n"
"                   and those of this machine's pool are taken: the pool\n"
"                   whose UUID /etc/hearth/pool-uuid records (init writes\n"
"                   it), each PV the partition /etc/hearth/pool-pvs records\n"
"                   for it (partition and disk GUID; init writes it).\n"
"                   Loop devices, removable disks, other pools and devices\n"
"                   that are not the recorded partition are ignored with a\n"
"                   warning. Nothing recorded: the only pool found is taken\n"
"                   (activate then records it); several pools, or two copies\n"
"                   of one PV (a cloned disk), are refused (exit 4).\n"
"                   activate records where the PVs it brought up sit when\n"
"                   that is not what pool-pvs says (so --devices=A,B\n"
"                   activate re-binds PVs whose GUIDs changed).\n"
"  --json           Machine-readable output (status, check).\n"
"  -q, --quiet      Only errors.\n"
"  -v, --verbose    Debug messages.\n"
"  -h, --help       This text.\n"
"\n"
"SIZE: bytes with an optional unit K, M, G, T (powers of 1024).\n"
"\n"
"Environment:\n"
"  HEARTH_FAILPOINT=NAME   test-only: the process SIGKILLs itself at the step\n"
"                          NAME (see `hearth-pool failpoints`).\n"
"\n"
"Exit status: 0 success; 1 the operation failed (nothing or a consistent part\n"
"was done, see the message); 2 bad usage; 3 check found problems (left after\n"
"--repair); 4 no usable pool (no PV found, a PV missing, metadata corrupt).\n";

static char **split_devices(const char *s) {
        size_t n = 1;
        for (const char *c = s; *c; c++)
                n += *c == ',';
        char **l = calloc(n + 1, sizeof *l);
        if (!l)
                return NULL;
        _cleanup_free_ char *copy = strdup(s);
        if (!copy) {
                free(l);
                return NULL;
        }
        size_t i = 0;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (!(l[i++] = strdup(t))) {
                        strv_free(l);
                        return NULL;
                }
        return l;
}

static int parse_size_arg(const char *s, char sign, uint64_t *ret, bool *ret_relative) {
        bool rel = s[0] == sign;
        uint64_t v;
        if (rel)
                s++;
        if (size_parse(s, &v) < 0 || v >= HEARTH_SIZE_MAX)
                return -EINVAL;
        *ret = v;
        *ret_relative = rel;
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_DEVICES = 0x100, ARG_JSON, ARG_EXTENT_SIZE, ARG_FORCE, ARG_REPAIR };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "quiet", no_argument, NULL, 'q' },
                { "verbose", no_argument, NULL, 'v' },
                { "devices", required_argument, NULL, ARG_DEVICES },
                { "json", no_argument, NULL, ARG_JSON },
                { "extent-size", required_argument, NULL, ARG_EXTENT_SIZE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "repair", no_argument, NULL, ARG_REPAIR },
                {},
        };
        _cleanup_strv_free_ char **devices = NULL;
        _cleanup_pool_ Pool *p = NULL;
        _cleanup_json_ json_object *j = NULL;
        bool json = false, force = false, repair = false;
        uint64_t extent_size = 0;
        int c, r;

        log_set_program("hearth-pool");
        log_set_max_level(LOG_INFO);
        while ((c = getopt_long(argc, argv, "+hqv", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        fputs(help_text, stdout);
                        return POOL_TOOL_EXIT_OK;
                case 'q':
                        log_set_max_level(LOG_WARNING);
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case ARG_DEVICES:
                        strv_free(devices);
                        devices = split_devices(optarg);
                        if (!devices || !devices[0]) {
                                fprintf(stderr, "hearth-pool: --devices needs a comma-separated list of devices\n");
                                return POOL_TOOL_EXIT_USAGE;
                        }
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_EXTENT_SIZE:
                        if (size_parse(optarg, &extent_size) < 0 || extent_size == 0) {
                                fprintf(stderr, "hearth-pool: invalid extent size \"%s\"\n", optarg);
                                return POOL_TOOL_EXIT_USAGE;
                        }
                        break;
                case ARG_FORCE:
                        force = true;
                        break;
                case ARG_REPAIR:
                        repair = true;
                        break;
                default:
                        fprintf(stderr, "Try 'hearth-pool --help'.\n");
                        return POOL_TOOL_EXIT_USAGE;
                }
        /* Options may also follow the command. */
        char *args[8];
        int n_args = 0;
        for (int i = optind; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, POOL_TOOL_OPT_JSON) == 0)
                        json = true;
                else if (strcmp(a, POOL_TOOL_OPT_FORCE) == 0)
                        force = true;
                else if (strcmp(a, POOL_TOOL_OPT_REPAIR) == 0)
                        repair = true;
                else if (strncmp(a, POOL_TOOL_OPT_EXTENT_SIZE, strlen(POOL_TOOL_OPT_EXTENT_SIZE)) == 0) {
                        const char *v = a + strlen(POOL_TOOL_OPT_EXTENT_SIZE);
                        if (size_parse(v, &extent_size) < 0 || extent_size == 0) {
                                fprintf(stderr, "hearth-pool: invalid extent size \"%s\"\n", v);
                                return POOL_TOOL_EXIT_USAGE;
                        }
                } else if (strncmp(a, POOL_TOOL_OPT_DEVICES, strlen(POOL_TOOL_OPT_DEVICES)) == 0) {
                        strv_free(devices);
                        devices = split_devices(a + strlen(POOL_TOOL_OPT_DEVICES));
                        if (!devices || !devices[0]) {
                                fprintf(stderr, "hearth-pool: --devices needs a comma-separated list of devices\n");
                                return POOL_TOOL_EXIT_USAGE;
                        }
                } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
                        log_set_max_level(LOG_WARNING);
                else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
                        log_set_max_level(LOG_DEBUG);
                else if (a[0] == '-' && a[1] == '-') {
                        fprintf(stderr, "hearth-pool: unknown option %s\nTry 'hearth-pool --help'.\n", a);
                        return POOL_TOOL_EXIT_USAGE;
                } else if (n_args < (int) ELEMENTSOF(args))
                        args[n_args++] = argv[i];
                else {
                        fprintf(stderr, "hearth-pool: too many arguments\n");
                        return POOL_TOOL_EXIT_USAGE;
                }
        }
        if (n_args == 0) {
                fprintf(stderr, "hearth-pool: missing command\nTry 'hearth-pool --help'.\n");
                return POOL_TOOL_EXIT_USAGE;
        }
        const char *cmd = args[0];
#define WANT_ARGS(n)                                                                                     \
        do {                                                                                             \
                if (n_args != (n) + 1) {                                                                 \
                        fprintf(stderr, "hearth-pool: %s takes %d argument%s\nTry 'hearth-pool --help'.\n", \
                                cmd, (n), (n) == 1 ? "" : "s");                                          \
                        return POOL_TOOL_EXIT_USAGE;                                                     \
                }                                                                                        \
        } while (0)

        if (strcmp(cmd, POOL_TOOL_FAILPOINTS) == 0) {
                WANT_ARGS(0);
                for (const char *const *f = pool_failpoint_names(); *f; f++)
                        puts(*f);
                return POOL_TOOL_EXIT_OK;
        }
        if (strcmp(cmd, POOL_TOOL_INIT) == 0) {
                WANT_ARGS(2);
                return pool_init(args[1], args[2], extent_size, force) < 0 ? POOL_TOOL_EXIT_FAILED
                                                                           : POOL_TOOL_EXIT_OK;
        }

        bool status = strcmp(cmd, POOL_TOOL_STATUS) == 0, check = strcmp(cmd, POOL_TOOL_CHECK) == 0;
        uint64_t size = 0;
        bool relative = false;
        if (status || check || strcmp(cmd, POOL_TOOL_ACTIVATE) == 0)
                WANT_ARGS(0);
        else if (strcmp(cmd, POOL_TOOL_REMOVE) == 0)
                WANT_ARGS(1);
        else if (strcmp(cmd, POOL_TOOL_CREATE) == 0) {
                WANT_ARGS(2);
                if (size_parse(args[2], &size) < 0 || size == 0 || size >= HEARTH_SIZE_MAX) {
                        fprintf(stderr, "hearth-pool: invalid size \"%s\"\n", args[2]);
                        return POOL_TOOL_EXIT_USAGE;
                }
        } else if (strcmp(cmd, POOL_TOOL_GROW) == 0 || strcmp(cmd, POOL_TOOL_SHRINK) == 0) {
                WANT_ARGS(2);
                char sign = strcmp(cmd, POOL_TOOL_GROW) == 0 ? POOL_TOOL_GROW_BY : POOL_TOOL_SHRINK_BY;
                if (parse_size_arg(args[2], sign, &size, &relative) < 0) {
                        fprintf(stderr, "hearth-pool: invalid size \"%s\"\n", args[2]);
                        return POOL_TOOL_EXIT_USAGE;
                }
        } else if (strcmp(cmd, POOL_TOOL_RELEASE) == 0) {
                WANT_ARGS(1);
                if (size_parse(args[1], &size) < 0 || size == 0 || size >= HEARTH_SIZE_MAX) {
                        fprintf(stderr, "hearth-pool: invalid size \"%s\"\n", args[1]);
                        return POOL_TOOL_EXIT_USAGE;
                }
        } else {
                fprintf(stderr, "hearth-pool: unknown command \"%s\"\nTry 'hearth-pool --help'.\n", cmd);
                return POOL_TOOL_EXIT_USAGE;
        }

        r = pool_open(devices, status || check, &p);
        if (r < 0)
                return POOL_TOOL_EXIT_NO_POOL;

        if (status) {
                json_object *valid;
                if (pool_status(p, &j) < 0)
                        return POOL_TOOL_EXIT_FAILED;
                if (json)
                        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                else
                        pool_status_print(stdout, j);
                return json_object_object_get_ex(j, "valid", &valid) && json_object_get_boolean(valid)
                               ? POOL_TOOL_EXIT_OK
                               : POOL_TOOL_EXIT_NO_POOL;
        }
        if (check) {
                r = pool_verify(p, repair, &j);
                if (r < 0)
                        return POOL_TOOL_EXIT_FAILED;
                if (json)
                        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                else
                        pool_check_print(stdout, j);
                return r > 0 ? POOL_TOOL_EXIT_PROBLEMS : POOL_TOOL_EXIT_OK;
        }
        if (strcmp(cmd, POOL_TOOL_ACTIVATE) == 0)
                r = pool_activate(p);
        else if (strcmp(cmd, POOL_TOOL_GROW) == 0)
                r = pool_grow(p, args[1], size, relative);
        else if (strcmp(cmd, POOL_TOOL_SHRINK) == 0)
                r = pool_shrink(p, args[1], size, relative);
        else if (strcmp(cmd, POOL_TOOL_CREATE) == 0)
                r = pool_volume_create(p, args[1], size);
        else if (strcmp(cmd, POOL_TOOL_REMOVE) == 0)
                r = pool_volume_remove(p, args[1]);
        else
                r = pool_give_back(p, size);
        return r < 0 ? POOL_TOOL_EXIT_FAILED : POOL_TOOL_EXIT_OK;
}
