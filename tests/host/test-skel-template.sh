#!/bin/bash
# The skel template (skel/skel-template.h) on a loop-file Btrfs home root:
# a subvolume home is a snapshot of it, the same as the copy's home (on disk
# and through her mount); a second create does not rebuild it, a change to
# the skel does (content, mode, a mask, a new file); creates killed while it
# is rebuilt never snapshot a half-built one; concurrent creates build it
# once; a skel copied differently per user falls back to copying; clean
# leaves it alone; hearth-skel's new homes on the same Btrfs are snapshots
# too, given to their owner. Spares (writable snapshots made in advance by
# hearth-work skel-spare) are taken whole, one per create, only for the
# template they were made of; a kill leaves none half-made.
#
# The merged default skel (/etc/skel, /usr/etc/skel,
# /usr/share/factory/etc/skel) is the test's own: the script runs in a
# private mount namespace with overlays on /etc and /usr, so that the
# host's files are never touched.
# Usage: test-skel-template.sh HEARTH_WORK HEARTH_SKEL
set -u
work=$1 skel_tool=$2
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v mkfs.btrfs >/dev/null || { echo "needs mkfs.btrfs"; exit 77; }
if [ -z "${HEARTH_TEST_PRIVATE_NS:-}" ]; then
    HEARTH_TEST_PRIVATE_NS=1 exec unshare -m --propagation private "$0" "$@"
    echo "needs unshare -m"; exit 77
fi

tmp=$(mktemp -d /tmp/hearth-skel-template-test.XXXXXX)
mnt=$tmp/mnt
loopdev=
cleanup() {
    for m in "$mnt"/home/*; do
        for _ in 1 2 3 4; do mountpoint -q "$m" && umount -l "$m"; done
    done
    mountpoint -q "$mnt" && umount "$mnt"
    [ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
    for m in /usr /etc; do mountpoint -q "$m" && findmnt -n -o FSTYPE "$m" | grep -q overlay && umount -l "$m"; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# The skel's layers, in overlays of this namespace only.
for d in etc usr; do
    mkdir -p "$tmp/ov/$d.up" "$tmp/ov/$d.work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$tmp/ov/$d.up,workdir=$tmp/ov/$d.work" "/$d" ||
        { echo "cannot mount an overlay on /$d"; exit 77; }
done
rm -rf /etc/skel /usr/etc/skel /usr/share/factory/etc/skel
mkdir -p /etc/skel /usr/etc/skel /usr/share/factory/etc/skel

truncate -s 1G "$tmp/btrfs.img"
mkfs.btrfs -q "$tmp/btrfs.img" > /dev/null 2>&1 || { echo "mkfs.btrfs failed"; exit 77; }
loopdev=$(losetup --find --show "$tmp/btrfs.img") || { echo "no loop devices"; exit 77; }
mkdir -p "$mnt"
mount "$loopdev" "$mnt"
mkdir -p "$mnt/home" "$mnt/srv" "$tmp/run"
chmod 755 "$tmp" "$mnt"
H=$mnt/home T=$mnt/home/.#hearth-skel-template
export HEARTH_HOME_ROOT=$H HEARTH_RUNTIME_DIR=$tmp/run

fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

E=/etc/skel U=/usr/etc/skel F=/usr/share/factory/etc/skel
echo 'etc profile' > "$E/.profile"
mkdir -p "$E/.config/app" "$E/bin"
echo 'x=1' > "$E/.config/app/rc"
cp /usr/bin/true "$E/bin/tool" && chmod 4755 "$E/bin/tool"
cp /usr/bin/true "$E/bin/capped" && setcap cap_net_raw+ep "$E/bin/capped"
echo linked > "$E/.hl1" && ln "$E/.hl1" "$E/.hl2"
ln -s .profile "$E/.link"
echo attr > "$E/.attr" && setfattr -n user.hearth -v yes "$E/.attr"
echo acl > "$E/.acl" && setfacl -m u:1000:r "$E/.acl"
mkfifo "$E/fifo"
echo 'root secret' > "$E/.secret" && chmod 600 "$E/.secret"
touch -d '2001-02-03 04:05:06.123456789' "$E/.profile"
echo 'usr profile' > "$U/.profile"
echo vendor > "$U/.vendor"
echo 'masked' > "$U/.masked" && ln -s /dev/null "$E/.masked"
echo factory > "$F/.factory"
mkdir -p "$F/.config" && echo f > "$F/.config/fromfactory"

n=0
# rec NAME UID [extra JSON members]: a subvolume home from the default skel.
rec() {
    printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"subvolume","secret":{"password":["pw"]}%s}' \
        "$1" "$2" "$2" "${3:+,$3}"
}
# w OP EXPECTED_RC JSON [ENV=VALUE...]: the worker; stdout in $out, stderr in $err.
w() {
    local op=$1 want=$2 json=$3 rc; shift 3
    printf '%s' "$json" | env "$@" "$work" "$op" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    out=$(cat "$tmp/out") err=$(cat "$tmp/err")
    if [ "$rc" = "$want" ]; then ok "$op → $rc"; else bad "$op → $rc, expected $want: $err"; fi
}
# create NAME UID [ENV=VALUE...]: create, 0 expected.
create() { local u=$1 id=$2; shift 2; w create 0 "$(rec "$u" "$id")" "$@"; }
built() { printf '%s' "$err" | grep -q 'skel template: built'; }
# templates: "name rootid" of each entry of the template directory.
templates() {
    for t in "$T"/* "$T"/.build-*; do
        [ -e "$t" ] && echo "$(basename "$t") $(btrfs inspect-internal rootid "$t" 2>/dev/null)"
    done | sort
}
# listing DIR [UID]: all that is to compare of a home (UID, if given, shown as "USER").
listing() {
    (
        cd "$1" || exit 1
        # The top's times are when it was made, seeded or snapshotted.
        stat -c '. %F %a %u:%g' .
        # ~/.identity is each user's own record: its owner and mode only.
        find . -mindepth 1 ! -path ./.identity -printf '%p %y %m %U:%G %s %T@ %n %l\n' |
            cat - <(find . -maxdepth 1 -path ./.identity -printf '%p %y %m %U:%G\n') | LC_ALL=C sort
        find . -type f ! -name fifo ! -path ./.identity -print0 | LC_ALL=C sort -z | xargs -0r md5sum
        find . ! -type l -print0 | LC_ALL=C sort -z | xargs -0r getfattr -h -d -m '^user\.|^system\.posix_acl' 2>/dev/null
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0r getcap 2>/dev/null
    ) | if [ -n "${2:-}" ]; then sed "s/\b$2:$2\b/USER:USER/g"; else cat; fi
}
same_listing() { # same_listing DESC A B
    if diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") > "$tmp/diff"; then ok "$1"; else bad "$1:"; cat "$tmp/diff"; fi
}

# ---- the first create builds it; it gives what the copy gives ---------------------
create alice 60110
built && ok "the first create built the template" || bad "no template built: $err"
[ "$(templates | wc -l)" = 1 ] && ok "one template" || bad "templates: $(templates)"
first=$(templates)
tname=${first%% *}
[ "$(stat -c %u:%g:%a "$T")" = 0:0:700 ] && ok "its directory is root's, 0700" || bad "$T: $(stat -c %u:%g:%a "$T")"
[ "$(btrfs property get -ts "$T/$tname" ro)" = ro=true ] && ok "the template is read-only" ||
    bad "template: $(btrfs property get -ts "$T/$tname" ro)"
[ -z "$(find "$T/$tname" -mindepth 1 ! -user 65534 -o -mindepth 1 ! -group 65534)" ] &&
    ok "everything in it is nobody's" || bad "other owners: $(find "$T/$tname" -mindepth 1 ! -user 65534)"
btrfs subvolume show "$H/alice.homedir" >/dev/null 2>&1 && ok "alice's storage is a subvolume" || bad "not a subvolume"
[ "$(btrfs subvolume show "$H/alice.homedir" | awk '/Parent UUID/ { print $3 }')" = \
  "$(btrfs subvolume show "$T/$tname" | awk '/^\tUUID/ { print $2 }')" ] &&
    ok "a snapshot of the template" || bad "alice's parent: $(btrfs subvolume show "$H/alice.homedir" | grep UUID)"

create bob 60111 HEARTH_TEST_NO_SKEL_TEMPLATE=1
built && bad "the copy built a template" || ok "the copy built nothing"
[ "$(btrfs subvolume show "$H/bob.homedir" | awk '/Parent UUID/ { print $3 }')" = - ] &&
    ok "bob's home is no snapshot" || bad "bob's home has a parent"
a=$(listing "$H/alice.homedir") b=$(listing "$H/bob.homedir")
same_listing "on disk, the template's home is the copy's" "$a" "$b"
printf '%s\n' "$a" | grep -qx '\./\.identity f 600 65534:65534' && grep -q '"userName":"alice"' "$H/alice.homedir/.identity" &&
    ok "~/.identity: her record, nobody's on disk, 0600" || bad "~/.identity: $(printf '%s\n' "$a" | grep identity)"
printf '%s\n' "$a" | grep -q '^\./bin/tool f 4755 65534:65534 ' && ok "set-UID kept, nobody's on disk" ||
    bad "bin/tool: $(printf '%s\n' "$a" | grep bin/tool)"
printf '%s\n' "$a" | grep -q '^\. directory 700 65534:65534$' && ok "top nobody's, 0700" || bad "top: $(printf '%s\n' "$a" | head -n1)"
for absent in .secret fifo .masked; do
    [ ! -e "$H/alice.homedir/$absent" ] && ok "$absent is not there" || bad "$absent copied"
done
[ "$(cat "$H/alice.homedir/.profile")" = 'etc profile' ] && [ "$(cat "$H/alice.homedir/.vendor")" = vendor ] &&
    [ -e "$H/alice.homedir/.config/fromfactory" ] && ok "the layers merged" || bad "merge: $(ls -A "$H/alice.homedir")"
[ "$(stat -c %i "$H/alice.homedir/.hl1")" = "$(stat -c %i "$H/alice.homedir/.hl2")" ] && ok "hard link kept" ||
    bad "hard link lost"

# Through their mounts, each sees the skel as hers.
hashed() { printf '%s' "$1" | grep -o '"hashedPassword":\[[^]]*\]'; }
arec() { printf '{"userName":"%s","uid":%s,"gid":%s,"storage":"subvolume","privileged":{%s},"secret":{"password":["pw"]}}' \
    "$1" "$2" "$2" "$3"; }
w create 0 "$(rec carol 60112)"
carol_hash=$(hashed "$out")
w create 0 "$(rec dave 60113)" HEARTH_TEST_NO_SKEL_TEMPLATE=1
dave_hash=$(hashed "$out")
w activate 0 "$(arec carol 60112 "$carol_hash")"
w activate 0 "$(arec dave 60113 "$dave_hash")"
c=$(listing "$H/carol" 60112) d=$(listing "$H/dave" 60113)
same_listing "through her mount, the template's home is the copy's" "$c" "$d"
printf '%s\n' "$c" | grep -q '^\./\.profile f 644 USER:USER ' && ok "her files show as hers" ||
    bad ".profile: $(printf '%s\n' "$c" | grep profile)"
setpriv --reuid=60112 --regid=60112 --clear-groups sh -c "echo mine >> '$H/carol/.profile'" &&
    ok "she can write to a file from the template" || bad "she cannot write to her .profile"
grep -q mine "$T/$tname/.profile" && bad "her write reached the template" || ok "the template is unchanged"
w deactivate 0 "$(arec carol 60112 "$carol_hash")"
w deactivate 0 "$(arec dave 60113 "$dave_hash")"

# ---- no rebuild unless the skel changes ---------------------------------------------
create erin 60114
built && bad "the second create rebuilt it" || ok "the second create did not rebuild"
[ "$(templates)" = "$first" ] && ok "the same template" || bad "templates: $(templates), were $first"
w clean 0 "$(rec erin 60114)"
[ "$(templates)" = "$first" ] && ok "clean leaves the template alone" || bad "after clean: $(templates)"

# rebuilds DESC CMD...: CMD changes the skel; the next create builds a new template.
rebuilds() {
    local desc=$1 before; shift
    before=$(templates)
    "$@"
    n=$((n + 1))
    create "r$n" $((60200 + n))
    built && ok "$desc: rebuilt" || bad "$desc: not rebuilt"
    [ "$(templates | wc -l)" = 1 ] && [ "$(templates)" != "$before" ] && ok "$desc: one new template" ||
        bad "$desc: templates $(templates), were $before"
    last=$H/r$n.homedir
}
same_size() { printf 'etc pro4ile\n' > "$E/.profile"; }
rebuilds "content (same size)" same_size
[ "$(cat "$last/.profile")" = 'etc pro4ile' ] && ok "the new content" || bad ".profile: $(cat "$last/.profile")"
[ "$(cat "$H/alice.homedir/.profile")" = 'etc profile' ] && ok "alice's home kept hers" || bad "alice's .profile changed"
rebuilds "mode" chmod 0640 "$U/.vendor"
[ ! -e "$last/.vendor" ] && ok "0640: left out now" || bad ".vendor still there"
rebuilds "a mask" ln -s /dev/null "$E/.factory"
[ ! -e "$last/.factory" ] && ok "masked: gone" || bad ".factory still there"
rebuilds "a new file" sh -c "echo new > '$F/.config/new'"
[ "$(cat "$last/.config/new" 2>/dev/null)" = new ] && ok "the new file is there" || bad "no .config/new"
rebuilds "a removed file" rm "$E/.attr"
rebuilds "mtime alone" touch -d '2002-01-01' "$E/.profile"
[ "$(stat -c %Y "$last/.profile")" = "$(date -d 2002-01-01 +%s)" ] && ok "the new mtime" || bad "mtime $(stat -c %Y "$last/.profile")"
rebuilds "an xattr" setfattr -n user.more -v 1 "$E/.profile"
[ "$(getfattr --only-values -n user.more "$last/.profile" 2>/dev/null)" = 1 ] && ok "the new xattr" || bad "no user.more"

# ---- a skel whose copy depends on the user: copied ----------------------------------
before=$(templates)
chown 60300 "$E/.profile"
create fay 60115
built && bad "a template was built for a per-user skel" || ok "no template for a per-user skel"
[ "$(templates)" = "$before" ] && ok "the template stays as it was" || bad "templates: $(templates)"
[ "$(btrfs subvolume show "$H/fay.homedir" | awk '/Parent UUID/ { print $3 }')" = - ] && ok "fay's home was copied" ||
    bad "fay's home is a snapshot"
[ "$(stat -c %u "$H/fay.homedir/.profile")" = 65534 ] && ok "and stored as nobody" || bad "fay: $(stat -c %u "$H/fay.homedir/.profile")"
chown 0 "$E/.profile"
ln -s /etc/skel/.profile "$E/.abs"
create gus 60116
built && bad "a template was built with a link into the skel" || ok "no template with an absolute link into the skel"
[ "$(readlink "$H/gus.homedir/.abs")" = "$H/gus/.profile" ] && ok "the link points into her home" ||
    bad ".abs → $(readlink "$H/gus.homedir/.abs")"
rm "$E/.abs"
# ID-mapping refused: the copy's fallback (files stored as her UID), no template.
create hal 60117 HEARTH_TEST_NO_IDMAP=1
[ "$(stat -c %u "$H/hal.homedir/.profile")" = 60117 ] && ok "no ID-mapping: copied, stored as her UID" ||
    bad "hal's .profile: $(stat -c %u "$H/hal.homedir/.profile")"
[ "$(btrfs subvolume show "$H/hal.homedir" | awk '/Parent UUID/ { print $3 }')" = - ] && ok "hal's home is no snapshot" ||
    bad "hal's home is a snapshot"

# ---- killed while it is rebuilt --------------------------------------------------------
# fresh DESC: the next create makes a template from scratch, complete.
ref_home() { # a copy of the skel as it is now, to compare with
    n=$((n + 1)); w create 0 "$(rec "ref$n" $((60300 + n)))" HEARTH_TEST_NO_SKEL_TEMPLATE=1; ref=$H/ref$n.homedir
}
for fp in skel-template-seeded skel-template-built; do
    echo "$fp" > "$E/.changed"
    n=$((n + 1)); u=k$n
    w create 137 "$(rec "$u" $((60300 + n)))" HEARTH_FAILPOINT=$fp
    [ ! -e "$H/$u.homedir" ] && [ -z "$(find "$H" -maxdepth 1 -name ".#hearth-create.$u.*")" ] &&
        ok "$fp: no home" || bad "$fp: $(ls -A "$H")"
    left=$(templates)
    printf '%s\n' "$left" | grep -q '^\.build-' && ! printf '%s\n' "$left" | grep -qv '^\.build-' &&
        ok "$fp: only the unfinished build is left, unnamed" || bad "$fp: templates: $left"
    n=$((n + 1)); u=k$n
    create "$u" $((60300 + n))
    built && ok "$fp: the next create builds it again" || bad "$fp: not rebuilt"
    [ "$(templates | wc -l)" = 1 ] && ! templates | grep -q '^\.build-' &&
        ! templates | grep -qF " ${left##* }" && ok "$fp: the unfinished one is gone, never used" || bad "$fp: $(templates)"
    ref_home
    same_listing "$fp: the home is complete" "$(listing "$H/$u.homedir")" "$(listing "$ref")"
done

# A builder stopped half-way holds the others back; killed, the next builds.
echo stopped > "$E/.changed"
n=$((n + 1)); ua=s$n
printf '%s' "$(rec "$ua" $((60300 + n)))" | HEARTH_FAILPOINT=skel-template-seeded:stop "$work" create > /dev/null 2> "$tmp/a.err" &
apid=$!
for _ in $(seq 100); do [ "$(awk '{ print $3 }' /proc/$apid/stat 2>/dev/null)" = T ] && break; sleep 0.1; done
[ "$(awk '{ print $3 }' /proc/$apid/stat 2>/dev/null)" = T ] && ok "the builder stopped half-way" || bad "builder: $(cat "$tmp/a.err")"
n=$((n + 1)); ub=s$n
( printf '%s' "$(rec "$ub" $((60300 + n)))" | "$work" create > /dev/null 2> "$tmp/b.err"; echo $? > "$tmp/b.rc" ) &
bpid=$!
sleep 2
[ ! -e "$tmp/b.rc" ] && [ ! -e "$H/$ub.homedir" ] && ok "another create waits for it" || bad "b: $(cat "$tmp/b.rc" 2>/dev/null) $(cat "$tmp/b.err")"
kill -9 "$apid"; wait "$apid" 2>/dev/null
wait "$bpid"
[ "$(cat "$tmp/b.rc")" = 0 ] && ok "then it goes on" || bad "b: $(cat "$tmp/b.err")"
grep -q 'skel template: built' "$tmp/b.err" && ok "and builds it itself" || bad "b did not build: $(cat "$tmp/b.err")"
[ "$(templates | wc -l)" = 1 ] && ! templates | grep -q '^\.build-' && ok "the stopped build is gone" || bad "$(templates)"
[ ! -e "$H/$ua.homedir" ] && ok "the killed create left no home" || bad "$ua.homedir exists"
ref_home
same_listing "the waiting create's home is complete" "$(listing "$H/$ub.homedir")" "$(listing "$ref")"

# four_creates PREFIX UIDBASE PATTERN: homes PREFIX1..4 created at once;
# sets all (how many succeeded) and matched (how many logged PATTERN).
four_creates() {
    pids=
    for i in 1 2 3 4; do
        ( printf '%s' "$(rec "$1$i" $(($2 + i)))" | HEARTH_LOG_LEVEL=debug "$work" create > /dev/null 2> "$tmp/$1$i.err"
          echo $? > "$tmp/$1$i.rc" ) &
        pids="$pids $!"
    done
    wait $pids
    all=0 matched=0
    for i in 1 2 3 4; do
        [ "$(cat "$tmp/$1$i.rc")" = 0 ] && all=$((all + 1))
        grep -q "$3" "$tmp/$1$i.err" && matched=$((matched + 1))
    done
}

# ---- concurrent creates ---------------------------------------------------------------------
echo concurrent > "$E/.changed"
n=$((n + 4))
four_creates c 60400 'skel template: built'
builds=$matched
[ "$all" = 4 ] && ok "four concurrent creates succeed" || bad "$all of 4: $(cat "$tmp"/c?.err)"
[ "$builds" = 1 ] && ok "one of them built the template" || bad "$builds builds"
[ "$(templates | wc -l)" = 1 ] && ok "one template" || bad "$(templates)"
ref_home
for i in 1 2 3 4; do
    same_listing "concurrent home c$i is complete" "$(listing "$H/c$i.homedir")" "$(listing "$ref")"
done

# ---- spares: made in advance, each taken whole by one create ---------------------------------
tdigest() { templates | grep -v '\.spare-' | grep -v '^\.build-' | awk '{ print $1 }'; }
spares() { for t in "$T"/*.spare-*; do [ -e "$t" ] && basename "$t"; done; }
uuid() { btrfs subvolume show "$1" 2>/dev/null | awk '/^\tUUID/ { print $2 }'; }
parent() { btrfs subvolume show "$1" 2>/dev/null | awk '/Parent UUID/ { print $3 }'; }
echo spares > "$E/.changed"
n=$((n + 1)); create "p$n" $((60440 + n))
cur=$(tdigest)
w skel-spare 0 "$(rec "p$n" $((60440 + n)))"
[ "$(spares | wc -l)" = 2 ] && ! spares | grep -qv "^$cur\.spare-" && ok "skel-spare made two spares of the template" ||
    bad "spares: $(spares) (template $cur)"
good=0
for s in $(spares); do
    [ "$(stat -c %u:%g:%a "$T/$s")" = 65534:65534:700 ] && [ "$(btrfs property get -ts "$T/$s" ro)" = ro=false ] &&
        [ "$(parent "$T/$s")" = "$(uuid "$T/$cur")" ] && good=$((good + 1))
done
[ "$good" = 2 ] && ok "each a writable snapshot of it, its top nobody's, 0700" || bad "$good good spares"
w skel-spare 0 "$(rec "p$n" $((60440 + n)))"
[ "$(spares | wc -l)" = 2 ] && ok "no more than two" || bad "spares: $(spares)"
before=$(for s in $(spares); do uuid "$T/$s"; done)
n=$((n + 1)); u=p$n
create "$u" $((60440 + n)) HEARTH_LOG_LEVEL=debug
printf '%s' "$err" | grep -q 'took the spare' && ok "the create took a spare" || bad "no spare taken: $err"
# The template its scan found current, as hearthd would hand it on.
token=$(printf '%s' "$out" | grep -o '"hearthSkelTemplate":"[^"]*"' | cut -d'"' -f4)
[ -n "$token" ] && ok "it reports the template current" || bad "no hearthSkelTemplate: $out"
printf '%s\n' "$before" | grep -qx "$(uuid "$H/$u.homedir")" && ok "her storage is that spare" ||
    bad "$u.homedir is $(uuid "$H/$u.homedir"), spares were $before"
[ "$(spares | wc -l)" = 1 ] && ok "one spare left" || bad "spares: $(spares)"
ref_home
same_listing "the spare's home is the copy's" "$(listing "$H/$u.homedir" $((60440 + n)))" "$(listing "$ref" $((60300 + n)))"
# hearthd's word for the template: the spare still, without a scan.
n=$((n + 1)); u=p$n
printf '%s' "$(rec "$u" $((60440 + n)))" | HEARTH_LOG_LEVEL=debug "$work" --skel-template="$token" create > /dev/null 2> "$tmp/err"
grep -q 'current as the caller says' "$tmp/err" && grep -q 'took the spare' "$tmp/err" && [ "$(spares | wc -l)" = 0 ] &&
    ok "with hearthd's word too" || bad "$(cat "$tmp/err")"

# A spare of a template that is no longer the skel's is never a home.
w skel-spare 0 "$(rec "$u" $((60440 + n)))"
old=$(for s in $(spares); do uuid "$T/$s"; done)
[ "$(printf '%s\n' "$old" | grep -c .)" = 2 ] && ok "two spares again" || bad "spares: $(spares)"
echo changed > "$E/.changed"
n=$((n + 1)); u=p$n
create "$u" $((60440 + n)) HEARTH_LOG_LEVEL=debug
built && ok "a changed skel: rebuilt" || bad "not rebuilt: $err"
printf '%s' "$err" | grep -q 'took the spare' && bad "a spare of the old template was taken" || ok "no spare taken"
printf '%s\n' "$old" | grep -qx "$(uuid "$H/$u.homedir")" && bad "her storage is an old spare" || ok "her storage is no old spare"
[ "$(cat "$H/$u.homedir/.changed")" = changed ] && ok "she has the skel as it is now" || bad ".changed: $(cat "$H/$u.homedir/.changed")"
[ -z "$(spares)" ] && ok "the old template's spares are gone with it" || bad "spares: $(spares)"
# A skel-spare on a word that is stale by now (hearthd queued it before the
# rebuild) makes nothing, and leaves the new template alone.
now=$(tdigest)
printf '%s' "$(rec "$u" $((60440 + n)))" | "$work" --skel-template="$token" skel-spare > /dev/null 2> "$tmp/err" ||
    bad "stale skel-spare: $(cat "$tmp/err")"
[ "$(tdigest)" = "$now" ] && [ -z "$(spares)" ] && ok "a stale skel-spare keeps the new template, makes no spare" ||
    bad "after a stale skel-spare: $(templates)"
# A token of a template that is gone: the skel is scanned, and the spares
# of the template before go with it.
w skel-spare 0 "$(rec "$u" $((60440 + n)))"
echo again > "$E/.changed"
n=$((n + 1)); u=p$n
printf '%s' "$(rec "$u" $((60440 + n)))" | HEARTH_LOG_LEVEL=debug "$work" --skel-template="$token" create > /dev/null 2> "$tmp/err"
[ "$(cat "$H/$u.homedir/.changed")" = again ] && ! grep -q 'took the spare' "$tmp/err" &&
    ok "an old token: scanned, no spare" || bad "$(cat "$tmp/err") .changed: $(cat "$H/$u.homedir/.changed")"
# A spare of the current template that is not what skel-spare makes (a
# hand's work: its top root's) is thrown away, not given to her.
w skel-spare 0 "$(rec "$u" $((60440 + n)))"
cur=$(tdigest)
for s in $(spares); do chown 0:0 "$T/$s"; done
n=$((n + 1)); u=p$n
create "$u" $((60440 + n)) HEARTH_LOG_LEVEL=debug
printf '%s' "$err" | grep -q 'is no spare' && [ -z "$(spares)" ] && [ "$(stat -c %u:%a "$H/$u.homedir")" = 65534:700 ] &&
    ok "a spare not made so is thrown away" || bad "$err / $(spares) / $(stat -c %u:%a "$H/$u.homedir")"

# Killed: no half-made spare, nothing of the create's.
w skel-spare 137 "$(rec "$u" $((60440 + n)))" HEARTH_FAILPOINT=skel-spare-prepared
[ -z "$(spares)" ] && templates | grep -q '^\.build-' && ok "a killed skel-spare leaves only a build, unnamed" ||
    bad "after the kill: $(templates)"
w skel-spare 0 "$(rec "$u" $((60440 + n)))"
! templates | grep -q '^\.build-' && [ "$(spares | wc -l)" = 2 ] && ok "the next one sweeps it" || bad "$(templates)"
for fp in home-create-made home-create-renamed; do
    n=$((n + 1)); u=p$n
    was=$(spares | wc -l)
    w create 137 "$(rec "$u" $((60440 + n)))" HEARTH_FAILPOINT=$fp
    if [ "$fp" = home-create-made ]; then
        [ ! -e "$H/$u.homedir" ] && ok "$fp: no home" || bad "$fp: $u.homedir is there"
    fi
    [ "$(spares | wc -l)" = $((was - 1)) ] && ok "$fp: the spare was taken, not put back" || bad "$fp: $(spares)"
    w clean 0 "$(rec "$u" $((60440 + n)))"
    [ -z "$(find "$H" -maxdepth 1 -name ".#hearth-create.$u.*")" ] && ok "$fp: clean removes what is left" ||
        bad "$fp: $(ls -A "$H")"
done

# Concurrent creates: each its own (two spares, four creates).
w skel-spare 0 "$(rec "$u" $((60440 + n)))"
[ "$(spares | wc -l)" = 2 ] || bad "spares before: $(spares)"
four_creates q 60500 'took the spare'
took=$matched
[ "$all" = 4 ] && ok "four concurrent creates succeed" || bad "$all of 4: $(cat "$tmp"/q?.err)"
[ "$took" = 2 ] && [ -z "$(spares)" ] && ok "two took a spare each" || bad "$took took a spare; left: $(spares)"
[ "$(for i in 1 2 3 4; do uuid "$H/q$i.homedir"; done | sort -u | grep -c .)" = 4 ] && ok "four homes, four subvolumes" ||
    bad "subvolumes: $(for i in 1 2 3 4; do uuid "$H/q$i.homedir"; done)"
ref_home
for i in 1 2 3 4; do
    same_listing "concurrent home q$i is complete" "$(listing "$H/q$i.homedir" $((60500 + i)))" "$(listing "$ref" $((60300 + n)))"
done

# ---- what else lives in the home root ----------------------------------------------------------
[ -z "$(find "$H" -mindepth 1 -maxdepth 1 ! -name '*.homedir' ! -name '.#hearth-skel-template')" ] &&
    ok "the home root holds homes and the template only" || bad "home root: $(ls -A "$H")"

# ---- hearth-skel ------------------------------------------------------------------------------
# .secret (0600) is left out of a home's template, not of hearth-skel's copy.
seed() { "$skel_tool" seed "$@" > "$tmp/seed.out" 2> "$tmp/seed.err"; rc=$?; }
seed 901:911 "$mnt/srv/svc1"
[ "$rc" = 0 ] && ok "hearth-skel seed with a closed file in the skel" || bad "seed: $(cat "$tmp/seed.err")"
[ -e "$mnt/srv/svc1/.secret" ] && ok "it copied .secret" || bad "no .secret"
btrfs subvolume show "$mnt/srv/svc1" > /dev/null 2>&1 && bad "svc1 is a snapshot" || ok "svc1 was copied"
rm "$E/.secret"; chmod 0644 "$U/.vendor"
seed 901:911 "$mnt/srv/svc2"
[ "$rc" = 0 ] && ok "hearth-skel seed" || bad "seed: $(cat "$tmp/seed.err")"
out2=$(cat "$tmp/seed.out")
btrfs subvolume show "$mnt/srv/svc2" > /dev/null 2>&1 && ok "svc2 is a snapshot of the template" || bad "svc2 was copied"
HEARTH_TEST_NO_SKEL_TEMPLATE=1 seed 901:911 "$mnt/srv/svc3"
out3=$(cat "$tmp/seed.out")
[ "${out2#seeded */svc2 }" = "${out3#seeded */svc3 }" ] && ok "the same counts ($out2)" || bad "$out2 / $out3"
same_listing "hearth-skel: the snapshot given to its owner is the copy" \
    "$(listing "$mnt/srv/svc2")" "$(listing "$mnt/srv/svc3")"
[ "$(stat -c %u:%g:%a "$mnt/srv/svc2/bin/tool")" = 901:911:4755 ] && ok "set-UID kept for its owner" ||
    bad "bin/tool: $(stat -c %u:%g:%a "$mnt/srv/svc2/bin/tool")"
getcap "$mnt/srv/svc2/bin/capped" | grep -q cap_net_raw && ok "file capability kept" || bad "capped: $(getcap "$mnt/srv/svc2/bin/capped")"
mkdir -p "$tmp/elsewhere"
seed 901:911 "$tmp/elsewhere/svc4"
[ "$rc" = 0 ] && [ -e "$tmp/elsewhere/svc4/.profile" ] && ok "another file system: copied" || bad "svc4: $(cat "$tmp/seed.err")"

echo "$fails failed"
[ "$fails" = 0 ]
