#!/bin/bash
# By hand, not in any suite: does systemd-homework 252 (unpacked by
# tools/install-deps, never installed) open a LUKS home Hearth made, and
# does Hearth open it again after homed used it (homed rewrites the header's
# record and, on btrfs, shrinks the image and its partition at logout)?
# The interoperability tests proper come with issue #20; this is the check
# that the on-disk layout alone is right.
#
#   tests/vm/run --disk home:2G --timeout 1200 \
#       $PWD/tests/manual/homed-opens-hearth-inside.sh BUILDDIR/hearth-work/hearth-work $PWD/examples/skel
set -u
work=$1 skel=$2
homework=${HEARTH_SYSTEMD_HOMEWORK_BIN:-/var/cache/hearth/systemd-homed/current/lib/systemd/systemd-homework}
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
[ -x "$homework" ] || { echo "no $homework: run tools/install-deps"; exit 77; }
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

mkfs.ext4 -q "$HEARTH_VM_DISK_HOME" && mount "$HEARTH_VM_DISK_HOME" /home
# homework mounts the home in a namespace of its own and binds it on
# /home/<user>: only a shared /home (as under systemd) carries that out.
mount --make-shared /home
export HEARTH_HOME_ROOT=/home HEARTH_RUNTIME_DIR=/run/hearth HEARTH_STATE_DIR=/var/lib/hearth
for fs in btrfs ext4; do
    rec='{"userName":"alice","uid":60100,"gid":60100,"storage":"luks","fileSystemType":"'$fs'","diskSize":314572800,'
    rec=$rec'"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"skeletonDirectory":"'$skel'","secret":{"password":["pw1"]}}'
    printf '%s' "$rec" | "$work" create > /tmp/created.json 2> /tmp/err || bad "$fs: create: $(cat /tmp/err)"
    printf '%s' "$rec" | "$work" activate > /dev/null 2> /tmp/err || bad "$fs: activate: $(cat /tmp/err)"
    setpriv --reuid=60100 --regid=60100 --clear-groups sh -c 'echo hearth > /home/alice/from-hearth.txt'
    printf '%s' "$rec" | "$work" deactivate > /dev/null 2> /tmp/err || bad "$fs: deactivate: $(cat /tmp/err)"

    # homed's view of the home: the record Hearth made (with its binding)
    # and the password.
    jq -c '. + {"secret":{"password":["pw1"]}}' /tmp/created.json > /tmp/homed.json
    if "$homework" activate < /tmp/homed.json > /tmp/hw.out 2> /tmp/hw.err; then
        ok "$fs: systemd-homework activates Hearth's image"
    else
        bad "$fs: systemd-homework activate: $(tail -n 5 /tmp/hw.err)"
    fi
    [ "$(findmnt -n -o FSROOT /home/alice)" = /alice ] && ok "$fs: homed mounted the directory alice" ||
        bad "$fs: $(findmnt -n /home/alice)"
    [ "$(cat /home/alice/from-hearth.txt 2>/dev/null)" = hearth ] && [ "$(stat -c %u /home/alice/from-hearth.txt)" = 60100 ] &&
        ok "$fs: the file Hearth's user wrote is there, hers" || bad "$fs: $(ls -lan /home/alice)"
    setpriv --reuid=60100 --regid=60100 --clear-groups sh -c 'echo homed > /home/alice/from-homed.txt' ||
        bad "$fs: she cannot write under homed"
    "$homework" deactivate < /tmp/homed.json > /dev/null 2> /tmp/hw.err && ok "$fs: systemd-homework deactivates it" ||
        bad "$fs: systemd-homework deactivate: $(tail -n 5 /tmp/hw.err)"

    printf '%s' "$rec" | "$work" activate > /dev/null 2> /tmp/err && ok "$fs: Hearth opens it again" ||
        bad "$fs: activate after homed: $(cat /tmp/err)"
    [ "$(cat /home/alice/from-homed.txt 2>/dev/null)" = homed ] && ok "$fs: with what she wrote under homed" ||
        bad "$fs: $(ls -lan /home/alice)"
    sfdisk --verify /home/alice.home | grep -q 'No errors detected' && ok "$fs: the table homed left is sound" ||
        bad "$fs: $(sfdisk --verify /home/alice.home)"
    printf '%s' "$rec" | "$work" deactivate > /dev/null 2>&1
    printf '%s' "$rec" | "$work" remove > /dev/null 2> /tmp/err || bad "$fs: remove: $(cat /tmp/err)"
done
echo "homed-opens-hearth: $fails failure(s)"
[ "$fails" -eq 0 ]
