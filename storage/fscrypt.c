/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fscrypt homes, as systemd-homed makes them: a directory home
 * (<root>/<user>.homedir, stored as her UID, mounted ID-mapped at
 * <root>/<user> while active, as directory.c) whose top carries a v1
 * fscrypt policy, its volume key wrapped once per password in
 * trusted.fscrypt_slot<N> xattrs on that top (common/fscrypt-slot.h has the
 * format). The slots are the authentication: a password is right when it
 * unwraps the key the policy names.
 *
 * The key goes into the file system's own keyring (FS_IOC_ADD_ENCRYPTION_KEY,
 * Linux 5.4) at activation, and out again (FS_IOC_REMOVE_ENCRYPTION_KEY) at
 * deactivation: the kernel then wipes it and evicts the home's cached
 * files, whose names and contents read as ciphertext from then on. homed
 * 252 puts the key in process keyrings instead (add_key "logon"); the
 * policy, the slots and the key are the same, so either opens the other's
 * homes. (A v2 policy would be the kernel's recommendation, but homed 252
 * reads v1 policies only.) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/fscrypt.h>
#include <linux/magic.h>

#include "backend.h"
#include "fscrypt-slot.h"
#include "home-guard.h"
#include "log.h"
#include "macro.h"
#include "runtime-paths.h"
#include "secret.h"

#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif

static int safe_close(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

/* The file system under fd cannot encrypt: said so, with what to do. */
static int cannot_encrypt(Home *h, int fd, int err) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) == 0 && sfs.f_type == EXT4_SUPER_MAGIC)
                log_error("home %s: the ext4 file system of %s cannot encrypt (%s): enable its \"encrypt\" feature "
                          "with tune2fs -O encrypt DEVICE (README \"fscrypt homes\")", h->name, h->root, strerror(err));
        else if (fstatfs(fd, &sfs) == 0 && sfs.f_type == F2FS_SUPER_MAGIC)
                log_error("home %s: the f2fs file system of %s cannot encrypt (%s): enable its \"encrypt\" feature "
                          "with fsck.f2fs -O encrypt DEVICE", h->name, h->root, strerror(err));
        else
                log_error("home %s: the file system of %s cannot encrypt (%s): fscrypt homes need ext4 or f2fs "
                          "with the \"encrypt\" feature", h->name, h->root, strerror(err));
        return -EOPNOTSUPP;
}

static bool not_supported(int err) {
        return err == EOPNOTSUPP || err == ENOTTY || err == ENOSYS;
}

/* The descriptor of the key the storage's policy names; only the policy
 * homed makes (v1, AES-256-XTS/CTS, padding 32) is taken. */
static int policy_descriptor(Home *h, int fd, uint8_t ret[FSCRYPT_DESCRIPTOR_SIZE]) {
        struct fscrypt_get_policy_ex_arg arg = { .policy_size = sizeof arg.policy };

        if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) < 0) {
                if (errno == ENODATA)
                        return log_error_errno(EUCLEAN, "home %s: %s is not encrypted (no fscrypt policy): not an "
                                               "fscrypt home", h->name, h->storage_path);
                if (not_supported(errno))
                        return cannot_encrypt(h, fd, errno);
                return log_error_errno(errno, "home %s: cannot read the encryption policy of %s: %m", h->name,
                                       h->storage_path);
        }
        if (arg.policy.version != FSCRYPT_POLICY_V1 || arg.policy_size != sizeof arg.policy.v1)
                return log_error_errno(EUCLEAN, "home %s: %s has a version %u fscrypt policy; fscrypt homes have "
                                       "version 1 (as systemd-homed makes them)", h->name, h->storage_path,
                                       arg.policy.version == FSCRYPT_POLICY_V1 ? 1u : 2u);
        if (arg.policy.v1.contents_encryption_mode != FSCRYPT_MODE_AES_256_XTS ||
            arg.policy.v1.filenames_encryption_mode != FSCRYPT_MODE_AES_256_CTS ||
            arg.policy.v1.flags != FSCRYPT_POLICY_FLAGS_PAD_32)
                return log_error_errno(EUCLEAN, "home %s: %s has an fscrypt policy of other modes (%u/%u, flags "
                                       "0x%x) than fscrypt homes'", h->name, h->storage_path,
                                       arg.policy.v1.contents_encryption_mode,
                                       arg.policy.v1.filenames_encryption_mode, arg.policy.v1.flags);
        memcpy(ret, arg.policy.v1.master_key_descriptor, FSCRYPT_DESCRIPTOR_SIZE);
        return 0;
}

/* A key in the kernel that no finished operation accounts for: the
 * worker adds one (create, activation, a password change or fixation of
 * an inactive home) and is killed before it takes it out again. Its
 * descriptor is noted first in <runtime>/locks/<user>.fscrypt-key, beside
 * the home's lock, and the note goes once the key is out or belongs to the
 * active home; the next operation on the home (under the same lock) takes
 * out what a note names. */
static char *pending_path(Home *h) {
        char *p = NULL;
        if (asprintf(&p, "%s/locks/%s.fscrypt-key", hearth_runtime_dir(), h->name) < 0)
                return NULL;
        return p;
}

static void pending_set(Home *h, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE]) {
        _cleanup_free_ char *p = pending_path(h);
        char hex[2 * FSCRYPT_DESCRIPTOR_SIZE + 2];
        _cleanup_close_ int fd = -1;

        for (size_t i = 0; i < FSCRYPT_DESCRIPTOR_SIZE; i++)
                snprintf(hex + 2 * i, 3, "%02x", d[i]);
        hex[2 * FSCRYPT_DESCRIPTOR_SIZE] = '\n';
        hex[2 * FSCRYPT_DESCRIPTOR_SIZE + 1] = 0;
        if (p)
                fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, hex, strlen(hex)) != (ssize_t) strlen(hex))
                log_warning("home %s: cannot note its key in the runtime directory: a killed operation would leave "
                            "it in the kernel until the file system is unmounted", h->name);
}

static void pending_clear(Home *h) {
        _cleanup_free_ char *p = pending_path(h);
        if (p)
                (void) unlink(p);
}

static void key_spec(struct fscrypt_key_specifier *s, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE]) {
        *s = (struct fscrypt_key_specifier) { .type = FSCRYPT_KEY_SPEC_TYPE_DESCRIPTOR };
        memcpy(s->u.descriptor, d, FSCRYPT_DESCRIPTOR_SIZE);
}

/* Into the file system's keyring (fd: anything on it). */
static int key_add(Home *h, int fd, const uint8_t key[FSCRYPT_VOLUME_KEY_SIZE],
                   const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE]) {
        _cleanup_secure_buffer_ SecureBuffer *b = NULL;
        struct fscrypt_add_key_arg *arg;
        int r;

        r = secure_buffer_new(sizeof *arg + FSCRYPT_VOLUME_KEY_SIZE, &b);
        if (r < 0)
                return log_oom();
        arg = b->data;
        pending_set(h, d);
        key_spec(&arg->key_spec, d);
        arg->raw_size = FSCRYPT_VOLUME_KEY_SIZE;
        memcpy(arg->raw, key, FSCRYPT_VOLUME_KEY_SIZE);
        if (ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg) < 0) {
                if (not_supported(errno))
                        return cannot_encrypt(h, fd, errno);
                return log_error_errno(errno, "home %s: cannot add its key to the file system's keyring: %m", h->name);
        }
        return 0;
}

/* Out of it: 0 also if it was not there. Files still open keep their
 * contents readable until closed: told. */
static int key_remove(Home *h, int fd, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE]) {
        struct fscrypt_remove_key_arg arg = { 0 };

        key_spec(&arg.key_spec, d);
        if (ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &arg) < 0) {
                if (errno == ENOKEY)
                        return 0;
                return log_error_errno(errno, "home %s: cannot remove its key from the file system's keyring: %m",
                                       h->name);
        }
        if (arg.removal_status_flags & FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY)
                home_notice(h, "files of the home are still open: they stay readable until closed; the key is "
                            "gone for everything else");
        return 0;
}

/* The guard (home-guard.h) is a mount of the storage's top, and a mount
 * keeps its inode, and so the key in it, in use: the kernel would then
 * remove the key only "incompletely", the top's names still readable. So
 * the guard comes off around the removal (every fd of the storage closed
 * by then: the keyring is reached through the root) and on again, made
 * over the top read without the key. */
static int key_remove_unpinned(Home *h, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE]) {
        int r = home_unguard(h->name, h->root_fd, h->storage_name);
        if (r < 0)
                return r;
        r = key_remove(h, h->root_fd, d);
        if (r >= 0)
                pending_clear(h);
        int g = home_guard_storage(h);
        return r < 0 ? r : g;
}

/* The note of a killed operation: its key out, unless it is the key of
 * the home as mounted now. */
static void pending_sweep(Home *h) {
        _cleanup_free_ char *p = pending_path(h);
        _cleanup_close_ int fd = -1, top = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE] = { 0 }, mine[FSCRYPT_DESCRIPTOR_SIZE];
        char buf[2 * FSCRYPT_DESCRIPTOR_SIZE + 2] = { 0 };
        bool own = false;

        if (!p || (fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        for (size_t i = 0; n == (ssize_t) sizeof buf - 1 && i < FSCRYPT_DESCRIPTOR_SIZE; i++) {
                unsigned v;
                if (sscanf(buf + 2 * i, "%2x", &v) != 1)
                        n = -1;
                d[i] = (uint8_t) v;
        }
        if (n != (ssize_t) sizeof buf - 1 || buf[2 * FSCRYPT_DESCRIPTOR_SIZE] != '\n') {
                pending_clear(h);
                return;
        }
        top = openat(h->root_fd, h->storage_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (top >= 0 && policy_descriptor(h, top, mine) >= 0 && memcmp(mine, d, sizeof d) == 0) {
                if (home_mount_state(h, top) > 0) {
                        pending_clear(h); /* the active home's */
                        return;
                }
                own = true;
        }
        if (top >= 0)
                top = safe_close(top);
        home_notice(h, "a killed operation left its key in the kernel: removed");
        if ((own ? key_remove_unpinned(h, d) : key_remove(h, h->root_fd, d)) >= 0)
                pending_clear(h);
}

static int slot_write(Home *h, int fd, const uint8_t key[FSCRYPT_VOLUME_KEY_SIZE], const char *password,
                      uint32_t nr) {
        char name[sizeof FSCRYPT_SLOT_XATTR_PREFIX + 10], value[FSCRYPT_SLOT_VALUE_SIZE + 1];
        uint8_t salt[FSCRYPT_SLOT_SALT_SIZE];
        int r;

        if (getrandom(salt, sizeof salt, 0) != (ssize_t) sizeof salt)
                return log_error_errno(errno, "home %s: cannot get random bytes: %m", h->name);
        r = fscrypt_slot_wrap(password, salt, key, value);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot wrap its key: %m", h->name);
        snprintf(name, sizeof name, FSCRYPT_SLOT_XATTR_PREFIX "%" PRIu32, nr);
        if (fsetxattr(fd, name, value, FSCRYPT_SLOT_VALUE_SIZE, 0) < 0)
                return log_error_errno(errno, "home %s: cannot write %s on %s: %m", h->name, name, h->storage_path);
        return 0;
}

/* The storage's xattr names (bounded), NUL-separated; *ret_len bytes. */
static int xattr_list(Home *h, int fd, char **ret, size_t *ret_len) {
        for (int tries = 0; tries < 4; tries++) {
                ssize_t n = flistxattr(fd, NULL, 0);
                if (n < 0)
                        return log_error_errno(errno, "home %s: cannot list the xattrs of %s: %m", h->name,
                                               h->storage_path);
                if (n > FSCRYPT_XATTR_LIST_MAX)
                        return log_error_errno(E2BIG, "home %s: %s has more than %d bytes of xattr names", h->name,
                                               h->storage_path, FSCRYPT_XATTR_LIST_MAX);
                _cleanup_free_ char *buf = malloc((size_t) n + 1);
                if (!buf)
                        return log_oom();
                ssize_t m = flistxattr(fd, buf, (size_t) n);
                if (m < 0 && errno == ERANGE)
                        continue; /* grew meanwhile */
                if (m < 0)
                        return log_error_errno(errno, "home %s: cannot list the xattrs of %s: %m", h->name,
                                               h->storage_path);
                buf[m] = 0;
                *ret = buf;
                buf = NULL;
                *ret_len = (size_t) m;
                return 0;
        }
        return log_error_errno(EAGAIN, "home %s: the xattrs of %s keep changing", h->name, h->storage_path);
}

/* The volume key from the first slot one of passwords opens: 0;
 * -EKEYREJECTED (logged) if none does. Malformed slots are skipped. */
static int slots_unlock(Home *h, int fd, const char *const *passwords, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE],
                        uint8_t ret_key[FSCRYPT_VOLUME_KEY_SIZE]) {
        _cleanup_free_ char *list = NULL;
        size_t len = 0, tried = 0;
        int r;

        if (!passwords || !passwords[0])
                return log_error_errno(EKEYREJECTED, "home %s: password required", h->name);
        r = xattr_list(h, fd, &list, &len);
        if (r < 0)
                return r;
        for (const char *xa = list; xa < list + len; xa += strlen(xa) + 1) {
                char value[FSCRYPT_SLOT_VALUE_SIZE + 1];
                ssize_t n;

                if (fscrypt_slot_number(xa, NULL) < 0)
                        continue;
                if (tried++ >= FSCRYPT_SLOTS_MAX) {
                        log_warning("home %s: %s has more than %d key slots; the rest are not tried", h->name,
                                    h->storage_path, FSCRYPT_SLOTS_MAX);
                        break;
                }
                n = fgetxattr(fd, xa, value, sizeof value);
                if (n < 0 && errno == ENODATA)
                        continue; /* gone meanwhile */
                if (n < 0 && errno != ERANGE)
                        return log_error_errno(errno, "home %s: cannot read %s: %m", h->name, xa);
                if (n < 0 || fscrypt_slot_parse(value, (size_t) n, (uint8_t[FSCRYPT_SLOT_SALT_SIZE]) {},
                                                (uint8_t[FSCRYPT_VOLUME_KEY_SIZE]) {}) < 0) {
                        log_warning("home %s: %s of %s is malformed; skipped", h->name, xa, h->storage_path);
                        continue;
                }
                for (const char *const *p = passwords; *p; p++) {
                        r = fscrypt_slot_unwrap(*p, value, (size_t) n, d, ret_key);
                        if (r == 0) {
                                log_debug("home %s: opened with %s", h->name, xa);
                                return 0;
                        }
                        if (r != -ENOANO)
                                return log_error_errno(r, "home %s: cannot unwrap %s: %m", h->name, xa);
                }
        }
        if (tried == 0)
                return log_error_errno(EKEYREJECTED, "home %s: %s has no key slot (" FSCRYPT_SLOT_XATTR_PREFIX
                                       "<N>)", h->name, h->storage_path);
        return log_error_errno(EKEYREJECTED, "home %s: password incorrect", h->name);
}

/* Slots numbered from on removed (after a password change wrote 0..from-1). */
static void slots_drop_from(Home *h, int fd, uint32_t from) {
        _cleanup_free_ char *list = NULL;
        size_t len = 0;

        if (xattr_list(h, fd, &list, &len) < 0)
                return;
        for (const char *xa = list; xa < list + len; xa += strlen(xa) + 1) {
                uint32_t nr;
                if (fscrypt_slot_number(xa, &nr) < 0 || nr < from)
                        continue;
                if (fremovexattr(fd, xa) < 0 && errno != ENODATA)
                        log_warning_errno(errno, "home %s: cannot remove %s: %m", h->name, xa);
        }
}

static size_t count(const char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

/* ---- create ---- */

typedef struct CreateState {
        uint8_t descriptor[FSCRYPT_DESCRIPTOR_SIZE];
        bool key_added;
} CreateState;

/* One operation per worker: the create's callback leaves what the create
 * must undo here. */
static CreateState create_state;

static int fscrypt_make_top(Home *h, const char *temp, int *ret_fd) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        _cleanup_close_ int fd = -1;
        struct fscrypt_policy_v1 policy = {
                .version = FSCRYPT_POLICY_V1,
                .contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS,
                .filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS,
                .flags = FSCRYPT_POLICY_FLAGS_PAD_32,
        };
        struct fscrypt_get_policy_ex_arg parent = { .policy_size = sizeof parent.policy };
        int r;

        /* Asked first, so that nothing is made where nothing can be. */
        if (ioctl(h->root_fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &parent) < 0) {
                if (not_supported(errno))
                        return cannot_encrypt(h, h->root_fd, errno);
                if (errno != ENODATA)
                        return log_error_errno(errno, "home %s: cannot read the encryption policy of %s: %m", h->name,
                                               h->root);
        } else
                return log_error_errno(EBUSY, "home %s: %s is encrypted itself; fscrypt homes need a home root "
                                       "that is not", h->name, h->root);

        r = secure_buffer_new(FSCRYPT_VOLUME_KEY_SIZE, &key);
        if (r < 0)
                return log_oom();
        if (getrandom(key->data, FSCRYPT_VOLUME_KEY_SIZE, 0) != FSCRYPT_VOLUME_KEY_SIZE)
                return log_error_errno(errno, "home %s: cannot get random bytes: %m", h->name);
        r = fscrypt_key_descriptor(key->data, policy.master_key_descriptor);
        if (r < 0)
                return log_error_errno(r, "home %s: cannot hash its key: %m", h->name);

        if (mkdirat(h->root_fd, temp, 0700) < 0)
                return log_error_errno(errno, "home %s: cannot create directory in %s: %m", h->name, h->root);
        fd = openat(h->root_fd, temp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = log_error_errno(errno, "home %s: cannot open new directory: %m", h->name);
                goto fail;
        }
        r = key_add(h, fd, key->data, policy.master_key_descriptor);
        if (r < 0)
                goto fail;
        memcpy(create_state.descriptor, policy.master_key_descriptor, FSCRYPT_DESCRIPTOR_SIZE);
        create_state.key_added = true;
        if (ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &policy) < 0) {
                r = not_supported(errno) ? cannot_encrypt(h, fd, errno)
                                         : log_error_errno(errno, "home %s: cannot set the encryption policy: %m", h->name);
                goto fail;
        }
        for (size_t i = 0; h->rec->password && h->rec->password[i]; i++) {
                r = slot_write(h, fd, key->data, h->rec->password[i], (uint32_t) i);
                if (r < 0)
                        goto fail;
        }
        *ret_fd = fd;
        fd = -1;
        return 0;
fail:
        (void) unlinkat(h->root_fd, temp, AT_REMOVEDIR);
        return r;
}

static int fscrypt_create(Home *h) {
        size_t n = count(h->rec->password);
        int r;

        if (n == 0)
                return log_error_errno(EINVAL, "home %s: an fscrypt home needs a password (secret.password)", h->name);
        if (n > FSCRYPT_SLOTS_MAX)
                return log_error_errno(EINVAL, "home %s: at most %d passwords", h->name, FSCRYPT_SLOTS_MAX);
        pending_sweep(h);
        /* As homed: stored as her own UID, mapped to itself. */
        r = home_create_in_root(h, fscrypt_make_top, NULL, h->rec->uid);
        /* Made (or not): inactive either way, the key out of the kernel. */
        if (create_state.key_added) {
                int k = r >= 0 ? key_remove_unpinned(h, create_state.descriptor)
                               : key_remove(h, h->root_fd, create_state.descriptor);
                if (k >= 0)
                        pending_clear(h);
                if (r >= 0)
                        r = k;
                create_state.key_added = false;
        }
        return r;
}

/* ---- the others ---- */

/* The storage open, its policy's descriptor, whether it is mounted. */
static int open_storage(Home *h, int *ret_fd, uint8_t d[FSCRYPT_DESCRIPTOR_SIZE], bool *ret_active) {
        _cleanup_close_ int fd = -1;
        pending_sweep(h);
        int r = home_storage_open(h, &fd);
        if (r < 0)
                return r;
        r = policy_descriptor(h, fd, d);
        if (r < 0)
                return r;
        if (ret_active) {
                r = home_mount_state(h, fd);
                if (r < 0)
                        return r;
                *ret_active = r > 0;
        }
        *ret_fd = fd;
        fd = -1;
        return 0;
}

/* The key from the request's passwords into the kernel. */
static int unlock(Home *h, int fd, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE]) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        int r = secure_buffer_new(FSCRYPT_VOLUME_KEY_SIZE, &key);
        if (r < 0)
                return log_oom();
        r = slots_unlock(h, fd, h->rec->password, d, key->data);
        if (r < 0)
                return r;
        return key_add(h, fd, key->data, d);
}

static int fscrypt_activate(Home *h) {
        _cleanup_close_ int fd = -1, top = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        bool active;
        int r;

        r = open_storage(h, &fd, d, &active);
        if (r < 0)
                return r;
        if (active)
                return log_error_errno(EALREADY, "home %s: is active already", h->name);
        r = unlock(h, fd, d);
        if (r < 0)
                return r;
        /* Opened anew: what is below is read with the key from here on. */
        r = home_storage_open(h, &top);
        if (r >= 0)
                r = home_root_entry_reconcile(h);
        if (r >= 0)
                r = home_mount(h, top);
        if (r < 0) {
                fd = safe_close(fd);
                top = safe_close(top);
                (void) key_remove_unpinned(h, d);
                return r;
        }
        pending_clear(h); /* the active home's key from now on */
        if (home_root_entry_store_identity(h) < 0)
                log_warning("home %s: ~/" HOME_IDENTITY_FILE " stays as it was", h->name);
        return home_set_state(h, "active");
}

static int fscrypt_deactivate(Home *h) {
        _cleanup_close_ int fd = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        int r, k;

        r = open_storage(h, &fd, d, NULL);
        if (r < 0)
                return r;
        r = home_unmount(h, fd);
        if (r < 0 && r != -ENOTCONN)
                return r;
        /* Not mounted (an activation killed half-way): the key goes all the same. */
        fd = safe_close(fd);
        k = key_remove_unpinned(h, d);
        if (r < 0)
                return r;
        if (k < 0)
                return k;
        return home_set_state(h, "inactive");
}

static int fscrypt_authenticate(Home *h) {
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        _cleanup_close_ int fd = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        int r;

        r = open_storage(h, &fd, d, NULL);
        if (r < 0)
                return r;
        if (secure_buffer_new(FSCRYPT_VOLUME_KEY_SIZE, &key) < 0)
                return log_oom();
        return slots_unlock(h, fd, h->rec->password, d, key->data);
}

/* Runs f with the key in the kernel: an inactive home's only for f. *fd
 * (the storage) is closed before the key goes. */
static int with_key(Home *h, int *fd, const uint8_t d[FSCRYPT_DESCRIPTOR_SIZE], const uint8_t *key, bool active,
                    int (*f)(Home *h)) {
        int r, k;

        if (!active && (r = key ? key_add(h, *fd, key, d) : unlock(h, *fd, d)) < 0)
                return r;
        r = f(h);
        if (active)
                return r;
        *fd = safe_close(*fd);
        k = key_remove_unpinned(h, d);
        return r < 0 ? r : k;
}

static int store_identity(Home *h) {
        return home_root_entry_store_identity(h);
}

static int fscrypt_passwd(Home *h) {
        const char *const *new_passwords = user_record_secret(h->rec, "newPassword");
        _cleanup_secure_buffer_ SecureBuffer *key = NULL;
        _cleanup_close_ int fd = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        size_t n = count(new_passwords);
        bool active;
        int r;

        r = open_storage(h, &fd, d, &active);
        if (r < 0)
                return r;
        if (secure_buffer_new(FSCRYPT_VOLUME_KEY_SIZE, &key) < 0)
                return log_oom();
        /* The current password opens a slot: the storage's own check. */
        r = slots_unlock(h, fd, h->rec->password, d, key->data);
        if (r < 0)
                return r;
        if (n == 0 || n > FSCRYPT_SLOTS_MAX)
                return log_error_errno(EINVAL, "home %s: 1 to %d new passwords", h->name, FSCRYPT_SLOTS_MAX);
        /* Each slot is replaced whole: killed half-way, every slot still
         * opens with its old or its new password. */
        for (size_t i = 0; i < n; i++) {
                r = slot_write(h, fd, key->data, new_passwords[i], (uint32_t) i);
                if (r < 0)
                        return r;
        }
        slots_drop_from(h, fd, (uint32_t) n);
        /* ~/.identity with the new hashes: where the home goes, they
         * must open it. */
        if (with_key(h, &fd, d, key->data, active, store_identity) < 0)
                log_warning("home %s: ~/" HOME_IDENTITY_FILE " stays as it was", h->name);
        return 0;
}

static int fscrypt_fixate(Home *h) {
        _cleanup_close_ int fd = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        bool active;
        int r;

        r = open_storage(h, &fd, d, &active);
        if (r < 0)
                return r;
        /* The slots first (her password), then the record inside. */
        return with_key(h, &fd, d, NULL, active, home_root_entry_fixate);
}

static int fscrypt_update(Home *h) {
        _cleanup_close_ int fd = -1;
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        bool active;
        int r;

        r = open_storage(h, &fd, d, &active);
        if (r < 0)
                return r;
        if (active)
                return store_identity(h);
        /* Inactive, without a password: brought up to date at the next
         * activation (its record is newer than the one inside). */
        if (!h->rec->password || !h->rec->password[0])
                return 0;
        return with_key(h, &fd, d, NULL, false, store_identity);
}

static int fscrypt_inspect(Home *h) {
        return home_root_entry_inspect(h);
}

static int fscrypt_remove(Home *h) {
        uint8_t d[FSCRYPT_DESCRIPTOR_SIZE];
        bool active;
        int r;

        {
                _cleanup_close_ int fd = -1;
                r = home_storage_exists(h);
                /* A key left by a killed activation goes with the home. */
                if (r > 0 && open_storage(h, &fd, d, &active) >= 0 && !active) {
                        fd = safe_close(fd);
                        if (key_remove(h, h->root_fd, d) >= 0)
                                pending_clear(h);
                }
        }
        return home_remove_from_root(h);
}

static int fscrypt_exists(Home *h) {
        return home_storage_exists(h);
}

const StorageBackend storage_fscrypt = {
        .name = "fscrypt",
        .storage = USER_STORAGE_FSCRYPT,
        .own_authentication = true,
        .create = fscrypt_create,
        .activate = fscrypt_activate,
        .authenticate = fscrypt_authenticate,
        .deactivate = fscrypt_deactivate,
        .update = fscrypt_update,
        .resize = NULL, /* no size: the home root's file system */
        .passwd = fscrypt_passwd,
        .fixate = fscrypt_fixate,
        .inspect = fscrypt_inspect,
        .remove = fscrypt_remove,
        .exists = fscrypt_exists,
};
