"""The files area on the area contract: unmasked waybill/order exports on disk."""

from __future__ import annotations

from ..core.area import Area, deferred
from ..core.handover import FileVerdicts


def supply(ctx, opts, handover) -> None:
    """Without a files scan, a later area still gets the verdict of each file it asks for (read then)."""
    handover.file_verdicts = FileVerdicts(judge_one=deferred(f"{__package__}.verdict", "verdict_for"))


AREA = Area(name="files", what="unmasked waybill/order exports on disk", default=True,
            collect=deferred(f"{__package__}.collect", "collect"), judge=deferred(f"{__package__}.judge", "judge"),
            provides=("file_verdicts",), sections=("files_summary",), supply=supply)
