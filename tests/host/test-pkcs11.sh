#!/bin/bash
# Smart cards (PKCS#11, #22) with SoftHSM2 as the token: homectl create
# --pkcs11-token-uri enrols the token (an RSA certificate on it; at the end
# an EC one, ECDH) in a directory and a subvolume home; activation asks for the PIN
# (TokenPinNeeded), takes it from $PIN or secret.pkcs11Pin, tells a wrong
# PIN (BadPin) apart; with the token absent the password still opens a home
# that has one and a token-only home says BadPassword; passwd keeps the
# token's entry; remove. Through hearthd on a private bus (homectl and raw
# D-Bus calls, for the error names) and hearth-work directly (its exit
# statuses). The token is reached through tests/host/pkcs11-shim.c, which
# sets its PIN state (few tries left, one try left, locked) from a file.
#   test-pkcs11.sh BUILDDIR SRCDIR SHIM
set -u
BUILDDIR=$1 SRCDIR=$2 SHIM=$3
. "$SRCDIR/tests/host/lib-hearthd.sh"

SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
[ -e "$SOFTHSM" ] || hearthd_skip "needs softhsm2"
for t in softhsm2-util pkcs11-tool openssl jq dbus-send; do
    command -v "$t" >/dev/null || hearthd_skip "needs $t"
done

# The token, before hearthd starts: its workers inherit the environment.
HSM=$(mktemp -d /tmp/hearth-pkcs11.XXXXXX)
hsm_cleanup() { rm -rf "$HSM"; }
trap hsm_cleanup EXIT
mkdir "$HSM/tokens" "$HSM/away"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$HSM" >"$HSM/softhsm2.conf"
export SOFTHSM2_CONF=$HSM/softhsm2.conf HEARTH_PKCS11_MODULE=$SHIM PKCS11_SHIM_MODULE=$SOFTHSM \
    PKCS11_SHIM_STATE=$HSM/pin-state
pin_state() { echo "$1" >"$HSM/pin-state"; }
softhsm2-util --init-token --free --label hearth --pin 1234 --so-pin 5678 >/dev/null || hearthd_skip "softhsm2-util failed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$HSM/key.pem" -out "$HSM/cert.pem" -subj /CN=alice -days 30 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$HSM/key.pem" -out "$HSM/key8.pem"
openssl x509 -in "$HSM/cert.pem" -outform der -out "$HSM/cert.der"
softhsm2-util --import "$HSM/key8.pem" --token hearth --label alice --id 01 --pin 1234 >/dev/null
pkcs11-tool --module "$SOFTHSM" --token-label hearth --login --pin 1234 --write-object "$HSM/cert.der" \
    --type cert --id 01 --label alice >/dev/null 2>&1
token_away() { mv "$HSM/tokens/"* "$HSM/away/"; }
token_back() { mv "$HSM/away/"* "$HSM/tokens/"; }

HEARTHD_BTRFS_SIZE=1G
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_at_exit hsm_cleanup

hc() { timeout -k 5 120 "$HEARTHD_HOMECTL" --no-ask-password "$@" </dev/null; }
# call METHOD USER SECRET: a Manager method taking (s user, s secret).
call() {
    dbus-send --system --print-reply --reply-timeout=120000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "org.freedesktop.home1.Manager.$1" "string:$2" "string:$3"
}
state_of() { hc list --no-legend | awk -v u="$1" '$1 == u { print $4 }'; }

check "list shows the token's certificate" 0 hc create --pkcs11-token-uri=list
contains "list: the URI" "$HEARTHD_TMP/out" "token=hearth;id=%01"
# No type=cert: the URI names the private key too, which systemd-homed
# looks for with it (and refuses a URI saying type=cert).
lacks "list: no type" "$HEARTHD_TMP/out" "type="
URI=$(head -n1 "$HEARTHD_TMP/out")
# Without HEARTH_PKCS11_MODULE: p11-kit's configured modules (the softhsm2
# package registers its own), not the trust module's CA certificates.
if [ -e /usr/share/p11-kit/modules/softhsm2.module ]; then
    check "list through p11-kit's configuration" 0 env -u HEARTH_PKCS11_MODULE "$HEARTHD_HOMECTL" create --pkcs11-token-uri=list
    [ "$(grep -c . "$HEARTHD_TMP/out")" = 1 ] && grep -q "token=hearth;id=%01" "$HEARTHD_TMP/out" &&
        ok "p11-kit: the token's certificate alone" || bad "p11-kit: $(cat "$HEARTHD_TMP/out")"
fi

# ---- a directory home with a password and the token -------------------
check "create alice with the token and a password" 0 env NEWPASSWORD=pw-alice \
    "$HEARTHD_HOMECTL" --no-ask-password create alice --storage=directory --pkcs11-token-uri=auto
hc inspect -j alice >"$HEARTHD_TMP/alice.json"
[ "$(jq -r '.pkcs11TokenUri[0]' "$HEARTHD_TMP/alice.json")" = "$URI" ] && ok "record: pkcs11TokenUri" ||
    bad "record: pkcs11TokenUri is $(jq -c .pkcs11TokenUri "$HEARTHD_TMP/alice.json")"
[ "$(jq -r '.privileged.pkcs11EncryptedKey[0].uri' "$HEARTHD_TMP/alice.json")" = "$URI" ] &&
    jq -e '.privileged.pkcs11EncryptedKey[0].data | length > 300' "$HEARTHD_TMP/alice.json" >/dev/null &&
    jq -e '.privileged.pkcs11EncryptedKey[0].hashedPassword | startswith("$y$")' "$HEARTHD_TMP/alice.json" >/dev/null &&
    ok "record: pkcs11EncryptedKey {uri, data, hashedPassword}" || bad "record: pkcs11EncryptedKey"
# The token's key is no password hash of the record's own.
[ "$(jq '.privileged.hashedPassword | length' "$HEARTHD_TMP/alice.json")" = 1 ] && ok "one hashedPassword" ||
    bad "hashedPassword: $(jq -c .privileged.hashedPassword "$HEARTHD_TMP/alice.json")"

check "activate without password or PIN: refused" 79 hc activate alice
contains "activate: the PIN is asked for" "$HEARTHD_TMP/err" "PIN is needed"
check "D-Bus: no PIN: TokenPinNeeded" 1 call ActivateHome alice '{}'
contains "TokenPinNeeded" "$HEARTHD_TMP/err" "org.freedesktop.home1.TokenPinNeeded"
check "D-Bus: wrong PIN: BadPin" 1 call ActivateHome alice '{"pkcs11Pin":["0000"]}'
contains "BadPin" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPin:"
pin_state low
check "D-Bus: wrong PIN, few tries left" 1 call ActivateHome alice '{"pkcs11Pin":["0000"]}'
contains "BadPinFewTriesLeft" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPinFewTriesLeft:"
pin_state final
check "D-Bus: wrong PIN, one try left" 1 call ActivateHome alice '{"pkcs11Pin":["0000"]}'
contains "BadPinOneTryLeft" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPinOneTryLeft:"
pin_state locked
check "D-Bus: PIN locked" 1 call ActivateHome alice '{"pkcs11Pin":["1234"]}'
contains "TokenPinLocked" "$HEARTHD_TMP/err" "org.freedesktop.home1.TokenPinLocked:"
check "homectl: PIN locked: 79" 79 env PIN=1234 "$HEARTHD_HOMECTL" --no-ask-password activate alice
check "PIN locked: the password still opens it" 0 env PASSWORD=pw-alice "$HEARTHD_HOMECTL" --no-ask-password authenticate alice
pin_state ok
check "homectl: wrong \$PIN: refused" 79 env PIN=0000 "$HEARTHD_HOMECTL" --no-ask-password activate alice
check "homectl: \$PIN opens it" 0 env PIN=1234 "$HEARTHD_HOMECTL" --no-ask-password activate alice
[ "$(state_of alice)" = active ] && ok "alice active" || bad "alice is $(state_of alice)"
check "deactivate" 0 hc deactivate alice
check "D-Bus: secret.pkcs11Pin opens it" 0 call ActivateHome alice '{"pkcs11Pin":["1234"]}'
check "deactivate" 0 hc deactivate alice
check "D-Bus: tokenPin (homed's later name) too" 0 call AuthenticateHome alice '{"tokenPin":["1234"]}'
check "the password still opens it" 0 env PASSWORD=pw-alice "$HEARTHD_HOMECTL" --no-ask-password authenticate alice
check "a wrong password with no PIN: the PIN is asked" 79 env PASSWORD=nope "$HEARTHD_HOMECTL" --no-ask-password authenticate alice

# ---- hearth-work directly: its exit statuses ---------------------------
work() { # work OP SECRET-JSON: the stored record with that secret section
    jq -c --argjson s "$2" '. + {secret: $s} | del(.status)' "$HEARTHD_TMP/alice.json" |
        env HEARTH_STATE_DIR="$HEARTHD_STATE_DIR" HEARTH_RUNTIME_DIR="$HEARTHD_RUNTIME_DIR" \
            HEARTH_HOME_ROOT="$HEARTHD_HOME_ROOT" "$HEARTHD_WORKER" "$1" >/dev/null
}
check "hearth-work: no PIN: 28" 28 work authenticate '{}'
check "hearth-work: wrong PIN: 29" 29 work authenticate '{"pkcs11Pin":["0000"]}'
pin_state low
check "hearth-work: wrong PIN, few tries left: 30" 30 work authenticate '{"pkcs11Pin":["0000"]}'
pin_state final
check "hearth-work: wrong PIN, one try left: 31" 31 work authenticate '{"pkcs11Pin":["0000"]}'
pin_state locked
check "hearth-work: PIN locked: 32" 32 work authenticate '{"pkcs11Pin":["1234"]}'
pin_state ok
check "hearth-work: the PIN: 0" 0 work authenticate '{"pkcs11Pin":["1234"]}'
check "hearth-work: the password: 0" 0 work authenticate '{"password":["pw-alice"]}'

# ---- token absent -------------------------------------------------------
token_away
check "token absent: the password opens it" 0 env PASSWORD=pw-alice "$HEARTHD_HOMECTL" --no-ask-password activate alice
check "deactivate" 0 hc deactivate alice
check "token absent, no password: BadPassword" 1 call ActivateHome alice '{"pkcs11Pin":["1234"]}'
contains "BadPassword" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPassword"
check "hearth-work: token absent, PIN only: 11" 11 work authenticate '{"pkcs11Pin":["1234"]}'
token_back

# ---- passwd keeps the token ---------------------------------------------
check "passwd" 0 env PASSWORD=pw-alice NEWPASSWORD=pw-alice2 "$HEARTHD_HOMECTL" --no-ask-password passwd alice
hc inspect -j alice >"$HEARTHD_TMP/alice2.json"
[ "$(jq -c .privileged.pkcs11EncryptedKey "$HEARTHD_TMP/alice2.json")" = "$(jq -c .privileged.pkcs11EncryptedKey "$HEARTHD_TMP/alice.json")" ] &&
    ok "passwd kept pkcs11EncryptedKey" || bad "passwd changed pkcs11EncryptedKey"
check "after passwd: the PIN opens it" 0 env PIN=1234 "$HEARTHD_HOMECTL" --no-ask-password activate alice
check "after passwd: the new password authenticates" 0 env PASSWORD=pw-alice2 "$HEARTHD_HOMECTL" --no-ask-password authenticate alice
check "deactivate" 0 hc deactivate alice
check "remove alice" 0 hc remove alice

# ---- a subvolume home with the token alone ------------------------------
check "create bob (subvolume), token alone" 0 hc create bob --storage=subvolume --pkcs11-token-uri="$URI"
hc inspect -j bob >"$HEARTHD_TMP/bob.json"
jq -e '(.privileged.hashedPassword // []) | length == 0' "$HEARTHD_TMP/bob.json" >/dev/null &&
    ok "bob: no password hash" || bad "bob has a password hash"
check "bob: \$PIN opens it" 0 env PIN=1234 "$HEARTHD_HOMECTL" --no-ask-password activate bob
check "bob: deactivate" 0 hc deactivate bob
check "bob: a password is no way in" 1 call ActivateHome bob '{"password":["anything"]}'
token_away
check "bob: token absent: BadPassword" 1 call ActivateHome bob '{"pkcs11Pin":["1234"]}'
contains "bob: BadPassword" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPassword"
token_back
check "bob: removing the only way in is refused" 2 hc update bob --pkcs11-token-uri=
# Found again (unregistered, then hearthd sees the .homedir): its record,
# which has no password hash, must not be taken without the card's key.
check "bob: unregister" 0 hc unregister bob
hearthd_restart
_w=0
while [ "$(state_of bob)" != unfixated ] && [ $_w -lt 100 ]; do sleep 0.1; _w=$((_w + 1)); done
[ "$(state_of bob)" = unfixated ] && ok "bob found unfixated" || bad "bob is \"$(state_of bob)\""
check "bob: fixating with nothing is refused" 1 call AuthenticateHome bob '{}'
check "bob: fixating with a made-up password is refused" 1 call AuthenticateHome bob '{"password":["x"]}'
[ "$(state_of bob)" = unfixated ] && ok "bob still unfixated" || bad "bob is \"$(state_of bob)\""

# ---- homectl update adds and removes the token -------------------------
check "create erin with a password only" 0 env NEWPASSWORD=pw-erin \
    "$HEARTHD_HOMECTL" --no-ask-password create erin --storage=directory
check "erin: the PIN is no way in yet" 1 call AuthenticateHome erin '{"pkcs11Pin":["1234"]}'
check "update erin: enrol the token" 0 hc update erin --pkcs11-token-uri=auto
check "inspect shows the token" 0 hc inspect erin
contains "inspect: PKCS11 Token" "$HEARTHD_TMP/out" "PKCS11 Token: $URI"
check "erin: the PIN opens it" 0 call AuthenticateHome erin '{"pkcs11Pin":["1234"]}'
check "erin: the password too" 0 env PASSWORD=pw-erin "$HEARTHD_HOMECTL" --no-ask-password authenticate erin
check "update erin: remove the tokens" 0 hc update erin --pkcs11-token-uri=
hc inspect -j erin >"$HEARTHD_TMP/erin.json"
jq -e '(.pkcs11TokenUri == null) and (.privileged.pkcs11EncryptedKey == null) and (.privileged.hashedPassword | length == 1)' \
    "$HEARTHD_TMP/erin.json" >/dev/null && ok "erin: token fields gone, password kept" || bad "erin: $(cat "$HEARTHD_TMP/erin.json")"
check "erin: the PIN is no way in any more" 1 call AuthenticateHome erin '{"pkcs11Pin":["1234"]}'
contains "erin: BadPassword" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPassword"
check "erin: the password still" 0 env PASSWORD=pw-erin "$HEARTHD_HOMECTL" --no-ask-password authenticate erin
check "remove erin" 0 hc remove erin

# ---- logging in through pam_hearth (pam_wrapper, pamtester) ------------
MODULE=$BUILDDIR/pam/pam_hearth.so
wrapper=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu; do
    [ -e "$d/libpam_wrapper.so" ] && { wrapper=$d/libpam_wrapper.so; break; }
done
if [ -n "$wrapper" ] && command -v pamtester >/dev/null; then
    preload="$(ldd "$MODULE" | awk '/libasan\.so/ { print $3 }') $(ldd "$MODULE" | awk '/libubsan\.so/ { print $3 }') $wrapper"
    mkdir -p "$HEARTHD_TMP/pam.d"
    printf 'auth required %s debug\naccount required %s\n' "$MODULE" "$MODULE" >"$HEARTHD_TMP/pam.d/hearth-test"
    pt() { # pt LINES USER: authenticate, LINES fed to the prompts
        printf "$1" | HEARTH_RUNTIME_DIR=$HEARTHD_RUNTIME_DIR LD_PRELOAD=$preload PAM_WRAPPER=1 \
            PAM_WRAPPER_SERVICE_DIR=$HEARTHD_TMP/pam.d ASAN_OPTIONS=detect_leaks=0 \
            pamtester -v hearth-test "$2" authenticate
    }
    check "pam: create dave with a password and the token" 0 env NEWPASSWORD=pw-dave \
        "$HEARTHD_HOMECTL" --no-ask-password create dave --storage=directory --pkcs11-token-uri=auto
    check "pam: the password opens it, no PIN asked" 0 pt 'pw-dave\n' dave
    cat "$HEARTHD_TMP/out" "$HEARTHD_TMP/err" >"$HEARTHD_TMP/both"
    lacks "pam: no PIN prompt" "$HEARTHD_TMP/both" "PIN"
    check "pam: a wrong password, then the PIN" 0 pt 'nope\n1234\n' dave
    cat "$HEARTHD_TMP/out" "$HEARTHD_TMP/err" >"$HEARTHD_TMP/both"
    contains "pam: the PIN prompt" "$HEARTHD_TMP/both" "Security token PIN:"
    check "pam: wrong PINs: refused" 1 pt 'nope\n0000\n0000\n0000\n0000\n' dave
    cat "$HEARTHD_TMP/out" "$HEARTHD_TMP/err" >"$HEARTHD_TMP/both"
    contains "pam: told the PIN was wrong" "$HEARTHD_TMP/both" "Wrong security token PIN"
    token_away
    check "pam: token absent: the password opens it" 0 pt 'pw-dave\n' dave
    check "pam: token absent: a wrong password fails, no PIN asked" 1 pt 'nope\n1234\n' dave
    cat "$HEARTHD_TMP/out" "$HEARTHD_TMP/err" >"$HEARTHD_TMP/both"
    lacks "pam: token absent: no PIN prompt" "$HEARTHD_TMP/both" "Security token PIN"
    token_back
    check "pam: remove dave" 0 hc remove dave
    # The card alone: an empty password, then the PIN.
    check "pam: create fred, token alone" 0 hc create fred --storage=directory --pkcs11-token-uri=auto
    check "pam: fred: empty password, then the PIN" 0 pt '\n1234\n' fred
    cat "$HEARTHD_TMP/out" "$HEARTHD_TMP/err" >"$HEARTHD_TMP/both"
    contains "pam: fred: the PIN prompt" "$HEARTHD_TMP/both" "Security token PIN:"
    check "pam: fred: empty password, wrong PINs" 1 pt '\n0000\n0000\n0000\n0000\n' fred
    token_away
    check "pam: fred: token absent: refused" 1 pt '\n1234\n' fred
    token_back
    check "pam: a passwordless record still takes no empty password" 0 dbus-send --system --print-reply \
        --dest=org.freedesktop.home1 /org/freedesktop/home1 org.freedesktop.home1.Manager.CreateHome \
        string:'{"userName":"nopw","storage":"directory","disposition":"regular"}'
    check "pam: nopw: empty password refused" 1 pt '\n' nopw
    check "pam: remove fred" 0 hc remove fred
else
    echo "pam part skipped: needs pam_wrapper and pamtester"
fi

# ---- refused enrolments -------------------------------------------------
check "no such token: refused" 1 env NEWPASSWORD=x "$HEARTHD_HOMECTL" --no-ask-password create carol --storage=directory \
    --pkcs11-token-uri="pkcs11:token=nope;id=%01;type=cert"
check "not a URI: usage" 2 hc create carol --pkcs11-token-uri=http://x
# LUKS homes with a token: tests/vm/pkcs11-luks-inside.sh (dm-crypt).
check "fscrypt: not yet" 2 env NEWPASSWORD=x "$HEARTHD_HOMECTL" --no-ask-password create carol --storage=fscrypt \
    --pkcs11-token-uri=auto
[ -z "$(state_of carol)" ] && ok "carol never made" || bad "carol exists"

# ---- an EC key (ECDH, as systemd-homed since systemd 255) ----------------
# A token of its own, made only now: "auto" above needs one certificate.
softhsm2-util --init-token --free --label hearth-ec --pin 4321 --so-pin 5678 >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$HSM/ec.pem" -out "$HSM/ec-cert.pem" \
    -subj /CN=gina -days 30 2>/dev/null
openssl pkey -in "$HSM/ec.pem" -outform der -out "$HSM/ec.der"
openssl x509 -in "$HSM/ec-cert.pem" -outform der -out "$HSM/ec-cert.der"
# softhsm2-util --import would leave the key without CKA_DERIVE.
pkcs11-tool --module "$SOFTHSM" --token-label hearth-ec --login --pin 4321 --write-object "$HSM/ec.der" \
    --type privkey --id 02 --label gina --usage-derive >/dev/null 2>&1
pkcs11-tool --module "$SOFTHSM" --token-label hearth-ec --login --pin 4321 --write-object "$HSM/ec-cert.der" \
    --type cert --id 02 --label gina >/dev/null 2>&1
check "list: both certificates" 0 hc create --pkcs11-token-uri=list
ECURI=$(grep "token=hearth-ec" "$HEARTHD_TMP/out" | head -n1)
[ -n "$ECURI" ] && ok "the EC certificate's URI" || bad "no EC certificate listed: $(cat "$HEARTHD_TMP/out")"
check "create gina with the EC token" 0 env NEWPASSWORD=pw-gina \
    "$HEARTHD_HOMECTL" --no-ask-password create gina --storage=directory --pkcs11-token-uri="$ECURI"
hc inspect -j gina >"$HEARTHD_TMP/gina.json"
# What the record keeps for EC is the fresh key pair's public key: an
# uncompressed P-256 point (65 bytes, 0x04 first).
jq -r '.privileged.pkcs11EncryptedKey[0].data' "$HEARTHD_TMP/gina.json" | base64 -d >"$HSM/ec-point.bin"
[ "$(stat -c %s "$HSM/ec-point.bin")" = 65 ] && [ "$(head -c1 "$HSM/ec-point.bin" | od -An -tx1 | tr -d ' ')" = 04 ] &&
    ok "record: the data is an uncompressed P-256 point" || bad "record: data of $(stat -c %s "$HSM/ec-point.bin") bytes"
# The secret is the ECDH shared secret of that key and the certificate's:
# OpenSSL alone, with the token's private key, finds the hash's password.
python3 - "$HSM/ec-point.bin" "$HSM/ec-peer.pem" <<'PY' 2>/dev/null
import sys
pt = open(sys.argv[1], 'rb').read()
# SubjectPublicKeyInfo for a P-256 point: a fixed 26-byte prefix.
der = bytes.fromhex('3059301306072a8648ce3d020106082a8648ce3d030107034200') + pt
import base64
open(sys.argv[2], 'w').write('-----BEGIN PUBLIC KEY-----\n' + base64.encodebytes(der).decode() + '-----END PUBLIC KEY-----\n')
PY
if openssl pkeyutl -derive -inkey "$HSM/ec.pem" -peerkey "$HSM/ec-peer.pem" -out "$HSM/ec-shared.bin" 2>/dev/null; then
    check "the ECDH secret's base64 is the home's key" 0 env PASSWORD="$(base64 -w0 "$HSM/ec-shared.bin")" \
        "$HEARTHD_HOMECTL" --no-ask-password authenticate gina
    rm -f "$HSM/ec-shared.bin"
else
    bad "openssl pkeyutl -derive failed"
fi
check "gina: no PIN: TokenPinNeeded" 1 call ActivateHome gina '{}'
contains "gina: TokenPinNeeded" "$HEARTHD_TMP/err" "org.freedesktop.home1.TokenPinNeeded"
check "gina: wrong PIN: BadPin" 1 call ActivateHome gina '{"pkcs11Pin":["0000"]}'
contains "gina: BadPin" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPin:"
check "gina: the PIN opens it (ECDH on the token)" 0 call ActivateHome gina '{"pkcs11Pin":["4321"]}'
check "gina: deactivate" 0 hc deactivate gina
check "gina: the password too" 0 env PASSWORD=pw-gina "$HEARTHD_HOMECTL" --no-ask-password authenticate gina
check "remove gina" 0 hc remove gina

hearthd_finish
