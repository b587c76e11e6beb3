#!/bin/bash
# hearth-work against real storage: a loop-file Btrfs mounted as the home
# root, subvolume and directory homes, quotas, passwords, locks, and SIGKILL
# during create. Needs root, mkfs.btrfs and loop devices (else exit 77).
# Usage: test-worker.sh HEARTH_WORK
set -u
work=$1
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v mkfs.btrfs >/dev/null || { echo "needs mkfs.btrfs"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-worker-test.XXXXXX)
mnt=$tmp/mnt
loopdev=
cleanup() {
    mountpoint -q "$mnt" && umount "$mnt"
    mountpoint -q "$tmp/tmpfs" && umount "$tmp/tmpfs"
    [ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

truncate -s 1G "$tmp/btrfs.img"
mkfs.btrfs -q "$tmp/btrfs.img" > /dev/null 2>&1 || { echo "mkfs.btrfs failed"; exit 77; }
loopdev=$(losetup --find --show "$tmp/btrfs.img") || { echo "no loop devices"; exit 77; }
mkdir -p "$mnt"
mount "$loopdev" "$mnt"
mkdir -p "$mnt/home" "$tmp/skel/.config/app" "$tmp/run"
chmod 755 "$tmp" "$mnt"  # the users whose homes these are must reach them
echo 'export EDITOR=vi' > "$tmp/skel/.profile"
echo 'x=1' > "$tmp/skel/.config/app/rc"

export HEARTH_HOME_ROOT=$mnt/home HEARTH_RUNTIME_DIR=$tmp/run
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# rec NAME STORAGE [extra JSON members]: a request record.
rec() {
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"%s","skeletonDirectory":"%s"%s}' \
        "$1" "$UID_" "$UID_" "$2" "$tmp/skel" "${3:+,$3}"
}
# w OP EXPECTED_RC JSON: run the worker, keep stdout in $out and stderr in $err.
w() {
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | "$work" "$op" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    out=$(cat "$tmp/out") err=$(cat "$tmp/err")
    if [ "$rc" = "$want" ]; then ok "$op → $rc${err:+ ($err)}"; else bad "$op → $rc, expected $want: $err"; fi
    if [ "$rc" != 0 ] && [ "$(wc -l < "$tmp/err")" != 1 ]; then bad "$op: error is not one line: $err"; fi
}
has() { if printf '%s' "$out" | grep -qF -- "$1"; then ok "output has $1"; else bad "output lacks $1: $out"; fi; }
as_user() { setpriv --reuid="$UID_" --regid="$UID_" --clear-groups "$@"; }

# ---- subvolume homes -------------------------------------------------------
UID_=60100
PW='"secret":{"password":["hunter2"]}'
w create 0 "$(rec alice subvolume "\"diskSize\":67108864,$PW")"
has '"storage":"subvolume"'
has '"hashedPassword":["$y$'
printf '%s' "$out" | grep -q 'hunter2' && bad "secret in output" || ok "no secret in output"
has '"diskSize":67108864'
btrfs subvolume show "$mnt/home/alice" >/dev/null 2>&1 && ok "is a subvolume" || bad "not a subvolume"
[ "$(stat -c %u:%g:%a "$mnt/home/alice")" = 60100:60100:700 ] && ok "owner and mode" || bad "owner/mode $(stat -c %u:%g:%a "$mnt/home/alice")"
[ "$(cat "$mnt/home/alice/.config/app/rc" 2>/dev/null)" = x=1 ] && ok "seeded from skel" || bad "skel not copied"
[ "$(stat -c %u "$mnt/home/alice/.profile" 2>/dev/null)" = 60100 ] && ok "skel files owned by user" || bad "skel owner"
hashed=$(printf '%s' "$out" | grep -o '"hashedPassword":\[[^]]*\]')
R="\"privileged\":{$hashed}"

w create 15 "$(rec alice subvolume "\"diskSize\":67108864,$PW")"
w inspect 0 "$(rec alice subvolume "$R")"
has '"diskUsage":'
has '"state":"inactive"'

as_user dd if=/dev/zero of="$mnt/home/alice/big" bs=1M count=100 conv=fsync 2> "$tmp/dd.err"
grep -q "Disk quota exceeded" "$tmp/dd.err" && ok "write past quota fails with EDQUOT" || bad "write past quota: $(cat "$tmp/dd.err")"
sync
w resize 16 "$(rec alice subvolume "\"diskSize\":16777216,$R")"
printf '%s' "$err" | grep -q "cannot shrink" && ok "shrink below usage explained" || bad "shrink message: $err"
w resize 0 "$(rec alice subvolume "\"diskSize\":134217728,$R")"
has '"diskSize":134217728'
rm -f "$mnt/home/alice/big"
sync
w resize 0 "$(rec alice subvolume "$R")" --size=min
lim=$(printf '%s' "$out" | grep -o '"diskSize":[0-9]*' | head -1 | cut -d: -f2)
[ -n "$lim" ] && [ "$lim" -ge 16777216 ] && [ "$lim" -lt 67108864 ] && ok "--size=min: limit $lim near usage" || bad "--size=min limit: $lim"
w resize 0 "$(rec alice subvolume "$R")" --size=max
printf '%s' "$out" | grep -q '"diskSize"' && bad "--size=max left a limit" || ok "--size=max: no limit"
w resize 10 "$(rec alice subvolume "$R")" --size=huge
w resize 0 "$(rec alice subvolume "$R")" --size=128M
has '"diskSize":134217728'

w activate 11 "$(rec alice subvolume "$R,\"secret\":{\"password\":[\"wrong\"]}")"
w activate 11 "$(rec alice subvolume "$R")"
w activate 0 "$(rec alice subvolume "$R,$PW")"
has '"state":"active"'
w passwd 11 "$(rec alice subvolume "$R,\"secret\":{\"password\":[\"wrong\"],\"newPassword\":[\"n3w\"]}")"
w passwd 0 "$(rec alice subvolume "$R,\"secret\":{\"password\":[\"hunter2\"],\"newPassword\":[\"n3w\"]}")"
R2="\"privileged\":{$(printf '%s' "$out" | grep -o '"hashedPassword":\[[^]]*\]')}"
[ "$R2" != "$R" ] && ok "hash changed" || bad "hash unchanged"
w activate 0 "$(rec alice subvolume "$R2,\"secret\":{\"password\":[\"n3w\"]}")"
w activate 11 "$(rec alice subvolume "$R2,$PW")"

# Busy: another operation holds the home's lock.
mkdir -p "$tmp/run/locks"
flock "$tmp/run/locks/alice.lock" sleep 3 &
sleep 0.5
w inspect 13 "$(rec alice subvolume "$R")"
wait

# A nested subvolume the user made goes with the home.
btrfs subvolume create "$mnt/home/alice/nested" >/dev/null
echo data > "$mnt/home/alice/nested/file"
w remove 0 "$(rec alice subvolume "$R")"
[ ! -e "$mnt/home/alice" ] && ok "home removed" || bad "home still there"
[ -z "$(btrfs subvolume list "$mnt" | grep -E 'alice|nested|hearth')" ] && ok "subvolumes gone" || bad "subvolumes left: $(btrfs subvolume list "$mnt")"
w remove 14 "$(rec alice subvolume "$R")"

# ---- directory homes --------------------------------------------------------
UID_=60101
w create 0 "$(rec bob directory "$PW")"
[ -d "$mnt/home/bob" ] && ! btrfs subvolume show "$mnt/home/bob" >/dev/null 2>&1 && ok "plain directory" || bad "not a plain directory"
[ "$(stat -c %u:%a "$mnt/home/bob")" = 60101:700 ] && ok "owner and mode" || bad "owner/mode"
w resize 17 "$(rec bob directory "\"diskSize\":67108864")"
# This request carries no hashes: no password is set, so none is accepted
# (else any string would log in), and without one root's activation works.
w activate 11 "$(rec bob directory "$PW")"
w activate 0 "$(rec bob directory)"
w remove 0 "$(rec bob directory)"
[ ! -e "$mnt/home/bob" ] && ok "directory home removed" || bad "directory home left"

# ---- refusals -----------------------------------------------------------------
UID_=60102
mkdir -p "$tmp/tmpfs" && mount -t tmpfs tmpfs "$tmp/tmpfs" && mkdir "$tmp/tmpfs/home"
HEARTH_HOME_ROOT=$tmp/tmpfs/home w create 17 "$(rec carol subvolume)"
printf '%s' "$err" | grep -q 'not on Btrfs (it is tmpfs).*"directory" or "luks"' && ok "non-Btrfs explained" || bad "message: $err"
[ -z "$(ls -A "$tmp/tmpfs/home")" ] && ok "nothing left on failure" || bad "left: $(ls -A "$tmp/tmpfs/home")"
w create 10 '{"userName":"carol","uid":60102,"uid":60102,"storage":"directory"}'
w create 10 "$(rec carol directory '"homeDirectory":"/etc"')"
UID_=1000
w create 10 "$(rec carol directory)"
UID_=60102
w create 10 '{"userName":"carol","uid":60102}'
w frobnicate 10 "$(rec carol directory)"
w create 10 'not json'
ln -s /etc "$mnt/home/dave"
UID_=60103
w create 15 "$(rec dave directory)"
[ -L "$mnt/home/dave" ] && ok "symlink in the home root left alone" || bad "symlink replaced"
rm "$mnt/home/dave"

# ---- a record's skeletonDirectory ----------------------------------------------
# Only a directory root owns and no one else can change, all the way from /,
# and only what the new user could have read herself (#17 finding 7).
skelrec() { printf '{"userName":"%s","uid":60105,"gid":60105,"storage":"directory","skeletonDirectory":"%s"}' "$1" "$2"; }
UID_=60105
mkdir -p "$tmp/private-skel/open" "$tmp/private-skel/closed" "$tmp/userskel" "$tmp/ww/skel"
echo public > "$tmp/private-skel/open/readme"
echo 'root secret' > "$tmp/private-skel/secret" && chmod 600 "$tmp/private-skel/secret"
echo 'in a closed dir' > "$tmp/private-skel/closed/f" && chmod 700 "$tmp/private-skel/closed"
echo 'group only' > "$tmp/private-skel/grp" && chmod 640 "$tmp/private-skel/grp"
echo 'hers' > "$tmp/private-skel/hers" && chmod 600 "$tmp/private-skel/hers" && chown 60105 "$tmp/private-skel/hers"
w create 0 "$(skelrec sk1 "$tmp/private-skel")"
[ -f "$mnt/home/sk1/open/readme" ] && ok "readable files copied" || bad "readable file missing"
[ ! -e "$mnt/home/sk1/secret" ] && ok "a root-only file is not copied" || bad "root's 0600 file copied"
[ ! -e "$mnt/home/sk1/grp" ] && ok "a root-group-only file is not copied" || bad "0640 root:root file copied"
[ ! -e "$mnt/home/sk1/closed" ] && ok "a directory she cannot list is not copied" || bad "0700 directory copied"
[ -f "$mnt/home/sk1/hers" ] && ok "a file she owns is copied" || bad "her own 0600 file missing"
w remove 0 "$(skelrec sk1 "$tmp/private-skel")"
chown 60999 "$tmp/userskel"
w create 20 "$(skelrec sk2 "$tmp/userskel")"
printf '%s' "$err" | grep -q "not root's, is writable by others" && ok "a user's directory is refused, explained" \
    || bad "user-owned skel: $err"
# One she could not have reached herself (the reviewer's /root case): a 0700 directory, or one below it.
mkdir -p "$tmp/closed-skel/inner" && echo visible > "$tmp/closed-skel/inner/notes.txt" && chmod 700 "$tmp/closed-skel"
w create 20 "$(skelrec sk6 "$tmp/closed-skel")"
printf '%s' "$err" | grep -q "closed to uid 60105" && ok "a 0700 skeleton directory is refused" || bad "0700 skel: $err"
w create 20 "$(skelrec sk7 "$tmp/closed-skel/inner")"
printf '%s' "$err" | grep -q "closed to uid 60105" && ok "below a 0700 directory: refused" || bad "skel below 0700: $err"
chmod 777 "$tmp/ww"
w create 20 "$(skelrec sk3 "$tmp/ww/skel")"
printf '%s' "$err" | grep -q "not root's, is writable by others" && ok "below a world-writable directory: refused" \
    || bad "skel below 0777: $err"
chmod 1777 "$tmp/ww"
w create 0 "$(skelrec sk4 "$tmp/ww/skel")"
w remove 0 "$(skelrec sk4 "$tmp/ww/skel")"
ln -s "$tmp/private-skel" "$tmp/skel-link"
w create 20 "$(skelrec sk5 "$tmp/skel-link")"
[ ! -e "$mnt/home/sk2" ] && [ ! -e "$mnt/home/sk3" ] && [ ! -e "$mnt/home/sk5" ] && [ ! -e "$mnt/home/sk6" ] &&
    [ ! -e "$mnt/home/sk7" ] && ok "refused creates left no home" \
    || bad "a refused create left a home"

# ---- SIGKILL during create leaves nothing half-made ---------------------------
# A bigger skel makes create take long enough to be killed in the middle.
for i in $(seq 1 400); do mkdir -p "$tmp/skel/d$((i % 20))"; head -c 20000 /dev/urandom > "$tmp/skel/d$((i % 20))/f$i"; done
want=$(find "$tmp/skel" | wc -l)
UID_=60104
half=0 whole=0 none=0 mid=0
for delay in 0 0.01 0.03 0.05 0.08 0.12 0.2 0.3 0.5; do
    rec eve subvolume "$PW" | "$work" create > /dev/null 2>&1 &
    pid=$!
    # The delays count from when the copy starts (the hidden directory
    # appears), not from the start: hashing the password before it takes
    # as long as the machine's load makes it.
    for _ in $(seq 1 1000); do
        ls -A "$mnt/home" | grep -q '^\.#hearth-create\.eve\.' && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ -e "$mnt/home/eve" ]; then
        got=$(find "$mnt/home/eve" | wc -l)
        if [ "$got" = "$want" ]; then whole=$((whole + 1)); else half=$((half + 1)); bad "half-made home after kill at ${delay}s: $got of $want entries"; fi
        printf '%s' "$(rec eve subvolume)" | "$work" remove > /dev/null 2>&1 || bad "remove after kill failed"
    else
        none=$((none + 1))
        # Work in progress stays hidden; the next operation removes it.
        ls -A "$mnt/home" | grep -q '^\.#hearth-create\.eve\.' && mid=$((mid + 1))
    fi
done
ok "SIGKILL during create: $none left no home ($mid of them mid-copy), $whole complete, $half half-made"
[ "$mid" -gt 0 ] && ok "some kills landed mid-create" || bad "no kill landed mid-create (the test did not test)"
w create 0 "$(rec eve subvolume "$PW")"
w remove 0 "$(rec eve subvolume)"
left=$(ls -A "$mnt/home")
[ -z "$left" ] && ok "no leftovers after the next operations" || bad "leftovers: $left"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
