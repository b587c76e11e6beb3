#!/bin/sh
# systemd-homed 252 and Hearth open each other's directory and subvolume
# homes: a home homed made (its storage stored as nobody, its record signed
# by homed's key) activates under hearthd with her files hers and writable,
# and one Hearth made activates under systemd-homed: each finds the other's
# storage in /home and takes the record from ~/.identity at the first
# activation, trusting the other's key (a .public file). homed (unpacked by
# tools/install-deps, never installed) and hearthd take turns on one private
# bus, in a mount namespace of this test's own where /home is a loop Btrfs
# (homed 252 knows no other home root) and /var/lib/systemd/home, /run/systemd
# are empty tmpfs: nothing of the machine is touched.
#   test-homed-interop.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-homed.sh"

if [ "${HEARTH_INTEROP_NAMESPACE:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
    homed_have || { echo "SKIP: no systemd-homed 252 in $HOMED_TREE: run tools/install-deps"; exit 77; }
    exec env HEARTH_INTEROP_NAMESPACE=1 unshare --mount --propagation private sh "$0" "$@"
fi

# ---- the namespace: /home, homed's state, /run/systemd ----------------------------
mount -t tmpfs -o mode=0755 hearth-interop-home /home || exit 1
[ -d /var/lib/systemd ] || { echo "SKIP: no /var/lib/systemd to cover"; exit 77; }
mount -t tmpfs -o mode=0755 hearth-interop-systemd /var/lib/systemd || exit 1
mkdir -m 0700 /var/lib/systemd/home
# homework makes /run a slave mount: it must be a mount point.
mountpoint -q /run || mount --bind /run /run || exit 1
mkdir -p /run/systemd 2>/dev/null
mount -t tmpfs -o mode=0755 hearth-interop-run /run/systemd || exit 1
mkdir -p /run/systemd/system /run/systemd/userdb

HEARTHD_HOME_ROOT=/home
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_need_systemd_homectl
HEARTHD_BTRFS_SIZE=1500M
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_stop
T=$HEARTHD_TMP
homed_setup
HOMED_SHC_TIMEOUT=120

# ---- homed makes bob (subvolume) and dora (directory) ---------------------------------
homed_start
check "homed: create bob --storage=subvolume" 0 shc "NEWPASSWORD=bob-pw" create bob --storage=subvolume \
    --uid=60200 --enforce-password-policy=no --skel="$SRCDIR/examples/skel"
check "homed: create dora --storage=directory" 0 shc "NEWPASSWORD=dora-pw" create dora --storage=directory \
    --uid=60201 --enforce-password-policy=no --skel="$SRCDIR/examples/skel"
[ "$(owner /home/bob.homedir)" = 65534:65534 ] && ok "homed stores bob's subvolume as nobody" ||
    bad "bob.homedir: $(owner /home/bob.homedir)"
for u in bob:60200 dora:60201; do
    n=${u%:*} id=${u#*:}
    check "homed: activate $n" 0 shc "PASSWORD=$n-pw" activate "$n"
    check "$n writes under homed" 0 as_user "$id" sh -c "echo homed > /home/$n/from-homed.txt"
    check "homed: deactivate $n" 0 shc "" deactivate "$n"
done
# homed's key, trusted by Hearth.
homed_stop
install -m 0644 /var/lib/systemd/home/local.public "$HEARTHD_STATE_DIR/homed-machine.public"

# ---- Hearth opens them -----------------------------------------------------------------
hearthd_start
# hearthd finds them in /home ("unfixated") and takes the record each
# carries in ~/.identity at the first activation, checked against the
# trusted keys; the UID is this machine's (binding.uid), as under homed.
check "hearthd lists homed's homes, unfixated" 0 shc "" list
contains "bob is listed" "$T/out" "bob"
for u in bob:60200:subvolume dora:60201:directory; do
    n=${u%%:*} rest=${u#*:}; id=${rest%%:*}
    check "hearthd: activate $n (fixates it)" 0 shc "PASSWORD=$n-pw" activate "$n"
    hid=$(shc "" inspect "$n" --json=short | jq -r "[.binding[]?.uid, .uid] | map(select(. != null)) | first")
    case $hid in 600[0-9][0-9]|60[1-4][0-9][0-9]|605[01][0-9]) ;; *) bad "$n: Hearth's UID for her: '$hid'"; hid=$id ;; esac
    [ "$(cat "/home/$n/from-homed.txt" 2>/dev/null)" = homed ] && [ "$(owner "/home/$n/from-homed.txt")" = "$hid:$hid" ] &&
        ok "$n: the file written under homed is there, hers (UID $hid)" || bad "$n: $(ls -lan "/home/$n" 2>&1)"
    [ "$(owner "/home/$n")" = "$hid:$hid" ] && ok "$n: her home's top is hers" || bad "$n: top $(owner "/home/$n")"
    check "$n writes under Hearth" 0 as_user "$hid" sh -c "echo hearth > /home/$n/from-hearth.txt && rm /home/$n/from-homed.txt && echo homed > /home/$n/from-homed.txt"
    check "hearthd: deactivate $n" 0 shc "" deactivate "$n"
done
[ "$(owner /home/bob.homedir/from-hearth.txt)" = 65534:65534 ] && ok "what bob wrote under Hearth is stored as nobody" ||
    bad "bob's new file on disk: $(owner /home/bob.homedir/from-hearth.txt)"

# ---- Hearth makes carol (subvolume) and erin (directory); homed opens them --------------
check "hearthd: create carol --storage=subvolume" 0 shc "NEWPASSWORD=carol-pw" create carol --storage=subvolume \
    --uid=60300 --enforce-password-policy=no
check "hearthd: create erin --storage=directory" 0 shc "NEWPASSWORD=erin-pw" create erin --storage=directory \
    --uid=60301 --enforce-password-policy=no
for u in carol:60300 erin:60301; do
    n=${u%:*} id=${u#*:}
    check "hearthd: activate $n" 0 shc "PASSWORD=$n-pw" activate "$n"
    check "$n writes under Hearth" 0 as_user "$id" sh -c "echo hearth > /home/$n/from-hearth.txt"
    check "hearthd: deactivate $n" 0 shc "" deactivate "$n"
done
hearthd_stop
cp "$HEARTHD_STATE_DIR/local.public" /var/lib/systemd/home/hearth-machine.public
homed_start
for u in carol:60300 erin:60301; do
    n=${u%:*} id=${u#*:}
    # homed found the storage in /home; it takes the record from
    # ~/.identity at the first activation ("fixating"), checking that a
    # trusted key signed it.
    check "homed: activate $n" 0 shc "PASSWORD=$n-pw" activate "$n"
    # homed gives a home it found a UID of this machine's (binding.uid): a
    # home stored as nobody needs not keep the UID it had where it was made.
    hid=$(shc "" inspect "$n" --json=short | jq -r "[.binding[]?.uid, .uid] | map(select(. != null)) | first")
    case $hid in 600[0-9][0-9]|60[1-4][0-9][0-9]|605[01][0-9]) ;; *) bad "$n: homed's UID for her: '$hid'"; hid=$id ;; esac
    [ "$(cat "/home/$n/from-hearth.txt" 2>/dev/null)" = hearth ] && [ "$(owner "/home/$n/from-hearth.txt")" = "$hid:$hid" ] &&
        [ "$(owner "/home/$n")" = "$hid:$hid" ] &&
        ok "$n: under homed (UID $hid), the file written under Hearth is there, hers" || bad "$n: $(ls -lan "/home/$n" 2>&1)"
    check "$n writes under homed" 0 as_user "$hid" sh -c "echo homed > /home/$n/from-homed.txt"
    check "homed: deactivate $n" 0 shc "" deactivate "$n"
done
homed_stop
hearthd_start
check "hearthd: carol again, after homed" 0 shc "PASSWORD=carol-pw" activate carol
[ "$(cat /home/carol/from-homed.txt 2>/dev/null)" = homed ] && [ "$(owner /home/carol/from-homed.txt)" = 60300:60300 ] &&
    ok "carol: what she wrote under homed is hers under Hearth" || bad "carol: $(ls -lan /home/carol 2>&1)"
check "hearthd: deactivate carol" 0 shc "" deactivate carol
[ "$fails" -eq 0 ] || sed 's/^/    homed: /' "$T/homed.log"
hearthd_finish
