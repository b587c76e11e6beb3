/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libnss_hearth: the passwd and group databases of Hearth users, for every
 * program that looks up a user. Loaded by glibc's NSS ("hearth" in
 * /etc/nsswitch.conf); it reads the files hearthd writes in its runtime
 * directory (/run/hearth/passwd, group) and never calls hearthd. */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "macro.h"
#include "nss-hearth.h"
#include "runtime-paths.h"
#include "table.h"


/* This code runs inside every program that looks up a user, some of them
 * with many threads. The caches are guarded by a read-write lock: a lookup
 * whose file has not changed holds it for reading (after an lstat() made
 * without it), so lookups never wait for each other; reading a file again
 * takes it for writing (writers first, so a reload is not starved). The
 * enumeration positions have a mutex of their own, taken before the lock. */
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t ent_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static FileCache passwd_cache = FILE_CACHE_INIT(TABLE_PASSWD, "passwd");
static FileCache group_cache = FILE_CACHE_INIT(TABLE_GROUP, "group");

/* An enumeration walks the copy it started on (a reference of its own,
 * taken and dropped with the cache lock held for writing), so a file
 * rewritten meanwhile neither repeats nor skips entries. */
static struct {
        bool started;
        int error;
        Table *pw;
        size_t pos;
} pwent;
static struct {
        bool started;
        int error;
        Table *pw, *gr;
        size_t pos;
} grent;

static void all_lock(void) {
        (void) pthread_mutex_lock(&ent_lock);
        (void) pthread_rwlock_wrlock(&cache_lock);
}

static void all_unlock(void) {
        (void) pthread_rwlock_unlock(&cache_lock);
        (void) pthread_mutex_unlock(&ent_lock);
}

/* The child's locks are made anew, not unlocked: glibc's rwlock remembers
 * the thread that took it for writing, and the child's thread is another,
 * so an unlock there would leave it held for good. */
static void child_reinit(void) {
        pthread_rwlockattr_t a;
        (void) pthread_rwlockattr_init(&a);
        (void) pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        (void) pthread_rwlock_init(&cache_lock, &a);
        (void) pthread_rwlockattr_destroy(&a);
        (void) pthread_mutex_init(&ent_lock, NULL);
}

/* A child forked while another thread held a lock could never take it: the
 * forking thread holds both across fork(). */
static void register_atfork(void) {
        (void) pthread_atfork(all_lock, all_unlock, child_reinit);
}

static void once(void) {
        (void) pthread_once(&atfork_once, register_atfork);
}

/* Takes the cache lock and gets the tables of the n probed files: for
 * reading when all are cached, else for writing, reading them again. The
 * caller unlocks (in either case) when done with the tables. */
static int tables_get(size_t n, FileCache *const caches[], const FileProbe probes[], Table *tables[]) {
        int r = 0;

        once();
        (void) pthread_rwlock_rdlock(&cache_lock);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = file_cache_peek(caches[i], &probes[i], &tables[i]);
        if (r != -ESTALE)
                return r;
        (void) pthread_rwlock_unlock(&cache_lock);
        (void) pthread_rwlock_wrlock(&cache_lock);
        r = 0;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = file_cache_get(caches[i], &probes[i], &tables[i]);
        return r;
}

static void tables_put(void) {
        (void) pthread_rwlock_unlock(&cache_lock);
}

/* The NSS status for an internal result. errno is left as the caller had
 * it (the system calls made on the way are no business of the caller);
 * *errnop, often errno itself, is set last. */
static enum nss_status finish(int r, int *errnop, int saved_errno) {
        errno = saved_errno;
        switch (r) {
        case 0:
                return NSS_STATUS_SUCCESS;
        case -ENOENT:
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        case -ERANGE: /* the caller retries with a larger buffer */
        case -ENOMEM:
                *errnop = -r;
                return NSS_STATUS_TRYAGAIN;
        default:
                *errnop = -r;
                return NSS_STATUS_UNAVAIL;
        }
}

/* ---- copying into the caller's buffer ----------------------------------------- */

/* Copies s to *p and moves *p past it; the caller made sure it fits. */
static char *put(char **p, const char *s) {
        size_t n = strlen(s) + 1;
        char *r = *p;

        memcpy(r, s, n);
        *p += n;
        return r;
}

static int fill_passwd(const PwEntry *e, struct passwd *pwd, char *buf, size_t buflen) {
        size_t need = strlen(e->name) + strlen(e->passwd) + strlen(e->gecos) + strlen(e->dir) +
                      strlen(e->shell) + 5;
        char *p = buf;

        if (!buf || need > buflen)
                return -ERANGE;
        pwd->pw_name = put(&p, e->name);
        pwd->pw_passwd = put(&p, e->passwd);
        pwd->pw_uid = e->uid;
        pwd->pw_gid = e->gid;
        pwd->pw_gecos = put(&p, e->gecos);
        pwd->pw_dir = put(&p, e->dir);
        pwd->pw_shell = put(&p, e->shell);
        return 0;
}

static int fill_group(const Table *t, const GrEntry *e, struct group *grp, char *buf, size_t buflen) {
        /* gr_mem's array comes first, aligned for pointers, then the strings. */
        size_t pad = buf ? (alignof(char *) - (uintptr_t) buf % alignof(char *)) % alignof(char *) : 0;
        size_t need = pad + (e->n_members + 1) * sizeof(char *) + strlen(e->name) + strlen(e->passwd) + 2;
        const char *const *members = t->members + e->first_member;
        char **mem, *p;

        for (uint32_t i = 0; i < e->n_members; i++)
                need += strlen(members[i]) + 1;
        if (!buf || need > buflen)
                return -ERANGE;
        mem = (char **) (void *) (buf + pad);
        p = (char *) (mem + e->n_members + 1);
        grp->gr_name = put(&p, e->name);
        grp->gr_passwd = put(&p, e->passwd);
        grp->gr_gid = e->gid;
        for (uint32_t i = 0; i < e->n_members; i++)
                mem[i] = put(&p, members[i]);
        mem[e->n_members] = NULL;
        grp->gr_mem = mem;
        return 0;
}

/* ---- passwd ------------------------------------------------------------------------ */

/* The passwd entry of name, or of uid when name is NULL. */
static int passwd_lookup(const char *name, uid_t uid, struct passwd *pwd, char *buf, size_t buflen) {
        FileCache *caches[] = { &passwd_cache };
        FileProbe probe;
        Table *t;
        int r;

        file_probe(hearth_runtime_dir(), "passwd", &probe);
        r = tables_get(1, caches, &probe, &t);
        if (r >= 0) {
                const PwEntry *e = name ? table_pw_by_name(t, name) : table_pw_by_uid(t, uid);
                r = e ? fill_passwd(e, pwd, buf, buflen) : -ENOENT;
        }
        tables_put();
        return r;
}

enum nss_status _nss_hearth_getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t buflen,
                                       int *errnop) {
        int saved_errno = errno;

        /* A name the file cannot hold needs no look at the file. */
        if (!table_valid_name(name))
                return finish(-ENOENT, errnop, saved_errno);
        return finish(passwd_lookup(name, 0, pwd, buf, buflen), errnop, saved_errno);
}

enum nss_status _nss_hearth_getpwuid_r(uid_t uid, struct passwd *pwd, char *buf, size_t buflen, int *errnop) {
        int saved_errno = errno;

        if (uid == (uid_t) -1)
                return finish(-ENOENT, errnop, saved_errno);
        return finish(passwd_lookup(NULL, uid, pwd, buf, buflen), errnop, saved_errno);
}

/* With all_lock() held. */
static void pwent_stop(void) {
        table_unref(pwent.pw);
        pwent.pw = NULL;
        pwent.pos = 0;
        pwent.error = 0;
        pwent.started = false;
}

static void pwent_start(void) {
        FileProbe probe;
        Table *t;

        pwent_stop();
        pwent.started = true;
        file_probe(hearth_runtime_dir(), "passwd", &probe);
        pwent.error = file_cache_get(&passwd_cache, &probe, &t);
        if (pwent.error >= 0)
                pwent.pw = table_ref(t);
}

enum nss_status _nss_hearth_setpwent(int stayopen) {
        int saved_errno = errno, r;

        once();
        all_lock();
        pwent_start();
        r = pwent.error;
        all_unlock();
        errno = saved_errno;
        return r < 0 ? NSS_STATUS_UNAVAIL : NSS_STATUS_SUCCESS;
}

enum nss_status _nss_hearth_getpwent_r(struct passwd *pwd, char *buf, size_t buflen, int *errnop) {
        int saved_errno = errno, r;

        once();
        (void) pthread_mutex_lock(&ent_lock);
        if (!pwent.started) {
                (void) pthread_rwlock_wrlock(&cache_lock);
                pwent_start();
                (void) pthread_rwlock_unlock(&cache_lock);
        }
        /* The copy is the enumeration's own: no cache lock needed. */
        if (pwent.error < 0)
                r = pwent.error;
        else if (pwent.pos >= pwent.pw->n_entries)
                r = -ENOENT;
        else {
                /* On ERANGE the position stays: the retry gets this entry. */
                r = fill_passwd(&pwent.pw->pw[pwent.pos], pwd, buf, buflen);
                if (r == 0)
                        pwent.pos++;
        }
        (void) pthread_mutex_unlock(&ent_lock);
        return finish(r, errnop, saved_errno);
}

enum nss_status _nss_hearth_endpwent(void) {
        once();
        all_lock();
        pwent_stop();
        all_unlock();
        return NSS_STATUS_SUCCESS;
}

/* ---- group ---------------------------------------------------------------------------- */

/* The groups Hearth defines are its users' own ones: the same name as a
 * user in the passwd file, and her UID as GID. Other lines of the group file
 * only add members (memberOf) to groups defined elsewhere (/etc/group): they
 * count for initgroups, but answering them as groups would list such a
 * group twice, shadow its real definition, and let hearthd, which resolves
 * memberOf names through NSS, keep a GID alive after the group is gone. */
static bool own_group(const Table *pw, const GrEntry *g) {
        const PwEntry *u = table_pw_by_name(pw, g->name);
        return u && u->uid == g->gid;
}

static void probe_both(FileProbe probes[2]) {
        const char *dir = hearth_runtime_dir();

        file_probe(dir, "group", &probes[0]);
        file_probe(dir, "passwd", &probes[1]);
}

/* The group entry of name, or of gid when name is NULL. */
static int group_lookup(const char *name, gid_t gid, struct group *grp, char *buf, size_t buflen) {
        FileCache *caches[] = { &group_cache, &passwd_cache };
        FileProbe probes[2];
        Table *t[2];
        int r;

        probe_both(probes);
        r = tables_get(2, caches, probes, t);
        if (r >= 0) {
                const GrEntry *e = name ? table_gr_by_name(t[0], name) : table_gr_by_gid(t[0], gid);
                r = e && own_group(t[1], e) ? fill_group(t[0], e, grp, buf, buflen) : -ENOENT;
        }
        tables_put();
        return r;
}

enum nss_status _nss_hearth_getgrnam_r(const char *name, struct group *grp, char *buf, size_t buflen,
                                       int *errnop) {
        int saved_errno = errno;

        if (!table_valid_name(name))
                return finish(-ENOENT, errnop, saved_errno);
        return finish(group_lookup(name, 0, grp, buf, buflen), errnop, saved_errno);
}

enum nss_status _nss_hearth_getgrgid_r(gid_t gid, struct group *grp, char *buf, size_t buflen, int *errnop) {
        int saved_errno = errno;

        if (gid == (gid_t) -1)
                return finish(-ENOENT, errnop, saved_errno);
        return finish(group_lookup(NULL, gid, grp, buf, buflen), errnop, saved_errno);
}

/* With all_lock() held. */
static void grent_stop(void) {
        table_unref(grent.pw);
        table_unref(grent.gr);
        grent.pw = grent.gr = NULL;
        grent.pos = 0;
        grent.error = 0;
        grent.started = false;
}

static void grent_start(void) {
        FileProbe probes[2];
        Table *gr, *pw;

        grent_stop();
        grent.started = true;
        probe_both(probes);
        grent.error = file_cache_get(&group_cache, &probes[0], &gr);
        if (grent.error >= 0)
                grent.error = file_cache_get(&passwd_cache, &probes[1], &pw);
        if (grent.error >= 0) {
                grent.gr = table_ref(gr);
                grent.pw = table_ref(pw);
        }
}

enum nss_status _nss_hearth_setgrent(int stayopen) {
        int saved_errno = errno, r;

        once();
        all_lock();
        grent_start();
        r = grent.error;
        all_unlock();
        errno = saved_errno;
        return r < 0 ? NSS_STATUS_UNAVAIL : NSS_STATUS_SUCCESS;
}

enum nss_status _nss_hearth_getgrent_r(struct group *grp, char *buf, size_t buflen, int *errnop) {
        int saved_errno = errno, r;

        once();
        (void) pthread_mutex_lock(&ent_lock);
        if (!grent.started) {
                (void) pthread_rwlock_wrlock(&cache_lock);
                grent_start();
                (void) pthread_rwlock_unlock(&cache_lock);
        }
        if (grent.error < 0)
                r = grent.error;
        else {
                while (grent.pos < grent.gr->n_entries && !own_group(grent.pw, &grent.gr->gr[grent.pos]))
                        grent.pos++;
                if (grent.pos >= grent.gr->n_entries)
                        r = -ENOENT;
                else {
                        r = fill_group(grent.gr, &grent.gr->gr[grent.pos], grp, buf, buflen);
                        if (r == 0)
                                grent.pos++;
                }
        }
        (void) pthread_mutex_unlock(&ent_lock);
        return finish(r, errnop, saved_errno);
}

enum nss_status _nss_hearth_endgrent(void) {
        once();
        all_lock();
        grent_stop();
        all_unlock();
        return NSS_STATUS_SUCCESS;
}

/* ---- initgroups ------------------------------------------------------------------------- */

/* Adds gid unless it is there already. Returns 0, 1 when the limit is
 * reached, or -ENOMEM. */
static int add_gid(gid_t gid, long int *start, long int *size, gid_t **groupsp, long int limit) {
        for (long int i = 0; i < *start; i++)
                if ((*groupsp)[i] == gid)
                        return 0;
        if (limit > 0 && *start >= limit)
                return 1;
        if (*start >= *size) {
                long int n = *size > 0 ? *size * 2 : 16;
                gid_t *p;

                if (limit > 0 && n > limit)
                        n = limit;
                if (*size > (long int) (SIZE_MAX / 2 / sizeof(gid_t)))
                        return -ENOMEM;
                p = realloc(*groupsp, (size_t) n * sizeof *p);
                if (!p)
                        return -ENOMEM;
                *groupsp = p;
                *size = n;
        }
        (*groupsp)[(*start)++] = gid;
        return 0;
}

enum nss_status _nss_hearth_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                           gid_t **groupsp, long int limit, int *errnop) {
        FileCache *caches[] = { &group_cache };
        int saved_errno = errno, r;
        FileProbe probe;
        bool any = false;
        Table *gr;

        if (!table_valid_name(user))
                return finish(-ENOENT, errnop, saved_errno);
        file_probe(hearth_runtime_dir(), "group", &probe);
        r = tables_get(1, caches, &probe, &gr);
        for (size_t i = 0; r == 0 && i < gr->n_entries; i++) {
                const GrEntry *g = &gr->gr[i];
                if (g->gid == group || !table_gr_has_member(gr, g, user))
                        continue;
                any = true;
                r = add_gid(g->gid, start, size, groupsp, limit);
        }
        tables_put();
        if (r == 1) /* the caller's limit: what fits is the answer */
                r = 0;
        if (r == 0 && !any)
                r = -ENOENT;
        return finish(r, errnop, saved_errno);
}
