#!/bin/sh
# homectl's offline inspect: exit codes, messages naming the field, table and
# JSON output, and that secrets are never printed.
# Usage: test-homectl-inspect.sh HOMECTL SRCDIR
set -u
homectl=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HEARTH_STATE_DIR="$tmp/state"
fails=0

check() { # check DESC EXPECTED_RC CMD...
    desc=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: $desc: exit $rc, expected $want"; cat "$tmp/err"; fails=$((fails + 1))
    else
        echo "ok: $desc"
    fi
}
contains() { # contains DESC FILE TEXT
    if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: no \"$3\" in:"; cat "$2"; fails=$((fails + 1)); fi
}
lacks() {
    if grep -qF -- "$3" "$2"; then echo "FAIL: $1: \"$3\" present"; fails=$((fails + 1)); else echo "ok: $1"; fi
}

check "--help" 0 "$homectl" --help
contains "--help names inspect" "$tmp/out" "inspect --identity=FILE"
contains "--help documents exit status 65" "$tmp/out" "65"
check "--version" 0 "$homectl" --version
contains "--version" "$tmp/out" "homectl (hearth) "
check "no command" 2 "$homectl"
check "unknown command" 2 "$homectl" frobnicate
contains "unknown command message" "$tmp/err" 'unknown command "frobnicate"'
check "unknown option" 2 "$homectl" --frob inspect
check "bad --json" 2 "$homectl" --json=yaml inspect --identity "$src/examples/alice.json"

check "inspect valid record" 0 "$homectl" inspect --identity "$src/examples/alice.json"
contains "table: user name" "$tmp/out" "User name: alice"
contains "table: disk size" "$tmp/out" "Disk size: 10G"
contains "table: secrets hidden" "$tmp/out" "Secrets: present (not shown)"
lacks "table: no password" "$tmp/out" "wonderland"

check "inspect --json=short" 0 "$homectl" inspect --json=short --identity "$src/examples/alice.json"
lacks "json: no password" "$tmp/out" "wonderland"
lacks "json: no secret section" "$tmp/out" '"secret"'
contains "json: unknown field kept" "$tmp/out" '"preferredLanguage":"en_GB.UTF-8"'
cp "$tmp/out" "$tmp/short.json"
check "JSON output is itself a valid record" 0 "$homectl" inspect --identity "$tmp/short.json"
check "inspect --json=pretty from stdin" 0 sh -c "\"$homectl\" inspect --json=pretty --identity - < \"$src/examples/alice.json\""
contains "pretty output is indented" "$tmp/out" '  "userName": "alice"'

printf '{"userName":"alice","diskSize":1000}' >"$tmp/small.json"
check "diskSize too small" 65 "$homectl" inspect --identity "$tmp/small.json"
contains "message names field and rule" "$tmp/err" "diskSize: must be at least 16 MiB"

printf '{"userName":"alice","uid":1,"uid":2}' >"$tmp/dup.json"
check "duplicate key" 65 "$homectl" inspect --identity "$tmp/dup.json"
contains "duplicate key message" "$tmp/err" 'duplicate key "uid"'

printf '{"userName":"al/ice"}' >"$tmp/name.json"
check "bad user name" 65 "$homectl" inspect --identity "$tmp/name.json"
contains "user name message" "$tmp/err" "userName: must be"

printf '{"userName":"x","secret":{"password":["hunter2"]},"uid":"12"}' >"$tmp/secret-bad.json"
check "invalid record with secret" 65 "$homectl" inspect --identity "$tmp/secret-bad.json"
lacks "error never shows the secret" "$tmp/err" "hunter2"

check "missing file" 66 "$homectl" inspect --identity "$tmp/nope.json"
check "directory" 66 "$homectl" inspect --identity "$tmp"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$tmp/huge.json"
check "huge file" 66 "$homectl" inspect --identity "$tmp/huge.json"
check "inspect with an invalid user name" 2 "$homectl" inspect al/ice

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
