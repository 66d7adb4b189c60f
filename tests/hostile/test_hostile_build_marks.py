"""The local user against the Go/Rust build-mark reader (auditor.remote.build_marks): an executable it runs can be
any bytes. Whatever they are, the reader returns BuildMarks (never raises), in time linear in the size, keeps only
printable module paths and crate names, and a crafted header (huge lengths, truncated data, pre-1.18 pointers,
forged sentinels) is no build info. Files are read through the same bounded, link-refusing open as the rest of
the collector (auditor.safeio; its own hostile tests cover FIFOs, links and devices)."""

from __future__ import annotations

import time

from hypothesis import given, settings, strategies as st

from auditor.remote.build_marks import (GO_MAGIC, INFO_END, INFO_START, MAX_CRATES, BuildMarks, build_marks,
                                        go_build_info, rust_crates)
from auditor.remote.pe_info import MAX_PE_BYTES, build_marks_of


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _blob(mod_text: bytes, *, version: bytes = b"go1.22.1", flags: int = 2, ptr: int = 8,
          framed: bool = True, pad: int = 0) -> bytes:
    mod = INFO_START + mod_text + INFO_END if framed else mod_text
    header = GO_MAGIC + bytes([ptr, flags]) + b"\x00" * 16
    return b"\x00" * pad + header + _uvarint(len(version)) + version + _uvarint(len(mod)) + mod


def test_a_well_formed_blob_is_read():
    text = b"path\tgithub.com/gdy666/lucky\nmod\tgithub.com/gdy666/lucky\t(devel)\t\ndep\tgithub.com/x/y\tv1\t\n"
    assert go_build_info(_blob(text, pad=32)) == ("github.com/gdy666/lucky", "github.com/gdy666/lucky")


def test_crafted_headers_are_no_build_info():
    good = b"path\tgithub.com/a/b\nmod\tgithub.com/a/b\t(devel)\t\n"
    cases = {
        "unaligned": _blob(good, pad=3),
        "pointer layout (pre-1.18)": _blob(good, flags=0),
        "bad pointer size": _blob(good, ptr=0),
        "no go version": _blob(good, version=b"xx"),
        "length past the end": GO_MAGIC + b"\x08\x02" + b"\x00" * 16 + _uvarint(8) + b"go1.22.1" + _uvarint(1 << 40),
        "varint never ends": GO_MAGIC + b"\x08\x02" + b"\x00" * 16 + b"\xff" * 64,
        "truncated header": GO_MAGIC + b"\x08",
        "magic at the very end": b"\x00" * 16 + GO_MAGIC,
    }
    for why, data in cases.items():
        assert go_build_info(data) == ("", ""), why
    assert go_build_info(_blob(good, framed=False)) == ("", "")  # no module sentinels: outside module mode


def test_control_characters_and_overlong_paths_are_dropped():
    evil = (b"path\tgithub.com/a/b\x1b[31m\nmod\tgithub.com/\xe2\x80\xaeevil\t(devel)\t\n")
    assert go_build_info(_blob(evil)) == ("", "")
    long = b"mod\tgithub.com/" + b"a" * 400 + b"\t(devel)\t\n"
    assert go_build_info(_blob(long)) == ("", "")


def test_many_magic_strings_and_src_folders_stay_bounded():
    """A 100 MB file of magic strings and ``x/src/a.rs`` paths: read in seconds, at most MAX_CRATES names kept."""
    data = (GO_MAGIC + b"\x00\x00") * 200_000 + b"".join(b"c%07d/src/a.rs)" % i for i in range(3_000_000))
    start = time.monotonic()
    marks = build_marks(data)
    assert time.monotonic() - start < 30
    assert marks.go_module == "" and len(marks.rust_crates) <= MAX_CRATES


def test_long_names_before_many_src_folders_stay_bounded():
    """Names too long for a crate before every ``/src/`` (each looked at, none kept): bounded by MAX_SRC_HITS."""
    data = (b"a" * 95 + b"/src/x.rs ") * 400_000 + b"\\src\\y.rs " * 400_000
    start = time.monotonic()
    assert rust_crates(data) == ()
    assert time.monotonic() - start < 20


@settings(max_examples=300, deadline=2000)
@given(st.binary(max_size=4096), st.integers(min_value=0, max_value=48))
def test_any_bytes_give_build_marks(tail, pad):
    for data in (tail, b"\x00" * pad + GO_MAGIC + tail, tail + b"/src/" + tail + b".rs", b"\x7fELF" + tail):
        marks = build_marks(data)
        assert isinstance(marks, BuildMarks)
        for name in marks.rust_crates:
            assert name.isascii() and name.isprintable() and "/" not in name
        assert marks.go_module.isascii() and marks.go_module.isprintable()


def test_files_over_the_bound_or_not_executables_are_not_read(tmp_path):
    big = tmp_path / "big.exe"
    with big.open("wb") as fh:
        fh.write(b"MZ" + _blob(b"path\tgithub.com/gdy666/lucky\nmod\tgithub.com/gdy666/lucky\t(devel)\t\n", pad=14))
        fh.truncate(MAX_PE_BYTES + 1)
    assert build_marks_of(str(big)) == BuildMarks()
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\n" + _blob(b"mod\tgithub.com/gdy666/lucky\t(devel)\t\n", pad=6) + b"\x00" * 64)
    assert build_marks_of(str(script)) == BuildMarks()  # neither MZ nor ELF
    elf = tmp_path / "kworker"
    elf.write_bytes(b"\x7fELF" + b"\x00" * 12 + _blob(b"path\tgithub.com/gdy666/lucky\nmod\tgithub.com/gdy666/lucky"
                                                     b"\t(devel)\t\n"))
    assert build_marks_of(str(elf)).go_module == "github.com/gdy666/lucky"
