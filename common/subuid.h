/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* /etc/subuid: the UIDs a user may map into user namespaces she makes
 * (newuidmap). A process running as one of them is hers for every limit
 * kept per user: otherwise 65536 subordinate UIDs are 65536 users. */

#define SUBUID_PATH "/etc/subuid"

/* The UID that uid counts as: the owner of the subordinate range holding
 * it (her name, or a numeric UID, looked up), or, if her name is unknown,
 * the range's first UID (so the range counts as one); never root; uid
 * itself when it is an account of its own (a range over one is a broken
 * file), when no range holds it, or when the file cannot be read. Reads
 * the file again only when it changed. Logs nothing. */
uid_t subuid_owner(uid_t uid);

/* The same for another file (tests). */
uid_t subuid_owner_in(const char *path, uid_t uid);

/* The owner of UIDs whose range cannot be told (a file past 8 MiB or
 * 262,144 ranges) and of ranges that would be root's: one share for all,
 * never root's. */
#define SUBUID_OWNER_UNKNOWN ((uid_t) 0xfffffffdU)
