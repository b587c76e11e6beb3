#!/bin/bash
# create --wipe never wipes a file in use under another identity of it. On
# overlayfs a file has the overlay's device number beside its own (and FUSE,
# NFS, 9p, CIFS show a file they pass through under theirs): a loop device
# over an image reached through an overlay is the image, mounted through a
# loop device over its real path (a), held open by a process under its real
# path (b), or the reverse (c); another home's image reached through an
# overlay is that home's volume (d, storage_paths_overlap). Since Linux
# 6.12 erofs mounts a regular file without a loop device: such a mount
# counts, in this mount namespace (e) or only in another (f), and also
# where no mount table names it (i: renamed). FUSE numbers
# files as it likes: a loop device over a file on FUSE is refused (h). A
# file of a metacopy overlay's layers is in use while it is mounted (m).
# Expected: 13
# (in use) or 15 (another home's), nothing written. Control (g): an
# unrelated file on the same overlay is not refused. Found by the ninth
# attack on encrypted homes (attack9), (h) by the tenth. See README, Security.
# Usage: test-storage-file-aliases.sh HEARTH_WORK
set -u
work=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v cryptsetup >/dev/null && command -v mkfs.ext4 >/dev/null || { echo "needs cryptsetup, mkfs.ext4"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-file-aliases.XXXXXX)
loops=() mounts=() pids=()
# A loop device lets go of its file a moment after it is detached: a
# mount over that file is retried for 5 s, then detached lazily; nothing is
# removed through a mount that is still there.
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    for ((i = ${#loops[@]} - 1; i >= 0; i--)); do losetup -d "${loops[i]}" 2>/dev/null; done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        for _ in $(seq 50); do umount "${mounts[i]}" 2>/dev/null && break; sleep 0.1; done
        mountpoint -q "${mounts[i]}" && umount -l "${mounts[i]}"
    done
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/home" "$tmp/run" "$tmp/state" "$tmp/mnt" "$tmp/mnt2" "$tmp/mnt3" "$tmp/mnt4" "$tmp/up" "$tmp/low" "$tmp/work" "$tmp/merged"
export HEARTH_HOME_ROOT=$tmp/up HEARTH_RUNTIME_DIR=$tmp/run HEARTH_STATE_DIR=$tmp/state
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
attach() { # attach FILE: sets $dev (retried: others attach loop devices too)
    local i
    for i in 1 2 3 4 5; do dev=$(losetup -f --show "$1" 2>/dev/null) && { loops+=("$dev"); return 0; }; sleep 0.3; done
    echo "cannot attach a loop device to $1"; exit 77
}
detach_last() { losetup -d "${loops[-1]}"; unset "loops[-1]"; rm -f "$tmp/state/"[a-z]*[0-9].identity 2>/dev/null; }
rec() { # rec USER UID IMAGEPATH
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"luks","fileSystemType":"ext4","imagePath":"%s",' "$1" "$2" "$2" "$3"
    printf '"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"secret":{"password":["pw"]}}'
}
expect() { # expect WANT_RC WHAT USER UID DEV
    local want=$1 what=$2 rc err
    rec "$3" "$4" "$5" | timeout 120 "$work" create --wipe > /dev/null 2> "$tmp/err"
    rc=$?
    err=$(grep -E 'in use|holds|refus' "$tmp/err" | head -n 1)
    if [ "$rc" = "$want" ]; then ok "$what: create → $rc ($err)"; else bad "$what: create → $rc, expected $want: $(tail -n 2 "$tmp/err")"; fi
    rm -f "$tmp/state/$3.identity"
}
# not_refused WHAT USER UID DEV: a control. The host has no dm-crypt: the
# create fails later, never with 13 (in use) or 15 (another home's).
not_refused() {
    local rc
    rec "$2" "$3" "$4" | timeout 120 "$work" create --wipe > /dev/null 2> "$tmp/err"
    rc=$?
    case $rc in
    13 | 15) bad "$1: refused: $(tail -n 2 "$tmp/err")" ;;
    *) ok "$1: not refused (create → $rc)" ;;
    esac
    rm -f "$tmp/state/$2.identity"
}
intact() { # intact FILE TYPE WHAT
    if [ "$(blkid -p -o value -s TYPE "$1" 2>/dev/null)" = "$2" ]; then ok "$3: still $2"; else
        bad "$3: overwritten ($(blkid -p "$1" 2>&1 | head -c 200))"; fi
}

mount -t overlay overlay -o "lowerdir=$tmp/low,upperdir=$tmp/up,workdir=$tmp/work" "$tmp/merged" ||
    { echo "no overlayfs"; exit 77; }
mounts+=("$tmp/merged")

# (a) mounted through a loop device over its real path; create on a loop device over the overlay path.
truncate -s 300M "$tmp/up/a.img"
mkfs.ext4 -q -F "$tmp/up/a.img"
attach "$tmp/up/a.img"
mount "$dev" "$tmp/mnt" && mounts+=("$tmp/mnt") && echo precious > "$tmp/mnt/precious" && sync
attach "$tmp/merged/a.img"
expect 13 "a (the overlay path of an image mounted under its real path)" ada 60171 "$dev"
detach_last
intact "$tmp/up/a.img" ext4 "a"

# (b) held open by a process under its real path.
truncate -s 300M "$tmp/up/b.img"
mkfs.ext4 -q -F "$tmp/up/b.img"
sleep 600 < "$tmp/up/b.img" &
pids+=($!)
attach "$tmp/merged/b.img"
expect 13 "b (the overlay path of an image a process holds open)" bea 60172 "$dev"
detach_last
intact "$tmp/up/b.img" ext4 "b"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null; unset "pids[-1]"

# (c) the reverse: mounted through a loop device over the overlay path.
truncate -s 300M "$tmp/up/c.img"
mkfs.ext4 -q -F "$tmp/up/c.img"
attach "$tmp/merged/c.img"
mount "$dev" "$tmp/mnt2" && mounts+=("$tmp/mnt2")
attach "$tmp/up/c.img"
expect 13 "c (the real path of an image mounted through the overlay)" cid 60173 "$dev"
detach_last
intact "$tmp/up/c.img" ext4 "c"

# (d) another home's image (erin's record and LUKS2 volume in the home root),
# reached through the overlay.
truncate -s 300M "$tmp/up/erin.home"
printf erinpw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --label erin --subsystem systemd-home "$tmp/up/erin.home" - || exit 77
printf '%s' "$(rec erin 60174 "$tmp/up/erin.home" | sed 's/,"secret":{[^}]*}//')" | "$work" update > "$tmp/erin.rec" 2> "$tmp/err" ||
    { echo "cannot store erin's record: $(cat "$tmp/err")"; exit 77; }
install -m 0600 "$tmp/erin.rec" "$tmp/state/erin.identity"
attach "$tmp/merged/erin.home"
expect 15 "d (another home's image through the overlay)" fay 60175 "$dev"
detach_last
if printf erinpw | cryptsetup open --test-passphrase --key-file=- "$tmp/up/erin.home" 2>/dev/null; then
    ok "d: erin's volume opens"; else bad "d: erin's volume was destroyed"; fi
rm -f "$tmp/state/erin.identity"

# (e) an erofs image mounted as a file; (f) the same, only in another mount namespace.
mount_file() { # mount_file IMAGE DIR [OPTIONS]: mount(2) itself (mount(8) would set up a loop device)
    python3 -c 'import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
opts = sys.argv[3].encode() if len(sys.argv) > 3 else None
if libc.mount(sys.argv[1].encode(), sys.argv[2].encode(), b"erofs", 1, opts) != 0:
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))' "$@"
}
if command -v mkfs.erofs > /dev/null; then
    mkdir -p "$tmp/src" && echo precious > "$tmp/src/precious"
    mkfs.erofs --quiet "$tmp/e.erofs" "$tmp/src" > /dev/null && truncate -s 300M "$tmp/e.erofs"
    if mount_file "$tmp/e.erofs" "$tmp/mnt3" 2> /dev/null; then
        mounts+=("$tmp/mnt3")
        attach "$tmp/e.erofs"
        expect 13 "e (an erofs image mounted as a file)" eve 60176 "$dev"
        detach_last
        intact "$tmp/e.erofs" erofs "e"
        umount "$tmp/mnt3" && unset "mounts[-1]"
        export -f mount_file
        unshare -m --propagation private bash -c "mount_file $tmp/e.erofs $tmp/mnt4 && exec sleep 600" &
        pids+=($!)
        for i in $(seq 50); do grep -q "$tmp/mnt4" "/proc/${pids[-1]}/mountinfo" 2>/dev/null && break; sleep 0.1; done
        grep -q "$tmp/mnt4" "/proc/${pids[-1]}/mountinfo" 2>/dev/null || bad "f: the image could not be mounted in another namespace"
        attach "$tmp/e.erofs"
        expect 13 "f (an erofs image mounted as a file in another mount namespace only)" fio 60177 "$dev"
        detach_last
        intact "$tmp/e.erofs" erofs "f"
        kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null; unset "pids[-1]"
        # (i) mounted as a file, then renamed: its source names nothing,
        # and /sys/fs/erofs still counts it; (j) an unrelated image mounted
        # as a file, found and told apart, does not refuse (attack10).
        mount_file "$tmp/e.erofs" "$tmp/mnt3" && mounts+=("$tmp/mnt3")
        mv "$tmp/e.erofs" "$tmp/e-renamed.erofs"
        attach "$tmp/e-renamed.erofs"
        expect 13 "i (an erofs image mounted as a file, then renamed)" ivy 60180 "$dev"
        detach_last
        intact "$tmp/e-renamed.erofs" erofs "i"
        mv "$tmp/e-renamed.erofs" "$tmp/e.erofs"
        truncate -s 300M "$tmp/j.img"
        attach "$tmp/j.img"
        not_refused "j (a file unrelated to an image mounted as a file)" jon 60181 "$dev"
        detach_last
        # (k) a mount names its file by the name it had: while an image is
        # mounted as a file, any erofs image is perhaps it (attack11).
        cp "$tmp/e.erofs" "$tmp/k.erofs"
        attach "$tmp/k.erofs"
        expect 13 "k (an erofs image while another is mounted as a file)" kim 60182 "$dev"
        detach_last
        intact "$tmp/k.erofs" erofs "k"
        umount "$tmp/mnt3" && unset "mounts[-1]"
        # (l) the same with an image whose file system starts after a header
        # of its own, mounted with fsoffset= (Linux 6.16): its superblock is
        # 1024 bytes past the offset, not at 1024 (attack12).
        { printf 'IMAGE-HEADER v1'; head -c $((4096 - 15)) /dev/zero; head -c 1M "$tmp/e.erofs"; } > "$tmp/l.img"
        truncate -s 300M "$tmp/l.img"
        if mount_file "$tmp/l.img" "$tmp/mnt3" fsoffset=4096 2> /dev/null; then
            mounts+=("$tmp/mnt3")
            mv "$tmp/l.img" "$tmp/l-old.img" && cp "$tmp/l-old.img" "$tmp/l.img"
            attach "$tmp/l-old.img"
            expect 13 "l (an image mounted as a file with fsoffset=, renamed, a copy at its old name)" lea 60183 "$dev"
            detach_last
            cmp -s "$tmp/l-old.img" "$tmp/l.img" && ok "l: the mounted image is intact" || bad "l: the mounted image was written"
            umount "$tmp/mnt3" && unset "mounts[-1]"
        else
            echo "skip: l (this kernel has no erofs fsoffset=: before Linux 6.16)"
        fi
    else
        echo "skip: e, f (this kernel mounts no erofs image as a file: before Linux 6.12)"
    fi
else
    echo "skip: e, f (no mkfs.erofs: tools/install-deps installs erofs-utils)"
fi

# (h) FUSE numbers its files as it likes (sshfs, bindfs; here a passthrough
# that shows the file as inode 2): a loop device over a file on FUSE is
# refused whatever else uses it, and another home's image through FUSE is
# that home's (attack10).
here=$(dirname "$(readlink -f "$0")")
if [ -c /dev/fuse ]; then
    mkdir -p "$tmp/fuse"
    truncate -s 300M "$tmp/up/h.img"
    mkfs.ext4 -q -F "$tmp/up/h.img"
    python3 "$here/fuse-passthrough.py" "$tmp/up/h.img" "$tmp/fuse" &
    pids+=($!)
    for i in $(seq 100); do grep -q " $tmp/fuse " /proc/self/mountinfo && break; sleep 0.1; done
    if grep -q " $tmp/fuse " /proc/self/mountinfo; then
        mounts+=("$tmp/fuse")
        sleep 0.2
        attach "$tmp/fuse/disk.img"
        expect 13 "h (a loop device over a file on FUSE)" hal 60179 "$dev"
        detach_last
        intact "$tmp/up/h.img" ext4 "h"
    else
        bad "h: the FUSE passthrough did not mount"
    fi
else
    echo "skip: h (no /dev/fuse)"
fi

# (m) overlayfs with metacopy serves a file's bytes from a file of a lower
# or data-only layer (composefs) and shows the metacopy file's number: a
# reader through the overlay holds the data file unseen. Every file of such
# an overlay's layers is in use while it is mounted (attack13): the data
# file (m1), the same file through a hard link outside the layer (m2); a
# file of the same file system outside the layers is not (m3).
mkdir -p "$tmp/mc"
if mount -t tmpfs -o size=400m hearth-mc "$tmp/mc"; then
    mounts+=("$tmp/mc")
    mkdir -p "$tmp/mc/meta" "$tmp/mc/data" "$tmp/mc/merged" "$tmp/mc/outside"
    truncate -s 300M "$tmp/mc/data/base.img"
    mkfs.ext4 -q -F "$tmp/mc/data/base.img"
    : > "$tmp/mc/meta/vm.img"
    truncate -s 300M "$tmp/mc/meta/vm.img"
    if setfattr -n trusted.overlay.metacopy "$tmp/mc/meta/vm.img" &&
        setfattr -n trusted.overlay.redirect -v /base.img "$tmp/mc/meta/vm.img" &&
        { mount -t overlay overlay -o "lowerdir=$tmp/mc/meta::$tmp/mc/data,metacopy=on,redirect_dir=follow" \
            "$tmp/mc/merged" 2> /dev/null ||
            mount -t overlay overlay -o "lowerdir=$tmp/mc/meta:$tmp/mc/data,metacopy=on,redirect_dir=follow" \
                "$tmp/mc/merged"; }; then
        mounts+=("$tmp/mc/merged")
        if [ "$(blkid -p -o value -s TYPE "$tmp/mc/merged/vm.img")" = ext4 ]; then
            python3 -c 'import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY); os.read(fd, 4096); time.sleep(600)' "$tmp/mc/merged/vm.img" &
            pids+=($!)
            attach "$tmp/mc/data/base.img"
            expect 13 "m1 (an image read through a metacopy overlay, a file of its data layer)" mca 60184 "$dev"
            detach_last
            intact "$tmp/mc/data/base.img" ext4 "m1"
            ln "$tmp/mc/data/base.img" "$tmp/mc/outside/link.img"
            attach "$tmp/mc/outside/link.img"
            expect 13 "m2 (the same image through a hard link outside the layer)" mcb 60185 "$dev"
            detach_last
            intact "$tmp/mc/data/base.img" ext4 "m2"
            truncate -s 300M "$tmp/mc/outside/other.img"
            attach "$tmp/mc/outside/other.img"
            not_refused "m3 (a file outside the metacopy overlay's layers, on their file system)" mcc 60186 "$dev"
            detach_last
        else
            bad "m: the overlay does not show the data file's bytes"
        fi
    else
        echo "skip: m (no trusted xattrs or no overlayfs metacopy here)"
    fi
else
    echo "skip: m (no tmpfs)"
fi

# (g) control: an unrelated file on the same overlay is formatted.
truncate -s 300M "$tmp/merged/g.img"
attach "$tmp/merged/g.img"
not_refused "g (an unrelated file on the overlay)" gil 60178 "$dev"
detach_last

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all file-alias checks passed"
