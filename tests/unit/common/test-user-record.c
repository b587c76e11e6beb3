/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User records: a table of malformed records, each refused with its own
 * message naming the field and the rule; a full valid record; unknown
 * fields surviving a round trip; perMachine and binding; stripping;
 * boundaries. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json-strict.h"
#include "user-record.h"

#define MID "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"
#define HOST "host1"

#define MiB (UINT64_C(1024) * 1024)
#define EiB (UINT64_C(1) << 60)
#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* The messages the rules produce, as user-record.c words them. */
#define NAME_RULE "must be 1 to 31 characters of A-Z, a-z, 0-9, '_' and '-', starting with a letter or '_'"
#define PATH_RULE "must be an absolute, normalized path (no '.', '..', '//' or trailing '/')"
#define ID_RANGE "must be between 0 and 4294967294 and not 65535"
#define NOT_OBJECT "a user record must be a JSON object"
#define MACHINE_ID_RULE "is not a machine ID (32 lowercase hex digits)"

/* ---- malformed records ------------------------------------------------ */

typedef struct BadRecord {
        const char *json; /* NULL: make() builds the text */
        size_t len;       /* explicit, so NUL bytes can be embedded */
        char *(*make)(size_t *ret_len);
        int ret;
        const char *error; /* a substring of the message */
} BadRecord;

/* j must be a string literal: its length is taken with sizeof. */
#define BAD(j, e) { .json = (j), .len = sizeof(j) - 1, .ret = -EINVAL, .error = (e) }
#define BAD_MADE(f, r, e) { .make = (f), .ret = (r), .error = (e) }
/* The opening of a valid record; most cases add one field to it. */
#define REC "{\"userName\":\"a\","

static char *make_text(size_t size) {
        char *s = malloc(size + 1);
        assert_non_null(s);
        return s;
}

/* {"userName":"a","x":[[…]]}: the outer object and depth arrays. */
static char *make_nested(size_t depth, size_t *ret_len) {
        static const char head[] = REC "\"x\":";
        size_t len = strlen(head) + 2 * depth + 1;
        char *s = make_text(len), *p = s;

        p = stpcpy(p, head);
        memset(p, '[', depth);
        p += depth;
        memset(p, ']', depth);
        p += depth;
        strcpy(p, "}");
        *ret_len = len;
        return s;
}

/* {"userName":"a","<field>":"xxx…"}, the value n bytes long. */
static char *make_long_string(const char *prefix, const char *suffix, size_t n, size_t *ret_len) {
        size_t lp = strlen(prefix), ls = strlen(suffix);
        char *s = make_text(lp + n + ls);

        memcpy(s, prefix, lp);
        memset(s + lp, 'x', n);
        memcpy(s + lp + n, suffix, ls + 1);
        *ret_len = lp + n + ls;
        return s;
}

/* A valid record padded with white space to size bytes. */
static char *make_padded(size_t size, size_t *ret_len) {
        static const char record[] = "{\"userName\":\"a\"}";
        char *s = make_text(size);

        memset(s, ' ', size);
        memcpy(s, record, strlen(record));
        s[size] = 0;
        *ret_len = size;
        return s;
}

static char *make_too_deep(size_t *ret_len) {
        return make_nested(JSON_STRICT_MAX_DEPTH, ret_len); /* 33 with the record itself */
}

static char *make_much_too_deep(size_t *ret_len) {
        return make_nested(200, ret_len);
}

/* 33 levels of objects: {"userName":"a","x":{"x":{…{}…}}} */
static char *make_too_deep_objects(size_t *ret_len) {
        static const char head[] = REC "\"x\":";
        size_t depth = JSON_STRICT_MAX_DEPTH, len = strlen(head) + depth * 5 + 1 + depth;
        char *s = make_text(len), *p = s;

        p = stpcpy(p, head);
        for (size_t i = 0; i + 1 < depth; i++)
                p = stpcpy(p, "{\"x\":");
        p = stpcpy(p, "{}");
        for (size_t i = 0; i + 1 < depth; i++)
                *p++ = '}';
        strcpy(p, "}");
        *ret_len = strlen(s);
        return s;
}

static char *make_huge_real_name(size_t *ret_len) {
        return make_long_string(REC "\"realName\":\"", "\"}", 2000, ret_len);
}

static char *make_huge_token(size_t *ret_len) {
        return make_long_string(REC "\"luksCipher\":\"", "\"}", 65, ret_len);
}

static char *make_huge_password(size_t *ret_len) {
        return make_long_string(REC "\"secret\":{\"password\":[\"", "\"]}}", 4097, ret_len);
}

static char *make_huge_email(size_t *ret_len) {
        return make_long_string(REC "\"emailAddress\":\"a@", "\"}", 253, ret_len);
}

static char *make_too_large(size_t *ret_len) {
        return make_padded(JSON_STRICT_MAX_SIZE + 1, ret_len);
}

static char *make_much_too_large(size_t *ret_len) {
        return make_long_string(REC "\"realName\":\"", "\"}", 2 * JSON_STRICT_MAX_SIZE, ret_len);
}

static char *make_too_many_groups(size_t *ret_len) {
        static const char head[] = REC "\"memberOf\":[";
        size_t n = 1025, len = strlen(head) + n * 4 + 2;
        char *s = make_text(len), *p = s;

        p = stpcpy(p, head);
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, i ? ",\"g\"" : "\"g\"");
        strcpy(p, "]}");
        *ret_len = strlen(s);
        return s;
}

static const BadRecord bad[] = {
        /* Types and ranges of regular fields. */
        BAD(REC "\"uid\":\"60100\"}", "uid: must be an unsigned integer"),
        BAD(REC "\"uid\":1.5}", "uid: must be an unsigned integer"),
        BAD(REC "\"uid\":1.0}", "uid: must be an unsigned integer"),
        BAD(REC "\"uid\":1e3}", "uid: must be an unsigned integer"),
        BAD(REC "\"uid\":null}", "uid: must be an unsigned integer"),
        BAD(REC "\"uid\":true}", "uid: must be an unsigned integer"),
        BAD(REC "\"uid\":-1}", "uid: must not be negative"),
        BAD(REC "\"uid\":-9223372036854775808}", "uid: must not be negative"),
        BAD(REC "\"uid\":65535}", "uid: " ID_RANGE),
        BAD(REC "\"uid\":4294967295}", "uid: " ID_RANGE),
        BAD(REC "\"uid\":4294967296}", "uid: " ID_RANGE),
        BAD(REC "\"uid\":18446744073709551615}", "uid: " ID_RANGE),
        BAD(REC "\"gid\":4294967296}", "gid: " ID_RANGE),
        BAD(REC "\"gid\":65535}", "gid: " ID_RANGE),
        BAD(REC "\"gid\":-5}", "gid: must not be negative"),
        BAD(REC "\"locked\":\"yes\"}", "locked: must be a boolean"),
        BAD(REC "\"locked\":1}", "locked: must be a boolean"),
        BAD(REC "\"luksDiscard\":\"true\"}", "luksDiscard: must be a boolean"),
        BAD(REC "\"autoResizeMode\":\"shrink\"}", "autoResizeMode: must be one of off, grow, shrink-and-grow"),
        BAD(REC "\"rebalanceWeight\":10001}", "rebalanceWeight: must be a number from 1 to 10000, or false"),
        BAD(REC "\"rebalanceWeight\":true}", "rebalanceWeight: must be a number from 1 to 10000, or false"),
        BAD(REC "\"diskSize\":\"1G\"}", "diskSize: must be an unsigned integer"),
        BAD(REC "\"diskSize\":16777215}", "diskSize: must be at least 16 MiB"),
        BAD(REC "\"diskSize\":0}", "diskSize: must be at least 16 MiB"),
        BAD(REC "\"diskSize\":1152921504606846977}", "diskSize: must be at most 1 EiB"),
        BAD(REC "\"diskSize\":18446744073709551615}", "diskSize: must be at most 1 EiB"),
        BAD(REC "\"diskSizeRelative\":4294967296}", "diskSizeRelative: must be a share from 0 to 4294967295 (all of the space)"),
        BAD(REC "\"diskSizeRelative\":-1}", "diskSizeRelative: must not be negative"),
        BAD(REC "\"diskSizeRelative\":0.2}", "diskSizeRelative: must be an unsigned integer"),
        BAD(REC "\"memberOf\":\"wheel\"}", "memberOf: must be an array of strings"),
        BAD(REC "\"memberOf\":{}}", "memberOf: must be an array of strings"),
        BAD(REC "\"memberOf\":[1]}", "memberOf: entry 0 must be a string"),
        BAD(REC "\"memberOf\":[\"wheel\",null]}", "memberOf: entry 1 must be a string"),
        BAD(REC "\"memberOf\":[\"wheel\",\"9x\"]}", "memberOf: entry 1 is not a valid group name"),
        BAD(REC "\"memberOf\":[\"a b\"]}", "memberOf: entry 0 is not a valid group name"),
        BAD(REC "\"memberOf\":[\"a\\nb\"]}", "memberOf: entry 0 must not contain control characters"),
        BAD(REC "\"memberOf\":[\"wheel\",\"audio\",\"wheel\"]}", "memberOf: group \"wheel\" listed twice"),
        BAD_MADE(make_too_many_groups, -EINVAL, "memberOf: must have at most 1024 entries"),
        BAD(REC "\"realName\":[\"x\"]}", "realName: must be a string"),
        BAD(REC "\"shell\":7}", "shell: must be a string"),
        BAD(REC "\"notBeforeUSec\":true}", "notBeforeUSec: must be an unsigned integer"),
        BAD(REC "\"lastChangeUSec\":-1}", "lastChangeUSec: must not be negative"),
        BAD(REC "\"luksPbkdfMemoryCost\":4294967297}", "luksPbkdfMemoryCost: must be at most 4 GiB"),
        BAD(REC "\"luksPbkdfForceIterations\":0}", "luksPbkdfForceIterations: must be between 1 and 4294967295"),
        BAD(REC "\"luksPbkdfForceIterations\":4294967296}",
            "luksPbkdfForceIterations: must be between 1 and 4294967295"),

        /* User names. */
        BAD("{\"userName\":\"\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"9lives\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"-dash\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"a/b\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"..\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"a.b\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"abcdefghijklmnopqrstuvwxyzabcdef\"}", "userName: " NAME_RULE), /* 32 */
        BAD("{\"userName\":\"b\\u00e9a\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"b\xc3\xa9" "a\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"has space\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":\"tab\\t\"}", "userName: " NAME_RULE),
        BAD("{\"userName\":7}", "userName: must be a string"),
        BAD("{\"userName\":null}", "userName: must be a string"),
        BAD("{\"realName\":\"Nobody\"}", "userName: required"),
        BAD("{}", "userName: required"),

        /* Not an object at the top. */
        BAD("[]", NOT_OBJECT),
        BAD("[{\"userName\":\"a\"}]", NOT_OBJECT),
        BAD("\"alice\"", NOT_OBJECT),
        BAD("42", NOT_OBJECT),
        BAD("-1.5e3", NOT_OBJECT),
        BAD("null", NOT_OBJECT),
        BAD("true", NOT_OBJECT),

        /* Strings with rules of their own. */
        BAD(REC "\"realName\":\"A:B\"}", "realName: must not contain ':' or control characters"),
        BAD(REC "\"realName\":\"A\\nB\"}", "realName: must not contain ':' or control characters"),
        BAD(REC "\"realName\":\"A\x7f" "B\"}", "realName: must not contain ':' or control characters"),
        BAD(REC "\"emailAddress\":\"nobody\"}",
            "emailAddress: must be an address of the form user@domain without spaces"),
        BAD(REC "\"emailAddress\":\"a b@c\"}",
            "emailAddress: must be an address of the form user@domain without spaces"),
        BAD_MADE(make_huge_email, -EINVAL, "emailAddress: must be at most 254 bytes"),
        BAD(REC "\"homeDirectory\":\"home/a\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/home/../root\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/home/a/..\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/home/./a\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/home/a/\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/home//a\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"homeDirectory\":\"/home/a\\nb\"}", "homeDirectory: " PATH_RULE),
        BAD(REC "\"imagePath\":\"a.home\"}", "imagePath: " PATH_RULE),
        BAD(REC "\"shell\":\"bash\"}", "shell: " PATH_RULE),
        BAD(REC "\"skeletonDirectory\":\"/etc/skel/\"}", "skeletonDirectory: " PATH_RULE),
        BAD(REC "\"storage\":\"cifs\"}", "storage: cifs is not supported yet (luks, directory, subvolume or fscrypt)"),
        BAD(REC "\"niceLevel\":20}", "niceLevel: must be an integer from -20 to 19"),
        BAD(REC "\"umask\":4096}", "umask: must be a file mode (at most 07777)"),
        BAD(REC "\"cpuWeight\":0}", "cpuWeight: must be a number from 1 to 10000"),
        BAD(REC "\"ioWeight\":10001}", "ioWeight: must be a number from 1 to 10000"),
        BAD(REC "\"luksSectorSize\":1000}", "luksSectorSize: must be 512, 1024, 2048 or 4096"),
        BAD(REC "\"environment\":[\"1X=y\"]}", "environment: entry 0 must be NAME=VALUE"),
        BAD(REC "\"iconName\":\"a/b\"}", "iconName: must be a file name"),
        BAD(REC "\"location\":\"\"}", "location: must be non-empty text without control characters"),
        BAD(REC "\"resourceLimits\":{\"NOFILE\":{\"cur\":1,\"max\":2}}}",
            "resourceLimits: \"NOFILE\" is not a resource limit name"),
        BAD(REC "\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":3,\"max\":2}}}",
            "resourceLimits: RLIMIT_NOFILE: cur must not exceed max"),
        BAD(REC "\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":\"1\",\"max\":2}}}",
            "resourceLimits: RLIMIT_NOFILE: cur and max must be unsigned integers or null"),
        BAD(REC "\"privileged\":{\"sshAuthorizedKeys\":[1]}}", "privileged.sshAuthorizedKeys: entry 0 must be a string"),
        BAD(REC "\"storage\":\"LUKS\"}", "storage: must be one of luks, directory, subvolume, fscrypt"),
        BAD(REC "\"fileSystemType\":\"vfat\"}", "fileSystemType: must be one of btrfs, ext4, xfs"),
        BAD(REC "\"disposition\":\"weird\"}",
            "disposition: must be one of intrinsic, system, dynamic, regular, container, reserved"),
        BAD(REC "\"luksPbkdfType\":\"scrypt\"}", "luksPbkdfType: must be one of argon2id, argon2i, pbkdf2"),
        BAD(REC "\"luksPbkdfParallelThreads\":0}", "luksPbkdfParallelThreads: must be between 1 and 16"),
        BAD(REC "\"luksPbkdfParallelThreads\":17}", "luksPbkdfParallelThreads: must be between 1 and 16"),
        BAD(REC "\"luksVolumeKeySize\":48}", "luksVolumeKeySize: must be 16, 32 or 64 (bytes)"),
        BAD(REC "\"luksCipher\":\"aes;rm\"}",
            "luksCipher: must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'"),
        BAD(REC "\"luksCipherMode\":\"\"}",
            "luksCipherMode: must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'"),
        BAD_MADE(make_huge_token, -EINVAL,
                 "luksCipher: must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'"),
        BAD(REC "\"luksUuid\":\"f0c3-1\"}", "luksUuid: must be a UUID (8-4-4-4-12 hexadecimal digits)"),
        BAD(REC "\"partitionUuid\":\"5a949d13-1b8c-414d-9e58-8281937a43bg\"}",
            "partitionUuid: must be a UUID (8-4-4-4-12 hexadecimal digits)"),
        BAD(REC "\"fileSystemUuid\":\"5a949d131-b8c-414d-9e58-8281937a43b9\"}",
            "fileSystemUuid: must be a UUID (8-4-4-4-12 hexadecimal digits)"),
        BAD(REC "\"luksUuid\":7}", "luksUuid: must be a string"),
        BAD(REC "\"luksExtraMountOptions\":\"a, b\"}",
            "luksExtraMountOptions: must be a comma-separated list without spaces"),
        BAD_MADE(make_huge_real_name, -EINVAL, "realName: must be at most 1024 bytes"),

        /* Rules across fields. */
        BAD(REC "\"notBeforeUSec\":10,\"notAfterUSec\":5}", "notAfterUSec: must not be before notBeforeUSec"),
        BAD(REC "\"passwordChangeMinUSec\":10,\"passwordChangeMaxUSec\":5}",
            "passwordChangeMaxUSec: must not be less than passwordChangeMinUSec"),
        BAD(REC "\"storage\":\"luks\",\"homeDirectory\":\"/home/a\",\"imagePath\":\"/home/a\"}",
            "imagePath: must differ from homeDirectory"),

        /* Sections. */
        BAD(REC "\"hashedPassword\":[\"$y$x\"]}", "hashedPassword: not allowed in this section"),
        BAD(REC "\"password\":[\"pw\"]}", "password: not allowed in this section"),
        BAD(REC "\"privileged\":[]}", "privileged: must be an object"),
        BAD(REC "\"privileged\":{\"hashedPassword\":\"$y$x\"}}",
            "privileged.hashedPassword: must be an array of strings"),
        BAD(REC "\"privileged\":{\"hashedPassword\":[\"a:b\"]}}",
            "privileged.hashedPassword: entry 0 must be a non-empty crypt(3) hash without ':'"),
        BAD(REC "\"privileged\":{\"hashedPassword\":[\"$y$x\",\"\"]}}",
            "privileged.hashedPassword: entry 1 must be a non-empty crypt(3) hash without ':'"),
        BAD(REC "\"privileged\":{\"userName\":\"b\"}}", "privileged.userName: not allowed in this section"),
        BAD(REC "\"privileged\":{\"password\":[\"pw\"]}}", "privileged.password: not allowed in this section"),
        BAD(REC "\"secret\":[]}", "secret: must be an object"),
        BAD(REC "\"secret\":{\"password\":\"pw\"}}", "secret.password: must be an array of strings"),
        BAD(REC "\"secret\":{\"password\":[\"\"]}}", "secret.password: entry 0 must not be empty"),
        BAD(REC "\"secret\":{\"password\":[\"pw\",\"\"]}}", "secret.password: entry 1 must not be empty"),
        BAD_MADE(make_huge_password, -EINVAL, "secret.password: entry 0 must be at most 4096 bytes"),
        BAD(REC "\"secret\":{\"hashedPassword\":[\"$y$x\"]}}", "secret.hashedPassword: not allowed in this section"),
        BAD(REC "\"perMachine\":{}}", "perMachine: must be an array of objects"),
        BAD(REC "\"perMachine\":[5]}", "perMachine: entry 0 must be an object"),
        BAD(REC "\"perMachine\":[{\"diskSize\":20000000}]}", "perMachine[0]: needs matchMachineId or matchHostname"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"h\"},{}]}",
            "perMachine[1]: needs matchMachineId or matchHostname"),
        BAD(REC "\"perMachine\":[{\"matchMachineId\":\"xyz\"}]}",
            "perMachine[0].matchMachineId: entry 0 " MACHINE_ID_RULE),
        BAD(REC "\"perMachine\":[{\"matchMachineId\":\"0123456789ABCDEF0123456789ABCDEF\"}]}",
            "perMachine[0].matchMachineId: entry 0 " MACHINE_ID_RULE),
        BAD(REC "\"perMachine\":[{\"matchMachineId\":[\"" OTHER "\",\"" MID "0\"]}]}",
            "perMachine[0].matchMachineId: entry 1 " MACHINE_ID_RULE),
        BAD(REC "\"perMachine\":[{\"matchMachineId\":5}]}",
            "perMachine[0].matchMachineId: must be a string or an array of strings"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"\"}]}",
            "perMachine[0].matchHostname: entry 0 is not a host name"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":[\"" HOST "\",7]}]}",
            "perMachine[0].matchHostname: must be a string or an array of strings"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"h\",\"userName\":\"b\"}]}",
            "perMachine[0].userName: not allowed in this section"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"h\",\"disposition\":\"system\"}]}",
            "perMachine[0].disposition: not allowed in this section"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"h\",\"hashedPassword\":[\"$y$x\"]}]}",
            "perMachine[0].hashedPassword: not allowed in this section"),
        /* Not for this machine, but checked all the same. */
        BAD(REC "\"perMachine\":[{\"matchMachineId\":\"" MID "\"},{\"matchMachineId\":\"" OTHER "\",\"diskSize\":1}]}",
            "perMachine[1].diskSize: must be at least 16 MiB"),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"elsewhere\",\"uid\":\"x\"}]}",
            "perMachine[0].uid: must be an unsigned integer"),
        BAD(REC "\"binding\":[]}", "binding: must be an object keyed by machine ID"),
        BAD(REC "\"binding\":{\"notamachine\":{}}}", "binding: key " MACHINE_ID_RULE),
        BAD(REC "\"binding\":{\"" HOST "\":{}}}", "binding: key " MACHINE_ID_RULE),
        BAD(REC "\"binding\":{\"" MID "\":5}}", "binding: entry for " MID " must be an object"),
        BAD(REC "\"binding\":{\"" MID "\":{\"realName\":\"x\"}}}",
            "binding." MID ".realName: not allowed in this section"),
        BAD(REC "\"binding\":{\"" MID "\":{\"uid\":65535}}}", "binding." MID ".uid: " ID_RANGE),
        BAD(REC "\"binding\":{\"" OTHER "\":{\"uid\":\"x\"}}}", "binding." OTHER ".uid: must be an unsigned integer"),
        BAD(REC "\"binding\":{\"" OTHER "\":{\"diskSize\":33554432}}}",
            "binding." OTHER ".diskSize: not allowed in this section"),
        BAD(REC "\"status\":[]}", "status: must be an object keyed by machine ID"),
        BAD(REC "\"status\":{\"x\":{}}}", "status: key " MACHINE_ID_RULE),
        BAD(REC "\"status\":{\"" MID "\":\"up\"}}", "status: entry for " MID " must be an object"),
        BAD(REC "\"signature\":{}}", "signature: must be an array of objects"),
        BAD(REC "\"signature\":[{\"data\":\"x\"}]}",
            "signature: entry 0 must be an object with strings \"data\" and \"key\""),
        BAD(REC "\"signature\":[{\"key\":\"x\"}]}",
            "signature: entry 0 must be an object with strings \"data\" and \"key\""),
        BAD(REC "\"signature\":[{\"data\":\"x\",\"key\":1}]}",
            "signature: entry 0 must be an object with strings \"data\" and \"key\""),
        BAD(REC "\"signature\":[\"x\"]}", "signature: entry 0 must be an object with strings \"data\" and \"key\""),

        /* Size and depth. */
        BAD_MADE(make_too_large, -E2BIG, "document too large (1048577 bytes, at most 1048576)"),
        BAD_MADE(make_much_too_large, -E2BIG, "document too large"),
        BAD_MADE(make_too_deep, -EINVAL, "line 1, column 52: nested deeper than 32 levels"),
        BAD_MADE(make_much_too_deep, -EINVAL, "nested deeper than 32 levels"),
        BAD_MADE(make_too_deep_objects, -EINVAL, "nested deeper than 32 levels"),

        /* Duplicate keys: json-c alone would keep the last one. */
        BAD(REC "\"uid\":1,\"uid\":2}", "line 1, column 25: duplicate key \"uid\""),
        BAD("{\"uid\":60100,\"userName\":\"a\",\"uid\":60101}", "duplicate key \"uid\""),
        BAD(REC "\"privileged\":{\"x\":1,\"x\":2}}", "line 1, column 37: duplicate key \"x\""),
        BAD(REC "\"perMachine\":[{\"matchHostname\":\"h\",\"matchHostname\":\"" HOST "\"}]}",
            "duplicate key \"matchHostname\""),
        BAD(REC "\"x\":[{\"a\":{\"b\":1,\"b\":1}}]}", "duplicate key \"b\""),
        BAD("{\"uid\":1,\"\\u0075id\":2,\"userName\":\"a\"}", "line 1, column 10: duplicate key \"uid\""),
        BAD("{\"\\u0075id\":1,\"uid\":2,\"userName\":\"a\"}", "line 1, column 15: duplicate key \"uid\""),
        BAD("{\"userName\":\"a\",\"userN\\u0061me\":\"root\"}", "duplicate key \"userName\""),
        BAD(REC "\"\\u00e9\":1,\"\xc3\xa9\":2}", "duplicate key \"\xc3\xa9\""),
        BAD(REC "\"a\\nb\":1,\"a\\nb\":2}", "duplicate key \"a?b\""), /* one line */

        /* Encoding. */
        BAD("{\"userName\":\"a\xc3\x28\"}", "line 1, column 15: invalid UTF-8"),
        BAD("{\"userName\":\"\xc0\xaf\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"\xe0\x80\xaf\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"\xed\xa0\x80\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"\xff\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"\x80\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"a\xc3\"}", "invalid UTF-8"),
        BAD("{\"us\xc3\x28rName\":\"a\"}", "invalid UTF-8"),
        BAD("{\"userName\":\"a\0b\"}", "line 1, column 15: NUL byte in input"),
        BAD("{\"userName\":\"a\"}\0", "NUL byte in input"),
        BAD(REC "\"secret\":{\"password\":[\"pw\0\"]}}", "NUL byte in input"),
        BAD("{\"userName\":\"a\\u0000b\"}", "NUL character (\\u0000) in string"),
        BAD("{\"user\\u0000Name\":\"a\"}", "NUL character (\\u0000) in string"),
        BAD("{\"userName\":\"a\\ud800\"}", "lone high surrogate in \\u escape"),
        BAD("{\"userName\":\"a\\ud800x\"}", "lone high surrogate in \\u escape"),
        BAD("{\"userName\":\"a\\udc00\"}", "lone low surrogate in \\u escape"),
        BAD("{\"userName\":\"a\\ud800\\u0041\"}", "invalid surrogate pair in \\u escape"),
        BAD("{\"userName\":\"a\\u12\"}", "invalid \\u escape"),
        BAD("{\"userName\":\"a\\u12", "truncated \\u escape"),
        BAD("{\"userName\":\"a\\x41\"}", "invalid escape sequence"),
        BAD("{\"userName\":\"a\tb\"}", "line 1, column 15: control character in string"),
        BAD("{\"userName\":\"a\nb\"}", "line 1, column 15: control character in string"),

        /* Syntax. */
        BAD("{\"userName\":\"a\"} x", "line 1, column 18: trailing data after JSON value"),
        BAD("{\"userName\":\"a\"}{}", "trailing data after JSON value"),
        BAD("{\"userName\":\"a\"}\n]", "line 2, column 1: trailing data after JSON value"),
        BAD(REC "}", "expected a string as object key"),
        BAD("{'userName':'a'}", "line 1, column 2: expected a string as object key"),
        BAD("{userName:\"a\"}", "expected a string as object key"),
        BAD(REC "/* c */\"x\":1}", "expected a string as object key"),
        BAD("{\"userName\" \"a\"}", "expected ':' after object key"),
        BAD("{\"userName\":\"a\" \"uid\":1}", "expected ',' or '}' in object"),
        BAD(REC "\"x\":[1,]}", "unexpected character"),
        BAD(REC "\"x\":[1 2]}", "expected ',' or ']' in array"),
        BAD(REC "\"uid\":0123}", "number with leading zero"),
        BAD(REC "\"uid\":-01}", "number with leading zero"),
        BAD(REC "\"uid\":+1}", "unexpected character"),
        BAD(REC "\"uid\":.5}", "unexpected character"),
        BAD(REC "\"uid\":1.}", "invalid number"),
        BAD(REC "\"uid\":1e}", "invalid number"),
        BAD(REC "\"uid\":-}", "invalid number"),
        BAD(REC "\"uid\":0x10}", "expected ',' or '}' in object"),
        BAD(REC "\"uid\":18446744073709551616}", "integer out of range"),
        BAD(REC "\"uid\":99999999999999999999999}", "integer out of range"),
        BAD(REC "\"uid\":-9223372036854775809}", "integer out of range"),
        BAD(REC "\"locked\":True}", "unexpected character"),
        BAD(REC "\"locked\":tru}", "unexpected character"),
        BAD(REC "\"x\":NaN}", "unexpected character"),
        BAD(REC "\"x\":Infinity}", "unexpected character"),
        BAD("{\"userName\":\"a", "unterminated string"),
        BAD("{\"userName\":\"a\\", "unterminated string"),
        BAD("{\"userName\":\"a\"", "expected ',' or '}' in object"),
        BAD("{\"userName\":", "unexpected end of input"),
        BAD("", "line 1, column 1: unexpected end of input"),
        BAD(" \n\t ", "line 2, column 3: unexpected end of input"),
};

/* Checks one case; on a mismatch prints it and returns false, so one run
 * shows every case that fails. */
static bool expect_bad(size_t i, const char *text, size_t len, int ret, const char *want) {
        UserRecord *rec = NULL;
        char *error = NULL;
        bool ok = true;
        int r;

        r = user_record_parse(text, len, &rec, &error);
        if (r != ret || rec || !error || !strstr(error, want) || strchr(error, '\n')) {
                print_error("case %zu: got %d \"%s\"%s\n  expected %d \"%s\"\n", i, r,
                            error ? error : "(no message)", rec ? " and a record" : "", ret, want);
                user_record_free(rec);
                rec = NULL;
                ok = false;
        }
        free(error);

        /* The same without a message wanted. */
        r = user_record_parse(text, len, &rec, NULL);
        if (r != ret || rec) {
                print_error("case %zu without a message: got %d%s\n", i, r, rec ? " and a record" : "");
                user_record_free(rec);
                ok = false;
        }
        return ok;
}

static void test_malformed(void **state) {
        size_t failed = 0;

        (void) state;
        user_record_set_machine(MID, HOST);
        for (size_t i = 0; i < ELEMENTS(bad); i++) {
                const char *text = bad[i].json;
                size_t len = bad[i].len;
                char *made = NULL;

                if (!text)
                        text = made = bad[i].make(&len);
                if (!expect_bad(i, text, len, bad[i].ret, bad[i].error))
                        failed++;
                free(made);
        }
        if (failed > 0)
                fail_msg("%zu of %zu malformed records not refused as expected", failed, ELEMENTS(bad));
        print_message("%zu malformed records refused\n", ELEMENTS(bad));
        assert_true(ELEMENTS(bad) >= 45);
        user_record_set_machine(NULL, NULL);
}

/* Nothing of a value goes into a message: values may be passwords. */
static void test_messages_hold_no_values(void **state) {
        static const char *const texts[] = {
                REC "\"secret\":{\"password\":[\"hunter2\x01\"]}}",
                REC "\"secret\":{\"password\":[\"hunter2\\q\"]}}",
                REC "\"secret\":{\"password\":[\"hunter2\\ud800\"]}}",
                REC "\"secret\":{\"password\":[\"hunter2\xff\"]}}",
                REC "\"secret\":{\"password\":[\"hunter2\"]} x",
                REC "\"secret\":{\"password\":[\"hunter2\"]},\"uid\":\"hunter2\"}",
                REC "\"secret\":{\"password\":[\"hunter2\"]},\"realName\":\"hunter2:\"}",
                REC "\"secret\":{\"password\":[\"hunter2\"]},\"shell\":\"hunter2\"}",
        };
        (void) state;
        for (size_t i = 0; i < ELEMENTS(texts); i++) {
                UserRecord *rec = NULL;
                char *error = NULL;

                assert_int_equal(user_record_parse(texts[i], strlen(texts[i]), &rec, &error), -EINVAL);
                assert_null(rec);
                assert_non_null(error);
                if (strstr(error, "hunter2"))
                        fail_msg("case %zu: the message shows the value: %s", i, error);
                free(error);
        }
}

/* ---- valid records ---------------------------------------------------- */

static UserRecord *parse_ok_len(const char *text, size_t len) {
        UserRecord *rec = NULL;
        char *error = NULL;
        int r;

        r = user_record_parse(text, len, &rec, &error);
        if (r < 0) {
                print_error("refused (%d): %s\n  %.200s\n", r, error ? error : "(no message)", text);
                free(error);
                fail();
        }
        assert_null(error);
        assert_non_null(rec);
        return rec;
}

static UserRecord *parse_ok(const char *text) {
        return parse_ok_len(text, strlen(text));
}

static void test_full_record(void **state) {
        static const char json[] =
                "{\"userName\":\"alice\",\"realName\":\"Alice Liddell\",\"emailAddress\":\"alice@example.org\","
                "\"homeDirectory\":\"/home/alice\",\"imagePath\":\"/home/alice.home\",\"shell\":\"/bin/zsh\","
                "\"fileSystemType\":\"btrfs\",\"uid\":60100,\"gid\":60101,\"memberOf\":[\"wheel\",\"audio\"],"
                "\"storage\":\"luks\",\"disposition\":\"regular\",\"diskSize\":1073741824,"
                "\"locked\":false,\"notBeforeUSec\":1000,\"notAfterUSec\":2000,\"lastChangeUSec\":3000,"
                "\"lastPasswordChangeUSec\":4000,\"passwordChangeMinUSec\":5000,\"passwordChangeMaxUSec\":6000,"
                "\"passwordChangeWarnUSec\":7000,\"passwordChangeInactiveUSec\":8000,\"passwordChangeNow\":true,"
                "\"enforcePasswordPolicy\":false,\"autoLogin\":true,\"luksDiscard\":true,"
                "\"autoResizeMode\":\"grow\",\"rebalanceWeight\":250,"
                "\"luksCipher\":\"aes\",\"luksCipherMode\":\"xts-plain64\",\"luksVolumeKeySize\":64,"
                "\"luksPbkdfType\":\"argon2id\",\"luksPbkdfHashAlgorithm\":\"sha512\","
                "\"luksPbkdfTimeCostUSec\":500000,\"luksPbkdfMemoryCost\":67108864,\"luksPbkdfParallelThreads\":4,"
                "\"luksPbkdfForceIterations\":1000,\"luksExtraMountOptions\":\"noatime,commit=30\","
                "\"skeletonDirectory\":\"/etc/skel\","
                "\"privileged\":{\"hashedPassword\":[\"$y$j9T$salt$hash\",\"$6$salt$hash\"]},"
                "\"perMachine\":[{\"matchMachineId\":\"" OTHER "\",\"shell\":\"/bin/sh\"}],"
                "\"binding\":{\"" OTHER "\":{\"uid\":60200,\"luksUuid\":\"00000000-0000-4000-8000-000000000000\"},"
                "\"" MID "\":{\"luksUuid\":\"7e6a5db3-8891-43c6-a4e4-3f5f2a15785e\","
                "\"partitionUuid\":\"5A949D131B8C414D9E588281937A43B9\","
                "\"fileSystemUuid\":\"c5218c75-c4f2-4d4e-bcff-73227d020c9f\"}},"
                "\"status\":{\"" MID "\":{\"state\":\"inactive\"}},"
                "\"signature\":[{\"data\":\"c2ln\",\"key\":\"-----BEGIN PUBLIC KEY-----\"}],"
                "\"secret\":{\"password\":[\"correct horse\",\"battery staple\"]}}";
        UserRecord *rec;

        (void) state;
        user_record_set_machine(MID, HOST);
        rec = parse_ok(json);
        assert_non_null(rec->json);
        assert_string_equal(rec->user_name, "alice");
        assert_string_equal(rec->real_name, "Alice Liddell");
        assert_string_equal(rec->email_address, "alice@example.org");
        assert_string_equal(rec->home_directory, "/home/alice");
        assert_string_equal(rec->image_path, "/home/alice.home");
        assert_string_equal(rec->shell, "/bin/zsh"); /* the perMachine entry is another machine's */
        assert_string_equal(rec->file_system_type, "btrfs");
        assert_int_equal(rec->uid, 60100); /* so is the binding */
        assert_int_equal(rec->gid, 60101);
        /* This machine's binding applies: which volume is the home's. */
        assert_string_equal(rec->luks_uuid, "7e6a5db3-8891-43c6-a4e4-3f5f2a15785e");
        assert_string_equal(rec->partition_uuid, "5A949D131B8C414D9E588281937A43B9");
        assert_string_equal(rec->file_system_uuid, "c5218c75-c4f2-4d4e-bcff-73227d020c9f");
        assert_non_null(rec->member_of);
        assert_string_equal(rec->member_of[0], "wheel");
        assert_string_equal(rec->member_of[1], "audio");
        assert_null(rec->member_of[2]);
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        assert_int_equal(rec->disposition, USER_DISPOSITION_REGULAR);
        assert_true(rec->disk_size == UINT64_C(1073741824));
        assert_int_equal(rec->locked, 0);
        assert_true(rec->not_before_usec == 1000);
        assert_true(rec->not_after_usec == 2000);
        assert_true(rec->last_change_usec == 3000);
        assert_true(rec->last_password_change_usec == 4000);
        assert_true(rec->password_change_min_usec == 5000);
        assert_true(rec->password_change_max_usec == 6000);
        assert_true(rec->password_change_warn_usec == 7000);
        assert_true(rec->password_change_inactive_usec == 8000);
        assert_int_equal(rec->password_change_now, 1);
        assert_int_equal(rec->enforce_password_policy, 0);
        assert_int_equal(rec->auto_login, 1);
        assert_int_equal(rec->luks_discard, 1);
        assert_int_equal(user_record_auto_resize(rec), USER_AUTO_RESIZE_GROW);
        assert_true(user_record_rebalance_weight(rec) == 250);
        assert_string_equal(rec->luks_cipher, "aes");
        assert_string_equal(rec->luks_cipher_mode, "xts-plain64");
        assert_true(rec->luks_volume_key_size == 64);
        assert_string_equal(rec->luks_pbkdf_type, "argon2id");
        assert_string_equal(rec->luks_pbkdf_hash_algorithm, "sha512");
        assert_true(rec->luks_pbkdf_time_cost_usec == 500000);
        assert_true(rec->luks_pbkdf_memory_cost == 67108864);
        assert_true(rec->luks_pbkdf_parallel_threads == 4);
        assert_true(rec->luks_pbkdf_force_iterations == 1000);
        assert_string_equal(rec->luks_extra_mount_options, "noatime,commit=30");
        assert_string_equal(rec->skeleton_directory, "/etc/skel");
        assert_non_null(rec->hashed_password);
        assert_string_equal(rec->hashed_password[0], "$y$j9T$salt$hash");
        assert_string_equal(rec->hashed_password[1], "$6$salt$hash");
        assert_null(rec->hashed_password[2]);
        assert_non_null(rec->password);
        assert_string_equal(rec->password[0], "correct horse");
        assert_string_equal(rec->password[1], "battery staple");
        assert_null(rec->password[2]);
        assert_int_equal(rec->has_sections, USER_RECORD_PRIVILEGED | USER_RECORD_PER_MACHINE | USER_RECORD_BINDING |
                                                    USER_RECORD_STATUS | USER_RECORD_SIGNATURE | USER_RECORD_SECRET);
        user_record_free(rec);
        user_record_set_machine(NULL, NULL);
}

static void test_minimal_record(void **state) {
        UserRecord *rec;

        (void) state;
        rec = parse_ok("{\"userName\":\"bob\"}");
        assert_string_equal(rec->user_name, "bob");
        assert_null(rec->real_name);
        assert_null(rec->email_address);
        assert_null(rec->home_directory);
        assert_null(rec->image_path);
        assert_null(rec->shell);
        assert_null(rec->file_system_type);
        assert_int_equal(rec->uid, UID_INVALID);
        assert_int_equal(rec->gid, GID_INVALID);
        assert_null(rec->member_of);
        assert_int_equal(rec->storage, USER_STORAGE_UNSET);
        assert_int_equal(rec->disposition, USER_DISPOSITION_UNSET);
        assert_true(rec->disk_size == UINT64_MAX);
        assert_int_equal(rec->locked, -1);
        assert_true(rec->not_before_usec == UINT64_MAX);
        assert_true(rec->not_after_usec == UINT64_MAX);
        assert_int_equal(rec->password_change_now, -1);
        assert_int_equal(rec->auto_login, -1);
        assert_int_equal(rec->luks_discard, -1);
        assert_int_equal(user_record_auto_resize(rec), USER_AUTO_RESIZE_OFF); /* not LUKS */
        assert_true(user_record_rebalance_weight(rec) == USER_REBALANCE_WEIGHT_DEFAULT);
        assert_true(rec->luks_volume_key_size == UINT64_MAX);
        assert_true(rec->luks_pbkdf_force_iterations == UINT64_MAX);
        assert_null(rec->luks_cipher);
        assert_null(rec->hashed_password);
        assert_null(rec->password);
        assert_int_equal(rec->has_sections, 0);
        user_record_free(rec);

        /* White space around the object; valid escapes decode. */
        rec = parse_ok(" \r\n\t{ \"userName\" : \"b\\u006fb\" ,\n"
                       "\"realName\" : \"B\\u00f6b \\ud83d\\ude00 \\/\\\\\" }\n");
        assert_string_equal(rec->user_name, "bob");
        assert_string_equal(rec->real_name, "B\xc3\xb6" "b \xf0\x9f\x98\x80 /\\");
        user_record_free(rec);

        /* Empty lists are lists. */
        rec = parse_ok("{\"userName\":\"bob\",\"memberOf\":[],\"privileged\":{\"hashedPassword\":[]}}");
        assert_non_null(rec->member_of);
        assert_null(rec->member_of[0]);
        assert_non_null(rec->hashed_password);
        assert_null(rec->hashed_password[0]);
        user_record_free(rec);
}

/* ---- round trip ------------------------------------------------------- */

static void round_trip(const char *json) {
        UserRecord *a, *b, *c;
        const char *out;

        a = parse_ok(json);
        out = user_record_to_string(a, USER_RECORD_FORMAT_SHORT);
        assert_non_null(out);
        b = parse_ok(out);
        assert_true(json_object_equal(a->json, b->json));

        out = user_record_to_string(b, USER_RECORD_FORMAT_PRETTY);
        assert_non_null(out);
        c = parse_ok(out);
        assert_true(json_object_equal(a->json, c->json));

        user_record_free(a);
        user_record_free(b);
        user_record_free(c);
}

static void test_round_trip(void **state) {
        static const char json[] =
                "{\"userName\":\"bob\",\"uid\":60101,"
                "\"futureField\":{\"nested\":[1,-2,3.25,true,null,{\"x\":null,\"deep\":{\"deeper\":[\"\\u00e9\"]}}]},"
                "\"futureString\":\"tab\\there \\\"quoted\\\" \\\\ / \\ud83d\\ude00\",\"futureEmpty\":{},"
                "\"futureArray\":[],\"futureBig\":18446744073709551615,\"futureMin\":-9223372036854775808,"
                "\"futureDouble\":1e-7,\"\":\"empty key\","
                "\"privileged\":{\"hashedPassword\":[\"$y$q\"],\"sshAuthorizedKeys\":[\"ssh-ed25519 AAA\"],"
                "\"futurePrivate\":{\"a\":[1]}},"
                "\"perMachine\":[{\"matchHostname\":\"h\",\"iconName\":\"x\",\"futureLimit\":{\"n\":5}},"
                "{\"matchMachineId\":[\"" OTHER "\"],\"diskSize\":33554432,\"future\":[[]]}],"
                "\"binding\":{\"" OTHER "\":{\"uid\":60300,\"futureBound\":\"y\"}},"
                "\"status\":{\"" OTHER "\":{\"diskUsage\":12345,\"state\":\"active\"}},"
                "\"signature\":[{\"data\":\"c2ln\",\"key\":\"k\",\"futureAlgo\":\"ed25519\"}],"
                "\"secret\":{\"password\":[\"pw\"],\"futureToken\":[\"t\"]}}";
        UserRecord *a, *b;
        json_object *v, *w;
        const char *out;

        (void) state;
        user_record_set_machine(MID, HOST);
        round_trip(json);

        /* The unknown fields are really there after the trip, unchanged. */
        a = parse_ok(json);
        out = user_record_to_string(a, USER_RECORD_FORMAT_SHORT);
        b = parse_ok(out);
        assert_true(json_object_object_get_ex(b->json, "futureField", &v));
        assert_true(json_object_object_get_ex(a->json, "futureField", &w));
        assert_true(json_object_equal(v, w));
        assert_true(json_object_object_get_ex(b->json, "futureBig", &v));
        assert_true(json_object_get_uint64(v) == UINT64_MAX);
        assert_true(json_object_object_get_ex(b->json, "privileged", &v));
        assert_true(json_object_object_get_ex(v, "sshAuthorizedKeys", &w));
        assert_string_equal(json_object_get_string(json_object_array_get_idx(w, 0)), "ssh-ed25519 AAA");
        assert_true(json_object_object_get_ex(v, "futurePrivate", &w));
        assert_true(json_object_object_get_ex(b->json, "perMachine", &v));
        v = json_object_array_get_idx(v, 0);
        assert_true(json_object_object_get_ex(v, "futureLimit", &w));
        assert_true(json_object_object_get_ex(w, "n", &w));
        assert_int_equal(json_object_get_int(w), 5);
        assert_true(json_object_object_get_ex(b->json, "", &v));
        assert_string_equal(json_object_get_string(v), "empty key");
        user_record_free(a);
        user_record_free(b);

        /* Known fields round trip as well. */
        round_trip("{\"userName\":\"carol\",\"realName\":\"Carol \\u00c7\",\"uid\":4294967294,\"gid\":0,"
                   "\"diskSize\":1152921504606846976,\"memberOf\":[\"users\"],\"locked\":true}");
        user_record_set_machine(NULL, NULL);
}

/* ---- perMachine and binding ------------------------------------------- */

static void test_per_machine(void **state) {
        UserRecord *rec;
        char *error = NULL;
        const char *text;

        (void) state;
        user_record_set_machine(MID, HOST);

        /* By machine ID, as a string or in a list. */
        rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,"
                       "\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"diskSize\":33554432}]}");
        assert_true(rec->disk_size == 32 * MiB);
        assert_true(rec->has_sections == USER_RECORD_PER_MACHINE);
        user_record_free(rec);
        rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,"
                       "\"perMachine\":[{\"matchMachineId\":[\"" OTHER "\",\"" MID "\"],\"diskSize\":33554432}]}");
        assert_true(rec->disk_size == 32 * MiB);
        user_record_free(rec);

        /* By host name. */
        rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,\"shell\":\"/bin/bash\","
                       "\"perMachine\":[{\"matchHostname\":\"" HOST "\",\"diskSize\":67108864,"
                       "\"shell\":\"/bin/fish\"}]}");
        assert_true(rec->disk_size == 64 * MiB);
        assert_string_equal(rec->shell, "/bin/fish");
        user_record_free(rec);
        rec = parse_ok("{\"userName\":\"c\",\"perMachine\":[{\"matchHostname\":[\"other\",\"" HOST "\"],"
                       "\"diskSize\":67108864}]}");
        assert_true(rec->disk_size == 64 * MiB);
        user_record_free(rec);

        /* Not for this machine: checked, not applied. */
        rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,\"perMachine\":["
                       "{\"matchMachineId\":\"" OTHER "\",\"diskSize\":33554432,\"uid\":60400},"
                       "{\"matchHostname\":\"host2\",\"diskSize\":67108864,\"memberOf\":[\"x\"]},"
                       "{\"matchMachineId\":[],\"diskSize\":134217728}]}");
        assert_true(rec->disk_size == 16 * MiB);
        assert_int_equal(rec->uid, UID_INVALID);
        assert_null(rec->member_of);
        user_record_free(rec);
        text = "{\"userName\":\"c\",\"diskSize\":16777216,\"perMachine\":["
               "{\"matchMachineId\":\"" OTHER "\",\"diskSize\":1000}]}";
        rec = NULL;
        assert_int_equal(user_record_parse(text, strlen(text), &rec, &error), -EINVAL);
        assert_null(rec);
        assert_string_equal(error, "perMachine[0].diskSize: must be at least 16 MiB");
        free(error);
        error = NULL;

        /* Matching entries apply in order, the last one winning; the
         * regular section stays for what they do not set. */
        rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,\"realName\":\"C\",\"perMachine\":["
                       "{\"matchMachineId\":\"" MID "\",\"diskSize\":33554432,\"locked\":true},"
                       "{\"matchHostname\":\"" HOST "\",\"diskSize\":67108864}]}");
        assert_true(rec->disk_size == 64 * MiB);
        assert_int_equal(rec->locked, 1);
        assert_string_equal(rec->real_name, "C");
        user_record_free(rec);

        /* Rules across fields hold on the record as it applies here. */
        rec = NULL;
        text = "{\"userName\":\"c\",\"notBeforeUSec\":10,\"notAfterUSec\":20,"
               "\"perMachine\":[{\"matchHostname\":\"" HOST "\",\"notAfterUSec\":5}]}";
        assert_int_equal(user_record_parse(text, strlen(text), &rec, &error), -EINVAL);
        assert_null(rec);
        assert_string_equal(error, "notAfterUSec: must not be before notBeforeUSec");
        free(error);
        error = NULL;

        /* A perMachine entry by host name does not match another host. */
        user_record_set_machine(OTHER, "host2");
        rec = parse_ok("{\"userName\":\"c\",\"perMachine\":[{\"matchHostname\":\"" HOST "\",\"shell\":\"/bin/fish\"},"
                       "{\"matchMachineId\":\"" MID "\",\"diskSize\":33554432}]}");
        assert_null(rec->shell);
        assert_true(rec->disk_size == UINT64_MAX);
        user_record_free(rec);

        user_record_set_machine(NULL, NULL);
}

static void test_binding(void **state) {
        static const char json[] =
                "{\"userName\":\"d\",\"uid\":60100,\"storage\":\"directory\",\"imagePath\":\"/home/d.homedir\","
                "\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"uid\":60150}],"
                "\"binding\":{\"" MID "\":{\"uid\":60200,\"imagePath\":\"/home/d.home\",\"storage\":\"luks\"},"
                "\"" OTHER "\":{\"uid\":60300,\"imagePath\":\"/srv/d.home\",\"storage\":\"subvolume\"}}}";
        UserRecord *rec;

        (void) state;

        /* This machine's binding wins over the regular section and perMachine. */
        user_record_set_machine(MID, HOST);
        rec = parse_ok(json);
        assert_int_equal(rec->uid, 60200);
        assert_string_equal(rec->image_path, "/home/d.home");
        assert_int_equal(rec->storage, USER_STORAGE_LUKS);
        assert_true(rec->has_sections == (USER_RECORD_PER_MACHINE | USER_RECORD_BINDING));
        user_record_free(rec);

        /* Another machine sees its own binding. */
        user_record_set_machine(OTHER, "host2");
        rec = parse_ok(json);
        assert_int_equal(rec->uid, 60300);
        assert_string_equal(rec->image_path, "/srv/d.home");
        assert_int_equal(rec->storage, USER_STORAGE_SUBVOLUME);
        user_record_free(rec);

        /* A third sees neither. */
        user_record_set_machine("00000000000000000000000000000001", "host3");
        rec = parse_ok(json);
        assert_int_equal(rec->uid, 60100);
        assert_string_equal(rec->image_path, "/home/d.homedir");
        assert_int_equal(rec->storage, USER_STORAGE_DIRECTORY);
        user_record_free(rec);

        /* The machine ID known, the host name not. */
        user_record_set_machine(MID, NULL);
        rec = parse_ok(json);
        assert_int_equal(rec->uid, 60200);
        user_record_free(rec);

        /* Stripping the binding re-derives the view without it. */
        user_record_set_machine(MID, HOST);
        rec = parse_ok(json);
        assert_int_equal(user_record_strip(rec, USER_RECORD_BINDING), 0);
        assert_int_equal(rec->uid, 60150);
        assert_string_equal(rec->image_path, "/home/d.homedir");
        assert_int_equal(rec->storage, USER_STORAGE_DIRECTORY);
        assert_false(json_object_object_get_ex(rec->json, "binding", NULL));
        assert_true(rec->has_sections == USER_RECORD_PER_MACHINE);
        user_record_free(rec);

        user_record_set_machine(NULL, NULL);
}

/* ---- strip and without ------------------------------------------------ */

static void test_strip_secret(void **state) {
        static const char json[] =
                "{\"userName\":\"e\",\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]},"
                "\"secret\":{\"password\":[\"correct horse\",\"battery\"]},\"status\":{}}";
        UserRecord *rec;
        json_object *secret, *passwords;
        const char *pw;
        size_t pw_len;

        (void) state;
        rec = parse_ok(json);
        assert_non_null(rec->password);
        assert_string_equal(rec->password[0], "correct horse");

        /* Keep the section alive past the strip to see it was wiped. */
        assert_true(json_object_object_get_ex(rec->json, "secret", &secret));
        json_object_get(secret);
        assert_true(json_object_object_get_ex(secret, "password", &passwords));
        pw = json_object_get_string(json_object_array_get_idx(passwords, 0));
        pw_len = strlen("correct horse");

        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET), 0);
        assert_null(rec->password);
        assert_false(json_object_object_get_ex(rec->json, "secret", NULL));
        assert_int_equal(rec->has_sections, USER_RECORD_PRIVILEGED | USER_RECORD_STATUS);
        assert_string_equal(rec->user_name, "e");
        assert_non_null(rec->hashed_password);
        assert_string_equal(rec->hashed_password[0], "$y$a$b");
        for (size_t i = 0; i < pw_len; i++)
                assert_int_equal(pw[i], 0);
        json_object_put(secret);

        /* The secret is not in what is written out either. */
        assert_null(strstr(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT), "secret"));

        /* Stripping what is not there is fine; several at once. */
        assert_int_equal(user_record_strip(rec, USER_RECORD_SECRET | USER_RECORD_SIGNATURE), 0);
        assert_int_equal(user_record_strip(rec, USER_RECORD_PRIVILEGED | USER_RECORD_STATUS), 0);
        assert_null(rec->hashed_password);
        assert_int_equal(rec->has_sections, 0);
        assert_int_equal(json_object_object_length(rec->json), 1);
        user_record_free(rec);
}

/* What a record that travels between machines may not have (homed's
 * USER_RECORD_LOAD_EMBEDDED): a binding, a status, secrets. */
static void test_unportable(void **state) {
        static const struct {
                const char *json;
                const char *section;
        } cases[] = {
                { "{\"userName\":\"f\",\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]},\"perMachine\":[],"
                  "\"signature\":[]}", NULL },
                { "{\"userName\":\"f\",\"binding\":{}}", "binding" },
                { "{\"userName\":\"f\",\"binding\":{\"fedcba9876543210fedcba9876543210\":{\"uid\":60100}}}", "binding" },
                { "{\"userName\":\"f\",\"status\":{}}", "status" },
                { "{\"userName\":\"f\",\"secret\":{\"password\":[\"x\"]}}", "secret" },
        };
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                UserRecord *rec = parse_ok(cases[i].json);
                const char *got = user_record_unportable_section(rec);
                if (cases[i].section)
                        assert_string_equal(got, cases[i].section);
                else
                        assert_null(got);
                assert_int_equal(user_record_strip(rec, USER_RECORD_UNPORTABLE), 0);
                assert_null(user_record_unportable_section(rec));
                user_record_free(rec);
        }
}

/* A home sealed in the TPM without a password keyslot keeps no hash of its
 * PIN: which records are such, and dropping the hash leaves all else. */
static void test_pin_only(void **state) {
        static const struct {
                const char *json;
                bool pin_only;
        } cases[] = {
                { "{\"userName\":\"t\",\"storage\":\"luks\",\"tpm2\":true,"
                  "\"privileged\":{\"hashedPassword\":[\"$y$a$b\"],\"passwordHint\":\"h\"}}", true },
                { "{\"userName\":\"t\",\"storage\":\"luks\",\"tpm2\":true,\"tpm2KeepPassword\":false,"
                  "\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]}}", true },
                { "{\"userName\":\"t\",\"storage\":\"luks\",\"tpm2\":true,\"tpm2KeepPassword\":true,"
                  "\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]}}", false },
                { "{\"userName\":\"t\",\"storage\":\"luks\",\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]}}",
                  false },
                { "{\"userName\":\"t\",\"storage\":\"luks\",\"tpm2\":false,"
                  "\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]}}", false },
                { "{\"userName\":\"t\",\"storage\":\"directory\",\"tpm2\":true,"
                  "\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]}}", false },
        };
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                UserRecord *rec = parse_ok(cases[i].json);
                assert_int_equal(user_record_pin_only(rec), cases[i].pin_only);
                assert_int_equal(user_record_drop_pin_hash(rec), cases[i].pin_only ? 1 : 0);
                if (cases[i].pin_only) {
                        assert_null(rec->hashed_password);
                        assert_null(strstr(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT), "hashedPassword"));
                        /* Nothing to drop a second time. */
                        assert_int_equal(user_record_drop_pin_hash(rec), 0);
                } else
                        assert_non_null(rec->hashed_password);
                user_record_free(rec);
        }
        /* The rest of privileged stays; an emptied privileged goes. */
        UserRecord *rec = parse_ok(cases[0].json);
        assert_int_equal(user_record_drop_pin_hash(rec), 1);
        assert_non_null(strstr(user_record_to_string(rec, USER_RECORD_FORMAT_SHORT), "\"passwordHint\":\"h\""));
        user_record_free(rec);
        rec = parse_ok(cases[1].json);
        assert_int_equal(user_record_drop_pin_hash(rec), 1);
        assert_false(json_object_object_get_ex(rec->json, "privileged", NULL));
        assert_false(rec->has_sections & USER_RECORD_PRIVILEGED);
        user_record_free(rec);
}

/* lastChangeUSec moves forward only. */
static void test_bump_last_change(void **state) {
        UserRecord *rec = parse_ok("{\"userName\":\"t\"}");
        (void) state;
        assert_int_equal(user_record_bump_last_change(rec, 1000), 0);
        assert_int_equal(rec->last_change_usec, 1000);
        assert_int_equal(user_record_bump_last_change(rec, 5000), 0);
        assert_int_equal(rec->last_change_usec, 5000);
        assert_int_equal(user_record_bump_last_change(rec, 4000), 0);
        assert_int_equal(rec->last_change_usec, 5001);
        assert_int_equal(user_record_bump_last_change(rec, 5001), 0);
        assert_int_equal(rec->last_change_usec, 5002);
        user_record_free(rec);
}

static void test_without(void **state) {
        static const char json[] =
                "{\"userName\":\"f\",\"uid\":60102,\"privileged\":{\"hashedPassword\":[\"$y$a$b\"]},"
                "\"secret\":{\"password\":[\"x\"]},\"status\":{},\"signature\":[],\"perMachine\":[],"
                "\"binding\":{},\"future\":1}";
        UserRecord *orig;
        json_object *without, *copy;
        char *before;

        (void) state;
        orig = parse_ok(json);
        before = strdup(user_record_to_string(orig, USER_RECORD_FORMAT_SHORT));
        assert_non_null(before);
        copy = json_tokener_parse(before);
        assert_non_null(copy);

        without = user_record_without(orig, USER_RECORD_SECRET | USER_RECORD_STATUS | USER_RECORD_SIGNATURE);
        assert_non_null(without);
        assert_false(json_object_object_get_ex(without, "secret", NULL));
        assert_false(json_object_object_get_ex(without, "status", NULL));
        assert_false(json_object_object_get_ex(without, "signature", NULL));
        assert_true(json_object_object_get_ex(without, "privileged", NULL));
        assert_true(json_object_object_get_ex(without, "perMachine", NULL));
        assert_true(json_object_object_get_ex(without, "binding", NULL));
        assert_true(json_object_object_get_ex(without, "future", NULL));
        assert_true(json_object_object_get_ex(without, "userName", NULL));
        assert_int_equal(json_object_object_length(without), 6);

        /* The original: tree, view and text as they were. */
        assert_true(json_object_object_get_ex(orig->json, "secret", NULL));
        assert_true(json_object_object_get_ex(orig->json, "status", NULL));
        assert_true(json_object_object_get_ex(orig->json, "signature", NULL));
        assert_true(json_object_equal(orig->json, copy));
        assert_non_null(orig->password);
        assert_string_equal(orig->password[0], "x");
        assert_int_equal(orig->has_sections, USER_RECORD_PRIVILEGED | USER_RECORD_PER_MACHINE | USER_RECORD_BINDING |
                                                     USER_RECORD_STATUS | USER_RECORD_SIGNATURE | USER_RECORD_SECRET);
        json_object_put(without);

        /* Still intact once the copy is gone. */
        assert_string_equal(user_record_to_string(orig, USER_RECORD_FORMAT_SHORT), before);
        assert_true(json_object_equal(orig->json, copy));
        assert_string_equal(orig->password[0], "x");

        /* Without nothing: everything. */
        without = user_record_without(orig, 0);
        assert_non_null(without);
        assert_true(json_object_equal(without, orig->json));
        json_object_put(without);

        json_object_put(copy);
        free(before);
        user_record_free(orig);
}

static void test_refresh(void **state) {
        UserRecord *rec;
        char *error = NULL;

        (void) state;
        rec = parse_ok("{\"userName\":\"g\",\"diskSize\":16777216}");
        json_object_object_add(rec->json, "diskSize", json_object_new_uint64(32 * MiB));
        assert_int_equal(user_record_refresh(rec, &error), 0);
        assert_null(error);
        assert_true(rec->disk_size == 32 * MiB);

        json_object_object_add(rec->json, "diskSize", json_object_new_int64(1));
        assert_int_equal(user_record_refresh(rec, &error), -EINVAL);
        assert_string_equal(error, "diskSize: must be at least 16 MiB");
        free(error);
        user_record_free(rec);

        /* A tree that is not an object, handed over. */
        rec = NULL;
        assert_int_equal(user_record_from_json(json_object_new_array(), &rec, &error), -EINVAL);
        assert_null(rec);
        assert_string_equal(error, NOT_OBJECT);
        free(error);
        error = NULL;
        assert_int_equal(user_record_from_json(NULL, &rec, &error), -EINVAL);
        assert_null(rec);
        assert_string_equal(error, NOT_OBJECT);
        free(error);
}

/* ---- boundaries ------------------------------------------------------- */

static void expect_field(const char *field, const char *value, const char *want) {
        char *text, *error = NULL;
        UserRecord *rec = NULL;
        int r;

        assert_true(asprintf(&text, "{\"userName\":\"a\",\"%s\":%s}", field, value) > 0);
        r = user_record_parse(text, strlen(text), &rec, &error);
        if (want ? r != -EINVAL || !error || strcmp(error, want) != 0 : r != 0) {
                print_error("%s: got %d \"%s\", expected \"%s\"\n", text, r, error ? error : "(no message)",
                            want ? want : "(accepted)");
                user_record_free(rec);
                free(error);
                free(text);
                fail();
        }
        user_record_free(rec);
        free(error);
        free(text);
}

static void test_boundaries(void **state) {
        static const char *const ok_ids[] = { "0", "1", "999", "65534", "65536", "60001", "4294967294" };
        UserRecord *rec;
        char *text;
        size_t len;

        (void) state;
        for (size_t i = 0; i < ELEMENTS(ok_ids); i++) {
                expect_field("uid", ok_ids[i], NULL);
                expect_field("gid", ok_ids[i], NULL);
        }
        expect_field("diskSizeRelative", "0", NULL);
        expect_field("diskSizeRelative", "4294967295", NULL);
        expect_field("uid", "65535", "uid: " ID_RANGE);
        expect_field("uid", "4294967295", "uid: " ID_RANGE);
        expect_field("gid", "4294967295", "gid: " ID_RANGE);

        rec = parse_ok("{\"userName\":\"a\",\"uid\":4294967294,\"gid\":0}");
        assert_int_equal(rec->uid, 4294967294u);
        assert_int_equal(rec->gid, 0);
        user_record_free(rec);
        rec = parse_ok("{\"userName\":\"a\",\"uid\":0,\"gid\":4294967294}");
        assert_int_equal(rec->uid, 0);
        assert_int_equal(rec->gid, 4294967294u);
        user_record_free(rec);

        /* diskSize: 16 MiB to 1 EiB, both included. */
        expect_field("diskSize", "16777216", NULL);
        expect_field("diskSize", "16777215", "diskSize: must be at least 16 MiB");
        expect_field("diskSize", "1152921504606846976", NULL);
        expect_field("diskSize", "1152921504606846977", "diskSize: must be at most 1 EiB");
        rec = parse_ok("{\"userName\":\"a\",\"diskSize\":16777216}");
        assert_true(rec->disk_size == USER_RECORD_DISK_SIZE_MIN);
        user_record_free(rec);
        rec = parse_ok("{\"userName\":\"a\",\"diskSize\":1152921504606846976}");
        assert_true(rec->disk_size == USER_RECORD_DISK_SIZE_MAX);
        assert_true(rec->disk_size == EiB);
        user_record_free(rec);

        /* Other ranges. */
        expect_field("luksPbkdfParallelThreads", "1", NULL);
        expect_field("luksPbkdfParallelThreads", "16", NULL);
        expect_field("luksVolumeKeySize", "16", NULL);
        expect_field("luksVolumeKeySize", "32", NULL);
        expect_field("luksVolumeKeySize", "0", "luksVolumeKeySize: must be 16, 32 or 64 (bytes)");
        expect_field("luksPbkdfMemoryCost", "4294967296", NULL);
        expect_field("luksPbkdfForceIterations", "4294967295", NULL);
        expect_field("notAfterUSec", "18446744073709551614", NULL);
        expect_field("realName", "\"\"", NULL);
        expect_field("emailAddress", "\"a@b\"", NULL);
        expect_field("homeDirectory", "\"/a\"", NULL);
        expect_field("homeDirectory", "\"/home/...a/.b\"", NULL);

        /* User names: 31 characters, not 32. */
        rec = parse_ok("{\"userName\":\"abcdefghijklmnopqrstuvwxyzabcde\"}");
        assert_int_equal(strlen(rec->user_name), USER_NAME_MAX);
        user_record_free(rec);
        rec = parse_ok("{\"userName\":\"_A-z_9\"}");
        user_record_free(rec);
        assert_true(valid_user_name("abcdefghijklmnopqrstuvwxyzabcde"));
        assert_false(valid_user_name("abcdefghijklmnopqrstuvwxyzabcdef"));
        assert_true(valid_user_name("a"));
        assert_true(valid_user_name("Z"));
        assert_true(valid_user_name("_x"));
        assert_true(valid_user_name("a-b_c9"));
        assert_true(valid_user_name("a-"));
        assert_false(valid_user_name(""));
        assert_false(valid_user_name("-x"));
        assert_false(valid_user_name("9x"));
        assert_false(valid_user_name("a.b"));
        assert_false(valid_user_name("."));
        assert_false(valid_user_name(".."));
        assert_false(valid_user_name("a/b"));
        assert_false(valid_user_name("a b"));
        assert_false(valid_user_name("a:b"));
        assert_false(valid_user_name("a$"));
        assert_false(valid_user_name("b\xc3\xa9"));
        assert_false(valid_user_name("a\n"));

        /* Home UIDs: 60001 to 60513. */
        assert_false(valid_home_uid(0));
        assert_false(valid_home_uid(60000));
        assert_true(valid_home_uid(60001));
        assert_true(valid_home_uid(HOME_UID_MIN));
        assert_true(valid_home_uid(60257));
        assert_true(valid_home_uid(60513));
        assert_true(valid_home_uid(HOME_UID_MAX));
        assert_false(valid_home_uid(60514));
        assert_false(valid_home_uid(65534));
        assert_false(valid_home_uid(UID_INVALID));

        /* Nesting to 32 levels and 1 MiB of text are still fine. */
        text = make_nested(JSON_STRICT_MAX_DEPTH - 1, &len);
        rec = parse_ok_len(text, len);
        user_record_free(rec);
        free(text);
        text = make_padded(JSON_STRICT_MAX_SIZE, &len);
        rec = parse_ok_len(text, len);
        user_record_free(rec);
        free(text);

        /* Secrets up to 4096 bytes, realName up to 1024. */
        text = make_long_string("{\"userName\":\"a\",\"secret\":{\"password\":[\"", "\"]}}", 4096, &len);
        rec = parse_ok_len(text, len);
        assert_int_equal(strlen(rec->password[0]), 4096);
        user_record_free(rec);
        free(text);
        text = make_long_string("{\"userName\":\"a\",\"realName\":\"", "\"}", 1024, &len);
        rec = parse_ok_len(text, len);
        assert_int_equal(strlen(rec->real_name), 1024);
        user_record_free(rec);
        free(text);

        /* Enum names both ways. */
        assert_int_equal(user_storage_from_string("luks"), USER_STORAGE_LUKS);
        assert_int_equal(user_storage_from_string("subvolume"), USER_STORAGE_SUBVOLUME);
        assert_int_equal(user_storage_from_string("fscrypt"), USER_STORAGE_FSCRYPT);
        assert_int_equal(user_storage_from_string("cifs"), USER_STORAGE_UNSET);
        assert_int_equal(user_storage_from_string(NULL), USER_STORAGE_UNSET);
        assert_string_equal(user_storage_to_string(USER_STORAGE_DIRECTORY), "directory");
        assert_null(user_storage_to_string(USER_STORAGE_UNSET));
        assert_null(user_storage_to_string(_USER_STORAGE_MAX));
        assert_int_equal(user_disposition_from_string("container"), USER_DISPOSITION_CONTAINER);
        assert_int_equal(user_disposition_from_string("weird"), USER_DISPOSITION_UNSET);
        assert_string_equal(user_disposition_to_string(USER_DISPOSITION_RESERVED), "reserved");
        assert_null(user_disposition_to_string(USER_DISPOSITION_UNSET));
}

static void test_machine_override(void **state) {
        (void) state;
        user_record_set_machine(MID, HOST);
        assert_string_equal(user_record_machine_id(), MID);
        user_record_set_machine(NULL, HOST);
        assert_null(user_record_machine_id());
        user_record_set_machine(NULL, NULL);
        /* Back to /etc/machine-id, whatever this machine has. */
        const char *id = user_record_machine_id();
        if (id)
                assert_int_equal(strlen(id), 32);
}

/* What a resize writes takes effect here: also in this machine's
 * perMachine entry that set it (homectl puts diskSize there), never in
 * another machine's; and "max" removes it from both. */
static void test_set_effective(void **state) {
        (void) state;
        user_record_set_machine(MID, HOST);
        UserRecord *rec = parse_ok("{\"userName\":\"c\",\"diskSize\":16777216,\"perMachine\":["
                                   "{\"matchMachineId\":\"" MID "\",\"diskSize\":33554432},"
                                   "{\"matchMachineId\":\"" OTHER "\",\"diskSize\":67108864}]}");
        assert_int_equal(user_record_set_effective(rec, "diskSize", json_object_new_int64(128 * MiB)), 0);
        assert_true(rec->disk_size == 128 * MiB);
        json_object *pm, *v;
        assert_true(json_object_object_get_ex(rec->json, "perMachine", &pm));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(pm, 0), "diskSize", &v));
        assert_int_equal(json_object_get_int64(v), 128 * MiB);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(pm, 1), "diskSize", &v));
        assert_int_equal(json_object_get_int64(v), 64 * MiB);

        assert_int_equal(user_record_unset_effective(rec, "diskSize"), 0);
        assert_true(rec->disk_size == UINT64_MAX);
        assert_false(json_object_object_get_ex(rec->json, "diskSize", NULL));
        assert_false(json_object_object_get_ex(json_object_array_get_idx(pm, 0), "diskSize", NULL));
        assert_true(json_object_object_get_ex(json_object_array_get_idx(pm, 1), "diskSize", NULL));
        user_record_free(rec);
}

static int reset_machine(void **state) {
        (void) state;
        user_record_set_machine(NULL, NULL);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_malformed, reset_machine),
                cmocka_unit_test(test_messages_hold_no_values),
                cmocka_unit_test_teardown(test_full_record, reset_machine),
                cmocka_unit_test(test_minimal_record),
                cmocka_unit_test_teardown(test_round_trip, reset_machine),
                cmocka_unit_test_teardown(test_per_machine, reset_machine),
                cmocka_unit_test_teardown(test_binding, reset_machine),
                cmocka_unit_test(test_strip_secret),
                cmocka_unit_test(test_pin_only),
                cmocka_unit_test(test_bump_last_change),
                cmocka_unit_test(test_without),
                cmocka_unit_test(test_unportable),
                cmocka_unit_test(test_refresh),
                cmocka_unit_test(test_boundaries),
                cmocka_unit_test_teardown(test_machine_override, reset_machine),
                cmocka_unit_test_teardown(test_set_effective, reset_machine),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
