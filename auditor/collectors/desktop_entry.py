"""Reading freedesktop `.desktop` files (application menus and XDG autostart)."""

from __future__ import annotations

from pathlib import Path


def read_desktop_entry(path: Path) -> dict[str, str]:
    """Keys of the [Desktop Entry] group. Raises OSError when unreadable."""
    entry: dict[str, str] = {}
    in_group = False
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line.startswith("["):
            in_group = line == "[Desktop Entry]"
            continue
        if in_group and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entry.setdefault(key.strip(), value.strip())
    return entry


def iter_desktop_entries(folders, cov):
    """(path, entry) for every readable `*.desktop` file in ``folders``; unreadable ones go to coverage."""
    for folder in folders:
        if not folder.is_dir():
            continue
        try:
            files = sorted(folder.glob("*.desktop"))
        except OSError as exc:
            cov.skip(str(folder), exc.strerror or "unreadable")
            continue
        for path in files:
            try:
                entry = read_desktop_entry(path)
            except OSError as exc:
                cov.skip(str(path), exc.strerror or "unreadable")
                continue
            cov.examined += 1
            yield path, entry
