"""Build marks of Go and Rust executables: what their compilers leave in every binary, read from its bytes so that
a renamed tunnel or remote tool built with them is still named when it carries no version information and no
signature (Lucky, frp, nps, chisel... are Go; VNT, EasyTier, RustDesk... are Rust).

* **Go build info** (Go 1.18 and newer; src/debug/buildinfo/buildinfo.go): a 32-byte header at a 16-byte aligned
  offset, the magic ``\\xff Go buildinf:``, pointer size, flags; with flag 2 ("inline") the Go version and the module
  information follow as uvarint-prefixed strings. The module information, framed by cmd/go's 16-byte sentinels,
  is text: ``path\\t<main package>``, ``mod\\t<main module>\\t<version>...``, ``dep\\t...`` lines. Only the main
  package and module are kept (a dependency does not make a program the tool it borrows from). Older Go (before
  1.18) kept pointers instead of inline strings and is not read.
* **Rust source paths**: panic locations (``unwrap()``, bounds checks, ``expect``) keep the path of the source file,
  relative to the workspace for its own crates (``vnt/src/core/mod.rs``) and under cargo's folders for the others
  (``.../registry/src/index.crates.io-.../vnt-1.2.16/src/lib.rs``). The folder before ``src/`` (its ``-x.y.z``
  version removed) is the crate's folder; the distinct ones are kept. A folder counts only when the text before it
  is not a name character (``event/src/`` is never ``vnt``) and its path ends in ``.rs`` (C and C++ sources kept by
  assertions are not Rust crates).

Both are plain bytes any build can carry or forge: like a signer, a mark only ever *names* a tool, never clears one.
Bounds: the image is the bytes auditor.remote.pe_info already read (at most its MAX_PE_BYTES); at most
MAX_GO_CANDIDATES magic strings and MAX_SRC_HITS ``src`` folders are looked at, MAX_CRATES folder names kept,
module text beyond MAX_MODINFO ignored."""

from __future__ import annotations

import re
from dataclasses import dataclass

GO_MAGIC = b"\xff Go buildinf:"
GO_HEADER = 32
GO_ALIGN = 16
GO_FLAG_INLINE = 2
INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")  # cmd/go/internal/modload infoStart
INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")  # ... infoEnd
MAX_GO_CANDIDATES = 16
MAX_MODINFO = 1 << 20
MAX_SRC_HITS = 200_000
MAX_CRATES = 512
CARGO_FOLDERS = {b"registry", b"git", b"checkouts"}  # cargo's own folders (registry/src/index.crates.io-...)
MAX_SEGMENT = 96  # characters of a crate folder (name and version)

_GO_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~+/-]{0,199}")
_SEGMENT_RUN = re.compile(rb"[A-Za-z0-9_.+-]*")
_CRATE = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_VERSION_TAIL = re.compile(rb"-\d+\.\d+\.\d+[A-Za-z0-9.+-]*$")
_RS_TAIL = re.compile(rb"[A-Za-z0-9_./\\-]{0,160}?\.rs")


@dataclass(frozen=True)
class BuildMarks:
    go_module: str = ""  # the main module's path (``github.com/gdy666/lucky``)
    go_package: str = ""  # the main package's import path (``github.com/fatedier/frp/cmd/frpc``)
    rust_crates: tuple[str, ...] = ()  # crate folders of the Rust source paths, sorted, lower case

    def __bool__(self) -> bool:
        return bool(self.go_module or self.go_package or self.rust_crates)


def build_marks(data: bytes) -> BuildMarks:
    """The Go build info and Rust crate folders of an executable image held in ``data``."""
    module, package = go_build_info(data)
    return BuildMarks(module, package, rust_crates(data))


# --------------------------------------------------------------------------- Go

def go_build_info(data: bytes) -> tuple[str, str]:
    """(main module path, main package path) of a Go 1.18+ binary; ("", "") when there is none."""
    pos = data.find(GO_MAGIC)
    for _ in range(MAX_GO_CANDIDATES):
        if pos < 0:
            break
        if pos % GO_ALIGN == 0 and len(data) - pos >= GO_HEADER:
            found = _go_header(data, pos)
            if found is not None:
                return found
        pos = data.find(GO_MAGIC, pos + 1)
    return "", ""


def _go_header(data: bytes, pos: int) -> tuple[str, str] | None:
    if data[pos + 14] not in (4, 8) or not data[pos + 15] & GO_FLAG_INLINE:
        return None  # not a header, or the pre-1.18 layout of pointers
    version, at = _uvarint_string(data, pos + GO_HEADER, 64)
    if not version or not version.startswith(b"go") and not version.startswith(b"devel"):
        return None
    mod, _ = _uvarint_string(data, at, MAX_MODINFO)
    if len(mod) < 33 or not mod.startswith(INFO_START) or not mod.endswith(INFO_END) or mod[-17:-16] != b"\n":
        return "", ""  # a Go binary built outside module mode: no module information
    package = module = ""
    for line in mod[16:-16].decode("utf-8", "replace").splitlines():
        key, _, rest = line.partition("\t")
        value = rest.split("\t", 1)[0]
        if key == "path" and not package:
            package = _go_path(value)
        elif key == "mod" and not module:
            module = _go_path(value)
        elif key not in ("path", "mod"):
            break  # dep, =>, build lines follow the main module's
    return module, package


def _uvarint_string(data: bytes, pos: int, limit: int) -> tuple[bytes, int]:
    """A uvarint length then that many bytes (encoding/binary.Uvarint); (b"", -1) when malformed or over ``limit``."""
    size = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            return b"", -1
        byte = data[pos + i]
        size |= (byte & 0x7F) << shift
        if byte < 0x80:
            start = pos + i + 1
            if size > limit or start + size > len(data):
                return b"", -1
            return data[start:start + size], start + size
        shift += 7
    return b"", -1


def _go_path(value: str) -> str:
    return value if _GO_PATH.fullmatch(value) else ""


# --------------------------------------------------------------------------- Rust

def rust_crates(data: bytes) -> tuple[str, ...]:
    """The crate folders named by the Rust source paths in ``data`` (``vnt``, ``vnt-cli``, ``tokio``...)."""
    found: set[str] = set()
    hits = 0
    for sep in (b"/src/", b"\\src\\", b"/src\\", b"\\src/"):
        pos = data.find(sep)
        while pos >= 0 and hits < MAX_SRC_HITS and len(found) < MAX_CRATES:
            hits += 1
            if _RS_TAIL.match(data, pos + len(sep)):
                name = _crate_before(data, pos)
                if name:
                    found.add(name)
            pos = data.find(sep, pos + 1)
    return tuple(sorted(found))


def _crate_before(data: bytes, sep: int) -> str:
    """The folder name ending at ``sep`` (where ``/src/`` starts), without its ``-x.y.z`` version; "" when it is
    not a crate-like name or runs into other text."""
    window = data[max(0, sep - MAX_SEGMENT - 1):sep][::-1]  # read backwards by one C-speed match
    run = _SEGMENT_RUN.match(window).end()
    if run > MAX_SEGMENT:
        return ""  # longer than any crate folder: part of other text
    segment = _VERSION_TAIL.sub(b"", window[:run][::-1])
    if not _CRATE.fullmatch(segment) or segment in CARGO_FOLDERS:
        return ""
    return segment.decode("ascii").casefold()
