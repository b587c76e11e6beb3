#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Removing a subvolume home while its user still has a process inside must
# delete her nested subvolumes and nothing else. She fills ~/w with
# directories dI holding a nested subvolume named "bob.homedir" and symlinks
# sI to the homes' root, and swaps each dI with its sI while root removes
# her home. (Her home is inactive then, its storage nobody's: she opened it
# to others, ~ 0711 and ~/w 0777, while it was active, and goes on in
# <root>/mallory.homedir/w as any other user could.)
# A delete that finds nested subvolumes by path (libbtrfsutil's recursive
# delete reopens their parents by name, following symlinks) then deletes
# bob's home: with 200 pairs that happened in about one run in three. The
# probe first makes the same swap happen at the worst moment every time.
#   test-remove-race.sh BUILDDIR SRCDIR   (as root)
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"
HEARTHD_BTRFS_SIZE=1G
_hearthd_init
hearthd_setup "$BUILDDIR" "$SRCDIR"
command -v btrfs >/dev/null || hearthd_skip "needs btrfs-progs"
N=${HEARTH_RACE_PAIRS:-200}
ROUNDS=${HEARTH_RACE_ROUNDS:-2}
SWAPPER=$BUILDDIR/tests/host/rename-swapper
call() { _m=$1; shift; dbus-send --system --print-reply --reply-timeout=600000 --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 "org.freedesktop.home1.Manager.$_m" "$@"; }
record() { printf '{"userName":"%s","storage":"subvolume","disposition":"regular","secret":{"password":["%s-pw"]}}' "$1" "$1"; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
R=$HEARTHD_HOME_ROOT

# First without a race: rm_rf_at itself, with the swap done at the moment
# anything opens the nested subvolume's parent by path.
mkdir "$R/probe"
"$BUILDDIR/tests/host/rm-rf-probe" "$R/probe" && ok "rm_rf_at deletes nested subvolumes without paths" ||
    bad "rm_rf_at followed a path the home's user can swap"
btrfs subvolume delete "$R/probe/victim" >/dev/null 2>&1; rm -rf "$R/probe"

check "create bob" 0 call CreateHome string:"$(record bob)"
bob=$(uid_of bob)
check "activate bob" 0 call ActivateHome string:bob string:'{"password":["bob-pw"]}'
hearthd_as_user "$bob" sh -c "echo 'secret of bob' >'$R/bob/secret'"
check "deactivate bob" 0 call DeactivateHome string:bob

round=1
while [ "$round" -le "$ROUNDS" ]; do
    check "round $round: create mallory" 0 call CreateHome string:"$(record mallory)"
    mal=$(uid_of mallory)
    check "round $round: activate mallory" 0 call ActivateHome string:mallory string:'{"password":["mallory-pw"]}'
    hearthd_as_user "$mal" sh -c "chmod 711 '$R/mallory' && mkdir -m 777 '$R/mallory/w' && cd '$R/mallory/w' && i=0; while [ \$i -lt $N ]; do
        mkdir d\$i && btrfs subvolume create d\$i/bob.homedir >/dev/null && ln -s '$R' s\$i || exit 1; i=\$((i+1)); done" ||
        bad "round $round: mallory could not make her subvolumes"
    check "round $round: deactivate mallory" 0 call DeactivateHome string:mallory
    (cd "$R/mallory.homedir/w" && exec setpriv --reuid="$mal" --regid="$mal" --clear-groups "$SWAPPER" "$N") &
    swapper=$!
    hearthd_at_exit "kill $swapper 2>/dev/null"
    sleep 0.3
    call RemoveHome string:mallory >"$HEARTHD_TMP/remove.out" 2>&1
    rc=$?
    kill "$swapper" 2>/dev/null; wait "$swapper" 2>/dev/null
    if [ -f "$R/bob.homedir/secret" ] && grep -q 'secret of bob' "$R/bob.homedir/secret"; then
        ok "round $round: bob's home survived mallory's removal (rc $rc)"
    else
        bad "round $round: bob's home is gone: $(ls -a "$R" | tr '\n' ' ')"
        break
    fi
    # Her process gone, a second remove (or the first) leaves nothing of hers.
    [ "$rc" -eq 0 ] || check "round $round: remove mallory again" 0 call RemoveHome string:mallory
    # (The skel template the homes are snapshots of is nobody's home.)
    leftovers=$(ls -A "$R" | grep -v -e '^bob.homedir$' -e '^\.#hearth-skel-template$' || true)
    [ -z "$leftovers" ] && ok "round $round: nothing of mallory left" ||
        bad "round $round: left in the homes' root: $leftovers"
    round=$((round + 1))
done
t=$(ls -A "$R/.#hearth-skel-template" 2>/dev/null | grep -v -e '\.spare-' -e '^\.build-')
[ "$(printf '%s\n' "$t" | wc -l)" = 1 ] && [ "$(btrfs property get -ts "$R/.#hearth-skel-template/$t" ro)" = ro=true ] &&
    ok "the skel template came through mallory's removals" || bad "skel template: $t"
hearthd_finish
