#!/bin/bash
# hearth-skel on a fake root: sysusers.d declarations (with override and
# mask), skel merge, existing homes untouched, HomePrefix=, idempotence,
# --dry-run, a symlinked /home refused; and `seed` by hand.
# Usage: test-hearth-skel.sh HEARTH_SKEL
set -u
tool=$1
[ "$(id -u)" = 0 ] || { echo "needs root (chown)"; exit 77; }
tmp=$(mktemp -d /tmp/hearth-skel-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
R=$tmp/root
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

mkdir -p "$R/etc/sysusers.d" "$R/usr/lib/sysusers.d" "$R/etc/skel/.config" "$R/usr/etc/skel" \
         "$R/home/busy" "$R/srv/users" "$R/etc/hearth"
cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
svc:x:901:901::/home/svc:/usr/sbin/nologin
busy:x:902:902::/home/busy:/usr/sbin/nologin
other:x:903:903::/srv/users/other:/usr/sbin/nologin
empty:x:904:904::/home/empty:/usr/sbin/nologin
far:x:905:905::/opt/far:/usr/sbin/nologin
P
cat > "$R/usr/lib/sysusers.d/svc.conf" <<'S'
u svc 901 "Service" /home/old-svc-home
S
cat > "$R/etc/sysusers.d/svc.conf" <<'S'
# overrides /usr/lib/sysusers.d/svc.conf
u svc 901 "Service" /home/svc
S
cat > "$R/usr/lib/sysusers.d/more.conf" <<'S'
u busy 902 - /home/busy
u other 903 - /srv/users/other
u empty 904 - /home/empty
u far 905 - /opt/far
u nobody-here 906 - /home/nobody-here
u roothome 0 - /home
u masked 907 - /home/masked
g grp 950
S
cat > "$R/usr/lib/sysusers.d/masked.conf" <<'S'
u masked2 908 - /home/masked2
S
ln -s /dev/null "$R/etc/sysusers.d/masked.conf"
echo 'etc profile' > "$R/etc/skel/.profile"
echo 'app' > "$R/etc/skel/.config/app.conf"
echo 'usr profile' > "$R/usr/etc/skel/.profile"
echo 'usr only' > "$R/usr/etc/skel/.usr-only"
echo 'masked' > "$R/usr/etc/skel/.masked"
ln -s /dev/null "$R/etc/skel/.masked"
echo 'keep me' > "$R/home/busy/file"
mkdir "$R/home/empty"

"$tool" --root "$R" --dry-run sysusers > "$tmp/dry" 2>&1
check "dry run says what it would do" grep -q "would seed /home/svc" "$tmp/dry"
check "dry run changes nothing" test ! -e "$R/home/svc"

"$tool" --root "$R" sysusers > "$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
check "exit 0" test "$rc" = 0
check "svc home created (override wins)" test -d "$R/home/svc" -a ! -e "$R/home/old-svc-home"
check "owner from the image's passwd" test "$(stat -c %u:%g:%a "$R/home/svc")" = 901:901:700
check "/etc/skel wins over /usr/etc/skel" test "$(cat "$R/home/svc/.profile")" = "etc profile"
check "/usr/etc/skel merged in" test -f "$R/home/svc/.usr-only"
check "/dev/null masks" test ! -e "$R/home/svc/.masked"
check "files owned by the user" test "$(stat -c %u "$R/home/svc/.config/app.conf")" = 901
check "non-empty home untouched" test "$(ls -A "$R/home/busy")" = file -a ! -e "$R/home/busy/.profile"
check "empty existing home seeded" test -f "$R/home/empty/.profile"
check "outside /home not seeded without HomePrefix" test ! -e "$R/srv/users/other/.profile"
check "/opt not seeded" test ! -e "$R/opt/far"
check "unknown user skipped" test ! -e "$R/home/nobody-here"
check "masked sysusers file ignored" test ! -e "$R/home/masked2"
check "user unknown to passwd not seeded" test ! -e "$R/home/masked"
check "unknown user warned about" grep -q "nobody-here is not known" "$tmp/out"

listing() { (cd "$R" && find . -printf '%p %m %u %s %T@\n' | sort); }
listing > "$tmp/before"
"$tool" --root "$R" sysusers > "$tmp/out2" 2>&1
listing > "$tmp/after"
check "second run changes nothing" cmp -s "$tmp/before" "$tmp/after"
check "second run says so" grep -q "skipped /home/svc: not empty" "$tmp/out2"

echo 'HomePrefix=/srv/users' > "$R/etc/hearth/skel.conf"
"$tool" --root "$R" sysusers > /dev/null 2>&1
check "HomePrefix= allows /srv/users" test -f "$R/srv/users/other/.profile"

# A symlinked /home in the image is never followed.
mkdir "$tmp/elsewhere"
mv "$R/home" "$R/home.real" && ln -s "$tmp/elsewhere" "$R/home"
"$tool" --root "$R" sysusers > "$tmp/out3" 2>&1
check "symlinked /home refused" test "$?" = 1
check "nothing written through the symlink" test -z "$(ls -A "$tmp/elsewhere")"
rm "$R/home" && mv "$R/home.real" "$R/home"

# seed by hand.
"$tool" --skel "$R/etc/skel" seed 60123:60123 "$tmp/manual" > /dev/null
check "seed creates the target" test "$(stat -c %u:%a "$tmp/manual")" = 60123:700 -a -f "$tmp/manual/.profile"
"$tool" seed 60123:60123 "$tmp/manual" > /dev/null 2>&1
check "seed refuses a non-empty target" test "$?" = 1
"$tool" seed no-such-user-xyz "$tmp/x" > /dev/null 2>&1
check "seed refuses an unknown user" test "$?" = 1
"$tool" frob > /dev/null 2>&1
check "bad command is a usage error" test "$?" = 2
"$tool" --help | grep -q "HomePrefix" && ok "--help documents skel.conf" || bad "--help"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
