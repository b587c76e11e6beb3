#!/bin/bash
# Runs inside the VM (tests/vm/run --tpm --disk home:1G). An image written
# from what is in the clear does not log anyone in as her. A TPM home whose
# password is a PIN alone ("tpm2": true, no tpm2KeepPassword) keeps no hash
# of it: the record has no "privileged" section, so the copy of its signed
# record that any user of the machine may read (hearthd's view for others
# strips only "privileged", "secret" and "status") still verifies. Whoever
# can write the image but not the root file system (README, "Sealed in the
# TPM") writes an image of his own (the record's luksUuid and
# partitionUuid, label, subsystem, which are in the clear) with a password
# keyslot of his choosing, or a recovery keyslot of his own, and that
# public record in its systemd-homed token, encrypted with his volume key.
# The record's hearthVolumeKeyCheck (an HMAC keyed with her volume key,
# made at create) refuses it: exit 25, nothing mounted; her own image still
# opens with her PIN. Found by the fifth attack on encrypted homes.
# Usage: evil-image-inside.sh HEARTH_WORK SKEL_DIR
set -u
work=$1
skel=$2
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
tpm2_pcrextend 7:sha256=$(printf 'boot-1' | sha256sum | cut -d' ' -f1)

RK=cbdefghi-jklnrtuv-cbdefghi-jklnrtuv-bcdefghi-jklnrtuv-cbdefghi-jklnrtuv
HIS_RK=vvvvvvvv-cccccccc-bbbbbbbb-dddddddd-eeeeeeee-ffffffff-gggggggg-hhhhhhhh
rec() {
    printf '{"userName":"alice","uid":60200,"gid":60200,"storage":"luks","fileSystemType":"btrfs","diskSize":%s,' \
        $((320 * 1048576))
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"skeletonDirectory":"%s","tpm2":true%s}' \
        "$skel" "${1:+,$1}"
}
w() { # w OP EXPECTED_RC JSON
    local op=$1 want=$2 json=$3 rc
    printf '%s' "$json" | "$work" "$op" > /tmp/out 2> /tmp/err
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$op → $rc ($(tail -n 1 /tmp/err))"; else bad "$op → $rc, expected $want: $(tail -n 3 /tmp/err)"; fi
}
part_loop() {
    losetup -f --show -o 1048576 --sizelimit $(( $(sfdisk --json "$1" | jq '.partitiontable.partitions[0].size') * 512 )) "$1"
}
# The record as hearthd stores it, with a password as the request carries it.
stored() { jq -c --arg p "$1" '. + {secret: {password: [$p]}}' /tmp/stored.json; }
deactivate_if_active() {
    mountpoint -q /home/alice && jq -c 'del(.secret)' /tmp/stored.json | "$work" deactivate >/dev/null 2>&1; true
}

# ---- her home: sealed in the TPM, PIN only, a recovery key -------------------------------
w create 0 "$(rec "\"secret\":{\"password\":[\"alice-pw\"],\"recoveryKey\":[\"$RK\"]}")"
# The record as hearthd stores it: what create answered (bound to the image).
jq -c 'del(.status)' /tmp/out > /tmp/stored.json
w activate 0 "$(stored alice-pw)"
echo "her data" > /home/alice/mine.txt
w deactivate 0 "$(jq -c 'del(.secret)' /tmp/stored.json)"
LUKSUUID=$(jq -r '.. | objects | .luksUuid? // empty' /tmp/stored.json | head -n 1)
PARTUUID=$(jq -r '.. | objects | .partitionUuid? // empty' /tmp/stored.json | head -n 1)
[ -n "$LUKSUUID" ] && [ -n "$PARTUUID" ] && ok "the record is bound to LUKS UUID $LUKSUUID, partition $PARTUUID" ||
    bad "no luksUuid/partitionUuid in the record: $(cat /tmp/stored.json)"
w activate 25 "$(stored wrong-image-check | jq -c '(.. | objects | select(has("luksUuid")) | .luksUuid) |= "00000000-0000-4000-8000-000000000000"')"
deactivate_if_active

# What every user of the machine reads (GetUserRecordByName and the rest,
# bus_record_view(full = false)): the record without privileged, secret and
# status. A PIN-only home has no privileged section at all, so that copy is
# the signed record itself.
[ "$(jq 'has("privileged")' /tmp/stored.json)" = false ] && [ "$(jq 'has("signature")' /tmp/stored.json)" = true ] &&
    ok "a PIN-only record: signed, nothing in privileged (so the public view verifies)" ||
    bad "record: $(jq -c 'keys' /tmp/stored.json)"
jq -c 'del(.binding, .status, .secret, .privileged)' /tmp/stored.json > /tmp/public.json

# ---- his image, made from what is in the clear -----------------------------------------
mv /home/alice.home /home/.her-real-image
truncate -s 320M /home/alice.home
printf 'label: gpt\nstart=2048, type=773f91ef-66d4-49b5-bd83-d683bf40ad16, name="alice", uuid=%s\n' "$PARTUUID" |
    sfdisk -q /home/alice.home || bad "sfdisk"
head -c 64 /dev/urandom > /tmp/his.vk
l=$(part_loop /home/alice.home)
printf evil | cryptsetup luksFormat -q --type luks2 --uuid "$LUKSUUID" --label alice --subsystem systemd-home \
    --cipher aes-xts-plain64 --key-size 512 --sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --volume-key-file /tmp/his.vk --key-file - "$l" || bad "luksFormat"
python3 - /tmp/his.vk /tmp/public.json > /tmp/his-token.json <<'EOF' || bad "token"
import sys, os, json, base64
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
vk = open(sys.argv[1], 'rb').read(); rec = open(sys.argv[2], 'rb').read().strip()
iv = os.urandom(16)
e = Cipher(algorithms.AES(vk), modes.XTS(iv)).encryptor()
ct = e.update(rec) + e.finalize()
print(json.dumps({"type": "systemd-homed", "keyslots": [], "record": base64.b64encode(ct).decode(),
                  "iv": base64.b64encode(iv).decode()}))
EOF
cryptsetup token import --json-file /tmp/his-token.json "$l" || bad "token import"
printf evil | cryptsetup open --key-file - "$l" his-volume && mkfs.btrfs -q -L alice /dev/mapper/his-volume &&
    mkdir -p /mnt/his && mount /dev/mapper/his-volume /mnt/his && mkdir /mnt/his/alice &&
    echo "his file" > /mnt/his/alice/planted.txt && chown -R 65534:65534 /mnt/his/alice && chmod 700 /mnt/his/alice &&
    umount /mnt/his && cryptsetup close his-volume && ok "his image: his key, her UUIDs, her public record" ||
    bad "cannot make his image"
losetup -d "$l"

# ---- she is away; he types his own password at the login prompt --------------------------
w authenticate 25 "$(stored evil)"
w activate 25 "$(stored evil)"
if [ -e /home/alice/planted.txt ]; then
    bad "logged in as alice with his password: /home/alice is his image ($(cat /home/alice/planted.txt))"
fi
deactivate_if_active

# ---- the same with a recovery keyslot of his own (no password keyslot) ------------------
l=$(part_loop /home/alice.home)
printf '%s' "$HIS_RK" > /tmp/his-rk
printf evil | cryptsetup luksAddKey -q --key-file - --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-slot 1 \
    "$l" /tmp/his-rk && cryptsetup luksKillSlot -q --key-file /tmp/his-rk "$l" 0 &&
    printf '{"type":"systemd-recovery","keyslots":["1"]}' > /tmp/rk-token.json &&
    cryptsetup token import --json-file /tmp/rk-token.json "$l" && ok "his image now opens with his recovery key only" ||
    bad "cannot add his recovery keyslot"
losetup -d "$l"
w activate 25 "$(stored "$HIS_RK")"
if [ -e /home/alice/planted.txt ]; then
    bad "logged in as alice with his recovery key: /home/alice is his image"
fi
deactivate_if_active

# ---- her image back: it still opens with her PIN ------------------------------------
rm -f /home/alice.home && mv /home/.her-real-image /home/alice.home
w activate 0 "$(stored alice-pw)"
[ "$(cat /home/alice/mine.txt 2>/dev/null)" = "her data" ] && ok "her own image opens with her PIN" || bad "her data"
deactivate_if_active

# ---- persistent activation flags in the header are not hers to set --------------------
# The LUKS2 JSON is guarded by a checksum anyone may recompute, not by the
# volume key: "allow-discards" planted there would make her mapping pass
# discards (her free-space map in the clear) though her record says
# luksDiscard off. Planted here with a key, as an evil maid would without.
l=$(part_loop /home/alice.home)
printf '%s' "$RK" | cryptsetup open --type luks2 --persistent --allow-discards --key-file - "$l" evil-flags &&
    cryptsetup close evil-flags && cryptsetup luksDump "$l" | grep -q 'Flags:.*allow-discards' &&
    ok "planted: allow-discards in the header's persistent flags" || bad "cannot plant the persistent flag"
losetup -d "$l"
w activate 0 "$(stored alice-pw)"
if dmsetup table --target crypt | grep -q allow_discards; then
    bad "the header's persistent flag reached her mapping: $(dmsetup table --target crypt)"
else
    ok "her mapping ignores the header's persistent flags (no allow_discards)"
fi
deactivate_if_active

echo "evil-image: $fails failure(s)"
[ "$fails" -eq 0 ]
