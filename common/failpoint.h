/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test-only kill points: a test names a step in $HEARTH_FAILPOINT, and the
 * process that reaches it SIGKILLs itself there (or, for "<step>:stop",
 * SIGSTOPs itself: the test looks at what it holds, then sends SIGCONT or
 * SIGKILL). One mechanism for every program: the pool's steps
 * (storage/pool/pool.h, listed by `hearth-pool failpoints`), a home's create
 * and remove (home-create-*, home-remove-*), the skel template's rebuild
 * (skel-template-*). hearthd passes the variable on to its workers. */

#define FAILPOINT_ENV "HEARTH_FAILPOINT"

void failpoint(const char *name);
