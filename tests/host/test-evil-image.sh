#!/bin/bash
# An image written from what is in the clear opens with no one's password
# but hers. A TPM home whose password is a PIN alone ("tpm2": true, no
# tpm2KeepPassword) keeps no "privileged" section, so its signed record as
# any user reads it (hearthd's view for others strips privileged, secret
# and status) still verifies. Whoever can write the image but not the root
# file system makes an image of his own: the record's luksUuid and
# partitionUuid (in the clear), label, subsystem, a password or recovery
# keyslot of his choosing, that public record in the systemd-homed token
# under his volume key. Every check of the image passes but one: the
# record's hearthVolumeKeyCheck, an HMAC keyed with her volume key. Found by
# the fifth attack on encrypted homes (attack-luks5); the whole login is
# tests/vm/evil-image-inside.sh. Expected: 25 (not provably the home's
# storage).
# Usage: test-evil-image.sh HEARTH_WORK
set -u
work=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v cryptsetup >/dev/null && command -v sfdisk >/dev/null && command -v jq >/dev/null ||
    { echo "needs cryptsetup, sfdisk, jq"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "needs python3-cryptography"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-evil-image.XXXXXX)
loops=()
cleanup() {
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/run" "$tmp/state"
export HEARTH_HOME_ROOT=$tmp/home HEARTH_RUNTIME_DIR=$tmp/run HEARTH_STATE_DIR=$tmp/state
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
w() { # w OP EXPECTED_RC JSON
    local op=$1 want=$2 json=$3 rc
    printf '%s' "$json" | "$work" "$op" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$op → $rc ($(tail -n 1 "$tmp/err"))"; else bad "$op → $rc, expected $want: $(tail -n 3 "$tmp/err")"; fi
}
LUKSUUID=3f0b8a1e-5c2d-4e6f-9a7b-1c2d3e4f5a6b
PARTUUID=8d7c6b5a-4e3f-4a1b-8c9d-0e1f2a3b4c5d
IMG=$tmp/home/alice.home

# His image: GPT partition "alice" of the home type with her partition UUID,
# LUKS2 with her LUKS UUID, label and subsystem, his password, his key.
truncate -s 64M "$IMG"
printf 'label: gpt\nstart=2048, size=128984, type=773f91ef-66d4-49b5-bd83-d683bf40ad16, name="alice", uuid=%s\n' "$PARTUUID" |
    sfdisk -q "$IMG" > /dev/null || { echo "sfdisk failed"; exit 77; }
head -c 64 /dev/urandom > "$tmp/his.vk"
l=$(losetup -f --show -o 1048576 --sizelimit $((128984 * 512)) "$IMG") || { echo "no loop device"; exit 77; }
loops+=("$l")
printf evil | cryptsetup luksFormat -q --type luks2 --uuid "$LUKSUUID" --label alice --subsystem systemd-home \
    --cipher aes-xts-plain64 --key-size 512 --sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --volume-key-file "$tmp/his.vk" --key-file - "$l" || { bad "luksFormat"; exit 1; }

# Her record as hearthd stores it: a PIN-only TPM home, bound to her image's
# UUIDs, signed by this machine's key (hearth-work update signs it, as
# hearthd's stored copy is signed).
# Her volume key's check value, as create stored it: his key cannot match it.
HER_CHECK=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '{"userName":"alice","uid":60200,"gid":60200,"storage":"luks","fileSystemType":"btrfs","tpm2":true,"luksUuid":"%s","partitionUuid":"%s","hearthVolumeKeyCheck":"%s","luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}' \
    "$LUKSUUID" "$PARTUUID" "$HER_CHECK" | "$work" update > "$tmp/stored.json" 2> "$tmp/err" || { bad "cannot sign her record: $(cat "$tmp/err")"; exit 1; }
[ "$(jq 'has("privileged")' "$tmp/stored.json")" = false ] && [ "$(jq 'has("signature")' "$tmp/stored.json")" = true ] &&
    ok "her PIN-only record: signed, no privileged section" || bad "record: $(jq -c keys "$tmp/stored.json")"
# What any user of the machine reads of it (bus_record_view(full = false)).
jq -c 'del(.binding, .status, .secret, .privileged)' "$tmp/stored.json" > "$tmp/public.json"
python3 - "$tmp/his.vk" "$tmp/public.json" > "$tmp/his-token.json" <<'PY' || bad "token"
import sys, os, json, base64
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
vk = open(sys.argv[1], 'rb').read(); rec = open(sys.argv[2], 'rb').read().strip()
iv = os.urandom(16)
e = Cipher(algorithms.AES(vk), modes.XTS(iv)).encryptor()
ct = e.update(rec) + e.finalize()
print(json.dumps({"type": "systemd-homed", "keyslots": [], "record": base64.b64encode(ct).decode(),
                  "iv": base64.b64encode(iv).decode()}))
PY
cryptsetup token import --json-file "$tmp/his-token.json" "$l" || bad "token import"
losetup -d "$l"

stored() { jq -c --arg p "$1" '. + {secret: {password: [$p]}}' "$tmp/stored.json"; }
# Sanity: the checks that are there see her UUIDs and her name.
w authenticate 25 "$(stored evil | jq -c '(.. | objects | select(has("luksUuid")) | .luksUuid) |= "00000000-0000-4000-8000-000000000000"')"
# He types his own password where she would type her PIN.
w authenticate 25 "$(stored evil)"
# The same with a recovery keyslot of his own and no password keyslot: a
# recovery key is tried against every keyslot, and nothing ties one to her.
HIS_RK=vvvvvvvv-cccccccc-bbbbbbbb-dddddddd-eeeeeeee-ffffffff-gggggggg-hhhhhhhh
l=$(losetup -f --show -o 1048576 --sizelimit $((128984 * 512)) "$IMG") && loops+=("$l")
printf '%s' "$HIS_RK" > "$tmp/his-rk"
printf evil | cryptsetup luksAddKey -q --key-file - --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-slot 1 \
    "$l" "$tmp/his-rk" && cryptsetup luksKillSlot -q --key-file "$tmp/his-rk" "$l" 0 &&
    printf '{"type":"systemd-recovery","keyslots":["1"]}' > "$tmp/rk-token.json" &&
    cryptsetup token import --json-file "$tmp/rk-token.json" "$l" || bad "cannot give his image a recovery keyslot"
losetup -d "$l"
w authenticate 25 "$(stored "$HIS_RK")"
# The token's record passes every check too (fixate reads and checks it
# with no device-mapper): the public copy is as good as hers. Shown, not
# asserted: a found home's fixation has no record to hold the image to.
printf '%s' "$(jq -c --arg rk "$HIS_RK" '{userName, uid, gid, storage} + {secret: {password: [$rk]}}' "$tmp/stored.json")" |
    "$work" fixate > /dev/null 2> "$tmp/err" && echo "note: fixate takes the public record from his token ($(tail -n 1 "$tmp/err"))"

# A record bound before the check existed takes one at the first opening
# (shown with his image: what opens it first is trusted, as for any found
# home).
jq -c 'del(.. | objects | .hearthVolumeKeyCheck?)' "$tmp/stored.json" > "$tmp/unbound.json"
printf '%s' "$(jq -c --arg rk "$HIS_RK" '. + {secret: {password: [$rk]}}' "$tmp/unbound.json")" | "$work" authenticate > "$tmp/out" 2> "$tmp/err"
rc=$?
[ "$rc" = 0 ] && ok "a record without a check opens (rc 0)" || bad "unbound record: rc $rc: $(tail -n 2 "$tmp/err")"
echo "evil-image: $fails failure(s)"
[ "$fails" -eq 0 ]
