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
# Then GNOME Settings runs again as a desktop user who is not an
# administrator (hearth-desk), with polkit's own text agent (pkttyagent)
# registered for it and answered by the driver: the panel is locked, a
# wrong password leaves it locked, the administrator's (hearth-admin, in
# group sudo) unlocks it, and a user added through it reaches hearthd.
#
# polkitd and both sessions run in a mount namespace with scratch copies of
# /etc/passwd, /etc/group and /etc/shadow (the desktop user and the
# administrator), a scratch /usr/lib/locale holding C.utf8 and fr_FR.utf8
# (built with localedef, so the language chooser offers a language), and
# /run/dbus/system_bus_socket pointing at the test's bus (polkit's setuid
# helper ignores DBUS_SYSTEM_BUS_ADDRESS). Nothing on the machine changes.
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
for t in gnome-control-center Xvfb import dbus-run-session pkttyagent localedef openssl unshare setpriv; do
    command -v "$t" >/dev/null || need "$t"
done
[ -x /usr/lib/at-spi2-core/at-spi-bus-launcher ] || [ -x /usr/libexec/at-spi-bus-launcher ] || need at-spi2-core
"$PY" -c 'import pyatspi' 2>/dev/null || need python3-pyatspi
[ -x /usr/lib/polkit-1/polkitd ] && [ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ] || need polkitd
[ -f /usr/share/polkit-1/actions/org.freedesktop.accounts.policy ] || need "accountsservice's polkit actions"
[ -u /usr/lib/polkit-1/polkit-agent-helper-1 ] || need "polkit's agent helper (setuid)"
[ -f /usr/share/i18n/locales/fr_FR ] || need "locales (fr_FR's source)"
[ -d /etc/polkit-1/rules.d ] || need "polkitd's /etc/polkit-1/rules.d"

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

# The scratch files of the mount namespace (see the top).
DESK_UID=4242 ADMIN_UID=4243
DESK_USER=hearth-desk ADMIN_USER=hearth-admin
ADMIN_PASSWORD=hP4tw9Kq2mZx7Lr3
SCR=$HEARTHD_TMP/scratch
mkdir -p "$SCR/etc" "$SCR/locale" "$SCR/dbus"
getent passwd | grep -v "^$DESK_USER:\|^$ADMIN_USER:" >"$SCR/etc/passwd"
printf '%s:x:%s:%s:Desk Top:%s:/bin/bash\n' "$DESK_USER" $DESK_UID $DESK_UID "$HEARTHD_TMP/desktop" >>"$SCR/etc/passwd"
printf '%s:x:%s:%s:Ad Min:/nonexistent:/bin/bash\n' "$ADMIN_USER" $ADMIN_UID $ADMIN_UID >>"$SCR/etc/passwd"
# Group sudo (polkit's administrators on Debian) holds the administrator alone.
getent group | sed "s/^sudo:\([^:]*\):\([^:]*\):.*/sudo:\1:\2:$ADMIN_USER/" >"$SCR/etc/group"
grep -q '^sudo:' "$SCR/etc/group" || echo "sudo:x:27:$ADMIN_USER" >>"$SCR/etc/group"
printf '%s:x:%s:\n%s:x:%s:\n' "$DESK_USER" $DESK_UID "$ADMIN_USER" $ADMIN_UID >>"$SCR/etc/group"
cp /etc/shadow "$SCR/etc/shadow"
printf '%s:!:19000:0:99999:7:::\n%s:%s:19000:0:99999:7:::\n' "$DESK_USER" "$ADMIN_USER" \
    "$(openssl passwd -6 "$ADMIN_PASSWORD")" >>"$SCR/etc/shadow"
chmod 640 "$SCR/etc/shadow"
[ ! -d /usr/lib/locale/C.utf8 ] || cp -a /usr/lib/locale/C.utf8 "$SCR/locale/"
localedef -i fr_FR -f UTF-8 "$SCR/locale/fr_FR.utf8" >"$HEARTHD_TMP/localedef.log" 2>&1 \
    || { cat "$HEARTHD_TMP/localedef.log"; need "localedef (locales)"; }
BUS_SOCKET=${DBUS_SYSTEM_BUS_ADDRESS#unix:path=}
BUS_SOCKET=${BUS_SOCKET%%,*}
ln -s "$BUS_SOCKET" "$SCR/dbus/system_bus_socket"
hearthd_bus_user $DESK_UID "$DESK_USER"
hearthd_bus_user $ADMIN_UID "$ADMIN_USER"
# Her session stands in for an active local one: accountsservice's policy
# gives an active session auth_admin_keep (allow_active), and GNOME's
# Unlock… is usable only for an authorization polkit keeps
# (PolkitPermission's can-acquire); without logind no session is active and
# allow_any's auth_admin applies. The scratch rules directory gives her
# what her active session would.
mkdir -p "$SCR/polkit-rules"
cat >"$SCR/polkit-rules/50-hearth-test-active-session.rules" <<EOF
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.freedesktop.accounts.") == 0 && subject.user == "$DESK_USER")
        return polkit.Result.AUTH_ADMIN_KEEP;
});
EOF

# in_scratch CMD...: CMD in a mount namespace of its own with the scratch
# files over the machine's (a slave of the machine's mounts: homes hearthd
# mounts later show in it).
in_scratch() {
    unshare -m --propagation slave -- sh -c '
        for f in passwd group shadow; do mount --bind "$0/etc/$f" "/etc/$f" || exit 1; done
        mount --bind "$0/locale" /usr/lib/locale || exit 1
        mount --bind "$0/polkit-rules" /etc/polkit-1/rules.d || exit 1
        if [ -d /run/dbus ]; then mount -t tmpfs -o mode=755 tmpfs /run/dbus || exit 1
        else mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/dbus || exit 1; fi
        ln -s "$(readlink "$0/dbus/system_bus_socket")" /run/dbus/system_bus_socket || exit 1
        exec "$@"' "$SCR" "$@"
}

in_scratch /usr/lib/polkit-1/polkitd --no-debug >"$HEARTHD_TMP/polkitd.log" 2>&1 </dev/null &
POLKIT_PID=$!

# The machine's users as hearth-accounts sees them: root only, so the panel
# lists Hearth's users alone (the desktop user comes before her session).
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
if [ "${GNOME_PANEL_DAEMON:-}" = accounts-daemon ]; then
    # The reference (bench/gnome-panel-compare): Debian's accounts-daemon
    # in a mount namespace over a scratch copy of /etc holding the machine's
    # system users, root and the group sudo without members (useradd,
    # usermod, userdel and chpasswd write there), with a scratch
    # /var/lib/AccountsService, /home and GDM's /etc/gdm3/daemon.conf.
    # Only what the panel displays is checked and noted.
    [ -x /usr/libexec/accounts-daemon ] || need accountsservice
    REF=$HEARTHD_TMP/reference
    mkdir -p "$REF/lib" "$REF/home"
    cp -a /etc "$REF/etc"
    awk -F: '$3 < 1000 || $3 == 65534' /etc/passwd >"$REF/etc/passwd"
    awk -F: 'NR == FNR { keep[$1] = 1; next } keep[$1]' "$REF/etc/passwd" /etc/shadow >"$REF/etc/shadow"
    sed "s/^sudo:\([^:]*\):\([^:]*\):.*/sudo:\1:\2:/" /etc/group >"$REF/etc/group"
    [ ! -f /etc/gshadow ] || sed "s/^sudo:\([^:]*\):\([^:]*\):.*/sudo:\1:\2:/" /etc/gshadow >"$REF/etc/gshadow"
    mkdir -p "$REF/etc/gdm3"
    printf '[daemon]\n' >"$REF/etc/gdm3/daemon.conf"
    ACC_GDM_CONF_FILE=$REF/etc/gdm3/daemon.conf ACC_GROUP_FILE=$REF/etc/group
    unshare -m --propagation slave -- sh -c '
        mount --bind "$0/etc" /etc && mount --bind "$0/lib" /var/lib/AccountsService &&
        mount --bind "$0/home" /home && exec /usr/libexec/accounts-daemon' "$REF" \
        >"$HEARTHD_TMP/hearth-accounts.log" 2>&1 </dev/null &
    ACC_PID=$!
    PANEL_REFERENCE=1
else
    "$ACC_BIN" --state-dir="$ACC/state" --config="$ACC/hearth.conf" --gdm-config="$ACC/gdm/daemon.conf" \
        --passwd="$ACC/etc/passwd" --group="$ACC/etc/group" --shadow="$ACC/etc/shadow" --shells="$ACC/etc/shells" \
        >"$HEARTHD_TMP/hearth-accounts.log" 2>&1 </dev/null &
    ACC_PID=$!
    ACC_GDM_CONF_FILE=$ACC/gdm/daemon.conf ACC_GROUP_FILE=$ACC/etc/group
    PANEL_REFERENCE=0
fi
XVFB_PID=
hearthd_at_exit 'kill $ACC_PID $POLKIT_PID 2>/dev/null; wait $ACC_PID $POLKIT_PID 2>/dev/null
    [ -z "$XVFB_PID" ] || { kill $XVFB_PID 2>/dev/null; wait $XVFB_PID 2>/dev/null; }
    if [ "$fails" -gt 0 ]; then for f in hearth-accounts.log polkitd.log gcc.log desktop/gcc.log desktop/agent.log; do echo "---- $f"; cat "$HEARTHD_TMP/$f" 2>/dev/null; done; fi'
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
    ACC_GDM_CONF=$ACC_GDM_CONF_FILE ACC_GROUP=$ACC_GROUP_FILE HOME_ROOT=$HEARTHD_HOME_ROOT PANEL_REFERENCE=$PANEL_REFERENCE \
    in_scratch dbus-run-session -- "$PY" "$SRCDIR/tests/gnome/users-panel.py" "$ARTIFACTS"; then
    ok "GNOME Settings' Users panel: every step shown and stored"
else
    bad "GNOME Settings' Users panel (screenshots in $ARTIFACTS)"
fi

# The desktop user's session: her own runtime directory and home, the
# screenshots in ARTIFACTS/desktop. (Not in accounts-daemon's run.)
[ "$PANEL_REFERENCE" = 0 ] || hearthd_finish
# She appears in the passwd file hearth-accounts reads (it notices).
printf '%s:x:%s:%s:Desk Top:%s:/bin/bash\n' "$DESK_USER" $DESK_UID $DESK_UID "$HEARTHD_TMP/desktop" >>"$ACC/etc/passwd"
printf '%s:!:19000:0:99999:7:::\n' "$DESK_USER" >>"$ACC/etc/shadow"
sleep 1
DESK=$HEARTHD_TMP/desktop
mkdir -p "$DESK/xdg" "$ARTIFACTS/desktop"
chmod 700 "$DESK/xdg"
chown -R $DESK_UID:$DESK_UID "$DESK" "$ARTIFACTS/desktop"
if DISPLAY=$DISP XDG_RUNTIME_DIR=$DESK/xdg GSETTINGS_BACKEND=memory GDK_BACKEND=x11 LIBGL_ALWAYS_SOFTWARE=1 \
    GTK_A11Y=atspi HOME=$DESK USER=$DESK_USER LOGNAME=$DESK_USER HEARTHD_HOMECTL=$HEARTHD_HOMECTL \
    GCC_LOG=$DESK/gcc.log AGENT_LOG=$DESK/agent.log ADMIN_PASSWORD=$ADMIN_PASSWORD \
    in_scratch setpriv --reuid=$DESK_UID --regid=$DESK_UID --clear-groups -- \
    dbus-run-session -- "$PY" "$SRCDIR/tests/gnome/users-panel.py" --desktop-user "$ARTIFACTS/desktop"; then
    ok "GNOME Settings' Users panel as a desktop user: unlocked through polkit's agent"
else
    bad "GNOME Settings' Users panel as a desktop user (screenshots in $ARTIFACTS/desktop)"
fi
hearthd_finish
