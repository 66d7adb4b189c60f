"""Labels of the fleet report and the fleet commands: the catalogs' ``[fleet]`` table (reports/i18n), falling
back to the single-PC keys (severities, verdicts, areas, "r.*") of auditor.i18n."""

from __future__ import annotations

from ..i18n import has
from ..i18n import t as base_t


def t(lang: str, key: str, **params: object) -> str:
    own = f"fleet.{key}"
    return base_t(lang, own if has(own) else key, **params)


# --------------------------------------------------------------------------- outside text on the console

_UNSEEN = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_UNSEEN.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A), 0xFEFF)})


def shown(text: str, limit: int = 1000) -> str:
    """Text from outside (a file name in the share, a server's answer) for one console line: control characters,
    line breaks and bidi overrides written as escapes (shown, not obeyed), cut at ``limit`` characters."""
    text = str(text).translate(_UNSEEN)
    return text if len(text) <= limit else text[:limit] + "…"
