#!/bin/bash
# Runs inside the VM (tests/vm/run --disk pool:…:gpt-root-gap-home): hearthd
# sharing the extent pool's free extents among LUKS homes on pool volumes
# by their rebalanceWeight (Rebalance(), homectl rebalance): the volume,
# the LUKS mapping and btrfs inside grown and shrunk online together, in
# whole extents, [Rebalance] KeepFree= left free in the pool, a home of
# weight off untouched, a filled home never below its usage plus
# ActiveMargin=, PropertiesChanged for each home resized, data intact;
# then hearthd and its worker killed at each step of a grow and a shrink
# that writes, and the step finished at the next start.
# Usage: rebalance-pool-inside.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
MB=1048576
HEARTHD_CONFIG=$(mktemp /tmp/rebalance-conf.XXXXXX)
cat >"$HEARTHD_CONFIG" <<'CONF'
[Rebalance]
Automatic=no
KeepFree=128M
ActiveMargin=64M
CONF
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
ROOT=$HEARTHD_HOME_ROOT
disk=$HEARTH_VM_DISK_POOL
home=${disk}2
pool_part=${disk}3
EXTENT=$((16 * MB))
settle() { [ "$HEARTH_VM_UDEV" = 1 ] && udevadm settle --timeout=60; true; }
hearthd_at_exit 'for v in $(dmsetup ls 2>/dev/null | awk "/^hearth-pool-/ { print \$1 }"); do dmsetup remove --retry "$v" 2>/dev/null; done'

p1_end=$(( $(cat "/sys/class/block/${disk##*/}1/start") + $(cat "/sys/class/block/${disk##*/}1/size") ))
h_start=$(cat "/sys/class/block/${disk##*/}2/start")
echo "start=$p1_end, size=$((h_start - p1_end)), name=pool" | sfdisk --quiet --append "$disk" >/dev/null
settle
for _ in $(seq 50); do [ -b "$pool_part" ] && break; sleep 0.1; done
check "pool init" 0 "$homectl" pool init "$home" "$pool_part" --extent-size=16M
check "pool activate" 0 "$homectl" pool activate

pool_json() { "$homectl" pool status --json=short; }
vol_size() { pool_json | jq -r --arg v "$1" '.volumes[] | select(.name == $v) | .size'; }
pool_free() { pool_json | jq -r '.free_bytes'; }
# The home's LUKS mapping (the source of its mount) and btrfs's device size.
mapping_size() { blockdev --getsize64 "$(findmnt -no SOURCE "$ROOT/$1" | sed "s/\[.*//")"; }
btrfs_size() { btrfs filesystem show --raw "$ROOT/$1" | awk '/devid/ { print $4; exit }'; }
disk_size_of() { "$homectl" inspect --json=short "$1" | jq -r '.diskSize'; }
sums() { sha256sum <"$ROOT/$1/data.bin"; }
# The volume, the LUKS mapping and btrfs agree: the mapping is the volume
# less the LUKS2 header, btrfs spans the mapping.
agree() {
    local v m b
    v=$(vol_size "$1") m=$(mapping_size "$1") b=$(btrfs_size "$1")
    [ $((v % EXTENT)) = 0 ] && [ "$m" -lt "$v" ] && [ $((v - m)) -le $((32 * MB)) ] && [ "$b" = "$m" ] &&
        ok "$1: volume $((v / MB))M, mapping $((m / MB))M, btrfs $((b / MB))M agree$2" ||
        bad "$1: volume $v, mapping $m, btrfs $b$2"
}

for u in ann bob cid; do
    cat >"$HEARTHD_TMP/$u.json" <<JSON
{"userName":"$u","storage":"luks","fileSystemType":"btrfs","diskSize":$((320 * MB)),
 "imagePath":"/dev/mapper/hearth-pool-$u","luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
    check "create $u on pool volume $u" 0 env NEWPASSWORD="$u-pw" "$homectl" create --identity="$HEARTHD_TMP/$u.json"
    check "activate $u" 0 env PASSWORD="$u-pw" "$homectl" activate "$u"
done
check "bob's weight 300" 0 "$homectl" update bob --rebalance-weight=300
check "cid left out" 0 "$homectl" update cid --rebalance-weight=off
cid_before=$(vol_size cid)
[ "$cid_before" = $((320 * MB)) ] && ok "cid's volume is 320M" || bad "cid's volume: $cid_before"

# Data in ann's home, to find intact after her resizes: a little random,
# zeros to fill (random bytes cost much under emulation).
dd if=/dev/urandom of="$ROOT/ann/data.bin" bs=1M count=8 status=none
dd if=/dev/zero of="$ROOT/ann/fill.bin" bs=1M count=96 conv=fsync status=none
ann_sums=$(sums ann)

# PropertiesChanged of the homes' objects while Rebalance runs.
dbus-monitor --system "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
    >"$HEARTHD_TMP/monitor" 2>&1 &
mon=$!
hearthd_at_exit "kill $mon 2>/dev/null"
sleep 1
free0=$(pool_free)
check "rebalance" 0 "$homectl" rebalance
contains "homectl says it completed" "$HEARTHD_TMP/err" "Completed rebalancing"
sleep 1
ann=$(vol_size ann) bob=$(vol_size bob) cid=$(vol_size cid) free=$(pool_free)
echo "after rebalance: ann $((ann / MB))M bob $((bob / MB))M cid $((cid / MB))M, pool $((free0 / MB))M → $((free / MB))M free"
[ "$cid" = "$cid_before" ] && ok "weight off: cid's volume untouched" || bad "cid: $cid_before → $cid"
[ "$ann" -gt $((320 * MB)) ] && [ "$bob" -gt $((320 * MB)) ] && ok "both weighted homes grew into the pool" ||
    bad "ann $ann, bob $bob"
ratio=$((bob * 100 / ann))
[ "$ratio" -ge 270 ] && [ "$ratio" -le 330 ] && ok "bob has three times ann's share (${ratio}%)" || bad "bob/ann = ${ratio}%"
[ "$free" -ge $((128 * MB)) ] && ok "KeepFree=128M stays free in the pool ($((free / MB))M)" || bad "only $((free / MB))M free"
[ "$free" -le $((128 * MB + 2 * EXTENT)) ] && ok "and no more than the floor and rounding is left" ||
    bad "$((free / MB))M left free"
agree ann ""
agree bob ""
[ "$(disk_size_of ann)" = "$ann" ] && ok "ann's diskSize follows" || bad "ann's diskSize $(disk_size_of ann), volume $ann"
[ "$(sums ann)" = "$ann_sums" ] && ok "ann's data intact" || bad "ann's data changed"
changed() { grep -q "path=/org/freedesktop/home1/home/$1; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged" \
    "$HEARTHD_TMP/monitor"; }
for u in ann bob; do changed "$u" && ok "PropertiesChanged for $u" || bad "no PropertiesChanged for $u"; done
changed cid && bad "PropertiesChanged for cid, which did not change" || ok "none for cid"
kill "$mon" 2>/dev/null; wait "$mon" 2>/dev/null
check "rebalance again: nothing to change" 0 "$homectl" rebalance
contains "homectl says none needed it" "$HEARTHD_TMP/err" "No homes needed rebalancing"

# Ann fills her home past what her share would be at weight 1: she keeps
# her usage plus the margin, bob takes the rest; then her weight rises and
# space moves from bob (shrunk online) to her.
check "ann's weight 1" 0 "$homectl" update ann --rebalance-weight=1
check "rebalance with ann at weight 1" 0 "$homectl" rebalance
ann1=$(vol_size ann) bob1=$(vol_size bob)
used=$(df -B1 --output=used "$ROOT/ann" | tail -1 | tr -d ' ')
echo "ann at weight 1: ann $((ann1 / MB))M (uses $((used / MB))M) bob $((bob1 / MB))M"
[ "$ann1" -lt "$ann" ] && [ "$bob1" -gt "$bob" ] && ok "space moved from ann (shrunk online) to bob" ||
    bad "ann $ann → $ann1, bob $bob → $bob1"
[ "$ann1" -ge $((used + 64 * MB)) ] && ok "ann not below her usage plus ActiveMargin" ||
    bad "ann $((ann1 / MB))M, uses $((used / MB))M"
agree ann " after a shrink"
[ "$(sums ann)" = "$ann_sums" ] && ok "ann's data intact after the shrink" || bad "ann's data changed"
check "ann's weight 900" 0 "$homectl" update ann --rebalance-weight=900
check "rebalance after the weights changed" 0 "$homectl" rebalance
ann2=$(vol_size ann) bob2=$(vol_size bob) free2=$(pool_free)
echo "ann at weight 900: ann $((ann2 / MB))M bob $((bob2 / MB))M, $((free2 / MB))M free"
[ "$ann2" -gt "$ann1" ] && [ "$bob2" -lt "$bob1" ] && ok "space moved from bob (shrunk online) to ann" ||
    bad "ann $ann1 → $ann2, bob $bob1 → $bob2"
ratio=$((ann2 * 100 / bob2))
[ "$ratio" -ge 270 ] && [ "$ratio" -le 330 ] && ok "ann has three times bob's share (${ratio}%)" || bad "ann/bob = ${ratio}%"
[ "$free2" -ge $((128 * MB)) ] && ok "the floor still free ($((free2 / MB))M)" || bad "only $((free2 / MB))M free"
agree ann " after a grow"
agree bob " after a shrink"
[ "$(sums ann)" = "$ann_sums" ] && ok "ann's data intact" || bad "ann's data changed"
check "pool check" 0 "$homectl" pool check
contains "consistent" "$HEARTHD_TMP/out" "pool: consistent"

# ---- hearthd killed mid-rebalance -------------------------------------------------
# At each step of a grow and of a shrink that writes, the worker resizing
# ann stops itself (HEARTH_FAILPOINT=<step>:stop); hearthd and the worker
# are killed with SIGKILL; the restarted hearthd finds the step it left
# (rebalance-step in its runtime directory) and asks for the same size
# again. Then the volume, the mapping and btrfs agree, the record says the
# volume's size and ann's data is intact. cid's size moves the pool's free
# space under or over the floor, so that ann alone (bob is left out now)
# shrinks or grows.
check "bob left out" 0 "$homectl" update bob --rebalance-weight=off
check "rebalance with ann alone" 0 "$homectl" rebalance
cid_small=$(vol_size cid)
kill_round() { # kill_round shrink|grow FAILPOINT
    local dir=$1 fp=$2 before i
    if [ "$dir" = shrink ]; then
        check "$fp: cid takes 96M of the pool" 0 env PASSWORD=cid-pw "$homectl" resize cid $((cid_small + 96 * MB))
    else
        check "$fp: cid gives 96M back" 0 env PASSWORD=cid-pw "$homectl" resize cid "$cid_small"
    fi
    before=$(vol_size ann)
    hearthd_kill_mid "$fp" "$homectl" rebalance || return
    for i in $(seq 600); do [ -e "$HEARTHD_RUNTIME_DIR/rebalance-step" ] || break; sleep 0.1; done
    [ ! -e "$HEARTHD_RUNTIME_DIR/rebalance-step" ] && ok "$fp: the $dir cut short was finished after the restart" ||
        bad "$fp: the step is still noted a minute after the restart"
    local after
    after=$(vol_size ann)
    { [ "$dir" = shrink ] && [ "$after" -lt "$before" ]; } || { [ "$dir" = grow ] && [ "$after" -gt "$before" ]; } &&
        ok "$fp: ann's volume $((before / MB))M → $((after / MB))M" || bad "$fp: ann $before → $after ($dir)"
    agree ann " ($fp)"
    [ "$(disk_size_of ann)" = "$after" ] && ok "$fp: ann's diskSize is her volume's" ||
        bad "$fp: diskSize $(disk_size_of ann), volume $after"
    [ "$(sums ann)" = "$ann_sums" ] && ok "$fp: ann's data intact" || bad "$fp: ann's data changed"
}
for round in shrink:luks-resize-fs grow:grow-allocated shrink:luks-resize-mapping grow:grow-commit-pool \
             shrink:shrink-fs grow:grow-commit-home shrink:shrink-reloaded grow:grow-reloaded \
             shrink:shrink-commit-pool grow:grow-fs shrink:shrink-commit-home grow:luks-resize-container \
             shrink:luks-resize-mapping grow:luks-resize-mapping shrink:luks-resize-fs grow:luks-resize-fs; do
    kill_round "${round%%:*}" "${round#*:}"
done
contains "hearthd said it finished a step cut short" "$HEARTHD_LOG" "was cut short (hearthd was killed); finishing it"
check "pool check after the kills" 0 "$homectl" pool check
contains "consistent" "$HEARTHD_TMP/out" "pool: consistent"

check "deactivate everything" 0 "$homectl" deactivate ann bob cid
check "activate ann again" 0 env PASSWORD=ann-pw "$homectl" activate ann
[ "$(sums ann)" = "$ann_sums" ] && ok "ann's data intact after reactivation" || bad "ann's data changed"
check "deactivate ann" 0 "$homectl" deactivate ann
for u in ann bob cid; do check "remove $u" 0 "$homectl" remove "$u"; done
hearthd_finish
