"""Printable file names, whatever bytes the disk holds, and never a person's number in them.

``display_path`` is the only form in which a path found on disk leaves the agent (reports, coverage, state,
console, watch events): each component decoded on its own (``auditor.textcodec.decode_name``: UTF-8, else
GB18030 — a GBK name unpacked on Linux beside UTF-8 folders —, else ``\\xNN``), then masked
(``auditor.leakguard.mask_pi``). A component is cut at the platform's own separators only: on Linux ``\\`` is an
ordinary character of a name. A member of an archive is labelled with the archive's name in front
(:func:`member_label`): the label says which file to open."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from ..leakguard import mask_pi
from ..textcodec import decode_name

WINDOWS = sys.platform == "win32"
_SEP_BYTES = re.compile(rb"([\\/])" if WINDOWS else rb"(/)")
_SEP_TEXT = re.compile(r"[\\/]" if WINDOWS else r"/")


def shown_name(name: str | bytes, masked: bool = True) -> str:
    """One component as it is shown: decoded, then masked."""
    text = decode_name(name if isinstance(name, bytes) else os.fsencode(name))
    return mask_pi(text) if masked else text


def display_path(path: Path | str | bytes, masked: bool = True) -> str:
    """A printable path with personal data masked (``张*138******78.csv``), even for names that are not valid
    UTF-8 (GBK names on a Linux disk). ``masked=False`` only to tell whether masking changed anything, never
    for output."""
    raw = path if isinstance(path, bytes) else os.fsencode(path)
    return "".join(part.decode("ascii") if _SEP_BYTES.fullmatch(part) else shown_name(part, masked)
                   for part in _SEP_BYTES.split(raw) if part)


def split_shown(shown: str) -> list[str]:
    """The components of a path as :func:`display_path` shows it (empty leading component for an absolute
    POSIX path)."""
    return _SEP_TEXT.split(shown)


def label_name(shown: str) -> str:
    """The last component of a shown path, cut at the platform's separators only."""
    return split_shown(shown)[-1]


MEMBER_MARK = " › "  # between an archive's name and a member's path in a label: ``orders.zip › 7月/x.csv``
_NESTED = re.compile(r"(?<=\.zip)!", re.I)  # where a member path enters a nested archive (``a.zip!b.zip!x.csv``)


def member_label(shown_file: str, member: str) -> str:
    """The label of a member of an archive: the archive's name, then the member's path inside it, each nested
    archive in turn (``orders.zip › 7月/x.csv``). ``member`` as the files area writes it: ``!path`` after the
    archive's shown path."""
    return MEMBER_MARK.join([label_name(shown_file), *_NESTED.split(member[1:] if member.startswith("!") else member)])
