/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
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
                if (!rec->user_name || !valid_home_uid(rec->uid))
                        continue;
                fprintf(fp, "%s:x:%u:%u:", rec->user_name, (unsigned) rec->uid, (unsigned) rec->uid);
                put_field(fp, rec->real_name);
                fputc(':', fp);
                if (rec->home_directory)
                        put_field(fp, rec->home_directory);
                else
                        fprintf(fp, "%s/%s", home_root, rec->user_name);
                fputc(':', fp);
                put_field(fp, rec->shell ?: "/bin/bash");
                fputc('\n', fp);
                fprintf(fg, "%s:x:%u:\n", rec->user_name, (unsigned) rec->uid);
        }
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
