/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Homes found in the home root (images.h): systemd-homed's
 * manager_enumerate_images() and its inotify watch on /home. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "bus-error.h"
#include "home-layout.h"
#include "images.h"
#include "log.h"
#include "macro.h"
#include "uid-alloc.h"

/* What an entry of the home root is by its name and type: a LUKS image
 * <user>.home (a regular file) or a <user>.homedir directory. 0 and the
 * user name, or -EMEDIUMTYPE. */
static int image_entry(const char *entry, bool is_dir, bool is_reg, char name[static USER_NAME_MAX + 1]) {
        const char *suffix = is_dir ? HOME_STORAGE_SUFFIX : is_reg ? HOME_IMAGE_SUFFIX : NULL;
        size_t n = strlen(entry), k = suffix ? strlen(suffix) : 0;

        if (!suffix || n <= k || n - k > USER_NAME_MAX || strcmp(entry + n - k, suffix) != 0)
                return -EMEDIUMTYPE;
        memcpy(name, entry, n - k);
        name[n - k] = 0;
        return valid_user_name(name) ? 0 : -EMEDIUMTYPE;
}

/* A .homedir is a subvolume if it is the top of one (inode 256 on btrfs),
 * an fscrypt home if it is encrypted (its key slots tell whose). */
static UserStorage dir_storage(int root_fd, const char *entry) {
        _cleanup_close_ int fd = openat(root_fd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct statfs sfs;
        struct statx stx;
        struct stat st;

        if (fd >= 0 && statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0 &&
            (stx.stx_attributes_mask & STATX_ATTR_ENCRYPTED) && (stx.stx_attributes & STATX_ATTR_ENCRYPTED))
                return USER_STORAGE_FSCRYPT;

        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == 256 && fstatfs(fd, &sfs) == 0 &&
            sfs.f_type == BTRFS_SUPER_MAGIC)
                return USER_STORAGE_SUBVOLUME;
        return USER_STORAGE_DIRECTORY;
}

/* The record of a home found here: its name, the UID it gets here, where
 * it is. The UID and where are this machine's binding, which the record
 * the home carries keeps when it is taken (home_take_embedded()). */
static int synthesize(Manager *m, const char *name, const char *entry, UserStorage storage, uid_t uid,
                      UserRecord **ret) {
        _cleanup_free_ char *image = NULL, *home = NULL, *error = NULL;
        const char *mid = user_record_machine_id();
        json_object *j = json_object_new_object(), *binding = json_object_new_object(),
                    *mine = json_object_new_object();

        if (!j || !binding || !mine || !mid || asprintf(&image, "%s/%s", m->home_root, entry) < 0 ||
            asprintf(&home, "%s/%s", m->home_root, name) < 0) {
                json_object_put(j);
                json_object_put(binding);
                json_object_put(mine);
                return log_oom();
        }
        json_object_object_add(j, "userName", json_object_new_string(name));
        json_object_object_add(j, "disposition", json_object_new_string("regular"));
        json_object_object_add(mine, "storage", json_object_new_string(user_storage_to_string(storage)));
        json_object_object_add(mine, "imagePath", json_object_new_string(image));
        json_object_object_add(mine, "homeDirectory", json_object_new_string(home));
        json_object_object_add(mine, "uid", json_object_new_int64(uid));
        json_object_object_add(mine, "gid", json_object_new_int64(uid));
        json_object_object_add(binding, mid, mine);
        json_object_object_add(j, "binding", binding);
        int r = user_record_from_json(j, ret, &error);
        if (r < 0)
                return log_error_errno(r, "home %s: the record made for %s is invalid: %s", name, image,
                                       error ?: "?");
        return 0;
}

static bool uid_taken(uid_t uid, void *userdata) {
        return manager_uid_taken(userdata, uid);
}

/* Whether h is the unfixated home of entry (same file name in the root). */
static bool is_home_of(ManagedHome *h, const char *root, const char *entry) {
        const char *p = h->record->image_path;
        size_t n = strlen(root);
        return p && strncmp(p, root, n) == 0 && p[n] == '/' && strcmp(p + n + 1, entry) == 0;
}

/* One entry of the root: a home found, a known home's storage back, or
 * nothing of ours. 1 if a home was added, 0 if not, or -errno (logged). */
static int assess(Manager *m, int root_fd, const char *entry) {
        char name[USER_NAME_MAX + 1];
        struct stat st;
        UserRecord *rec = NULL;
        uid_t uid = UID_INVALID;
        int r;

        if (fstatat(root_fd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0; /* gone again */
        if (image_entry(entry, S_ISDIR(st.st_mode), S_ISREG(st.st_mode), name) < 0)
                return 0;
        ManagedHome *h = manager_find_by_name(m, name);
        if (h) {
                if (h->state != HOME_UNFIXATED)
                        managed_home_revalidate(h); /* its storage came back */
                else if (!is_home_of(h, m->home_root, entry))
                        log_debug("home %s: found %s/%s too; keeping the one found first", name, m->home_root,
                                  entry);
                return 0;
        }
        /* Another account of the name: the image is not taken for it. */
        if (name_taken_nss(name)) {
                log_info("home %s: %s/%s found, but a user or group of that name exists; leaving it alone", name,
                         m->home_root, entry);
                return 0;
        }
        /* A .homedir keeps the UID it is stored under where it can
         * (homed does the same); else the name's hash decides. */
        if (S_ISDIR(st.st_mode) && valid_home_uid(st.st_uid) && !manager_uid_taken(m, st.st_uid))
                uid = st.st_uid;
        else if ((r = uid_alloc(name, uid_taken, m, &uid)) < 0)
                return log_error_errno(r, "home %s: %s/%s found, but no UID of %u–%u is free for it", name,
                                       m->home_root, entry, HOME_UID_MIN, HOME_UID_MAX);
        r = synthesize(m, name, entry,
                       S_ISDIR(st.st_mode) ? dir_storage(root_fd, entry) : USER_STORAGE_LUKS, uid, &rec);
        if (r < 0)
                return r;
        r = manager_add_home(m, rec, HOME_UNFIXATED, &h);
        if (r < 0) {
                user_record_free(rec);
                return r;
        }
        log_info("home %s: found %s/%s (UID %u); its record is read from it and checked at the first login, "
                 "authentication or Fixate", name, m->home_root, entry, (unsigned) uid);
        return 1;
}

/* An unfixated home whose image went goes too. */
static void revalidate(Manager *m, ManagedHome *h) {
        if (h->state != HOME_UNFIXATED) {
                managed_home_revalidate(h);
                return;
        }
        struct stat st;
        const char *p = h->record->image_path;
        bool dir = h->record->storage != USER_STORAGE_LUKS;
        if (p && lstat(p, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
                return;
        if (h->running || h->queue)
                return; /* its fixation fails (and the next event finds it gone) */
        log_info("home %s: %s is gone, and with it the home found there", h->name, p ?: "its image");
        manager_drop_home(m, h);
}

static void scan(Manager *m) {
        _cleanup_close_ int fd = open(m->home_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (fd < 0 || !(d = fdopendir(fd))) {
                log_warning_errno(errno, "cannot read the home root %s: %m", m->home_root);
                return;
        }
        TAKE_FD(fd);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) assess(m, dirfd(d), de->d_name);
        closedir(d);
}

static void revalidate_all(Manager *m) {
        /* manager_drop_home() changes the array: from the end. */
        for (size_t i = m->n_homes; i > 0; i--)
                revalidate(m, m->homes[i - 1]);
}

static int watch(Manager *m);

static int on_home_root(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Manager *m = userdata;
        char name[USER_NAME_MAX + 1];

        if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
                log_info("%s: %s; looking at it again", m->home_root,
                         ev->mask & IN_Q_OVERFLOW ? "too many changes at once" : "the watch on it ended");
                (void) watch(m);
                revalidate_all(m);
                scan(m);
                return 0;
        }
        if (ev->len == 0 || ev->name[0] == '.' ||
            image_entry(ev->name, ev->mask & IN_ISDIR, !(ev->mask & IN_ISDIR), name) < 0)
                return 0;
        if (ev->mask & (IN_DELETE | IN_MOVED_FROM | IN_CLOSE_WRITE)) {
                ManagedHome *h = manager_find_by_name(m, name);
                if (h)
                        revalidate(m, h);
        }
        if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) {
                _cleanup_close_ int fd = open(m->home_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        (void) assess(m, fd, ev->name);
        }
        return 0;
}

static int watch(Manager *m) {
        m->home_root_watch = sd_event_source_disable_unref(m->home_root_watch);
        int r = sd_event_add_inotify(m->event, &m->home_root_watch, m->home_root,
                                     IN_CREATE | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                             IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DONT_FOLLOW,
                                     on_home_root, m);
        if (r < 0)
                return log_warning_errno(r, "cannot watch the home root %s for homes brought here: %m",
                                         m->home_root);
        (void) sd_event_source_set_description(m->home_root_watch, "home-root-watch");
        return 0;
}

int manager_images_start(Manager *m) {
        if (!user_record_machine_id()) {
                log_warning("no machine ID (/etc/machine-id): homes brought into %s are not looked for",
                            m->home_root);
                return 0;
        }
        (void) watch(m);
        scan(m);
        return 0;
}

int manager_adopt_image(Manager *m, const char *path, sd_bus_error *error) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int root_fd = -1;
        char name[USER_NAME_MAX + 1];
        struct stat st, dir_st, root_st;

        if (!copy)
                return -ENOMEM;
        char *slash = strrchr(copy, '/');
        if (path[0] != '/' || !slash || !slash[1] || strstr(path, "/./") || strstr(path, "/../") ||
            strstr(path, "//") || strlen(path) >= PATH_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "\"%.256s\" is not an absolute, normalized "
                                         "path", path);
        const char *entry = slash + 1;
        *slash = 0;
        const char *dir = copy[0] ? copy : "/";
        if (!user_record_machine_id())
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "this machine has no machine ID (/etc/machine-id)");
        if (lstat(path, &st) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "%s: %s", path, strerror(errno));
        if (image_entry(entry, S_ISDIR(st.st_mode), S_ISREG(st.st_mode), name) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_UNRECOGNIZED_HOME_FORMAT,
                                         "%s is neither a LUKS image USER" HOME_IMAGE_SUFFIX " (a regular file) nor "
                                         "a directory USER" HOME_STORAGE_SUFFIX " of a valid user name", path);
        root_fd = open(m->home_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0 || fstat(root_fd, &root_st) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "cannot open the home root %s: %s", m->home_root,
                                         strerror(errno));
        bool in_root = stat(dir, &dir_st) == 0 && dir_st.st_dev == root_st.st_dev && dir_st.st_ino == root_st.st_ino;

        ManagedHome *h = manager_find_by_name(m, name);
        if (h && in_root && h->state == HOME_UNFIXATED && is_home_of(h, m->home_root, entry))
                return 0; /* found already */
        if (h)
                return sd_bus_error_setf(error, BUS_ERROR_USER_NAME_EXISTS, "home %s: exists already", name);
        if (name_taken_nss(name))
                return sd_bus_error_setf(error, BUS_ERROR_USER_NAME_EXISTS,
                                         "home %s: a user or group of that name exists already", name);
        if (!in_root) {
                if (renameat2(AT_FDCWD, path, root_fd, entry, RENAME_NOREPLACE) < 0) {
                        if (errno == EXDEV)
                                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                                                         "home %s: %s is on another file system than the home root "
                                                         "%s; copy it there (cp -a --sparse=always %s %s/), where it "
                                                         "is found", name, path, m->home_root, path, m->home_root);
                        if (errno == EEXIST)
                                return sd_bus_error_setf(error, BUS_ERROR_HOME_EXISTS, "home %s: %s/%s exists already",
                                                         name, m->home_root, entry);
                        return sd_bus_error_setf(error, BUS_ERROR_FAILED, "home %s: cannot move %s into %s: %s", name,
                                                 path, m->home_root, strerror(errno));
                }
                log_info("home %s: %s moved into %s", name, path, m->home_root);
        }
        int r = assess(m, root_fd, entry);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "home %s: cannot take %s/%s as a home: %s", name,
                                         m->home_root, entry, strerror(-r));
        if (r == 0 && !manager_find_by_name(m, name))
                return sd_bus_error_setf(error, BUS_ERROR_FAILED, "home %s: %s/%s is not taken as a home", name,
                                         m->home_root, entry);
        return 0;
}
