/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

/* The Varlink wire format (varlink.org), as far as systemd's userdb needs
 * it: each message is one JSON object followed by a NUL byte on an
 * AF_UNIX SOCK_STREAM socket. A call is {"method": "iface.Method",
 * "parameters": {…}, "more": bool, "oneway": bool}; a reply is
 * {"parameters": {…}, "continues": bool} or {"error": "iface.Error",
 * "parameters": {…}}. This file only frames, parses and formats; the
 * socket side lives with its user (hearthd/varlink-server.c).
 *
 * What a peer sends is hostile: messages are bounded (a caller passes the
 * bound it keeps), parsed strictly (json-strict.h: no duplicate keys,
 * valid UTF-8, bounded depth) and checked field by field. */

/* A call is small (a lookup): more than this without a NUL is refused. */
#define VARLINK_CALL_MAX (64 * 1024)
/* A reply carries a record: records are at most JSON_STRICT_MAX_SIZE. */
#define VARLINK_REPLY_MAX (2 * 1024 * 1024)
/* Interface and method names ("io.systemd.UserDatabase.GetUserRecord"). */
#define VARLINK_NAME_MAX 255

#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define VARLINK_ERROR_EXPECTED_MORE "org.varlink.service.ExpectedMore"

/* Where the first message in buf[0..len) ends: 1 and its length without
 * the NUL in *ret_len; 0 if no NUL came yet and len < max; -E2BIG if max
 * bytes came without one. */
int varlink_frame(const char *buf, size_t len, size_t max, size_t *ret_len);

/* A qualified name: dot-separated, [A-Za-z][A-Za-z0-9-]* parts for the
 * interface (at least two), then a method or error name [A-Z][A-Za-z0-9]*. */
bool varlink_name_valid(const char *s);

typedef struct VarlinkCall {
        json_object *json;       /* the whole message; owns the rest */
        const char *method;
        json_object *parameters; /* an object (empty when the call had none) */
        bool more, oneway;
} VarlinkCall;

/* Parses one call (len bytes, no NUL inside). Unknown keys, wrong types,
 * an invalid method name, more together with oneway: -EINVAL with the
 * reason in *ret_error (never any of the text). -ENOMEM. */
int varlink_call_parse(const char *msg, size_t len, VarlinkCall *ret, char **ret_error);
void varlink_call_done(VarlinkCall *c);

typedef struct VarlinkReply {
        json_object *json;
        const char *error;       /* NULL for a reply */
        json_object *parameters; /* an object (empty when none) */
        bool continues;
} VarlinkReply;

/* Parses one reply, as varlink_call_parse() a call. */
int varlink_reply_parse(const char *msg, size_t len, VarlinkReply *ret, char **ret_error);
void varlink_reply_done(VarlinkReply *r);

/* Messages as sent, NUL included in *ret_len. parameters may be NULL
 * (sent as {}); it is not taken. -ENOMEM, -EINVAL for an invalid name. */
int varlink_format_call(const char *method, json_object *parameters, bool more, char **ret, size_t *ret_len);
int varlink_format_reply(json_object *parameters, bool continues, char **ret, size_t *ret_len);
int varlink_format_error(const char *error, json_object *parameters, char **ret, size_t *ret_len);
