#!/bin/sh
# GNOME Settings' Users panel (gnome-control-center 43, Debian 12) against
# hearth-accounts and hearthd on a private system bus with polkitd, under
# Xvfb, driven through the accessibility bus (at-spi) by
# tests/gnome/users-panel.py: it adds, renames, makes administrator, sets the
# language, automatic login and the password, and removes users with the
# panel's own widgets, and after every step reads what the panel displays
# (at-spi) and what hearthd stored (homectl inspect --json). A screenshot of
# every step is kept in BUILDDIR/gnome-users-panel/.
#
#   test-gnome-users-panel.sh BUILDDIR SRCDIR
#   meson test -C BUILDDIR --suite gnome
#
# Needs root and GNOME Settings, Xvfb, at-spi and polkitd (tools/install-deps
# --gnome, ~180 Debian packages); skipped (77) without them.
set -u
BUILDDIR=$1 SRCDIR=$2
. "$SRCDIR/tests/host/lib-hearthd.sh"

PY=${HEARTH_PYTHON:-/usr/bin/python3}
need() { hearthd_skip "needs $1: tools/install-deps --gnome"; }
for t in gnome-control-center Xvfb import dbus-run-session; do
    command -v "$t" >/dev/null || need "$t"
done
[ -x /usr/lib/at-spi2-core/at-spi-bus-launcher ] || [ -x /usr/libexec/at-spi-bus-launcher ] || need at-spi2-core
"$PY" -c 'import pyatspi' 2>/dev/null || need python3-pyatspi
[ -x /usr/lib/polkit-1/polkitd ] && [ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ] || need polkitd
[ -f /usr/share/polkit-1/actions/org.freedesktop.accounts.policy ] || need "accountsservice's polkit actions"

ARTIFACTS=${GNOME_ARTIFACTS:-$BUILDDIR/gnome-users-panel}
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"

hearthd_setup "$BUILDDIR" "$SRCDIR"

# polkitd on the test bus (the bus rereads its policy on SIGHUP): GNOME
# Settings' Users panel asks it whether it may administer users, and
# hearth-accounts asks it about every change.
sed -i 's|</busconfig>|  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>\n</busconfig>|' \
    "$HEARTHD_TMP/bus/system.conf"
kill -HUP "$HEARTHD_BUS_PID"
sleep 1
/usr/lib/polkit-1/polkitd --no-debug >"$HEARTHD_TMP/polkitd.log" 2>&1 </dev/null &
POLKIT_PID=$!

# The machine's users as hearth-accounts sees them: root only, so the panel
# lists Hearth's users alone.
ACC=$HEARTHD_TMP/accounts
mkdir -p "$ACC/etc" "$ACC/gdm"
chmod 755 "$ACC"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$ACC/etc/passwd"
printf 'root:x:0:\nsudo:x:27:\n' >"$ACC/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$ACC/etc/shadow"
printf '/bin/sh\n/bin/bash\n' >"$ACC/etc/shells"
printf '[daemon]\n' >"$ACC/gdm/daemon.conf"
: >"$ACC/hearth.conf"
ACC_BIN=${HEARTH_ACCOUNTS_BIN:-$BUILDDIR/hearth-accounts/hearth-accounts}
"$ACC_BIN" --state-dir="$ACC/state" --config="$ACC/hearth.conf" --gdm-config="$ACC/gdm/daemon.conf" \
    --passwd="$ACC/etc/passwd" --group="$ACC/etc/group" --shadow="$ACC/etc/shadow" --shells="$ACC/etc/shells" \
    >"$HEARTHD_TMP/hearth-accounts.log" 2>&1 </dev/null &
ACC_PID=$!
XVFB_PID=
hearthd_at_exit 'kill $ACC_PID $POLKIT_PID 2>/dev/null; wait $ACC_PID $POLKIT_PID 2>/dev/null
    [ -z "$XVFB_PID" ] || { kill $XVFB_PID 2>/dev/null; wait $XVFB_PID 2>/dev/null; }
    if [ "$fails" -gt 0 ]; then for f in hearth-accounts.log polkitd.log gcc.log; do echo "---- $f"; cat "$HEARTHD_TMP/$f" 2>/dev/null; done; fi'
i=0
until busctl --system status org.freedesktop.Accounts >/dev/null 2>&1 && busctl --system status org.freedesktop.PolicyKit1 >/dev/null 2>&1; do
    [ $i -ge 200 ] && { bad "hearth-accounts or polkitd did not start"; exit 1; }
    sleep 0.1; i=$((i + 1))
done

# A display of its own (no window manager), and a session bus with the
# accessibility bus on it (dbus-run-session; at-spi-bus-launcher is activated).
# Xvfb picks a free display number itself (-displayfd).
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -ac 3>"$HEARTHD_TMP/xvfb.display" >"$HEARTHD_TMP/xvfb.log" 2>&1 &
XVFB_PID=$!
i=0
until [ -s "$HEARTHD_TMP/xvfb.display" ]; do
    [ $i -ge 200 ] && { bad "Xvfb did not start"; cat "$HEARTHD_TMP/xvfb.log"; exit 1; }
    sleep 0.1; i=$((i + 1))
done
DISP=:$(head -n 1 "$HEARTHD_TMP/xvfb.display")
mkdir -m 700 -p "$HEARTHD_TMP/xdg"
if DISPLAY=$DISP XDG_RUNTIME_DIR=$HEARTHD_TMP/xdg GSETTINGS_BACKEND=memory GDK_BACKEND=x11 LIBGL_ALWAYS_SOFTWARE=1 \
    GTK_A11Y=atspi HOME=$HEARTHD_TMP HEARTHD_HOMECTL=$HEARTHD_HOMECTL GCC_LOG=$HEARTHD_TMP/gcc.log \
    ACC_GDM_CONF=$ACC/gdm/daemon.conf ACC_GROUP=$ACC/etc/group HOME_ROOT=$HEARTHD_HOME_ROOT \
    dbus-run-session -- "$PY" "$SRCDIR/tests/gnome/users-panel.py" "$ARTIFACTS"; then
    ok "GNOME Settings' Users panel: every step shown and stored"
else
    bad "GNOME Settings' Users panel (screenshots in $ARTIFACTS)"
fi
hearthd_finish
