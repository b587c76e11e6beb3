/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "macro.h"
#include "size.h"

bool colors_enabled(void) {
        const char *e = getenv("NO_COLOR");
        return isatty(STDOUT_FILENO) && !(e && e[0]);
}

const char *state_color(const char *state) {
        static const char *const transitional[] = {
                "activating", "deactivating", "unlocking", "locking", "authenticating", "fixating",
                "creating", "removing", "updating", "resizing", "passwd", "pending",
        };

        if (!state)
                return NULL;
        if (strcmp(state, "active") == 0)
                return ANSI_GREEN;
        if (strcmp(state, "dirty") == 0)
                return ANSI_RED;
        if (strcmp(state, "locked") == 0)
                return ANSI_YELLOW;
        /* "activating-for-acquire", "resizing-while-active", "authenticating…" */
        for (size_t i = 0; i < ELEMENTSOF(transitional); i++)
                if (strncmp(state, transitional[i], strlen(transitional[i])) == 0)
                        return ANSI_YELLOW;
        return NULL;
}

size_t utf8_width(const char *s) {
        size_t n = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xC0) != 0x80)
                        n++;
        return n;
}

static void put_clean(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                fputc(*p < 0x20 || *p == 0x7F ? '?' : *p, f);
}

/* ---- label: value ----------------------------------------------------- */

void field(FILE *f, const char *label, const char *value) {
        if (!value)
                return;
        fprintf(f, "%26s: ", label);
        put_clean(f, value);
        fputc('\n', f);
}

void field_bool(FILE *f, const char *label, int value) {
        if (value >= 0)
                field(f, label, value ? "yes" : "no");
}

void field_u64(FILE *f, const char *label, uint64_t value) {
        char buf[32];
        if (value != UINT64_MAX) {
                snprintf(buf, sizeof buf, "%" PRIu64, value);
                field(f, label, buf);
        }
}

void field_time(FILE *f, const char *label, uint64_t usec) {
        char buf[64];
        time_t t;
        struct tm tm;

        if (usec == UINT64_MAX)
                return;
        t = (time_t) (usec / 1000000);
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%a %Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 " µs", usec);
        field(f, label, buf);
}

void field_span(FILE *f, const char *label, uint64_t usec) {
        char buf[64];
        if (usec == UINT64_MAX)
                return;
        if (usec % (86400 * USEC_PER_SEC) == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 "d", usec / (86400 * USEC_PER_SEC));
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else if (usec % 1000 == 0)
                snprintf(buf, sizeof buf, "%" PRIu64 "ms", usec / 1000);
        else
                snprintf(buf, sizeof buf, "%" PRIu64 "µs", usec);
        field(f, label, buf);
}

void field_size(FILE *f, const char *label, uint64_t bytes) {
        char buf[SIZE_FORMAT_MAX];
        if (bytes != UINT64_MAX)
                field(f, label, size_format(bytes, buf));
}

void field_list(FILE *f, const char *label, const char **l) {
        for (size_t i = 0; l && l[i]; i++)
                field(f, i == 0 ? label : "", l[i]);
}

/* ---- the recovery key ------------------------------------------------- */

static void write_all(int fd, const char *s) {
        for (size_t n = strlen(s); n > 0;) {
                ssize_t k = write(fd, s, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return; /* nowhere to say so: this is the output */
                s += k;
                n -= (size_t) k;
        }
}

void print_recovery_key(int fd, const char *user, const char *key) {
        const char *parts[] = {
                "\nRecovery key of home ", user,
                ": it opens the home when the TPM no longer unseals its key\n"
                "(after a firmware or boot change, or with another TPM):\n\n        ",
                key,
                "\n\nWrite it down: it is shown once and never stored. To use it:\n"
                "    PASSWORD=<recovery key> homectl activate ",
                user, "\n\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                write_all(fd, parts[i]);
}

/* ---- records ---------------------------------------------------------- */

/* "yes, PCRs 7+11, password keyslot kept" for a record asking for a
 * TPM2-sealed key; nothing for others. The fields are the worker's to
 * enforce; shown as they are, malformed ones as "?". */
static void field_tpm2(FILE *f, const UserRecord *rec) {
        json_object *v, *pcrs;
        char buf[128];
        size_t n;

        if (!json_object_object_get_ex(rec->json, "tpm2", &v) || !json_object_is_type(v, json_type_boolean) ||
            !json_object_get_boolean(v))
                return;
        n = (size_t) snprintf(buf, sizeof buf, "yes, PCRs ");
        if (!json_object_object_get_ex(rec->json, "tpm2Pcrs", &pcrs))
                n += (size_t) snprintf(buf + n, sizeof buf - n, "7");
        else if (!json_object_is_type(pcrs, json_type_array))
                n += (size_t) snprintf(buf + n, sizeof buf - n, "?");
        else if (json_object_array_length(pcrs) == 0)
                n += (size_t) snprintf(buf + n, sizeof buf - n, "none");
        else
                for (size_t i = 0; i < json_object_array_length(pcrs) && n < sizeof buf - 8; i++) {
                        json_object *e = json_object_array_get_idx(pcrs, i);
                        int64_t p = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
                        if (p < 0 || p > 23) /* TPM2_PCR_MAX */
                                n += (size_t) snprintf(buf + n, sizeof buf - n, "%s?", i ? "+" : "");
                        else
                                n += (size_t) snprintf(buf + n, sizeof buf - n, "%s%" PRId64, i ? "+" : "", p);
                }
        if (n < sizeof buf && json_object_object_get_ex(rec->json, "tpm2KeepPassword", &v) &&
            json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
                snprintf(buf + n, sizeof buf - n, ", password keyslot kept");
        field(f, "TPM2 key", buf);
}

void record_print_offline(FILE *f, const UserRecord *rec, const char *signature, bool had_secrets) {
        char buf[64];

        field(f, "User name", rec->user_name);
        field(f, "Real name", rec->real_name);
        field(f, "Disposition", user_disposition_to_string(rec->disposition));
        field_bool(f, "Locked", rec->locked);
        field_time(f, "Not before", rec->not_before_usec);
        field_time(f, "Not after", rec->not_after_usec);
        if (rec->uid != UID_INVALID) {
                snprintf(buf, sizeof buf, "%u", rec->uid);
                field(f, "UID", buf);
        }
        if (rec->gid != GID_INVALID) {
                snprintf(buf, sizeof buf, "%u", rec->gid);
                field(f, "GID", buf);
        }
        field_list(f, "Aux. groups", rec->member_of);
        field(f, "Email", rec->email_address);
        field(f, "Directory", rec->home_directory);
        field(f, "Storage", user_storage_to_string(rec->storage));
        field_tpm2(f, rec);
        field_list(f, "PKCS11 Token", rec->pkcs11_token_uri);
        field(f, "Image path", rec->image_path);
        field(f, "File system", rec->file_system_type);
        field_size(f, "Disk size", rec->disk_size);
        field(f, "Shell", rec->shell);
        field_time(f, "Last change", rec->last_change_usec);
        field_time(f, "Last password change", rec->last_password_change_usec);
        field_span(f, "Password change min", rec->password_change_min_usec);
        field_span(f, "Password change max", rec->password_change_max_usec);
        field_span(f, "Password change warn", rec->password_change_warn_usec);
        field_span(f, "Password change inactive", rec->password_change_inactive_usec);
        field_bool(f, "Password change now", rec->password_change_now);
        field_bool(f, "Enforce password policy", rec->enforce_password_policy);
        field_bool(f, "Auto login", rec->auto_login);
        field_bool(f, "LUKS discard", rec->luks_discard);
        if (rec->auto_resize_mode >= 0)
                field(f, "Auto resize", user_auto_resize_to_string(rec->auto_resize_mode));
        if (rec->rebalance_weight != UINT64_MAX) {
                if (rec->rebalance_weight == 0)
                        field(f, "Rebalance weight", "off");
                else {
                        snprintf(buf, sizeof buf, "%" PRIu64, rec->rebalance_weight);
                        field(f, "Rebalance weight", buf);
                }
        }
        if (rec->luks_cipher || rec->luks_cipher_mode) {
                snprintf(buf, sizeof buf, "%s-%s", rec->luks_cipher ?: "aes", rec->luks_cipher_mode ?: "xts-plain64");
                field(f, "LUKS cipher", buf);
        }
        if (rec->luks_volume_key_size != UINT64_MAX) {
                snprintf(buf, sizeof buf, "%" PRIu64 " bit", rec->luks_volume_key_size * 8);
                field(f, "LUKS volume key", buf);
        }
        field(f, "PBKDF type", rec->luks_pbkdf_type);
        field(f, "PBKDF hash", rec->luks_pbkdf_hash_algorithm);
        field_span(f, "PBKDF time cost", rec->luks_pbkdf_time_cost_usec);
        field_size(f, "PBKDF memory cost", rec->luks_pbkdf_memory_cost);
        field_u64(f, "PBKDF threads", rec->luks_pbkdf_parallel_threads);
        field(f, "Mount options", rec->luks_extra_mount_options);
        if (rec->hashed_password) {
                snprintf(buf, sizeof buf, "%zu", strv_length((char *const *) rec->hashed_password));
                field(f, "Password hashes", buf);
        }
        if (had_secrets)
                field(f, "Secrets", "present (not shown)");
        field(f, "Signature", signature);
}

/* status.<this machine>: runtime data the daemon adds to records it returns. */
static json_object *status_section(const UserRecord *rec) {
        json_object *status, *mine;
        const char *id = user_record_machine_id();

        if (!id || !json_object_object_get_ex(rec->json, "status", &status) ||
            !json_object_is_type(status, json_type_object) || !json_object_object_get_ex(status, id, &mine) ||
            !json_object_is_type(mine, json_type_object))
                return NULL;
        return mine;
}

static const char *status_string(json_object *status, const char *key) {
        json_object *v;
        if (!status || !json_object_object_get_ex(status, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static uint64_t status_u64(json_object *status, const char *key) {
        json_object *v;
        if (!status || !json_object_object_get_ex(status, key, &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0)
                return UINT64_MAX;
        return json_object_get_uint64(v);
}

static const char *privileged_string(const UserRecord *rec, const char *key) {
        json_object *p;
        if (!json_object_object_get_ex(rec->json, "privileged", &p) || !json_object_is_type(p, json_type_object))
                return NULL;
        return status_string(p, key);
}

/* "1.2G (12.5%)" of a total, when the total is known. */
static void field_size_of(FILE *f, const char *label, uint64_t bytes, uint64_t total) {
        char buf[SIZE_FORMAT_MAX], line[SIZE_FORMAT_MAX + 32];

        if (bytes == UINT64_MAX)
                return;
        size_format(bytes, buf);
        if (total != UINT64_MAX && total > 0 && bytes <= total) {
                unsigned permille = (unsigned) ((unsigned __int128) bytes * 1000 / total);
                snprintf(line, sizeof line, "%s (%u.%u%%)", buf, permille / 10, permille % 10);
        } else
                snprintf(line, sizeof line, "%s", buf);
        field(f, label, line);
}

void record_print_summary(FILE *f, const UserRecord *rec, bool color) {
        json_object *status = status_section(rec);
        const char *state = status_string(status, "state");
        char buf[64 + USER_NAME_MAX];

        field(f, "User name", rec->user_name);
        if (state) {
                const char *c = color ? state_color(state) : NULL;
                fprintf(f, "%26s: %s", "State", c ?: "");
                put_clean(f, state);
                fprintf(f, "%s\n", c ? ANSI_NORMAL : "");
        }
        field(f, "Real name", rec->real_name);
        field(f, "Disposition", user_disposition_to_string(rec->disposition));
        field_time(f, "Last change", rec->last_change_usec);
        field_time(f, "Last password change", rec->last_password_change_usec);
        field_bool(f, "Locked", rec->locked);
        field_time(f, "Not before", rec->not_before_usec);
        field_time(f, "Not after", rec->not_after_usec);
        if (rec->uid != UID_INVALID) {
                snprintf(buf, sizeof buf, "%u", rec->uid);
                field(f, "UID", buf);
                /* homed's convention: the per-user group has the UID's number. */
                snprintf(buf, sizeof buf, "%u", rec->gid != GID_INVALID ? rec->gid : rec->uid);
                field(f, "GID", buf);
        }
        field_list(f, "Member of", rec->member_of);
        field(f, "Email", rec->email_address);
        if (rec->home_directory)
                field(f, "Home directory", rec->home_directory);
        else if (rec->user_name) {
                snprintf(buf, sizeof buf, "/home/%s", rec->user_name);
                field(f, "Home directory", buf);
        }
        field(f, "Storage", user_storage_to_string(rec->storage));
        field_tpm2(f, rec);
        field_list(f, "PKCS11 Token", rec->pkcs11_token_uri);
        field(f, "Image path", rec->image_path);
        field(f, "File system", rec->file_system_type);
        field(f, "Shell", rec->shell);

        uint64_t size = status_u64(status, "diskSize");
        if (size == UINT64_MAX)
                size = rec->disk_size;
        field_size(f, "Disk size", size);
        field_size_of(f, "Disk usage", status_u64(status, "diskUsage"), size);
        field_size_of(f, "Disk free", status_u64(status, "diskFree"), size);
        field_size(f, "Disk floor", status_u64(status, "diskFloor"));
        field_size(f, "Disk ceiling", status_u64(status, "diskCeiling"));

        if (rec->hashed_password) {
                snprintf(buf, sizeof buf, "%zu", strv_length((char *const *) rec->hashed_password));
                field(f, "Passwords", buf);
        }
        field(f, "Password hint", privileged_string(rec, "passwordHint"));
        field_span(f, "Password change min", rec->password_change_min_usec);
        field_span(f, "Password change max", rec->password_change_max_usec);
        field_bool(f, "Password change now", rec->password_change_now);
        field_u64(f, "Good authentications", status_u64(status, "goodAuthenticationCounter"));
        field_u64(f, "Bad authentications", status_u64(status, "badAuthenticationCounter"));
        field_time(f, "Last good authentication", status_u64(status, "lastGoodAuthenticationUSec"));
        field_time(f, "Last bad authentication", status_u64(status, "lastBadAuthenticationUSec"));
        field(f, "Service", status_string(status, "service"));
}

/* ---- tables ----------------------------------------------------------- */

struct Table {
        size_t n_columns, n_rows;
        char **headers;
        char **cells;        /* n_rows * n_columns */
        const char **colors; /* n_rows * n_columns */
};

static char *clean_dup(const char *s) {
        char *c = strdup(s ?: "-");
        if (c)
                for (char *p = c; *p; p++)
                        if ((unsigned char) *p < 0x20 || *p == 0x7F)
                                *p = '?';
        return c;
}

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t = calloc(1, sizeof *t);
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        t->headers = calloc(n_columns, sizeof *t->headers);
        if (!t->headers)
                return table_free(t);
        for (size_t i = 0; i < n_columns; i++)
                if (!(t->headers[i] = clean_dup(headers[i])))
                        return table_free(t);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; t->headers && i < t->n_columns; i++)
                free(t->headers[i]);
        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->headers);
        free(t->cells);
        free(t->colors);
        free(t);
        return NULL;
}

int table_add_row(Table *t, const char *const *cells, const char *const *colors) {
        size_t base = t->n_rows * t->n_columns, n = base + t->n_columns;
        char **c = realloc(t->cells, n * sizeof *c);
        if (!c)
                return -ENOMEM;
        t->cells = c;
        const char **k = realloc(t->colors, n * sizeof *k);
        if (!k)
                return -ENOMEM;
        t->colors = k;
        for (size_t i = 0; i < t->n_columns; i++) {
                t->cells[base + i] = clean_dup(cells[i]);
                t->colors[base + i] = colors ? colors[i] : NULL;
                if (!t->cells[base + i]) {
                        while (i > 0)
                                free(t->cells[base + --i]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

size_t table_rows(const Table *t) {
        return t->n_rows;
}

void table_sort(Table *t, size_t column) {
        /* Insertion sort of whole rows: tables here are small, and it is stable. */
        for (size_t i = 1; i < t->n_rows; i++)
                for (size_t j = i; j > 0; j--) {
                        char **a = t->cells + (j - 1) * t->n_columns, **b = t->cells + j * t->n_columns;
                        if (strcmp(a[column], b[column]) <= 0)
                                break;
                        for (size_t c = 0; c < t->n_columns; c++) {
                                char *s = a[c];
                                a[c] = b[c];
                                b[c] = s;
                                const char **ka = t->colors + (j - 1) * t->n_columns + c,
                                           **kb = t->colors + j * t->n_columns + c, *x = *ka;
                                *ka = *kb;
                                *kb = x;
                        }
                }
}

static void print_row(const Table *t, FILE *f, char *const *cells, const char *const *colors, const size_t *width) {
        for (size_t i = 0; i < t->n_columns; i++) {
                bool last = i + 1 == t->n_columns;
                if (colors && colors[i])
                        fprintf(f, "%s%s%s", colors[i], cells[i], ANSI_NORMAL);
                else
                        fputs(cells[i], f);
                if (!last)
                        for (size_t w = utf8_width(cells[i]); w < width[i] + 1; w++)
                                fputc(' ', f);
        }
        fputc('\n', f);
}

void table_print(const Table *t, FILE *f, bool header, bool color) {
        _cleanup_free_ size_t *width = calloc(t->n_columns, sizeof *width);
        if (!width)
                return;
        for (size_t i = 0; i < t->n_columns; i++) {
                if (header)
                        width[i] = utf8_width(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++) {
                        size_t w = utf8_width(t->cells[r * t->n_columns + i]);
                        if (w > width[i])
                                width[i] = w;
                }
        }
        if (header)
                print_row(t, f, t->headers, NULL, width);
        for (size_t r = 0; r < t->n_rows; r++)
                print_row(t, f, t->cells + r * t->n_columns, color ? t->colors + r * t->n_columns : NULL, width);
}

static const char *const export_format_names[_EXPORT_FORMAT_MAX] = {
        [EXPORT_FORMAT_FULL] = "full",
        [EXPORT_FORMAT_STRIPPED] = "stripped",
        [EXPORT_FORMAT_MINIMAL] = "minimal",
};

int export_format_from_string(const char *s) {
        for (int i = 0; s && i < _EXPORT_FORMAT_MAX; i++)
                if (strcmp(s, export_format_names[i]) == 0)
                        return i;
        return -1;
}

const char *export_format_to_string(ExportFormat f) {
        return f >= 0 && f < _EXPORT_FORMAT_MAX ? export_format_names[f] : NULL;
}

int record_export(UserRecord *rec, ExportFormat f) {
        unsigned strip = USER_RECORD_SECRET;
        if (f >= EXPORT_FORMAT_STRIPPED)
                strip |= USER_RECORD_UNPORTABLE;
        if (f >= EXPORT_FORMAT_MINIMAL)
                strip |= USER_RECORD_SIGNATURE;
        return user_record_strip(rec, strip);
}
