/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>

#include "config.h"
#include "exit-status.h"
#include "firstboot-parse.h"
#include "home-layout.h"
#include "identity-store.h"
#include "image-root.h"
#include "secret-text.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "worker-protocol.h"


struct ImageRoot {
        char *root;       /* canonical, no trailing slash */
        char *state_dir;  /* <root>/var/lib/hearth (the configured statedir) */
        char *home_root;  /* <root>/home */
        char *passwd;     /* <root>/etc/passwd */
        char *group;      /* <root>/etc/group */
        char *runtime_dir; /* a temporary directory for the worker's locks, made on first use */
        const char *worker;
        IdentityStore *store;
};

static char *below(const char *root, const char *path) {
        char *p;
        return asprintf(&p, "%s%s", root, path) < 0 ? NULL : p;
}

/* An image is not to be trusted: a symlink on the way to a path in it (var →
 * /var) would have us write into the host — sign with the host's key,
 * register in the host's store. Every existing component below root must be
 * a real directory (the last may be a file). */
static int refuse_links(const char *root, const char *rel) {
        char path[PATH_MAX];
        size_t n = (size_t) snprintf(path, sizeof path, "%s", root);
        for (const char *p = rel; *p && n < sizeof path - 1;) {
                const char *slash = strchr(p + 1, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen(p);
                if (n + len >= sizeof path)
                        return -ENAMETOOLONG;
                memcpy(path + n, p, len);
                n += len;
                path[n] = 0;
                struct stat st;
                if (lstat(path, &st) < 0)
                        return errno == ENOENT ? 0 : -errno;
                if (S_ISLNK(st.st_mode)) {
                        log_error("--root=%s: %s is a symbolic link; refusing to follow it out of the image", root,
                                  path);
                        return -ELOOP;
                }
                if (slash && !S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                p += len;
        }
        return 0;
}

int image_root_open(const char *dir, ImageRoot **ret) {
        _cleanup_image_root_ ImageRoot *img = calloc(1, sizeof *img);
        struct stat st;
        const char *e;

        if (!img)
                return log_oom(), EXIT_FAIL;
        img->root = realpath(dir, NULL);
        if (!img->root) {
                log_error_errno(errno, "--root=%s: %m", dir);
                return EXIT_USAGE;
        }
        if (strcmp(img->root, "/") == 0) {
                log_error("--root=%s: that is this system; run homectl firstboot without --root to create its "
                          "first user through hearthd",
                          dir);
                return EXIT_USAGE;
        }
        if (geteuid() != 0) {
                log_error("firstboot --root: must run as root (homes are made and given to their users)");
                return EXIT_ACCESS_DENIED;
        }
        for (const char *const *rel = (const char *const[]) { HEARTH_STATE_DIR, "/etc/passwd", "/etc/group", "/home",
                                                               "/etc/skel", NULL };
             *rel; rel++) {
                int r = refuse_links(img->root, *rel);
                if (r == -ELOOP)
                        return EXIT_FAIL;
                if (r < 0) {
                        log_error_errno(r, "--root=%s: cannot use %s%s: %m", dir, img->root, *rel);
                        return EXIT_FAIL;
                }
        }
        if (!(img->state_dir = below(img->root, HEARTH_STATE_DIR)) || !(img->home_root = below(img->root, "/home")) ||
            !(img->passwd = below(img->root, "/etc/passwd")) || !(img->group = below(img->root, "/etc/group")) ||
            identity_store_open(img->state_dir, &img->store) < 0)
                return log_oom(), EXIT_FAIL;
        e = secure_getenv("HEARTH_WORKER_PATH");
        img->worker = e && e[0] == '/' ? e : HEARTH_WORKER_PATH;

        /* The worker opens the home root without following links: a
         * symlinked /home (→ var/home) would point out of the image. */
        if (lstat(img->home_root, &st) < 0 && errno == ENOENT && mkdir(img->home_root, 0755) < 0 && errno != EEXIST) {
                log_error_errno(errno, "--root=%s: cannot create %s: %m", dir, img->home_root);
                return EXIT_FAIL;
        }
        if (lstat(img->home_root, &st) < 0 || !S_ISDIR(st.st_mode)) {
                log_error("--root=%s: %s must be a directory (not a symlink)", dir, img->home_root);
                return EXIT_FAIL;
        }
        *ret = TAKE_PTR(img);
        return EXIT_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
        (void) (flag == FTW_DP ? rmdir(path) : unlink(path));
        return 0;
}

ImageRoot *image_root_free(ImageRoot *img) {
        if (!img)
                return NULL;
        /* Only the worker's lock files are in there. */
        if (img->runtime_dir)
                (void) nftw(img->runtime_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        identity_store_free(img->store);
        free(img->root);
        free(img->state_dir);
        free(img->home_root);
        free(img->passwd);
        free(img->group);
        free(img->runtime_dir);
        free(img);
        return NULL;
}

const char *image_root_path(const ImageRoot *img) {
        return img->root;
}

bool image_root_has_home(ImageRoot *img, const char *user) {
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (asprintf(&path, "%s/%s.identity", img->state_dir, user) < 0)
                return true; /* cannot tell: never create over it */
        return lstat(path, &st) == 0;
}

/* ---- the image's passwd and group files ------------------------------------ */

typedef struct Lookup {
        const char *name; /* or NULL: look for id */
        uint32_t id;
        char *found;      /* for image_root_regular_user */
} Lookup;

static int match_name(const ColonEntry *e, void *userdata) {
        return strcmp(e->name, ((Lookup *) userdata)->name) == 0;
}

static int match_id(const ColonEntry *e, void *userdata) {
        return e->id == ((Lookup *) userdata)->id;
}

static int match_regular(const ColonEntry *e, void *userdata) {
        Lookup *l = userdata;
        if (!firstboot_passwd_is_regular(e))
                return 0;
        l->found = strdup(e->name);
        return l->found ? 1 : -ENOMEM;
}

/* Whether a line of the file matches. A file that exists but cannot be
 * read counts as a match: nothing is handed out that could not be checked. */
static bool scan_matches(const char *path, bool passwd, ColonFn fn, Lookup *l) {
        int r = colon_file_scan(path, passwd, fn, l);
        if (r == -ENOENT)
                return false;
        if (r < 0) {
                log_warning_errno(r, "%s: cannot read: %m", path);
                return true;
        }
        return r > 0;
}

static bool image_uid_taken(uid_t uid, void *userdata) {
        ImageRoot *img = userdata;
        Lookup l = { .id = uid };
        return scan_matches(img->passwd, true, match_id, &l) || scan_matches(img->group, false, match_id, &l);
}

bool image_root_name_taken(ImageRoot *img, const char *name) {
        Lookup l = { .name = name };
        return image_root_has_home(img, name) || scan_matches(img->passwd, true, match_name, &l) ||
               scan_matches(img->group, false, match_name, &l);
}

int image_root_regular_user(ImageRoot *img, char **ret_name) {
        _cleanup_strv_free_ char **names = NULL;
        Lookup l = {};
        int r;

        /* Every home is a regular user's. */
        if (identity_store_list(img->store, &names) >= 0 && names[0]) {
                *ret_name = strdup(names[0]);
                return *ret_name ? 1 : (log_oom(), -ENOMEM);
        }
        r = colon_file_scan(img->passwd, true, match_regular, &l);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "%s: cannot read: %m", img->passwd);
        if (r <= 0)
                return 0;
        *ret_name = l.found;
        return 1;
}

/* ---- making a home ------------------------------------------------------------ */

static int set_top(UserRecord *rec, const char *key, json_object *v) {
        if (!v || json_object_object_add(rec->json, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* UID, GID and storage in the regular section, for every machine: an image
 * is booted on machines whose IDs nobody knows yet. */
static int bind_to_image(ImageRoot *img, UserRecord *rec) {
        const char *name = rec->user_name;
        _cleanup_free_ char *error = NULL;
        uid_t uid = rec->uid;
        struct statfs sfs;
        int r;

        if (uid != UID_INVALID) {
                if (!valid_home_uid(uid)) {
                        log_error("home %s: uid: must be between %u and %u for a home", name, HOME_UID_MIN,
                                  HOME_UID_MAX);
                        return EXIT_INVALID_RECORD;
                }
                r = identity_store_uid_taken_with(img->store, uid, image_uid_taken, img);
                if (r < 0)
                        return EXIT_FAIL;
                if (r > 0) {
                        log_error("home %s: UID %u is already in use in %s", name, (unsigned) uid, img->root);
                        return EXIT_FAIL;
                }
        } else if (identity_store_allocate_uid_with(img->store, name, image_uid_taken, img, &uid) < 0)
                return EXIT_FAIL;

        if (set_top(rec, "uid", json_object_new_int64(uid)) < 0 || set_top(rec, "gid", json_object_new_int64(uid)) < 0)
                return log_oom(), EXIT_FAIL;
        if (rec->storage == USER_STORAGE_UNSET &&
            set_top(rec, "storage",
                    json_object_new_string(statfs(img->home_root, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC
                                                   ? "subvolume"
                                                   : "directory")) < 0)
                return log_oom(), EXIT_FAIL;
        r = user_record_refresh(rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0) {
                log_error("home %s: %s", name, error ?: "invalid record");
                return EXIT_INVALID_RECORD;
        }
        return EXIT_OK;
}

/* The request on a sealed memfd, as hearthd hands it over: never argv or
 * the environment, and the worker reads it at its own pace. */
static int request_fd(const char *text) {
        _cleanup_close_ int fd = memfd_create("hearth-request", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        size_t len = strlen(text), done = 0;

        if (fd < 0)
                return negative_errno();
        while (done < len) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                done += (size_t) k;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return negative_errno();
        (void) fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        return TAKE_FD(fd);
}

static int worker_status(const char *name, const char *worker, int wstatus) {
        if (WIFSIGNALED(wstatus)) {
                log_error("home %s: %s was killed by signal %d", name, worker, WTERMSIG(wstatus));
                return EXIT_FAIL;
        }
        /* Other failures: hearth-work said why on standard error. */
        switch (WEXITSTATUS(wstatus)) {
        case WORKER_OK:
                return EXIT_OK;
        case WORKER_BAD_REQUEST:
                return EXIT_INVALID_RECORD;
        case WORKER_BAD_PASSWORD:
                return EXIT_BAD_PASSWORD;
        case WORKER_BUSY:
                return EXIT_BUSY;
        case 127:
                log_error("home %s: cannot run %s", name, worker);
                return EXIT_FAIL;
        default:
                return EXIT_FAIL;
        }
}

/* hearth-work create with the image's directories; its stderr is ours. */
static int run_worker(ImageRoot *img, UserRecord *rec, char **ret_out, size_t *ret_len) {
        const char *name = rec->user_name;
        _cleanup_close_ int in = -1, out = -1;
        _cleanup_free_ char *buf = NULL;
        int pipefd[2], wstatus;
        size_t n = 0;
        bool too_big = false;
        pid_t pid;

        if (!img->runtime_dir) {
                const char *tmp = getenv("TMPDIR");
                if (asprintf(&img->runtime_dir, "%s/hearth-firstboot.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp") < 0) {
                        img->runtime_dir = NULL;
                        return log_oom(), EXIT_FAIL;
                }
                if (!mkdtemp(img->runtime_dir)) {
                        log_error_errno(errno, "cannot create a runtime directory %s: %m", img->runtime_dir);
                        img->runtime_dir = mfree(img->runtime_dir);
                        return EXIT_FAIL;
                }
        }

        _cleanup_secret_text_ SecretText text = {};
        int r = secret_text_record(rec->json, &text);
        if (r < 0)
                return log_oom(), EXIT_FAIL;
        in = request_fd(text.buf->data);
        if (in < 0) {
                log_error_errno(in, "home %s: cannot hand the request to %s: %m", name, img->worker);
                return EXIT_FAIL;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                log_error_errno(errno, "home %s: cannot create a pipe: %m", name);
                return EXIT_FAIL;
        }
        out = pipefd[0];
        buf = malloc(JSON_STRICT_MAX_SIZE + 1);
        if (!buf) {
                close(pipefd[1]);
                return log_oom(), EXIT_FAIL;
        }

        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                close(pipefd[1]);
                log_error_errno(errno, "home %s: cannot fork: %m", name);
                return EXIT_FAIL;
        }
        if (pid == 0) {
                char *argv[] = { (char *) "hearth-work", (char *) WORKER_OP_CREATE, NULL };
                if (dup2(in, STDIN_FILENO) < 0 || dup2(pipefd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                (void) unsetenv("NOTIFY_SOCKET");
                if (setenv("HEARTH_STATE_DIR", img->state_dir, 1) < 0 ||
                    setenv("HEARTH_HOME_ROOT", img->home_root, 1) < 0 ||
                    setenv("HEARTH_RUNTIME_DIR", img->runtime_dir, 1) < 0 ||
                    setenv("HEARTH_SKEL_ROOT", img->root, 1) < 0)
                        _exit(127);
                execv(img->worker, argv);
                _exit(127);
        }
        close(pipefd[1]);

        for (;;) {
                ssize_t k = read(out, buf + n, too_big ? JSON_STRICT_MAX_SIZE : JSON_STRICT_MAX_SIZE + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                if (too_big)
                        continue; /* drain, so that the worker is not stuck writing */
                n += (size_t) k;
                if (n > JSON_STRICT_MAX_SIZE) {
                        too_big = true;
                        n = 0;
                }
        }
        while (waitpid(pid, &wstatus, 0) < 0)
                if (errno != EINTR) {
                        log_error_errno(errno, "home %s: cannot wait for %s: %m", name, img->worker);
                        return EXIT_FAIL;
                }
        int status = worker_status(name, img->worker, wstatus);
        if (status != EXIT_OK)
                return status;
        if (too_big) {
                log_error("home %s: %s returned a record larger than %d bytes", name, img->worker,
                          JSON_STRICT_MAX_SIZE);
                return EXIT_FAIL;
        }
        buf[n] = 0;
        *ret_out = TAKE_PTR(buf);
        *ret_len = n;
        return EXIT_OK;
}

/* What the worker returns, made into what the image keeps: without the
 * binding and status it made for the machine the image is built on. */
static int registrable(const char *name, const char *home_directory, const char *text, size_t len, UserRecord **ret) {
        _cleanup_user_record_ UserRecord *rec = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = user_record_parse(text, len, &rec, &error);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r < 0 || !rec->user_name || strcmp(rec->user_name, name) != 0) {
                log_error("home %s: hearth-work returned a bad record: %s", name, error ?: "another user's");
                return EXIT_FAIL;
        }
        if (home_directory) {
                json_object *v = json_object_new_string(home_directory);
                if (!v || json_object_object_add(rec->json, "homeDirectory", v) < 0) {
                        json_object_put(v);
                        return log_oom(), EXIT_FAIL;
                }
        }
        r = user_record_strip(rec, USER_RECORD_BINDING | USER_RECORD_STATUS | USER_RECORD_SECRET);
        if (r < 0) {
                log_error("home %s: the record is invalid without the build machine's binding", name);
                return EXIT_FAIL;
        }
        *ret = TAKE_PTR(rec);
        return EXIT_OK;
}

int image_root_create(ImageRoot *img, UserRecord *rec) {
        const char *name = rec->user_name;
        _cleanup_free_ char *out = NULL, *image_home = NULL, *kept_home = NULL;
        _cleanup_user_record_ UserRecord *done = NULL;
        size_t len = 0;
        int r;

        if (rec->storage == USER_STORAGE_LUKS) {
                log_error("home %s: a LUKS home cannot be made offline (formatting it needs device-mapper); "
                          "let the image create it when it boots, from a home.create.%s credential",
                          name, name);
                return EXIT_FAIL;
        }
        if (image_root_name_taken(img, name)) {
                log_error("home %s: the name is already taken in %s (a home, or /etc/passwd or /etc/group)", name,
                          img->root);
                return EXIT_FAIL;
        }
        /* The worker wants the home where it makes it; the image keeps the
         * path the booted system will see. */
        if (asprintf(&image_home, "/home/%s", name) < 0)
                return log_oom(), EXIT_FAIL;
        if (rec->home_directory) {
                json_object *v;
                if (strcmp(rec->home_directory, image_home) != 0) {
                        log_error("home %s: homeDirectory: must be %s", name, image_home);
                        return EXIT_INVALID_RECORD;
                }
                if (json_object_object_get_ex(rec->json, "homeDirectory", &v)) {
                        kept_home = strdup(image_home);
                        if (!kept_home)
                                return log_oom(), EXIT_FAIL;
                        json_object_object_del(rec->json, "homeDirectory");
                }
        }
        r = bind_to_image(img, rec);
        if (r != EXIT_OK)
                return r;
        if (rec->home_directory) {
                log_error("home %s: homeDirectory: set for this machine only; leave it out with --root", name);
                return EXIT_INVALID_RECORD;
        }

        r = run_worker(img, rec, &out, &len);
        if (r != EXIT_OK)
                return r;
        r = registrable(name, kept_home, out, len, &done);
        if (r != EXIT_OK)
                return r;
        if (identity_store_save(img->store, done) < 0) {
                log_error("home %s: made in %s/%s" HOME_STORAGE_SUFFIX " but not registered: remove it and run again",
                          name, img->home_root, name);
                return EXIT_FAIL;
        }
        return EXIT_OK;
}
