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
# $HEARTHD_TMP/hang.
cat >"$HEARTHD_TMP/worker" <<WORKER
#!/bin/sh
if [ -e "$HEARTHD_TMP/hang" ] && [ "\$1" = "\$(cat "$HEARTHD_TMP/hang")" ]; then kill -STOP \$\$; fi
exec "$BUILDDIR/daemon/hearth-work" "\$@"
WORKER
chmod 755 "$HEARTHD_TMP/worker"
HEARTHD_WORKER=$HEARTHD_TMP/worker
printf '[Worker]\nActivateTimeout=3s\nPasswdTimeout=3s\n' >"$HEARTHD_CONFIG"
hearthd_setup "$BUILDDIR" "$SRCDIR"
M=org.freedesktop.home1.Manager

call() {
    _m=$1; shift
    dbus-send --system --print-reply --reply-timeout=120000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "$M.$_m" "$@"
}
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
check "wanda activates now" 0 call ActivateHome string:wanda string:'{"password":["wanda-pw"]}'
[ "$(state_of wanda)" = active ] && ok "wanda active" || bad "wanda: $(state_of wanda)"
check "deactivate wanda" 0 call DeactivateHome string:wanda
hearthd_finish
