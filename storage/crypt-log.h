/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every user of libcryptsetup in a process (the LUKS backend, the pool
 * measuring a LUKS mapping before it shrinks a volume) calls this before its
 * first libcryptsetup call: it opens the library (common/dlopen-cryptsetup.h;
 * 0, or -EOPNOTSUPP logged, naming the library) and, once, sets the
 * process-wide log callback — libcryptsetup talks on stderr by default, and
 * its lines are details of the one error its caller reports, so they go to
 * the debug log. */
int storage_crypt_log_setup(void);
