/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "nss-files.h"

/* A field as passwd(5) can hold it: no ':' (separator), no ',' in GECOS is
 * not required, but no control characters (a newline would forge a line). */
static void put_field(FILE *f, const char *s) {
        for (; s && *s; s++)
                fputc(*s == ':' || (unsigned char) *s < 0x20 || *s == 0x7F ? ' ' : *s, f);
}

static bool listed(const UserRecord *rec) {
        return rec->user_name && valid_home_uid(rec->uid);
}

static bool is_member_of(const UserRecord *rec, const char *group) {
        for (const char **g = rec->member_of; g && *g; g++)
                if (strcmp(*g, group) == 0)
                        return true;
        return false;
}

/* memberOf becomes group(5) members: of a home's own group when it names a
 * home, else of a line for a group defined elsewhere (see put_other_groups). */

/* The users whose memberOf names group, comma-separated. */
static void put_members(FILE *f, const char *group, UserRecord *const *records, size_t n) {
        const char *sep = "";

        for (size_t i = 0; i < n; i++)
                if (listed(records[i]) && is_member_of(records[i], group)) {
                        fputs(sep, f);
                        put_field(f, records[i]->user_name);
                        sep = ",";
                }
}

static bool names_home(UserRecord *const *records, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (listed(records[i]) && strcmp(records[i]->user_name, name) == 0)
                        return true;
        return false;
}

/* The GID of a group defined outside Hearth (/etc/group, LDAP, …). A GID in
 * the home range is never taken from NSS: it could be a removed home's group
 * the NSS files still hold, and its UID may already be another home's. */
static int lookup_group(const char *name, gid_t *ret) {
        for (size_t size = 1024; size <= 1024 * 1024; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                struct group gr, *g = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, &gr, buf, size, &g);
                if (r == ERANGE)
                        continue;
                if (r != 0)
                        return -r;
                /* GID 0 is never given through us: libnss_hearth refuses such lines. */
                if (!g || valid_home_uid(g->gr_gid) || g->gr_gid == 0)
                        return -ENOENT;
                *ret = g->gr_gid;
                return 0;
        }
        return -ERANGE;
}

/* Lines for the groups defined elsewhere that memberOf names, each once,
 * carrying only Hearth's members: libnss_hearth counts them for initgroups
 * and does not answer them as groups. A group NSS does not know (yet) is
 * left out until the next rewrite. */
static void put_other_groups(FILE *f, UserRecord *const *records, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (!listed(records[i]))
                        continue;
                for (const char **g = records[i]->member_of; g && *g; g++) {
                        bool seen = names_home(records, n, *g);
                        gid_t gid = 0;
                        int r;

                        for (size_t j = 0; j < i && !seen; j++)
                                seen = listed(records[j]) && is_member_of(records[j], *g);
                        if (seen)
                                continue;
                        r = lookup_group(*g, &gid);
                        if (r < 0) {
                                log_debug_errno(r, "memberOf group %s of %s left out of the NSS files: %m", *g,
                                                records[i]->user_name);
                                continue;
                        }
                        put_field(f, *g);
                        fprintf(f, ":x:%u:", (unsigned) gid);
                        put_members(f, *g, records, n);
                        fputc('\n', f);
                }
        }
}

static int write_one(const char *dir, const char *name, char *data, size_t len) {
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return log_oom();
        int r = write_file_atomic(path, data, len, 0644, 0);
        if (r < 0)
                return log_error_errno(r, "cannot write %s: %m", path);
        return 0;
}

int nss_files_write(const char *dir, const char *home_root, UserRecord *const *records, size_t n) {
        _cleanup_free_ char *pw = NULL, *gr = NULL;
        size_t pw_len = 0, gr_len = 0;
        _cleanup_fclose_ FILE *fp = open_memstream(&pw, &pw_len);
        _cleanup_fclose_ FILE *fg = open_memstream(&gr, &gr_len);
        int r;

        if (!fp || !fg)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                const UserRecord *rec = records[i];
                if (!listed(rec))
                        continue;
                fprintf(fp, "%s:x:%u:%u:", rec->user_name, (unsigned) rec->uid, (unsigned) rec->uid);
                put_field(fp, rec->real_name);
                fputc(':', fp);
                if (rec->home_directory)
                        put_field(fp, rec->home_directory);
                else
                        fprintf(fp, "%s/%s", home_root, rec->user_name);
                fputc(':', fp);
                put_field(fp, rec->shell ?: USER_RECORD_SHELL_DEFAULT);
                fputc('\n', fp);
                fprintf(fg, "%s:x:%u:", rec->user_name, (unsigned) rec->uid);
                put_members(fg, rec->user_name, records, n);
                fputc('\n', fg);
        }
        put_other_groups(fg, records, n);
        if (fflush(fp) != 0 || fflush(fg) != 0 || ferror(fp) || ferror(fg))
                return log_oom();
        r = mkdir_parents(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "cannot create %s: %m", dir);
        r = write_one(dir, "passwd", pw, pw_len);
        if (r >= 0)
                r = write_one(dir, "group", gr, gr_len);
        return r;
}
