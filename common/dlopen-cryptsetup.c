/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <syslog.h>

#include "dlopen-cryptsetup.h"

DLSYM_FUNCTION(crypt_activate_by_volume_key);
DLSYM_FUNCTION(crypt_deactivate);
DLSYM_FUNCTION(crypt_deactivate_by_name);
DLSYM_FUNCTION(crypt_format);
DLSYM_FUNCTION(crypt_free);
DLSYM_FUNCTION(crypt_get_active_device);
DLSYM_FUNCTION(crypt_get_cipher);
DLSYM_FUNCTION(crypt_get_cipher_mode);
DLSYM_FUNCTION(crypt_get_data_offset);
DLSYM_FUNCTION(crypt_get_device_name);
DLSYM_FUNCTION(crypt_get_label);
DLSYM_FUNCTION(crypt_get_subsystem);
DLSYM_FUNCTION(crypt_get_uuid);
DLSYM_FUNCTION(crypt_get_volume_key_size);
DLSYM_FUNCTION(crypt_init);
DLSYM_FUNCTION(crypt_init_by_name);
DLSYM_FUNCTION(crypt_keyslot_add_by_volume_key);
DLSYM_FUNCTION(crypt_keyslot_destroy);
DLSYM_FUNCTION(crypt_keyslot_max);
DLSYM_FUNCTION(crypt_keyslot_status);
DLSYM_FUNCTION(crypt_load);
DLSYM_FUNCTION(crypt_resize);
DLSYM_FUNCTION(crypt_resume_by_volume_key);
DLSYM_FUNCTION(crypt_set_log_callback);
DLSYM_FUNCTION(crypt_set_metadata_size);
DLSYM_FUNCTION(crypt_set_pbkdf_type);
DLSYM_FUNCTION(crypt_status);
DLSYM_FUNCTION(crypt_suspend);
DLSYM_FUNCTION(crypt_token_json_get);
DLSYM_FUNCTION(crypt_token_json_set);
DLSYM_FUNCTION(crypt_token_max);
DLSYM_FUNCTION(crypt_token_status);
DLSYM_FUNCTION(crypt_volume_key_get);
DLSYM_FUNCTION(crypt_volume_key_keyring);
DLSYM_FUNCTION(crypt_wipe);

int dlopen_cryptsetup(void) {
        static int state;

        return dlopen_many_sym(&state, LOG_ERR, "libcryptsetup.so.12", "LUKS homes",
                               DLSYM_ARG(crypt_activate_by_volume_key),
                               DLSYM_ARG(crypt_deactivate),
                               DLSYM_ARG(crypt_deactivate_by_name),
                               DLSYM_ARG(crypt_format),
                               DLSYM_ARG(crypt_free),
                               DLSYM_ARG(crypt_get_active_device),
                               DLSYM_ARG(crypt_get_cipher),
                               DLSYM_ARG(crypt_get_cipher_mode),
                               DLSYM_ARG(crypt_get_data_offset),
                               DLSYM_ARG(crypt_get_device_name),
                               DLSYM_ARG(crypt_get_label),
                               DLSYM_ARG(crypt_get_subsystem),
                               DLSYM_ARG(crypt_get_uuid),
                               DLSYM_ARG(crypt_get_volume_key_size),
                               DLSYM_ARG(crypt_init),
                               DLSYM_ARG(crypt_init_by_name),
                               DLSYM_ARG(crypt_keyslot_add_by_volume_key),
                               DLSYM_ARG(crypt_keyslot_destroy),
                               DLSYM_ARG(crypt_keyslot_max),
                               DLSYM_ARG(crypt_keyslot_status),
                               DLSYM_ARG(crypt_load),
                               DLSYM_ARG(crypt_resize),
                               DLSYM_ARG(crypt_resume_by_volume_key),
                               DLSYM_ARG(crypt_set_log_callback),
                               DLSYM_ARG(crypt_set_metadata_size),
                               DLSYM_ARG(crypt_set_pbkdf_type),
                               DLSYM_ARG(crypt_status),
                               DLSYM_ARG(crypt_suspend),
                               DLSYM_ARG(crypt_token_json_get),
                               DLSYM_ARG(crypt_token_json_set),
                               DLSYM_ARG(crypt_token_max),
                               DLSYM_ARG(crypt_token_status),
                               DLSYM_ARG(crypt_volume_key_get),
                               DLSYM_ARG(crypt_volume_key_keyring),
                               DLSYM_ARG(crypt_wipe),
                               NULL);
}
