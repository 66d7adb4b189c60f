"""The export-trail area on the area contract: order exports downloaded from shop back offices, what became of
them, and signs that they went to removable drives."""

from __future__ import annotations

from ..core.area import Area
from .collect import collect
from .judge import judge

AREA = Area(name="trail", what="order exports downloaded from shop back offices", default=True,
            collect=collect, judge=judge, needs=("file_verdicts", "departures"), sections=("trail",))
