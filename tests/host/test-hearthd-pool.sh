#!/bin/sh
# hearthd's io.hearth.Pool1 and `homectl pool`, on a private bus: the real
# hearth-pool where no pool exists (this host has no device-mapper), then a
# stand-in (fake-hearth-pool) to check what the daemon passes, who may call
# what, how failures reach the caller, that calls run one at a time, and
# the auto-grow decisions from hearth.conf. The pool itself is tested in the
# VM (vm-pool, vm-hearthd-pool).
#   test-hearthd-pool.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
user=60123
MB=1048576

pool_call() { # pool_call METHOD ARGS... (dbus-send)
    _m=$1; shift
    dbus-send --system --print-reply --reply-timeout=60000 --dest=org.freedesktop.home1 /io/hearth/Pool \
        "io.hearth.Pool1.$_m" "$@"
}

# --- the real tool, no pool on this machine ------------------------------------
check "status without a pool: exit 4" 4 "$homectl" pool status
contains "says why" "$HEARTHD_TMP/err" "no physical volume found"
check "check without a pool: exit 4" 4 "$homectl" pool check
check "D-Bus: NoPool" 1 pool_call GetStatus
contains "error name" "$HEARTHD_TMP/err" "io.hearth.Pool.NoPool"

# --- the stand-in ------------------------------------------------------------------
FAKE_POOL_DIR=$HEARTHD_TMP/fake
mkdir -p "$FAKE_POOL_DIR"
export FAKE_POOL_DIR
hearthd_stop
HEARTHD_POOL_TOOL=$SRCDIR/tests/host/fake-hearth-pool
hearthd_start
calls() { cat "$FAKE_POOL_DIR/calls" 2>/dev/null; }
last_call() { tail -n 1 "$FAKE_POOL_DIR/calls" 2>/dev/null; }
reset() { rm -f "$FAKE_POOL_DIR/calls" "$FAKE_POOL_DIR/mode" "$FAKE_POOL_DIR/order"; }

# status JSON (the fields of POOL-FORMAT.md's status report); the volume
# "home" is "mounted" on a small tmpfs the auto-grow checks look at.
mnt=$HEARTHD_TMP/mnt
mkdir -p "$mnt"
mount -t tmpfs -o size=8M tmpfs "$mnt" || hearthd_skip "cannot mount tmpfs"
status_json() { # status_json VOLUME_SIZE FREE_BYTES
    cat >"$FAKE_POOL_DIR/status.json" <<JSON
{"valid":true,"pool_uuid":"3b1f6c1e-9d1a-4c55-8f0e-0a1b2c3d4e5f","seq":7,"extent_size":$((16 * MB)),
 "metadata_from":"A","free_extents":$(($2 / (16 * MB))),"free_bytes":$2,"releasable_extents":4,"releasable_bytes":$((64 * MB)),
 "pvs":[{"index":0,"role":"pool","device":"/dev/vdb2","size":$((1024 * MB)),"first_extent":0,"extent_count":63,
         "free_extents":50,"copies":{"A":{"valid":true,"seq":7},"B":{"valid":true,"seq":6},"current":"A","stale":false}},
        {"index":1,"role":"home","device":"/dev/vdb3","size":$((512 * MB)),"first_extent":63,"extent_count":31,
         "free_extents":0,"copies":{"A":{"valid":true,"seq":7},"B":{"valid":false,"error":"checksum mismatch"},"current":"A","stale":true}}],
 "volumes":[{"name":"home","size":$1,"extents":$(($1 / (16 * MB))),"active":true,"device":"/dev/mapper/hearth-pool-home",
             "mountpoint":"$mnt","fstype":"tmpfs","runs":[{"pv":1,"first":63,"count":31},{"pv":0,"first":60,"count":3}]}]}
JSON
}
status_json $((100 * MB)) $((1024 * MB))

reset
check "status" 0 "$homectl" pool status
contains "pool line" "$HEARTHD_TMP/out" "Pool 3b1f6c1e-9d1a-4c55-8f0e-0a1b2c3d4e5f: sequence 7, extent size 16M"
contains "PV table" "$HEARTHD_TMP/out" "/dev/vdb3"
contains "invalid copy shown" "$HEARTHD_TMP/out" "B INVALID (checksum mismatch)"
contains "volume runs" "$HEARTHD_TMP/out" "1:63+31 0:60+3"
contains "free space" "$HEARTHD_TMP/out" "Free: 64 extents (1G)"
[ "$(last_call)" = "status --json" ] && ok "the tool ran as status --json" || bad "tool ran as: $(calls)"
check "status --json" 0 "$homectl" pool status --json=short
contains "JSON passed through" "$HEARTHD_TMP/out" '"pool_uuid":"3b1f6c1e-9d1a-4c55-8f0e-0a1b2c3d4e5f"'
check "status as a user" 0 hearthd_as_user $user "$homectl" pool status

echo '{"consistent":true,"problems":[]}' >"$FAKE_POOL_DIR/check.json"
check "check, consistent" 0 "$homectl" pool check
contains "says consistent" "$HEARTHD_TMP/out" "pool: consistent"
printf '%s' '{"consistent":false,"problems":[{"kind":"leaked","message":"extent 0:12 is owned by no volume"},{"kind":"stale-copy","message":"PV 1 copy B is stale","repaired":true}]}' \
    >"$FAKE_POOL_DIR/check.json"
echo 3 >"$FAKE_POOL_DIR/check.rc"
check "check with problems: exit 3" 3 "$homectl" pool check
contains "problem listed" "$HEARTHD_TMP/out" "leaked: extent 0:12 is owned by no volume"
contains "repaired marked" "$HEARTHD_TMP/out" "PV 1 copy B is stale (repaired)"
check "D-Bus Check returns the count" 0 pool_call Check boolean:false
contains "two problems" "$HEARTHD_TMP/out" "uint32 2"
check "check as a user" 3 hearthd_as_user $user "$homectl" pool check
reset
check "check --repair as a user: denied" 77 hearthd_as_user $user "$homectl" --no-ask-password pool check --repair
[ -z "$(calls)" ] && ok "the tool did not run for a denied call" || bad "tool ran: $(calls)"
check "check --repair as root" 3 "$homectl" pool check --repair
[ "$(last_call)" = "check --json --repair" ] && ok "--repair passed" || bad "tool ran as: $(calls)"
echo 0 >"$FAKE_POOL_DIR/check.rc"

# What reaches hearth-pool's command line.
reset
check "grow +1G" 0 "$homectl" pool grow home +1G
[ "$(last_call)" = "grow home +1073741824" ] && ok "grow relative" || bad "tool ran as: $(calls)"
check "grow to 3G" 0 "$homectl" pool grow home 3G
[ "$(last_call)" = "grow home 3221225472" ] && ok "grow absolute" || bad "tool ran as: $(calls)"
check "shrink -512M" 0 "$homectl" pool shrink home -512M
[ "$(last_call)" = "shrink home -536870912" ] && ok "shrink relative" || bad "tool ran as: $(calls)"
check "shrink -512M after --" 0 "$homectl" pool shrink -- home -512M
[ "$(last_call)" = "shrink home -536870912" ] && ok "shrink relative" || bad "tool ran as: $(calls)"
check "release 128M" 0 "$homectl" pool release 128M
[ "$(last_call)" = "release 134217728" ] && ok "release" || bad "tool ran as: $(calls)"
check "activate" 0 "$homectl" pool activate
[ "$(last_call)" = "activate" ] && ok "activate" || bad "tool ran as: $(calls)"
check "init" 0 "$homectl" pool init /dev/loop1 /dev/loop0 --extent-size=1M --force
[ "$(last_call)" = "init /dev/loop1 /dev/loop0 --extent-size=1048576 --force" ] && ok "init with options" || bad "tool ran as: $(calls)"
check "init, defaults" 0 "$homectl" pool init /dev/loop1 /dev/loop0
[ "$(last_call)" = "init /dev/loop1 /dev/loop0" ] && ok "init without options" || bad "tool ran as: $(calls)"

# Refused before anything runs.
reset
check "grow as a user: denied" 77 hearthd_as_user $user "$homectl" --no-ask-password pool grow home +1G
check "init as a user: denied" 77 hearthd_as_user $user "$homectl" --no-ask-password pool init /dev/loop1 /dev/loop0
check "release as a user: denied" 77 hearthd_as_user $user "$homectl" --no-ask-password pool release 1G
check "init with a non-device" 2 "$homectl" pool init home /dev/vdb2
check "grow, bad size" 2 "$homectl" pool grow home +lots
check "shrink with +" 2 "$homectl" pool shrink home +1G
check "unknown pool command" 2 "$homectl" pool frobnicate
check "--force outside init" 2 "$homectl" pool grow home +1G --force
check "--repair outside check" 2 "$homectl" pool status --repair
check "--force outside pool" 2 "$homectl" list --force
check "--json on grow" 2 "$homectl" pool grow home +1G --json=short
check "D-Bus: a volume that looks like an option" 1 pool_call Grow string:--force uint64:1 boolean:true
contains "InvalidArgs" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.InvalidArgs"
check "D-Bus: a partition outside /dev" 1 pool_call Init string:/etc/passwd string:/dev/loop0 uint64:0 uint64:0
contains "InvalidArgs for a path outside /dev" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.InvalidArgs"
check "D-Bus: not a block device" 1 pool_call Init string:/dev/null string:/dev/loop0 uint64:0 uint64:0
contains "InvalidArgs for Init" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.InvalidArgs"
check "D-Bus: unknown flags" 1 pool_call Init string:/dev/a string:/dev/b uint64:0 uint64:6
check "D-Bus: size 0" 1 pool_call Release uint64:0
[ -z "$(calls)" ] && ok "nothing ran for refused calls" || bad "tool ran: $(calls)"

# Failures, as the caller sees them.
echo fail >"$FAKE_POOL_DIR/mode"
check "a failing grow: exit 1" 1 "$homectl" pool grow home +1G
contains "the tool's reason" "$HEARTHD_TMP/err" "not enough free extents (need 16, have 3)"
echo garbage >"$FAKE_POOL_DIR/mode"
check "status that is not JSON" 1 "$homectl" pool status
contains "said so" "$HEARTHD_TMP/err" "not JSON"
echo crash >"$FAKE_POOL_DIR/mode"
check "a crashing tool" 1 "$homectl" pool activate
contains "signal named" "$HEARTHD_TMP/err" "killed by signal 11"
hearthd_running && ok "hearthd survives" || bad "hearthd died"

# Every run's pipes are closed again: 30 calls leave hearthd's fds as they were.
fds_before=$(ls "/proc/$HEARTHD_PID/fd" | wc -l)
for _ in $(seq 30); do "$homectl" pool status >/dev/null 2>&1; done
fds_after=$(ls "/proc/$HEARTHD_PID/fd" | wc -l)
[ "$fds_after" -le $((fds_before + 2)) ] && ok "no file descriptors leak ($fds_before → $fds_after)" ||
    bad "file descriptors leak: $fds_before → $fds_after after 30 calls"

# One at a time, in order.
reset
echo slow >"$FAKE_POOL_DIR/mode"
"$homectl" pool grow home +1G >/dev/null 2>&1 &
p1=$!
"$homectl" pool activate >/dev/null 2>&1 &
p2=$!
"$homectl" pool release 64M >/dev/null 2>&1 &
p3=$!
wait $p1 $p2 $p3
if awk '/^start/ { if (open) bad = 1; open = 1 } /^end/ { open = 0 } END { exit bad }' "$FAKE_POOL_DIR/order" &&
   [ "$(grep -c '^start' "$FAKE_POOL_DIR/order")" = 3 ]; then
    ok "three concurrent calls ran one after another"
else
    bad "overlapping runs: $(cat "$FAKE_POOL_DIR/order")"
fi
reset

# --- auto-grow -----------------------------------------------------------------------
dd if=/dev/zero of="$mnt/fill" bs=1M count=7 status=none # 1M of 8M left
autogrow_conf() {
    cat >"$HEARTHD_CONFIG" <<EOF
# test
[Pool]
AutoGrow=yes
AutoGrowFreeBelow=50%
AutoGrowStep=32M
AutoGrowInterval=1
$1
EOF
}
wait_call() { # wait_call TEXT: within 15 s
    _i=0
    while [ $_i -lt 150 ]; do
        grep -qx -- "$1" "$FAKE_POOL_DIR/calls" 2>/dev/null && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}
autogrow_conf ""
hearthd_restart
# 100M volume, 1M free, threshold 50% = 50M: lift by 49M → 4 extents of 16M.
wait_call "grow home +67108864" && ok "auto-grow: grown to lift free space over the threshold" ||
    bad "no auto-grow: $(calls)"
wait_log() { # wait_log TEXT: in hearthd's log within 10 s (the grow is answered after its run starts)
    _i=0
    while [ $_i -lt 100 ]; do
        grep -qF -- "$1" "$HEARTHD_LOG" && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}
wait_log "pool volume home: grew home from 100M to 164M" && ok "auto-grow logged" || bad "no log line"
check "LastAutoGrow" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 /io/hearth/Pool \
    org.freedesktop.DBus.Properties.Get string:io.hearth.Pool1 string:LastAutoGrow
contains "LastAutoGrow says what" "$HEARTHD_TMP/out" "grew home from 100M to 164M"
check "AutoGrow settings" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 /io/hearth/Pool \
    org.freedesktop.DBus.Properties.Get string:io.hearth.Pool1 string:AutoGrow
contains "enabled, volume home" "$HEARTHD_TMP/out" 'string "home"'

autogrow_conf "AutoGrowMaxSize=120M"
reset
hearthd_restart
wait_call "grow home +16777216" && ok "auto-grow stops at AutoGrowMaxSize (20M left → one extent)" ||
    bad "capped grow: $(calls)"
status_json $((120 * MB)) $((1024 * MB))
reset
sleep 2.5
! grep -q '^grow' "$FAKE_POOL_DIR/calls" 2>/dev/null && ok "no grow at the cap" || bad "grew past the cap: $(calls)"

autogrow_conf ""
status_json $((100 * MB)) $((32 * MB))
reset
hearthd_restart
wait_call "grow home +33554432" && ok "auto-grow takes what the pool has left" || bad "pool-limited: $(calls)"

autogrow_conf "AutoGrowFreeBelow=512K"
status_json $((100 * MB)) $((1024 * MB))
hearthd_restart
reset
sleep 2.5
grep -q '^status' "$FAKE_POOL_DIR/calls" && ! grep -q '^grow' "$FAKE_POOL_DIR/calls" &&
    ok "plenty of free space: looked, did not grow" || bad "calls: $(calls)"

# Off: no looking at all.
autogrow_conf "AutoGrow=no"
hearthd_restart
reset
sleep 2.5
[ -z "$(calls)" ] && ok "AutoGrow=no: the tool never runs" || bad "calls: $(calls)"

# A broken hearth.conf stops the start with file and line.
printf '[Pool]\nAutoGrow=yes\nAutoGrowStep=lots\n' >"$HEARTHD_CONFIG"
hearthd_stop
check "hearthd refuses a broken config" 1 "$HEARTHD_BIN" --state-dir="$HEARTHD_STATE_DIR" \
    --runtime-dir="$HEARTHD_RUNTIME_DIR" --worker="$HEARTHD_WORKER" --config="$HEARTHD_CONFIG"
contains "names file and line" "$HEARTHD_TMP/err" "hearth.conf:3: [Pool] AutoGrowStep=lots: not a valid value"
printf 'AutoGrow=yes\n' >"$HEARTHD_CONFIG"
check "a key outside a section" 1 "$HEARTHD_BIN" --state-dir="$HEARTHD_STATE_DIR" \
    --runtime-dir="$HEARTHD_RUNTIME_DIR" --worker="$HEARTHD_WORKER" --config="$HEARTHD_CONFIG"
contains "says so" "$HEARTHD_TMP/err" "outside of any [Section]"
printf '[Pool]\nAutoGrowFuture=1\n[Other]\nX=1\n' >"$HEARTHD_CONFIG"
hearthd_start
ok "unknown keys are skipped"
grep -q "unknown setting \[Pool\] AutoGrowFuture, ignored" "$HEARTHD_LOG" && ok "and logged" || bad "not logged"

hearthd_finish
