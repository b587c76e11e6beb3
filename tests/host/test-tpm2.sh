#!/bin/bash
# storage/tpm2/tpm2.c against swtpm over a unix socket, driven by test-tpm2-tool:
# a fresh TPM gets its SRK at 0x81000001 and a second run reuses it; seal and
# unseal round trip; the token has systemd's layout and a policy hash that
# matches one computed here from the PCR value; wrong PINs count and say how
# many attempts are left; the configured number of failures gives a lockout
# reported as such; a PCR 7 change, a tampered token, an evicted SRK, a
# cleared TPM and a missing TPM each give their own error.
# Needs swtpm, tpm2-tools and python3, not root.
# Usage: test-tpm2.sh TEST_TPM2_TOOL
set -u
tool=$1
for c in swtpm tpm2_pcrextend tpm2_pcrread tpm2_dictionarylockout tpm2_shutdown tpm2_getcap \
         tpm2_evictcontrol tpm2_clear python3; do
    command -v "$c" >/dev/null || { echo "needs $c"; exit 77; }
done

tmp=$(mktemp -d /tmp/hearth-tpm2-test.XXXXXX)
swtpm_pid=
# Only the swtpm started here is stopped, by its PID, after a clean
# TPM2_Shutdown (an unclean one counts as a dictionary-attack failure).
stop_tpm() {
    [ -n "$swtpm_pid" ] || return 0
    tpm2_shutdown >/dev/null 2>&1 || echo "warning: tpm2_shutdown failed"
    kill "$swtpm_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$swtpm_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$swtpm_pid" 2>/dev/null && kill -9 "$swtpm_pid" 2>/dev/null
    swtpm_pid=
}
trap 'stop_tpm; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

start_tpm() { # start_tpm NAME: a fresh TPM; sets TPM2TOOLS_TCTI and $tcti
    local d=$tmp/$1
    mkdir -p "$d"
    swtpm socket --tpm2 --tpmstate dir="$d" --server type=unixio,path="$d/sock" \
        --ctrl type=unixio,path="$d/sock.ctrl" --flags not-need-init,startup-clear \
        --daemon --pid file="$d/pid" || { echo "swtpm does not start"; exit 1; }
    for _ in $(seq 50); do [ -s "$d/pid" ] && [ -S "$d/sock" ] && break; sleep 0.1; done
    swtpm_pid=$(cat "$d/pid")
    [ -n "$swtpm_pid" ] || { echo "swtpm wrote no pid file"; exit 1; }
    tcti=swtpm:path=$d/sock
    export TPM2TOOLS_TCTI=$tcti
}

mkdir -p "$tmp/run"
export HEARTH_RUNTIME_DIR=$tmp/run
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# t WANT PIN ARGS...: runs the tool with PIN on stdin; WANT is ok or an errno
# name. Leaves $out and $err.
t() {
    local want=$1 pin=$2 rc got
    shift 2
    printf '%s' "$pin" | "$tool" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
    got=ok
    [ "$rc" = 0 ] || got=$(sed -n 's/^error=//p' "$tmp/out")
    if [ "$got" = "$want" ]; then ok "$1 → $got${err:+ ($err)}"; else bad "$1 → $got (status $rc), expected $want: $err"; fi
}
lockout_field() { # lockout_field NAME
    "$tool" lockout "$tcti" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
edit() { # edit IN OUT PYTHON: writes IN's token to OUT after PYTHON changed it (as t)
    python3 -c "import json, sys; t = json.load(open(sys.argv[1])); $3; json.dump(t, open(sys.argv[2], 'w'))" "$1" "$2"
}
persistent() { tpm2_getcap handles-persistent | tr -d ' -' | tr '\n' ' '; }

start=$(date +%s%N)
start_tpm tpm1

# Test-friendly and deliberate: 3 failures lock out, nothing is forgotten
# during the test (1000 s per failure).
tpm2_dictionarylockout -s -n 3 -t 1000 -l 1000 || bad "tpm2_dictionarylockout -s"
# Emulator PCRs start at zero: give PCR 7 a value, as firmware would.
tpm2_pcrextend "7:sha256=$(printf 'secure boot db' | sha256sum | cut -d' ' -f1)" || bad "tpm2_pcrextend"

[ -z "$(persistent)" ] && ok "fresh TPM has no persistent objects" || bad "fresh TPM holds $(persistent)"

# ---- seal on a fresh TPM: the SRK is created --------------------------------
pin='correct horse'
t ok "$pin" seal "$tcti" 7 "$tmp/token.json" "$tmp/secret"
printf '%s' "$err" | grep -q 'created the storage root key (ECC P-256) at 0x81000001' \
    && ok "SRK created and said so" || bad "no SRK creation message: $err"
[ "$(persistent)" = "0x81000001 " ] && ok "SRK persistent at 0x81000001" || bad "persistent handles: $(persistent)"
[ -e "$tmp/run/tpm2-srk.lock" ] && ok "SRK lock file in HEARTH_RUNTIME_DIR" || bad "no lock file"
[ "$(wc -c < "$tmp/secret")" = 65 ] && ok "secret is 32 bytes" || bad "secret: $(cat "$tmp/secret")"
grep -q "$pin" "$tmp/token.json" && bad "PIN in token" || ok "no PIN in token"

# The layout systemd-cryptenroll writes, and a policy hash equal to one
# computed here: PolicyPCR(sha256:7 at its current value), PolicyAuthValue.
tpm2_pcrread sha256:7 -o "$tmp/pcr7.bin" >/dev/null || bad "tpm2_pcrread"
python3 - "$tmp/token.json" "$tmp/pcr7.bin" <<'EOF' && ok "token layout and policy hash" || bad "token: $(cat "$tmp/token.json")"
import base64, hashlib, json, struct, sys
tok = json.load(open(sys.argv[1]))
pcr7 = open(sys.argv[2], "rb").read()
assert set(tok) == {"type", "keyslots", "tpm2-blob", "tpm2-pcrs", "tpm2-pcr-bank", "tpm2-primary-alg",
                    "tpm2-policy-hash", "tpm2-pin", "tpm2_salt"}, sorted(tok)
assert tok["type"] == "systemd-tpm2" and tok["keyslots"] == ["1"], tok
assert tok["tpm2-pcrs"] == [7] and tok["tpm2-pcr-bank"] == "sha256" and tok["tpm2-primary-alg"] == "ecc", tok
assert tok["tpm2-pin"] is True and len(base64.b64decode(tok["tpm2_salt"], validate=True)) == 32, tok
blob = base64.b64decode(tok["tpm2-blob"], validate=True)
(n,) = struct.unpack(">H", blob[:2]); rest = blob[2 + n:]
(m,) = struct.unpack(">H", rest[:2]); assert len(rest) == 2 + m, "blob is not TPM2B_PRIVATE ‖ TPM2B_PUBLIC"
assert len(pcr7) == 32
sel = struct.pack(">IHB3B", 1, 0x000B, 3, 0x80, 0, 0)             # TPML_PCR_SELECTION {sha256: 7}
d = hashlib.sha256(b"\0" * 32 + struct.pack(">I", 0x17F) + sel + hashlib.sha256(pcr7).digest()).digest()
d = hashlib.sha256(d + struct.pack(">I", 0x16B)).digest()           # TPM_CC_PolicyAuthValue
assert tok["tpm2-policy-hash"] == d.hex(), (tok["tpm2-policy-hash"], d.hex())
assert blob.find(d) > 0, "the object's authPolicy is not the policy hash"
EOF

# ---- unseal in a second process: the SRK is reused ---------------------------
t ok "$pin" unseal "$tcti" "$tmp/token.json"
[ "$out" = "$(cat "$tmp/secret")" ] && ok "unsealed secret equals sealed one" || bad "secret differs: $out"
printf '%s' "$err" | grep -q 'created' && bad "SRK created again" || ok "SRK reused"
[ "$(persistent)" = "0x81000001 " ] && ok "still one persistent object" || bad "persistent handles: $(persistent)"
[ "$(lockout_field failures)" = 0 ] && ok "no failures counted" || bad "failures: $(lockout_field failures)"

# ---- without a PIN, with and without PCRs -------------------------------------
t ok "" seal --no-pin "$tcti" 7 "$tmp/nopin.json" "$tmp/nopin.secret"
grep -q '"tpm2-pin":false' "$tmp/nopin.json" && ! grep -q tpm2_salt "$tmp/nopin.json" \
    && ok "no-PIN token: tpm2-pin false, no salt" || bad "no-PIN token: $(cat "$tmp/nopin.json")"
t ok "" unseal --no-pin "$tcti" "$tmp/nopin.json"
[ "$out" = "$(cat "$tmp/nopin.secret")" ] && ok "no-PIN secret round trips" || bad "no-PIN secret differs"
t ok "$pin" seal "$tcti" "" "$tmp/nopcr.json" "$tmp/nopcr.secret"
grep -q '"tpm2-pcrs":\[\]' "$tmp/nopcr.json" && ok "PIN-only token lists no PCRs" || bad "PIN-only token: $(cat "$tmp/nopcr.json")"
t EKEYREJECTED "" unseal --no-pin "$tcti" "$tmp/token.json"
printf '%s' "$err" | grep -q 'needs a PIN' && ok "missing PIN named" || bad "message: $err"

# ---- wrong PINs count, then lock out ----------------------------------------------
t EKEYREJECTED "wrong" unseal "$tcti" "$tmp/token.json"
printf '%s' "$err" | grep -q 'wrong PIN (2 of 3 attempts left' && ok "attempts left reported" || bad "message: $err"
[ "$(lockout_field failures)" = 1 ] && ok "failure counted" || bad "failures: $(lockout_field failures)"
t ok "$pin" unseal "$tcti" "$tmp/token.json"
t EKEYREJECTED "wrong2" unseal "$tcti" "$tmp/token.json"
t EKEYREJECTED "" unseal "$tcti" "$tmp/token.json"
printf '%s' "$err" | grep -q 'last attempt.*lockout for up to 1000 s' && ok "last attempt reported" || bad "message: $err"
[ "$(lockout_field failures)" = 3 ] && [ "$(lockout_field in_lockout)" = 1 ] \
    && ok "3 failures, in lockout" || bad "lockout state: $("$tool" lockout "$tcti")"
t ETIME "$pin" unseal "$tcti" "$tmp/token.json"
printf '%s' "$err" | grep -q 'lockout.*another attempt within 1000 s' && ok "lockout reported with its time" || bad "message: $err"
# No PIN, no DA check: an object without PolicyAuthValue still opens.
t ok "" unseal --no-pin "$tcti" "$tmp/nopin.json"
tpm2_dictionarylockout -c || bad "tpm2_dictionarylockout -c"
t ok "$pin" unseal "$tcti" "$tmp/token.json"
[ "$out" = "$(cat "$tmp/secret")" ] && ok "opens again after the lockout is cleared" || bad "secret differs"

# ---- tampered tokens ---------------------------------------------------------------
edit "$tmp/token.json" "$tmp/evil.json" 't["tpm2-policy-hash"] = "00" * 32'
t EUCLEAN "$pin" unseal "$tcti" "$tmp/evil.json"
edit "$tmp/token.json" "$tmp/evil.json" 't["tpm2-blob"] = "AAAA"'
t EUCLEAN "$pin" unseal "$tcti" "$tmp/evil.json"
edit "$tmp/token.json" "$tmp/evil.json" 't["tpm2-pcrs"] = [8]'
t ESTALE "$pin" unseal "$tcti" "$tmp/evil.json"
[ "$(lockout_field failures)" = 0 ] && ok "a policy mismatch costs no failure" || bad "failures: $(lockout_field failures)"

# ---- the SRK goes missing: recreated, the same key ------------------------------
tpm2_evictcontrol -C o -c 0x81000001 >/dev/null || bad "tpm2_evictcontrol"
[ -z "$(persistent)" ] && ok "SRK evicted by someone else" || bad "persistent handles: $(persistent)"
t ok "$pin" unseal "$tcti" "$tmp/token.json"
[ "$out" = "$(cat "$tmp/secret")" ] && ok "unsealed under the recreated SRK" || bad "secret differs"
printf '%s' "$err" | grep -q 'created the storage root key' && ok "SRK recreated" || bad "message: $err"
[ "$(persistent)" = "0x81000001 " ] && ok "SRK back at 0x81000001" || bad "persistent handles: $(persistent)"

# ---- the boot state changes ---------------------------------------------------------
tpm2_pcrextend "7:sha256=$(printf 'new db' | sha256sum | cut -d' ' -f1)" || bad "tpm2_pcrextend"
t ESTALE "$pin" unseal "$tcti" "$tmp/token.json"
printf '%s' "$err" | grep -q 'PCRs 7 .*recovery key' && ok "PCR change named, recovery key suggested" || bad "message: $err"
[ "$(lockout_field failures)" = 0 ] && ok "a PCR change costs no failure" || bad "failures: $(lockout_field failures)"
t ok "$pin" unseal "$tcti" "$tmp/nopcr.json"
[ "$out" = "$(cat "$tmp/nopcr.secret")" ] && ok "PIN-only token unaffected by PCRs" || bad "secret differs"

# ---- the TPM is cleared: nothing sealed before loads -------------------------
tpm2_clear || bad "tpm2_clear"
t ENOKEY "$pin" unseal "$tcti" "$tmp/nopcr.json"
printf '%s' "$err" | grep -q 'another TPM.*cleared.*recovery key' && ok "cleared TPM named" || bad "message: $err"
t ok "$pin" seal "$tcti" 7 "$tmp/token2.json" "$tmp/secret2"
t ok "$pin" unseal "$tcti" "$tmp/token2.json"
[ "$out" = "$(cat "$tmp/secret2")" ] && ok "sealing works again after the clear" || bad "secret differs"

stop_tpm

# ---- no TPM ---------------------------------------------------------------------------
t ENODEV "" open "device:$tmp/no-such-tpm"
t ENODEV "" open "swtpm:path=$tmp/no-such-socket"

echo "took $((($(date +%s%N) - start) / 1000000)) ms"
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
