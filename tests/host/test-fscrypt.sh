#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# fscrypt homes (storage/fscrypt.c) on the host's kernel, the home root a
# loop ext4: refused with what to do while the file system cannot encrypt;
# after tune2fs -O encrypt (as the README says): create, activate, her
# files' names unreadable while inactive (the key out of the file system's
# keyring), the key slot as systemd-homed writes it, a wrong password, a
# password change (old refused, new works, data intact), malformed slots
# skipped, a key a killed worker left taken out by the next operation,
# remove.
#   test-fscrypt.sh BUILDDIR SRCDIR   (as root)
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"
_hearthd_init
command -v mkfs.ext4 >/dev/null && command -v tune2fs >/dev/null || hearthd_skip "needs e2fsprogs"
command -v getfattr >/dev/null && command -v setfattr >/dev/null || hearthd_skip "needs attr (getfattr, setfattr)"
grep -qw ext4 /proc/filesystems || modprobe ext4 2>/dev/null || true
[ -e /sys/fs/ext4/features/encryption ] || hearthd_skip "the kernel's ext4 cannot encrypt (CONFIG_FS_ENCRYPTION)"
R=$HEARTHD_HOME_ROOT
IMG=$HEARTHD_TMP/home.ext4
STATUS="python3 $SRCDIR/tests/host/fscrypt-key-status.py"

# ---- an ext4 without the encrypt feature -------------------------------------------
truncate -s 256M "$IMG" && mkfs.ext4 -q -O ^encrypt "$IMG" || exit 1
LOOP=$(losetup --find --show "$IMG") || hearthd_skip "no loop devices"
mount "$LOOP" "$R" || { bad "mounting $LOOP"; exit 1; }
chmod 755 "$R"
hearthd_setup "$BUILDDIR" "$SRCDIR"
call() { _m=$1; shift; dbus-send --system --print-reply --reply-timeout=600000 --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 "org.freedesktop.home1.Manager.$_m" "$@"; }
record() { printf '{"userName":"%s","storage":"fscrypt","disposition":"regular","secret":{"password":["%s"]}}' "$1" "$2"; }
pw() { printf '{"password":["%s"]}' "$1"; }
uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }

check "create on an ext4 without encryption is refused" 1 call CreateHome string:"$(record alice alice-pw)"
grep -q "tune2fs -O encrypt" "$HEARTHD_LOG" && ok "the refusal says: tune2fs -O encrypt" ||
    { bad "no tune2fs hint in the log"; tail -20 "$HEARTHD_LOG"; }
[ -z "$(ls -A "$R" | grep -v '^lost+found$')" ] && ok "nothing left in the home root" || bad "left: $(ls -A "$R")"

# ---- the README's way: tune2fs -O encrypt -------------------------------------------
hearthd_stop
umount "$R" || { bad "cannot unmount $R"; exit 1; }
check "tune2fs -O encrypt" 0 tune2fs -O encrypt "$LOOP"
mount "$LOOP" "$R" || { bad "mounting $LOOP again"; exit 1; }
mount --make-shared "$R"
hearthd_start

check "create alice --storage=fscrypt" 0 call CreateHome string:"$(record alice alice-pw)"
alice=$(uid_of alice)
[ -d "$R/alice.homedir" ] && ok "alice.homedir exists" || bad "no $R/alice.homedir"
[ ! -e "$R/alice" ] && ok "inactive: $R/alice is not there" || bad "$R/alice exists"
st=$($STATUS "$R/alice.homedir")
case $st in "v1 "*" absent") ok "v1 policy, its key not in the keyring after create ($st)" ;;
    *) bad "after create: $st" ;; esac
slot=$(getfattr --only-values -n trusted.fscrypt_slot0 "$R/alice.homedir" 2>/dev/null)
echo "$slot" | grep -Eq '^[A-Za-z0-9+/]{86}==:[A-Za-z0-9+/]{86}==$' && ok "trusted.fscrypt_slot0: base64(64-byte salt):base64(64-byte key)" ||
    bad "slot0: '$slot'"
n=$(getfattr -d -m '^trusted\.fscrypt_slot' "$R/alice.homedir" 2>/dev/null | grep -c '^trusted')
[ "$n" = 1 ] && ok "one slot for one password" || bad "$n slots"
# The names are ciphertext while the key is out: no .identity in clear.
ls -A "$R/alice.homedir" >"$HEARTHD_TMP/names"
lacks "inactive after create: no plaintext .identity" "$HEARTHD_TMP/names" ".identity"
[ -s "$HEARTHD_TMP/names" ] && ok "inactive after create: entries are there, names encrypted ($(head -1 "$HEARTHD_TMP/names"))" ||
    bad "no entries in alice.homedir"

# ---- activate, write, deactivate ------------------------------------------------------
check "activate alice" 0 call ActivateHome string:alice string:"$(pw alice-pw)"
case $($STATUS "$R/alice.homedir") in *" present") ok "active: the key is in the file system's keyring" ;;
    *) bad "active: $($STATUS "$R/alice.homedir")" ;; esac
[ -f "$R/alice/.identity" ] && ok "active: ~/.identity readable" || bad "no ~/.identity: $(ls -A "$R/alice" 2>&1)"
check "alice writes notes.txt" 0 hearthd_as_user "$alice" sh -c "echo 'the secret notes' >'$R/alice/notes.txt' && mkdir '$R/alice/Documents'"
[ "$(stat -c %u "$R/alice/notes.txt")" = "$alice" ] && ok "notes.txt is hers" || bad "owner $(stat -c %u "$R/alice/notes.txt")"
check "deactivate alice" 0 call DeactivateHome string:alice
[ ! -e "$R/alice" ] && ok "deactivated: $R/alice is gone" || bad "$R/alice still there"
case $($STATUS "$R/alice.homedir") in *" absent") ok "deactivated: the key is out of the keyring" ;;
    *) bad "deactivated: $($STATUS "$R/alice.homedir")" ;; esac
ls -A "$R/alice.homedir" >"$HEARTHD_TMP/names"
lacks "inactive: notes.txt's name is unreadable" "$HEARTHD_TMP/names" "notes.txt"
lacks "inactive: Documents' name is unreadable" "$HEARTHD_TMP/names" "Documents"
[ "$(wc -l <"$HEARTHD_TMP/names")" -ge 3 ] && ok "inactive: ls shows $(wc -l <"$HEARTHD_TMP/names") encrypted names" ||
    bad "names: $(cat "$HEARTHD_TMP/names")"
grep -rqs "the secret notes" "$R/alice.homedir" && bad "the notes readable on disk" || ok "the notes' text is nowhere on disk in clear"
grep -qs "the secret notes" "$IMG" && bad "the notes' text in the image" || ok "the notes' text is not in the image"

# ---- wrong password ---------------------------------------------------------------------
check "activate with a wrong password is refused" 1 call ActivateHome string:alice string:"$(pw wrong)"
contains "BadPassword" "$HEARTHD_TMP/err" "BadPassword"
[ ! -e "$R/alice" ] && ok "nothing mounted after the wrong password" || bad "$R/alice exists"
case $($STATUS "$R/alice.homedir") in *" absent") ok "the key stays out after the wrong password" ;;
    *) bad "after a wrong password: $($STATUS "$R/alice.homedir")" ;; esac
check "authenticate with the right password" 0 call AuthenticateHome string:alice string:"$(pw alice-pw)"
check "authenticate with a wrong one" 1 call AuthenticateHome string:alice string:"$(pw nope)"

# ---- hostile slots: skipped, the good one still opens ----------------------------------
setfattr -n trusted.fscrypt_slot7 -v "garbage" "$R/alice.homedir"
setfattr -n trusted.fscrypt_slot8 -v "$(head -c 3000 /dev/zero | tr '\0' A)" "$R/alice.homedir"
setfattr -n trusted.fscrypt_slot9 -v "$(echo "$slot" | tr 'A' 'B')" "$R/alice.homedir"
check "activate with malformed slots beside the good one" 0 call ActivateHome string:alice string:"$(pw alice-pw)"
check "deactivate" 0 call DeactivateHome string:alice

# ---- password change ----------------------------------------------------------------------
check "change the password" 0 call ChangePasswordHome string:alice string:"$(pw alice-new)" string:"$(pw alice-pw)"
n=$(getfattr -d -m '^trusted\.fscrypt_slot' "$R/alice.homedir" 2>/dev/null | grep -c '^trusted')
[ "$n" = 1 ] && ok "one slot after the change (the others dropped)" || bad "$n slots after the change"
new=$(getfattr --only-values -n trusted.fscrypt_slot0 "$R/alice.homedir" 2>/dev/null)
[ "$new" != "$slot" ] && ok "slot0 rewritten" || bad "slot0 unchanged"
case $($STATUS "$R/alice.homedir") in *" absent") ok "the key is out again after the change" ;;
    *) bad "after passwd: $($STATUS "$R/alice.homedir")" ;; esac
check "the old password is refused" 1 call ActivateHome string:alice string:"$(pw alice-pw)"
check "the new password activates" 0 call ActivateHome string:alice string:"$(pw alice-new)"
[ "$(cat "$R/alice/notes.txt" 2>/dev/null)" = "the secret notes" ] && ok "the data is intact" || bad "notes: $(ls -A "$R/alice" 2>&1)"
check "a password change while active" 0 call ChangePasswordHome string:alice string:"$(pw alice-3)" string:"$(pw alice-new)"
[ "$(cat "$R/alice/notes.txt" 2>/dev/null)" = "the secret notes" ] && ok "still readable while active" || bad "notes gone while active"
check "remove while active is refused" 1 call RemoveHome string:alice
check "deactivate" 0 call DeactivateHome string:alice
check "the third password activates" 0 call ActivateHome string:alice string:"$(pw alice-3)"
check "deactivate" 0 call DeactivateHome string:alice

# ---- a worker killed with the key in the kernel: the next operation takes it out ---------
# hearth-work run directly on kim (a home hearthd does not know): create is
# killed once the storage is seeded, before its rename (home-create-seeded):
# the next create removes the leftover and, from the note, the key.
WORK=$BUILDDIR/hearth-work/hearth-work
kimrec() { printf '{"userName":"kim","uid":60450,"gid":60450,"storage":"fscrypt","secret":{"password":["kim-pw"]}}'; }
kimwork() { kimrec | HEARTH_HOME_ROOT=$R HEARTH_RUNTIME_DIR=$HEARTHD_RUNTIME_DIR "$WORK" "$@"; }
HEARTH_FAILPOINT=home-create-seeded kimwork create >/dev/null 2>"$HEARTHD_TMP/kim.err"
[ $? -eq 137 ] && ok "kim's create is killed once seeded" || bad "kim's create: $(cat "$HEARTHD_TMP/kim.err")"
left=$(ls -d "$R"/.#hearth-create.kim.* 2>/dev/null | head -1)
kst=$($STATUS "${left:-$R/nothing}" 2>&1)
kd=$(echo "$kst" | awk '{ print $2 }')
case $kst in "v1 "*" present") ok "the killed create left its key in the kernel ($kd)" ;; *) bad "kim: $kst" ;; esac
[ -s "$HEARTHD_RUNTIME_DIR/locks/kim.fscrypt-key" ] && ok "and its note beside kim's lock" || bad "no note: $(ls "$HEARTHD_RUNTIME_DIR/locks")"
check "kim: create again" 0 kimwork create
contains "it says a killed operation's key was removed" "$HEARTHD_TMP/err" "a killed operation left its key in the kernel"
case $($STATUS "$R" "$kd") in *" absent") ok "the killed create's key is out of the kernel" ;; *) bad "that key: $($STATUS "$R" "$kd")" ;; esac
case $($STATUS "$R/kim.homedir") in *" absent") ok "the new kim's key is out too (inactive)" ;; *) bad "kim: $($STATUS "$R/kim.homedir")" ;; esac
[ ! -e "$HEARTHD_RUNTIME_DIR/locks/kim.fscrypt-key" ] && ok "no note left" || bad "the note stays"
[ -z "$(ls -d "$R"/.#hearth-create.kim.* 2>/dev/null)" ] && ok "no leftover of the killed create" || bad "leftover: $(ls -a "$R")"
check "kim: remove" 0 kimwork remove
[ ! -e "$R/kim.homedir" ] && ok "kim is removed" || bad "kim.homedir is there"

# ---- hearthd restarts: it finds the home as fscrypt --------------------------------------
hearthd_restart
check "inspect after a restart" 0 "$HEARTHD_HOMECTL" inspect alice --json=short
echo "$out" | grep -q '"storage":"fscrypt"' && ok "the record says fscrypt" || bad "record: $out"

# ---- remove ---------------------------------------------------------------------------------
check "remove alice" 0 call RemoveHome string:alice
[ ! -e "$R/alice.homedir" ] && ok "alice.homedir is gone" || bad "alice.homedir still there"
[ -z "$(ls -A "$R" | grep -v '^lost+found$')" ] && ok "nothing left in the home root" || bad "left: $(ls -A "$R")"

hearthd_finish
