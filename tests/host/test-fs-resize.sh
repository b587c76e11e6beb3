#!/bin/bash
# A home's btrfs grows and shrinks on the device it is mounted from, whatever
# that device's id in the filesystem: fs_make() makes device 1, but a home
# whose device was added and the first removed (or replaced) has only
# device 2, and a resize of device 1 would fail there.
# Needs root, mkfs.btrfs, btrfs and loop devices (else exit 77).
# Usage: test-fs-resize.sh FS_RESIZE
set -u
tool=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v mkfs.btrfs >/dev/null && command -v btrfs >/dev/null || { echo "needs btrfs-progs"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-fs-resize-test.XXXXXX)
mnt=$tmp/mnt
loop1= loop2=
cleanup() {
    mountpoint -q "$mnt" && umount "$mnt"
    [ -n "$loop1" ] && losetup -d "$loop1" 2>/dev/null
    [ -n "$loop2" ] && losetup -d "$loop2" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
size_of() { btrfs filesystem show --raw "$mnt" | awk -v d="$1" '$1 == "devid" && $NF == d { print $4 }'; }

truncate -s 512M "$tmp/a.img"
truncate -s 1G "$tmp/b.img"
loop1=$(losetup --find --show "$tmp/a.img") || { echo "no loop devices"; exit 77; }
loop2=$(losetup --find --show "$tmp/b.img") || { echo "no loop devices"; exit 77; }
mkfs.btrfs -q -f "$loop1" > /dev/null 2>&1 || { echo "mkfs.btrfs failed"; exit 77; }
mkdir -p "$mnt"
mount "$loop1" "$mnt" || { echo "cannot mount btrfs"; exit 77; }
# Device 1 goes, device 2 stays: the filesystem now lives on loop2 alone.
btrfs device add -f "$loop2" "$mnt" > /dev/null && btrfs device remove "$loop1" "$mnt" ||
    { echo "cannot move the btrfs to a second device"; exit 77; }
btrfs filesystem show --raw "$mnt" | grep -q "devid *2 .*$loop2" && ! btrfs filesystem show --raw "$mnt" | grep -q "devid *1 " &&
    ok "only device 2 left" || bad "devices: $(btrfs filesystem show --raw "$mnt")"

before=$(size_of "$loop2")
"$tool" shrink btrfs "$loop2" "$mnt" $((600 * 1024 * 1024)) && [ "$(size_of "$loop2")" = $((600 * 1024 * 1024)) ] &&
    ok "shrunk to 600 MiB on device 2" || bad "shrink: $(size_of "$loop2") bytes, was $before"
"$tool" grow btrfs "$loop2" "$mnt" && [ "$(size_of "$loop2")" = $((1024 * 1024 * 1024)) ] &&
    ok "grown to the whole device 2" || bad "grow: $(size_of "$loop2") bytes"

echo "$fails failure(s)"
[ "$fails" = 0 ]
