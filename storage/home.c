/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <linux/magic.h>

#include "btrfs-quota.h"
#include "fileio.h"
#include "home.h"
#include "home-guard.h"
#include "home-layout.h"
#include "idmap.h"
#include "log.h"
#include "macro.h"
#include "password.h"
#include "pool.h"
#include "rm-rf.h"
#include "runtime-paths.h"
#include "secret.h"
#include "size.h"
#include "skel.h"
#include "skel-template.h"
#include "worker-protocol.h"

#define SUBVOLUME_DELETE_ROUNDS 8

Home *home_free(Home *h) {
        if (!h)
                return NULL;
        if (h->root_fd >= 0)
                close(h->root_fd);
        if (h->lock_fd >= 0)
                close(h->lock_fd); /* drops the lock */
        free(h->root);
        free(h->path);
        free(h->storage_name);
        free(h->storage_path);
        free(h->state);
        json_object_put(h->quota_adopted);
        json_object_put(h->quota_held);
        json_object_put(h->notices);
        free(h->skel_template);
        free(h);
        return NULL;
}

static int home_lock(Home *h) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        if (asprintf(&dir, "%s/locks", hearth_runtime_dir()) < 0 || asprintf(&path, "%s/%s.lock", dir, h->name) < 0)
                return log_oom();
        r = mkdir_parents(dir, 0700);
        if (r < 0)
                return log_error_errno(r, "%s: cannot create: %m", dir);
        h->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (h->lock_fd < 0)
                return log_error_errno(errno, "home %s: cannot open lock %s: %m", h->name, path);
        if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return log_error_errno(EBUSY, "home %s: another operation on this home is running", h->name);
                return log_error_errno(errno, "home %s: cannot lock %s: %m", h->name, path);
        }
        return 0;
}

int home_open(UserRecord *rec, Home **ret) {
        _cleanup_home_ Home *h = NULL;
        int r;

        if (!rec->user_name)
                return log_error_errno(EINVAL, "request has no userName");
        if (!valid_home_uid(rec->uid))
                return log_error_errno(EINVAL, "home %s: uid: must be between %u and %u", rec->user_name,
                                       HOME_UID_MIN, HOME_UID_MAX);
        if (rec->gid != GID_INVALID && rec->gid != (gid_t) rec->uid)
                return log_error_errno(EINVAL, "home %s: gid: must equal uid (%u)", rec->user_name, rec->uid);

        h = calloc(1, sizeof *h);
        if (!h)
                return log_oom();
        h->root_fd = h->lock_fd = -1;
        h->size_request = HEARTH_SIZE_RECORD;
        h->tpm_tries_below = UINT32_MAX;
        h->rec = rec;
        h->name = rec->user_name;
        h->root = strdup(home_root_default());
        if (!h->root || asprintf(&h->path, "%s/%s", h->root, h->name) < 0 ||
            asprintf(&h->storage_name, "%s" HOME_STORAGE_SUFFIX, h->name) < 0 ||
            asprintf(&h->storage_path, "%s/%s", h->root, h->storage_name) < 0)
                return log_oom();
        if (rec->home_directory && strcmp(rec->home_directory, h->path) != 0)
                return log_error_errno(EINVAL, "home %s: homeDirectory: must be %s", h->name, h->path);

        h->root_fd = open(h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (h->root_fd < 0)
                return log_error_errno(errno, "home %s: cannot open home root %s: %m", h->name, h->root);

        r = home_lock(h);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

int home_disk_size_from_share(Home *h, uint64_t base) {
        char a[SIZE_FORMAT_MAX], b[SIZE_FORMAT_MAX];
        uint64_t share = h->rec->disk_size_relative;

        if (h->rec->disk_size != UINT64_MAX || share == UINT64_MAX)
                return 0;
        uint64_t bytes = (uint64_t) ((unsigned __int128) base * share / UINT32_MAX) & ~UINT64_C(4095);
        unsigned permille = (unsigned) ((unsigned __int128) share * 1000 / UINT32_MAX);
        if (bytes < USER_RECORD_DISK_SIZE_MIN)
                return log_error_errno(ERANGE, "home %s: diskSizeRelative: %u.%u%% of %s is %s, less than the 16 MiB a "
                                       "home takes at least", h->name, permille / 10, permille % 10,
                                       size_format(base, a), size_format(bytes, b));
        json_object *v = json_object_new_int64((int64_t) bytes);
        if (!v || user_record_set_effective(h->rec, "diskSize", v) < 0)
                return log_oom();
        log_info("home %s: %u.%u%% of %s: %s", h->name, permille / 10, permille % 10, size_format(base, a),
                 size_format(bytes, b));
        return 0;
}

int home_set_state(Home *h, const char *state) {
        free(h->state);
        h->state = strdup(state);
        return h->state ? 0 : log_oom();
}

int home_root_entry_inspect(Home *h) {
        _cleanup_close_ int fd = -1;
        struct statvfs sv;
        int r = home_storage_open(h, &fd);
        if (r < 0)
                return r;
        if (!h->state) {
                r = home_mount_state(h, fd);
                if (r < 0 || (r = home_set_state(h, r > 0 ? "active" : "inactive")) < 0)
                        return r;
        }
        if (fstatvfs(fd, &sv) < 0)
                return home_update_sections(h, NULL);
        json_object *status = json_object_new_object();
        if (!status)
                return log_oom();
        json_object_object_add(status, "diskSize", json_object_new_int64((int64_t) ((uint64_t) sv.f_blocks * sv.f_frsize)));
        json_object_object_add(status, "diskFree", json_object_new_int64((int64_t) ((uint64_t) sv.f_bavail * sv.f_frsize)));
        return home_update_sections(h, status);
}

int home_temp_name(Home *h, const char *what, char **ret) {
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        unsigned char rnd[WORKER_LEFTOVER_SUFFIX_LEN];
        char suffix[WORKER_LEFTOVER_SUFFIX_LEN + 1];
        FILE *f;

        f = fopen("/dev/urandom", "re");
        if (!f || fread(rnd, 1, sizeof rnd, f) != sizeof rnd) {
                if (f)
                        fclose(f);
                return log_error_errno(EIO, "cannot read /dev/urandom");
        }
        fclose(f);
        for (size_t i = 0; i < sizeof rnd; i++)
                suffix[i] = chars[rnd[i] % (sizeof chars - 1)];
        suffix[WORKER_LEFTOVER_SUFFIX_LEN] = 0;
        return asprintf(ret, WORKER_LEFTOVER_PREFIX "%s.%s.%s", what, h->name, suffix) < 0 ? log_oom() : 0;
}

/* Is name a leftover of ours for this user? */
static bool is_leftover(const char *name, const char *user) {
        const char *u;
        size_t n;
        return worker_leftover_parse(name, &u, &n) && n == strlen(user) && strncmp(u, user, n) == 0;
}

/* A leftover's top becomes root's and closed before anything else, so that
 * what is below it is out of reach even if we die half-way through deleting
 * it: a tree still owned by the user's UID would be readable by the next
 * home given that UID. */
static int lock_down(int dir_fd, const char *name) {
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (S_ISLNK(st.st_mode))
                return 0;
        if (fchownat(dir_fd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(dir_fd, name, S_ISDIR(st.st_mode) ? 0700 : 0600, 0) < 0)
                return negative_errno();
        return 0;
}

int home_clean_leftovers(Home *h) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;
        int r = 0, n = 0;

        fd = dup(h->root_fd);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(TAKE_FD(fd));
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                if (!is_leftover(de->d_name, h->name))
                        continue;
                log_info("home %s: removing leftover %s/%s of an interrupted operation", h->name, h->root,
                         de->d_name);
                int k = lock_down(h->root_fd, de->d_name);
                if (k >= 0)
                        k = home_rm_rf_at(h->root_fd, de->d_name);
                if (k < 0) {
                        log_warning_errno(k, "home %s: cannot remove %s/%s: %m", h->name, h->root, de->d_name);
                        if (r == 0)
                                r = k;
                } else
                        n++;
        }
        closedir(d);
        return r < 0 ? r : n;
}

int home_rename_into_place(Home *h, const char *temp) {
        if (renameat2(h->root_fd, temp, h->root_fd, h->storage_name, RENAME_NOREPLACE) < 0) {
                if (errno == EEXIST)
                        return log_error_errno(EEXIST, "home %s: %s already exists", h->name, h->storage_path);
                return log_error_errno(errno, "home %s: cannot move new home into place: %m", h->name);
        }
        return fsync(h->root_fd) < 0 ? negative_errno() : 0;
}

int home_rename_away(Home *h, char **ret) {
        _cleanup_free_ char *temp = NULL;
        int r = home_temp_name(h, "remove", &temp);
        if (r < 0)
                return r;
        if (renameat(h->root_fd, h->storage_name, h->root_fd, temp) < 0) {
                if (errno == ENOENT)
                        return log_error_errno(ENOENT, "home %s: %s does not exist", h->name, h->storage_path);
                return log_error_errno(errno, "home %s: cannot move %s out of the way: %m", h->name,
                                       h->storage_path);
        }
        (void) fsync(h->root_fd);
        *ret = TAKE_PTR(temp);
        return 0;
}

int home_chown_top(Home *h, int fd) {
        if (fchown(fd, h->rec->uid, (gid_t) h->rec->uid) < 0 || fchmod(fd, 0700) < 0)
                return log_error_errno(errno, "home %s: cannot set owner and mode: %m", h->name);
        return 0;
}

/* A home made into an image that is not running (homectl firstboot
 * --root=DIR sets HEARTH_SKEL_ROOT to the image's root): the root of that
 * image, else NULL. */
static const char *image_root(void) {
        const char *e = getenv("HEARTH_SKEL_ROOT");
        return e && e[0] == '/' ? e : NULL;
}

int home_guard_storage(Home *h) {
        /* The image's own hearthd guards it once the image runs; a mount
         * made here would outlive the image on the machine building it. */
        if (image_root())
                return 0;
        int r = home_guard(h->name, h->root_fd, h->storage_name);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "home %s: %s does not exist", h->name, h->storage_path);
        if (r > 0)
                log_debug("home %s: %s guarded (nosuid,nodev,noexec)", h->name, h->storage_path);
        return r < 0 ? r : 0;
}

int home_seed(Home *h, int fd) {
        SkelOptions opts = {
                .uid = h->rec->uid,
                .gid = (gid_t) h->rec->uid,
                .home_path = h->path,
                .for_user_record = true,
        };
        _cleanup_free_ char *skel_dir = NULL, *image_path = NULL;
        const char *image = image_root();
        SkelStats stats = {};
        int r;

        opts.skel_dir = h->rec->skeleton_directory;
        /* Made into an image: its skel is the image's, and links in it
         * point where the home will be once the image boots. */
        if (image) {
                opts.root = image;
                if (asprintf(&image_path, "/home/%s", h->name) < 0 ||
                    (opts.skel_dir && asprintf(&skel_dir, "%s%s", image, opts.skel_dir) < 0))
                        return log_oom();
                opts.home_path = image_path;
                if (skel_dir)
                        opts.skel_dir = skel_dir;
        }
        r = skel_seed(fd, &opts, &stats);
        if (r < 0)
                return r; /* logged by the copier */
        log_debug("home %s: seeded %u files, %u directories, %u symlinks from skel", h->name, stats.files,
                  stats.dirs, stats.symlinks);
        return 0;
}

/* Sets section.<machine-id> to value (taken); with merge, value's fields
 * are added to (or replace those of) the entry there, the others kept. */
static int set_machine_section(json_object *rec, const char *section, json_object *value, bool merge) {
        const char *mid = user_record_machine_id();
        json_object *s, *old;

        if (!mid) {
                json_object_put(value);
                return 0; /* no machine ID: nothing to bind to */
        }
        if (!json_object_object_get_ex(rec, section, &s)) {
                s = json_object_new_object();
                if (!s || json_object_object_add(rec, section, s) < 0) {
                        json_object_put(s);
                        json_object_put(value);
                        return -ENOMEM;
                }
        }
        if (merge && json_object_object_get_ex(s, mid, &old) && json_object_is_type(old, json_type_object)) {
                json_object_object_foreach(value, key, v)
                        if (json_object_object_add(old, key, json_object_get(v)) < 0) {
                                json_object_put(value);
                                return -ENOMEM;
                        }
                json_object_put(value);
                return 0;
        }
        return json_object_object_add(s, mid, value) < 0 ? -ENOMEM : 0;
}

int home_bind(Home *h, json_object *fields) {
        _cleanup_free_ char *error = NULL;

        if (!fields)
                return log_oom();
        if (!user_record_machine_id())
                log_warning("home %s: no machine ID (/etc/machine-id): where its storage is cannot be bound to this "
                            "machine in its record", h->name);
        int r = set_machine_section(h->rec->json, "binding", fields, true);
        if (r < 0)
                return log_oom();
        r = user_record_refresh(h->rec, &error);
        if (r < 0)
                return log_error_errno(r, "home %s: updated record invalid: %s", h->name, error ?: "?");
        return 0;
}

void home_notice(Home *h, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        int k = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (k < 0) {
                log_oom();
                return;
        }
        log_notice("home %s: %s", h->name, text);
        if (!h->notices && !(h->notices = json_object_new_array()))
                return;
        json_object *t = json_object_new_string(text);
        if (!t || json_object_array_add(h->notices, t) < 0)
                json_object_put(t);
}

int home_update_sections(Home *h, json_object *status_extra) {
        json_object *binding = json_object_new_object();
        json_object *status = status_extra ? status_extra : json_object_new_object();
        int r;

        if (!binding || !status) {
                json_object_put(binding);
                json_object_put(status);
                return log_oom();
        }
        json_object_object_add(binding, "homeDirectory", json_object_new_string(h->path));
        /* Where the data is, as homed reports it: the .homedir for
         * directory and subvolume homes, the image or device for LUKS. */
        if (h->rec->storage != USER_STORAGE_LUKS)
                json_object_object_add(binding, "imagePath", json_object_new_string(h->storage_path));
        else if (h->rec->image_path)
                json_object_object_add(binding, "imagePath", json_object_new_string(h->rec->image_path));
        json_object_object_add(binding, "storage",
                               json_object_new_string(user_storage_to_string(h->rec->storage)));
        json_object_object_add(binding, "uid", json_object_new_int64(h->rec->uid));
        json_object_object_add(binding, "gid", json_object_new_int64(h->rec->uid));
        if (h->state)
                json_object_object_add(status, "state", json_object_new_string(h->state));
        if (h->notices)
                json_object_object_add(status, WORKER_STATUS_NOTICES, json_object_get(h->notices));
        if (h->skel_template)
                json_object_object_add(status, WORKER_STATUS_SKEL_TEMPLATE, json_object_new_string(h->skel_template));
        json_object_object_add(status, "service", json_object_new_string(USER_RECORD_SERVICE_HEARTH));

        r = set_machine_section(h->rec->json, "binding", binding, true);
        if (r >= 0)
                r = set_machine_section(h->rec->json, "status", status, false);
        else
                json_object_put(status);
        if (r < 0)
                return log_oom();
        _cleanup_free_ char *error = NULL;
        r = user_record_refresh(h->rec, &error);
        if (r < 0)
                return log_error_errno(r, "home %s: updated record invalid: %s", h->name, error ?: "?");
        return 0;
}

/* A Btrfs subvolume's top directory always has inode 256. */
static bool is_subvolume(int fd, const struct stat *st) {
        struct statfs sfs;
        return st->st_ino == 256 && fstatfs(fd, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC;
}

/* Deletes the subvolume open at fd and every subvolume below it, deepest
 * first, each by its ID. Never by path: libbtrfsutil's recursive delete
 * reopens each nested subvolume's parent directory by name, following
 * symlinks, and a process of the home's user still inside can swap one in
 * meanwhile and have root delete another home. New subvolumes made while
 * this runs make the last delete fail (ENOTEMPTY): a few more rounds, then
 * -EBUSY with everything of the home that could go gone. */
static int delete_subvolume_tree(int dir_fd, int fd, const char *name) {
        uint64_t id;
        enum btrfs_util_error e;

        e = btrfs_util_subvolume_id_fd(fd, &id);
        if (e != BTRFS_UTIL_OK)
                return log_error_errno(errno ?: EIO, "cannot read the ID of subvolume %s: %s", name,
                                       btrfs_util_strerror(e));
        /* A home at its quota could not even be deleted (deleting needs
         * metadata space, charged to it): its limits go first, and its
         * level-1 group after it (btrfs-quota.h). */
        (void) btrfs_qgroup_set_limit(fd, id, BTRFS_QUOTA_NO_LIMIT);
        (void) btrfs_qgroup_set_limit(fd, BTRFS_QGROUP_LEVEL1(id), BTRFS_QUOTA_NO_LIMIT);

        for (unsigned round = 0; round < SUBVOLUME_DELETE_ROUNDS; round++) {
                struct btrfs_util_subvolume_iterator *it = NULL;

                e = btrfs_util_create_subvolume_iterator_fd(fd, 0, BTRFS_UTIL_SUBVOLUME_ITERATOR_POST_ORDER, &it);
                if (e != BTRFS_UTIL_OK)
                        return log_error_errno(errno ?: EIO, "cannot list the subvolumes inside %s: %s", name,
                                               btrfs_util_strerror(e));
                for (;;) {
                        _cleanup_free_ char *path = NULL;
                        uint64_t sub;

                        e = btrfs_util_subvolume_iterator_next(it, &path, &sub);
                        if (e != BTRFS_UTIL_OK)
                                break;
                        e = btrfs_util_delete_subvolume_by_id_fd(fd, sub);
                        if (e != BTRFS_UTIL_OK && errno != ENOENT && errno != ENOTEMPTY)
                                break;
                        e = BTRFS_UTIL_OK;
                }
                btrfs_util_destroy_subvolume_iterator(it);
                if (e != BTRFS_UTIL_OK && e != BTRFS_UTIL_ERROR_STOP_ITERATION)
                        return log_error_errno(errno ?: EIO, "cannot delete a subvolume inside %s: %s", name,
                                               btrfs_util_strerror(e));

                e = btrfs_util_delete_subvolume_by_id_fd(fd, id);
                if (e == BTRFS_UTIL_OK) {
                        (void) btrfs_qgroup_dissolve(dir_fd, BTRFS_QGROUP_LEVEL1(id));
                        return 0;
                }
                if (errno != ENOTEMPTY)
                        return log_error_errno(errno ?: EIO, "cannot delete subvolume %s: %s", name,
                                               btrfs_util_strerror(e));
        }
        return log_error_errno(EBUSY, "cannot delete subvolume %s: subvolumes keep being made inside it", name);
}

/* rm_rf_at's hook (common/rm-rf.h): a subvolume goes with everything in it. */
static int remove_subvolume(int dir_fd, const char *name, int fd, const struct stat *st) {
        if (!is_subvolume(fd, st))
                return 0;
        int r = delete_subvolume_tree(dir_fd, fd, name);
        return r < 0 ? r : 1;
}

int home_rm_rf_at(int dir_fd, const char *name) {
        return rm_rf_at(dir_fd, name, remove_subvolume);
}

int home_storage_exists(Home *h) {
        struct stat st;

        if (fstatat(h->root_fd, h->storage_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "home %s: cannot stat %s: %m", h->name, h->storage_path);
        }
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(EUCLEAN, "home %s: %s is not a directory", h->name, h->storage_path);
        if (!idmap_stored_owner_ok(st.st_uid))
                return log_error_errno(EUCLEAN, "home %s: %s is owned by UID %u, neither nobody nor a home UID",
                                       h->name, h->storage_path, st.st_uid);
        return 1;
}

int home_storage_open(Home *h, int *ret_fd) {
        struct stat before, after;
        int r = home_storage_exists(h);
        if (r == 0)
                return log_error_errno(ENOENT, "home %s: %s does not exist", h->name, h->storage_path);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(h->root_fd, h->storage_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "home %s: cannot open %s: %m", h->name, h->storage_path);
        /* What was checked, not something renamed there since. */
        if (fstatat(h->root_fd, h->storage_name, &before, AT_SYMLINK_NOFOLLOW) < 0 || fstat(fd, &after) < 0 ||
            before.st_ino != after.st_ino || before.st_dev != after.st_dev || !idmap_stored_owner_ok(after.st_uid))
                return log_error_errno(EBUSY, "home %s: %s changed while it was opened", h->name, h->storage_path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int home_populate(int fd, void *userdata) {
        Home *h = userdata;
        int r = home_seed(h, fd);
        pool_failpoint("home-create-seeded");
        if (r >= 0)
                r = home_chown_top(h, fd);
        pool_failpoint("home-create-chowned");
        return r;
}

/* What a failed create made goes. */
static void remove_temp(Home *h, const char *temp) {
        int k = home_rm_rf_at(h->root_fd, temp);
        if (k < 0)
                log_warning_errno(k, "home %s: cannot remove %s/%s after failure: %m", h->name, h->root, temp);
}

/* home_populate() for a snapshot of the skel template, which holds the
 * skel already: only its top is hers. */
static int populate_top(int fd, void *userdata) {
        Home *h = userdata;
        pool_failpoint("home-create-seeded");
        int r = home_chown_top(h, fd);
        pool_failpoint("home-create-chowned");
        return r;
}

static int chown_spare_top(int fd, void *userdata) {
        return home_chown_top(userdata, fd);
}

/* A spare's check, before it is named one: that a home made of it can be
 * given to its user through an ID map (as populate_top() does at create). */
static int prepare_spare(int fd, void *userdata) {
        Home *h = userdata;
        int r = idmap_populate_mapped(h->name, fd, UID_NOBODY, h->rec->uid, chown_spare_top, h);
        if (r == -EOPNOTSUPP)
                log_debug("home %s: the file system cannot ID-map: no spares", h->name);
        return r;
}

int home_skel_spares_fill(Home *h) {
        struct statfs sfs;

        if (h->rec->storage != USER_STORAGE_SUBVOLUME || h->rec->skeleton_directory || image_root() ||
            idmap_test_refused())
                return 0;
        if (fstatfs(h->root_fd, &sfs) < 0 || sfs.f_type != BTRFS_SUPER_MAGIC)
                return 0;
        int r = skel_template_spares_fill(h->root_fd, h->root, h->skel_current, SKEL_TEMPLATE_SPARES, prepare_spare,
                                          h);
        return r == -EOPNOTSUPP ? 0 : r;
}

int home_skel_snapshot(Home *h, const char *temp) {
        SkelTemplateInfo info;

        /* Her record's own skel, or an image's (whose home root is the
         * image's: no template is left in it): copied. */
        if (h->rec->skeleton_directory || image_root())
                return -EOPNOTSUPP;
        /* Whatever kept the template from serving was logged there: the
         * copy does as before. */
        /* A spare only where this run could ID-map the top (the spare's
         * maker checked the file system can). */
        bool spare = !idmap_test_refused();
        if (skel_template_snapshot(h->root_fd, h->root, false, spare, h->skel_current, h->root_fd, temp, &info) < 0)
                return -EOPNOTSUPP;
        h->skel_spare = info.spare;
        log_debug("home %s: a %s of the skel template %.12s…%s", h->name, info.spare ? "spare" : "snapshot",
                  info.digest, info.rebuilt ? ", built for it" : info.unscanned ? ", current as hearthd says" : "");
        /* What this run's scan found current, for hearthd's watch to
         * vouch for from now on; taken on hearthd's word, nothing new. */
        char token[SKEL_TEMPLATE_TOKEN_MAX];
        free(h->skel_template);
        h->skel_template = !info.unscanned && skel_template_token(info.digest, token) >= 0 ? strdup(token) : NULL;
        return 0;
}

/* The storage as a snapshot of the skel template, its top given to her
 * through the map. -EOPNOTSUPP where the template cannot serve or the file
 * system cannot ID-map (its files would stay nobody's for good): nothing is
 * left, and the caller copies. */
static int create_from_template(Home *h, HomeMakeTop make_seeded_top, const char *temp, uid_t stored, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        int r;

        if (stored != UID_NOBODY)
                return -EOPNOTSUPP; /* the template's files are nobody's */
        r = make_seeded_top(h, temp, &fd);
        if (r < 0)
                return r;
        if (fchmod(fd, 0700) < 0)
                r = log_error_errno(errno, "home %s: cannot set mode: %m", h->name);
        pool_failpoint("home-create-made");
        log_trace_phase("create: snapshot made, quota set");
        if (r >= 0 && h->skel_spare) {
                /* Its top was given when the spare was made (by a run that
                 * could ID-map it): nobody's on disk, which is what the map
                 * makes of her. */
                pool_failpoint("home-create-seeded");
                pool_failpoint("home-create-chowned");
        } else if (r >= 0) {
                r = idmap_populate_mapped(h->name, fd, stored, h->rec->uid, populate_top, h);
                log_trace_phase("create: top given through the ID map");
                if (r == -EOPNOTSUPP)
                        log_debug("home %s: the file system cannot ID-map: copying the skel instead", h->name);
        }
        if (r < 0) {
                closep(&fd);
                remove_temp(h, temp);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The storage made empty (make_top) and seeded by copying the skel
 * through the map. Nothing is left on failure. */
static int create_by_copy(Home *h, HomeMakeTop make_top, const char *temp, uid_t stored, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        bool unmapped = false;
        int r;

        r = make_top(h, temp, &fd);
        if (r < 0)
                return r;
        /* Closed while it is root's and half-seeded. */
        if (fchmod(fd, 0700) < 0)
                r = log_error_errno(errno, "home %s: cannot set mode: %m", h->name);
        pool_failpoint("home-create-made");
        if (r >= 0)
                r = idmap_populate(h->name, fd, stored, h->rec->uid, home_populate, h, &unmapped);
        if (r >= 0 && unmapped)
                home_notice(h, "file system cannot ID-map; its files are stored as UID %u, not %u", h->rec->uid, stored);
        if (r < 0) {
                closep(&fd);
                remove_temp(h, temp);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int home_create_in_root(Home *h, HomeMakeTop make_top, HomeMakeTop make_seeded_top, uid_t stored) {
        _cleanup_free_ char *temp = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        (void) home_clean_leftovers(h);
        log_trace_phase("create: leftovers cleaned");
        if (fstatat(h->root_fd, h->storage_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return log_error_errno(EEXIST, "home %s: %s already exists", h->name, h->storage_path);
        /* A home that could never be mounted is not made. */
        r = home_mount_point_free(h);
        if (r < 0)
                return r;

        log_trace_phase("create: mount point checked");
        r = home_temp_name(h, "create", &temp);
        if (r < 0)
                return r;
        r = make_seeded_top ? create_from_template(h, make_seeded_top, temp, stored, &fd) : -EOPNOTSUPP;
        if (r == -EOPNOTSUPP)
                r = create_by_copy(h, make_top, temp, stored, &fd);
        if (r < 0)
                return r;

        log_trace_phase("create: storage made");
        /* Her record in it before it has a name: one commit for both. */
        if (home_root_entry_identity_new(h, fd) < 0)
                log_warning("home %s: ~/" HOME_IDENTITY_FILE " is written after the home instead", h->name);
        log_trace_phase("create: identity written");
        /* What the storage holds is on disk before its name: a spare's
         * since it was made (the snapshot's ioctl commits it); the rest
         * now. The rename's fsync commits what the create changed since
         * (top, quota group): a subvolume's rename is never in the log. */
        if (!h->skel_spare && syncfs(fd) < 0)
                r = log_error_errno(errno, "home %s: cannot sync: %m", h->name);
        log_trace_phase("create: synced");
        if (r >= 0)
                r = home_rename_into_place(h, temp);
        log_trace_phase("create: renamed, fsynced");
        if (r >= 0) {
                pool_failpoint("home-create-renamed");
                /* Only now: the name of a mount cannot be renamed. Without
                 * the guard the home cannot be activated: taken back. */
                r = home_guard_storage(h);
                if (r < 0 && renameat(h->root_fd, h->storage_name, h->root_fd, temp) < 0) {
                        log_warning_errno(errno, "home %s: cannot take back %s: %m", h->name, h->storage_path);
                        return r;
                }
        }
        if (r < 0) {
                remove_temp(h, temp);
                return r;
        }
        log_trace_phase("create: guarded");
        free(h->state);
        h->state = strdup("inactive");
        return 0;
}

int home_remove_from_root(Home *h) {
        _cleanup_free_ char *temp = NULL;
        int r, cleaned;

        cleaned = home_clean_leftovers(h);
        r = home_storage_exists(h);
        if (r < 0)
                return r;
        if (r == 0 && cleaned > 0) {
                /* An interrupted remove, finished now. */
                home_mount_point_remove(h);
                free(h->state);
                h->state = strdup("absent");
                return 0;
        }
        if (r == 0)
                return log_error_errno(ENOENT, "home %s: %s does not exist", h->name, h->storage_path);
        {
                _cleanup_close_ int fd = -1;
                r = home_storage_open(h, &fd);
                if (r >= 0)
                        r = home_mount_state(h, fd);
                if (r > 0)
                        return log_error_errno(EBUSY, "home %s: is active; deactivate it first", h->name);
                if (r < 0)
                        return r;
                /* Closed before its guard goes (a mount's name cannot be
                 * renamed): a set-UID file she left is out of others' reach
                 * from now on, here and under the leftover's name. */
                if (fchmod(fd, 0700) < 0)
                        return log_error_errno(errno, "home %s: cannot close %s: %m", h->name, h->storage_path);
        }
        r = home_unguard(h->name, h->root_fd, h->storage_name);
        if (r < 0)
                return r;
        /* Gone at once; the deletion below may take long, and if it is
         * interrupted the next operation finishes it. */
        r = home_rename_away(h, &temp);
        if (r < 0) {
                (void) home_guard_storage(h);
                return r;
        }
        pool_failpoint("home-remove-renamed");
        r = lock_down(h->root_fd, temp);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot take %s/%s from its user: %m", h->name, h->root, temp);
        pool_failpoint("home-remove-locked");
        r = home_rm_rf_at(h->root_fd, temp);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot delete %s/%s: %m", h->name, h->root, temp);
        home_mount_point_remove(h);
        free(h->state);
        h->state = strdup("absent");
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

bool home_pin_only(const Home *h) {
        return h->header_pin_only || user_record_pin_only(h->rec);
}

int home_forget_pin_hash(Home *h) {
        int r = home_pin_only(h) ? user_record_drop_password_hash(h->rec) : 0;
        if (r <= 0)
                return r < 0 ? log_oom() : 0;
        log_info("home %s: its key is sealed in the TPM with the password as PIN: dropped the password's hash "
                 "from its record", h->name);
        return user_record_bump_last_change(h->rec, now_usec()) < 0 ? log_oom() : 0;
}

int home_set_password_hashes(Home *h, const char *const *passwords) {
        size_t n = strv_length((char *const *) passwords);
        json_object *priv, *array;
        int r;

        if (home_pin_only(h)) {
                /* No hash of a TPM PIN (user-record.h); the times as for any password change. */
                if (user_record_drop_password_hash(h->rec) < 0)
                        return log_oom();
                json_object_object_add(h->rec->json, "lastPasswordChangeUSec",
                                       json_object_new_int64((int64_t) now_usec()));
                return user_record_bump_last_change(h->rec, now_usec()) < 0 ? log_oom() : 0;
        }

        array = json_object_new_array();
        if (!array)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *hash = NULL;
                r = password_hash(passwords[i], &hash);
                if (r < 0) {
                        json_object_put(array);
                        return log_error_errno(r, "home %s: cannot hash password: %m", h->name);
                }
                json_object_array_add(array, json_object_new_string(hash));
        }
        if (!json_object_object_get_ex(h->rec->json, "privileged", &priv)) {
                priv = json_object_new_object();
                if (!priv || json_object_object_add(h->rec->json, "privileged", priv) < 0) {
                        json_object_put(priv);
                        json_object_put(array);
                        return log_oom();
                }
        }
        json_object_object_add(priv, "hashedPassword", array);
        uint64_t now = now_usec();
        json_object_object_add(h->rec->json, "lastPasswordChangeUSec", json_object_new_int64((int64_t) now));
        return user_record_bump_last_change(h->rec, now) < 0 ? log_oom() : 0;
}

/* A record without hashes has no password: nothing given is fine (root,
 * through hearthd, activating it), but any password given is wrong — were
 * it accepted, anyone could log in to such an account with any string. */
int home_verify_password(Home *h, const char *const *hashes) {
        int r;

        if (!hashes || !hashes[0]) {
                if (h->rec->password && h->rec->password[0])
                        return log_error_errno(EKEYREJECTED, "home %s: has no password set; none can be accepted",
                                               h->name);
                return 0;
        }
        if (!h->rec->password || !h->rec->password[0])
                return log_error_errno(EKEYREJECTED, "home %s: password required", h->name);
        for (const char *const *p = h->rec->password; *p; p++) {
                r = password_verify(*p, hashes);
                if (r < 0)
                        return log_error_errno(r, "home %s: cannot verify password: %m", h->name);
                if (r > 0)
                        return 0;
        }
        return log_error_errno(EKEYREJECTED, "home %s: password incorrect", h->name);
}
