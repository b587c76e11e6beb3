#!/bin/bash
# Runs inside the VM (the host kernel has no eCryptfs): create --wipe never
# wipes an image a process holds open through eCryptfs. eCryptfs shows the
# lower file under a device number of its own with the lower inode number
# and keeps the lower file open itself, so no descriptor names it; any user
# can mount her ~/Private so (ecryptfs-utils). common/file-alias.c takes it,
# as overlayfs, to keep inode numbers (found by the 13th attack). Control:
# the same held through overlayfs.
# Usage: storage-ecryptfs-inside.sh HEARTH_WORK   (exit 0 pass, 1 fail, 77 skip)
set -u
work=$1
tmp=$(mktemp -d /tmp/hearth-ecryptfs.XXXXXX)
loops=() mounts=() pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[i]}" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
modprobe ecryptfs 2>/dev/null || insmod /lib/modules/"$(uname -r)"/kernel/fs/ecryptfs/ecryptfs.ko || { echo "SKIP: no ecryptfs"; exit 77; }
grep -q ecryptfs /proc/filesystems || { echo "SKIP: no ecryptfs"; exit 77; }
mkdir -p "$tmp"/{home,run,state,lower,upper,olower,oupper,owork,omerged}
export HEARTH_HOME_ROOT=$tmp/home HEARTH_RUNTIME_DIR=$tmp/run HEARTH_STATE_DIR=$tmp/state

create() { # create DEV LABEL USER UID
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"ext4","imagePath":"%s","luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"secret":{"password":["pw"]}}' \
        "$3" "$4" "$4" "$1" | timeout 200 "$work" create --wipe > /dev/null 2> "$tmp/err"
    rc=$?
    echo "$2: create --wipe on $1 -> rc=$rc: $(grep -E 'in use|wiped|refus|cannot|created' "$tmp/err" | head -n 2 | tr '\n' ' ')"
    grep -q "in use" "$tmp/err" && rc=13
    rm -f "$tmp/state/"*.identity
}
hold() { # hold PATH: a process keeps it open read-write (a VM disk, say)
    python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR); time.sleep(600)' "$1" &
    pids+=($!); sleep 1
    echo "  holder $! has: $(ls -l /proc/$!/fd 2>/dev/null | grep -o "$tmp[^ ]*" | sed "s|$tmp/||" | tr '\n' ' ')"
}
precious() { head -c 64M /dev/zero | tr '\0' 'P' > "$1"; }
intact() { [ "$(head -c 4096 "$1" | tr -d P | wc -c)" = 0 ] && echo intact || echo OVERWRITTEN; }

# Control: overlayfs (round 9's F1).
precious "$tmp/olower/disk.img"
mount -t overlay overlay -o "lowerdir=$tmp/olower,upperdir=$tmp/oupper,workdir=$tmp/owork" "$tmp/omerged" || exit 77
mounts+=("$tmp/omerged")
echo "# control: held open through overlayfs"
# Read-only open: no copy-up, the overlay file is the lower one.
python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY); time.sleep(600)' "$tmp/omerged/disk.img" & pids+=($!); sleep 1
l=$(losetup -f --show "$tmp/olower/disk.img") || exit 77; loops+=("$l")
create "$l" "control (overlayfs)" eco 60311
ctl=$rc
losetup -d "$l"; loops=()
echo "  lower file: $(intact "$tmp/olower/disk.img")"

# eCryptfs in passthrough mode (a plain lower file).
precious "$tmp/lower/disk.img"
python3 - "$tmp/lower" "$tmp/upper" <<'PY' || { echo "SKIP: cannot mount ecryptfs"; exit 77; }
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
sig = b"0123456789abcdef"
# struct ecryptfs_auth_tok: version 0x0004 (major 0, minor 4), token_type 0
# (password); the rest is not read for a passthrough file. Padded generously.
payload = struct.pack("<HHI", 0x0004, 0, 0) + bytes(2048)
add_key = libc.syscall
key = add_key(248, b"user", sig, payload, len(payload), ctypes.c_int(-3))  # KEY_SPEC_SESSION_KEYRING
if key < 0:
    sys.exit("add_key: " + os.strerror(ctypes.get_errno()))
opts = b"ecryptfs_sig=" + sig + b",ecryptfs_cipher=aes,ecryptfs_key_bytes=16,ecryptfs_passthrough,no_sig_cache"
if libc.mount(sys.argv[1].encode(), sys.argv[2].encode(), b"ecryptfs", 0, opts) != 0:
    sys.exit("mount ecryptfs: " + os.strerror(ctypes.get_errno()))
PY
mounts+=("$tmp/upper")
echo "# held open through eCryptfs ($(grep " $tmp/upper " /proc/self/mountinfo | cut -d' ' -f3,9 | sed "s|$tmp/||"))"
echo "  lower: $(stat -c 'dev %d ino %i' "$tmp/lower/disk.img"), upper: $(stat -c 'dev %d ino %i' "$tmp/upper/disk.img")"
hold "$tmp/upper/disk.img"
l=$(losetup -f --show "$tmp/lower/disk.img") || exit 77; loops+=("$l")
create "$l" "held through eCryptfs" eca 60312
atk=$rc
losetup -d "$l"; loops=()
echo "  lower file: $(intact "$tmp/lower/disk.img"); read through the holder's eCryptfs view: $(head -c 16 "$tmp/upper/disk.img" | od -An -c | tr -s ' ' | head -c 60)"

[ "$ctl" = 13 ] || { echo "FAIL: the control (held through overlayfs) was not refused"; exit 1; }
if [ "$atk" != 13 ]; then echo "FAIL: create --wipe went on with the image held open through eCryptfs"; exit 1; fi
[ "$(intact "$tmp/lower/disk.img")" = intact ] || { echo "FAIL: the image held through eCryptfs was written"; exit 1; }
echo "ok: refused while held through eCryptfs, the image intact"
