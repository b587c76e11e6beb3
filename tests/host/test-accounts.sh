#!/bin/sh
# hearth-accounts and hearthd on a private system bus, driven by GNOME's own
# client library (Debian's libaccountsservice0 through tests/host/accounts-client.py)
# and, where error names matter, at the D-Bus level (dbus-send, busctl).
# Every change is checked where it lands: the Hearth record (homectl
# inspect), GDM's file, the state directory.
#   test-accounts.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

# Debian's python, where python3-gi lives (a pyenv or venv python3 earlier
# in PATH does not have it).
PY=${HEARTH_PYTHON:-/usr/bin/python3}
"$PY" -c 'import gi; gi.require_version("AccountsService", "1.0"); from gi.repository import AccountsService' \
    2>/dev/null || hearthd_skip "needs python3-gi and gir1.2-accountsservice-1.0 (tools/install-deps)"
command -v busctl >/dev/null || hearthd_skip "needs busctl"

hearthd_setup "$BUILDDIR" "$SRCDIR"
ACCOUNTS_BIN=$BUILDDIR/hearth-accounts/hearth-accounts
ACC=$HEARTHD_TMP/accounts
ACC_LOG=$HEARTHD_TMP/hearth-accounts.log
ACC_PID=
M=org.freedesktop.Accounts
MP=/org/freedesktop/Accounts
mkdir -p "$ACC/etc" "$ACC/gdm" "$ACC/tools"
chmod 755 "$ACC"

# The machine's users as hearth-accounts sees them: root and a system user
# only, so that there are no people at first.
printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' >"$ACC/etc/passwd"
printf 'root:x:0:\nsudo:x:27:\nwheel:x:10:\n' >"$ACC/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$ACC/etc/shadow"
printf '/bin/sh\n/bin/bash\n' >"$ACC/etc/shells"
printf '# GDM configuration storage\n\n[daemon]\n# Uncomment the line below to force the login screen to use Xorg\n#WaylandEnable=false\n\n[security]\n' \
    >"$ACC/gdm/daemon.conf"
: >"$ACC/hearth.conf"
# shadow-utils stand-ins: they log their arguments.
for t in usermod userdel gpasswd passwd chage; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/tools.log"\n' "$t" "$ACC" >"$ACC/tools/$t"
    chmod 755 "$ACC/tools/$t"
done

_acc_owned() {
    dbus-send --system --print-reply --reply-timeout=2000 --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$M" 2>/dev/null | grep -q 'boolean true'
}
accounts_start() { # accounts_start [ARGS]
    echo "==== $(date +%T) hearth-accounts start $*" >>"$ACC_LOG"
    "$ACCOUNTS_BIN" --state-dir="$ACC/state" --config="$ACC/hearth.conf" --gdm-config="$ACC/gdm/daemon.conf" \
        --passwd="$ACC/etc/passwd" --group="$ACC/etc/group" --shadow="$ACC/etc/shadow" --shells="$ACC/etc/shells" \
        --shadow-tools="$ACC/tools" "$@" >>"$ACC_LOG" 2>&1 </dev/null &
    ACC_PID=$!
    _w=0
    while ! _acc_owned; do
        if ! _hearthd_alive "$ACC_PID"; then bad "hearth-accounts exited before taking $M"; cat "$ACC_LOG"; exit 1; fi
        [ "$_w" -ge 200 ] && { bad "hearth-accounts did not take $M within 20s"; exit 1; }
        sleep 0.1; _w=$((_w + 1))
    done
}
accounts_stop() {
    [ -n "$ACC_PID" ] || return 0
    kill -TERM "$ACC_PID" 2>/dev/null
    _hearthd_wait_exit "$ACC_PID" 20 || kill -KILL "$ACC_PID" 2>/dev/null
    wait "$ACC_PID"; _rc=$?
    ACC_PID=
    [ "$_rc" -eq 0 ] && ok "hearth-accounts stops cleanly on SIGTERM" \
        || { bad "hearth-accounts exited with $_rc on SIGTERM"; cat "$ACC_LOG"; }
}
hearthd_at_exit 'if [ -n "$ACC_PID" ]; then accounts_stop; fi; if [ "$fails" -gt 0 ]; then echo "---- hearth-accounts log"; cat "$ACC_LOG"; fi'

client() { HOME=$HEARTHD_TMP "$PY" "$SRCDIR/tests/host/accounts-client.py" "$@"; }
client_as() { _u=$1; shift; hearthd_as_user "$_u" env HOME="$HEARTHD_TMP" "$PY" "$SRCDIR/tests/host/accounts-client.py" "$@"; }
prop() { busctl --system get-property "$M" "$MP" "$M" "$1"; }
uprop() { busctl --system get-property "$M" "$MP/User$1" "$M.User" "$2"; }
user_call() { # user_call UID METHOD ARGS... (dbus-send as root)
    _uid=$1 _m=$2; shift 2
    dbus-send --system --print-reply --reply-timeout=120000 --dest="$M" "$MP/User$_uid" "$M.User.$_m" "$@"
}
inspect() { "$HEARTHD_HOMECTL" inspect "$@"; }
uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
wait_for() { # wait_for DESC CMD...: CMD succeeds within 10 s
    _d=$1; shift; _w=0
    while ! "$@" >/dev/null 2>&1; do
        [ "$_w" -ge 100 ] && { bad "$_d (not within 10s)"; return 0; }
        sleep 0.1; _w=$((_w + 1))
    done
    ok "$_d"
}

accounts_start

# --- no people yet: GDM would run gnome-initial-setup ---------------------------
check "HasNoUsers at first" 0 prop HasNoUsers
contains "HasNoUsers true" "$HEARTHD_TMP/out" "b true"
check "ListCachedUsers empty" 0 busctl --system call "$M" "$MP" "$M" ListCachedUsers
contains "no cached users" "$HEARTHD_TMP/out" "ao 0"
check "DaemonVersion" 0 prop DaemonVersion
contains "AccountsService API level" "$HEARTHD_TMP/out" "22.08"
check "the library lists nobody" 0 client list
[ -z "$out" ] && ok "empty list" || bad "list: $out"

# --- create (GNOME Settings' Add User) ---------------------------------------------
check "create alice, administrator" 0 client create alice "Alice Liddell" 1
contains "alice is an administrator" "$HEARTHD_TMP/out" "AccountType=1"
contains "alice is local" "$HEARTHD_TMP/out" "LocalAccount=True"
contains "alice is saved" "$HEARTHD_TMP/out" "Saved=True"
alice=$(uid_of alice)
[ -n "$alice" ] && [ "$alice" -ge 60001 ] && [ "$alice" -le 60513 ] && ok "alice is a Hearth user ($alice)" \
    || bad "alice's uid: '$alice'"
check "homectl inspect alice" 0 inspect alice
contains "real name in the record" "$HEARTHD_TMP/out" "Alice Liddell"
contains "administrator: memberOf sudo" "$HEARTHD_TMP/out" "sudo"
contains "auto storage without Btrfs: directory" "$HEARTHD_TMP/out" "directory"
check "HasNoUsers flips" 0 prop HasNoUsers
contains "HasNoUsers false" "$HEARTHD_TMP/out" "b false"
check "GDM's query: ListCachedUsers" 0 busctl --system call "$M" "$MP" "$M" ListCachedUsers
contains "alice cached" "$HEARTHD_TMP/out" "\"$MP/User$alice\""
check "create alice again" 1 client create alice "Alice" 0
contains "UserExists" "$HEARTHD_TMP/err" "exists"
check "create carol, standard" 0 client create carol "Carol" 0
carol=$(uid_of carol)
contains "carol is standard" "$HEARTHD_TMP/out" "AccountType=0"
check "HasMultipleUsers" 0 prop HasMultipleUsers
contains "HasMultipleUsers true" "$HEARTHD_TMP/out" "b true"

# --- settings, through the library ------------------------------------------------------
check "set alice's real name" 0 client set alice real-name "Alice P. Liddell"
check "inspect: new real name" 0 inspect alice
contains "realName changed" "$HEARTHD_TMP/out" "Alice P. Liddell"
check "set alice's language" 0 client set alice language de_DE.UTF-8
check "inspect --json" 0 inspect alice --json=short
contains "preferredLanguage in the record" "$HEARTHD_TMP/out" '"preferredLanguage":"de_DE.UTF-8"'
check "set alice's e-mail" 0 client set alice email alice@example.org
check "inspect: e-mail" 0 inspect alice
contains "emailAddress in the record" "$HEARTHD_TMP/out" "alice@example.org"
check "set alice's session" 0 client set alice session gnome-xorg
contains "session kept in the state file" "$ACC/state/users/alice" "Session=gnome-xorg"
check "set alice's password hint" 0 client set alice password-hint "the cat"
check "inspect: hint" 0 inspect alice
contains "privileged.passwordHint" "$HEARTHD_TMP/out" "the cat"

# A 1x1 PNG, and a file that only claims to be one.
"$PY" -c 'import struct,sys,zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0")) + chunk(b"IEND", b""))' >"$HEARTHD_TMP/face.png"
echo "not an image" >"$HEARTHD_TMP/fake.png"
chmod 644 "$HEARTHD_TMP/face.png" "$HEARTHD_TMP/fake.png"
check "set alice's icon" 0 client set alice icon "$HEARTHD_TMP/face.png"
contains "IconFile is the copy" "$HEARTHD_TMP/out" "IconFile=$ACC/state/icons/alice"
cmp -s "$HEARTHD_TMP/face.png" "$ACC/state/icons/alice" && ok "icon copied" || bad "icon not copied"
[ "$(stat -c %a "$ACC/state/icons/alice")" = 644 ] && ok "icon readable by GDM" || bad "icon mode"
check "an icon that is no image" 1 user_call "$alice" SetIconFile string:"$HEARTHD_TMP/fake.png"
contains "refused: not an image" "$HEARTHD_TMP/err" "not an image"
check "an icon that is a directory" 1 user_call "$alice" SetIconFile string:"$HEARTHD_TMP"
check "an icon past 1 MiB" 1 sh -c "head -c 2000000 /dev/zero >'$HEARTHD_TMP/big.png' && \
    dbus-send --system --print-reply --dest=$M $MP/User$alice $M.User.SetIconFile string:'$HEARTHD_TMP/big.png'"
contains "refused: too large" "$HEARTHD_TMP/err" "too large"

check "alice becomes standard" 0 client set alice account-type 0
check "inspect: no sudo" 0 inspect alice --json=short
lacks "memberOf without sudo" "$HEARTHD_TMP/out" '"sudo"'
check "alice becomes administrator again" 0 client set alice account-type 1
check "inspect: sudo again" 0 inspect alice --json=short
contains "memberOf sudo" "$HEARTHD_TMP/out" '"memberOf":["sudo"]'

# As accounts-daemon: no automatic login for a user who is disabled (no password yet).
check "no automatic login without a password" 1 user_call "$alice" SetAutomaticLogin boolean:true
contains "refused: disabled" "$HEARTHD_TMP/err" "user is locked"

# --- passwords ------------------------------------------------------------------------------
# No password yet: none is accepted, so the account is disabled, as
# accounts-daemon reports a useradd'ed user ("!": locked, regular).
check "alice has no password yet: mode regular" 0 uprop "$alice" PasswordMode
contains "PasswordMode 0" "$HEARTHD_TMP/out" "i 0"
check "alice has no password yet: locked" 0 uprop "$alice" Locked
contains "Locked true (GNOME: Account disabled)" "$HEARTHD_TMP/out" "b true"
check "the library sees her disabled" 0 client get alice
contains "Locked=True" "$HEARTHD_TMP/out" "Locked=True"
check "set alice's password (crypted by the library)" 0 client set alice password "s3cret-Pw" "a hint"
check "inspect: one hashed password" 0 inspect alice
contains "hashedPassword set" "$HEARTHD_TMP/out" "Passwords: 1"
contains "hint set with it" "$HEARTHD_TMP/out" "a hint"
check "hearthd accepts the password" 0 env PASSWORD="s3cret-Pw" "$HEARTHD_HOMECTL" authenticate alice
check "and refuses another" 79 env PASSWORD="wrong" "$HEARTHD_HOMECTL" authenticate alice
check "with a password she is enabled" 0 uprop "$alice" Locked
contains "Locked false" "$HEARTHD_TMP/out" "b false"

check "lock alice" 0 client set alice locked 1
check "inspect: locked" 0 inspect alice
contains "locked in the record" "$HEARTHD_TMP/out" "Locked: yes"
check "no automatic login for a locked user" 1 user_call "$alice" SetAutomaticLogin boolean:true
contains "refused: locked" "$HEARTHD_TMP/err" "user is locked"
check "unlock alice" 0 client set alice locked 0
check "inspect: unlocked" 0 inspect alice
contains "unlocked in the record" "$HEARTHD_TMP/out" "Locked: no"

check "carol gets a password" 0 client set carol password "c4rol-Pw" ""
check "automatic login for alice" 0 client set alice automatic-login 1
contains "GDM enabled" "$ACC/gdm/daemon.conf" "AutomaticLoginEnable=True"
contains "GDM logs alice in" "$ACC/gdm/daemon.conf" "AutomaticLogin=alice"
contains "GDM's other lines kept" "$ACC/gdm/daemon.conf" "#WaylandEnable=false"
check "inspect: autoLogin" 0 inspect alice --json=short
contains "autoLogin in the record" "$HEARTHD_TMP/out" '"autoLogin":true'
check "AutomaticLoginUsers" 0 prop AutomaticLoginUsers
contains "alice logs in automatically" "$HEARTHD_TMP/out" "User$alice"
check "automatic login moves to carol" 0 client set carol automatic-login 1
contains "GDM logs carol in" "$ACC/gdm/daemon.conf" "AutomaticLogin=carol"
wait_for "alice's record loses autoLogin" sh -c "'$HEARTHD_HOMECTL' inspect alice --json=short | grep -q '\"autoLogin\":false'"
check "automatic login off" 0 client set carol automatic-login 0
contains "GDM disabled" "$ACC/gdm/daemon.conf" "AutomaticLoginEnable=False"


check "a plain password is refused" 1 user_call "$alice" SetPassword string:plain string:""
contains "must be crypted" "$HEARTHD_TMP/err" "crypted"
check "password at next login" 0 client set alice password-mode 1
check "inspect: change now" 0 inspect alice
contains "passwordChangeNow" "$HEARTHD_TMP/out" "Password change now: yes"

# An encrypted home: a crypted password cannot re-key it.
now=$(($(date +%s) * 1000000))
check "register lucy (LUKS, absent)" 0 dbus-send --system --print-reply --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 org.freedesktop.home1.Manager.RegisterHome \
    string:"{\"userName\":\"lucy\",\"uid\":60400,\"storage\":\"luks\",\"disposition\":\"regular\",\"lastChangeUSec\":$now}"
wait_for "lucy appears" busctl --system get-property "$M" "$MP/User60400" "$M.User" UserName
check "SetPassword on a LUKS home" 1 user_call 60400 SetPassword string:'$6$salt$abcdefghijklmnop' string:""
contains "NotSupported" "$HEARTHD_TMP/err" "org.freedesktop.Accounts.Error.NotSupported"
contains "says why and what to do" "$HEARTHD_TMP/err" "passwd"
check "SetRealName on the LUKS home works" 0 user_call 60400 SetRealName string:"Lucy"
check "delete lucy, keeping files (UnregisterHome)" 0 dbus-send --system --print-reply --dest="$M" "$MP" \
    "$M.DeleteUser" int64:60400 boolean:false
check "lucy is gone from hearthd" 67 inspect lucy

# --- a user changes her own data, and only hers ------------------------------------------------
as_alice_call() { _t=$1 _m=$2; shift 2; hearthd_as_user "$alice" dbus-send --system --print-reply --dest="$M" "$MP/User$_t" "$M.User.$_m" "$@"; }
check "alice sets her own real name" 0 client_as "$alice" set alice real-name "Alice"
check "inspect: alice's own change" 0 inspect alice
contains "realName by alice" "$HEARTHD_TMP/out" "Real name: Alice"
check "alice sets her own language" 0 client_as "$alice" set alice language fr_FR.UTF-8
cp "$HEARTHD_TMP/face.png" "$HEARTHD_TMP/face2.png" && printf 'x' >>"$HEARTHD_TMP/face2.png"
chmod 644 "$HEARTHD_TMP/face2.png"
check "alice sets her own icon" 0 client_as "$alice" set alice icon "$HEARTHD_TMP/face2.png"
cmp -s "$HEARTHD_TMP/face2.png" "$ACC/state/icons/alice" && ok "alice's icon copied" || bad "alice's icon not copied"
cp "$HEARTHD_TMP/face.png" "$HEARTHD_TMP/secret.png" && chmod 600 "$HEARTHD_TMP/secret.png"
check "alice cannot have root read a file for her" 1 as_alice_call "$alice" SetIconFile string:"$HEARTHD_TMP/secret.png"
contains "read as alice" "$HEARTHD_TMP/err" "cannot be read"
check "alice cannot rename carol" 3 client_as "$alice" set carol real-name "Mallory"
contains "the library warns" "$HEARTHD_TMP/err" "SetRealName call failed"
check "inspect: carol unchanged" 0 inspect carol
lacks "carol's name kept" "$HEARTHD_TMP/out" "Mallory"
check "alice: carol's e-mail" 1 as_alice_call "$carol" SetEmail string:x@example.org
contains "PermissionDenied" "$HEARTHD_TMP/err" "org.freedesktop.Accounts.Error.PermissionDenied"
check "alice cannot unlock or lock herself (admin)" 1 as_alice_call "$alice" SetLocked boolean:true
contains "PermissionDenied for SetLocked" "$HEARTHD_TMP/err" "PermissionDenied"
check "alice cannot make herself standard (admin)" 1 as_alice_call "$alice" SetAccountType int32:0
check "alice cannot create users" 1 hearthd_as_user "$alice" dbus-send --system --print-reply --dest="$M" "$MP" \
    "$M.CreateUser" string:mallory string:Mallory int32:1
contains "PermissionDenied for CreateUser" "$HEARTHD_TMP/err" "PermissionDenied"
check "alice cannot delete carol" 1 hearthd_as_user "$alice" dbus-send --system --print-reply --dest="$M" "$MP" \
    "$M.DeleteUser" int64:"$carol" boolean:true
check "alice cannot set a password without polkit" 1 as_alice_call "$alice" SetPassword string:'$6$a$b' string:""
check "alice may read her password policy" 0 as_alice_call "$alice" GetPasswordExpirationPolicy
# Her record's own list rules her changes through us too (root asks hearthd
# for them, so hearth-accounts applies the rule itself).
h1() { _m=$1; shift; dbus-send --system --print-reply --dest=org.freedesktop.home1 /org/freedesktop/home1 \
    "org.freedesktop.home1.Manager.$_m" "$@"; }
rec=$(h1 GetUserRecordByName string:alice | sed -n 's/^ *string "\(.*\)"$/\1/p' | head -n 1 | sed 's/\\"/"/g' \
    | jq -c ".selfModifiableFields = [\"emailAddress\"] | .lastChangeUSec = $(($(date +%s%N) / 1000))")
check "root narrows alice's self-service to her e-mail" 0 h1 UpdateHome string:"$rec"
check "alice may not set her real name now" 1 as_alice_call "$alice" SetRealName string:"Not Alice"
contains "refused naming the field" "$HEARTHD_TMP/err" "realName is not among the fields user alice may change"
check "alice may still set her e-mail" 0 as_alice_call "$alice" SetEmail string:alice2@example.org
check "root still may set her real name" 0 user_call "$alice" SetRealName string:"Alice"

# --- /etc/passwd people --------------------------------------------------------------------------
echo 'bob:x:1000:1000:Bob Local,,,:/home/bob:/bin/bash' >>"$ACC/etc/passwd"
echo 'bob:$6$x$y:19000:0:99999:7:::' >>"$ACC/etc/shadow"
wait_for "a new /etc/passwd user is noticed" sh -c "'$PY' '$SRCDIR/tests/host/accounts-client.py' list | grep -q '^bob 1000 local=True'"
check "bob's real name from GECOS" 0 uprop 1000 RealName
contains "GECOS up to the comma" "$HEARTHD_TMP/out" '"Bob Local"'
check "bob is read-only" 1 user_call 1000 SetRealName string:Robert
contains "NotSupported for /etc/passwd users" "$HEARTHD_TMP/err" "ManageShadowUsers"
[ ! -e "$ACC/tools.log" ] && ok "no shadow tool ran" || bad "a shadow tool ran: $(cat "$ACC/tools.log")"

# One user cannot fill the polkit queue: with an agent that never answers,
# her calls beyond 8 are refused at once, and carol's still reach polkit.
POLKIT_STANDIN_HANG=1 hearthd_polkit_start
flood=
for i in $(seq 1 12); do
    hearthd_as_user "$alice" dbus-send --system --print-reply --reply-timeout=20000 --dest="$M" "$MP/User$alice" \
        "$M.User.SetShell" string:/bin/sh >"$HEARTHD_TMP/aflood$i.out" 2>&1 &
    flood="$flood $!"
done
sleep 3
n=$(grep -l "PermissionDenied" "$HEARTHD_TMP"/aflood*.out 2>/dev/null | wc -l)
[ "$n" -eq 4 ] && ok "alice's calls beyond 8 refused at once (4 of 12)" || bad "alice: $n of 12 refused at once, expected 4"
hearthd_as_user "$carol" dbus-send --system --print-reply --reply-timeout=3000 --dest="$M" "$MP/User$carol" \
    "$M.User.SetShell" string:/bin/sh >"$HEARTHD_TMP/carol-shell.out" 2>&1
grep -q "NoReply\|Timeout\|did not receive a reply" "$HEARTHD_TMP/carol-shell.out" \
    && ok "carol's call still waits for polkit" || { bad "carol's call did not reach polkit:"; cat "$HEARTHD_TMP/carol-shell.out"; }
hearthd_polkit_stop
for p in $flood; do wait "$p" 2>/dev/null; done

accounts_stop
echo '[Accounts]
ManageShadowUsers=yes
AdminGroup=wheel
DefaultStorage=luks' >"$ACC/hearth.conf"
accounts_start
check "ManageShadowUsers: bob's real name through usermod" 0 user_call 1000 SetRealName string:Robert
contains "usermod -c" "$ACC/tools.log" "usermod -c Robert -- bob"
check "bob becomes an administrator (AdminGroup=wheel)" 0 user_call 1000 SetAccountType int32:1
contains "usermod -a -G wheel" "$ACC/tools.log" "usermod -a -G wheel -- bob"
check "bob's language in the state file" 0 user_call 1000 SetLanguage string:en_GB.UTF-8
contains "Language= kept" "$ACC/state/users/bob" "Language=en_GB.UTF-8"
check "DefaultStorage=luks: CreateUser explains" 1 dbus-send --system --print-reply --dest="$M" "$MP" \
    "$M.CreateUser" string:dave string:Dave int32:0
contains "needs a password" "$HEARTHD_TMP/err" "password"
check "a Hearth user's admin group follows AdminGroup=" 0 uprop "$alice" AccountType
contains "alice (sudo) is standard with wheel" "$HEARTHD_TMP/out" "i 0"

accounts_stop
echo '[Accounts]
DefaultStorage=directory' >"$ACC/hearth.conf"
accounts_start

# --- hearthd restarting: GDM must not see the users go ---------------------------------------
hearthd_stop
check "users kept while hearthd is away" 0 busctl --system call "$M" "$MP" "$M" ListCachedUsers
contains "alice still listed" "$HEARTHD_TMP/out" "User$alice"
hearthd_start
check "homectl and hearth-accounts agree after the restart" 0 uprop "$alice" RealName
contains "alice's name" "$HEARTHD_TMP/out" '"Alice"'

# A change made with homectl shows up, with Changed.
check "homectl update carol's real name" 0 "$HEARTHD_HOMECTL" update carol --real-name="Carol Changed"
wait_for "the change reaches hearth-accounts" sh -c "busctl --system get-property $M $MP/User$carol $M.User RealName | grep -q 'Carol Changed'"

# --- delete --------------------------------------------------------------------------------------------
check "delete alice with her files" 0 client delete alice 1
check "alice is gone from hearthd" 67 inspect alice
[ ! -e "$ACC/state/users/alice" ] && [ ! -e "$ACC/state/icons/alice" ] && ok "alice's state and icon removed" \
    || bad "alice's state left behind"
check "alice no longer listed" 0 client list
lacks "no alice" "$HEARTHD_TMP/out" "alice"
contains "carol still there" "$HEARTHD_TMP/out" "carol"
check "delete root refused" 1 dbus-send --system --print-reply --dest="$M" "$MP" "$M.DeleteUser" int64:0 boolean:false
check "delete an unknown uid" 1 dbus-send --system --print-reply --dest="$M" "$MP" "$M.DeleteUser" int64:4242 boolean:false
contains "UserDoesNotExist" "$HEARTHD_TMP/err" "org.freedesktop.Accounts.Error.UserDoesNotExist"

# --- lookups ----------------------------------------------------------------------------------------
check "FindUserByName carol" 0 busctl --system call "$M" "$MP" "$M" FindUserByName s carol
contains "carol's path" "$HEARTHD_TMP/out" "User$carol"
check "FindUserById root (a system user, looked up on request)" 0 busctl --system call "$M" "$MP" "$M" FindUserById x 0
check "root is a system account" 0 uprop 0 SystemAccount
contains "SystemAccount true" "$HEARTHD_TMP/out" "b true"
check "root is not listed" 0 busctl --system call "$M" "$MP" "$M" ListCachedUsers
lacks "no User0" "$HEARTHD_TMP/out" "User0\""
check "FindUserByName of nobody known" 1 dbus-send --system --print-reply --dest="$M" "$MP" "$M.FindUserByName" \
    string:no-such-user-here
check "a name with a slash" 1 dbus-send --system --print-reply --dest="$M" "$MP" "$M.CacheUser" string:../x

accounts_stop
hearthd_finish
