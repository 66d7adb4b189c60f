"""Removing secrets from command lines before they go into evidence (frpc tokens, nps vkeys, ngrok authtokens,
passwords in URLs, sshpass -p …).

The rules are data: ``checks/secrets.toml`` (option names, short options, positional sub-commands, per-program
options, token shapes), loaded and checked once; a malformed pack is a :class:`PackError` (exit 2).
:func:`redact_cmdline` takes an argv list (one element may itself hold several words: "--authtoken X");
:func:`redact_command` a command string as services, autostart entries and scheduled tasks store it, whose
spacing and quoting are kept except where a secret was."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import PackError
from .packs import load_toml
from .resources import pack_dir

MASK = "***"
_TOKEN = re.compile(r"""(?:"[^"]*"?|'[^']*'?|[^\s"'])+""")  # a shell-like word, quotes kept
_KV = re.compile(r"^(-{0,2})([A-Za-z_][\w.\-]*)([=:])(.+)$", re.S)


@dataclass(frozen=True)
class SecretRules:
    mask: str
    suffixes: tuple[str, ...]
    words: frozenset[str]
    switch_prefixes: tuple[str, ...]
    short: frozenset[str]
    attached_min: int
    interpreters: frozenset[str]
    positional: tuple[tuple[tuple[str, ...], frozenset[str]], ...]  # (words, programs)
    # (programs, options, attached, only before the first non-option argument)
    program_options: tuple[tuple[frozenset[str], frozenset[str], bool, bool], ...]
    values: tuple[re.Pattern, ...]


def _strs(raw: Any, origin: str, key: str, *, lower: bool = True) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise PackError("pack.secrets.not_string_list", origin=origin, key=key)
    return tuple(x.strip().casefold() if lower else x.strip() for x in raw)


def parse_rules(data: dict[str, Any], origin: str = "secrets.toml") -> SecretRules:
    """Check and compile a secrets pack (the dict of the TOML file)."""
    if not isinstance(data, dict) or data.get("version") != 1:
        raise PackError("pack.secrets.no_version", origin=origin)
    opts = data.get("options")
    if not isinstance(opts, dict):
        raise PackError("pack.secrets.no_options", origin=origin)
    mask = data.get("mask", MASK)
    if not isinstance(mask, str) or not mask or any(c.isalnum() for c in mask):
        raise PackError("pack.secrets.bad_mask", origin=origin)
    attached_min = opts.get("attached_min", 8)
    if not isinstance(attached_min, int) or isinstance(attached_min, bool) or not 1 <= attached_min <= 64:
        raise PackError("pack.secrets.bad_attached_min", origin=origin)
    short = _strs(opts.get("short", []), origin, "options.short", lower=False)
    if not all(s.startswith("-") and not s.startswith("--") for s in short):
        raise PackError("pack.secrets.bad_short", origin=origin)
    positional = []
    for i, rule in enumerate(data.get("positional", [])):
        where = f"positional #{i + 1}"
        if not isinstance(rule, dict):
            raise PackError("pack.secrets.not_table", origin=origin, where=where)
        words = _strs(rule.get("words"), origin, f"{where}.words")
        if not words:
            raise PackError("pack.secrets.no_words", origin=origin, where=where)
        positional.append((words, frozenset(_strs(rule.get("programs", []), origin, f"{where}.programs"))))
    program_options = []
    for i, rule in enumerate(data.get("program_option", [])):
        where = f"program_option #{i + 1}"
        if not isinstance(rule, dict):
            raise PackError("pack.secrets.not_table", origin=origin, where=where)
        programs = frozenset(_strs(rule.get("programs"), origin, f"{where}.programs"))
        options = frozenset(_strs(rule.get("options"), origin, f"{where}.options", lower=False))
        if not programs or not options:
            raise PackError("pack.secrets.needs_programs", origin=origin, where=where)
        flags = [rule.get("attached", False), rule.get("before_command", False)]
        if not all(isinstance(f, bool) for f in flags):
            raise PackError("pack.secrets.bad_flags", origin=origin, where=where)
        program_options.append((programs, options, *flags))
    values = []
    for i, rule in enumerate(data.get("value", [])):
        where = f"value #{i + 1}"
        if not isinstance(rule, dict) or not isinstance(rule.get("pattern"), str):
            raise PackError("pack.secrets.no_pattern", origin=origin, where=where)
        try:
            rx = re.compile(rule["pattern"])
        except re.error as exc:
            raise PackError("pack.secrets.bad_pattern", origin=origin, where=where, what=rule.get('what', ''),
                            exc=exc) from None
        if rx.match(""):
            raise PackError("pack.secrets.empty_match", origin=origin, where=where)
        values.append(rx)
    return SecretRules(
        mask=mask, suffixes=_strs(opts.get("suffixes", []), origin, "options.suffixes"),
        words=frozenset(_strs(opts.get("words", []), origin, "options.words")),
        switch_prefixes=_strs(opts.get("switch_prefixes", []), origin, "options.switch_prefixes"),
        short=frozenset(short), attached_min=attached_min,
        interpreters=frozenset(_strs(opts.get("interpreters", []), origin, "options.interpreters")),
        positional=tuple(positional),
        program_options=tuple(program_options), values=tuple(values))


@lru_cache(maxsize=None)
def rules(folder: Path | None = None) -> SecretRules:
    path = (folder or pack_dir("checks")) / "secrets.toml"
    return parse_rules(load_toml(path), str(path))


# --------------------------------------------------------------------------- one word


def _program(word: str) -> str:
    name = re.split(r"[\\/]", word.strip("\"'"))[-1].casefold()
    return name[:-4] if name.endswith(".exe") else name


def _last_part(name: str) -> str:
    camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name)
    return re.split(r"[-_.]", camel)[-1].casefold()


def _secret_name(name: str, r: SecretRules) -> bool:
    """Is ``name`` (an option or variable name, dashes removed) one that carries a secret?"""
    low = name.casefold()
    if not low or low.startswith(r.switch_prefixes):
        return False
    return low.endswith(r.suffixes) or _last_part(name) in r.words


def _unquote(word: str) -> str:
    return word.replace('"', "").replace("'", "") if ('"' in word or "'" in word) else word


def _values(text: str, r: SecretRules) -> str:
    """Token shapes masked anywhere in ``text``."""
    for rx in r.values:
        if "secret" in rx.groupindex:
            text = rx.sub(lambda m: m.group(0)[: m.start("secret") - m.start()] + r.mask
                          + m.group(0)[m.end("secret") - m.start():], text)
        else:
            text = rx.sub(r.mask, text)
    return text


class _Line:
    """Walks the words of one command line, deciding for each whether it is or holds a secret."""

    def __init__(self, r: SecretRules) -> None:
        self.r = r
        self.program: str | None = None
        self.hide_next = False
        self.history: list[str] = []  # words seen so far (case-folded), for positional rules
        self.command_seen = False  # a non-option argument after the program (a wrapped command, a sub-command)

    def _program_option(self, text: str) -> str | None:
        """For an option that carries a secret only for this program: the word to show ("" = show it and hide
        the next word); None when it is not such an option."""
        for programs, options, attached, before_command in self.r.program_options:
            if self.program not in programs or (before_command and self.command_seen):
                continue
            for o in options:
                if text == o:
                    return ""
                if o.startswith("--") and text.startswith(o + "="):
                    return o + "=" + self.r.mask
                if attached and not o.startswith("--") and text.startswith(o) and len(text) > len(o):
                    return o + self.r.mask
        return None

    def _positional(self) -> bool:
        for words, programs in self.r.positional:
            if programs and self.program not in programs:
                continue
            if tuple(self.history[-len(words):]) == words:
                return True
        return False

    def word(self, word: str) -> str:
        """The word as it may be shown."""
        r = self.r
        text = _unquote(word)
        if self.program is None or (self.program in r.interpreters and len(self.history) == 1
                                    and not text.startswith("-")):
            self.program = _program(text)  # the program itself, or the script an interpreter runs
            self.history.append(self.program)
            return _values(word, r)
        expected = self.hide_next or (self._positional() and not text.startswith("-"))
        self.hide_next = False
        self.history.append(text.casefold())
        if expected and not (text.startswith("--") and len(text) > 2):  # an option is not the expected secret
            return r.mask
        special = self._program_option(text)
        if special is not None:
            self.hide_next = special == ""
            return special or word
        if not text.startswith("-"):
            self.command_seen = True
        if text in r.short:
            self.hide_next = True
            return word
        for s in r.short:  # "-tTOKEN": before the option names, which "-tSomething123token" would also fit
            rest = text[len(s):]
            if text.startswith(s) and len(rest) >= r.attached_min and any(c.isdigit() for c in rest):
                return s + r.mask
        m = _KV.match(text)
        if m and _secret_name(m.group(2), r):
            return m.group(1) + m.group(2) + m.group(3) + r.mask
        if re.fullmatch(r"-{1,2}[\w.\-]+", text) and _secret_name(text.lstrip("-"), r):
            self.hide_next = True
            return word
        if any(c.isspace() for c in text):
            return self.words(text)  # one argument holding several words: "--authtoken X"
        return _values(word, r)

    def words(self, command: str) -> str:
        """Every word of ``command`` through :meth:`word`; the text between words kept."""
        out, pos = [], 0
        for m in _TOKEN.finditer(command):
            out += [command[pos:m.start()], self.word(m.group(0))]
            pos = m.end()
        out.append(command[pos:])
        return "".join(out)


def redact_cmdline(argv: list[str]) -> list[str]:
    """``argv`` with every secret replaced by ``***``."""
    line = _Line(rules())
    return [line.word(a) if isinstance(a, str) else a for a in argv]


def redact_command(command: str) -> str:
    """A command string with every secret replaced by ``***``; the rest (spacing, quoting) is kept."""
    return _Line(rules()).words(command) if command else command


__all__ = ["MASK", "SecretRules", "parse_rules", "rules", "redact_cmdline", "redact_command"]
