/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An operation's lifetime: made when its call arrives, answered (or its
 * done function called) and freed when it ends, whoever ends it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-error.h"
#include "log.h"
#include "operation.h"

Operation *operation_new(OperationType type, const char *user_name, sd_bus_message *msg) {
        Operation *op = calloc(1, sizeof *op);
        if (!op)
                return NULL;
        op->type = type;
        op->tpm_tries_below = UINT32_MAX;
        op->user_name = user_name ? strdup(user_name) : NULL;
        if (user_name && !op->user_name)
                return mfree(op);
        op->msg = sd_bus_message_ref(msg);
        return op;
}

Operation *operation_free(Operation *op) {
        if (!op)
                return NULL;
        sd_bus_message_unref(op->msg);
        secret_free(op->secret);
        secret_free(op->new_secret);
        secret_free(op->recovery);
        user_record_free(op->record);
        strv_free(op->pool_argv);
        free(op->admin_field);
        free(op->user_name);
        free(op);
        return NULL;
}

void operation_finish(Operation *op, const sd_bus_error *error) {
        if (op->done)
                op->done(op, error, op->done_userdata);
        else if (op->msg) {
                int r = error ? sd_bus_reply_method_error(op->msg, error) : sd_bus_reply_method_return(op->msg, NULL);
                if (r < 0 && error) {
                        /* The message was unusable: the caller still gets an answer. */
                        log_warning_errno(r, "cannot send error %s: %m", error->name);
                        r = sd_bus_reply_method_errorf(op->msg, BUS_ERROR_FAILED, "the operation failed");
                }
                if (r < 0)
                        log_warning_errno(r, "cannot answer a call: %m");
        }
        operation_free(op);
}

sd_bus_error operation_errorv(const char *name, char **text, const char *fmt, va_list ap) {
        if (vasprintf(text, fmt, ap) < 0)
                *text = NULL;
        return SD_BUS_ERROR_MAKE_CONST(name, *text ?: "out of memory");
}

void operation_fail(Operation *op, const char *name, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        sd_bus_error e = operation_errorv(name, &text, fmt, ap);
        va_end(ap);
        operation_finish(op, &e);
}
