#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# dump-scan.py PID NEEDLE...: how many times the NEEDLEs occur in what a core
# dump of PID would hold (every readable mapping not marked MADV_DONTDUMP;
# read-only ones are skipped, nothing was ever written there), read through
# /proc/PID/mem; the first places are printed on stderr. The counterpart of
# tests/unit/common/dump-scan.h for a running daemon (needs root).
import re
import sys

MAX_MAPPING = 1 << 32  # larger: address space reservations (ASan's shadow)
CHUNK = 1 << 20


def mappings(pid):
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                if cur:
                    yield cur
                cur = {"start": int(m[1], 16), "end": int(m[2], 16), "perms": m[3], "name": m[4], "dd": False}
            elif line.startswith("VmFlags:") and cur:
                cur["dd"] = " dd" in line
    if cur:
        yield cur


def main():
    pid, needles = sys.argv[1], [n.encode() for n in sys.argv[2:]]
    longest = max(len(n) for n in needles)
    found = 0
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for m in mappings(pid):
            if m["perms"][0] != "r" or m["perms"][1] != "w" or m["dd"] or m["end"] - m["start"] > MAX_MAPPING \
                    or m["name"] in ("[vvar]", "[vsyscall]"):
                continue
            a = m["start"]
            while a < m["end"]:
                want = min(m["end"] - a, CHUNK + longest)
                try:
                    mem.seek(a)
                    data = mem.read(want)
                except OSError:
                    break
                for needle in needles:
                    i = data.find(needle)
                    while i >= 0:
                        if found < 5:
                            print(f"  at 0x{a + i:x} in {m['perms']} {m['name'] or '[anonymous]'}", file=sys.stderr)
                        found += 1
                        i = data.find(needle, i + 1)
                if len(data) < want or a + len(data) >= m["end"]:
                    break
                a += len(data) - (longest - 1)
    print(found)


main()
