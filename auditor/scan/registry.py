"""The areas a scan can run, in the order they run: each area's hand-over needs are provided by an area before
it (checked by ``check_order`` and a test). ``scan --only AREA`` picks from these names."""

from __future__ import annotations

from ..accounts.area import AREA as ACCOUNTS
from ..core.area import Area
from ..errors import UsageError
from ..files.area import AREA as FILES
from ..remote.area import AREA as REMOTE
from ..trail.area import AREA as TRAIL

AREAS: tuple[Area, ...] = (REMOTE, FILES, ACCOUNTS, TRAIL)


def names() -> list[str]:
    return [a.name for a in AREAS]


def default_areas() -> list[str]:
    """The areas of a scan without --only: every area that needs no input files."""
    return [a.name for a in AREAS if a.default]


def area(name: str) -> Area:
    for a in AREAS:
        if a.name == name:
            return a
    raise UsageError("usage.scan.unknown_area", name=name, areas=', '.join(names()))


def provider(kind: str) -> Area:
    """The area that provides a hand-over kind."""
    return next(a for a in AREAS if kind in a.provides)


def check_order(areas: tuple[Area, ...] = AREAS) -> list[str]:
    """Problems of the registry's order: a need no earlier area provides, a kind two areas provide."""
    problems = []
    provided: dict[str, str] = {}
    for a in areas:
        for kind in a.needs:
            if kind not in provided:
                problems.append(f"{a.name} needs {kind}, which no area before it provides")
        for kind in a.provides:
            if kind in provided:
                problems.append(f"{kind} is provided by both {provided[kind]} and {a.name}")
            provided[kind] = a.name
    return problems
