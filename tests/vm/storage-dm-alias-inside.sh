#!/bin/bash
# Runs inside the VM (tests/vm/run --disk blk:512M). A device-mapper table
# over a partition or disk is that storage under another name (kpartx,
# multipath and LVM make such names): create follows a dm device to the
# devices under it (/sys/.../slaves), for "another home's storage" and for
# "in use".
# (a) erin's home is /dev/vdb1; frank's create --wipe names a dm-linear
#     over it: 15 (another home's), erin's volume intact.
# (b) /dev/vdb2 is open in a process for raw I/O (no claim, so the kernel
#     lets a table be made over it); gina's create --wipe names a
#     dm-linear over it: 13 (in use), nothing written.
# (c) two tables over the same bytes, one mounted: create --wipe names the
#     other: 13 (in use); a table over bytes nothing else maps is not.
# (d) a LIO fileio LUN's image and an NVMe target's namespace: 13.
# Found by the fifth attack on encrypted homes (attack-luks5).
# Usage: storage-dm-alias-inside.sh HEARTH_WORK
set -u
work=$1
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
disk=$HEARTH_VM_DISK_BLK
fails=0
ok() { echo "ok: [${SECONDS}s] $*"; }
bad() { echo "FAIL: [${SECONDS}s] $*"; fails=$((fails + 1)); }
cleanup() {
    umount /mnt/precious 2>/dev/null
    [ -z "${holder:-}" ] || kill "$holder" 2>/dev/null
    c=/sys/kernel/config
    rmdir $c/target/core/fileio_0/vmdisk $c/target/core/fileio_0 2>/dev/null
    echo 0 > $c/nvmet/subsystems/nqn.2026-12.io.hearth:test/namespaces/1/enable 2>/dev/null
    rmdir $c/nvmet/subsystems/nqn.2026-12.io.hearth:test/namespaces/1 $c/nvmet/subsystems/nqn.2026-12.io.hearth:test 2>/dev/null
    for n in erin-alias precious-alias home-frank home-gina home-hank home-ivan twice-b other-half twice-a; do
        dmsetup remove --retry "$n" 2>/dev/null
    done
}
trap cleanup EXIT
mkdir -p /home /run/hearth /var/lib/hearth /mnt/precious
export HEARTH_HOME_ROOT=/home HEARTH_RUNTIME_DIR=/run/hearth HEARTH_STATE_DIR=/var/lib/hearth
w() { # w OP EXPECTED_RC JSON [ARGS]
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | "$work" "$op" "$@" > /tmp/out 2> /tmp/err
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$op → $rc ($(tail -n 1 /tmp/err))"; else bad "$op → $rc, expected $want: $(tail -n 3 /tmp/err)"; fi
}
rec() { # rec USER UID IMAGEPATH [EXTRA]
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"ext4","imagePath":"%s",' "$1" "$2" "$2" "$3"
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000%s}' "${4:+,$4}"
}

printf 'label: gpt\nstart=2048, size=409600, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nsize=409600, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
    sfdisk -q "$disk" > /dev/null
partx -u "$disk" 2>/dev/null; udevadm settle 2>/dev/null
p1=${disk}1 p2=${disk}2
[ -b "$p1" ] && [ -b "$p2" ] || { bad "no partitions on $disk"; exit 1; }

# (a) erin's home on the partition, her record stored as hearthd keeps it.
printf erinpw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --label erin --subsystem systemd-home "$p1" - || bad "luksFormat erin"
printf '{"type":"systemd-homed","keyslots":[],"record":"AAAA","iv":"AAAA"}' | cryptsetup token import --token-id 5 "$p1"
printf '%s' "$(rec erin 60104 "$p1")" | "$work" update > /tmp/erin.rec 2> /tmp/err || bad "store erin: $(cat /tmp/err)"
install -m 0600 /tmp/erin.rec /var/lib/hearth/erin.identity
dmsetup create erin-alias --table "0 $(blockdev --getsz "$p1") linear $p1 0" && udevadm settle 2>/dev/null
w create 15 "$(rec frank 60105 /dev/mapper/erin-alias '"secret":{"password":["frankpw"]}')" --wipe
dmsetup remove --retry home-frank 2>/dev/null
if printf erinpw | cryptsetup open --test-passphrase --key-file=- "$p1" 2>/dev/null; then
    ok "a: erin's volume still opens with her password"
else
    bad "a: erin's volume on $p1 was formatted through /dev/mapper/erin-alias ($(blkid -p "$p1" 2>&1 | head -c 200))"
fi
dmsetup remove --retry erin-alias

# (b) the kernel itself refuses a table over a mounted partition or its
# disk (both claimed); a process's plain open is no claim: a dm-linear over
# a partition a process has open for raw I/O is in use through the alias.
mkfs.ext4 -q "$p2" && mount "$p2" /mnt/precious &&
    ! dmsetup create refused-alias --table "0 $(blockdev --getsz "$p2") linear $p2 0" 2>/dev/null &&
    ok "b: no table over a mounted partition (the kernel refuses it)" || bad "b: a table over a mounted partition"
dmsetup remove refused-alias 2>/dev/null
umount /mnt/precious
echo precious > /tmp/precious && dd if=/tmp/precious of="$p2" bs=512 seek=100 conv=notrunc,fsync status=none
sleep 600 3<>"$p2" &
holder=$!
dmsetup create precious-alias --table "0 $(blockdev --getsz "$p2") linear $p2 0" && udevadm settle 2>/dev/null ||
    bad "cannot map $p2"
w create 13 "$(rec gina 60106 /dev/mapper/precious-alias '"secret":{"password":["ginapw"]}')" --wipe
grep -q "process $holder" /tmp/err && ok "b: the refusal names the process under the alias" || bad "b: $(cat /tmp/err)"
kill "$holder"; wait "$holder" 2>/dev/null
dmsetup remove --retry home-gina 2>/dev/null
[ "$(dd if="$p2" bs=512 skip=100 count=1 status=none | head -c 8)" = precious ] &&
    ok "b: what the process writes to is intact" || bad "b: the device under the alias was written"

# (c) two tables over the same bytes of /dev/vdb2 (the kernel lets tables
# share a device): one mapped and mounted, the other named to create; and
# a third over the other half, which nothing else maps (attack round 14's
# known open one, closed by reading the tables).
dmsetup remove --retry precious-alias
half=$(( $(blockdev --getsz "$p2") / 2 ))
dmsetup create twice-a --table "0 $half linear $p2 0" && mkfs.ext4 -q /dev/mapper/twice-a &&
    mount /dev/mapper/twice-a /mnt/precious && echo precious > /mnt/precious/precious && sync || bad "c: cannot set up twice-a"
dmsetup create twice-b --table "0 $((half - 2048)) linear $p2 2048" && udevadm settle 2>/dev/null || bad "c: cannot map twice-b"
w create 13 "$(rec hank 60107 /dev/mapper/twice-b '"secret":{"password":["hankpw"]}')" --wipe
grep -q "mapped by dm-[0-9]* (/dev/mapper/twice-a) too" /tmp/err && ok "c: the refusal names the other table" || bad "c: $(cat /tmp/err)"
dmsetup remove --retry home-hank 2>/dev/null
dmsetup remove --retry twice-b
umount /mnt/precious && mount /dev/mapper/twice-a /mnt/precious && [ "$(cat /mnt/precious/precious)" = precious ] &&
    ok "c: the mounted table's file system is intact" || bad "c: twice-a's file system was written"
dmsetup create other-half --table "0 $half linear $p2 $half" && udevadm settle 2>/dev/null || bad "c: cannot map other-half"
printf '%s' "$(rec ivan 60108 /dev/mapper/other-half '"secret":{"password":["ivanpw"]}')" | "$work" create --wipe > /tmp/out 2> /tmp/err
rc=$?
case $rc in
13 | 15) bad "c: the other half, which nothing else maps, was refused: $(tail -n 2 /tmp/err)" ;;
*) ok "c: a table over bytes no other table maps is not refused (create → $rc)" ;;
esac
printf '%s' "$(rec ivan 60108 /dev/mapper/other-half)" | "$work" remove > /dev/null 2>&1
dmsetup remove --retry home-ivan 2>/dev/null
umount /mnt/precious
dmsetup remove --retry other-half; dmsetup remove --retry twice-a

# (d) what the kernel serves by itself, opened with no process and no
# claim (attack round 14): an image that is a LIO SCSI target's fileio
# LUN, under a loop device (d1); a block device that is an NVMe target's
# namespace (d2). Skipped where the modules are missing.
cfg=/sys/kernel/config
if modprobe configfs 2>/dev/null && { mountpoint -q $cfg || mount -t configfs configfs $cfg; } &&
    modprobe target_core_mod 2>/dev/null && modprobe target_core_file 2>/dev/null && [ -d $cfg/target/core ]; then
    head -c 64M /dev/zero > /tmp/lun.img && echo precious | dd of=/tmp/lun.img conv=notrunc status=none
    mkdir -p $cfg/target/core/fileio_0/vmdisk
    echo "fd_dev_name=/tmp/lun.img,fd_dev_size=$((64 << 20))" > $cfg/target/core/fileio_0/vmdisk/control
    echo 1 > $cfg/target/core/fileio_0/vmdisk/enable
    lun_loop=$(losetup -f --show /tmp/lun.img)
    w create 13 "$(rec jack 60109 "$lun_loop" '"secret":{"password":["jackpw"]}')" --wipe
    grep -q "served by the kernel as LIO fileio_0/vmdisk" /tmp/err && ok "d1: the refusal names the LIO LUN" || bad "d1: $(cat /tmp/err)"
    losetup -d "$lun_loop"
    [ "$(head -c 8 /tmp/lun.img)" = precious ] && ok "d1: the LUN's image is intact" || bad "d1: the LUN's image was written"
    rmdir $cfg/target/core/fileio_0/vmdisk $cfg/target/core/fileio_0
else
    echo "skip: d1 (no LIO fileio in this kernel)"
fi
if modprobe nvmet 2>/dev/null && [ -d $cfg/nvmet/subsystems ]; then
    head -c 64M /dev/zero > /tmp/ns.img && ns_loop=$(losetup -f --show /tmp/ns.img)
    sub=$cfg/nvmet/subsystems/nqn.2026-12.io.hearth:test
    mkdir -p $sub/namespaces/1 && echo "$ns_loop" > $sub/namespaces/1/device_path && echo 1 > $sub/namespaces/1/enable
    w create 13 "$(rec kate 60110 "$ns_loop" '"secret":{"password":["katepw"]}')" --wipe
    grep -q "served by the kernel as the NVMe target's nqn.2026-12.io.hearth:test, namespace 1" /tmp/err &&
        ok "d2: the refusal names the NVMe namespace" || bad "d2: $(cat /tmp/err)"
    echo 0 > $sub/namespaces/1/enable; rmdir $sub/namespaces/1 $sub
    losetup -d "$ns_loop"
else
    echo "skip: d2 (no nvmet in this kernel)"
fi

echo "storage-dm-alias: $fails failure(s)"
[ "$fails" -eq 0 ]
