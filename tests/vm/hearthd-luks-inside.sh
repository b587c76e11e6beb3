#!/bin/bash
# Runs inside the VM: hearthd and homectl with LUKS homes on real dm-crypt —
# create, activate, lock/unlock, online resize, the AcquireHome fd holding
# the home active, a daemon restart while active, remove; then a PAM login
# (pam_hearth under pam_wrapper) into a home sealed to the TPM (--tpm).
# Usage: hearthd-luks-inside.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_setup "$BUILDDIR" "$SRCDIR"
homectl=$HEARTHD_HOMECTL
MB=1048576

# on_part IMAGE CMD...: CMD with the image's first partition (through a
# partition-scanning loop device) as its last argument.
on_part() {
    _img=$1; shift
    _l=$(losetup -f --show -P -r "$_img") || return 1
    udevadm settle 2>/dev/null
    "$@" "${_l}p1"; _rc=$?
    losetup -d "$_l"
    return $_rc
}
state_of() { "$homectl" list --no-legend | awk -v u="$1" '$1 == u { print $4 }'; }
wait_state() { # wait_state USER STATE: the state, within 30 s
    i=0
    while [ $i -lt 300 ]; do
        [ "$(state_of "$1")" = "$2" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# A cheap PBKDF: tests only; real homes use argon2id.
cat >"$HEARTHD_TMP/lana.json" <<JSON
{"userName":"lana","realName":"Lana L","storage":"luks","fileSystemType":"btrfs","diskSize":$((300 * MB)),
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
export NEWPASSWORD=lana-pw PASSWORD=lana-pw
check "create a LUKS home" 0 "$homectl" create --identity="$HEARTHD_TMP/lana.json"
check "image made" 0 test -f "$HEARTHD_HOME_ROOT/lana.home"
# systemd-homed's layout (issue #20): GPT, LUKS2 in its partition, the token.
sfdisk --dump "$HEARTHD_HOME_ROOT/lana.home" >"$HEARTHD_TMP/dump" 2>&1
contains "a GPT partition of the home type named lana" "$HEARTHD_TMP/dump" \
    'type=773f91ef-66d4-49b5-bd83-d683bf40ad16, uuid='
contains "named after the user" "$HEARTHD_TMP/dump" 'name="lana"'
contains "from 1 MiB" "$HEARTHD_TMP/dump" 'start=        2048'
on_part "$HEARTHD_HOME_ROOT/lana.home" cryptsetup luksDump >"$HEARTHD_TMP/luksdump" 2>&1
grep -qE '^Label:[[:space:]]+lana$' "$HEARTHD_TMP/luksdump" && grep -qE '^Subsystem:[[:space:]]+systemd-home$' "$HEARTHD_TMP/luksdump" &&
    ok "LUKS2 labelled lana in subsystem systemd-home" || bad "luksDump: $(head -n 12 "$HEARTHD_TMP/luksdump")"
grep -qE '^  [0-9]+: systemd-homed$' "$HEARTHD_TMP/luksdump" && ! grep -q hearth-identity "$HEARTHD_TMP/luksdump" &&
    ok "a systemd-homed token, no hearth-identity one" || bad "tokens: $(sed -n '/^Tokens:/,$p' "$HEARTHD_TMP/luksdump")"
check "inspect after create" 0 "$homectl" inspect --json=short lana
cp "$HEARTHD_TMP/out" "$HEARTHD_TMP/lana-record.json"
mid=$(cat /etc/machine-id)
[ "$(jq -r ".binding[\"$mid\"].luksUuid" "$HEARTHD_TMP/lana-record.json")" = "$(on_part "$HEARTHD_HOME_ROOT/lana.home" cryptsetup luksUUID)" ] &&
    [ "$(jq -r ".binding[\"$mid\"].partitionUuid" "$HEARTHD_TMP/lana-record.json")" = "$(sfdisk --part-uuid "$HEARTHD_HOME_ROOT/lana.home" 1 | tr A-Z a-z)" ] &&
    ok "hearthd keeps the bound partition and LUKS UUIDs" || bad "binding: $(jq -c .binding "$HEARTHD_TMP/lana-record.json")"
[ "$(state_of lana)" = inactive ] && ok "inactive after create" || bad "state after create: $(state_of lana)"
check "activate" 0 "$homectl" activate lana
check "mapped" 0 test -e /dev/mapper/home-lana
check "mounted" 0 mountpoint -q "$HEARTHD_HOME_ROOT/lana"
[ "$(findmnt -n -o FSROOT "$HEARTHD_HOME_ROOT/lana")" = /lana ] && ok "the home is the directory lana of its file system" ||
    bad "mount: $(findmnt -n "$HEARTHD_HOME_ROOT/lana")"
[ "$(blkid -p -s LABEL -o value /dev/mapper/home-lana)" = lana ] &&
    [ "$(blkid -p -s UUID -o value /dev/mapper/home-lana)" = "$(jq -r ".binding[\"$mid\"].fileSystemUuid" "$HEARTHD_TMP/lana-record.json")" ] &&
    ok "its file system is labelled lana, with the bound UUID" || bad "file system: $(blkid -p /dev/mapper/home-lana)"
! findmnt -n -o TARGET | grep -q "^$HEARTHD_RUNTIME_DIR" && ok "no private mount left visible" || bad "mounts: $(findmnt -n -o TARGET | grep hearth)"
uid=$(awk -F: '$1 == "lana" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
setpriv --reuid="$uid" --regid="$uid" --clear-groups dd if=/dev/urandom of="$HEARTHD_HOME_ROOT/lana/data.bin" \
    bs=1M count=8 status=none && ok "the user writes to her home" || bad "cannot write as $uid"
sum=$(sha256sum <"$HEARTHD_HOME_ROOT/lana/data.bin")

check "lock" 0 "$homectl" lock lana
[ "$(state_of lana)" = locked ] && ok "state locked" || bad "state after lock: $(state_of lana)"
check "lock again" 1 "$homectl" lock lana
# What writes into the home waits for no unlock: refused while locked.
timeout 60 "$homectl" update lana --real-name="Lana Locked" >"$HEARTHD_TMP/out" 2>&1; rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "locked" "$HEARTHD_TMP/out" && ok "update of a locked home refused at once" ||
    bad "update of a locked home → $rc: $(cat "$HEARTHD_TMP/out")"
timeout 60 "$homectl" resize lana 380M >"$HEARTHD_TMP/out" 2>&1; rc=$?
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "locked" "$HEARTHD_TMP/out" && ok "resize of a locked home refused at once" ||
    bad "resize of a locked home → $rc: $(cat "$HEARTHD_TMP/out")"
PASSWORD=wrong check "unlock with a wrong password" 79 "$homectl" --no-ask-password unlock lana
check "unlock" 0 "$homectl" unlock lana
[ "$(state_of lana)" = active ] && ok "active after unlock" || bad "state after unlock: $(state_of lana)"

# Each lock empties the whole machine's page cache: its user may lock her home
# once a minute, root at any time (attack-luks2 8e). The cache of a file on
# another file system shows it.
truncate -s 64M "$HEARTHD_TMP/scratch.img" && mkfs.ext4 -q -F "$HEARTHD_TMP/scratch.img" &&
    mkdir -p "$HEARTHD_TMP/scratch" && mount -o loop "$HEARTHD_TMP/scratch.img" "$HEARTHD_TMP/scratch" &&
    head -c $((16 * MB)) /dev/urandom > "$HEARTHD_TMP/scratch/root-file" && sync || bad "scratch file system"
cached() { cat "$HEARTHD_TMP/scratch/root-file" > /dev/null; fincore -n -b -o RES "$HEARTHD_TMP/scratch/root-file" | tr -d ' '; }
check "lock by its user" 0 hearthd_as_user "$uid" "$homectl" lock lana
check "unlock by its user" 0 hearthd_as_user "$uid" env PASSWORD=lana-pw "$homectl" --no-ask-password unlock lana
before=$(cached)
check "a second lock by its user within a minute is refused" 75 hearthd_as_user "$uid" "$homectl" lock lana
contains "the refusal says why and when" "$HEARTHD_TMP/err" "once a minute. Try again in"
after=$(fincore -n -b -o RES "$HEARTHD_TMP/scratch/root-file" | tr -d ' ')
[ "$(state_of lana)" = active ] && [ "${after:-0}" -ge "$before" ] &&
    ok "nothing happened: the home is active, the machine's cache kept ($before → $after bytes)" ||
    bad "after the refused lock: $(state_of lana), cache $before → $after bytes"
check "root locks at once" 0 "$homectl" lock lana
after=$(fincore -n -b -o RES "$HEARTHD_TMP/scratch/root-file" | tr -d ' ')
[ "${after:-0}" -lt "$before" ] && ok "a lock still drops what was cached ($before → $after bytes)" ||
    bad "a lock kept the cache: $before → $after bytes"
check "unlock by root" 0 "$homectl" unlock lana
umount "$HEARTHD_TMP/scratch"

check "resize online to 400M" 0 "$homectl" resize lana 400M
check "inspect" 0 "$homectl" inspect --json=short lana
contains "diskSize in the record" "$HEARTHD_TMP/out" "\"diskSize\":$((400 * MB))"
size=$(stat -c %s "$HEARTHD_HOME_ROOT/lana.home")
[ "$size" -ge $((399 * MB)) ] && ok "image grew ($size)" || bad "image size $size"

hearthd_restart
[ "$(state_of lana)" = active ] && ok "active across a daemon restart" || bad "after restart: $(state_of lana)"

check "deactivate" 0 "$homectl" deactivate lana
check "unmapped" 0 test ! -e /dev/mapper/home-lana

# A session: the fd from AcquireHome holds the home; closing it deactivates.
mkfifo "$HEARTHD_TMP/hold"
"$BUILDDIR/tests/host/hold-home" lana '{"password":["lana-pw"]}' <"$HEARTHD_TMP/hold" >"$HEARTHD_TMP/held" 2>&1 &
holder=$!
exec 8>"$HEARTHD_TMP/hold"
wait_state lana active && ok "AcquireHome activated it" || bad "not active after AcquireHome: $(cat "$HEARTHD_TMP/held")"
[ "$(sha256sum <"$HEARTHD_HOME_ROOT/lana/data.bin")" = "$sum" ] && ok "data intact" || bad "data changed"
sleep 1
[ "$(state_of lana)" = active ] && ok "still active while the fd is open" || bad "state: $(state_of lana)"
exec 8>&-
wait "$holder"
wait_state lana inactive && ok "deactivated when the fd closed" || bad "state after close: $(state_of lana)"
check "unmapped after the last reference" 0 test ! -e /dev/mapper/home-lana

check "remove" 0 "$homectl" remove lana
check "image gone" 0 test ! -e "$HEARTHD_HOME_ROOT/lana.home"
check "not found after remove" 67 "$homectl" inspect lana

# ---- logging in through PAM to a home sealed to the TPM ----------------------------
# pam_hearth under pam_wrapper (the VM's /etc/pam.d is the host's, read-only).
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
tpm2_pcrextend 7:sha256=$(printf 'boot' | sha256sum | cut -d' ' -f1)
tpm2_dictionarylockout -Q -s -n 6 -t 1000 -l 1000
# The first user, as an installer provisions her: a credential for homectl firstboot.
mkdir -p "$HEARTHD_TMP/creds"
cat >"$HEARTHD_TMP/creds/home.create.tina" <<JSON
{"storage":"luks","fileSystemType":"btrfs","diskSize":$((320 * MB)),"tpm2":true,
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000,"secret":{"password":["tina-pw"]}}
JSON
: >"$HEARTHD_TMP/no-users"
check "firstboot: a TPM-sealed first user from a credential" 0 env HEARTH_FIRSTBOOT_PASSWD="$HEARTHD_TMP/no-users" \
    "$homectl" --no-ask-password firstboot --credentials="$HEARTHD_TMP/creds"
contains "the recovery key is shown once" "$HEARTHD_TMP/out" "ecovery key"
check "the header alone does not open with the password" 2 on_part "$HEARTHD_HOME_ROOT/tina.home" sh -c \
    'printf tina-pw | cryptsetup open --test-passphrase --key-file=- "$0"'
on_part "$HEARTHD_HOME_ROOT/tina.home" cryptsetup luksDump >"$HEARTHD_TMP/luksdump" 2>&1
grep -qE '^  [0-9]+: systemd-tpm2$' "$HEARTHD_TMP/luksdump" && grep -qE '^  [0-9]+: systemd-homed$' "$HEARTHD_TMP/luksdump" &&
    grep -qE '^  [0-9]+: systemd-recovery$' "$HEARTHD_TMP/luksdump" &&
    ok "systemd-tpm2 and systemd-recovery tokens beside the systemd-homed one" || bad "tokens: $(sed -n '/^Tokens:/,$p' "$HEARTHD_TMP/luksdump")"
# Nor does anything hold the PIN's hash, to be guessed offline without the
# TPM (attack-luks2 8a): not the stored record, not what homectl shows root.
lacks "the stored record of a TPM home holds no password hash" "$HEARTHD_STATE_DIR/tina.identity" hashedPassword
check "inspect as root" 0 "$homectl" inspect --json=short tina
lacks "nor does the record root sees" "$HEARTHD_TMP/out" hashedPassword
PAMDIR=$HEARTHD_TMP/pam.d
mkdir -p "$PAMDIR"
for kind in auth account session password; do
    printf '%-8s required %s\n' "$kind" "$BUILDDIR/pam/pam_hearth.so"
done >"$PAMDIR/login"
# The same with "suspend": her sessions let LockAllHomes lock the home.
for kind in auth account session password; do
    printf '%-8s required %s suspend\n' "$kind" "$BUILDDIR/pam/pam_hearth.so"
done >"$PAMDIR/login-suspend"
preload="$(ldd "$BUILDDIR/pam/pam_hearth.so" | awk '/libasan\.so/ { print $3 }') $(ldd "$BUILDDIR/pam/pam_hearth.so" | awk '/libubsan\.so/ { print $3 }')"
preload="$preload $(ls /usr/lib/*/libpam_wrapper.so | head -n 1)"
login() { # login PASSWORD CMD...  (PAM_SERVICE=login-suspend: with "suspend")
    _pw=$1; shift
    HEARTH_RUNTIME_DIR=$HEARTHD_RUNTIME_DIR PAM_TEST_PASSWORD=$_pw LD_PRELOAD=$preload PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$PAMDIR ASAN_OPTIONS=detect_leaks=0 \
        "$BUILDDIR/tests/host/pam-session" "${PAM_SERVICE:-login}" tina "$@"
}
tina_uid=$(awk -F: '$1 == "tina" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
check "PAM login: inside the session the home is decrypted, mounted, hers" 0 login tina-pw sh -c \
    "mountpoint -q '$HEARTHD_HOME_ROOT/tina' && test -e /dev/mapper/home-tina && test \$(stat -c %u '$HEARTHD_HOME_ROOT/tina') = $tina_uid"
wait_state tina inactive && ok "after the session closed: deactivated" || bad "after close: $(state_of tina)"
check "unmounted" 0 sh -c "! mountpoint -q '$HEARTHD_HOME_ROOT/tina'"
check "dm device gone" 0 test ! -e /dev/mapper/home-tina
check "a wrong password" 11 login wrong true
contains "PAM says authentication failed" "$HEARTHD_TMP/err" "Authentication failure"
contains "the person is told the TPM's tries left" "$HEARTHD_TMP/out" "attempts left"

# ---- suspend: the home is locked under an open session; the screen locker's
# authentication (pam_hearth: AcquireHome) unlocks it through the TPM, and the
# session's processes go on. Meanwhile nothing of the home can be read.
T=$HEARTHD_HOME_ROOT/tina
gone() { # gone PID SECONDS: the process ended within that time
    _i=0
    while kill -0 "$1" 2>/dev/null; do
        [ $_i -ge $(($2 * 10)) ] && return 1
        sleep 0.1; _i=$((_i + 1))
    done
}
rm -f "$HEARTHD_TMP/release"
# 64 KiB, not a few bytes: btrfs keeps small files inline in its metadata.
PAM_SERVICE=login-suspend login tina-pw sh -c "head -c 65536 /dev/urandom > '$T/secret.bin' && echo tina-secret > '$T/secret.txt' && exec 3>>'$T/ticks'
    while [ ! -e '$HEARTHD_TMP/release' ]; do echo tick >&3; sleep 0.2; done" >/dev/null 2>&1 &
session=$!
wait_state tina active && ok "session open" || bad "session: $(state_of tina)"
i=0; while [ ! -s "$T/ticks" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
secret_sum=$(sha256sum < "$T/secret.bin")
# elogind's system-sleep hook (data/hearth-sleep.in), run as elogind runs
# it before a suspend: LockAllHomes, answered once the home is locked.
check "the elogind sleep hook before suspend" 0 env HEARTH_HOMECTL="$homectl" sh "$BUILDDIR/data/hearth-sleep" pre suspend
[ "$(state_of tina)" = locked ] && ok "state locked" || bad "state after lock: $(state_of tina)"
cat "$T/secret.bin" > "$HEARTHD_TMP/locked-read" 2>&1 &
reader=$!
sleep 5
[ ! -s "$HEARTHD_TMP/locked-read" ] && ok "reading a locked home's file waits: nothing cached is handed out" ||
    bad "a locked home's file was read ($(stat -c %s "$HEARTHD_TMP/locked-read") bytes)"
# A few bytes: btrfs would keep them inline in its metadata, which stays
# cached; homes are mounted max_inline=0 so that such a read waits too.
cat "$T/secret.txt" > "$HEARTHD_TMP/locked-small" 2>&1 &
small_reader=$!
sleep 3
[ ! -s "$HEARTHD_TMP/locked-small" ] && ok "reading a locked home's small file waits too" ||
    bad "a locked home's small file was read: $(cat "$HEARTHD_TMP/locked-small")"
check "the screen locker's PAM authentication unlocks the TPM-sealed home" 0 login tina-pw true
[ "$(state_of tina)" = active ] && ok "active again" || bad "state after the screen locker: $(state_of tina)"
gone "$small_reader" 20 && [ "$(cat "$HEARTHD_TMP/locked-small")" = tina-secret ] &&
    ok "the small file's read goes on after the unlock" || bad "the small read after unlock: $(cat "$HEARTHD_TMP/locked-small")"
gone "$reader" 20 && [ "$(sha256sum < "$HEARTHD_TMP/locked-read")" = "$secret_sum" ] &&
    ok "the waiting read goes on after the unlock" || bad "the read after unlock: $(stat -c %s "$HEARTHD_TMP/locked-read") bytes"
# Up to 10 s: under TCG on a loaded host one turn of the loop can take over a second.
n1=$(wc -l < "$T/ticks"); n2=$n1; i=0
while [ "$n2" -le "$n1" ] && [ $i -lt 100 ]; do sleep 0.1; n2=$(wc -l < "$T/ticks"); i=$((i + 1)); done
[ "$n2" -gt "$n1" ] && ok "the session's process goes on writing to its open file ($n1 → $n2)" || bad "ticks stuck at $n2"
touch "$HEARTHD_TMP/release"
gone "$session" 30 && ok "the session closed" || { bad "the session did not end"; kill -KILL "$session" "$reader" 2>/dev/null; }
wait_state tina inactive && ok "deactivated after the session" || bad "state: $(state_of tina)"
rm -f "$HEARTHD_TMP/release"
login tina-pw sh -c "while [ ! -e '$HEARTHD_TMP/release' ]; do sleep 0.2; done" >/dev/null 2>&1 &
first=$!
wait_state tina active && ok "first session open" || bad "first session: $(state_of tina)"
# Her session did not ask for "suspend": pm-utils' hook leaves the home open.
check "the pm-utils sleep hook before suspend" 0 env HEARTH_HOMECTL="$homectl" sh "$BUILDDIR/data/hearth-sleep" suspend
[ "$(state_of tina)" = active ] && ok "a session without suspend keeps its home unlocked over a suspend" ||
    bad "state after the hook: $(state_of tina)"
check "a second session opens and closes" 0 login tina-pw true
sleep 1
[ "$(state_of tina)" = active ] && ok "still mounted while the first session lives" || bad "state: $(state_of tina)"
touch "$HEARTHD_TMP/release"
wait "$first" && ok "first session closed" || bad "first session failed"
wait_state tina inactive && ok "deactivated after the second session closed" || bad "state: $(state_of tina)"
check "the copy in the home holds no password hash either" 0 login tina-pw sh -c "! grep -q hashedPassword '$T/.identity'"
wait_state tina inactive || bad "tina still $(state_of tina)"

# ---- an older Hearth stored the PIN's hash: gone when hearthd starts -------------------
# The record re-signed with the machine's key, as hearthd would have stored it.
hearthd_stop
python3 - "$HEARTHD_STATE_DIR" tina << 'PY'
import base64, json, sys
from cryptography.hazmat.primitives import serialization
d, user = sys.argv[1:3]
path = '%s/%s.identity' % (d, user)
rec = json.load(open(path))
pem = rec['signature'][0]['key']
rec.setdefault('privileged', {})['hashedPassword'] = ['$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7']
del rec['signature']
payload = json.dumps({k: v for k, v in rec.items() if k not in ('binding', 'status', 'signature', 'secret')},
                     sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode()
key = serialization.load_pem_private_key(open(d + '/local.private', 'rb').read(), None)
rec['signature'] = [{'data': base64.b64encode(key.sign(payload)).decode(), 'key': pem}]
open(path, 'w').write(json.dumps(rec, indent=2))
PY
contains "an older record with the PIN's hash in place" "$HEARTHD_STATE_DIR/tina.identity" hashedPassword
hearthd_start
[ "$(state_of tina)" = inactive ] && ok "tina is still there" || bad "tina: $(state_of tina)"
lacks "hearthd dropped the hash at start" "$HEARTHD_STATE_DIR/tina.identity" hashedPassword
contains "and said so" "$HEARTHD_LOG" "home tina: its key is sealed in the TPM with the password as PIN: dropped"
check "PAM login after that" 0 login tina-pw true
wait_state tina inactive || bad "tina still $(state_of tina)"

# ---- one user's wrong PINs do not lock every TPM home (attack-luks2 8b) ---------------------
# The TPM's counter is machine-wide; mallory, guessing at her own home more
# times than the TPM allows, must not lock tina out. What hearthd allows
# follows the TPM's own parameters (tpm2_getcap), whatever they are.
lockout_counter() { tpm2_getcap properties-variable | awk -F: '/TPM2_PT_LOCKOUT_COUNTER/ { gsub(/ /, "", $2); print $2 }'; }
max_tries=$(tpm2_getcap properties-variable | awk -F: '/TPM2_PT_MAX_AUTH_FAIL/ { gsub(/ /, "", $2); print $2 }')
cat >"$HEARTHD_TMP/mallory.json" <<JSON
{"userName":"mallory","realName":"Mallory M","storage":"luks","fileSystemType":"ext4","diskSize":$((100 * MB)),
 "tpm2":true,"luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
check "create a second TPM home" 0 env PASSWORD=mallory-pw NEWPASSWORD=mallory-pw "$homectl" --no-ask-password create \
    --identity="$HEARTHD_TMP/mallory.json"
rk_m=$(grep -oE '([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}' "$HEARTHD_TMP/out" | head -n 1)
[ -n "$rk_m" ] && ok "its recovery key was shown" || bad "no recovery key: $(cat "$HEARTHD_TMP/out")"
lacks "its stored record holds no password hash" "$HEARTHD_STATE_DIR/mallory.identity" hashedPassword
m_uid=$(awk -F: '$1 == "mallory" { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd")
tpm2_dictionarylockout -Q -c
for i in $(seq $((max_tries + 1))); do
    hearthd_as_user "$m_uid" env PASSWORD="guess-$i" "$homectl" --no-ask-password authenticate mallory \
        >"$HEARTHD_TMP/out" 2>"$HEARTHD_TMP/err"; rc=$?
    [ $rc = 79 ] && ok "mallory's guess $i refused (the TPM's counter at $(lockout_counter) of $max_tries)" ||
        bad "mallory's guess $i → $rc: $(cat "$HEARTHD_TMP/err")"
done
contains "later guesses are refused without the TPM, saying why" "$HEARTHD_TMP/err" "kept for the other homes"
contains "how long to wait" "$HEARTHD_TMP/err" "Try again in"
contains "and of the recovery key" "$HEARTHD_TMP/err" "recovery key"
[ $(($(lockout_counter))) -lt $((max_tries)) ] && ok "the TPM is not locked out ($(lockout_counter) of $max_tries)" ||
    bad "the TPM's counter reached $(lockout_counter) of $max_tries"
check "tina's right PIN still opens her home" 0 env PASSWORD=tina-pw "$homectl" --no-ask-password activate tina
check "deactivate tina" 0 "$homectl" deactivate tina
check "mallory's recovery key still opens hers" 0 hearthd_as_user "$m_uid" env PASSWORD="$rk_m" "$homectl" \
    --no-ask-password authenticate mallory
check "pam: tina logs in" 0 login tina-pw true
wait_state tina inactive || bad "tina still $(state_of tina)"

# ---- a new password that reads as a recovery key (attack-luks2 8d) -------------------------
RKLIKE=VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB-VUTRNLKJ-IHGFEDCB
check "homectl refuses it before asking hearthd" 79 hearthd_as_user "$m_uid" env PASSWORD="$rk_m" \
    NEWPASSWORD="$RKLIKE" "$homectl" --no-ask-password passwd mallory
contains "saying why" "$HEARTHD_TMP/err" "reads as a recovery key"
check "hearthd refuses it too (LowPasswordQuality)" 1 dbus-send --system --print-reply --dest=org.freedesktop.home1 \
    /org/freedesktop/home1 org.freedesktop.home1.Manager.ChangePasswordHome string:mallory \
    "string:{\"password\":[\"$RKLIKE\"]}" "string:{\"password\":[\"$rk_m\"]}"
contains "with homed's error" "$HEARTHD_TMP/err" "org.freedesktop.home1.LowPasswordQuality"
check "mallory's home still opens with its recovery key" 0 hearthd_as_user "$m_uid" env PASSWORD="$rk_m" "$homectl" \
    --no-ask-password authenticate mallory
tpm2_dictionarylockout -Q -c
check "remove mallory" 0 "$homectl" remove mallory
check "remove tina" 0 "$homectl" remove tina
hearthd_finish
