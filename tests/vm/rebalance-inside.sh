#!/bin/bash
# Runs inside the VM (tests/vm/run --disk home:3G): hearthd sharing the
# free space of the home root's file system among active LUKS homes by
# their rebalanceWeight (Rebalance(), homectl rebalance), keeping
# [Rebalance] KeepFree= free, leaving a home of weight off alone; then
# autoResizeMode shrink-and-grow: a btrfs home shrinks at deactivation and
# grows back to its diskSize at activation, data intact.
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
check "deactivate everything" 0 "$homectl" deactivate ann bob
for u in ann bob cid; do check "remove $u" 0 "$homectl" remove "$u"; done
hearthd_finish
