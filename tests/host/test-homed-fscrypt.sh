#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd-homed 252 and Hearth open each other's fscrypt homes: the v1
# policy, the trusted.fscrypt_slot<N> xattrs and the key are the same
# (common/fscrypt-slot.h). homed (unpacked by tools/install-deps, never
# installed) makes gina, Hearth activates her (taking the record from
# ~/.identity, homed's key trusted) and reads what she wrote under homed;
# Hearth makes hank, homed activates him and reads what he wrote under
# Hearth; a password changed under either opens the home under Hearth (homed
# changes only the homes it signed). As
# test-homed-interop.sh: a mount namespace of the test's own where /home is
# a loop ext4 with the encrypt feature (homed 252 knows no other home root).
#   test-homed-fscrypt.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-homed.sh"

if [ "${HEARTH_INTEROP_NAMESPACE:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
    homed_have || { echo "SKIP: no systemd-homed 252 in $HOMED_TREE: run tools/install-deps"; exit 77; }
    [ -e /sys/fs/ext4/features/encryption ] || { echo "SKIP: the kernel's ext4 cannot encrypt"; exit 77; }
    command -v mkfs.ext4 >/dev/null || { echo "SKIP: needs e2fsprogs"; exit 77; }
    exec env HEARTH_INTEROP_NAMESPACE=1 unshare --mount --propagation private sh "$0" "$@"
fi

[ -d /var/lib/systemd ] || { echo "SKIP: no /var/lib/systemd to cover"; exit 77; }
HEARTHD_HOME_ROOT=/home
. "$SRCDIR/tests/host/lib-hearthd.sh"
_hearthd_init
# ---- the namespace: /home (a loop ext4 that can encrypt), homed's state, /run/systemd ----
truncate -s 256M "$HEARTHD_TMP/home.ext4" && mkfs.ext4 -q -O encrypt "$HEARTHD_TMP/home.ext4" || exit 1
LOOP=$(losetup --find --show "$HEARTHD_TMP/home.ext4") || hearthd_skip "no loop devices"
mount "$LOOP" /home || { bad "mounting $LOOP on /home"; exit 1; }
chmod 755 /home
hearthd_at_exit 'umount -R -l /home 2>/dev/null'
mount -t tmpfs -o mode=0755 hearth-interop-systemd /var/lib/systemd || exit 1
mkdir -m 0700 /var/lib/systemd/home
mountpoint -q /run || mount --bind /run /run || exit 1
mkdir -p /run/systemd 2>/dev/null
mount -t tmpfs -o mode=0755 hearth-interop-run /run/systemd || exit 1
mkdir -p /run/systemd/system /run/systemd/userdb

hearthd_need_systemd_homectl
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_stop
T=$HEARTHD_TMP
homed_setup
HOMED_SHC_TIMEOUT=120
STATUS="python3 $SRCDIR/tests/host/fscrypt-key-status.py"
# refused DESC ENV ARGS...: systemd's homectl fails without asking again.
refused() {
    _d=$1 _e=$2; shift 2
    if shc "$_e" --no-ask-password "$@" >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err"; then bad "$_d: it worked"
    elif grep -q "Password incorrect" "$HEARTHD_TMP/err"; then ok "$_d"
    else bad "$_d: $(cat "$HEARTHD_TMP/err")"; fi
}
# Under homed the key is in process keyrings (homework's, the user's:
# add_key "logon"), not the file system's: a file no process with the key
# opened yet does not open for this test's shell. Her names decrypting
# shows homed opened the slot; its contents are read under Hearth after.
slots() { getfattr -d -m '^trusted\.fscrypt_slot' "$1" 2>/dev/null | grep -c '^trusted'; }
names() { ls -A "$1" 2>/dev/null | grep -qx "$2"; }

# ---- homed makes gina --------------------------------------------------------------------
homed_start
check "homed: create gina --storage=fscrypt" 0 shc "NEWPASSWORD=gina-pw" create gina --storage=fscrypt \
    --uid=60400 --enforce-password-policy=no --skel="$SRCDIR/examples/skel"
$STATUS /home/gina.homedir | grep -q '^v1 ' && ok "homed's gina.homedir has a v1 policy" ||
    bad "gina.homedir: $($STATUS /home/gina.homedir)"
getfattr --only-values -n trusted.fscrypt_slot0 /home/gina.homedir 2>/dev/null |
    grep -Eq '^[A-Za-z0-9+/]{86}==:[A-Za-z0-9+/]{86}==$' && ok "homed's slot0 has the format Hearth writes" ||
    bad "homed's slot0: $(getfattr -d -m - /home/gina.homedir 2>&1)"
# Logged for tests/unit/common/test-fscrypt-slot.c's vector "written by
# systemd-homework 252" (a test password: nothing secret).
echo "homed 252's slot for gina-pw: $(getfattr --only-values -n trusted.fscrypt_slot0 /home/gina.homedir 2>/dev/null)" \
    "policy: $($STATUS /home/gina.homedir)"
check "homed: activate gina" 0 shc "PASSWORD=gina-pw" activate gina
check "gina writes under homed" 0 as_user 60400 sh -c "echo homed > /home/gina/from-homed.txt"
check "homed: deactivate gina" 0 shc "" deactivate gina
# homed rewrites her slot: the one Hearth reads.
check "homed: change gina's password" 0 shc "PASSWORD=gina-pw NEWPASSWORD=gina-pw2" passwd gina
[ "$(slots /home/gina.homedir)" = 1 ] && ok "gina: one slot after homed's change" || bad "gina: $(slots /home/gina.homedir) slots"
homed_stop
install -m 0644 /var/lib/systemd/home/local.public "$HEARTHD_STATE_DIR/homed-machine.public"

# ---- Hearth opens her ------------------------------------------------------------------
hearthd_start
refused "hearthd: a wrong password does not open gina" "PASSWORD=nope" activate gina
refused "hearthd: the password before homed's change does not" "PASSWORD=gina-pw" activate gina
check "hearthd: activate gina (fixates her)" 0 shc "PASSWORD=gina-pw2" activate gina
hid=$(shc "" inspect gina --json=short | jq -r "[.binding[]?.uid, .uid] | map(select(. != null)) | first")
[ "$(cat /home/gina/from-homed.txt 2>/dev/null)" = homed ] && ok "gina: the file written under homed reads under Hearth" ||
    bad "gina: $(ls -lan /home/gina 2>&1)"
check "gina writes under Hearth" 0 as_user "$hid" sh -c "echo hearth > /home/gina/from-hearth.txt"
check "hearthd: change gina's password" 0 shc "PASSWORD=gina-pw2 NEWPASSWORD=gina-new" passwd gina
check "hearthd: deactivate gina" 0 shc "" deactivate gina
case $($STATUS /home/gina.homedir) in *" absent") ok "gina's key is out of the keyring" ;;
    *) bad "gina: $($STATUS /home/gina.homedir)" ;; esac
ls -A /home/gina.homedir | grep -q 'from-homed' && bad "gina's names readable while inactive" ||
    ok "gina's names unreadable while inactive"

# ---- Hearth makes hank -------------------------------------------------------------------
check "hearthd: create hank --storage=fscrypt" 0 shc "NEWPASSWORD=hank-pw" create hank --storage=fscrypt \
    --uid=60401 --enforce-password-policy=no
check "hearthd: activate hank" 0 shc "PASSWORD=hank-pw" activate hank
check "hank writes under Hearth" 0 as_user 60401 sh -c "echo hearth > /home/hank/from-hearth.txt"
check "hearthd: deactivate hank" 0 shc "" deactivate hank
hearthd_stop
cp "$HEARTHD_STATE_DIR/local.public" /var/lib/systemd/home/hearth-machine.public

# ---- homed opens hank and changes his password -----------------------------------------
homed_start
check "homed: activate hank" 0 shc "PASSWORD=hank-pw" activate hank
hid=$(shc "" inspect hank --json=short | jq -r "[.binding[]?.uid, .uid] | map(select(. != null)) | first")
names /home/hank from-hearth.txt && ok "hank: under homed, the name written under Hearth decrypts" ||
    bad "hank: $(ls -lan /home/hank 2>&1)"
check "hank writes under homed (UID $hid)" 0 as_user "$hid" sh -c "echo homed > /home/hank/from-homed.txt"
check "homed: deactivate hank" 0 shc "" deactivate hank
homed_stop
hearthd_start
check "hearthd: hank again, after homed" 0 shc "PASSWORD=hank-pw" activate hank
[ "$(cat /home/hank/from-homed.txt 2>/dev/null)" = homed ] && [ "$(cat /home/hank/from-hearth.txt 2>/dev/null)" = hearth ] &&
    ok "hank: what he wrote under homed and under Hearth reads under Hearth" || bad "hank: $(ls -lan /home/hank 2>&1)"
check "hearthd: deactivate hank" 0 shc "" deactivate hank
check "hearthd: gina again, after homed" 0 shc "PASSWORD=gina-new" activate gina
[ "$(cat /home/gina/from-homed.txt 2>/dev/null)" = homed ] && [ "$(cat /home/gina/from-hearth.txt 2>/dev/null)" = hearth ] &&
    ok "gina: both files read under Hearth" || bad "gina: $(ls -lan /home/gina 2>&1)"
check "hearthd: deactivate gina" 0 shc "" deactivate gina
[ "$fails" -eq 0 ] || sed 's/^/    homed: /' "$T/homed.log"
hearthd_finish
