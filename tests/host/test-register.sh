#!/bin/bash
# Homes that move between machines (#20): a home made on machine A — a
# LUKS image, .homedir directories — taken to machine B (another state
# directory, another signing key, another home root), found there by
# hearthd (inotify, and at start), shown "unfixated" as homed shows it, and
# fixated by the first authentication or activation with the password: the
# record the home carries is taken only if a key B trusts signed it (a
# NAME.public beside B's records), and it keeps its signer's signature.
# Records registered from elsewhere (RegisterHome, homectl register) pass
# the same checks and carry no section bound to a machine; exports
# (homectl inspect --export-format=, -E) and the copies a home carries have
# none either. adopt, register, unregister as systemd's homectl has them.
#
# Both machines are hearthd on the same private bus, one after the other,
# with the same machine ID (the binding of "another machine" is a made-up
# one). LUKS homes are fixated here without device-mapper (the header's
# token is all it takes); activating one needs dm-crypt (the VM tests).
#   test-register.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

command -v jq >/dev/null || hearthd_skip "needs jq"
HEARTHD_BTRFS_SIZE=1G
hearthd_setup "$BUILDDIR" "$SRCDIR"
hearthd_stop

R=$HEARTHD_HOME_ROOT # one btrfs: both machines' home roots, and elsewhere
T=$HEARTHD_TMP
A_STATE=$T/state-a B_STATE=$T/state-b A_ROOT=$R/a B_ROOT=$R/b
mkdir -p "$A_STATE" "$B_STATE" "$A_ROOT" "$B_ROOT" "$R/elsewhere"
chmod 700 "$A_STATE" "$B_STATE"
chmod 755 "$A_ROOT" "$B_ROOT" "$R/elsewhere"
machine() { # machine a|b: hearthd as that machine
    hearthd_stop
    case $1 in
        a) HEARTHD_STATE_DIR=$A_STATE HEARTHD_HOME_ROOT=$A_ROOT ;;
        b) HEARTHD_STATE_DIR=$B_STATE HEARTHD_HOME_ROOT=$B_ROOT ;;
    esac
    echo "==== machine $1" >>"$HEARTHD_LOG"
    hearthd_start
}
hc() { timeout -k 5 120 "$HEARTHD_HOMECTL" --no-ask-password "$@" </dev/null; }
call() { hearthd_call "$@"; }
state_of() { hc list --no-legend | awk -v u="$1" '$1 == u { print $4 }'; }
uid_of() { hc list --no-legend | awk -v u="$1" '$1 == u { print $2 }'; }
wait_state() { # wait_state DESC USER STATE: within 10 s ("none": not listed)
    _w=0
    while [ "$(state_of "$2")" != "$3" ] && ! { [ "$3" = none ] && [ -z "$(state_of "$2")" ]; }; do
        [ "$_w" -ge 100 ] && { bad "$1: $2 is \"$(state_of "$2")\", not $3 (within 10s)"; return 0; }
        sleep 0.1; _w=$((_w + 1))
    done
    ok "$1"
}
# bring FROM NAME: FROM appears in B's root as NAME at once (a copy made
# under a hidden name first, then renamed, as an administrator would).
bring() {
    rm -rf "$B_ROOT/.incoming"
    cp -a --sparse=always "$1" "$B_ROOT/.incoming" && mv "$B_ROOT/.incoming" "$B_ROOT/$2"
}
now_usec() { echo $(($(date +%s) * 1000000 + 999999)); }

# ==== machine A: the homes are made ==========================================================
machine a
check "A: carol (directory)" 0 env NEWPASSWORD=carol-pw "$HEARTHD_HOMECTL" create carol --storage=directory \
    --uid=60301 --real-name="Carol Crane"
check "A: activate carol" 0 env PASSWORD=carol-pw "$HEARTHD_HOMECTL" activate carol
check "A: carol writes a file" 0 hearthd_as_user 60301 sh -c "echo 'carol was here' > '$A_ROOT/carol/note'"
check "A: deactivate carol" 0 hc deactivate carol
check "A: dave (directory)" 0 env NEWPASSWORD=dave-pw "$HEARTHD_HOMECTL" create dave --storage=directory --uid=60302
check "A: fred (directory)" 0 env NEWPASSWORD=fred-pw "$HEARTHD_HOMECTL" create fred --storage=directory --uid=60303
check "A: hank (directory)" 0 env NEWPASSWORD=hank-pw "$HEARTHD_HOMECTL" create hank --storage=directory --uid=60305

# The copy every home carries: signed by A, nothing bound to a machine.
id=$A_ROOT/carol.homedir/.identity
check "A: carol's home carries ~/.identity" 0 test -f "$id"
[ "$(stat -c %u "$id")" = 60301 ] && ok "A: ~/.identity is hers" || bad "A: ~/.identity owned by $(stat -c %u "$id")"
[ "$(jq -r 'has("binding"), has("status"), has("secret")' "$id" | sort -u)" = false ] \
    && ok "A: ~/.identity has no binding, status or secret" || bad "A: ~/.identity: $(cat "$id")"
[ "$(jq -r '.signature[0].key' "$id")" = "$(cat "$A_STATE/local.public")" ] && ok "A: ~/.identity signed by A" \
    || bad "A: ~/.identity's signature: $(jq -c .signature "$id")"
[ "$(jq -r .realName "$id")" = "Carol Crane" ] && ok "A: ~/.identity is carol's record" || bad "A: $(cat "$id")"

# Exports: the whole record, stripped (what another machine registers), minimal.
check "A: inspect --json" 0 hc inspect --json=short carol
[ "$(jq -c 'has("binding"), has("status"), has("signature")' <<<"$out" | tr '\n' ' ')" = "true true true " ] \
    && ok "A: full: binding, status, signature" || bad "A: full export: $out"
check "A: inspect -E (stripped)" 0 hc inspect -E carol
[ "$(jq -c 'has("binding"), has("status"), has("signature"), has("privileged")' <<<"$out" | tr '\n' ' ')" = \
    "false false true true " ] && ok "A: stripped: no binding nor status; signed" || bad "A: -E: $out"
check "A: inspect --export-format=stripped --json=short" 0 hc inspect --export-format=stripped --json=short fred
cp "$T/out" "$T/fred.json"
check "A: inspect -EE (minimal)" 0 hc inspect -EE carol
[ "$(jq -c 'has("binding"), has("signature")' <<<"$out" | tr '\n' ' ')" = "false false " ] \
    && ok "A: minimal: no signature either" || bad "A: -EE: $out"
check "A: --export-format=bogus is a usage error" 2 hc inspect --export-format=bogus carol
check "A: --export-format= only with inspect" 2 hc list --export-format=stripped
check "A: -EEE is a usage error" 2 hc inspect -EEE carol
check "A: --export-format=help" 0 hc --export-format=help
[ "$out" = "full
stripped
minimal" ] && ok "A: export formats listed" || bad "A: --export-format=help: $out"

# A LUKS home in homed's layout, its record in the header's token signed
# by A. (No device-mapper here: the volume is made with cryptsetup, the
# token written by an update with the password, as test-luks.sh does.)
HAVE_LUKS=yes
command -v cryptsetup >/dev/null && command -v sfdisk >/dev/null || HAVE_LUKS=no
if [ $HAVE_LUKS = yes ]; then
    OFF=1048576 PSIZE=$((128984 * 512))
    img=$R/elsewhere/lucy.home
    truncate -s 64M "$img"
    printf 'label: gpt\nstart=2048, size=%d, type=773f91ef-66d4-49b5-bd83-d683bf40ad16, name="lucy"\n' \
        $((PSIZE / 512)) | sfdisk -q "$img" || { bad "sfdisk failed"; HAVE_LUKS=no; }
    l=$(losetup -f --show -o $OFF --sizelimit $PSIZE "$img")
    printf 'lucy-pw' | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --label lucy --subsystem systemd-home --key-file - "$l" || { bad "luksFormat failed"; HAVE_LUKS=no; }
    losetup -d "$l"
    check "A: register lucy (LUKS)" 0 call RegisterHome string:"{\"userName\":\"lucy\",\"uid\":60304,\"storage\":\"luks\",\"disposition\":\"regular\",\"lastChangeUSec\":$(now_usec)}"
    [ "$(state_of lucy)" = absent ] && ok "A: lucy absent while her image is elsewhere" || bad "A: lucy $(state_of lucy)"
    mv "$img" "$A_ROOT/lucy.home"
    wait_state "A: lucy's image moved in: inactive" lucy inactive
    check "A: the header gets lucy's record" 0 env PASSWORD=lucy-pw "$HEARTHD_HOMECTL" update lucy --real-name=Lucy
else
    echo "SKIP: LUKS parts (need cryptsetup and sfdisk)"
fi
machine b

# ==== machine B: the homes arrive ================================================================
check "B: no homes yet" 0 hc list
contains "B: empty" "$T/out" "No home areas."
[ "$(cat "$B_STATE/local.public" 2>/dev/null)" != "$(cat "$A_STATE/local.public")" ] && ok "B has a key of its own" \
    || bad "B's key is A's"

# A record from A, registered: A's key is not trusted here yet.
check "B: register a record signed by A, whose key B does not trust" 65 hc register "$T/fred.json"
contains "B: says the key is unknown" "$T/err" "signed by an unknown key"
contains "B: names the home" "$T/err" "home fred"
check "B: fred not registered" 67 hc inspect fred
# Tampered after signing.
jq -c '.realName = "Mallory"' "$T/fred.json" >"$T/fred-evil.json"
check "B: a record changed after signing is refused" 65 hc register "$T/fred-evil.json"
contains "B: says it was changed" "$T/err" "modified after signing"
# A binding (here: another machine's) or a status section: refused, as homed does.
jq -c '.binding = {"0123456789abcdef0123456789abcdef": {"imagePath": "/dev/sda", "uid": 60999}}' "$T/fred.json" \
    >"$T/fred-bound.json"
check "B: homectl refuses a record with a binding" 65 hc register "$T/fred-bound.json"
contains "B: homectl names the section" "$T/err" '"binding" section'
check "B: hearthd refuses it too" 1 call RegisterHome string:"$(cat "$T/fred-bound.json")"
contains "B: InvalidArgs" "$T/err" "org.freedesktop.DBus.Error.InvalidArgs"
contains "B: names the section" "$T/err" '"binding" section'
jq -c '.status = {"0123456789abcdef0123456789abcdef": {"state": "active"}}' "$T/fred.json" >"$T/fred-status.json"
check "B: hearthd refuses a status section" 1 call RegisterHome string:"$(cat "$T/fred-status.json")"
check "B: as a user: AdoptHome is root's" 1 hearthd_as_user 60301 dbus-send --system --print-reply \
    --dest=org.freedesktop.home1 /org/freedesktop/home1 org.freedesktop.home1.Manager.AdoptHome \
    string:"$R/elsewhere/x.homedir" uint64:0
contains "B: AccessDenied" "$T/err" "org.freedesktop.DBus.Error.AccessDenied"

# Images brought while hearthd runs: found, unfixated.
[ $HAVE_LUKS = yes ] && bring "$A_ROOT/lucy.home" lucy.home
bring "$A_ROOT/dave.homedir" dave.homedir
[ $HAVE_LUKS = yes ] && wait_state "B: lucy's image found: unfixated" lucy unfixated
wait_state "B: dave's .homedir found: unfixated" dave unfixated
check "B: GetHomeByName dave" 0 call GetHomeByName string:dave
contains "B: state unfixated on the bus" "$T/out" '"unfixated"'
check "B: inspect dave" 0 hc inspect dave
contains "B: inspect shows it" "$T/out" "unfixated"
[ "$(uid_of dave)" = 60302 ] && ok "B: dave keeps the UID his storage has" || bad "B: dave's UID $(uid_of dave)"
check "B: not registered: unregister refused" 1 hc unregister dave
contains "B: HomeUnfixated" "$T/err" "not registered"
check "B: update before fixation refused" 1 env PASSWORD=dave-pw "$HEARTHD_HOMECTL" update dave --real-name=D
contains "B: not fixated yet" "$T/err" "not fixated yet"
check "B: remove before fixation refused" 1 hc remove dave
check "B: dave's storage untouched" 0 test -f "$B_ROOT/dave.homedir/.identity"
check "B: FixateHome with a wrong password" 1 call FixateHome string:dave string:'{"password":["nope"]}'
contains "B: BadPassword" "$T/err" "org.freedesktop.home1.BadPassword"
check "B: authenticate dave: A's key untrusted" 65 env PASSWORD=dave-pw "$HEARTHD_HOMECTL" authenticate dave
contains "B: says the key is unknown" "$T/err" "signed by an unknown key"
contains "B: says how to trust it" "$T/err" ".public"
[ "$(state_of dave)" = unfixated ] && ok "B: dave stays unfixated" || bad "B: dave $(state_of dave)"
check "B: no record stored for dave" 0 test ! -e "$B_STATE/dave.identity"
if [ $HAVE_LUKS = yes ]; then
    check "B: authenticate lucy, wrong password" 79 env PASSWORD=nope "$HEARTHD_HOMECTL" authenticate lucy
    check "B: authenticate lucy: A's key untrusted" 65 env PASSWORD=lucy-pw "$HEARTHD_HOMECTL" authenticate lucy
    contains "B: names lucy" "$T/err" "home lucy"
    contains "B: the token's record" "$T/err" "LUKS2 token"
    [ "$(state_of lucy)" = unfixated ] && ok "B: lucy stays unfixated" || bad "B: lucy $(state_of lucy)"
fi

# An image taken away while unfixated: the home goes with it.
rm -rf "$B_ROOT/dave.homedir"
wait_state "B: dave's storage gone: dave gone" dave none
check "B: GetHomeByName dave: NoSuchHome" 1 call GetHomeByName string:dave
contains "B: NoSuchHome" "$T/err" "org.freedesktop.home1.NoSuchHome"

# Only root's, not-writable-by-others key files count.
cp "$A_STATE/local.public" "$B_STATE/machine-a.public"
chmod 666 "$B_STATE/machine-a.public"
check "B: register fred: a key file anyone may write is not trusted" 65 hc register "$T/fred.json"
chown 60301 "$B_STATE/machine-a.public"
chmod 644 "$B_STATE/machine-a.public"
check "B: nor one another user owns" 65 hc register "$T/fred.json"
chown 0:0 "$B_STATE/machine-a.public"
grep -q "machine-a.public: writable by others" "$HEARTHD_LOG" && ok "B: the ignored key is logged" \
    || bad "B: no log line for the ignored key"

# ---- A's key trusted: the same records and homes are taken -------------------------------------
check "B: register fred (A's key installed)" 0 hc register "$T/fred.json"
check "B: fred registered" 0 hc inspect --json=short fred
[ "$(jq -r '.signature[0].key' <<<"$out")" = "$(cat "$A_STATE/local.public")" ] \
    && ok "B: fred's record keeps A's signature" || bad "B: fred's signature: $(jq -c .signature <<<"$out")"
[ "$(jq -r '.status[].signedLocally' <<<"$out")" = false ] && ok "B: fred not signed locally" \
    || bad "B: signedLocally: $(jq -c .status <<<"$out")"
[ "$(state_of fred)" = absent ] && ok "B: fred absent (his storage stayed on A)" || bad "B: fred $(state_of fred)"
check "B: register fred again: exists" 1 hc register "$T/fred.json"
contains "B: UserNameExists" "$T/err" "exists"
check "B: unregister fred" 0 hc unregister fred
check "B: fred gone" 67 hc inspect fred
# By standard input, as `homectl inspect -E fred | ssh B homectl register -` does.
check "B: register - (standard input)" 0 sh -c "\"$HEARTHD_HOMECTL\" register - < \"$T/fred.json\""
check "B: unregister fred again" 0 hc unregister fred
# An unsigned record from root: signed here (as homed signs it).
check "B: register an unsigned record" 0 call RegisterHome \
    string:"{\"userName\":\"blocker\",\"uid\":60301,\"storage\":\"directory\",\"disposition\":\"regular\",\"lastChangeUSec\":$(now_usec)}"
check "B: blocker's record" 0 hc inspect --json=short blocker
[ "$(jq -r '.signature[0].key' <<<"$out")" = "$(cat "$B_STATE/local.public")" ] \
    && ok "B: an unsigned record is signed by B" || bad "B: blocker's signature: $(jq -c .signature <<<"$out")"

if [ $HAVE_LUKS = yes ]; then
    check "B: authenticate lucy: fixated" 0 env PASSWORD=lucy-pw "$HEARTHD_HOMECTL" authenticate lucy
    [ "$(state_of lucy)" = inactive ] && ok "B: lucy fixated: inactive" || bad "B: lucy $(state_of lucy)"
    check "B: lucy's record stored" 0 test -f "$B_STATE/lucy.identity"
    [ "$(jq -r .realName "$B_STATE/lucy.identity")" = Lucy ] && ok "B: it is the record from the header" \
        || bad "B: lucy's record: $(cat "$B_STATE/lucy.identity")"
    [ "$(jq -r '.signature[0].key' "$B_STATE/lucy.identity")" = "$(cat "$A_STATE/local.public")" ] \
        && ok "B: lucy's record keeps A's signature" || bad "B: lucy's signature"
    [ "$(jq -r '.binding[].imagePath' "$B_STATE/lucy.identity")" = "$B_ROOT/lucy.home" ] \
        && ok "B: bound to B's image" || bad "B: lucy's binding: $(jq -c .binding "$B_STATE/lucy.identity")"
    [ "$(jq -r '.binding[].luksUuid' "$B_STATE/lucy.identity")" != null ] && ok "B: bound to its LUKS UUID" \
        || bad "B: no luksUuid in lucy's binding"
    check "B: FixateHome lucy again: already fixated" 1 call FixateHome string:lucy string:'{"password":["lucy-pw"]}'
    contains "B: HomeAlreadyFixated" "$T/err" "org.freedesktop.home1.HomeAlreadyFixated"
    check "B: authenticate lucy as a fixated home" 0 env PASSWORD=lucy-pw "$HEARTHD_HOMECTL" authenticate lucy
    # A fixated home's image goes: absent; comes back: inactive.
    mv "$B_ROOT/lucy.home" "$R/elsewhere/lucy.home"
    wait_state "B: lucy's image moved out: absent" lucy absent
    mv "$R/elsewhere/lucy.home" "$B_ROOT/lucy.home"
    wait_state "B: and back: inactive" lucy inactive
fi

# carol: her A UID (60301) is the blocker's here, so she gets another; her
# files, stored as 60301, are hers through the ID-mapped mount.
bring "$A_ROOT/carol.homedir" carol.homedir
wait_state "B: carol found: unfixated" carol unfixated
cu=$(uid_of carol)
[ -n "$cu" ] && [ "$cu" != 60301 ] && ok "B: carol gets another UID ($cu)" || bad "B: carol's UID '$cu'"
check "B: activate carol: fixated and active" 0 env PASSWORD=carol-pw "$HEARTHD_HOMECTL" activate carol
[ "$(state_of carol)" = active ] && ok "B: carol active" || bad "B: carol $(state_of carol)"
[ "$(jq -r .realName "$B_STATE/carol.identity")" = "Carol Crane" ] && ok "B: carol's record taken from her home" \
    || bad "B: carol's record"
[ "$(jq -r '.binding[].uid' "$B_STATE/carol.identity")" = "$cu" ] && ok "B: bound to her UID here" \
    || bad "B: carol's binding: $(jq -c .binding "$B_STATE/carol.identity")"
check "B: her file is there, hers" 0 test "$(stat -c %u "$B_ROOT/carol/note" 2>/dev/null)" = "$cu"
check "B: she reads it as herself" 0 hearthd_as_user "$cu" cat "$B_ROOT/carol/note"
[ "$out" = "carol was here" ] && ok "B: her file's content" || bad "B: note: $out"
check "B: she writes in her home" 0 hearthd_as_user "$cu" sh -c "echo more >> '$B_ROOT/carol/note'"
check "B: deactivate carol" 0 hc deactivate carol
check "B: carol's storage guarded once fixated" 0 mountpoint -q "$B_ROOT/carol.homedir"

# A home whose ~/.identity carries a binding (made up after signing, which
# does not cover it): refused though signed by a trusted key.
cp -a "$A_ROOT/hank.homedir" "$B_ROOT/.hank"
jq -c '.binding = {"0123456789abcdef0123456789abcdef": {"imagePath": "/dev/sda", "uid": 60999}}' \
    "$A_ROOT/hank.homedir/.identity" >"$B_ROOT/.hank/.identity"
mv "$B_ROOT/.hank" "$B_ROOT/hank.homedir"
wait_state "B: hank found" hank unfixated
check "B: hank's record with a binding is refused" 65 env PASSWORD=hank-pw "$HEARTHD_HOMECTL" authenticate hank
contains "B: names the section" "$T/err" '"binding" section'
[ "$(state_of hank)" = unfixated ] && ok "B: hank stays unfixated" || bad "B: hank $(state_of hank)"

# adopt: from elsewhere on the same file system, moved into the home root.
cp -a "$A_ROOT/dave.homedir" "$R/elsewhere/dave.homedir"
mkdir "$R/elsewhere/notahome"
check "B: adopt something that is no home" 66 hc adopt "$R/elsewhere/notahome"
contains "B: UnrecognizedHomeFormat" "$T/err" "neither a LUKS image"
check "B: adopt dave (a relative path)" 0 sh -c "cd '$R/elsewhere' && '$HEARTHD_HOMECTL' adopt ./dave.homedir"
[ "$(state_of dave)" = unfixated ] && ok "B: dave adopted: unfixated" || bad "B: dave $(state_of dave)"
check "B: moved into the home root" 0 test -d "$B_ROOT/dave.homedir" -a ! -e "$R/elsewhere/dave.homedir"
check "B: adopt it again: found already" 0 hc adopt "$B_ROOT/dave.homedir"
check "B: adopt a name in use" 1 hc adopt "$B_ROOT/carol.homedir"
contains "B: UserNameExists" "$T/err" "exists already"
check "B: authenticate dave: fixated" 0 env PASSWORD=dave-pw "$HEARTHD_HOMECTL" authenticate dave
[ "$(state_of dave)" = inactive ] && ok "B: dave fixated" || bad "B: dave $(state_of dave)"

# At start too: a home brought while hearthd was stopped is found.
hearthd_stop
cp -a "$A_ROOT/fred.homedir" "$B_ROOT/fred.homedir"
hearthd_start
[ "$(state_of fred)" = unfixated ] && ok "B: fred found at start" || bad "B: fred $(state_of fred) after start"
[ "$(state_of carol)" = inactive ] && ok "B: carol loaded from her stored record" || bad "B: carol $(state_of carol)"
[ $HAVE_LUKS = no ] || { [ "$(state_of lucy)" = inactive ] && ok "B: lucy loaded, A-signed" || bad "B: lucy $(state_of lucy)"; }
contains "B: NSS lists the unfixated fred" "$HEARTHD_RUNTIME_DIR/passwd" "fred:x:60303:"
# A's key withdrawn: what it signed is no longer trusted, at once and
# after a restart.
mv "$B_STATE/machine-a.public" "$T/machine-a.public"
check "B: fred (A-signed) not fixated without A's key" 65 env PASSWORD=fred-pw "$HEARTHD_HOMECTL" authenticate fred
hearthd_stop
hearthd_start
if [ $HAVE_LUKS = yes ]; then
    # Her stored record refused, her image is what is left: found again.
    [ "$(state_of lucy)" = unfixated ] && ok "B: lucy's A-signed record refused at start; her image found again" \
        || bad "B: lucy $(state_of lucy)"
    grep -q "home lucy: the record in $B_STATE/lucy.identity is signed by an unknown key" "$HEARTHD_LOG" \
        && ok "B: the refusal is logged, naming lucy" || bad "B: no log line for lucy"
fi
[ "$(state_of carol)" = unfixated ] && ok "B: nor carol's (A's signature, kept): unfixated again" \
    || bad "B: carol $(state_of carol)"
[ "$(state_of blocker)" = absent ] && ok "B: B's own records still load" || bad "B: blocker $(state_of blocker)"
hearthd_finish
