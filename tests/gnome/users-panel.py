#!/usr/bin/python3
"""GNOME Settings' Users panel, driven as a person would drive it, read back
through the accessibility bus (at-spi).

    users-panel.py ARTIFACTS_DIR   (run by test-gnome-users-panel.sh inside
                                    dbus-run-session, with DISPLAY set)
    users-panel.py --desktop-user ARTIFACTS_DIR
                                   (the same, as a desktop user who is not an
                                    administrator: unlocks the panel through
                                    polkit's text agent, pkttyagent, which
                                    this script answers)

Widgets are found by the names the panel gives them (its accessible labels
and row titles, gnome-control-center 43) and pressed through their at-spi
actions, or clicked at the place at-spi reports when they have none; text is
typed with xdotool. After every step the value the panel displays (the text
of its labels and the state of its switches, through at-spi) and the value
hearthd stored (homectl inspect --json) are both checked; a screenshot of
the screen is kept as ARTIFACTS_DIR/NN-step.png.

Environment: ADMIN_PASSWORD (what the agent answers, --desktop-user),
AGENT_LOG (the agent's terminal, --desktop-user), HEARTHD_HOMECTL (Hearth's homectl), GCC_LOG (GNOME Settings'
output), ACC_GDM_CONF (GDM's file hearth-accounts writes), ACC_GROUP (the
group file hearth-accounts reads), PANEL_TIMEOUT (seconds a displayed value
may take to appear, default 10).
"""
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time

import pyatspi

DESKTOP_USER = sys.argv[1] == "--desktop-user"
# PANEL_REFERENCE=1: against Debian's accounts-daemon (only what the panel
# shows is checked and noted).
REFERENCE = os.environ.get("PANEL_REFERENCE") == "1"
ART = sys.argv[-1]
HOMECTL = os.environ["HEARTHD_HOMECTL"]
TIMEOUT = float(os.environ.get("PANEL_TIMEOUT", "10"))
fails = 0
step_no = 0
gcc = None


def log(msg):
    print(msg, flush=True)


def ok(msg):
    log(f"ok: {msg}")


def bad(msg):
    global fails
    fails += 1
    log(f"FAIL: {msg}")


def shot(name):
    path = f"{ART}/{step_no:02d}-{name}.png"
    subprocess.run(["import", "-window", "root", path], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


# ---- the accessibility tree ------------------------------------------------

def children(acc):
    try:
        n = acc.childCount
    except Exception:
        return []
    out = []
    for i in range(n):
        try:
            c = acc.getChildAtIndex(i)
        except Exception:
            c = None
        if c is not None:
            out.append(c)
    return out


def showing(acc):
    """On screen. GTK 4.8 marks hidden widgets visible too; what is not drawn
    has no size."""
    try:
        if acc.getRole() in (pyatspi.ROLE_FRAME, pyatspi.ROLE_DIALOG, pyatspi.ROLE_WINDOW):
            return acc.getState().contains(pyatspi.STATE_SHOWING) or acc.getState().contains(pyatspi.STATE_VISIBLE)
        e = acc.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
        return e.width > 0 and e.height > 0
    except NotImplementedError:
        return True
    except Exception:
        return False


def walk(acc, only_showing=True):
    stack = [acc]
    while stack:
        a = stack.pop()
        yield a
        kids = children(a)
        if only_showing:
            kids = [k for k in kids if showing(k)]
        stack.extend(reversed(kids))


def name(acc):
    try:
        return acc.name or ""
    except Exception:
        return ""


def role(acc):
    try:
        return acc.getRoleName()
    except Exception:
        return ""


def text(acc):
    """What a label or entry shows."""
    try:
        t = acc.queryText()
        s = t.getText(0, t.characterCount)
        if s:
            return s
    except Exception:
        pass
    return name(acc)


def dump(acc, depth=0, out=None):
    out = [] if out is None else out
    if depth > 40:
        return out
    try:
        states = [pyatspi.stateToString(s) for s in acc.getState().getStates()]
    except Exception:
        states = []
    try:
        e = acc.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
        ext = f"{e.x},{e.y} {e.width}x{e.height}"
    except Exception:
        ext = "-"
    out.append("  " * depth + f"[{role(acc)}] {name(acc)!r} text={text(acc)!r} @{ext} "
               f"{','.join(s for s in states if s not in ('enabled', 'sensitive', 'focusable', 'opaque'))}")
    for c in children(acc):
        if showing(c):
            dump(c, depth + 1, out)
    return out


def app():
    global gcc
    desktop = pyatspi.Registry.getDesktop(0)
    for a in children(desktop):
        if name(a) in ("gnome-control-center", "Settings"):
            gcc = a
            return a
    return None


def windows():
    a = gcc or app()
    return [w for w in children(a)] if a else []


def wait_for(desc, fn, timeout=TIMEOUT):
    """fn() until it returns something true; None after timeout."""
    end = time.monotonic() + timeout
    while True:
        try:
            r = fn()
        except Exception:
            r = None
        if r:
            return r
        if time.monotonic() > end:
            return None
        time.sleep(0.2)


def find(pred, root=None, timeout=TIMEOUT, desc="widget"):
    def look():
        roots = [root] if root is not None else windows()
        for r in roots:
            for a in walk(r):
                if pred(a):
                    return a
        return None
    a = wait_for(desc, look, timeout)
    if a is None:
        raise LookupError(f"no {desc} on screen")
    return a


def named(n, roles=None):
    return lambda a: name(a) == n and (roles is None or role(a) in roles)


def window(title, timeout=TIMEOUT):
    def look():
        for w in windows():
            if name(w) == title and showing(w):
                return w
        return None
    w = wait_for(title, look, timeout)
    if w is None:
        raise LookupError(f"no window {title!r}; windows: {[name(w) for w in windows()]}")
    return w


# ---- acting ------------------------------------------------------------------

def xdotool(*args):
    subprocess.run(["xdotool", *args], check=True)


def center(acc):
    comp = acc.queryComponent()
    e = comp.getExtents(pyatspi.WINDOW_COORDS)
    return e.x + e.width // 2, e.y + e.height // 2


def click_at(acc):
    x, y = center(acc)
    xdotool("mousemove", "--sync", str(x), str(y), "click", "1")


def press(acc, actions=("click", "activate", "toggle", "press")):
    """Press a widget through its at-spi action, else click it."""
    try:
        act = acc.queryAction()
        for i in range(act.nActions):
            if act.getName(i) in actions:
                act.doAction(i)
                return
    except NotImplementedError:
        pass
    except Exception:
        pass
    click_at(acc)


def focused(acc):
    try:
        return acc.getState().contains(pyatspi.STATE_FOCUSED)
    except Exception:
        return False


def type_into(entry, s):
    """Focus the entry with a click and type s, replacing what was there;
    read back through at-spi (an entry shows what it holds, a password
    entry too)."""
    for _ in range(3):
        click_at(entry)
        wait_for("focus", lambda: focused(entry), 3)
        time.sleep(0.2)
        xdotool("key", "--clearmodifiers", "ctrl+a")
        xdotool("key", "--clearmodifiers", "BackSpace")
        xdotool("type", "--delay", "40", "--clearmodifiers", s)
        if wait_for("typed", lambda: text(entry) == s, 3):
            return
        log(f"typing {s!r} into {name(entry)!r} gave {text(entry)!r}; again")
    raise RuntimeError(f"cannot type into {name(entry)!r}")


def button(root, label):
    """A push button by its label (GTK names some 'Label Label' or '_Label')."""
    def pred(a):
        if role(a) not in ("push button", "toggle button"):
            return False
        n = name(a).replace("_", "")
        return n == label or n.split(" ")[0] == label or n == f"{label} {label}"
    return find(pred, root, desc=f"button {label!r}")


def checked(acc):
    s = acc.getState()
    return s.contains(pyatspi.STATE_CHECKED) or s.contains(pyatspi.STATE_PRESSED)


# ---- Hearth's side -------------------------------------------------------------

def record(user):
    r = subprocess.run([HOMECTL, "inspect", "--json=short", user], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def group_members(group):
    with open(os.environ["ACC_GROUP"]) as f:
        for line in f:
            p = line.rstrip("\n").split(":")
            if p[0] == group:
                return [m for m in p[3].split(",") if m]
    return []


def gdm_autologin():
    conf = {}
    try:
        with open(os.environ["ACC_GDM_CONF"]) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    conf[k] = v
    except OSError:
        pass
    if conf.get("AutomaticLoginEnable", "").lower() == "true":
        return conf.get("AutomaticLogin")
    return None


def stored(desc, fn, want, timeout=TIMEOUT):
    if REFERENCE:
        return  # accounts-daemon's run: nothing of hearthd's to check
    if wait_for(desc, lambda: fn() == want, timeout):
        ok(f"hearthd: {desc} = {want!r}")
    else:
        try:
            v = fn()
        except Exception as e:
            v = e
        bad(f"hearthd: {desc} is {v!r}, expected {want!r}")


def shown(desc, fn, want, timeout=TIMEOUT):
    """The panel must display want (fn reads it through at-spi)."""
    def look():
        try:
            return fn() == want
        except Exception:
            return False
    if wait_for(desc, look, timeout):
        ok(f"panel shows {desc} = {want!r}")
        note_shown(desc, want)
        return
    try:
        v = fn()
    except Exception as e:
        v = e
    bad(f"panel shows {desc} = {v!r}, expected {want!r}")
    note_shown(desc, v)


def note_shown(desc, v):
    """What the panel displayed, step by step, in ARTIFACTS_DIR/shown.txt:
    bench/gnome-panel-compare compares it between hearth-accounts and
    accounts-daemon."""
    with open(f"{ART}/shown.txt", "a") as f:
        f.write(f"{step_no:02d} {desc} = {v!r}\n")


# ---- the panel -------------------------------------------------------------------

def main_window():
    return window("Settings")


def row(title):
    """An AdwActionRow of the panel, by its title."""
    return find(lambda a: name(a) == title and role(a) in ("list item", "push button", "panel", "filler", "section"),
                main_window(), desc=f"row {title!r}")


def row_label(title):
    """The value an AdwActionRow shows at its end (a label inside the row)."""
    r = row(title)
    labels = [text(a) for a in walk(r) if a is not r and role(a) == "label" and text(a) != title]
    return labels[-1] if labels else None


def row_switch(title):
    r = row(title)
    for a in walk(r):
        if a is not r and role(a) in ("switch", "toggle button", "check box"):
            return a
    raise LookupError(f"no switch in row {title!r}")


def full_name_shown():
    w = main_window()
    r = find(lambda a: name(a) == "Name" and role(a) != "label", w, desc="row 'Name'")
    for a in walk(r):
        if a is not r and role(a) == "label" and text(a).strip() and text(a) != "Name":
            return text(a).strip()
    return None


def other_users():
    w = main_window()
    return sorted(text(a) for a in walk(w) if role(a) == "label" and a.parent is not None
                  and role(a.parent) in ("list item",) and False)


def select_user(real_name):
    """Open a user from Other Users (or from the back button's list)."""
    if full_name_shown() != real_name:
        back_to_own_page()
    w = main_window()
    if full_name_shown() == real_name:
        return
    r = find(lambda a: role(a) == "list item" and real_name in (name(a), *[text(c) for c in walk(a)]),
             w, desc=f"user {real_name!r} in Other Users")
    press(r, ("activate", "click"))
    if not wait_for("selected", lambda: full_name_shown() == real_name):
        click_at(r)
    shown("the selected user's name", full_name_shown, real_name)


def step(n):
    global step_no
    step_no += 1
    log(f"--- step {step_no}: {n}")


def after(name_):
    p = shot(name_)
    log(f"screenshot {p}")


def back_to_own_page():
    """The panel's first page (the desktop user and Other Users)."""
    w = main_window()
    b = [a for a in walk(w) if name(a) == "Back" and role(a) == "push button"]
    if b:
        press(b[0])
        gone = lambda: not [a for a in walk(main_window()) if name(a) == "Back" and role(a) == "push button"]
        if not wait_for("first page", gone, 3):
            click_at(b[0])
            wait_for("first page", gone, 5)


def add_user(real_name, user, password=None, admin=False):
    back_to_own_page()
    w = main_window()
    press(find(named("Add User…"), w, desc="Add User…"), ("activate", "click"))
    d = window("Add User")
    type_into(find(named("Name", ("text", "entry")), d, desc="Name entry")
              if False else find_entry(d, "Name"), real_name)
    ue = find_entry(d, "Username")
    type_into(ue, user)
    if admin:
        press(row_switch_in(d, "Administrator"))
    if password is not None:
        press(find(named("Set password now"), d, desc="Set password now"), ("click", "activate", "toggle"))
        time.sleep(0.3)
        type_into(find_entry(d, "Password"), password)
        type_into(find_entry(d, "Confirm"), password)
    else:
        press(find(named("User sets password on first login"), d, desc="User sets password on first login"),
              ("click", "activate", "toggle"))
    add = button(d, "Add")
    if not wait_for("Add sensitive", lambda: add.getState().contains(pyatspi.STATE_SENSITIVE)):
        bad("the Add button stays insensitive")
        log("\n".join(dump(d)))
        return
    press(add)
    dialog_closed("Add User")


def dialog_closed(title, timeout=TIMEOUT):
    """Wait until the dialog's X window is gone, asking X, not at-spi: an
    at-spi query reaching a closing dialog's accessible is the likely cause
    of the g_variant_new_object_path(NULL) critical after which GNOME
    Settings died (GTK 4.8 builds an "(so)" reference from a context path
    an unrealized accessible no longer has). Then a moment for the panel to
    redraw."""
    def gone():
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode != 0
    if not wait_for(f"{title} closed", gone, timeout):
        bad(f"the {title!r} dialog stays open")
    time.sleep(1)


def find_entry(root, label):
    """The entry of a row titled label (an AdwEntryRow, or a GtkEntry in an
    AdwActionRow), or an entry named label."""
    def pred(a):
        if role(a) in ("text", "entry", "password text") and name(a) == label:
            return True
        return False
    try:
        return find(pred, root, timeout=5, desc=f"entry {label!r}")
    except LookupError:
        pass
    r = find(lambda a: name(a) == label and role(a) not in ("label", "text", "entry", "password text"),
             root, desc=f"row {label!r}")
    for a in walk(r):
        if role(a) in ("text", "entry", "password text"):
            return a
    raise LookupError(f"no entry in row {label!r}")


def row_switch_in(root, title):
    r = find(lambda a: name(a) == title and role(a) not in ("label",), root, desc=f"row {title!r}")
    for a in walk(r):
        if a is not r and role(a) in ("switch", "toggle button", "check box"):
            return a
    raise LookupError(f"no switch in row {title!r}")


def main():
    global gcc
    log_f = open(os.environ.get("GCC_LOG", "/dev/null"), "w")
    # GCC_WRAPPER (e.g. "gdb -batch -ex run -ex bt --args") runs GNOME
    # Settings under a debugger.
    wrap = os.environ.get("GCC_WRAPPER", "").split()
    agents = []
    if DESKTOP_USER:
        log_permission()
        # polkit decides whether the panel may ask (Unlock… sensitive) when
        # the panel starts: the agent registers first, for the process that
        # becomes GNOME Settings (exec keeps its pid and start time).
        proc = subprocess.Popen(["sh", "-c", 'read go && exec "$@"', "sh", "gnome-control-center", "user-accounts"],
                                stdin=subprocess.PIPE, stdout=log_f, stderr=subprocess.STDOUT)
        agents.append(Agent(proc.pid))
        if not wait_for("pkttyagent registered", lambda: agents[0].registered(), 15):
            bad("pkttyagent did not register")
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    else:
        proc = subprocess.Popen([*wrap, "gnome-control-center", "user-accounts"], stdout=log_f,
                                stderr=subprocess.STDOUT)
    try:
        run(agents)
    except Exception as e:  # a widget not found: say which, show the tree
        bad(f"{type(e).__name__}: {e}")
        shot("failure")
        try:
            for w in windows():
                log("\n".join(dump(w)))
        except Exception:
            pass
    finally:
        for agent in agents:
            agent.stop()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log(f"users-panel: {fails} failed")
    return 1 if fails else 0


def run(agents):
    if not wait_for("GNOME Settings on the accessibility bus", app, 60):
        raise LookupError("GNOME Settings did not appear on the accessibility bus")
    main_window()
    # No window manager: make the window tall enough for every row.
    subprocess.run(["xdotool", "search", "--sync", "--name", "^Settings$", "windowsize", "1000", "1000"],
                   check=False, timeout=30)
    time.sleep(2)
    shot("start")
    if os.environ.get("PANEL_DUMP"):
        for w in windows():
            log("\n".join(dump(w)))
        return
    if agents:
        desktop_steps(agents[0])
    else:
        steps()


def hashed(user):
    r = record(user) or {}
    return tuple(r.get("privileged", {}).get("hashedPassword", []))


def password_label():
    return row_label("Password")


def steps():
    pw1, pw2 = "xK7qv9Lp2wZ4tR8m", "Qm3vT8zLw5Kp9nX2"

    step("add Alice with a password")
    add_user("Alice Liddell", "alice", password=pw1)
    after("add-alice")
    shown("the new user's name", full_name_shown, "Alice Liddell")
    shown("Alice's password", password_label, "•••••")
    stored("alice realName", lambda: (record("alice") or {}).get("realName"), "Alice Liddell")
    stored("alice has a password hash", lambda: len(hashed("alice")) > 0, True)
    stored("alice passwordChangeNow", lambda: (record("alice") or {}).get("passwordChangeNow"), None)

    step("add Bob, password set at next login")
    add_user("Bob Hearth", "bob", password=None)
    after("add-bob")
    shown("the new user's name", full_name_shown, "Bob Hearth")
    shown("Bob's password", password_label, "To be set at next login")
    stored("bob realName", lambda: (record("bob") or {}).get("realName"), "Bob Hearth")
    stored("bob passwordChangeNow", lambda: (record("bob") or {}).get("passwordChangeNow"), True)

    # The panel hides the switch of the only administrator (she may not
    # demote herself away): Bob first, then Alice's switch shows on.
    step("make Bob an administrator")
    press(row_switch("Administrator"))
    after("admin-bob")
    stored("bob memberOf sudo", lambda: "sudo" in ((record("bob") or {}).get("memberOf") or []), True)

    step("rename Alice")
    select_user("Alice Liddell")
    w = main_window()
    press(find(named("Edit", ("toggle button", "push button")), w, desc="the name's Edit button"))
    type_into(find(lambda a: role(a) in ("text", "entry") and name(a) == "Full name", w, desc="Full name entry"),
              "Alice Pleasance Liddell")
    xdotool("key", "Return")
    after("rename-alice")
    shown("the renamed user's name", full_name_shown, "Alice Pleasance Liddell")
    stored("alice realName", lambda: (record("alice") or {}).get("realName"), "Alice Pleasance Liddell")

    step("make Alice an administrator")
    shown("Alice's Administrator switch before", lambda: checked(row_switch("Administrator")), False)
    press(row_switch("Administrator"))
    time.sleep(1)
    after("admin-alice")
    shown("Alice's Administrator switch", lambda: checked(row_switch("Administrator")), True)
    stored("alice memberOf sudo", lambda: "sudo" in ((record("alice") or {}).get("memberOf") or []), True)

    step("set Alice's language")
    press(row("Language"), ("activate", "click"))
    d = window("Select Language")
    more = [a for a in walk(d) if name(a) == "More…" or text(a) == "More…"]
    if more:
        press(more[0], ("activate", "click"))
        time.sleep(0.5)
    def row_text(a):
        return name(a) or " ".join(text(c) for c in walk(a) if c is not a and role(c) == "label" and text(c))
    cands = [a for a in walk(d) if role(a) == "list item" and row_text(a) not in ("More…", "")]
    log("languages offered: " + ", ".join(row_text(a) for a in cands))
    pick = next((a for a in cands if "français" in row_text(a).lower()),
                next((a for a in cands if not row_text(a).startswith("English")), None))
    if pick is None:
        # The test builds fr_FR.utf8 in its scratch /usr/lib/locale.
        bad("the language chooser offers no language")
        log("\n".join(dump(d)))
        press(button(d, "Cancel"))
    if pick is not None:
        # The chooser names a language in itself ("Français", the country
        # beside it), the panel's row in the panel's language, without the
        # country when the machine has one French locale
        # (gnome_get_language_from_locale: "French").
        log(f"picked {row_text(pick)!r}")
        french = "français" in row_text(pick).lower()
        press(pick, ("activate", "click"))
        time.sleep(0.3)
        press(button(d, "Select"))
        dialog_closed("Select Language")
        after("language-alice")
        if french:
            shown("Alice's language", lambda: row_label("Language"), "French")
            stored("alice preferredLanguage is fr_FR",
                   lambda: ((record("alice") or {}).get("preferredLanguage") or "").startswith("fr_FR"), True)
        else:
            bad(f"the chooser offers {row_text(pick)!r}, not the French locale the test built")

    step("automatic login for Alice")
    press(row_switch("Automatic Login"))
    time.sleep(1)
    after("autologin-alice")
    shown("Alice's Automatic Login switch", lambda: checked(row_switch("Automatic Login")), True)
    stored("GDM's AutomaticLogin", gdm_autologin, "alice")

    step("change Alice's password")
    before = hashed("alice")
    press(row("Password"), ("activate", "click"))
    d = window("Change Password")
    now = [a for a in walk(d) if name(a) == "Set a password now"]
    if now:
        press(now[0], ("click", "activate", "toggle"))
    type_into(find_entry(d, "New Password"), pw2)
    type_into(find_entry(d, "Confirm Password"), pw2)
    ch = button(d, "Change")
    if not wait_for("Change sensitive", lambda: ch.getState().contains(pyatspi.STATE_SENSITIVE)):
        log("\n".join(dump(d)))
    press(ch)
    dialog_closed("Change Password")
    after("password-alice")
    shown("Alice's password", password_label, "•••••")
    stored("alice's password hash changed", lambda: hashed("alice") not in ((), before), True)

    step("remove Alice with her files")
    remove_user("Alice Pleasance Liddell", keep=False)
    after("remove-alice")
    shown("Other Users without Alice", lambda: "Alice Pleasance Liddell" in panel_users(), False)
    stored("alice removed", lambda: record("alice") is None, True)
    stored("alice's files gone", lambda: any(n.startswith("alice") for n in os.listdir(os.environ["HOME_ROOT"])),
           False)

    step("remove Bob, keeping his files")
    remove_user("Bob Hearth", keep=True)
    after("remove-bob")
    shown("Other Users without Bob", lambda: "Bob Hearth" in panel_users(), False)
    stored("bob unregistered", lambda: record("bob") is None, True)
    stored("bob's files kept", lambda: any(n.startswith("bob") for n in os.listdir(os.environ["HOME_ROOT"])), True)

def panel_users():
    """The names the panel lists (the selected user and Other Users)."""
    w = main_window()
    names = set()
    for a in walk(w):
        if role(a) == "list item":
            for c in walk(a):
                if role(c) == "label" and text(c):
                    names.add(text(c))
    s = full_name_shown()
    if s:
        names.add(s)
    return names


def remove_user(real_name, keep):
    select_user(real_name)
    w = main_window()
    press(find(lambda a: name(a) == "Remove User…" and role(a) == "push button", w, desc="Remove User…"))
    b = "Keep Files" if keep else "Delete Files"
    btn = button(None, b)
    press(btn)


# ---- a desktop user who is not an administrator ----------------------------------

class Agent:
    """polkit's text agent (pkttyagent) registered for GNOME Settings'
    process, on a terminal of its own; answers each password prompt with
    the next of self.answers (none left: nothing, the prompt waits)."""

    def __init__(self, pid):
        self.answers = []
        self.prompts = 0
        self.out = ""
        self.lock = threading.Lock()
        self.log = open(os.environ.get("AGENT_LOG", "/dev/null"), "a")
        # --notify-fd: pkttyagent closes it once registered with polkitd.
        self.notify_r, notify_w = os.pipe()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.close(self.notify_r)
            os.set_inheritable(notify_w, True)
            os.execvp("pkttyagent", ["pkttyagent", "--notify-fd", str(notify_w), "--process", str(pid)])
        os.close(notify_w)
        self.done = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        pending = ""
        while not self.done:
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(self.fd, 4096).decode(errors="replace")
            except OSError:
                return
            self.log.write(data)
            self.log.flush()
            with self.lock:
                self.out += data
            pending += data
            if pending.rstrip().endswith("Password:"):
                pending = ""
                with self.lock:
                    answer = self.answers.pop(0) if self.answers else None
                    self.prompts += 1
                if answer is not None:
                    time.sleep(0.2)
                    os.write(self.fd, (answer + "\n").encode())

    def registered(self):
        r, _, _ = select.select([self.notify_r], [], [], 0)
        return bool(r) and os.read(self.notify_r, 1) == b""

    def seen(self, s):
        with self.lock:
            return self.out.count(s)

    def stop(self):
        self.done = True
        try:
            os.kill(self.pid, 15)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def log_permission():
    """What polkit tells this session (GNOME's own PolkitPermission, through
    ctypes): whether Unlock… can work at all."""
    import ctypes
    try:
        pk = ctypes.CDLL("libpolkit-gobject-1.so.0")
        gio = ctypes.CDLL("libgio-2.0.so.0")
        pk.polkit_permission_new_sync.restype = ctypes.c_void_p
        pk.polkit_permission_new_sync.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        for f in ("g_permission_get_can_acquire", "g_permission_get_allowed"):
            getattr(gio, f).argtypes = [ctypes.c_void_p]
        p = pk.polkit_permission_new_sync(b"org.freedesktop.accounts.user-administration", None, None, None)
        if not p:
            log("polkit: no permission object")
            return
        log(f"polkit: allowed={gio.g_permission_get_allowed(p)} can_acquire={gio.g_permission_get_can_acquire(p)}")
    except OSError as e:
        log(f"polkit: {e}")


def sensitive(acc):
    try:
        return acc.getState().contains(pyatspi.STATE_SENSITIVE)
    except Exception:
        return None


def unlock_button():
    def pred(a):
        return role(a) in ("push button", "toggle button") and name(a).replace("_", "").startswith("Unlock")
    return find(pred, main_window(), desc="the Unlock button")


def desktop_steps(agent):
    pw = "Tz6kWq3nR8vLm2Xp"
    admin_pw = os.environ["ADMIN_PASSWORD"]

    step("the panel is locked for a desktop user who is not an administrator")
    after("desktop-locked")
    add = find(named("Add User…"), main_window(), desc="Add User…")
    shown("Add User… usable while locked", lambda: sensitive(add), False)
    unlock = unlock_button()

    step("unlock with a wrong password: the panel stays locked")
    agent.answers = ["not-the-password"]
    press(unlock)
    if not wait_for("the agent asked", lambda: agent.seen("AUTHENTICATION FAILED") >= 1, 30):
        bad("pkttyagent reported no failed authentication")
    after("desktop-wrong-password")
    time.sleep(1)
    shown("Add User… usable after a wrong password", lambda: sensitive(add), False)

    step("unlock with the administrator's password through the agent")
    agent.answers = [admin_pw]
    press(unlock_button())
    if not wait_for("the agent authenticated", lambda: agent.seen("AUTHENTICATION COMPLETE") >= 1, 30):
        bad("pkttyagent reported no completed authentication")
    shown("Add User… usable once unlocked", lambda: sensitive(add), True, timeout=20)
    after("desktop-unlocked")

    step("add a user through the unlocked panel")
    # Outside a logind session polkit keeps no authorization (auth_admin):
    # each of hearth-accounts's checks asks the agent again.
    agent.answers = [admin_pw] * 6
    add_user("Erin Hearth", "erin", password=pw)
    after("desktop-add-erin")
    shown("the new user's name", full_name_shown, "Erin Hearth", timeout=30)
    stored("erin realName", lambda: (record("erin") or {}).get("realName"), "Erin Hearth", timeout=30)
    log(f"the agent was asked {agent.prompts} time(s)")


if __name__ == "__main__":
    sys.exit(main())
