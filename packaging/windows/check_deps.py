"""Run by build.sh with the Windows Python under Wine: every runtime requirement of the project wheel (markers
evaluated for Windows) must be installed from requirements.txt, in a version the wheel accepts."""

import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

app = Path(sys.argv[1])
meta = next(app.glob("*.dist-info")) / "METADATA"
problems = []
for line in meta.read_text(encoding="utf-8").splitlines():
    if not line.startswith("Requires-Dist:"):
        continue
    req = Requirement(line.split(":", 1)[1].strip())
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue  # an extra (test) or another platform
    try:
        have = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        problems.append(f"{req}: not installed (add a pin to packaging/windows/requirements.txt)")
        continue
    if req.specifier and not req.specifier.contains(have, prereleases=True):
        problems.append(f"{req}: pinned {have} does not satisfy it")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
