#!/bin/sh
# GNOME Settings' Users panel (gnome-control-center) against hearth-accounts
# and hearthd on a private system bus, under Xvfb, with a screenshot kept as
# the artifact. Meson suite 'gnome-manual', left out of tools/run-tests and
# CI: GNOME Settings and Xvfb are about 180 Debian packages. Install them
# once on a test machine (never needed to build or use Hearth):
#
#   apt-get install --no-install-recommends gnome-control-center xvfb imagemagick \
#       dbus-x11 xdotool
#
#   tests/manual/gnome-users-panel.sh BUILDDIR SRCDIR [SCREENSHOT.png]
#   meson test -C BUILDDIR --suite gnome-manual
#
# The screenshot goes to SCREENSHOT.png (default BUILDDIR/gnome-users-panel.png).
# The run checks that GNOME Settings came up and drew a window; that the
# Hearth users (Alice Liddell, Bob Hearth, Carol Hearth) are under "Other
# Users" is for a person to see in the picture.
set -u
BUILDDIR=$1 SRCDIR=$2
SHOT=${3:-$BUILDDIR/gnome-users-panel.png}
. "$SRCDIR/tests/host/lib-hearthd.sh"

for t in gnome-control-center Xvfb import dbus-run-session; do
    command -v "$t" >/dev/null || hearthd_skip "needs $t: apt-get install --no-install-recommends gnome-control-center xvfb imagemagick dbus-x11"
done

hearthd_setup "$BUILDDIR" "$SRCDIR"

# polkit on the test bus: GNOME Settings' Users panel needs its permission
# object to fill in the other users (the bus rereads its policy on SIGHUP).
POLKIT_PID=
if [ -x /usr/lib/polkit-1/polkitd ] && [ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ]; then
    sed -i 's|</busconfig>|  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>\n</busconfig>|' \
        "$HEARTHD_TMP/bus/system.conf"
    kill -HUP "$HEARTHD_BUS_PID"
    sleep 1
    /usr/lib/polkit-1/polkitd --no-debug >"$HEARTHD_TMP/polkitd.log" 2>&1 </dev/null &
    POLKIT_PID=$!
fi
ACC=$HEARTHD_TMP/accounts
mkdir -p "$ACC/gdm" && : >"$ACC/hearth.conf" && printf '[daemon]\n' >"$ACC/gdm/daemon.conf"
"$BUILDDIR/hearth-accounts/hearth-accounts" --state-dir="$ACC/state" --config="$ACC/hearth.conf" \
    --gdm-config="$ACC/gdm/daemon.conf" >"$HEARTHD_TMP/hearth-accounts.log" 2>&1 </dev/null &
ACC_PID=$!
XVFB_PID=
hearthd_at_exit 'kill $ACC_PID $POLKIT_PID 2>/dev/null; wait $ACC_PID $POLKIT_PID 2>/dev/null; [ -z "$XVFB_PID" ] || { kill $XVFB_PID 2>/dev/null; wait $XVFB_PID 2>/dev/null; }'
i=0
until busctl --system status org.freedesktop.Accounts >/dev/null 2>&1; do
    [ $i -ge 100 ] && { bad "hearth-accounts did not start"; cat "$HEARTHD_TMP/hearth-accounts.log"; exit 1; }
    sleep 0.1; i=$((i + 1))
done

M=org.freedesktop.Accounts
check "create Alice (administrator)" 0 busctl --system call $M /org/freedesktop/Accounts $M CreateUser ssi alice "Alice Liddell" 1
check "create Bob" 0 busctl --system call $M /org/freedesktop/Accounts $M CreateUser ssi bob "Bob Hearth" 0

# A display and a session bus of their own; GNOME Settings as root, with
# settings in memory and software rendering.
DISP=:$((90 + $$ % 9))
Xvfb "$DISP" -screen 0 1280x1024x24 -nolisten tcp -ac >"$HEARTHD_TMP/xvfb.log" 2>&1 &
XVFB_PID=$!
sleep 2
mkdir -m 700 -p "$HEARTHD_TMP/xdg"
DISPLAY=$DISP XDG_RUNTIME_DIR=$HEARTHD_TMP/xdg GSETTINGS_BACKEND=memory GDK_BACKEND=x11 LIBGL_ALWAYS_SOFTWARE=1 \
    NO_AT_BRIDGE=1 HOME=$HEARTHD_TMP \
    dbus-run-session -- sh -c 'gnome-control-center user-accounts >"$0/gcc.log" 2>&1 & p=$!; sleep 15
        # No window manager: make the window tall enough for "Other Users".
        command -v xdotool >/dev/null && xdotool search --name "^Settings$" windowsize 1000 1000 2>/dev/null
        # Without a logind session the library reports itself loaded before
        # ListCachedUsers is in (its "seat wouldn'"'"'t load" path), so the
        # panel shows no other users until one is added; then it lists them all.
        busctl --system call org.freedesktop.Accounts /org/freedesktop/Accounts org.freedesktop.Accounts \
            CreateUser ssi carol "Carol Hearth" 0 >/dev/null
        sleep 5; import -window root "$1"; kill $p; wait $p' \
    "$HEARTHD_TMP" "$SHOT"
[ -s "$SHOT" ] && ok "screenshot in $SHOT" || bad "no screenshot"
# A blank screen has one colour; GNOME Settings' window has text and icons.
[ "$(identify -format %k "$SHOT" 2>/dev/null || echo 0)" -gt 20 ] && ok "the screenshot shows a window" \
    || { bad "the screenshot is blank"; cat "$HEARTHD_TMP/gcc.log"; }
hearthd_finish
