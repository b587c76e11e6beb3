#!/bin/sh
# systemd's own homectl (252) as a client of hearthd: every verb it runs must
# succeed, and what it prints must be what it prints for the same home under
# systemd-homed (user_record_show() in systemd's src/shared/user-record-show.c
# and the status section homed adds in home_augment_status()).
#   test-homed-compat.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

hearthd_need_systemd_homectl
HEARTHD_BTRFS_SIZE=1G
hearthd_setup "$BUILDDIR" "$SRCDIR"

T=$HEARTHD_TMP
R=$HEARTHD_HOME_ROOT
# stdin is never a terminal: a missing or wrong password is an error, not a
# prompt that waits forever.
# Each run is bounded: a homectl that waits for a password fails the check.
shc() { timeout -k 5 60 "$HEARTHD_SYSTEMD_HOMECTL" "$@" </dev/null; }
# with_env "VAR=VALUE ..." ARGS: shc with those variables (no spaces in values)
# shellcheck disable=SC2086 # the variables are split on purpose
with_env() { _e=$1; shift; env $_e timeout -k 5 60 "$HEARTHD_SYSTEMD_HOMECTL" "$@" </dev/null; }
passwd_uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
# field LABEL VALUE: the "   Label: value" line of homectl inspect in $T/out
field() {
    if grep -qE "^ *$1: $2\$" "$T/out"; then ok "inspect: $1: $2"
    else bad "inspect: no \"$1: $2\" in:"; sed 's/^/    /' "$T/out"; fi
}

check "list with no homes" 0 shc list
contains "list: no homes" "$T/out" "No home areas."

# --- create -----------------------------------------------------------------------------
check "create carol --storage=directory" 0 with_env "NEWPASSWORD=carol-pw" create carol \
    --storage=directory --real-name="Carol Crane" --shell=/bin/sh
uid=$(passwd_uid carol)
[ -n "$uid" ] && [ "$uid" -ge 60001 ] && [ "$uid" -le 60513 ] && ok "carol got a home-range UID ($uid)" \
    || bad "carol's UID: '$uid'"
check "carol's storage exists, hers" 0 test -d "$R/carol.homedir" -a "$(stat -c %u "$R/carol.homedir" 2>/dev/null)" = "$uid"

check "list" 0 shc list
grep -E "^carol +$uid +$uid +inactive +Carol Crane +$R/carol +/bin/sh *\$" "$T/out" >/dev/null \
    && ok "list: carol's row" || { bad "list: carol's row:"; sed 's/^/    /' "$T/out"; }
contains "list footer" "$T/out" "1 home areas listed."

# --- inspect ------------------------------------------------------------------------------
check "inspect carol" 0 shc inspect carol
cp "$T/out" "$T/inspect-inactive"
field "User name" carol
field State inactive
field Disposition regular
field "Login OK" yes
field "Password OK" yes
field UID "$uid"
# The GID's name is looked up with NSS, which this test's processes do not
# have for hearthd's users: only the number is checked.
field GID "$uid.*"
field "Real Name" "Carol Crane"
field Directory "$R/carol"
field "Image Path" "$R/carol.homedir"
field Storage "directory \\(no encryption\\)"
field Shell /bin/sh
field Passwords 1
field "Mount Flags" "nosuid nodev exec"
# homed's status section has these for every home (home_augment_status()):
# diskSize/diskFree from statfs() of the home's file system, diskFloor and
# diskCeiling always, and signedLocally since the record is signed by the
# machine's own key.
field "Local Sig." yes
field "Disk Size" ".*"
field "Disk Floor" ".*"
field "Disk Ceiling" ".*"
field "Disk Free" ".*"
check "inspect by UID" 0 shc inspect "$uid"
contains "by UID: carol" "$T/out" "User name: carol"
check "inspect --json=pretty carol" 0 shc inspect --json=pretty carol
cp "$T/out" "$T/carol.json"
[ "$(jq -r '.userName' "$T/carol.json")" = carol ] && ok "JSON: userName" || bad "JSON: userName"
[ "$(jq -r '.realName' "$T/carol.json")" = "Carol Crane" ] && ok "JSON: realName" || bad "JSON: realName"
[ "$(jq -r '.binding[].uid' "$T/carol.json")" = "$uid" ] && ok "JSON: binding.uid" || bad "JSON: binding.uid"
[ "$(jq -r '.binding[].homeDirectory' "$T/carol.json")" = "$R/carol" ] && ok "JSON: binding.homeDirectory" \
    || bad "JSON: binding.homeDirectory"
[ "$(jq -r '.binding[].storage' "$T/carol.json")" = directory ] && ok "JSON: binding.storage" || bad "JSON: binding.storage"
# As homed binds directory and subvolume homes: stored in <user>.homedir.
[ "$(jq -r '.binding[].imagePath' "$T/carol.json")" = "$R/carol.homedir" ] && ok "JSON: binding.imagePath" \
    || bad "JSON: binding.imagePath is $(jq -r '.binding[].imagePath' "$T/carol.json")"
[ "$(jq -r '.status[].state' "$T/carol.json")" = inactive ] && ok "JSON: status.state" || bad "JSON: status.state"
[ "$(jq -r '.status[].signedLocally' "$T/carol.json")" = true ] && ok "JSON: status.signedLocally" \
    || bad "JSON: status.signedLocally is $(jq -c '.status[].signedLocally' "$T/carol.json"), homed says true"
[ "$(jq -r '.signature | length' "$T/carol.json")" = 1 ] && ok "JSON: signed" || bad "JSON: no signature"
[ "$(jq -r '.privileged.hashedPassword | length' "$T/carol.json")" = 1 ] && ok "JSON: one hashed password" \
    || bad "JSON: hashedPassword"
lacks "JSON: no secret" "$T/carol.json" carol-pw
check "inspect an unknown user fails" 1 shc inspect nobody-here
contains "unknown user message" "$T/err" "No home for user nobody-here known"

# --- authenticate, activate, update, deactivate -------------------------------------------------
check "authenticate" 0 with_env "PASSWORD=carol-pw" authenticate carol
# After BadPassword, systemd's homectl asks again through the password agent,
# whatever --no-ask-password says, and as root it would wait for one. As carol
# it cannot reach the agent's directory, so it fails at once.
check "authenticate with a wrong password fails" 1 with_env "PASSWORD=wrong HEARTH_HOMECTL_UID=$uid" \
    authenticate carol
contains "wrong password message" "$T/err" "Password incorrect or not sufficient"
check "activate" 0 with_env "PASSWORD=carol-pw" activate carol
check "inspect active" 0 shc inspect carol
field State active
field Directory "$R/carol"
check "list shows active" 0 shc list
grep -qE "^carol +$uid +$uid +active " "$T/out" && ok "list: carol active" || bad "list: $(cat "$T/out")"
check "activate again fails" 1 with_env "PASSWORD=carol-pw" activate carol
contains "already active message" "$T/err" "already active"
check "update --real-name" 0 with_env "PASSWORD=carol-pw" update carol \
    --real-name="Carol Crane-Smith"
check "inspect after update" 0 shc inspect carol
field "Real Name" "Carol Crane-Smith"
field State active
field Shell /bin/sh
contains "NSS passwd follows" "$HEARTHD_RUNTIME_DIR/passwd" "carol:x:$uid:$uid:Carol Crane-Smith:$R/carol:/bin/sh"
check "the password survived the update" 0 with_env "PASSWORD=carol-pw" authenticate carol
check "remove while active fails" 1 shc remove carol
check "deactivate" 0 shc deactivate carol
check "inspect inactive" 0 shc inspect carol
field State inactive
check "deactivate again fails" 1 shc deactivate carol
contains "not active message" "$T/err" "not active"

# --- passwd -----------------------------------------------------------------------------------------
check "passwd" 0 with_env "PASSWORD=carol-pw NEWPASSWORD=carol-pw2" passwd carol
check "old password refused" 1 with_env "PASSWORD=carol-pw HEARTH_HOMECTL_UID=$uid" authenticate carol
contains "old password: incorrect" "$T/err" "Password incorrect or not sufficient"
check "new password works" 0 with_env "PASSWORD=carol-pw2" authenticate carol

# --- with ---------------------------------------------------------------------------------------------
check "with carol -- true" 0 with_env "PASSWORD=carol-pw2" with carol -- true
check "with carol -- pwd" 0 with_env "PASSWORD=carol-pw2" with carol -- sh -c 'pwd; id -u'
[ "$out" = "$R/carol
0" ] && ok "with: ran in carol's home" || bad "with printed: $out"
check "with passes the exit status on" 7 with_env "PASSWORD=carol-pw2" with carol -- \
    sh -c 'exit 7'
check "inspect after with" 0 shc inspect carol
field State inactive

# --- a subvolume home: disk size and resize ----------------------------------------------------------
check "create dave --storage=subvolume --disk-size=64M" 0 with_env "NEWPASSWORD=dave-pw" \
    create dave --storage=subvolume --disk-size=64M
check "inspect dave" 0 shc inspect dave
field Storage "subvolume \\(no encryption\\)"
field "Disk Size" "64.0M"
field "Disk Usage" ".*"
check "resize dave 128M" 0 with_env "PASSWORD=dave-pw" resize dave 128M
check "inspect dave after resize" 0 shc inspect dave
field "Disk Size" "128.0M"
check "with dave -- pwd" 0 with_env "PASSWORD=dave-pw" with dave -- pwd
[ "$out" = "$R/dave" ] && ok "with: ran in dave's home" || bad "with dave printed: $out"
# homed answers the real name of a user without one with the user name
# (user_record_real_name()), in ListHomes, GetHomeBy*() and UnixRecord.
check "list with dave" 0 shc list
grep -qE "^dave +[0-9]+ +[0-9]+ +inactive +dave +$R/dave " "$T/out" && ok "list: dave's real name is his user name" \
    || { bad "list: dave's row (homed shows the user name as REALNAME):"; grep '^dave' "$T/out" | sed 's/^/    /'; }
check "GetHomeByName dave" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 /org/freedesktop/home1 \
    org.freedesktop.home1.Manager.GetHomeByName string:dave
[ "$(sed -n 's/^ *string "\(.*\)"$/\1/p' "$T/out" | sed -n 2p)" = dave ] && ok "GetHomeByName: realName is the user name" \
    || { bad "GetHomeByName: realName (homed answers \"dave\"):"; sed 's/^/    /' "$T/out"; }
check "remove dave" 0 shc remove dave

# --- as carol herself ------------------------------------------------------------------------------
check "carol inspects herself" 0 with_env "HEARTH_HOMECTL_UID=$uid" inspect
field "User name" carol
field "Real Name" "Carol Crane-Smith"
check "carol runs a command in her home" 0 with_env "PASSWORD=carol-pw2 HEARTH_HOMECTL_UID=$uid" with carol -- \
    sh -c 'pwd; id -u'
[ "$out" = "$R/carol
$uid" ] && ok "with as carol: in her home, as her" || bad "with as carol printed: $out"
check "carol changes her password" 0 with_env "PASSWORD=carol-pw2 NEWPASSWORD=carol-pw3 HEARTH_HOMECTL_UID=$uid" \
    passwd carol
check "her new password works" 0 with_env "PASSWORD=carol-pw3" authenticate carol
check "carol may not remove herself" 1 with_env "HEARTH_HOMECTL_UID=$uid" remove carol
contains "access denied" "$T/err" "Access denied"
check "carol may not create" 1 with_env "NEWPASSWORD=x HEARTH_HOMECTL_UID=$uid" create mallory --storage=directory
contains "create: access denied" "$T/err" "Access denied"

# --- a home found in /home, fixated by its first activation (as homed does) ----------------------------
check "create erin" 0 with_env "NEWPASSWORD=erin-pw" create erin --storage=directory
# (systemd 252's homectl has no unregister verb.)
check "unregister erin, keeping her storage" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 org.freedesktop.home1.Manager.UnregisterHome string:erin
hearthd_restart
check "list: erin found" 0 shc list
grep -qE "^erin +[0-9]+ +[0-9]+ +unfixated " "$T/out" && ok "list: erin unfixated" \
    || { bad "list: erin's row:"; sed 's/^/    /' "$T/out"; }
check "inspect unfixated erin" 0 shc inspect erin
field State unfixated
check "activate erin: fixated and active" 0 with_env "PASSWORD=erin-pw" activate erin
check "inspect erin" 0 shc inspect erin
field State active
field "Local Sig." yes
check "deactivate erin" 0 shc deactivate erin
check "remove erin" 0 shc remove erin

# --- remove -------------------------------------------------------------------------------------------
check "remove carol" 0 shc remove carol
check "carol's home is gone" 0 test ! -e "$R/carol" -a ! -e "$R/carol.homedir"
lacks "NSS passwd lost carol" "$HEARTHD_RUNTIME_DIR/passwd" "carol:"
check "inspect after remove fails" 1 shc inspect carol
contains "gone" "$T/err" "No home for user carol known"
check "list at the end" 0 shc list
contains "no homes left" "$T/out" "No home areas."

hearthd_finish
