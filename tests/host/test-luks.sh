#!/bin/bash
# The LUKS backend on the host, where there is no device-mapper: a LUKS2
# image made by cryptsetup, then hearth-work's identity token, password
# change, wrong password, damaged header and tampered embedded record — all
# of which must work (or fail the right way) before any dm mapping is made.
# Usage: test-luks.sh HEARTH_WORK
set -u
work=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v cryptsetup >/dev/null || { echo "needs cryptsetup"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-luks-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/run" "$tmp/state"
export HEARTH_HOME_ROOT=$tmp/home HEARTH_RUNTIME_DIR=$tmp/run HEARTH_STATE_DIR=$tmp/state
img=$tmp/home/alice.home
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
rec() { printf '{"userName":"alice","uid":60100,"gid":60100,"storage":"luks","realName":"Alice","lastChangeUSec":%s%s}' "${STAMP:-1000}" "${1:+,$1}"; }
w() {
    local op=$1 want=$2 json=$3 rc
    printf '%s' "$json" | "$work" "$op" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    err=$(cat "$tmp/err")
    if [ "$rc" = "$want" ]; then ok "$op → $rc${err:+ ($err)}"; else bad "$op → $rc, expected $want: $err"; fi
}
pw() { printf '"secret":{"password":["%s"]}' "$1"; }

truncate -s 64M "$img"
printf 'pw1' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --label alice --subsystem hearth --key-file - "$img" || { echo "cryptsetup luksFormat failed"; exit 1; }

# The identity token: written signed and encrypted with the volume key.
w update 0 "$(rec "$(pw pw1)")"
cryptsetup token export --token-id 0 "$img" > "$tmp/token.json" 2>/dev/null
grep -q '"type":"hearth-identity"' "$tmp/token.json" && ok "token type hearth-identity" || bad "no hearth-identity token: $(cat "$tmp/token.json")"
grep -q '"iv":"' "$tmp/token.json" && ! grep -qE 'alice|Alice|signature|hashedPassword' "$tmp/token.json" &&
    ok "token holds the record encrypted" || bad "token content: $(cat "$tmp/token.json")"
grep -q 'pw1' "$tmp/token.json" && bad "password in token" || ok "no password in token"
w update 0 "$(rec "$(pw pw1)")"
[ "$(cryptsetup luksDump "$img" | grep -c 'hearth-identity')" = 1 ] && ok "token replaced, not duplicated" || bad "token duplicated"

# Passwords.
w activate 11 "$(rec "$(pw wrong)")"
w passwd 11 "$(rec '"secret":{"password":["wrong"],"newPassword":["pw2"]}')"
w passwd 0 "$(rec '"secret":{"password":["pw1"],"newPassword":["pw2"]}')"
printf 'pw2' | cryptsetup open --test-passphrase --key-file - "$img" && ok "new password opens" || bad "new password refused"
printf 'pw1' | cryptsetup open --test-passphrase --key-file - "$img" 2>/dev/null && bad "old password still opens" || ok "old password gone"
[ "$(cryptsetup luksDump "$img" | grep -cE '^  [0-9]+: luks2')" = 1 ] && ok "one keyslot left" || bad "keyslots: $(cryptsetup luksDump "$img" | grep -E '^  [0-9]+: luks2')"
grep -q '"hashedPassword":\["\$y\$' "$tmp/out" && ok "record hash updated" || bad "no new hash in output"

# A tampered embedded record is refused before anything is mapped: an
# encrypted one that no longer decrypts, and a clear-text one (as homes made
# before kept it) changed after signing.
cp "$tmp/out" "$tmp/record.json"
cryptsetup token export --token-id 0 "$img" |
    jq -c '.record |= (if startswith("AAAA") then "BBBB" else "AAAA" end) + .[4:]' > "$tmp/evil.json"
cryptsetup token import --token-id 0 --json-file "$tmp/evil.json" --token-replace "$img"
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "identity token" && ok "a damaged encrypted token named" || bad "message: $err"
jq -c '{type: "hearth-identity", keyslots: [], record: (del(.binding, .status, .secret) | .realName = "Mallory")}' \
    "$tmp/record.json" > "$tmp/evil.json"
cryptsetup token import --token-id 0 --json-file "$tmp/evil.json" --token-replace "$img"
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "modified after signing" && ok "tampering named" || bad "message: $err"
# A record signed by a key this machine does not trust is refused too.
w update 0 "$(rec "$(pw pw2)")"
mv "$tmp/state" "$tmp/state-other"; mkdir "$tmp/state"
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "unknown key" && ok "foreign key named" || bad "message: $err"
rm -rf "$tmp/state"; mv "$tmp/state-other" "$tmp/state"

# A damaged header (both copies) is "damaged", not "wrong password".
cp "$img" "$tmp/good.img"
printf 'XXXXXXXX' | dd of="$img" bs=1 seek=0 conv=notrunc status=none
printf 'XXXXXXXX' | dd of="$img" bs=1 seek=16384 conv=notrunc status=none
w activate 18 "$(rec "$(pw pw2)")"
w passwd 18 "$(rec '"secret":{"password":["pw2"],"newPassword":["pw3"]}')"
cp "$tmp/good.img" "$img"

# Missing image, block-device-only and path checks.
mv "$img" "$tmp/moved.img"
w activate 14 "$(rec "$(pw pw2)")"
mv "$tmp/moved.img" "$img"
w activate 10 "$(rec "\"imagePath\":\"/etc/shadow\",$(pw pw2)")"

# Remove wipes only what is provably this home's (#18 item 3): not another
# home's volume in its image's place, not a file that is no LUKS volume,
# not a volume whose UUID is not the record's.
recb() { printf '{"userName":"bob","uid":60101,"gid":60101,"storage":"luks","lastChangeUSec":1000}'; }
cp --sparse=always "$img" "$tmp/home/bob.home"
w remove 25 "$(recb)"
printf '%s' "$err" | grep -q "not bob's volume" && ok "refusal names why" || bad "message: $err"
cryptsetup isLuks "$tmp/home/bob.home" && ok "alice's volume at bob's place kept" || bad "alice's volume wiped"
head -c $((20 * 1048576)) /dev/urandom > "$tmp/home/bob.home"
sum=$(sha256sum < "$tmp/home/bob.home")
w remove 25 "$(recb)"
[ "$(sha256sum < "$tmp/home/bob.home" 2>/dev/null)" = "$sum" ] && ok "a file that is no LUKS volume kept" || bad "file destroyed"
rm -f "$tmp/home/bob.home"
w remove 25 "$(rec '"luksUuid":"00000000-0000-4000-8000-000000000000"')"
cryptsetup isLuks "$img" && ok "volume with another LUKS UUID kept" || bad "wiped despite the UUID"
w remove 0 "$(rec "\"luksUuid\":\"$(cryptsetup luksUUID "$img")\"")"
[ ! -e "$img" ] && ok "image removed" || bad "image left"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
