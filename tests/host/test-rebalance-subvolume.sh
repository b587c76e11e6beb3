#!/bin/sh
# Rebalance() shares the home root's free space among subvolume homes whose
# record sets a rebalanceWeight, as quota limits by weight (issue "Space and
# lifecycle"; hearthd/rebalance-run.c): active or not; a subvolume home
# without a weight keeps its limit; KeepFree= stays free; a second call has
# nothing to do. The LUKS half runs in the VM (vm-rebalance).
#   test-rebalance-subvolume.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

HEARTHD_BTRFS_SIZE=1G
_hearthd_init
# The quota sweep's inspect (every second here) keeps the records'
# diskUsage current for the checks below; Rebalance itself reads each
# home's quota group when it runs.
printf '[Rebalance]\nAutomatic=no\nKeepFree=20%%\n[Quota]\nNestedSubvolumeCheckSec=1\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"
command -v btrfs >/dev/null || hearthd_skip "needs btrfs-progs"
R=$HEARTHD_HOME_ROOT
MiB=1048576

call() { hearthd_call "$@"; }
record() { # record USER EXTRA_JSON_MEMBERS
    printf '{"userName":"%s","storage":"subvolume","disposition":"regular","diskSize":104857600,"secret":{"password":["%s-pw"]}%s}' \
        "$1" "$1" "${2:-}"
}
size_of() { call GetUserRecordByName string:"$1" | grep -o '"diskSize":[0-9]*' | head -n1 | cut -d: -f2; }
usage_of() { call GetUserRecordByName string:"$1" | grep -o '"diskUsage":[0-9]*' | head -n1 | cut -d: -f2; }
wait_measured() { # wait_measured USER...: until hearthd knows their usage
    for _u in "$@"; do
        _i=0
        while [ -z "$(usage_of "$_u")" ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    done
}
limit_of() { # the qgroup's max_rfer of the home's subvolume
    btrfs qgroup show -re --raw "$R" 2>/dev/null | awk -v p="$1.homedir" '$NF == p { print $4 }'
}

check "create sam (weight 100)" 0 call CreateHome string:"$(record sam ',"rebalanceWeight":100')"
check "create tia (weight 300)" 0 call CreateHome string:"$(record tia ',"rebalanceWeight":300')"
check "create uma (no weight)" 0 call CreateHome string:"$(record uma)"
check "activate tia" 0 call ActivateHome string:tia string:'{"password":["tia-pw"]}'
check "Rebalance" 0 call Rebalance
sam=$(size_of sam) tia=$(size_of tia) uma=$(size_of uma)
echo "after: sam $sam, tia $tia, uma $uma"
[ -n "$sam" ] && [ -n "$tia" ] && [ "$sam" -gt $((100 * MiB)) ] && ok "sam grew past 100M ($sam)" || bad "sam: $sam"
# 1:3 within the rounding (whole MiB) and the homes' small usage.
if [ -n "$tia" ] && [ -n "$sam" ] && [ $((tia - 3 * sam)) -lt $((16 * MiB)) ] && [ $((3 * sam - tia)) -lt $((16 * MiB)) ]; then
    ok "tia has three times sam's share"
else
    bad "tia $tia vs sam $sam: not 3:1"
fi
[ "$uma" = $((100 * MiB)) ] && ok "uma, without a weight, keeps 100M" || bad "uma: $uma"
fs=$(df -B1 --output=size "$R" | tail -n 1)
[ $((sam + tia)) -le $((fs * 80 / 100)) ] && ok "KeepFree=20% stays out of the shares ($((sam + tia)) of $fs)" \
    || bad "shares $((sam + tia)) take more than 80% of $fs"
[ "$(limit_of sam)" = "$sam" ] && ok "sam's qgroup limit is her record's" || bad "sam's limit: $(limit_of sam), record $sam"
[ "$(limit_of tia)" = "$tia" ] && ok "tia's qgroup limit is hers (active)" || bad "tia's limit: $(limit_of tia), record $tia"
check "a second Rebalance has nothing to do" 1 call Rebalance
contains "RebalanceNotNeeded" "$HEARTHD_TMP/err" "RebalanceNotNeeded"

# A weight change moves the shares at the next call.
check "sam's weight to 300" 0 "$HEARTHD_HOMECTL" --no-ask-password update sam --rebalance-weight=300
check "Rebalance after the change" 0 call Rebalance
sam2=$(size_of sam) tia2=$(size_of tia)
d=$((sam2 - tia2)); [ "$d" -lt 0 ] && d=$((-d))
[ "$d" -lt $((16 * MiB)) ] && ok "equal weights, equal shares ($sam2, $tia2)" || bad "sam $sam2 vs tia $tia2"

# Killed mid-rebalance: the worker stopped right after it set a home's
# limit, before hearthd stored the record; hearthd and the worker killed.
# Nothing of the home is lost, and the next activation puts the record's
# limit back; a Rebalance then runs to its end.
check "sam's weight back to 100" 0 "$HEARTHD_HOMECTL" --no-ask-password update sam --rebalance-weight=100
export HEARTH_FAILPOINT=subvolume-resize-limit-set:stop
hearthd_restart
unset HEARTH_FAILPOINT
wait_measured sam tia
check "sam writes a file" 0 sh -c "echo precious > '$R/sam.homedir/precious' 2>/dev/null || echo precious > '$R/sam/precious'"
call Rebalance > /dev/null 2>&1 &
caller=$!
stopped=
for i in $(seq 300); do
    stopped=$(ps -eo pid=,ppid=,stat= | awk -v p="$HEARTHD_PID" '$2 == p && $3 ~ /^T/ { print $1; exit }')
    [ -n "$stopped" ] && break
    sleep 0.1
done
if [ -n "$stopped" ]; then
    ok "a resize stopped after setting the limit (worker $stopped)"
    victim=$(for u in sam tia; do l=$(limit_of $u); [ "$l" != "$(size_of $u)" ] && echo "$u (limit $l, record $(size_of $u))"; done | head -n 1)
    [ -n "$victim" ] && ok "killed with a limit its record does not have: $victim" ||
        bad "no home's limit differs from its record at the kill"
    hearthd_kill9
    kill -KILL "$stopped" 2>/dev/null
    wait "$caller" 2>/dev/null
    hearthd_start
    # The quota sweep's look (or an activation) puts the record's limit back.
    for u in sam tia; do
        i=0
        while [ "$(limit_of $u)" != "$(size_of $u)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        [ "$(limit_of $u)" = "$(size_of $u)" ] && ok "$u's limit is her record's again" ||
            bad "$u: limit $(limit_of $u), record $(size_of $u)"
    done
    check "activate sam" 0 call ActivateHome string:sam string:'{"password":["sam-pw"]}'
    check "deactivate sam" 0 call DeactivateHome string:sam
    check "a Rebalance after the kill" 0 call Rebalance
else
    bad "no worker stopped at the failpoint"
    kill "$caller" 2>/dev/null
fi
[ "$(cat "$R/sam.homedir/precious" 2>/dev/null || cat "$R/sam/precious" 2>/dev/null)" = precious ] &&
    ok "sam's file is there" || bad "sam's file is gone"
hearthd_finish
