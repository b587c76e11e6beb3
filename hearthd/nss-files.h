/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
#include <stddef.h>

#include "user-record.h"

/* <dir>/passwd and <dir>/group in passwd(5)/group(5) format for
 * libnss_hearth: one line per managed user, and a same-named group with the
 * same ID. Each file is replaced atomically. Fields that would break the
 * format (':' or a newline in a real name) are cleaned, not trusted. */
int nss_files_write(const char *dir, const char *home_root, UserRecord *const *records, size_t n);
