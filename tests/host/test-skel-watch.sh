#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hearthd's skel watch (skel/skel-watch.h): while the skel is unchanged,
# a subvolume home's create is handed the current template (no scan);
# every kind of change made to the skel right before a create — content,
# mode, owner, an xattr, a rename, a new or removed entry, a mask, a
# symlink swapped, a new directory with a file, the source swapped — gives
# that create's home the change, from a new template; and afterwards the
# creates are handed the template again.
#
# The merged default skel is the test's own: a private mount namespace
# with overlays on /etc and /usr (the host's files are never touched).
#   test-skel-watch.sh BUILDDIR SRCDIR   (as root)
set -u
BUILDDIR=$1 SRCDIR=$2
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
command -v mkfs.btrfs >/dev/null || { echo "needs mkfs.btrfs"; exit 77; }
if [ -z "${HEARTH_TEST_PRIVATE_NS:-}" ]; then
    HEARTH_TEST_PRIVATE_NS=1 exec unshare -m --propagation private "$0" "$@"
    echo "needs unshare -m"; exit 77
fi
ovl=$(mktemp -d /tmp/hearth-skel-watch-ov.XXXXXX)
for d in etc usr; do
    mkdir -p "$ovl/$d.up" "$ovl/$d.work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$ovl/$d.up,workdir=$ovl/$d.work" "/$d" ||
        { echo "cannot mount an overlay on /$d"; rm -rf "$ovl"; exit 77; }
done

. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_at_exit "umount -l /usr; umount -l /etc; rm -rf '$ovl'"
E=/etc/skel U=/usr/etc/skel F=/usr/share/factory/etc/skel
rm -rf "$E" "$U" "$F"
mkdir -p "$E/.config/app" "$U" "$F"
echo 'etc profile' > "$E/.profile"
echo 'x=1' > "$E/.config/app/rc"
echo owned > "$E/.owned"
ln -s .profile "$E/.link"
echo vendor > "$U/.vendor"
echo factory > "$F/.factory"
echo renamed > "$E/.before"

HEARTHD_BTRFS_SIZE=1G
HEARTHD_ARGS="--log-level=debug"
_hearthd_init
hearthd_setup "$BUILDDIR" "$SRCDIR"
R=$HEARTHD_HOME_ROOT T=$R/.#hearth-skel-template
call() { _m=$1; shift; dbus-send --system --print-reply --reply-timeout=600000 --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 "org.freedesktop.home1.Manager.$_m" "$@"; }
record() { printf '{"userName":"%s","storage":"subvolume","disposition":"regular","secret":{"password":["pw"]}}' "$1"; }
# The templates, not their spares nor a spare's build that hearthd's
# skel-spare after a create may have under way (skel-template.h).
templates() { ls -A "$T" 2>/dev/null | grep -v -e '\.spare-' -e '^\.build-'; }
handed() { grep -c "the skel is unchanged since the template" "$HEARTHD_LOG"; }

n=0
# create: the next user's home, through hearthd; $home is its storage.
create() {
    n=$((n + 1))
    check "create u$n" 0 call CreateHome string:"$(record "u$n")"
    home=$R/u$n.homedir
}

create
first=$(templates)
[ -n "$first" ] && btrfs subvolume show "$home" | grep -q "Parent UUID:.*-.*-" && ok "the first create built the template" ||
    bad "no template: $(templates)"
before=$(handed)
create
[ "$(handed)" = $((before + 1)) ] && ok "the second create was handed the template" || bad "not handed: $(handed) times"
[ "$(templates)" = "$first" ] && ok "the same template" || bad "templates: $(templates)"
[ "$(cat "$home/.profile")" = 'etc profile' ] && [ "$(cat "$home/.vendor")" = vendor ] && ok "and it holds the skel" ||
    bad "u$n: $(ls -A "$home")"

# changed DESC CHECK CMD...: CMD changes the skel; the very next create's
# home comes from another template, and CHECK (a shell test on $home) holds.
changed() {
    local desc=$1 test=$2 was; shift 2
    was=$(templates)
    "$@" || bad "$desc: the change failed"
    create
    now=$(templates)
    [ -n "$now" ] && [ "$now" != "$was" ] && ok "$desc: a new template" || bad "$desc: template $now, was $was"
    if (eval "$test"); then ok "$desc: the home has it"; else bad "$desc: the home lacks it ($test)"; fi
}
changed "content" '[ "$(cat $home/.profile)" = "new profile" ]' sh -c "echo 'new profile' > $E/.profile"
changed "a nested file's content" 'grep -qx x=2 $home/.config/app/rc' sh -c "echo x=2 > $E/.config/app/rc"
changed "mode" '[ ! -e $home/.vendor ]' chmod 0600 "$U/.vendor"
changed "owner" '[ -e $home/.owned ]' chown 1:1 "$E/.owned"
changed "an xattr" '[ "$(getfattr --only-values -n user.hearth $home/.profile 2>/dev/null)" = yes ]' \
    setfattr -n user.hearth -v yes "$E/.profile"
changed "a rename" '[ -e $home/.after ] && [ ! -e $home/.before ]' mv "$E/.before" "$E/.after"
changed "a new entry" '[ "$(cat $home/.config/new)" = new ]' sh -c "echo new > $E/.config/new"
changed "a removed entry" '[ ! -e $home/.config/new ]' rm "$E/.config/new"
changed "a mask" '[ ! -e $home/.factory ]' ln -s /dev/null "$E/.factory"
changed "a symlink swapped" '[ "$(readlink $home/.link)" = .config ]' \
    sh -c "ln -s .config $E/.link.new && mv -T $E/.link.new $E/.link"
changed "a new directory with a file" '[ "$(cat $home/.d/f)" = f ]' sh -c "mkdir $E/.d && echo f > $E/.d/f"
changed "the source swapped" '[ "$(cat $home/.swapped)" = yes ]' \
    sh -c "cp -a $E /etc/skel.new && echo yes > /etc/skel.new/.swapped && mv $E /etc/skel.old && mv /etc/skel.new $E"

before=$(handed) was=$(templates)
create
[ "$(handed)" = $((before + 1)) ] && ok "unchanged again: handed the template again" || bad "not handed: $(handed) times"
[ "$(templates)" = "$was" ] && [ "$(cat "$home/.swapped")" = yes ] && ok "the latest one" || bad "templates: $(templates)"

# A change right after a handed create: the next one has it.
echo 'by hand' > "$E/.profile"
create
[ "$(cat "$home/.profile")" = 'by hand' ] && ok "a change between two handed creates" || bad "u$n: $(cat "$home/.profile")"

hearthd_finish
