/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "user-record.h"

/* How homectl's output looks: aligned tables, record summaries, colours. */

typedef enum JsonMode {
        JSON_OFF,
        JSON_PRETTY,
        JSON_SHORT,
} JsonMode;

/* --export-format=, as systemd's homectl: what a record printed with
 * --json keeps. full: all of it (but secrets, never printed); stripped: not
 * this machine's binding and status, the signature kept — what another
 * machine takes (homectl register there, RegisterHome); minimal: not the
 * signature either. */
typedef enum ExportFormat {
        EXPORT_FORMAT_FULL,
        EXPORT_FORMAT_STRIPPED,
        EXPORT_FORMAT_MINIMAL,
        _EXPORT_FORMAT_MAX,
} ExportFormat;

/* -1 for an unknown name. */
int export_format_from_string(const char *s);
const char *export_format_to_string(ExportFormat f);
/* Strips rec for f (and always its secrets). 0 or -errno. */
int record_export(UserRecord *rec, ExportFormat f);

#define ANSI_GREEN "\033[0;32m"
#define ANSI_YELLOW "\033[0;33m"
#define ANSI_RED "\033[0;31m"
#define ANSI_NORMAL "\033[0m"

/* Colour only on a terminal, and only when $NO_COLOR is unset. */
bool colors_enabled(void);

/* Green for active, yellow for locked and for states in transition, red
 * for dirty; NULL (no colour) for everything else. */
const char *state_color(const char *state);

/* Display width of UTF-8 text: code points, not bytes. */
size_t utf8_width(const char *s);

/* "Label: value" lines, labels right-aligned; NULL/unset values print
 * nothing. Control characters in values print as '?'. */
void field(FILE *f, const char *label, const char *value);
void field_bool(FILE *f, const char *label, int value);
void field_u64(FILE *f, const char *label, uint64_t value);
void field_time(FILE *f, const char *label, uint64_t usec);
void field_span(FILE *f, const char *label, uint64_t usec);
void field_size(FILE *f, const char *label, uint64_t bytes);
void field_list(FILE *f, const char *label, const char **l);

/* The table of inspect --identity (a record checked offline). */
void record_print_offline(FILE *f, const UserRecord *rec, const char *signature, bool had_secrets);

/* The summary of inspect USER: the record plus its status section for this
 * machine (state, disk usage, authentication counters). */
void record_print_summary(FILE *f, const UserRecord *rec, bool color);

/* A new home's recovery key (canonical text), once, with what it is for
 * and how to use it, on fd (standard output). Everything goes out with
 * write(2): no stdio buffer is left holding the key. */
void print_recovery_key(int fd, const char *user, const char *key);

/* A table of text cells, printed with columns aligned. */
typedef struct Table Table;

Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        table_free(*t);
}
#define _cleanup_table_ __attribute__((cleanup(table_freep)))

/* Adds a row of n_columns cells (NULL prints as "-"). colors may be NULL,
 * or n_columns ANSI sequences (NULL for none). Cells are copied; control
 * characters become '?'. */
int table_add_row(Table *t, const char *const *cells, const char *const *colors);
size_t table_rows(const Table *t);
/* Sorts rows by one column, byte order. */
void table_sort(Table *t, size_t column);
/* Columns separated by one space; the last one is not padded. */
void table_print(const Table *t, FILE *f, bool header, bool color);
