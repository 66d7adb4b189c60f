"""The export-trail area on the area contract: order exports downloaded from shop back offices, what became of
them, and signs that they went to removable drives."""

from __future__ import annotations

from ..core.area import Area, deferred

AREA = Area(name="trail", what="order exports downloaded from shop back offices", default=True,
            collect=deferred(f"{__package__}.collect", "collect"), judge=deferred(f"{__package__}.judge", "judge"),
            needs=("file_verdicts", "departures"), sections=("trail",))
