/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "home-refs.h"
#include "log.h"

struct RefFd {
        int fd;
        bool please_suspend;
        sd_event_source *source;
        HomeRefs *refs;
        RefFd *next;
};

static void ref_free(RefFd *ref) {
        sd_event_source_disable_unref(ref->source);
        if (ref->fd >= 0)
                close(ref->fd);
        free(ref);
}

bool home_refs_any(const HomeRefs *r) {
        return r->list != NULL;
}

bool home_refs_all_suspend(const HomeRefs *r) {
        if (!r->list)
                return false;
        for (RefFd *i = r->list; i; i = i->next)
                if (!i->please_suspend)
                        return false;
        return true;
}

void home_refs_drop(HomeRefs *r, RefFd *ref) {
        for (RefFd **p = &r->list; *p; p = &(*p)->next)
                if (*p == ref) {
                        *p = ref->next;
                        break;
                }
        ref_free(ref);
}

static int on_ref_closed(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RefFd *ref = userdata;
        HomeRefs *r = ref->refs;
        char buf[64];

        /* Only EOF or an error means every writer is gone; a client writing
         * into its reference is drained (bounded per wakeup) and ignored. */
        if (!(revents & (EPOLLHUP | EPOLLERR))) {
                for (int i = 0; i < 16; i++) {
                        ssize_t n = read(fd, buf, sizeof buf);
                        if (n == 0)
                                break;
                        if (n < 0)
                                return 0;
                }
        }
        home_refs_drop(r, ref);
        return r->list ? 0 : r->empty(r->userdata);
}

void home_refs_clear(HomeRefs *r) {
        while (r->list) {
                RefFd *i = r->list;
                r->list = i->next;
                ref_free(i);
        }
}

int home_refs_add(HomeRefs *r, bool please_suspend, int *ret_fd, RefFd **ret_ref) {
        size_t n = 0;
        int p[2];
        int k;

        for (RefFd *i = r->list; i; i = i->next)
                n++;
        if (n >= REFS_PER_HOME_MAX)
                return log_warning_errno(EMFILE, "home %s: already %zu references; refusing more", r->name, n);

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return log_error_errno(errno, "home %s: cannot make a reference: %m", r->name);
        RefFd *ref = calloc(1, sizeof *ref);
        if (!ref) {
                close(p[0]);
                close(p[1]);
                return log_oom();
        }
        ref->fd = p[0];
        ref->refs = r;
        ref->please_suspend = please_suspend;
        k = sd_event_add_io(r->event, &ref->source, ref->fd, EPOLLIN, on_ref_closed, ref);
        if (k < 0) {
                ref_free(ref);
                close(p[1]);
                return log_error_errno(k, "home %s: cannot watch a reference: %m", r->name);
        }
        ref->next = r->list;
        r->list = ref;
        *ret_fd = p[1];
        if (ret_ref)
                *ret_ref = ref;
        return 0;
}
