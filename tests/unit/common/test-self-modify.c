/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an owner may change on her own record: a table of (current,
 * incoming) pairs, each allowed or refused naming the field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "self-modify.h"
#include "user-record.h"

#define MID "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"
#define BASE "\"userName\":\"alice\",\"uid\":60100,\"lastChangeUSec\":100"
#define PRIV "\"privileged\":{\"hashedPassword\":[\"$y$j9T$salt$hash\"]}"

typedef struct Case {
        const char *what;
        const char *current;
        const char *incoming;
        const char *refused; /* NULL: allowed; else the field named */
} Case;

static const Case cases[] = {
        { "nothing changed", "{" BASE "}", "{" BASE "}", NULL },
        { "only lastChangeUSec", "{" BASE "}", "{\"userName\":\"alice\",\"uid\":60100,\"lastChangeUSec\":200}", NULL },
        { "realName by default", "{" BASE ",\"realName\":\"A\"}", "{" BASE ",\"realName\":\"B\"}", NULL },
        { "realName added", "{" BASE "}", "{" BASE ",\"realName\":\"B\"}", NULL },
        { "emailAddress, location, timeZone, languages", "{" BASE "}",
          "{" BASE ",\"emailAddress\":\"a@b.c\",\"location\":\"Berlin\",\"timeZone\":\"Europe/Berlin\","
          "\"preferredLanguage\":\"de_DE.UTF-8\",\"additionalLanguages\":[\"en_US.UTF-8\"],"
          "\"preferredSessionType\":\"wayland\",\"preferredSessionLauncher\":\"gnome\",\"iconName\":\"x\"}", NULL },
        { "memberOf added", "{" BASE "}", "{" BASE ",\"memberOf\":[\"sudo\",\"root\"]}", "memberOf" },
        { "memberOf changed", "{" BASE ",\"memberOf\":[\"users\"]}", "{" BASE ",\"memberOf\":[\"sudo\"]}", "memberOf" },
        { "memberOf removed", "{" BASE ",\"memberOf\":[\"users\"]}", "{" BASE "}", "memberOf" },
        { "diskSize", "{" BASE ",\"diskSize\":67108864}", "{" BASE ",\"diskSize\":1073741824}", "diskSize" },
        { "shell is the admin's", "{" BASE "}", "{" BASE ",\"shell\":\"/bin/zsh\"}", "shell" },
        { "autoLogin", "{" BASE "}", "{" BASE ",\"autoLogin\":true}", "autoLogin" },
        { "locked", "{" BASE ",\"locked\":true}", "{" BASE ",\"locked\":false}", "locked" },
        { "notAfterUSec", "{" BASE ",\"notAfterUSec\":5}", "{" BASE "}", "notAfterUSec" },
        { "rate limit", "{" BASE "}", "{" BASE ",\"rateLimitBurst\":100000}", "rateLimitBurst" },
        { "imagePath", "{" BASE "}", "{" BASE ",\"imagePath\":\"/dev/sda\"}", "imagePath" },
        { "storage", "{" BASE ",\"storage\":\"luks\"}", "{" BASE ",\"storage\":\"directory\"}", "storage" },
        { "skeletonDirectory", "{" BASE "}", "{" BASE ",\"skeletonDirectory\":\"/root\"}", "skeletonDirectory" },
        { "lastPasswordChangeUSec", "{" BASE "}", "{" BASE ",\"lastPasswordChangeUSec\":7}", "lastPasswordChangeUSec" },
        { "an unknown field", "{" BASE "}", "{" BASE ",\"someFutureField\":1}", "someFutureField" },
        { "hashedPassword replaced", "{" BASE "," PRIV "}",
          "{" BASE ",\"privileged\":{\"hashedPassword\":[\"$y$j9T$other$hash\"]}}", "privileged.hashedPassword" },
        { "hashedPassword dropped", "{" BASE "," PRIV "}", "{" BASE ",\"privileged\":{}}", "privileged.hashedPassword" },
        /* A smart card is a way into the home (a LUKS keyslot): the admin's. */
        { "pkcs11TokenUri added", "{" BASE "}", "{" BASE ",\"pkcs11TokenUri\":[\"pkcs11:token=mine\"]}",
          "pkcs11TokenUri" },
        { "pkcs11TokenUri removed", "{" BASE ",\"pkcs11TokenUri\":[\"pkcs11:token=a\"]}", "{" BASE "}",
          "pkcs11TokenUri" },
        { "pkcs11EncryptedKey added", "{" BASE "," PRIV "}",
          "{" BASE ",\"privileged\":{\"hashedPassword\":[\"$y$j9T$salt$hash\"],\"pkcs11EncryptedKey\":[{\"uri\":"
          "\"pkcs11:token=mine\",\"data\":\"AAAA\",\"hashedPassword\":\"$y$j9T$salt$hash\"}]}}",
          "privileged.pkcs11EncryptedKey" },
        { "passwordHint by default", "{" BASE "," PRIV "}",
          "{" BASE ",\"privileged\":{\"hashedPassword\":[\"$y$j9T$salt$hash\"],\"passwordHint\":\"cat\"}}", NULL },
        { "sshAuthorizedKeys by default", "{" BASE "}",
          "{" BASE ",\"privileged\":{\"sshAuthorizedKeys\":[\"ssh-ed25519 AAAA\"]}}", NULL },
        { "a list names memberOf in the incoming record only", "{" BASE "}",
          "{" BASE ",\"memberOf\":[\"sudo\"],\"selfModifiableFields\":[\"memberOf\"]}", "memberOf" },
        { "the list itself", "{" BASE "}", "{" BASE ",\"selfModifiableFields\":[\"realName\"]}",
          "selfModifiableFields" },
        { "an admin's list allows shell", "{" BASE ",\"selfModifiableFields\":[\"shell\"]}",
          "{" BASE ",\"selfModifiableFields\":[\"shell\"],\"shell\":\"/bin/zsh\"}", NULL },
        { "an admin's list replaces the default", "{" BASE ",\"selfModifiableFields\":[\"shell\"]}",
          "{" BASE ",\"selfModifiableFields\":[\"shell\"],\"realName\":\"X\"}", "realName" },
        { "a list naming itself does not open it", "{" BASE ",\"selfModifiableFields\":[\"selfModifiableFields\"]}",
          "{" BASE ",\"selfModifiableFields\":[\"selfModifiableFields\",\"memberOf\"]}", "selfModifiableFields" },
        { "a list naming privileged does not open it", "{" BASE ",\"selfModifiableFields\":[\"privileged\"]," PRIV "}",
          "{" BASE ",\"selfModifiableFields\":[\"privileged\"],\"privileged\":{}}", "privileged.hashedPassword" },
        { "an empty privileged list", "{" BASE ",\"selfModifiablePrivileged\":[]}",
          "{" BASE ",\"selfModifiablePrivileged\":[],\"privileged\":{\"passwordHint\":\"x\"}}",
          "privileged.passwordHint" },
        { "an admin's privileged list", "{" BASE ",\"selfModifiablePrivileged\":[\"hashedPassword\"]," PRIV "}",
          "{" BASE ",\"selfModifiablePrivileged\":[\"hashedPassword\"],\"privileged\":{\"hashedPassword\":[\"x\"]}}",
          NULL },
        { "system users get no default", "{" BASE ",\"disposition\":\"system\"}",
          "{" BASE ",\"disposition\":\"system\",\"realName\":\"X\"}", "realName" },
        { "realName in this machine's perMachine", "{" BASE "}",
          "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"realName\":\"X\"}]}", "perMachine" },
        { "changing an allowed field in a matching entry",
          "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"realName\":\"X\"}]}",
          "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"realName\":\"Y\"}]}", NULL },
        { "diskSize in a matching entry", "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" MID "\"}]}",
          "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"diskSize\":1073741824}]}", "perMachine" },
        { "realName in another machine's entry", "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" OTHER "\"}]}",
          "{" BASE ",\"perMachine\":[{\"matchMachineId\":\"" OTHER "\",\"realName\":\"Y\"}]}", "perMachine" },
        { "blobManifest avatar", "{" BASE ",\"blobManifest\":{\"avatar\":\"aa\"}}",
          "{" BASE ",\"blobManifest\":{\"avatar\":\"bb\",\"login-background\":\"cc\"}}", NULL },
        { "blobManifest other blob", "{" BASE ",\"blobManifest\":{\"avatar\":\"aa\"}}",
          "{" BASE ",\"blobManifest\":{\"avatar\":\"aa\",\"evil\":\"cc\"}}", "blobManifest" },
        { "status, signature, binding are not hers to send", "{" BASE "}",
          "{" BASE ",\"status\":{\"" MID "\":{\"state\":\"active\"}},\"signature\":[],"
          "\"binding\":{\"" MID "\":{\"imagePath\":\"/x\"}}}", NULL },
};

static UserRecord *parse(const char *text) {
        UserRecord *rec = NULL;
        char *why = NULL;
        int r = user_record_parse(text, strlen(text), &rec, &why);
        if (r < 0)
                fail_msg("cannot parse %s: %s", text, why ? why : "?");
        free(why);
        return rec;
}

static void test_cases(void **state) {
        (void) state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const Case *c = &cases[i];
                UserRecord *cur = parse(c->current), *in = parse(c->incoming);
                char *field = NULL;
                int r = self_modify_allowed(cur, in, &field);
                if (c->refused) {
                        if (r != 0 || !field || strcmp(field, c->refused) != 0)
                                fail_msg("%s: expected refusal naming %s, got %d (%s)", c->what, c->refused, r,
                                         field ? field : "-");
                } else if (r != 1)
                        fail_msg("%s: expected allowed, got %d (%s)", c->what, r, field ? field : "-");
                free(field);
                user_record_free(cur);
                user_record_free(in);
        }
}

static void test_lists(void **state) {
        (void) state;
        UserRecord *rec = parse("{" BASE "}");
        const char *const *l = self_modifiable_list(rec, SELF_MODIFIABLE_FIELDS);
        bool real = false;
        for (; *l; l++) {
                assert_string_not_equal(*l, "shell");
                assert_string_not_equal(*l, "memberOf");
                real = real || strcmp(*l, "realName") == 0;
        }
        assert_true(real);
        for (l = self_modifiable_list(rec, SELF_MODIFIABLE_PRIVILEGED); *l; l++)
                assert_string_not_equal(*l, "hashedPassword");
        user_record_free(rec);

        rec = parse("{" BASE ",\"selfModifiableBlobs\":[]}");
        assert_null(self_modifiable_list(rec, SELF_MODIFIABLE_BLOBS)[0]);
        user_record_free(rec);

        /* Malformed lists are refused by the parser. */
        char *why = NULL;
        const char *bad[] = {
                "{" BASE ",\"selfModifiableFields\":\"realName\"}",
                "{" BASE ",\"selfModifiableFields\":[1]}",
                "{" BASE ",\"selfModifiableFields\":[\"\"]}",
                "{" BASE ",\"selfModifiablePrivileged\":[\"a b\"]}",
                "{\"userName\":\"alice\",\"privileged\":{\"selfModifiableFields\":[]}}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                assert_int_equal(user_record_parse(bad[i], strlen(bad[i]), &rec, &why), -EINVAL);
                assert_non_null(strstr(why, "selfModifiable"));
                free(why);
                why = NULL;
        }
}

int main(void) {
        user_record_set_machine(MID, "host1");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_lists),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
