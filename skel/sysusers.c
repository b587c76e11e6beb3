/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder until the parser lands; see sysusers.h. */
#include <errno.h>

#include "sysusers.h"

int sysusers_parse_line(const char *line, SysusersEntry *ret, char **ret_error) {
        return -EOPNOTSUPP;
}
