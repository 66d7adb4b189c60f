"""The remote-control area on the area contract."""

from __future__ import annotations

from ..core.area import Area
from .collect import collect
from .judge import judge

AREA = Area(name="remote", what="remote-control tools, tunnels and OS remote features", default=True,
            collect=collect, judge=judge)
