"""The area contract. An area is a package with a collector and a judge:

* ``collect(ctx, opts, handover) -> facts``: all I/O (files, processes, registry, databases); facts only,
  never findings; records what it examined and skipped in ``ctx.coverage``;
* ``judge(facts, jc) -> findings``: no I/O; findings only, made by ``jc.factory``; may add typed objects to
  ``jc.handover`` (the kinds of ``provides``), report sections (the names of ``sections``) and the coverage of
  checks it could not assess.

``supply(ctx, opts, handover)``, where given, puts the area's hand-over kinds into ``handover`` without a full run,
for a later area that needs them when this one is not selected. The scan registry (``auditor.scan.registry``)
lists the areas in an order where each one's needs are provided before it runs."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..allowlist import Approval
from .context import ScanContext
from .factory import FindingFactory
from .handover import KINDS, Handover
from .model import Coverage, Finding
from .options import ScanOptions


def deferred(module: str, function: str) -> Callable[..., Any]:
    """``module.function``, imported when first called: an area names its collector and judge this way so that a
    scan imports the areas it runs, not all of them (``scan --only remote`` never loads the files area's readers)."""

    def call(*args: Any, **kw: Any) -> Any:
        return getattr(importlib.import_module(module), function)(*args, **kw)

    call.__name__ = function
    call.__qualname__ = f"{module}.{function}"
    return call


@dataclass
class JudgeContext:
    factory: FindingFactory
    options: ScanOptions
    handover: Handover
    approvals: list[Approval]
    today: dt.date
    hostname: str
    role: str | None
    coverage: Coverage  # for checks the judge could not assess (never for what was read: that is the collector's)
    sections: dict[str, Any] = field(default_factory=dict)  # optional top-level report sections by name


@dataclass(frozen=True)
class Area:
    name: str
    what: str  # one line: what the area checks
    default: bool  # part of a scan without --only (False: it needs input files)
    collect: Callable[[ScanContext, ScanOptions, Handover], Any]
    judge: Callable[[Any, JudgeContext], list[Finding]]
    needs: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    supply: Callable[[ScanContext, ScanOptions, Handover], None] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.needs + self.provides) - set(KINDS)
        if unknown:
            raise ValueError(f"area {self.name}: unknown hand-over kinds {sorted(unknown)}")
