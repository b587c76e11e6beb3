#!/bin/bash
# hearth-skel on a fake root: sysusers.d declarations (override, mask,
# malformed lines, duplicates), the skel merge, owners from the image's
# passwd, existing homes untouched, HomePrefix= from the first skel.conf
# found, idempotence, --dry-run, symlinks refused anywhere in a home's path;
# and `seed` by hand, --help, --version and exit codes.
# Usage: test-hearth-skel.sh HEARTH_SKEL
set -u
tool=$1
[ "$(id -u)" = 0 ] || { echo "needs root (chown)"; exit 77; }
tmp=$(mktemp -d /tmp/hearth-skel-test.XXXXXX)
# A skel template (read-only subvolume) goes first, if /tmp is Btrfs.
trap 'for t in "$tmp"/home-root/.#hearth-skel-template/*; do [ -e "$t" ] && btrfs subvolume delete "$t" >/dev/null 2>&1; done
      rm -rf "$tmp"' EXIT
R=$tmp/root
# Where hearth-skel keeps the skel template (skel/skel-template.h) when a
# seed lands on its Btrfs: never the host's /home.
mkdir "$tmp/home-root" && export HEARTH_HOME_ROOT=$tmp/home-root
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# run NAME ARGS...: output in $tmp/NAME.out and .err, exit status in $rc.
run() { local n=$1; shift; timeout 30 "$tool" "$@" > "$tmp/$n.out" 2> "$tmp/$n.err"; rc=$?; }
contains() { # contains DESC FILE TEXT
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1: no \"$3\" in $2:"; cat "$2"; fi
}
lacks() {
    if grep -qF -- "$3" "$2"; then bad "$1: \"$3\" in $2"; else ok "$1"; fi
}
rc_is() { if [ "$rc" = "$2" ]; then ok "$1"; else bad "$1: exit $rc, expected $2"; fi; }
# Everything about every entry below the root, to prove that nothing changed.
listing() { (cd "$R" && find . -printf '%p %y %m %u %g %s %T@ %l\n' | LC_ALL=C sort); }
owner() { stat -c %u:%g:%a "$1"; }

mkdir -p "$R/etc/sysusers.d" "$R/run/sysusers.d" "$R/usr/lib/sysusers.d" "$R/etc/skel/.config" \
         "$R/usr/etc/skel" "$R/home/busy" "$R/home/empty" "$R/home/foreign" "$R/srv/users" "$R/opt" \
         "$R/etc/hearth" "$R/usr/lib/hearth" "$tmp/outside"
cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
svc:x:901:911::/home/svc:/usr/sbin/nologin
busy:x:902:902::/home/busy:/usr/sbin/nologin
other:x:903:903::/srv/users/other:/usr/sbin/nologin
empty:x:904:904::/home/empty:/usr/sbin/nologin
far:x:905:905::/opt/far:/usr/sbin/nologin
quoted:x:906:906::/home/with space:/usr/sbin/nologin
runner:x:907:907::/home/runner:/usr/sbin/nologin
foreign:x:908:908::/home/foreign:/usr/sbin/nologin
linked:x:909:909::/home/linked:/usr/sbin/nologin
masked2:x:910:910::/home/masked2:/usr/sbin/nologin
moved:x:915:915::/var/lib/moved:/usr/sbin/nologin
P
# /usr/lib/sysusers.d: the vendor's; /etc overrides svc.conf and masks masked.conf;
# /run overrides runtime.conf.
cat > "$R/usr/lib/sysusers.d/svc.conf" <<'S'
u svc 901 "Service" /home/old-svc-home
S
cat > "$R/etc/sysusers.d/svc.conf" <<'S'
# overrides /usr/lib/sysusers.d/svc.conf
u svc 901:911 "Service" /home/svc
S
cat > "$R/usr/lib/sysusers.d/more.conf" <<'S'
g grp 950
u busy 902 - /home/busy
u other 903 - /srv/users/other
u empty 904 - /home/empty
u far 905 - /opt/far
u nobody-here 990 - /home/nobody-here
u roothome 0 - /home
u daemon 1 - /usr/sbin
u quoted 906 "Quoted \"user\"" "/home/with space" /usr/sbin/nologin
u bad:name 907 - /home/bad
u foreign 908 - /home/foreign
u linked 909 - /home/linked
u moved 915 - /home/moved
m svc grp
r - 900-999
S
# Sorts after svc.conf: the first declaration of a user wins, as in systemd-sysusers.
cat > "$R/usr/lib/sysusers.d/zz-dup.conf" <<'S'
u svc 901 - /home/svc-again
S
cat > "$R/usr/lib/sysusers.d/masked.conf" <<'S'
u masked2 910 - /home/masked2
S
ln -s /dev/null "$R/etc/sysusers.d/masked.conf"
cat > "$R/usr/lib/sysusers.d/runtime.conf" <<'S'
u runner 907 - /home/runner-vendor
S
cat > "$R/run/sysusers.d/runtime.conf" <<'S'
u runner 907 - /home/runner
S
echo 'u notconf 911 - /home/notconf' > "$R/usr/lib/sysusers.d/notconf.txt"
echo 'u hidden 912 - /home/hidden' > "$R/usr/lib/sysusers.d/.hidden.conf"
echo 'etc profile' > "$R/etc/skel/.profile"
echo 'app' > "$R/etc/skel/.config/app.conf"
echo 'usr profile' > "$R/usr/etc/skel/.profile"
echo 'usr only' > "$R/usr/etc/skel/.usr-only"
echo 'masked' > "$R/usr/etc/skel/.masked"
ln -s /dev/null "$R/etc/skel/.masked"
echo 'keep me' > "$R/home/busy/file"
chown 902:902 "$R/home/busy" "$R/home/busy/file"
chmod 0751 "$R/home/empty"
chown 1234:1234 "$R/home/foreign"
ln -s "$tmp/outside" "$R/home/linked"
# /usr/lib's skel.conf is shadowed by /etc's (first found wins), which at
# first allows nothing beyond /home.
echo 'HomePrefix=/opt' > "$R/usr/lib/hearth/skel.conf"
printf '# nothing yet\n\n' > "$R/etc/hearth/skel.conf"

# --dry-run: says what it would do, changes nothing.
listing > "$tmp/before-dry"
run dry --root "$R" --dry-run sysusers
rc_is "dry run exits 0" 0
listing > "$tmp/after-dry"
check "dry run changes nothing" cmp -s "$tmp/before-dry" "$tmp/after-dry"
contains "dry run: new home" "$tmp/dry.out" "would seed /home/svc (new directory, owner 901:911)"
contains "dry run: empty home" "$tmp/dry.out" "would seed /home/empty (existing empty directory, owner 904:904)"
contains "dry run: busy home" "$tmp/dry.out" "skipped /home/busy: not empty"
contains "dry run: summary" "$tmp/dry.out" "would seed 4 homes"

run first --root "$R" sysusers
cat "$tmp/first.out" "$tmp/first.err"
rc_is "first run exits 0" 0
check "svc home created where /etc's declaration says" test -d "$R/home/svc"
check "overridden /usr/lib declaration ignored" test ! -e "$R/home/old-svc-home"
check "new home owned by the image's UID:GID, mode 0700" test "$(owner "$R/home/svc")" = 901:911:700
check "/etc/skel wins over /usr/etc/skel" test "$(cat "$R/home/svc/.profile")" = "etc profile"
check "/usr/etc/skel merged in" test -f "$R/home/svc/.usr-only"
check "skel /dev/null masks" test ! -e "$R/home/svc/.masked"
check "files and directories owned by the user" \
    test "$(find "$R/home/svc" ! -user 901 -o ! -group 911 | wc -l)" = 0
contains "seeded line with counts" "$tmp/first.out" "seeded /home/svc (3 files, 1 directory, 0 symlinks)"
check "/run overrides /usr/lib" test -f "$R/home/runner/.profile" -a ! -e "$R/home/runner-vendor"
check "quoted home with a space" test "$(owner "$R/home/with space")" = 906:906:700
check "existing empty home seeded" test -f "$R/home/empty/.profile"
check "existing empty home given to the user, mode kept" test "$(owner "$R/home/empty")" = 904:904:751
check "non-empty home untouched" test "$(ls -A "$R/home/busy")" = file -a "$(owner "$R/home/busy")" = 902:902:755
contains "non-empty home reported" "$tmp/first.out" "skipped /home/busy: not empty"
check "empty home of another owner untouched" test -z "$(ls -A "$R/home/foreign")" -a "$(owner "$R/home/foreign")" = 1234:1234:755
contains "foreign owner reported" "$tmp/first.out" "skipped /home/foreign: empty, but owned by UID 1234"
check "symlinked home not followed" test -z "$(ls -A "$tmp/outside")" -a -L "$R/home/linked"
contains "symlinked home reported" "$tmp/first.out" "skipped /home/linked: is a symbolic link"
check "outside /home not seeded without HomePrefix" test ! -e "$R/srv/users/other"
check "a shadowed skel.conf is not read" test ! -e "$R/opt/far"
contains "outside /home reported" "$tmp/first.out" "skipped /srv/users/other: home of other, not below /home"
check "/home itself not seeded" test ! -e "$R/home/.profile"
contains "no-home user reported" "$tmp/first.out" "skipped /usr/sbin: home of daemon"
check "user whose passwd home differs not seeded" test ! -e "$R/home/moved"
contains "differing home reported" "$tmp/first.out" "skipped /home/moved: not the home of moved in the user database"
contains "differing home warned about" "$tmp/first.err" "more.conf:13: user moved has the home /var/lib/moved"
check "unknown user skipped" test ! -e "$R/home/nobody-here"
contains "unknown user warned about with file:line" "$tmp/first.err" \
    "usr/lib/sysusers.d/more.conf:6: user nobody-here is not known in the image's /etc/passwd"
check "masked sysusers.d file ignored" test ! -e "$R/home/masked2"
check "non-.conf and hidden files ignored" test ! -e "$R/home/notconf" -a ! -e "$R/home/hidden"
contains "malformed line reported with file:line" "$tmp/first.err" "more.conf:10: invalid user name \"bad:name\""
check "malformed line skipped" test ! -e "$R/home/bad"
contains "duplicate declaration reported" "$tmp/first.err" "zz-dup.conf:1: user \"svc\" is already declared at $R/etc/sysusers.d/svc.conf:2"
check "duplicate declaration ignored" test ! -e "$R/home/svc-again"
check "no temporary directories left" test -z "$(find "$R" -name '.#hearth-skel*')"
contains "summary" "$tmp/first.out" "seeded 4 homes"

# Idempotence: nothing changes, and the tool says so.
listing > "$tmp/before"
run second --root "$R" sysusers
rc_is "second run exits 0" 0
listing > "$tmp/after"
check "second run changes nothing" cmp -s "$tmp/before" "$tmp/after"
contains "second run: svc not empty" "$tmp/second.out" "skipped /home/svc: not empty"
contains "second run says so" "$tmp/second.out" "nothing to do"
lacks "second run seeds nothing" "$tmp/second.out" "seeded /"

# HomePrefix= in /etc/hearth/skel.conf allows /srv/users (not /opt, which
# only the shadowed /usr/lib file names); bad lines are reported.
cat > "$R/etc/hearth/skel.conf" <<'C'
# homes of service users
  HomePrefix = /srv/users/
HomePrefix=relative
HomePrefix=/
Frobnicate=yes
HomePrefix=/srv/../opt
C
run prefix --root "$R" sysusers
rc_is "HomePrefix run exits 0" 0
check "HomePrefix= allows /srv/users" test "$(owner "$R/srv/users/other")" = 903:903:700 -a -f "$R/srv/users/other/.profile"
check "/opt still not seeded" test ! -e "$R/opt/far"
contains "relative HomePrefix reported" "$tmp/prefix.err" "etc/hearth/skel.conf:3: HomePrefix= needs an absolute path"
contains "HomePrefix=/ refused" "$tmp/prefix.err" "etc/hearth/skel.conf:4: HomePrefix=/ would seed every home"
contains "unknown setting reported" "$tmp/prefix.err" "etc/hearth/skel.conf:5: unknown setting \"Frobnicate\""
contains "a '..' in HomePrefix reported" "$tmp/prefix.err" "etc/hearth/skel.conf:6:"

# With /etc's file gone, /run's is next, then /usr/lib's.
rm "$R/etc/hearth/skel.conf"
run usrlib --root "$R" sysusers
check "/usr/lib/hearth/skel.conf used when it is the first found" test -f "$R/opt/far/.profile"

# A skel.conf that is a FIFO is an error, not a hang.
mkfifo "$R/etc/hearth/skel.conf"
run fifo --root "$R" sysusers
rc_is "FIFO skel.conf is an error" 1
contains "FIFO skel.conf named" "$tmp/fifo.err" "etc/hearth/skel.conf: cannot read"
rm "$R/etc/hearth/skel.conf"

# A symlinked /home in the image is never followed, nor is any component.
echo 'u late 913 - /home/late' > "$R/etc/sysusers.d/late.conf"
echo 'late:x:913:913::/home/late:/bin/sh' >> "$R/etc/passwd"
mv "$R/home" "$R/home.real" && ln -s "$tmp/outside" "$R/home"
run symlink --root "$R" sysusers
rc_is "symlinked /home is a failure" 1
contains "symlinked /home named" "$tmp/symlink.err" "/home/late: /home is a symbolic link, refusing to follow it"
contains "failure line" "$tmp/symlink.out" "failed /home/late"
check "nothing written through the symlink" test -z "$(ls -A "$tmp/outside")"
rm "$R/home" && mv "$R/home.real" "$R/home"
# A missing parent is a failure too, and names the parent.
echo 'u deep 914 - /home/no/such/deep' > "$R/etc/sysusers.d/deep.conf"
echo 'deep:x:914:914::/home/no/such/deep:/bin/sh' >> "$R/etc/passwd"
run deep --root "$R" sysusers
rc_is "missing parent is a failure" 1
contains "missing parent named" "$tmp/deep.err" "parent directory /home/no does not exist"
check "the other home still seeded" test -f "$R/home/late/.profile"
rm "$R/etc/sysusers.d/deep.conf"

# seed by hand.
run seed1 --skel "$R/etc/skel" seed 60123:60124 "$tmp/manual"
rc_is "seed UID:GID exits 0" 0
check "seed creates the target 0700, owned" test "$(owner "$tmp/manual")" = 60123:60124:700
check "seed copies --skel" test -f "$tmp/manual/.profile" -a -f "$tmp/manual/.config/app.conf" -a ! -e "$tmp/manual/.usr-only"
contains "seed says so" "$tmp/seed1.out" "seeded $tmp/manual ("
run seed2 seed 60123:60123 "$tmp/manual"
rc_is "seed refuses a non-empty target" 1
contains "non-empty target named" "$tmp/seed2.err" "$tmp/manual: not empty, refusing to seed it"
mkdir "$tmp/empty-target"
run seed3 --root "$R" seed svc /home/hand
rc_is "seed with --root resolves the user in the image" 0
check "seed with --root: target below the root" test "$(owner "$R/home/hand")" = 901:911:700 -a -f "$R/home/hand/.usr-only"
run seed4 --skel "$R/etc/skel" seed 60123:60123 "$tmp/empty-target"
check "seed into an empty directory" test "$rc" = 0 -a -f "$tmp/empty-target/.profile"
ln -s "$tmp/outside" "$tmp/link-target"
run seed5 --skel "$R/etc/skel" seed 60123:60123 "$tmp/link-target"
rc_is "seed refuses a symlinked target" 1
check "nothing written through the target symlink" test -z "$(ls -A "$tmp/outside")"
run seed6 --skel "$R/etc/skel" seed 60123:60123 "$tmp/link-target/sub"
rc_is "seed refuses a symlinked parent" 1
run seed7 --dry-run --skel "$R/etc/skel" seed 60123:60123 "$tmp/dry-target"
check "seed --dry-run creates nothing" test "$rc" = 0 -a ! -e "$tmp/dry-target"
contains "seed --dry-run says so" "$tmp/seed7.out" "would seed $tmp/dry-target (new directory, owner 60123:60123)"
run seed8 seed no-such-user-xyz "$tmp/x"
rc_is "seed refuses an unknown user" 1
contains "unknown user named" "$tmp/seed8.err" "no-such-user-xyz: no such user"
run seed9 seed 12:x "$tmp/x"
rc_is "malformed UID:GID is a usage error" 2
run seed10 seed 65535:1 "$tmp/x"
rc_is "UID 65535 is a usage error" 2
run seed11 seed 0:0 relative/path
rc_is "relative TARGET is a usage error" 2
run seed12 seed 0:0 /
rc_is "TARGET / is a usage error" 2
run seed13 seed 0:0 /tmp/../etc
rc_is "TARGET with .. is a usage error" 2
check "nothing created by refused seeds" test ! -e "$tmp/x"

# Command line.
run usage1 frob
rc_is "bad command is a usage error" 2
run usage2
rc_is "no command is a usage error" 2
run usage3 sysusers extra
rc_is "extra argument is a usage error" 2
run usage4 --frob sysusers
rc_is "unknown option is a usage error" 2
run usage5 --root relative sysusers
rc_is "relative --root is a usage error" 2
run usage6 --root "$tmp/no-such-root" sysusers
rc_is "missing --root is a failure" 1
run help --help
rc_is "--help exits 0" 0
for s in "Usage: hearth-skel" "Commands:" "Options:" "Files:" "Exit status:" "HomePrefix=/srv/users" \
         "/usr/lib/hearth/skel.conf" "--dry-run" "--root DIR" "--skel DIR" "0700"; do
    contains "--help: $s" "$tmp/help.out" "$s"
done
run version --version
rc_is "--version exits 0" 0
check "--version format" grep -qE '^hearth-skel \(hearth\) [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/version.out"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
