/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-strict.h"
#include "macro.h"
#include "varlink.h"

int varlink_frame(const char *buf, size_t len, size_t max, size_t *ret_len) {
        const char *nul = memchr(buf, 0, len < max ? len : max);
        if (nul) {
                *ret_len = (size_t) (nul - buf);
                return 1;
        }
        return len >= max ? -E2BIG : 0;
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

bool varlink_name_valid(const char *s) {
        const char *last;
        size_t parts = 0;

        if (!s || strlen(s) > VARLINK_NAME_MAX || !(last = strrchr(s, '.')))
                return false;
        /* The interface: reverse-domain parts, none empty. */
        for (const char *p = s; p < last; p++) {
                const char *start = p;
                if (!is_alpha(*p))
                        return false;
                while (p < last && *p != '.') {
                        if (!is_alpha(*p) && !is_digit(*p) && *p != '-')
                                return false;
                        p++;
                }
                if (p[-1] == '-' || p == start)
                        return false;
                parts++;
        }
        if (parts < 2)
                return false;
        /* The member: an upper-case letter, then letters and digits. */
        const char *m = last + 1;
        if (!(*m >= 'A' && *m <= 'Z'))
                return false;
        for (; *m; m++)
                if (!is_alpha(*m) && !is_digit(*m))
                        return false;
        return true;
}

static int fail(char **ret_error, const char *msg) {
        if (ret_error)
                *ret_error = strdup(msg);
        return -EINVAL;
}

static int parse_object(const char *msg, size_t len, json_object **ret, char **ret_error) {
        _cleanup_json_ json_object *j = NULL;
        int r;

        if (memchr(msg, 0, len))
                return fail(ret_error, "a NUL byte inside a message");
        r = json_parse_strict(msg, len, &j, ret_error);
        if (r == -E2BIG)
                return fail(ret_error, "message too large");
        if (r < 0)
                return r;
        if (!json_object_is_type(j, json_type_object))
                return fail(ret_error, "a message must be a JSON object");
        *ret = TAKE_PTR(j);
        return 0;
}

/* "parameters": an object, or absent (then an empty one is added, owned by j). */
static int take_parameters(json_object *j, json_object **ret, char **ret_error) {
        json_object *p;

        if (json_object_object_get_ex(j, "parameters", &p) && p) {
                if (!json_object_is_type(p, json_type_object))
                        return fail(ret_error, "parameters: must be an object");
                *ret = p;
                return 0;
        }
        p = json_object_new_object();
        if (!p || json_object_object_add(j, "parameters", p) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

static int get_bool(json_object *v, const char *key, bool *ret, char **ret_error) {
        if (!json_object_is_type(v, json_type_boolean)) {
                if (ret_error && asprintf(ret_error, "%s: must be a boolean", key) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        *ret = json_object_get_boolean(v);
        return 0;
}

int varlink_call_parse(const char *msg, size_t len, VarlinkCall *ret, char **ret_error) {
        _cleanup_json_ json_object *j = NULL;
        VarlinkCall c = {};
        int r;

        r = parse_object(msg, len, &j, ret_error);
        if (r < 0)
                return r;
        json_object_object_foreach(j, key, v) {
                if (strcmp(key, "method") == 0) {
                        if (!json_object_is_type(v, json_type_string) || !varlink_name_valid(json_object_get_string(v)))
                                return fail(ret_error, "method: must be a qualified method name");
                        c.method = json_object_get_string(v);
                } else if (strcmp(key, "more") == 0)
                        r = get_bool(v, key, &c.more, ret_error);
                else if (strcmp(key, "oneway") == 0)
                        r = get_bool(v, key, &c.oneway, ret_error);
                else if (strcmp(key, "parameters") != 0)
                        /* "upgrade" included: no protocol is offered to upgrade to. */
                        return fail(ret_error, "unknown key in a call");
                if (r < 0)
                        return r;
        }
        if (!c.method)
                return fail(ret_error, "a call without a method");
        if (c.more && c.oneway)
                return fail(ret_error, "a call cannot be both more and oneway");
        r = take_parameters(j, &c.parameters, ret_error);
        if (r < 0)
                return r;
        c.json = TAKE_PTR(j);
        *ret = c;
        return 0;
}

void varlink_call_done(VarlinkCall *c) {
        json_object_put(c->json);
        *c = (VarlinkCall) {};
}

int varlink_reply_parse(const char *msg, size_t len, VarlinkReply *ret, char **ret_error) {
        _cleanup_json_ json_object *j = NULL;
        VarlinkReply rep = {};
        int r;

        r = parse_object(msg, len, &j, ret_error);
        if (r < 0)
                return r;
        json_object_object_foreach(j, key, v) {
                if (strcmp(key, "error") == 0) {
                        if (!json_object_is_type(v, json_type_string) || !varlink_name_valid(json_object_get_string(v)))
                                return fail(ret_error, "error: must be a qualified error name");
                        rep.error = json_object_get_string(v);
                } else if (strcmp(key, "continues") == 0)
                        r = get_bool(v, key, &rep.continues, ret_error);
                else if (strcmp(key, "parameters") != 0)
                        return fail(ret_error, "unknown key in a reply");
                if (r < 0)
                        return r;
        }
        if (rep.error && rep.continues)
                return fail(ret_error, "an error cannot continue");
        r = take_parameters(j, &rep.parameters, ret_error);
        if (r < 0)
                return r;
        rep.json = TAKE_PTR(j);
        *ret = rep;
        return 0;
}

void varlink_reply_done(VarlinkReply *r) {
        json_object_put(r->json);
        *r = (VarlinkReply) {};
}

/* {key: name?, "parameters": params or {}, extra…} as text with its NUL. */
static int format(const char *key, const char *name, json_object *parameters, const char *flag, bool flag_value,
                  char **ret, size_t *ret_len) {
        _cleanup_json_ json_object *j = json_object_new_object();
        json_object *p;

        if (!j)
                return -ENOMEM;
        if (key) {
                json_object *s = json_object_new_string(name);
                if (!s || json_object_object_add(j, key, s) < 0) {
                        json_object_put(s);
                        return -ENOMEM;
                }
        }
        p = parameters ? json_object_get(parameters) : json_object_new_object();
        if (!p || json_object_object_add(j, "parameters", p) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        if (flag_value) {
                json_object *b = json_object_new_boolean(true);
                if (!b || json_object_object_add(j, flag, b) < 0) {
                        json_object_put(b);
                        return -ENOMEM;
                }
        }
        size_t len;
        const char *s = json_object_to_json_string_length(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                          &len);
        if (!s)
                return -ENOMEM;
        char *m = malloc(len + 1);
        if (!m)
                return -ENOMEM;
        memcpy(m, s, len + 1);
        *ret = m;
        *ret_len = len + 1;
        return 0;
}

int varlink_format_call(const char *method, json_object *parameters, bool more, char **ret, size_t *ret_len) {
        if (!varlink_name_valid(method))
                return -EINVAL;
        return format("method", method, parameters, "more", more, ret, ret_len);
}

int varlink_format_reply(json_object *parameters, bool continues, char **ret, size_t *ret_len) {
        return format(NULL, NULL, parameters, "continues", continues, ret, ret_len);
}

int varlink_format_error(const char *error, json_object *parameters, char **ret, size_t *ret_len) {
        if (!varlink_name_valid(error))
                return -EINVAL;
        return format("error", error, parameters, NULL, false, ret, ret_len);
}
