#!/bin/sh
# hearthd on a private system bus, driven at the D-Bus level (dbus-send), so
# every org.freedesktop.home1 error name is checked as clients see it.
#   test-hearthd.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

HEARTHD_BTRFS_SIZE=1G
hearthd_setup "$BUILDDIR" "$SRCDIR"
M=org.freedesktop.home1.Manager

# call METHOD ARGS...: the Manager method via dbus-send; reply in $out, error
# name first on stderr.
call() { hearthd_call "$@"; }
# expect_error DESC ERRNAME METHOD ARGS...
expect_error() {
    _d=$1 _e=$2; shift 2
    check "$_d" 1 call "$@"
    contains "$_d: $_e" "$HEARTHD_TMP/err" "Error org.freedesktop.$_e"
}
record() { # record USER [EXTRA_JSON_MEMBERS]
    printf '{"userName":"%s","realName":"%s test","disposition":"regular"%s}' "$1" "$1" "${2:-}"
}
now_usec() { echo $(($(date +%s) * 1000000 + 999999)); }

check "no homes at first" 0 call ListHomes
contains "empty list" "$HEARTHD_TMP/out" "array ["

# --- create ------------------------------------------------------------------
check "create alice (directory)" 0 call CreateHome \
    string:"$(record alice ',"storage":"directory","secret":{"password":["alice-pw"]}')"
check "GetHomeByName alice" 0 call GetHomeByName string:alice
contains "alice inactive" "$HEARTHD_TMP/out" '"inactive"'
alice_uid=$(sed -n 's/^ *uint32 \([0-9]*\)$/\1/p' "$HEARTHD_TMP/out" | head -n1)
[ -n "$alice_uid" ] && [ "$alice_uid" -ge 60001 ] && [ "$alice_uid" -le 60513 ] \
    && ok "alice has a home-range UID ($alice_uid)" || bad "alice UID: '$alice_uid'"
# A directory home: stored as her UID in alice.homedir, mounted at alice while active.
[ "$(stat -c '%u %a' "$HEARTHD_HOME_ROOT/alice.homedir")" = "$alice_uid 700" ] && ok "alice's storage is hers, 0700" \
    || bad "alice's storage: $(stat -c '%u %a' "$HEARTHD_HOME_ROOT/alice.homedir" 2>&1)"
check "no home directory while inactive" 0 test ! -e "$HEARTHD_HOME_ROOT/alice"
contains "NSS passwd has alice" "$HEARTHD_RUNTIME_DIR/passwd" "alice:x:$alice_uid:$alice_uid:alice test:$HEARTHD_HOME_ROOT/alice:"
contains "NSS group has alice" "$HEARTHD_RUNTIME_DIR/group" "alice:x:$alice_uid:"
[ -f "$HEARTHD_STATE_DIR/alice.identity" ] && ok "record stored" || bad "no $HEARTHD_STATE_DIR/alice.identity"

check "create bob (subvolume, 64M quota)" 0 call CreateHome \
    string:"$(record bob ',"storage":"subvolume","diskSize":67108864,"secret":{"password":["bob-pw"]}')"
bob_uid=$(awk -F: '$1 == "bob" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
expect_error "create alice again" home1.UserNameExists CreateHome string:"$(record alice)"
expect_error "create with alice's UID" home1.UIDInUse CreateHome string:"$(record carol ",\"uid\":$alice_uid")"
expect_error "create with a name NSS knows" home1.UserNameExists CreateHome string:"$(record root)"
expect_error "malformed record" DBus.Error.InvalidArgs CreateHome string:'{"userName":"dave","userName":"eve"}'
expect_error "record with a bad field" DBus.Error.InvalidArgs CreateHome string:"$(record dave ',"diskSize":"big"')"
check "failed creates left nothing" 0 test ! -e "$HEARTHD_HOME_ROOT/carol" -a ! -e "$HEARTHD_HOME_ROOT/carol.homedir" \
    -a ! -e "$HEARTHD_STATE_DIR/dave.identity"
check "bob's storage is stored as nobody" 0 test "$(stat -c %u:%g "$HEARTHD_HOME_ROOT/bob.homedir")" = 65534:65534
# Each storage is guarded: bound onto itself nosuid,nodev,noexec, once (storage/home-guard.h).
mounts_on() { awk -v t="$1" '$5 == t' /proc/self/mountinfo | wc -l; }
guarded() { # guarded USER
    _o=$(findmnt -n -o OPTIONS --mountpoint "$HEARTHD_HOME_ROOT/$1.homedir" 2>/dev/null)
    [ "$(mounts_on "$HEARTHD_HOME_ROOT/$1.homedir")" = 1 ] && echo "$_o" | grep -qw nosuid && echo "$_o" | grep -qw nodev &&
        echo "$_o" | grep -qw noexec
}
check "alice's storage is guarded" 0 guarded alice
check "bob's storage is guarded" 0 guarded bob
# A block device another home's record names is never given to a new home (#18 item 2).
check "register lucy, a LUKS home on a device" 0 call RegisterHome string:"{\"userName\":\"lucy\",\"uid\":60400,\"storage\":\"luks\",\"imagePath\":\"/dev/hearth-test-blk\",\"disposition\":\"regular\",\"lastChangeUSec\":$(now_usec)}"
expect_error "create on lucy's device" home1.HomeExists CreateHome \
    string:"$(record mara ',"storage":"luks","imagePath":"/dev/hearth-test-blk","secret":{"password":["m"]}')"
contains "refusal names lucy" "$HEARTHD_TMP/err" "volume of home lucy"
# … nor under another name: a loop device over the file her device is a loop over.
truncate -s 16M "$HEARTHD_TMP/lucy-disk"
lucy_a=$(losetup -f --show "$HEARTHD_TMP/lucy-disk") && lucy_b=$(losetup -f --show "$HEARTHD_TMP/lucy-disk") ||
    { echo "SKIP: no loop devices"; exit 77; }
hearthd_at_exit "losetup -d $lucy_a $lucy_b 2>/dev/null"
check "register lucy2 on $lucy_a" 0 call RegisterHome string:"{\"userName\":\"lucy2\",\"uid\":60401,\"storage\":\"luks\",\"imagePath\":\"$lucy_a\",\"disposition\":\"regular\",\"lastChangeUSec\":$(now_usec)}"
expect_error "create on another loop device over lucy2's" home1.HomeExists CreateHome \
    string:"$(record mara ",\"storage\":\"luks\",\"imagePath\":\"$lucy_b\",\"secret\":{\"password\":[\"m\"]}")"
contains "refusal names lucy2" "$HEARTHD_TMP/err" "volume of home lucy2"
check "unregister lucy2" 0 call UnregisterHome string:lucy2
# What the header holds of the TPM is chosen at create: an update cannot
# say otherwise (a TPM home's PIN hash would be stored; attack-luks3 #3).
expect_error "update lucy to tpm2" DBus.Error.InvalidArgs UpdateHome \
    string:"{\"userName\":\"lucy\",\"uid\":60400,\"storage\":\"luks\",\"imagePath\":\"/dev/hearth-test-blk\",\"tpm2\":true,\"lastChangeUSec\":$(($(now_usec) + 1000000))}"
contains "the refusal names tpm2" "$HEARTHD_TMP/err" "tpm2 is chosen when the home is created"
check "unregister lucy" 0 call UnregisterHome string:lucy
expect_error "unknown user" home1.NoSuchHome GetHomeByName string:nobody-here
expect_error "unknown UID" home1.NoSuchHome GetUserRecordByUID uint32:60500
expect_error "invalid user name" DBus.Error.InvalidArgs GetHomeByName string:'../etc'

# --- activate, authenticate, rate limit --------------------------------------
expect_error "activate with a wrong password" home1.BadPassword ActivateHome string:alice string:'{"password":["nope"]}'
check "activate alice" 0 call ActivateHome string:alice string:'{"password":["nope","alice-pw"]}'
expect_error "activate twice" home1.HomeAlreadyActive ActivateHome string:alice string:'{"password":["alice-pw"]}'
check "active: alice's home is mounted" 0 mountpoint -q "$HEARTHD_HOME_ROOT/alice"
[ "$(stat -c '%u %a' "$HEARTHD_HOME_ROOT/alice")" = "$alice_uid 700" ] && ok "alice's home is hers, 0700" \
    || bad "alice's home: $(stat -c '%u %a' "$HEARTHD_HOME_ROOT/alice" 2>&1)"
expect_error "secret that is not JSON" DBus.Error.InvalidArgs AuthenticateHome string:alice string:'pw'
check "authenticate alice" 0 call AuthenticateHome string:alice string:'{"password":["alice-pw"]}'

# --- records and access -------------------------------------------------------
check "root gets alice's full record" 0 call GetUserRecordByName string:alice
contains "privileged section for root" "$HEARTHD_TMP/out" hashedPassword
contains "status: active" "$HEARTHD_TMP/out" '"state":"active"'
contains "binding written as homed does" "$HEARTHD_TMP/out" "\"uid\":$alice_uid"
lacks "no secret in records" "$HEARTHD_TMP/out" alice-pw
check "alice reads her own full record" 0 hearthd_as_user "$alice_uid" sh -c \
    "dbus-send --system --print-reply --dest=org.freedesktop.home1 /org/freedesktop/home1 $M.GetUserRecordByName string:alice"
contains "alice sees her hashes" "$HEARTHD_TMP/out" hashedPassword
contains "complete for alice" "$HEARTHD_TMP/out" "boolean false"
check "alice reads bob's record" 0 hearthd_as_user "$alice_uid" sh -c \
    "dbus-send --system --print-reply --dest=org.freedesktop.home1 /org/freedesktop/home1 $M.GetUserRecordByName string:bob"
lacks "bob's hashes hidden from alice" "$HEARTHD_TMP/out" hashedPassword
contains "marked incomplete" "$HEARTHD_TMP/out" "boolean true"
as_alice() { _m=$1; shift; hearthd_as_user "$alice_uid" dbus-send --system --print-reply --dest=org.freedesktop.home1 /org/freedesktop/home1 "$M.$_m" "$@"; }
check "alice authenticates herself" 0 as_alice AuthenticateHome string:alice string:'{"password":["alice-pw"]}'
check "alice may not remove bob" 1 as_alice RemoveHome string:bob
contains "AccessDenied for alice" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.AccessDenied"
check "alice may not create" 1 hearthd_as_user "$alice_uid" dbus-send --system --print-reply --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 "$M.CreateHome" string:"$(record mallory)"
contains "AccessDenied for create" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.AccessDenied"
check "alice may not activate bob with a guess" 1 as_alice ActivateHome string:bob string:'{"password":["bob-pw"]}'
contains "AccessDenied for bob's home" "$HEARTHD_TMP/err" "AccessDenied"
check "alice may not change her password with a wrong one" 1 as_alice ChangePasswordHome string:alice \
    string:'{"password":["alice-new"]}' string:'{"password":["guess"]}'
contains "BadPassword for alice" "$HEARTHD_TMP/err" "org.freedesktop.home1.BadPassword"

# --- update, passwd, resize ----------------------------------------------------
check "read alice for update" 0 call GetUserRecordByName string:alice
old=$(now_usec)
check "update alice's real name" 0 call UpdateHome \
    string:"$(record alice ",\"realName\":\"Alice Liddell\",\"storage\":\"directory\",\"lastChangeUSec\":$old" | sed 's/"realName":"alice test",//')"
contains "NSS passwd follows the update" "$HEARTHD_RUNTIME_DIR/passwd" "alice:x:$alice_uid:$alice_uid:Alice Liddell:"
expect_error "older record refused" home1.RecordDowngrade UpdateHome string:"$(record alice ',"lastChangeUSec":5')"
check "change alice's password" 0 call ChangePasswordHome string:alice string:'{"password":["alice-2"]}' \
    string:'{"password":["alice-pw"]}'
expect_error "old password gone" home1.BadPassword AuthenticateHome string:alice string:'{"password":["alice-pw"]}'
check "new password works" 0 call AuthenticateHome string:alice string:'{"password":["alice-2"]}'
check "bob may not resize his own home (a quota is the admin's)" 1 hearthd_as_user "$bob_uid" \
    dbus-send --system --print-reply --dest=org.freedesktop.home1 /org/freedesktop/home1 "$M.ResizeHome" \
    string:bob uint64:18446744073709551614 string:'{"password":["bob-pw"]}'
contains "AccessDenied for bob's resize" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.AccessDenied"
expect_error "directory homes have no size" DBus.Error.NotSupported ResizeHome string:alice uint64:104857600 \
    string:'{"password":["alice-2"]}'
check "resize bob to 128M" 0 call ResizeHome string:bob uint64:134217728 string:'{"password":["bob-pw"]}'
check "bob's record has the size" 0 call GetUserRecordByName string:bob
contains "diskSize 128M" "$HEARTHD_TMP/out" '"diskSize":134217728'

# --- references ------------------------------------------------------------------
check "deactivate alice" 0 call DeactivateHome string:alice
check "inactive: unmounted, no home directory" 0 test ! -e "$HEARTHD_HOME_ROOT/alice"
expect_error "deactivate again" home1.HomeNotActive DeactivateHome string:alice
expect_error "ref of an inactive home" home1.HomeNotActive RefHome string:alice boolean:false
# A process holding the fd AcquireHome returns keeps the home active.
mkfifo "$HEARTHD_TMP/hold"
"$BUILDDIR/tests/host/hold-home" alice '{"password":["alice-2"]}' <"$HEARTHD_TMP/hold" >"$HEARTHD_TMP/held" 2>&1 &
holder=$!
exec 8>"$HEARTHD_TMP/hold"
i=0; while [ $i -lt 100 ] && ! grep -q held "$HEARTHD_TMP/held"; do sleep 0.1; i=$((i + 1)); done
contains "AcquireHome gave an fd" "$HEARTHD_TMP/held" held
check "alice active while held" 0 call GetHomeByName string:alice
contains "active while held" "$HEARTHD_TMP/out" '"active"'
check "RefHome while active" 0 call RefHome string:alice boolean:false
expect_error "release while referenced" home1.HomeBusy ReleaseHome string:alice
exec 8>&-
wait "$holder"
i=0
while [ $i -lt 100 ]; do
    call GetHomeByName string:alice >"$HEARTHD_TMP/st" 2>&1
    grep -q '"inactive"' "$HEARTHD_TMP/st" && break
    sleep 0.1; i=$((i + 1))
done
contains "deactivated after the last fd closed" "$HEARTHD_TMP/st" '"inactive"'

# --- many readers during a slow create ---------------------------------------------
skel=$HEARTHD_TMP/bigskel
mkdir -p "$skel"
i=0; while [ $i -lt 40 ]; do mkdir "$skel/d$i"; j=0; while [ $j -lt 50 ]; do echo "$i $j" >"$skel/d$i/f$j"; j=$((j + 1)); done; i=$((i + 1)); done
call CreateHome string:"$(record erin ",\"storage\":\"directory\",\"skeletonDirectory\":\"$skel\"")" \
    >"$HEARTHD_TMP/create.out" 2>&1 &
creator=$!
i=0 readers=
while [ $i -lt 200 ]; do
    (call GetUserRecordByName string:alice >/dev/null 2>&1 && echo ok >>"$HEARTHD_TMP/readers") &
    readers="$readers $!"
    i=$((i + 1))
done
# Only our own jobs: hearthd and the bus are children of this shell too.
# shellcheck disable=SC2086
wait $readers "$creator"
[ "$(wc -l <"$HEARTHD_TMP/readers")" -eq 200 ] && ok "200 concurrent reads answered during a create" \
    || bad "only $(wc -l <"$HEARTHD_TMP/readers") of 200 reads answered"
[ -f "$HEARTHD_HOME_ROOT/erin.homedir/d39/f49" ] && ok "the create finished meanwhile" || { bad "erin not created"; cat "$HEARTHD_TMP/create.out"; }

# --- SIGKILL mid-create, then restart ---------------------------------------------------
call CreateHome string:"$(record fred ",\"storage\":\"directory\",\"skeletonDirectory\":\"$skel\"")" >/dev/null 2>&1 &
creator=$!
i=0; while [ $i -lt 200 ] && ! ls -a "$HEARTHD_HOME_ROOT" | grep -q 'hearth-.*fred'; do sleep 0.01; i=$((i + 1)); done
hearthd_kill9
wait "$creator"
hearthd_start
check "list after the restart" 0 call ListHomes
cp "$HEARTHD_TMP/out" "$HEARTHD_TMP/list"
if grep -q '"fred"' "$HEARTHD_TMP/list"; then
    # Killed before it finished: a record with no storage, which remove clears.
    check "fred absent or complete" 0 sh -c "grep -A2 '\"fred\"' '$HEARTHD_TMP/list' | grep -Eq '\"(absent|inactive)\"'"
    check "remove the half-made fred" 0 call RemoveHome string:fred
fi
check "no work of the killed worker left visible" 0 test ! -e "$HEARTHD_HOME_ROOT/fred" -a ! -e "$HEARTHD_HOME_ROOT/fred.homedir"
check "alice survived the restart" 0 call GetHomeByName string:alice

# --- hearthd guards every home's storage before it answers ----------------------------------
hearthd_stop
umount "$HEARTHD_HOME_ROOT/alice.homedir" "$HEARTHD_HOME_ROOT/bob.homedir"
check "guards taken off while hearthd is stopped" 0 test "$(mounts_on "$HEARTHD_HOME_ROOT/alice.homedir")$(mounts_on "$HEARTHD_HOME_ROOT/bob.homedir")" = 00
hearthd_start
check "alice's storage guarded again at start" 0 guarded alice
check "bob's storage guarded again at start" 0 guarded bob
contains "the start says so" "$HEARTHD_LOG" "home bob: $HEARTHD_HOME_ROOT/bob.homedir guarded (nosuid,nodev,noexec)"
hearthd_restart
check "a restart does not stack guards" 0 guarded alice
check "nor on bob's" 0 guarded bob

# --- restart keeps active homes active ------------------------------------------------------
check "activate bob" 0 call ActivateHome string:bob string:'{"password":["bob-pw"]}'
hearthd_restart
check "bob active after a restart" 0 call GetHomeByName string:bob
contains "still active" "$HEARTHD_TMP/out" '"active"'
check "and still mounted" 0 mountpoint -q "$HEARTHD_HOME_ROOT/bob"
# Unmounted behind hearthd's back: active no more, and hearthd says so.
umount "$HEARTHD_HOME_ROOT/bob"
hearthd_restart
check "bob unmounted behind hearthd's back" 0 call GetUserRecordByName string:bob
contains "dirty: nothing mounted" "$HEARTHD_TMP/out" "was active, but nothing is mounted on"
check "activating the dirty home mounts it again" 0 call ActivateHome string:bob string:'{"password":["bob-pw"]}'
check "bob mounted again" 0 mountpoint -q "$HEARTHD_HOME_ROOT/bob"
check "deactivate bob" 0 call DeactivateHome string:bob
# Mounted behind hearthd's back (a worker killed after mounting).
mkdir "$HEARTHD_HOME_ROOT/bob" && mount --bind "$HEARTHD_HOME_ROOT/bob.homedir" "$HEARTHD_HOME_ROOT/bob"
hearthd_restart
check "bob mounted behind hearthd's back" 0 call GetUserRecordByName string:bob
contains "dirty: mounted" "$HEARTHD_TMP/out" "bob is mounted, but hearthd did not activate it"
check "deactivate unmounts it" 0 call DeactivateHome string:bob
check "unmounted" 0 test ! -e "$HEARTHD_HOME_ROOT/bob"
check "activate bob" 0 call ActivateHome string:bob string:'{"password":["bob-pw"]}'
rm -f "$HEARTHD_HOME_ROOT/.keep"
btrfs subvolume delete "$HEARTHD_HOME_ROOT/bob.homedir" >/dev/null 2>&1 && {
    hearthd_restart
    check "bob's storage vanished: dirty" 0 call GetUserRecordByName string:bob
    contains "dirty with a reason" "$HEARTHD_TMP/out" '"dirtyReason"'
}

# --- remove -------------------------------------------------------------------------------
check "activate erin (no password)" 0 call ActivateHome string:erin string:"{}"
expect_error "remove an active home" home1.HomeBusy RemoveHome string:erin
check "remove alice" 0 call RemoveHome string:alice
expect_error "alice is gone" home1.NoSuchHome GetHomeByName string:alice
check "her storage is gone" 0 test ! -e "$HEARTHD_HOME_ROOT/alice" -a ! -e "$HEARTHD_HOME_ROOT/alice.homedir"
check "and its guard" 0 test "$(mounts_on "$HEARTHD_HOME_ROOT/alice.homedir")" = 0
lacks "NSS passwd lost alice" "$HEARTHD_RUNTIME_DIR/passwd" "alice:"
check "DeactivateAllHomes" 0 call DeactivateAllHomes
check "Rebalance is not needed" 1 call Rebalance
contains "RebalanceNotNeeded" "$HEARTHD_TMP/err" "org.freedesktop.home1.RebalanceNotNeeded"

# --- a worker that crashes fails its one call ---------------------------------------------
printf '#!/bin/sh\nkill -SEGV $$\n' >"$HEARTHD_TMP/crashing-worker"
chmod +x "$HEARTHD_TMP/crashing-worker"
hearthd_restart --worker="$HEARTHD_TMP/crashing-worker"
expect_error "crashing worker" DBus.Error.Failed AuthenticateHome string:erin string:'{}'
contains "the call says why" "$HEARTHD_TMP/err" "killed by signal 11"
check "the daemon carries on" 0 call GetHomeByName string:erin
printf '#!/bin/sh\nprintf "home x: \\377\\376 bad \\001 bytes\\n" >&2\nexit 20\n' >"$HEARTHD_TMP/garbling-worker"
chmod +x "$HEARTHD_TMP/garbling-worker"
hearthd_restart --worker="$HEARTHD_TMP/garbling-worker"
expect_error "a worker printing invalid UTF-8 still gets an answer" DBus.Error.Failed AuthenticateHome \
    string:erin string:'{}'
contains "its reason, cleaned" "$HEARTHD_TMP/err" "home x: ?? bad ? bytes"
# SIGTERM waits for the operation that runs (a resize must not be cut short).
printf '#!/bin/sh\nsleep 2\nexec %s "$@"\n' "$HEARTHD_WORKER" >"$HEARTHD_TMP/slow-worker"
chmod +x "$HEARTHD_TMP/slow-worker"
hearthd_restart --worker="$HEARTHD_TMP/slow-worker"
call AuthenticateHome string:erin string:'{}' >"$HEARTHD_TMP/slow.out" 2>&1 &
slow=$!
sleep 1
hearthd_stop
wait "$slow" && ok "the running call completed across SIGTERM" || { bad "call cut by SIGTERM"; cat "$HEARTHD_TMP/slow.out"; }
hearthd_start

# --- the rate limit on failed authentication ------------------------------------------
check "create gina" 0 call CreateHome \
    string:"$(record gina ',"storage":"directory","secret":{"password":["gina-pw"]}')"
i=0
while [ $i -lt 10 ]; do call AuthenticateHome string:gina string:'{"password":["x"]}' >/dev/null 2>&1; i=$((i + 1)); done
expect_error "11th attempt after 10 failures in a minute" home1.AuthenticationLimitHit AuthenticateHome \
    string:gina string:'{"password":["gina-pw"]}'

# --- where the file system cannot ID-map: the worker's notice reaches hearthd's log -------
printf '#!/bin/sh\nHEARTH_TEST_NO_IDMAP=1 exec %s "$@"\n' "$HEARTHD_WORKER" >"$HEARTHD_TMP/no-idmap-worker"
chmod +x "$HEARTHD_TMP/no-idmap-worker"
check "create hal (subvolume: stored as nobody)" 0 call CreateHome \
    string:"$(record hal ',"storage":"subvolume","secret":{"password":["hal-pw"]}')"
hal_uid=$(awk -F: '$1 == "hal" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
hearthd_restart --worker="$HEARTHD_TMP/no-idmap-worker"
check "activate hal where nothing ID-maps" 0 call ActivateHome string:hal string:'{"password":["hal-pw"]}'
[ "$(grep -c "home hal: file system cannot ID-map, changed owners instead" "$HEARTHD_LOG")" = 1 ] \
    && ok "hearthd logs the fallback once" || bad "hearthd's log: $(grep "home hal" "$HEARTHD_LOG")"
check "stored as hal now" 0 test "$(stat -c %u "$HEARTHD_HOME_ROOT/hal.homedir")" = "$hal_uid"
check "hal's record" 0 call GetUserRecordByName string:hal
lacks "the notice is not part of the status clients see" "$HEARTHD_TMP/out" "hearthNotices"
check "deactivate hal" 0 call DeactivateHome string:hal
hearthd_restart

hearthd_finish
