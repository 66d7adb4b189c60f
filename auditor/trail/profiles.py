"""Finding every browser profile of every user: Chromium-family user-data folders (profiles named in
``Local State`` → ``profile.info_cache``, plus ``Default`` / ``Profile N`` folders holding a ``History``) and
Firefox profiles (``profiles.ini`` plus folders holding a ``places.sqlite``).

Both the Windows and the Linux layout are tried under every home, so an inspector's copy of a Windows profile
can be audited on Linux with ``--home``. Only profile *folder* names are kept, never the display name or the
signed-in account from ``Local State``."""

from __future__ import annotations

import configparser
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .. import safeio
from ..core.context import ci_child

# Paths relative to a user's home, '/'-separated; resolved case-insensitively in copies.
_LOCAL = "AppData/Local"
_ROAMING = "AppData/Roaming"


@dataclass(frozen=True)
class BrowserDef:
    id: str
    name: str
    engine: str  # chromium | firefox
    roots: tuple[str, ...]


BROWSERS: tuple[BrowserDef, ...] = (
    BrowserDef("chrome", "Google Chrome", "chromium", (f"{_LOCAL}/Google/Chrome/User Data", ".config/google-chrome")),
    BrowserDef("edge", "Microsoft Edge", "chromium", (f"{_LOCAL}/Microsoft/Edge/User Data", ".config/microsoft-edge")),
    BrowserDef("chromium", "Chromium", "chromium", (f"{_LOCAL}/Chromium/User Data", ".config/chromium",
                                                    "snap/chromium/common/chromium")),
    BrowserDef("360chrome", "360极速浏览器", "chromium", (f"{_LOCAL}/360Chrome/Chrome/User Data",)),
    BrowserDef("360chromex", "360极速浏览器X", "chromium", (f"{_LOCAL}/360ChromeX/Chrome/User Data",)),
    BrowserDef("360se", "360安全浏览器", "chromium", (f"{_ROAMING}/360se6/User Data",
                                                   f"{_LOCAL}/360Browser/Browser/User Data", ".config/browser360")),
    BrowserDef("qqbrowser", "QQ浏览器", "chromium", (f"{_LOCAL}/Tencent/QQBrowser/User Data",
                                                  f"{_ROAMING}/Tencent/QQBrowser/User Data")),
    BrowserDef("sogou", "搜狗浏览器", "chromium", (f"{_LOCAL}/Sogou/SogouExplorer/User Data",
                                               f"{_ROAMING}/SogouExplorer/Webkit")),
    BrowserDef("2345", "2345浏览器", "chromium", (f"{_LOCAL}/2345Explorer/User Data",)),
    BrowserDef("liebao", "猎豹浏览器", "chromium", (f"{_LOCAL}/liebao/User Data",)),
    BrowserDef("firefox", "Mozilla Firefox", "firefox", (f"{_ROAMING}/Mozilla/Firefox", ".mozilla/firefox",
                                                         "snap/firefox/common/.mozilla/firefox")),
)
BROWSER_NAMES = {b.id: b.name for b in BROWSERS}
_PROFILE_DIR = re.compile(r"^(Default|Profile \d+|Guest Profile)$", re.I)


@dataclass(frozen=True)
class Profile:
    browser: BrowserDef
    os_user: str
    folder: str  # profile folder name
    path: Path  # the profile folder
    database: Path  # History or places.sqlite

    @property
    def label(self) -> str:
        return f"{self.browser.id}:{self.os_user}/{self.folder}"


ci_path = ci_child  # case-insensitive path look-up, as Windows resolves it
MAX_LOCAL_STATE = 16 << 20
MAX_PROFILES_INI = 1 << 20


def home_tree(ctx, home: Path, given: bool) -> safeio.Tree:
    """Where a home's browser data is read: the scan's tree for the audited system's homes (or a ``--home``
    inside the ``--root`` tree); a ``--home`` folder given on its own (an inspector's copy) is a tree of its
    own, so its links are resolved inside it and never reach the auditing machine."""
    if not given:
        return ctx.tree
    root = ctx.tree.root
    if root is not None and (home == root or root in home.parents):
        return ctx.tree
    return safeio.Tree(home)


def _chromium_profiles(root: Path, browser: BrowserDef, os_user: str, problems: list[tuple[str, str]],
                       tree: safeio.Tree) -> list[Profile]:
    names: list[str] = []
    local_state = ci_path(root, "Local State", tree)
    if local_state is not None:
        try:
            data = json.loads(tree.read_text(local_state, max_size=MAX_LOCAL_STATE))
            cache = data.get("profile", {}).get("info_cache", {}) if isinstance(data, dict) else {}
            if isinstance(cache, dict):
                names.extend(k for k in cache if isinstance(k, str))
        except safeio.Refused as exc:
            problems.append((str(local_state), f"Local State not read ({exc.reason}); profile folders listed instead"))
        except (OSError, ValueError, RecursionError, AttributeError) as exc:
            problems.append((str(local_state), f"Local State unreadable ({type(exc).__name__}); profile folders listed instead"))
    names.extend(p.name for p in tree.folders(root) if _PROFILE_DIR.match(p.name))
    out: list[Profile] = []
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen or "/" in name or "\\" in name or name in (".", ".."):
            continue
        seen.add(name.casefold())
        folder = ci_path(root, name, tree)
        if folder is None or not tree.is_dir(folder):
            continue
        history = ci_path(folder, "History", tree)
        if history is None:
            continue
        out.append(Profile(browser, os_user, folder.name, folder, history))
    return out


def _firefox_profiles(root: Path, os_user: str, problems: list[tuple[str, str]], tree: safeio.Tree) -> list[Profile]:
    browser = next(b for b in BROWSERS if b.id == "firefox")
    folders: list[Path] = []
    ini = ci_path(root, "profiles.ini", tree)
    if ini is not None:
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read_string(tree.read_text(ini, max_size=MAX_PROFILES_INI))
            for section in parser.sections():
                rel = parser.get(section, "Path", fallback=None)
                if not rel or not section.lower().startswith("profile"):
                    continue
                relative = parser.get(section, "IsRelative", fallback="1").strip() != "0"
                if relative:
                    found = ci_path(root, rel, tree)
                    if found is not None:
                        folders.append(found)
                # absolute profile paths point into the audited PC's own file system: only followed when
                # they happen to lie under this root (an inspector's copy keeps relative profiles only)
        except safeio.Refused as exc:
            problems.append((str(ini), f"profiles.ini not read ({exc.reason})"))
        except (OSError, configparser.Error) as exc:
            problems.append((str(ini), f"profiles.ini unreadable ({type(exc).__name__})"))
    for base in (root, ci_path(root, "Profiles", tree)):
        if base is not None:
            folders.extend(tree.folders(base))
    out: list[Profile] = []
    seen: set[Path] = set()
    for folder in folders:
        try:
            key = tree.resolve(folder)
        except OSError:
            continue
        if key in seen:
            continue
        seen.add(key)
        places = ci_path(folder, "places.sqlite", tree)
        if places is not None:
            out.append(Profile(browser, os_user, folder.name, folder, places))
    return out


def discover(home: Path, problems: list[tuple[str, str]] | None = None,
             tree: safeio.Tree = safeio.LIVE) -> list[Profile]:
    """Every browser profile under one user's home folder (the OS user is the folder's name). Everything is
    looked up through ``tree``: a user's link is not followed on the live system, and an audited tree is never
    left. A database that is not a regular file (a FIFO named ``History``) is still listed: reading it then
    fails with the reason, in the coverage."""
    problems = problems if problems is not None else []
    os_user = home.name
    out: list[Profile] = []
    seen_roots: set[Path] = set()
    for browser in BROWSERS:
        for rel in browser.roots:
            root = ci_path(home, rel, tree)
            if root is None or not tree.is_dir(root):
                continue
            try:
                key = tree.resolve(root)
            except OSError:
                continue
            if key in seen_roots:
                continue
            seen_roots.add(key)
            if browser.engine == "chromium":
                out.extend(_chromium_profiles(root, browser, os_user, problems, tree))
            else:
                out.extend(_firefox_profiles(root, os_user, problems, tree))
    return out
