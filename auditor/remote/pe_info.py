"""Version information of Windows executables (OriginalFilename, CompanyName, ProductName...), their
Authenticode signers (auditor.authenticode), and the Go/Rust build marks of Windows and Linux executables
(auditor.remote.build_marks), read in one pass over one bounded read, so a renamed copy of a remote-control tool is
still recognised, also when its version information was stripped or altered, or it never had any; and the
executable's SHA-256 where it is asked for. What was read once is kept in the executable facts cache
(auditor.remote.exe_cache)."""

from __future__ import annotations

from typing import BinaryIO, Callable

from .. import safeio
from ..authenticode import signers
from ..durable import sha256_stream
from .build_marks import BuildMarks, build_marks
from .exe_cache import NO_FACTS, ExeFacts, Session

MAX_PE_BYTES = 128 << 20  # read into memory whole (never memory-mapped: a user could truncate it under us)
MIN_PE_BYTES = 64
KEYS = ("OriginalFilename", "CompanyName", "ProductName", "FileDescription", "InternalName", "FileVersion")


def exe_facts(path: str | None, cache: Session | None = None,
              hash_if: Callable[[ExeFacts], bool] | None = None) -> ExeFacts:
    """What the executable ``path`` says of itself: PE version strings and Authenticode signers (none for non-PE,
    unreadable or malformed files), Go/Rust build marks (PE or ELF), and its SHA-256 when ``hash_if(facts)`` asks for it (else None). The path of a running
    process's executable can be swapped by its user for a FIFO or a link: it is opened through auditor.safeio (a
    regular file only, no user's link, at most MAX_PE_BYTES), once; ``cache`` (the executable facts cache) answers
    for that very file when it may (auditor.remote.exe_cache), without opening it when it holds what is asked."""
    if not path:
        return NO_FACTS
    facts = cache.quick(path) if cache is not None else None
    wanted = facts is not None and hash_if is not None and hash_if(facts)
    if facts is None or (wanted and facts.sha256 is None):
        try:
            fh = safeio.open_regular(path, max_size=MAX_PE_BYTES, buffered=False)
        except (OSError, ValueError):
            return NO_FACTS
        with fh:
            facts, wanted = _read_opened(path, fh, cache, hash_if)
    return facts if wanted else ExeFacts(facts.version, facts.signers, None, facts.marks)  # a hash only where asked


def _read_opened(path: str, fh: BinaryIO, cache: Session | None,
                 hash_if: Callable[[ExeFacts], bool] | None) -> tuple[ExeFacts, bool]:
    """(facts, whether a hash was asked) of the executable open as ``fh``: from the cache for this very file, or
    read, and kept."""
    ident = cache.identify(path, fh) if cache is not None else None
    facts = cache.lookup(ident) if ident is not None else None  # type: ignore[union-attr]
    fresh = facts is None
    if facts is None:
        facts = _read_facts(fh)
    wanted = hash_if is not None and hash_if(facts)
    if wanted and facts.sha256 is None:
        facts = ExeFacts(facts.version, facts.signers, _sha256(fh), facts.marks)
        fresh = True
    if fresh and ident is not None:
        cache.keep(ident, facts)  # type: ignore[union-attr]
    return facts, wanted


def version_info(path: str | None) -> dict[str, str]:
    """PE version strings of ``path``; {} for non-PE files, unreadable files or files without them."""
    return dict(exe_facts(path).version)


def build_marks_of(path: str | None) -> BuildMarks:
    """The Go build info and Rust crate folders of a Windows (PE) or Linux (ELF) executable, read as version_info
    reads."""
    return exe_facts(path).marks


def _read_facts(fh: BinaryIO) -> ExeFacts:
    try:
        if safeio.opened_size(fh) < MIN_PE_BYTES:
            return NO_FACTS
        magic = fh.read(4)
        if magic[:2] != b"MZ" and magic != b"\x7fELF":
            return NO_FACTS
        data = magic + fh.read()
    except (OSError, ValueError):
        return NO_FACTS
    marks = _marks(data)
    if magic[:2] != b"MZ":
        return ExeFacts(marks=marks)
    try:
        return ExeFacts(_version_strings(data), tuple(signers(data)), None, marks)
    except Exception:  # noqa: BLE001 - malformed PE files are common; they are simply not matched
        return ExeFacts(marks=marks)


def _marks(data: bytes) -> BuildMarks:
    try:
        return build_marks(data)
    except Exception:  # noqa: BLE001 - a mark never makes a crafted file fail the read
        return BuildMarks()


def _sha256(fh: BinaryIO) -> str | None:
    try:
        fh.seek(0)
        return sha256_stream(fh)
    except (OSError, ValueError):
        return None


def _version_strings(data: bytes) -> tuple[tuple[str, str], ...]:
    # deferred: pefile is needed only for executables
    import pefile

    # never pe.close(): parsed from bytes, it holds no file or mapping, and close() runs a full gc.collect()
    # (30 ms per executable under Wine)
    pe = pefile.PE(data=data, fast_load=True)
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    found: dict[str, str] = {}
    for info in getattr(pe, "FileInfo", None) or []:
        for entry in info:
            for table in getattr(entry, "StringTable", []) or []:
                for k, v in table.entries.items():
                    name = k.decode("utf-8", "replace")
                    if name in KEYS and name not in found:
                        found[name] = v.decode("utf-8", "replace").strip("\x00 ").strip()
    return tuple(sorted(found.items()))
