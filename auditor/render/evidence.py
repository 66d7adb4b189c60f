"""A finding's evidence as its reader sees it: every key under its label and every enumerated value under its
name in the reader's language (catalog tables ``[evidence]`` and ``[value.<key>]``), lists of records as small
tables, explanations in the reader's language. Only presentation: the JSON evidence is the record, nothing here
judges it.

Labels are looked up by the key's path, most specific first: ``tool.name`` is ``evidence."tool.name"`` when the
catalog has it, else the label of ``tool`` joined to that of ``name``. A value is named by ``value.<path>.<value>``
in the same way. What the catalog does not know is shown as it is (the report test fails on it).

Presentation rules (data-independent):

* hidden: ``locator`` (how ``remediate`` finds a file again) and ``catalog_sources`` (where the tool catalog got
  its facts): kept in the JSON, not shown to a reader;
* a ``{"zh": …, "en": …}`` value shows its reader's language;
* ``X`` beside ``X_name`` shows the name under X's label (``platform`` + ``platform_name``, ``browser`` +
  ``browser_name``); ``name`` beside ``name_zh`` shows the Chinese name to a Chinese reader;
* maps whose keys are data: ``kinds`` (kind of personal data -> masked or not), ``by_platform`` (platform ->
  exports, named as the report's other findings name the platform), ``omitted`` (evidence path -> items left
  out);
* a list of records is a table (``sheets``: sheet, rows, records, columns); a small record is one line
  (``label: value; label: value``), a large one a row per field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..i18n import fill, has, per_lang, t

EMPTY = "—"
HIDDEN = frozenset({"locator", "catalog_sources"})
INLINE_FIELDS = 8  # a record of at most this many scalar fields is shown on one line
LONG_ITEM = 40  # a list with an item longer than this goes one item per line


@dataclass
class Table:
    label: str
    head: list[str]
    rows: list[list[str]]


@dataclass
class Evidence:
    pair: str  # between a label and its value ("：" / ": ")
    sep: str  # between the fields of one line ("；" / "; ")
    rows: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def text(self) -> str:
        """One block of text (a spreadsheet or CSV cell): ``label: value`` lines, a table as its label and one
        line per row."""
        lines = [f"{k}{self.pair}{v}" for k, v in self.rows]
        for tab in self.tables:
            lines.append(f"{tab.label}{self.pair}".rstrip())
            for row in tab.rows:
                lines.append("  " + self.sep.join(f"{h}{self.pair}{c}".replace("\n", self.sep)
                                                  for h, c in zip(tab.head, row) if c != EMPTY))
        return "\n".join(lines)


def present(evidence: Any, lang: str, platforms: dict[str, Any] | None = None) -> Evidence:
    """``evidence`` labelled for ``lang``. ``platforms``: platform id -> name ({zh, en}) as the report's findings
    give them (see :func:`platform_names`)."""
    return _Presenter(lang, platforms or {}).present(evidence)


def platform_names(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Platform id -> its name in every language, from the findings whose evidence names both."""
    out: dict[str, Any] = {}
    for f in findings:
        ev = f.get("evidence")
        if isinstance(ev, dict) and isinstance(ev.get("platform"), str) and ev.get("platform_name"):
            out.setdefault(ev["platform"], ev["platform_name"])
    return out


class _Presenter:
    def __init__(self, lang: str, platforms: dict[str, Any]) -> None:
        self.lang = lang
        self.platforms = platforms
        self.L: Callable[..., str] = lambda key, **p: t(lang, key, **p)
        self.maps: dict[str, Callable[[list[str], dict[str, Any]], str]] = {
            "kinds": self._kinds, "by_platform": self._by_platform, "omitted": self._omitted}

    # ------------------------------------------------------------------ labels
    def label(self, path: list[str]) -> str:
        """The label of a key path: the longest catalogued suffix, after the label of what comes before it."""
        for i in range(len(path)):
            key = "evidence." + ".".join(path[i:])
            if has(key):
                text = self.L(key)
                return text if i == 0 else f"{self.label(path[:i])} · {text}"
        head = self.label(path[:-1]) + " · " if len(path) > 1 else ""
        return head + path[-1]

    def field_label(self, path: list[str], key: str) -> str:
        """The label of ``key`` inside the record at ``path`` (a table column, a field of a one-line record)."""
        full = [*path, key]
        for i in range(len(full)):
            if has("evidence." + ".".join(full[i:])):
                return self.L("evidence." + ".".join(full[i:]))
        return key

    def value(self, path: list[str], value: Any) -> str:
        value = per_lang(value, self.lang)
        if value is None or value == "":
            return EMPTY
        if isinstance(value, bool):
            return self.L("r.yes") if value else self.L("r.no_")
        if isinstance(value, str):
            for i in range(len(path)):
                key = f"value.{'.'.join(path[i:])}.{value}"
                if has(key):
                    return self.L(key)
            return value
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, list):
            return self.items(path, value)
        if isinstance(value, dict):
            return self.inline(path, value)
        return str(value)

    def items(self, path: list[str], values: list[Any]) -> str:
        if not values:
            return EMPTY
        if all(isinstance(v, dict) for v in values):
            return "\n".join(self.record(path, v) for v in values)
        texts = [self.value(path, v) for v in values]
        return ("\n" if any(len(x) > LONG_ITEM for x in texts) else self.L("sep.list")).join(texts)

    def record(self, path: list[str], value: dict[str, Any]) -> str:
        """One record on one line: the catalog's ``format.<path>`` when it has one, else label: value pairs."""
        for i in range(len(path)):
            key = "format." + ".".join(path[i:])
            if has(key):
                return fill(self.L(key), {k: self.value([*path, k], v) for k, v in value.items()})
        return self.inline(path, value)

    def inline(self, path: list[str], value: dict[str, Any]) -> str:
        if not value:
            return EMPTY
        special = self.maps.get(path[-1]) if path else None
        if special is not None:
            return special(path, value)
        return self.pairs((self.field_label(path, k), self.value([*path, k], v)) for k, v in self.fields(value))

    def pairs(self, items: Iterable[tuple[str, str]]) -> str:
        """``label: value; label: value`` in the reader's punctuation."""
        pair = self.L("sep.pair")
        return self.L("sep.items").join(f"{label}{pair}{text}" for label, text in items)

    # ------------------------------------------------------------------ maps whose keys are data
    def _kinds(self, path: list[str], value: dict[str, Any]) -> str:
        return self.pairs((self.value(["kind"], k), self.value(path, v)) for k, v in value.items())

    def _by_platform(self, path: list[str], value: dict[str, Any]) -> str:
        return self.pairs((str(per_lang(self.platforms.get(k), self.lang) or k), str(v)) for k, v in value.items())

    def _omitted(self, path: list[str], value: dict[str, Any]) -> str:
        return self.pairs((self.label(str(k).split(".")), str(v)) for k, v in value.items())

    # ------------------------------------------------------------------ structure
    def fields(self, value: dict[str, Any]) -> list[tuple[str, Any]]:
        """The fields of a record to show, in order, with the presentation rules applied."""
        out = []
        for k, v in value.items():
            if k in HIDDEN or (k.endswith("_name") and k[:-5] in value) or (k == "name_zh" and "name" in value):
                continue
            if f"{k}_name" in value:
                v = value[f"{k}_name"]
            elif k == "name" and self.lang == "zh" and value.get("name_zh"):
                v = value["name_zh"]
            out.append((k, v))
        return out

    def present(self, evidence: Any) -> Evidence:
        ev = Evidence(self.L("sep.pair"), self.L("sep.items"))
        if not isinstance(evidence, dict):
            ev.rows.append((self.L("evidence.value"), self.value([], evidence)))
            return ev
        self.add(ev, [], evidence)
        return ev

    def add(self, ev: Evidence, path: list[str], record: dict[str, Any]) -> None:
        for k, v in self.fields(record):
            here = [*path, k]
            v = per_lang(v, self.lang)
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                ev.tables.append(self.table(here, v))
            elif isinstance(v, dict) and v and k not in self.maps and not self.small(v):
                self.add(ev, here, v)
            else:
                ev.rows.append((self.label(here), self.value(here, v)))

    def small(self, value: dict[str, Any]) -> bool:
        """A record shown on one line: a few fields, each a value or a list of values."""
        shown = [per_lang(v, self.lang) for _, v in self.fields(value)]
        flat = all(not isinstance(v, dict) and not (isinstance(v, list) and any(isinstance(x, (dict, list))
                                                                                for x in v)) for v in shown)
        return flat and len(shown) <= INLINE_FIELDS

    def table(self, path: list[str], records: list[dict[str, Any]]) -> Table:
        columns: list[str] = []
        for rec in records:
            for k, _ in self.fields(rec):
                if k not in columns:
                    columns.append(k)
        rows = []
        for rec in records:
            shown = dict(self.fields(rec))
            rows.append([self.value([*path, c], shown[c]) if c in shown else EMPTY for c in columns])
        head = [self.field_label(path, c) for c in columns]
        return Table(self.label(path), head, rows)
