#!/bin/bash
# What a user may change on her own record (#17's root escalation): with a
# polkit stand-in that grants an active session what the shipped policy
# grants (update-home-by-owner: yes, update-home: auth_admin_keep), the owner
# changes her real name, e-mail, hint…, and nothing else: memberOf, diskSize,
# her password hash, shell, autoLogin, locked, validity, rate limits, storage
# settings and the selfModifiable* lists are refused with AccessDenied naming
# the field, and nothing of it reaches the record or the NSS files.
#   test-self-service.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

command -v jq >/dev/null || hearthd_skip "needs jq"
HEARTHD_BTRFS_SIZE=512M
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_polkit_start
M=org.freedesktop.home1.Manager

call() {
    _m=$1; shift
    dbus-send --system --print-reply --reply-timeout=120000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "$M.$_m" "$@"
}
as() { _u=$1 _m=$2; shift 2; hearthd_as_user "$_u" dbus-send --system --print-reply --reply-timeout=120000 \
    --dest=org.freedesktop.home1 /org/freedesktop/home1 "$M.$_m" "$@"; }
now_usec() { echo $(($(date +%s%N) / 1000)); }

# The record as its owner reads it, with a jq edit and a newer lastChangeUSec.
edited() { # edited UID USER JQ_FILTER
    as "$1" GetUserRecordByName "string:$2" | sed -n 's/^ *string "\(.*\)"$/\1/p' | head -n 1 \
        | sed 's/\\"/"/g' | jq -c "$3 | .lastChangeUSec = $(now_usec)"
}

check "create alice (subvolume, 64M)" 0 call CreateHome string:"$(jq -nc '{userName:"alice",
    storage:"subvolume", diskSize:67108864, realName:"Alice", disposition:"regular",
    secret:{password:["alice-pw"]}}')"
check "create bob" 0 call CreateHome string:'{"userName":"bob","storage":"directory","secret":{"password":["bob-pw"]}}'
alice=$(awk -F: '$1 == "alice" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
bob=$(awk -F: '$1 == "bob" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
[ -n "$alice" ] && [ -n "$bob" ] || { bad "no UIDs for alice/bob"; hearthd_finish; }
cp "$HEARTHD_STATE_DIR/alice.identity" "$HEARTHD_TMP/alice.before"

# refused DESC FIELD JQ_FILTER: alice's own change, refused naming FIELD.
refused() {
    _rec=$(edited "$alice" alice "$3") || { bad "$1: cannot build the record"; return; }
    : >"$HEARTHD_POLKIT_LOG"
    check "$1 is refused" 1 as "$alice" UpdateHome string:"$_rec"
    contains "$1: AccessDenied" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.AccessDenied"
    contains "$1: the error names $2" "$HEARTHD_TMP/err" "$2 is not among the fields its user may change"
    contains "$1: polkit was asked for the administrator's action" "$HEARTHD_POLKIT_LOG" \
        "org.freedesktop.home1.update-home challenge"
    lacks "$1: not the owner's action" "$HEARTHD_POLKIT_LOG" "update-home-by-owner"
}

refused "memberOf sudo, root" memberOf '.memberOf = ["sudo","root"]'
lacks "NSS group file: alice not in sudo" "$HEARTHD_RUNTIME_DIR/group" "alice,"
grep -E '^(sudo|root):' "$HEARTHD_RUNTIME_DIR/group" | grep -q alice && bad "alice in a system group" \
    || ok "alice in no system group"
refused "a larger diskSize" diskSize '.diskSize = 1073741824'
refused "her password hash" privileged.hashedPassword '.privileged.hashedPassword = ["$6$x$y"]'
refused "no password hash" privileged.hashedPassword 'del(.privileged.hashedPassword)'
refused "shell" shell '.shell = "/bin/sh"'
refused "autoLogin" autoLogin '.autoLogin = true'
refused "locked" locked '.locked = true'
refused "notAfterUSec" notAfterUSec '.notAfterUSec = 1'
refused "rateLimitBurst" rateLimitBurst '.rateLimitBurst = 100000'
refused "imagePath" imagePath '.imagePath = "/dev/sda"'
refused "skeletonDirectory" skeletonDirectory '.skeletonDirectory = "/root"'
refused "luksExtraMountOptions" luksExtraMountOptions '.luksExtraMountOptions = "suid"'
refused "selfModifiableFields" selfModifiableFields '.selfModifiableFields = ["memberOf"]'
refused "selfModifiableFields with memberOf" selfModifiableFields '.selfModifiableFields = ["memberOf"] | .memberOf = ["sudo"]'
refused "a perMachine entry" perMachine \
    ".perMachine = [{matchMachineId: \"$(cat /etc/machine-id)\", memberOf: [\"sudo\"]}]"
cmp -s "$HEARTHD_STATE_DIR/alice.identity" "$HEARTHD_TMP/alice.before" && ok "her stored record is unchanged" \
    || bad "her stored record changed"

# What is hers.
: >"$HEARTHD_POLKIT_LOG"
check "alice changes her real name, e-mail, language, hint" 0 as "$alice" UpdateHome string:"$(edited "$alice" alice \
    '.realName = "Alice Liddell" | .emailAddress = "alice@example.org" | .preferredLanguage = "de_DE.UTF-8"
     | .privileged.passwordHint = "the cat"')"
contains "with the owner's action" "$HEARTHD_POLKIT_LOG" "org.freedesktop.home1.update-home-by-owner yes"
check "read back" 0 call GetUserRecordByName string:alice
contains "real name stored" "$HEARTHD_TMP/out" "Alice Liddell"
contains "hint stored" "$HEARTHD_TMP/out" "the cat"
contains "NSS has the new real name" "$HEARTHD_RUNTIME_DIR/passwd" "alice:x:$alice:$alice:Alice Liddell:"

# Another user, and the owner without polkit.
check "bob changes alice's real name: refused" 1 as "$bob" UpdateHome string:"$(edited 0 alice '.realName = "Bob was here"')"
contains "bob: polkit's challenge" "$HEARTHD_TMP/err" "InteractiveAuthorizationRequired"
hearthd_polkit_stop
check "without polkit alice cannot change even her real name" 1 as "$alice" UpdateHome \
    string:"$(edited "$alice" alice '.realName = "No Polkit"')"
contains "without polkit: AccessDenied" "$HEARTHD_TMP/err" "org.freedesktop.DBus.Error.AccessDenied"
hearthd_polkit_start

# Root may change everything, including the lists; the record's own list then rules.
check "root gives alice her shell and nothing else" 0 call UpdateHome string:"$(edited 0 alice \
    '.selfModifiableFields = ["shell"] | .memberOf = ["users"]')"
check "alice sets her shell now" 0 as "$alice" UpdateHome string:"$(edited "$alice" alice '.shell = "/bin/sh"')"
refused "her real name, no longer on her list" realName '.realName = "Again"'
refused "memberOf set by root" memberOf '.memberOf = []'

# systemd's homectl as the owner: a real client's update goes the same way.
if [ -x "${HEARTH_SYSTEMD_HOMECTL_BIN:-/var/cache/hearth/systemd-homed/current/usr/bin/homectl}" ]; then
    check "root restores the default lists" 0 call UpdateHome string:"$(edited 0 alice 'del(.selfModifiableFields)')"
    check "systemd's homectl: alice sets her e-mail" 0 env HEARTH_HOMECTL_UID="$alice" "$HEARTHD_SYSTEMD_HOMECTL" \
        update alice --email-address=a2@example.org
    check "systemd's homectl: alice adds herself to sudo: refused" 1 env HEARTH_HOMECTL_UID="$alice" \
        "$HEARTHD_SYSTEMD_HOMECTL" update alice --member-of=sudo
    contains "systemd's homectl: access denied" "$HEARTHD_TMP/err" "Access denied"
    check "read back" 0 call GetUserRecordByName string:alice
    contains "e-mail stored" "$HEARTHD_TMP/out" "a2@example.org"
    lacks "no sudo" "$HEARTHD_TMP/out" '\"sudo\"'
fi

# One user cannot fill the polkit queue (#17 finding 4): with an agent that
# never answers, her calls beyond 8 are refused at once, another user's still
# reach polkit, and a record larger than 64 KiB from anyone but root is
# refused before it is parsed.
hearthd_polkit_stop
POLKIT_STANDIN_HANG=1 hearthd_polkit_start
big=$(head -c 100000 /dev/zero | tr '\0' x)
check "bob's 100 KB record is refused unparsed" 1 as "$bob" CreateHome \
    string:"{\"userName\":\"big\",\"realName\":\"$big\"}"
contains "InvalidArgs naming the bound" "$HEARTHD_TMP/err" "callers other than root may send at most 65536"
bob_pids=
for i in $(seq 1 12); do
    hearthd_as_user "$bob" dbus-send --system --print-reply --reply-timeout=20000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "$M.CreateHome" string:"{\"userName\":\"flood$i\"}" \
        >"$HEARTHD_TMP/flood$i.out" 2>&1 &
    bob_pids="$bob_pids $!"
done
sleep 3
n_busy=$(grep -l TooManyOperations "$HEARTHD_TMP"/flood*.out 2>/dev/null | wc -l)
[ "$n_busy" -eq 4 ] && ok "bob's calls beyond 8 refused at once (4 of 12)" || bad "bob: $n_busy of 12 refused at once, expected 4"
hearthd_as_user "$alice" dbus-send --system --print-reply --reply-timeout=3000 --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 "$M.CreateHome" string:'{"userName":"fromalice"}' >"$HEARTHD_TMP/alice-create.out" 2>&1
grep -q "NoReply\|Timeout\|did not receive a reply" "$HEARTHD_TMP/alice-create.out" \
    && ok "alice's call still waits for polkit (not refused for bob's)" \
    || { bad "alice's call did not reach polkit:"; cat "$HEARTHD_TMP/alice-create.out"; }
hearthd_polkit_stop   # the waiting calls are answered now (no polkit: denied)
for p in $bob_pids; do wait "$p" 2>/dev/null; done
check "hearthd still answers" 0 call ListHomes
hearthd_polkit_start

# An owner's update is checked again when it runs: an administrator's
# change that lands while hers waits for polkit is not undone by her copy of
# the record from before it, however far ahead she dates it.
check "root puts alice in adm, default lists" 0 call UpdateHome \
    string:"$(edited 0 alice 'del(.selfModifiableFields) | .memberOf = ["adm"]')"
hearthd_polkit_stop
POLKIT_STANDIN_DELAY_ACTION=org.freedesktop.home1.update-home-by-owner POLKIT_STANDIN_DELAY_MS=3000 \
    hearthd_polkit_start
mine=$(edited "$alice" alice '.realName = "Alice Waiting"' | jq -c ".lastChangeUSec = $(( $(now_usec) + 540000000 ))")
as "$alice" UpdateHome string:"$mine" >"$HEARTHD_TMP/waiting.out" 2>&1 &
waiting=$!
sleep 1
check "meanwhile root locks alice and takes her out of adm" 0 call UpdateHome \
    string:"$(edited 0 alice '.locked = true | .memberOf = []')"
wait "$waiting" && bad "alice's waiting update went through" || ok "alice's waiting update failed"
contains "it names what changed meanwhile" "$HEARTHD_TMP/waiting.out" "changed while this update waited"
[ "$(jq -c '[.locked, (.memberOf // [] | length), .realName != "Alice Waiting"]' \
    "$HEARTHD_STATE_DIR/alice.identity")" = '[true,0,true]' ] && ok "root's lock and group change stand" \
    || bad "stored: $(jq -c '{locked, memberOf, realName}' "$HEARTHD_STATE_DIR/alice.identity")"
grep -q '^adm:.*alice' "$HEARTHD_RUNTIME_DIR/group" && bad "alice is back in adm for NSS" || ok "NSS: alice not in adm"
hearthd_polkit_stop
hearthd_polkit_start
check "root unlocks alice" 0 call UpdateHome string:"$(edited 0 alice '.locked = false')"

# lastChangeUSec is hers to advance, not to date far ahead: a record from
# 2100 would outrank every later change (replayed from ~/.identity), one
# from the end of time would block them all. A password change never sets
# it back.
check "a record dated 2100 is refused" 1 as "$alice" UpdateHome \
    string:"$(edited "$alice" alice '.realName = "Future"' | jq -c '.lastChangeUSec = 4102444800000000')"
contains "InvalidArgs: in the future" "$HEARTHD_TMP/err" "lastChangeUSec lies more than 10 minutes in the future"
check "a record dated at the end of time is refused" 1 as "$alice" UpdateHome \
    string:"$(edited "$alice" alice '.realName = "Future"' | jq -c '.lastChangeUSec = 18446744073709551614')"
soon=$(($(date +%s%N) / 1000 + 300000000))
check "five minutes ahead (clock skew) is taken" 0 as "$alice" UpdateHome \
    string:"$(edited "$alice" alice '.realName = "Skewed"' | jq -c ".lastChangeUSec = $soon")"
check "alice changes her password" 0 as "$alice" ChangePasswordHome string:alice \
    string:'{"password":["alice-pw2"]}' string:'{"password":["alice-pw"]}'
after=$(jq -r .lastChangeUSec "$HEARTHD_STATE_DIR/alice.identity")
[ "$after" -gt "$soon" ] && ok "the password change moved lastChangeUSec on ($after > $soon)" \
    || bad "lastChangeUSec went back to $after (was $soon)"

hearthd_finish
