"""A header that names the same column twice (``姓名`` in column B and again in F): which one was read.

The layout takes the first column whose header matches a field; the others of that header are ignored. That is
not silent: each such header becomes a note of the input file's coverage entry, in both languages, naming the
header, where it appears and which column was read."""

from __future__ import annotations

from typing import Callable

from ..i18n import both


def column_name(index: int) -> str:
    """A 0-based column index as a sheet shows it: 1 (A), 28 (AB)."""
    letters, n = "", index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{index + 1} ({letters})"


def duplicate_notes(header: list[str], columns: dict[str, int],
                    norm: Callable[[str], str]) -> list[dict[str, str]]:
    """One note ({"zh", "en"}) per field whose header appears more than once in ``header`` (compared in the
    ``norm`` form the layout matched with)."""
    normed = [norm(h) for h in header]
    notes = []
    for fname, used in sorted(columns.items(), key=lambda item: item[1]):
        want = normed[used]
        same = [i for i, h in enumerate(normed) if want and h == want]
        if len(same) < 2:
            continue
        notes.append(both("r.duplicate_column", header=header[used].strip(), n=len(same),
                          columns=", ".join(column_name(i) for i in same), used=column_name(used), field=fname))
    return notes
