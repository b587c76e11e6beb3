#!/bin/bash
# The LUKS backend on the host, where there is no device-mapper: an image in
# systemd-homed's layout made by sfdisk and cryptsetup (GPT, a partition of
# type 773f91ef… named alice, LUKS2 in it labelled alice in subsystem
# systemd-home), then hearth-work's identity token, password change, wrong
# password, damaged header and table, tampered embedded record, Hearth's
# earlier layout — all of which must work (or fail the right way) before
# any dm mapping is made.
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

HOME_TYPE=773f91ef-66d4-49b5-bd83-d683bf40ad16
OFF=1048576 PSIZE=$((128984 * 512)) # homed's partition in 64 MiB: 1 MiB to the last 4 KiB before the backup table
# cs ARGS...: cryptsetup on the image's partition (a loop device over it).
cs() {
    local l rc
    l=$(losetup -f --show -o $OFF --sizelimit $PSIZE "$img") || return 1
    cryptsetup "$@" "$l"; rc=$?
    losetup -d "$l"
    return $rc
}
mkimage() { # mkimage PATH NAME SUBSYSTEM
    truncate -s 64M "$1"
    printf 'label: gpt\nstart=2048, size=%d, type=%s, name="%s"\n' $((PSIZE / 512)) $HOME_TYPE "$2" | sfdisk -q "$1" ||
        { echo "sfdisk failed"; exit 1; }
    local l
    l=$(losetup -f --show -o $OFF --sizelimit $PSIZE "$1")
    printf 'pw1' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --label "$2" --subsystem "$3" --key-file - "$l" || { losetup -d "$l"; echo "cryptsetup luksFormat failed"; exit 1; }
    losetup -d "$l"
}
command -v sfdisk >/dev/null || { echo "needs sfdisk"; exit 77; }
mkimage "$img" alice systemd-home

# The identity token: written signed and encrypted with the volume key, in
# homed's token. libcryptsetup is opened for it on demand (a subvolume
# create never maps it: test-worker.sh), as the dynamic loader reports.
LD_DEBUG=files LD_DEBUG_OUTPUT=$tmp/lddebug w update 0 "$(rec "$(pw pw1)")"
grep -qE 'file=libcryptsetup\.so\.[0-9]+ .*dynamically loaded' "$tmp"/lddebug.* &&
    ok "libcryptsetup dlopen()ed for a LUKS home" || bad "libcryptsetup not loaded by dlopen: $(cat "$tmp"/lddebug.* | grep -c .) lines"
rm -f "$tmp"/lddebug.*
cs token export --token-id 0 > "$tmp/token.json" 2>/dev/null
grep -q '"type":"systemd-homed"' "$tmp/token.json" && ok "token type systemd-homed" || bad "no systemd-homed token: $(cat "$tmp/token.json")"
[ "$(jq -c 'keys' "$tmp/token.json")" = '["iv","keyslots","record","type"]' ] && [ "$(jq -c .keyslots "$tmp/token.json")" = '[]' ] &&
    ok "token fields: type, keyslots [], record, iv" || bad "token fields: $(jq -c 'keys' "$tmp/token.json")"
grep -q '"iv":"' "$tmp/token.json" && ! grep -qE 'alice|Alice|signature|hashedPassword' "$tmp/token.json" &&
    ok "token holds the record encrypted" || bad "token content: $(cat "$tmp/token.json")"
grep -q 'pw1' "$tmp/token.json" && bad "password in token" || ok "no password in token"
w update 0 "$(rec "$(pw pw1)")"
[ "$(cs luksDump | grep -c 'systemd-homed')" = 1 ] && ok "token replaced, not duplicated" || bad "token duplicated"
! cs luksDump | grep -q 'hearth-identity' && ok "no hearth-identity token" || bad "a hearth-identity token"
# A second systemd-homed token (another writer's) goes when the first is rewritten.
cs token import --json-file "$tmp/token.json"
[ "$(cs luksDump | grep -c 'systemd-homed')" = 2 ] || bad "second token not imported"
w update 0 "$(rec "$(pw pw1)")"
[ "$(cs luksDump | grep -c 'systemd-homed')" = 1 ] && ok "a duplicate systemd-homed token removed" || bad "duplicates: $(cs luksDump)"

# Passwords.
w activate 11 "$(rec "$(pw wrong)")"
w passwd 11 "$(rec '"secret":{"password":["wrong"],"newPassword":["pw2"]}')"
w passwd 0 "$(rec '"secret":{"password":["pw1"],"newPassword":["pw2"]}')"
printf 'pw2' | cs open --test-passphrase --key-file - && ok "new password opens" || bad "new password refused"
printf 'pw1' | cs open --test-passphrase --key-file - 2>/dev/null && bad "old password still opens" || ok "old password gone"
[ "$(cs luksDump | grep -cE '^  [0-9]+: luks2')" = 1 ] && ok "one keyslot left" || bad "keyslots: $(cs luksDump | grep -E '^  [0-9]+: luks2')"
grep -q '"hashedPassword":\["\$y\$' "$tmp/out" && ok "record hash updated" || bad "no new hash in output"

# A tampered embedded record is refused before anything is mapped: an
# encrypted one that no longer decrypts, one in clear text (Hearth's earlier
# token, under homed's type), none at all, and one encrypted with the right
# key but changed after signing (what a holder of the volume key could plant).
cp "$tmp/out" "$tmp/record.json"
cs token export --token-id 0 > "$tmp/good-token.json"
cs token export --token-id 0 |
    jq -c '.record |= (if startswith("AAAA") then "BBBB" else "AAAA" end) + .[4:]' > "$tmp/evil.json"
cs token import --token-id 0 --json-file "$tmp/evil.json" --token-replace
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "identity token" && ok "a damaged encrypted token named" || bad "message: $err"
jq -c '{type: "systemd-homed", keyslots: [], record: del(.binding, .status, .secret)}' \
    "$tmp/record.json" > "$tmp/evil.json"
cs token import --token-id 0 --json-file "$tmp/evil.json" --token-replace
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "identity token unreadable: malformed" && ok "a clear-text record refused" || bad "message: $err"
cs token remove --token-id 0
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "no systemd-homed token" && ok "a volume without token refused" || bad "message: $err"
printf pw2 | cs luksDump -q --dump-volume-key --volume-key-file "$tmp/vk" --key-file - >/dev/null
jq -c 'del(.binding, .status, .secret) | .realName = "Mallory"' "$tmp/record.json" > "$tmp/mallory.json"
python3 - "$tmp/vk" "$tmp/mallory.json" > "$tmp/evil.json" <<'PY' || bad "cannot build the planted token"
import base64, json, os, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
key = open(sys.argv[1], "rb").read()
text = open(sys.argv[2], "rb").read().rstrip(b"\n")
iv = os.urandom(16)
enc = Cipher(algorithms.AES(key), modes.XTS(iv)).encryptor()
data = enc.update(text) + enc.finalize()
print(json.dumps({"type": "systemd-homed", "keyslots": [], "record": base64.b64encode(data).decode(),
                  "iv": base64.b64encode(iv).decode()}, separators=(",", ":")))
PY
cs token import --token-id 0 --json-file "$tmp/evil.json"
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "modified after signing" && ok "tampering named" || bad "message: $err"
cs token import --token-id 0 --json-file "$tmp/good-token.json" --token-replace
# A record signed by a key this machine does not trust is refused too.
w update 0 "$(rec "$(pw pw2)")"
mv "$tmp/state" "$tmp/state-other"; mkdir "$tmp/state"
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "unknown key" && ok "foreign key named" || bad "message: $err"
rm -rf "$tmp/state"; mv "$tmp/state-other" "$tmp/state"

# A damaged header (both copies) is "damaged", not "wrong password".
cp "$img" "$tmp/good.img"
printf 'XXXXXXXX' | dd of="$img" bs=1 seek=$OFF conv=notrunc status=none
printf 'XXXXXXXX' | dd of="$img" bs=1 seek=$((OFF + 16384)) conv=notrunc status=none
w activate 18 "$(rec "$(pw pw2)")"
w passwd 18 "$(rec '"secret":{"password":["pw2"],"newPassword":["pw3"]}')"
cp "$tmp/good.img" "$img"
# So is a damaged partition table (both copies); one copy is enough.
dd if=/dev/zero of="$img" bs=512 seek=1 count=1 conv=notrunc status=none
w update 0 "$(rec "$(pw pw2)")"
dd if=/dev/zero of="$img" bs=512 seek=$((64 * 2048 - 1)) count=1 conv=notrunc status=none
w activate 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q "neither a LUKS2 header nor a GPT" && ok "no table named" || bad "message: $err"
cp "$tmp/good.img" "$img"
# The home's partition is found by type, name and the partitionUuid bound.
sfdisk -q --part-label "$img" 1 bob
w update 18 "$(rec "$(pw pw2)")"
printf '%s' "$err" | grep -q 'no partition of type .* named "alice"' && ok "a partition named otherwise is not hers" ||
    bad "message: $err"
sfdisk -q --part-label "$img" 1 alice
w update 0 "$(rec "$(pw pw2)")"
# Another partitionUuid: the home's partition of another image (attack-luks3),
# not provably hers (25), both UUIDs named.
w update 25 "$(rec "\"partitionUuid\":\"00000000-0000-4000-8000-000000000000\",$(pw pw2)")"
printf '%s' "$err" | grep -qi "partition's UUID is $(sfdisk --part-uuid "$img" 1), the record says 00000000-0000-4000-8000-000000000000; refusing" &&
    ok "another partition UUID: both named" || bad "message: $err"
w update 0 "$(rec "\"partitionUuid\":\"$(sfdisk --part-uuid "$img" 1)\",$(pw pw2)")"
sfdisk -q --part-type "$img" 1 0FC63DAF-8483-4772-8E79-3D69D8477DE4
w update 18 "$(rec "$(pw pw2)")"
cp "$tmp/good.img" "$img"
# Hearth's earlier layout (LUKS2 on the whole image, subsystem hearth) is
# no longer read, and says so.
truncate -s 32M "$tmp/home/olga.home"
printf 'pw1' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --label olga --subsystem hearth --key-file - "$tmp/home/olga.home"
printf '{"userName":"olga","uid":60102,"gid":60102,"storage":"luks","lastChangeUSec":1000,"secret":{"password":["pw1"]}}' |
    "$work" activate > /dev/null 2> "$tmp/err"; rc=$?
[ $rc = 18 ] && grep -q "earlier Hearth" "$tmp/err" && ok "the earlier layout refused, named" || bad "olga: $rc $(cat "$tmp/err")"
rm -f "$tmp/home/olga.home"
# LUKS2 on the whole image in homed's terms (as homed also opens it) is read.
truncate -s 32M "$tmp/home/paul.home"
printf 'pw1' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --label paul --subsystem systemd-home --key-file - "$tmp/home/paul.home"
printf '{"userName":"paul","uid":60103,"gid":60103,"storage":"luks","lastChangeUSec":1000,"secret":{"password":["pw1"]}}' |
    "$work" update > /dev/null 2> "$tmp/err" && ok "LUKS2 on a whole image opens" || bad "paul: $(cat "$tmp/err")"
cryptsetup luksDump "$tmp/home/paul.home" | grep -q systemd-homed && ok "its token written" || bad "paul has no token"
rm -f "$tmp/home/paul.home"

# Missing image, block-device-only and path checks.
mv "$img" "$tmp/moved.img"
w activate 14 "$(rec "$(pw pw2)")"
mv "$tmp/moved.img" "$img"
w activate 10 "$(rec "\"imagePath\":\"/etc/shadow\",$(pw pw2)")"

# Any other operation takes only the image the record was bound to
# (attack-luks3): another LUKS UUID or partition UUID is refused, both
# named, before any password is tried.
w authenticate 0 "$(rec "\"luksUuid\":\"$(cs luksUUID)\",\"partitionUuid\":\"$(sfdisk --part-uuid "$img" 1)\",$(pw pw2)")"
w authenticate 25 "$(rec "\"luksUuid\":\"00000000-0000-4000-8000-000000000000\",$(pw pw2)")"
printf '%s' "$err" | grep -q "the image's LUKS UUID is $(cs luksUUID), the record says 00000000-0000-4000-8000-000000000000; refusing" &&
    ok "another LUKS UUID: both named" || bad "message: $err"
w update 25 "$(rec "\"luksUuid\":\"00000000-0000-4000-8000-000000000000\",$(pw pw2)")"
w authenticate 25 "$(rec "\"partitionUuid\":\"00000000-0000-4000-8000-000000000000\",$(pw pw2)")"

# Remove wipes only what is provably this home's (#18 item 3): not another
# home's volume in its image's place, not a file that is no LUKS volume,
# not a volume whose UUID is not the record's.
recb() { printf '{"userName":"bob","uid":60101,"gid":60101,"storage":"luks","lastChangeUSec":1000}'; }
cp --sparse=always "$img" "$tmp/home/bob.home"
w remove 25 "$(recb)"
printf '%s' "$err" | grep -q "not bob's volume" && ok "refusal names why" || bad "message: $err"
cmp -s "$img" "$tmp/home/bob.home" && ok "alice's volume at bob's place kept" || bad "alice's volume wiped"
head -c $((20 * 1048576)) /dev/urandom > "$tmp/home/bob.home"
sum=$(sha256sum < "$tmp/home/bob.home")
w remove 25 "$(recb)"
[ "$(sha256sum < "$tmp/home/bob.home" 2>/dev/null)" = "$sum" ] && ok "a file that is no LUKS volume kept" || bad "file destroyed"
rm -f "$tmp/home/bob.home"
w remove 25 "$(rec '"luksUuid":"00000000-0000-4000-8000-000000000000"')"
cs isLuks && ok "volume with another LUKS UUID kept" || bad "wiped despite the UUID"
# Bound as homed binds it (binding.<machine-id>), the UUID counts the same.
mid=$(cat /etc/machine-id 2>/dev/null)
if [ -n "$mid" ]; then
    w remove 25 "$(rec "\"binding\":{\"$mid\":{\"luksUuid\":\"00000000-0000-4000-8000-000000000000\"}}")"
    cs isLuks && ok "volume with another bound LUKS UUID kept" || bad "wiped despite the bound UUID"
fi
ln "$img" "$tmp/link.img" # what the unlink leaves: the header must be gone from it too
w remove 0 "$(rec "\"luksUuid\":\"$(cs luksUUID)\"")"
[ ! -e "$img" ] && ok "image removed" || bad "image left"
l=$(losetup -f --show -o $OFF --sizelimit $PSIZE "$tmp/link.img")
cmp -s <(head -c 16777216 "$l") <(head -c 16777216 /dev/zero) && ok "its LUKS2 header was wiped first" || bad "header left"
losetup -d "$l"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
