/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log-ratelimit.h"
#include "macro.h"
#include "subuid.h"
#include "varlink-server.h"

struct VarlinkLink {
        VarlinkServer *server;
        VarlinkLink *next;
        int fd;
        uid_t uid;
        uid_t owner;             /* whose share it takes: uid, or the owner of its subordinate range */
        uint64_t progress_usec;  /* when it last moved: accepted, read, written */
        sd_event_source *io, *timer;
        char in[VARLINK_CALL_MAX];
        size_t in_len;
        char *out;               /* the reply being sent */
        size_t out_len, out_done;
        VarlinkCall call;        /* the open call, if call.json */
        const VarlinkMethodEntry *method;
        void *state;
        bool answered;           /* the method answered in this run */
        bool done;               /* the method's last answer ended the call */
        bool dead;               /* close when convenient */
};

struct VarlinkServer {
        sd_event *event;
        int fd;
        char *path;
        sd_event_source *listen;
        const VarlinkMethodEntry *methods;
        void *userdata;
        uint64_t idle_usec;
        VarlinkLink *links;
        unsigned n_links;
        LogRatelimit refusals; /* a client refused or pushed out: any user can cause it */
};

static void link_free(VarlinkLink *l) {
        VarlinkServer *s = l->server;

        for (VarlinkLink **p = &s->links; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        s->n_links--;
        if (l->method && l->method->free_state && l->state)
                l->method->free_state(l->state);
        varlink_call_done(&l->call);
        sd_event_source_disable_unref(l->io);
        sd_event_source_disable_unref(l->timer);
        if (l->fd >= 0)
                close(l->fd);
        free(l->out);
        free(l);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void link_progress(VarlinkLink *l) {
        l->progress_usec = now_usec();
        (void) sd_event_source_set_time(l->timer, l->progress_usec + l->server->idle_usec);
}

static int queue(VarlinkLink *l, char *msg, size_t len) {
        if (l->out) {
                /* A method answers once per run: a second answer is a bug. */
                free(msg);
                log_error("varlink: %s answered twice", l->call.method);
                l->dead = true;
                return -EBUSY;
        }
        l->out = msg;
        l->out_len = len;
        l->out_done = 0;
        l->answered = true;
        return 0;
}

int varlink_link_reply(VarlinkLink *l, json_object *parameters, bool continues) {
        char *msg;
        size_t len;
        int r;

        if (continues && !l->call.more)
                return -EINVAL;
        l->done = !continues;
        if (l->call.oneway) {
                l->answered = true;
                return 0;
        }
        r = varlink_format_reply(parameters, continues, &msg, &len);
        if (r < 0)
                return r;
        if (len > VARLINK_REPLY_MAX) {
                free(msg);
                return -E2BIG;
        }
        return queue(l, msg, len);
}

int varlink_link_error(VarlinkLink *l, const char *error, json_object *parameters) {
        char *msg;
        size_t len;
        int r;

        l->done = true;
        if (l->call.oneway) {
                l->answered = true;
                return 0;
        }
        r = varlink_format_error(error, parameters, &msg, &len);
        if (r < 0)
                return r;
        return queue(l, msg, len);
}

int varlink_link_invalid_parameter(VarlinkLink *l, const char *name) {
        _cleanup_json_ json_object *p = json_object_new_object();
        json_object *n = json_object_new_string(name);
        if (!p || !n || json_object_object_add(p, "parameter", n) < 0) {
                json_object_put(n);
                return -ENOMEM;
        }
        return varlink_link_error(l, VARLINK_ERROR_INVALID_PARAMETER, p);
}

uid_t varlink_link_peer_uid(VarlinkLink *l) {
        return l->uid;
}

static void end_call(VarlinkLink *l) {
        if (l->method && l->method->free_state && l->state)
                l->method->free_state(l->state);
        l->state = NULL;
        l->method = NULL;
        varlink_call_done(&l->call);
}

/* Runs the open call's method once. */
static void run_method(VarlinkLink *l) {
        int r;

        l->answered = l->done = false;
        if (!l->method) {
                _cleanup_json_ json_object *p = json_object_new_object();
                json_object *m = json_object_new_string(l->call.method);
                if (!p || !m || json_object_object_add(p, "method", m) < 0) {
                        json_object_put(m);
                        r = -ENOMEM;
                } else
                        r = varlink_link_error(l, VARLINK_ERROR_METHOD_NOT_FOUND, p);
        } else
                r = l->method->run(l, &l->call, &l->state, l->server->userdata);
        if (r < 0 || !l->answered) {
                if (r < 0)
                        log_warning_errno(r, "varlink: %s for UID %u failed, closing the connection: %m",
                                          l->call.method, (unsigned) l->uid);
                l->dead = true;
                return;
        }
        if (l->done)
                end_call(l);
}

/* Takes the next complete call out of the input buffer, if there is one. */
static void next_call(VarlinkLink *l) {
        _cleanup_free_ char *why = NULL;
        size_t len;
        int r;

        r = varlink_frame(l->in, l->in_len, sizeof l->in, &len);
        if (r < 0) {
                log_debug("varlink: UID %u sent more than %zu bytes without ending a call, closing", (unsigned) l->uid,
                          sizeof l->in);
                l->dead = true;
                return;
        }
        if (r == 0)
                return;
        r = varlink_call_parse(l->in, len, &l->call, &why);
        memmove(l->in, l->in + len + 1, l->in_len - len - 1);
        l->in_len -= len + 1;
        if (r < 0) {
                /* Not Varlink: there is no one to answer. */
                log_debug("varlink: UID %u sent an invalid call (%s), closing", (unsigned) l->uid,
                          why ?: "out of memory");
                l->dead = true;
                return;
        }
        link_progress(l);
        for (const VarlinkMethodEntry *m = l->server->methods; m->name; m++)
                if (strcmp(m->name, l->call.method) == 0)
                        l->method = m;
        run_method(l);
}

static void update_events(VarlinkLink *l) {
        uint32_t ev = 0;
        if (l->out)
                ev |= EPOLLOUT;
        /* One call at a time: what comes after it stays in the socket. */
        else if (!l->call.json && l->in_len < sizeof l->in)
                ev |= EPOLLIN;
        (void) sd_event_source_set_io_events(l->io, ev);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        VarlinkLink *l = userdata;

        if (revents & EPOLLOUT && l->out) {
                ssize_t n = send(fd, l->out + l->out_done, l->out_len - l->out_done, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        l->dead = true;
                else if (n > 0 && (l->out_done += (size_t) n) == l->out_len) {
                        l->out = mfree(l->out);
                        link_progress(l);
                        if (l->call.json)
                                run_method(l); /* the next entry of a listing */
                }
        } else if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR) && !l->out && !l->call.json) {
                ssize_t n = recv(fd, l->in + l->in_len, sizeof l->in - l->in_len, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        l->dead = true;
                else if (n > 0)
                        l->in_len += (size_t) n;
        } else if (revents & (EPOLLHUP | EPOLLERR))
                l->dead = true;
        /* Calls that came together are answered one after the other. */
        while (!l->dead && !l->out && !l->call.json && l->in_len > 0) {
                size_t before = l->in_len;
                next_call(l);
                if (l->in_len == before && !l->call.json)
                        break; /* incomplete */
        }
        if (l->dead) {
                link_free(l);
                return 0;
        }
        update_events(l);
        return 0;
}

static int on_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        VarlinkLink *l = userdata;
        log_debug("varlink: connection of UID %u idle for %llu s, closing", (unsigned) l->uid,
                  (unsigned long long) (l->server->idle_usec / 1000000));
        link_free(l);
        return 0;
}

/* Whether a refusal may be logged now; a line says how many were not. */
static bool refusal_log_ok(VarlinkServer *s) {
        unsigned left_out;
        bool ok = log_ratelimit_pass(&s->refusals, now_usec(), &left_out);
        if (left_out > 0)
                log_warning("varlink: %u more connections refused or closed for room (not logged one by one)",
                            left_out);
        return ok;
}

static unsigned links_of(VarlinkServer *s, uid_t owner) {
        unsigned n = 0;
        for (VarlinkLink *l = s->links; l; l = l->next)
                n += l->owner == owner;
        return n;
}

/* 1: one connection taken (or refused), 0: none waiting. */
static int accept_one(VarlinkServer *s) {
        _cleanup_close_ int cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct ucred cred;
        socklen_t sl = sizeof cred;
        int r;

        if (cfd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                        return 1;
                if (errno != EAGAIN)
                        log_warning_errno(errno, "varlink: cannot accept a connection on %s: %m", s->path);
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0 || sl != sizeof cred) {
                log_warning_errno(errno, "varlink: cannot learn who connected to %s: %m", s->path);
                return 1;
        }
        /* Root's lookups (logind, sshd, login at once) neither count
         * against the others' total nor can others' use up root's. A
         * user's subordinate UIDs (/etc/subuid) share her limit: else 65536
         * of them would be 65536 users. */
        uid_t owner = cred.uid == 0 ? 0 : subuid_owner(cred.uid);
        unsigned mine = links_of(s, owner), others = s->n_links - links_of(s, 0);
        if (owner == 0 ? mine >= VARLINK_CONNECTIONS_ROOT : mine >= VARLINK_CONNECTIONS_PER_UID) {
                if (refusal_log_ok(s))
                        log_warning("varlink: too many connections (UID %u%s has %u), refusing one",
                                    (unsigned) cred.uid, owner != cred.uid ? ", a subordinate UID," : "", mine);
                return 1;
        }
        /* The others' total full (more than eight users at their limit):
         * the connection that moved least recently (another user's) makes
         * room, rather than nobody new getting in. */
        if (owner != 0 && others >= VARLINK_CONNECTIONS_MAX) {
                VarlinkLink *oldest = NULL;
                for (VarlinkLink *o = s->links; o; o = o->next)
                        if (o->owner != 0 && o->owner != owner && !o->dead &&
                            (!oldest || o->progress_usec < oldest->progress_usec))
                                oldest = o;
                if (!oldest) {
                        if (refusal_log_ok(s))
                                log_warning("varlink: too many connections (others than root %u), refusing one", others);
                        return 1;
                }
                if (refusal_log_ok(s))
                        log_notice("varlink: connections full (%u), closing UID %u's least recently active to take "
                                   "UID %u's",
                                   others, (unsigned) oldest->uid, (unsigned) cred.uid);
                link_free(oldest);
        }
        VarlinkLink *l = calloc(1, sizeof *l);
        if (!l) {
                log_oom();
                return 1;
        }
        l->server = s;
        l->fd = TAKE_FD(cfd);
        l->uid = cred.uid;
        l->owner = owner;
        l->progress_usec = now_usec();
        l->next = s->links;
        s->links = l;
        s->n_links++;
        r = sd_event_add_io(s->event, &l->io, l->fd, EPOLLIN, on_io, l);
        if (r >= 0)
                r = sd_event_add_time(s->event, &l->timer, CLOCK_MONOTONIC, l->progress_usec + s->idle_usec, 0,
                                      on_timeout, l);
        if (r < 0) {
                log_warning_errno(r, "varlink: cannot watch a connection: %m");
                link_free(l);
        }
        return 1;
}

/* What waits in the backlog is taken at once (a bounded batch, so that
 * the rest of the loop is not starved): a peer's connections all count
 * against its limit before any of its calls is answered. */
static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        for (unsigned i = 0; i < 64 && accept_one(userdata) > 0; i++)
                ;
        return 0;
}

int varlink_server_new(sd_event *event, const char *path, const VarlinkMethodEntry *methods, void *userdata,
                       uint64_t idle_usec, VarlinkServer **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        VarlinkServer *s;
        int r;

        if (strlen(path) >= sizeof sa.sun_path) {
                log_error("varlink: socket path %s is too long", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        s = calloc(1, sizeof *s);
        if (!s || !(s->path = strdup(path))) {
                free(s);
                return log_oom();
        }
        s->event = event;
        s->methods = methods;
        s->userdata = userdata;
        s->idle_usec = idle_usec ?: VARLINK_IDLE_TIMEOUT_USEC;
        s->refusals = (LogRatelimit) LOG_RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0) {
                r = log_error_errno(errno, "varlink: cannot make a socket: %m");
                goto fail;
        }
        /* Left by an earlier run (it is not removed when hearthd is killed). */
        if (unlink(path) < 0 && errno != ENOENT) {
                r = log_error_errno(errno, "varlink: cannot remove the old %s: %m", path);
                goto fail;
        }
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                r = log_error_errno(errno, "varlink: cannot bind %s: %m", path);
                goto fail;
        }
        /* Anyone may ask; what each may see is the methods' business. */
        if (chmod(path, 0666) < 0 || listen(s->fd, SOMAXCONN) < 0) {
                r = log_error_errno(errno, "varlink: cannot listen on %s: %m", path);
                goto fail;
        }
        r = sd_event_add_io(event, &s->listen, s->fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                log_error_errno(r, "varlink: cannot watch %s: %m", path);
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        varlink_server_free(s);
        return r;
}

VarlinkServer *varlink_server_free(VarlinkServer *s) {
        if (!s)
                return NULL;
        while (s->links)
                link_free(s->links);
        sd_event_source_disable_unref(s->listen);
        if (s->fd >= 0) {
                close(s->fd);
                (void) unlink(s->path);
        }
        free(s->path);
        free(s);
        return NULL;
}

unsigned varlink_server_connections(VarlinkServer *s) {
        return s ? s->n_links : 0;
}
