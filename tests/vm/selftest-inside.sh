#!/bin/bash
# Runs inside the VM (tests/vm/run --tpm --disk pool:1G:gpt-root-gap-home):
# proves the VM gives Hearth what the host lacks — dm-linear, dm-crypt with
# LUKS2, Btrfs, a TPM at /dev/tpmrm0, partitioned virtio disks — and that the
# build directory and the results share work. Every check must pass.
set -euo pipefail

fails=0
ok() { echo "ok: $*"; echo "ok: $*" >> "$HEARTH_VM_RESULTS/selftest.txt"; }
bad() { echo "FAIL: $*"; echo "FAIL: $*" >> "$HEARTH_VM_RESULTS/selftest.txt"; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
work=$(mktemp -d)
cd "$work"

# --- environment ----------------------------------------------------------
check "kernel has device-mapper" grep -qw device-mapper /proc/devices
# Fresh: nothing in it but our mktemp dir and the host paths bound back in
# (a clone under /tmp, say), which are mount points of their own.
fresh_tmp() {
    [ "$(stat -f -c %T /tmp)" = tmpfs ] || return 1
    for e in /tmp/* /tmp/.[!.]*; do
        [ -e "$e" ] || continue
        [ "$e" = "$work" ] && continue
        findmnt -n "$e" > /dev/null || { echo "unexpected in /tmp: $e"; return 1; }
    done
}
check "/tmp is a fresh tmpfs" fresh_tmp
check "/home is tmpfs" test "$(stat -f -c %T /home)" = tmpfs
check "/var/lib/hearth is tmpfs" test "$(stat -f -c %T /var/lib/hearth)" = tmpfs
check "udevd is running" sh -c 'pgrep -x systemd-udevd >/dev/null'
if [ -n "${HEARTH_BUILD_DIR:-}" ]; then
    check "build directory visible: homectl runs" "$HEARTH_BUILD_DIR/homectl/homectl" --version
fi

# --- dm-linear over two loop devices --------------------------------------
truncate -s 8M a.img b.img
la=$(losetup --find --show a.img)
lb=$(losetup --find --show b.img)
# 12 MiB volume: last 4 MiB of a, then first 8 MiB of b.
dmsetup create hearth-selftest-lin <<TABLE
0 8192 linear $la 8192
8192 16384 linear $lb 0
TABLE
udevadm settle
check "/dev/mapper node made by udev" test -b /dev/mapper/hearth-selftest-lin
head -c 12M /dev/urandom > pattern
dd if=pattern of=/dev/mapper/hearth-selftest-lin bs=1M oflag=direct status=none
sync
check "dm-linear reads back what was written" cmp pattern /dev/mapper/hearth-selftest-lin
# Straight from the loop devices, past their page cache (udev's probe may
# have cached the zeros that were there before).
check "first run landed at a's second half" cmp <(head -c 4M pattern) <(dd if="$la" bs=1M skip=4 count=4 iflag=direct status=none)
check "second run landed at b's start" cmp <(tail -c 8M pattern) <(dd if="$lb" bs=1M count=8 iflag=direct status=none)
dmsetup remove hearth-selftest-lin
check "dm device removed" sh -c '! dmsetup info hearth-selftest-lin >/dev/null 2>&1'
losetup -d "$la" "$lb"

# --- LUKS2 + Btrfs ----------------------------------------------------------
truncate -s 256M luks.img
ll=$(losetup --find --show luks.img)
printf 'selftest-passphrase' > key
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --cipher aes-xts-plain64 --key-size 512 --key-file key "$ll"
cryptsetup open --key-file key "$ll" hearth-selftest-luks
check "LUKS2 volume open" test -b /dev/mapper/hearth-selftest-luks
mkfs.btrfs -q /dev/mapper/hearth-selftest-luks
mkdir mnt
mount /dev/mapper/hearth-selftest-luks mnt
head -c 1M /dev/urandom > mnt/data
cp mnt/data data.copy
umount mnt
cryptsetup close hearth-selftest-luks
check "LUKS volume closed" sh -c '! test -e /dev/mapper/hearth-selftest-luks'
printf 'wrong' > wrong
check "wrong passphrase refused" sh -c "! cryptsetup open --test-passphrase --key-file wrong $ll"
cryptsetup open --key-file key "$ll" hearth-selftest-luks
mount /dev/mapper/hearth-selftest-luks mnt
check "data survives close and reopen" cmp mnt/data data.copy
umount mnt
cryptsetup close hearth-selftest-luks
losetup -d "$ll"

# --- TPM ------------------------------------------------------------------
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
check "/dev/tpmrm0 exists" test -c /dev/tpmrm0
check "tpm2_getrandom" sh -c 'tpm2_getrandom --hex 16 | grep -Eq "^[0-9a-f]{32}$"'
tpm2_createprimary -Q -C o -c primary.ctx
printf 'sealed-secret' | tpm2_create -Q -C primary.ctx -i- -u seal.pub -r seal.priv
tpm2_load -Q -C primary.ctx -u seal.pub -r seal.priv -c seal.ctx
check "seal and unseal round trip" test "$(tpm2_unseal -c seal.ctx)" = sealed-secret
tpm2_flushcontext -t

# --- disk with layout gpt-root-gap-home ---------------------------------------
disk=${HEARTH_VM_DISK_POOL:-}
check "disk 'pool' named in the environment" test -b "$disk"
sfdisk --json "$disk" > layout.json
check "GPT label" grep -q '"label": "gpt"' layout.json
check "two partitions" test "$(grep -c '"node"' layout.json)" = 2
p1_start=$(cat "/sys/class/block/${disk##*/}1/start")
p1_size=$(cat "/sys/class/block/${disk##*/}1/size")
p2_start=$(cat "/sys/class/block/${disk##*/}2/start")
check "root partition: 256 MiB at 1 MiB" test "$p1_start:$p1_size" = "2048:524288"
check "gap of 512 MiB before home" test $((p2_start - p1_start - p1_size)) = 1048576
check "partition labels via udev" test -L /dev/disk/by-partlabel/root -a -L /dev/disk/by-partlabel/home
check "disk node by serial via udev" test -L /dev/disk/by-id/virtio-pool

cd /
rm -rf "$work"
echo "selftest: $fails failure(s)"
[ "$fails" -eq 0 ]
