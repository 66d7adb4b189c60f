"""The files area on the area contract: unmasked waybill/order exports on disk."""

from __future__ import annotations

from ..core.area import Area
from ..core.handover import FileVerdicts
from .collect import collect
from .judge import judge
from .verdict import verdict_for


def supply(ctx, opts, handover) -> None:
    """Without a files scan, a later area still gets the verdict of each file it asks for (read then)."""
    handover.file_verdicts = FileVerdicts(judge_one=verdict_for)


AREA = Area(name="files", what="unmasked waybill/order exports on disk", default=True, collect=collect, judge=judge,
            provides=("file_verdicts",), sections=("files_summary",), supply=supply)
