"""The remote-control area on the area contract."""

from __future__ import annotations

from ..core.area import Area, deferred

AREA = Area(name="remote", what="remote-control tools, tunnels and OS remote features", default=True,
            collect=deferred(f"{__package__}.collect", "collect"), judge=deferred(f"{__package__}.judge", "judge"))
