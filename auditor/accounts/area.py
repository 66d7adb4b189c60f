"""The accounts area on the area contract: departed, stale, orphan and shared accounts."""

from __future__ import annotations

from ..core.area import Area, deferred
from ..core.handover import Departures
from ..core.model import Coverage

read_inputs = deferred(f"{__package__}.collect", "read_inputs")
departures_from = deferred(f"{__package__}.departures", "departures_from")


def supply(ctx, opts, handover) -> None:
    """The roster's departures without an accounts scan (``scan --only trail --roster FILE``). A roster that
    cannot be read is the reason, never a stop: the export trail then says so in its coverage."""
    if not opts.roster:
        return
    try:
        handover.departures = departures_from(read_inputs(opts, Coverage(), roster_only=True))
    except Exception as exc:  # noqa: BLE001 - an unreadable roster is a coverage entry of the trail, not a crash
        handover.departures = Departures(problem=f"{type(exc).__name__}: {exc}")


AREA = Area(name="accounts", what="departed, stale and shared accounts", default=True,
            collect=deferred(f"{__package__}.collect", "collect"), judge=deferred(f"{__package__}.judge", "judge"),
            provides=("departures",), supply=supply)
