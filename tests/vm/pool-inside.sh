#!/bin/bash
# Runs inside the VM (tests/vm/run --disk pool:3G:gpt-root-gap-home): the
# extent pool end to end through hearth-pool. A pool partition is made in the
# gap between root and home; then init, ext4 (grow online, shrink offline),
# btrfs with a checksummed writer (grow online, shrink online), SIGKILL at
# every failpoint followed by activate + check + remount with data intact,
# release (with the pool partition in use and not), corrupt copies, a
# missing PV; then volumes: create and remove (also killed at their
# failpoints), and a LUKS home on its own pool volume through hearth-work
# (create, grow online with a writer running, shrink, remove). Everything it
# makes is removed on exit, also on failure. A loop device and a second disk
# (stranger) carry forged PVs of this pool, a clone of the home PV (also with
# its GPT GUIDs), then another pool's PV: discovery stays bound to the pool
# /etc/hearth/pool-uuid records and to where /etc/hearth/pool-pvs says its
# PVs sit.
# Usage: pool-inside.sh HEARTH_POOL HEARTH_WORK SKEL_DIR
set -u
HP_BIN=$1
HW_BIN=$2
SKEL=$3
# The checkout may lie below a directory users cannot enter (/root), and a
# record's skeletonDirectory must be one its user could reach: use a copy.
mkdir -p /tmp/hearth-skel && cp -a "$SKEL" /tmp/hearth-skel/skel && chmod 755 /tmp/hearth-skel && SKEL=/tmp/hearth-skel/skel
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
[ -x "$HP_BIN" ] || { echo "no hearth-pool at '$HP_BIN'"; exit 1; }
[ -x "$HW_BIN" ] || { echo "no hearth-work at '$HW_BIN'"; exit 1; }
mode=$([ "$HEARTH_VM_UDEV" = 1 ] && echo udev || echo no-udev)
results=${HEARTH_VM_RESULTS:-/tmp}/pool-$mode.txt
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

fails=0
say() { echo "$*"; echo "$*" >> "$results"; }
ok() { say "ok: [$((SECONDS - t0))s] $*"; }
bad() { say "FAIL: $*"; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
t0=$SECONDS
stamp() { say "-- $* (at $((SECONDS - t0)) s)"; }

work=$(mktemp -d)
cd "$work" || exit 1
disk=${HEARTH_VM_DISK_POOL:-}
home=${disk}2
pool_part=
MNT=$work/mnt
DM=/dev/mapper/hearth-pool-home
writer_pid=
evil_loop=
mkdir -p "$MNT"

cleanup() {
    [ -n "$writer_pid" ] && { touch "$work/stop"; wait "$writer_pid" 2> /dev/null; }
    [ -n "$evil_loop" ] && losetup -d "$evil_loop"
    mountpoint -q "$MNT" && umount "$MNT"
    mountpoint -q /home/alice && umount /home/alice
    [ -e /dev/mapper/home-alice ] && DM_DISABLE_UDEV=1 cryptsetup close home-alice
    for v in alice vol1 vol2 fpv; do
        [ -e /dev/mapper/hearth-pool-$v ] && DM_DISABLE_UDEV=1 dmsetup remove --retry hearth-pool-$v
    done
    dmsetup info hearth-pool-home > /dev/null 2>&1 && DM_DISABLE_UDEV=1 dmsetup remove --retry hearth-pool-home
    [ -n "$pool_part" ] && sfdisk --quiet --no-reread --delete "$disk" 3 > /dev/null 2>&1 &&
        partx -d --nr 3 "$disk" 2> /dev/null
    cd /
    rm -rf "$work"
}
trap cleanup EXIT

dm_remove() { # [VOLUME]: remove the volume's device (default: home)
    local n=hearth-pool-${1:-home}
    if [ "$HEARTH_VM_UDEV" = 1 ]; then dmsetup remove --retry "$n"; else DM_DISABLE_UDEV=1 dmsetup remove --retry "$n"; fi
}
settle() { [ "$HEARTH_VM_UDEV" = 1 ] && udevadm settle --timeout=60; true; }
# hp ARGS...: hearth-pool, its stderr kept in err.txt (and shown).
hp() { "$HP_BIN" "$@" 2> err.txt; rc=$?; [ -s err.txt ] && echo "$(< err.txt)" >&2; return $rc; }
# expect RC DESCRIPTION ARGS...: hearth-pool exits with RC.
expect() {
    local want=$1 d=$2 rc; shift 2
    hp "$@" > out.txt; rc=$?
    if [ "$rc" = "$want" ]; then ok "$d (exit $rc)"; else bad "$d: exit $rc, expected $want: $(tail -n 3 err.txt)"; fi
}
consistent() { # DESCRIPTION: activate + check report a consistent pool
    expect 0 "$1: activate" activate
    expect 0 "$1: check is consistent" check
    [ "$(< out.txt)" = "pool: consistent" ] || bad "$1: check says: $(< out.txt)"
}
dev_size() { # [VOLUME]: bytes, from sysfs (no exec: every exec costs ~0.3 s in the VM)
    local d
    for d in /sys/block/dm-*; do
        [ "$(< "$d/dm/name")" = "hearth-pool-${1:-home}" ] && { echo $(( $(< "$d/size") * 512 )); return; }
    done
}
fs_size() {
    case $FSTYPE in
    btrfs) btrfs filesystem show --raw "$MNT" | awk '/devid/ { print $4; exit }' ;;
    ext4) dumpe2fs -h "$DM" 2> /dev/null | awk -F: '/^Block count/ { c = $2 } /^Block size/ { s = $2 } END { print c * s }' ;;
    esac
}
st_uuid() { # the pool's UUID, from status --json
    "$HP_BIN" status --json 2> /dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pool_uuid"])'
}
md_areas() { # checksums of both PVs' first MiB (geometry + copies)
    for d in "$pool_part" "$home"; do dd if="$d" bs=1M count=1 iflag=direct status=none | sha256sum; done
}

# ---- a writer that records the checksum of everything it wrote ------------------
start_writer() {
    rm -f "$work/stop" "$work/writer.err"
    mkdir -p "$MNT/w"
    (
        i=0
        while [ ! -e "$work/stop" ]; do
            f=$MNT/w/f$BASHPID-$i
            head -c 196608 /dev/urandom > "$work/buf"
            if dd if="$work/buf" of="$f" bs=64k conv=fsync status=none 2>> "$work/writer.err"; then
                s=$(sha256sum < "$work/buf")
                echo "${s%% *}  $f" >> "$work/sums"
            else
                echo "write $f failed" >> "$work/writer.err"
            fi
            i=$((i + 1))
        done
    ) &
    writer_pid=$!
    sleep 1
}
stop_writer() {
    touch "$work/stop"
    wait "$writer_pid"
    writer_pid=
    check "writer saw no error" test ! -s "$work/writer.err"
}
verify_data() { # DESCRIPTION
    sync
    echo 3 > /proc/sys/vm/drop_caches
    if sha256sum -c --quiet "$work/sums" > sum.txt 2>&1; then
        mapfile -t lines < "$work/sums"
        ok "$1: ${#lines[@]} files match their checksums"
    else
        bad "$1: checksums differ: $(head -n 3 sum.txt)"
    fi
}
remount() { # DESCRIPTION: unmount, drop the device ("reboot"), activate, check, mount
    mountpoint -q "$MNT" && umount "$MNT"
    dm_remove || bad "$1: cannot remove the device"
    consistent "$1 (after reboot)"
    if mount "$DM" "$MNT"; then verify_data "$1"; else bad "$1: the filesystem does not mount"; fi
}

# after_kill FAILPOINT [reboot]: hearth-pool was SIGKILLed there; activate and
# check (on the live device: a lagging table is reloaded) report a consistent
# pool, and the filesystem mounts again (after removing the device, with
# reboot) with every checksum intact.
after_kill() {
    local fp=$1
    if [ "$rc" = 137 ]; then ok "$fp: killed"; else bad "$fp: exit $rc, expected 137 (SIGKILL)"; fi
    consistent "killed at $fp"
    check "$fp: filesystem fits its device" test "$(fs_size)" -le "$(dev_size)"
    umount "$MNT"
    if [ "${2:-}" = reboot ]; then
        dm_remove || bad "$fp: cannot remove the device"
        expect 0 "$fp: activate after reboot" activate
    fi
    if mount "$DM" "$MNT"; then verify_data "$fp: remounted"; else bad "$fp: the filesystem does not mount"; fi
}

say "== pool, $mode =="
check "kernel has device-mapper" grep -qw device-mapper /proc/devices
check "disk 'pool' attached" test -b "$disk"

# ---- the pool partition, in the gap between root and home ------------------------
p1_end=$(( $(cat "/sys/class/block/${disk##*/}1/start") + $(cat "/sys/class/block/${disk##*/}1/size") ))
h_start=$(cat "/sys/class/block/${disk##*/}2/start")
echo "start=$p1_end, size=$((h_start - p1_end)), name=pool" | sfdisk --quiet --append "$disk" > /dev/null ||
    bad "cannot add a pool partition in the gap"
pool_part=${disk}3
settle
for _ in $(seq 50); do [ -b "$pool_part" ] && break; sleep 0.1; done
check "pool partition in the gap" test -b "$pool_part"
ES=16M
ESB=$((16 * 1048576))

# ---- init --------------------------------------------------------------------------
stamp "init"
mkfs.ext4 -q -F "$pool_part" 64M
expect 1 "init refuses a partition holding ext4" init "$home" "$pool_part" --extent-size=$ES
grep -q "holds a ext4 filesystem" err.txt && ok "refusal names the filesystem" || bad "refusal message: $(cat err.txt)"
expect 2 "init without arguments is a usage error" init
expect 0 "init --force" init "$home" "$pool_part" --extent-size=$ES --force
settle
type=$(sfdisk --part-type "$disk" 3)
check "pool partition has Hearth's GPT type ($type)" test "${type,,}" = 8f3b41c8-6d1e-4a7f-9c55-48454152544b
expect 1 "a second init refuses the PVs" init "$home" "$pool_part" --extent-size=$ES
expect 0 "status" status
cat out.txt
expect 0 "activate" activate
check "device $DM exists" test -b "$DM"
expect 0 "activate again (idempotent)" activate
expect 0 "check" check

# ---- discovery is bound to this machine's pool and to where its PVs sit -------------
# (/etc/hearth/pool-uuid, /etc/hearth/pool-pvs; storage/pool/pool-discover.h)
stamp "strangers"
stranger=${HEARTH_VM_DISK_STRANGER:-}
check "disk 'stranger' attached" test -b "$stranger"
ID_FILE=/etc/hearth/pool-uuid
PVS_FILE=/etc/hearth/pool-pvs
uuid=$(st_uuid)
check "init recorded the pool's UUID in $ID_FILE" test "$(cat "$ID_FILE" 2> /dev/null)" = "$uuid"
disk_guid=$(sfdisk --disk-id "$disk")
home_pu=$(sfdisk --part-uuid "$disk" 2)
pool_pu=$(sfdisk --part-uuid "$disk" 3)
grep -qix "pv 0 $pool_pu $disk_guid /devices/[^ ]*" "$PVS_FILE" && grep -qix "pv 1 $home_pu $disk_guid /devices/[^ ]*" "$PVS_FILE" &&
    grep -qx "pool $uuid" "$PVS_FILE" && ok "init recorded where the PVs sit in $PVS_FILE" ||
    bad "$PVS_FILE: $(cat "$PVS_FILE" 2>&1)"
cp "$PVS_FILE" pvs.init
# forge TARGET INDEX: a geometry block claiming to be PV INDEX of this
# machine's pool, as any user can write knowing only the public pool UUID.
forge() {
    python3 - "$@" << 'PY'
import hashlib, os, struct, sys, uuid
target, index = sys.argv[1], int(sys.argv[2])
g = bytearray(4096)
g[0:8] = b'HEARTHPV'
struct.pack_into('<II', g, 8, 1, 160)
g[16:32] = uuid.UUID(open('/etc/hearth/pool-uuid').read().strip()).bytes
g[32:48] = os.urandom(16)
struct.pack_into('<II', g, 48, index, 512)
struct.pack_into('<QQQQQQ', g, 56, 16 * 2048, 2048 * 16, 12288, 16384, 2048, 0)
g[128:160] = hashlib.sha256(bytes(g)).digest()
fd = os.open(target, os.O_RDWR)
os.pwrite(fd, bytes(g), 4096)
os.pwrite(fd, bytes(g), 8192)
os.fsync(fd)
PY
}
# The attack: a user's file attached as a loop device (udisks lets an active
# user do it) claiming PV 1, another disk claiming PV 0. Both used to stop
# the pool: "… both claim to be PV N … refusing to guess" (exit 4).
truncate -s 16M "$work/evil.img" && forge "$work/evil.img" 1
evil_loop=$(losetup -f --show "$work/evil.img")
forge "$stranger" 0
settle
expect 0 "a loop device and a second disk claiming our PVs do not stop status" status
grep -q "pool PV $evil_loop: ignored: a loop device" err.txt && ok "the loop device is named in a warning" ||
    bad "loop warning: $(< err.txt)"
grep -q "pool PV $stranger: ignored: it claims to be PV 0 of this machine's pool, but it is not a GPT partition" err.txt &&
    ok "the forged disk is named in a warning" || bad "forged disk warning: $(< err.txt)"
expect 0 "nor activate" activate
forge "$stranger" 5
expect 0 "a disk claiming a PV index the pool does not have: status" status
grep -q "pool PV $stranger: ignored: it claims to be PV 5 of this machine's pool, which $PVS_FILE does not list" err.txt &&
    ok "named in a warning" || bad "index 5 warning: $(< err.txt)"
# A clone: the home PV's first MiB (geometry and copies) on another disk.
dd if="$home" of="$stranger" bs=1M count=1 conv=fsync status=none
settle
expect 0 "a clone of the home PV on another disk is ignored" status
grep -q "pool PV $stranger: ignored: it claims to be PV 1" err.txt && ok "with a warning" || bad "clone: $(< err.txt)"
# The clone in a partition carrying the home partition's GUIDs (no secret:
# lsblk shows them): the disk's place in the hardware decides.
printf 'label: gpt\nlabel-id: %s\nstart=2048, size=8192, uuid=%s\n' "$disk_guid" "$home_pu" | sfdisk --quiet "$stranger" > /dev/null
settle
for _ in $(seq 50); do [ -b "${stranger}1" ] && break; sleep 0.1; done
dd if="$home" of="${stranger}1" bs=1M count=1 conv=fsync status=none
settle
expect 0 "a clone carrying the home PV's GUIDs on another disk: status" status
grep -q "pool PV ${stranger}1: ignored: it carries the identity of PV 1 .*, but $home sits where" err.txt &&
    ok "the copy is named in a warning" || bad "GUID copy: $(< err.txt)"
expect 0 "and activate" activate
# A pool made before the identities were recorded: as before, a clone is
# refused, but loop devices are ignored; activate records the identities.
rm -f "$PVS_FILE"
expect 4 "no identities recorded: a cloned PV (same pool UUID) is refused" status
grep -q "both claim to be PV 1 of pool $uuid (a cloned disk?)" err.txt && ok "refusal names the clone" ||
    bad "clone refusal: $(< err.txt)"
grep -q "pool PV $evil_loop: ignored: a loop device" err.txt && ok "the loop device is still ignored" ||
    bad "loop warning: $(< err.txt)"
dd if=/dev/zero of="$stranger" bs=1M count=1 conv=fsync status=none
blockdev --rereadpt "$stranger"
settle
expect 0 "no identities recorded: status, the loop device still there" status
check "status records nothing" test ! -e "$PVS_FILE"
expect 0 "no identities recorded: activate" activate
cmp -s pvs.init "$PVS_FILE" && ok "activate recorded where the PVs sit, as init did" ||
    bad "$PVS_FILE after activate: $(cat "$PVS_FILE" 2>&1)"
losetup -d "$evil_loop" && evil_loop=
# Another pool's PV (a USB stick, a loop device): the same bytes, another pool UUID.
dd if="$home" of="$stranger" bs=1M count=1 conv=fsync status=none
python3 - "$stranger" << 'PY'
import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for off in (4096, 8192):
    g = bytearray(os.pread(fd, 4096, off))
    g[16] ^= 0xff
    g[128:160] = bytes(32)
    g[128:160] = hashlib.sha256(g).digest()
    os.pwrite(fd, bytes(g), off)
os.fsync(fd)
PY
settle
expect 0 "another pool's PV is ignored: status" status
grep -q "pool PV $stranger: ignored: it belongs to pool" err.txt && ok "the stranger is named in a warning" ||
    bad "stranger warning: $(< err.txt)"
expect 0 "another pool's PV is ignored: activate" activate
# An upgraded machine: no UUID recorded yet.
rm -f "$ID_FILE" "$PVS_FILE"
expect 4 "no record and two pools: no guess" status
grep -q "refusing to guess which is this machine's" err.txt && ok "refusal says why" || bad "two pools: $(< err.txt)"
dd if=/dev/zero of="$stranger" bs=1M count=1 conv=fsync status=none
settle
expect 0 "no record, one pool: status takes it" status
grep -q "records no pool UUID; taking pool $uuid" err.txt && ok "with a warning" || bad "adopt warning: $(< err.txt)"
check "status records nothing" test ! -e "$ID_FILE"
expect 0 "no record, one pool: activate" activate
check "activate recorded the pool's UUID" test "$(cat "$ID_FILE" 2> /dev/null)" = "$uuid"
check "and where its PVs sit" cmp -s pvs.init "$PVS_FILE"
expect 4 "a missing PV is refused" --devices="$home" activate
grep -q "missing physical volume 0 (pool" err.txt && ok "missing PV message" || bad "missing PV message: $(cat err.txt)"
base=$(dev_size)

# ---- ext4: grow online, shrink offline ---------------------------------------------
stamp "ext4"
FSTYPE=ext4
mkfs.ext4 -q -F "$DM" && mount "$DM" "$MNT" || bad "ext4 on the pool volume"
: > "$work/sums"
start_writer
expect 0 "ext4: grow home +3 extents online" grow home +48M
stop_writer
check "ext4: device grew by 3 extents" test "$(dev_size)" = $((base + 3 * ESB))
check "ext4: filesystem grew online to the device" test "$(fs_size)" = "$(dev_size)"
verify_data "ext4 after grow"
expect 1 "ext4: shrink refused while mounted" shrink home -32M
grep -q "ext4 shrinks offline only" err.txt && ok "ext4 refusal is clear" || bad "ext4 refusal: $(cat err.txt)"
umount "$MNT"
expect 0 "ext4: shrink home -2 extents offline" shrink home -32M
check "ext4: device shrank by 2 extents" test "$(dev_size)" = $((base + ESB))
check "ext4: filesystem fits the device" test "$(fs_size)" -le "$(dev_size)"
e2fsck -fn "$DM" > /dev/null 2>&1 && ok "ext4: e2fsck clean" || bad "ext4: e2fsck"
mount "$DM" "$MNT" && verify_data "ext4 after shrink"
umount "$MNT"

# ---- btrfs with a writer running -----------------------------------------------------
stamp "btrfs"
FSTYPE=btrfs
mkfs.btrfs -q -f "$DM" && mount "$DM" "$MNT" || bad "btrfs on the pool volume"
: > "$work/sums"
start_writer
before=$(dev_size)
expect 0 "btrfs: grow home +3 extents online, writer running" grow home +48M
check "btrfs: device grew by 3 extents" test "$(dev_size)" = $((before + 3 * ESB))
check "btrfs: filesystem grew online to the device" test "$(fs_size)" = "$(dev_size)"
sleep 1
stop_writer
verify_data "btrfs after grow"
start_writer
expect 0 "btrfs: shrink home -2 extents online, writer running" shrink home -32M
check "btrfs: device shrank by 2 extents" test "$(dev_size)" = $((before + ESB))
check "btrfs: filesystem shrank to the device" test "$(fs_size)" = "$(dev_size)"
stop_writer
verify_data "btrfs after shrink"
expect 0 "grow to an absolute size" grow home $(( (before + 3 * ESB) ))
check "absolute grow" test "$(dev_size)" = $((before + 3 * ESB))
expect 0 "check after grow/shrink" check
hp status --json > status.json
python3 -c 'import json,sys; s=json.load(open("status.json")); v=s["volumes"][0]; sys.exit(0 if v["name"]=="home" and v["mountpoint"] else 1)' &&
    ok "status --json names home and its mountpoint" || bad "status --json: $(head -c 300 status.json)"

# ---- SIGKILL at every failpoint ------------------------------------------------------
stamp "failpoints: grow and shrink"
for fp in grow-allocated grow-commit-pool grow-commit-home grow-reloaded grow-fs; do
    HEARTH_FAILPOINT=$fp hp grow home +16M > /dev/null
    after_kill $fp $([ $fp = grow-commit-home ] && echo reboot)
done
expect 0 "grow finishes an interrupted fs grow" grow home +16M
check "filesystem matches the device again" test "$(fs_size)" = "$(dev_size)"
for fp in shrink-fs shrink-reloaded shrink-commit-pool shrink-commit-home; do
    HEARTH_FAILPOINT=$fp hp shrink home -16M > /dev/null
    after_kill $fp
done
expect 0 "check after the grow and shrink failpoints" check

# ---- release ----------------------------------------------------------------------------
stamp "release"
part_start() { cat "/sys/class/block/${pool_part##*/}/start" 2> /dev/null; }
gpt_start() { sfdisk -d "$disk" | awk -v p="$pool_part" '$1 == p { sub(",", "", $4); print $4 }'; }
expect 0 "release 1 extent while the pool partition is mapped" release 16M
settle
check "GPT start moved by one extent" test "$(gpt_start)" = $((p1_end + ESB / 512))
expect 0 "status after release (kernel view stale)" status --json
grep -q kernel_partition_stale out.txt && ok "status notes the stale kernel view" || bad "status: no stale note"
consistent "release (stale kernel view)"
verify_data "release (stale kernel view)"
for fp in release-staged release-gpt release-kernel release-commit-home; do
    HEARTH_FAILPOINT=$fp hp release 16M > /dev/null
    settle
    after_kill $fp
done
# "Reboot": the kernel re-reads the partition once nothing maps it.
umount "$MNT"
dm_remove
partx -d --nr 3 "$disk" && partx -a --nr 3 "$disk"
settle
for _ in $(seq 50); do [ -b "$pool_part" ] && break; sleep 0.1; done
check "kernel sees the moved pool partition" test "$(part_start)" = "$(gpt_start)"
consistent "after the kernel re-read the partition"
mount "$DM" "$MNT" && verify_data "after release and re-read"
# Release with the partition unmapped: home back to its own partition first.
expect 0 "shrink home to its partition" shrink home "$base"
umount "$MNT"
dm_remove
expect 0 "activate (home only on its partition)" activate
mount "$DM" "$MNT"
old=$(gpt_start)
expect 0 "release 2 extents, pool partition unmapped" release 32M
settle
for _ in $(seq 50); do [ -b "$pool_part" ] && break; sleep 0.1; done
check "kernel follows the release at once" test "$(part_start)" = $((old + 2 * ESB / 512))
consistent "release, unmapped"
expect 0 "grow again after release" grow home +32M
verify_data "after release, unmapped"
remount "release, unmapped"

# ---- corrupt copies ------------------------------------------------------------------
stamp "corruption"
umount "$MNT"
hp status --json > status.json
cur=$(python3 -c 'import json; s=json.load(open("status.json")); print([p for p in s["pvs"] if p["role"]=="home"][0]["copies"]["current"])')
off=$([ "$cur" = A ] && echo 12288 || echo $((12288 + 262144)))
printf 'garbage' | dd of="$home" bs=1 seek=$((off + 200)) conv=notrunc,fsync status=none
expect 3 "check reports the corrupt current copy of the home PV" check
grep -q "invalid-copy" out.txt && ok "named as invalid-copy" || bad "check output: $(cat out.txt)"
expect 0 "status shows it" status
grep -q "INVALID" out.txt && ok "status marks the copy INVALID" || bad "status: $(cat out.txt)"
consistent "primary copy corrupted: comes up from the other"
mount "$DM" "$MNT" && verify_data "after a corrupt copy" && umount "$MNT"
dm_remove
dd if="$pool_part" of=pool-md.bin bs=1M count=1 status=none
dd if="$home" of=home-md.bin bs=1M count=1 status=none
for d in "$pool_part" "$home"; do
    for o in 12288 $((12288 + 262144)); do
        printf 'garbage' | dd of="$d" bs=1 seek=$((o + 200)) conv=notrunc,fsync status=none
    done
done
before_md=$(md_areas)
expect 4 "both copies corrupt: activate refuses" activate
grep -q "no valid metadata copy" err.txt && ok "refusal is clear: $(tail -n 1 err.txt | cut -c1-160)" || bad "refusal: $(cat err.txt)"
expect 4 "both copies corrupt: grow refuses" grow home +16M
expect 4 "both copies corrupt: release refuses" release 16M
expect 3 "both copies corrupt: check --repair reports, cannot repair" check --repair
check "nothing was written to the metadata areas" test "$(md_areas)" = "$before_md"
check "no device was made" test ! -e "$DM"
dd if=pool-md.bin of="$pool_part" bs=1M conv=fsync status=none
dd if=home-md.bin of="$home" bs=1M conv=fsync status=none
consistent "restored metadata"
mount "$DM" "$MNT" && verify_data "restored metadata" && umount "$MNT"

# ---- xfs: grows online, shrinking is refused ----------------------------------------
stamp "xfs"
if command -v mkfs.xfs > /dev/null; then
    FSTYPE=xfs
    mkfs.xfs -q -f "$DM" && mount "$DM" "$MNT" || bad "xfs on the pool volume"
    expect 0 "xfs: grow home +1 extent online" grow home +16M
    expect 1 "xfs: shrink is refused" shrink home -16M
    grep -q "xfs cannot shrink" err.txt && ok "xfs refusal is clear" || bad "xfs refusal: $(< err.txt)"
    umount "$MNT"
else
    say "skip: xfs (no mkfs.xfs)"
fi
dm_remove

# ---- init failpoints -----------------------------------------------------------------
stamp "failpoints: init"
for fp in init-zeroed init-copies-pool init-copies-home init-geometry-pool init-geometry-home init-gpt-type; do
    HEARTH_FAILPOINT=$fp hp init "$home" "$pool_part" --extent-size=$ES --force > /dev/null
    rc=$?
    [ "$rc" = 137 ] && ok "$fp: killed" || bad "$fp: exit $rc, expected 137 (SIGKILL)"
    settle
    hp activate > /dev/null; rc=$?
    case $fp in
    init-geometry-home|init-gpt-type)
        [ "$rc" = 0 ] && ok "$fp: the pool is complete and activates" || bad "$fp: activate exit $rc" ;;
    *)
        [ "$rc" = 4 ] && ok "$fp: incomplete pool refused: $(tail -n 1 err.txt | cut -c1-120)" ||
            bad "$fp: activate exit $rc, expected 4" ;;
    esac
    if [ "$rc" = 0 ]; then
        expect 0 "$fp: check" check
        dm_remove
    fi
done
expect 0 "init after the killed inits" init "$home" "$pool_part" --extent-size=$ES --force
settle
consistent "fresh pool"

# ---- volumes: create and remove ---------------------------------------------------
stamp "volumes"
# st EXPR: EXPR over `status --json` (s; vol(NAME) is that volume or None).
st() {
    hp status --json > status.json &&
        python3 -c 'import json,sys; s=json.load(open("status.json")); vol=lambda n: ([v for v in s["volumes"] if v["name"]==n] or [None])[0]; print(eval(sys.argv[1]))' "$1"
}
free0=$(st 's["free_extents"]')
expect 1 "create home is refused" create home 16M
grep -q "made by init" err.txt && ok "refusal names init" || bad "create home: $(< err.txt)"
expect 1 "create with a bad name is refused" create Vol1 16M
expect 2 "create without a size is a usage error" create vol1
expect 0 "create vol1 of 40M" create vol1 40M
check "vol1's device exists" test -b /dev/mapper/hearth-pool-vol1
check "vol1 has 3 extents (rounded up)" test "$(dev_size vol1)" = $((3 * ESB))
expect 1 "create vol1 again is refused" create vol1 16M
expect 1 "remove home is refused" remove home
grep -q "cannot be removed" err.txt && ok "refusal is clear" || bad "remove home: $(< err.txt)"
mkfs.ext4 -q -F /dev/mapper/hearth-pool-vol1 && mount /dev/mapper/hearth-pool-vol1 "$MNT"
expect 1 "removing a mounted volume is refused" remove vol1
grep -q "in use" err.txt && ok "refusal says in use" || bad "remove mounted: $(< err.txt)"
umount "$MNT"
expect 0 "remove vol1" remove vol1
check "vol1's device is gone" test ! -e /dev/mapper/hearth-pool-vol1
expect 0 "create vol2 on vol1's extents" create vol2 40M
blkid -p /dev/mapper/hearth-pool-vol2 > /dev/null 2>&1; rc=$?
check "vol2 shows no old signature (its start was zeroed)" test "$rc" = 2
expect 0 "remove vol2" remove vol2
expect 1 "remove a volume that does not exist" remove vol2
consistent "after create and remove"

stamp "failpoints: create and remove"
for fp in create-allocated create-commit-pool create-commit-home create-activated; do
    HEARTH_FAILPOINT=$fp hp create fpv 16M > /dev/null; rc=$?
    if [ "$rc" = 137 ]; then ok "$fp: killed"; else bad "$fp: exit $rc, expected 137 (SIGKILL)"; fi
    consistent "killed at $fp"
    if [ $fp = create-allocated ]; then
        check "$fp: no volume" test ! -e /dev/mapper/hearth-pool-fpv
    else
        check "$fp: activate brought the volume up" test -b /dev/mapper/hearth-pool-fpv
        expect 0 "$fp: remove it" remove fpv
    fi
done
expect 0 "create fpv for the remove failpoints" create fpv 16M
for fp in remove-deactivated remove-commit-pool remove-commit-home; do
    [ -b /dev/mapper/hearth-pool-fpv ] || expect 0 "create fpv again" create fpv 16M
    HEARTH_FAILPOINT=$fp hp remove fpv > /dev/null; rc=$?
    if [ "$rc" = 137 ]; then ok "$fp: killed"; else bad "$fp: exit $rc, expected 137 (SIGKILL)"; fi
    consistent "killed at $fp"
    if [ $fp = remove-deactivated ]; then
        check "$fp: the volume is still there, activate brought it back" test -b /dev/mapper/hearth-pool-fpv
    else
        check "$fp: the volume is gone" test ! -e /dev/mapper/hearth-pool-fpv
    fi
done
[ -b /dev/mapper/hearth-pool-fpv ] && expect 0 "remove fpv" remove fpv
check "every extent is free after the failpoints" test "$(st 's["free_extents"]')" = "$free0"

# ---- a LUKS home on its own pool volume ---------------------------------------------
stamp "LUKS home on a pool volume"
export HEARTH_HOME_ROOT=/home HEARTH_RUNTIME_DIR=/run/hearth HEARTH_STATE_DIR=/var/lib/hearth
MB=1048576
# rec SIZE [EXTRA]: alice's request, btrfs inside, a cheap PBKDF (tests only).
rec() {
    printf '{"userName":"alice","uid":60100,"gid":60100,"storage":"luks","fileSystemType":"btrfs","diskSize":%s,' "$1"
    printf '"imagePath":"%s","luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"skeletonDirectory":"%s"%s}' \
        "${IMG:-/dev/mapper/hearth-pool-alice}" "$SKEL" "${2:+,$2}"
}
PW='"secret":{"password":["pw1"]}'
w() { # w OP EXPECTED_RC JSON [ARGS]: hearth-work
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | "$HW_BIN" "$op" "$@" > hw.out 2> hw.err; rc=$?
    if [ "$rc" = "$want" ]; then ok "hearth-work $op (exit $rc)"; else bad "hearth-work $op: exit $rc, expected $want: $(tail -n 3 hw.err)"; fi
}
w create 10 "$(IMG=/dev/mapper/hearth-pool-home rec $((300 * MB)) "$PW")"
grep -q "which is /home itself" hw.err && ok "a LUKS home on volume home is refused clearly" || bad "volume home: $(< hw.err)"
# Nor on the pool's own devices, --wipe or not (attack-luks2 1, 1b): with
# the pool inactive (at boot before hearth-pool.service, in a rescue
# system) a PV has no holders and blkid sees nothing on it, and create
# formatted the pool partition and even /home's own PV. Each way of
# knowing a PV is tried alone: its geometry block (valid or damaged), the
# pool partition's GPT type, the PV recorded in pool-pvs.
areas=$(md_areas)
uuid=$(st_uuid)
refused() { # refused DEVICE WHAT [ARGS]: create over it exits 15, naming WHAT
    local dev=$1 what=$2; shift 2
    w create 15 "$(IMG=$dev rec $((64 * MB)) "$PW")" "$@"
    grep -q -- "$what" hw.err && ok "refusal for $dev${1:+ $1}: $what" || bad "refusal for $dev${1:+ $1}: $(< hw.err)"
}
# Active, no volume has extents on the pool partition: it has no holders.
check "the pool partition has no holders" test -z "$(ls "/sys/class/block/${pool_part##*/}/holders")"
refused "$pool_part" "is a physical volume (0) of extent pool $uuid"
refused "$pool_part" "is a physical volume (0) of extent pool $uuid" --wipe
w create 13 "$(IMG=$home rec $((64 * MB)) "$PW")" --wipe
for v in $(dmsetup ls | awk '/^hearth-pool-/ { print $1 }'); do dm_remove "${v#hearth-pool-}"; done
for wipe in "" --wipe; do
    refused "$pool_part" "is a physical volume (0) of extent pool $uuid" $wipe
    refused "$home" "is a physical volume (1) of extent pool $uuid" $wipe
    refused "$disk" "its partition ${disk##*/}2 is a physical volume (1)\\|its partition ${disk##*/}3 is a physical volume (0)" $wipe
done
grep -q -- "--wipe never erases" hw.err && ok "the refusal says --wipe does not override it" || bad "wipe: $(< hw.err)"
dd if="$home" of=geometry.home bs=4096 skip=1 count=2 status=none
dd if="$pool_part" of=geometry.pool bs=4096 skip=1 count=2 status=none
put_geometry() { dd if="$2" of="$1" bs=4096 seek=1 count=2 conv=notrunc,fsync status=none; }
printf 'HEARTHPV' | dd of="$home" bs=1 seek=4096 conv=notrunc,fsync status=none
head -c 16 /dev/urandom | dd of="$home" bs=1 seek=4200 conv=notrunc,fsync status=none
head -c 16 /dev/urandom | dd of="$home" bs=1 seek=8296 conv=notrunc,fsync status=none
refused "$home" "a (damaged) Hearth geometry block" --wipe
put_geometry "$home" /dev/zero
refused "$home" "physical volume 1 of this machine's pool $uuid, as $PVS_FILE records it" --wipe
put_geometry "$home" geometry.home
mv "$PVS_FILE" pvs.aside
put_geometry "$pool_part" /dev/zero
refused "$pool_part" "its GPT partition type is the pool's" --wipe
put_geometry "$pool_part" geometry.pool
mv pvs.aside "$PVS_FILE"
check "the PVs' geometry and copies are as they were" test "$(md_areas)" = "$areas"
check "no LUKS header on any of them" sh -c "! cryptsetup isLuks '$home' && ! cryptsetup isLuks '$pool_part' && ! cryptsetup isLuks '$disk'"
consistent "after the refused creates over its devices"
w create 0 "$(rec $((300 * MB)) "$PW")"
check "alice's volume: 19 extents (300M rounded up), marked LUKS" \
    test "$(st '(vol("alice")["size"], vol("alice")["luks"])')" = "($((19 * ESB)), True)"
# systemd-homed's layout but for the GPT: a pool volume is no disk to
# carry a partition table (homed opens LUKS2 on a whole device too).
cryptsetup luksDump /dev/mapper/hearth-pool-alice > luksdump.txt 2>&1
grep -qE '^Label:[[:space:]]+alice$' luksdump.txt && grep -qE '^Subsystem:[[:space:]]+systemd-home$' luksdump.txt &&
    grep -qE '^  [0-9]+: systemd-homed$' luksdump.txt && ! grep -q hearth-identity luksdump.txt &&
    ok "the pool volume holds LUKS2 directly: label alice, subsystem systemd-home, a systemd-homed token" ||
    bad "pool volume's header: $(head -n 12 luksdump.txt) $(sed -n '/^Tokens:/,$p' luksdump.txt)"
check "no partition table on the pool volume" test -z "$(blkid -p -s PTTYPE -o value /dev/mapper/hearth-pool-alice)"
# Nor over a pool volume reached by another of its names (/dev/dm-N), even
# with --wipe: alice's, closed, has no holders, and --wipe would erase its
# LUKS header as any other signature.
alice_dm=/dev/$(basename "$(readlink -f "/sys/dev/block/$(dmsetup info -c --noheadings -o major,minor hearth-pool-alice | tr -d ' ')")")
check "alice's volume is $alice_dm, without holders" test -b "$alice_dm" -a -z "$(ls "/sys/class/block/${alice_dm#/dev/}/holders")"
refused "$alice_dm" "is the extent pool's volume alice" --wipe
check "alice's volume still holds her LUKS header" cryptsetup isLuks /dev/mapper/hearth-pool-alice
w activate 0 "$(rec $((300 * MB)) "$PW")"
check "alice's home is mounted" mountpoint -q /home/alice
check "alice's home is the directory alice of its file system" test "$(findmnt -n -o FSROOT /home/alice)" = /alice
expect 1 "removing the volume of an active home is refused" remove alice
grep -q "in use" err.txt && ok "refusal says in use" || bad "remove in use: $(< err.txt)"
: > "$work/sums"
MNT_SAVED=$MNT
MNT=/home/alice
start_writer
w resize 0 "$(rec $((400 * MB)) "$PW")"
sleep 1
stop_writer
verify_data "LUKS home grown online"
check "the volume grew to 25 extents (400M)" test "$(st 'vol("alice")["size"]')" = $((25 * ESB))
size=$(df -B1M --output=size /home/alice | tail -n 1 | tr -d ' ')
check "btrfs inside grew online (${size}M)" test "$size" -gt 350
expect 0 "check after the online grow" check
check "check is consistent" test "$(< out.txt)" = "pool: consistent"
expect 1 "hearth-pool shrink under the open LUKS mapping is refused" shrink alice -16M
grep -q "LUKS mapping home-alice on it reaches past" err.txt && ok "refusal names the mapping" || bad "shrink refusal: $(< err.txt)"
start_writer
w resize 0 "$(rec $((320 * MB)) "$PW")"
stop_writer
verify_data "LUKS home shrunk online"
check "the volume shrank to 20 extents (320M)" test "$(dev_size alice)" = $((20 * ESB))
expect 0 "check after the online shrink" check
# The pool lock covers a LUKS home's whole resize (storage/pool/pool.h):
# hearth-pool's "the mapping fits" check must not run between hearth-work's
# volume change and its mapping change. Stopped right after the mapping
# changed, hearth-work must still hold the lock, growing and shrinking.
lock_held_at_mapping() { # lock_held_at_mapping SIZE WHAT
    local hw rc st i
    printf '%s' "$(rec "$1" "$PW")" |
        HEARTH_FAILPOINT=luks-resize-mapping:stop "$HW_BIN" resize > hw.out 2> hw.err &
    hw=$!
    st=
    for i in $(seq 600); do
        st=$(awk '{ print $3 }' /proc/$hw/stat 2> /dev/null)
        [ "$st" = T ] || [ -z "$st" ] && break
        sleep 0.1
    done
    if [ "$st" = T ]; then
        flock -n -E 99 /run/hearth/pool.lock true; rc=$?
        check "$2: hearth-work holds the pool lock past its mapping change" test "$rc" = 99
        kill -CONT $hw
    else
        bad "$2: hearth-work did not stop at luks-resize-mapping: $(tail -n 3 hw.err)"
    fi
    wait $hw; rc=$?
    check "$2: hearth-work resize finished (exit $rc)" test "$rc" = 0
}
lock_held_at_mapping $((352 * MB)) "grow"
check "the volume grew to 22 extents (352M)" test "$(dev_size alice)" = $((22 * ESB))
lock_held_at_mapping $((320 * MB)) "shrink"
check "the volume shrank to 20 extents again" test "$(dev_size alice)" = $((20 * ESB))
expect 0 "check after the resizes under the lock" check
MNT=$MNT_SAVED
w deactivate 0 "$(rec $((320 * MB)))"
dm_remove alice
w activate 0 "$(rec $((320 * MB)) "$PW")"
grep -q "was not active; activated it" hw.err && ok "activate brought the pool volume up itself" || bad "activate: $(< hw.err)"
verify_data "LUKS home after its volume was brought up again"
w deactivate 0 "$(rec $((320 * MB)))"
w remove 0 "$(rec $((320 * MB)))"
check "alice's volume is gone, its extents are free" test "$(st '(vol("alice"), s["free_extents"])')" = "(None, $free0)"
check "no device left" test ! -e /dev/mapper/hearth-pool-alice
consistent "after the LUKS home went"

stamp "done"
say "pool ($mode): $fails failures"
[ "$fails" = 0 ]
