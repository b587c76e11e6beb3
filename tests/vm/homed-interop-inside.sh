#!/bin/bash
# Runs inside the VM: systemd-homed 252 and hearthd open each other's LUKS
# homes (btrfs and ext4), as their users meet them — each daemon on one
# private bus in turn, each driven by its own homectl, /home an ext4 disk
# shared as under systemd (homework binds the home from a namespace of its
# own). homed (unpacked by tools/install-deps, never installed) keeps its
# state in /var/lib/systemd/home of the VM's throw-away root.
#   a. homed makes alice (btrfs) and dave (ext4); hearthd finds alice in
#      /home and adopts dave (homectl adopt); each is fixated at her first
#      activation — alice's by homectl activate, dave's by a PAM login (c) —
#      her files are hers and writable, a file of another home UID is not
#      shown as hers, and alice's ~/.identity, newer than her header's
#      record, is read;
#   b. hearthd makes carol (btrfs) and erin (ext4); homed finds them, opens
#      them with the password, her files hers; what homed wrote (the header's
#      record, a btrfs image shrunk at logout) Hearth opens again; and homed
#      opens alice again after Hearth used her home;
#   d. hearthd makes pat (LUKS) with a smart card (SoftHSM2); homed opens
#      it with the token's PIN, and Hearth again after homed; homed makes
#      quinn with the token, Hearth opens her home with the PIN, and passwd
#      there keeps the token's keyslot.
# Usage: homed-interop-inside.sh BUILDDIR SRCDIR (with --disk home:SIZE)
set -u
BUILDDIR=$1 SRCDIR=$2
[ "${HEARTH_VM:-}" = 1 ] || { echo "not inside the Hearth VM"; exit 1; }
. "$SRCDIR/tests/host/lib-homed.sh"
homed_have && [ -x "$HOMED_TREE/usr/bin/homectl" ] ||
    { echo "SKIP: no systemd-homed 252 in $HOMED_TREE: run tools/install-deps"; exit 77; }
MB=1048576

# /home as on a machine with systemd: its own file system, a shared mount.
mkfs.ext4 -q "$HEARTH_VM_DISK_HOME" && mount "$HEARTH_VM_DISK_HOME" /home || { echo "cannot mount /home"; exit 1; }
mount --make-shared /home
mkdir -p -m 0700 /var/lib/systemd/home
# homectl and homed want to see systemd booted; homed's varlink sockets.
mkdir -p /run/systemd/system /run/systemd/userdb

HEARTHD_HOME_ROOT=/home
. "$SRCDIR/tests/host/lib-hearthd.sh"
hearthd_need_systemd_homectl
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_stop
T=$HEARTHD_TMP
hc=$HEARTHD_HOMECTL
hearthd_at_exit 'umount /run/raw 2>/dev/null; cryptsetup close raw 2>/dev/null
losetup -n -O NAME,BACK-FILE -l | awk "\$2 ~ /^\/home\// { print \$1 }" | xargs -r -n1 losetup -d'
homed_setup # homed stopped first (cleanups run last registered first)

state_of() { "$hc" list --no-legend 2>/dev/null | awk -v u="$1" '$1 == u { print $4 }'; }
wait_state() { # wait_state USER STATE: the state, within 60 s
    _i=0
    while [ $_i -lt 600 ]; do
        [ "$(state_of "$1")" = "$2" ] && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}
hearth_uid() { awk -F: -v u="$1" '$1 == u { print $3 }' "$HEARTHD_RUNTIME_DIR/passwd"; }
# The image's file system as it is on disk (no ID map), at /run/raw:
# for what no user could do through her home (a file of another home UID).
raw_open() { # raw_open IMAGE PASSWORD
    RAW_LOOP=$(losetup -f --show -P "$1") && udevadm settle &&
        printf %s "$2" | cryptsetup open --key-file=- "${RAW_LOOP}p1" raw &&
        mkdir -p /run/raw && mount /dev/mapper/raw /run/raw
}
raw_close() { umount /run/raw; cryptsetup close raw; losetup -d "$RAW_LOOP"; }
on_part() { # on_part IMAGE CMD...: CMD with the image's partition as its last argument
    _img=$1; shift
    _l=$(losetup -f --show -P "$_img") || return 1
    udevadm settle
    "$@" "${_l}p1"; _rc=$?
    losetup -d "$_l"
    return $_rc
}
token_id() { # the systemd-homed token's id in a luksDump on stdin
    sed -n 's/^  \([0-9]*\): systemd-homed$/\1/p' | head -n 1
}

# ==== a. homed's homes under Hearth =========================================================
homed_start
# The cheapest PBKDF homed 252 knows how to ask for (no forced iterations
# there): pbkdf2 benchmarked to 1 ms, which cryptsetup raises to 1000.
homed_luks="--storage=luks --luks-pbkdf-type=pbkdf2 --luks-pbkdf-time-cost=1ms --enforce-password-policy=no"
# shellcheck disable=SC2086
check "homed: create alice (LUKS, btrfs)" 0 shc "NEWPASSWORD=alice-pw" create alice $homed_luks --fs-type=btrfs \
    --disk-size=300M --uid=60200 --real-name="Alice Homed"
# shellcheck disable=SC2086
check "homed: create dave (LUKS, ext4)" 0 shc "NEWPASSWORD=dave-pw" create dave $homed_luks --fs-type=ext4 \
    --disk-size=160M --uid=60201
for u in alice:60200 dave:60201; do
    n=${u%:*} id=${u#*:}
    check "homed: activate $n" 0 shc "PASSWORD=$n-pw" activate "$n"
    check "$n writes under homed" 0 as_user "$id" sh -c "echo homed > /home/$n/from-homed.txt && mkdir /home/$n/dir && head -c 70000 /dev/urandom > /home/$n/dir/blob"
    sha256sum </home/"$n"/dir/blob >"$T/$n.blob.sum"
    check "homed: deactivate $n" 0 shc "" deactivate "$n"
done
# alice's ~/.identity newer than her header's record: homed writes both at
# an update; the header gets its earlier token back. (What a home carries
# when the header could not be written; Hearth must take the newer copy.)
on_part /home/alice.home cryptsetup luksDump >"$T/dump" 2>&1
tid=$(token_id <"$T/dump")
on_part /home/alice.home cryptsetup token export --token-id="$tid" >"$T/alice-token.json" 2>"$T/err" &&
    [ -s "$T/alice-token.json" ] && ok "alice's header record saved" || bad "token export: $(cat "$T/err")"
check "homed: update alice's real name" 0 shc "PASSWORD=alice-pw" update alice --real-name="Alice Renamed"
check "alice's header gets the earlier record back" 0 on_part /home/alice.home cryptsetup token import \
    --token-id="$tid" --token-replace --json-file="$T/alice-token.json"
# A file of another home's user (UID 60400) in each, as no one could make
# it through an ID-mapped home: on the file system as it is.
for n in alice dave; do
    if raw_open "/home/$n.home" "$n-pw"; then
        [ "$(owner "/run/raw/$n")" = 65534:65534 ] && ok "$n: homed stores her home as nobody" ||
            bad "$n: stored owner $(owner "/run/raw/$n")"
        echo other >"/run/raw/$n/other.txt" && chown 60400:60400 "/run/raw/$n/other.txt"
        raw_close
    else
        bad "$n: cannot open her image by hand"
    fi
done
homed_stop
# homed's key, trusted by Hearth; dave is not in /home but elsewhere on its file system.
install -m 0644 /var/lib/systemd/home/local.public "$HEARTHD_STATE_DIR/homed-machine.public"
mkdir /home/elsewhere && mv /home/dave.home /home/elsewhere/

hearthd_start
[ "$(state_of alice)" = unfixated ] && ok "hearthd finds alice's image in /home, unfixated" ||
    bad "alice: '$(state_of alice)'"
[ -z "$(state_of dave)" ] && ok "dave is not in /home" || bad "dave: $(state_of dave)"
check "homectl adopt /home/elsewhere/dave.home" 0 "$hc" adopt /home/elsewhere/dave.home
[ "$(state_of dave)" = unfixated ] && ok "dave adopted: unfixated" || bad "dave: '$(state_of dave)'"

# alice: her first activation fixates her home and activates it.
check "hearthd: activate alice (fixates her home)" 0 env PASSWORD=alice-pw "$hc" --no-ask-password activate alice
[ "$(state_of alice)" = active ] && ok "alice is active" || bad "alice: $(state_of alice)"
check "her record is stored" 0 test -f "$HEARTHD_STATE_DIR/alice.identity"
hid=$(hearth_uid alice)
A=/home/alice
[ "$(findmnt -n -o FSROOT "$A")" = /alice ] && ok "alice: the directory alice of her file system is her home" ||
    bad "alice: $(findmnt -n "$A")"
[ "$(owner "$A")" = "$hid:$hid" ] && ok "alice: her home's top is hers (UID $hid)" || bad "alice: top $(owner "$A")"
[ "$(cat "$A/from-homed.txt" 2>/dev/null)" = homed ] && [ "$(owner "$A/from-homed.txt")" = "$hid:$hid" ] &&
    [ "$(owner "$A/dir/blob")" = "$hid:$hid" ] && [ "$(sha256sum <"$A/dir/blob")" = "$(cat "$T/alice.blob.sum")" ] &&
    ok "alice: what she wrote under homed is there, intact, hers" || bad "alice: $(ls -lanR "$A" 2>&1)"
[ "$(owner "$A/other.txt")" = 65534:65534 ] && ok "alice: another home UID's file shows as no one's" ||
    bad "alice: other.txt is $(owner "$A/other.txt")"
check "alice writes under Hearth" 0 as_user "$hid" sh -c "echo hearth > $A/from-hearth.txt && rm $A/from-homed.txt && echo homed > $A/from-homed.txt && mkdir $A/dir2"
check "alice cannot write another home UID's file" 0 as_user "$hid" sh -c "! (echo x > $A/other.txt) 2>/dev/null"
check "~/.identity is hers" 0 test "$(owner "$A/.identity")" = "$hid:$hid"
check "hearthd: inspect alice" 0 "$hc" inspect --json=short alice
jq -e '.realName == "Alice Renamed"' "$T/out" >/dev/null &&
    ok "alice: the record of her ~/.identity, newer than the header's, is taken" || bad "alice: $(jq -c '{realName, lastChangeUSec}' "$T/out")"
jq -e --argjson u "$hid" '[.binding[]?.uid] == [$u]' "$T/out" >/dev/null && ok "alice: bound to UID $hid here" ||
    bad "alice: binding $(jq -c .binding "$T/out")"
check "hearthd: deactivate alice" 0 "$hc" deactivate alice
on_part /home/alice.home cryptsetup luksDump >"$T/dump" 2>&1
tid=$(token_id <"$T/dump")
on_part /home/alice.home cryptsetup token export --token-id="$tid" >"$T/alice-token2.json" 2>/dev/null
! cmp -s "$T/alice-token.json" "$T/alice-token2.json" && ok "alice: Hearth wrote the newer record into her header" ||
    bad "alice: her header's record is the older one still"

# dave (c): his first login (pam_hearth under pam_wrapper) fixates the
# adopted home and opens it, in one go.
PAMDIR=$T/pam.d
mkdir -p "$PAMDIR"
for kind in auth account session password; do
    printf '%-8s required %s\n' "$kind" "$BUILDDIR/pam/pam_hearth.so"
done >"$PAMDIR/login"
preload="$(ldd "$BUILDDIR/pam/pam_hearth.so" | awk '/libasan\.so/ { print $3 }') $(ldd "$BUILDDIR/pam/pam_hearth.so" | awk '/libubsan\.so/ { print $3 }')"
preload="$preload $(ls /usr/lib/*/libpam_wrapper.so | head -n 1)"
login() { # login USER PASSWORD CMD...
    _u=$1 _pw=$2; shift 2
    HEARTH_RUNTIME_DIR=$HEARTHD_RUNTIME_DIR PAM_TEST_PASSWORD=$_pw LD_PRELOAD=$preload PAM_WRAPPER=1 \
        PAM_WRAPPER_SERVICE_DIR=$PAMDIR ASAN_OPTIONS=detect_leaks=0 "$BUILDDIR/tests/host/pam-session" login "$_u" "$@"
}
did=$(hearth_uid dave)
D=/home/dave
check "dave's first login: fixated, decrypted, mounted, his files his, writable" 0 login dave dave-pw sh -c "
    test \"\$($hc list --no-legend | awk '\$1 == \"dave\" { print \$4 }')\" = active &&
    test \"\$(stat -c %u:%g $D $D/from-homed.txt $D/dir/blob | sort -u)\" = $did:$did &&
    test \"\$(sha256sum < $D/dir/blob)\" = \"$(cat "$T/dave.blob.sum")\" &&
    test \"\$(stat -c %u $D/other.txt)\" = 65534 &&
    test ! -e $D/lost+found &&
    setpriv --reuid=$did --regid=$did --clear-groups sh -c 'echo hearth > $D/from-hearth.txt'"
check "dave's record is stored" 0 test -f "$HEARTHD_STATE_DIR/dave.identity"
wait_state dave inactive && ok "dave: inactive after his session" || bad "dave: $(state_of dave)"
check "dave's image is in /home now" 0 test -f /home/dave.home

# ==== b. Hearth's homes under homed =========================================================
for u in carol:btrfs:300:60300 erin:ext4:160:60301; do
    IFS=: read -r n fs size id <<<"$u"
    cat >"$T/$n.json" <<JSON
{"userName":"$n","uid":$id,"storage":"luks","fileSystemType":"$fs","diskSize":$((size * MB)),
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
    check "hearthd: create $n (LUKS, $fs)" 0 env NEWPASSWORD="$n-pw" "$hc" create --identity="$T/$n.json"
    check "hearthd: activate $n" 0 env PASSWORD="$n-pw" "$hc" --no-ask-password activate "$n"
    check "$n writes under Hearth" 0 as_user "$id" sh -c "echo hearth > /home/$n/from-hearth.txt && head -c 70000 /dev/urandom > /home/$n/blob"
    sha256sum </home/"$n"/blob >"$T/$n.blob.sum"
    check "hearthd: deactivate $n" 0 "$hc" deactivate "$n"
    on_part "/home/$n.home" cryptsetup luksDump >"$T/dump" 2>&1
    on_part "/home/$n.home" cryptsetup token export --token-id="$(token_id <"$T/dump")" >"$T/$n-token.json" 2>/dev/null
done
hearthd_stop
cp "$HEARTHD_STATE_DIR/local.public" /var/lib/systemd/home/hearth-machine.public
homed_start
for u in carol:60300 erin:60301; do
    n=${u%:*} id=${u#*:}
    size0=$(stat -c %s "/home/$n.home")
    # homed found the image in /home; its first activation fixates it
    # from the header's record, which a trusted key (Hearth's) signed.
    check "homed: activate $n" 0 shc "PASSWORD=$n-pw" activate "$n"
    check "homed: inspect $n" 0 shc "" inspect --json=short "$n"
    mid=$(jq -r '[.binding[]?.uid, .uid] | map(select(. != null)) | first' "$T/out")
    [ "$(findmnt -n -o FSROOT "/home/$n")" = "/$n" ] && ok "$n: homed mounts the directory $n of her file system" ||
        bad "$n: $(findmnt -n "/home/$n")"
    [ "$(cat "/home/$n/from-hearth.txt" 2>/dev/null)" = hearth ] && [ "$(owner "/home/$n/from-hearth.txt")" = "$mid:$mid" ] &&
        [ "$(owner "/home/$n")" = "$mid:$mid" ] && [ "$(sha256sum <"/home/$n/blob")" = "$(cat "$T/$n.blob.sum")" ] &&
        ok "$n: under homed (UID $mid), what she wrote under Hearth is there, intact, hers" || bad "$n: $(ls -lan "/home/$n" 2>&1)"
    check "$n writes under homed" 0 as_user "$mid" sh -c "echo homed > /home/$n/from-homed.txt"
    check "homed: deactivate $n" 0 shc "" deactivate "$n"
    on_part "/home/$n.home" cryptsetup luksDump >"$T/dump" 2>&1
    on_part "/home/$n.home" cryptsetup token export --token-id="$(token_id <"$T/dump")" >"$T/$n-token2.json" 2>/dev/null
    cmp -s "$T/$n-token.json" "$T/$n-token2.json" && echo "note: $n: homed left the header's record as it was" ||
        echo "note: $n: homed rewrote the header's record"
    echo "note: $n: image $size0 bytes before homed, $(stat -c %s "/home/$n.home") after"
done
# homed's own alice, after Hearth used her home (and rewrote her header).
check "homed: activate alice again, after Hearth" 0 shc "PASSWORD=alice-pw" activate alice
[ "$(cat /home/alice/from-hearth.txt 2>/dev/null)" = hearth ] && [ "$(owner /home/alice/from-hearth.txt)" = 60200:60200 ] &&
    [ -d /home/alice/dir2 ] && ok "alice: what she wrote under Hearth is hers under homed" || bad "alice: $(ls -lan /home/alice 2>&1)"
# homed's writes into a home Hearth used: the header's record and
# ~/.identity (an update), the file system, LUKS volume, partition and
# image shrunk (a resize; homed 252 does not shrink at logout here, its
# rebalancing leaves homes of an explicit size alone).
check "homed: update alice's real name again" 0 shc "PASSWORD=alice-pw" update alice --real-name="Alice Again"
check "homed: shrink alice to 270M" 0 shc "PASSWORD=alice-pw" resize alice 270M
check "homed: deactivate alice" 0 shc "" deactivate alice
asize=$(stat -c %s /home/alice.home)
[ "$asize" -lt $((300 * MB)) ] && ok "alice: homed shrank her image ($asize bytes)" || bad "alice: image $asize bytes"
homed_stop

hearthd_start
for n in carol erin; do
    id=$(hearth_uid "$n")
    check "hearthd: activate $n again, after homed" 0 env PASSWORD="$n-pw" "$hc" --no-ask-password activate "$n"
    [ "$(cat "/home/$n/from-homed.txt" 2>/dev/null)" = homed ] && [ "$(owner "/home/$n/from-homed.txt")" = "$id:$id" ] &&
        [ "$(sha256sum <"/home/$n/blob")" = "$(cat "$T/$n.blob.sum")" ] &&
        ok "$n: what she wrote under homed is hers under Hearth" || bad "$n: $(ls -lan "/home/$n" 2>&1)"
    check "$n writes under Hearth again" 0 as_user "$id" sh -c "echo again >> /home/$n/from-homed.txt"
    check "hearthd: deactivate $n" 0 "$hc" deactivate "$n"
    sfdisk --verify "/home/$n.home" 2>&1 | grep -q 'No errors detected' && ok "$n: the partition table is sound" ||
        bad "$n: $(sfdisk --verify "/home/$n.home" 2>&1)"
done
check "hearthd: activate alice, after homed shrank her home" 0 env PASSWORD=alice-pw "$hc" --no-ask-password activate alice
check "hearthd: inspect alice" 0 "$hc" inspect --json=short alice
jq -e '.realName == "Alice Again" and .diskSize < 300 * 1048576' "$T/out" >/dev/null &&
    ok "alice: the record homed wrote into her header is taken" || bad "alice: $(jq -c '{realName, diskSize}' "$T/out")"
[ "$(cat "$A/from-hearth.txt" 2>/dev/null)" = hearth ] && [ "$(owner "$A/from-hearth.txt")" = "$hid:$hid" ] &&
    [ "$(sha256sum <"$A/dir/blob")" = "$(cat "$T/alice.blob.sum")" ] && ok "alice: her files intact, hers" ||
    bad "alice: $(ls -lan "$A" 2>&1)"
check "alice writes under Hearth again" 0 as_user "$hid" sh -c "echo again >> $A/from-hearth.txt"
check "hearthd: deactivate alice" 0 "$hc" deactivate alice
sfdisk --verify /home/alice.home 2>&1 | grep -q 'No errors detected' && ok "alice: the partition table is sound" ||
    bad "alice: $(sfdisk --verify /home/alice.home 2>&1)"

# ==== d. a smart card ========================================================================
# hearthd makes pat (LUKS) with a SoftHSM2 token (through p11-kit's module
# configuration, as homed finds it) and a password; homed 252, once the
# password fixated the home there, opens it with the PIN alone: the token's
# key (its base64) opens the keyslot Hearth gave it, the record's URI names
# the private key homework looks for.
if [ -e /usr/lib/softhsm/libsofthsm2.so ] && [ -e /usr/share/p11-kit/modules/softhsm2.module ] &&
    command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null; then
    HSM=$(mktemp -d /tmp/hearth-pkcs11.XXXXXX)
    mkdir "$HSM/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$HSM" >"$HSM/softhsm2.conf"
    export SOFTHSM2_CONF=$HSM/softhsm2.conf
    unset HEARTH_PKCS11_MODULE
    softhsm2-util --init-token --free --label interop --pin 1234 --so-pin 5678 >/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$HSM/key.pem" -out "$HSM/cert.pem" -subj /CN=pat -days 30 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in "$HSM/key.pem" -out "$HSM/key8.pem"
    openssl x509 -in "$HSM/cert.pem" -outform der -out "$HSM/cert.der"
    softhsm2-util --import "$HSM/key8.pem" --token interop --label pat --id 01 --pin 1234 >/dev/null
    pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label interop --login --pin 1234 \
        --write-object "$HSM/cert.der" --type cert --id 01 --label pat >/dev/null 2>&1
    hearthd_stop
    hearthd_start # with SOFTHSM2_CONF
    cat >"$T/pat.json" <<JSON
{"userName":"pat","uid":60302,"storage":"luks","fileSystemType":"ext4","diskSize":$((160 * MB)),
 "luksPbkdfType":"pbkdf2","luksPbkdfForceIterations":1000}
JSON
    check "hearthd: create pat (LUKS) with the token" 0 env NEWPASSWORD=pat-pw "$hc" --no-ask-password create \
        --identity="$T/pat.json" --pkcs11-token-uri=auto
    check "hearthd: the PIN opens pat" 0 env PIN=1234 "$hc" --no-ask-password activate pat
    check "pat writes under Hearth" 0 as_user 60302 sh -c "echo hearth > /home/pat/from-hearth.txt"
    check "hearthd: deactivate pat" 0 "$hc" deactivate pat
    hearthd_stop
    homed_start
    check "homed: activate pat with the password (fixates)" 0 shc "PASSWORD=pat-pw" activate pat
    check "homed: deactivate pat" 0 shc "" deactivate pat
    check "homed: activate pat with the PIN alone" 0 shc "PIN=1234" activate pat
    [ "$(cat /home/pat/from-hearth.txt 2>/dev/null)" = hearth ] && ok "pat: under homed, opened by the token, her file is there" ||
        bad "pat: $(ls -lan /home/pat 2>&1)"
    check "homed: deactivate pat" 0 shc "" deactivate pat
    homed_stop
    hearthd_start
    check "hearthd: the PIN opens pat after homed" 0 env PIN=1234 "$hc" --no-ask-password activate pat
    check "hearthd: deactivate pat" 0 "$hc" deactivate pat
    # The reverse: homed makes quinn with the token (and the password it
    # insists on); Hearth, once the password fixated her home, opens it
    # with the PIN alone, through the record's token URI homed wrote.
    hearthd_stop
    homed_start
    # shellcheck disable=SC2086
    check "homed: create quinn (LUKS) with the token" 0 shc "NEWPASSWORD=quinn-pw PIN=1234" create quinn $homed_luks \
        --fs-type=ext4 --disk-size=160M --uid=60303 --pkcs11-token-uri=auto
    check "homed: the PIN opens quinn" 0 shc "PIN=1234" activate quinn
    check "quinn writes under homed" 0 as_user 60303 sh -c "echo homed > /home/quinn/from-homed.txt"
    check "homed: deactivate quinn" 0 shc "" deactivate quinn
    homed_stop
    hearthd_start
    check "hearthd: activate quinn with the password (fixates)" 0 env PASSWORD=quinn-pw "$hc" --no-ask-password activate quinn
    check "hearthd: deactivate quinn" 0 "$hc" deactivate quinn
    check "hearthd: the PIN alone opens quinn" 0 env PIN=1234 "$hc" --no-ask-password activate quinn
    [ "$(cat /home/quinn/from-homed.txt 2>/dev/null)" = homed ] && ok "quinn: under Hearth, opened by the token, her file is there" ||
        bad "quinn: $(ls -lan /home/quinn 2>&1)"
    check "hearthd: deactivate quinn" 0 "$hc" deactivate quinn
    check "hearthd: passwd quinn" 0 env PASSWORD=quinn-pw NEWPASSWORD=quinn-pw2 "$hc" --no-ask-password passwd quinn
    check "hearthd: the PIN opens quinn after passwd (homed's keyslot kept)" 0 env PIN=1234 "$hc" --no-ask-password \
        authenticate quinn
    rm -rf "$HSM"
else
    echo "smart card part skipped: needs softhsm2 (with its p11-kit module) and pkcs11-tool"
fi

[ "$fails" -eq 0 ] || sed 's/^/    homed: /' "$T/homed.log"
hearthd_finish
