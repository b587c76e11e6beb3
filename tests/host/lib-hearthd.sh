# shellcheck shell=sh
# lib-hearthd.sh: run hearthd for a host test, on a private system bus, with
# its own state, runtime and home directories in a temporary directory.
# POSIX sh; source it from a test (sh or bash) that runs as root:
#
#   . "$SRCDIR/tests/host/lib-hearthd.sh"
#   hearthd_setup_btrfs 1G            # optional: home root on a loop Btrfs
#   hearthd_setup "$BUILDDIR" "$SRCDIR"
#   check "list as root" 0 "$HEARTHD_HOMECTL" list
#   check "list as a user" 0 hearthd_as_user 60123 "$HEARTHD_HOMECTL" list
#   contains "no homes yet" "$HEARTHD_TMP/out" "No home areas."
#   hearthd_restart
#   hearthd_finish                    # "N passed, N failed"; exit 1 on failure
#
# What is set up (all under $HEARTHD_TMP, removed at exit; the home root
# elsewhere only if HEARTHD_HOME_ROOT is set before, by a test that runs in
# a mount namespace of its own):
#   a dbus-daemon with tests/host/dbus-system.conf.in, which includes
#   data/org.freedesktop.home1.conf and org.freedesktop.Accounts.conf
#   (hearth-accounts, tests/host/test-accounts.sh); DBUS_SYSTEM_BUS_ADDRESS points at
#   it (exported), so hearthd, homectl, busctl --system, dbus-send --system
#   and tests/host/systemd-homectl all use it;
#   hearthd --state-dir=$HEARTHD_STATE_DIR --runtime-dir=$HEARTHD_RUNTIME_DIR
#   --home-root=$HEARTHD_HOME_ROOT --worker=$HEARTHD_WORKER
#   --pool-tool=$HEARTHD_POOL_TOOL --config=$HEARTHD_CONFIG (an empty file
#   unless set: the machine's own /etc/hearth/hearth.conf never leaks into a
#   test), --userdb-dir=$HEARTHD_USERDB_DIR (its userdb socket,
#   io.hearth.Home; default $HEARTHD_TMP/userdb: never the machine's
#   /run/systemd/userdb unless a test in a mount namespace of its own sets
#   it), logging to $HEARTHD_LOG.
#
# Functions:
#   hearthd_setup BUILDDIR SRCDIR  bus + directories + hearthd; waits until
#                        org.freedesktop.home1 is on the bus (at most
#                        $HEARTHD_START_TIMEOUT s, default 20). If
#                        $HEARTHD_BTRFS_SIZE is set, calls hearthd_setup_btrfs.
#   hearthd_setup_btrfs SIZE  the home root becomes a SIZE loop-file Btrfs
#                        (before or after hearthd_setup; exits 77 without
#                        mkfs.btrfs or loop devices)
#   hearthd_start [ARGS]  start hearthd (ARGS and $HEARTHD_ARGS are added to
#                        its command line) and wait for its bus name
#   hearthd_stop         SIGTERM, wait (bounded); returns hearthd's exit status
#                        and counts a failure if it is not 0
#   hearthd_restart [ARGS]  hearthd_stop + hearthd_start
#   hearthd_kill9        SIGKILL hearthd, reap it, wait until its name is gone
#   hearthd_kill_mid FAILPOINT CMD...  hearthd restarted with
#                        HEARTH_FAILPOINT=FAILPOINT:stop, CMD run in the
#                        background until a worker of hearthd stops itself
#                        there; then hearthd and that worker are killed with
#                        SIGKILL and hearthd started again without it.
#                        Returns 1 (a failure counted) if no worker stopped
#                        within 60 s
#   hearthd_running      true while hearthd is alive
#   hearthd_log          print hearthd's log (the cleanup does it on failure)
#   hearthd_as_user UID CMD...  run CMD as UID (gid = UID, no groups); the
#                        bus lets uids 60001..60513 and this machine's users
#                        connect, hearthd_bus_user UID adds another
#   hearthd_systemd_homectl ARGS  systemd's own homectl (252) against hearthd;
#                        hearthd_need_systemd_homectl skips (77) without it
#   hearthd_polkit_start  a polkit stand-in on the bus (tests/host/polkit-standin.py)
#                        answering from the shipped .policy files as polkit
#                        answers an active local session (POLKIT_STANDIN_HANG=1
#                        in the environment: never answering); the actions
#                        asked are logged in $HEARTHD_POLKIT_LOG; hearthd_polkit_stop
#   hearthd_at_exit CMD  run CMD (a string, eval'd) during cleanup, first
#   hearthd_skip MSG     exit 77 (the test is skipped)
# Checks, in the style of the other host tests (counters passes/fails):
#   ok MSG / bad MSG (fail MSG is the same as bad)
#   check DESC RC CMD...  run CMD, stdout in $HEARTHD_TMP/out and $out, stderr
#                        in $HEARTHD_TMP/err and $err; pass if it exits RC
#   contains DESC FILE TEXT / lacks DESC FILE TEXT
#   hearthd_finish       print "N passed, N failed", exit 1 if any failed
#
# The cleanup (trap on EXIT, INT, TERM) stops only the processes this file
# started (hearthd with SIGTERM, then dbus-daemon), unmounts what is mounted
# under $HEARTHD_TMP, detaches the loop devices backed by files in it, and
# removes it. If hearthd does not exit 0 on SIGTERM (e.g. ASan found a leak)
# the test fails. On failure hearthd's log is printed.

HEARTHD_TMP=${HEARTHD_TMP:-}
HEARTHD_PID=
HEARTHD_BUS_PID=
HEARTHD_LOOPDEV=
HEARTHD_POLKIT_PID=
HEARTHD_ARGS=${HEARTHD_ARGS:-}
HEARTHD_START_TIMEOUT=${HEARTHD_START_TIMEOUT:-20}
HEARTHD_STOP_TIMEOUT=${HEARTHD_STOP_TIMEOUT:-30}
HEARTHD_BUS_NAME=org.freedesktop.home1
_hearthd_at_exit=
passes=${passes:-0}
fails=${fails:-0}
out=
err=

hearthd_skip() { echo "SKIP: $*"; exit 77; }

ok() { echo "ok: $*"; passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
fail() { bad "$@"; }

check() { # check DESC EXPECTED_RC CMD...
    _c_desc=$1 _c_want=$2; shift 2
    if "$@" >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err"; then _c_rc=0; else _c_rc=$?; fi
    # shellcheck disable=SC2034 # for the test that sourced this file
    out=$(cat "$HEARTHD_TMP/out") err=$(cat "$HEARTHD_TMP/err")
    if [ "$_c_rc" -eq "$_c_want" ]; then
        ok "$_c_desc"
    else
        bad "$_c_desc: exit $_c_rc, expected $_c_want"
        sed 's/^/    stdout: /' "$HEARTHD_TMP/out"
        sed 's/^/    stderr: /' "$HEARTHD_TMP/err"
    fi
    return 0
}
contains() { # contains DESC FILE TEXT
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: no \"$3\" in:"; sed 's/^/    /' "$2"; fi
}
lacks() { # lacks DESC FILE TEXT
    if grep -qF -- "$3" "$2"; then bad "$1: \"$3\" present"; else ok "$1"; fi
}

hearthd_finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ] || exit 1
    exit 0
}

# hearthd_call METHOD ARGS...: a method of hearthd's Manager through
# dbus-send (ARGS as dbus-send takes them: string:..., boolean:...).
hearthd_call() {
    _m=$1; shift
    dbus-send --system --print-reply --reply-timeout=120000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "org.freedesktop.home1.Manager.$_m" "$@"
}

hearthd_as_user() { # hearthd_as_user UID CMD...
    _u=$1; shift
    setpriv --reuid="$_u" --regid="$_u" --clear-groups -- "$@"
}

hearthd_at_exit() { _hearthd_at_exit="$1
$_hearthd_at_exit"; }

# ---- processes ---------------------------------------------------------------

# A child that exited but was not reaped yet still answers kill -0.
_hearthd_alive() { # _hearthd_alive PID
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
    _st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
}

hearthd_running() { _hearthd_alive "$HEARTHD_PID"; }

_hearthd_name_owned() {
    dbus-send --system --print-reply --reply-timeout=2000 --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner "string:$HEARTHD_BUS_NAME" \
        2>/dev/null | grep -q 'boolean true'
}

# _hearthd_wait_exit PID SECONDS: true once PID is gone (or a zombie).
_hearthd_wait_exit() {
    _w=0
    while _hearthd_alive "$1"; do
        [ "$_w" -ge $(($2 * 10)) ] && return 1
        sleep 0.1; _w=$((_w + 1))
    done
    return 0
}

hearthd_log() {
    if [ -z "$HEARTHD_TMP" ] || ! [ -s "$HEARTHD_TMP/hearthd.log" ]; then echo "(hearthd log is empty)"; return 0; fi
    echo "---- hearthd log ($HEARTHD_TMP/hearthd.log)"
    cat "$HEARTHD_TMP/hearthd.log"
    echo "---- end of hearthd log"
}

hearthd_start() {
    if hearthd_running; then bad "hearthd_start: hearthd already runs (pid $HEARTHD_PID)"; return 1; fi
    [ -x "$HEARTHD_BIN" ] || { bad "hearthd not built: $HEARTHD_BIN"; exit 1; }
    echo "==== $(date +%T.%N | cut -c1-12) hearthd start" >>"$HEARTHD_LOG"
    # shellcheck disable=SC2086
    "$HEARTHD_BIN" --state-dir="$HEARTHD_STATE_DIR" --runtime-dir="$HEARTHD_RUNTIME_DIR" \
        --home-root="$HEARTHD_HOME_ROOT" --worker="$HEARTHD_WORKER" --pool-tool="$HEARTHD_POOL_TOOL" \
        --config="$HEARTHD_CONFIG" --userdb-dir="$HEARTHD_USERDB_DIR" $HEARTHD_ARGS "$@" \
        >>"$HEARTHD_LOG" 2>&1 </dev/null &
    HEARTHD_PID=$!
    _w=0
    while ! _hearthd_name_owned; do
        if ! hearthd_running; then
            wait "$HEARTHD_PID"; _st_rc=$?
            HEARTHD_PID=
            bad "hearthd exited with status $_st_rc before taking $HEARTHD_BUS_NAME"
            exit 1
        fi
        if [ "$_w" -ge $((HEARTHD_START_TIMEOUT * 10)) ]; then
            bad "hearthd did not take $HEARTHD_BUS_NAME within ${HEARTHD_START_TIMEOUT}s"
            exit 1
        fi
        sleep 0.1; _w=$((_w + 1))
    done
    return 0
}

hearthd_stop() {
    [ -n "$HEARTHD_PID" ] || return 0
    kill -TERM "$HEARTHD_PID" 2>/dev/null
    if ! _hearthd_wait_exit "$HEARTHD_PID" "$HEARTHD_STOP_TIMEOUT"; then
        bad "hearthd did not stop within ${HEARTHD_STOP_TIMEOUT}s of SIGTERM; killing it"
        kill -KILL "$HEARTHD_PID" 2>/dev/null
    fi
    wait "$HEARTHD_PID"; _sp_rc=$?
    HEARTHD_PID=
    echo "==== $(date +%T.%N | cut -c1-12) hearthd stopped, status $_sp_rc" >>"$HEARTHD_LOG"
    [ "$_sp_rc" -eq 0 ] || bad "hearthd exited with status $_sp_rc on SIGTERM"
    return "$_sp_rc"
}

hearthd_restart() {
    hearthd_stop
    hearthd_start "$@"
}

hearthd_kill9() {
    [ -n "$HEARTHD_PID" ] || { bad "hearthd_kill9: hearthd is not running"; return 1; }
    kill -KILL "$HEARTHD_PID" 2>/dev/null
    wait "$HEARTHD_PID" 2>/dev/null
    HEARTHD_PID=
    echo "==== $(date +%T.%N | cut -c1-12) hearthd killed with SIGKILL" >>"$HEARTHD_LOG"
    _w=0
    while _hearthd_name_owned; do
        [ "$_w" -ge 100 ] && { bad "$HEARTHD_BUS_NAME still owned 10s after SIGKILL"; return 1; }
        sleep 0.1; _w=$((_w + 1))
    done
    return 0
}

hearthd_kill_mid() {
    _km_fp=$1; shift
    HEARTH_FAILPOINT=$_km_fp:stop
    export HEARTH_FAILPOINT
    hearthd_restart
    unset HEARTH_FAILPOINT
    "$@" >/dev/null 2>&1 &
    _km_caller=$!
    _km_stopped=
    _w=0
    while [ "$_w" -lt 600 ]; do
        _km_stopped=$(ps -eo pid=,ppid=,stat= | awk -v p="$HEARTHD_PID" '$2 == p && $3 ~ /^T/ { print $1; exit }')
        [ -n "$_km_stopped" ] && break
        sleep 0.1; _w=$((_w + 1))
    done
    if [ -z "$_km_stopped" ]; then
        bad "$_km_fp: no worker of hearthd stopped there within 60s"
        wait "$_km_caller" 2>/dev/null
        hearthd_restart
        return 1
    fi
    hearthd_kill9
    kill -KILL "$_km_stopped" 2>/dev/null
    wait "$_km_caller" 2>/dev/null
    hearthd_start
}

# ---- setup -------------------------------------------------------------------

_hearthd_init() {
    [ -n "$HEARTHD_TMP" ] && [ -d "$HEARTHD_TMP" ] && return 0
    [ "$(id -u)" = 0 ] || hearthd_skip "needs root"
    HEARTHD_TMP=$(mktemp -d /tmp/hearthd-test.XXXXXX) || exit 1
    # Users the tests act as must reach the bus socket and their homes.
    chmod 755 "$HEARTHD_TMP"
    trap _hearthd_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    HEARTHD_STATE_DIR=$HEARTHD_TMP/state
    HEARTHD_RUNTIME_DIR=$HEARTHD_TMP/run
    HEARTHD_HOME_ROOT=${HEARTHD_HOME_ROOT:-$HEARTHD_TMP/home}
    HEARTHD_LOG=$HEARTHD_TMP/hearthd.log
    HEARTHD_USERDB_DIR=${HEARTHD_USERDB_DIR:-$HEARTHD_TMP/userdb}
    mkdir -p "$HEARTHD_STATE_DIR" "$HEARTHD_RUNTIME_DIR" "$HEARTHD_HOME_ROOT"
    chmod 700 "$HEARTHD_STATE_DIR"
    chmod 755 "$HEARTHD_RUNTIME_DIR" "$HEARTHD_HOME_ROOT"
    : >"$HEARTHD_LOG"
    if [ -z "${HEARTHD_CONFIG:-}" ]; then
        HEARTHD_CONFIG=$HEARTHD_TMP/hearth.conf
        # No rebalancing by itself: a test's homes keep the sizes it gave them.
        printf '[Rebalance]\nAutomatic=no\n' >"$HEARTHD_CONFIG"
    fi
    : >"$HEARTHD_TMP/out"
    : >"$HEARTHD_TMP/err"
}

# The home root is a shared mount, so that homes hearthd mounts there also
# appear in mount namespaces made later as its slaves (tests/host/systemd-homectl).
_hearthd_share_home_root() {
    if ! mountpoint -q "$HEARTHD_HOME_ROOT"; then
        mount --bind "$HEARTHD_HOME_ROOT" "$HEARTHD_HOME_ROOT" || { bad "bind-mounting the home root failed"; exit 1; }
    fi
    mount --make-shared "$HEARTHD_HOME_ROOT" || { bad "making the home root a shared mount failed"; exit 1; }
}

hearthd_setup_btrfs() { # hearthd_setup_btrfs SIZE
    _hearthd_init
    command -v mkfs.btrfs >/dev/null || hearthd_skip "needs mkfs.btrfs"
    [ -z "$HEARTHD_LOOPDEV" ] || { bad "hearthd_setup_btrfs: already done"; return 1; }
    _was_running=no
    if hearthd_running; then _was_running=yes; hearthd_stop; fi
    if mountpoint -q "$HEARTHD_HOME_ROOT"; then
        umount "$HEARTHD_HOME_ROOT" || { bad "cannot unmount $HEARTHD_HOME_ROOT"; exit 1; }
    fi
    truncate -s "$1" "$HEARTHD_TMP/home.btrfs" || exit 1
    mkfs.btrfs -q "$HEARTHD_TMP/home.btrfs" >/dev/null 2>&1 || hearthd_skip "mkfs.btrfs failed"
    HEARTHD_LOOPDEV=$(losetup --find --show "$HEARTHD_TMP/home.btrfs") || hearthd_skip "no loop devices"
    mount "$HEARTHD_LOOPDEV" "$HEARTHD_HOME_ROOT" || { bad "mounting $HEARTHD_LOOPDEV failed"; exit 1; }
    chmod 755 "$HEARTHD_HOME_ROOT"
    _hearthd_share_home_root
    [ "$_was_running" = no ] || hearthd_start
}

_hearthd_nss_wrapper() {
    for _l in "$(pkg-config --variable=libdir nss_wrapper 2>/dev/null)/libnss_wrapper.so" \
        /usr/lib/*-linux-gnu/libnss_wrapper.so /usr/lib64/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
        [ -f "$_l" ] && { echo "$_l"; return 0; }
    done
    return 1
}

# hearthd_bus_user UID [NAME]: make the test bus know one more user (uids
# 60001..60513 are known from the start). nss_wrapper rereads its files when
# they change, so this works while the bus runs.
hearthd_bus_user() {
    _n=${2:-hearth-test-$1}
    echo "$_n:x:$1:$1::/nonexistent:/usr/sbin/nologin" >>"$HEARTHD_TMP/bus/passwd"
    echo "$_n:x:$1:" >>"$HEARTHD_TMP/bus/group"
}

hearthd_setup() { # hearthd_setup BUILDDIR SRCDIR
    HEARTHD_BUILDDIR=$(cd "$1" && pwd) || exit 1
    HEARTHD_SRCDIR=$(cd "$2" && pwd) || exit 1
    HEARTHD_BIN=${HEARTHD_BIN:-$HEARTHD_BUILDDIR/hearthd/hearthd}
    HEARTHD_WORKER=${HEARTHD_WORKER:-$HEARTHD_BUILDDIR/hearth-work/hearth-work}
    HEARTHD_HOMECTL=${HEARTHD_HOMECTL:-$HEARTHD_BUILDDIR/homectl/homectl}
    HEARTHD_POOL_TOOL=${HEARTHD_POOL_TOOL:-$HEARTHD_BUILDDIR/hearth-pool/hearth-pool}
    HEARTHD_SYSTEMD_HOMECTL=$HEARTHD_SRCDIR/tests/host/systemd-homectl
    _hearthd_init
    command -v dbus-daemon >/dev/null || hearthd_skip "needs dbus-daemon"
    command -v dbus-send >/dev/null || hearthd_skip "needs dbus-send"
    command -v setpriv >/dev/null || hearthd_skip "needs setpriv"

    if [ -n "${HEARTHD_BTRFS_SIZE:-}" ] && [ -z "$HEARTHD_LOOPDEV" ]; then
        hearthd_setup_btrfs "$HEARTHD_BTRFS_SIZE"
    fi
    _hearthd_share_home_root

    # The private system bus.
    mkdir -p "$HEARTHD_TMP/bus"
    chmod 755 "$HEARTHD_TMP/bus"
    sed -e "s|@BUS_SOCKET@|$HEARTHD_TMP/bus/system_bus_socket|" \
        -e "s|@HOME1_POLICY@|$HEARTHD_SRCDIR/data/org.freedesktop.home1.conf|" \
        -e "s|@ACCOUNTS_POLICY@|$HEARTHD_SRCDIR/data/org.freedesktop.Accounts.conf|" \
        "$HEARTHD_SRCDIR/tests/host/dbus-system.conf.in" >"$HEARTHD_TMP/bus/system.conf"
    # dbus-daemon refuses connections from uids it cannot look up (it needs
    # their groups), and the uids the tests act as exist nowhere but in
    # hearthd. On a real machine NSS knows them (libnss_hearth); here the bus
    # runs under nss_wrapper with this machine's users plus a user for every
    # uid of the homed range 60001..60513 (see hearthd_bus_user).
    _nsswrap=$(_hearthd_nss_wrapper) || hearthd_skip "needs nss_wrapper (Debian package libnss-wrapper)"
    getent passwd >"$HEARTHD_TMP/bus/passwd"
    getent group >"$HEARTHD_TMP/bus/group"
    _u=60001
    while [ "$_u" -le 60513 ]; do
        if ! grep -q "^[^:]*:[^:]*:$_u:" "$HEARTHD_TMP/bus/passwd"; then
            echo "hearth-test-$_u:x:$_u:$_u::/nonexistent:/usr/sbin/nologin" >>"$HEARTHD_TMP/bus/passwd"
            echo "hearth-test-$_u:x:$_u:" >>"$HEARTHD_TMP/bus/group"
        fi
        _u=$((_u + 1))
    done
    LD_PRELOAD=$_nsswrap NSS_WRAPPER_PASSWD=$HEARTHD_TMP/bus/passwd NSS_WRAPPER_GROUP=$HEARTHD_TMP/bus/group \
    dbus-daemon --config-file="$HEARTHD_TMP/bus/system.conf" --nofork --nopidfile \
        --print-address=3 3>"$HEARTHD_TMP/bus/address" >"$HEARTHD_TMP/bus/dbus.log" 2>&1 </dev/null &
    HEARTHD_BUS_PID=$!
    _w=0
    while ! [ -s "$HEARTHD_TMP/bus/address" ]; do
        if ! _hearthd_alive "$HEARTHD_BUS_PID"; then
            HEARTHD_BUS_PID=
            bad "dbus-daemon did not start:"; cat "$HEARTHD_TMP/bus/dbus.log"; exit 1
        fi
        [ "$_w" -ge 100 ] && { bad "dbus-daemon gave no address within 10s"; exit 1; }
        sleep 0.1; _w=$((_w + 1))
    done
    DBUS_SYSTEM_BUS_ADDRESS=$(head -n 1 "$HEARTHD_TMP/bus/address")
    export DBUS_SYSTEM_BUS_ADDRESS
    # Nothing else on this machine's real bus is used by mistake.
    unset DBUS_SESSION_BUS_ADDRESS

    hearthd_start
}

hearthd_polkit_start() {
    [ -z "$HEARTHD_POLKIT_PID" ] || return 0
    _py=${HEARTH_PYTHON:-/usr/bin/python3}
    "$_py" -c 'from gi.repository import Gio' 2>/dev/null \
        || hearthd_skip "the polkit stand-in needs python3-gi"
    _ready=$HEARTHD_TMP/polkit.ready
    HEARTHD_POLKIT_LOG=$_ready.log
    rm -f "$_ready"
    "$_py" "$HEARTHD_SRCDIR/tests/host/polkit-standin.py" "$_ready" \
        "$HEARTHD_SRCDIR/data/org.freedesktop.home1.policy" \
        "$HEARTHD_SRCDIR/data/org.freedesktop.accounts.policy" \
        >"$HEARTHD_TMP/polkit.out" 2>&1 </dev/null &
    HEARTHD_POLKIT_PID=$!
    _w=0
    while ! [ -s "$_ready" ]; do
        if ! _hearthd_alive "$HEARTHD_POLKIT_PID"; then
            HEARTHD_POLKIT_PID=
            bad "the polkit stand-in did not start:"; cat "$HEARTHD_TMP/polkit.out"; exit 1
        fi
        [ "$_w" -ge 100 ] && { bad "the polkit stand-in did not take its name within 10s"; exit 1; }
        sleep 0.1; _w=$((_w + 1))
    done
}

hearthd_polkit_stop() {
    [ -n "$HEARTHD_POLKIT_PID" ] || return 0
    kill -TERM "$HEARTHD_POLKIT_PID" 2>/dev/null
    _hearthd_wait_exit "$HEARTHD_POLKIT_PID" 10 || kill -KILL "$HEARTHD_POLKIT_PID" 2>/dev/null
    wait "$HEARTHD_POLKIT_PID" 2>/dev/null
    HEARTHD_POLKIT_PID=
}

hearthd_need_systemd_homectl() {
    _b=${HEARTH_SYSTEMD_HOMECTL_BIN:-/var/cache/hearth/systemd-homed/current/usr/bin/homectl}
    [ -x "$_b" ] || hearthd_skip "systemd's homectl is not unpacked ($_b): run tools/install-deps"
}

hearthd_systemd_homectl() { "$HEARTHD_SYSTEMD_HOMECTL" "$@"; }

# ---- cleanup -----------------------------------------------------------------

_hearthd_cleanup() {
    _hearthd_rc=$?
    trap - EXIT INT TERM
    [ -n "$HEARTHD_TMP" ] && [ -d "$HEARTHD_TMP" ] || exit "$_hearthd_rc"
    if [ -n "$_hearthd_at_exit" ]; then eval "$_hearthd_at_exit"; fi
    _f0=$fails
    if [ -n "$HEARTHD_PID" ]; then hearthd_stop; fi
    if [ "$fails" -gt "$_f0" ] && [ "$_hearthd_rc" -eq 0 ]; then
        echo "$passes passed, $fails failed"
        _hearthd_rc=1
    fi
    hearthd_polkit_stop
    if [ -n "$HEARTHD_BUS_PID" ]; then
        kill -TERM "$HEARTHD_BUS_PID" 2>/dev/null
        _hearthd_wait_exit "$HEARTHD_BUS_PID" 10 || kill -KILL "$HEARTHD_BUS_PID" 2>/dev/null
        wait "$HEARTHD_BUS_PID" 2>/dev/null
        HEARTHD_BUS_PID=
    fi
    if [ "$_hearthd_rc" -ne 0 ] && [ "$_hearthd_rc" -ne 77 ]; then hearthd_log; fi
    # Everything mounted below the temporary directory, deepest first. (A
    # worker hearthd left behind could still hold one: then detach lazily.)
    findmnt -rn -o TARGET | grep -F "$HEARTHD_TMP/" | sort -r | while read -r _m; do
        umount "$_m" 2>/dev/null || umount -l "$_m" 2>/dev/null || echo "cleanup: cannot unmount $_m"
    done
    # Loop devices backed by files in the temporary directory: the Btrfs
    # image, and any a test's homes left attached.
    losetup -n -O NAME,BACK-FILE -l 2>/dev/null | while read -r _dev _file; do
        case $_file in "$HEARTHD_TMP"/*) losetup -d "$_dev" 2>/dev/null || echo "cleanup: cannot detach $_dev" ;; esac
    done
    rm -rf "$HEARTHD_TMP"
    exit "$_hearthd_rc"
}
