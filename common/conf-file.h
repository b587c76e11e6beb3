/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hearth.conf: "[Section]" headers, "Key=Value" lines, '#' and ';' start
 * comments. The file is looked up as systemd looks up its own: the first of
 * /etc/hearth/hearth.conf, /run/hearth/hearth.conf and
 * /usr/lib/hearth/hearth.conf that exists is the one read, so an admin's
 * copy in /etc replaces the vendor's whole. */

#define CONFIG_FILE_NAME "hearth.conf"
#define CONFIG_LINE_MAX 1024
#define CONFIG_FILE_MAX (256 * 1024)

/* Returns 0 and the value stored, or a negative errno for a value that does
 * not parse (the caller names file and line). */
typedef int (*ConfigParseFn)(const char *value, void *data);

typedef struct ConfigItem {
        const char *section;
        const char *key;
        ConfigParseFn parse;
        void *data;
} ConfigItem;

/* The path of the file to read, or NULL (and 0) when none exists. */
int config_find(char **ret_path);

/* Reads path and hands every known key to its parser. Unknown sections and
 * keys are logged and skipped, so that a newer file does not stop an older
 * daemon; a malformed line or value is an error naming path:line. */
int config_parse_file(const char *path, const ConfigItem *items, size_t n_items);

/* config_parse_file() on path, or (NULL) on the file config_find() picks;
 * no file at all is no error: every setting keeps its default. */
int config_load(const char *path, const ConfigItem *items, size_t n_items);

/* Parsers for common value types. */
/* The words a yes/no setting takes, in hearth.conf and on homectl's
 * command line, as systemd's: 1 yes y true t on / 0 no n false f off, in
 * any case. 0, or -EINVAL. */
int parse_boolean(const char *s, bool *ret);

int config_parse_bool(const char *value, void *data);      /* bool */
int config_parse_size(const char *value, void *data);      /* uint64_t bytes, "1G" */
int config_parse_seconds(const char *value, void *data);   /* uint64_t µs, "30", "30s", "5min" */
