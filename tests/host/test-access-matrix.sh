#!/bin/bash
# Who may call what: every method of every interface hearthd and
# hearth-accounts export, called by five callers, against ONE table of the
# outcome each call must have (#17).
#
#   test-access-matrix.sh BUILDDIR SRCDIR
#
# Interfaces: org.freedesktop.home1.Manager (/org/freedesktop/home1),
# org.freedesktop.home1.Home (/org/freedesktop/home1/home/alice),
# io.hearth.Pool1 (/io/hearth/Pool), org.freedesktop.Accounts
# (/org/freedesktop/Accounts) and org.freedesktop.Accounts.User
# (/org/freedesktop/Accounts/User<alice's uid>). Out of scope: the standard
# org.freedesktop.DBus.* interfaces (Introspectable, Peer, Properties,
# ObjectManager), so properties are not in the table either.
#
# Callers (columns):
#   root      uid 0, no polkit on the bus (root needs none)
#   own-nopk  alice, the home's owner, no polkit on the bus
#   own-pk    alice with a polkit stand-in (tests/host/polkit-standin.py) that
#             answers as polkit answers an active local session from the
#             shipped .policy files: allow_active yes -> authorized,
#             auth_* -> a challenge (no agent: not authorized)
#   other     bob, who has a home of his own, polkit stand-in running
#   nohome    uid 60203, who has no home, polkit stand-in running
# Secrets: alice (both columns) sends an empty secret ({}): she is the owner
# without her password. root, bob and the user with no home send alice's
# right password, so a refusal to them is a refusal of access, not of a
# wrong password.
#
# Outcomes: ok (success); partial (success, but the record comes without its
# privileged section, incomplete=true); otherwise the exact D-Bus error name,
# written with these prefixes shortened:
#   home1.    org.freedesktop.home1.
#   DBus.     org.freedesktop.DBus.Error.
#   Accounts. org.freedesktop.Accounts.Error.
#   Pool.     io.hearth.Pool.
#
# Each object is introspected and its methods compared with the table's rows,
# both ways: a method added later without a row fails the test, and so does a
# row for a method that is gone (and a new interface on these objects). A row
# METHOD:VARIANT is a second row for METHOD with other arguments.
#
# Between cells the state a row needs is restored (alice exists and is
# active or inactive as the row says, homes and users a successful create
# made are removed, alice is cached in hearth-accounts), so each cell tests
# access, not the previous cell's leftovers. Homes are directories (fast);
# io.hearth.Pool1 runs tests/host/fake-hearth-pool, so no disk is touched.
# The calls go through tests/host/bus-caller.py, one process and connection
# a caller (a dbus-send a call made the test several times slower on a
# loaded machine). While debugging: MATRIX_ONLY=ERE runs only the rows it
# matches, MATRIX_TIMING=1 prints the slowest cells.
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

command -v jq >/dev/null || hearthd_skip "needs jq"
PY=${HEARTH_PYTHON:-/usr/bin/python3}

ALICE=60201 BOB=60202 NOHOME=60203
PW='{"password":["alice-pw"]}'

# ---- the table ----------------------------------------------------------------
# OBJECT METHOD STATE | root own-nopk own-pk other nohome | ARGUMENTS
# STATE: active or inactive (alice's home before the call), - (either).
# ARGUMENTS are eval'd per cell: $SECRET is the caller's secret (above),
# $(self_update) and $(admin_update) alice's record with a change she may
# make herself (realName) and one she may not (rateLimitBurst).
# Abbreviations used in the table only (expanded by outcome_name):
#   IAR = DBus.InteractiveAuthorizationRequired, PD = Accounts.PermissionDenied
TABLE=$(cat <<'EOF'
Manager  GetHomeByName          -        | ok    ok    ok    ok    ok    | string:alice
Manager  GetHomeByUID           -        | ok    ok    ok    ok    ok    | uint32:$ALICE
Manager  GetUserRecordByName    -        | ok    ok    ok    partial partial | string:alice
Manager  GetUserRecordByUID     -        | ok    ok    ok    partial partial | uint32:$ALICE
Manager  ListHomes              -        | ok    ok    ok    ok    ok    |
Manager  ActivateHome           inactive | ok    home1.BadPassword home1.BadPassword IAR IAR | string:alice "string:$SECRET"
Manager  DeactivateHome         active   | ok    ok    ok    IAR   IAR   | string:alice
Manager  RegisterHome           -        | ok    DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied | "string:$(new_record reghome 60212 1)"
Manager  UnregisterHome         inactive | ok    DBus.AccessDenied IAR IAR IAR | string:alice
Manager  AdoptHome              -        | ok    DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied | "string:$ADOPTEE" uint64:0
Manager  CreateHome             -        | ok    DBus.AccessDenied IAR IAR IAR | "string:$(new_record newhome 60211)"
Manager  RealizeHome            -        | home1.HomeExists DBus.AccessDenied IAR IAR IAR | string:alice "string:$SECRET"
Manager  RemoveHome             inactive | ok    DBus.AccessDenied IAR IAR IAR | string:alice
Manager  FixateHome             -        | home1.HomeAlreadyFixated home1.HomeAlreadyFixated home1.HomeAlreadyFixated home1.HomeAlreadyFixated home1.HomeAlreadyFixated | string:alice "string:$SECRET"
Manager  AuthenticateHome       -        | ok    home1.BadPassword home1.BadPassword IAR IAR | string:alice "string:$SECRET"
Manager  UpdateHome             -        | ok    DBus.AccessDenied ok IAR IAR | "string:$(self_update)"
Manager  UpdateHome:admin-field -        | ok    DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied | "string:$(admin_update)"
Manager  ResizeHome             -        | DBus.NotSupported DBus.AccessDenied IAR IAR IAR | string:alice uint64:104857600 "string:$SECRET"
Manager  ChangePasswordHome     -        | ok    home1.BadPassword home1.BadPassword IAR IAR | string:alice "string:$PW" "string:$SECRET"
Manager  LockHome               active   | DBus.NotSupported DBus.NotSupported DBus.NotSupported IAR IAR | string:alice
Manager  UnlockHome             active   | home1.HomeNotLocked home1.HomeNotLocked home1.HomeNotLocked IAR IAR | string:alice "string:$SECRET"
Manager  AcquireHome            inactive | ok    home1.BadPassword home1.BadPassword IAR IAR | string:alice "string:$SECRET" boolean:false
Manager  RefHome                active   | ok    ok    ok    DBus.AccessDenied DBus.AccessDenied | string:alice boolean:false
Manager  ReleaseHome            active   | ok    ok    ok    IAR   IAR   | string:alice
Manager  LockAllHomes           active   | ok    DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied |
Manager  DeactivateAllHomes     active   | ok    DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied |
Manager  Rebalance              -        | home1.RebalanceNotNeeded DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied |
Home     Activate               inactive | ok    home1.BadPassword home1.BadPassword IAR IAR | "string:$SECRET"
Home     Deactivate             active   | ok    ok    ok    IAR   IAR   |
Home     Unregister             inactive | ok    DBus.AccessDenied IAR IAR IAR |
Home     Realize                -        | home1.HomeExists DBus.AccessDenied IAR IAR IAR | "string:$SECRET"
Home     Remove                 inactive | ok    DBus.AccessDenied IAR IAR IAR |
Home     Fixate                 -        | home1.HomeAlreadyFixated home1.HomeAlreadyFixated home1.HomeAlreadyFixated home1.HomeAlreadyFixated home1.HomeAlreadyFixated | "string:$SECRET"
Home     Authenticate           -        | ok    home1.BadPassword home1.BadPassword IAR IAR | "string:$SECRET"
Home     Update                 -        | ok    DBus.AccessDenied ok IAR IAR | "string:$(self_update)"
Home     Update:admin-field     -        | ok    DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied DBus.AccessDenied | "string:$(admin_update)"
Home     Resize                 -        | DBus.NotSupported DBus.AccessDenied IAR IAR IAR | uint64:104857600 "string:$SECRET"
Home     ChangePassword         -        | ok    home1.BadPassword home1.BadPassword IAR IAR | "string:$PW" "string:$SECRET"
Home     Lock                   active   | DBus.NotSupported DBus.NotSupported DBus.NotSupported IAR IAR |
Home     Unlock                 active   | home1.HomeNotLocked home1.HomeNotLocked home1.HomeNotLocked IAR IAR | "string:$SECRET"
Home     Acquire                inactive | ok    home1.BadPassword home1.BadPassword IAR IAR | "string:$SECRET" boolean:false
Home     Ref                    active   | ok    ok    ok    DBus.AccessDenied DBus.AccessDenied | boolean:false
Home     Release                active   | ok    ok    ok    IAR   IAR   |
Pool1    GetStatus              -        | ok    ok    ok    ok    ok    |
Pool1    Check                  -        | ok    ok    ok    ok    ok    | boolean:false
Pool1    Check:repair           -        | ok    DBus.AccessDenied IAR IAR IAR | boolean:true
Pool1    Init                   -        | ok    DBus.AccessDenied IAR IAR IAR | "string:$LOOP_HOME" "string:$LOOP_POOL" uint64:0 uint64:0
Pool1    Activate               -        | ok    DBus.AccessDenied IAR IAR IAR |
Pool1    Grow                   -        | ok    DBus.AccessDenied IAR IAR IAR | string:home uint64:16777216 boolean:true
Pool1    Shrink                 -        | ok    DBus.AccessDenied IAR IAR IAR | string:home uint64:16777216 boolean:true
Pool1    Release                -        | ok    DBus.AccessDenied IAR IAR IAR | uint64:16777216
Accounts ListCachedUsers        -        | ok    ok    ok    ok    ok    |
Accounts FindUserById           -        | ok    ok    ok    ok    ok    | int64:$ALICE
Accounts FindUserByName         -        | ok    ok    ok    ok    ok    | string:alice
Accounts CreateUser             -        | ok    PD    PD    PD    PD    | string:newuser string:New int32:0
Accounts CacheUser              -        | ok    PD    PD    PD    PD    | string:alice
Accounts UncacheUser            -        | ok    PD    PD    PD    PD    | string:alice
Accounts DeleteUser             inactive | ok    PD    PD    PD    PD    | int64:$ALICE boolean:true
User     SetUserName            -        | Accounts.NotSupported Accounts.NotSupported Accounts.NotSupported Accounts.NotSupported Accounts.NotSupported | string:alice2
User     SetRealName            -        | ok    ok    ok    PD    PD    | string:Alice
User     SetEmail               -        | ok    ok    ok    PD    PD    | string:alice@example.org
User     SetLanguage            -        | ok    ok    ok    PD    PD    | string:en_US.UTF-8
User     SetXSession            -        | ok    ok    ok    PD    PD    | string:gnome
User     SetSession             -        | ok    ok    ok    PD    PD    | string:gnome
User     SetSessionType         -        | ok    ok    ok    PD    PD    | string:wayland
User     SetLocation            -        | ok    ok    ok    PD    PD    | string:Wonderland
User     SetHomeDirectory       -        | Accounts.NotSupported Accounts.NotSupported Accounts.NotSupported Accounts.NotSupported Accounts.NotSupported | string:/home/elsewhere
User     SetShell               -        | ok    PD    PD    PD    PD    | string:/bin/bash
User     SetIconFile            -        | ok    ok    ok    PD    PD    | "string:$ICON"
User     SetLocked              -        | ok    PD    PD    PD    PD    | boolean:false
User     SetAccountType         -        | ok    PD    PD    PD    PD    | int32:0
User     SetPasswordMode        -        | ok    PD    PD    PD    PD    | int32:0
User     SetPassword            -        | ok    PD    PD    PD    PD    | "string:$HASH" string:
User     SetPasswordHint        -        | ok    ok    ok    PD    PD    | "string:the cat"
User     SetAutomaticLogin      -        | ok    PD    PD    PD    PD    | boolean:false
User     GetPasswordExpirationPolicy -   | ok    ok    ok    PD    PD    |
User     SetPasswordExpirationPolicy -   | ok    PD    PD    PD    PD    | int64:0 int64:-1 int64:7 int64:-1
User     SetUserExpirationPolicy -       | ok    PD    PD    PD    PD    | int64:-1
EOF
)
COLUMNS_="root own-nopk own-pk other nohome"
# MATRIX_ONLY=ERE runs only the rows it matches (while debugging a row).
RUN_TABLE=$TABLE
[ -z "${MATRIX_ONLY:-}" ] || RUN_TABLE=$(grep -E -- "$MATRIX_ONLY" <<<"$TABLE")

# These set a variable instead of printing: no subshell per cell.
outcome_name() { # NAME=the full D-Bus name of a table entry
    case $1 in
        IAR) NAME=org.freedesktop.DBus.Error.InteractiveAuthorizationRequired ;;
        PD) NAME=org.freedesktop.Accounts.Error.PermissionDenied ;;
        home1.*) NAME=org.freedesktop.home1.${1#home1.} ;;
        DBus.*) NAME=org.freedesktop.DBus.Error.${1#DBus.} ;;
        Accounts.*) NAME=org.freedesktop.Accounts.Error.${1#Accounts.} ;;
        Pool.*) NAME=io.hearth.Pool.${1#Pool.} ;;
        *) NAME=$1 ;;
    esac
}
short_name() { # SHORT=the table's spelling of a full name, for the printed matrix
    case $1 in
        org.freedesktop.DBus.Error.InteractiveAuthorizationRequired) SHORT=IAR ;;
        org.freedesktop.Accounts.Error.PermissionDenied) SHORT=PD ;;
        org.freedesktop.home1.*) SHORT=home1.${1#org.freedesktop.home1.} ;;
        org.freedesktop.DBus.Error.*) SHORT=DBus.${1#org.freedesktop.DBus.Error.} ;;
        org.freedesktop.Accounts.Error.*) SHORT=Accounts.${1#org.freedesktop.Accounts.Error.} ;;
        io.hearth.Pool.*) SHORT=Pool.${1#io.hearth.Pool.} ;;
        *) SHORT=$1 ;;
    esac
}
object_of() { # DEST, OPATH, IFACE of a table's OBJECT
    case $1 in
        Manager) DEST=org.freedesktop.home1 OPATH=/org/freedesktop/home1 IFACE=org.freedesktop.home1.Manager ;;
        Home) DEST=org.freedesktop.home1 OPATH=/org/freedesktop/home1/home/alice IFACE=org.freedesktop.home1.Home ;;
        Pool1) DEST=org.freedesktop.home1 OPATH=/io/hearth/Pool IFACE=io.hearth.Pool1 ;;
        Accounts) DEST=org.freedesktop.Accounts OPATH=/org/freedesktop/Accounts IFACE=org.freedesktop.Accounts ;;
        User) DEST=org.freedesktop.Accounts OPATH=/org/freedesktop/Accounts/User$ALICE IFACE=org.freedesktop.Accounts.User ;;
        *) DEST='' OPATH='' IFACE='' ;;
    esac
}
OBJECTS="Manager Home Pool1 Accounts User"

# ---- hearthd, the pool stand-in, hearth-accounts ------------------------------------
hearthd_setup "$BUILDDIR" "$SRCDIR"
echo "hearthd up after $SECONDS s"
FAKE_POOL_DIR=$HEARTHD_TMP/fake
mkdir -p "$FAKE_POOL_DIR"
export FAKE_POOL_DIR
echo '{"valid":true,"pool_uuid":"3b1f6c1e-9d1a-4c55-8f0e-0a1b2c3d4e5f","seq":1,"extent_size":16777216,"free_extents":0,"free_bytes":0,"releasable_extents":0,"releasable_bytes":0,"pvs":[],"volumes":[]}' \
    >"$FAKE_POOL_DIR/status.json"
echo '{"consistent":true,"problems":[]}' >"$FAKE_POOL_DIR/check.json"
hearthd_stop
HEARTHD_POOL_TOOL=$HEARTHD_SRCDIR/tests/host/fake-hearth-pool
hearthd_start
# Init takes block devices; the stand-in never opens them.
truncate -s 1M "$HEARTHD_TMP/pv-home.img" "$HEARTHD_TMP/pv-pool.img"
LOOP_HOME=$(losetup --find --show "$HEARTHD_TMP/pv-home.img") || hearthd_skip "no loop devices"
LOOP_POOL=$(losetup --find --show "$HEARTHD_TMP/pv-pool.img") || hearthd_skip "no loop devices"

ACCOUNTS_BIN=$BUILDDIR/hearth-accounts/hearth-accounts
ACC=$HEARTHD_TMP/accounts
ACC_PID=
mkdir -p "$ACC/etc" "$ACC/gdm" "$ACC/tools"
chmod 755 "$ACC"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ACC/etc/passwd"
printf 'root:x:0:\nsudo:x:27:\n' >"$ACC/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$ACC/etc/shadow"
printf '/bin/sh\n/bin/bash\n' >"$ACC/etc/shells"
printf '[daemon]\n' >"$ACC/gdm/daemon.conf"
printf '[Accounts]\nDefaultStorage=directory\n' >"$ACC/hearth.conf"
"$ACCOUNTS_BIN" --state-dir="$ACC/state" --config="$ACC/hearth.conf" --gdm-config="$ACC/gdm/daemon.conf" \
    --passwd="$ACC/etc/passwd" --group="$ACC/etc/group" --shadow="$ACC/etc/shadow" --shells="$ACC/etc/shells" \
    --shadow-tools="$ACC/tools" >>"$HEARTHD_TMP/hearth-accounts.log" 2>&1 </dev/null &
ACC_PID=$!
hearthd_at_exit 'if [ -n "$ACC_PID" ]; then kill -TERM "$ACC_PID" 2>/dev/null; _hearthd_wait_exit "$ACC_PID" 20 || kill -KILL "$ACC_PID"; wait "$ACC_PID" || bad "hearth-accounts exited with $? on SIGTERM"; ACC_PID=; fi; if [ "$fails" -gt 0 ]; then echo "---- hearth-accounts log"; cat "$HEARTHD_TMP/hearth-accounts.log"; fi'

ICON=$HEARTHD_TMP/face.png
"$PY" -c 'import struct,sys,zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0")) + chunk(b"IEND", b""))' >"$ICON"
chmod 644 "$ICON"
# alice's own password, crypted: SetPassword then changes nothing she uses.
HASH=$("$PY" -c 'import crypt; print(crypt.crypt("alice-pw", "$6$matrixsalt$"))' 2>/dev/null) \
    || HASH=$(openssl passwd -6 -salt matrixsalt alice-pw) || hearthd_skip "needs python3's crypt or openssl"

# ---- calls ------------------------------------------------------------------------------
# One tests/host/bus-caller.py a caller, each on its own connection as its
# user, fed one call a line through FIFOs: a process a call (dbus-send) made
# the test several times slower on a loaded machine.
declare -A CALLER_W CALLER_R
CALLER_PIDS=
caller_start() { # caller_start WHO UID
    local _fd
    mkfifo "$HEARTHD_TMP/$1.req" "$HEARTHD_TMP/$1.ans"
    # A simple command run in the background is exec'd: $! is the caller.
    setpriv --reuid="$2" --regid="$2" --clear-groups -- "$PY" "$SRCDIR/tests/host/bus-caller.py" \
        <"$HEARTHD_TMP/$1.req" >"$HEARTHD_TMP/$1.ans" 2>>"$HEARTHD_TMP/callers.log" &
    CALLER_PIDS="$CALLER_PIDS $!"
    exec {_fd}>"$HEARTHD_TMP/$1.req"
    CALLER_W[$1]=$_fd
    exec {_fd}<"$HEARTHD_TMP/$1.ans"
    CALLER_R[$1]=$_fd
}
# Every process started later holds the FIFOs' write ends too, so the
# callers would not see EOF: they are stopped by PID.
callers_stop() {
    local _fd _p
    for _fd in "${CALLER_W[@]}" "${CALLER_R[@]}"; do eval "exec $_fd>&-"; done
    CALLER_W=() CALLER_R=()
    for _p in $CALLER_PIDS; do kill -TERM "$_p" 2>/dev/null; done
    for _p in $CALLER_PIDS; do
        _hearthd_wait_exit "$_p" 5 || kill -KILL "$_p" 2>/dev/null
        wait "$_p" 2>/dev/null
    done
    CALLER_PIDS=
}
hearthd_at_exit 'callers_stop'
# bus WHO DEST PATH IFACE.METHOD ARGS... (dbus-send's argument syntax):
# ANSWER=(ok VALUE...) or (error NAME MESSAGE); true on ok.
bus() {
    local IFS=$'\x1f' _who=$1
    shift
    printf '%s\n' "$*" >&"${CALLER_W[$_who]}"
    read -r -t 180 -a ANSWER <&"${CALLER_R[$_who]}" || ANSWER=(error caller-gone "bus-caller for $_who")
    [ "${ANSWER[0]}" = ok ]
}
h1() { local _m=$1; shift; bus root org.freedesktop.home1 /org/freedesktop/home1 "org.freedesktop.home1.Manager.$_m" "$@"; }
acc() { local _m=$1; shift; bus root org.freedesktop.Accounts /org/freedesktop/Accounts "org.freedesktop.Accounts.$_m" "$@"; }
root_call() { # root_call DEST PATH IFACE.METHOD ARGS... with dbus-send (a few calls only)
    local _d=$1 _p=$2; shift 2
    dbus-send --system --print-reply --reply-timeout=60000 --dest="$_d" "$_p" "$@"
}
now_usec() { echo "${EPOCHREALTIME/./}"; }

new_record() { # new_record NAME UID [REGISTER]: a record to create (or, REGISTER, to register)
    if [ -n "${3:-}" ]; then
        printf '{"userName":"%s","uid":%s,"storage":"directory","disposition":"regular","lastChangeUSec":%s}' \
            "$1" "$2" "$(now_usec)"
    else
        printf '{"userName":"%s","uid":%s,"storage":"directory","disposition":"regular","secret":{"password":["%s-pw"]}}' \
            "$1" "$2" "$1"
    fi
}
# alice's record as root reads it, edited, newer.
edited_alice() {
    h1 GetUserRecordByName string:alice || { echo "cannot read alice's record: ${ANSWER[*]}" >&2; return 1; }
    jq -c "$1 | .lastChangeUSec = $(now_usec)" <<<"${ANSWER[1]}"
}
self_update() { edited_alice '.realName = "Alice " + (now | tostring)'; }
admin_update() { edited_alice '.rateLimitBurst = ((.rateLimitBurst // 10000) + 1)'; }

# drop_storage NAME: what an unregistered home of the name left, its
# storage, goes; its guard (a mount on it, storage/home-guard.h) first.
drop_storage() {
    local _s=${HEARTHD_HOME_ROOT:?}/$1.homedir _i
    for _i in 1 2 3 4; do mountpoint -q "$_s" && umount -l "$_s"; done
    rm -rf "$_s"
}
create_home() { # create_home NAME UID
    # What an unregistered home of the name left: its storage, a mount point.
    drop_storage "$1"
    rmdir "${HEARTHD_HOME_ROOT:?}/$1" 2>/dev/null
    h1 CreateHome string:"$(printf '{"userName":"%s","uid":%s,"storage":"directory","realName":"%s","disposition":"regular","rateLimitBurst":10000,"secret":{"password":["%s-pw"]}}' \
        "$1" "$2" "$1" "$1")"
}

# settle: wait (bounded) until no operation runs on alice's home; STATE is
# then its state (none: no such home).
settle() {
    local _i=0
    while :; do
        if h1 GetHomeByName string:alice; then STATE=${ANSWER[2]}; else STATE=none; fi
        case $STATE in *ing | *-while-*) ;; *) return 0 ;; esac
        [ $_i -ge 100 ] && { bad "alice's home still $STATE after 10s"; return 1; }
        sleep 0.1; _i=$((_i + 1))
    done
}

# restore STATE OBJECT: what every cell starts from. alice exists (created
# again if a cell removed her), her home is STATE (active, inactive, - for
# either), no home a cell created is left, and for hearth-accounts' rows it
# lists alice.
restore() {
    local _n _i
    ACC_CHECKED=
    settle
    if [ "$STATE" = none ]; then
        create_home alice "$ALICE" || bad "restore: cannot create alice again: ${ANSWER[*]}"
        settle
    fi
    for _n in newhome reghome newuser; do
        h1 GetHomeByName "string:$_n" || continue
        h1 RemoveHome "string:$_n" || h1 UnregisterHome "string:$_n" || bad "restore: cannot remove $_n: ${ANSWER[*]}"
        drop_storage "$_n"
        rmdir "${HEARTHD_HOME_ROOT:?}/$_n" 2>/dev/null
    done
    case $1/$STATE in
        active/inactive) h1 ActivateHome string:alice "string:$PW" || bad "restore: cannot activate alice: ${ANSWER[*]}" ;;
        inactive/active) h1 DeactivateHome string:alice || bad "restore: cannot deactivate alice: ${ANSWER[*]}" ;;
    esac
    [ "$1" = - ] || STATE=$1
    case $2 in Accounts | User) ;; *) return 0 ;; esac
    # hearth-accounts follows hearthd's signals: wait until it lists alice
    # (again), and cache her again after a successful UncacheUser.
    _i=0
    until acc ListCachedUsers && [[ ${ANSWER[1]} == *"/User$ALICE'"* ]]; do
        [ $_i -eq 10 ] && acc CacheUser string:alice
        [ $_i -ge 200 ] && { bad "restore: hearth-accounts does not list alice: ${ANSWER[*]}"; return 1; }
        sleep 0.1; _i=$((_i + 1))
    done
    ACC_CHECKED=yes
    return 0
}

# cell COLUMN OBJECT METHOD ARGS...: OUTCOME=the observed outcome.
cell() {
    local _col=$1 _meth=${3%%:*} _who
    object_of "$2"
    shift 3
    case $_col in
        root) _who=root ;;
        own-nopk | own-pk) _who=alice ;;
        other) _who=bob ;;
        nohome) _who=nohome ;;
    esac
    if bus "$_who" "$DEST" "$OPATH" "$IFACE.$_meth" "$@"; then
        OUTCOME=ok
        # A record: the reply's boolean says whether it is incomplete.
        case $_meth in GetUserRecordBy*)
            if [ "${ANSWER[2]}" = True ]; then
                OUTCOME=partial
                [[ ${ANSWER[1]} == *'"privileged"'* ]] && OUTCOME=partial-yet-privileged
            fi ;;
        esac
    else
        OUTCOME=${ANSWER[1]}
    fi
}

# AdoptHome's home: a .homedir in the home root (found there already, so
# root adopting it is the same each time), under a UID no row uses.
ADOPTEE=$HEARTHD_HOME_ROOT/adoptee.homedir
mkdir -m 700 "$HEARTHD_HOME_ROOT/.adoptee" && chown 60250:60250 "$HEARTHD_HOME_ROOT/.adoptee" \
    && mv "$HEARTHD_HOME_ROOT/.adoptee" "$ADOPTEE" || bad "cannot make $ADOPTEE"

echo "hearthd, hearth-accounts and the callers ready after $SECONDS s"
# ---- introspection: the table's rows are exactly the objects' methods ------------------
caller_start root 0
caller_start alice "$ALICE"
caller_start bob "$BOB"
caller_start nohome "$NOHOME"
create_home bob "$BOB" || { bad "cannot create bob: ${ANSWER[*]}"; hearthd_finish; }
restore active Accounts
introspect() { # introspect OBJECT: its methods, "INTERFACE METHOD" lines, standard interfaces left out
    object_of "$1"
    root_call "$DEST" "$OPATH" org.freedesktop.DBus.Introspectable.Introspect \
        | sed -n '/^ *string "/,$p' | sed '1s/^ *string "//; $s/"$//' \
        | "$PY" -c 'import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
for i in root.findall("interface"):
    name = i.get("name")
    if name.startswith("org.freedesktop.DBus."):
        continue
    for m in i.findall("method"):
        print(name, m.get("name"))
    if not i.findall("method"):
        print(name, "")'
}
: >"$HEARTHD_TMP/introspected"
for obj in $OBJECTS; do
    introspect "$obj" >>"$HEARTHD_TMP/introspected" || bad "introspecting $obj failed"
done
# Every object's interface is one of ours (a new interface needs rows too).
awk '{ print $1 }' "$HEARTHD_TMP/introspected" | sort -u >"$HEARTHD_TMP/ifaces"
for obj in $OBJECTS; do object_of "$obj"; echo "$IFACE"; done | sort -u >"$HEARTHD_TMP/ifaces.ours"
comm -23 "$HEARTHD_TMP/ifaces" "$HEARTHD_TMP/ifaces.ours" | while read -r i; do
    echo "FAIL: interface $i is exported but has no object in the table"
done >"$HEARTHD_TMP/ifaces.extra"
[ -s "$HEARTHD_TMP/ifaces.extra" ] && { cat "$HEARTHD_TMP/ifaces.extra"; bad "interfaces without rows"; } \
    || ok "no interface beyond the five in the table"
awk 'NF == 2 { print $1 " " $2 }' "$HEARTHD_TMP/introspected" | sort -u >"$HEARTHD_TMP/methods.exported"
while read -r obj meth _; do
    object_of "$obj"
    echo "${IFACE:-unknown-object-$obj} ${meth%%:*}"
done <<<"$TABLE" | sort -u >"$HEARTHD_TMP/methods.table"
missing=$(comm -23 "$HEARTHD_TMP/methods.exported" "$HEARTHD_TMP/methods.table")
stale=$(comm -13 "$HEARTHD_TMP/methods.exported" "$HEARTHD_TMP/methods.table")
[ -z "$missing" ] && ok "every exported method has a row ($(wc -l <"$HEARTHD_TMP/methods.exported") methods)" \
    || bad "exported methods without a row in the table: $(echo $missing)"
[ -z "$stale" ] && ok "every row names an exported method" || bad "rows for methods not exported: $(echo $stale)"

echo "introspected after $SECONDS s"
# ---- the cells ------------------------------------------------------------------------------
declare -A OBSERVED
run_column() { # run_column COLUMN
    local _c=$1 _head _expect _args _obj _meth _state _i _fresh=
    case $_c in own-pk | other | nohome) hearthd_polkit_start ;; *) hearthd_polkit_stop ;; esac
    case $_c in own-nopk | own-pk) SECRET='{}' ;; *) SECRET=$PW ;; esac
    # Rows run grouped by the state they need (fewer activations); a call
    # that failed changed nothing, so after one the state is still known.
    while IFS='|' read -r _head _expect _args; do
        read -r _obj _meth _state <<<"$_head"
        [ -n "$_obj" ] || continue
        _t0=${EPOCHREALTIME/./}
        if [ -z "$_fresh" ] || { [ "$_state" != - ] && [ "$_state" != "$STATE" ]; }; then
            restore "$_state" "$_obj"
        elif [ "$_obj" = Accounts ] || [ "$_obj" = User ]; then
            [ -n "$ACC_CHECKED" ] || restore "$_state" "$_obj"
        fi
        _t1=${EPOCHREALTIME/./}
        eval "set -- $_args"
        cell "$_c" "$_obj" "$_meth" "$@"
        _t2=${EPOCHREALTIME/./}
        T_RESTORE=$((T_RESTORE + _t1 - _t0)) T_CALLS=$((T_CALLS + _t2 - _t1))
        echo "$(((_t1 - _t0) / 1000)) $(((_t2 - _t1) / 1000)) $_c $_obj $_meth" >>"$HEARTHD_TMP/timing"
        OBSERVED[$_obj.$_meth.$_c]=$OUTCOME
        case $OUTCOME in ok | partial*) _fresh= ;; *) _fresh=yes ;; esac
        # The reference a successful Ref or Acquire returned is closed
        # now (dbus-send exited): hearthd deactivates the home soon after.
        case $_meth/$OUTCOME in Ref*/ok | Acquire*/ok)
            _i=0
            until settle && [ "$STATE" = inactive ]; do
                [ $_i -ge 50 ] && { bad "alice still $STATE 5s after her last reference closed"; break; }
                sleep 0.1; _i=$((_i + 1))
            done ;;
        esac
    done < <(awk '$3 == "-"' <<<"$RUN_TABLE"; awk '$3 == "active"' <<<"$RUN_TABLE"; awk '$3 == "inactive"' <<<"$RUN_TABLE")
}
start=$(date +%s) T_RESTORE=0 T_CALLS=0
for c in $COLUMNS_; do run_column "$c"; done
echo "cells took $(($(date +%s) - start)) s: restoring state $((T_RESTORE / 1000)) ms, the calls $((T_CALLS / 1000)) ms"
[ -z "${MATRIX_TIMING:-}" ] || sort -rn "$HEARTHD_TMP/timing" | head -n 40

# ---- judge and print ---------------------------------------------------------------------
printf '\n%-9s %-28s' object method
for c in $COLUMNS_; do printf ' %-22s' "$c"; done
printf '\n'
while IFS='|' read -r head expect _; do
    read -r obj meth _ <<<"$head"
    [ -n "$obj" ] || continue
    read -r -a want <<<"$expect"
    [ "${#want[@]}" -eq 5 ] || { bad "row $obj $meth: ${#want[@]} outcomes, not 5"; continue; }
    printf '%-9s %-28s' "$obj" "$meth"
    i=0
    for c in $COLUMNS_; do
        got=${OBSERVED[$obj.$meth.$c]:-not-run}
        outcome_name "${want[$i]}"
        short_name "$got"
        if [ "$got" = "$NAME" ]; then
            printf ' %-22s' "$SHORT"
            passes=$((passes + 1))
        else
            printf ' %-22s' "!$SHORT"
            echo "FAIL: $obj.$meth as $c: $got, expected $NAME" >>"$HEARTHD_TMP/mismatches"
            fails=$((fails + 1))
        fi
        i=$((i + 1))
    done
    printf '\n'
done <<<"$RUN_TABLE"
echo "(! marks a cell that differs from the table)"
[ -s "$HEARTHD_TMP/mismatches" ] && cat "$HEARTHD_TMP/mismatches"
hearthd_finish
