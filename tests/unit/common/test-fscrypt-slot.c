/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fscrypt-slot.h"

/* The slot systemd-homed 252 writes (homework-fscrypt.c) for password
 * "hearth-pw", salt 00..3f and volume key 80..bf, computed independently
 * of this code:
 *   python3 -c "import hashlib,base64,subprocess; s=bytes(range(64)); k=bytes(range(128,192));
 *     d=hashlib.pbkdf2_hmac('sha512',b'hearth-pw',s,65535,64);
 *     e=subprocess.run(['openssl','enc','-aes-256-ctr','-K',d[:32].hex(),'-iv','0'*32],
 *                      input=k,capture_output=True).stdout;
 *     print((base64.b64encode(s)+b':'+base64.b64encode(e)).decode(),
 *           hashlib.sha512(hashlib.sha512(k).digest()).digest()[:8].hex())" */
#define SALT_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
#define ENC_B64 "4ju1B+c/3X2y8+X3Mwg7v8DN6ifHYtyBOYk+MC61N5kCbMfDwn84pobMNAy+jOm8H1Y8Ys3VbUkCnvVqDGM6iw=="
#define VECTOR SALT_B64 ":" ENC_B64
static const uint8_t DESCRIPTOR[8] = { 0xe7, 0xf9, 0xe8, 0xba, 0x79, 0xbf, 0xac, 0x57 };

/* A slot systemd-homework 252 wrote (tests/host/test-homed-fscrypt.sh logs
 * it: gina's, password "gina-pw", a random key) and the descriptor of the
 * v1 policy it set beside it. */
#define HOMEWORK_SLOT "tfbSd/UrCGlbQRvT8+3vsdozRg7RLigQKO4k0TNSVwD35pKHeu/4NnOqaOKp2dfeOfVqrf9AzmKAC1HARIZgOw==:" \
                      "08OwQBDukDNnOUhNmZ/QSxYQbikFNBecWl7cpZrXL5rQp8wKF3E0dya+NG/ALXjO0yeIJXzgnpGhQSqArG+uYw=="
static const uint8_t HOMEWORK_DESCRIPTOR[8] = { 0x19, 0xaa, 0xb9, 0x04, 0x6f, 0x96, 0xce, 0x96 };

static void fill(uint8_t *p, size_t n, uint8_t first) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (first + i);
}

static void test_descriptor(void **state) {
        uint8_t key[64], d[8];
        fill(key, sizeof key, 0x80);
        assert_int_equal(fscrypt_key_descriptor(key, d), 0);
        assert_memory_equal(d, DESCRIPTOR, 8);
}

static void test_wrap_vector(void **state) {
        uint8_t salt[64], key[64];
        char v[FSCRYPT_SLOT_VALUE_SIZE + 1];
        fill(salt, sizeof salt, 0);
        fill(key, sizeof key, 0x80);
        assert_int_equal(fscrypt_slot_wrap("hearth-pw", salt, key, v), 0);
        assert_string_equal(v, VECTOR);
        assert_int_equal(strlen(VECTOR), FSCRYPT_SLOT_VALUE_SIZE);
}

static void test_unwrap_vector(void **state) {
        uint8_t key[64], want[64];
        fill(want, sizeof want, 0x80);
        assert_int_equal(fscrypt_slot_unwrap("hearth-pw", VECTOR, strlen(VECTOR), DESCRIPTOR, key), 0);
        assert_memory_equal(key, want, 64);
        /* A wrong password decrypts another key: told by its descriptor. */
        assert_int_equal(fscrypt_slot_unwrap("hearth-pW", VECTOR, strlen(VECTOR), DESCRIPTOR, key), -ENOANO);
        assert_int_equal(fscrypt_slot_unwrap("", VECTOR, strlen(VECTOR), DESCRIPTOR, key), -ENOANO);
        /* The right password on a slot of another volume key. */
        uint8_t other[8] = { 0 };
        assert_int_equal(fscrypt_slot_unwrap("hearth-pw", VECTOR, strlen(VECTOR), other, key), -ENOANO);
}

static void test_homework_252(void **state) {
        uint8_t key[64], d[8], salt[64];
        char again[FSCRYPT_SLOT_VALUE_SIZE + 1];

        assert_int_equal(strlen(HOMEWORK_SLOT), FSCRYPT_SLOT_VALUE_SIZE);
        assert_int_equal(fscrypt_slot_unwrap("gina-pw", HOMEWORK_SLOT, strlen(HOMEWORK_SLOT), HOMEWORK_DESCRIPTOR, key),
                         0);
        assert_int_equal(fscrypt_key_descriptor(key, d), 0);
        assert_memory_equal(d, HOMEWORK_DESCRIPTOR, 8);
        assert_int_equal(fscrypt_slot_unwrap("gina-pw2", HOMEWORK_SLOT, strlen(HOMEWORK_SLOT), HOMEWORK_DESCRIPTOR,
                                             key), -ENOANO);
        /* Wrapped again with homework's salt: its bytes exactly. */
        assert_int_equal(fscrypt_slot_unwrap("gina-pw", HOMEWORK_SLOT, strlen(HOMEWORK_SLOT), HOMEWORK_DESCRIPTOR, key),
                         0);
        assert_int_equal(fscrypt_slot_parse(HOMEWORK_SLOT, strlen(HOMEWORK_SLOT), salt, (uint8_t[64]) { 0 }), 0);
        assert_int_equal(fscrypt_slot_wrap("gina-pw", salt, key, again), 0);
        assert_string_equal(again, HOMEWORK_SLOT);
}

static void test_round_trip(void **state) {
        uint8_t salt[64], key[64], back[64], d[8];
        char v[FSCRYPT_SLOT_VALUE_SIZE + 1];
        for (int round = 0; round < 3; round++) {
                fill(salt, sizeof salt, (uint8_t) (round * 77));
                fill(key, sizeof key, (uint8_t) (round * 13 + 1));
                key[round] ^= 0xff;
                assert_int_equal(fscrypt_key_descriptor(key, d), 0);
                assert_int_equal(fscrypt_slot_wrap("pässwörd \xe2\x82\xac", salt, key, v), 0);
                assert_int_equal(fscrypt_slot_unwrap("pässwörd \xe2\x82\xac", v, strlen(v), d, back), 0);
                assert_memory_equal(back, key, 64);
        }
}

/* What a thief may write instead: every one refused as malformed. */
static void test_hostile(void **state) {
        uint8_t key[64], salt[64], enc[64];
        char buf[512];
        static const char *const bad[] = {
                "",
                ":",
                SALT_B64,
                SALT_B64 ":",
                ":" ENC_B64,
                SALT_B64 ":" ENC_B64 "\n",          /* one byte more */
                SALT_B64 ";" ENC_B64,               /* no separator */
                SALT_B64 "::" ENC_B64,
                "A" SALT_B64 ":" ENC_B64,
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=" ":" ENC_B64 "=",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Px==" ":" ENC_B64, /* spare bits set */
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P===" ":" ENC_B64,
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw==" ":" ENC_B64, /* url-safe */
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0 Pw==" ":" ENC_B64,
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                assert_int_equal(fscrypt_slot_parse(bad[i], strlen(bad[i]), salt, enc), -EBADMSG);
                assert_int_equal(fscrypt_slot_unwrap("hearth-pw", bad[i], strlen(bad[i]), DESCRIPTOR, key), -EBADMSG);
        }
        /* A NUL inside, and a length past the text: bounded by len. */
        memcpy(buf, VECTOR, sizeof VECTOR);
        buf[10] = 0;
        assert_int_equal(fscrypt_slot_parse(buf, strlen(VECTOR), salt, enc), -EBADMSG);
        assert_int_equal(fscrypt_slot_parse(VECTOR, strlen(VECTOR) - 1, salt, enc), -EBADMSG);
        assert_int_equal(fscrypt_slot_parse(NULL, 0, salt, enc), -EBADMSG);
        assert_int_equal(fscrypt_slot_parse(VECTOR, strlen(VECTOR), salt, enc), 0);
}

static void test_slot_number(void **state) {
        uint32_t n = 7;
        assert_int_equal(fscrypt_slot_number("trusted.fscrypt_slot0", &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(fscrypt_slot_number("trusted.fscrypt_slot4294967295", &n), 0);
        assert_int_equal(n, 4294967295u);
        assert_int_equal(fscrypt_slot_number("trusted.fscrypt_slot17", &n), 0);
        assert_int_equal(n, 17);
        static const char *const bad[] = {
                "trusted.fscrypt_slot", "trusted.fscrypt_slot4294967296", "trusted.fscrypt_slot01",
                "trusted.fscrypt_slot-1", "trusted.fscrypt_slot+1", "trusted.fscrypt_slot 1",
                "trusted.fscrypt_slot1x", "user.fscrypt_slot1", "trusted.fscrypt_slot99999999999",
                "trusted.fscrypt_slo1", "trusted.overlay.opaque",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(fscrypt_slot_number(bad[i], &n), -EINVAL);
        assert_int_equal(fscrypt_slot_number(NULL, &n), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_descriptor),
                cmocka_unit_test(test_wrap_vector),
                cmocka_unit_test(test_unwrap_vector),
                cmocka_unit_test(test_homework_252),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_slot_number),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
