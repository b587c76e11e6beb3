#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""GNOME's way of talking to accounts: Debian's libaccountsservice0 through
GObject introspection (gir1.2-accountsservice-1.0, python3-gi), against
whatever owns org.freedesktop.Accounts on $DBUS_SYSTEM_BUS_ADDRESS.
tests/host/test-accounts.sh drives it; each command prints plain lines.

  accounts-client.py list                      NAME UID local=B type=N
  accounts-client.py get NAME                  Key=value, one per line
  accounts-client.py create NAME FULLNAME TYPE (0 standard, 1 administrator)
  accounts-client.py set NAME WHAT VALUE       real-name, email, language,
      session, x-session, location, icon, password-hint, account-type,
      automatic-login, locked, password-mode, password PLAIN HINT (the
      library crypts it, as GNOME Settings does)
  accounts-client.py delete NAME REMOVE_FILES  (0 or 1)

The library's setters are synchronous and only warn on failure, as GNOME
uses them: a refused change is seen as the property not changing (exit 3)
and the library's warning on stderr. Exit 0 when done, 1 on a failure, 2 for
a bad command line, 3 when the change did not show within the timeout, 4
when it showed but the user's "changed" came before it (a panel redrawing
then shows the old value).
"""
import sys
import time

import gi

gi.require_version('AccountsService', '1.0')
from gi.repository import AccountsService, GLib  # noqa: E402

TIMEOUT = 15


def spin_until(pred, timeout=TIMEOUT):
    ctx = GLib.MainContext.default()
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        # A short wait, so that the deadline is looked at even when nothing comes.
        GLib.timeout_add(50, lambda: False)
        ctx.iteration(True)
    return True


def manager():
    um = AccountsService.UserManager.get_default()
    if not spin_until(lambda: um.props.is_loaded):
        print('user manager did not load', file=sys.stderr)
        sys.exit(1)
    return um


def user(um, name):
    u = um.get_user(name)
    if not spin_until(lambda: u.is_loaded()) or u.is_nonexistent():
        print(f'no user {name}', file=sys.stderr)
        sys.exit(1)
    return u


def dump(u):
    print(f'UserName={u.get_user_name()}')
    print(f'Uid={u.get_uid()}')
    print(f'RealName={u.get_real_name()}')
    print(f'AccountType={int(u.get_account_type())}')
    print(f'Email={u.get_email()}')
    print(f'Language={u.get_language()}')
    print(f'Session={u.get_session()}')
    print(f'XSession={u.get_x_session()}')
    print(f'Location={u.get_location()}')
    print(f'IconFile={u.get_icon_file()}')
    print(f'Locked={u.get_locked()}')
    print(f'AutomaticLogin={u.get_automatic_login()}')
    print(f'PasswordMode={int(u.get_password_mode())}')
    print(f'PasswordHint={u.get_password_hint()}')
    print(f'LocalAccount={u.is_local_account()}')
    print(f'SystemAccount={u.is_system_account()}')
    print(f'HomeDirectory={u.get_home_dir()}')
    print(f'Shell={u.get_shell()}')
    print(f'Saved={u.get_saved()}')


# WHAT -> (setter, getter, value parser)
SETTERS = {
    'real-name': ('set_real_name', 'get_real_name', str),
    'email': ('set_email', 'get_email', str),
    'language': ('set_language', 'get_language', str),
    'session': ('set_session', 'get_session', str),
    'x-session': ('set_x_session', 'get_x_session', str),
    'location': ('set_location', 'get_location', str),
    'password-hint': ('set_password_hint', 'get_password_hint', str),
    'account-type': ('set_account_type', 'get_account_type', lambda v: AccountsService.UserAccountType(int(v))),
    'automatic-login': ('set_automatic_login', 'get_automatic_login', lambda v: v == '1'),
    'locked': ('set_locked', 'get_locked', lambda v: v == '1'),
    'password-mode': ('set_password_mode', 'get_password_mode', lambda v: AccountsService.UserPasswordMode(int(v))),
}


def cmd_set(um, name, what, value, extra):
    u = user(um, name)
    if what == 'icon':
        # The daemon copies the file to a path of its own, which may be the
        # path it had: wait for the user's "changed" instead of a new value.
        changed = []
        u.connect('changed', lambda *args: changed.append(1))
        u.set_icon_file(value)
        ok = spin_until(lambda: changed)
        print(f'IconFile={u.get_icon_file()}')
        return 0 if ok else 3
    if what == 'password':
        # As GNOME Settings does: the library crypts it and calls SetPassword.
        u.set_password(value, extra or '')
        ok = spin_until(lambda: int(u.get_password_mode()) == 0 and u.get_password_hint() == (extra or ''))
        print(f'PasswordMode={int(u.get_password_mode())}')
        return 0 if ok else 3
    if what not in SETTERS:
        print(f'unknown setting {what}', file=sys.stderr)
        return 2
    setter, getter, parse = SETTERS[what]
    want = parse(value)
    # GNOME Settings redraws a user from the library's cache when the
    # user's "changed" comes: what the cache holds then is what she sees.
    seen = []
    u.connect('changed', lambda *args: seen.append(getattr(u, getter)()))
    getattr(u, setter)(want)
    ok = spin_until(lambda: getattr(u, getter)() == want)
    spin_until(lambda: False, 0.3)  # the rest of what the change sends
    print(f'{what}={getattr(u, getter)()}')
    if not ok:
        return 3
    if not seen or seen[-1] != want:
        print(f'{what}: at the user\'s "changed" the library still held {seen[-1] if seen else "(no changed)"!r}',
              file=sys.stderr)
        return 4
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    um = manager()
    if cmd == 'list' and not args:
        for u in sorted(um.list_users(), key=lambda u: u.get_uid()):
            print(f'{u.get_user_name()} {u.get_uid()} local={u.is_local_account()} '
                  f'type={int(u.get_account_type())}')
        return 0
    if cmd == 'get' and len(args) == 1:
        dump(user(um, args[0]))
        return 0
    if cmd == 'create' and len(args) == 3:
        try:
            u = um.create_user(args[0], args[1], AccountsService.UserAccountType(int(args[2])))
        except GLib.Error as e:
            print(f'create_user failed: {e.message}', file=sys.stderr)
            return 1
        spin_until(lambda: u.is_loaded())
        dump(u)
        return 0
    if cmd == 'set' and len(args) in (3, 4):
        return cmd_set(um, args[0], args[1], args[2], args[3] if len(args) == 4 else None)
    if cmd == 'delete' and len(args) == 2:
        u = user(um, args[0])
        try:
            um.delete_user(u, args[1] == '1')
        except GLib.Error as e:
            print(f'delete_user failed: {e.message}', file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
