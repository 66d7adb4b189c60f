"""Reading freedesktop `.desktop` files (application menus and XDG autostart)."""

from __future__ import annotations

from pathlib import Path

from .. import safeio

MAX_DESKTOP_BYTES = 1 << 20


def read_desktop_entry(path: Path, tree: safeio.Tree = safeio.LIVE) -> dict[str, str]:
    """Keys of the [Desktop Entry] group. Raises OSError (safeio.Refused for a FIFO, a user's link…) when
    unreadable."""
    entry: dict[str, str] = {}
    in_group = False
    for line in tree.read_text(path, max_size=MAX_DESKTOP_BYTES).splitlines():
        line = line.strip()
        if line.startswith("["):
            in_group = line == "[Desktop Entry]"
            continue
        if in_group and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            entry.setdefault(key.strip(), value.strip())
    return entry


def iter_desktop_entries(folders, cov, tree: safeio.Tree = safeio.LIVE):
    """(path, entry) for every readable `*.desktop` file in ``folders``; unreadable ones go to coverage."""
    for folder in folders:
        if not tree.is_dir(folder):
            continue
        try:
            items = tree.files(folder)
        except OSError as exc:
            cov.skip(str(folder), safeio.reason_of(exc))
            continue
        for item in items:
            if not item.name.endswith(".desktop"):
                continue
            try:
                entry = read_desktop_entry(item.path, tree)
            except OSError as exc:
                cov.skip(str(item.path), safeio.reason_of(exc))
                continue
            cov.examined += 1
            yield item.path, entry
