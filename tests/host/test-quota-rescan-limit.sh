#!/bin/sh
# Under full Btrfs qgroups a snapshot a user makes inside her subvolume home
# can join the home's quota group only with a quota rescan, during which
# every group counts from 0 and the kernel checks limits against that. A
# user must not keep the file system in rescans: hearthd lets its workers
# start one at most once per [Quota] RescanIntervalSec= (hearthd/quota-sweep.h,
# WORKER_OPT_NO_RESCAN). Until then such a snapshot is held at what it
# references (nothing more can be written into it), logged once; an empty
# subvolume joins at once (no rescan needed); the next allowed run adopts
# the held one and lifts its own limit.
#   test-quota-rescan-limit.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

_hearthd_init
command -v btrfs >/dev/null || hearthd_skip "needs btrfs-progs"
hearthd_setup_btrfs 1G
R=$HEARTHD_HOME_ROOT
btrfs quota enable "$R" || hearthd_skip "cannot enable quota"
printf '[Quota]\nNestedSubvolumeCheckSec=1\nRescanIntervalSec=1h\n[Rebalance]\nAutomatic=no\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"
M=org.freedesktop.home1.Manager

call() {
    _m=$1; shift
    dbus-send --system --print-reply --reply-timeout=120000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "$M.$_m" "$@"
}
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
as_uid() { _u=$1; shift; hearthd_as_user "$_u" sh -c "$*"; }
in_group() { # in_group SUBVOL_ID GROUP_ID
    btrfs qgroup show -p "$R" 2>/dev/null | awk -v q="0/$1" -v g="1/$2" \
        '$1 == q { n = split($4, p, ","); for (i = 1; i <= n; i++) if (p[i] == g) f = 1 } END { exit !f }'
}
limit_of() { # the limit of 0/ID: a number, or "none"
    btrfs qgroup show --raw -r "$R" 2>/dev/null | awk -v q="0/$1" '$1 == q { print $4 }'
}
wait_for() { # wait_for SECONDS CMD...
    _n=$(($1 * 10)); shift
    while ! "$@"; do
        _n=$((_n - 1)); [ $_n -le 0 ] && return 1
        sleep 0.1
    done
}
rescans() { grep -c "a quota rescan of $R was started" "$HEARTHD_LOG"; }

check "create quinn (subvolume, 256M)" 0 call CreateHome \
    string:'{"userName":"quinn","storage":"subvolume","disposition":"regular","diskSize":268435456,"secret":{"password":["quinn-pw"]}}'
check "activate quinn" 0 call ActivateHome string:quinn string:'{"password":["quinn-pw"]}'
quinn=$(uid_of quinn)
id=$(btrfs inspect-internal rootid "$R/quinn")
check "quinn writes 20M" 0 as_uid "$quinn" "dd if=/dev/urandom of='$R/quinn/data' bs=1M count=20 conv=fsync status=none"
btrfs quota rescan -w "$R" >/dev/null 2>&1
# The interval counts from hearthd's start: whatever the create did, the
# next rescan a worker needs may run now.
hearthd_restart
r0=$(rescans)

check "quinn snapshots her home inside it (s1)" 0 as_uid "$quinn" "btrfs subvolume snapshot '$R/quinn' '$R/quinn/s1' >/dev/null"
s1=$(btrfs inspect-internal rootid "$R/quinn/s1")
wait_for 10 in_group "$s1" "$id" && ok "s1 joins her group (the first rescan of the interval)" || bad "0/$s1 not in 1/$id"
wait_for 10 test "$(rescans)" -gt "$r0" && ok "the rescan it needed is logged" || bad "no rescan logged"
btrfs quota rescan -w "$R" >/dev/null 2>&1
[ "$(limit_of "$s1")" = none ] && ok "s1's own limit is lifted (her group's holds it)" || bad "0/$s1 limit: $(limit_of "$s1")"
r1=$(rescans)

check "quinn snapshots her home again (s2)" 0 as_uid "$quinn" "btrfs subvolume snapshot '$R/quinn' '$R/quinn/s2' >/dev/null"
s2=$(btrfs inspect-internal rootid "$R/quinn/s2")
wait_for 10 grep -q "subvolume $R/quinn/s2, made inside the home, needs a quota rescan" "$HEARTHD_LOG" \
    && ok "s2 is held, and hearthd says so" || bad "s2 not held"
sleep 3 # three more sweeps
in_group "$s2" "$id" && bad "0/$s2 joined her group: a second rescan within the hour" || ok "s2 waits for the next interval"
[ "$(rescans)" = "$r1" ] && ok "no second rescan started" || bad "rescans: $(rescans), was $r1"
btrfs quota rescan -s "$R" 2>&1 | grep -q "no rescan operation in progress" && ok "none is running" \
    || bad "rescan status: $(btrfs quota rescan -s "$R" 2>&1)"
l=$(limit_of "$s2")
[ "$l" != none ] && [ "$l" -le $((24 * 1048576)) ] && ok "s2 is held at what it references ($l)" || bad "0/$s2 limit: $l"
check "nothing more can be written into s2" 1 as_uid "$quinn" "dd if=/dev/zero of='$R/quinn/s2/more' bs=1M count=8 conv=fsync status=none"
contains "with EDQUOT" "$HEARTHD_TMP/err" "Disk quota exceeded"
n=$(grep -c "subvolume $R/quinn/s2, made inside the home, needs a quota rescan" "$HEARTHD_LOG")
[ "$n" = 1 ] && ok "said once, however many sweeps" || bad "said $n times"

check "quinn makes an empty subvolume (e)" 0 as_uid "$quinn" "btrfs subvolume create '$R/quinn/e' >/dev/null"
e=$(btrfs inspect-internal rootid "$R/quinn/e")
wait_for 10 in_group "$e" "$id" && ok "e joins her group at once (no rescan needed)" || bad "0/$e not in 1/$id"
[ "$(rescans)" = "$r1" ] && ok "still no second rescan" || bad "rescans: $(rescans), was $r1"

# The next interval (a restart begins one): s2 joins, its own limit goes.
hearthd_restart
wait_for 10 in_group "$s2" "$id" && ok "at the next interval s2 joins her group" || bad "0/$s2 not in 1/$id"
btrfs quota rescan -w "$R" >/dev/null 2>&1
[ "$(limit_of "$s2")" = none ] && ok "and is no longer held" || bad "0/$s2 limit: $(limit_of "$s2")"
check "quinn writes into s2 again" 0 as_uid "$quinn" "dd if=/dev/zero of='$R/quinn/s2/more' bs=1M count=8 conv=fsync status=none"
hearthd_finish
