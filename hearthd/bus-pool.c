/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.hearth.Pool1 at /io/hearth/Pool: the extent pool (storage/pool/) over
 * D-Bus, and growing a volume by itself when its filesystem fills up.
 *
 * hearthd itself never touches device-mapper or the pool's disks: every
 * call runs hearth-pool in a child, one at a time, in the order called (a
 * queue keeps the event loop free and answers in order). hearth-pool is
 * not the pool's only writer, though: hearth-work changes pool volumes
 * in-process for LUKS homes that live on one (create, resize, remove,
 * bringing the volume up at activation), possibly while this queue runs
 * hearth-pool. What serializes the two is the pool lock alone, whose
 * protocol is written down in storage/pool/pool.h ("THE POOL LOCK"). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "autogrow.h"
#include "bus-error.h"
#include "bus-pool.h"
#include "json-strict.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "pool-tool.h"
#include "size.h"

#define POOL_QUEUE_MAX 16
/* Looking (status, check) is open to everyone: so many at most may wait,
 * so that nobody can crowd out the admin's calls. */
#define POOL_QUEUE_LOOKS_MAX 4

struct PoolService {
        Manager *m;
        char *tool_path;
        Operation *running, *queue;
        WorkerJob *job;
        AutoGrowConfig autogrow;
        sd_event_source *autogrow_timer;
        uint64_t autogrow_last_usec;   /* when it last grew something */
        bool autogrow_due;             /* a tick found calls running: look right after them */
        char *autogrow_last;           /* what it said then */
};

static void start_next(PoolService *s);
static Operation *autogrow_check_new(PoolService *s);

static unsigned queue_length(PoolService *s) {
        unsigned n = 0;
        for (Operation *o = s->queue; o; o = o->next)
                n++;
        return n;
}

bool pool_service_running(PoolService *s) {
        return s && s->job;
}

PoolService *pool_service_free(PoolService *s) {
        if (!s)
                return NULL;
        s->job = worker_job_free(s->job);
        if (s->running)
                operation_fail(TAKE_PTR(s->running), BUS_ERROR_FAILED, "hearthd is stopping");
        while (s->queue) {
                Operation *op = s->queue;
                s->queue = op->next;
                operation_fail(op, BUS_ERROR_FAILED, "hearthd is stopping");
        }
        sd_event_source_disable_unref(s->autogrow_timer);
        free(s->autogrow_last);
        free(s->tool_path);
        free(s);
        return NULL;
}

/* Called once access is granted (or needs none). Takes op. */
void pool_service_enqueue(PoolService *s, Operation *op) {
        if (s->m->stopping) {
                operation_fail(op, BUS_ERROR_FAILED, "hearthd is stopping");
                return;
        }
        if (queue_length(s) >= POOL_QUEUE_MAX) {
                operation_fail(op, BUS_ERROR_TOO_MANY_OPERATIONS, "pool: too many operations queued");
                return;
        }
        if (op->msg && op->pool_method != POOL_METHOD_OTHER) {
                unsigned looks = 0;
                for (Operation *o = s->queue; o; o = o->next)
                        looks += o->msg && o->pool_method != POOL_METHOD_OTHER;
                if (looks >= POOL_QUEUE_LOOKS_MAX) {
                        operation_fail(op, BUS_ERROR_TOO_MANY_OPERATIONS, "pool: too many status calls queued");
                        return;
                }
        }
        Operation **tail = &s->queue;
        while (*tail)
                tail = &(*tail)->next;
        *tail = op;
        start_next(s);
}

static uint32_t count_problems(const char *json) {
        _cleanup_json_ json_object *o = json_tokener_parse(json);
        json_object *p;
        if (!o || !json_object_object_get_ex(o, "problems", &p) || !json_object_is_type(p, json_type_array))
                return 0;
        return (uint32_t) json_object_array_length(p);
}

static void reply_success(Operation *op, const char *output) {
        int r;
        if (!op->msg)
                return;
        switch (op->pool_method) {
        case POOL_METHOD_STATUS:
                r = sd_bus_reply_method_return(op->msg, "s", output);
                break;
        case POOL_METHOD_CHECK:
                r = sd_bus_reply_method_return(op->msg, "us", count_problems(output), output);
                break;
        default:
                r = sd_bus_reply_method_return(op->msg, NULL);
        }
        if (r < 0)
                log_warning_errno(r, "pool: cannot answer a call: %m");
}

static void on_tool_done(const WorkerResult *res, void *userdata) {
        PoolService *s = userdata;
        _cleanup_operation_ Operation *op = TAKE_PTR(s->running);
        /* Freed last: res points into it. */
        WorkerJob *job = TAKE_PTR(s->job);

        const char *out = res->output ?: "";
        bool ok = res->status == 0 || (res->status == POOL_TOOL_EXIT_PROBLEMS && op->pool_method == POOL_METHOD_CHECK);
        const char *name = NULL;
        _cleanup_free_ char *text = NULL;
        if (res->status < 0) {
                name = BUS_ERROR_POOL_FAILED;
                (void) asprintf(&text, "pool: hearth-pool was killed by signal %d", res->signal);
        } else if (!ok) {
                name = res->status == POOL_TOOL_EXIT_NO_POOL ? BUS_ERROR_POOL_NO_POOL
                       : res->status == POOL_TOOL_EXIT_USAGE ? BUS_ERROR_INVALID_ARGS
                                                        : BUS_ERROR_POOL_FAILED;
                text = strdup(*res->reason ? res->reason : "pool: hearth-pool failed");
        } else if (op->pool_method == POOL_METHOD_STATUS || op->pool_method == POOL_METHOD_CHECK) {
                /* What goes on the bus must be JSON, and so valid UTF-8. */
                _cleanup_json_ json_object *o = NULL;
                if (json_parse_strict(out, res->output_len, &o, NULL) < 0) {
                        name = BUS_ERROR_POOL_FAILED;
                        text = strdup("pool: hearth-pool printed something that is not JSON");
                }
        }
        sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, text ?: "pool: out of memory");

        if (op->pool_done)
                op->pool_done(s, op, name ? &e : NULL, out);
        else if (name)
                operation_fail(TAKE_PTR(op), e.name, "%s", e.message);
        else
                reply_success(op, out);
        worker_job_free(job);
        start_next(s);
}

/* An auto-grow check or the grow it asked for is queued or running: another
 * check now would see the old size and grow a second time past the cap. */
static bool autogrow_pending(PoolService *s) {
        if (s->running && s->running->pool_done)
                return true;
        for (Operation *o = s->queue; o; o = o->next)
                if (o->pool_done)
                        return true;
        return false;
}

static void start_next(PoolService *s) {
        if (s->running)
                return;
        if (s->m->stopping) {
                manager_exit_when_idle(s->m);
                return;
        }
        if (s->autogrow_due && autogrow_pending(s))
                s->autogrow_due = false;
        if (s->autogrow_due) {
                /* Ahead of the queue: a busy pool must not keep /home from growing. */
                Operation *check = autogrow_check_new(s);
                s->autogrow_due = false;
                if (check) {
                        check->next = s->queue;
                        s->queue = check;
                }
        }
        while (s->queue && !s->running) {
                Operation *op = s->queue;
                s->queue = op->next;
                op->next = NULL;
                WorkerEnv env = manager_worker_env(s->m);
                env.worker_path = s->tool_path;
                int r = worker_job_start(s->m->event, &env, op->pool_argv, "", 0, 0, on_tool_done, s, &s->job);
                if (r < 0) {
                        if (op->pool_done) {
                                sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(BUS_ERROR_FAILED, "cannot start hearth-pool");
                                op->pool_done(s, op, &e, "");
                                operation_free(op);
                        } else
                                operation_fail(op, BUS_ERROR_FAILED, "pool: cannot start %s: %s", s->tool_path,
                                               strerror(-r));
                        continue;
                }
                s->running = op;
                log_debug("pool: %s (hearth-pool %d)", op->pool_argv[0], (int) worker_job_pid(s->job));
        }
}

/* ---- the methods --------------------------------------------------------------------------- */

/* Arguments go to hearth-pool's command line: none may pass for an option. */
static bool valid_volume_name(const char *v) {
        size_t n = strlen(v);
        return n > 0 && n <= 32 && v[0] != '-' && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool valid_device(const char *d) {
        struct stat st;
        return strncmp(d, "/dev/", 5) == 0 && strlen(d) < 256 && !strstr(d, "/..") && !strchr(d, ',') &&
               stat(d, &st) == 0 && S_ISBLK(st.st_mode);
}

static int new_pool_op(sd_bus_message *msg, PoolMethod method, char **argv, Operation **ret) {
        Operation *op = operation_new(OP_POOL, NULL, msg);
        if (!op) {
                strv_free(argv);
                return -ENOMEM;
        }
        op->pool_method = method;
        op->pool_argv = argv;
        *ret = op;
        return 0;
}

/* argv from a NULL-terminated list of strings, copied. */
static char **argv_new(const char *first, ...) {
        const char *a[12];
        size_t n = 0;
        va_list ap;
        va_start(ap, first);
        for (const char *p = first; p && n < ELEMENTSOF(a) - 1; p = va_arg(ap, const char *))
                a[n++] = p;
        va_end(ap);
        char **l = calloc(n + 1, sizeof *l);
        for (size_t i = 0; l && i < n; i++)
                if (!(l[i] = strdup(a[i]))) {
                        strv_free(l);
                        return NULL;
                }
        return l;
}

static void pool_granted(Operation *op, void *userdata) {
        pool_service_enqueue(userdata, op);
}

static int call_tool(sd_bus_message *msg, PoolService *s, PoolMethod method, bool privileged, char **argv) {
        Operation *op;
        if (!argv)
                return -ENOMEM;
        int r = new_pool_op(msg, method, argv, &op);
        if (r < 0)
                return r;
        if (privileged)
                access_check_then_run(&s->m->access, op, UID_INVALID, ACCESS_ROOT_ONLY, POOL1_ACTION_MANAGE,
                                      pool_granted, s);
        else
                pool_service_enqueue(s, op);
        return 1;
}

static int method_get_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_tool(msg, userdata, POOL_METHOD_STATUS, false,
                         argv_new(POOL_TOOL_STATUS, POOL_TOOL_OPT_JSON, NULL));
}

static int method_check(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        int repair;
        int r = sd_bus_message_read(msg, "b", &repair);
        if (r < 0)
                return r;
        /* Only repairing writes; looking is for everyone, like lsblk. */
        return call_tool(msg, userdata, POOL_METHOD_CHECK, repair,
                         repair ? argv_new(POOL_TOOL_CHECK, POOL_TOOL_OPT_JSON, POOL_TOOL_OPT_REPAIR, NULL)
                                : argv_new(POOL_TOOL_CHECK, POOL_TOOL_OPT_JSON, NULL));
}

static int method_activate(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return call_tool(msg, userdata, POOL_METHOD_OTHER, true, argv_new(POOL_TOOL_ACTIVATE, NULL));
}

static int method_init(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *home, *pool;
        uint64_t extent_size, flags;
        int r = sd_bus_message_read(msg, "sstt", &home, &pool, &extent_size, &flags);
        if (r < 0)
                return r;
        if (!valid_device(home) || !valid_device(pool))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "pool: partitions are named by /dev/ paths");
        if (flags & ~UINT64_C(1))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "pool: unknown flags 0x%" PRIx64, flags);
        char es[32];
        snprintf(es, sizeof es, POOL_TOOL_OPT_EXTENT_SIZE "%" PRIu64, extent_size);
        return call_tool(msg, userdata, POOL_METHOD_OTHER, true,
                         argv_new(POOL_TOOL_INIT, home, pool,
                                  extent_size ? es : (flags & 1) ? POOL_TOOL_OPT_FORCE : NULL,
                                  extent_size && (flags & 1) ? POOL_TOOL_OPT_FORCE : NULL, NULL));
}

static int resize_method(sd_bus_message *msg, PoolService *s, const char *verb, char sign, sd_bus_error *error) {
        const char *volume;
        uint64_t size;
        int relative;
        int r = sd_bus_message_read(msg, "stb", &volume, &size, &relative);
        if (r < 0)
                return r;
        if (!valid_volume_name(volume))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "pool: \"%.64s\" is not a volume name", volume);
        if (size == 0 || size >= HEARTH_SIZE_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "pool: size out of range");
        char sz[32];
        snprintf(sz, sizeof sz, "%s%" PRIu64, relative ? (char[]) { sign, 0 } : "", size);
        return call_tool(msg, s, POOL_METHOD_OTHER, true, argv_new(verb, volume, sz, NULL));
}

static int method_grow(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return resize_method(msg, userdata, POOL_TOOL_GROW, POOL_TOOL_GROW_BY, error);
}

static int method_shrink(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return resize_method(msg, userdata, POOL_TOOL_SHRINK, POOL_TOOL_SHRINK_BY, error);
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        uint64_t size;
        int r = sd_bus_message_read(msg, "t", &size);
        if (r < 0)
                return r;
        if (size == 0 || size >= HEARTH_SIZE_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_ARGS, "pool: size out of range");
        char sz[32];
        snprintf(sz, sizeof sz, "%" PRIu64, size);
        return call_tool(msg, userdata, POOL_METHOD_OTHER, true, argv_new(POOL_TOOL_RELEASE, sz, NULL));
}

/* ---- growing by itself ---------------------------------------------------------------------- */

static json_object *jget(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static uint64_t jnum(json_object *o, const char *key) {
        json_object *v = jget(o, key);
        return v && json_object_is_type(v, json_type_int) ? (uint64_t) json_object_get_uint64(v) : 0;
}

static void autogrow_grown(PoolService *s, Operation *op, const sd_bus_error *error, const char *output) {
        char b1[SIZE_FORMAT_MAX], b2[SIZE_FORMAT_MAX], b3[SIZE_FORMAT_MAX];
        if (error) {
                log_warning("pool volume %s: growing by itself failed: %s", s->autogrow.volume, error->message);
                return;
        }
        free(s->autogrow_last);
        if (asprintf(&s->autogrow_last, "grew %s from %s to %s: %s free was under the threshold", s->autogrow.volume,
                     size_format(op->size, b1), size_format(op->size + op->pool_amount, b2),
                     size_format(op->pool_avail, b3)) < 0)
                s->autogrow_last = NULL;
        s->autogrow_last_usec = 0;
        (void) sd_event_now(s->m->event, CLOCK_REALTIME, &s->autogrow_last_usec);
        log_info("pool volume %s: %s", s->autogrow.volume, s->autogrow_last ?: "grown");
        if (s->m->bus) {
                (void) sd_bus_emit_signal(s->m->bus, POOL1_PATH, POOL1_INTERFACE, "AutoGrown", "stttt",
                                          s->autogrow.volume, op->size, op->size + op->pool_amount, op->pool_avail,
                                          s->autogrow_last_usec);
                (void) sd_bus_emit_properties_changed(s->m->bus, POOL1_PATH, POOL1_INTERFACE, "LastAutoGrow", NULL);
        }
}

static void autogrow_on_status(PoolService *s, Operation *op, const sd_bus_error *error, const char *output) {
        if (error) {
                log_debug("pool: auto-grow check skipped: %s", error->message);
                return;
        }
        _cleanup_json_ json_object *st = json_tokener_parse(output);
        json_object *vols = jget(st, "volumes"), *vol = NULL;
        for (size_t i = 0; vols && json_object_is_type(vols, json_type_array) && i < json_object_array_length(vols); i++) {
                json_object *v = json_object_array_get_idx(vols, i), *name = jget(v, "name");
                if (name && json_object_is_type(name, json_type_string) &&
                    strcmp(json_object_get_string(name), s->autogrow.volume) == 0)
                        vol = v;
        }
        json_object *mp = jget(vol, "mountpoint");
        if (!vol || !mp || !json_object_is_type(mp, json_type_string))
                return; /* not there or not mounted: nothing to fill up */
        struct statvfs sv;
        if (statvfs(json_object_get_string(mp), &sv) < 0) {
                log_warning_errno(errno, "pool volume %s: cannot look at %s: %m", s->autogrow.volume,
                                  json_object_get_string(mp));
                return;
        }
        uint64_t size = jnum(vol, "size"), avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        uint64_t add = autogrow_amount(&s->autogrow, size, avail, jnum(st, "free_bytes"), jnum(st, "extent_size"));
        if (add == 0)
                return;
        char sz[32];
        snprintf(sz, sizeof sz, "%c%" PRIu64, POOL_TOOL_GROW_BY, add);
        Operation *grow = NULL;
        if (new_pool_op(NULL, POOL_METHOD_OTHER, argv_new(POOL_TOOL_GROW, s->autogrow.volume, sz, NULL), &grow) < 0 ||
            !grow->pool_argv) {
                operation_free(grow);
                return;
        }
        grow->pool_done = autogrow_grown;
        grow->size = size;
        grow->pool_amount = add;
        grow->pool_avail = avail;
        pool_service_enqueue(s, grow);
}

static Operation *autogrow_check_new(PoolService *s) {
        Operation *op = NULL;
        if (new_pool_op(NULL, POOL_METHOD_STATUS, argv_new(POOL_TOOL_STATUS, POOL_TOOL_OPT_JSON, NULL), &op) < 0)
                return NULL;
        if (!op->pool_argv)
                return operation_free(op);
        op->pool_done = autogrow_on_status;
        return op;
}

static int on_autogrow_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        PoolService *s = userdata;
        (void) sd_event_source_set_time(src, usec + s->autogrow.interval_usec);
        (void) sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
        s->autogrow_due = true;
        start_next(s);
        return 0;
}

/* ---- properties ----------------------------------------------------------------------------- */

static int prop_autogrow(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                         void *userdata, sd_bus_error *error) {
        PoolService *s = userdata;
        const AutoGrowConfig *c = &s->autogrow;
        /* (enabled, volume, threshold bytes, threshold percent, step, max size, interval µs) */
        return sd_bus_message_append(reply, "(bsttttt)", c->enabled, c->volume, c->free_below,
                                     (uint64_t) c->free_below_percent, c->step, c->max_size, c->interval_usec);
}

static int prop_last_autogrow(sd_bus *bus, const char *path, const char *iface, const char *prop,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        PoolService *s = userdata;
        return sd_bus_message_append(reply, "(ts)", s->autogrow_last_usec, s->autogrow_last ?: "");
}

#define UNPRIV SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable pool_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("AutoGrow", "(bsttttt)", prop_autogrow, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LastAutoGrow", "(ts)", prop_last_autogrow, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("GetStatus", NULL, "s", method_get_status, UNPRIV),
        SD_BUS_METHOD("Check", "b", "us", method_check, UNPRIV),
        SD_BUS_METHOD("Init", "sstt", NULL, method_init, UNPRIV),
        SD_BUS_METHOD("Activate", NULL, NULL, method_activate, UNPRIV),
        SD_BUS_METHOD("Grow", "stb", NULL, method_grow, UNPRIV),
        SD_BUS_METHOD("Shrink", "stb", NULL, method_shrink, UNPRIV),
        SD_BUS_METHOD("Release", "t", NULL, method_release, UNPRIV),
        SD_BUS_SIGNAL("AutoGrown", "stttt", 0),
        SD_BUS_VTABLE_END
};

int pool_service_new(Manager *m, const char *tool_path, const char *config_path, PoolService **ret) {
        PoolService *s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        s->m = m;
        autogrow_config_init(&s->autogrow);
        if (!(s->tool_path = strdup(tool_path))) {
                pool_service_free(s);
                return log_oom();
        }
        int r = autogrow_config_load(&s->autogrow, config_path);
        if (r < 0) {
                pool_service_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int pool_service_start(PoolService *s) {
        int r = sd_bus_add_object_vtable(s->m->bus, NULL, POOL1_PATH, POOL1_INTERFACE, pool_vtable, s);
        if (r < 0)
                return r;
        if (!s->autogrow.enabled)
                return 0;
        char threshold[SIZE_FORMAT_MAX], step[SIZE_FORMAT_MAX], cap[SIZE_FORMAT_MAX + 16] = "";
        const AutoGrowConfig *c = &s->autogrow;
        if (c->free_below_percent)
                snprintf(threshold, sizeof threshold, "%u%%", c->free_below_percent);
        else
                size_format(c->free_below, threshold);
        if (c->max_size) {
                char b[SIZE_FORMAT_MAX];
                snprintf(cap, sizeof cap, ", up to %s", size_format(c->max_size, b));
        }
        log_info("pool volume %s: grows by itself when free space falls under %s, by at least %s%s (checked every %" PRIu64 " s)",
                 c->volume, threshold, size_format(c->step, step), cap, c->interval_usec / USEC_PER_SEC);
        uint64_t now;
        r = sd_event_now(s->m->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(s->m->event, &s->autogrow_timer, CLOCK_MONOTONIC, now + s->autogrow.interval_usec,
                                      0, on_autogrow_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->autogrow_timer, SD_EVENT_ONESHOT);
        return r;
}
