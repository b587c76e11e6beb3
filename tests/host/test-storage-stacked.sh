#!/bin/bash
# create --wipe never wipes what a device stands on while something else
# uses it: a loop device over a mounted block device (a), or over a file
# that another loop device attaches and is mounted through (b), is that
# device under another name (README: "--wipe ... never on a device in use
# (13)"), nor through a loop device over a device mounted in another
# mount namespace (c) or holding a mounted ext4's journal (d). Expected:
# 13, the file system intact. The device-mapper half is
# tests/vm/storage-dm-alias-inside.sh. Found by the fifth attack on
# encrypted homes (attack-luks5). A device open only through a descriptor
# in flight in a unix socket cannot be seen (README: what is not defended).
# Usage: test-storage-stacked.sh HEARTH_WORK
set -u
work=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v cryptsetup >/dev/null && command -v mkfs.ext4 >/dev/null || { echo "needs cryptsetup, mkfs.ext4"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-storage-stacked.XXXXXX)
loops=()
mounts=()
elsewhere=
cleanup() {
    [ -n "$elsewhere" ] && kill "$elsewhere" 2>/dev/null && wait "$elsewhere" 2>/dev/null
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    for ((i = ${#loops[@]} - 1; i >= 0; i--)); do losetup -d "${loops[i]}" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/run" "$tmp/state" "$tmp/mnt1" "$tmp/mnt2"
export HEARTH_HOME_ROOT=$tmp/home HEARTH_RUNTIME_DIR=$tmp/run HEARTH_STATE_DIR=$tmp/state
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
w() { # w OP EXPECTED_RC JSON [ARGS]
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | timeout 120 "$work" "$op" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    err=$(tail -n 2 "$tmp/err")
    if [ "$rc" = "$want" ]; then ok "$op → $rc${err:+ ($err)}"; else bad "$op → $rc, expected $want: $err"; fi
}
rec() { # rec USER UID IMAGEPATH
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"ext4","imagePath":"%s",' "$1" "$2" "$2" "$3"
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"secret":{"password":["frankpw"]}}'
}
fs_intact() { # fs_intact MOUNTPOINT DEV WHAT
    if [ "$(cat "$1/precious" 2>/dev/null)" = precious ] && [ "$(blkid -p -o value -s TYPE "$2" 2>/dev/null)" = ext4 ]; then
        ok "$3: the mounted file system is intact"
    else
        bad "$3: the file system mounted on $1 was overwritten ($(blkid -p "$2" 2>&1 | head -c 200))"
    fi
}

# (a) a loop device over a mounted block device.
truncate -s 300M "$tmp/a.img"
a=$(losetup -f --show "$tmp/a.img") || { echo "no loop device"; exit 77; }
loops+=("$a")
mkfs.ext4 -q "$a" && mount "$a" "$tmp/mnt1" && mounts+=("$tmp/mnt1") && echo precious > "$tmp/mnt1/precious" && sync ||
    { echo "cannot mount ext4 on a loop device"; exit 77; }
above=$(losetup -f --show "$a") && loops+=("$above")
w create 13 "$(rec frank 60105 "$above")" --wipe
fs_intact "$tmp/mnt1" "$a" "a (frank on a loop device over a mounted device)"

# (b) a loop device over a file that another loop device attaches and is mounted through.
truncate -s 300M "$tmp/b.img"
mkfs.ext4 -q -F "$tmp/b.img"
b1=$(losetup -f --show "$tmp/b.img") && loops+=("$b1")
mount "$b1" "$tmp/mnt2" && mounts+=("$tmp/mnt2") && echo precious > "$tmp/mnt2/precious" && sync
b2=$(losetup -f --show "$tmp/b.img") && loops+=("$b2")
w create 13 "$(rec gina 60106 "$b2")" --wipe
fs_intact "$tmp/mnt2" "$tmp/b.img" "b (gina on a second loop device over a file mounted through the first)"

# (c) a loop device over a device mounted only in another mount namespace,
# and (d) over the external journal of a mounted ext4: claims no list
# names, which an exclusive open of the device below sees (attack8).
truncate -s 300M "$tmp/c.img" "$tmp/d.img" "$tmp/j.img"
c=$(losetup -f --show "$tmp/c.img") && loops+=("$c")
mkfs.ext4 -q -F "$c"
unshare -m --propagation private sh -c "mount $c $tmp/mnt1 && exec sleep 600" &
elsewhere=$!
for i in $(seq 50); do grep -q "$tmp/mnt1" "/proc/$elsewhere/mountinfo" 2>/dev/null && break; sleep 0.1; done
cl=$(losetup -f --show "$c") && loops+=("$cl")
w create 13 "$(rec hal 60107 "$cl")" --wipe
[ "$(blkid -p -o value -s TYPE "$c")" = ext4 ] && ok "c: the file system mounted in another namespace is intact" ||
    bad "c: $c was overwritten"
kill "$elsewhere"; wait "$elsewhere" 2>/dev/null; elsewhere=
d=$(losetup -f --show "$tmp/d.img") && loops+=("$d")
j=$(losetup -f --show "$tmp/j.img") && loops+=("$j")
if mkfs.ext4 -q -F -O journal_dev -b 4096 "$j" && mkfs.ext4 -q -F -b 4096 -J device="$j" "$d" && mount "$d" "$tmp/mnt2"; then
    mounts+=("$tmp/mnt2")
    jl=$(losetup -f --show "$j") && loops+=("$jl")
    w create 13 "$(rec ivy 60108 "$jl")" --wipe
    [ "$(blkid -p -o value -s TYPE "$j")" = jbd ] && ok "d: the live journal is intact" || bad "d: the journal on $j was overwritten"
else
    bad "d: cannot make an ext4 with an external journal"
fi

echo "storage-stacked: $fails failure(s)"
[ "$fails" -eq 0 ]
