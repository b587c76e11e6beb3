#!/bin/bash
# hearthd's polkit queue is bounded per user (8 calls waiting) and in all
# (128); while it is full, calls of callers other than root are refused
# (TooManyOperations). A user's subordinate UIDs (/etc/subuid: processes
# in her user namespaces) are hers: from 16 of them, 8 calls each that her
# own agent never answers (up to 300 s), she fills only her 8, and another
# user's call still reaches polkit. Found by the 14th attack (on the code
# before, 16 x 8 = 128 calls filled the queue for everyone). The 16 UIDs
# are made with setpriv, 60400..60415 hers in a bind-mounted /etc/subuid;
# her silent agent is the polkit stand-in's hang mode.
#   test-polkit-subuid.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$(cd "$1" && pwd) || exit 1
SRCDIR=$(cd "$2" && pwd) || exit 1
if [ "${HEARTH_POLKIT_SUBUID_INSIDE:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
    command -v unshare >/dev/null || { echo "SKIP: needs unshare"; exit 77; }
    [ -e /etc/subuid ] || { echo "SKIP: no /etc/subuid to bind over"; exit 77; }
    HEARTH_POLKIT_SUBUID_INSIDE=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
echo "mallory:60400:16" >"$HEARTHD_TMP/subuid"
mount --bind "$HEARTHD_TMP/subuid" /etc/subuid || hearthd_skip "cannot bind over /etc/subuid"
hearthd_at_exit "umount /etc/subuid"
M=org.freedesktop.home1.Manager
POLKIT_STANDIN_HANG=1 hearthd_polkit_start
pids=()
flood() { # flood UID N: N calls that wait for polkit's answer
    for i in $(seq 1 "$2"); do
        hearthd_as_user "$1" dbus-send --system --print-reply --reply-timeout=60000 --dest=org.freedesktop.home1 \
            /org/freedesktop/home1 "$M.CreateHome" string:"{\"userName\":\"f$1x$i\"}" >"$HEARTHD_TMP/flood-$1-$i.out" 2>&1 &
        pids+=($!)
    done
}
victim() { # victim: another user (60500) asks for something polkit decides; "refused" or "waits"
    hearthd_as_user 60500 dbus-send --system --print-reply --reply-timeout=3000 --dest=org.freedesktop.home1 \
        /org/freedesktop/home1 "$M.CreateHome" string:'{"userName":"fromvictim"}' >"$HEARTHD_TMP/victim.out" 2>&1
    grep -q "TooManyOperations\|Too many calls" "$HEARTHD_TMP/victim.out" && echo refused || echo waits
}
flood 60400 8
sleep 3
[ "$(victim)" = waits ] && ok "8 of her calls waiting: another user's call reaches polkit" ||
    bad "another user was refused while one user waited: $(cat "$HEARTHD_TMP/victim.out")"
for u in $(seq 60401 60415); do flood "$u" 8; done
sleep 5
refused=$(grep -l "TooManyOperations\|Too many calls" "$HEARTHD_TMP"/flood-*.out 2>/dev/null | wc -l)
[ "$refused" = 120 ] && ok "her subordinate UIDs' 120 calls refused: her 8 wait" || bad "of her 128 calls, $refused refused (120 expected)"
[ "$(victim)" = waits ] && ok "another user's call still reaches polkit" ||
    bad "another user's call refused: $(cat "$HEARTHD_TMP/victim.out")"
hearthd_polkit_stop
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
hearthd_finish
