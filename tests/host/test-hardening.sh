#!/bin/sh
# Issue #17's hardening, each against hearthd on a private bus with a loop
# Btrfs home root: a hung worker is killed at its time limit; nested
# subvolumes count against a home's quota; a create or remove killed at any
# step leaves nothing of the user readable; a full state file system fails
# an operation cleanly instead of marking the home dirty.
#   test-hardening.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

HEARTHD_BTRFS_SIZE=1G
_hearthd_init
# A stand-in worker: the real one, except that it stops itself (SIGSTOP, as
# a worker stuck in a mount would hang) before an operation named in
# $HEARTHD_TMP/hang, and that it runs with HEARTH_FAILPOINT (it SIGKILLs
# itself at that step) from $HEARTHD_TMP/failpoint.
cat >"$HEARTHD_TMP/worker" <<WORKER
#!/bin/sh
if [ -e "$HEARTHD_TMP/hang" ] && [ "\$1" = "\$(cat "$HEARTHD_TMP/hang")" ]; then
    # A tool it started (mkfs, e2fsck…) runs on while it hangs.
    sleep 300 & echo \$! >"$HEARTHD_TMP/tool.pid"
    kill -STOP \$\$
fi
if [ -e "$HEARTHD_TMP/failpoint" ]; then HEARTH_FAILPOINT=\$(cat "$HEARTHD_TMP/failpoint"); export HEARTH_FAILPOINT; fi
exec "$BUILDDIR/hearth-work/hearth-work" "\$@"
WORKER
chmod 755 "$HEARTHD_TMP/worker"
HEARTHD_WORKER=$HEARTHD_TMP/worker
printf '[Worker]\nActivateTimeout=3s\nPasswdTimeout=3s\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"

call() { hearthd_call "$@"; }
record() { # record USER STORAGE [EXTRA_JSON_MEMBERS]
    printf '{"userName":"%s","storage":"%s","disposition":"regular","secret":{"password":["%s-pw"]}%s}' \
        "$1" "$2" "$1" "${3:-}"
}
state_of() { # the state the bus shows
    call GetHomeByName string:"$1" 2>/dev/null | sed -n 's/^ *string "\([a-z-]*\)"$/\1/p' | head -n1
}
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }

# --- 6: a hung worker ------------------------------------------------------------
check "create wanda" 0 call CreateHome string:"$(record wanda directory)"
echo activate >"$HEARTHD_TMP/hang"
t0=$(date +%s)
check "activate with a hung worker fails" 1 call ActivateHome string:wanda string:'{"password":["wanda-pw"]}'
t1=$(date +%s)
rm -f "$HEARTHD_TMP/hang"
[ $((t1 - t0)) -le 15 ] && ok "it failed after the limit ($((t1 - t0)) s)" || bad "it took $((t1 - t0)) s"
contains "a timeout error" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.Timeout"
contains "naming the home and the limit" "$HEARTHD_TMP/err" "home wanda: activate did not finish within its time limit of 3s"
[ "$(state_of wanda)" = inactive ] && ok "wanda is inactive, not stuck" || bad "wanda: $(state_of wanda)"
tool=$(cat "$HEARTHD_TMP/tool.pid" 2>/dev/null)
sleep 0.5
# (Dead: gone, or a zombie its new parent has not reaped yet.)
[ -n "$tool" ] && ! _hearthd_alive "$tool" && ok "the tool the worker ran was killed with it" \
    || { bad "the worker's tool $tool still runs"; [ -n "$tool" ] && kill "$tool" 2>/dev/null; }
check "wanda activates now" 0 call ActivateHome string:wanda string:'{"password":["wanda-pw"]}'
[ "$(state_of wanda)" = active ] && ok "wanda active" || bad "wanda: $(state_of wanda)"
check "deactivate wanda" 0 call DeactivateHome string:wanda
# The 3 s were for the hung worker: the activations below (users write into
# their homes through the mount) get the default limit, which a sanitized
# worker on a loaded machine needs.
printf '[Worker]\nPasswdTimeout=3s\n' >"$HEARTHD_CONFIG"
hearthd_restart

# --- 3: killed creates and removes ---------------------------------------------------
# The worker SIGKILLs itself at a named step (HEARTH_FAILPOINT, passed on
# by hearthd); afterwards nothing of the user may stay readable by her old
# UID, and nothing of another home is lost.
leftovers() { find "$HEARTHD_HOME_ROOT" -maxdepth 1 -name ".#hearth-*$1*" | wc -l; }
wait_no_leftovers() { # wait_no_leftovers USER: 10 s
    _i=0
    while [ "$(leftovers "$1")" -ne 0 ]; do
        [ $_i -ge 100 ] && return 1
        sleep 0.1; _i=$((_i + 1))
    done
}
# readable_by UID USER: what of the home root UID can read, other than USER's
# home (its storage USER.homedir, and USER where it is mounted)
readable_by() {
    hearthd_as_user "$1" sh -c "cd '$HEARTHD_HOME_ROOT' && grep -rl 'secret of' . 2>/dev/null" |
        grep -v -e "^./$2/" -e "^./$2.homedir/" || true
}
with_failpoint() { echo "$1" >"$HEARTHD_TMP/failpoint"; } # the next worker dies at step $1
no_failpoint() { rm -f "$HEARTHD_TMP/failpoint"; }
check "create keeper (another home that must not suffer)" 0 call CreateHome string:"$(record keeper subvolume)"
keeper_uid=$(uid_of keeper)
# Active throughout: her files are reached through her mount.
check "activate keeper" 0 call ActivateHome string:keeper string:'{"password":["keeper-pw"]}'
hearthd_as_user "$keeper_uid" sh -c "echo 'secret of keeper' >'$HEARTHD_HOME_ROOT/keeper/secret'"

n=0
# FAILPOINT STORAGE HOW: the worker alone died, or hearthd too (SIGKILL:
# its worker dies with it) and starts again.
for c in home-remove-renamed/directory/worker home-remove-renamed/subvolume/hearthd \
         home-remove-locked/subvolume/worker home-remove-locked/directory/hearthd; do
    fp=${c%%/*} how=${c##*/} storage=${c#*/}; storage=${storage%/*}
    n=$((n + 1)); u=rita$n
    check "$c: create $u" 0 call CreateHome string:"$(record "$u" "$storage")"
    uid=$(uid_of "$u")
    check "$c: activate $u" 0 call ActivateHome string:"$u" string:"{\"password\":[\"$u-pw\"]}"
    hearthd_as_user "$uid" sh -c "mkdir -p '$HEARTHD_HOME_ROOT/$u/d' && echo 'secret of $u' >'$HEARTHD_HOME_ROOT/$u/d/secret'"
    check "$c: deactivate $u" 0 call DeactivateHome string:"$u"
    with_failpoint "$fp"
    check "$c: remove $u is killed" 1 call RemoveHome string:"$u"
    no_failpoint
    if [ "$how" = hearthd ]; then hearthd_kill9; hearthd_start; fi
    r=$(readable_by "$uid" "$u")
    [ -z "$r" ] && ok "$c: $u's UID reads nothing of the half-removed home" || bad "$c: the UID reads: $r"
    check "$c: remove $u again" 0 call RemoveHome string:"$u"
    wait_no_leftovers "$u" && ok "$c: no leftover of $u" || bad "$c: leftovers: $(ls -la "$HEARTHD_HOME_ROOT")"
    check "$c: a new home gets $u's UID" 0 call CreateHome string:"$(record "new$n" directory ",\"uid\":$uid")"
    r=$(readable_by "$uid" "new$n")
    [ -z "$r" ] && ok "$c: new$n reads nothing of $u" || bad "$c: new$n reads: $r"
    check "$c: remove new$n" 0 call RemoveHome string:"new$n"
done

for c in home-create-made/directory home-create-seeded/subvolume home-create-chowned/directory \
         home-create-renamed/directory home-create-renamed/subvolume; do
    fp=${c%/*} storage=${c#*/}
    n=$((n + 1)); u=carl$n; uid=$((60400 + n))
    with_failpoint "$fp"
    check "$c: create $u is killed" 1 call CreateHome string:"$(record "$u" "$storage" ",\"uid\":$uid")"
    no_failpoint
    wait_no_leftovers "$u" && ok "$c: no leftover of $u" || bad "$c: leftovers: $(ls -la "$HEARTHD_HOME_ROOT")"
    [ ! -e "$HEARTHD_HOME_ROOT/$u" ] && [ ! -e "$HEARTHD_HOME_ROOT/$u.homedir" ] && ok "$c: no half home" ||
        bad "$c: $u is there: $(ls -la "$HEARTHD_HOME_ROOT")"
    check "$c: create $u again" 0 call CreateHome string:"$(record "$u" "$storage" ",\"uid\":$uid")"
    check "$c: $u works" 0 call AuthenticateHome string:"$u" string:"{\"password\":[\"$u-pw\"]}"
    check "$c: remove $u" 0 call RemoveHome string:"$u"
done
# Leftovers found at start-up, of a user with no record: locked down at once.
mkdir -p "$HEARTHD_HOME_ROOT/.#hearth-remove.ghost.abcdef/d"
echo 'secret of ghost' >"$HEARTHD_HOME_ROOT/.#hearth-remove.ghost.abcdef/d/secret"
chown -R 60450:60450 "$HEARTHD_HOME_ROOT/.#hearth-remove.ghost.abcdef"
hearthd_stop; hearthd_start
wait_no_leftovers ghost && ok "a record-less user's leftover is removed at start-up" || bad "ghost: $(ls -la "$HEARTHD_HOME_ROOT")"
hearthd_as_user "$keeper_uid" cat "$HEARTHD_HOME_ROOT/keeper/secret" | grep -q 'secret of keeper' &&
    ok "keeper's home is intact" || bad "keeper's home: $(ls -la "$HEARTHD_HOME_ROOT/keeper")"
# The skel template the subvolume homes above are snapshots of
# (skel/skel-template.h): no home, and no leftover either, for hearthd
# (which started again above), homectl or hearth-work clean. (Its spares
# beside it, and a spare's build under way, are counted apart.)
T=$HEARTHD_HOME_ROOT/.#hearth-skel-template
[ "$(find "$T" -mindepth 1 -maxdepth 1 ! -name '*.spare-*' ! -name '.build-*' | wc -l)" = 1 ] && ok "one skel template, kept across hearthd's start" ||
    bad "skel template: $(ls -la "$T" 2>&1)"
check "list homes" 0 call ListHomes
lacks "the template is no home on the bus" "$HEARTHD_TMP/out" "skel"
check "homectl list" 0 "$HEARTHD_HOMECTL" list
lacks "nor in homectl list" "$HEARTHD_TMP/out" "skel"
check "hearth-work clean keeper" 0 sh -c "printf '{\"userName\":\"keeper\",\"uid\":$keeper_uid,\"storage\":\"subvolume\"}' |
    HEARTH_HOME_ROOT='$HEARTHD_HOME_ROOT' HEARTH_RUNTIME_DIR='$HEARTHD_RUNTIME_DIR' '$BUILDDIR/hearth-work/hearth-work' clean"
[ "$(find "$T" -mindepth 1 -maxdepth 1 ! -name '*.spare-*' ! -name '.build-*' | wc -l)" = 1 ] && ok "clean leaves the template alone" || bad "after clean: $(ls -la "$T" 2>&1)"

# --- 5: a full state file system -----------------------------------------------------
check "create fay" 0 call CreateHome string:"$(record fay directory)"
check "activate fay" 0 call ActivateHome string:fay string:'{"password":["fay-pw"]}'
hearthd_stop
cp -a "$HEARTHD_STATE_DIR" "$HEARTHD_TMP/state.saved"
mount -t tmpfs -o size=1m,mode=0700 hearth-test-state "$HEARTHD_STATE_DIR" || { bad "cannot mount a tmpfs"; hearthd_finish; }
cp -a "$HEARTHD_TMP/state.saved/." "$HEARTHD_STATE_DIR/"
hearthd_start
dd if=/dev/zero of="$HEARTHD_STATE_DIR/filler" bs=4k 2>/dev/null
[ "$(df --output=avail -k "$HEARTHD_STATE_DIR" | tail -n1 | tr -d ' ')" -eq 0 ] && ok "the state file system is full" ||
    bad "not full: $(df -k "$HEARTHD_STATE_DIR")"
check "full: a password change fails" 1 call ChangePasswordHome string:fay string:'{"password":["fay-new"]}' \
    string:'{"password":["fay-pw"]}'
contains "full: and says why" "$HEARTHD_TMP/err" "cannot store the updated record"
[ "$(state_of fay)" = active ] && ok "full: fay is still active, not dirty" || bad "full: fay is $(state_of fay)"
check "full: a new reference (a login) works" 0 call RefHome string:fay boolean:false
check "full: the old password still works" 0 call AuthenticateHome string:fay string:'{"password":["fay-pw"]}'
# dbus-send closed the reference at once: the home deactivates by itself.
_i=0; while [ "$(state_of fay)" != inactive ] && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
[ "$(state_of fay)" = inactive ] && ok "full: deactivated after the last reference" || bad "full: fay is $(state_of fay)"
check "full: activate fay (nothing new to store)" 0 call ActivateHome string:fay string:'{"password":["fay-pw"]}'
[ "$(state_of fay)" = active ] && ok "full: fay active" || bad "full: fay is $(state_of fay)"
rm -f "$HEARTHD_STATE_DIR/filler"
check "room again: the password change works" 0 call ChangePasswordHome string:fay \
    string:'{"password":["fay-new"]}' string:'{"password":["fay-pw"]}'
check "deactivate fay" 0 call DeactivateHome string:fay

# --- 2: subvolumes inside a subvolume home count -------------------------------------
R=$HEARTHD_HOME_ROOT
as_uid() { _u=$1; shift; hearthd_as_user "$_u" sh -c "$*"; }
usage_of() { call GetUserRecordByName string:"$1" | grep -o '"diskUsage":[0-9]*' | head -n1 | cut -d: -f2; }
check "create nina (subvolume, 64M)" 0 call CreateHome string:"$(record nina subvolume ',"diskSize":67108864')"
nina=$(uid_of nina)
check "activate nina" 0 call ActivateHome string:nina string:'{"password":["nina-pw"]}'
check "nina makes a subvolume in her home" 0 as_uid "$nina" "btrfs subvolume create '$R/nina/free'"
check "writing 150M into it fails" 1 as_uid "$nina" "dd if=/dev/zero of='$R/nina/free/big' bs=1M count=150 conv=fsync"
contains "with EDQUOT" "$HEARTHD_TMP/err" "Disk quota exceeded"
size=$(stat -c %s "$R/nina/free/big")
[ "$size" -le $((64 * 1048576)) ] && ok "at most 64M written ($size)" || bad "$size bytes written"
check "authenticate nina (usage is read after every operation)" 0 call AuthenticateHome string:nina string:'{"password":["nina-pw"]}'
u=$(usage_of nina)
[ -n "$u" ] && [ "$u" -ge $((48 * 1048576)) ] && ok "the usage counts the subvolume ($u)" || bad "usage: $u"

# A home from before: a level-0 limit only. Its next activation moves the
# limit to the group and takes in what was made inside meanwhile.
check "create olga (subvolume, 64M)" 0 call CreateHome string:"$(record olga subvolume ',"diskSize":67108864')"
olga=$(uid_of olga)
id=$(btrfs inspect-internal rootid "$R/olga.homedir")
btrfs qgroup remove "0/$id" "1/$id" "$R" >/dev/null 2>&1
btrfs qgroup destroy "1/$id" "$R" >/dev/null 2>&1
btrfs qgroup show "$R" 2>/dev/null | grep -q "^1/$id " && bad "1/$id still there" || ok "olga's home as before: no group"
# Made while she was away: in her storage, by root (her home is not mounted).
check "a subvolume made inside olga's home" 0 btrfs subvolume create "$R/olga.homedir/free"
check "40M written into it" 0 dd if=/dev/zero of="$R/olga.homedir/free/a" bs=1M count=40 conv=fsync
chown -R 65534:65534 "$R/olga.homedir/free"  # stored as hers
check "activate olga" 0 call ActivateHome string:olga string:'{"password":["olga-pw"]}'
btrfs qgroup show -re --raw "$R" 2>/dev/null | awk -v g="1/$id" '$1 == g { print $4 }' >"$HEARTHD_TMP/limit"
[ "$(cat "$HEARTHD_TMP/limit")" = 67108864 ] && ok "olga's group has the 64M limit" || bad "1/$id limit: $(cat "$HEARTHD_TMP/limit")"
check "another 40M fail" 1 as_uid "$olga" "dd if=/dev/zero of='$R/olga/free/b' bs=1M count=40 conv=fsync"
contains "with EDQUOT" "$HEARTHD_TMP/err" "Disk quota exceeded"
check "deactivate olga" 0 call DeactivateHome string:olga
nina_id=$(btrfs inspect-internal rootid "$R/nina.homedir")
check "deactivate nina" 0 call DeactivateHome string:nina
check "remove nina, at her quota" 0 call RemoveHome string:nina
btrfs qgroup show "$R" 2>/dev/null | grep -q "^1/$nina_id " && bad "nina's group 1/$nina_id stays" || ok "nina's group went with her"
hearthd_finish
