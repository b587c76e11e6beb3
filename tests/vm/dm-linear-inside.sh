#!/bin/bash
# Runs inside the VM (tests/vm/run [--no-udev] --disk pool:1G:gpt-root-gap-home):
# storage/pool/dm-linear.c end to end through test-dm-linear, with udevd running
# or not (HEARTH_VM_UDEV). Everything it makes is removed on exit, also on
# failure.
# Usage: dm-linear-inside.sh TEST_DM_LINEAR
set -u
T=$1
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
[ -x "$T" ] || { echo "no test-dm-linear at '$T'"; exit 1; }
mode=$([ "$HEARTH_VM_UDEV" = 1 ] && echo udev || echo no-udev)
results=${HEARTH_VM_RESULTS:-/tmp}/dm-linear-$mode.txt

fails=0
say() { echo "$*"; echo "$*" >> "$results"; }
ok() { say "ok: $*"; }
bad() { say "FAIL: $*"; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# refuses DESCRIPTION EXPECTED_TEXT COMMAND...: the command fails and says so.
refuses() {
    local d=$1 want=$2 rc; shift 2
    "$@" > out.txt 2> err.txt
    rc=$?
    if [ "$rc" = 1 ] && grep -q -- "$want" err.txt; then
        ok "$d refused: $(grep -v '^test-dm-linear: failed' err.txt | tail -n 1)"
    else
        bad "$d: exit $rc, expected 1 with '$want': $(cat err.txt)"
    fi
}

work=$(mktemp -d)
cd "$work" || exit 1
names="hearth-test-lin hearth-test-bad hearth-test-4k hearth-test-dup hearth-test-nosync
       hearth-test-dead hearth-foreign hearth-foreign-nouuid"
loops=()
writer_pid=
disk=${HEARTH_VM_DISK_POOL:-}
pool_part=

cleanup() {
    [ -n "$writer_pid" ] && kill "$writer_pid" 2> /dev/null && wait "$writer_pid" 2> /dev/null
    for n in $names; do
        if dmsetup info "$n" > /dev/null 2>&1; then
            # udevd may be dead by now: no cookies.
            DM_DISABLE_UDEV=1 dmsetup remove --retry "$n" || echo "cleanup: cannot remove $n"
        fi
    done
    for l in "${loops[@]}"; do losetup -d "$l" 2> /dev/null; done
    [ -n "$pool_part" ] && sfdisk --quiet --no-reread --delete "$disk" 3 > /dev/null 2>&1 &&
        partx -d --nr 3 "$disk" 2> /dev/null
    cd /
    rm -rf "$work"
}
trap cleanup EXIT

settle() { [ "$HEARTH_VM_UDEV" = 1 ] && udevadm settle --timeout=60; true; }
majmin() { printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"; }
sectors() { blockdev --getsz "$1"; }
MiB=1048576

say "== dm-linear, $mode =="
check "kernel has device-mapper" grep -qw device-mapper /proc/devices
want_sync=$([ "$mode" = udev ] && echo 1 || echo 0)
check "udev synchronisation is $want_sync" test "$("$T" udev)" = "udev-sync $want_sync"
check "disk 'pool' attached" test -b "$disk"

# ---- devices: home partition, a loop device, a pool partition in the gap ---------
home=${disk}2
p1_start=$(cat "/sys/class/block/${disk##*/}1/start")
p1_size=$(cat "/sys/class/block/${disk##*/}1/size")
gap=$((p1_start + p1_size))
echo "start=$gap, size=$((64 * 2048)), name=pool" | sfdisk --quiet --append "$disk" > /dev/null ||
    bad "cannot add a pool partition in the gap"
pool_part=${disk}3
settle
for _ in $(seq 50); do [ -b "$pool_part" ] && break; sleep 0.1; done
check "pool partition in the gap" test -b "$pool_part"
truncate -s 64M b.img
lb=$(losetup --find --show b.img) && loops+=("$lb")
truncate -s 16M k.img
l4k=$(losetup --find --show --sector-size 4096 k.img) && loops+=("$l4k")
settle
check "4096-byte loop device" test "$(blockdev --getss "$l4k")" = 4096

RUN_A="$home:2048:65536"       # 32 MiB of the home partition, from 1 MiB
RUN_B="$lb:16384:65536"        # 32 MiB of the loop device, from 8 MiB
RUN_C="$pool_part:0:65536"     # 32 MiB of the pool partition
dev=/dev/mapper/hearth-test-lin

# ---- create ---------------------------------------------------------------------
if "$T" create hearth-test-lin t-lin-1 "$RUN_A" "$RUN_B" > out.txt 2> err.txt; then
    ok "create: $(cat out.txt)"
else
    bad "create: $(cat err.txt)"
fi
# No settle: with udev we waited for its cookie, without it libdm made the node.
check "/dev/mapper node there at once" test -b "$dev"
check "node is the device created" test "dev $(majmin "$dev")" = "$(cat out.txt)"
check "dm UUID is HEARTH-t-lin-1" test "$(dmsetup info -c --noheadings -o uuid hearth-test-lin)" = HEARTH-t-lin-1
check "size is 2 runs" test "$(sectors "$dev")" = 131072
"$T" info hearth-test-lin > info.txt 2>&1
check "info: $(cat info.txt)" grep -q "^exists 1 suspended 0 live 1 inactive 0 open 0 dev $(majmin "$dev")\$" info.txt

expect_table() { # expected table lines from RUNs
    local start=0 r d o l
    for r in "$@"; do
        IFS=: read -r d o l <<< "$r"
        echo "$start $l $(majmin "$d") $o"
        start=$((start + l))
    done
}
table_is() { "$T" table hearth-test-lin > table.txt 2>&1 && diff -u <(expect_table "$@") table.txt; }
check "dm_linear_table gives the 2 runs" table_is "$RUN_A" "$RUN_B"
check "dmsetup agrees" test "$(dmsetup table hearth-test-lin | awk '{print $1, $2, $4, $5}')" = "$(cat table.txt)"

# ---- data ---------------------------------------------------------------------------
# Random data over the first 60 MiB; the writer owns the last 4 MiB of the 2 runs.
head -c $((60 * MiB)) /dev/urandom > data
dd if=data of="$dev" bs=1M oflag=direct status=none || bad "writing data"
sum=$(sha256sum < data)
data_intact() { test "$(dd if="$dev" bs=1M count=60 iflag=direct status=none | sha256sum)" = "$sum"; }
check "data reads back" data_intact
check "run A landed in the home partition" cmp <(head -c $((32 * MiB)) data) \
    <(dd if="$home" bs=1M skip=1 count=32 iflag=direct status=none)
check "run B landed in the loop device" cmp <(tail -c $((28 * MiB)) data) \
    <(dd if="$lb" bs=1M skip=8 count=28 iflag=direct status=none)

"$T" writer "$dev" $((60 * MiB)) $((4 * MiB)) "$work/stop" "$work/started" > writer.txt 2>&1 &
writer_pid=$!
for _ in $(seq 300); do [ -e started ] && break; sleep 0.1; done
check "writer running" test -e started

# ---- grow: a third run appended while the writer runs --------------------------------
if "$T" reload hearth-test-lin "$RUN_A" "$RUN_B" "$RUN_C" > out.txt 2> err.txt; then
    grep '^window' out.txt >> windows.txt
    ok "grow to 3 runs: $(grep -v '^window' out.txt)"
else
    bad "grow: $(cat err.txt)"
fi
check "dm_linear_table gives the 3 runs" table_is "$RUN_A" "$RUN_B" "$RUN_C"
check "size is 3 runs" test "$(sectors "$dev")" = 196608
check "node still there" test -b "$dev"
if [ "$mode" = udev ]; then
    # Nothing waited for udev after the resume (its event carries our flags
    # but no semaphore): once udev is done the device must still be usable
    # (not "not ready" to systemd, /dev/mapper link and size right).
    udev_ok() {
        udevadm settle --timeout=60 &&
        local props && props=$(udevadm info --query=property --name="$dev") &&
        ! grep -qx 'SYSTEMD_READY=0' <<< "$props" &&
        ! grep -qx 'DM_UDEV_DISABLE_OTHER_RULES_FLAG=1' <<< "$props" &&
        grep -qx 'DM_NAME=hearth-test-lin' <<< "$props" &&
        test "$(readlink -f /dev/mapper/hearth-test-lin)" = "$(readlink -f "$dev")" &&
        test "$(cat "/sys/class/block/$(basename "$(readlink -f "$dev")")/size")" = 196608
    }
    check "udev took the unsynchronised resume: device ready, link and size right" udev_ok
    # Reloads back to back, each its own process as pool operations are: a
    # suspend must never meet udev still handling the previous resume's
    # event (its rules would call the device not ready, and systemd would
    # stop what is bound to it, such as the mount of /home).
    udevadm monitor --udev --property --subsystem-match=block > monitor.txt 2>&1 &
    mon_pid=$!
    sleep 2
    for runs in "$RUN_A $RUN_B" "$RUN_A $RUN_B $RUN_C" "$RUN_A $RUN_B" "$RUN_A $RUN_B $RUN_C"; do
        # shellcheck disable=SC2086 # one argument per run
        "$T" reload hearth-test-lin $runs > /dev/null 2>> err.txt || bad "back-to-back reload: $(tail -n 1 err.txt)"
    done
    udevadm settle --timeout=60
    sleep 1
    kill "$mon_pid"; wait "$mon_pid" 2> /dev/null
    not_ready=$(awk -v RS= '/DM_NAME=hearth-test-lin/ && (/SYSTEMD_READY=0/ || /DM_UDEV_DISABLE_OTHER_RULES_FLAG=1/)' monitor.txt | grep -c '^ACTION=')
    events=$(awk -v RS= '/DM_NAME=hearth-test-lin/' monitor.txt | grep -c '^ACTION=change')
    check "4 reloads back to back: udev saw $events change events, none calling the device not ready" \
        test "$events" -ge 4 -a "$not_ready" = 0
    check "ready and 3 runs after them" udev_ok
    # What makes that hold: a reload first waits for udev's queue to empty.
    # A rule that keeps udev on a change event of the loop device for 4 s;
    # a reload started while it runs must wait for it.
    lbname=$(basename "$lb")
    mkdir -p /run/udev/rules.d
    echo "ACTION==\"change\", KERNEL==\"$lbname\", RUN+=\"/bin/sleep 4\"" > /run/udev/rules.d/99-hearth-test-slow.rules
    udevadm control --reload
    udevadm trigger --action=change "$lb"
    sleep 0.5
    t0=$(date +%s%N)
    "$T" reload hearth-test-lin "$RUN_A" "$RUN_B" "$RUN_C" > /dev/null 2>> err.txt || bad "reload while udev is busy: $(tail -n 1 err.txt)"
    waited_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    rm -f /run/udev/rules.d/99-hearth-test-slow.rules
    udevadm control --reload
    check "a reload waits while udev is busy with another event (${waited_ms} ms for a 4 s rule)" test "$waited_ms" -ge 3000
    udevadm settle --timeout=60
fi
head -c $((32 * MiB)) /dev/urandom > data3
dd if=data3 of="$dev" bs=1M seek=64 oflag=direct status=none || bad "writing the third run"
check "third run landed in the pool partition" cmp data3 <(dd if="$pool_part" bs=1M count=32 iflag=direct status=none)

# ---- the pause: reloads back and forth under the writer --------------------------------
if "$T" bench hearth-test-lin 20 "$RUN_A" "$RUN_B" "$RUN_C" -- "$RUN_A" "$RUN_B" > bench.txt 2> err.txt; then
    ok "20 reloads under the writer: $(tail -n 1 bench.txt)"
    grep '^window' bench.txt >> windows.txt
    grep -v '^window' bench.txt >> "$results"
else
    bad "bench: $(cat err.txt)"
fi
check "back on 3 runs" table_is "$RUN_A" "$RUN_B" "$RUN_C"

# ---- shrink back ----------------------------------------------------------------------
if "$T" reload hearth-test-lin "$RUN_A" "$RUN_B" > out.txt 2> err.txt; then
    grep '^window' out.txt >> windows.txt
    ok "shrink to 2 runs: $(grep -v '^window' out.txt)"
else
    bad "shrink: $(cat err.txt)"
fi
check "dm_linear_table gives the 2 runs again" table_is "$RUN_A" "$RUN_B"
check "size is 2 runs again" test "$(sectors "$dev")" = 131072

touch stop
wait "$writer_pid"
wrc=$?
writer_pid=
check "writer saw no error and its data reads back (exit $wrc): $(tail -n 1 writer.txt | cut -d' ' -f2-)" \
    sh -c "[ $wrc = 0 ] && grep -q 'errors 0 verified' writer.txt"
check "data intact after grow, 20 reloads and shrink" data_intact
# What the writer saw: its longest wait that overlaps a suspend → resume
# window, against its longest wait elsewhere (the emulator's own hiccups).
gaps=$(awk '$1 == "window" { ws[++n] = $2; we[n] = $3 }
            $1 == "gap" { d = $3 - $2; hit = 0
                          for (i = 1; i <= n; i++) if ($2 < we[i] && ws[i] < $3) hit = 1
                          if (hit) { if (d > in_max) in_max = d; in_n++ }
                          else if (d > out_max) out_max = d }
            END { printf "writer gaps >= 5 ms overlapping the %d reloads: %d, longest %.1f ms; longest elsewhere %.1f ms",
                         n, in_n, in_max / 1000, out_max / 1000 }' windows.txt writer.txt)
say "$gaps"

# ---- refused tables ---------------------------------------------------------------------
refuses "misaligned offset on a 4096-byte device" "not aligned to that device's 4096-byte" \
    "$T" create hearth-test-bad t-bad "$l4k:1:8"
refuses "misaligned length on a 4096-byte device" "not aligned to that device's 4096-byte" \
    "$T" create hearth-test-bad t-bad "$l4k:0:7"
refuses "start misaligned to the table's block size" "table's 4096-byte logical blocks" \
    "$T" create hearth-test-bad t-bad "$lb:0:7" "$l4k:0:8"
refuses "table past the end of the device" "past its end" \
    "$T" create hearth-test-bad t-bad "$lb:16384:200000"
refuses "gap in the table" "without gaps" "$T" create hearth-test-bad t-bad "0=$lb:0:8" "16=$lb:8:8"
refuses "target not starting at 0" "without gaps" "$T" create hearth-test-bad t-bad "8=$lb:0:8"
refuses "empty target" "has length 0" "$T" create hearth-test-bad t-bad "$lb:0:0"
refuses "two targets on the same sectors" "both map" "$T" create hearth-test-bad t-bad "$lb:0:16" "$lb:8:16"
refuses "validate alone, past the end" "past its end" "$T" validate "$l4k:0:32776"
check "nothing was created for refused tables" sh -c '! dmsetup info hearth-test-bad > /dev/null 2>&1'
refuses "reload past the end" "past its end" "$T" reload hearth-test-lin "$RUN_A" "$lb:16384:200000"
check "table unchanged after a refused reload" table_is "$RUN_A" "$RUN_B"
"$T" info hearth-test-lin > info.txt 2>&1
check "no inactive table left behind" grep -q "inactive 0" info.txt
refuses "name taken" "already exists" "$T" create hearth-test-lin t-other "$lb:0:8"
refuses "UUID taken" "in use by another device" "$T" create hearth-test-dup t-lin-1 "$lb:0:8"
check "no device left by the UUID clash" sh -c '! dmsetup info hearth-test-dup > /dev/null 2>&1'
refuses "bad name" "invalid name" "$T" create 'hearth test' t-x "$lb:0:8"

# A valid table mixing 512- and 4096-byte devices: the device gets 4096.
if "$T" create hearth-test-4k t-4k "$l4k:8:16" "$lb:0:8" > out.txt 2> err.txt; then
    ok "mixed 4096/512 table created"
    check "mixed device has 4096-byte sectors" test "$(blockdev --getss /dev/mapper/hearth-test-4k)" = 4096
    check "mixed device removed" "$T" remove hearth-test-4k
else
    bad "mixed table: $(cat err.txt)"
fi

# ---- foreign devices are never touched ------------------------------------------------------
dmsetup create hearth-foreign --uuid OTHER-1234 --table '0 2048 zero' || bad "dmsetup create foreign"
dmsetup create hearth-foreign-nouuid --table '0 2048 zero' || bad "dmsetup create foreign without UUID"
settle
for f in hearth-foreign hearth-foreign-nouuid; do
    refuses "$f: info" "not a Hearth device" "$T" info "$f"
    refuses "$f: table" "not a Hearth device" "$T" table "$f"
    refuses "$f: reload" "not a Hearth device" "$T" reload "$f" "$lb:0:8"
    refuses "$f: remove" "not a Hearth device" "$T" remove "$f"
    refuses "$f: create over it" "not a Hearth device" "$T" create "$f" t-f "$lb:0:8"
    check "$f: still there with its own table" test "$(dmsetup table "$f" | xargs)" = "0 2048 zero"
    check "$f: no inactive table loaded" sh -c "dmsetup info $f | grep -q 'Tables present: *LIVE\$'"
    dmsetup remove --retry "$f" || bad "dmsetup remove $f"
done

# ---- remove ---------------------------------------------------------------------------------
exec 9< "$dev"
refuses "remove while open" "in use (open count" "$T" remove hearth-test-lin
exec 9<&-
settle
check "remove" "$T" remove hearth-test-lin
check "node gone at once" test ! -e "$dev"
check "device gone" sh -c '! dmsetup info hearth-test-lin > /dev/null 2>&1'
"$T" info hearth-test-lin > info.txt 2>&1
check "info of a missing device: exists 0" grep -q "^exists 0" info.txt
refuses "remove of a missing device" "ENODEV" "$T" remove hearth-test-lin
refuses "table of a missing device" "does not exist" "$T" table hearth-test-lin

# ---- with udevd running: DM_DISABLE_UDEV=1, then udevd killed -------------------------------------
if [ "$mode" = udev ]; then
    check "DM_DISABLE_UDEV=1: no udev synchronisation" test "$(DM_DISABLE_UDEV=1 "$T" udev)" = "udev-sync 0"
    check "DM_DISABLE_UDEV=1: create" env DM_DISABLE_UDEV=1 "$T" create hearth-test-nosync t-nosync "$lb:0:2048"
    check "DM_DISABLE_UDEV=1: node made by libdm at once" test -b /dev/mapper/hearth-test-nosync
    check "DM_DISABLE_UDEV=1: remove" env DM_DISABLE_UDEV=1 "$T" remove hearth-test-nosync
    check "DM_DISABLE_UDEV=1: node removed at once" test ! -e /dev/mapper/hearth-test-nosync
    settle

    # udevd killed: its socket stays; libdm alone would wait forever.
    for p in $(pidof systemd-udevd); do kill -KILL "$p"; done
    sleep 0.5
    check "udevd is gone" sh -c '! pidof systemd-udevd > /dev/null'
    check "its control socket is left behind" test -S /run/udev/control
    check "udevd dead: no udev synchronisation" test "$("$T" udev)" = "udev-sync 0"
    t0=$(date +%s)
    check "udevd dead: create" timeout 60 "$T" create hearth-test-dead t-dead "$lb:0:2048"
    check "udevd dead: node made by libdm" test -b /dev/mapper/hearth-test-dead
    check "udevd dead: reload" timeout 60 "$T" reload hearth-test-dead "$lb:0:4096"
    check "udevd dead: remove" timeout 60 "$T" remove hearth-test-dead
    check "udevd dead: node removed" test ! -e /dev/mapper/hearth-test-dead
    check "udevd dead: no waiting ($(($(date +%s) - t0)) s)" test $(($(date +%s) - t0)) -lt 20
fi

say "dm-linear ($mode): $fails failure(s)"
[ "$fails" -eq 0 ]
