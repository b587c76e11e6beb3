#!/bin/sh
# While a Btrfs quota rescan runs, the kernel counts every quota group again
# from 0: a home reads as (nearly) empty. Under full qgroups any user can
# start one (a snapshot of her home made inside it, which hearthd's sweep
# puts into her group). Rebalance() run then must not plan another home's
# quota from that count, nor the worker let a shrink below what the home
# holds through: the home root's subvolume homes are left out of the run
# (hearthd/rebalance-run.c; btrfs_qgroup_get() says EBUSY, storage/btrfs-quota.c),
# and the run after the rescan sizes them from whole counts.
# The rescan is held still with fsfreeze (the kernel's rescan worker waits
# for the frozen file system), which makes the test deterministic.
#   test-rebalance-rescan.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

_hearthd_init
command -v btrfs >/dev/null || hearthd_skip "needs btrfs-progs"
command -v fsfreeze >/dev/null || hearthd_skip "needs fsfreeze"
hearthd_setup_btrfs 2G
R=$HEARTHD_HOME_ROOT
hearthd_at_exit "fsfreeze -u '$R' 2>/dev/null"
# Full qgroups, as where quota was on before Hearth (or Linux < 6.7): Hearth
# itself turns on simple quotas, which have no rescan.
btrfs quota enable "$R" || hearthd_skip "cannot enable quota"
# No sweep: nothing but the calls below runs a worker on the frozen file system.
printf '[Quota]\nNestedSubvolumeCheckSec=0\n[Rebalance]\nAutomatic=no\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"
MiB=1048576

call() { hearthd_call "$@"; }
record() {
    printf '{"userName":"%s","storage":"subvolume","disposition":"regular","diskSize":%s,"rebalanceWeight":100,"secret":{"password":["%s-pw"]}}' \
        "$1" $((1536 * MiB)) "$1"
}
size_of() { call GetUserRecordByName string:"$1" | grep -o '"diskSize":[0-9]*' | head -n1 | cut -d: -f2; }
group_of() { # the referenced bytes (field 2) or limit (field 4) of 1/ID, in MiB
    btrfs qgroup show --raw -r "$R" 2>/dev/null | awk -v g="1/$1" -v f="$2" '$1 == g { print int($f / 1048576) }'
}
rescan_running() { btrfs quota rescan -s "$R" 2>/dev/null | grep -q "operation running"; }

# Extents for the rescan to walk before it reaches alice's data, written
# after them: thousands of small files, and snapshots that share them.
btrfs subvolume create "$R/.filler" >/dev/null || { bad "cannot make the filler subvolume"; hearthd_finish; }
python3 -c "
import os
b = os.urandom(4096)
for i in range(4000):
    with open('$R/.filler/f%d' % i, 'wb') as f: f.write(b)
os.sync()" || bad "cannot write the filler"
for i in 1 2 3 4; do btrfs subvolume snapshot "$R/.filler" "$R/.filler/s$i" >/dev/null; done

check "create alice (subvolume, 1.5G, weight 100)" 0 call CreateHome string:"$(record alice)"
check "create bob (subvolume, 1.5G, weight 100)" 0 call CreateHome string:"$(record bob)"
aid=$(btrfs inspect-internal rootid "$R/alice.homedir")
check "alice holds 900M (within her 1.5G)" 0 dd if=/dev/urandom of="$R/alice.homedir/data" bs=1M count=900 conv=fsync status=none
btrfs quota rescan -w "$R" >/dev/null 2>&1
btrfs filesystem sync "$R"
used=$(group_of "$aid" 2)
echo "alice's usage (1/$aid): $used MiB"
[ -n "$used" ] && [ "$used" -ge 900 ] && ok "her group counts it" || bad "her group reads $used MiB"

# hold_rescan MAX_MIB: starts a rescan and freezes the file system while it
# runs, before it counted more than MAX_MIB of alice's group (tries again
# where it ended first); $partial is what the group reads then.
hold_rescan() {
    for _try in 1 2 3 4 5 6 7 8; do
        btrfs quota rescan "$R" >/dev/null 2>&1
        fsfreeze -f "$R"
        partial=$(group_of "$aid" 2)
        rescan_running && [ -n "$partial" ] && [ "$partial" -le "$1" ] && return 0
        fsfreeze -u "$R"
        btrfs quota rescan -w "$R" >/dev/null 2>&1
    done
    return 1
}
if ! hold_rescan $((used / 2)); then
    bad "could not hold a rescan before it counted alice's data"
    hearthd_finish
fi
ok "a rescan is running (held), alice's group reads $partial MiB of her $used"

# Today's hearthd would plan alice at ~300M here and its worker, reading
# the same numbers, let the shrink through once the file system thaws.
call Rebalance >"$HEARTHD_TMP/rebal.out" 2>&1 &
rebal=$!
i=0
while kill -0 $rebal 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
fsfreeze -u "$R"
wait $rebal
rc=$?
echo "Rebalance during the rescan: rc=$rc $(grep -o 'Error.*' "$HEARTHD_TMP/rebal.out" | head -n1)"
contains "Rebalance during the rescan has nothing to do" "$HEARTHD_TMP/rebal.out" "RebalanceNotNeeded"
contains "hearthd says why the subvolume homes were left out" "$HEARTHD_LOG" \
    "quota counts of $R are being redone (a rescan runs) or are inconsistent"
n=$(grep -c "quota counts of $R are being redone" "$HEARTHD_LOG")
[ "$n" = 1 ] && ok "said once" || bad "said $n times"
btrfs quota rescan -w "$R" >/dev/null 2>&1
a=$(size_of alice)
[ "$a" = $((1536 * MiB)) ] && ok "alice's diskSize untouched" || bad "alice's diskSize: $a"
[ "$(group_of "$aid" 4)" = 1536 ] && ok "alice's limit untouched" || bad "alice's limit: $(group_of "$aid" 4) MiB"

# The worker's own check: a shrink while the counts are being redone is
# refused, a grow goes through.
if hold_rescan "$used"; then
    "$HEARTHD_HOMECTL" --no-ask-password resize alice 300M >"$HEARTHD_TMP/out" 2>&1 &
    rz=$!
    i=0
    while kill -0 $rz 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
    kill -0 $rz 2>/dev/null && still=yes || still=no
    fsfreeze -u "$R"
    wait $rz
    rc=$?
    [ $still = no ] && ok "the worker did not wait for the frozen file system" || bad "the resize waited for the thaw"
    [ $rc != 0 ] && ok "the worker refuses to shrink alice to 300M during a rescan" || bad "resize to 300M: rc 0"
    contains "and says why" "$HEARTHD_LOG" "home alice: cannot shrink its quota now"
else
    bad "could not hold a second rescan"
fi
btrfs quota rescan -w "$R" >/dev/null 2>&1
[ "$(group_of "$aid" 4)" -ge 900 ] && ok "alice's limit still above her usage" || bad "alice's limit: $(group_of "$aid" 4) MiB"
check "alice writes 8M more" 0 dd if=/dev/zero of="$R/alice.homedir/more" bs=1M count=8 conv=fsync status=none

# With whole counts, the next run sizes both from what they hold.
check "Rebalance after the rescan" 0 call Rebalance
a=$(size_of alice)
echo "alice's diskSize after: $((a / MiB)) MiB (usage $used MiB)"
[ -n "$a" ] && [ $((a / MiB)) -ge "$used" ] && ok "alice is not planned below her usage" || bad "alice planned at $a"
hearthd_finish
