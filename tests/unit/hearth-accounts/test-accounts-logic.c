/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hearth-accounts' decisions without a bus (hearth-accounts/accounts-*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "accounts-logic.h"
#include "macro.h"

static char *write_temp(const char *text) {
        char *path = strdup("/tmp/test-accounts-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        return path;
}

static void test_config(void **state) {
        AccountsConfig c;
        accounts_config_init(&c);
        assert_int_equal(c.default_storage, ACCOUNTS_STORAGE_AUTO);
        assert_string_equal(c.gdm_config, "/etc/gdm3/daemon.conf");
        assert_false(c.manage_shadow_users);

        _cleanup_free_ char *p = write_temp("[Pool]\nAutoGrow=yes\n[Accounts]\nDefaultStorage=subvolume\n"
                                           "AdminGroup=wheel\nManageShadowUsers=yes\nGdmConfig=/etc/gdm/custom.conf\n");
        assert_int_equal(accounts_config_load(&c, p), 0);
        assert_int_equal(c.default_storage, ACCOUNTS_STORAGE_SUBVOLUME);
        assert_string_equal(c.admin_group, "wheel");
        assert_true(c.manage_shadow_users);
        assert_string_equal(c.gdm_config, "/etc/gdm/custom.conf");
        unlink(p);

        static const char *const bad[] = {
                "[Accounts]\nDefaultStorage=zfs\n",       "[Accounts]\nAdminGroup=no/slash\n",
                "[Accounts]\nManageShadowUsers=maybe\n", "[Accounts]\nGdmConfig=relative/path\n",
                "[Accounts]\nGdmConfig=/etc/../x\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *q = write_temp(bad[i]);
                accounts_config_init(&c);
                assert_true(accounts_config_load(&c, q) < 0);
                unlink(q);
        }
}

static void test_storage_for_create(void **state) {
        /* auto leaves it to hearthd (Btrfs: subvolume, else directory); no TPM-sealed LUKS yet. */
        assert_null(accounts_storage_for_create(ACCOUNTS_STORAGE_AUTO));
        assert_string_equal(accounts_storage_for_create(ACCOUNTS_STORAGE_DIRECTORY), "directory");
        assert_string_equal(accounts_storage_for_create(ACCOUNTS_STORAGE_SUBVOLUME), "subvolume");
        assert_string_equal(accounts_storage_for_create(ACCOUNTS_STORAGE_LUKS), "luks");
}

static void test_values(void **state) {
        assert_true(accounts_valid_text(""));
        assert_true(accounts_valid_text("Zoë Ünal 東京"));
        assert_false(accounts_valid_text("two\nlines"));
        assert_false(accounts_valid_text("tab\there"));
        assert_false(accounts_valid_text("\xc3"));         /* truncated */
        assert_false(accounts_valid_text("\xc0\xaf"));     /* overlong */
        assert_false(accounts_valid_text("\xed\xa0\x80")); /* surrogate */
        assert_false(accounts_valid_text("\xc2\x85"));     /* C1 control */
        char long_text[ACCOUNTS_VALUE_MAX + 2];
        memset(long_text, 'a', sizeof long_text - 1);
        long_text[sizeof long_text - 1] = 0;
        assert_false(accounts_valid_text(long_text));

        assert_true(accounts_valid_language("de_DE.UTF-8"));
        assert_true(accounts_valid_language("sr_RS@latin"));
        assert_true(accounts_valid_language(""));
        assert_false(accounts_valid_language("../../etc"));
        assert_false(accounts_valid_language("en US"));
        assert_false(accounts_valid_language("de:fr"));

        assert_true(accounts_valid_session("gnome-xorg"));
        assert_false(accounts_valid_session("gnome/../x"));

        assert_true(accounts_valid_path("/home/alice/.face"));
        assert_false(accounts_valid_path("relative"));
        assert_false(accounts_valid_path("/home/../etc/shadow"));
        assert_false(accounts_valid_path("/home/.."));
        assert_true(accounts_valid_path("/home/..hidden"));

        assert_true(accounts_valid_crypted_password("$6$saltsalt$abcdefghijklmnopqrstuvwxyz"));
        assert_true(accounts_valid_crypted_password("$y$j9T$salt$hash"));
        assert_false(accounts_valid_crypted_password("plaintext"));
        assert_false(accounts_valid_crypted_password("$6$salt$ha sh"));
        assert_false(accounts_valid_crypted_password("$6$salt$ha:sh"));
        assert_false(accounts_valid_crypted_password("$6"));
        assert_false(accounts_valid_crypted_password(""));
}

static void test_extras(void **state) {
        Extras e = {};
        assert_int_equal(extras_parse("# comment\n[Other]\nLanguage=xx\n[User]\nLanguage = de_DE.UTF-8\n"
                                      "Icon=/var/lib/x/icons/alice\nUnknown=1\nEmail=bad\x01value\nSession=gnome\n"
                                      "SystemAccount=false\n",
                                      &e),
                         0);
        assert_string_equal(e.value[EXTRA_LANGUAGE], "de_DE.UTF-8");
        assert_string_equal(e.value[EXTRA_ICON], "/var/lib/x/icons/alice");
        assert_string_equal(e.value[EXTRA_SESSION], "gnome");
        assert_null(e.value[EXTRA_EMAIL]); /* a control character: dropped */
        assert_null(e.value[EXTRA_XSESSION]);

        _cleanup_free_ char *text = NULL;
        assert_int_equal(extras_set(&e, EXTRA_SESSION, ""), 0); /* "" removes */
        assert_int_equal(extras_set(&e, EXTRA_EMAIL, "a@b.example"), 0);
        assert_int_equal(extras_format(&e, &text), 0);
        assert_string_equal(text, "[User]\nLanguage=de_DE.UTF-8\nEmail=a@b.example\nIcon=/var/lib/x/icons/alice\n"
                                  "SystemAccount=false\n");
        Extras back = {};
        assert_int_equal(extras_parse(text, &back), 0);
        for (size_t i = 0; i < _EXTRA_MAX; i++)
                assert_true((!e.value[i] && !back.value[i]) ||
                            (e.value[i] && back.value[i] && strcmp(e.value[i], back.value[i]) == 0));
        extras_done(&e);
        extras_done(&back);
}

static void test_image_type(void **state) {
        assert_string_equal(accounts_image_type("\x89PNG\r\n\x1a\n....", 12), "png");
        assert_string_equal(accounts_image_type("\xff\xd8\xff\xe0", 4), "jpeg");
        assert_string_equal(accounts_image_type("GIF89a..", 8), "gif");
        assert_string_equal(accounts_image_type("RIFF\0\0\0\0WEBPVP8 ", 16), "webp");
        assert_null(accounts_image_type("\x89PNG", 4)); /* too short */
        assert_null(accounts_image_type("<svg xmlns=", 11));
        assert_null(accounts_image_type("#!/bin/sh\n", 10));
        assert_null(accounts_image_type("", 0));
}

static void test_gdm(void **state) {
        bool enabled;
        _cleanup_free_ char *user = NULL, *out = NULL, *out2 = NULL, *out3 = NULL;

        const char *debian = "# GDM configuration storage\n\n[daemon]\n# Uncomment the line below to force Xorg\n"
                             "#WaylandEnable=false\n\n# Enabling automatic login\n#  AutomaticLoginEnable = true\n"
                             "#  AutomaticLogin = user1\n\n[security]\n\n[debug]\n#Enable=true\n";
        assert_int_equal(gdm_conf_get_autologin(debian, &enabled, &user), 0);
        assert_false(enabled);
        assert_null(user);

        assert_int_equal(gdm_conf_set_autologin(debian, "alice", true, &out), 0);
        assert_int_equal(gdm_conf_get_autologin(out, &enabled, &user), 0);
        assert_true(enabled);
        assert_string_equal(user, "alice");
        /* Comments and other groups stay; the keys land in [daemon], before [security]. */
        assert_non_null(strstr(out, "#WaylandEnable=false\n"));
        assert_non_null(strstr(out, "#  AutomaticLogin = user1\n"));
        assert_true(strstr(out, "AutomaticLogin=alice") < strstr(out, "[security]"));
        assert_true(strstr(out, "[daemon]") < strstr(out, "AutomaticLoginEnable=True"));

        /* Setting again replaces, never duplicates. */
        assert_int_equal(gdm_conf_set_autologin(out, "bob", false, &out2), 0);
        assert_null(strstr(out2, "alice"));
        const char *first = strstr(out2, "AutomaticLoginEnable=");
        assert_non_null(first);
        assert_null(strstr(first + 1, "AutomaticLoginEnable="));
        free(user);
        user = NULL;
        assert_int_equal(gdm_conf_get_autologin(out2, &enabled, &user), 0);
        assert_false(enabled);
        assert_string_equal(user, "bob");

        /* No [daemon] group, or no file at all. */
        assert_int_equal(gdm_conf_set_autologin("[security]\n", "carol", true, &out3), 0);
        assert_string_equal(out3, "[security]\n\n[daemon]\nAutomaticLoginEnable=True\nAutomaticLogin=carol\n");
        free(out3);
        out3 = NULL;
        assert_int_equal(gdm_conf_set_autologin(NULL, "carol", true, &out3), 0);
        assert_string_equal(out3, "[daemon]\nAutomaticLoginEnable=True\nAutomaticLogin=carol\n");

        /* GKeyFile's spellings: spaces around '=', "1" for true. */
        free(user);
        user = NULL;
        assert_int_equal(gdm_conf_get_autologin("[daemon]\nAutomaticLoginEnable = 1\nAutomaticLogin = dave \n", &enabled,
                                                &user),
                         0);
        assert_true(enabled);
        assert_string_equal(user, "dave");
}

static void test_human(void **state) {
        char *shells[] = { "/bin/sh", "/bin/bash", NULL };
        assert_true(accounts_is_human(1000, "bob", "/bin/bash", shells));
        assert_false(accounts_is_human(999, "svc", "/bin/bash", shells));
        assert_false(accounts_is_human(1000, "bob", "/usr/sbin/nologin", shells));
        assert_false(accounts_is_human(1000, "bob", "/bin/false", NULL));
        assert_false(accounts_is_human(1000, "bob", "/bin/zsh", shells)); /* not in /etc/shells */
        assert_true(accounts_is_human(1000, "bob", "/bin/zsh", NULL));
        assert_false(accounts_is_human(1000, "bob", "", shells));
        assert_false(accounts_is_human(65534, "nobody", "/bin/sh", shells));
        assert_false(accounts_is_human(1001, "gdm", "/bin/bash", shells));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config),     cmocka_unit_test(test_storage_for_create),
                cmocka_unit_test(test_values),     cmocka_unit_test(test_extras),
                cmocka_unit_test(test_image_type), cmocka_unit_test(test_gdm),
                cmocka_unit_test(test_human),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
