#!/bin/bash
# create --wipe never wipes a partition whose bytes are in use through its
# disk: a loop device over the disk at an offset inside the partition with
# a mounted file system on it (a), the disk open in a process (c). A loop
# device over the disk that reaches only another partition does not count
# (b). A partition of a loop device whose file another loop device attaches
# and mounts through its own partition (d). A device another user holds
# open, looked for with hearthd.service's capabilities, and without
# CAP_SYS_PTRACE, where her open files cannot be seen (e). Expected: 13 and
# the file systems intact. Found by the sixth and seventh attacks on
# encrypted homes (attack-luks6 finding 1, attack7 findings 1 and 2).
# Usage: test-storage-partition-of-disk.sh HEARTH_WORK SRCDIR
set -u
work=$1
SRCDIR=$2
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v cryptsetup >/dev/null && command -v sfdisk >/dev/null && command -v mkfs.ext4 >/dev/null &&
    command -v setpriv >/dev/null || { echo "needs cryptsetup, sfdisk, mkfs.ext4, setpriv"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-storage-partition.XXXXXX)
loops=()
mounts=()
holder=
cleanup() {
    [ -n "$holder" ] && kill "$holder" 2>/dev/null
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    for ((i = ${#loops[@]} - 1; i >= 0; i--)); do losetup -d "${loops[i]}" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/run" "$tmp/state" "$tmp/mnt"
export HEARTH_HOME_ROOT=$tmp/home HEARTH_RUNTIME_DIR=$tmp/run HEARTH_STATE_DIR=$tmp/state
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
w() { # w OP EXPECTED_RC JSON [ARGS]; EXPECTED_RC "!13": anything but 13
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | timeout 120 "$work" "$op" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    err=$(tail -n 2 "$tmp/err")
    if [ "$rc" = "$want" ] || { [ "$want" = '!13' ] && [ "$rc" != 13 ]; }; then
        ok "$op → $rc${err:+ ($err)}"
    else
        bad "$op → $rc, expected $want: $err"
    fi
}
rec() { # rec USER UID IMAGEPATH
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"ext4","imagePath":"%s",' "$1" "$2" "$2" "$3"
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"secret":{"password":["frankpw"]}}'
}
fs_intact() { # fs_intact DEV WHAT
    if [ "$(cat "$tmp/mnt/precious" 2>/dev/null)" = precious ] && [ "$(blkid -p -o value -s TYPE "$1" 2>/dev/null)" = ext4 ]; then
        ok "$2: the mounted file system is intact"
    else
        bad "$2: the file system mounted on $tmp/mnt was overwritten ($(blkid -p "$1" 2>&1 | head -c 200))"
    fi
}
mount_precious() { # mount_precious DEV
    mkfs.ext4 -q -F "$1" && mount "$1" "$tmp/mnt" && mounts+=("$tmp/mnt") && echo precious > "$tmp/mnt/precious" && sync ||
        { echo "cannot mount ext4 on $1"; exit 77; }
}

# A 400 MiB disk: p1 at 1 MiB (200 MiB), p2 after it.
truncate -s 400M "$tmp/disk.img"
printf 'label: gpt\nstart=2048, size=409600, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=411648, size=300000, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
    sfdisk -q "$tmp/disk.img" > /dev/null
d=$(losetup -f --show -P "$tmp/disk.img") || { echo "no loop device"; exit 77; }
loops+=("$d")
partx -u "$d" 2>/dev/null
[ -b "${d}p1" ] || { echo "no partition device ${d}p1 (loop partitions unsupported)"; exit 77; }

# (a) a loop device over the disk, 10 MiB into p1, mounted.
a=$(losetup -f --show -o $(((2048 + 20480) * 512)) --sizelimit $((100 << 20)) "$d") && loops+=("$a")
mount_precious "$a"
w create 13 "$(rec frank 60105 "${d}p1")" --wipe
grep -q "loop device $a" "$tmp/err" && ok "a: the refusal names $a" || bad "a: $(cat "$tmp/err")"
fs_intact "$a" "a (frank on the partition a loop device over its disk reaches)"
umount "$tmp/mnt" && mounts=()
losetup -d "$a" && unset 'loops[-1]'

# (b) a loop device over the disk inside p2 only: p1 is free to take.
b=$(losetup -f --show -o $((411648 * 512)) --sizelimit $((100 << 20)) "$d") && loops+=("$b")
mount_precious "$b"
w create '!13' "$(rec gina 60106 "${d}p1")" --wipe
fs_intact "$b" "b (gina on the partition beside the one a loop device reaches)"
umount "$tmp/mnt" && mounts=()
losetup -d "$b" && unset 'loops[-1]'
rm -f "$tmp/state/"*.identity

# (c) the disk open in a process.
sleep 600 < "$d" &
holder=$!
sleep 0.2
w create 13 "$(rec hana 60107 "${d}p2")" --wipe
grep -q "process $holder" "$tmp/err" && ok "c: the refusal names process $holder" || bad "c: $(cat "$tmp/err")"
kill "$holder"; wait "$holder" 2>/dev/null; holder=

# (d) the same file attached twice: a partition of the second attachment
# is the mounted partition of the first.
truncate -s 300M "$tmp/twice.img"
printf 'label: gpt\nstart=2048, size=500000, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q "$tmp/twice.img" > /dev/null
t1=$(losetup -f --show -P "$tmp/twice.img") && loops+=("$t1")
t2=$(losetup -f --show -P "$tmp/twice.img") && loops+=("$t2")
partx -u "$t1" 2>/dev/null; partx -u "$t2" 2>/dev/null
if [ -b "${t1}p1" ] && [ -b "${t2}p1" ]; then
    mount_precious "${t1}p1"
    w create 13 "$(rec ida 60108 "${t2}p1")" --wipe
    fs_intact "${t1}p1" "d (ida on a partition of a second attachment of a mounted file's disk)"
    umount "$tmp/mnt" && mounts=()
else
    bad "d: no partition devices on $t1, $t2"
fi

# (e) another user holds the device open. hearthd's unit gives it
# CAP_SYS_PTRACE to see her open files; without it they cannot be seen,
# and that counts as in use.
truncate -s 300M "$tmp/held.img"
e=$(losetup -f --show "$tmp/held.img") && loops+=("$e")
chown 60109 "$e"
setpriv --reuid=60109 --regid=60109 --clear-groups sleep 600 < "$e" &
holder=$!
sleep 0.3
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$SRCDIR/data/hearthd.service.in" | tr ' ' '\n' |
            sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd,)
no_ptrace=$(printf '%s' "$unit_caps" | sed 's/+sys_ptrace,\{0,1\}//; s/,$//')
bounded() { # bounded CAPS OP EXPECTED_RC JSON: w under a capability bounding set
    local caps=$1 op=$2 want=$3 json=$4 rc
    printf '%s' "$json" | timeout 120 setpriv --bounding-set=-all,"$caps" -- "$work" "$op" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$op → $rc ($(tail -n 1 "$tmp/err"))"; else bad "$op → $rc, expected $want: $(tail -n 2 "$tmp/err")"; fi
}
bounded "$unit_caps" create 13 "$(rec jill 60110 "$e")"
grep -q "open in process $holder" "$tmp/err" && ok "e: with the unit's capabilities her process is named" || bad "e: $(cat "$tmp/err")"
bounded "$no_ptrace" create 13 "$(rec jill 60110 "$e")"
grep -q "cannot be looked at" "$tmp/err" && ok "e: without CAP_SYS_PTRACE a process it cannot look into counts as a user" ||
    bad "e: $(cat "$tmp/err")"
kill "$holder"; wait "$holder" 2>/dev/null; holder=
chown 0 "$e"

echo "storage-partition-of-disk: $fails failure(s)"
[ "$fails" -eq 0 ]
