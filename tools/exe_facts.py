#!/usr/bin/env python3
"""Print what the agent reads from executables, as catalog lines, so that naming a tool from its vendor's binary is
a data edit (checks/remote-tools/<id>.toml), by hand.

For each executable given (a vendor's installed program, never run by this script), the same readers the remote
area uses (auditor.remote.pe_info: PE version strings, Authenticode signer subjects, Go build info, Rust crate
folders) are run and the result is printed as the TOML a catalog entry takes: ``[pe]`` original_filenames,
company_names, product_names and signers; ``go_modules``; ``rust_crates``; and, as a comment, the file's name,
size and SHA-256 for the entry's ``sources``. Nothing is written anywhere.

Usage (from the repository root)::

    .venv/bin/python tools/exe_facts.py "C:/Program Files/DeskIn/DeskIn.exe" deskin_service.exe

Check what it prints before copying it into a catalog file: a signer that also signs the vendor's other products
(a company-wide certificate) names every one of them, and a generic crate name names unrelated programs; the
catalog loader refuses the broad publishers it knows. Exit status 0; 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from auditor.remote.pe_info import exe_facts  # noqa: E402
from auditor.terminal import echo, json_line, visible  # noqa: E402


def _toml_list(values) -> str:
    """A TOML array of strings; what a binary says is untrusted: control, format and bidi characters escaped."""
    return "[" + ", ".join(json_line(v) for v in values) + "]"


def describe(path: str) -> str:
    facts = exe_facts(path, hash_if=lambda _facts: True)
    if facts.sha256 is None:
        raise OSError(f"{path}: not a regular file this script may read (or larger than the reader's bound)")
    version = dict(facts.version)
    signers = sorted({n for s in facts.signers for n in s.names()})
    lines = [f"# {visible(os.path.basename(path))}: {os.path.getsize(path)} bytes, SHA-256 {facts.sha256}"]
    if not (version or signers or facts.marks):
        lines.append("# no version information, signer, Go build info or Rust crate folders")
    if facts.marks.go_module or facts.marks.go_package:
        lines.append(f"# Go main package {visible(facts.marks.go_package or '-')}")
        lines.append(f"go_modules = {_toml_list([facts.marks.go_module] if facts.marks.go_module else [])}")
    if facts.marks.rust_crates:
        lines.append(f"rust_crates = {_toml_list(facts.marks.rust_crates)}  # keep only the tool's own crates")
    if version or signers:
        lines.append("[pe]")
        for key, field in (("original_filenames", "OriginalFilename"), ("company_names", "CompanyName"),
                           ("product_names", "ProductName")):
            lines.append(f"{key} = {_toml_list([version[field]] if version.get(field) else [])}")
        lines.append(f"signers = {_toml_list(signers)}")
        for field in ("FileDescription", "InternalName", "FileVersion"):
            if version.get(field):
                lines.append(f"# {field}: {visible(version[field])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("exe", nargs="+", help="an executable (.exe, .dll or an ELF program)")
    args = ap.parse_args(argv)
    status = 0
    for path in args.exe:
        try:
            print(describe(path) + "\n")  # every outside text in it made visible or escaped above
        except OSError as exc:
            echo(f"exe_facts: {exc}", err=True)
            status = 2
    return status


if __name__ == "__main__":
    raise SystemExit(main())
