#!/usr/bin/python3
"""A stand-in for polkitd on a test bus: org.freedesktop.PolicyKit1's
CheckAuthorization answered from the shipped .policy files, as polkit would
answer a caller in an active local session with no agent: an action whose
<allow_active> is "yes" is authorized; auth_self/auth_admin (and _keep)
answer "a challenge is needed" (not authorized); "no" is refused.

    polkit-standin.py READY_FILE POLICY...

Writes READY_FILE once it owns the name. Every question is appended to
READY_FILE.log as "ACTION ANSWER", so tests can see which action was asked.
With POLKIT_STANDIN_HANG=1 it never answers (an agent nobody answers).
With POLKIT_STANDIN_DELAY_ACTION=ACTION it answers that action only after
POLKIT_STANDIN_DELAY_MS (default 3000) milliseconds, as a busy polkitd or a
slow agent would.
"""
import os
import sys
import xml.etree.ElementTree as ET

from gi.repository import Gio, GLib

IFACE = """
<node>
  <interface name="org.freedesktop.PolicyKit1.Authority">
    <method name="CheckAuthorization">
      <arg type="(sa{sv})" name="subject" direction="in"/>
      <arg type="s" name="action_id" direction="in"/>
      <arg type="a{ss}" name="details" direction="in"/>
      <arg type="u" name="flags" direction="in"/>
      <arg type="s" name="cancellation_id" direction="in"/>
      <arg type="(bba{ss})" name="result" direction="out"/>
    </method>
  </interface>
</node>
"""


def load(paths):
    rules = {}
    for p in paths:
        for action in ET.parse(p).getroot().iter("action"):
            active = action.find("defaults/allow_active")
            rules[action.get("id")] = (active.text or "no").strip() if active is not None else "no"
    return rules


def main():
    ready, policies = sys.argv[1], sys.argv[2:]
    rules = load(policies)
    log = open(ready + ".log", "a", buffering=1)
    loop = GLib.MainLoop()
    hang = os.environ.get("POLKIT_STANDIN_HANG") == "1"
    held = []

    def on_call(conn, sender, path, iface, method, params, invocation):
        if method != "CheckAuthorization":
            invocation.return_dbus_error("org.freedesktop.DBus.Error.UnknownMethod", method)
            return
        action = params.unpack()[1]
        if hang:
            log.write("%s pending\n" % action)
            held.append(invocation)
            return
        rule = rules.get(action, "no")
        authorized = rule == "yes"
        challenge = rule.startswith("auth_")
        log.write("%s %s\n" % (action, "yes" if authorized else "challenge" if challenge else "no"))
        answer = GLib.Variant("((bba{ss}))", ((authorized, challenge, {}),))
        if action == os.environ.get("POLKIT_STANDIN_DELAY_ACTION"):
            def later():
                invocation.return_value(answer)
                return False
            GLib.timeout_add(int(os.environ.get("POLKIT_STANDIN_DELAY_MS", "3000")), later)
        else:
            invocation.return_value(answer)

    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    node = Gio.DBusNodeInfo.new_for_xml(IFACE)
    bus.register_object("/org/freedesktop/PolicyKit1/Authority", node.interfaces[0], on_call, None, None)

    def acquired(conn, name):
        with open(ready, "w") as f:
            f.write("ready\n")

    Gio.bus_own_name_on_connection(bus, "org.freedesktop.PolicyKit1", Gio.BusNameOwnerFlags.NONE, acquired,
                                   lambda *a: loop.quit())
    loop.run()


if __name__ == "__main__":
    main()
