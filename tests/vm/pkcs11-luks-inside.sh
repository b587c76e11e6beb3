#!/bin/bash
# Runs inside the VM: smart cards (PKCS#11, #22) on LUKS homes, SoftHSM2
# as the token (the host's package through the shared root; its token
# directory in this test's temp dir), through hearthd and homectl on real
# dm-crypt. create --pkcs11-token-uri gives the token's secret a keyslot
# (named by a systemd-pkcs11 LUKS2 token); activation asks for the PIN
# (TokenPinNeeded), tells a wrong one (BadPin…) and a locked one
# (TokenPinLocked) apart; with the token absent the password still opens
# it; passwd keeps the token's keyslot; lock, then unlock with the PIN;
# update adds and removes the token's keyslot (never the last way in);
# a home with the token alone; remove.
# Usage: pkcs11-luks-inside.sh BUILDDIR SRCDIR SHIM
set -u
BUILDDIR=$1 SRCDIR=$2 SHIM=$3
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
. "$SRCDIR/tests/host/lib-hearthd.sh"

SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
[ -e "$SOFTHSM" ] || hearthd_skip "needs softhsm2"
for t in softhsm2-util pkcs11-tool openssl jq dbus-send cryptsetup; do
    command -v "$t" >/dev/null || hearthd_skip "needs $t"
done

# The token, before hearthd starts: its workers inherit the environment.
HSM=$(mktemp -d /tmp/hearth-pkcs11.XXXXXX)
mkdir "$HSM/tokens" "$HSM/away"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$HSM" >"$HSM/softhsm2.conf"
export SOFTHSM2_CONF=$HSM/softhsm2.conf HEARTH_PKCS11_MODULE=$SHIM PKCS11_SHIM_MODULE=$SOFTHSM \
    PKCS11_SHIM_STATE=$HSM/pin-state
pin_state() { echo "$1" >"$HSM/pin-state"; }
softhsm2-util --init-token --free --label hearth --pin 1234 --so-pin 5678 >/dev/null || { echo "softhsm2-util failed"; exit 1; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$HSM/key.pem" -out "$HSM/cert.pem" -subj /CN=alice -days 30 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$HSM/key.pem" -out "$HSM/key8.pem"
openssl x509 -in "$HSM/cert.pem" -outform der -out "$HSM/cert.der"
softhsm2-util --import "$HSM/key8.pem" --token hearth --label alice --id 01 --pin 1234 >/dev/null
pkcs11-tool --module "$SOFTHSM" --token-label hearth --login --pin 1234 --write-object "$HSM/cert.der" \
    --type cert --id 01 --label alice >/dev/null 2>&1
token_away() { mv "$HSM/tokens/"* "$HSM/away/"; }
token_back() { mv "$HSM/away/"* "$HSM/tokens/"; }

hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
MB=1048576
hc() { timeout -k 5 300 "$homectl" --no-ask-password "$@" </dev/null; }
call() {
    dbus-send --system --print-reply --reply-timeout=300000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "org.freedesktop.home1.Manager.$1" "string:$2" "string:$3"
}
state_of() { hc list --no-legend | awk -v u="$1" '$1 == u { print $4 }'; }
# dump USER: the home's LUKS2 header (luksDump of its partition) in $HEARTHD_TMP/dump
dump() {
    _l=$(losetup -f --show -P -r "$HEARTHD_HOME_ROOT/$1.home") || return 1
    udevadm settle 2>/dev/null
    cryptsetup luksDump "${_l}p1" >"$HEARTHD_TMP/dump" 2>&1
    cryptsetup luksDump --dump-json-metadata "${_l}p1" >"$HEARTHD_TMP/dump.json" 2>/dev/null
    losetup -d "$_l"
}
# keyslots USER: the active keyslots, sorted, space-separated
keyslots() { dump "$1"; jq -r '.keyslots | keys | map(tonumber) | sort | map(tostring) | join(" ")' "$HEARTHD_TMP/dump.json"; }
# p11slot USER: the keyslot the systemd-pkcs11 token names ("" if none)
p11slot() { dump "$1"; jq -r '[.tokens[] | select(.type == "systemd-pkcs11") | .keyslots[]] | join(" ")' "$HEARTHD_TMP/dump.json"; }

check "list shows the token's certificate" 0 hc create --pkcs11-token-uri=list
URI=$(head -n1 "$HEARTHD_TMP/out")
case $URI in pkcs11:*) ok "a URI: $URI" ;; *) bad "no URI listed: $URI" ;; esac

# A cheap PBKDF: tests only; real homes use argon2id.
cat >"$HEARTHD_TMP/alice.json" <<JSON
{"userName":"alice","storage":"luks","fileSystemType":"btrfs","diskSize":$((300 * MB)),
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
check "create a LUKS home with the token and a password" 0 env NEWPASSWORD=pw-alice \
    "$homectl" --no-ask-password create --identity="$HEARTHD_TMP/alice.json" --pkcs11-token-uri=auto
hc inspect -j alice >"$HEARTHD_TMP/alice-rec.json"
[ "$(jq -r '.pkcs11TokenUri[0]' "$HEARTHD_TMP/alice-rec.json")" = "$URI" ] &&
    [ "$(jq -r '.privileged.pkcs11EncryptedKey[0].uri' "$HEARTHD_TMP/alice-rec.json")" = "$URI" ] &&
    ok "record: the token's URI and encrypted key" || bad "record: $(jq -c '{pkcs11TokenUri, privileged}' "$HEARTHD_TMP/alice-rec.json")"
[ "$(jq '.privileged.hashedPassword | length' "$HEARTHD_TMP/alice-rec.json")" = 1 ] && ok "one hashedPassword (the token's key is none)" ||
    bad "hashedPassword: $(jq -c .privileged.hashedPassword "$HEARTHD_TMP/alice-rec.json")"
slots=$(keyslots alice); tslot=$(p11slot alice)
[ "$(echo $slots | wc -w)" = 2 ] && [ -n "$tslot" ] && ok "two keyslots ($slots), the token's ($tslot) named" ||
    bad "keyslots: $slots, token's: $tslot; $(sed -n '/^Tokens:/,$p' "$HEARTHD_TMP/dump")"
jq -e --arg u "$URI" '[.tokens[] | select(.type == "systemd-pkcs11" and .["pkcs11-uri"] == $u and (.["pkcs11-key"] | length > 300)
    and .["hearth-enrolled"] == true)] | length == 1' \
    "$HEARTHD_TMP/dump.json" >/dev/null && ok "systemd-pkcs11 token: pkcs11-uri, pkcs11-key, hearth-enrolled" ||
    bad "token: $(jq -c .tokens "$HEARTHD_TMP/dump.json")"
# The keyslot opens with the base64 of what the token decrypts (homed's
# and systemd-cryptenroll's passphrase): checked here with OpenSSL alone.
jq -r .privileged.pkcs11EncryptedKey[0].data "$HEARTHD_TMP/alice-rec.json" | base64 -d >"$HSM/enc.bin"
openssl pkeyutl -decrypt -inkey "$HSM/key.pem" -pkeyopt rsa_padding_mode:pkcs1 -in "$HSM/enc.bin" -out "$HSM/dec.bin" 2>/dev/null
base64 -w0 "$HSM/dec.bin" >"$HSM/pass"
_l=$(losetup -f --show -P -r "$HEARTHD_HOME_ROOT/alice.home"); udevadm settle 2>/dev/null
check "the keyslot opens with base64(decrypted key)" 0 cryptsetup open --test-passphrase --key-slot "$tslot" \
    --key-file "$HSM/pass" "${_l}p1"
losetup -d "$_l"
rm -f "$HSM/dec.bin" "$HSM/pass"

check "activate without password or PIN: refused" 79 hc activate alice
contains "the PIN is asked for" "$HEARTHD_TMP/err" "PIN is needed"
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
check "PIN locked: the password still opens it" 0 env PASSWORD=pw-alice "$homectl" --no-ask-password authenticate alice
pin_state ok
[ "$(state_of alice)" = inactive ] && ok "still inactive" || bad "alice is $(state_of alice)"
check "\$PIN opens it" 0 env PIN=1234 "$homectl" --no-ask-password activate alice
check "mapped" 0 test -e /dev/mapper/home-alice
[ "$(state_of alice)" = active ] && ok "alice active" || bad "alice is $(state_of alice)"
hc inspect -j alice >"$HEARTHD_TMP/after.json"
[ "$(jq -c .privileged.hashedPassword "$HEARTHD_TMP/after.json")" = "$(jq -c .privileged.hashedPassword "$HEARTHD_TMP/alice-rec.json")" ] &&
    ok "opened by the token: the password hash is left alone" || bad "hashedPassword changed: $(jq -c .privileged.hashedPassword "$HEARTHD_TMP/after.json")"
uid=$(awk -F: '$1 == "alice" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
echo data >"$HEARTHD_HOME_ROOT/alice/file" && chown "$uid" "$HEARTHD_HOME_ROOT/alice/file" && ok "written" || bad "cannot write"

check "lock" 0 hc lock alice
[ "$(state_of alice)" = locked ] && ok "locked" || bad "alice is $(state_of alice)"
check "unlock: wrong PIN" 1 call UnlockHome alice '{"pkcs11Pin":["0000"]}'
contains "unlock: BadPin" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPin"
check "unlock with the PIN" 0 call UnlockHome alice '{"pkcs11Pin":["1234"]}'
[ "$(state_of alice)" = active ] && ok "active after unlock" || bad "alice is $(state_of alice)"
check "the file is there" 0 grep -q data "$HEARTHD_HOME_ROOT/alice/file"
check "deactivate" 0 hc deactivate alice

# ---- token absent --------------------------------------------------------
token_away
check "token absent: the password opens it" 0 env PASSWORD=pw-alice "$homectl" --no-ask-password activate alice
check "deactivate" 0 hc deactivate alice
check "token absent, PIN only: BadPassword" 1 call ActivateHome alice '{"pkcs11Pin":["1234"]}'
contains "BadPassword" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPassword"
token_back

# ---- passwd keeps the token's keyslot ------------------------------------
check "passwd" 0 env PASSWORD=pw-alice NEWPASSWORD=pw-alice2 "$homectl" --no-ask-password passwd alice
[ "$(p11slot alice)" = "$tslot" ] && [ "$(keyslots alice | wc -w)" = 2 ] && ok "the token's keyslot $tslot kept, one password's" ||
    bad "after passwd: keyslots $(keyslots alice), token's $(p11slot alice)"
check "after passwd: the old password is refused" 1 call AuthenticateHome alice '{"password":["pw-alice"],"pkcs11Pin":["0000"]}'
check "after passwd: the new password" 0 env PASSWORD=pw-alice2 "$homectl" --no-ask-password authenticate alice
check "after passwd: the PIN" 0 call ActivateHome alice '{"pkcs11Pin":["1234"]}'
check "deactivate" 0 hc deactivate alice

# ---- update: remove the token, enrol it again -----------------------------
check "update: remove the token" 0 env PASSWORD=pw-alice2 "$homectl" --no-ask-password update alice --pkcs11-token-uri=
[ -z "$(p11slot alice)" ] && [ "$(keyslots alice | wc -w)" = 1 ] && ok "its keyslot and token gone" ||
    bad "after removal: keyslots $(keyslots alice), token's $(p11slot alice)"
jq -e '.tokens | map(select(.type == "systemd-pkcs11")) | length == 0' "$HEARTHD_TMP/dump.json" >/dev/null &&
    ok "no systemd-pkcs11 token left" || bad "tokens: $(jq -c .tokens "$HEARTHD_TMP/dump.json")"
check "the PIN is no way in any more" 1 call AuthenticateHome alice '{"pkcs11Pin":["1234"]}'
check "update: enrol the token again" 0 env PASSWORD=pw-alice2 "$homectl" --no-ask-password update alice --pkcs11-token-uri=auto
[ -n "$(p11slot alice)" ] && [ "$(keyslots alice | wc -w)" = 2 ] && ok "a keyslot for the token again ($(p11slot alice))" ||
    bad "after enrolment: keyslots $(keyslots alice), token's $(p11slot alice)"
check "the PIN opens it again" 0 call ActivateHome alice '{"pkcs11Pin":["1234"]}'
check "deactivate" 0 hc deactivate alice
check "remove alice" 0 hc remove alice
check "image gone" 1 test -e "$HEARTHD_HOME_ROOT/alice.home"

# ---- the token alone --------------------------------------------------------
cat >"$HEARTHD_TMP/bob.json" <<JSON
{"userName":"bob","storage":"luks","fileSystemType":"ext4","diskSize":$((300 * MB)),
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
check "create bob: the token alone" 0 hc create --identity="$HEARTHD_TMP/bob.json" --pkcs11-token-uri="$URI"
[ "$(keyslots bob | wc -w)" = 1 ] && [ -n "$(p11slot bob)" ] && ok "bob: the token's keyslot alone" ||
    bad "bob: keyslots $(keyslots bob), token's $(p11slot bob)"
check "bob: the PIN opens it" 0 env PIN=1234 "$homectl" --no-ask-password activate bob
check "bob: deactivate" 0 hc deactivate bob
check "bob: a password is no way in" 1 call ActivateHome bob '{"password":["anything"]}'
check "bob: removing the only way in is refused" 2 hc update bob --pkcs11-token-uri=
check "bob: passwd adds a password" 0 env PIN=1234 NEWPASSWORD=pw-bob "$homectl" --no-ask-password passwd bob
[ "$(keyslots bob | wc -w)" = 2 ] && [ -n "$(p11slot bob)" ] && ok "bob: a password keyslot beside the token's" ||
    bad "bob: keyslots $(keyslots bob), token's $(p11slot bob)"
token_away
check "bob: token absent: the new password" 0 env PASSWORD=pw-bob "$homectl" --no-ask-password authenticate bob
token_back
check "remove bob" 0 hc remove bob

# ---- a record as systemd-homed's homectl sends it -----------------------
# The token's key made and encrypted here by OpenSSL (as homed: random bytes,
# RSA PKCS#1 v1.5 to the certificate, the hash of their base64), and the
# PIN (secret.tokenPin) instead of the key: the worker decrypts it on the
# token for the keyslot.
if python3 -W ignore -c 'import crypt' 2>/dev/null; then
    sha512() { python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$1"; }
    head -c 128 /dev/urandom >"$HSM/k.bin"
    openssl pkeyutl -encrypt -certin -inkey "$HSM/cert.pem" -pkeyopt rsa_padding_mode:pkcs1 -in "$HSM/k.bin" -out "$HSM/k.enc"
    kb64=$(base64 -w0 "$HSM/k.bin")
    jq -cn --arg uri "$URI" --arg data "$(base64 -w0 "$HSM/k.enc")" --arg kh "$(sha512 "$kb64")"         --arg ph "$(sha512 pw-carol)" --argjson size $((300 * MB))         '{userName: "carol", disposition: "regular", storage: "luks", fileSystemType: "ext4", diskSize: $size,
          luksPbkdfType: "pbkdf2", luksPbkdfForceIterations: 1000, pkcs11TokenUri: [$uri],
          privileged: {hashedPassword: [$ph], pkcs11EncryptedKey: [{uri: $uri, data: $data, hashedPassword: $kh}]},
          secret: {password: ["pw-carol"], tokenPin: ["1234"]}}' >"$HEARTHD_TMP/carol.json"
    check "CreateHome with the PIN, not the key (homed's way)" 0 dbus-send --system --print-reply --reply-timeout=300000 \
        --dest=org.freedesktop.home1 /org/freedesktop/home1 org.freedesktop.home1.Manager.CreateHome \
        string:"$(cat "$HEARTHD_TMP/carol.json")"
    cslot=$(p11slot carol)
    [ "$(keyslots carol | wc -w)" = 2 ] && [ -n "$cslot" ] && ok "carol: a password's keyslot and the token's ($cslot)" ||
        bad "carol: keyslots $(keyslots carol), token's $cslot"
    printf %s "$kb64" >"$HSM/pass"
    _l=$(losetup -f --show -P -r "$HEARTHD_HOME_ROOT/carol.home"); udevadm settle 2>/dev/null
    check "carol: the token's keyslot opens with base64 of the key homed's way made" 0 cryptsetup open --test-passphrase \
        --key-slot "$cslot" --key-file "$HSM/pass" "${_l}p1"
    losetup -d "$_l"
    rm -f "$HSM/pass" "$HSM/k.bin"
    # An image homed made has the keyslot but no systemd-pkcs11 token:
    # named at the first activation with the token, then kept by passwd.
    _l=$(losetup -f --show -P "$HEARTHD_HOME_ROOT/carol.home"); udevadm settle 2>/dev/null
    _id=$(cryptsetup luksDump --dump-json-metadata "${_l}p1" | jq -r '.tokens | to_entries[] | select(.value.type == "systemd-pkcs11") | .key')
    cryptsetup token remove --token-id "$_id" "${_l}p1"; losetup -d "$_l"
    [ -z "$(p11slot carol)" ] && ok "carol: the token's keyslot unnamed, as homed leaves it" || bad "carol: token still there"
    check "carol: the PIN opens it" 0 call ActivateHome carol '{"tokenPin":["1234"]}'
    [ "$(p11slot carol)" = "$cslot" ] && ok "carol: keyslot $cslot named at activation" || bad "carol: token's keyslot: $(p11slot carol)"
    check "carol: deactivate" 0 hc deactivate carol
    check "carol: passwd" 0 env PASSWORD=pw-carol NEWPASSWORD=pw-carol2 "$homectl" --no-ask-password passwd carol
    [ "$(p11slot carol)" = "$cslot" ] && [ "$(keyslots carol | wc -w)" = 2 ] && ok "carol: passwd kept the token's keyslot" ||
        bad "carol: keyslots $(keyslots carol), token's $(p11slot carol)"
    check "carol: the PIN after passwd" 0 call AuthenticateHome carol '{"pkcs11Pin":["1234"]}'
    check "remove carol" 0 hc remove carol
else
    echo "homed's way skipped: needs python3's crypt module"
fi

rm -rf "$HSM"
hearthd_finish
