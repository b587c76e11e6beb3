#!/bin/bash
# hearthd holds no password in memory a core dump would show, neither while
# the worker runs (the call and its secret are kept until it is done) nor
# after: CreateHome, AuthenticateHome and ChangePasswordHome with known
# passwords, each held in the worker's door (a wrapper waiting for a file)
# while tests/host/dump-scan.py reads hearthd's memory.
#   test-secret-dump.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
gate=$(mktemp -d /tmp/hearth-secret-dump.XXXXXX)
cat > "$gate/worker" <<WRAP
#!/bin/sh
if [ -e "$gate/hold" ]; then
    : > "$gate/waiting"
    i=0
    while [ ! -e "$gate/go" ] && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i + 1)); done
fi
exec "$BUILDDIR/hearth-work/hearth-work" "\$@"
WRAP
chmod 755 "$gate/worker"
HEARTHD_WORKER=$gate/worker
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_at_exit "rm -rf '$gate'"
M=org.freedesktop.home1.Manager

call() {
    _m=$1; shift
    dbus-send --system --print-reply --reply-timeout=120000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "$M.$_m" "$@"
}
password() { tr -dc A-Za-z </dev/urandom | head -c 48; }
# Bytes 16… only: an allocator's free-list pointers overwrite the first 16
# of a freed chunk, the rest would still be there.
scan() { # scan WHAT PASSWORD...
    _what=$1; shift
    _needles=()
    for _p in "$@"; do _needles+=("${_p:16}"); done
    _n=$("$SRCDIR/tests/host/dump-scan.py" "$HEARTHD_PID" "${_needles[@]}" 2>"$HEARTHD_TMP/scan")
    if [ "$_n" = 0 ]; then ok "$_what: not in hearthd's dumpable memory"
    else bad "$_what: $_n copies in hearthd's dumpable memory"; cat "$HEARTHD_TMP/scan"; fi
}
# held DESC WHAT PASSWORDS -- METHOD ARGS...: the call waits in the worker's
# door while hearthd is scanned, then goes through.
held() {
    _desc=$1 _pws=$2; shift 2
    rm -f "$gate/go" "$gate/waiting"; : > "$gate/hold"
    call "$@" > "$HEARTHD_TMP/held.out" 2>&1 &
    _pid=$!
    _w=0
    while [ ! -e "$gate/waiting" ] && [ $_w -lt 600 ]; do sleep 0.05; _w=$((_w + 1)); done
    if [ -e "$gate/waiting" ]; then
        # shellcheck disable=SC2086
        scan "$_desc, worker running" $_pws
    else
        bad "$_desc: the worker was never started"
    fi
    : > "$gate/go"
    if wait "$_pid"; then ok "$_desc: done"; else bad "$_desc: failed"; cat "$HEARTHD_TMP/held.out"; fi
    rm -f "$gate/hold"
}

p1=$(password) p2=$(password)
held "CreateHome" "$p1" CreateHome string:"{\"userName\":\"alice\",\"storage\":\"directory\",\"realName\":\"Alice\",\"secret\":{\"password\":[\"$p1\"]}}"
held "AuthenticateHome" "$p1" AuthenticateHome string:alice string:"{\"password\":[\"$p1\"]}"
held "ChangePasswordHome" "$p1 $p2" ChangePasswordHome string:alice string:"{\"password\":[\"$p2\"]}" \
    string:"{\"password\":[\"$p1\"]}"
check "the new password opens it" 0 call AuthenticateHome string:alice string:"{\"password\":[\"$p2\"]}"
scan "after the calls" "$p1" "$p2"
hearthd_finish
