"""Print pip constraints pinning every runtime dependency of pyproject.toml to its floor (``name>=X`` becomes
``name==X``, environment markers kept), for the lowest-versions CI step. Every runtime dependency must have a
floor: one without fails here."""

from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][^,;\s]*)\s*(;.*)?$")


def floors(pyproject: Path) -> list[str]:
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    out = []
    for dep in deps:
        m = REQ.match(dep)
        if not m:
            raise SystemExit(f"{pyproject}: dependency without a plain floor (name>=X): {dep!r}")
        name, version, marker = m.groups()
        out.append(f"{name}=={version}{' ' + marker.strip() if marker else ''}")
    return out


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("\n".join(floors(root / "pyproject.toml")))
