/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Password hashes as crypt(3) strings, the form of privileged.hashedPassword. */

/* Hashes with yescrypt ("$y$…") and a fresh random salt. */
int password_hash(const char *password, char **ret);

/* Returns 1 if password matches any entry of hashes (NULL-terminated), 0 if
 * none does, negative errno on failure. Every entry is tried, so the time
 * taken does not tell which one matched. */
int password_verify(const char *password, const char *const *hashes);
