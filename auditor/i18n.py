"""Texts in Chinese (default) and English, from the catalogs `reports/i18n/zh.toml` and `en.toml`.

The catalogs are data: one TOML file per language, keys grouped in tables (a key is its table path and name
joined by dots: ``[r] title`` is ``r.title``; keys before the first table are the terminal summary's). Both
files are loaded and checked together, once: a key missing in one language, a text that is not a string or
whose ``{parameters}`` differ between the languages is a pack error naming the key (exit 2).

``t(lang, key, **params)`` is the one way to a text. A parameter may itself differ per language: pass a
``{"zh": …, "en": …}`` mapping (a platform named 拼多多 in Chinese and Pinduoduo in English) and each language
takes its own; ``fill`` does the same for templates kept elsewhere (check titles). ``both(key, **params)`` is
the text in every language, for what a report stores (notes, evidence explanations): the JSON carries both and
each rendered report shows its reader's."""

from __future__ import annotations

import os
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .errors import PackError
from .messages import DEFAULT_LANG, LANGS, KeepUnknown
from .packs import load_toml
from .resources import pack_dir


def per_lang(value: Any, lang: str) -> Any:
    """``value`` itself, or its ``lang`` entry when it is a per-language mapping ({"zh": …, "en": …})."""
    if isinstance(value, Mapping) and lang in value and set(value) <= set(LANGS):
        return value[lang]
    return value


def fill(text: str, params: Mapping[str, Any], lang: str | None = None) -> str:
    """``text`` with its ``{parameters}`` filled; a per-language parameter takes ``lang``'s entry; a parameter
    that is missing or None keeps its ``{name}``."""
    values = {k: per_lang(v, lang) if lang else v for k, v in params.items()}
    return text.format_map(KeepUnknown({k: v for k, v in values.items() if v is not None}))


def t(lang: str, key: str, **params: Any) -> str:
    """The text of ``key`` in ``lang`` (Chinese for an unknown language); the key itself when no catalog has
    it."""
    table = catalog(lang if lang in LANGS else DEFAULT_LANG)
    text = table.get(key)
    if text is None:
        return key
    return fill(text, params, lang) if params else text


def has(key: str) -> bool:
    """Whether the catalogs have ``key`` (they always have the same keys)."""
    return key in catalog(DEFAULT_LANG)


def both(key: str, **params: Any) -> dict[str, str]:
    """``key`` in every language: {"zh": …, "en": …}, for texts a report keeps."""
    return {lang: t(lang, key, **params) for lang in LANGS}


def catalog(lang: str) -> Mapping[str, str]:
    return _catalogs(os.environ.get("AUDITOR_REPORTS_DIR", ""))[lang]


# --------------------------------------------------------------------------- loading and checking

@lru_cache(maxsize=4)
def _catalogs(_override: str) -> dict[str, dict[str, str]]:
    """Both catalogs, checked against each other. Keyed on AUDITOR_REPORTS_DIR so a site's own copy of the
    reports pack is read when it is set."""
    folder = Path(pack_dir("reports")) / "i18n"
    tables = {lang: _flat(load_toml(folder / f"{lang}.toml"), folder / f"{lang}.toml") for lang in LANGS}
    check_catalogs(tables, folder)
    return tables


def _flat(data: dict[str, Any], path: Path, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in data.items():
        key = prefix + name
        if isinstance(value, dict):
            items = _flat(value, path, key + ".")
        elif isinstance(value, str):
            items = {key: value}
        else:
            raise PackError("pack.i18n.not_text", path=path, key=key, kind=type(value).__name__)
        for k, v in items.items():
            if k in out:
                raise PackError("pack.i18n.twice", path=path, k=k)
            out[k] = v
    return out


def parameters(text: str) -> frozenset[str]:
    """The ``{names}`` a text takes."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field)


def check_catalogs(tables: dict[str, dict[str, str]], folder: Path) -> None:
    """Every language has every key, each with the same parameters, and every text is a valid template."""
    first, *others = LANGS
    for lang in others:
        for a, b in ((first, lang), (lang, first)):
            missing = sorted(set(tables[a]) - set(tables[b]))
            if missing:
                raise PackError("pack.i18n.missing" if len(missing) == 1 else "pack.i18n.missing_more",
                                path=folder / (b + '.toml'), key=missing[0], other=a, more=len(missing) - 1)
    for key in tables[first]:
        found: dict[str, frozenset[str]] = {}
        for lang in LANGS:
            try:
                found[lang] = parameters(tables[lang][key])
            except ValueError as exc:
                raise PackError("pack.i18n.bad_template", path=folder / (lang + '.toml'), key=key, exc=exc) from None
        if len(set(found.values())) > 1:
            shown = "; ".join(f"{lang}: {', '.join(sorted(p)) or 'none'}" for lang, p in found.items())
            raise PackError("pack.i18n.parameters_differ", folder=folder, key=key, shown=shown)
