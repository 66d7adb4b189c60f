"""The JSON report: the machine-readable source of truth every other format is rendered from."""

from __future__ import annotations

import json
from typing import Any


def render(report: dict[str, Any], lang: str = "zh") -> bytes:
    return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
