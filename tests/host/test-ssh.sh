#!/bin/sh
# Logging in with ssh keys from the record: a real sshd on 127.0.0.1 with
# AuthorizedKeysCommand hearth-ssh-authorized-keys, against hearthd on a
# private bus. Hearth users resolve through NSS as on a real machine; here
# sshd and the helper run under nss_wrapper with this machine's users plus
# the passwd/group files hearthd writes for libnss_hearth.
#   test-ssh.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || hearthd_skip "needs sshd (Debian package openssh-server)"
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || hearthd_skip "needs ssh, ssh-keygen (openssh-client)"
NSSWRAP=$(_hearthd_nss_wrapper) || hearthd_skip "needs nss_wrapper (Debian package libnss-wrapper)"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
HELPER=$BUILDDIR/hearth-ssh/hearth-ssh-authorized-keys
T=$HEARTHD_TMP
# The helper is built with sanitizers: their runtimes first, then nss_wrapper.
SAN_PRELOAD="$(ldd "$HELPER" | awk '/libasan\.so/ { printf "%s ", $3 }')$(ldd "$HELPER" | awk '/libubsan\.so/ { printf "%s ", $3 }')"

# --- users -------------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C kim@test -f "$T/kim-key" || bad "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger-key" || bad "ssh-keygen"
NEWPASSWORD=kim-pw check "create kim with an ssh key" 0 "$homectl" create kim --storage=directory \
    --ssh-authorized-keys=@"$T/kim-key.pub"
NEWPASSWORD=nokey-pw check "create nokey without one" 0 "$homectl" create nokey --storage=directory
# NSS as sshd sees it: this machine's users, then Hearth's.
getent passwd >"$T/passwd"
cat "$HEARTHD_RUNTIME_DIR/passwd" >>"$T/passwd"
getent group >"$T/group"
cat "$HEARTHD_RUNTIME_DIR/group" >>"$T/group"
grep -q '^kim:' "$T/passwd" || bad "kim is not in hearthd's NSS file"

helper() { # helper PASSWD USER...: the helper as sshd runs it, with NSS from PASSWD
    _pw=$1; shift
    env HEARTH_RUNTIME_DIR="$HEARTHD_RUNTIME_DIR" LD_PRELOAD="$SAN_PRELOAD$NSSWRAP" NSS_WRAPPER_PASSWD="$_pw" \
        NSS_WRAPPER_GROUP="$T/group" ASAN_OPTIONS=detect_leaks=0 "$HELPER" "$@"
}

# --- the helper ------------------------------------------------------------------------
check "kim's keys: exit 0" 0 helper "$T/passwd" kim
[ "$out" = "$(cat "$T/kim-key.pub")" ] && ok "exactly her key, one line" || bad "printed: $out"
check "a record without keys: exit 1" 1 helper "$T/passwd" nokey
[ -z "$out" ] && ok "nothing printed for nokey" || bad "printed for nokey: $out"
check "a user Hearth does not manage: exit 3" 3 helper "$T/passwd" root
[ -z "$out" ] && ok "nothing printed for root" || bad "printed for root: $out"
check "no such user: exit 3" 3 helper "$T/passwd" nosuchuser
check "not a user name: exit 2" 2 helper "$T/passwd" ../kim
check "no argument: exit 2" 2 helper "$T/passwd"
check "two arguments: exit 2" 2 helper "$T/passwd" kim nokey
# A local account called kim earlier in nsswitch.conf (another UID): sshd
# would log in to it, so her record's keys must not open it.
grep -v '^kim:' "$T/passwd" >"$T/passwd-shadowed"
sed -i '1i kim:x:4242:4242::/nonexistent:/bin/sh' "$T/passwd-shadowed"
check "NSS names another kim: exit 3" 3 helper "$T/passwd-shadowed" kim
[ -z "$out" ] && ok "no keys for the other kim" || bad "printed for the other kim: $out"
contains "says why" "$T/err" "not the Hearth user's"
# Not root: hearthd leaves the privileged section (the keys) out.
chmod 755 "$T"
check "as another user: exit 5" 5 hearthd_as_user 60500 env HEARTH_RUNTIME_DIR="$HEARTHD_RUNTIME_DIR" \
    LD_PRELOAD="$SAN_PRELOAD$NSSWRAP" NSS_WRAPPER_PASSWD="$T/passwd" NSS_WRAPPER_GROUP="$T/group" \
    ASAN_OPTIONS=detect_leaks=0 "$HELPER" kim
contains "says to run it as root" "$T/err" "AuthorizedKeysCommandUser root"
[ -z "$out" ] && ok "nothing printed unprivileged" || bad "printed unprivileged: $out"

# --- a real sshd -------------------------------------------------------------------------
# sshd runs AuthorizedKeysCommand only from a path whose every directory is
# root's and writable by no one else (so not under /tmp), with an emptied
# environment: a wrapper there hands the helper this test's bus and NSS.
SSHDIR=$(mktemp -d /run/hearth-ssh-test.XXXXXX) || hearthd_skip "cannot create a directory in /run"
hearthd_at_exit "rm -rf '$SSHDIR'"
cat >"$SSHDIR/keys-command" <<EOF
#!/bin/sh
exec env DBUS_SYSTEM_BUS_ADDRESS='$DBUS_SYSTEM_BUS_ADDRESS' HEARTH_RUNTIME_DIR='$HEARTHD_RUNTIME_DIR' \
    LD_PRELOAD='$SAN_PRELOAD$NSSWRAP' NSS_WRAPPER_PASSWD='$T/passwd' NSS_WRAPPER_GROUP='$T/group' \
    ASAN_OPTIONS=detect_leaks=0 '$HELPER' "\$@" 2>>'$T/helper.log'
EOF
chmod 755 "$SSHDIR/keys-command"
ssh-keygen -q -t ed25519 -N '' -f "$SSHDIR/host-key" || bad "host key"
port=$((20000 + $$ % 20000))
while ss -Htln "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done
cat >"$SSHDIR/sshd_config" <<EOF
ListenAddress 127.0.0.1:$port
HostKey $SSHDIR/host-key
PidFile none
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
StrictModes no
AuthorizedKeysFile none
AuthorizedKeysCommand $SSHDIR/keys-command %u
AuthorizedKeysCommandUser root
LogLevel VERBOSE
EOF
mkdir -p /run/sshd # its privilege separation directory, as its package creates it
LD_PRELOAD=$NSSWRAP NSS_WRAPPER_PASSWD=$T/passwd NSS_WRAPPER_GROUP=$T/group \
    "$SSHD" -D -e -f "$SSHDIR/sshd_config" >"$T/sshd.log" 2>&1 </dev/null &
sshd_pid=$!
hearthd_at_exit "kill $sshd_pid 2>/dev/null; wait $sshd_pid 2>/dev/null"
i=0
while ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; do
    if ! kill -0 "$sshd_pid" 2>/dev/null || [ $i -ge 100 ]; then
        bad "sshd did not start:"; cat "$T/sshd.log"; hearthd_finish
    fi
    sleep 0.1; i=$((i + 1))
done
ok "sshd listens on 127.0.0.1:$port"

login() { # login USER KEY: ssh USER@127.0.0.1 true with KEY only
    timeout 60 ssh -F /dev/null -i "$2" -p "$port" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20 "$1@127.0.0.1" true
}
check "kim logs in with her key" 0 login kim "$T/kim-key"
contains "sshd took her key from the helper" "$T/sshd.log" "Accepted publickey for kim"
check "kim with another key: refused" 255 login kim "$T/stranger-key"
contains "publickey refused" "$T/err" "Permission denied"
check "nokey (no key in her record): refused" 255 login nokey "$T/kim-key"
contains "publickey refused" "$T/err" "Permission denied"
# Her key removed from the record: refused from then on.
check "kim's keys dropped" 0 "$homectl" update kim --ssh-authorized-keys=
check "kim without keys: refused" 255 login kim "$T/kim-key"
if [ "$fails" -ne 0 ]; then
    echo "--- sshd log"; cat "$T/sshd.log"
    echo "--- helper log"; cat "$T/helper.log" 2>/dev/null
fi
hearthd_finish
