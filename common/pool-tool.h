/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* hearth-pool's command line as hearthd runs it (io.hearth.Pool1 and
 * auto-grow) and its exit statuses, which hearthd turns into D-Bus errors
 * and `homectl pool` passes on as its own. hearth-pool's --help describes
 * them for people. */

/* The default path; hearthd --pool-tool= overrides it. */
#ifndef HEARTH_POOL_TOOL_PATH
#define HEARTH_POOL_TOOL_PATH "/usr/libexec/hearth-pool"
#endif

/* Commands. */
#define POOL_TOOL_STATUS     "status"
#define POOL_TOOL_CHECK      "check"
#define POOL_TOOL_ACTIVATE   "activate"
#define POOL_TOOL_INIT       "init"
#define POOL_TOOL_GROW       "grow"     /* VOLUME SIZE|+SIZE */
#define POOL_TOOL_SHRINK     "shrink"   /* VOLUME SIZE|-SIZE */
#define POOL_TOOL_CREATE     "create"
#define POOL_TOOL_REMOVE     "remove"
#define POOL_TOOL_RELEASE    "release"
#define POOL_TOOL_FAILPOINTS "failpoints"

/* Options; those ending in '=' take their value in the same argument. */
#define POOL_TOOL_OPT_JSON        "--json"
#define POOL_TOOL_OPT_REPAIR      "--repair"
#define POOL_TOOL_OPT_FORCE       "--force"
#define POOL_TOOL_OPT_EXTENT_SIZE "--extent-size="
#define POOL_TOOL_OPT_DEVICES     "--devices="

/* A grow or shrink SIZE with this first is a change, not a target. */
#define POOL_TOOL_GROW_BY   '+'
#define POOL_TOOL_SHRINK_BY '-'

enum {
        POOL_TOOL_EXIT_OK = 0,
        POOL_TOOL_EXIT_FAILED = 1,   /* nothing, or a consistent part, was done; stderr says why */
        POOL_TOOL_EXIT_USAGE = 2,
        POOL_TOOL_EXIT_PROBLEMS = 3, /* check found problems (left after --repair) */
        POOL_TOOL_EXIT_NO_POOL = 4,  /* no PV found, a PV missing, metadata corrupt */
};
