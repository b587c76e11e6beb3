/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The functions glibc's NSS (and nss_wrapper) look up in libnss_hearth.so.2
 * for "passwd: … hearth" and "group: … hearth" in /etc/nsswitch.conf. They
 * follow the NSS module contract: SUCCESS fills the caller's structure from
 * the caller's buffer; NOTFOUND with *errnop = ENOENT when there is no such
 * entry (or no file); TRYAGAIN with *errnop = ERANGE when the buffer is too
 * small (the caller retries with a larger one); UNAVAIL when the file cannot
 * be used (*errnop says why). They never print anything. */

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sys/types.h>

enum nss_status _nss_hearth_getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t buflen,
                                       int *errnop);
enum nss_status _nss_hearth_getpwuid_r(uid_t uid, struct passwd *pwd, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_hearth_setpwent(int stayopen);
enum nss_status _nss_hearth_getpwent_r(struct passwd *pwd, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_hearth_endpwent(void);

enum nss_status _nss_hearth_getgrnam_r(const char *name, struct group *grp, char *buf, size_t buflen,
                                       int *errnop);
enum nss_status _nss_hearth_getgrgid_r(gid_t gid, struct group *grp, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_hearth_setgrent(int stayopen);
enum nss_status _nss_hearth_getgrent_r(struct group *grp, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_hearth_endgrent(void);

/* Adds the GIDs of the groups whose member lists name user (but not group,
 * the user's primary one, nor one already in the array) to (*groupsp)[*start…],
 * growing the array (realloc, *size) up to limit entries (limit <= 0: no
 * limit). */
enum nss_status _nss_hearth_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
                                           gid_t **groupsp, long int limit, int *errnop);
