#!/bin/bash
# create never formats another home's storage under another name, --wipe or
# not (exit 15): (a) the partition of a disk that is another home's
# imagePath, (b) the disk holding another home's partition, (c) a loop
# device over another home's image file; and (d) a device a process has
# mapped into its memory (its fd closed) is in use (exit 13). The wipe and
# the new header would come before the first dm mapping, so this runs on
# the host (loop devices with partitions). Found by the fourth attack on
# encrypted homes (attack-luks4).
# Usage: test-storage-aliases.sh HEARTH_WORK
set -u
work=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v cryptsetup >/dev/null && command -v sfdisk >/dev/null || { echo "needs cryptsetup, sfdisk"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-storage-aliases.XXXXXX)
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
w() { # w OP EXPECTED_RC JSON [ARGS]
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | "$work" "$op" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    err=$(cat "$tmp/err")
    if [ "$rc" = "$want" ]; then ok "$op → $rc${err:+ ($err)}"; else bad "$op → $rc, expected $want: $err"; fi
}
rec() { # rec USER UID IMAGEPATH [EXTRA]
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"ext4","imagePath":"%s",' "$1" "$2" "$2" "$3"
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000%s}' "${4:+,$4}"
}
HOME_TYPE=773f91ef-66d4-49b5-bd83-d683bf40ad16
# erin_home DEV: erin's LUKS2 volume on DEV as hearth-work makes it (label,
# subsystem, a systemd-homed token), and her record stored as hearthd keeps
# it, naming IMAGEPATH.
erin_home() {
    local dev=$1 image=$2
    printf erinpw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --label erin --subsystem systemd-home "$dev" - || { bad "cannot make erin's volume on $dev"; return 1; }
    printf '{"type":"systemd-homed","keyslots":[],"record":"AAAA","iv":"AAAA"}' |
        cryptsetup token import --token-id 5 "$dev" || bad "token import on $dev"
    printf '%s' "$(rec erin 60104 "$image")" | "$work" update > "$tmp/erin.rec" 2> "$tmp/err" ||
        { bad "cannot store erin's record: $(cat "$tmp/err")"; return 1; }
    install -m 0600 "$tmp/erin.rec" "$tmp/state/erin.identity"
}
erin_intact() { # erin_intact DEV WHAT
    if printf erinpw | cryptsetup open --test-passphrase --key-file=- "$1" 2>/dev/null; then
        ok "$2: erin's volume on $1 still opens with her password"
    else
        bad "$2: erin's volume on $1 is destroyed ($(blkid -p "$1" 2>&1 | head -c 200))"
    fi
}
new_disk() { # new_disk NAME: d, a partition-scanning loop device over a fresh 300 MiB file
    truncate -s 300M "$tmp/$1.img"
    d=$(losetup -f --show -P "$tmp/$1.img") || { echo "no loop device"; exit 77; }
    loops+=("$d")
}
FRANK='"secret":{"password":["frankpw"]}'

# (a) erin's home is the whole disk, a GPT partition named erin of the home
# type holding her LUKS2 (homed's layout); frank's imagePath is that partition.
new_disk a
printf 'label: gpt\nstart=2048, size=409600, type=%s, name="erin"\n' "$HOME_TYPE" | sfdisk -q "$d" > /dev/null
partx -u "$d" 2>/dev/null
[ -b "${d}p1" ] || { echo "no partition device ${d}p1 (loop partitions unsupported)"; exit 77; }
erin_home "${d}p1" "$d"
w create 15 "$(rec frank 60105 "${d}p1" "$FRANK")" --wipe
erin_intact "${d}p1" "a (frank on the partition of erin's disk)"
rm -f "$tmp/state/erin.identity" "$tmp/state/frank.identity"

# (b) erin's home is a partition (LUKS2 directly on it, as on any partition);
# frank's imagePath is the disk holding it.
new_disk b
printf 'label: gpt\nstart=2048, size=409600, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q "$d" > /dev/null
partx -u "$d" 2>/dev/null
erin_home "${d}p1" "${d}p1"
w create 15 "$(rec frank 60105 "$d" "$FRANK")" --wipe
partx -u "$d" 2>/dev/null
erin_intact "${d}p1" "b (frank on the disk holding erin's partition)"
rm -f "$tmp/state/erin.identity" "$tmp/state/frank.identity"

# (a2) erin's home is the first partition of a disk; frank's is the second:
# the same disk, other bytes, so not hers (whatever else the host allows).
new_disk a2
printf 'label: gpt\nstart=2048, size=204800, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nsize=204800, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
    sfdisk -q "$d" > /dev/null
partx -u "$d" 2>/dev/null
erin_home "${d}p1" "${d}p1"
printf '%s' "$(rec frank 60105 "${d}p2" "$FRANK")" | "$work" create > /dev/null 2> "$tmp/err"
! grep -q "volume of home erin" "$tmp/err" && ok "a2: a sibling partition is not erin's" || bad "a2: $(cat "$tmp/err")"
erin_intact "${d}p1" "a2 (frank on the other partition of erin's disk)"
rm -f "$tmp/state/erin.identity" "$tmp/state/frank.identity"

# (c) erin's home is an image file in the home root; a loop device over it
# (an administrator looking into it) is frank's imagePath.
truncate -s 64M "$tmp/home/erin.home"
printf 'label: gpt\nstart=2048, size=128984, type=%s, name="erin"\n' "$HOME_TYPE" | sfdisk -q "$tmp/home/erin.home" > /dev/null
l=$(losetup -f --show -o 1048576 --sizelimit $((128984 * 512)) "$tmp/home/erin.home") && loops+=("$l")
erin_home "$l" "$tmp/home/erin.home"
lf=$(losetup -f --show "$tmp/home/erin.home") && loops+=("$lf")
w create 15 "$(rec frank 60105 "$lf" "$FRANK")" --wipe
erin_intact "$l" "c (frank on a loop device over erin's image)"


# (d) finding 2: a process that maps the device into its memory (and closed
# the fd it mapped it with) uses it as much as one holding it open: its
# writes land on whatever create puts there. device-busy.c looks only at
# /proc/PID/fd.
new_disk d
python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
p = libc.mmap(None, 1 << 20, 3, 1, fd, 0)  # PROT_READ|PROT_WRITE, MAP_SHARED
assert p not in (None, ctypes.c_void_p(-1).value)
os.close(fd)  # the mmap module would keep a dup of fd
print("mapped", flush=True)
time.sleep(600)
' "$d" > "$tmp/mapper.out" &
mapper=$!
for i in $(seq 50); do grep -q mapped "$tmp/mapper.out" 2>/dev/null && break; sleep 0.1; done
w create 13 "$(rec frank 60105 "$d" "$FRANK")"
grep -q "process $mapper" "$tmp/err" && ok "d: the refusal names the process that maps it" || bad "d: $(cat "$tmp/err")"
kill $mapper; wait $mapper 2>/dev/null

echo "storage-aliases: $fails failure(s)"
[ "$fails" -eq 0 ]
