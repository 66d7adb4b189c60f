"""The command line's messages in Chinese and English: usage and pack errors, the lines of ``verify``,
``schedule``, ``remediate`` and ``keygen``; one catalog, ``auditor/messages.toml``. (Reports and the other commands' terminal lines
take their texts from ``reports/i18n`` through ``auditor.i18n``.)

An error is raised with a message key and its parameters, never with finished text:
``UsageError("usage.cannot_read", path=path, why=why)``. The catalog holds each key's text in every language
side by side (``[usage.cannot_read]`` with ``zh = …`` and ``en = …``); both take the same ``{parameters}``
(``{key!r}`` and format specs as in ``str.format``). The error's ``str()`` is its English text, as before, so logs
and the code that reads a message keep working; the command line prints ``text(lang)`` in the language of
``--lang``.

The catalog comes with the program and is not part of the site-editable ``reports`` pack: an error about a broken
pack, or about ``AUDITOR_REPORTS_DIR`` itself, must still be printed in full.

A parameter that is itself a :class:`Text` (or an error carrying one) is shown in the same language as the text
around it. Messages written by others (argparse, our own ``argparse.ArgumentTypeError`` texts) are matched back to
their catalog entries by :class:`Worded`: the ``[argparse.*]``, ``[arg.*]`` and ``[reason.*]`` English texts are
the templates argparse, the option types and ``safeio.reason_of`` print, so the same entry both recognises a
message and gives its translation."""

from __future__ import annotations

import re
import string
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

LANGS = ("zh", "en")  # every text of the agent is in these languages (auditor.i18n takes them from here)
DEFAULT_LANG = "zh"  # without --lang: the people the agent serves read Chinese
CATALOG = Path(__file__).with_name("messages.toml")
#: the catalog families whose English texts are templates of messages written by others, tried in this order
WORDED_FAMILIES = ("argparse.", "arg.", "reason.")
#: a longer worded message is shown as it is: recognising it (a few lazy groups) must stay cheap on any input
MAX_WORDED = 2000


class KeepUnknown(dict):
    """format_map() mapping that leaves an unknown ``{name}`` as it is (a template is never a crash)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Text(str):
    """A message in every language: a catalog key and its parameters (or a literal text, kept as it is). As a
    ``str`` it is the English text, so a list of problems can hold it and be joined as before; ``text(lang)`` is
    the text in ``lang``."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> "Text":
        self = super().__new__(cls, _render(key, params, "en"))
        self.key, self.params = key, params
        return self

    def text(self, lang: str) -> str:
        return _render(self.key, self.params, lang)

    def __repr__(self) -> str:
        return f"Text({self.key!r}, **{self.params!r})"


def _render(key: str, params: Mapping[str, Any], lang: str) -> str:
    entry = catalog().get(key)
    if entry is None:  # a literal text (a message worded elsewhere): shown as it is
        return key
    template = entry.get(lang, entry["en"])
    values = {k: localized(v, lang) for k, v in params.items()}
    try:
        return string.Formatter().vformat(template, (), KeepUnknown(values))
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):  # a parameter a spec does not fit
        return template.format_map(KeepUnknown({k: str(v) for k, v in values.items()}))


class Worded:
    """A message worded by someone else in English (argparse): shown in ``lang`` when a catalog entry of
    :data:`WORDED_FAMILIES` recognises it, with its parts recognised the same way; else as it is."""

    __slots__ = ("english",)

    def __init__(self, english: str) -> None:
        self.english = english

    def text(self, lang: str) -> str:
        if lang == "en" or len(self.english) > MAX_WORDED:
            return self.english
        for key, pattern in _patterns():
            found = pattern.match(self.english)
            if found:
                return Text(key, **{k: Worded(v) for k, v in found.groupdict().items()}).text(lang)
        return self.english

    def __str__(self) -> str:
        return self.english


#: how a list given as a parameter is joined (problems: "a; b")
LIST_SEPARATOR = {"zh": "；", "en": "; "}


def localized(value: Any, lang: str) -> Any:
    """``value`` in ``lang`` when it is a Text, a Worded message or an error carrying one, a list of them joined;
    else itself."""
    if isinstance(value, BaseException) and isinstance(getattr(value, "message", None), Text):
        value = value.message  # one of our errors
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.get(lang, "; ").join(str(localized(v, lang)) for v in value)
    return value.text(lang) if isinstance(value, (Text, Worded)) else value


@lru_cache(maxsize=1)
def catalog() -> Mapping[str, Mapping[str, str]]:
    """Every key with its texts ({"zh": …, "en": …}), from the TOML catalog (tables nested by the key's dots)."""
    # imported when the first message is rendered, not with errors.py: modules that only import the error classes
    # (the trail's SQLite reader, run by a stock interpreter without tomli) must not need a TOML parser
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.9/3.10 on older UOS/Kylin builds
        import tomli as tomllib
    with open(CATALOG, "rb") as fh:
        data = tomllib.load(fh)
    out: dict[str, dict[str, str]] = {}

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        for name, value in table.items():
            if isinstance(value, dict) and set(value) & set(LANGS) and all(isinstance(v, str) for v in value.values()):
                out[prefix + name] = dict(value)
            elif isinstance(value, dict):
                walk(value, prefix + name + ".")

    walk(data, "")
    return out


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern], ...]:
    """The English texts of the worded families as regular expressions: literal text, each ``{name}`` a group."""
    out = []
    for family in WORDED_FAMILIES:
        for key, entry in catalog().items():
            if key.startswith(family):
                regex = "".join(re.escape(literal) + (f"(?P<{field}>.+?)" if field else "")
                                for literal, field, _, _ in string.Formatter().parse(entry["en"]))
                out.append((key, re.compile(regex + r"\Z", re.DOTALL)))
    return tuple(out)


def os_error(exc: OSError) -> Worded:
    """An OS error's own words (``strerror``), for a message: recognised by the ``[reason.*]`` entries where the
    catalog knows them (the common POSIX and Windows wordings), shown as they are otherwise."""
    return Worded(exc.strerror or str(exc))
