#!/bin/bash
# Runs inside the VM (tests/vm/run --disk home:3G --disk blk:512M): the LUKS
# backend end to end through hearth-work, with real dm-crypt.
# Usage: luks-inside.sh HEARTH_WORK SKEL_DIR
set -u
work=$1
skel=$2
# The checkout may lie below a directory users cannot enter (/root), and a
# record's skeletonDirectory must be one its user could reach: use a copy.
mkdir -p /tmp/hearth-skel && cp -a "$skel" /tmp/hearth-skel/skel && chmod 755 /tmp/hearth-skel && skel=/tmp/hearth-skel/skel
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
fails=0
ok() { echo "ok: [${SECONDS}s] $*"; }
bad() { echo "FAIL: [${SECONDS}s] $*"; fails=$((fails + 1)); }

mkfs.ext4 -q "$HEARTH_VM_DISK_HOME"
mount "$HEARTH_VM_DISK_HOME" /home
export HEARTH_HOME_ROOT=/home HEARTH_RUNTIME_DIR=/run/hearth HEARTH_STATE_DIR=/var/lib/hearth

# rec USER UID FS SIZE [EXTRA]: a request record with a cheap PBKDF (tests only).
rec() {
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"%s","diskSize":%s,' "$1" "$2" "$2" "$3" "$4"
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":%s,"skeletonDirectory":"%s"%s}' "${ITER:-1000}" "$skel" "${5:+,$5}"
}
pw() { printf '"secret":{"password":[%s]}' "$1"; }
w() { # w OP EXPECTED_RC JSON [ARGS]
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | "$work" "$op" "$@" > /tmp/out 2> /tmp/err
    rc=$?
    err=$(tail -n 1 /tmp/err)
    if [ "$rc" = "$want" ]; then ok "$op → $rc${err:+ ($err)}"; else bad "$op → $rc, expected $want: $(cat /tmp/err)"; fi
}
as_user() { setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }
MB=1048576
sums() { (cd "$1" && find . -name '*.bin' -type f | sort | xargs -r sha256sum); }
MID=$(cat /etc/machine-id)
HOME_TYPE=773F91EF-66D4-49B5-BD83-D683BF40AD16
# on_part IMAGE CMD...: CMD with the image's first partition (the kernel's,
# through a partition-scanning loop device) as its last argument.
on_part() {
    local img=$1 l rc; shift
    l=$(losetup -f --show -P -r "$img") || return 1
    udevadm settle 2>/dev/null
    "$@" "${l}p1"; rc=$?
    losetup -d "$l"
    return $rc
}
# layout_ok USER IMAGE FSTYPE: systemd-homed's layout (issue #20), as the
# tools see it: one GPT partition of the home type named after the user from
# 1 MiB to the last 4 KiB before the backup table; in it LUKS2 labelled
# with the user's name in subsystem systemd-home, carrying a systemd-homed
# token and no hearth-identity one; the record binds the UUIDs.
layout_ok() {
    local user=$1 img=$2 bytes
    cp /tmp/out "/tmp/$user-created.json"
    bytes=$(blockdev --getsize64 "$img" 2>/dev/null || stat -c %s "$img")
    sfdisk --dump "$img" > /tmp/sfdisk.dump 2>&1
    local size=$(( ((bytes / 512 - 33) * 512 / 4096 * 4096 - 1048576) / 512 ))
    [ "$(grep -c ' : start=' /tmp/sfdisk.dump)" = 1 ] &&
        grep -qi "start= *2048, size= *$size, type=$HOME_TYPE, uuid=[0-9A-F-]*, name=\"$user\"" /tmp/sfdisk.dump &&
        grep -q '^label: gpt' /tmp/sfdisk.dump && grep -q '^first-lba: 2048' /tmp/sfdisk.dump &&
        ok "$user: sfdisk shows one GPT partition of the home type named $user, 2048+$size" ||
        bad "$user: partition table: $(cat /tmp/sfdisk.dump)"
    [ "$(blkid -p -s PTTYPE -o value "$img")" = gpt ] && ok "$user: blkid sees a GPT" || bad "$user: blkid: $(blkid -p "$img")"
    on_part "$img" cryptsetup luksDump > /tmp/luksdump 2>&1
    grep -qE "^Label:[[:space:]]+$user\$" /tmp/luksdump && grep -qE '^Subsystem:[[:space:]]+systemd-home$' /tmp/luksdump &&
        ok "$user: LUKS2 in the partition labelled $user, subsystem systemd-home" || bad "$user: luksDump: $(head -n 12 /tmp/luksdump)"
    grep -qE '^  [0-9]+: systemd-homed$' /tmp/luksdump && ! grep -q hearth-identity /tmp/luksdump &&
        ok "$user: a systemd-homed token, no hearth-identity one" || bad "$user: tokens: $(sed -n '/^Tokens:/,/^Digests:/p' /tmp/luksdump)"
    grep -qE '^Metadata area:[[:space:]]+4194304' /tmp/luksdump && ok "$user: 4 MiB of LUKS2 metadata, as homed" ||
        bad "$user: $(grep 'Metadata area' /tmp/luksdump)"
    local puuid luuid
    puuid=$(sfdisk --part-uuid "$img" 1 | tr A-Z a-z)
    luuid=$(awk '$1 == "UUID:" { print $2 }' /tmp/luksdump)
    [ "$(jq -r ".binding[\"$MID\"].partitionUuid" /tmp/out)" = "$puuid" ] &&
        [ "$(jq -r ".binding[\"$MID\"].luksUuid" /tmp/out)" = "$luuid" ] &&
        [ "$(jq -r ".binding[\"$MID\"].imagePath" /tmp/out)" = "$img" ] &&
        [ "$(jq -r ".binding[\"$MID\"].fileSystemType" /tmp/out)" = "$3" ] &&
        [ "$(jq -r '.luksUuid // .partitionUuid // .fileSystemUuid // "none"' /tmp/out)" = none ] &&
        ok "$user: the binding names partition, LUKS volume, image and file system type (none of it signed)" ||
        bad "$user: binding $(jq -c ".binding" /tmp/out), partition $puuid, LUKS $luuid"
}
# table_ok USER IMAGE: after a resize, the partition fills the image by
# homed's rule and libfdisk finds nothing wrong (backup table at the end,
# protective MBR's size).
table_ok() {
    local bytes size
    bytes=$(stat -c %s "$2")
    size=$(( ((bytes / 512 - 33) * 512 / 4096 * 4096 - 1048576) / 512 ))
    sfdisk --verify "$2" > /tmp/verify 2>&1
    [ "$(sfdisk --json "$2" | jq '.partitiontable.partitions[0].size')" = "$size" ] && grep -q 'No errors detected' /tmp/verify &&
        ! grep -qi 'mismatch\|not on the end' /tmp/verify && ok "$1: the partition follows the image ($((size / 2048))M), the table is sound" ||
        bad "$1: table after resize: $(sfdisk --dump "$2") $(cat /tmp/verify)"
}
# mounted_ok USER FSTYPE: the active home is the directory USER of a file
# system labelled USER whose UUID is the bound one; no private mount shows.
mounted_ok() {
    local user=$1
    [ "$(findmnt -n -o FSROOT "/home/$user")" = "/$user" ] && ok "$user: the home is the directory /$user of its file system" ||
        bad "$user: mount: $(findmnt -n "/home/$user")"
    [ "$(blkid -p -s LABEL -o value "/dev/mapper/home-$user")" = "$user" ] &&
        [ "$(blkid -p -s TYPE -o value "/dev/mapper/home-$user")" = "$2" ] && ok "$user: $2 labelled $user" ||
        bad "$user: file system: $(blkid -p "/dev/mapper/home-$user")"
    [ "$(blkid -p -s UUID -o value "/dev/mapper/home-$user")" = "$(jq -r ".binding[\"$MID\"].fileSystemUuid" "/tmp/$user-created.json")" ] &&
        ok "$user: its UUID is the bound fileSystemUuid" || bad "$user: UUID $(blkid -p -s UUID -o value "/dev/mapper/home-$user")"
    ! findmnt -n -o TARGET | grep -q '^/run/hearth' && ok "$user: no private mount left" || bad "mounts: $(findmnt -n -o TARGET | grep /run/hearth)"
    # As homed stores it: nobody's on disk, hers through the ID-mapped
    # mount; another home UID's file shows as no one's.
    local uid; uid=$(jq -r .uid "/tmp/$user-created.json")
    mkdir -p /tmp/raw && mount "/dev/mapper/home-$user" /tmp/raw
    touch "/tmp/raw/$user/.other-home" && chown 60500:60500 "/tmp/raw/$user/.other-home"
    [ "$(stat -c %u:%g "/tmp/raw/$user" "/tmp/raw/$user/.identity" | sort -u)" = 65534:65534 ] &&
        [ "$(stat -c %u:%g "/home/$user" "/home/$user/.identity" | sort -u)" = "$uid:$uid" ] &&
        findmnt -n -o VFS-OPTIONS "/home/$user" | grep -q idmapped &&
        ok "$user: stored as nobody, shown as UID $uid through an ID-mapped mount" ||
        bad "$user: on disk $(stat -c %u:%g "/tmp/raw/$user"), shown $(stat -c %u:%g "/home/$user"), $(findmnt -n -o VFS-OPTIONS "/home/$user")"
    [ "$(stat -c %u "/home/$user/.other-home")" = 65534 ] && ok "$user: another home UID's file is no one's in her home" ||
        bad "$user: 60500's file shows as $(stat -c %u "/home/$user/.other-home")"
    rm -f "/tmp/raw/$user/.other-home"; umount /tmp/raw
}

# ---- btrfs inside: create, activate, data, deactivate, again -----------------------
A="$(rec alice 60100 btrfs $((300 * MB)))"
w create 0 "$(rec alice 60100 btrfs $((300 * MB)) "\"realName\":\"Alice Liddell\",\"emailAddress\":\"alice@example.org\",$(pw '"pw1"')")"
cp /tmp/out /tmp/alice-created.json
layout_ok alice /home/alice.home btrfs
# The header tells a thief nothing: the record in it is encrypted.
token_id() { on_part "$1" cryptsetup luksDump | awk '/^Tokens:/ { t = 1 } t && /systemd-homed/ { sub(":", "", $1); print $1; exit }'; }
tid=$(token_id /home/alice.home)
on_part /home/alice.home cryptsetup token export --token-id "$tid" > /tmp/token.json 2>/dev/null
grep -q '"iv":' /tmp/token.json && ! grep -qE 'alice|Liddell|example\.org|\$y\$|hashedPassword' /tmp/token.json &&
    ok "token export shows no name, e-mail or hash" || bad "the header's record is readable: $(cat /tmp/token.json)"
[ "$(stat -c %a:%u /home/alice.home)" = 600:0 ] && ok "image 0600 root" || bad "image mode $(stat -c %a:%u /home/alice.home)"
[ ! -e /dev/mapper/hearth-alice ] && [ ! -e /dev/mapper/home-alice ] && ok "closed after create" || bad "left open after create"
[ "$(stat -c '%b * %B' /home/alice.home | xargs expr)" -ge $((300 * MB)) ] && ok "image allocated, not sparse" || bad "image sparse: $(du -h /home/alice.home)"
grep -q '"signature":\[' /tmp/out && ok "record signed" || bad "record unsigned"
# Larger than /home (3G) can hold: refused before anything is written (#18 item 7).
w create 12 "$(rec huge 60107 btrfs $((5000 * MB)) "$(pw '"h"')")"
[ ! -e /home/huge.home ] && [ -z "$(ls -A /home | grep hearth)" ] && ok "nothing left of the refused create" || bad "left: $(ls -A /home)"
# A share of the free space (homed's diskSizeRelative, homectl
# --disk-size=10%): made a size at create, and again at a resize whose
# record has a share and no size.
share() { rec relly 60108 ext4 0 "\"diskSizeRelative\":$1,$(pw '"r"')" | sed 's/"diskSize":0,//'; }
free_before=$(df -B1 --output=avail /home | tail -n 1)
w create 0 "$(share 429496730)"
rsize=$(stat -c %s /home/relly.home)
got=$(jq .diskSize /tmp/out)
if [ "$rsize" = "$got" ] && [ $((rsize % 4096)) = 0 ] && [ "$rsize" -ge $((free_before / 100 * 9)) ] &&
    [ "$rsize" -le $((free_before / 10)) ]; then ok "relly: 10% of ${free_before} free bytes: a ${rsize}-byte image, diskSize $got"
else bad "relly: image $rsize, diskSize $got, free before $free_before"; fi
w resize 0 "$(share 644245094)"
rsize2=$(stat -c %s /home/relly.home)
[ "$rsize2" -gt "$rsize" ] && [ "$(jq .diskSize /tmp/out)" = "$rsize2" ] && ok "relly: resized to 15% of free and held: $rsize2" ||
    bad "relly: after the 15% resize: image $rsize2, diskSize $(jq .diskSize /tmp/out)"
w remove 0 "$(share 644245094)"
# The file system must be the one bound at create (as homed checks it).
w activate 18 "$(rec alice 60100 btrfs $((300 * MB)) "\"fileSystemUuid\":\"00000000-0000-4000-8000-000000000000\",$(pw '"pw1"')")"
grep -q "not the record's fileSystemUuid" /tmp/err && [ ! -e /dev/mapper/home-alice ] && ! mountpoint -q /home/alice &&
    ok "another file system UUID: refused, nothing left mapped" || bad "fileSystemUuid: $(cat /tmp/err)"
w activate 0 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"pw1"')")"
findmnt -n -o FSTYPE,OPTIONS /home/alice | grep -q 'btrfs.*nosuid.*nodev' && ok "mounted nosuid,nodev" || bad "mount: $(findmnt -n /home/alice)"
mounted_ok alice btrfs
[ "$(stat -c %i /home/alice)" = 256 ] && ok "alice: on btrfs the home is a subvolume, as homed makes it" || bad "inode $(stat -c %i /home/alice)"
[ "$(stat -c %u:%a /home/alice)" = 60100:700 ] && ok "top dir owned by user, 0700" || bad "top: $(stat -c %u:%a /home/alice)"
[ -f /home/alice/.profile ] && [ -f /home/alice/.identity ] && ok "skel and ~/.identity present" || bad "skel/.identity missing"
for i in 1 2 3; do as_user 60100 dd if=/dev/urandom of=/home/alice/data$i.bin bs=1M count=10 status=none; done
sums /home/alice > /tmp/alice.sums
w activate 19 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"pw1"')")"
exec 3< /home/alice/data1.bin
w deactivate 13 "$A"
exec 3<&-
# ~/.identity is the user's: a symlink there is ignored and rewritten.
as_user 60100 ln -sf /etc/hostname /home/alice/.identity
w deactivate 0 "$A"
! mountpoint -q /home/alice && [ ! -e /dev/mapper/hearth-alice ] && [ ! -e /dev/mapper/home-alice ] && ok "unmounted and closed" || bad "still mounted/open"
[ -z "$(losetup -a)" ] && ok "loop device detached" || bad "loop left: $(losetup -a)"
w deactivate 21 "$A"
w activate 11 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"nope"')")"
w activate 0 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"nope","pw1"')")"
cmp -s <(sums /home/alice) /tmp/alice.sums && ok "data intact after reopen" || bad "data changed"
grep -q "ignoring it" /tmp/err && [ -f /home/alice/.identity ] && [ ! -L /home/alice/.identity ] &&
    [ "$(stat -c %u /home/alice/.identity)" = 60100 ] && ok "a symlink at ~/.identity: ignored, logged, rewritten" ||
    bad "symlink at ~/.identity: $(ls -l /home/alice/.identity) $(cat /tmp/err)"
# A FIFO there must not hang activation; an older record in the header is
# brought up to date at activation, and stays encrypted.
as_user 60100 sh -c 'rm -f /home/alice/.identity && mkfifo /home/alice/.identity'
w deactivate 0 "$A"
on_part /home/alice.home cryptsetup token export --token-id "$tid" > /tmp/token-before.json
printf '%s' "$(rec alice 60100 btrfs $((300 * MB)) "\"lastChangeUSec\":$(($(date +%s) * 1000000)),$(pw '"pw1"')")" |
    timeout 120 "$work" activate > /tmp/out 2> /tmp/err
rc=$?
[ $rc = 0 ] && ok "activate with a FIFO at ~/.identity and an older record in the header → 0" || bad "activate → $rc: $(cat /tmp/err)"
[ -f /home/alice/.identity ] && grep -q '"userName":"alice"' /home/alice/.identity && ok "the FIFO was replaced by the record" ||
    bad "~/.identity: $(ls -l /home/alice/.identity)"
on_part /home/alice.home cryptsetup token export --token-id "$(token_id /home/alice.home)" > /tmp/token.json 2>/dev/null
grep -q '"iv":' /tmp/token.json && ! grep -q 'alice' /tmp/token.json && ! cmp -s /tmp/token.json /tmp/token-before.json &&
    ok "the header's record was rewritten at activation, encrypted" || bad "token after activation: $(cat /tmp/token.json)"
# A signed copy she kept in ~/.identity (hers to write), newer than the
# stored record but changing what only an administrator may (memberOf), is
# not adopted: she cannot bring back a group taken from her.
t0=$(($(date +%s) * 1000000))
w update 0 "$(rec alice 60100 btrfs $((300 * MB)) "\"memberOf\":[\"wheel\"],\"lastChangeUSec\":$((t0 + 2000000))")"
cp /home/alice/.identity /tmp/alice-wheel.identity
grep -q '"wheel"' /tmp/alice-wheel.identity && ok "~/.identity holds the copy with wheel" || bad "no wheel copy: $(cat /tmp/alice-wheel.identity)"
w deactivate 0 "$A"
w activate 0 "$(rec alice 60100 btrfs $((300 * MB)) "\"lastChangeUSec\":$((t0 + 1000000)),$(pw '"pw1"')")"
! grep -q '"wheel"' /tmp/out && grep -q "may not change; ignoring it" /tmp/err && ok "the kept copy with wheel: ignored, logged" ||
    bad "kept ~/.identity adopted: $(grep -o '"memberOf":[^]]*]' /tmp/out) $(cat /tmp/err)"
# A record there that fails the checks (unsigned, another user's) is no
# record: ignored, logged, written over; it never locks her out.
for bogus in '{"userName":"alice"}' '{"userName":"someone"}'; do
    as_user 60100 sh -c "printf '%s' '$bogus' > /home/alice/.identity"
    w deactivate 0 "$A"
    w activate 0 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"pw1"')")"
    ! grep -qx "$bogus" /home/alice/.identity && grep -q '"signature"' /home/alice/.identity &&
        ok "$bogus in ~/.identity: ignored, rewritten" || bad "~/.identity after $bogus: $(head -c 200 /home/alice/.identity)"
done

# ---- lock while a writer runs ------------------------------------------------------
as_user 60100 sh -c 'for i in $(seq 1 40); do dd if=/dev/urandom of=/home/alice/w$i.part bs=64K count=4 conv=fsync status=none 2>/dev/null && mv /home/alice/w$i.part /home/alice/w$i.bin; sleep 0.05; done; echo done > /home/alice/writer.done' &
writer=$!
sleep 0.5
w lock 0 "$A"
# deactivate of a locked home is refused at once, never stuck in syncfs (#18 item 10).
for force in "" --force; do
    printf '%s' "$A" | "$work" deactivate $force > /tmp/out 2> /tmp/err &
    dpid=$!
    for i in $(seq 1 20); do kill -0 $dpid 2>/dev/null || break; sleep 0.5; done
    if kill -0 $dpid 2>/dev/null; then
        bad "deactivate $force of a locked home hangs"
        kill -KILL $dpid
        printf pw1 | cryptsetup luksResume --key-file=- hearth-alice || printf pw1 | cryptsetup luksResume --key-file=- home-alice # lets the stuck worker die
        wait $dpid
    else
        wait $dpid; rc=$?
        [ $rc = 13 ] && grep -q locked /tmp/err && ok "deactivate $force of a locked home → 13 ($(tail -n 1 /tmp/err))" ||
            bad "deactivate $force of a locked home → $rc: $(cat /tmp/err)"
    fi
done
sleep 2
kill -0 $writer 2>/dev/null && ok "writer blocked while locked" || bad "writer finished while locked"
w unlock 11 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"nope"')")"
w unlock 0 "$(rec alice 60100 btrfs $((300 * MB)) "$(pw '"pw1"')")"
wait $writer
[ -f /home/alice/writer.done ] && [ "$(ls /home/alice | grep -c '^w.*\.bin$')" = 40 ] && ok "writer finished, all 40 files" || bad "writer: $(ls /home/alice)"
cmp -s <(sums /home/alice | grep -v ' ./w') /tmp/alice.sums && ok "data intact after lock/unlock" || bad "data changed"
sums /home/alice > /tmp/alice.sums

# ---- grow and shrink, btrfs online -------------------------------------------------
w resize 0 "$(rec alice 60100 btrfs $((450 * MB)) "$(pw '"pw1"')")"
[ "$(stat -c %s /home/alice.home)" = $((450 * MB)) ] && ok "image grown" || bad "image $(stat -c %s /home/alice.home)"
table_ok alice /home/alice.home
size=$(df -B1M --output=size /home/alice | tail -1 | tr -d ' ')
[ "$size" -gt 400 ] && ok "btrfs grew online (${size}M)" || bad "btrfs size ${size}M"
w resize 0 "$(rec alice 60100 btrfs $((320 * MB)) "$(pw '"pw1"')")"
[ "$(stat -c %s /home/alice.home)" = $((320 * MB)) ] && ok "image shrunk" || bad "image $(stat -c %s /home/alice.home)"
table_ok alice /home/alice.home
cmp -s <(sums /home/alice) /tmp/alice.sums && ok "data intact after grow and shrink" || bad "data changed by resize"
w resize 16 "$(rec alice 60100 btrfs $((100 * MB)) "$(pw '"pw1"')")"
w resize 12 "$(rec alice 60100 btrfs $((5000 * MB)) "$(pw '"pw1"')")"
[ "$(stat -c %s /home/alice.home)" = $((320 * MB)) ] && ok "image unchanged by the refused grow" || bad "image $(stat -c %s /home/alice.home)"
w resize 0 "$(rec alice 60100 btrfs $((320 * MB)) "$(pw '"pw1"')")" --size=max
grown=$(stat -c %s /home/alice.home)
[ "$grown" -gt $((1000 * MB)) ] && ok "--size=max grew to $((grown / MB))M" || bad "--size=max: $((grown / MB))M"
avail=$(df -B1 --output=avail /home | tail -1 | tr -d ' ')
[ "$avail" -ge $((100 * MB)) ] && ok "--size=max left $((avail / MB))M free on /home" || bad "--size=max left $((avail / MB))M on /home"
w resize 0 "$(rec alice 60100 btrfs $((320 * MB)) "$(pw '"pw1"')")" --size=min
small=$(stat -c %s /home/alice.home)
[ "$small" -lt "$grown" ] && [ "$small" -ge $((256 * MB)) ] && ok "--size=min shrank to $((small / MB))M" || bad "--size=min: $((small / MB))M"
table_ok alice /home/alice.home
cmp -s <(sums /home/alice) /tmp/alice.sums && ok "data intact after min/max" || bad "data changed by min/max"
w deactivate 0 "$A"

# ---- ext4 inside: grow online, shrink offline ------------------------------------------
B="$(rec bob 60101 ext4 $((200 * MB)))"
w create 0 "$(rec bob 60101 ext4 $((200 * MB)) "$(pw '"bpw"')")"
layout_ok bob /home/bob.home ext4
w activate 0 "$(rec bob 60101 ext4 $((200 * MB)) "$(pw '"bpw"')")"
mounted_ok bob ext4
# ext4's lost+found is at the file system's root, outside her home.
[ ! -e /home/bob/lost+found ] && debugfs -R 'ls /' /dev/mapper/home-bob 2>/dev/null | grep -q 'lost+found' &&
    ok "bob: lost+found is in the file system, not in his home" || bad "bob: $(ls -la /home/bob)"
as_user 60101 dd if=/dev/urandom of=/home/bob/x.bin bs=1M count=50 status=none
sums /home/bob > /tmp/bob.sums
before=$(df -B1M --output=size /home/bob | tail -1 | tr -d ' ')
w resize 0 "$(rec bob 60101 ext4 $((300 * MB)) "$(pw '"bpw"')")"
size=$(df -B1M --output=size /home/bob | tail -1 | tr -d ' ')
# 100M more image: all of it but ext4's metadata for it reaches the file system.
[ "$size" -ge $((before + 80)) ] && ok "ext4 grew online (${before}M → ${size}M)" || bad "ext4 size ${before}M → ${size}M"
w resize 13 "$(rec bob 60101 ext4 $((150 * MB)) "$(pw '"bpw"')")"
w deactivate 0 "$B"
w resize 0 "$(rec bob 60101 ext4 $((150 * MB)) "$(pw '"bpw"')")"
[ "$(stat -c %s /home/bob.home)" = $((150 * MB)) ] && ok "ext4 shrunk offline" || bad "image $(stat -c %s /home/bob.home)"
table_ok bob /home/bob.home
w activate 0 "$(rec bob 60101 ext4 $((150 * MB)) "$(pw '"bpw"')")"
cmp -s <(sums /home/bob) /tmp/bob.sums && ok "ext4 data intact" || bad "ext4 data changed"
w deactivate 0 "$B"

# ---- a home active across an upgrade, under the old name hearth-<user> ---------------------
loop=$(losetup -f --show -o 1048576 --sizelimit $(( $(sfdisk --json /home/bob.home | jq '.partitiontable.partitions[0].size') * 512 )) /home/bob.home)
printf bpw | cryptsetup open --type luks2 --key-file=- "$loop" hearth-bob && mount /dev/mapper/hearth-bob /mnt && mount --bind /mnt/bob /home/bob && umount -l /mnt
w activate 19 "$(rec bob 60101 ext4 $((150 * MB)) "$(pw '"bpw"')")"
w deactivate 0 "$B"
[ ! -e /dev/mapper/hearth-bob ] && ! mountpoint -q /home/bob && ok "old-name mapping deactivated" || bad "old-name mapping left"
losetup -d "$loop" 2>/dev/null

# ---- user names beginning pool- never touch pool devices (#18 item 5) ----------------------
dmsetup create hearth-pool-home --uuid HEARTH-POOL-test-volume --table "0 2048 zero"
P="$(rec pool-home 60108 ext4 $((64 * MB)))"
w activate 14 "$(rec pool-home 60108 ext4 $((64 * MB)) "$(pw '"ppw"')")"
w deactivate 21 "$P"
w lock 21 "$P"
dmsetup info hearth-pool-home > /dev/null 2>&1 && ok "pool device left alone" || bad "pool device hearth-pool-home closed"
w create 0 "$(rec pool-home 60108 ext4 $((64 * MB)) "$(pw '"ppw"')")"
w activate 0 "$(rec pool-home 60108 ext4 $((64 * MB)) "$(pw '"ppw"')")"
mountpoint -q /home/pool-home && dmsetup info hearth-pool-home > /dev/null 2>&1 && ok "pool-home active beside hearth-pool-home" || bad "pool-home: $(dmsetup ls)"
w deactivate 0 "$P"
w remove 0 "$P"
dmsetup info hearth-pool-home > /dev/null 2>&1 && ok "pool device still there" || bad "pool device gone"
dmsetup remove hearth-pool-home

# ---- xfs cannot shrink -----------------------------------------------------------------
w create 0 "$(rec carol 60102 xfs $((400 * MB)) "$(pw '"cpw"')")"
layout_ok carol /home/carol.home xfs
w activate 0 "$(rec carol 60102 xfs $((400 * MB)) "$(pw '"cpw"')")"
mounted_ok carol xfs
before=$(df -B1M --output=size /home/carol | tail -1 | tr -d ' ')
w resize 0 "$(rec carol 60102 xfs $((420 * MB)) "$(pw '"cpw"')")"
size=$(df -B1M --output=size /home/carol | tail -1 | tr -d ' ')
[ "$size" -ge $((before + 16)) ] && ok "xfs grew online through the home's mount (${before}M → ${size}M)" ||
    bad "xfs size ${before}M → ${size}M"
w deactivate 0 "$(rec carol 60102 xfs $((420 * MB)))"
w resize 17 "$(rec carol 60102 xfs $((360 * MB)) "$(pw '"cpw"')")"
grep -q "xfs cannot shrink" /tmp/err && ok "xfs shrink refusal explained" || bad "message: $(cat /tmp/err)"
w remove 0 "$(rec carol 60102 xfs $((420 * MB)))"

# ---- SIGKILL during passwd and resize: the home still opens, data intact -------------------
ITER=100000 # slow enough for the kills below to land inside passwd, cheap enough for the suite
w create 0 "$(rec dave 60103 btrfs $((300 * MB)) "$(pw '"old"')")"
w activate 0 "$(rec dave 60103 btrfs $((300 * MB)) "$(pw '"old"')")"
as_user 60103 dd if=/dev/urandom of=/home/dave/d.bin bs=1M count=20 status=none
sums /home/dave > /tmp/dave.sums
w deactivate 0 "$(rec dave 60103 btrfs $((300 * MB)))"
both="$(pw '"old","new"')"
for delay in 0.1 0.3 0.7 1.5; do
    rec dave 60103 btrfs $((300 * MB)) '"secret":{"password":["old","new"],"newPassword":["new"]}' | "$work" passwd >/dev/null 2>&1 &
    pid=$!; sleep "$delay"; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
    w activate 0 "$(rec dave 60103 btrfs $((300 * MB)) "$both")"
    cmp -s <(sums /home/dave) /tmp/dave.sums && ok "passwd killed at ${delay}s: opens, data intact" || bad "passwd killed at ${delay}s: data"
    w deactivate 0 "$(rec dave 60103 btrfs $((300 * MB)))"
done
size=300
for delay in 0.3 1.5 5; do
    size=$((size + 20))
    rec dave 60103 btrfs $((size * MB)) "$both" | "$work" resize >/dev/null 2>&1 &
    pid=$!; sleep "$delay"; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
    w activate 0 "$(rec dave 60103 btrfs $((size * MB)) "$both")"
    cmp -s <(sums /home/dave) /tmp/dave.sums && ok "resize killed at ${delay}s: opens, data intact" || bad "resize killed at ${delay}s: data"
    w deactivate 0 "$(rec dave 60103 btrfs $((size * MB)))"
done
ITER=1000

# ---- a block device as the home -----------------------------------------------------------
dev=$HEARTH_VM_DISK_BLK
E() { rec erin 60104 ext4 0 "\"imagePath\":\"$dev\"${1:+,$1}" | sed 's/"diskSize":0,//'; }
F() { rec frank 60105 ext4 0 "\"imagePath\":\"$dev\"${1:+,$1}" | sed 's/"diskSize":0,//'; }
# Create never touches a device in use, --wipe or not (attack on #18): one
# whose ext4 is mounted through a loop device on it …
mkfs.ext4 -q -F "$dev"
loop=$(losetup -f --show "$dev")
mkdir -p /mnt/loop && mount "$loop" /mnt/loop && echo precious > /mnt/loop/keep && sync
w create 13 "$(E "$(pw '"epw"')")" --wipe
grep -q "loop device $loop" /tmp/err && grep -q -- "--wipe" /tmp/err && ok "refusal names the loop device and --wipe" ||
    bad "message: $(cat /tmp/err)"
umount /mnt/loop
e2fsck -fn "$loop" > /dev/null 2>&1 && ok "the ext4 under the loop device is intact" || bad "ext4 under the loop device damaged"
losetup -d "$loop"
# … one without any signature that a process holds open (a raw database) …
wipefs -aq "$dev"
sleep 600 < "$dev" & holder=$!
w create 13 "$(E "$(pw '"epw"')")"
grep -q "open in process $holder (sleep)" /tmp/err && ok "refusal names the process" || bad "message: $(cat /tmp/err)"
kill $holder; wait $holder 2>/dev/null
[ -z "$(blkid -p "$dev")" ] && ok "the held device was left blank" || bad "written: $(blkid -p "$dev")"
# … nor one held by a process that took the name of udev's worker or of
# udevd, which any process may take (attack-luks2 4).
rm -f /tmp/hold-fifo && mkfifo /tmp/hold-fifo
for name in "(udev-worker)" systemd-udevd; do
    # Blocked opening the FIFO, in bash itself: no child shares the fd.
    bash -c 'exec 7<"$1"; printf %s "$2" > /proc/$$/comm; read -r _ < "$3"' holder "$dev" "$name" /tmp/hold-fifo &
    holder=$!
    for i in $(seq 50); do [ "$(cat /proc/$holder/comm 2>/dev/null)" = "$name" ] && break; sleep 0.1; done
    w create 13 "$(E "$(pw '"epw"')")" --wipe
    grep -q "open in process $holder ($name)" /tmp/err && ok "refusal names the process calling itself $name" ||
        bad "message: $(cat /tmp/err)"
    kill $holder; wait $holder 2>/dev/null
    [ -z "$(blkid -p "$dev")" ] && ok "the device held by '$name' was left blank" || bad "written: $(blkid -p "$dev")"
done
# … nor one a process opened while create held it: the claim (an exclusive
# open) keeps out mounts and mappings, not a process opening the device, and
# is let go for crypt_format, which checks for an exclusive open of its own.
# Stopped just before it, create must look again and write nothing: the
# device, filled with a pattern no probe takes for a signature, is unchanged.
head -c $((17 * MB)) /dev/zero | tr '\0' Z | dd of="$dev" bs=1M conv=fsync status=none
before=$(head -c $((17 * MB)) "$dev" | sha256sum)
printf '%s' "$(E "$(pw '"epw"')")" | HEARTH_FAILPOINT=luks-create-format:stop "$work" create > /tmp/out 2> /tmp/err &
hw=$!
st=
for i in $(seq 600); do
    st=$(awk '{ print $3 }' /proc/$hw/stat 2> /dev/null)
    [ "$st" = T ] || [ -z "$st" ] && break
    sleep 0.1
done
if [ "$st" = T ]; then
    sleep 600 < "$dev" & holder=$!
    for i in $(seq 50); do [ "$(cat /proc/$holder/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done
    kill -CONT $hw
    wait $hw; rc=$?
    [ "$rc" = 13 ] && grep -q "open in process $holder (sleep)" /tmp/err &&
        ok "a process that opened the device while create held it: refused before the header (exit 13)" ||
        bad "opened while create held it: exit $rc: $(cat /tmp/err)"
    kill $holder; wait $holder 2>/dev/null
else
    bad "hearth-work did not stop at luks-create-format: $(tail -n 3 /tmp/err)"
    wait $hw
fi
[ "$(head -c $((17 * MB)) "$dev" | sha256sum)" = "$before" ] && ok "nothing was written to it, not even a header wiped again" ||
    bad "create wrote to a device a process had opened: $(blkid -p "$dev")"
dd if=/dev/zero of="$dev" bs=1M count=17 conv=fsync status=none
# Create never destroys what is on a device (#18 item 2): a mounted ext4 …
mkfs.ext4 -q "$dev"
mkdir -p /mnt/other && mount "$dev" /mnt/other && echo precious > /mnt/other/keep
w create 13 "$(E "$(pw '"epw"')")"
umount /mnt/other
mount "$dev" /mnt/other && [ "$(cat /mnt/other/keep 2>/dev/null)" = precious ] && ok "mounted ext4 left intact" || bad "mounted ext4 destroyed"
umount /mnt/other 2>/dev/null
# … an unmounted one (only with --wipe) …
w create 15 "$(E "$(pw '"epw"')")"
grep -q "wipe" /tmp/err && ok "refusal names --wipe" || bad "message: $(cat /tmp/err)"
[ "$(blkid -p -s TYPE -o value "$dev")" = ext4 ] && ok "unmounted ext4 kept" || bad "ext4 gone: $(blkid -p "$dev")"
w create 0 "$(E "$(pw '"epw"')")" --wipe
cp /tmp/out /tmp/erin.rec
# A whole disk gets a GPT, as homed partitions the disks it formats; the
# kernel sees the partition.
layout_ok erin "$dev" ext4
udevadm settle 2>/dev/null
[ -b "${dev}1" ] && [ "$(blkid -p -s TYPE -o value "${dev}1")" = crypto_LUKS ] && ok "erin: the kernel shows ${dev}1, LUKS" ||
    bad "erin: ${dev}1: $(lsblk "$dev")"
w activate 0 "$(E "$(pw '"epw"')")"
mountpoint -q /home/erin && ok "block device home mounted" || bad "block home not mounted"
mounted_ok erin ext4
echo erin-data > /home/erin/e.txt
# … another user's active home …
w create 13 "$(F "$(pw '"fpw"')")"
w remove 25 "$(F)"
w deactivate 0 "$(E)"
# … or inactive one, even with --wipe: the device is erin's.
cp /tmp/erin.rec /var/lib/hearth/erin.identity && chmod 600 /var/lib/hearth/erin.identity # as hearthd keeps it
w create 15 "$(F "$(pw '"fpw"')")"
w create 15 "$(F "$(pw '"fpw"')")" --wipe
# Remove proves the volume is this home's (#18 item 3).
w remove 25 "$(F)"
grep -q "not frank's" /tmp/err && ok "remove refusal explained" || bad "message: $(cat /tmp/err)"
w activate 0 "$(E "$(pw '"epw"')")"
[ "$(cat /home/erin/e.txt 2>/dev/null)" = erin-data ] && ok "erin's home survived" || bad "erin's home destroyed"
w deactivate 0 "$(E)"
rm /var/lib/hearth/erin.identity
# Remove refuses a volume in use (attack on #18): opened by hand under
# another name and mounted, or held open by a process.
printf epw | cryptsetup open --type luks2 --key-file=- "${dev}1" rescue && mkdir -p /mnt/rescue && mount /dev/mapper/rescue /mnt/rescue
w remove 13 "$(E)"
grep -q "/dev/mapper/rescue" /tmp/err && ok "refusal names the mapping" || bad "message: $(cat /tmp/err)"
cryptsetup isLuks "${dev}1" && [ "$(cat /mnt/rescue/erin/e.txt 2>/dev/null)" = erin-data ] && ok "the open volume was left alone" ||
    bad "remove wiped an open volume"
umount /mnt/rescue; cryptsetup close rescue
# Opened by hand through a loop device over the partition, as homed opens it.
loop=$(losetup -f --show -o 1048576 --sizelimit $(( $(sfdisk --json "$dev" | jq '.partitiontable.partitions[0].size') * 512 )) "$dev")
w remove 13 "$(E)"
grep -q "loop device $loop" /tmp/err && ok "refusal names the loop device over the partition" || bad "message: $(cat /tmp/err)"
losetup -d "$loop"
sleep 600 < "$dev" & holder=$!
w remove 13 "$(E)"
kill $holder; wait $holder 2>/dev/null
cryptsetup isLuks "${dev}1" && ok "a volume held open was left alone" || bad "remove wiped a volume held open"
w remove 0 "$(E)"
zeros() { [ -z "$(dd if="$dev" bs=512 skip="$1" count="$2" status=none | tr -d '\0' | head -c 1)" ]; }
sectors=$(blockdev --getsz "$dev")
zeros 0 34 && zeros 2048 32768 && zeros $((sectors - 33)) 33 && ok "table (both copies) and LUKS2 header wiped on remove" ||
    bad "header not wiped"
! cryptsetup isLuks "$dev" && [ -z "$(blkid -p "$dev")" ] && [ -z "$(sfdisk --dump "$dev" 2>/dev/null | grep start=)" ] &&
    ok "no LUKS, no partition table left on the device" || bad "still: $(blkid -p "$dev") $(sfdisk --dump "$dev" 2>&1)"
udevadm settle 2>/dev/null
[ ! -b "${dev}1" ] && ok "the kernel dropped the partition" || bad "${dev}1 still there"
mkfs.ext4 -q "$dev"
w remove 25 "$(E)"
[ "$(blkid -p -s TYPE -o value "$dev")" = ext4 ] && ok "remove left a foreign ext4 alone" || bad "ext4 wiped by remove"
# A file in a home's image place that is not its LUKS volume stays.
head -c $((20 * MB)) /dev/urandom > /home/gina.home
sum=$(sha256sum < /home/gina.home)
w remove 25 "$(rec gina 60106 btrfs $((300 * MB)))"
[ "$(sha256sum < /home/gina.home 2>/dev/null)" = "$sum" ] && ok "foreign image file kept" || bad "foreign image file destroyed"
rm -f /home/gina.home

# ---- a copy-on-write /home: no old keyslot survives passwd or remove (attack-luks2 3) ----------
# On btrfs every rewrite of a header or keyslot went to a new place and the
# old copy stayed on the raw disk, where the old (leaked) password opened it.
# What a thief carves: 4 KiB-aligned LUKS2 headers with the home's UUID, and
# a keyslot's first block found by its content. carve DEVICE UUID BLOCK...
# prints the number of headers, then how often each block was found.
cat > /tmp/carve.py << 'PY'
import sys
dev, uuid = sys.argv[1], sys.argv[2].encode()
blocks = [open(p, 'rb').read() for p in sys.argv[3:]]
found, headers, magic = [0] * len(blocks), 0, b'LUKS\xba\xbe\x00\x02'
with open(dev, 'rb', buffering=0) as f:
    while True:
        b = f.read(4 << 20)
        if not b:
            break
        i = b.find(magic)
        while i >= 0:
            headers += i % 4096 == 0 and b[i + 0xa8:i + 0xa8 + len(uuid)] == uuid
            i = b.find(magic, i + 1)
        for k, blk in enumerate(blocks):
            j = b.find(blk[:64])
            while j >= 0:
                found[k] += j % 4096 == 0 and b[j:j + len(blk)] == blk
                j = b.find(blk[:64], j + 1)
print(headers, *found)
PY
slot_block() { # slot_block IMAGE OUT: the first 4 KiB of the image's (one) keyslot area
    local at
    at=$(on_part "$1" cryptsetup luksDump | sed -n 's/.*Area offset: *\([0-9]*\).*/\1/p' | head -n 1)
    [ -n "$at" ] || { bad "no keyslot area in $1"; return 1; }
    on_part "$1" sh -c 'dd if="$2" of="$0" bs=4096 skip=$(($1 / 4096)) count=1 status=none' "$2" "$at"
}
carve() { sync; echo 3 > /proc/sys/vm/drop_caches; python3 /tmp/carve.py "$dev" "$@"; }
mkfs.btrfs -q -f "$dev" > /dev/null
mkdir -p /mnt/bhome && mount "$dev" /mnt/bhome
C() { rec cora 60109 ext4 $((100 * MB)) "${1:-}"; }
HEARTH_HOME_ROOT=/mnt/bhome w create 0 "$(C "$(pw '"leaked-old"')")"
lsattr /mnt/bhome/cora.home | cut -d' ' -f1 | grep -q C && ok "the image has no copy-on-write (lsattr: C)" ||
    bad "the image copies on write: $(lsattr /mnt/bhome/cora.home)"
uuid=$(on_part /mnt/bhome/cora.home cryptsetup luksUUID)
[ -n "$uuid" ] || bad "no LUKS2 UUID in cora's image"
slot_block /mnt/bhome/cora.home /tmp/old-slot
HEARTH_HOME_ROOT=/mnt/bhome w passwd 0 "$(C '"secret":{"password":["leaked-old"],"newPassword":["cora-new"]}')"
slot_block /mnt/bhome/cora.home /tmp/new-slot
kdf=$(on_part /mnt/bhome/cora.home cryptsetup luksDump | sed -n '/^Keyslots:/,/^Tokens:/p' |
      awk '$1 == "PBKDF:" { k = k $2 } $1 == "Iterations:" { k = k ":" $2 "," } END { print k }')
[ "$kdf" = "pbkdf2:1000," ] && ok "passwd's keyslot has the record's PBKDF (pbkdf2, 1000 iterations)" ||
    bad "passwd's keyslots' PBKDF: $kdf (the record says pbkdf2, 1000)"
set -- $(carve "$uuid" /tmp/old-slot /tmp/new-slot)
[ "$1" = 1 ] && ok "after passwd the raw disk holds one LUKS2 header of the home: its own" ||
    bad "after passwd: $1 headers of the home on the raw disk"
[ "$2" = 0 ] && ok "the old keyslot is nowhere on the raw disk" || bad "the old keyslot is still on the raw disk ($2 copies)"
[ "$3" = 1 ] && ok "the new keyslot is there once" || bad "the new keyslot: $3 copies"
HEARTH_HOME_ROOT=/mnt/bhome w remove 0 "$(C)"
set -- $(carve "$uuid" /tmp/old-slot /tmp/new-slot)
[ "$1:$2:$3" = 0:0:0 ] && ok "after remove no header or keyslot of the home is on the raw disk" ||
    bad "after remove: $1 headers, old keyslot $2, new keyslot $3 copies on the raw disk"
umount /mnt/bhome

# ---- remove -------------------------------------------------------------------------------------
w remove 0 "$A"
[ ! -e /home/alice.home ] && ok "alice removed" || bad "alice.home left"
w remove 0 "$B"
w remove 0 "$(rec dave 60103 btrfs $((300 * MB)))"
left=$(ls -A /home | grep -v lost+found)
[ -z "$left" ] && ok "nothing left in /home" || bad "left in /home: $left"
[ -z "$(dmsetup ls 2>/dev/null | grep -E "hearth|home-")" ] && ok "no mappings left" || bad "mappings left: $(dmsetup ls)"

echo "luks: $fails failure(s)"
[ "$fails" -eq 0 ]
