#!/bin/sh
# Under full Btrfs qgroups (quota enabled before Hearth, or a kernel before
# 6.7) a subvolume a user makes inside her subvolume home counts against no
# quota until a worker puts it into the home's group. hearthd looks every
# [Quota] NestedSubvolumeCheckSec= (2 s here): within that the subvolume is
# in the group, further writes fail with EDQUOT, the usage hearthd reports
# counts it, and the adoption is logged once.
#   test-quota-sweep.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

HEARTHD_BTRFS_SIZE=1G
_hearthd_init
printf '[Quota]\nNestedSubvolumeCheckSec=2\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"
command -v btrfs >/dev/null || hearthd_skip "needs btrfs-progs"
R=$HEARTHD_HOME_ROOT

call() { hearthd_call "$@"; }
record() { # record USER STORAGE [EXTRA_JSON_MEMBERS]
    printf '{"userName":"%s","storage":"%s","disposition":"regular","secret":{"password":["%s-pw"]}%s}' \
        "$1" "$2" "$1" "${3:-}"
}
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
as_uid() { _u=$1; shift; hearthd_as_user "$_u" sh -c "$*"; }
usage_of() { call GetUserRecordByName string:"$1" | grep -o '"diskUsage":[0-9]*' | head -n1 | cut -d: -f2; }
# in_group SUBVOL_ID GROUP_ID: 0/SUBVOL_ID is a member of 1/GROUP_ID
in_group() {
    btrfs qgroup show -p "$R" 2>/dev/null | awk -v q="0/$1" -v g="1/$2" \
        '$1 == q { n = split($4, p, ","); for (i = 1; i <= n; i++) if (p[i] == g) f = 1 } END { exit !f }'
}

# --- full qgroups, enabled before hearthd makes a home -----------------------------------
check "enable full qgroups on the home root" 0 btrfs quota enable "$R"
uuid=$(blkid -s UUID -o value "$HEARTHD_LOOPDEV")
mode=$(cat "/sys/fs/btrfs/$uuid/qgroups/mode" 2>/dev/null || echo "qgroup (kernel before 6.7)")
case $mode in
qgroup*) ok "the file system uses full qgroups ($mode)" ;;
*) bad "quota mode: $mode, expected qgroup"; hearthd_finish ;;
esac

check "create quinn (subvolume, 64M)" 0 call CreateHome string:"$(record quinn subvolume ',"diskSize":67108864')"
quinn=$(uid_of quinn)
check "activate quinn" 0 call ActivateHome string:quinn string:'{"password":["quinn-pw"]}'
id=$(btrfs inspect-internal rootid "$R/quinn")
check "quinn makes a subvolume in her home" 0 as_uid "$quinn" "btrfs subvolume create '$R/quinn/free'"
check "quinn writes 8M into it" 0 as_uid "$quinn" "dd if=/dev/zero of='$R/quinn/free/a' bs=1M count=8 conv=fsync"
sub=$(btrfs inspect-internal rootid "$R/quinn/free")
# wait_adopted SUBVOL_ID: at most the interval (2 s) and a margin for a slow
# (sanitized) worker
wait_adopted() {
    _t0=$(date +%s)
    while ! in_group "$1" "$id"; do
        [ $(($(date +%s) - _t0)) -ge 6 ] && return 1
        sleep 0.1
    done
}
t0=$(date +%s)
wait_adopted "$sub"
t1=$(date +%s)
if in_group "$sub" "$id"; then
    ok "within the interval 0/$sub is in quinn's group 1/$id ($((t1 - t0)) s)"
else
    bad "0/$sub is not in 1/$id after $((t1 - t0)) s:"; btrfs qgroup show -p "$R" | sed 's/^/    /'
fi
check "writing 100M more fails" 1 as_uid "$quinn" "dd if=/dev/zero of='$R/quinn/free/big' bs=1M count=100 conv=fsync"
contains "with EDQUOT" "$HEARTHD_TMP/err" "Disk quota exceeded"
size=$(stat -c %s "$R/quinn/free/big" 2>/dev/null || echo 0)
[ "$size" -le $((64 * 1048576)) ] && ok "at most 64M written ($size)" || bad "$size bytes written"

# The sweep's inspect refreshes the usage hearthd reports, without a call.
i=0
u=$(usage_of quinn)
while { [ -z "$u" ] || [ "$u" -lt $((40 * 1048576)) ]; } && [ $i -lt 80 ]; do
    sleep 0.1; i=$((i + 1)); u=$(usage_of quinn)
done
[ -n "$u" ] && [ "$u" -ge $((40 * 1048576)) ] && ok "the usage hearthd reports counts the subvolume ($u)" \
    || bad "usage: $u"
check "quinn's record" 0 call GetUserRecordByName string:quinn
lacks "what the worker says for hearthd alone is not shown" "$HEARTHD_TMP/out" "hearthQuota"

# Logged once, however many sweeps follow; nothing failed.
sleep 5
n=$(grep -c "subvolume $R/quinn/free, made inside the home, now counts against its quota" "$HEARTHD_LOG")
[ "$n" = 1 ] && ok "the adoption is logged once" || bad "logged $n times"
lacks "no sweep failed" "$HEARTHD_LOG" "the check for subvolumes made inside it failed"

# A login works as ever while sweeps run, and a second subvolume made
# while the home is active is adopted too.
check "deactivate quinn" 0 call DeactivateHome string:quinn
check "activate quinn" 0 call ActivateHome string:quinn string:'{"password":["quinn-pw"]}'
check "quinn deletes the big file" 0 as_uid "$quinn" "rm -f '$R/quinn/free/big' && sync"
check "quinn makes another subvolume" 0 as_uid "$quinn" "btrfs subvolume create '$R/quinn/more'"
sub2=$(btrfs inspect-internal rootid "$R/quinn/more")
wait_adopted "$sub2" && ok "the second one joins the group too" || bad "0/$sub2 is not in 1/$id"
check "deactivate quinn" 0 call DeactivateHome string:quinn

# NestedSubvolumeCheckSec=0: no sweep.
printf '[Quota]\nNestedSubvolumeCheckSec=0\n' >"$HEARTHD_CONFIG"
hearthd_restart
check "activate quinn again" 0 call ActivateHome string:quinn string:'{"password":["quinn-pw"]}'
check "quinn makes a third subvolume" 0 as_uid "$quinn" "btrfs subvolume create '$R/quinn/off'"
sub3=$(btrfs inspect-internal rootid "$R/quinn/off")
sleep 5
in_group "$sub3" "$id" && bad "0/$sub3 was adopted with the sweep off" || ok "with the sweep off, nothing looks"
hearthd_finish
