"""The accounts area on the area contract: departed, stale, orphan and shared accounts."""

from __future__ import annotations

from ..core.area import Area
from ..core.handover import Departures
from ..core.model import Coverage
from .collect import collect, read_inputs
from .departures import departures_from
from .judge import judge


def supply(ctx, opts, handover) -> None:
    """The roster's departures without an accounts scan (``scan --only trail --roster FILE``). A roster that
    cannot be read is the reason, never a stop: the export trail then says so in its coverage."""
    if not opts.roster:
        return
    try:
        handover.departures = departures_from(read_inputs(opts, Coverage(), roster_only=True))
    except Exception as exc:  # noqa: BLE001 - an unreadable roster is a coverage entry of the trail, not a crash
        handover.departures = Departures(problem=f"{type(exc).__name__}: {exc}")


AREA = Area(name="accounts", what="departed, stale and shared accounts", default=True, collect=collect, judge=judge,
            provides=("departures",), supply=supply)
