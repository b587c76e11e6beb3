#!/bin/bash
# Self-tests of tests/vm/run that must fail the right way: a failing script
# cannot pass, a hanging one is killed at --timeout, a killed one is reported,
# Ctrl-C cleans up, --no-udev works with DM_DISABLE_UDEV=1; and afterwards
# nothing the harness started or made is left on the host.
# Usage: test-harness.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
run=$here/run
tmp=$(mktemp -d /tmp/hearth-vm-selftest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The harness leaves nothing behind: compare before and after.
# Only what these runs could have made counts: their VMs live under our own
# directory, so other VM tests running meanwhile (their qemu, swtpm, mounts
# and loop devices) are not mistaken for leftovers.
export HEARTH_VM_TMPDIR=$tmp/vms
mkdir "$HEARTH_VM_TMPDIR"
snapshot() {
    {
        grep -F "$HEARTH_VM_TMPDIR/" /proc/mounts | sort
        losetup -a 2>/dev/null | grep -F "$HEARTH_VM_TMPDIR/" | sort
        ls -d "$HEARTH_VM_TMPDIR"/hearth-vm.* 2>/dev/null
        pgrep -a -f 'qemu-system-x86_64|swtpm' | grep -F "$HEARTH_VM_TMPDIR/" || true
    } > "$1"
}
snapshot "$tmp/before"

# Skipped (77) without qemu or a kernel, as the harness itself says.
"$run" --help >/dev/null || { echo "tests/vm/run --help failed"; exit 1; }

cat > "$tmp/exit3-no-udev.sh" <<'S'
#!/bin/bash
# Without udevd, dm nodes appear only with DM_DISABLE_UDEV=1 (libdevmapper
# then makes them itself). Exits 3 when all of that holds, 1 otherwise.
set -e
[ "$HEARTH_VM_UDEV" = 0 ] || exit 1
! pgrep -x systemd-udevd >/dev/null || exit 1
cd /tmp && truncate -s 4M x.img && l=$(losetup --find --show x.img)
echo "0 8192 linear $l 0" | DM_DISABLE_UDEV=1 dmsetup create hearth-noudev
test -b /dev/mapper/hearth-noudev || exit 1
DM_DISABLE_UDEV=1 dmsetup remove hearth-noudev
test ! -e /dev/mapper/hearth-noudev || exit 1
echo "results travel back" > "$HEARTH_VM_RESULTS/note"
exit 3
S
cat > "$tmp/hang.sh" <<'S'
#!/bin/sh
echo "hanging on purpose"
sleep 100000
S
cat > "$tmp/killed.sh" <<'S'
#!/bin/sh
kill -KILL $$
S
chmod +x "$tmp"/*.sh

# (b) the script's exit status is the harness's, and --no-udev works.
"$run" --no-udev --results "$tmp/results" "$tmp/exit3-no-udev.sh" > "$tmp/out" 2>&1
rc=$?
[ "$rc" = 3 ] && ok "exit 3 inside gives exit 3 (no-udev checks passed)" || { bad "exit 3 inside gave $rc"; tail -20 "$tmp/out"; }
grep -q "results travel back" "$tmp/results/note" 2>/dev/null && ok "--results carries files back" || bad "--results lost the file"

# (c) a hang is killed at --timeout and reported.
start=$(date +%s)
# Long enough for the script to start on a loaded machine (TCG boots slowly).
"$run" --no-udev --timeout 45 "$tmp/hang.sh" > "$tmp/out" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" = 124 ] && ok "hang gives exit 124" || { bad "hang gave $rc"; tail -20 "$tmp/out"; }
grep -q "hanging on purpose" "$tmp/out" && ok "the hanging script ran" || bad "the hanging script never ran"
grep -q "timed out after 45s" "$tmp/out" && ok "timeout reported" || bad "timeout not reported"
[ "$took" -lt 90 ] && ok "killed promptly (${took}s)" || bad "took ${took}s to kill"

# A script killed by a signal fails, and says so.
"$run" --no-udev "$tmp/killed.sh" > "$tmp/out" 2>&1
rc=$?
[ "$rc" = 137 ] && ok "SIGKILLed script gives 137" || { bad "killed script gave $rc"; tail -20 "$tmp/out"; }
grep -q "killed by signal 9 (SIGKILL)" "$tmp/out" && ok "signal reported" || bad "signal not reported"

# Ctrl-C during the run: a terminal sends SIGINT to the whole foreground
# process group (the harness, qemu, swtpm). The harness exits 130 and cleans
# up. Job control gives the background run its own group, as a shell would.
set -m
"$run" --no-udev --tpm --timeout 120 "$tmp/hang.sh" > "$tmp/out" 2>&1 &
pid=$!
set +m
for _ in $(seq 600); do grep -q "hanging on purpose" "$tmp/out" && break; sleep 0.1; done
kill -INT -- "-$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] && ok "Ctrl-C gives 130" || { bad "Ctrl-C gave $rc"; tail -20 "$tmp/out"; }

# A panic is a failure, not a pass.
cat > "$tmp/panic.sh" <<'S'
#!/bin/sh
echo c > /proc/sysrq-trigger
S
chmod +x "$tmp/panic.sh"
"$run" --no-udev "$tmp/panic.sh" > "$tmp/out" 2>&1
rc=$?
[ "$rc" = 125 ] && grep -q "kernel panic" "$tmp/out" && ok "kernel panic gives 125, reported" ||
    { bad "panic gave $rc"; tail -20 "$tmp/out"; }

# Bad usage.
"$run" --disk 'bad name:1G' "$tmp/hang.sh" > "$tmp/out" 2>&1
[ $? = 2 ] && ok "bad --disk refused with 2" || bad "bad --disk accepted"
"$run" /nonexistent > "$tmp/out" 2>&1
[ $? = 2 ] && ok "missing script refused with 2" || bad "missing script accepted"

# (d) nothing left behind.
sleep 0.5
snapshot "$tmp/after"
# Only what appeared counts: VMs of other runs on this machine may end meanwhile.
sort "$tmp/before" > "$tmp/before.sorted"
sort "$tmp/after" > "$tmp/after.sorted"
comm -13 "$tmp/before.sorted" "$tmp/after.sorted" > "$tmp/diff"
if [ ! -s "$tmp/diff" ]; then
    ok "no processes, mounts, loop devices or temp dirs left on the host"
else
    bad "left behind:"; cat "$tmp/diff"
fi

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
