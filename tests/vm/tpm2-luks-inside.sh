#!/bin/bash
# Runs inside the VM (tests/vm/run --tpm --disk home:1G): LUKS homes whose key
# is sealed in the TPM (/dev/tpmrm0, swtpm) with the password as PIN, through
# hearth-work: the header alone does not open with the password, the recovery
# key opens it without the TPM's help, passwd re-seals, a wrong PIN counts and
# says how many tries are left, lockout and a PCR change each have their own
# exit status, and a passwd killed at any point leaves a home that opens.
# An image rewritten by whoever holds the disk (another LUKS or partition
# UUID, a TPM2 token without PIN or with other PCRs) is refused without a
# TPM try, and a header without a password keyslot keeps no password hash
# whatever the record says.
# Usage: tpm2-luks-inside.sh HEARTH_WORK SKEL_DIR TEST_TPM2_TOOL
set -u
work=$1
skel=$2
tool=$3
# The checkout may lie below a directory users cannot enter (/root), and a
# record's skeletonDirectory must be one its user could reach: use a copy.
mkdir -p /tmp/hearth-skel && cp -a "$skel" /tmp/hearth-skel/skel && chmod 755 /tmp/hearth-skel && skel=/tmp/hearth-skel/skel
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
fails=0
ok() { echo "ok: [${SECONDS}s] $*"; }
bad() { echo "FAIL: [${SECONDS}s] $*"; fails=$((fails + 1)); }
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
[ -c /dev/tpmrm0 ] && ok "TPM present" || { bad "no /dev/tpmrm0"; exit 1; }

mkfs.ext4 -q "$HEARTH_VM_DISK_HOME"
mount "$HEARTH_VM_DISK_HOME" /home
export HEARTH_HOME_ROOT=/home HEARTH_RUNTIME_DIR=/run/hearth HEARTH_STATE_DIR=/var/lib/hearth

# A fresh swtpm's PCRs are zero: give PCR 7 a value, as firmware would.
tpm2_pcrextend 7:sha256=$(printf 'boot-1' | sha256sum | cut -d' ' -f1)
# A known dictionary-attack policy: 4 tries, one forgiven every 1000 s.
tpm2_dictionarylockout -Q -s -n 4 -t 1000 -l 1000

RK=cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-bcdefghi-jklnrtuv-cbdefghi-jklnrtvu
rec() { # rec USER UID [EXTRA]: a LUKS record sealed to the TPM (cheap PBKDF: tests only)
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"btrfs","diskSize":%s,' \
        "$1" "$2" "$2" $((320 * 1048576))
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"skeletonDirectory":"%s","tpm2":true%s}' \
        "$skel" "${3:+,$3}"
}
pw() { printf '"secret":{"password":[%s]}' "$1"; }
w() { # w OP EXPECTED_RC JSON
    local op=$1 want=$2 json=$3 rc
    printf '%s' "$json" | "$work" "$op" > /tmp/out 2> /tmp/err
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$op → $rc ($(tail -n 1 /tmp/err))"; else bad "$op → $rc, expected $want: $(tail -n 3 /tmp/err)"; fi
}
lockout_counter() { tpm2_getcap properties-variable | awk -F: '/TPM2_PT_LOCKOUT_COUNTER/ { gsub(/ /, "", $2); print $2 }'; }
# on_part IMAGE CMD...: CMD with the image's GPT partition (a loop device
# over it, as hearth-work and homed attach it) as its last argument.
on_part() {
    local img=$1 l rc; shift
    l=$(losetup -f --show -o 1048576 --sizelimit $(( $(sfdisk --json "$img" | jq '.partitiontable.partitions[0].size') * 512 )) "$img") || return 1
    "$@" "$l"; rc=$?
    losetup -d "$l"
    return $rc
}
part_loop() { # part_loop IMAGE: a loop device over its GPT partition, printed
    losetup -f --show -o 1048576 --sizelimit $(( $(sfdisk --json "$1" | jq '.partitiontable.partitions[0].size') * 512 )) "$1"
}
keyslots() { on_part "$1" cryptsetup luksDump | awk '/^Keyslots:/ { k = 1; next } /^Tokens:/ { k = 0 } k && /^ +[0-9]+: luks2/' | wc -l; }
opens_with() { # opens_with PASSPHRASE: the header alone, no TPM
    printf '%s' "$1" | on_part /home/alice.home cryptsetup open --test-passphrase --key-file=- 2>/dev/null
}

# ---- create, activate, data -------------------------------------------------------
w create 0 "$(rec alice 60200 "\"secret\":{\"password\":[\"alice-pw\"],\"recoveryKey\":[\"$RK\"]}")"
A="$(rec alice 60200)"
on_part /home/alice.home cryptsetup luksDump > /tmp/dump
grep -q "systemd-tpm2" /tmp/dump && ok "systemd-tpm2 token in the header" || bad "no systemd-tpm2 token: $(cat /tmp/dump)"
grep -qE '^  [0-9]+: systemd-homed$' /tmp/dump && ! grep -q hearth-identity /tmp/dump &&
    ok "beside the systemd-homed token, in systemd-homed's layout" || bad "tokens: $(sed -n '/^Tokens:/,$p' /tmp/dump)"
grep -q 'name="alice"' <(sfdisk --dump /home/alice.home) && ok "in the GPT partition named alice" || bad "$(sfdisk --dump /home/alice.home)"
grep -q "systemd-recovery" /tmp/dump && ok "systemd-recovery token in the header" || bad "no systemd-recovery token"
! opens_with alice-pw && ok "the header alone does not open with the password" || bad "the password opens the header"
opens_with "$RK" && ok "the recovery key opens the header alone" || bad "the recovery key does not open the header"
w activate 0 "$(rec alice 60200 "$(pw '"alice-pw"')")"
# No hash of the PIN anywhere, to be guessed offline past the TPM's
# lockout (attack-luks2 8a): not in the record hearthd would store, not in
# the copy in the home.
! grep -q hashedPassword /tmp/out && ok "the record of a TPM home holds no password hash" ||
    bad "hashedPassword in the record: $(jq -c .privileged /tmp/out)"
! grep -q hashedPassword /home/alice/.identity && ok "nor does ~/.identity" || bad "hashedPassword in ~/.identity"
# As an older Hearth stored it, with alice-pw's hash, dated now: newer than
# the copies in the home, so that it is the record activation goes on with.
ALICE_HASH=$(perl -e 'print crypt($ARGV[0], q($6$saltsalt$))' alice-pw)
jq -c --arg h "$ALICE_HASH" --argjson t "$(date +%s%6N)" '. + {privileged: {hashedPassword: [$h]}, lastChangeUSec: $t}' \
    /tmp/out > /tmp/alice-active.json
setpriv --reuid=60200 --regid=60200 --clear-groups dd if=/dev/urandom of=/home/alice/data.bin bs=1M count=8 status=none
sum=$(sha256sum < /home/alice/data.bin 2>/dev/null || echo none)

# ---- lock (as at suspend), unlock with every secret activate takes ----------------------
RKU=$(echo "$RK" | tr a-z A-Z | tr -d -) # a recovery key as typed: upper case, no dashes
w lock 0 "$A"
w unlock 11 "$(rec alice 60200 "$(pw '"wrong"')")"
grep -q "attempts left" /tmp/err && ok "unlock says how many tries are left" || bad "no tries-left note: $(cat /tmp/err)"
tpm2_dictionarylockout -Q -c
w unlock 0 "$(rec alice 60200 "$(pw '"alice-pw"')")"
[ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "unlocked through the TPM with the PIN: data intact" || bad "data"
w lock 0 "$A"
w unlock 0 "$(rec alice 60200 "$(pw "\"$RKU\"")")"
[ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "unlocked with the recovery key: data intact" || bad "data"
w unlock 21 "$(rec alice 60200 "$(pw '"alice-pw"')")"
w deactivate 0 "$A"

# ---- one request with many entries: one TPM try at most; a recovery key with spaces is no PIN --
tpm2_dictionarylockout -Q -c
w activate 11 "$(rec alice 60200 "$(pw '"w1","w2","w3","w4","w5","alice-pw"')")"
[ "$(lockout_counter)" = 0x1 ] && ok "five wrong entries and a right one cost one TPM try" ||
    bad "lockout counter after one request: $(lockout_counter)"
w activate 0 "$(rec alice 60200 "$(pw '"alice-pw"')")"
w deactivate 0 "$A"
for spelling in " $RK " "$(echo "$RK" | tr a-z- A-Z' ')"; do
    w activate 0 "$(rec alice 60200 "$(pw "\"$spelling\"")")"
    w deactivate 0 "$A"
done
[ "$(lockout_counter)" = 0x1 ] && ok "recovery keys typed with spaces never reached the TPM" ||
    bad "lockout counter: $(lockout_counter)"
tpm2_dictionarylockout -Q -c

# ---- wrong PIN counts; recovery key; passwd -----------------------------------------
w activate 11 "$(rec alice 60200 "$(pw '"wrong"')")"
grep -q "attempts left" /tmp/err && ok "says how many tries are left" || bad "no tries-left note: $(cat /tmp/err)"
tpm2_getcap properties-variable | grep -i "TPM2_PT_LOCKOUT_COUNTER" | grep -q "0x1" &&
    ok "the TPM counted the failure" || bad "lockout counter: $(tpm2_getcap properties-variable | grep -A1 -i LOCKOUT_COUNTER)"
# The copy in the home as an older Hearth left it: with alice-pw's hash,
# dated before the record below. Written over a removed ~/.identity by a
# record keeping a password keyslot, which keeps its hash — while the
# header has one too (added with the recovery key, killed after): a header
# with none keeps no hash, whatever the record says.
w activate 0 "$(rec alice 60200 "$(pw "\"$RK\"")")"
rm /home/alice/.identity
w deactivate 0 "$A"
printf '%s' "$RK" > /tmp/rk && printf '%s' alice-pw > /tmp/alice-pw
l=$(part_loop /home/alice.home) && cryptsetup luksAddKey -q --key-file /tmp/rk --key-slot 20 \
    --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$l" /tmp/alice-pw || bad "cannot add a password keyslot"
losetup -d "$l"
w activate 0 "$(rec alice 60200 "\"tpm2KeepPassword\":true,\"privileged\":$(jq -c .privileged /tmp/alice-active.json),\"lastChangeUSec\":$(($(jq .lastChangeUSec /tmp/alice-active.json) - 1000000)),$(pw "\"$RK\"")")"
grep -q hashedPassword /home/alice/.identity && ok "~/.identity as an older Hearth wrote it: with the hash" ||
    bad "no hash planted in ~/.identity: $(cat /home/alice/.identity)"
w deactivate 0 "$A"
l=$(part_loop /home/alice.home) && cryptsetup luksKillSlot -q --key-file /tmp/rk "$l" 20 || bad "cannot kill keyslot 20"
losetup -d "$l"
rm -f /tmp/rk /tmp/alice-pw
# The record comes with alice-pw's hash, as an older hearthd sent it: the
# hash goes, from the record and from the copy in the home (rewritten: the
# record is dated anew), and no recovery key's hash takes its place.
w activate 0 "$(rec alice 60200 "\"privileged\":$(jq -c .privileged /tmp/alice-active.json),\"lastChangeUSec\":$(jq .lastChangeUSec /tmp/alice-active.json),$(pw "\"$RKU\"")")"
[ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "recovery key (upper case, no dashes): data intact" || bad "data"
! grep -q hashedPassword /tmp/out && ok "an older record's PIN hash is dropped at activation" ||
    bad "hashedPassword kept: $(jq -c .privileged /tmp/out)"
grep -q "dropped the password's hash" /tmp/err && ok "and the drop is logged" || bad "log: $(cat /tmp/err)"
[ "$(jq '.lastChangeUSec > input.lastChangeUSec' /tmp/out /tmp/alice-active.json)" = true ] &&
    ok "the record is dated anew" || bad "lastChangeUSec not bumped: $(jq .lastChangeUSec /tmp/out /tmp/alice-active.json)"
[ "$(jq .lastChangeUSec /home/alice/.identity)" = "$(jq .lastChangeUSec /tmp/out)" ] &&
    ok "so the copy in the home was rewritten with it" ||
    bad "~/.identity not rewritten: $(jq .lastChangeUSec /home/alice/.identity /tmp/out)"
! grep -q hashedPassword /home/alice/.identity && ok "~/.identity holds no hash" || bad "hashedPassword in ~/.identity"
w deactivate 0 "$A"
w passwd 0 "$(rec alice 60200 '"secret":{"password":["alice-pw"],"newPassword":["alice-new"]}')"
w activate 11 "$(rec alice 60200 "$(pw '"alice-pw"')")"
w activate 0 "$(rec alice 60200 "$(pw '"alice-new"')")"
w deactivate 0 "$A"
! opens_with alice-new && ok "still no password keyslot after passwd" || bad "passwd added a password keyslot"
opens_with "$RK" && ok "the recovery keyslot survived passwd" || bad "passwd removed the recovery keyslot"
# A new password that reads as a recovery key would only ever be tried as
# one and never open the home (attack-luks2 8d): refused, at passwd and at
# create, in every spelling a recovery key is taken in; nothing changes.
RKLIKE=VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB
c0=$(lockout_counter)
for np in "$RKLIKE" "$(echo "$RKLIKE" | tr A-Z- a-z' ')" "$(echo "$RK" | tr -d -)"; do
    w passwd 26 "$(rec alice 60200 "\"secret\":{\"password\":[\"alice-new\"],\"newPassword\":[\"$np\"]}")"
    grep -q "reads as a recovery key" /tmp/err && ok "the refusal says why" || bad "message: $(cat /tmp/err)"
done
[ "$(lockout_counter)" = "$c0" ] && ok "the refused passwd cost no TPM try" || bad "lockout counter: $c0 → $(lockout_counter)"
w activate 0 "$(rec alice 60200 "$(pw '"alice-new"')")"
w deactivate 0 "$A"
w create 26 "$(rec carl 60202 "$(pw "\"$RKLIKE\"")")"
[ ! -e /home/carl.home ] && [ -z "$(ls -A /home | grep carl)" ] && ok "nothing made for the refused create" ||
    bad "left by the refused create: $(ls -A /home)"

# ---- passwd killed at any point: opens with the old password or the new --------------
cur=alice-new
for delay in 0.2 0.5 1 2; do
    next=pw-$delay
    rec alice 60200 "\"secret\":{\"password\":[\"$cur\"],\"newPassword\":[\"$next\"]}" | "$work" passwd >/dev/null 2>&1 &
    pid=$!; sleep "$delay"; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
    # Trying the wrong one of the two counts against the TPM: start afresh.
    tpm2_dictionarylockout -Q -c
    if printf '%s' "$(rec alice 60200 "$(pw "\"$next\"")")" | "$work" activate >/dev/null 2>&1; then
        cur=$next; ok "passwd killed at ${delay}s: opens with the new password"
    elif printf '%s' "$(rec alice 60200 "$(pw "\"$cur\"")")" | "$work" activate >/dev/null 2>&1; then
        ok "passwd killed at ${delay}s: opens with the old password"
    else
        bad "passwd killed at ${delay}s: opens with neither"; continue
    fi
    [ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "data intact" || bad "data changed"
    printf '%s' "$A" | "$work" deactivate >/dev/null 2>&1
done
# Each wrong try above counted; clear the counter for what follows.
tpm2_dictionarylockout -Q -c

# ---- passwd opened with the recovery key (PIN forgotten): a new key sealed, no TPM try -------------
w passwd 0 "$(rec alice 60200 "\"secret\":{\"password\":[\"$RK\"],\"newPassword\":[\"alice-rk\"]}")"
[ "$(lockout_counter)" = 0x0 ] && ok "passwd with the recovery key cost no TPM try" || bad "lockout counter: $(lockout_counter)"
[ "$(on_part /home/alice.home cryptsetup luksDump | grep -c systemd-tpm2)" = 1 ] && [ "$(keyslots /home/alice.home)" = 2 ] &&
    ok "one TPM2 token and keyslot, the recovery keyslot: the old TPM keyslot is gone" ||
    bad "header after passwd: $(on_part /home/alice.home cryptsetup luksDump)"
! opens_with alice-rk && opens_with "$RK" && ok "no password keyslot; the recovery key still opens" || bad "keyslots after passwd"
w activate 0 "$(rec alice 60200 "$(pw '"alice-rk"')")"
[ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "the new PIN opens through the TPM: data intact" || bad "data"
w deactivate 0 "$A"
cur=alice-rk

# ---- an image rewritten by whoever holds the disk, not the root file system (attack-luks3) ----
# He can write the image (/home on its own disk), not the record; and anyone
# may seal a secret to this machine's TPM. A header he wrote must not open
# with what she types: refused (25, ForeignStorage) before the TPM is asked.
LUKSUUID=$(on_part /home/alice.home cryptsetup luksUUID)
PARTUUID=$(sfdisk --part-uuid /home/alice.home 1 | tr A-Z a-z)
OTHER=00000000-0000-4000-8000-000000000000
B="\"luksUuid\":\"$LUKSUUID\",\"partitionUuid\":\"$PARTUUID\""
deactivate_if_active() { mountpoint -q /home/alice && printf '%s' "$A" | "$work" deactivate >/dev/null 2>&1; true; }
c0=$(lockout_counter)
w activate 0 "$(rec alice 60200 "$B,$(pw "\"$cur\"")")"
w lock 0 "$A"
w unlock 25 "$(rec alice 60200 "\"luksUuid\":\"$OTHER\",$(pw "\"$cur\"")")"
grep -q "the image's LUKS UUID is $LUKSUUID, the record says $OTHER; refusing (a different image?)" /tmp/err &&
    ok "unlock: the refusal names both LUKS UUIDs" || bad "message: $(cat /tmp/err)"
w unlock 0 "$(rec alice 60200 "$B,$(pw "\"$cur\"")")"
deactivate_if_active
w activate 25 "$(rec alice 60200 "\"luksUuid\":\"$OTHER\",$(pw "\"$cur\"")")"
grep -q "LUKS UUID is $LUKSUUID, the record says $OTHER" /tmp/err && ok "activate: the same" || bad "message: $(cat /tmp/err)"
deactivate_if_active
w activate 25 "$(rec alice 60200 "\"partitionUuid\":\"$OTHER\",$(pw "\"$cur\"")")"
grep -q "partition's UUID is $PARTUUID, the record says $OTHER; refusing" /tmp/err &&
    ok "another partition UUID: refused, both named" || bad "message: $(cat /tmp/err)"
deactivate_if_active
[ "$(lockout_counter)" = "$c0" ] && ok "the refused images cost no TPM try" || bad "lockout counter: $c0 → $(lockout_counter)"

# plant PIN PCRS: what he can write without her password: a secret sealed to
# this TPM (PIN "" for none) and a keyslot it opens (added here with the
# recovery key, as though the volume were his), its token in hers' place.
on_part /home/alice.home cryptsetup luksHeaderBackup -q --header-backup-file /tmp/alice.hdr
tpm2_token_id() { cryptsetup luksDump "$1" | awk '/^Tokens:/ { t = 1; next } /^[A-Z]/ { t = 0 } t && $2 == "systemd-tpm2" { sub(":", "", $1); print $1 }'; }
restore() { on_part /home/alice.home cryptsetup luksHeaderRestore -q --header-backup-file /tmp/alice.hdr; }
plant() {
    local l id rc=1
    if [ -z "$1" ]; then "$tool" seal --no-pin device:/dev/tpmrm0 "$2" /tmp/evil.json /tmp/evil.secret < /dev/null
    else printf '%s' "$1" | "$tool" seal device:/dev/tpmrm0 "$2" /tmp/evil.json /tmp/evil.secret; fi > /dev/null || return 1
    xxd -r -p /tmp/evil.secret | base64 -w0 > /tmp/evil.pass
    printf '%s' "$RK" > /tmp/rk
    jq -c '.keyslots = ["9"]' /tmp/evil.json > /tmp/evil9.json
    l=$(part_loop /home/alice.home) || return 1
    id=$(tpm2_token_id "$l")
    [ -n "$id" ] && cryptsetup luksAddKey -q --key-file /tmp/rk --key-slot 9 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        "$l" /tmp/evil.pass && cryptsetup token import --token-id "$id" --token-replace --json-file /tmp/evil9.json "$l" && rc=0
    losetup -d "$l"
    rm -f /tmp/rk
    return $rc
}
plant "" 7 && ok "planted: a token without PIN, sealed to PCR 7 of this TPM" || bad "cannot plant a PIN-less token"
w activate 25 "$(rec alice 60200 "$(pw '"whatever-she-types"')")"
grep -q "TPM2 token asks for no PIN" /tmp/err && ok "a PIN-less token refused, and why" || bad "message: $(cat /tmp/err)"
deactivate_if_active
[ "$(lockout_counter)" = "$c0" ] && ok "at no TPM try" || bad "lockout counter: $c0 → $(lockout_counter)"
w activate 0 "$(rec alice 60200 "$(pw "\"$RK\"")")"
[ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "her recovery key still opens her volume: data intact" || bad "data"
w deactivate 0 "$A"
# Swapped in while she is locked (at suspend): unlock refuses it the same way.
restore
w activate 0 "$(rec alice 60200 "$(pw "\"$cur\"")")"
w lock 0 "$A"
plant "" 7 || bad "cannot plant a PIN-less token"
w unlock 25 "$(rec alice 60200 "$(pw '"whatever-she-types"')")"
grep -q "TPM2 token asks for no PIN" /tmp/err && ok "unlock: a PIN-less token refused" || bad "message: $(cat /tmp/err)"
restore
w unlock 0 "$(rec alice 60200 "$(pw "\"$cur\"")")"
deactivate_if_active
plant "$cur" "" && ok "planted: a token with her PIN, bound to no PCR" || bad "cannot plant a PCR-less token"
c0=$(lockout_counter)
w activate 25 "$(rec alice 60200 "$(pw "\"$cur\"")")"
grep -q "TPM2 token is bound to PCRs none, the record says 7; refusing" /tmp/err && ok "other PCRs than the record's refused" ||
    bad "message: $(cat /tmp/err)"
deactivate_if_active
w activate 25 "$(rec alice 60200 "\"tpm2Pcrs\":[0,7],$(pw "\"$cur\"")")"
grep -q "bound to PCRs none, the record says 0+7" /tmp/err && ok "the record's tpm2Pcrs named" || bad "message: $(cat /tmp/err)"
deactivate_if_active
[ "$(lockout_counter)" = "$c0" ] && ok "at no TPM try" || bad "lockout counter: $c0 → $(lockout_counter)"
# Her token with its keyslot gone: no token the TPM may be asked for.
restore
l=$(part_loop /home/alice.home)
tpm_slot=$(cryptsetup token export --token-id "$(tpm2_token_id "$l")" "$l" | jq -r '.keyslots[0]')
printf '%s' "$RK" | cryptsetup luksKillSlot -q --key-file=- "$l" "$tpm_slot" && ok "her TPM2 keyslot $tpm_slot killed" ||
    bad "cannot kill keyslot $tpm_slot"
losetup -d "$l"
w activate 25 "$(rec alice 60200 "$(pw "\"$cur\"")")"
grep -q "TPM2 token cannot be used" /tmp/err && ok "a token without its keyslot refused" || bad "message: $(cat /tmp/err)"
deactivate_if_active
[ "$(lockout_counter)" = "$c0" ] && ok "at no TPM try" || bad "lockout counter: $c0 → $(lockout_counter)"
restore

# The header decides whether the password is a PIN alone: with a TPM2 token
# and no password keyslot no hash of it is kept, though the record lost
# "tpm2" (hearthd's, or one sent by hand).
NT() { rec alice 60200 "$1" | jq -c 'del(.tpm2)'; }
w activate 0 "$(NT "$(pw "\"$cur\"")")"
! grep -q hashedPassword /tmp/out && ok "a record without tpm2: the header is PIN-only, no hash kept" ||
    bad "hashedPassword in the record: $(jq -c .privileged /tmp/out)"
! grep -q hashedPassword /home/alice/.identity 2>/dev/null && ok "nor in ~/.identity" || bad "hashedPassword in ~/.identity"
w deactivate 0 "$A"
w passwd 0 "$(NT "\"secret\":{\"password\":[\"$cur\"],\"newPassword\":[\"alice-nt\"]}")"
! grep -q hashedPassword /tmp/out && ok "passwd with such a record keeps no hash either" ||
    bad "hashedPassword after passwd: $(jq -c .privileged /tmp/out)"
cur=alice-nt
w activate 0 "$(rec alice 60200 "$(pw "\"$cur\"")")"
[ "$(sha256sum < /home/alice/data.bin)" = "$sum" ] && ok "the new PIN opens through the TPM: data intact" || bad "data"
w deactivate 0 "$A"
tpm2_dictionarylockout -Q -c

# ---- a changed boot state: the TPM refuses, the recovery key does not ------------------
tpm2_pcrextend 7:sha256=$(printf 'boot-2' | sha256sum | cut -d' ' -f1)
w activate 23 "$(rec alice 60200 "$(pw "\"$cur\"")")"
grep -q "recovery key" /tmp/err && ok "tells to use the recovery key" || bad "message: $(cat /tmp/err)"
w activate 0 "$(rec alice 60200 "$(pw "\"$RK\"")")"
w deactivate 0 "$A"

# ---- lockout -----------------------------------------------------------------------
w create 0 "$(rec bob 60201 "\"tpm2KeepPassword\":true,\"secret\":{\"password\":[\"bob-pw\"]}")"
printf '%s' bob-pw | on_part /home/bob.home cryptsetup open --test-passphrase --key-file=- 2>/dev/null &&
    ok "tpm2KeepPassword: the password keyslot is there" || bad "no password keyslot with tpm2KeepPassword"
grep -q hashedPassword /tmp/out && ok "and the record keeps the password's hash (the keyslot is as good)" ||
    bad "tpm2KeepPassword: no hash in the record"
for i in 1 2 3 4; do printf '%s' "$(rec bob 60201 "$(pw '"bad"')")" | "$work" authenticate >/dev/null 2>&1; done
w authenticate 22 "$(rec bob 60201 "$(pw '"bad"')")"
grep -qi "try later\|refuses" /tmp/err && ok "lockout explained" || bad "lockout message: $(cat /tmp/err)"
# In lockout the kept password keyslot still opens the home.
w activate 0 "$(rec bob 60201 "$(pw '"bob-pw"')")"
w deactivate 0 "$(rec bob 60201)"
tpm2_dictionarylockout -Q -c
w remove 0 "$(rec bob 60201)"
w remove 0 "$A"

echo "tpm2-luks: $fails failure(s)"
[ "$fails" -eq 0 ]
