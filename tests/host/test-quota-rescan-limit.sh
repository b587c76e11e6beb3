#!/bin/sh
# Under full Btrfs qgroups a subvolume inside a subvolume home that shares
# data with it (a new one filled by reflinks; on Linux before 6.8 a
# snapshot) joins the home's quota group only with a quota rescan, during
# which every group counts from 0 and the kernel checks limits against
# that. A user must not keep the file system in rescans: hearthd lets its
# workers start one at most once per [Quota] RescanIntervalSec=
# (hearthd/quota-sweep.h, WORKER_OPT_NO_RESCAN). Until then such a
# subvolume is held at what it references (nothing more can be written into
# it), logged once; the next allowed run adopts it and lifts its own limit.
# Counts already inconsistent (Linux 6.8+ marks them so for a snapshot of a
# subvolume in a group, and then counts nothing) are rescanned at once.
# The sweep is off: workers run at the activations below.
#   test-quota-rescan-limit.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

_hearthd_init
command -v btrfs >/dev/null || hearthd_skip "needs btrfs-progs"
hearthd_setup_btrfs 1G
R=$HEARTHD_HOME_ROOT
btrfs quota enable "$R" || hearthd_skip "cannot enable quota"
printf '[Quota]\nNestedSubvolumeCheckSec=0\nRescanIntervalSec=1h\n[Rebalance]\nAutomatic=no\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"
uuid=$(blkid -s UUID -o value "$HEARTHD_LOOPDEV")

call() { hearthd_call "$@"; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
as_uid() { _u=$1; shift; hearthd_as_user "$_u" sh -c "$*"; }
in_group() { # in_group SUBVOL_ID GROUP_ID
    btrfs qgroup show -p "$R" 2>/dev/null | awk -v q="0/$1" -v g="1/$2" \
        '$1 == q { n = split($4, p, ","); for (i = 1; i <= n; i++) if (p[i] == g) f = 1 } END { exit !f }'
}
limit_of() { # the limit of 0/ID: a number, or "none"
    btrfs qgroup show --raw -r "$R" 2>/dev/null | awk -v q="0/$1" '$1 == q { print $4 }'
}
inconsistent() { [ "$(cat "/sys/fs/btrfs/$uuid/qgroups/inconsistent" 2>/dev/null)" = 1 ]; }
rescans() { grep -c "a quota rescan of $R was started" "$HEARTHD_LOG"; }
# A worker run on quinn's home that looks at the subvolumes inside it.
reactivate() {
    check "deactivate quinn" 0 call DeactivateHome string:quinn
    check "activate quinn" 0 call ActivateHome string:quinn string:'{"password":["quinn-pw"]}'
}
# shared NAME: a new subvolume in quinn's home, filled with reflinks of her data
shared() {
    check "quinn makes $1: a subvolume sharing her data" 0 as_uid "$quinn" \
        "btrfs subvolume create '$R/quinn/$1' >/dev/null && cp --reflink=always '$R/quinn/data' '$R/quinn/$1/d' && sync"
}

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

shared x
x=$(btrfs inspect-internal rootid "$R/quinn/x")
inconsistent && bad "the counts are inconsistent before Hearth did anything" || ok "the counts are whole"
reactivate
in_group "$x" "$id" && ok "x joins her group (the first rescan of the interval)" || bad "0/$x not in 1/$id"
[ "$(rescans)" -gt "$r0" ] && ok "the rescan it needed is logged" || bad "no rescan logged"
btrfs quota rescan -w "$R" >/dev/null 2>&1
[ "$(limit_of "$x")" = none ] && ok "x has no limit of its own (her group's holds it)" || bad "0/$x limit: $(limit_of "$x")"
r1=$(rescans)

shared y
y=$(btrfs inspect-internal rootid "$R/quinn/y")
reactivate
contains "y is held, and hearthd says so" "$HEARTHD_LOG" \
    "subvolume $R/quinn/y, made inside the home, needs a quota rescan"
in_group "$y" "$id" && bad "0/$y joined her group: a second rescan within the hour" || ok "y waits for the next interval"
[ "$(rescans)" = "$r1" ] && ok "no second rescan started" || bad "rescans: $(rescans), was $r1"
inconsistent && bad "the counts are inconsistent" || ok "the counts stay whole (the kernel counts on)"
l=$(limit_of "$y")
[ "$l" != none ] && [ "$l" -ge $((20 * 1048576)) ] && [ "$l" -le $((21 * 1048576)) ] \
    && ok "y is held at what it references ($l)" || bad "0/$y limit: $l"
check "nothing more can be written into y" 1 as_uid "$quinn" "dd if=/dev/zero of='$R/quinn/y/more' bs=1M count=8 conv=fsync status=none"
contains "with EDQUOT" "$HEARTHD_TMP/err" "Disk quota exceeded"
check "quinn can still delete in y" 0 as_uid "$quinn" "rm -f '$R/quinn/y/more' '$R/quinn/y/d'"
reactivate
n=$(grep -c "subvolume $R/quinn/y, made inside the home, needs a quota rescan" "$HEARTHD_LOG")
[ "$n" = 1 ] && ok "said once, however many runs" || bad "said $n times"

check "quinn makes an empty subvolume (e)" 0 as_uid "$quinn" "btrfs subvolume create '$R/quinn/e' >/dev/null"
e=$(btrfs inspect-internal rootid "$R/quinn/e")
reactivate
in_group "$e" "$id" && ok "e joins her group at once (no rescan needed)" || bad "0/$e not in 1/$id"
[ "$(rescans)" = "$r1" ] && ok "still no second rescan" || bad "rescans: $(rescans), was $r1"

# Counts the user made inconsistent herself (a snapshot of her home, gone
# again before any look): the kernel counts nothing until a rescan, so one
# starts at the next run, interval or not.
check "quinn snapshots her home and deletes the snapshot" 0 as_uid "$quinn" \
    "btrfs subvolume snapshot '$R/quinn' '$R/quinn/s' >/dev/null && rm -rf '$R/quinn/s' && sync"
if inconsistent; then
    ok "the snapshot made the counts inconsistent (Linux 6.8+)"
    reactivate
    [ "$(rescans)" -gt "$r1" ] && ok "a rescan is started at once" || bad "no rescan started"
    btrfs quota rescan -w "$R" >/dev/null 2>&1
    inconsistent && bad "still inconsistent" || ok "the counts are whole again"
else
    echo "(this kernel keeps the counts whole after a snapshot: nothing to repair)"
fi
r2=$(rescans)

# The next interval (a restart begins one): y joins, its own limit goes.
hearthd_restart
reactivate
in_group "$y" "$id" && ok "at the next interval y joins her group" || bad "0/$y not in 1/$id"
btrfs quota rescan -w "$R" >/dev/null 2>&1
[ "$(limit_of "$y")" = none ] && ok "and is no longer held" || bad "0/$y limit: $(limit_of "$y")"
check "quinn writes into y again" 0 as_uid "$quinn" "dd if=/dev/zero of='$R/quinn/y/more' bs=1M count=8 conv=fsync status=none"
hearthd_finish
