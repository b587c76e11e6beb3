/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Libraries only some operations need (libcryptsetup, libdevmapper, tpm2-tss,
 * libblkid, libfdisk, libudev, libselinux) are opened with dlopen() when an
 * operation first needs them, not linked: a subvolume or directory create
 * maps none of them (each costs page faults at start-up, most with the page
 * cache cold). Each library has one file, dlopen-<lib>.[ch], declaring a
 * pointer sym_<function> for every function of it Hearth calls and
 * dlopen_<lib>() that fills them in; code calls dlopen_<lib>() before its
 * first sym_ call and the sym_ functions after it. The meson dependency of
 * such a library gives its headers only (partial_dependency), so a direct
 * call fails to link instead of bringing the library back. */

#include <stdbool.h>
#include <stddef.h>

/* `extern typeof(f) *sym_f;` — in the library's header. */
#define DLSYM_PROTOTYPE(symbol) extern typeof(symbol) *sym_##symbol
/* The pointer's definition — in the library's .c. */
#define DLSYM_FUNCTION(symbol) typeof(symbol) *sym_##symbol = NULL
/* An argument pair of dlopen_many_sym(): the pointer and the name. */
#define DLSYM_ARG(symbol)                                                                                  \
        ({                                                                                                 \
                _Static_assert(__builtin_types_compatible_p(typeof(sym_##symbol), typeof(&symbol)), #symbol); \
                (void **) &sym_##symbol;                                                                   \
        }), #symbol

/* Opens soname (once; later calls return the first call's result) and
 * resolves each (void **, const char *) pair up to a NULL. A failure is
 * logged once at log_level (LOG_ERR where the library is required; lower
 * where its absence just means a feature is off), naming the library, what
 * needs it (`needed_for`, e.g. "LUKS homes") and dlerror()'s reason;
 * -EOPNOTSUPP. State is kept in *state (0 untried, 1 loaded, negative errno
 * failed), one per library. */
int dlopen_many_sym(int *state, int log_level, const char *soname, const char *needed_for, ...)
        __attribute__((sentinel));

/* For tests: whether the calling process has soname mapped (reads
 * /proc/self/maps), 1 or 0; negative errno if the maps cannot be read. */
int dlopen_is_mapped(const char *soname);
