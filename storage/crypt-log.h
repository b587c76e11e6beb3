/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libcryptsetup talks on stderr by default; its lines are details of the one
 * error its caller reports, so they go to the debug log. Every user of
 * libcryptsetup in a process (the LUKS backend, the pool measuring a LUKS
 * mapping before it shrinks a volume) calls this before its first
 * libcryptsetup call; the callback is process-wide, set once. */
void storage_crypt_log_setup(void);
