#!/bin/sh
# homectl firstboot against hearthd on a private bus: the first user from
# home.create.* credentials ($CREDENTIALS_DIRECTORY and --credentials=DIR) or
# asked for on a terminal (driven through tmux); what stops it (a regular
# user, systemd.firstboot=no); a second run changing nothing; names, UIDs and
# paths already taken refused; passwords never shown and credential files
# never changed; the LSB script running it once; and --root=DIR preparing an
# image without hearthd that a hearthd started on it then serves.
#   test-firstboot.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

command -v tmux >/dev/null || hearthd_skip "needs tmux"
command -v perl >/dev/null || hearthd_skip "needs perl (for a yescrypt hash)"
HEARTHD_BTRFS_SIZE=1G
hearthd_setup "$BUILDDIR" "$SRCDIR"

T=$HEARTHD_TMP
R=$HEARTHD_HOME_ROOT
HC=$HEARTHD_HOMECTL
EX_DATAERR=65
hc() { "$HC" --no-ask-password "$@" </dev/null; }
# Everything homectl printed, to look for passwords in at the end.
keep() { cat "$T/out" "$T/err" >>"$T/all-output"; }
fb() { "$HC" --no-ask-password firstboot "$@" </dev/null; }
passwd_uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
sums() { (cd "$1" && find . -type f -exec sha256sum {} + | sort -k 2; find . -exec stat -c '%n %a %s %Y' {} + | sort); }

# The machine's own passwd and command line must not matter.
cat >"$T/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
svc:x:1001:1001:a service:/var/lib/svc:/usr/sbin/nologin
tool:x:1002:1002::/var/lib/tool:/bin/false
EOF
HEARTH_FIRSTBOOT_PASSWD=$T/passwd
HEARTH_PROC_CMDLINE="root=/dev/vda quiet"
export HEARTH_FIRSTBOOT_PASSWD HEARTH_PROC_CMDLINE

# --- tmux: a terminal to answer the questions on ----------------------------------------
TMUX_SOCK=$T/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
hearthd_at_exit "tmux -S '$TMUX_SOCK' kill-server 2>/dev/null"
# tm_run NAME ENV-ASSIGNMENTS...: homectl firstboot --prompt-new-user in a new
# session; its exit status lands in $T/NAME.rc; the pane stays for reading.
tm_run() {
    _n=$1; shift
    rm -f "$T/$_n.rc"
    {
        echo "export DBUS_SYSTEM_BUS_ADDRESS='$DBUS_SYSTEM_BUS_ADDRESS'"
        echo "export HEARTH_FIRSTBOOT_PASSWD='$HEARTH_FIRSTBOOT_PASSWD' HEARTH_PROC_CMDLINE='$HEARTH_PROC_CMDLINE'"
        for _a in "$@"; do echo "export $_a"; done
        echo "'$HC' firstboot --prompt-new-user"
        echo "echo \$? >'$T/$_n.rc'"
        echo "sleep 600"
    } >"$T/$_n.sh"
    tm new-session -d -s "$_n" -x 160 -y 50 "sh '$T/$_n.sh'"
}
pane() { tm capture-pane -p -J -S - -t "$1"; }
# wait_pane NAME TEXT: until the pane shows TEXT (20 s at most)
wait_pane() {
    _w=0
    until pane "$1" | grep -qF -- "$2"; do
        [ "$_w" -ge 200 ] && { bad "$1: no \"$2\" on the terminal:"; pane "$1" | sed 's/^/    /'; return 1; }
        sleep 0.1; _w=$((_w + 1))
    done
    return 0
}
# wait_rc NAME WANT: until homectl ended; pass if it exited WANT
wait_rc() {
    _w=0
    until [ -s "$T/$1.rc" ]; do
        [ "$_w" -ge 600 ] && { bad "$1: homectl did not end within 60s:"; pane "$1" | sed 's/^/    /'; return 1; }
        sleep 0.1; _w=$((_w + 1))
    done
    pane "$1" >"$T/$1.pane"
    cat "$T/$1.pane" >>"$T/all-output"
    [ "$(cat "$T/$1.rc")" = "$2" ] && ok "$1: exit $2" || { bad "$1: exit $(cat "$T/$1.rc"), expected $2:"; sed 's/^/    /' "$T/$1.pane"; }
    tm kill-session -t "$1" 2>/dev/null
    return 0
}
# answer NAME PROMPT TEXT: wait for PROMPT, type TEXT and Enter
answer() { wait_pane "$1" "$2" && tm send-keys -t "$1" -l -- "$3" && tm send-keys -t "$1" Enter; }

# --- nothing to do ---------------------------------------------------------------------------
check "no credentials, no --prompt-new-user" 0 fb
contains "says there is nothing to do" "$T/err" "no credentials for a first user and no --prompt-new-user"
check "--prompt-new-user without a terminal" 0 fb --prompt-new-user
contains "says it has no terminal" "$T/err" "no terminal to ask on"
check "no home was made" 0 hc list
contains "no homes" "$T/out" "No home areas."
check "firstboot takes no arguments" 2 hc firstboot alice
check "--root= is for firstboot only" 2 hc list --root=/
check "--credentials= must be absolute" 2 hc firstboot --credentials=creds

tm_run nocmdline HEARTH_PROC_CMDLINE="'quiet systemd.firstboot=no'"
wait_rc nocmdline 0
contains "systemd.firstboot=no: said so" "$T/nocmdline.pane" "systemd.firstboot=no"
lacks "systemd.firstboot=no: nothing asked" "$T/nocmdline.pane" "User name"

printf 'zoe:x:1000:1000:Zoe:/home/zoe:/bin/bash\n' >>"$T/passwd"
tm_run haveuser
wait_rc haveuser 0
contains "a passwd user with UID 1000: said so" "$T/haveuser.pane" "a regular user exists already (zoe)"
lacks "a passwd user with UID 1000: nothing asked" "$T/haveuser.pane" "User name"
sed -i '/^zoe:/d' "$T/passwd"

# --- asked on the terminal --------------------------------------------------------------------
tm_run ask
answer ask "User name (empty to skip): " "1pat"
wait_pane ask "is not a valid user name" && ok "prompt: an invalid name is refused"
answer ask "User name (empty to skip): " "root"
wait_pane ask "user root exists already" && ok "prompt: a name in use is refused"
tm send-keys -t ask -l "pat" && tm send-keys -t ask Enter
answer ask "Real name of pat (empty for none): " "Pat Prompted"
answer ask "New password: " "pat-typed-pw"
answer ask "Retype new password: " "pat-typed-pw"
answer ask "Groups of pat, comma-separated (empty for none): " "audio,video"
answer ask "Login shell (empty for the default): " "/nonexistent/sh"
wait_pane ask "not an executable program" && ok "prompt: a missing shell is refused"
tm send-keys -t ask -l "/bin/sh" && tm send-keys -t ask Enter
wait_rc ask 0
lacks "prompt: the password was not echoed" "$T/ask.pane" "pat-typed-pw"
pat_uid=$(passwd_uid pat)
contains "prompt: pat in the NSS passwd file" "$HEARTHD_RUNTIME_DIR/passwd" \
    "pat:x:$pat_uid:$pat_uid:Pat Prompted:$R/pat:/bin/sh"
check "prompt: inspect pat" 0 hc inspect pat
contains "prompt: pat's groups" "$T/out" "Member of: audio"
check "prompt: pat's password works" 0 env PASSWORD=pat-typed-pw "$HC" --no-ask-password authenticate pat
check "remove pat" 0 hc remove pat

# --- credentials ----------------------------------------------------------------------------------
C=$T/creds
mkdir -m 700 "$C"
bob_hash=$(perl -e 'print crypt("bob-cred-pw", q($y$j9T$F5Jx5fExrKuPp53xLKQ..1$))')
case $bob_hash in '$y$'*) ok "a yescrypt hash for bob" ;; *) bad "perl made no yescrypt hash: $bob_hash" ;; esac
printf '{"realName":"Alice Firstboot","storage":"directory","secret":{"password":["alice-cred-pw"]}}' \
    >"$C/home.create.alice"
printf '{"userName":"bob","storage":"subvolume","diskSize":67108864,"privileged":{"hashedPassword":["%s"]}}' \
    "$bob_hash" >"$C/home.create.bob"
printf '{"userName":"mallory","storage":"directory","secret":{"password":["carol-cred-pw"]}}' \
    >"$C/home.create.carol"
printf '{"storage":"directory","secret":{"password":["x"]}}' >"$C/home.create.no.dots"
printf 'not a credential of ours' >"$C/other.thing"
chmod 600 "$C"/*
sums "$C" >"$T/creds.before"

check "firstboot from \$CREDENTIALS_DIRECTORY" 0 env CREDENTIALS_DIRECTORY="$C" "$HC" --no-ask-password firstboot \
    --prompt-new-user
keep
contains "alice created" "$T/err" "home alice: created"
contains "bob created" "$T/err" "home bob: created"
contains "carol's credential skipped" "$T/err" "credential home.create.carol: its userName \"mallory\" is not carol; skipped"
contains "an invalid credential name skipped" "$T/err" "\"no.dots\" is not a valid user name; skipped"
lacks "no prompt after credentials" "$T/out" "User name"
alice_uid=$(passwd_uid alice) bob_uid=$(passwd_uid bob)
contains "NSS passwd: alice, right away" "$HEARTHD_RUNTIME_DIR/passwd" \
    "alice:x:$alice_uid:$alice_uid:Alice Firstboot:$R/alice:"
contains "NSS passwd: bob, right away" "$HEARTHD_RUNTIME_DIR/passwd" "bob:x:$bob_uid:$bob_uid:"
check "list" 0 hc list --no-legend
[ "$(awk '{ print $1 }' "$T/out" | tr '\n' ' ')" = "alice bob " ] && ok "list: alice and bob, no mallory or carol" \
    || { bad "list:"; cat "$T/out"; }
check "no mallory" 0 test ! -e "$R/mallory.homedir" -a ! -e "$R/carol.homedir" -a ! -e "$HEARTHD_STATE_DIR/mallory.identity"
btrfs subvolume show "$R/bob.homedir" >/dev/null 2>&1 && ok "bob's home is a subvolume" || bad "$R/bob.homedir is no subvolume"
check "bob: 64M" 0 hc inspect bob
contains "bob's disk size" "$T/out" "Disk size: 64M"
check "alice's password (secret.password) works" 0 env PASSWORD=alice-cred-pw "$HC" --no-ask-password authenticate alice
check "bob's password (hashedPassword) works" 0 env PASSWORD=bob-cred-pw "$HC" --no-ask-password authenticate bob
sums "$C" >"$T/creds.after"
cmp -s "$T/creds.before" "$T/creds.after" && ok "the credential files are unchanged" \
    || { bad "the credential files changed:"; diff "$T/creds.before" "$T/creds.after"; }

# --- a second run changes nothing -------------------------------------------------------------------
sums "$HEARTHD_STATE_DIR" >"$T/state.before"
stat -c '%i %Y' "$R/alice.homedir" "$R/bob.homedir" >"$T/homes.before"
check "second run" 0 env CREDENTIALS_DIRECTORY="$C" "$HC" --no-ask-password firstboot --prompt-new-user
keep
contains "second run: alice left alone" "$T/err" "credential home.create.alice: home alice exists already; left as it is"
contains "second run: bob left alone" "$T/err" "home bob exists already"
contains "second run: a regular user exists" "$T/err" "a regular user exists already (alice)"
sums "$HEARTHD_STATE_DIR" >"$T/state.after"
cmp -s "$T/state.before" "$T/state.after" && ok "second run: records unchanged" \
    || { bad "second run changed the records:"; diff "$T/state.before" "$T/state.after"; }
stat -c '%i %Y' "$R/alice.homedir" "$R/bob.homedir" | cmp -s "$T/homes.before" - && ok "second run: homes unchanged" \
    || bad "second run changed the homes"

# --- taken names, UIDs and paths are refused; errors are gathered ----------------------------------------
C2=$T/creds2
mkdir -m 700 "$C2"
printf '{"storage":"directory","secret":{"password":["daemon-pw"]}}' >"$C2/home.create.daemon"
printf '{"uid":%s,"storage":"directory","secret":{"password":["dave-pw"]}}' "$alice_uid" >"$C2/home.create.dave"
printf '{"storage":"directory","secret":{"password":["erin-pw"]}}' >"$C2/home.create.erin"
printf '{"storage":"directory","secret":{"password":' >"$C2/home.create.fay"
printf '{"storage":"directory"}' >"$C2/home.create.gus"
mkdir "$R/erin" && echo "someone's data" >"$R/erin/keep-me"
check "taken names, UIDs and paths" 1 fb --credentials="$C2"
keep
contains "a system user's name is refused" "$T/err" "daemon"
contains "a taken UID is refused" "$T/err" "UID $alice_uid is already in use"
contains "an existing home path is refused" "$T/err" "$R/erin already exists"
contains "malformed JSON is refused, naming the file" "$T/err" "$C2/home.create.fay"
contains "a credential without a password is refused" "$T/err" \
    "credential home.create.gus: has neither privileged.hashedPassword nor secret.password"
check "nothing of them was made" 0 test ! -e "$HEARTHD_STATE_DIR/dave.identity" -a ! -e "$R/dave.homedir" \
    -a ! -e "$R/erin.homedir" \
    -a ! -e "$HEARTHD_STATE_DIR/daemon.identity" -a ! -e "$HEARTHD_STATE_DIR/gus.identity"
check "erin's directory untouched" 0 grep -q "someone's data" "$R/erin/keep-me"
check "list still has two homes" 0 hc list --no-legend
[ "$(wc -l <"$T/out")" -eq 2 ] && ok "two homes" || { bad "list:"; cat "$T/out"; }
rm -rf "$R/erin"
mkdir -m 700 "$T/creds-json"
cp "$C2/home.create.fay" "$T/creds-json/"
check "malformed JSON: exit 65" "$EX_DATAERR" fb --credentials="$T/creds-json"
check "a missing --credentials directory" 66 fb --credentials="$T/nonexistent"

# --- the LSB script: once ------------------------------------------------------------------------------
C3=$T/creds3
mkdir -m 700 "$C3"
printf '{"storage":"directory","secret":{"password":["ivy-pw"]}}' >"$C3/home.create.ivy"
cat >"$T/fb-defaults" <<EOF
HOMECTL='$HC'
CREDENTIALS_DIR='$C3'
STAMP='$T/stamp/firstboot.done'
HOMECTL_OPTS=--no-ask-password
EOF
INIT=$BUILDDIR/data/hearth-firstboot.init
check "init script: status before" 3 env HEARTH_FIRSTBOOT_DEFAULTS="$T/fb-defaults" sh "$INIT" status
check "init script: start" 0 env HEARTH_FIRSTBOOT_DEFAULTS="$T/fb-defaults" sh "$INIT" start </dev/null
keep
contains "init script: ivy created" "$T/err" "home ivy: created"
check "init script: stamp written" 0 test -f "$T/stamp/firstboot.done"
check "init script: start again" 0 env HEARTH_FIRSTBOOT_DEFAULTS="$T/fb-defaults" sh "$INIT" start </dev/null
contains "init script: done before" "$T/out" "done on an earlier boot"
check "init script: status after" 0 env HEARTH_FIRSTBOOT_DEFAULTS="$T/fb-defaults" sh "$INIT" status
check "remove ivy" 0 hc remove ivy

# --- passwords never shown or logged ----------------------------------------------------------------------
for pw in alice-cred-pw bob-cred-pw carol-cred-pw pat-typed-pw dave-pw daemon-pw erin-pw ivy-pw; do
    lacks "homectl never printed $pw" "$T/all-output" "$pw"
    lacks "hearthd never logged $pw" "$HEARTHD_LOG" "$pw"
done

# --- offline: an image root, without hearthd ----------------------------------------------------------------
IMG=$T/image
mkdir -p "$IMG/etc/skel" "$IMG/home" "$IMG/var/lib"
printf 'root:x:0:0:root:/root:/bin/bash\nimgsvc:x:60100:60100::/nonexistent:/usr/sbin/nologin\n' >"$IMG/etc/passwd"
printf 'root:x:0:\naudio:x:29:\nimgsvc:x:60100:\n' >"$IMG/etc/group"
echo "from the image" >"$IMG/etc/skel/.image-skel"
# The image's /home on a Btrfs of its own, for a subvolume home.
truncate -s 512M "$T/image-home.btrfs"
mkfs.btrfs -q "$T/image-home.btrfs" >/dev/null 2>&1 || hearthd_skip "mkfs.btrfs failed"
IMG_LOOP=$(losetup --find --show "$T/image-home.btrfs") || hearthd_skip "no loop devices"
mount "$IMG_LOOP" "$IMG/home" || { bad "cannot mount the image's /home"; hearthd_finish; }
chmod 755 "$IMG/home"

IC=$T/image-creds
mkdir -m 700 "$IC" "$IC-bad"
frank_hash=$(perl -e 'print crypt("frank-pw", q($y$j9T$A5Jx5fExrKuPp53xLKQ..1$))')
case $frank_hash in '$y$'*) ok "a yescrypt hash for frank" ;; *) bad "perl made no yescrypt hash: $frank_hash" ;; esac
printf '{"realName":"Frank Offline","storage":"directory","privileged":{"hashedPassword":["%s"]}}' \
    "$frank_hash" >"$IC/home.create.frank"
printf '{"storage":"subvolume","diskSize":67108864,"memberOf":["audio"],"secret":{"password":["gina-pw"]}}' \
    >"$IC/home.create.gina"
printf '{"storage":"luks","secret":{"password":["hank-pw"]}}' >"$IC-bad/home.create.hank"
printf '{"uid":60100,"storage":"directory","secret":{"password":["iris-pw"]}}' >"$IC-bad/home.create.iris"
printf '{"storage":"directory","secret":{"password":["x"]}}' >"$IC-bad/home.create.imgsvc"
off() { env HEARTH_WORKER_PATH="$HEARTHD_WORKER" "$HC" --no-ask-password firstboot --root="$IMG" "$@" </dev/null; }

check "offline: --root=/ is refused" 2 env HEARTH_WORKER_PATH="$HEARTHD_WORKER" "$HC" firstboot --root=/
# An image whose var is a link to the host's: nothing may be written through it.
mkdir -p "$T/evil/etc" "$T/hostvar"
ln -s "$T/hostvar" "$T/evil/var"
check "offline: a symlinked var is refused" 1 env HEARTH_WORKER_PATH="$HEARTHD_WORKER" "$HC" --no-ask-password \
    firstboot --root="$T/evil" --credentials="$IC"
contains "offline: says why" "$T/err" "is a symbolic link"
check "offline: nothing written through the link" 0 test -z "$(ls -A "$T/hostvar")"
check "offline: frank and gina" 0 off --credentials="$IC"
keep
contains "offline: frank created" "$T/err" "home frank: created"
contains "offline: gina created" "$T/err" "home gina: created"
S=$IMG/var/lib/hearth
check "offline: records and the machine key in the image" 0 test -f "$S/frank.identity" -a -f "$S/gina.identity" \
    -a -f "$S/local.private" -a -f "$S/local.public"
[ "$(stat -c %a "$S/frank.identity")" = 600 ] && ok "offline: record mode 0600" || bad "offline: record mode"
frank_uid=$(jq -r .uid "$S/frank.identity") gina_uid=$(jq -r .uid "$S/gina.identity")
[ "$frank_uid" -ge 60001 ] && [ "$frank_uid" -le 60513 ] && [ "$frank_uid" != 60100 ] && [ "$gina_uid" != 60100 ] \
    && [ "$frank_uid" != "$gina_uid" ] && ok "offline: UIDs in the home range, not the image's 60100" \
    || bad "offline: UIDs $frank_uid $gina_uid"
[ "$(stat -c '%u %a' "$IMG/home/frank.homedir")" = "$frank_uid 700" ] && ok "offline: frank's home is his, 0700" \
    || bad "offline: frank's home: $(stat -c '%u %a' "$IMG/home/frank.homedir")"
btrfs subvolume show "$IMG/home/gina.homedir" >/dev/null 2>&1 && ok "offline: gina's home is a subvolume" \
    || bad "offline: gina's home is no subvolume"
[ "$(stat -c '%u:%g %a' "$IMG/home/gina.homedir")" = "65534:65534 700" ] && ok "offline: gina's home is stored as nobody" \
    || bad "offline: gina's home: $(stat -c '%u:%g %a' "$IMG/home/gina.homedir")"
check "offline: no home directories in the image, only storage" 0 test ! -e "$IMG/home/frank" -a ! -e "$IMG/home/gina"
check "offline: skel from the image" 0 grep -q "from the image" "$IMG/home/frank.homedir/.image-skel"
# Beside the image's skel, only ~/.identity: the record the home carries.
[ -z "$(ls -A /etc/skel 2>/dev/null)" ] || check "offline: not the build machine's skel" 0 \
    test "$(ls -A "$IMG/home/frank.homedir" | grep -vx .identity)" = ".image-skel"
[ "$(jq -r '.signature[0].key' "$IMG/home/frank.homedir/.identity" 2>/dev/null)" = "$(cat "$S/local.public")" ] \
    && ok "offline: the home carries its record, signed by the image's key" \
    || bad "offline: frank's ~/.identity: $(cat "$IMG/home/frank.homedir/.identity" 2>&1)"
lacks "offline: no binding of the build machine" "$S/frank.identity" '"binding"'
lacks "offline: no secret kept" "$S/gina.identity" '"secret"'
lacks "offline: no password kept" "$S/gina.identity" "gina-pw"
contains "offline: signed" "$S/frank.identity" '"signature"'
check "offline: nothing is left in the temporary directories" 0 sh -c "! ls -d /tmp/hearth-firstboot.* 2>/dev/null"

sums "$S" >"$T/img.before"
check "offline: second run" 0 off --credentials="$IC"
contains "offline: second run leaves frank alone" "$T/err" "home frank exists already"
contains "offline: a regular user exists" "$T/err" "a regular user exists already (frank)"
sums "$S" >"$T/img.after"
cmp -s "$T/img.before" "$T/img.after" && ok "offline: second run changed nothing" \
    || { bad "offline: second run changed:"; diff "$T/img.before" "$T/img.after"; }
check "offline: LUKS, a taken UID, a taken name" 1 off --credentials="$IC-bad"
keep
contains "offline: LUKS refused" "$T/err" "home hank: a LUKS home cannot be made offline"
contains "offline: the image's UID refused" "$T/err" "home iris: UID 60100 is already in use in"
contains "offline: the image's user name refused" "$T/err" "home imgsvc: the name is already taken in"
check "offline: none of them made" 0 test ! -e "$S/hank.identity" -a ! -e "$S/iris.identity" \
    -a ! -e "$S/imgsvc.identity" -a ! -e "$IMG/home/hank.home" -a ! -e "$IMG/home/iris.homedir"
check "offline: not as a user" 77 hearthd_as_user 60123 env HEARTH_WORKER_PATH="$HEARTHD_WORKER" "$HC" \
    --no-ask-password firstboot --root="$IMG"

# hearthd started on the image's tree finds them, signed by the image's key.
hearthd_stop
HEARTHD_STATE_DIR=$S HEARTHD_HOME_ROOT=$IMG/home
hearthd_start
check "image: list" 0 hc list --no-legend
grep -E "^frank +$frank_uid +$frank_uid +inactive +Frank Offline +$IMG/home/frank " "$T/out" >/dev/null \
    && ok "image: frank listed" || { bad "image: frank:"; cat "$T/out"; }
grep -E "^gina +$gina_uid +$gina_uid +inactive " "$T/out" >/dev/null && ok "image: gina listed" \
    || { bad "image: gina:"; cat "$T/out"; }
contains "image: NSS passwd has frank" "$HEARTHD_RUNTIME_DIR/passwd" "frank:x:$frank_uid:$frank_uid:Frank Offline:"
check "image: activate gina" 0 env PASSWORD=gina-pw "$HC" --no-ask-password activate gina
check "image: gina active" 0 hc inspect gina
contains "image: state active" "$T/out" "State: active"
contains "image: gina's groups" "$T/out" "Member of: audio"
[ "$(stat -c %u "$IMG/home/gina")" = "$gina_uid" ] && ok "image: gina's home, stored as nobody, is hers" \
    || bad "image: gina's home shows as $(stat -c %u "$IMG/home/gina")"
check "image: deactivate gina" 0 hc deactivate gina
check "image: frank's password (hashedPassword)" 0 env PASSWORD=frank-pw "$HC" --no-ask-password activate frank
check "image: deactivate frank" 0 hc deactivate frank
lacks "image: no record refused" "$HEARTHD_LOG" "refusing"
for pw in frank-pw gina-pw hank-pw iris-pw; do
    lacks "offline: homectl never printed $pw" "$T/all-output" "$pw"
    lacks "offline: hearthd never logged $pw" "$HEARTHD_LOG" "$pw"
done

hearthd_finish
