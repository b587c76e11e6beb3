/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool as JSON: status (PVs, copies, volumes, free space) and check
 * (codec and live tables against the metadata, with --repair rewriting
 * stale copies and reloading lagging tables). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dm-linear.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pool-alloc.h"
#include "pool-internal.h"

static json_object *json_uuid(const uint8_t u[16]) {
        char s[37];
        return json_object_new_string(pool_uuid_to_string(u, s));
}

static json_object *copies_json(const PoolDevice *d, const PoolMetadata *md) {
        json_object *o = json_object_new_object();
        for (unsigned s = 0; s < 2; s++) {
                json_object *c = json_object_new_object();
                bool ok = d->geometry_ok && d->pick.error[s] == 0 && (d->metadata_ok || d->pick.reason[s] == NULL) &&
                          d->pick.seq[s] > 0;
                json_object_object_add(c, "valid", json_object_new_boolean(ok));
                if (ok)
                        json_object_object_add(c, "seq", json_object_new_uint64(d->pick.seq[s]));
                else
                        json_object_object_add(c, "error", json_object_new_string(d->pick.reason[s] ?: d->metadata_error ?: "unreadable"));
                json_object_object_add(o, s == 0 ? "A" : "B", c);
        }
        if (d->metadata_ok) {
                unsigned cur = d->pick.current, other = !cur;
                char why[512];
                json_object_object_add(o, "current", json_object_new_string(cur == 0 ? "A" : "B"));
                if (d->pick.error[other])
                        snprintf(why, sizeof why, "copy %c is invalid: %s", "AB"[other], d->pick.reason[other] ?: "?");
                else if (d->pick.seq[other] < d->pick.seq[cur])
                        snprintf(why, sizeof why, "copy %c is older (sequence %" PRIu64 " < %" PRIu64 ")", "AB"[other],
                                 d->pick.seq[other], d->pick.seq[cur]);
                else
                        snprintf(why, sizeof why, "copy %c is identical", "AB"[other]);
                json_object_object_add(o, "why_not_other", json_object_new_string(why));
                json_object_object_add(o, "stale", json_object_new_boolean(md && d->md->seq < md->seq));
        } else
                json_object_object_add(o, "current", NULL);
        return o;
}

int pool_status(Pool *p, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *pvs = json_object_new_array(),
                                   *vols = json_object_new_array();
        const PoolMetadata *md = p->md;
        uint64_t esb = md ? md->extent_size * 512 : 0;

        if (!o || !pvs || !vols)
                return log_oom();
        json_object_object_add(o, "valid", json_object_new_boolean(md != NULL));
        if (!md)
                json_object_object_add(o, "error", json_object_new_string(p->md_error ?: "no metadata"));
        else {
                uint64_t free_ext = 0, rel = 0;
                json_object_object_add(o, "pool_uuid", json_uuid(md->pool_uuid));
                json_object_object_add(o, "seq", json_object_new_uint64(md->seq));
                json_object_object_add(o, "extent_size", json_object_new_uint64(esb));
                json_object_object_add(o, "metadata_from", json_object_new_string(p->devs[p->md_from].path));
                (void) pool_free_extents(md, &free_ext);
                (void) pool_releasable(md, &rel);
                json_object_object_add(o, "free_extents", json_object_new_uint64(free_ext));
                json_object_object_add(o, "free_bytes", json_object_new_uint64(free_ext * esb));
                json_object_object_add(o, "releasable_extents", json_object_new_uint64(rel));
                json_object_object_add(o, "releasable_bytes", json_object_new_uint64(rel * esb));
        }
        size_t order[POOL_PVS_MAX];
        for (size_t i = 0; i < p->n_devs; i++) { /* by PV index */
                size_t k = i;
                for (; k > 0 && p->devs[order[k - 1]].geometry.pv_index > p->devs[i].geometry.pv_index; k--)
                        order[k] = order[k - 1];
                order[k] = i;
        }
        for (size_t i = 0; i < p->n_devs; i++) {
                const PoolDevice *d = &p->devs[order[i]];
                json_object *j = json_object_new_object();
                json_object_object_add(j, "device", json_object_new_string(d->path));
                json_object_object_add(j, "index", json_object_new_uint64(d->geometry.pv_index));
                json_object_object_add(j, "uuid", json_uuid(d->geometry.pv_uuid));
                if (md && d->geometry.pv_index < md->n_pvs) {
                        const PoolPv *pv = &md->pvs[d->geometry.pv_index];
                        _cleanup_free_ PoolExtentRange *fr = NULL;
                        size_t nfr = 0;
                        uint64_t fe = 0;
                        if (pool_free_ranges(md, pv->index, &fr, &nfr) >= 0)
                                for (size_t k = 0; k < nfr; k++)
                                        fe += fr[k].count;
                        json_object_object_add(j, "role", json_object_new_string(pool_pv_role_to_string(pv->role)));
                        json_object_object_add(j, "size", json_object_new_uint64(pv->size * 512));
                        json_object_object_add(j, "data_start", json_object_new_uint64(pv->data_start * 512));
                        json_object_object_add(j, "first_extent", json_object_new_uint64(pv->first_extent));
                        json_object_object_add(j, "extent_count", json_object_new_uint64(pv->extent_count));
                        json_object_object_add(j, "free_extents", json_object_new_uint64(pv->role == POOL_PV_HOME ? 0 : fe));
                }
                if (d->dm_adjust)
                        json_object_object_add(j, "kernel_partition_stale", json_object_new_boolean(true));
                json_object_object_add(j, "copies", copies_json(d, md));
                json_object_array_add(pvs, j);
        }
        json_object_object_add(o, "pvs", json_object_get(pvs));
        for (size_t i = 0; md && i < md->n_volumes; i++) {
                const PoolVolume *v = &md->volumes[i];
                json_object *j = json_object_new_object(), *runs = json_object_new_array();
                DmLinearInfo info = {};
                char name[64], node[128];
                json_object_object_add(j, "name", json_object_new_string(v->name));
                json_object_object_add(j, "uuid", json_uuid(v->uuid));
                json_object_object_add(j, "extents", json_object_new_uint64(pool_volume_extents(v)));
                json_object_object_add(j, "size", json_object_new_uint64(pool_volume_extents(v) * esb));
                json_object_object_add(j, "luks", json_object_new_boolean(v->flags & POOL_VOLUME_LUKS));
                for (size_t k = 0; k < v->n_runs; k++) {
                        json_object *rj = json_object_new_object();
                        json_object_object_add(rj, "pv", json_object_new_uint64(v->runs[k].pv));
                        json_object_object_add(rj, "first", json_object_new_uint64(v->runs[k].first));
                        json_object_object_add(rj, "count", json_object_new_uint64(v->runs[k].count));
                        json_object_array_add(runs, rj);
                }
                json_object_object_add(j, "runs", runs);
                pool_dm_name(v->name, name);
                snprintf(node, sizeof node, "/dev/mapper/%s", name);
                json_object_object_add(j, "device", json_object_new_string(node));
                if (dm_linear_info(name, &info) >= 0 && info.exists) {
                        char mp[PATH_MAX], type[32];
                        json_object_object_add(j, "active", json_object_new_boolean(true));
                        if (pool_find_mount(info.dev, mp, type) > 0) {
                                json_object_object_add(j, "mountpoint", json_object_new_string(mp));
                                json_object_object_add(j, "fstype", json_object_new_string(type));
                        }
                } else
                        json_object_object_add(j, "active", json_object_new_boolean(false));
                json_object_array_add(vols, j);
        }
        json_object_object_add(o, "volumes", json_object_get(vols));
        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- check ------------------------------------------------------------------ */

static void add_problem(json_object *arr, size_t *n, const char *kind, bool repaired, const char *fmt, ...) _printf_(5, 6);
static void add_problem(json_object *arr, size_t *n, const char *kind, bool repaired, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "message", json_object_new_string(buf));
        json_object_object_add(o, "repaired", json_object_new_boolean(repaired));
        json_object_array_add(arr, o);
        if (!repaired)
                (*n)++;
}

/* The live table of a volume as runs of extents; a target that does not
 * land on whole extents of a PV is reported. */
static int live_runs(Pool *p, const PoolMetadata *md, const char *volume, PoolRun **ret, size_t *ret_n, char **ret_bad) {
        _cleanup_free_ DmLinearTarget *t = NULL;
        size_t n;
        char name[64];
        int r = dm_linear_table(pool_dm_name(volume, name), &t, &n);
        if (r < 0)
                return r;
        PoolRun *runs = calloc(n ? n : 1, sizeof *runs);
        if (!runs)
                return log_oom();
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                PoolDevice *d = NULL;
                for (size_t k = 0; k < p->n_devs; k++)
                        if (p->devs[k].devnum == t[i].dev)
                                d = &p->devs[k];
                const PoolPv *pv = d && d->geometry.pv_index < md->n_pvs ? &md->pvs[d->geometry.pv_index] : NULL;
                if (!pv || t[i].offset < d->dm_adjust + pv->data_start ||
                    (t[i].offset - d->dm_adjust - pv->data_start) % md->extent_size != 0 || t[i].length % md->extent_size != 0) {
                        if (asprintf(ret_bad, "the live table of %s maps %u:%u at sector %" PRIu64 ", not whole extents of a PV",
                                     name, major(t[i].dev), minor(t[i].dev), t[i].offset) < 0)
                                *ret_bad = NULL;
                        free(runs);
                        return -EBADMSG;
                }
                runs[m++] = (PoolRun) { .pv = pv->index,
                                        .first = pv->first_extent + (t[i].offset - d->dm_adjust - pv->data_start) / md->extent_size,
                                        .count = t[i].length / md->extent_size };
        }
        *ret = runs;
        *ret_n = m;
        return 0;
}

int pool_verify(Pool *p, bool repair, json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *probs = json_object_new_array();
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        size_t n = 0;
        int r;

        if (!o || !probs)
                return log_oom();

        /* Copies: invalid, stale. */
        bool stale = false;
        for (size_t i = 0; i < p->n_devs; i++) {
                PoolDevice *d = &p->devs[i];
                for (unsigned s = 0; s < 2; s++)
                        if (d->pick.error[s]) {
                                add_problem(probs, &n, "invalid-copy", false, "%s: copy %c: %s", d->path, "AB"[s],
                                            d->pick.reason[s] ?: "invalid");
                                stale = true;
                        }
                if (!d->metadata_ok && !d->pick.error[0] && !d->pick.error[1]) {
                        add_problem(probs, &n, "invalid-copy", false, "%s: %s", d->path, d->metadata_error ?: "no valid copy");
                        stale = true;
                }
                if (p->md && d->metadata_ok && d->md->seq < p->md->seq) {
                        add_problem(probs, &n, "stale-pv", false, "%s: holds sequence %" PRIu64 ", the pool is at %" PRIu64,
                                    d->path, d->md->seq, p->md->seq);
                        stale = true;
                }
        }

        /* Metadata: the valid one, or the newest structurally sound copy to
         * list ownership problems. */
        if (p->md) {
                if (pool_metadata_dup(p->md, &md) < 0)
                        return log_oom();
        } else {
                add_problem(probs, &n, "metadata", false, "%s", p->md_error ?: "no valid metadata");
                for (size_t i = 0; i < p->n_devs; i++) {
                        PoolDevice *d = &p->devs[i];
                        size_t c = (size_t) d->geometry.metadata_copy_size;
                        if (!d->geometry_ok)
                                continue;
                        _cleanup_free_ uint8_t *buf = malloc(c);
                        if (!buf)
                                return log_oom();
                        for (unsigned s = 0; s < 2; s++) {
                                PoolMetadata *m = NULL;
                                if (pread_full(d->fd, buf, c, d->base + d->geometry.metadata_offset + s * c) < 0 ||
                                    pool_metadata_decode_full(buf, c, POOL_DECODE_STRUCTURE_ONLY, &m, NULL) < 0)
                                        continue;
                                if (!md || m->seq > md->seq) {
                                        pool_metadata_free(md);
                                        md = m;
                                } else
                                        pool_metadata_free(m);
                        }
                }
        }

        if (md) {
                PoolLive live[POOL_VOLUMES_MAX];
                PoolRun *live_r[POOL_VOLUMES_MAX] = {};
                size_t n_live = 0;
                PoolCheckReport rep = {};

                for (size_t i = 0; i < md->n_volumes && p->md; i++) {
                        const PoolVolume *v = &md->volumes[i];
                        DmLinearInfo info;
                        char name[64];
                        _cleanup_free_ char *bad = NULL;
                        size_t nr = 0;
                        if (dm_linear_info(pool_dm_name(v->name, name), &info) < 0 || !info.exists)
                                continue;
                        r = live_runs(p, md, v->name, &live_r[n_live], &nr, &bad);
                        if (r == -EBADMSG) {
                                add_problem(probs, &n, "foreign-mapping", false, "%s", bad ?: "bad live table");
                                continue;
                        }
                        if (r < 0)
                                continue;
                        live[n_live] = (PoolLive) { .volume = v->name, .runs = live_r[n_live], .n_runs = nr };
                        n_live++;
                }
                r = pool_check(md, live, n_live, &rep);
                if (r < 0) {
                        for (size_t i = 0; i < n_live; i++)
                                free(live_r[i]);
                        return log_error_errno(r, "pool: check failed: %m");
                }
                bool lagging = false;
                for (size_t i = 0; i < rep.n_problems; i++) {
                        const PoolProblem *pr = &rep.problems[i];
                        static const char *const kinds[] = {
                                [POOL_PROBLEM_UNKNOWN_PV] = "unknown-pv",       [POOL_PROBLEM_EMPTY_RUN] = "empty-run",
                                [POOL_PROBLEM_OUTSIDE_PV] = "outside-pv",       [POOL_PROBLEM_DOUBLY_OWNED] = "doubly-owned",
                                [POOL_PROBLEM_HOME_FIRST_RUN] = "home-first-run", [POOL_PROBLEM_LEAKED] = "leaked",
                                [POOL_PROBLEM_UNOWNED_MAPPED] = "unowned-mapped",
                        };
                        bool fixable = pr->kind == POOL_PROBLEM_LEAKED && p->md;
                        if (fixable)
                                lagging = true;
                        add_problem(probs, &n, pr->kind < ELEMENTSOF(kinds) ? kinds[pr->kind] : "unknown",
                                    false, "%s", pr->message ?: "?");
                }
                json_object_object_add(o, "leaked_extents", json_object_new_uint64(rep.leaked_extents));
                json_object_object_add(o, "doubly_owned_extents", json_object_new_uint64(rep.doubly_owned_extents));
                pool_check_report_done(&rep);
                for (size_t i = 0; i < n_live; i++)
                        free(live_r[i]);

                if (repair && p->md && (stale || lagging)) {
                        bool ok = true;
                        if (stale && pool_rewrite_stale(p) < 0)
                                ok = false;
                        for (size_t i = 0; ok && lagging && i < p->md->n_volumes; i++)
                                if (pool_dm_apply(p, p->md, &p->md->volumes[i], false, NULL) < 0)
                                        ok = false;
                        if (ok) {
                                /* Everything listed so far that repair handles is fixed. */
                                size_t len = json_object_array_length(probs);
                                for (size_t i = 0; i < len; i++) {
                                        json_object *pj = json_object_array_get_idx(probs, i), *k;
                                        const char *kind = json_object_object_get_ex(pj, "kind", &k) ? json_object_get_string(k) : "";
                                        if (strcmp(kind, "invalid-copy") == 0 || strcmp(kind, "stale-pv") == 0 ||
                                            strcmp(kind, "leaked") == 0) {
                                                json_object_object_add(pj, "repaired", json_object_new_boolean(true));
                                                n--;
                                        }
                                }
                        }
                }
        }
        json_object_object_add(o, "problems", json_object_get(probs));
        json_object_object_add(o, "consistent", json_object_new_boolean(n == 0));
        *ret = TAKE_PTR(o);
        return (int) (n > INT_MAX ? INT_MAX : n);
}
