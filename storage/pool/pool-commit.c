/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The A/B metadata commit (docs/POOL-FORMAT.md "Commit"): each PV's
 * inactive copy written and flushed, the PV the metadata came from first;
 * and rewriting copies that are stale or invalid. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "pool-internal.h"

/* Writes md (already bumped) to the inactive copy of each PV in `which`
 * (bitmask of PV indexes), the PV the metadata was read from first, each
 * flushed before the next. Failpoints <op>-commit-<role> after each PV. */
int pool_commit_pvs(Pool *p, const PoolMetadata *md, const char *op, uint32_t which) {
        int order[POOL_PVS_MAX], n = 0, r;

        if (p->md_from >= 0 && (which & (1U << p->devs[p->md_from].geometry.pv_index)))
                order[n++] = p->md_from;
        for (size_t i = 0; i < p->n_devs; i++)
                if ((int) i != p->md_from && (which & (1U << p->devs[i].geometry.pv_index)))
                        order[n++] = (int) i;

        /* PVs may have copy areas of different sizes: one that cannot take
         * the new copy must refuse before any PV is written, or the PVs
         * would disagree. */
        size_t need = pool_metadata_encoded_size(md);
        for (int k = 0; k < n; k++) {
                const PoolDevice *d = &p->devs[order[k]];
                if (need > d->geometry.metadata_copy_size)
                        return log_error_errno(E2BIG, "pool PV %s: the metadata would need %zu bytes, its copies hold %" PRIu64
                                               "; nothing was written", d->path, need, d->geometry.metadata_copy_size);
        }

        for (int k = 0; k < n; k++) {
                PoolDevice *d = &p->devs[order[k]];
                _cleanup_free_ uint8_t *buf = NULL;
                _cleanup_free_ char *err = NULL;
                char fp[64];

                r = pool_metadata_encode(md, (size_t) d->geometry.metadata_copy_size, &buf, &err);
                if (r < 0)
                        return log_error_errno(r, "pool: refusing to write metadata: %s", err ?: strerror(-r));
                unsigned slot = d->metadata_ok ? d->pick.inactive : (d->pick.error[0] ? 0 : 1);
                uint64_t off = d->base + d->geometry.metadata_offset + slot * d->geometry.metadata_copy_size;
                r = pwrite_full(d->fd, buf, (size_t) d->geometry.metadata_copy_size, off);
                if (r >= 0 && fdatasync(d->fd) < 0)
                        r = negative_errno();
                if (r < 0)
                        return log_error_errno(r, "pool PV %s: cannot write metadata copy %c: %m", d->path, "AB"[slot]);
                log_debug("pool PV %s: wrote copy %c, sequence %" PRIu64, d->path, "AB"[slot], md->seq);
                /* What is on disk now. */
                d->pick.error[slot] = 0;
                d->pick.reason[slot] = mfree(d->pick.reason[slot]);
                d->pick.seq[slot] = md->seq;
                d->pick.current = slot;
                d->pick.inactive = !slot;
                d->pick.other_stale = true;
                d->metadata_ok = true;
                d->metadata_error = mfree(d->metadata_error);
                pool_metadata_free(d->md);
                d->md = NULL;
                if (pool_metadata_dup(md, &d->md) < 0)
                        return log_oom();
                snprintf(fp, sizeof fp, "%s-commit-%s", op, pool_pv_role_to_string(md->pvs[d->geometry.pv_index].role));
                pool_failpoint(fp);
        }
        return 0;
}

int pool_commit(Pool *p, PoolMetadata *md, const char *op) {
        int r = pool_commit_pvs(p, md, op, UINT32_MAX);
        if (r < 0)
                return r;
        PoolMetadata *copy = NULL;
        if (pool_metadata_dup(md, &copy) < 0)
                return log_oom();
        pool_metadata_free(p->md);
        p->md = copy;
        return 0;
}

/* Is any PV's metadata older than the chosen one, or any copy invalid? */
static bool pool_copies_stale(const Pool *p) {
        for (size_t i = 0; i < p->n_devs; i++) {
                const PoolDevice *d = &p->devs[i];
                if (!d->metadata_ok || d->md->seq != p->md->seq || d->pick.error[0] || d->pick.error[1])
                        return true;
        }
        return false;
}

int pool_rewrite_stale(Pool *p) {
        _cleanup_pool_metadata_ PoolMetadata *md = NULL;
        if (!pool_copies_stale(p))
                return 0;
        if (pool_metadata_dup(p->md, &md) < 0)
                return log_oom();
        int r = pool_metadata_bump_seq(md);
        if (r < 0)
                return log_error_errno(r, "pool: the sequence number is exhausted");
        log_info("pool: rewriting stale or invalid metadata copies (sequence %" PRIu64 ")", md->seq);
        return pool_commit(p, md, "rewrite");
}

/* The next sequence number, then the commit (what names the operation). */
int pool_commit_next(Pool *p, PoolMetadata *md, const char *what) {
        int r = pool_metadata_bump_seq(md);
        if (r < 0)
                return log_error_errno(r, "pool: the sequence number is exhausted");
        return pool_commit(p, md, what);
}
