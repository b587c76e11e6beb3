# shellcheck shell=sh
# systemd-homed 252 beside hearthd, for the interoperability tests (host and
# VM): unpacked by tools/install-deps, never installed, run from its tree
# on the test's bus. Source it early (the paths are needed to skip); call
# homed_setup after lib-hearthd.sh's hearthd_setup (it uses $HEARTHD_TMP,
# bad and hearthd_at_exit).
HOMED_TREE=${HEARTH_SYSTEMD_HOMED_TREE:-/var/cache/hearth/systemd-homed/current}
HOMED=$HOMED_TREE/lib/systemd/systemd-homed
HOMEWORK=$HOMED_TREE/lib/systemd/systemd-homework
HOMED_PID=

# homed_have: homed and homework are there (else the test skips).
homed_have() { [ -x "$HOMED" ] && [ -x "$HOMEWORK" ]; }

homed_setup() {
    hearthd_at_exit '[ -z "$HOMED_PID" ] || { kill "$HOMED_PID" 2>/dev/null; wait "$HOMED_PID" 2>/dev/null; }'
}

homed_name_owned() {
    dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.home1 2>/dev/null | grep -q 'boolean true'
}

# homed_start [TENTHS]: homed on the bus within TENTHS tenths of a second (default 300).
homed_start() {
    SYSTEMD_HOMEWORK_PATH=$HOMEWORK SYSTEMD_LOG_LEVEL=info "$HOMED" >>"$HEARTHD_TMP/homed.log" 2>&1 &
    HOMED_PID=$!
    _w=0
    until homed_name_owned; do
        [ "$_w" -ge "${1:-300}" ] && { bad "systemd-homed did not appear on the bus"; cat "$HEARTHD_TMP/homed.log"; exit 1; }
        sleep 0.1; _w=$((_w + 1))
    done
}

# homed's userdb socket stays behind: NSS (libnss_systemd) would fail
# every lookup on it, a name "taken" for hearthd.
homed_stop() {
    kill "$HOMED_PID"; wait "$HOMED_PID"; HOMED_PID=
    while homed_name_owned; do sleep 0.1; done
    rm -f /run/systemd/userdb/io.systemd.Home
}

# shc ENV ARGS...: systemd's homectl, against whichever daemon runs, with
# ENV ("" or NAME=VALUE words) and at most $HOMED_SHC_TIMEOUT s (default 300).
# shellcheck disable=SC2086 # the variables are split on purpose
shc() { _e=$1; shift; env $_e timeout -k 5 "${HOMED_SHC_TIMEOUT:-300}" "$HEARTHD_SYSTEMD_HOMECTL" "$@" </dev/null; }
as_user() { _u=$1; shift; setpriv --reuid="$_u" --regid="$_u" --clear-groups -- "$@"; }
owner() { stat -c %u:%g "$1" 2>/dev/null; }
