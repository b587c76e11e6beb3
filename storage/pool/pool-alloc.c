/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool-alloc.h"

typedef struct Owned {
        uint32_t pv;
        uint64_t first, count;
        size_t volume;
        size_t run;
} Owned;

static int owned_cmp(const void *a, const void *b) {
        const Owned *x = a, *y = b;
        if (x->pv != y->pv)
                return x->pv < y->pv ? -1 : 1;
        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        if (x->count != y->count)
                return x->count < y->count ? -1 : 1;
        return 0;
}

static int range_cmp(const void *a, const void *b) {
        const PoolExtentRange *x = a, *y = b;
        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return x->count < y->count ? -1 : x->count > y->count;
}

static const PoolPv *pool_pv(const PoolMetadata *md) {
        return pool_metadata_find_pv_role(md, POOL_PV_POOL);
}

/* ---- free map ------------------------------------------------------------ */

/* Ascending, merged ranges of pv that some run covers (clipped to the PV). */
static int used_ranges(const PoolMetadata *md, uint32_t pv, PoolExtentRange **ret, size_t *ret_n) {
        _cleanup_free_ PoolExtentRange *u = NULL;
        size_t n = 0, total = 0;

        for (size_t i = 0; i < md->n_volumes; i++)
                total += md->volumes[i].n_runs;
        if (total > 0) {
                u = calloc(total, sizeof *u);
                if (!u)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < md->n_volumes; i++)
                for (size_t j = 0; j < md->volumes[i].n_runs; j++) {
                        const PoolRun *r = &md->volumes[i].runs[j];
                        if (r->pv == pv && r->count > 0)
                                u[n++] = (PoolExtentRange) { r->first, r->count };
                }
        if (n > 1)
                qsort(u, n, sizeof *u, range_cmp);
        /* merge overlapping or touching ranges (saturating ends) */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t end = u[i].first + u[i].count < u[i].first ? UINT64_MAX : u[i].first + u[i].count;
                if (m > 0 && u[i].first <= u[m - 1].first + u[m - 1].count) {
                        if (end > u[m - 1].first + u[m - 1].count)
                                u[m - 1].count = end - u[m - 1].first;
                } else
                        u[m++] = (PoolExtentRange) { u[i].first, end - u[i].first };
        }
        *ret = TAKE_PTR(u);
        *ret_n = m;
        return 0;
}

int pool_free_ranges(const PoolMetadata *md, uint32_t pv, PoolExtentRange **ret, size_t *ret_n) {
        _cleanup_free_ PoolExtentRange *used = NULL, *f = NULL;
        size_t n_used = 0, n = 0;
        int r;

        if (pv >= md->n_pvs)
                return -EINVAL;
        r = used_ranges(md, pv, &used, &n_used);
        if (r < 0)
                return r;
        f = calloc(n_used + 1, sizeof *f);
        if (!f)
                return -ENOMEM;

        uint64_t pos = md->pvs[pv].first_extent, end = pos + md->pvs[pv].extent_count;
        for (size_t i = 0; i < n_used && pos < end; i++) {
                uint64_t ufirst = used[i].first, uend = used[i].first + used[i].count;
                if (uend <= pos)
                        continue;
                if (ufirst > pos)
                        f[n++] = (PoolExtentRange) { pos, (ufirst < end ? ufirst : end) - pos };
                pos = uend;
        }
        if (pos < end)
                f[n++] = (PoolExtentRange) { pos, end - pos };
        *ret = TAKE_PTR(f);
        *ret_n = n;
        return 0;
}

int pool_free_extents(const PoolMetadata *md, uint64_t *ret) {
        _cleanup_free_ PoolExtentRange *f = NULL;
        const PoolPv *pv = pool_pv(md);
        size_t n = 0;
        uint64_t total = 0;
        int r;

        if (pv) {
                r = pool_free_ranges(md, pv->index, &f, &n);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++)
                total += f[i].count;
        *ret = total;
        return 0;
}

/* ---- grow / shrink ----------------------------------------------------- */

static size_t total_runs(const PoolMetadata *md) {
        size_t n = 0;
        for (size_t i = 0; i < md->n_volumes; i++)
                n += md->volumes[i].n_runs;
        return n;
}

/* Appends run to runs[0..*n), merging with the last one when physically adjacent. */
static void append_run(PoolRun *runs, size_t *n, PoolRun run) {
        if (*n > 0) {
                PoolRun *last = &runs[*n - 1];
                if (last->pv == run.pv && last->first + last->count == run.first) {
                        last->count += run.count;
                        return;
                }
        }
        runs[(*n)++] = run;
}

/* Takes `count` extents from the top of free range f (nearest home). */
static PoolRun take_top(uint32_t pv, PoolExtentRange *f, uint64_t count) {
        PoolRun run = { .pv = pv, .first = f->first + f->count - count, .count = count };
        f->count -= count;
        return run;
}

int pool_volume_grow(PoolMetadata *md, const char *volume, uint64_t extents) {
        _cleanup_free_ PoolExtentRange *f = NULL;
        _cleanup_free_ PoolRun *staged = NULL;
        PoolVolume *v;
        const PoolPv *pv;
        size_t n_free = 0, n = 0;
        uint64_t available = 0, need = extents;
        int r;

        v = pool_metadata_find_volume(md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool: volume %s: no such volume", volume);
        if (extents == 0)
                return 0;
        pv = pool_pv(md);
        if (!pv)
                return log_error_errno(ENOSPC, "pool: volume %s: the pool has no pool partition to take extents from", volume);

        r = pool_free_ranges(md, pv->index, &f, &n_free);
        if (r < 0)
                return log_error_errno(r, "pool: volume %s: cannot compute the free extents: %m", volume);
        for (size_t i = 0; i < n_free; i++)
                available += f[i].count;
        if (available < extents)
                return log_error_errno(ENOSPC, "pool: volume %s: cannot grow by %" PRIu64 " extents, only %" PRIu64 " are free",
                                       volume, extents, available);

        /* At most one new run per free range. */
        staged = calloc(v->n_runs + n_free + 1, sizeof *staged);
        if (!staged)
                return log_oom();
        if (v->n_runs > 0)
                memcpy(staged, v->runs, v->n_runs * sizeof *staged);
        n = v->n_runs;

        /* 1. Extend the last run in place. */
        if (n > 0 && staged[n - 1].pv == pv->index) {
                PoolRun *last = &staged[n - 1];
                for (size_t i = 0; i < n_free; i++)
                        if (f[i].first == last->first + last->count) {
                                uint64_t t = need < f[i].count ? need : f[i].count;
                                last->count += t;
                                f[i].first += t;
                                f[i].count -= t;
                                need -= t;
                                break;
                        }
        }

        /* 2a. Other volumes: first fit from the home end, in one run. */
        if (need > 0 && strcmp(v->name, POOL_HOME_VOLUME) != 0)
                for (size_t i = n_free; i-- > 0;)
                        if (f[i].count >= need) {
                                append_run(staged, &n, take_top(pv->index, &f[i], need));
                                need = 0;
                                break;
                        }

        /* 2b. Highest free extents first, downwards. */
        for (size_t i = n_free; need > 0 && i-- > 0;) {
                uint64_t t = need < f[i].count ? need : f[i].count;
                if (t == 0)
                        continue;
                append_run(staged, &n, take_top(pv->index, &f[i], t));
                need -= t;
        }
        if (need > 0) /* cannot happen: available was counted above */
                return log_error_errno(EIO, "pool: volume %s: allocator bookkeeping error", volume);

        if (total_runs(md) - v->n_runs + n > POOL_RUNS_MAX)
                return log_error_errno(E2BIG, "pool: volume %s: growing needs %zu more extent runs, past the limit of %u: the pool is too fragmented",
                                       volume, n - v->n_runs, POOL_RUNS_MAX);

        /* Commit. */
        PoolRun *shrunk = reallocarray(staged, n, sizeof *staged);
        if (shrunk)
                staged = shrunk;
        free(v->runs);
        v->runs = TAKE_PTR(staged);
        v->n_runs = n;
        log_debug("pool: volume %s: grown by %" PRIu64 " extents to %" PRIu64 " in %zu runs",
                  volume, extents, pool_volume_extents(v), n);
        return 0;
}

int pool_volume_shrink(PoolMetadata *md, const char *volume, uint64_t extents) {
        PoolVolume *v;
        uint64_t total, floor;

        v = pool_metadata_find_volume(md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool: volume %s: no such volume", volume);
        if (extents == 0)
                return 0;
        total = pool_volume_extents(v);
        if (strcmp(v->name, POOL_HOME_VOLUME) == 0)
                floor = v->n_runs > 0 ? v->runs[0].count : 0;
        else
                floor = 1;
        if (total < floor || extents > total - floor)
                return log_error_errno(ERANGE, "pool: volume %s: cannot shrink by %" PRIu64 " extents: it has %" PRIu64 ", at least %" PRIu64 " must stay%s",
                                       volume, extents, total, floor,
                                       floor > 1 ? " (the home partition itself)" : "");

        uint64_t need = extents;
        while (need > 0) {
                PoolRun *last = &v->runs[v->n_runs - 1];
                if (last->count <= need) {
                        need -= last->count;
                        v->n_runs--;
                } else {
                        last->count -= need;
                        need = 0;
                }
        }
        log_debug("pool: volume %s: shrunk by %" PRIu64 " extents to %" PRIu64, volume, extents, total - extents);
        return 0;
}

bool pool_volume_name_valid_new(const char *name) {
        return pool_volume_name_valid(name) && name[0] != '-' && strcmp(name, POOL_HOME_VOLUME) != 0;
}

int pool_volume_add(PoolMetadata *md, const char *volume, const uint8_t uuid[16], uint32_t flags,
                    uint64_t extents) {
        int r;

        if (strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EINVAL, "pool: volume home is the home partition's own volume; only init makes it");
        if (!pool_volume_name_valid_new(volume))
                return log_error_errno(EINVAL, "pool: volume %.40s: invalid name for a new volume (1-%u characters of a-z 0-9 _ -, "
                                       "not starting with -)", volume, POOL_NAME_MAX);
        if (flags & ~POOL_VOLUME_FLAGS_KNOWN)
                return log_error_errno(EINVAL, "pool: volume %s: unknown flags 0x%" PRIx32, volume, flags);
        if (extents == 0)
                return log_error_errno(EINVAL, "pool: volume %s: a volume needs at least one extent", volume);
        if (pool_metadata_find_volume(md, volume))
                return log_error_errno(EEXIST, "pool: volume %s: already exists", volume);
        for (size_t i = 0; i < md->n_volumes; i++)
                if (memcmp(md->volumes[i].uuid, uuid, 16) == 0)
                        return log_error_errno(EEXIST, "pool: volume %s: its UUID is already used by volume %s", volume, md->volumes[i].name);
        if (md->n_volumes >= POOL_VOLUMES_MAX)
                return log_error_errno(E2BIG, "pool: volume %s: the pool already has %u volumes, the format's limit", volume, POOL_VOLUMES_MAX);
        uint64_t available;
        r = pool_free_extents(md, &available);
        if (r < 0)
                return log_error_errno(r, "pool: volume %s: cannot compute the free extents: %m", volume);
        if (available < extents)
                return log_error_errno(ENOSPC, "pool: volume %s: needs %" PRIu64 " extents, only %" PRIu64 " are free",
                                       volume, extents, available);

        PoolVolume *vs = reallocarray(md->volumes, md->n_volumes + 1, sizeof *vs);
        if (!vs)
                return log_oom();
        md->volumes = vs;
        PoolVolume *v = &vs[md->n_volumes++];
        *v = (PoolVolume) { .flags = flags };
        strcpy(v->name, volume);
        memcpy(v->uuid, uuid, 16);

        r = pool_volume_grow(md, volume, extents);
        if (r < 0) {
                md->n_volumes--; /* nothing else changed; the array keeps its size */
                return r;
        }
        return 0;
}

int pool_volume_drop(PoolMetadata *md, const char *volume) {
        PoolVolume *v = pool_metadata_find_volume(md, volume);

        if (!v)
                return log_error_errno(ENOENT, "pool: volume %s: no such volume", volume);
        if (strcmp(volume, POOL_HOME_VOLUME) == 0)
                return log_error_errno(EPERM, "pool: volume home cannot be removed: it is /home on the home partition");
        size_t i = (size_t) (v - md->volumes);
        free(v->runs);
        memmove(&md->volumes[i], &md->volumes[i + 1], (md->n_volumes - i - 1) * sizeof *md->volumes);
        md->n_volumes--;
        return 0;
}

/* ---- release ------------------------------------------------------------- */

int pool_releasable(const PoolMetadata *md, uint64_t *ret) {
        _cleanup_free_ PoolExtentRange *f = NULL;
        const PoolPv *pv = pool_pv(md);
        size_t n = 0;
        int r;

        *ret = 0;
        if (!pv)
                return 0;
        r = pool_free_ranges(md, pv->index, &f, &n);
        if (r < 0)
                return r;
        if (n > 0 && f[0].first == pv->first_extent)
                *ret = f[0].count;
        return 0;
}

int pool_release(PoolMetadata *md, uint64_t extents, uint64_t *ret_shift) {
        uint64_t can;
        int r;

        r = pool_releasable(md, &can);
        if (r < 0)
                return log_error_errno(r, "pool: cannot compute the releasable extents: %m");
        if (extents > can)
                return log_error_errno(ENOSPC, "pool: cannot release %" PRIu64 " extents: only %" PRIu64 " free extents lie next to root",
                                       extents, can);
        if (ret_shift)
                *ret_shift = 0;
        if (extents == 0)
                return 0;

        PoolPv *pv = &md->pvs[pool_pv(md)->index];
        pv->first_extent += extents;
        pv->extent_count -= extents;
        pv->size -= extents * md->extent_size;
        if (ret_shift)
                *ret_shift = extents * md->extent_size;
        log_debug("pool: released %" PRIu64 " extents next to root; the pool partition now starts at extent %" PRIu64,
                  extents, pv->first_extent);
        return 0;
}

/* ---- check --------------------------------------------------------------- */

void pool_check_report_done(PoolCheckReport *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_problems; i++)
                free(r->problems[i].message);
        r->problems = mfree(r->problems);
        r->n_problems = 0;
}

_printf_(8, 9) static int add_problem(PoolCheckReport *rep, PoolProblemKind kind, const char *volume, const char *other,
                                      uint32_t pv, uint64_t first, uint64_t count, const char *fmt, ...) {
        PoolProblem *p = reallocarray(rep->problems, rep->n_problems + 1, sizeof *p);
        va_list ap;

        if (!p)
                return -ENOMEM;
        rep->problems = p;
        p = &p[rep->n_problems];
        *p = (PoolProblem) { .kind = kind, .pv = pv, .first = first, .count = count };
        snprintf(p->volume, sizeof p->volume, "%s", volume ?: "");
        snprintf(p->other, sizeof p->other, "%s", other ?: "");
        va_start(ap, fmt);
        if (vasprintf(&p->message, fmt, ap) < 0)
                p->message = NULL;
        va_end(ap);
        if (!p->message)
                return -ENOMEM;
        rep->n_problems++;
        return 0;
}

/* out = a \ b, both ascending and merged. */
static int range_subtract(const PoolExtentRange *a, size_t na, const PoolExtentRange *b, size_t nb,
                          PoolExtentRange **ret, size_t *ret_n) {
        _cleanup_free_ PoolExtentRange *out = calloc(na + nb + 1, sizeof *out);
        size_t n = 0, j = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < na; i++) {
                uint64_t pos = a[i].first, end = a[i].first + a[i].count;
                while (j < nb && b[j].first + b[j].count <= pos)
                        j++;
                for (size_t k = j; k < nb && b[k].first < end && pos < end; k++) {
                        if (b[k].first > pos)
                                out[n++] = (PoolExtentRange) { pos, b[k].first - pos };
                        if (b[k].first + b[k].count > pos)
                                pos = b[k].first + b[k].count;
                }
                if (pos < end)
                        out[n++] = (PoolExtentRange) { pos, end - pos };
        }
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}

/* Ascending merged ranges on pv from a list of runs (only valid runs). */
static int runs_on_pv(const PoolMetadata *md, const PoolRun *runs, size_t n_runs, uint32_t pv,
                      PoolExtentRange **ret, size_t *ret_n) {
        _cleanup_free_ PoolExtentRange *u = calloc(n_runs + 1, sizeof *u);
        size_t n = 0, m = 0;

        if (!u)
                return -ENOMEM;
        for (size_t i = 0; i < n_runs; i++)
                if (runs[i].pv == pv && runs[i].count > 0 && runs[i].count <= POOL_PV_SIZE_MAX &&
                    runs[i].first <= POOL_PV_SIZE_MAX)
                        u[n++] = (PoolExtentRange) { runs[i].first, runs[i].count };
        if (n > 1)
                qsort(u, n, sizeof *u, range_cmp);
        for (size_t i = 0; i < n; i++) {
                if (m > 0 && u[i].first <= u[m - 1].first + u[m - 1].count) {
                        uint64_t end = u[i].first + u[i].count;
                        if (end > u[m - 1].first + u[m - 1].count)
                                u[m - 1].count = end - u[m - 1].first;
                } else
                        u[m++] = u[i];
        }
        *ret = TAKE_PTR(u);
        *ret_n = m;
        return 0;
}

static int check_live(const PoolMetadata *md, const PoolLive *l, PoolCheckReport *rep) {
        const PoolVolume *v = pool_metadata_find_volume(md, l->volume);
        int r;

        if (!v)
                return add_problem(rep, POOL_PROBLEM_UNOWNED_MAPPED, l->volume, NULL, 0, 0, 0,
                                   "volume %s is active but not in the metadata: everything it maps is owned by nobody", l->volume);

        for (uint32_t pv = 0; pv < md->n_pvs; pv++) {
                _cleanup_free_ PoolExtentRange *owned = NULL, *mapped = NULL, *diff = NULL;
                size_t n_owned = 0, n_mapped = 0, n_diff = 0;

                r = runs_on_pv(md, v->runs, v->n_runs, pv, &owned, &n_owned);
                if (r < 0)
                        return r;
                r = runs_on_pv(md, l->runs, l->n_runs, pv, &mapped, &n_mapped);
                if (r < 0)
                        return r;

                r = range_subtract(owned, n_owned, mapped, n_mapped, &diff, &n_diff);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_diff; i++) {
                        rep->leaked_extents += diff[i].count;
                        r = add_problem(rep, POOL_PROBLEM_LEAKED, v->name, NULL, pv, diff[i].first, diff[i].count,
                                        "volume %s owns extents %" PRIu64 "+%" PRIu64 " of physical volume %" PRIu32 " but its live table does not map them (leaked, or a grow to finish)",
                                        v->name, diff[i].first, diff[i].count, pv);
                        if (r < 0)
                                return r;
                }
                diff = mfree(diff);
                r = range_subtract(mapped, n_mapped, owned, n_owned, &diff, &n_diff);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_diff; i++) {
                        r = add_problem(rep, POOL_PROBLEM_UNOWNED_MAPPED, v->name, NULL, pv, diff[i].first, diff[i].count,
                                        "volume %s maps extents %" PRIu64 "+%" PRIu64 " of physical volume %" PRIu32 " that the metadata does not give it",
                                        v->name, diff[i].first, diff[i].count, pv);
                        if (r < 0)
                                return r;
                }
        }
        for (size_t i = 0; i < l->n_runs; i++)
                if (l->runs[i].pv >= md->n_pvs) {
                        r = add_problem(rep, POOL_PROBLEM_UNOWNED_MAPPED, v->name, NULL, l->runs[i].pv, l->runs[i].first, l->runs[i].count,
                                        "volume %s maps extents of unknown physical volume %" PRIu32, v->name, l->runs[i].pv);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int pool_check(const PoolMetadata *md, const PoolLive *live, size_t n_live, PoolCheckReport *ret) {
        PoolCheckReport rep = {};
        _cleanup_free_ Owned *all = NULL;
        size_t n = 0, total = total_runs(md);
        int r;

        if (total > 0) {
                all = calloc(total, sizeof *all);
                if (!all)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < md->n_volumes; i++) {
                const PoolVolume *v = &md->volumes[i];
                for (size_t j = 0; j < v->n_runs; j++) {
                        const PoolRun *run = &v->runs[j];
                        if (run->pv >= md->n_pvs) {
                                r = add_problem(&rep, POOL_PROBLEM_UNKNOWN_PV, v->name, NULL, run->pv, run->first, run->count,
                                                "volume %s: run %zu references unknown physical volume %" PRIu32, v->name, j, run->pv);
                                if (r < 0)
                                        goto fail;
                                continue;
                        }
                        if (run->count == 0) {
                                r = add_problem(&rep, POOL_PROBLEM_EMPTY_RUN, v->name, NULL, run->pv, run->first, 0,
                                                "volume %s: run %zu is empty", v->name, j);
                                if (r < 0)
                                        goto fail;
                                continue;
                        }
                        const PoolPv *pv = &md->pvs[run->pv];
                        if (!pool_run_within_pv(run, pv)) {
                                r = add_problem(&rep, POOL_PROBLEM_OUTSIDE_PV, v->name, NULL, run->pv, run->first, run->count,
                                                "volume %s: run %zu (extents %" PRIu64 "+%" PRIu64 ") lies outside physical volume %" PRIu32,
                                                v->name, j, run->first, run->count, run->pv);
                                if (r < 0)
                                        goto fail;
                                continue;
                        }
                        all[n++] = (Owned) { .pv = run->pv, .first = run->first, .count = run->count, .volume = i, .run = j };
                }
        }

        /* Sweep: each run against the furthest-reaching run before it. */
        if (n > 1)
                qsort(all, n, sizeof *all, owned_cmp);
        for (size_t i = 0, reach = 0; i < n; i++) {
                if (i > 0 && all[reach].pv == all[i].pv && all[reach].first + all[reach].count > all[i].first) {
                        const Owned *a = &all[reach], *b = &all[i];
                        uint64_t end = a->first + a->count < b->first + b->count ? a->first + a->count : b->first + b->count;
                        const char *va = md->volumes[a->volume].name, *vb = md->volumes[b->volume].name;

                        rep.doubly_owned_extents += end - b->first;
                        if (a->volume == b->volume)
                                r = add_problem(&rep, POOL_PROBLEM_DOUBLY_OWNED, va, vb, b->pv, b->first, end - b->first,
                                                "volume %s uses extents %" PRIu64 "+%" PRIu64 " of physical volume %" PRIu32 " twice",
                                                va, b->first, end - b->first, b->pv);
                        else
                                r = add_problem(&rep, POOL_PROBLEM_DOUBLY_OWNED, va, vb, b->pv, b->first, end - b->first,
                                                "extents %" PRIu64 "+%" PRIu64 " of physical volume %" PRIu32 " are owned by both %s and %s",
                                                b->first, end - b->first, b->pv, va, vb);
                        if (r < 0)
                                goto fail;
                }
                if (i == 0 || all[reach].pv != all[i].pv ||
                    all[i].first + all[i].count > all[reach].first + all[reach].count)
                        reach = i;
        }

        const PoolPv *home_pv = pool_metadata_find_pv_role(md, POOL_PV_HOME);
        const PoolVolume *home = pool_metadata_find_volume(md, POOL_HOME_VOLUME);
        if (home_pv && (!home || home->n_runs == 0 || home->runs[0].pv != home_pv->index ||
                        home->runs[0].first != home_pv->first_extent || home->runs[0].count != home_pv->extent_count)) {
                r = add_problem(&rep, POOL_PROBLEM_HOME_FIRST_RUN, POOL_HOME_VOLUME, NULL, home_pv->index,
                                home_pv->first_extent, home_pv->extent_count,
                                home ? "volume home: its first run is not the home partition's data area" :
                                       "there is a home physical volume but no volume \"home\"");
                if (r < 0)
                        goto fail;
        }

        for (size_t i = 0; i < n_live; i++) {
                r = check_live(md, &live[i], &rep);
                if (r < 0)
                        goto fail;
        }

        *ret = rep;
        return (int) (rep.n_problems > INT32_MAX ? INT32_MAX : rep.n_problems);

fail:
        pool_check_report_done(&rep);
        return r;
}

/* ---- tables --------------------------------------------------------------- */

int pool_volume_table(const PoolMetadata *md, const char *volume, uint32_t sector_size,
                      PoolTarget **ret, size_t *ret_n) {
        _cleanup_free_ PoolTarget *t = NULL;
        const PoolVolume *v;
        uint64_t start = 0, unit;
        size_t n = 0;

        if (sector_size != 512 && sector_size != 4096)
                return log_error_errno(EINVAL, "pool: volume %s: sector size %" PRIu32 " is neither 512 nor 4096", volume, sector_size);
        unit = sector_size / POOL_SECTOR_SIZE;
        v = pool_metadata_find_volume(md, volume);
        if (!v)
                return log_error_errno(ENOENT, "pool: volume %s: no such volume", volume);
        if (v->n_runs == 0)
                return log_error_errno(EBADMSG, "pool: volume %s: has no extents", volume);
        t = calloc(v->n_runs, sizeof *t);
        if (!t)
                return log_oom();

        for (size_t i = 0; i < v->n_runs; i++) {
                const PoolRun *run = &v->runs[i];
                if (run->pv >= md->n_pvs)
                        return log_error_errno(EBADMSG, "pool: volume %s: run %zu references unknown physical volume %" PRIu32,
                                               volume, i, run->pv);
                const PoolPv *pv = &md->pvs[run->pv];
                if (run->count == 0 || !pool_run_within_pv(run, pv) || pv->data_start > POOL_PV_SIZE_MAX || md->extent_size > POOL_EXTENT_SIZE_MAX)
                        return log_error_errno(EBADMSG, "pool: volume %s: run %zu lies outside physical volume %" PRIu32,
                                               volume, i, run->pv);
                /* Bounded: extent indexes ≤ 2^48 after validation, but the
                 * product with the extent size is checked against the PV. */
                uint64_t rel = run->first - pv->first_extent;
                if (rel > pv->size / md->extent_size || run->count > pv->size / md->extent_size)
                        return log_error_errno(EBADMSG, "pool: volume %s: run %zu lies past the end of physical volume %" PRIu32,
                                               volume, i, run->pv);
                uint64_t offset = pv->data_start + rel * md->extent_size;
                uint64_t length = run->count * md->extent_size;
                if (offset > pv->size || length > pv->size - offset)
                        return log_error_errno(EBADMSG, "pool: volume %s: run %zu lies past the end of physical volume %" PRIu32,
                                               volume, i, run->pv);
                if (offset % unit != 0 || length % unit != 0 || start % unit != 0)
                        return log_error_errno(EBADMSG, "pool: volume %s: run %zu is not aligned to the %" PRIu32 "-byte sector",
                                               volume, i, sector_size);

                if (n > 0 && t[n - 1].pv == run->pv && t[n - 1].offset + t[n - 1].length == offset)
                        t[n - 1].length += length;
                else
                        t[n++] = (PoolTarget) { .start = start, .length = length, .pv = run->pv, .offset = offset };
                start += length;
        }
        *ret = TAKE_PTR(t);
        *ret_n = n;
        return 0;
}
