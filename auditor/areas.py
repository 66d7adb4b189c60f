"""The audit areas and what each one runs. `scan --only AREA` picks from these.

Each area is a module with ``run(run: AreaRun) -> list[Finding]``; an area whose module is not there
(yet) is reported as not assessed instead of failing."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .allowlist import Approval
from .core.context import ScanContext
from .core.factory import FindingFactory
from .core.model import Finding

if TYPE_CHECKING:
    from .engine import ScanOptions


@dataclass
class AreaRun:
    ctx: ScanContext
    factory: FindingFactory
    approvals: list[Approval]
    today: dt.date
    opts: "ScanOptions"
    shared: dict[str, Any] = field(default_factory=dict)  # results one area hands to a later one


@dataclass(frozen=True)
class Area:
    module: str
    what: str
    needs_input: bool = False


# Order matters: files before trail (trail links downloads to file findings), accounts before trail
# (departure dates).
AREAS: dict[str, Area] = {
    "remote": Area("auditor.detect.remote_area", "remote-control tools, tunnels and OS remote features"),
    "files": Area("auditor.files.area", "unmasked waybill/order exports on disk"),
    "accounts": Area("auditor.accounts.area", "departed, stale and shared accounts"),
    "trail": Area("auditor.trail.area", "order exports downloaded from shop back offices"),
}


def default_areas(opts: "ScanOptions") -> list[str]:
    return [name for name, area in AREAS.items() if not area.needs_input]


def load_runner(name: str) -> Callable[[AreaRun], list[Finding]] | None:
    try:
        module = importlib.import_module(AREAS[name].module)
    except ModuleNotFoundError as exc:
        if exc.name and AREAS[name].module.startswith(exc.name):
            return None  # the area is not part of this build
        raise
    return module.run
