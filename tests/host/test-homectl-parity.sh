#!/bin/sh
# Hearth's homectl against systemd 252's, flag for flag:
#  1. every long option systemd's homectl --help lists is one ours knows;
#  2. each record option, given to both on update (or create), against the
#     same hearthd, gives the same record: same fields, same values, same
#     sections;
#  3. what Hearth cannot honour yet is refused by hearthd, whichever client
#     sends it, with "not supported yet".
#   test-homectl-parity.sh BUILDDIR SRCDIR
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

hearthd_need_systemd_homectl
HEARTHD_BTRFS_SIZE=1G
hearthd_setup "$BUILDDIR" "$SRCDIR"
T=$HEARTHD_TMP

hc() { timeout -k 5 60 "$HEARTHD_HOMECTL" --no-ask-password "$@" </dev/null; }
shc() { timeout -k 5 60 "$HEARTHD_SYSTEMD_HOMECTL" --no-ask-password "$@" </dev/null; }

# Options of systemd's homectl that ours may still lack; must stay empty.
KNOWN_MISSING=""

# --- 1. every long option --------------------------------------------------------------
if ! shc --help >"$T/systemd-help" 2>&1; then
    bad "systemd's homectl --help failed:"; sed 's/^/    /' "$T/systemd-help"
fi
grep -oE -- '--[a-z0-9][a-z0-9-]*' "$T/systemd-help" | sort -u >"$T/options"
n=$(wc -l <"$T/options")
[ "$n" -ge 70 ] && ok "systemd's --help lists $n long options" || bad "only $n long options in systemd's --help"
while read -r opt; do
    "$HEARTHD_HOMECTL" "$opt" </dev/null >/dev/null 2>"$T/err"
    if grep -q "unrecognized option" "$T/err"; then
        case " $KNOWN_MISSING " in
            *" $opt "*) echo "known missing: $opt" ;;
            *) bad "homectl does not know $opt: $(cat "$T/err")" ;;
        esac
    else
        case " $KNOWN_MISSING " in
            *" $opt "*) bad "$opt is known now: take it off KNOWN_MISSING" ;;
        esac
    fi
done <"$T/options"
[ -z "$KNOWN_MISSING" ] && ok "no long option is known missing" || bad "known missing: $KNOWN_MISSING"

# --- 2. round trips ----------------------------------------------------------------------
# norm USER: the record as hearthd keeps it, without what differs between
# two users by nature (name, IDs, times, hashes, signature, paths).
norm() {
    hc inspect --json=short "$1" >"$T/rec.json" 2>"$T/err" || { cat "$T/err"; return 1; }
    jq -S 'del(.userName, .uid, .gid, .lastChangeUSec, .lastPasswordChangeUSec, .signature,
        .binding, .status, .secret, .privileged.hashedPassword, .homeDirectory, .imagePath)
        | if .perMachine then .perMachine |= map(del(.imagePath)) else . end' "$T/rec.json"
}

check "create pa (ours)" 0 env NEWPASSWORD=pa-pw "$HEARTHD_HOMECTL" --no-ask-password create pa --storage=directory
check "create pb (systemd's)" 0 env NEWPASSWORD=pb-pw timeout 60 "$HEARTHD_SYSTEMD_HOMECTL" create pb \
    --storage=directory
same() { # same DESC: pa and pb have the same record
    norm pa >"$T/a" && norm pb >"$T/b" || { bad "$1: inspect failed"; return; }
    if cmp -s "$T/a" "$T/b"; then ok "$1: same record"
    else bad "$1: the records differ (ours, systemd's):"; diff "$T/a" "$T/b" | sed 's/^/    /'; fi
}
same "create --storage=directory"

# round ARGS...: update pa with ours and pb with systemd's, each with ARGS.
round() {
    _d="update $*"
    if ! hc update pa "$@" >"$T/out" 2>&1; then bad "$_d (ours) failed:"; sed 's/^/    /' "$T/out"; return; fi
    if ! shc update pb "$@" >"$T/out" 2>&1; then bad "$_d (systemd's) failed:"; sed 's/^/    /' "$T/out"; return; fi
    same "$_d"
}

printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 one@example\n# a comment\n\nssh-rsa AAAAB3Key2 two@example\n' \
    >"$T/keys"
round --real-name="Pat Parity" --email-address=pat@example.org --shell=/bin/sh
round --comment="Pat Comment" --member-of=audio,video --groups=wheel
round --realm=example.org --location="Berlin, Germany" --icon-name=avatar-default
round --setenv=FOO=bar --setenv=BAZ=1 --setenv=FOO=qux
round --setenv=
round --timezone=Europe/Berlin --language=de_DE.UTF-8
round --ssh-authorized-keys="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey0 zero@example" --ssh-authorized-keys=@"$T/keys"
round --password-hint="the usual one"
round --locked=no --not-before=@1700000000 --not-after="2031-02-03 04:05:06"
round --expiredate=2032-01-01
round --rate-limit-interval=1min --rate-limit-burst=5
round --enforce-password-policy=no --password-change-now=yes
round -P --password-change-now=
round --password-change-min=1d --password-change-max=12w --password-change-warn="1d 12h" \
    --password-change-inactive=2.5d
round --umask=0027 --nice=5 --tasks-max=100
round --nice=-3 --umask=
# homectl 252's update leaves resourceLimits as they are (it drops
# --rlimit= there); on create both write them.
check "create pr --rlimit=… (ours)" 0 env NEWPASSWORD=x "$HEARTHD_HOMECTL" --no-ask-password create pr \
    --storage=directory --rlimit=NOFILE=1024:4096 --rlimit=CORE=infinity --rlimit=RLIMIT_NPROC=50
check "create ps --rlimit=… (systemd's)" 0 env NEWPASSWORD=x timeout 60 "$HEARTHD_SYSTEMD_HOMECTL" create ps \
    --storage=directory --rlimit=NOFILE=1024:4096 --rlimit=CORE=infinity --rlimit=RLIMIT_NPROC=50
if norm pr >"$T/a" && norm ps >"$T/b" && cmp -s "$T/a" "$T/b" && grep -q RLIMIT_NOFILE "$T/a"; then
    ok "create --rlimit=: same record"
else bad "create --rlimit=: the records differ:"; diff "$T/a" "$T/b" | sed 's/^/    /'; fi
round --memory-high=1G --memory-max=2G
round --cpu-weight=200 --io-weight=300
round --drop-caches=no --luks-discard=yes --luks-offline-discard=no
round --luks-cipher=aes --luks-cipher-mode=xts-plain64 --luks-volume-key-size=64
round --luks-pbkdf-type=pbkdf2 --luks-pbkdf-hash-algorithm=sha256 --luks-pbkdf-time-cost=2s \
    --luks-pbkdf-memory-cost=64M --luks-pbkdf-parallel-threads=2
round --luks-sector-size=512 --luks-extra-mount-options=noatime,commit=30
round --nosuid=yes --nodev=yes --noexec=no
round --cifs-domain=WORKGROUP --cifs-user-name=pat --cifs-service=//server/share/dir \
    --cifs-extra-mount-options=vers=3.0
round --stop-delay=30s --kill-processes=yes --auto-login=yes
round --auto-resize-mode=grow --rebalance-weight=200
round --skel=/etc/skel --access-mode=0700
# (--language= is left out: homectl 252 removes a field "language", not
# preferredLanguage; ours removes preferredLanguage.)
round --location= --realm= --icon-name= --timezone= --ssh-authorized-keys= --password-hint= \
    --cifs-domain= --memory-high= --luks-pbkdf-type= --stop-delay= --nice= --locked= --not-before=

# create_pair NAME_OURS NAME_THEIRS ARGS...: both homectls create, records compared.
create_pair() {
    _a=$1 _b=$2; shift 2
    check "create $_a $* (ours)" 0 env NEWPASSWORD=x "$HEARTHD_HOMECTL" --no-ask-password create "$_a" "$@"
    check "create $_b $* (systemd's)" 0 env NEWPASSWORD=x timeout 60 "$HEARTHD_SYSTEMD_HOMECTL" create "$_b" "$@"
    if norm "$_a" >"$T/a" && norm "$_b" >"$T/b" && cmp -s "$T/a" "$T/b"; then ok "create $*: same record"
    else bad "create $*: the records differ:"; diff "$T/a" "$T/b" | sed 's/^/    /'; fi
}
create_pair pd pe --storage=subvolume --disk-size=300M
# A share of the free space (homed's diskSizeRelative, 20% = 858993459 of
# 2^32 - 1): the same record from both; the worker makes it a size at
# create (what is free differs between the two creates by a little).
check "create pf --disk-size=20% (ours)" 0 env NEWPASSWORD=x "$HEARTHD_HOMECTL" --no-ask-password create pf \
    --storage=subvolume --disk-size=20%
check "create pg --disk-size=20% (systemd's)" 0 env NEWPASSWORD=x timeout 60 "$HEARTHD_SYSTEMD_HOMECTL" create pg \
    --storage=subvolume --disk-size=20%
if norm pf >"$T/a" && norm pg >"$T/b" && jq -S 'del(.diskSize)' "$T/a" >"$T/a2" && jq -S 'del(.diskSize)' "$T/b" >"$T/b2" &&
    cmp -s "$T/a2" "$T/b2"; then ok "create --disk-size=20%: same record"
else bad "create --disk-size=20%: the records differ:"; diff "$T/a" "$T/b" | sed 's/^/    /'; fi
share=$(jq '[.perMachine[]?.diskSizeRelative, .diskSizeRelative] | map(select(. != null)) | first' "$T/a")
size=$(jq '.diskSize' "$T/a")
[ "$share" = 858993459 ] && ok "diskSizeRelative is 858993459 (20%)" || bad "diskSizeRelative is $share"
# 20% of what was free on the 1 GiB file system: well above 16 MiB, below 205 MiB.
if [ "$size" != null ] && [ "$size" -gt $((100 << 20)) ] && [ "$size" -le $((205 << 20)) ] && [ $((size % 4096)) = 0 ]; then
    ok "the worker made 20% of the free space a size: $size bytes"
else bad "diskSize after create --disk-size=20%: $size"; fi
limit=$(btrfs qgroup show -re --raw "$HEARTHD_HOME_ROOT" 2>/dev/null | awk -v s="$size" '$4 == s { print "yes"; exit }')
[ "$limit" = yes ] && ok "the quota group's limit is that size" || bad "no quota group limited to $size"
# update --disk-size=30%: a share of what is free and what the home
# holds, made a size at once (systemd's homectl resizes after the update;
# ours has hearthd's update do it).
for who in pf:hc pg:shc; do
    u=${who%%:*} c=${who#*:}
    if $c update "$u" --disk-size=30% >"$T/out" 2>&1; then
        s2=$(hc inspect --json=short "$u" | jq '.diskSize')
        if [ "$s2" != null ] && [ "$s2" -gt "$size" ]; then ok "update $u --disk-size=30% ($c): $size → $s2 bytes"
        else bad "update $u --disk-size=30% ($c): diskSize $s2 (was $size)"; fi
    else bad "update $u --disk-size=30% ($c) failed:"; sed 's/^/    /' "$T/out"; fi
done

# --- 3. refused by hearthd, whichever client sends it -----------------------------------
refused() { # refused ARGS...: update pa and pb with ARGS fails with "not supported yet"
    for _c in hc shc; do
        _u=pa; [ "$_c" = shc ] && _u=pb
        if $_c update "$_u" "$@" >"$T/out" 2>&1; then bad "update $* ($_c) was accepted"
        elif grep -q "not supported yet" "$T/out"; then ok "update $* ($_c): not supported yet"
        else bad "update $* ($_c): no \"not supported yet\":"; sed 's/^/    /' "$T/out"; fi
    done
}
refused --luks-sector-size=4096
refused --drop-caches=yes
refused --luks-offline-discard=yes
refused --nosuid=no
refused --nodev=no
refused --noexec=yes
refused --access-mode=0755
check "create with --storage=cifs (ours) is refused" 1 sh -c \
    "NEWPASSWORD=x '$HEARTHD_HOMECTL' --no-ask-password create pc --storage=cifs </dev/null 2>'$T/err'; [ \$? -ne 0 ] && grep -q 'not supported yet' '$T/err' && exit 1"
check "create with --storage=cifs (systemd's) is refused" 1 sh -c \
    "NEWPASSWORD=x timeout 60 '$HEARTHD_SYSTEMD_HOMECTL' create pc --storage=cifs </dev/null 2>'$T/err'; [ \$? -ne 0 ] && grep -q 'not supported yet' '$T/err' && exit 1"
check "--fido2-device= (ours) is refused" 2 hc update pa --fido2-device=/dev/hidraw0
contains "--fido2-device: not supported yet" "$T/err" "not supported yet"

# --- bad syntax: refused by ours as by systemd's ----------------------------------------
for a in --nice=20 --umask=0999 --cpu-weight=0 --io-weight=10001 --rlimit=NOFILE --rlimit=BOGUS=1 \
    --timezone=Nowhere/Nothing --realm=.bad --not-before=yesterday-ish --luks-sector-size=1000 \
    --setenv=1BAD=x --locked=maybe --tasks-max=-1 --cifs-service=noslash --ssh-authorized-keys=#comment \
    --disk-size=101% --disk-size=12.345%; do
    hc update pa "$a" >/dev/null 2>&1; ours=$?
    shc update pb "$a" >/dev/null 2>&1; theirs=$?
    if [ "$ours" -ne 0 ] && [ "$theirs" -ne 0 ]; then ok "$a: refused by both"
    else bad "$a: ours exited $ours, systemd's $theirs"; fi
done

hearthd_finish
