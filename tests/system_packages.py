"""The system packages the tests use, in one list, and their installation.

`.ci/run` and the README's test command run this before pytest:

    python3 tests/system_packages.py            install what is missing (as root, with apt-get); without root or
                                                apt-get print the command and go on: those tests then skip
    python3 tests/system_packages.py --strict   the same, but exit 1 when anything is still missing (CI)
    python3 tests/system_packages.py --check    install nothing; list what is missing (exit 1 if anything is)

Nothing is done when every package is there. The tests never install anything: a test whose package is missing
skips with the command that installs it (conftest.require), and fails instead under CI (``CI`` set), where this
script has run first, so CI can never pass by skipping.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Debian package -> what the tests use of it: ("cmd", a command on PATH), ("file", a path), ("font", fc-list query)
PACKAGES: dict[str, tuple[str, str]] = {
    "chromium": ("cmd", "chromium"),                        # HTML reports rendered and measured (CDP)
    "fontconfig": ("cmd", "fc-list"),
    "fonts-noto-cjk": ("font", ":lang=zh"),                 # Chinese reports render as text, not boxes
    "openssl": ("cmd", "openssl"),                          # test CA, TLS push target, PFX for signing
    "util-linux": ("cmd", "setpriv"),                       # the agent run as an ordinary user
    "wine64": ("file", "/usr/lib/wine/wine64"),             # the Windows agent under Wine 8
    "wine": ("cmd", "wine"),
    "gcc-mingw-w64-x86-64-win32": ("cmd", "x86_64-w64-mingw32-gcc"),  # the bcryptprimitives shim, test exes
    "wixl": ("cmd", "wixl"),                                # the MSI
    "msitools": ("cmd", "msiinfo"),
    "osslsigncode": ("cmd", "osslsigncode"),                # Authenticode signing and its verification
    "golang-go": ("cmd", "go"),                             # real Go executables (build info of renamed tools)
}


def present(package: str) -> bool:
    kind, what = PACKAGES[package]
    if kind == "cmd":
        return shutil.which(what) is not None
    if kind == "file":
        return Path(what).exists()
    if not shutil.which("fc-list"):
        return False
    res = subprocess.run(["fc-list", what, "family"], capture_output=True, text=True)
    return bool(res.stdout.strip())


def missing(*packages: str) -> list[str]:
    return [p for p in (packages or tuple(PACKAGES)) if not present(p)]


def install_command(packages: list[str]) -> str:
    return "apt-get update && apt-get install -y --no-install-recommends " + " ".join(packages)


def install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=900"]  # another apt-get at work (a concurrent session) is waited for
    subprocess.run(["apt-get", *wait, "update", "-qq"], env=env, check=True, stdin=subprocess.DEVNULL)
    subprocess.run(["apt-get", *wait, "install", "-y", "-qq", "--no-install-recommends", *packages], env=env,
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def can_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="install nothing, list what is missing")
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything is still missing")
    args = parser.parse_args(argv)
    todo = missing()
    if not todo:
        print("system packages: all present")
        return 0
    if args.check:
        print(f"system packages missing: {' '.join(todo)}\n  install with: {install_command(todo)}")
        return 1
    if can_install():
        print(f"system packages: installing {' '.join(todo)}", flush=True)
        install(todo)
        todo = missing()
    if todo:
        print(f"system packages missing: {' '.join(todo)} (their tests skip)\n"
              f"  install with (as root): {install_command(todo)}", file=sys.stderr)
        return 1 if args.strict else 0
    print("system packages: all present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
