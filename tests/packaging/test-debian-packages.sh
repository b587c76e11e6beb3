#!/bin/bash
# The Debian packages build from the tree (dpkg-buildpackage -b), lintian
# finds nothing it is not told about (debian/*.lintian-overrides), each
# package holds its files, and libnss-hearth's maintainer scripts add
# "hearth" to /etc/nsswitch.conf once and take it out on purge (run against
# a scratch file in a mount namespace). Suite 'packaging', in
# tools/run-tests --all (a full build without sanitizers: minutes).
# Usage: test-debian-packages.sh SRCDIR
set -u
src=$1
for t in dpkg-buildpackage lintian fakeroot unshare git; do
    command -v "$t" >/dev/null || { echo "needs $t (tools/install-deps --gnome)"; exit 77; }
done
dpkg -s debhelper >/dev/null 2>&1 || { echo "needs debhelper (tools/install-deps --gnome)"; exit 77; }

tmp=$(mktemp -d /tmp/hearth-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The tree as git has it (tracked and new files, not build directories).
mkdir "$tmp/hearth"
(cd "$src" && git ls-files -co --exclude-standard -z | grep -zv '^build' | xargs -0 cp --parents -t "$tmp/hearth") ||
    { echo "cannot copy the tree"; exit 1; }
if (cd "$tmp/hearth" && dpkg-buildpackage -b -uc -us > "$tmp/build.log" 2>&1); then
    ok "dpkg-buildpackage -b"
else
    tail -n 40 "$tmp/build.log"; bad "dpkg-buildpackage -b"; exit 1
fi

lintian --fail-on error,warning "$tmp"/*.changes > "$tmp/lintian.log" 2>&1 &&
    ok "lintian: nothing unexplained" || { cat "$tmp/lintian.log"; bad "lintian"; }

has() { # has PACKAGE PATH
    if dpkg-deb -c "$tmp/$1"_*_*.deb | awk '{print $6}' | grep -qx "\./$2"; then ok "$1 holds /$2"; else bad "$1 lacks /$2"; fi
}
has hearth usr/sbin/hearthd
has hearth usr/libexec/hearth-work
has hearth usr/libexec/hearth-ssh-authorized-keys
has hearth usr/bin/homectl
has hearth usr/share/dbus-1/system-services/org.freedesktop.home1.service
has hearth lib/systemd/system/hearthd.service
has libpam-hearth "lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/security/pam_hearth.so"
has libpam-hearth usr/share/pam-configs/hearth
has libnss-hearth "usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libnss_hearth.so.2"
has hearth-accounts usr/libexec/hearth-accounts
has hearth-accounts lib/systemd/system/accounts-daemon.service.d/hearth-accounts.conf
dpkg-deb -c "$tmp"/hearth-accounts_*_*.deb | grep -q "org.freedesktop.Accounts" &&
    bad "hearth-accounts ships a file of accountsservice's" || ok "hearth-accounts leaves accountsservice's files alone"
dpkg-deb -f "$tmp"/hearth_*_*.deb Conflicts | grep -q systemd-homed && ok "hearth conflicts with systemd-homed" ||
    bad "hearth: no Conflicts: systemd-homed"

# libnss-hearth's scripts on a scratch nsswitch.conf.
# sed -i renames its output over the file: the scratch /etc is a directory.
mkdir "$tmp/etc"
printf 'passwd:         files systemd\ngroup:          files systemd\nshadow:         files\nhosts:          files dns\n' > "$tmp/etc/nsswitch.conf"
nss() { unshare -m sh -c 'mount --bind "$1" /etc && sh "$2" "$3"' - "$tmp/etc" "$@"; }
nss "$src/debian/libnss-hearth.postinst" configure
nss "$src/debian/libnss-hearth.postinst" configure
[ "$(grep -c ' hearth$' "$tmp/etc/nsswitch.conf")" = 2 ] && grep -q '^passwd: *files systemd hearth$' "$tmp/etc/nsswitch.conf" &&
    ! grep -q '^hosts:.*hearth' "$tmp/etc/nsswitch.conf" && ok "postinst adds hearth to passwd and group, once" ||
    bad "postinst: $(cat "$tmp/etc/nsswitch.conf")"
nss "$src/debian/libnss-hearth.postrm" remove
grep -q ' hearth$' "$tmp/etc/nsswitch.conf" && ok "remove keeps it" || bad "remove took it out"
nss "$src/debian/libnss-hearth.postrm" purge
grep -q 'hearth' "$tmp/etc/nsswitch.conf" && bad "purge left: $(cat "$tmp/etc/nsswitch.conf")" ||
    { grep -q '^passwd: *files systemd$' "$tmp/etc/nsswitch.conf" && ok "purge takes it out" || bad "purge: $(cat "$tmp/etc/nsswitch.conf")"; }

echo "debian-packages: $fails failure(s)"
[ "$fails" -eq 0 ]
