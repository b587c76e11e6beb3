#!/usr/bin/python3
"""Calls D-Bus methods on the system bus over one connection, one call a
line, for tests/host/test-access-matrix.sh: hundreds of calls as one user
cost one process, not one dbus-send each (which on a loaded machine is most
of a test's time).

    bus-caller.py < requests > answers

A request is one line of fields separated by \\x1f: DEST PATH
INTERFACE.METHOD and the arguments in dbus-send's syntax (string:,
boolean:, int32:, uint32:, int64:, uint64:, objpath:). Each is answered with
one line, fields separated by \\x1f:

    ok VALUE...          the reply's values (str(); a newline as \\n)
    error NAME MESSAGE   the D-Bus error

File descriptors in a reply are closed at once, as dbus-send's exit closes
them. No interactive authorization is allowed, as with dbus-send.
"""
import os
import sys

from gi.repository import Gio, GLib

SEP = "\x1f"
TYPES = {"string": "s", "boolean": "b", "int32": "i", "uint32": "u", "int64": "x", "uint64": "t", "objpath": "o"}


def value(sig, text):
    if sig == "b":
        return text == "true"
    if sig in "iuxt":
        return int(text)
    return text


def call(bus, fields):
    dest, path, member = fields[0], fields[1], fields[2]
    iface, method = member.rsplit(".", 1)
    sig, args = "", []
    for a in fields[3:]:
        kind, _, text = a.partition(":")
        sig += TYPES[kind]
        args.append(value(TYPES[kind], text))
    params = GLib.Variant("(%s)" % sig, tuple(args))
    try:
        reply, fds = bus.call_with_unix_fd_list_sync(dest, path, iface, method, params, None,
                                                     Gio.DBusCallFlags.NONE, 120000, None, None)
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e) or "local-error"
        Gio.DBusError.strip_remote_error(e)
        return ["error", name, e.message]
    if fds is not None:
        for fd in fds.steal_fds():
            os.close(fd)
    return ["ok"] + [str(v) for v in reply.unpack()]


def main():
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        try:
            out = call(bus, line.rstrip("\n").split(SEP))
        except (ValueError, KeyError, IndexError) as e:
            out = ["error", "bad-request", str(e)]
        sys.stdout.write(SEP.join(f.replace("\n", "\\n") for f in out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
