/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "skel.h"

/* The skel template: the merged default skel (skel.h) seeded once by
 * skel_seed(), as a subvolume home's storage holds it — every entry
 * nobody's (65534:65534) on disk, modes, times, xattrs and hard links as the
 * seeding gives them, entries a home's user could not read left out — in a
 * read-only Btrfs subvolume on the home root's file system. A new subvolume
 * home is a snapshot of it (constant time, whatever the skel holds), and
 * hearth-skel's new homes on that file system too.
 *
 *   <home root>/.#hearth-skel-template/     root's, 0700: no user reaches what is inside
 *       <digest>                            the template, read-only, named by the digest of the skel it holds
 *       .build-XXXXXX                       a build in progress (a template's, a spare's), or one that was killed
 *       <digest>.spare-XXXXXX               a spare: a writable snapshot of <digest>, its top nobody's, 0700
 *
 * The directory's name parses as no worker's leftover (worker-protocol.h:
 * no user name in it), so `hearth-work clean`, hearthd's start and
 * home_clean_leftovers() leave it alone, and it ends neither in .homedir
 * nor in .home, so neither hearthd nor systemd-homed takes it for a home.
 *
 * Change detection: a create scans the sources (skel_scan(): one
 * lstat per entry, nothing read) into a SHA-256 over each entry's layer,
 * path, type and mode, owner, size, mtime and ctime (ns), inode, device,
 * link count and symlink target, the layers' paths, the template format and
 * Hearth's version. Equal digests: the template serves. Otherwise a new one
 * is built beside the old one under a hidden name, made read-only and renamed
 * to its digest; the old ones go. A change made while the template is built
 * changes a ctime, so the scan after the build differs and the build is
 * thrown away. An entry whose ctime is not older than the scan's start could
 * still change unseen within the same clock tick: the template is not built
 * until the clock has passed it. hearthd spares its creates the scan while
 * it knows the skel unchanged since one (skel-watch.h: inotify), handing
 * the worker the template to take (current, skel_template_snapshot()).
 *
 * Concurrency: flock() on the directory, shared while a template is opened
 * and snapshotted, exclusive while one is built and old ones removed; a
 * builder that finds the lock taken waits (at most
 * SKEL_TEMPLATE_LOCK_WAIT_SEC, then its caller copies), and looks again for
 * the digest once it has the lock, so one build serves all who waited. A
 * killed build leaves .build-* behind, never a template: it has its name
 * only once complete and read-only; the next build removes it.
 *
 * No template serves (the caller copies as before) where the home root is
 * not Btrfs, SELinux labels entries by their path, or the copy would differ
 * from user to user: an entry owned by a home UID or nobody (whether she
 * could read it depends on who she is), an absolute symlink into the skel
 * (rewritten to point into her home). hearth-skel also needs a template
 * that left nothing out (SKEL_ENTRY_UNREADABLE), as it copies everything. */

#define SKEL_TEMPLATE_DIR ".#hearth-skel-template"
#define SKEL_TEMPLATE_BUILD_PREFIX ".build-"
#define SKEL_TEMPLATE_SPARE_INFIX ".spare-"
/* Bumped whenever what skel_seed() makes of the same skel changes: the
 * templates of before are rebuilt. (Hearth's version is in the digest too.) */
#define SKEL_TEMPLATE_FORMAT 1
#define SKEL_TEMPLATE_LOCK_WAIT_SEC 120

/* Test-only: with this set to 1 in the environment, no template serves
 * (the copy's result, to compare the template's with). */
#define SKEL_TEMPLATE_TEST_OFF_ENV "HEARTH_TEST_NO_SKEL_TEMPLATE"

#define SKEL_DIGEST_SIZE 32
#define SKEL_DIGEST_HEX (2 * SKEL_DIGEST_SIZE)

/* ---- pure: the digest and what an entry means for the template ---- */

/* One entry of a source as the scan met it. */
typedef struct SkelEntry {
        unsigned layer;     /* its source, 0 = the first (winning) one */
        const char *origin; /* that source's top as the system sees it (SkelSources.origin) */
        const char *path;   /* relative to the source's top, "" for the top itself */
        const struct stat *st;
        const char *link;   /* a symlink's target, else NULL */
} SkelEntry;

typedef struct SkelDigest {
        void *ctx; /* EVP_MD_CTX */
} SkelDigest;

/* Starts a digest over the sources (paths with any root prefixed, origins
 * as the system sees them, in precedence order). 0 or -ENOMEM. */
int skel_digest_begin(SkelDigest *d, const char *const *paths, const char *const *origins, size_t n);
/* Adds an entry, in the scan's order. */
int skel_digest_add(SkelDigest *d, const SkelEntry *e);
/* The digest as lowercase hex; the digest is done. */
int skel_digest_end(SkelDigest *d, char ret[SKEL_DIGEST_HEX + 1]);
void skel_digest_done(SkelDigest *d);

enum {
        /* Whether the seeding skips it or how it writes it depends on the
         * user: no template for this skel. */
        SKEL_ENTRY_PER_USER = 1 << 0,
        /* A home's seeding leaves it out (not readable by others); a copy
         * that keeps everything (hearth-skel) cannot use the template. */
        SKEL_ENTRY_UNREADABLE = 1 << 1,
        /* Its ctime is not before since: it might change again within the
         * same clock tick, unseen by the digest. */
        SKEL_ENTRY_RECENT = 1 << 2,
};

/* The SKEL_ENTRY_* bits of e (since: the scan's start, or NULL). A
 * source's top is never PER_USER or UNREADABLE: only what is in it is
 * copied. */
unsigned skel_entry_check(const SkelEntry *e, const struct timespec *since);

/* ---- the scan ---- */

typedef struct SkelScan {
        char digest[SKEL_DIGEST_HEX + 1];
        unsigned flags;             /* the SKEL_ENTRY_* bits of all entries */
        unsigned long entries;
        struct timespec newest;     /* the latest ctime met */
        char *per_user;             /* the first entry that is SKEL_ENTRY_PER_USER, for messages */
} SkelScan;

/* Scans the default sources below root (NULL = "/"; skel_sources_open()).
 * Errors (a source unreadable, deeper than skel_seed() goes) are logged. */
int skel_scan(const char *root, const struct timespec *since, SkelScan *ret);
void skel_scan_done(SkelScan *s);

/* ---- the template ---- */

/* A template as hearthd and the worker name it to each other
 * (worker-protocol.h, WORKER_OPT_SKEL_TEMPLATE): "<format>/<version>/<digest>",
 * so that a worker of another build never takes a template another build
 * made for current. */
#define SKEL_TEMPLATE_TOKEN_MAX 256
/* The token of the template named digest, as this build makes it. */
int skel_template_token(const char *digest, char ret[SKEL_TEMPLATE_TOKEN_MAX]);
/* The digest in token if this build made it: 0 and ret; -EINVAL otherwise. */
int skel_template_token_digest(const char *token, char ret[SKEL_DIGEST_HEX + 1]);

typedef struct SkelTemplateInfo {
        bool rebuilt;      /* this call built the template */
        bool unscanned;    /* the caller's word that it is current was taken (no scan) */
        bool spare;        /* the snapshot is a spare, made in advance (top nobody's, 0700) */
        char digest[SKEL_DIGEST_HEX + 1]; /* the template the snapshot is of ("" if none) */
        SkelStats stats;   /* of the build, if rebuilt */
} SkelTemplateInfo;

/* Makes parent_fd/name a writable snapshot of the template of the merged
 * default skel (of the running system), first building the template below
 * home_root_fd (named home_root in messages) if there is none for the skel
 * as it is now. parent_fd must be on the same Btrfs file system. complete:
 * the copy must hold every entry (hearth-skel's). The snapshot's top is
 * root's, 0700; everything below it is 65534:65534.
 *
 * current (NULL: none): a token (skel_template_token()) the caller vouches
 * for — hearthd, which watches the skel (skel-watch.h) and knows nothing
 * in it changed since a scan found this template current. If that template
 * is there, it is snapshotted without scanning the skel: no work that grows
 * with the skel. Otherwise (absent, another build's token) the skel is
 * scanned as without it.
 *
 * spare: the caller takes a spare of the template (skel_template_spares_fill())
 * where there is one: its top is then nobody's (65534:65534), 0700, and
 * parent_fd must be the home root (ret_info->spare says which it got).
 *
 * Returns 0; -EOPNOTSUPP where no template can serve (why: logged at debug
 * level); or another negative errno, logged. Either way nothing is left at
 * parent_fd/name, and the caller copies the skel as before. */
int skel_template_snapshot(int home_root_fd, const char *home_root, bool complete, bool spare, const char *current,
                           int parent_fd, const char *name, SkelTemplateInfo *ret_info);

/* Spares: writable snapshots of the current template made in advance, so
 * that a create only renames one into place (no snapshot, whose ioctl
 * commits a transaction, on its path). Each is made under a .build- name,
 * given prepare() (the caller's check that a home can be made of it, e.g.
 * that the file system ID-maps), its top made nobody's and 0700, and only
 * then named <digest>.spare-XXXXXX: a spare is complete or not there. They
 * live in the template's root-only directory, out of every user's reach,
 * and are only ever taken for the template they are named by, which must
 * be the current one (hearthd's word or a scan): a rebuild removes the
 * spares of the old template with it. */
typedef int (*SkelSparePrepare)(int fd, void *userdata);
#define SKEL_TEMPLATE_SPARES 2
/* Makes spares of the current template (current: hearthd's token as for
 * skel_template_snapshot(), else the skel is scanned) until there are
 * want. Builds no template. The number made, or a negative errno (logged). */
int skel_template_spares_fill(int home_root_fd, const char *home_root, const char *current, unsigned want,
                              SkelSparePrepare prepare, void *userdata);

/* Gives a fresh snapshot's entries (all 65534:65534) to uid:gid, each set-ID
 * bit and file capability as the seeding gives them to an owner (a chown
 * drops both), counting what it meets into stats as skel_seed() would:
 * hearth-skel's homes, which are not ID-mapped. The top is left alone. At
 * most 256 levels deep (-ELOOP). Errors are logged. */
int skel_template_give(int fd, uid_t uid, gid_t gid, SkelStats *stats);

/* Removes dir_fd/name: a Btrfs subvolume (a snapshot or a template) as
 * one, anything else as rm_rf_at() does. */
int skel_template_remove(int dir_fd, const char *name);
