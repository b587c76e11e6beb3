#!/bin/bash
# Runs inside the VM (tests/vm/run --disk home:3G): hearthd sharing the
# free space of the home root's file system among active LUKS homes by
# their rebalanceWeight (Rebalance(), homectl rebalance), keeping
# [Rebalance] KeepFree= free, leaving a home of weight off alone; then
# autoResizeMode shrink-and-grow: a btrfs home shrinks at deactivation and
# grows back to its diskSize at activation, data intact; hearthd and the
# worker killed at each step of a grow and a shrink, the step finished at
# the next start.
# Usage: rebalance-inside.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
MB=1048576
# The home root: a file system of its own, so that its free space is known.
ROOT=/mnt/rebalance-homes
mkdir -p "$ROOT"
mkfs.ext4 -q -F "$HEARTH_VM_DISK_HOME" >/dev/null 2>&1 || { echo "FAIL: mkfs.ext4"; exit 1; }
mount "$HEARTH_VM_DISK_HOME" "$ROOT" || { echo "FAIL: mount"; exit 1; }
HEARTHD_HOME_ROOT=$ROOT
HEARTHD_CONFIG=$(mktemp /tmp/rebalance-conf.XXXXXX)
cat >"$HEARTHD_CONFIG" <<'CONF'
[Rebalance]
Automatic=no
KeepFree=512M
ActiveMargin=64M
CONF
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL

size_of() { stat -c %s "$ROOT/$1.home"; }
free_on_root() { df -B1 --output=avail "$ROOT" | tail -1 | tr -d ' '; }
disk_size_of() { "$homectl" inspect --json=short "$1" | jq -r '.diskSize'; }
# Her data, not ~/.identity (rewritten with each update of her record).
sums() { sha256sum <"$1/data.bin"; }

for u in ann bob cid; do
    cat >"$HEARTHD_TMP/$u.json" <<JSON
{"userName":"$u","storage":"luks","fileSystemType":"btrfs","diskSize":$((300 * MB)),
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
    check "create $u" 0 env NEWPASSWORD="$u-pw" "$homectl" create --identity="$HEARTHD_TMP/$u.json"
done
check "bob's weight 300" 0 "$homectl" update bob --rebalance-weight=300
check "cid left out" 0 "$homectl" update cid --rebalance-weight=off
"$homectl" inspect --json=short cid >"$HEARTHD_TMP/cid.rec" 2>&1
contains "cid's record says rebalanceWeight false" "$HEARTHD_TMP/cid.rec" '"rebalanceWeight":false'
check "a weight over 10000 is refused" 2 "$homectl" update bob --rebalance-weight=10001
check "an unknown autoResizeMode is refused" 2 "$homectl" update bob --auto-resize-mode=sometimes

check "no active home: nothing to rebalance" 0 "$homectl" rebalance
contains "homectl says so" "$HEARTHD_TMP/err" "No homes needed rebalancing"

for u in ann bob cid; do
    check "activate $u" 0 env PASSWORD="$u-pw" "$homectl" activate "$u"
done
# 40 MiB of data in ann's home, to find intact after her resizes.
dd if=/dev/urandom of="$ROOT/ann/data.bin" bs=1M count=40 status=none && sync
ann_sums=$(sums "$ROOT/ann")
cid_before=$(size_of cid)

check "rebalance" 0 "$homectl" rebalance
contains "homectl says it completed" "$HEARTHD_TMP/err" "Completed rebalancing"
ann=$(size_of ann) bob=$(size_of bob) cid=$(size_of cid) free=$(free_on_root)
echo "after rebalance: ann $((ann / MB))M bob $((bob / MB))M cid $((cid / MB))M, $((free / MB))M free"
[ "$cid" = "$cid_before" ] && ok "weight off: cid untouched" || bad "cid: $cid_before → $cid"
[ "$ann" -gt $((300 * MB)) ] && [ "$bob" -gt $((300 * MB)) ] && ok "both weighted homes grew into the free space" ||
    bad "ann $ann, bob $bob"
# bob : ann = 3 : 1, give or take rounding and what changed meanwhile.
ratio=$((bob * 100 / ann))
[ "$ratio" -ge 270 ] && [ "$ratio" -le 330 ] && ok "bob has three times ann's share (${ratio}%)" || bad "bob/ann = ${ratio}%"
[ "$free" -ge $((480 * MB)) ] && ok "the floor of 512M stays free ($((free / MB))M)" || bad "only $((free / MB))M free"
[ "$free" -le $((700 * MB)) ] && ok "and no more than the floor is left unshared" || bad "$((free / MB))M left free"
[ "$(disk_size_of ann)" = "$ann" ] && ok "ann's diskSize follows" || bad "ann's diskSize $(disk_size_of ann), image $ann"
df -B1 --output=size "$ROOT/bob" | tail -1 | tr -d ' ' >"$HEARTHD_TMP/bobfs"
[ "$(cat "$HEARTHD_TMP/bobfs")" -gt $((bob - 64 * MB)) ] && ok "bob's btrfs grew with its image" ||
    bad "bob's btrfs: $(cat "$HEARTHD_TMP/bobfs") of $bob"
[ "$(sums "$ROOT/ann")" = "$ann_sums" ] && ok "ann's data intact" || bad "ann's data changed"
[ "$("$homectl" list --no-legend | awk '$1 == "ann" { print $4 }')" = active ] && ok "ann still active" ||
    bad "ann: $("$homectl" list --no-legend)"
check "rebalance again: nothing to change" 0 "$homectl" rebalance
contains "homectl says none needed it" "$HEARTHD_TMP/err" "No homes needed rebalancing"

# Ann's weight rises: space moves from bob to ann.
check "ann's weight 900" 0 "$homectl" update ann --rebalance-weight=900
check "rebalance after the weights changed" 0 "$homectl" rebalance
ann2=$(size_of ann) bob2=$(size_of bob) free2=$(free_on_root)
echo "after the second rebalance: ann $((ann2 / MB))M bob $((bob2 / MB))M, $((free2 / MB))M free"
[ "$ann2" -gt "$ann" ] && [ "$bob2" -lt "$bob" ] && ok "space moved from bob (shrunk online) to ann" ||
    bad "ann $ann → $ann2, bob $bob → $bob2"
[ "$free2" -ge $((480 * MB)) ] && ok "the floor still free ($((free2 / MB))M)" || bad "only $((free2 / MB))M free"
[ "$(sums "$ROOT/ann")" = "$ann_sums" ] && ok "ann's data intact" || bad "ann's data changed"
check "as another user: refused" 77 setpriv --reuid=60001 --regid=60001 --clear-groups "$homectl" rebalance
contains "access denied" "$HEARTHD_TMP/err" "ccess denied"

# ---- autoResizeMode shrink-and-grow (the default for LUKS homes) --------------------------
check "deactivate ann" 0 "$homectl" deactivate ann
small=$(size_of ann)
[ "$small" -lt $((ann2 / 2)) ] && ok "ann shrank at deactivation ($((ann2 / MB))M → $((small / MB))M)" ||
    bad "ann at deactivation: $((small / MB))M of $((ann2 / MB))M"
[ "$(disk_size_of ann)" = "$ann2" ] && ok "her diskSize stays" || bad "diskSize $(disk_size_of ann)"
check "activate ann" 0 env PASSWORD=ann-pw "$homectl" activate ann
[ "$(size_of ann)" = "$ann2" ] && ok "ann grew back to her diskSize at activation" ||
    bad "ann at activation: $(size_of ann), diskSize $ann2"
[ "$(sums "$ROOT/ann")" = "$ann_sums" ] && ok "ann's data intact after shrink and grow" || bad "ann's data changed"
check "ann: autoResizeMode grow" 0 "$homectl" update ann --auto-resize-mode=grow
check "deactivate ann" 0 "$homectl" deactivate ann
[ "$(size_of ann)" = "$ann2" ] && ok "grow only: no shrink at deactivation" || bad "ann: $(size_of ann)"
check "cid: autoResizeMode off" 0 "$homectl" update cid --auto-resize-mode=off
check "deactivate cid" 0 "$homectl" deactivate cid
[ "$(size_of cid)" = "$cid_before" ] && ok "off: cid keeps its size" || bad "cid: $(size_of cid)"
check "the header's record was rewritten at activation: ann activates again" 0 \
    env PASSWORD=ann-pw "$homectl" activate ann
# A user owns her home's mount point and may mount over it (FUSE): its
# statvfs() would tell hearthd nothing true (all 0), so a home whose topmost
# mount is not its own file system is left out (attack10 finding 3).
modprobe fuse 2>/dev/null
if [ -c /dev/fuse ]; then
    bob_before=$(size_of bob)
    truncate -s 1M "$HEARTHD_TMP/fuse-file"
    python3 "$SRCDIR/tests/host/fuse-passthrough.py" "$HEARTHD_TMP/fuse-file" "$ROOT/bob" &
    fuse_pid=$!
    for i in $(seq 100); do grep -q " $ROOT/bob .* - fuse" /proc/self/mountinfo && break; sleep 0.1; done
    "$homectl" rebalance > /dev/null 2>&1
    [ "$(size_of bob)" = "$bob_before" ] && ok "bob, with a FUSE mount over his home, is left out" ||
        bad "bob resized from $bob_before to $(size_of bob) under a FUSE mount"
    contains "hearthd says why" "$HEARTHD_LOG" "is not the home's own file system"
    umount "$ROOT/bob"
    kill "$fuse_pid" 2>/dev/null; wait "$fuse_pid" 2>/dev/null
else
    echo "skip: no /dev/fuse in the VM"
fi
# ---- hearthd killed mid-rebalance -------------------------------------------------
# At each step of a grow and of a shrink of ann's image that writes, the
# worker stops itself (HEARTH_FAILPOINT=<step>:stop); hearthd and the
# worker are killed with SIGKILL; the restarted hearthd finds the step it
# left (rebalance-step in its runtime directory) and asks for the same
# size again. Then the image, its LUKS mapping and btrfs agree, the record
# says the image's size and ann's data is intact. A 256M file on the home
# root takes the free space under the floor and gives it back, so that
# ann alone (bob is left out now) shrinks or grows.
check "bob left out" 0 "$homectl" update bob --rebalance-weight=off
check "rebalance with ann alone" 0 "$homectl" rebalance
mapping_size() { blockdev --getsize64 "$(findmnt -no SOURCE "$ROOT/$1" | sed 's/\[.*//')"; }
btrfs_size() { btrfs filesystem show --raw "$ROOT/$1" | awk '/devid/ { print $4; exit }'; }
agree() { # the mapping is the image less GPT and LUKS2 header; btrfs spans the mapping
    local i m b
    i=$(size_of "$1") m=$(mapping_size "$1") b=$(btrfs_size "$1")
    [ "$m" -lt "$i" ] && [ $((i - m)) -le $((32 * MB)) ] && [ "$b" = "$m" ] &&
        ok "$1: image $((i / MB))M, mapping $((m / MB))M, btrfs $((b / MB))M agree$2" ||
        bad "$1: image $i, mapping $m, btrfs $b$2"
}
kill_round() { # kill_round shrink|grow FAILPOINT
    local dir=$1 fp=$2 before after i
    if [ "$dir" = shrink ]; then
        fallocate -l 256M "$ROOT/filler" && sync
    else
        rm -f "$ROOT/filler" && sync
    fi
    before=$(size_of ann)
    hearthd_kill_mid "$fp" "$homectl" rebalance || return
    for i in $(seq 600); do [ -e "$HEARTHD_RUNTIME_DIR/rebalance-step" ] || break; sleep 0.1; done
    [ ! -e "$HEARTHD_RUNTIME_DIR/rebalance-step" ] && ok "$fp: the $dir cut short was finished after the restart" ||
        bad "$fp: the step is still noted a minute after the restart"
    after=$(size_of ann)
    { [ "$dir" = shrink ] && [ "$after" -lt "$before" ]; } || { [ "$dir" = grow ] && [ "$after" -gt "$before" ]; } &&
        ok "$fp: ann's image $((before / MB))M → $((after / MB))M" || bad "$fp: ann $before → $after ($dir)"
    agree ann " ($fp)"
    [ "$(disk_size_of ann)" = "$after" ] && ok "$fp: ann's diskSize is her image's" ||
        bad "$fp: diskSize $(disk_size_of ann), image $after"
    [ "$(sums "$ROOT/ann")" = "$ann_sums" ] && ok "$fp: ann's data intact" || bad "$fp: ann's data changed"
}
for round in shrink:luks-resize-fs grow:luks-resize-container shrink:luks-resize-mapping grow:luks-resize-mapping \
             shrink:luks-resize-container grow:luks-resize-fs; do
    kill_round "${round%%:*}" "${round#*:}"
done
rm -f "$ROOT/filler"
contains "hearthd said it finished a step cut short" "$HEARTHD_LOG" "was cut short (hearthd was killed); finishing it"

check "deactivate everything" 0 "$homectl" deactivate ann bob
for u in ann bob cid; do check "remove $u" 0 "$homectl" remove "$u"; done
hearthd_finish
