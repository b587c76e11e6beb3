#!/bin/sh
# pam_hearth.so under pam_wrapper (test PAM stacks in a directory of our
# own), against hearthd on a private bus: authentication, account rules,
# sessions holding the home active, password changes, stacking with other
# modules. pamtester drives the simple flows; tests/host/pam-session holds a
# session open while a check runs.
#   test-pam.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
MODULE=$BUILDDIR/pam/pam_hearth.so
DRIVER=$BUILDDIR/tests/host/pam-session
command -v pamtester >/dev/null || hearthd_skip "needs pamtester"
wrapper=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu; do
    [ -e "$d/libpam_wrapper.so" ] && { wrapper=$d/libpam_wrapper.so; break; }
done
[ -n "$wrapper" ] || hearthd_skip "needs pam_wrapper (Debian package libpam-wrapper)"
# A module built with sanitizers needs their runtimes loaded first.
# ASan's first of all.
preload="$(ldd "$MODULE" | awk '/libasan\.so/ { print $3 }') $(ldd "$MODULE" | awk '/libubsan\.so/ { print $3 }') $wrapper"

PAMDIR=$HEARTHD_TMP/pam.d
mkdir -p "$PAMDIR"
cat >"$PAMDIR/hearth-test" <<EOF
auth     required $MODULE debug
account  required $MODULE debug
session  required $MODULE debug
password required $MODULE debug
EOF
# Stacked the way pam-auth-update stacks it: users unknown to Hearth fall
# through to the next module (pam_permit here, pam_unix on a real system).
cat >"$PAMDIR/hearth-stack" <<EOF
auth     [success=done user_unknown=ignore default=die] $MODULE
auth     required pam_permit.so
account  [success=ok user_unknown=ignore default=bad] $MODULE
account  required pam_permit.so
session  optional $MODULE
session  required pam_permit.so
password [success=done user_unknown=ignore default=die] $MODULE
password required pam_permit.so
EOF
pamw() { # pamw CMD...: under pam_wrapper with our service files
    HEARTH_RUNTIME_DIR=$HEARTHD_RUNTIME_DIR LD_PRELOAD=$preload PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PAMDIR \
        ASAN_OPTIONS=detect_leaks=0 "$@"
}
pt() { # pt [STDIN] -- pamtester ARGS: feed STDIN lines to its prompts
    _in=$1; shift
    printf '%s\n' "$_in" | pamw pamtester -v "$@"
}
state_of() { "$homectl" list --no-legend | awk -v u="$1" '$1 == u { print $4 }'; }
wait_state() { # wait_state USER STATE (10 s)
    _i=0
    while [ $_i -lt 100 ]; do
        [ "$(state_of "$1")" = "$2" ] && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}
usec() { echo $(( ($(date +%s) + $1) * 1000000 )); }

NEWPASSWORD=alice-pw check "create alice (directory)" 0 "$homectl" create alice --storage=directory
[ "$(state_of alice)" = inactive ] && ok "alice inactive" || bad "alice: $(state_of alice)"

# --- auth --------------------------------------------------------------------------
check "authenticate with the right password" 0 pt alice-pw hearth-test alice authenticate
check "authenticate with a wrong password" 1 pt wrong hearth-test alice authenticate
contains "PAM_AUTH_ERR" "$HEARTHD_TMP/err" "Authentication failure"
check "a user Hearth does not manage: unknown" 1 pt x hearth-test nosuchuser authenticate
contains "PAM_USER_UNKNOWN" "$HEARTHD_TMP/err" "User not known"
check "stacked: an unknown user falls through" 0 pt x hearth-stack nosuchuser authenticate
check "stacked: a wrong password stops" 1 pt wrong hearth-stack alice authenticate
check "stacked: the right one passes" 0 pt alice-pw hearth-stack alice authenticate
wait_state alice inactive && ok "authentication alone leaves no reference" || bad "alice: $(state_of alice)"

# A record without any password (as AccountsService's CreateUser makes one):
# no string may open it.
check "create nopw without a password" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 org.freedesktop.home1.Manager.CreateHome \
    string:'{"userName":"nopw","storage":"directory","disposition":"regular"}'
check "no password set: any string is refused" 1 pt anything-at-all hearth-test nopw authenticate
contains "PAM_AUTH_ERR" "$HEARTHD_TMP/err" "Authentication failure"

# --- sessions ----------------------------------------------------------------------
PAM_TEST_PASSWORD=alice-pw pamw "$DRIVER" hearth-test alice \
    sh -c "$homectl list --no-legend | awk '\$1 == \"alice\" { print \$4 }' >$HEARTHD_TMP/during; echo \$PAM_TEST_HOME >$HEARTHD_TMP/home-env" \
    >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err" && ok "session ran" || bad "session: $(grep -v PWRAP "$HEARTHD_TMP/err")"
[ "$(cat "$HEARTHD_TMP/during")" = active ] && ok "active while the session is open" ||
    bad "during the session: $(cat "$HEARTHD_TMP/during")"
[ "$(cat "$HEARTHD_TMP/home-env")" = "$HEARTHD_HOME_ROOT/alice" ] && ok "HOME exported" ||
    bad "HOME: $(cat "$HEARTHD_TMP/home-env")"
wait_state alice inactive && ok "inactive after the session closed" || bad "after close: $(state_of alice)"

# Two sessions: the home stays until the second closes.
rm -f "$HEARTHD_TMP/release1"
PAM_TEST_PASSWORD=alice-pw pamw "$DRIVER" hearth-test alice \
    sh -c "while [ ! -e $HEARTHD_TMP/release1 ]; do sleep 0.1; done" >/dev/null 2>&1 &
s1=$!
wait_state alice active && ok "first session opened" || bad "first session: $(state_of alice)"
PAM_TEST_PASSWORD=alice-pw pamw "$DRIVER" hearth-test alice true >/dev/null 2>&1 &&
    ok "second session opened and closed" || bad "second session failed"
sleep 1
[ "$(state_of alice)" = active ] && ok "still active while the first session lives" || bad "state: $(state_of alice)"
touch "$HEARTHD_TMP/release1"
wait $s1 && ok "first session closed" || bad "first session exit"
wait_state alice inactive && ok "inactive after the last session" || bad "after both: $(state_of alice)"

# --- the record's session settings ---------------------------------------------------
# What pam_systemd would apply, applied by pam_hearth's session: the command
# runs in the session (the driver passes the PAM environment on, as login).
NEWPASSWORD=setty-pw check "create setty with session settings" 0 "$homectl" create setty --storage=directory \
    --umask=0027 --nice=7 --rlimit=NOFILE=321:654 --setenv=HEARTH_GREETING=hello \
    --timezone=Europe/Berlin --language=C.UTF-8
show='echo "settings: umask=$(umask) nice=$(nice) nofile=$(ulimit -n) hard=$(ulimit -Hn) greeting=${HEARTH_GREETING-} tz=${TZ-} lang=${LANG-} preload=${LD_PRELOAD-} home=${HOME-}"'
session_line() { # session_line SERVICE USER PASSWORD: the settings line of a session
                 # (LANG, TZ, EMAIL from the session only, not from the test's environment)
    PAM_TEST_PASSWORD=$3 pamw env -u LANG -u TZ -u EMAIL "$DRIVER" "$1" "$2" sh -c "$show" >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err" ||
        echo "no session: $(grep -v PWRAP "$HEARTHD_TMP/err")"
    grep '^settings: ' "$HEARTHD_TMP/out"
}
has() { # has LINE WANT...: each WANT a word of LINE
    _line=$1; shift
    for _w in "$@"; do
        case " $_line " in
        *" $_w "*) ok "session: $_w" ;;
        *) bad "session: wanted $_w, got: $_line" ;;
        esac
    done
}
line=$(session_line hearth-test setty setty-pw)
has "$line" umask=0027 nice=7 nofile=321 hard=654 greeting=hello tz=:Europe/Berlin lang=C.UTF-8
# pam_systemd applies them instead: session_settings=no.
printf 'auth required %s\naccount required %s\nsession required %s session_settings=no\n' \
    "$MODULE" "$MODULE" "$MODULE" >"$PAMDIR/hearth-nosettings"
line=$(session_line hearth-nosettings setty setty-pw)
case " $line " in
*" umask=0027 "* | *" greeting=hello "* | *" nice=7 "*) bad "session_settings=no still applied: $line" ;;
*"settings: umask="*) ok "session_settings=no: left to pam_systemd" ;;
*) bad "session_settings=no: $line" ;;
esac
# A hostile record: each bad setting skipped (and logged), the good ones
# applied, the session opened all the same.
_h=$(openssl passwd -6 hostile-pw)
printf '%s' '{"userName":"hostile","storage":"directory","privileged":{"hashedPassword":["'"$_h"'"]},
 "umask":18,"niceLevel":3,
 "environment":["LD_PRELOAD=/nonexistent/evil.so","HOME=/tmp","HEARTH_GREETING=still-here","XDG_SESSION_ID=7"],
 "timeZone":"../../../etc/passwd","preferredLanguage":"xx_NOWHERE.UTF-8",
 "resourceLimits":{"RLIMIT_BOGUS":{"cur":1,"max":1},"RLIMIT_NOFILE":{"cur":222,"max":333}}}' \
    >"$HEARTHD_TMP/hostile.json"
PASSWORD=hostile-pw check "create hostile (bad session settings)" 0 "$homectl" create --identity="$HEARTHD_TMP/hostile.json"
line=$(session_line hearth-test hostile hostile-pw)
has "$line" umask=0022 nice=3 nofile=222 greeting=still-here tz= lang= "home=$HEARTHD_HOME_ROOT/hostile"
case "$line" in
*evil.so*) bad "LD_PRELOAD from the record reached the session: $line" ;;
*) ok "LD_PRELOAD from the record refused" ;;
esac

# --- account -----------------------------------------------------------------------
mkrec() { # mkrec USER EXTRA_JSON: password pw-USER, hashed here so that
           # hearthd keeps the record's lastPasswordChangeUSec as given
    _h=$(openssl passwd -6 "pw-$1")
    printf '{"userName":"%s","storage":"directory","privileged":{"hashedPassword":["%s"]}%s}' "$1" "$_h" "$2" \
        >"$HEARTHD_TMP/$1.json"
    PASSWORD=pw-$1 "$homectl" create --identity="$HEARTHD_TMP/$1.json" >/dev/null 2>"$HEARTHD_TMP/err" ||
        bad "create $1: $(cat "$HEARTHD_TMP/err")"
}
mkrec locky ',"locked":true'
mkrec oldie ",\"notAfterUSec\":$(usec -86400)"
mkrec future ",\"notBeforeUSec\":$(usec 86400)"
mkrec changer ',"passwordChangeNow":true'
mkrec aged ",\"lastPasswordChangeUSec\":$(usec -864000),\"passwordChangeMaxUSec\":86400000000"
mkrec warned ",\"lastPasswordChangeUSec\":$(usec -86400),\"passwordChangeMaxUSec\":172800000000,\"passwordChangeWarnUSec\":172800000000"
check "a valid account" 0 pt alice-pw hearth-test alice acct_mgmt
check "locked: refused" 1 pt pw-locky hearth-test locky acct_mgmt
contains "PAM_ACCT_EXPIRED" "$HEARTHD_TMP/err" "User account has expired"
contains "says locked" "$HEARTHD_TMP/err" "is locked"
check "expired (notAfterUSec)" 1 pt pw-oldie hearth-test oldie acct_mgmt
contains "says expired" "$HEARTHD_TMP/err" "has expired"
check "not valid yet (notBeforeUSec)" 1 pt pw-future hearth-test future acct_mgmt
contains "says not yet" "$HEARTHD_TMP/err" "not valid yet"
check "passwordChangeNow" 1 pt pw-changer hearth-test changer acct_mgmt
contains "PAM_NEW_AUTHTOK_REQD" "$HEARTHD_TMP/err" "Authentication token is no longer valid; new one required"
check "password older than its maximum age" 1 pt pw-aged hearth-test aged acct_mgmt
contains "says expired" "$HEARTHD_TMP/err" "has expired and must be changed"
check "password expiring soon: a warning, allowed" 0 pt pw-warned hearth-test warned acct_mgmt
contains "warns" "$HEARTHD_TMP/out" "expires in 1 day(s)"
check "stacked: unknown users pass account" 0 pt x hearth-stack nosuchuser acct_mgmt

# --- password ----------------------------------------------------------------------
printf 'alice-pw\nalice-new\nalice-new\n' | pamw pamtester -v hearth-test alice chauthtok \
    >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err" && ok "chauthtok" || bad "chauthtok: $(cat "$HEARTHD_TMP/err")"
check "the new password authenticates" 0 pt alice-new hearth-test alice authenticate
check "the old one does not" 1 pt alice-pw hearth-test alice authenticate
printf 'wrong\nx-new\nx-new\n' | pamw pamtester -v hearth-test alice chauthtok \
    >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err" && bad "chauthtok with a wrong old password succeeded" ||
    ok "chauthtok with a wrong old password fails"
contains "says so" "$HEARTHD_TMP/err" "current password of alice is not correct"
printf 'alice-new\nmismatch-1\nmismatch-2\n' | pamw pamtester -v hearth-test alice chauthtok \
    >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err" && bad "mismatched retype accepted" || ok "a mistyped retype is refused"
check "still the new password" 0 pt alice-new hearth-test alice authenticate
check "stacked: unknown users fall through chauthtok" 0 pt x hearth-stack nosuchuser chauthtok

# --- a hung daemon ---------------------------------------------------------------------
# hearthd stopped (SIGSTOP): the bus accepts the call, nobody answers. The
# module's timeout= bounds the wait (the test's own timeout catches a hang).
cat >"$PAMDIR/hearth-timeout" <<EOF2
auth     required $MODULE timeout=2
EOF2
kill -STOP "$HEARTHD_PID"
t0=$(date +%s)
check "hung hearthd: auth fails, bounded" 1 timeout 20 sh -c "printf 'alice-new\\n' | \
    HEARTH_RUNTIME_DIR=$HEARTHD_RUNTIME_DIR LD_PRELOAD='$preload' PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PAMDIR \
    ASAN_OPTIONS=detect_leaks=0 pamtester -v hearth-timeout alice authenticate"
t1=$(date +%s)
kill -CONT "$HEARTHD_PID"
[ $((t1 - t0)) -le 8 ] && ok "within the module's timeout=2 ($((t1 - t0)) s)" || bad "took $((t1 - t0)) s"
contains "says it did not open in time" "$HEARTHD_TMP/err" "did not open in time"

# --- no daemon -----------------------------------------------------------------------
hearthd_stop
check "without hearthd: a Hearth user fails, closed" 1 pt alice-new hearth-test alice authenticate
contains "PAM_AUTHINFO_UNAVAIL" "$HEARTHD_TMP/err" "Authentication service cannot retrieve authentication info"
check "without hearthd: her account is refused in the stack" 1 pt x hearth-stack alice acct_mgmt
check "without hearthd: other users are not its business" 0 pt x hearth-stack nosuchuser authenticate
hearthd_start

# --- a home found on the machine: the first login takes its record ------------------------
# pia's record forgotten (unregistered), her storage left: at the next
# start hearthd finds it, not fixated yet; her first login fixates it.
NEWPASSWORD=pia-pw check "create pia (directory)" 0 "$homectl" create pia --storage=directory
check "unregister pia, keeping her storage" 0 "$homectl" unregister pia
hearthd_stop
hearthd_start
[ "$(state_of pia)" = unfixated ] && ok "pia found at start, not fixated" || bad "pia: $(state_of pia)"
check "a wrong password does not fixate her" 1 pt wrong hearth-test pia authenticate
[ "$(state_of pia)" = unfixated ] && ok "still not fixated" || bad "pia: $(state_of pia)"
PAM_TEST_PASSWORD=pia-pw pamw "$DRIVER" hearth-test pia \
    sh -c "$homectl list --no-legend | awk '\$1 == \"pia\" { print \$4 }' >$HEARTHD_TMP/during" \
    >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err" && ok "her first login: a session" || bad "session: $(grep -v PWRAP "$HEARTHD_TMP/err")"
[ "$(cat "$HEARTHD_TMP/during")" = active ] && ok "fixated and active in her session" ||
    bad "during her session: $(cat "$HEARTHD_TMP/during")"
check "fixated: her record is stored" 0 test -f "$HEARTHD_STATE_DIR/pia.identity"
wait_state pia inactive && ok "the session over, pia is inactive" || bad "pia: $(state_of pia)"

hearthd_finish
