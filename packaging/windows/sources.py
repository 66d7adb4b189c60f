"""Digest of everything dist/auditor.exe is built from (the package, checks/, reports/, pyproject.toml and this
folder's build files). build.sh records it in dist/auditor.exe.inputs; the Wine tests rebuild the exe when the
recorded digest differs from the tree's. Usage: python3 sources.py [REPO]"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD_FILES = ("build.sh", "auditor.spec", "entry.py", "requirements.txt", "check_deps.py", "sources.py",
               "shims/bcryptprimitives.c")


def inputs(repo: Path) -> list[Path]:
    files: list[Path] = []
    for top in ("auditor", "checks", "reports"):
        files += [p for p in (repo / top).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")]
    files.append(repo / "pyproject.toml")
    files += [HERE / name for name in BUILD_FILES]
    return sorted(files)


def digest(repo: Path) -> str:
    h = hashlib.sha256()
    for path in inputs(repo):
        h.update(path.relative_to(repo).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


if __name__ == "__main__":
    print(digest(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent))
