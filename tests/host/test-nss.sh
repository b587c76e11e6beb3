#!/bin/sh
# libnss_hearth.so.2 in real programs, reading files in hearthd's format:
#  1. nss_wrapper's module mode (NSS_WRAPPER_MODULE_SO_PATH, empty
#     NSS_WRAPPER_PASSWD/GROUP): getent passwd/group by name, by ID, and
#     enumerated; missing and hostile files.
#  2. glibc itself, in a mount namespace with a bind-mounted
#     /etc/nsswitch.conf ("passwd: files hearth", the module found through
#     LD_LIBRARY_PATH): id (initgroups_dyn, memberOf), getent with an entry
#     larger than glibc's first buffer (ERANGE and retry), ls-style owner
#     names. nss_wrapper 1.1.12 cannot show initgroups: its getgrouplist()
#     walks getgrent() and never asks a module's initgroups_dyn.
#  3. End to end: hearthd on a private bus (lib-hearthd.sh), a user created
#     with homectl --member-of, then removed, seen by getent and id.
#   test-nss.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$(cd "$1" && pwd) || exit 1
SRCDIR=$(cd "$2" && pwd) || exit 1
MODULE=$BUILDDIR/nss/libnss_hearth.so.2
. "$SRCDIR/tests/host/lib-hearthd.sh"

[ -f "$MODULE" ] || { echo "FAIL: $MODULE not built"; exit 1; }
NSSWRAP=$(_hearthd_nss_wrapper) || hearthd_skip "needs nss_wrapper (Debian package libnss-wrapper)"

# A module built with ASan/UBSan (the test configuration) needs their
# runtimes loaded first into getent and id, which are not.
SAN_PRELOAD=$(ldd "$MODULE" | awk '/lib(a|ub|t)san\.so/ { printf "%s ", $3 }')
if [ -z "$SAN_PRELOAD" ] && nm -D --undefined-only "$MODULE" 2>/dev/null | grep -q ' __asan_'; then
    hearthd_skip "the module has a static sanitizer runtime (clang without -shared-libsan): cannot load it into getent"
fi
# getent's and id's own leaks are not ours to report.
SAN_OPTIONS=detect_leaks=0

T=$(mktemp -d /tmp/hearth-test-nss.XXXXXX) || exit 1
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
RUN=$T/run
mkdir "$RUN"
: >"$T/empty"

# A group every system has, for memberOf ("audio" on Debian).
for g in audio users root; do
    OTHER=$(getent group "$g") && break
done
OTHER_NAME=${OTHER%%:*}
OTHER_GID=$(echo "$OTHER" | cut -d: -f3)

# hearthd's format (hearthd/nss-files.c): each user's own group, memberOf as
# members of another home's group or of a line for a group defined elsewhere.
LONG_GECOS=$(head -c 5000 /dev/zero | tr '\0' 'g')
cat >"$RUN/passwd" <<EOF
hearth-alice:x:60001:60001:Alice Liddell:/home/hearth-alice:/bin/sh
hearth-bob:x:60002:60002:Bob:/home/hearth-bob:/bin/bash
hearth-long:x:60003:60003:$LONG_GECOS:/home/hearth-long:/bin/sh
EOF
cat >"$RUN/group" <<EOF
hearth-alice:x:60001:
hearth-bob:x:60002:hearth-alice
hearth-long:x:60003:
$OTHER_NAME:x:$OTHER_GID:hearth-alice,hearth-bob
EOF
chmod 644 "$RUN/passwd" "$RUN/group"

run() { # run DESC RC CMD...: like check, output in $T/out, $T/err
    _desc=$1 _want=$2; shift 2
    if "$@" >"$T/out" 2>"$T/err"; then _rc=0; else _rc=$?; fi
    if [ "$_rc" -eq "$_want" ]; then
        ok "$_desc"
    else
        bad "$_desc: exit $_rc, expected $_want"
        sed 's/^/    stdout: /' "$T/out"
        sed 's/^/    stderr: /' "$T/err"
    fi
}
same() { # same DESC FILE EXPECTED
    if [ "$(cat "$2")" = "$3" ]; then ok "$1"; else bad "$1: got:"; sed 's/^/    /' "$2"; echo "    expected:"; echo "$3" | sed 's/^/    /'; fi
}
quiet() { # quiet DESC: nothing on stderr (the module never prints)
    if [ -s "$T/err" ]; then bad "$1: stderr:"; sed 's/^/    /' "$T/err"; else ok "$1"; fi
}

nsswrap() { # nsswrap DIR CMD...
    _dir=$1; shift
    env LD_PRELOAD="$SAN_PRELOAD$NSSWRAP" NSS_WRAPPER_PASSWD="$T/empty" NSS_WRAPPER_GROUP="$T/empty" \
        NSS_WRAPPER_MODULE_SO_PATH="$MODULE" NSS_WRAPPER_MODULE_FN_PREFIX=hearth \
        NSS_WRAPPER_DISABLE_DEEPBIND=1 ASAN_OPTIONS="$SAN_OPTIONS" HEARTH_RUNTIME_DIR="$_dir" "$@"
}

# ---- 1. nss_wrapper ------------------------------------------------------------------------
run "getent passwd by name" 0 nsswrap "$RUN" getent passwd hearth-alice
same "alice's passwd line" "$T/out" "hearth-alice:x:60001:60001:Alice Liddell:/home/hearth-alice:/bin/sh"
run "getent passwd by UID" 0 nsswrap "$RUN" getent passwd 60002
same "bob's passwd line" "$T/out" "hearth-bob:x:60002:60002:Bob:/home/hearth-bob:/bin/bash"
run "getent group by name" 0 nsswrap "$RUN" getent group hearth-alice
same "alice's own group" "$T/out" "hearth-alice:x:60001:"
run "getent group by GID" 0 nsswrap "$RUN" getent group 60002
same "bob's group lists alice (her memberOf)" "$T/out" "hearth-bob:x:60002:hearth-alice"
run "a group defined elsewhere is not answered" 2 nsswrap "$RUN" getent group "$OTHER_NAME"
run "getent passwd enumerates" 0 nsswrap "$RUN" getent passwd
cut -d: -f1,3 "$T/out" >"$T/names"
same "enumeration: file order" "$T/names" "hearth-alice:60001
hearth-bob:60002"
run "getent group enumerates" 0 nsswrap "$RUN" getent group
same "group enumeration: the users' own groups, in file order" "$T/out" "hearth-alice:x:60001:
hearth-bob:x:60002:hearth-alice
hearth-long:x:60003:"
run "unknown user" 2 nsswrap "$RUN" getent passwd hearth-nobody
quiet "unknown user: nothing printed"

run "no files: not found" 2 nsswrap "$T/none" getent passwd hearth-alice
quiet "no files: nothing printed"
run "no files: enumeration is empty" 0 nsswrap "$T/none" getent passwd
same "no files: no entries" "$T/out" ""

# Hostile files: junk, a NUL, an endless line, a forged NIS line; the good
# lines still answer.
mkdir "$T/hostile"
{
    printf 'junk\n::::::\n+:x:0:0::/:/bin/sh\nroot2:x:-1:0::/:/bin/sh\nnul:x:7:7:\000:/:/bin/sh\n'
    printf 'endless:x:8:8:'; head -c 100000 /dev/zero | tr '\0' 'a'; printf ':/:/bin/sh\n'
    printf 'hearth-carol:x:60004:60004::/home/hearth-carol:/bin/sh'
} >"$T/hostile/passwd"
head -c 20000 /dev/urandom >"$T/hostile/group"
chmod 644 "$T/hostile/passwd" "$T/hostile/group"
run "hostile passwd: the good line answers" 0 nsswrap "$T/hostile" getent passwd hearth-carol
same "hostile passwd: carol's line" "$T/out" "hearth-carol:x:60004:60004::/home/hearth-carol:/bin/sh"
run "hostile passwd: enumeration" 0 nsswrap "$T/hostile" getent passwd
same "hostile passwd: only the good line" "$T/out" "hearth-carol:x:60004:60004::/home/hearth-carol:/bin/sh"
run "random group file: no crash" 0 nsswrap "$T/hostile" getent group
quiet "hostile files: nothing printed"
# Writable by everyone: refused (UNAVAIL), quietly.
cp -p "$RUN/passwd" "$T/hostile/passwd"
chmod 666 "$T/hostile/passwd"
run "world-writable passwd is refused" 2 nsswrap "$T/hostile" getent passwd hearth-alice
quiet "refused file: nothing printed"

# ---- 2. glibc in a mount namespace ---------------------------------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
    echo "SKIP: glibc part (needs root and mount namespaces)"
elif [ -S /run/nscd/socket ] || [ -S /var/run/nscd/socket ]; then
    echo "SKIP: glibc part (nscd runs and would answer first)"
else
    printf 'passwd: files hearth\ngroup: files hearth\nshadow: files\n' >"$T/nsswitch.conf"
    glibc() { # glibc DIR CMD...
        _dir=$1; shift
        unshare -m --propagation private sh -c 'mount --bind "$0" /etc/nsswitch.conf && exec "$@"' "$T/nsswitch.conf" \
            env LD_LIBRARY_PATH="$BUILDDIR/nss" LD_PRELOAD="$SAN_PRELOAD" ASAN_OPTIONS="$SAN_OPTIONS" \
            HEARTH_RUNTIME_DIR="$_dir" "$@"
    }
    run "glibc: id" 0 glibc "$RUN" id hearth-alice
    same "glibc: id shows alice's memberOf groups" "$T/out" \
        "uid=60001(hearth-alice) gid=60001(hearth-alice) groups=60001(hearth-alice),60002(hearth-bob),$OTHER_GID($OTHER_NAME)"
    run "glibc: id -G" 0 glibc "$RUN" id -G hearth-bob
    same "glibc: bob's groups" "$T/out" "60002 $OTHER_GID"
    run "glibc: id -G, no memberships" 0 glibc "$RUN" id -G hearth-long
    same "glibc: only her own group" "$T/out" "60003"
    run "glibc: an entry larger than the first buffer" 0 glibc "$RUN" getent passwd hearth-long
    same "glibc: the whole entry after ERANGE" "$T/out" \
        "hearth-long:x:60003:60003:$LONG_GECOS:/home/hearth-long:/bin/sh"
    run "glibc: getent group" 0 glibc "$RUN" getent group hearth-bob
    same "glibc: bob's group" "$T/out" "hearth-bob:x:60002:hearth-alice"
    touch "$T/owned"
    chown 60001:60002 "$T/owned"
    run "glibc: owner names (ls -l)" 0 glibc "$RUN" stat -c '%U %G' "$T/owned"
    same "glibc: alice and bob's group own the file" "$T/out" "hearth-alice hearth-bob"
    run "glibc: enumeration after files" 0 glibc "$RUN" getent passwd
    tail -n 3 "$T/out" | cut -d: -f1 >"$T/names"
    same "glibc: hearth's users come last" "$T/names" "hearth-alice
hearth-bob
hearth-long"
    run "glibc: no files" 2 glibc "$T/none" getent passwd hearth-alice
    quiet "glibc: no files, nothing printed"
fi

# ---- 3. hearthd and homectl ------------------------------------------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v dbus-daemon >/dev/null || ! command -v setpriv >/dev/null; then
    echo "SKIP: hearthd part (needs root, dbus-daemon, setpriv)"
    hearthd_finish
fi
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_at_exit "rm -rf '$T'"
HR=$HEARTHD_RUNTIME_DIR

check "homectl create" 0 env NEWPASSWORD=pw "$HEARTHD_HOMECTL" --no-ask-password create nssuser \
    --storage=directory --real-name="NSS User" --member-of="$OTHER_NAME" --shell=/bin/sh
uid=$(awk -F: '$1 == "nssuser" { print $3 }' "$HR/passwd")
[ -n "$uid" ] && ok "hearthd wrote nssuser ($uid)" || bad "no nssuser in $HR/passwd"
contains "hearthd's group file: memberOf" "$HR/group" "$OTHER_NAME:x:$OTHER_GID:nssuser"
run "getent passwd sees the new user" 0 nsswrap "$HR" getent passwd nssuser
same "the line hearthd wrote" "$T/out" "$(grep '^nssuser:' "$HR/passwd")"
same "with the record's fields" "$T/out" "nssuser:x:$uid:$uid:NSS User:$HEARTHD_HOME_ROOT/nssuser:/bin/sh"
run "getent group sees her group" 0 nsswrap "$HR" getent group "$uid"
same "her own group" "$T/out" "nssuser:x:$uid:"
if type glibc >/dev/null 2>&1; then
    run "glibc: id of the new user" 0 glibc "$HR" id -G nssuser
    same "glibc: her memberOf group" "$T/out" "$uid $OTHER_GID"
fi
check "homectl remove" 0 "$HEARTHD_HOMECTL" --no-ask-password remove nssuser
run "getent no longer sees her" 2 nsswrap "$HR" getent passwd nssuser
run "nor her group" 2 nsswrap "$HR" getent group "$uid"

hearthd_finish
