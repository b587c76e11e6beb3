#!/bin/bash
# Runs inside the VM (tests/vm/run --disk pool:…:gpt-root-gap-home): the
# extent pool through hearthd and `homectl pool` with real device-mapper —
# init, activate, status, grow and shrink of a mounted btrfs, check, release,
# callers without rights refused — and hearthd growing /home by itself when
# it fills up (hearth.conf [Pool] AutoGrow=), with the data intact.
# Usage: hearthd-pool-inside.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
MB=1048576
disk=$HEARTH_VM_DISK_POOL
home=${disk}2
pool_part=${disk}3
MNT=$HEARTHD_TMP/mnt
DM=/dev/mapper/hearth-pool-home
mkdir -p "$MNT"
settle() { [ "$HEARTH_VM_UDEV" = 1 ] && udevadm settle --timeout=60; true; }
# Mounts under $HEARTHD_TMP are undone by lib-hearthd; the device is ours.
hearthd_at_exit 'mountpoint -q "$MNT" && umount "$MNT"; dmsetup remove --retry hearth-pool-home 2>/dev/null'

# vol_size: the volume's size as hearthd reports it (status --json).
vol_size() {
    "$homectl" pool status --json=short |
        python3 -c 'import json,sys; print(next(v["size"] for v in json.load(sys.stdin)["volumes"] if v["name"] == "home"))'
}
fs_size() { btrfs filesystem show --raw "$MNT" | awk '/devid/ { print $4; exit }'; }

check "status before a pool exists: exit 4" 4 "$homectl" pool status

# The pool partition in the gap between root and home.
p1_end=$(( $(cat "/sys/class/block/${disk##*/}1/start") + $(cat "/sys/class/block/${disk##*/}1/size") ))
h_start=$(cat "/sys/class/block/${disk##*/}2/start")
echo "start=$p1_end, size=$((h_start - p1_end)), name=pool" | sfdisk --quiet --append "$disk" >/dev/null
settle
for _ in $(seq 50); do [ -b "$pool_part" ] && break; sleep 0.1; done

check "init as a user: denied" 77 hearthd_as_user 60123 "$homectl" --no-ask-password pool init "$home" "$pool_part"
check "init" 0 "$homectl" pool init "$home" "$pool_part" --extent-size=16M
check "activate" 0 "$homectl" pool activate
check "the volume is mapped" 0 test -b "$DM"
check "activate again (idempotent)" 0 "$homectl" pool activate
check "status" 0 "$homectl" pool status
contains "the volume in the table" "$HEARTHD_TMP/out" "/dev/mapper/hearth-pool-home"
contains "the current copy" "$HEARTHD_TMP/out" "(current)"
check "status as a user" 0 hearthd_as_user 60123 "$homectl" pool status

mkfs.btrfs -q -f "$DM" && mount "$DM" "$MNT" && ok "btrfs on the volume, mounted" || bad "mkfs/mount"
s0=$(vol_size)
check "grow +32M online" 0 "$homectl" pool grow home +32M
s1=$(vol_size)
[ "$s1" = $((s0 + 32 * MB)) ] && ok "volume grew by 32M ($s0 → $s1)" || bad "volume $s0 → $s1"
[ "$(fs_size)" = "$s1" ] && ok "btrfs grew with it" || bad "btrfs is $(fs_size), volume $s1"
check "grow as a user: denied" 77 hearthd_as_user 60123 "$homectl" --no-ask-password pool grow home +16M
check "shrink -16M online" 0 "$homectl" pool shrink home -16M
[ "$(vol_size)" = $((s1 - 16 * MB)) ] && ok "volume shrank by 16M" || bad "volume is $(vol_size)"
[ "$(fs_size)" = $((s1 - 16 * MB)) ] && ok "btrfs shrank first" || bad "btrfs is $(fs_size)"
check "grow an unknown volume" 1 "$homectl" pool grow nosuch +16M
contains "names the volume" "$HEARTHD_TMP/err" "nosuch"
check "check" 0 "$homectl" pool check
contains "consistent" "$HEARTHD_TMP/out" "pool: consistent"
check "check --json" 0 "$homectl" pool check --json=short
contains "JSON report" "$HEARTHD_TMP/out" '"consistent":true'
check "release 16M next to root" 0 "$homectl" pool release 16M
check "check after release" 0 "$homectl" pool check

# ---- growing by itself -------------------------------------------------------------
cat >"$HEARTHD_CONFIG" <<EOF
[Pool]
AutoGrow=yes
AutoGrowFreeBelow=40%
AutoGrowStep=32M
AutoGrowMaxSize=$((s1 + 96 * MB))
AutoGrowInterval=1
EOF
hearthd_restart
before=$(vol_size)
# Fill the filesystem past the threshold, with checksums.
avail=$(df -B1 --output=avail "$MNT" | tail -n 1)
# Random bytes cost much under emulation: a little random data to check, zeros to fill.
dd if=/dev/urandom of="$MNT/data.bin" bs=1M count=8 status=none
dd if=/dev/zero of="$MNT/fill.bin" bs=1M count=$(( (avail / MB) * 3 / 4 )) conv=fsync status=none
sum=$(sha256sum <"$MNT/data.bin")
grown=
for _ in $(seq 300); do
    grep -q "pool volume home: grew home" "$HEARTHD_LOG" && { grown=1; break; }
    sleep 0.1
done
[ -n "$grown" ] && ok "hearthd grew /home by itself" || bad "no auto-grow within 30 s"
# Until it settles (the cap or the threshold reached): the same size 3 s apart.
after=$(vol_size)
for _ in $(seq 20); do
    sleep 3
    now=$(vol_size)
    [ "$now" = "$after" ] && [ "$(fs_size)" = "$now" ] && break
    after=$now
done
[ "$after" -gt "$before" ] && ok "volume $before → $after" || bad "volume $before → $after"
[ "$after" -le $((s1 + 96 * MB)) ] && ok "never past AutoGrowMaxSize" || bad "past the cap: $after"
[ "$(fs_size)" = "$after" ] && ok "btrfs grew online with it" || bad "btrfs $(fs_size), volume $after"
check "LastAutoGrow" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 /io/hearth/Pool \
    org.freedesktop.DBus.Properties.Get string:io.hearth.Pool1 string:LastAutoGrow
contains "says what it did" "$HEARTHD_TMP/out" "grew home from"
sync; echo 3 >/proc/sys/vm/drop_caches
[ "$(sha256sum <"$MNT/data.bin")" = "$sum" ] && ok "data intact" || bad "data changed"
check "check after auto-grow" 0 "$homectl" pool check

hearthd_finish
