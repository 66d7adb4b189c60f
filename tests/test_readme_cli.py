"""The README's "Command line" block against the parsers: every flag it shows exists on that command, and every
option of every command is shown there, so a renamed or forgotten flag fails here and not in a user's hands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from auditor.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"
EVERYWHERE = {"-h", "--help", "--debug"}  # stated once, under the block


def _parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command as its path of words (("fleet", "export")) and its parser."""
    out: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if path and not subs:
            out[path] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, path + (name,))

    walk(build_parser(), ())
    return out


def _readme_flags(parsers) -> dict[tuple[str, ...], set[str]]:
    """Command path -> the flags its usage lines in the README show (a line without `auditor` continues the one
    above; `schedule status|remove` is both commands)."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("## Command line"):].split("```", 2)[1]
    groups = {p[0] for p in parsers if len(p) > 1}
    flags: dict[tuple[str, ...], set[str]] = {}
    current: list[tuple[str, ...]] = []
    for line in block.splitlines():
        m = re.match(r"auditor ([a-z-]+)(?: ([a-z-]+(?:\|[a-z-]+)*))?", line)
        if line.startswith("auditor --"):
            current = []  # the program's own options (--version)
        elif m:
            cmd, sub = m.group(1), m.group(2)
            current = [(cmd, s) for s in sub.split("|")] if cmd in groups else [(cmd,)]
        for path in current:
            flags.setdefault(path, set()).update(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])(?![\w-])", line))
    return flags


def test_every_command_has_usage_lines():
    parsers = _parsers()
    shown = _readme_flags(parsers)
    assert set(parsers) == set(shown), (sorted(set(parsers) - set(shown)), sorted(set(shown) - set(parsers)))


def test_readme_flags_exist_and_every_option_is_shown():
    parsers = _parsers()
    shown = _readme_flags(parsers)
    for path, parser in parsers.items():
        documented = shown.get(path, set())
        missing, known = [], set(EVERYWHERE)
        for action in parser._actions:
            names = set(action.option_strings)
            known |= names
            if names and not names & (documented | EVERYWHERE):
                missing.append(sorted(names)[-1])
        assert not missing, (path, "options not in the README", missing)
        assert not documented - known, (path, "README flags the command lacks", sorted(documented - known))
